// The concrete page-table formats. Private to the library: the walker instantiates its loop
// for each final class so that descriptor decoding inlines (no virtual call per level).
#pragma once

#include "mali_sim/pagetable/format.hpp"

namespace mali_sim::detail {

inline constexpr std::uint64_t kValid = 1ULL << 0;
inline constexpr std::uint64_t kTypeMask = 3ULL;
inline constexpr std::uint64_t kTypeBlock = 1ULL;  // leaf ("ATE") encoding at levels 0-2 (MaliLpae: all)
inline constexpr std::uint64_t kTypeTable = 3ULL;  // table encoding (AArch64: also the L3 page encoding)
inline constexpr unsigned kAttrIndexShift = 2;
inline constexpr std::uint64_t kAttrIndexMask = 7ULL << kAttrIndexShift;
inline constexpr unsigned kShareShift = 8;
inline constexpr std::uint64_t kShareOuter = 2ULL << kShareShift;
inline constexpr std::uint64_t kAf = 1ULL << 10;
inline constexpr std::uint64_t kXn = 1ULL << 54;      // the execute-never bit both formats' walkers honour
inline constexpr std::uint64_t kXnBoth = 3ULL << 53;  // io-pgtable sets bits 53 and 54 for Mali LPAE

inline LeafAttrs common_attrs(std::uint64_t desc) {
  LeafAttrs a;
  a.attr_index = static_cast<std::uint8_t>((desc & kAttrIndexMask) >> kAttrIndexShift);
  a.shareability = static_cast<std::uint8_t>((desc >> kShareShift) & 3U);
  a.access_flag = (desc & kAf) != 0;
  a.exec = (desc & kXn) == 0;
  return a;
}

// io-pgtable ARM_MALI_LPAE: HAP-style permissions (bit 6 read, bit 7 write), leaf type 1 at every
// level, table type 3, always outer shareable, no AF, invalid = 0.
class MaliLpaeFormat final : public PteFormat {
 public:
  static constexpr std::uint64_t kRead = 1ULL << 6;
  static constexpr std::uint64_t kWrite = 1ULL << 7;
  // io-pgtable's attribute indices for Mali: 0 = non-cached default, 1 = cacheable, 2 = device.
  static constexpr std::uint64_t kIdxNc = 0, kIdxCache = 1, kIdxDev = 2;

  PtFormat id() const noexcept override { return PtFormat::MaliLpae; }
  std::uint64_t invalid() const noexcept override { return 0; }
  std::uint64_t make_table(PhysAddr next) const noexcept override {
    return (next & kOutputAddressMask) | kTypeTable;
  }
  std::uint64_t make_leaf(PhysAddr pa, unsigned /*level*/, ProtFlags p) const noexcept override {
    std::uint64_t d = (pa & kOutputAddressMask) | kTypeBlock | kShareOuter;
    if (p & prot::kRead) d |= kRead;
    if (p & prot::kWrite) d |= kWrite;
    if (p & prot::kNoExec) d |= kXnBoth;
    const std::uint64_t idx = (p & prot::kMmio) ? kIdxDev : (p & prot::kCache) ? kIdxCache : kIdxNc;
    return d | (idx << kAttrIndexShift);
  }
  std::uint64_t default_memattr() const noexcept override { return 0x0000'0000'0088'8D88ULL; }

  DescType classify(std::uint64_t desc, unsigned level) const noexcept override {
    if ((desc & kValid) == 0) return DescType::Invalid;
    const std::uint64_t type = desc & kTypeMask;
    if (type == kTypeBlock) return level == 0 ? DescType::Reserved : DescType::Leaf;
    return level < kLevels - 1 ? DescType::Table : DescType::Reserved;
  }
  LeafAttrs leaf_attrs(std::uint64_t desc) const noexcept override {
    LeafAttrs a = common_attrs(desc);
    a.read = (desc & kRead) != 0;
    a.write = (desc & kWrite) != 0;
    return a;
  }
  bool checks_access_flag() const noexcept override { return false; }
};

// kbase AArch64 mode: VMSAv8-64 stage-1 style. AP[1] (bit 6) grants unprivileged (GPU) access,
// AP[2] (bit 7) makes it read-only; leaf type 1 at levels 1-2 and 3 at level 3; AF set on leaves
// and tables; invalid = 2.
class Aarch64Format final : public PteFormat {
 public:
  static constexpr std::uint64_t kApUnpriv = 1ULL << 6;
  static constexpr std::uint64_t kApReadOnly = 1ULL << 7;
  // Slots of kbase's AArch64 MEMATTR: 0 default, 2 write-allocate, 5 non-cacheable.
  static constexpr std::uint64_t kIdxDefault = 0, kIdxWriteAlloc = 2, kIdxNonCacheable = 5;

  PtFormat id() const noexcept override { return PtFormat::Aarch64_4K; }
  std::uint64_t invalid() const noexcept override { return 2; }
  std::uint64_t make_table(PhysAddr next) const noexcept override {
    return (next & kOutputAddressMask) | kTypeTable | kAf;
  }
  std::uint64_t make_leaf(PhysAddr pa, unsigned level, ProtFlags p) const noexcept override {
    std::uint64_t d =
        (pa & kOutputAddressMask) | (level == kLevels - 1 ? kTypeTable : kTypeBlock) | kShareOuter | kAf;
    // There is no write-only encoding: a write-only request becomes read-write, as in kbase.
    if (p & (prot::kRead | prot::kWrite)) d |= kApUnpriv;
    if ((p & prot::kRead) && !(p & prot::kWrite)) d |= kApReadOnly;
    if (p & prot::kNoExec) d |= kXn;
    const std::uint64_t idx = (p & prot::kMmio)    ? kIdxNonCacheable
                              : (p & prot::kCache) ? kIdxWriteAlloc
                                                   : kIdxDefault;
    return d | (idx << kAttrIndexShift);
  }
  std::uint64_t default_memattr() const noexcept override { return 0x0000'4C8D'888D'8F88ULL; }

  DescType classify(std::uint64_t desc, unsigned level) const noexcept override {
    if ((desc & kValid) == 0) return DescType::Invalid;
    const std::uint64_t type = desc & kTypeMask;
    if (level == kLevels - 1) return type == kTypeTable ? DescType::Leaf : DescType::Reserved;
    if (type == kTypeTable) return DescType::Table;
    return level == 0 ? DescType::Reserved : DescType::Leaf;  // no 512 GiB blocks with 4 KiB granule
  }
  LeafAttrs leaf_attrs(std::uint64_t desc) const noexcept override {
    LeafAttrs a = common_attrs(desc);
    a.read = (desc & kApUnpriv) != 0;
    a.write = a.read && (desc & kApReadOnly) == 0;
    return a;
  }
  bool checks_access_flag() const noexcept override { return true; }
};

}  // namespace mali_sim::detail
