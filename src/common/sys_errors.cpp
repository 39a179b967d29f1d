#include "common/sys_errors.hpp"

#include <cerrno>

namespace mali_sim {

Errc errc_from_errno(int e) noexcept {
  switch (e) {
    case ENOENT:
    case ENOTDIR: return Errc::kNotFound;
    case EACCES:
    case EPERM:
    case EROFS: return Errc::kPermission;
    case ENOMEM:
    case ENOSPC: return Errc::kOutOfMemory;
    default: return Errc::kInvalidArgument;
  }
}

}  // namespace mali_sim
