// Register-level misuse the device notices (writes to read-only registers, commands while
// ACTIVE, FLUSH without LOCK, ...). The device behaves as the hardware would and reports it here:
// every report is kept for tests and checkers, and each kind is logged once per register.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mali_sim/types.hpp"

namespace mali_sim {

enum class MisuseKind : std::uint8_t {
  WriteToReadOnly,
  UnmodelledRegister,
  AsNotPresent,
  UnknownCommand,
  CommandWhileActive,
  FlushWithoutLock,
  UpdateWhileFaulted,  // UPDATE to a mode other than UNMAPPED while a fault is pending
  UnsupportedMode,     // a translation mode the GPU does not implement
  BadAccessRequest,
  PowerSequence,       // a power domain switched in an order its dependencies forbid
  WriteDuringReset,    // a register written while a GPU reset is under way (ignored)
  AccessPoweredOff,    // a shader access on a core that is not powered
  StartWhileNextBusy,  // JS_COMMAND_NEXT = START while a job still waits in the slot's _NEXT
};
std::string_view to_string(MisuseKind k) noexcept;

struct MisuseReport {
  MisuseKind kind;
  Cycle at;
  int as;                // -1 when not about an address space
  std::uint32_t offset;  // register offset, 0 when not about a register
  std::string message;
};

class MisuseLog {
 public:
  static constexpr std::size_t kMaxKept = 10000;  // reports kept; more are counted in dropped()
  static constexpr std::size_t kMaxLogged = 256;  // (kind, register) pairs given a log line
  void report(MisuseKind kind, Cycle at, int as, std::uint32_t offset, std::string message);
  const std::vector<MisuseReport>& reports() const noexcept { return reports_; }
  std::size_t count(MisuseKind kind) const noexcept;
  void clear() noexcept { reports_.clear(); }
  std::size_t logged_kinds() const noexcept { return logged_.size(); }
  std::uint64_t dropped() const noexcept { return dropped_; }

 private:
  std::vector<MisuseReport> reports_;
  std::uint64_t dropped_ = 0;
  std::set<std::pair<MisuseKind, std::uint32_t>> logged_;
};

}  // namespace mali_sim
