#include "mali_sim/pagetable/format.hpp"

#include <fmt/format.h>

#include "pagetable/formats.hpp"

namespace mali_sim {

namespace {

const detail::MaliLpaeFormat kMaliLpae;
const detail::Aarch64Format kAarch64;

}  // namespace

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
  std::string head = fmt::format("{:#018x} L{} ", desc, level);
  switch (fmt.classify(desc, level)) {
    case DescType::Invalid: return head + "invalid";
    case DescType::Reserved: return head + "reserved encoding (translation fault)";
    case DescType::Table: return head + fmt::format("table -> {:#x}", PteFormat::output_address(desc));
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
