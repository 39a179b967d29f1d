#include "mali_sim/mmu/walk_cache.hpp"

namespace mali_sim {

WalkCache::WalkCache(const unsigned (&entries_per_level)[3]) {
  for (unsigned l = 0; l < 3; ++l) {
    Level& lv = levels_[l];
    lv.slots.resize(entries_per_level[l]);
    lv.index = FlatIndex(entries_per_level[l]);
    for (std::uint32_t i = entries_per_level[l]; i-- > 0;) lv.free.push_back(i);
  }
}

void WalkCache::unlink(Level& l, std::uint32_t i) noexcept {
  Slot& s = l.slots[i];
  (s.prev == kNone ? l.head : l.slots[s.prev].next) = s.next;
  (s.next == kNone ? l.tail : l.slots[s.next].prev) = s.prev;
  s.prev = s.next = kNone;
}

void WalkCache::push_front(Level& l, std::uint32_t i) noexcept {
  Slot& s = l.slots[i];
  s.prev = kNone;
  s.next = l.head;
  if (l.head != kNone) l.slots[l.head].prev = i;
  l.head = i;
  if (l.tail == kNone) l.tail = i;
}

void WalkCache::drop(Level& l, std::uint32_t i) noexcept {
  Slot& s = l.slots[i];
  unlink(l, i);
  l.index.erase(key(s.e.as, s.e.va_base));
  s.valid = false;
  l.free.push_back(i);
}

std::optional<WalkCacheEntry> WalkCache::lookup(unsigned as, GpuVa va) noexcept {
  for (int lv = 2; lv >= 0; --lv) {
    Level& l = levels_[static_cast<unsigned>(lv)];
    const std::uint32_t i = l.index.find(key(as, align_down(va, level_size(static_cast<unsigned>(lv)))));
    if (i == FlatIndex::kNone) continue;
    if (l.head != i) {  // already the most recent: the order stays
      unlink(l, i);
      push_front(l, i);
    }
    return l.slots[i].e;
  }
  return std::nullopt;
}

void WalkCache::fill(unsigned as, GpuVa va, const WalkResult& walk) {
  for (unsigned r = 0; r < walk.num_reads; ++r) {
    const WalkRead& rd = walk.reads[r];
    // Only descriptors that pointed at a further table are cached: a next read exists.
    if (rd.level > 2 || r + 1 >= walk.num_reads) continue;
    Level& l = levels_[rd.level];
    if (l.slots.empty()) continue;
    const GpuVa base = align_down(va, level_size(rd.level));
    std::uint32_t i = l.index.find(key(as, base));
    if (i != FlatIndex::kNone) {
      unlink(l, i);
    } else {
      if (l.free.empty()) drop(l, l.tail);  // evict the least recently used
      i = l.free.back();
      l.free.pop_back();
      l.index.insert(key(as, base), i);
    }
    Slot& s = l.slots[i];
    s.e = WalkCacheEntry{static_cast<std::uint8_t>(as),       rd.level, base,
                         PteFormat::output_address(rd.value), rd.pa,    rd.value};
    s.valid = true;
    push_front(l, i);
  }
}

unsigned WalkCache::invalidate_all() noexcept {
  unsigned n = 0;
  for (Level& l : levels_) {
    for (std::uint32_t i = 0; i < l.slots.size(); ++i) {
      if (l.slots[i].valid) {
        drop(l, i);
        ++n;
      }
    }
  }
  return n;
}

unsigned WalkCache::invalidate_as(unsigned as) noexcept {
  unsigned n = 0;
  for (Level& l : levels_) {
    for (std::uint32_t i = 0; i < l.slots.size(); ++i) {
      if (l.slots[i].valid && l.slots[i].e.as == as) {
        drop(l, i);
        ++n;
      }
    }
  }
  return n;
}

unsigned WalkCache::invalidate_region(unsigned as, const LockRegion& region) noexcept {
  unsigned n = 0;
  for (Level& l : levels_) {
    for (std::uint32_t i = 0; i < l.slots.size(); ++i) {
      const Slot& s = l.slots[i];
      if (!s.valid || s.e.as != as) continue;
      const GpuVa last = s.e.va_base + (level_size(s.e.level) - 1);
      if (s.e.va_base <= region.last() && region.base <= last) {
        drop(l, i);
        ++n;
      }
    }
  }
  return n;
}

unsigned WalkCache::valid_entries() const noexcept {
  unsigned n = 0;
  for (const Level& l : levels_) n += static_cast<unsigned>(l.index.size());
  return n;
}

}  // namespace mali_sim
