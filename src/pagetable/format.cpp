#include "mali_sim/pagetable/format.hpp"

#include <fmt/format.h>

namespace mali_sim {

namespace {

constexpr std::uint64_t kValid = 1ULL << 0;
constexpr std::uint64_t kTypeMask = 3ULL;
constexpr std::uint64_t kTypeBlock = 1ULL;   // leaf ("ATE") encoding at levels 0-2 (MaliLpae: all)
constexpr std::uint64_t kTypeTable = 3ULL;   // table encoding (AArch64: also the L3 page encoding)
constexpr unsigned kAttrIndexShift = 2;
constexpr std::uint64_t kAttrIndexMask = 7ULL << kAttrIndexShift;
constexpr unsigned kShareShift = 8;
constexpr std::uint64_t kShareOuter = 2ULL << kShareShift;
constexpr std::uint64_t kAf = 1ULL << 10;
constexpr std::uint64_t kXn = 1ULL << 54;      // the execute-never bit both formats' walkers honour
constexpr std::uint64_t kXnBoth = 3ULL << 53;  // io-pgtable sets bits 53 and 54 for Mali LPAE

LeafAttrs common_attrs(std::uint64_t desc) {
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
  std::uint64_t make_table(PhysAddr next) const noexcept override { return (next & kOutputAddressMask) | kTypeTable; }
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
    std::uint64_t d = (pa & kOutputAddressMask) | (level == kLevels - 1 ? kTypeTable : kTypeBlock) | kShareOuter | kAf;
    // There is no write-only encoding: a write-only request becomes read-write, as in kbase.
    if (p & (prot::kRead | prot::kWrite)) d |= kApUnpriv;
    if ((p & prot::kRead) && !(p & prot::kWrite)) d |= kApReadOnly;
    if (p & prot::kNoExec) d |= kXn;
    const std::uint64_t idx =
        (p & prot::kMmio) ? kIdxNonCacheable : (p & prot::kCache) ? kIdxWriteAlloc : kIdxDefault;
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

const MaliLpaeFormat kMaliLpae;
const Aarch64Format kAarch64;

}  // namespace

std::string_view to_string(PtFormat f) noexcept {
  switch (f) {
    case PtFormat::MaliLpae: return "mali-lpae";
    case PtFormat::Aarch64_4K: return "aarch64-4k";
  }
  return "?";
}

std::string prot_to_string(ProtFlags p) {
  std::string s;
  auto add = [&](ProtFlags bit, const char* name) {
    if (p & bit) {
      if (!s.empty()) s += '|';
      s += name;
    }
  };
  add(prot::kRead, "READ");
  add(prot::kWrite, "WRITE");
  add(prot::kCache, "CACHE");
  add(prot::kNoExec, "NOEXEC");
  add(prot::kMmio, "MMIO");
  if (p & ~prot::kAll) s += fmt::format("{}{:#x}", s.empty() ? "" : "|", p & ~prot::kAll);
  return s.empty() ? "NONE" : s;
}

const PteFormat& pte_format(PtFormat f) noexcept {
  return f == PtFormat::Aarch64_4K ? static_cast<const PteFormat&>(kAarch64)
                                   : static_cast<const PteFormat&>(kMaliLpae);
}

std::string describe_descriptor(const PteFormat& fmt, std::uint64_t desc, unsigned level) {
  static constexpr const char* kLeafName[] = {"block(512G)", "block(1G)", "block(2M)", "page(4K)"};
  const std::string head = fmt::format("{:#018x} L{} ", desc, level);
  switch (fmt.classify(desc, level)) {
    case DescType::Invalid: return head + "invalid";
    case DescType::Reserved: return head + "reserved encoding (translation fault)";
    case DescType::Table:
      return head + fmt::format("table -> {:#x}", PteFormat::output_address(desc));
    case DescType::Leaf: {
      const LeafAttrs a = fmt.leaf_attrs(desc);
      return head + fmt::format("{} PA {:#x} {}{}{} attr {} SH {}{}", kLeafName[level],
                                PteFormat::output_address(desc) & ~(level_size(level) - 1),
                                a.read ? "R" : "-", a.write ? "W" : "-", a.exec ? "X" : "-", a.attr_index,
                                a.shareability, a.access_flag ? " AF" : "");
    }
  }
  return head;
}

}  // namespace mali_sim
