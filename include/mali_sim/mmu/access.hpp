// A shader core's memory access as the MMU sees it, and what becomes of it.
#pragma once

#include <cstdint>
#include <string_view>

#include "mali_sim/types.hpp"

namespace mali_sim {

struct AccessRequest {
  GpuVa va = 0;
  std::uint64_t cookie = 0;  // caller's tag, returned with the result
  std::uint32_t size = 4;    // bytes; translation uses the first byte's page
  std::uint16_t core = 0;    // shader core: selects the uTLB, reported as FAULTSTATUS source id
  std::uint8_t as = 0;
  Access access = Access::Read;
};

enum class AccessStatus : std::uint8_t {
  Done,     // translated; done_at is the cycle it completes
  Pending,  // waiting (walk, fault, lock): the result comes later through the access handler
  Failed,   // will never complete: see FailReason
};

enum class FailReason : std::uint8_t {
  None,
  BadRequest,    // core or access type out of range
  AsNotPresent,  // AS not in AS_PRESENT
  Unmapped,      // AS is UNMAPPED (or was switched to it while the access waited)
  PoweredOff,    // the core is not powered (a GPU fault: JOB_POWER_FAULT)
  Reset,         // a GPU reset is under way, or came while the access waited
};
std::string_view to_string(FailReason r) noexcept;

struct AccessResult {
  AccessStatus status = AccessStatus::Failed;
  FailReason fail = FailReason::None;
  Cycle done_at = 0;
  PhysAddr pa = 0;
  AccessRequest request;
};

}  // namespace mali_sim
