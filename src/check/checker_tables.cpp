// The shadow of every watched page table: which frames are tables (of which root, level and VA),
// which frames leaves map, and which VA ranges changed since the last covering flush. It is kept
// up to date from descriptor writes and frame frees, and is what the use-after-free,
// mapping-error, executable-heap and LOCK-coverage checks consult.
#include <fmt/format.h>

#include <algorithm>

#include "check/checker_impl.hpp"
#include "mali_sim/pagetable/walker.hpp"

namespace mali_sim {

namespace {
std::uint64_t frames_of(unsigned level) { return level_size(level) >> kPageShift; }
bool valid(DescType t) { return t == DescType::Table || t == DescType::Leaf; }

// What replacing one valid descriptor by another changes for the walker. The architecture asks for
// break-before-make when the output address, the size (a table becoming a block or the reverse)
// or the memory attributes (type, shareability) change; a permission change may be made in place
// (it still needs the TLBs invalidated); bits the walker ignores (software bits 55-58, which
// io-pgtable's ARM_LPAE_PTE_SW_SYNC uses) change nothing.
enum class LiveChange { kNone, kPermissions, kBreakBeforeMake };

LiveChange compare_live(const PteFormat& fmt, std::uint64_t was, std::uint64_t now, unsigned level) {
  const DescType tw = fmt.classify(was, level);
  const DescType tn = fmt.classify(now, level);
  if (tw != tn || PteFormat::output_address(was) != PteFormat::output_address(now))
    return LiveChange::kBreakBeforeMake;
  if (tw == DescType::Table) return LiveChange::kNone;
  const LeafAttrs a = fmt.leaf_attrs(was);
  const LeafAttrs b = fmt.leaf_attrs(now);
  if (a.attr_index != b.attr_index || a.shareability != b.shareability) return LiveChange::kBreakBeforeMake;
  const bool af_differs = fmt.checks_access_flag() && a.access_flag != b.access_flag;
  if (a.read != b.read || a.write != b.write || a.exec != b.exec || af_differs)
    return LiveChange::kPermissions;
  return LiveChange::kNone;
}
}  // namespace

int Checker::Impl::live_as_of(PhysAddr root) const {
  const auto translates_through = [root](const WalkConfig& c) {
    return (c.mode == TranslationMode::MaliLpae || c.mode == TranslationMode::Aarch64_4K) &&
           c.table_base == root;
  };
  for (unsigned as = 0; as < regs::kMaxAddressSpaces; ++as) {
    if (!gpu.has_as(as)) continue;
    const AddressSpace& a = gpu.address_space(as);
    if (!translates_through(a.live)) continue;
    // An UPDATE under way to another table counts as done: every access of the AS waits for it,
    // so no walk can start through the old table any more (panfrost frees it right away).
    if (a.updating &&
        !translates_through(WalkConfig::from_registers(a.regs.transtab, a.regs.transcfg, a.regs.memattr,
                                                       kMaxVaBits, kMaxPaBits, gpu.aarch64_mmu())))
      continue;
    return static_cast<int>(as);
  }
  return -1;
}

void Checker::Impl::watch(PhysAddr root, PtFormat format) {
  if (roots.contains(root)) return;
  roots[root].format = format;
  // What is already in the tree was written before we watched: take it as it is.
  in_scan = true;
  link_table(root, root, 0, 0, pte_format(format));
  in_scan = false;
}

void Checker::Impl::forget_root(PhysAddr root) {
  for (auto it = tables.begin(); it != tables.end();)
    it = it->second.root == root ? tables.erase(it) : std::next(it);
  for (auto it = leaves.begin(); it != leaves.end();)
    it = it->second.root == root ? leaves.erase(it) : std::next(it);
  roots.erase(root);
}

void Checker::Impl::link_table(PhysAddr root, PhysAddr table, unsigned level, GpuVa va_base,
                               const PteFormat& fmt) {
  const std::uint64_t pfn = table >> kPageShift;
  // A dangling table page (freed while linked) may come back as a new table: it is that now.
  if (auto d = tables.find(pfn); d != tables.end() && d->second.dangling) tables.erase(d);
  if (tables.contains(pfn)) {
    report(Detector::MappingError, live_as_of(root), va_base, false,
           fmt::format("level-{} table {:#x} linked where it is already linked (a table shared or looped)",
                       level, table),
           "give every table descriptor its own, freshly allocated table page");
    return;
  }
  if (frames != nullptr && frames->manages(table) && !frames->is_allocated(table))
    report(Detector::UseAfterFree, live_as_of(root), table, true,
           fmt::format("level-{} table for VA {:#x} linked at PA {:#x}, a frame that is not allocated", level,
                       va_base, table),
           "allocate table pages before linking them, and never link a freed one");
  tables.emplace(pfn, TableInfo{root, static_cast<std::uint8_t>(level), va_base, false});
  for (unsigned i = 0; i < kEntriesPerTable; ++i) {
    std::uint64_t desc = 0;
    if (!mem.read64(table + std::uint64_t{i} * 8, desc)) return;
    const GpuVa va = va_base + i * level_size(level);
    switch (fmt.classify(desc, level)) {
      case DescType::Table:
        if (level < 3) link_table(root, PteFormat::output_address(desc), level + 1, va, fmt);
        break;
      case DescType::Leaf:
        add_leaf(LeafRef{root, va, static_cast<std::uint8_t>(level), table + std::uint64_t{i} * 8}, desc,
                 fmt);
        break;
      default: break;
    }
  }
}

// Drop a table and everything below it from the shadow; the leaves and tables it held no longer
// translate, so each is a change that cached copies must not outlive.
void Checker::Impl::unlink_table(PhysAddr table, const PteFormat& fmt, std::vector<Change>* changes) {
  auto it = tables.find(table >> kPageShift);
  if (it == tables.end()) return;
  const TableInfo info = it->second;
  tables.erase(it);
  if (info.dangling) return;  // its contents were dropped when it was freed
  for (unsigned i = 0; i < kEntriesPerTable; ++i) {
    std::uint64_t desc = 0;
    (void)mem.read64(table + std::uint64_t{i} * 8, desc);
    const GpuVa va = info.va_base + i * level_size(info.level);
    switch (fmt.classify(desc, info.level)) {
      case DescType::Table:
        if (info.level < 3) unlink_table(PteFormat::output_address(desc), fmt, changes);
        if (changes != nullptr) changes->push_back(Change{va, level_size(info.level), true});
        break;
      case DescType::Leaf:
        remove_leaf(desc, table + std::uint64_t{i} * 8);
        if (changes != nullptr) changes->push_back(Change{va, level_size(info.level), false});
        break;
      default: break;
    }
  }
}

void Checker::Impl::add_leaf(const LeafRef& ref, std::uint64_t desc, const PteFormat& fmt) {
  const PhysAddr pa = PteFormat::output_address(desc) & ~(level_size(ref.level) - 1);
  leaves.emplace(pa >> kPageShift, ref);
  if (in_scan) return;  // mapped before the checker watched: no history to judge it by
  const int as = live_as_of(ref.root);
  // The frames a leaf maps must be allocated (checking a 1 GiB block's first frame suffices).
  if (frames != nullptr) {
    const std::uint64_t n = ref.level == 1 ? 1 : frames_of(ref.level);
    for (std::uint64_t f = 0; f < n; ++f) {
      const PhysAddr p = pa + f * kPageSize;
      if (frames->manages(p) && !frames->is_allocated(p)) {
        report(Detector::UseAfterFree, as, ref.va, false,
               fmt::format("VA {:#x} mapped to PA {:#x}, a frame that is free (never allocated, or freed)",
                           ref.va, p),
               "map only pages the object holds; take them from the allocator and keep them until unmapped");
        break;
      }
    }
  }
  const std::uint64_t span = level_size(ref.level);
  bool resolves_fault = false;
  if (as >= 0) {
    AsState& st = as_state[static_cast<unsigned>(as)];
    resolves_fault = st.fault_va_unmapped && st.fault_va - ref.va < span;
    if (resolves_fault) st.fault_va_unmapped = false;
  }
  if (!fmt.leaf_attrs(desc).exec) return;
  // Executable memory that grows on fault: a declared heap, or the page a pending fault asked for.
  for (const auto& [id, o] : objects) {
    if (o.grows_on_fault && o.pgtable_root == ref.root && ref.va < o.va + o.size && o.va < ref.va + span) {
      if (!exec_heaps_reported.insert(id).second) return;  // once per heap
      report(Detector::ExecutableHeap, as, ref.va, false,
             fmt::format("{} (grows on fault) has VA {:#x} mapped executable", o.name, ref.va),
             "map heap (grow-on-fault) pages with NOEXEC; refuse heap BOs without NOEXEC at creation");
      return;
    }
  }
  if (resolves_fault)
    report(Detector::ExecutableHeap, as, ref.va, false,
           fmt::format("VA {:#x}, mapped to resolve the page fault at {:#x}, is executable", ref.va,
                       as_state[static_cast<unsigned>(as)].fault_va),
           "memory grown on a GPU page fault must be mapped NOEXEC (panfrost: heap BOs are NOEXEC)");
}

void Checker::Impl::remove_leaf(std::uint64_t desc, PhysAddr desc_pa) {
  const std::uint64_t pfn = PteFormat::output_address(desc) >> kPageShift;
  // The key is the first frame of the leaf's aligned output; try each leaf size's alignment.
  for (unsigned level = 3; level >= 1; --level) {
    const std::uint64_t key = pfn & ~(frames_of(level) - 1);
    auto [b, e] = leaves.equal_range(key);
    for (auto it = b; it != e; ++it) {
      if (it->second.desc_pa == desc_pa) {
        leaves.erase(it);
        return;
      }
    }
  }
}

void Checker::Impl::record_change(PhysAddr root, const Change& c) {
  // Only a table some AS translates through can be cached; a root made live later is flushed by
  // the UPDATE that does it.
  if (live_as_of(root) < 0) return;
  auto& v = roots[root].changes;
  // One unmap of many pages is one range. Table descriptors stay apart: each need only overlap the
  // region, and a merged range would let one overlap stand for all.
  if (!c.table && !v.empty() && !v.back().table && v.back().va + v.back().size == c.va) {
    v.back().size += c.size;
    return;
  }
  v.push_back(c);
}

void Checker::Impl::word_written(PhysAddr pa, std::uint64_t old_value, std::uint64_t new_value) {
  auto it = tables.find(pa >> kPageShift);
  if (it == tables.end() || it->second.dangling) return;
  const TableInfo info = it->second;
  const PteFormat& fmt = pte_format(roots[info.root].format);
  const unsigned level = info.level;
  const GpuVa va = info.va_base + ((pa & (kPageSize - 1)) / 8) * level_size(level);
  const DescType was = fmt.classify(old_value, level);
  const DescType now = fmt.classify(new_value, level);
  const int as = live_as_of(info.root);
  // An invalid value over an invalid entry changes nothing the GPU can see (io-pgtable writes 0
  // over a table entry it has just cleared when it frees the table).
  if (!valid(was) && !valid(now)) return;
  if (old_value == new_value) return;
  if (valid(was) && valid(now)) {
    switch (compare_live(fmt, old_value, new_value, level)) {
      case LiveChange::kNone: return;        // only bits the walker ignores (software bits): no change at all
      case LiveChange::kPermissions: break;  // allowed in place; cached copies still need invalidating
      case LiveChange::kBreakBeforeMake:
        report(Detector::MappingError, as, va, false,
               fmt::format("level-{} descriptor for VA {:#x} replaced while live: {} -> {}", level, va,
                           describe_descriptor(fmt, old_value, level),
                           describe_descriptor(fmt, new_value, level)),
               "unmap (write invalid), flush the range, and only then map something else there "
               "(break-before-make: another output address, size or memory attributes)");
        break;
    }
  }
  if (was == DescType::Leaf) {
    remove_leaf(old_value, pa);
    record_change(info.root, Change{va, level_size(level), false});
  } else if (was == DescType::Table) {
    std::vector<Change> changes;
    unlink_table(PteFormat::output_address(old_value), fmt, &changes);
    changes.push_back(Change{va, level_size(level), true});
    for (const Change& c : changes) record_change(info.root, c);
  }
  if (now == DescType::Leaf) {
    add_leaf(LeafRef{info.root, va, static_cast<std::uint8_t>(level), pa}, new_value, fmt);
  } else if (now == DescType::Table && level < 3) {
    link_table(info.root, PteFormat::output_address(new_value), level + 1, va, fmt);
  }
}

void Checker::Impl::frame_freed(PhysAddr pa) {
  const std::uint64_t pfn = pa >> kPageShift;
  if (auto it = roots.find(pa); it != roots.end()) {
    if (const int as = live_as_of(pa); as >= 0)
      report(Detector::MappingError, as, pa, true,
             fmt::format("page-table root {:#x} freed while AS{} translates through it", pa, as),
             "switch the AS to UNMAPPED (or another table) with UPDATE before freeing its page table");
    forget_root(pa);
    return;
  }
  if (auto it = tables.find(pfn); it != tables.end() && !it->second.dangling) {
    const TableInfo info = it->second;
    const int as = live_as_of(info.root);
    if (as >= 0)
      report(
          Detector::MappingError, as, info.va_base, false,
          fmt::format("level-{} table page {:#x} (VA {:#x}) freed while still linked into page table {:#x}",
                      info.level, pa, info.va_base, info.root),
          "write the parent descriptor invalid and flush before freeing a table page");
    // Its entries stop being mappings; the table stays known as dangling so that linking it
    // again, or making its tree live, is caught.
    const PteFormat& fmt = pte_format(roots[info.root].format);
    unlink_table(pa, fmt, nullptr);
    tables.emplace(pfn, TableInfo{info.root, info.level, info.va_base, true});
  }
  // Reported once per mapping: the shadow then forgets it, as the page is gone.
  for (unsigned level = 3; level >= 1; --level) {
    const std::uint64_t key = pfn & ~(frames_of(level) - 1);
    auto [b, e] = leaves.equal_range(key);
    for (auto it = b; it != e;) {
      const LeafRef ref = it->second;
      if (ref.level != level) {
        ++it;
        continue;
      }
      it = leaves.erase(it);
      report(Detector::UseAfterFree, live_as_of(ref.root), ref.va, false,
             fmt::format("frame {:#x} freed while page table {:#x} still maps it at VA {:#x}", pa, ref.root,
                         ref.va + ((pfn << kPageShift) & (level_size(level) - 1))),
             "unmap (and flush) before putting the pages; free pages only after the GPU can no longer reach "
             "them");
    }
  }
}

}  // namespace mali_sim
