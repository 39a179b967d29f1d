#include "mali_sim/mmu/walk_cache.hpp"

namespace mali_sim {

WalkCache::WalkCache(const unsigned (&entries_per_level)[3]) {
  for (unsigned l = 0; l < 3; ++l) levels_[l].resize(entries_per_level[l]);
}

std::optional<WalkCacheEntry> WalkCache::lookup(unsigned as, GpuVa va) noexcept {
  for (int l = 2; l >= 0; --l) {
    const GpuVa base = align_down(va, level_size(static_cast<unsigned>(l)));
    for (Slot& s : levels_[static_cast<unsigned>(l)]) {
      if (s.valid && s.e.as == as && s.e.va_base == base) {
        s.lru = ++clock_;
        return s.e;
      }
    }
  }
  return std::nullopt;
}

void WalkCache::fill(unsigned as, GpuVa va, const WalkResult& walk) {
  for (unsigned i = 0; i < walk.num_reads; ++i) {
    const WalkRead& rd = walk.reads[i];
    // Only descriptors that pointed at a further table are cached: the next read's level says so.
    if (rd.level > 2 || i + 1 >= walk.num_reads) continue;
    auto& slots = levels_[rd.level];
    if (slots.empty()) continue;
    const GpuVa base = align_down(va, level_size(rd.level));
    Slot* victim = &slots[0];
    for (Slot& s : slots) {
      if (s.valid && s.e.as == as && s.e.va_base == base) {
        victim = &s;
        break;
      }
      if (victim->valid && (!s.valid || s.lru < victim->lru)) victim = &s;
    }
    victim->e = WalkCacheEntry{static_cast<std::uint8_t>(as),       rd.level, base,
                               PteFormat::output_address(rd.value), rd.pa,    rd.value};
    victim->valid = true;
    victim->lru = ++clock_;
  }
}

unsigned WalkCache::invalidate_all() noexcept {
  unsigned n = 0;
  for (auto& level : levels_)
    for (Slot& s : level) {
      n += s.valid ? 1U : 0U;
      s.valid = false;
    }
  return n;
}

unsigned WalkCache::invalidate_as(unsigned as) noexcept {
  unsigned n = 0;
  for (auto& level : levels_)
    for (Slot& s : level)
      if (s.valid && s.e.as == as) {
        s.valid = false;
        ++n;
      }
  return n;
}

unsigned WalkCache::invalidate_region(unsigned as, const LockRegion& region) noexcept {
  unsigned n = 0;
  for (auto& level : levels_)
    for (Slot& s : level) {
      if (!s.valid || s.e.as != as) continue;
      const GpuVa last = s.e.va_base + (level_size(s.e.level) - 1);
      if (s.e.va_base <= region.last() && region.base <= last) {
        s.valid = false;
        ++n;
      }
    }
  return n;
}

unsigned WalkCache::valid_entries() const noexcept {
  unsigned n = 0;
  for (const auto& level : levels_)
    for (const Slot& s : level) n += s.valid ? 1U : 0U;
  return n;
}

}  // namespace mali_sim
