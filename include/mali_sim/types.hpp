// Basic vocabulary shared by every layer: addresses, cycles, access kinds, page sizes.
#pragma once

#include <cstdint>
#include <string_view>

namespace mali_sim {

using GpuVa = std::uint64_t;     // GPU virtual address (input of the MMU)
using PhysAddr = std::uint64_t;  // physical address (output of the MMU, address in PhysMem)
using Cycle = std::uint64_t;     // GPU clock cycles

inline constexpr unsigned kPageShift = 12;
inline constexpr std::uint64_t kPageSize = 1ULL << kPageShift;  // 4 KiB granule
inline constexpr std::uint64_t kSize2M = 1ULL << 21;
inline constexpr std::uint64_t kSize1G = 1ULL << 30;
inline constexpr unsigned kMaxPaBits = 40;  // Mali physical address limit
inline constexpr unsigned kMaxVaBits = 48;

// Access kinds with the numeric values of AS_FAULTSTATUS.ACCESS_TYPE (bits [9:8]), so that a
// fault record can carry the access without translation.
enum class Access : std::uint8_t { Atomic = 0, Execute = 1, Read = 2, Write = 3 };

std::string_view to_string(Access a) noexcept;

// The two page-table formats a Mali MMU walks: the legacy "Mali LPAE" format (Linux io-pgtable
// ARM_MALI_LPAE) and the AArch64 4 KiB-granule format. Drivers choose one, the GPU is told which
// through TRANSTAB/TRANSCFG, and a checker decodes the same bytes: vocabulary of every layer.
enum class PtFormat : std::uint8_t { MaliLpae, Aarch64_4K };
std::string_view to_string(PtFormat f) noexcept;

// Sizes a single translation can cover with the 4 KiB granule.
enum class PageSize : std::uint8_t { k4K, k2M, k1G };

constexpr std::uint64_t bytes(PageSize s) noexcept {
  switch (s) {
    case PageSize::k4K: return kPageSize;
    case PageSize::k2M: return kSize2M;
    case PageSize::k1G: return kSize1G;
  }
  return kPageSize;
}

std::string_view to_string(PageSize s) noexcept;

constexpr bool is_aligned(std::uint64_t v, std::uint64_t align) noexcept { return (v & (align - 1)) == 0; }
constexpr std::uint64_t align_down(std::uint64_t v, std::uint64_t align) noexcept { return v & ~(align - 1); }
constexpr std::uint64_t align_up(std::uint64_t v, std::uint64_t align) noexcept {
  return (v + align - 1) & ~(align - 1);
}

}  // namespace mali_sim
