// The page-walk cache: recently read table descriptors of levels 0-2, so that a walk after an L2
// TLB miss can start below the root. Entries are tagged by address space and by the VA span the
// descriptor covers; each level has its own capacity and true-LRU replacement.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "mali_sim/mmu/flat_index.hpp"
#include "mali_sim/pagetable/walker.hpp"
#include "mali_sim/regs.hpp"
#include "mali_sim/types.hpp"

namespace mali_sim {

struct WalkCacheEntry {
  std::uint8_t as = 0;
  std::uint8_t level = 0;   // level of the cached table descriptor (0, 1 or 2)
  GpuVa va_base = 0;        // first VA the descriptor covers
  PhysAddr next_table = 0;  // table of level + 1
  PhysAddr desc_pa = 0;     // where the descriptor was read, for stale checks
  std::uint64_t desc = 0;
};

class WalkCache {
 public:
  explicit WalkCache(const unsigned (&entries_per_level)[3]);

  // The deepest cached table for (as, va): a walk can start at result->level + 1.
  std::optional<WalkCacheEntry> lookup(unsigned as, GpuVa va) noexcept;
  // Remember the table descriptors a walk read (levels 0-2 only).
  void fill(unsigned as, GpuVa va, const WalkResult& walk);

  unsigned invalidate_all() noexcept;
  unsigned invalidate_as(unsigned as) noexcept;
  unsigned invalidate_region(unsigned as, const LockRegion& region) noexcept;
  unsigned valid_entries() const noexcept;
  template <class F>
  void for_each(F&& f) const {
    for (const auto& level : levels_)
      for (const Slot& s : level.slots)
        if (s.valid) f(s.e);
  }

 private:
  static constexpr std::uint32_t kNone = ~0U;
  struct Slot {
    WalkCacheEntry e;
    bool valid = false;
    std::uint32_t prev = kNone, next = kNone;  // LRU list, most recent at head
  };
  // One level: slots, an index (as, va_base) -> slot, and an LRU list threaded through the slots.
  struct Level {
    std::vector<Slot> slots;
    FlatIndex index;
    std::uint32_t head = kNone, tail = kNone;
    std::vector<std::uint32_t> free;
  };
  static std::uint64_t key(unsigned as, GpuVa va_base) noexcept { return va_base | as; }
  static void unlink(Level& l, std::uint32_t i) noexcept;
  static void push_front(Level& l, std::uint32_t i) noexcept;
  static void drop(Level& l, std::uint32_t i) noexcept;

  std::array<Level, 3> levels_;
};

}  // namespace mali_sim
