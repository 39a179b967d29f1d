// One address space of the MMU: its registers as the driver wrote them, the configuration made
// live by UPDATE, and the state of its command engine, lock and stalled accesses.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "mali_sim/pagetable/walker.hpp"
#include "mali_sim/regs.hpp"
#include "mali_sim/types.hpp"

namespace mali_sim {

// The AS register block as written (64-bit registers combine their LO/HI halves).
struct AsRegs {
  std::uint64_t transtab = 0;
  std::uint64_t memattr = 0;
  std::uint64_t lockaddr = 0;
  std::uint64_t transcfg = 0;
  std::uint32_t faultstatus = 0;
  std::uint64_t faultaddress = 0;
  std::uint64_t faultextra = 0;
};

struct AddressSpace {
  AsRegs regs;
  WalkConfig live;  // latched by UPDATE; Unmapped after reset

  // Command engine: one command runs at a time; AS_STATUS.ACTIVE reads 1 while one runs or waits.
  bool busy = false;
  AsCommand current = AsCommand::Nop;
  Cycle busy_since = 0;
  bool draining = false;  // FLUSH_MEM waiting for in-flight accesses
  std::deque<AsCommand> queued;

  std::optional<LockRegion> lock;            // region held by LOCK
  bool updating = false;                     // an UPDATE runs: every access of the AS waits for it
  std::vector<std::uint32_t> fault_waiters;  // accesses stalled on a fault
  std::vector<std::uint32_t> lock_waiters;   // accesses waiting for the lock to go
  std::uint32_t inflight = 0;                // accesses waiting on a page-table walk
  std::uint64_t epoch = 0;                   // bumped by UPDATE: walks started before it fill no cache

  // Present, translating and not locked: a uTLB hit needs no further checks.
  bool fast_path = false;

  bool active() const noexcept { return busy || !queued.empty(); }
};

}  // namespace mali_sim
