// User-space ABI vocabulary: the values a GPU user (Mesa, a trace) hands the kernel driver through
// panfrost's ioctls (include/uapi/drm/panfrost_drm.h). Traces, the reference driver and the test
// harness share them; none of them is a driver internal.
#pragma once

#include <cstdint>

namespace mali_sim {

// PANFROST_BO_* create flags, with their UAPI values.
namespace bo_flags {
inline constexpr std::uint32_t kNoExec = 1U << 0;  // PANFROST_BO_NOEXEC
inline constexpr std::uint32_t kHeap = 1U << 1;    // PANFROST_BO_HEAP: VA now, pages on GPU fault
inline constexpr std::uint32_t kAll = kNoExec | kHeap;
}  // namespace bo_flags

// DRM_IOCTL_PANFROST_MADVISE advice (PANFROST_MADV_WILLNEED = 0, PANFROST_MADV_DONTNEED = 1).
enum class Madvise : std::uint8_t { WillNeed = 0, DontNeed = 1 };

}  // namespace mali_sim
