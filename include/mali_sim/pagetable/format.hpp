// Descriptor codecs for the two Mali page-table formats, behind one interface (in the manner of
// gem5's per-format page-table ops), so that the walker and the writer never branch on the format
// inside their loops.
//
//   MaliLpae    the legacy "Mali LPAE" format as Linux io-pgtable ARM_MALI_LPAE writes it and as
//               the GPU walks it when TRANSCFG is LEGACY and TRANSTAB.ADRMODE is TABLE.
//   Aarch64_4K  the AArch64 4 KiB-granule format as Arm's kbase driver writes it
//               (TRANSCFG.ADRMODE = AARCH64_4K).
//
// Common geometry: 4 levels of 512 8-byte descriptors; level L indexes VA[47-9L : 39-9L];
// output address in bits [47:12].
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mali_sim/types.hpp"

namespace mali_sim {

// Protection flags with the values of Linux's IOMMU_* flags, so a driver model can pass what
// panfrost passes (READ | WRITE | NOEXEC for heap chunks, + CACHE since 2025).
using ProtFlags = std::uint32_t;
namespace prot {
inline constexpr ProtFlags kRead = 1U << 0;
inline constexpr ProtFlags kWrite = 1U << 1;
inline constexpr ProtFlags kCache = 1U << 2;
inline constexpr ProtFlags kNoExec = 1U << 3;
inline constexpr ProtFlags kMmio = 1U << 4;
inline constexpr ProtFlags kAll = kRead | kWrite | kCache | kNoExec | kMmio;
}  // namespace prot
std::string prot_to_string(ProtFlags p);

inline constexpr unsigned kLevels = 4;
inline constexpr unsigned kEntriesPerTable = 512;

// Bit position of the lowest VA bit indexed at a level: 39, 30, 21, 12.
constexpr unsigned level_shift(unsigned level) noexcept { return 39 - 9 * level; }
constexpr std::uint64_t level_size(unsigned level) noexcept { return 1ULL << level_shift(level); }
constexpr unsigned level_index(GpuVa va, unsigned level) noexcept {
  return static_cast<unsigned>((va >> level_shift(level)) & (kEntriesPerTable - 1));
}

enum class DescType : std::uint8_t {
  Invalid,   // bit 0 clear: translation fault
  Table,     // next-level table
  Leaf,      // block (levels 1-2) or page (level 3)
  Reserved,  // valid bit set but not a legal encoding at this level: translation fault
};

// What a leaf grants, as the walker reads it (before TRANSCFG-wide adjustments such as WXN).
struct LeafAttrs {
  bool read = false;
  bool write = false;
  bool exec = false;
  bool access_flag = false;
  std::uint8_t attr_index = 0;    // MEMATTR slot, bits [4:2]
  std::uint8_t shareability = 0;  // bits [9:8]
};

class PteFormat {
 public:
  static constexpr std::uint64_t kOutputAddressMask = 0x0000'FFFF'FFFF'F000ULL;  // bits [47:12]

  virtual ~PteFormat() = default;
  virtual PtFormat id() const noexcept = 0;
  std::string_view name() const noexcept { return to_string(id()); }

  // Encoding (driver side).
  virtual std::uint64_t invalid() const noexcept = 0;
  virtual std::uint64_t make_table(PhysAddr next_table) const noexcept = 0;
  virtual std::uint64_t make_leaf(PhysAddr pa, unsigned level, ProtFlags prot) const noexcept = 0;
  // MEMATTR a driver programs so that the attribute indices make_leaf() uses mean what they say.
  virtual std::uint64_t default_memattr() const noexcept = 0;

  // Decoding (hardware side).
  virtual DescType classify(std::uint64_t desc, unsigned level) const noexcept = 0;
  virtual LeafAttrs leaf_attrs(std::uint64_t desc) const noexcept = 0;
  // Whether the walker must raise an access-flag fault for a leaf without AF.
  virtual bool checks_access_flag() const noexcept = 0;

  static constexpr PhysAddr output_address(std::uint64_t desc) noexcept { return desc & kOutputAddressMask; }
};

const PteFormat& pte_format(PtFormat f) noexcept;

// Readable one-line description of a descriptor at a level, e.g.
// "0x0060000080000741 L3 page PA 0x80000000 R W XN attr 1 SH 2".
std::string describe_descriptor(const PteFormat& fmt, std::uint64_t desc, unsigned level);

}  // namespace mali_sim
