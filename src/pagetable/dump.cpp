#include "mali_sim/pagetable/dump.hpp"

#include <fmt/format.h>

namespace mali_sim {

namespace {

bool same_attrs(const LeafAttrs& a, const LeafAttrs& b) {
  return a.read == b.read && a.write == b.write && a.exec == b.exec && a.access_flag == b.access_flag &&
         a.attr_index == b.attr_index && a.shareability == b.shareability;
}

void visit(const PhysMem& mem, const PteFormat& fmt, PhysAddr table, unsigned level, GpuVa base,
           PageTableDump& out) {
  ++out.tables_per_level[level];
  for (unsigned i = 0; i < kEntriesPerTable; ++i) {
    std::uint64_t desc = 0;
    if (!mem.read64(table + 8ULL * i, desc)) {
      ++out.bad_table_reads;
      return;
    }
    const GpuVa va = base + static_cast<GpuVa>(i) * level_size(level);
    switch (fmt.classify(desc, level)) {
      case DescType::Invalid:
      case DescType::Reserved: break;
      case DescType::Table: visit(mem, fmt, PteFormat::output_address(desc), level + 1, va, out); break;
      case DescType::Leaf: {
        const std::uint64_t span = level_size(level);
        const PhysAddr pa = PteFormat::output_address(desc) & ~(span - 1);
        const LeafAttrs a = fmt.leaf_attrs(desc);
        MappedRange* last = out.ranges.empty() ? nullptr : &out.ranges.back();
        if (last == nullptr || last->va + last->size != va || last->pa + last->size != pa ||
            !same_attrs(last->attrs, a)) {
          out.ranges.push_back(MappedRange{va, 0, pa, a});
          last = &out.ranges.back();
        }
        last->size += span;
        (level == 3 ? last->pages_4k : level == 2 ? last->blocks_2m : last->blocks_1g) += 1;
        break;
      }
    }
  }
}

}  // namespace

PageTableDump dump_page_table(const PhysMem& mem, const PteFormat& fmt, PhysAddr root) {
  PageTableDump out;
  visit(mem, fmt, root, 0, 0, out);
  return out;
}

std::string MappedRange::to_string() const {
  std::string leaves;
  auto add = [&](std::uint64_t n, const char* what) {
    if (n == 0) return;
    leaves += fmt::format("{}{} x {}", leaves.empty() ? "" : " + ", n, what);
  };
  add(blocks_1g, "1G");
  add(blocks_2m, "2M");
  add(pages_4k, "4K");
  return fmt::format("VA {:#012x}-{:#012x} -> PA {:#012x}  {:>9} KiB  {}{}{} attr {} SH {}{}  [{}]", va,
                     va + size - 1, pa, size / 1024, attrs.read ? "R" : "-", attrs.write ? "W" : "-",
                     attrs.exec ? "X" : "-", attrs.attr_index, attrs.shareability,
                     attrs.access_flag ? " AF" : "", leaves);
}

std::string PageTableDump::to_string() const {
  std::string s = fmt::format(
      "tables: L0 {}, L1 {}, L2 {}, L3 {}{}\n", tables_per_level[0], tables_per_level[1], tables_per_level[2],
      tables_per_level[3],
      bad_table_reads ? fmt::format(" ({} table pointers outside memory)", bad_table_reads) : std::string{});
  if (ranges.empty()) s += "  (nothing mapped)\n";
  for (const auto& r : ranges) s += "  " + r.to_string() + "\n";
  return s;
}

}  // namespace mali_sim
