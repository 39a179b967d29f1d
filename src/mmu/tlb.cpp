#include "mali_sim/mmu/tlb.hpp"

#include <algorithm>
#include <bit>

#include "mali_sim/pagetable/walker.hpp"

namespace mali_sim {

namespace {
constexpr PageSize kSizes[] = {PageSize::k4K, PageSize::k2M, PageSize::k1G};
}  // namespace

void TlbEntry::set_permissions(bool r, bool w, bool x) noexcept {
  // The mask of every read/write/exec combination, from the walker's rules, built once: a walk
  // fills an entry per waiter.
  static const std::array<std::uint8_t, 8> kMasks = [] {
    std::array<std::uint8_t, 8> m{};
    for (unsigned rwx = 0; rwx < 8; ++rwx) {
      Translation t;
      t.read = (rwx & 1U) != 0;
      t.write = (rwx & 2U) != 0;
      t.exec = (rwx & 4U) != 0;
      for (Access a : {Access::Atomic, Access::Execute, Access::Read, Access::Write}) {
        if (!check_access(t, a))
          m[rwx] = static_cast<std::uint8_t>(m[rwx] | (1U << static_cast<unsigned>(a)));
      }
    }
    return m;
  }();
  read = r;
  write = w;
  exec = x;
  allowed = kMasks[(r ? 1U : 0U) | (w ? 2U : 0U) | (x ? 4U : 0U)];
}

Tlb::Tlb(const TlbSpec& spec)
    : policy_(spec.replacement),
      ways_(spec.ways),
      sets_(spec.entries / spec.ways),
      words_per_set_((spec.ways + 63) / 64),
      slots_(spec.entries),
      set_state_(sets_),
      free_bits_(static_cast<std::size_t>(sets_) * words_per_set_),
      candidates_(spec.ways > kCandidates ? static_cast<std::size_t>(sets_) * kCandidates : 0),
      index_(spec.entries) {
  // Memo entries start pointing at a real slot, with a tag no key matches.
  for (Memo& m : memo_) m.slot = slots_.data();
  for (std::uint32_t set = 0; set < sets_; ++set) {
    set_state_[set].free = ways_;
    for (std::uint32_t w = 0; w < ways_; ++w)
      free_bits_[static_cast<std::size_t>(set) * words_per_set_ + w / 64] |= 1ULL << (w % 64);
  }
}

const TlbEntry* Tlb::lookup_slow(unsigned as, GpuVa va, std::uint64_t key) noexcept {
  // The modelled search: 4 KiB entries first, then 2 MiB, then 1 GiB. The index names the one
  // candidate of each size (entries cover aligned spans, and a TLB holds a page at most once).
  for (PageSize size : kSizes) {
    if (live_by_size_[static_cast<unsigned>(size)] == 0) continue;
    const std::uint32_t i = index_.find(index_key(as, size, align_down(va, bytes(size))));
    if (i == kNone) continue;
    Slot& s = slots_[i];
    use(s);
    if (((memo_as_ >> as) & 1U) != 0) memo_[memo_index(key)] = memo_of(key, s);
    return &s.e;
  }
  return nullptr;
}

// The lowest-numbered invalid slot of the set, or kNone.
std::uint32_t Tlb::take_free(std::uint32_t set) noexcept {
  Set& st = set_state_[set];
  if (st.free == 0) return kNone;
  std::uint64_t* words = &free_bits_[static_cast<std::size_t>(set) * words_per_set_];
  std::uint32_t w = st.free_word;
  while (words[w] == 0) ++w;
  st.free_word = w;
  const auto bit = static_cast<std::uint32_t>(std::countr_zero(words[w]));
  words[w] &= words[w] - 1;
  --st.free;
  return set * ways_ + w * 64 + bit;
}

// The valid slot with the smallest stamp in a set without invalid slots.
std::uint32_t Tlb::least_recent(std::uint32_t set) noexcept {
  const std::uint32_t base = set * ways_;
  if (ways_ <= kCandidates) {
    std::uint32_t best = base;
    for (std::uint32_t i = base + 1; i < base + ways_; ++i)
      if (slots_[i].lru < slots_[best].lru) best = i;
    return best;
  }
  Set& st = set_state_[set];
  Candidate* c = &candidates_[static_cast<std::size_t>(set) * kCandidates];
  while (st.next_candidate < st.candidates) {
    const Candidate& k = c[st.next_candidate++];
    if (slots_[k.slot].lru == k.lru) return k.slot;  // unused since the scan
  }
  // Scan: the kCandidates smallest stamps, in increasing order (insertion into a sorted list).
  unsigned n = 0;
  for (std::uint32_t i = base; i < base + ways_; ++i) {
    const std::uint64_t lru = slots_[i].lru;
    if (n == kCandidates && lru >= c[n - 1].lru) continue;
    unsigned j = n < kCandidates ? n++ : n - 1;
    for (; j > 0 && c[j - 1].lru > lru; --j) c[j] = c[j - 1];
    c[j] = Candidate{lru, i};
  }
  st.candidates = n;
  st.next_candidate = 1;
  return c[0].slot;
}

// Second chance: from the hand, the first entry not used since the hand last passed it; those
// used since are passed over and unmarked. At most two turns of the set.
std::uint32_t Tlb::second_chance(std::uint32_t set) noexcept {
  Set& st = set_state_[set];
  const std::uint32_t base = set * ways_;
  for (;;) {
    const std::uint32_t way = st.hand;
    st.hand = way + 1 == ways_ ? 0 : way + 1;
    Slot& s = slots_[base + way];
    if (!s.referenced) return base + way;
    s.referenced = false;
  }
}

void Tlb::drop(std::uint32_t i) noexcept {
  Slot& s = slots_[i];
  if (!s.valid) return;
  index_.erase(index_key(s.e.as, s.e.size, s.e.va_base));
  s.valid = false;
  s.referenced = false;
  next_epoch();
  --live_by_size_[static_cast<unsigned>(s.e.size)];
  const std::uint32_t set = i / ways_;
  const std::uint32_t way = i - set * ways_;
  Set& st = set_state_[set];
  free_bits_[static_cast<std::size_t>(set) * words_per_set_ + way / 64] |= 1ULL << (way % 64);
  ++st.free;
  st.free_word = std::min(st.free_word, way / 64);
}

// A new entry hides larger ones covering it from the search (smaller sizes are searched first),
// so memo entries naming those must go.
void Tlb::retire_covering(const TlbEntry& e) noexcept {
  for (auto size = static_cast<unsigned>(e.size) + 1; size < 3; ++size) {
    if (live_by_size_[size] == 0) continue;
    const auto ps = static_cast<PageSize>(size);
    const std::uint32_t i = index_.find(index_key(e.as, ps, align_down(e.va_base, bytes(ps))));
    if (i != kNone) next_epoch();
  }
}

void Tlb::insert(const TlbEntry& e) {
  const std::uint64_t key = index_key(e.as, e.size, e.va_base);
  std::uint32_t i = index_.find(key);
  if (i != kNone) {  // refill of the same page: the same slot
    Slot& s = slots_[i];
    next_epoch();
    s.e = e;
  } else {
    const std::uint32_t set = set_of(e.va_base, e.size);
    i = take_free(set);
    if (i == kNone) {
      i = policy_ == TlbReplacement::kLru ? least_recent(set) : second_chance(set);
      index_.erase(index_key(slots_[i].e.as, slots_[i].e.size, slots_[i].e.va_base));
      --live_by_size_[static_cast<unsigned>(slots_[i].e.size)];
      next_epoch();
    }
    Slot& s = slots_[i];
    s.e = e;
    s.valid = true;
    ++live_by_size_[static_cast<unsigned>(e.size)];
    index_.insert(key, i);
  }
  use(slots_[i]);
  if (live_by_size_[1] + live_by_size_[2] != 0) retire_covering(e);
  // The next access to a freshly filled page is usually a hit; remembering the slot here spares
  // that access the full search. Exact for 4 KiB entries only: the search tries them first.
  if (e.size == PageSize::k4K && ((memo_as_ >> e.as) & 1U) != 0) {
    const std::uint64_t mk = memo_key(e.as, e.va_base);
    memo_[memo_index(mk)] = memo_of(mk, slots_[i]);
  }
}

unsigned Tlb::invalidate_all() noexcept {
  const unsigned n = valid_entries();
  for (std::uint32_t i = 0; i < slots_.size(); ++i) drop(i);
  return n;
}

unsigned Tlb::invalidate_as(unsigned as) noexcept {
  unsigned n = 0;
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].valid && slots_[i].e.as == as) {
      drop(i);
      ++n;
    }
  }
  return n;
}

unsigned Tlb::invalidate_region(unsigned as, const LockRegion& region) noexcept {
  unsigned n = 0;
  const GpuVa first = region.base;
  const GpuVa last = region.last();
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (!s.valid || s.e.as != as) continue;
    const GpuVa e_last = s.e.va_base + (bytes(s.e.size) - 1);
    if (s.e.va_base <= last && first <= e_last) {
      drop(i);
      ++n;
    }
  }
  return n;
}

}  // namespace mali_sim
