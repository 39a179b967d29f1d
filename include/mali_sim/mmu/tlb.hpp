// A translation lookaside buffer: set-associative (fully associative when ways == entries), true
// LRU within a set, entries tagged by address space and covering 4 KiB, 2 MiB or 1 GiB. Used for
// the per-core L1 uTLBs and the shared L2 TLB.
//
// Entries survive page-table edits: only invalidate_*() drop them, which is what the AS commands
// UPDATE, UNLOCK, FLUSH_PT and FLUSH_MEM do. A driver that forgets to flush sees stale
// translations, as on silicon.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "mali_sim/mmu/gpu_spec.hpp"
#include "mali_sim/regs.hpp"
#include "mali_sim/types.hpp"

namespace mali_sim {

struct TlbEntry {
  GpuVa va_base = 0;     // first VA the entry covers
  PhysAddr pa_base = 0;  // PA of that VA
  PageSize size = PageSize::k4K;
  std::uint8_t as = 0;
  std::uint8_t level = 3;  // level of the leaf descriptor (permission faults report it)
  bool read = false, write = false, exec = false;
  std::uint8_t allowed = 0;  // bit n set: Access n permitted (precomputed from read/write/exec)
  std::uint8_t attr_index = 0;
  std::uint8_t memattr = 0;
  // Where the translation came from, so a checker can tell when memory no longer agrees.
  PhysAddr desc_pa = 0;
  std::uint64_t desc = 0;
  Cycle filled_at = 0;

  bool covers(unsigned as_, GpuVa va) const noexcept { return as == as_ && va - va_base < bytes(size); }
  PhysAddr translate(GpuVa va) const noexcept { return pa_base + (va - va_base); }
  bool allows(Access a) const noexcept { return ((allowed >> static_cast<unsigned>(a)) & 1U) != 0; }
  // Set read/write/exec and the precomputed per-access mask (the MMU's permission rules).
  void set_permissions(bool r, bool w, bool x) noexcept;
};

class Tlb {
 public:
  explicit Tlb(const TlbSpec& spec);
  // The memo points into slots_: moving keeps the buffer, copying would not.
  Tlb(const Tlb&) = delete;
  Tlb& operator=(const Tlb&) = delete;
  Tlb(Tlb&&) noexcept = default;
  Tlb& operator=(Tlb&&) noexcept = default;

  // The entry covering (as, va), refreshing its LRU position; nullptr on a miss.
  const TlbEntry* lookup(unsigned as, GpuVa va) noexcept {
    if (const TlbEntry* e = lookup_memo(as, va)) return e;
    return lookup_slow(as, va, memo_key(as, va));
  }
  // The same, answered from the memo only: nullptr may also mean "ask lookup()".
  const TlbEntry* lookup_memo(unsigned as, GpuVa va) noexcept {
    const std::uint64_t key = memo_key(as, va);
    const Memo& m = memo_[memo_index(key)];
    if (m.key != key || m.slot->gen != m.gen) return nullptr;
    m.slot->lru = ++clock_;
    return &m.slot->e;
  }
  // Insert (replacing an entry for the same page if present), evicting the set's LRU entry.
  void insert(const TlbEntry& e);

  // Drop entries; each returns how many it dropped.
  unsigned invalidate_all() noexcept;
  unsigned invalidate_as(unsigned as) noexcept;
  unsigned invalidate_region(unsigned as, const LockRegion& region) noexcept;

  unsigned capacity() const noexcept { return static_cast<unsigned>(slots_.size()); }
  unsigned valid_entries() const noexcept;
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_)
      if (s.valid) f(s.e);
  }

 private:
  struct Slot {
    TlbEntry e;
    std::uint64_t lru = 0;
    std::uint32_t gen = 1;  // bumped whenever the slot's content changes, to retire memo entries
    bool valid = false;
  };
  // A direct-mapped memo of recent lookups (as, 4 KiB page) -> slot. It is a host-speed shortcut
  // over the modelled associative search, not part of the model: a memo hit always names the
  // slot the full search would find, because any change to a slot bumps its generation.
  struct Slot;
  struct Memo {
    std::uint64_t key = ~0ULL;
    Slot* slot = nullptr;  // slots_ never reallocates after construction
    std::uint32_t gen = 0;
  };
  static constexpr unsigned kMemoBits = 10;

  static std::uint64_t memo_key(unsigned as, GpuVa va) noexcept { return ((va >> kPageShift) << 4) | as; }
  static std::size_t memo_index(std::uint64_t key) noexcept {
    // Fibonacci hashing: pages that differ only in high bits (buffers a power of two apart) must
    // not share a memo slot.
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> (64 - kMemoBits));
  }
  const TlbEntry* lookup_slow(unsigned as, GpuVa va, std::uint64_t key) noexcept;
  std::size_t set_base(GpuVa va, PageSize size) const noexcept;
  void drop(Slot& s) noexcept;

  unsigned ways_;
  unsigned sets_;
  std::vector<Slot> slots_;                 // set-major: set i occupies [i*ways, (i+1)*ways)
  std::array<unsigned, 3> live_by_size_{};  // valid entries per page size, to skip empty probes
  std::vector<Memo> memo_;
  std::uint64_t clock_ = 0;
};

}  // namespace mali_sim
