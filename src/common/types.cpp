#include "mali_sim/types.hpp"

#include <fmt/format.h>

#include "mali_sim/error.hpp"

namespace mali_sim {

std::string_view to_string(Access a) noexcept {
  switch (a) {
    case Access::Atomic: return "ATOMIC";
    case Access::Execute: return "EXECUTE";
    case Access::Read: return "READ";
    case Access::Write: return "WRITE";
  }
  return "?";
}

std::string_view to_string(PageSize s) noexcept {
  switch (s) {
    case PageSize::k4K: return "4K";
    case PageSize::k2M: return "2M";
    case PageSize::k1G: return "1G";
  }
  return "?";
}

std::string_view to_string(PtFormat f) noexcept {
  switch (f) {
    case PtFormat::MaliLpae: return "mali-lpae";
    case PtFormat::Aarch64_4K: return "aarch64-4k";
  }
  return "?";
}

std::string_view to_string(Errc c) noexcept {
  switch (c) {
    case Errc::kInvalidArgument: return "EINVAL";
    case Errc::kOutOfMemory: return "ENOMEM";
    case Errc::kExists: return "EEXIST";
    case Errc::kNotFound: return "ENOENT";
    case Errc::kOutOfRange: return "ERANGE";
    case Errc::kBusy: return "EBUSY";
    case Errc::kTimedOut: return "ETIMEDOUT";
    case Errc::kPermission: return "EPERM";
  }
  return "E?";
}

std::string Error::to_string() const { return fmt::format("{}: {}", mali_sim::to_string(code), message); }

}  // namespace mali_sim
