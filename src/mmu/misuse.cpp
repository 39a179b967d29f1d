#include "mali_sim/mmu/misuse.hpp"

#include <algorithm>

#include "common/log.hpp"

namespace mali_sim {

std::string_view to_string(MisuseKind k) noexcept {
  switch (k) {
    case MisuseKind::WriteToReadOnly: return "write-to-read-only";
    case MisuseKind::UnmodelledRegister: return "unmodelled-register";
    case MisuseKind::AsNotPresent: return "as-not-present";
    case MisuseKind::UnknownCommand: return "unknown-command";
    case MisuseKind::CommandWhileActive: return "command-while-active";
    case MisuseKind::FlushWithoutLock: return "flush-without-lock";
    case MisuseKind::UpdateWhileFaulted: return "update-while-faulted";
    case MisuseKind::UnsupportedMode: return "unsupported-mode";
    case MisuseKind::BadAccessRequest: return "bad-access-request";
    case MisuseKind::PowerSequence: return "power-sequence";
    case MisuseKind::WriteDuringReset: return "write-during-reset";
    case MisuseKind::AccessPoweredOff: return "access-powered-off";
    case MisuseKind::StartWhileNextBusy: return "start-while-next-busy";
  }
  return "?";
}

void MisuseLog::report(MisuseKind kind, Cycle at, int as, std::uint32_t offset, std::string message) {
  // One log line per kind and register, for at most kMaxLogged of them: a program writing all over
  // the register space gets a bounded log and a bounded set.
  if (logged_.size() < kMaxLogged) {
    if (logged_.emplace(kind, offset).second) {
      log()->warn(
          "GPU misuse [{}] at cycle {}: {} (further reports of this kind for this register are not logged)",
          to_string(kind), at, message);
      if (logged_.size() == kMaxLogged)
        log()->warn(
            "GPU misuse: {} kinds and registers logged; no further misuse is logged (all are kept in "
            "Gpu::misuse(), up to {})",
            kMaxLogged, kMaxKept);
    }
  }
  if (reports_.size() < kMaxKept) {
    reports_.push_back(MisuseReport{kind, at, as, offset, std::move(message)});
  } else {
    ++dropped_;
  }
}

std::size_t MisuseLog::count(MisuseKind kind) const noexcept {
  return static_cast<std::size_t>(
      std::count_if(reports_.begin(), reports_.end(), [&](const MisuseReport& r) { return r.kind == kind; }));
}

}  // namespace mali_sim
