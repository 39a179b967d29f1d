// A translation lookaside buffer: set-associative (fully associative when ways == entries), entries
// tagged by address space and covering 4 KiB, 2 MiB or 1 GiB. The lowest-numbered free way of a
// set is filled before anything is evicted; then TlbSpec::replacement chooses the victim (second
// chance by default, or true LRU). Used for the per-core L1 uTLBs and the shared L2 TLB.
//
// Entries survive page-table edits: only invalidate_*() drop them, which is what the AS commands
// UPDATE, UNLOCK, FLUSH_PT and FLUSH_MEM do. A driver that forgets to flush sees stale
// translations, as on silicon.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "mali_sim/gpu/gpu_spec.hpp"
#include "mali_sim/mmu/flat_index.hpp"
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
    const Memo* m = memo_hit(as, va);
    return m != nullptr ? &m->slot->e : nullptr;
  }
  // lookup_memo() for an access of type `a`: nullptr also when the entry does not permit it.
  const TlbEntry* lookup_memo(unsigned as, GpuVa va, Access a) noexcept {
    const Memo* m = memo_hit(as, va, a);
    return m != nullptr ? &m->slot->e : nullptr;
  }
  // Whether the memo answers (as, va) for an access of type `a`, and if so the PA. With second
  // chance this reads the memo entry and nothing else: neither the entry's slot nor any counter.
  bool lookup_memo_pa(unsigned as, GpuVa va, Access a, PhysAddr& pa) noexcept {
    const Memo* m = memo_hit(as, va, a);
    if (m == nullptr) return false;
    pa = va + m->pa_offset;
    return true;
  }
  bool lookup_memo_hit(unsigned as, GpuVa va, Access a) noexcept { return memo_hit(as, va, a) != nullptr; }
  // Whether the memo may answer for `as` (all may at first). Off retires every memo entry and
  // keeps new ones for `as` out, so that lookup_memo() misses for it until it is on again: a
  // caller can then take a memo hit as leave to skip its own checks of the address space (Gpu's
  // fast path). lookup() answers the same either way.
  void set_memo_enabled(unsigned as, bool on) noexcept {
    const std::uint32_t bit = std::uint32_t{1} << as;
    if (on) {
      memo_as_ |= bit;
    } else if ((memo_as_ & bit) != 0) {
      memo_as_ &= ~bit;
      next_epoch();
    }
  }
  // Insert (replacing an entry for the same page if present), evicting the set's LRU entry.
  // e.va_base must be aligned to e.size.
  void insert(const TlbEntry& e);

  // Drop entries; each returns how many it dropped.
  unsigned invalidate_all() noexcept;
  unsigned invalidate_as(unsigned as) noexcept;
  unsigned invalidate_region(unsigned as, const LockRegion& region) noexcept;

  unsigned capacity() const noexcept { return static_cast<unsigned>(slots_.size()); }
  TlbReplacement replacement() const noexcept { return policy_; }
  unsigned valid_entries() const noexcept { return static_cast<unsigned>(index_.size()); }
  template <class F>
  void for_each(F&& f) const {
    for (const Slot& s : slots_)
      if (s.valid) f(s.e);
  }

 private:
  static constexpr std::uint32_t kNone = FlatIndex::kNone;
  struct Slot {
    TlbEntry e;
    std::uint64_t lru = 0;    // LRU: use stamp, the set's valid slot with the smallest is its LRU entry
    bool referenced = false;  // second chance: used since the hand last passed
    bool valid = false;
  };
  // A hit's bookkeeping. Second chance marks the entry, and a memo entry is only ever made for an
  // entry just marked (by the search or the fill that made it); marks are cleared only by a fill,
  // which starts a new memo epoch. So a memo hit finds its entry marked already and writes nothing;
  // under true LRU the memo entry says so (kStampOnHit) and the hit stamps the slot.
  void use(Slot& s) noexcept {
    s.lru = ++clock_;
    s.referenced = true;
  }
  // Victims without a scan per eviction. Invalid ways are kept in a bit mask per set (the
  // lowest-numbered one is filled first). For wide sets, one scan finds the kCandidates least
  // recently used entries in order; later evictions take the first whose stamp has not changed
  // since, which is then still the set's LRU entry (stamps only grow, and every entry outside the
  // list had a larger stamp at the scan). Hits only store a stamp, as before.
  static constexpr unsigned kCandidates = 8;
  struct Candidate {
    std::uint64_t lru = 0;
    std::uint32_t slot = 0;
  };
  struct Set {
    std::uint32_t free = 0;       // invalid slots
    std::uint32_t free_word = 0;  // free_bits_ words below this one (in the set) are 0
    std::uint32_t next_candidate = 0, candidates = 0;
    std::uint32_t hand = 0;  // second chance: the way the sweep looks at next
  };
  // A direct-mapped memo of recent lookups (as, 4 KiB page) -> slot. It is a host-speed shortcut
  // over the modelled associative search, not part of the model: a memo hit always names the
  // slot the full search would find, because any change to the TLB's contents (a fill, an
  // eviction, an invalidation) starts a new epoch, which retires every memo entry at once. One
  // epoch for all, rather than a generation per slot, keeps a hit to a single memory read: hits
  // vastly outnumber changes, and a retired entry costs one full search.
  // The memo's tag is the key (page | AS, below bit 48) with the epoch in bits 48-63, so that a
  // hit is one compare. Epochs run from 1 to 0xFFFF; the next after that clears the memo and
  // starts again at 1, so no old tag can match (a cleared tag, 0, never does).
  struct Memo {
    std::uint64_t tag = 0;
    PhysAddr pa_offset = 0;    // the entry's pa_base - va_base (modulo 2^64): PA = VA + offset
    Slot* slot = nullptr;      // slots_ never reallocates after construction
    std::uint8_t allowed = 0;  // the entry's TlbEntry::allowed
  };
  static constexpr unsigned kMemoBits = 10;
  static constexpr unsigned kEpochShift = 48;
  static constexpr std::uint8_t kStampOnHit = 0x80;  // in Memo::allowed, above the Access bits
  static constexpr std::uint64_t kLastEpoch = 0xFFFF;

  std::uint64_t tag_of(std::uint64_t key) const noexcept { return key | epoch_tag_; }
  Memo memo_of(std::uint64_t key, Slot& s) const noexcept {
    const auto stamp = static_cast<std::uint8_t>(policy_ == TlbReplacement::kLru ? kStampOnHit : 0);
    return Memo{tag_of(key), s.e.pa_base - s.e.va_base, &s, static_cast<std::uint8_t>(s.e.allowed | stamp)};
  }
  // The memo entry answering (as, va), or nullptr.
  const Memo* memo_hit(unsigned as, GpuVa va) noexcept {
    const std::uint64_t key = memo_key(as, va);
    const Memo& m = memo_[memo_index(key)];
    if (m.tag != tag_of(key)) return nullptr;
    if ((m.allowed & kStampOnHit) != 0) [[unlikely]]
      m.slot->lru = ++clock_;
    return &m;
  }
  // ... for an access of type `a`: nullptr also when the entry does not permit it.
  const Memo* memo_hit(unsigned as, GpuVa va, Access a) noexcept {
    const std::uint64_t key = memo_key(as, va);
    const Memo& m = memo_[memo_index(key)];
    if (m.tag != tag_of(key)) return nullptr;
    if ((m.allowed & kStampOnHit) != 0) [[unlikely]]
      m.slot->lru = ++clock_;  // as a lookup that finds an entry refreshes it
    return ((m.allowed >> static_cast<unsigned>(a)) & 1U) != 0 ? &m : nullptr;
  }
  // Every memo entry retires: the TLB's contents (or what the memo may answer) changed.
  void next_epoch() noexcept {
    if (++epoch_ > kLastEpoch) {
      for (Memo& m : memo_) m.tag = 0;
      epoch_ = 1;
    }
    epoch_tag_ = epoch_ << kEpochShift;
  }

  static std::uint64_t memo_key(unsigned as, GpuVa va) noexcept { return (va & ~(kPageSize - 1)) | as; }
  static std::size_t memo_index(std::uint64_t key) noexcept {
    // Fibonacci hashing: pages that differ only in high bits (buffers a power of two apart) must
    // not share a memo slot.
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> (64 - kMemoBits));
  }
  // The index key of an entry: (as, size, va_base) in one word, va_base being page aligned.
  static std::uint64_t index_key(unsigned as, PageSize size, GpuVa va_base) noexcept {
    return va_base | (static_cast<std::uint64_t>(size) << 8) | as;
  }
  const TlbEntry* lookup_slow(unsigned as, GpuVa va, std::uint64_t key) noexcept;
  std::uint32_t set_of(GpuVa va, PageSize size) const noexcept {
    const unsigned shift = size == PageSize::k4K ? 12U : size == PageSize::k2M ? 21U : 30U;
    return static_cast<std::uint32_t>((va >> shift) & (sets_ - 1));
  }
  std::uint32_t take_free(std::uint32_t set) noexcept;
  std::uint32_t least_recent(std::uint32_t set) noexcept;
  std::uint32_t second_chance(std::uint32_t set) noexcept;
  void drop(std::uint32_t i) noexcept;
  void retire_covering(const TlbEntry& e) noexcept;

  TlbReplacement policy_;
  unsigned ways_;
  unsigned sets_;
  unsigned words_per_set_;                                // free_bits_ words per set
  std::vector<Slot> slots_;                               // set-major: set i occupies [i*ways, (i+1)*ways)
  std::vector<Set> set_state_;                            // per set
  std::vector<std::uint64_t> free_bits_;                  // per set, bit n: way n of the set is invalid
  std::vector<Candidate> candidates_;                     // per set when ways > kCandidates: LRU candidates
  FlatIndex index_;                                       // index_key -> slot, for every valid slot
  std::array<unsigned, 3> live_by_size_{};                // valid entries per page size, to skip empty probes
  std::array<Memo, std::size_t{1} << kMemoBits> memo_{};  // inline: a hit follows one pointer less
  std::uint64_t clock_ = 0;
  std::uint64_t epoch_ = 1;                                    // see Memo
  std::uint64_t epoch_tag_ = std::uint64_t{1} << kEpochShift;  // epoch_ where a tag holds it
  std::uint32_t memo_as_ = ~std::uint32_t{0};                  // bit n: the memo may hold entries of AS n
};

}  // namespace mali_sim
