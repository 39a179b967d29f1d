// The library's error codes for a failed system call's errno, so that messages about files read
// the same wherever a file is opened or written.
#pragma once

#include "mali_sim/error.hpp"

namespace mali_sim {

Errc errc_from_errno(int e) noexcept;

}  // namespace mali_sim
