// The TLB's indexed lookup, free-way mask, LRU candidate list and memo against a plain model of the
// behaviour they replace: a scan of the set for the entry, the first invalid way, then the smallest
// use stamp (true LRU) or the sweep of a hand over use marks (second chance). Same operations,
// same answers, same slots, for both replacement policies.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "mali_sim/mmu/flat_index.hpp"
#include "mali_sim/mmu/tlb.hpp"

namespace mali_sim {
namespace {

// The reference: every operation scans. True LRU: stamps order the ways of a set. Second chance:
// a use marks a way; a fill sweeps a hand round the set from where it stopped, unmarking marked
// ways, and takes the first unmarked one.
class ReferenceTlb {
 public:
  explicit ReferenceTlb(const TlbSpec& spec)
      : policy_(spec.replacement),
        ways_(spec.ways),
        sets_(spec.entries / spec.ways),
        slots_(spec.entries),
        hands_(sets_, 0) {}

  const TlbEntry* lookup(unsigned as, GpuVa va) {
    for (PageSize size : {PageSize::k4K, PageSize::k2M, PageSize::k1G}) {
      const std::size_t base = set_base(va, size);
      for (std::size_t i = base; i < base + ways_; ++i) {
        Slot& s = slots_[i];
        if (s.valid && s.e.size == size && s.e.covers(as, va)) {
          s.lru = ++clock_;
          s.marked = true;
          return &s.e;
        }
      }
    }
    return nullptr;
  }
  void insert(const TlbEntry& e) {
    const std::size_t base = set_base(e.va_base, e.size);
    Slot* victim = nullptr;
    for (std::size_t i = base; i < base + ways_ && victim == nullptr; ++i) {
      Slot& s = slots_[i];
      if (s.valid && s.e.size == e.size && s.e.as == e.as && s.e.va_base == e.va_base) victim = &s;
    }
    for (std::size_t i = base; i < base + ways_ && victim == nullptr; ++i)
      if (!slots_[i].valid) victim = &slots_[i];
    if (victim == nullptr && policy_ == TlbReplacement::kLru) {
      victim = &slots_[base];
      for (std::size_t i = base; i < base + ways_; ++i)
        if (slots_[i].lru < victim->lru) victim = &slots_[i];
    }
    while (victim == nullptr) {
      std::size_t& hand = hands_[base / ways_];
      Slot& s = slots_[base + hand];
      hand = (hand + 1) % ways_;
      if (s.marked) {
        s.marked = false;
      } else {
        victim = &s;
      }
    }
    victim->e = e;
    victim->valid = true;
    victim->lru = ++clock_;
    victim->marked = true;
  }
  template <class Drop>
  unsigned invalidate(Drop&& drop) {
    unsigned n = 0;
    for (Slot& s : slots_) {
      if (s.valid && drop(s.e)) {
        s.valid = false;
        s.marked = false;
        ++n;
      }
    }
    return n;
  }
  std::vector<TlbEntry> entries() const {
    std::vector<TlbEntry> v;
    for (const Slot& s : slots_)
      if (s.valid) v.push_back(s.e);
    return v;
  }

 private:
  struct Slot {
    TlbEntry e;
    std::uint64_t lru = 0;
    bool marked = false;
    bool valid = false;
  };
  std::size_t set_base(GpuVa va, PageSize size) const {
    const unsigned shift = size == PageSize::k4K ? 12 : size == PageSize::k2M ? 21 : 30;
    return static_cast<std::size_t>((va >> shift) & (sets_ - 1)) * ways_;
  }
  TlbReplacement policy_;
  unsigned ways_, sets_;
  std::vector<Slot> slots_;
  std::vector<std::size_t> hands_;
  std::uint64_t clock_ = 0;
};

bool same(const TlbEntry* a, const TlbEntry* b) {
  if (a == nullptr || b == nullptr) return a == b;
  return a->as == b->as && a->va_base == b->va_base && a->size == b->size && a->pa_base == b->pa_base;
}

std::vector<TlbEntry> entries(const Tlb& t) {
  std::vector<TlbEntry> v;
  t.for_each([&](const TlbEntry& e) { v.push_back(e); });
  return v;
}

struct Shape {
  unsigned entries, ways;
  PageSize large;  // mixed in besides 4 KiB (1 GiB: 2 MiB too)
  TlbReplacement replacement = TlbReplacement::kLru;
};

std::string shape_name(const ::testing::TestParamInfo<Shape>& p) {
  const char* large = p.param.large == PageSize::k4K ? "" : p.param.large == PageSize::k2M ? "_2M" : "_1G";
  return std::to_string(p.param.entries) + "x" + std::to_string(p.param.ways) + large + "_" +
         std::string(to_string(p.param.replacement));
}

class TlbAgainstReference : public ::testing::TestWithParam<Shape> {};

TEST_P(TlbAgainstReference, RandomOperationsGiveTheSameAnswersAndSlots) {
  const Shape shape = GetParam();
  const TlbSpec spec{shape.entries, shape.ways, 1, shape.replacement};
  Tlb tlb(spec);
  ReferenceTlb ref(spec);
  std::mt19937_64 rng(shape.entries * 131 + shape.ways);
  // Few enough pages that sets conflict and pages recur; two regions a power of two apart, so
  // the memo and the index see keys that differ only in high bits.
  const unsigned pages = shape.entries * 3;
  auto random_va = [&] {
    const GpuVa region = (rng() & 1) != 0 ? 0 : (1ULL << 40);
    return region + (rng() % pages) * kPageSize + (rng() % kPageSize);
  };
  std::uint64_t pa = 0x1000;
  for (int op = 0; op < 60'000; ++op) {
    const unsigned as = static_cast<unsigned>(rng() % 3);
    const unsigned what = static_cast<unsigned>(rng() % 1000);
    if (what < 450) {  // lookup: the memo first, as the GPU's fast path does
      const GpuVa va = random_va();
      const TlbEntry* got = tlb.lookup_memo(as, va);
      if (got == nullptr) got = tlb.lookup(as, va);
      ASSERT_TRUE(same(got, ref.lookup(as, va))) << "op " << op;
    } else if (what < 990) {
      PageSize size = PageSize::k4K;
      if (shape.large != PageSize::k4K && what % 8 == 0) size = shape.large;
      if (shape.large == PageSize::k1G && what % 16 == 0) size = PageSize::k2M;  // 1 GiB mixes in both
      TlbEntry e;
      e.as = static_cast<std::uint8_t>(as);
      e.size = size;
      e.va_base = align_down(random_va(), bytes(size));
      e.pa_base = (pa += kPageSize);
      e.set_permissions(true, (what & 1) != 0, false);
      tlb.insert(e);
      ref.insert(e);
    } else if (what < 994) {
      const GpuVa base = align_down(random_va(), 16 * kPageSize);
      const LockRegion region{base, static_cast<unsigned>(15 + rng() % 8)};
      const unsigned n = ref.invalidate([&](const TlbEntry& e) {
        return e.as == as && e.va_base <= region.last() && region.base <= e.va_base + (bytes(e.size) - 1);
      });
      ASSERT_EQ(tlb.invalidate_region(as, region), n);
    } else if (what < 998) {
      ASSERT_EQ(tlb.invalidate_as(as), ref.invalidate([&](const TlbEntry& e) { return e.as == as; }));
    } else {
      ASSERT_EQ(tlb.invalidate_all(), ref.invalidate([](const TlbEntry&) { return true; }));
    }
    if (op % 997 == 0) {
      const auto got = entries(tlb);
      const auto want = ref.entries();
      ASSERT_EQ(got.size(), want.size());
      ASSERT_EQ(tlb.valid_entries(), want.size());
      for (std::size_t i = 0; i < got.size(); ++i)
        ASSERT_TRUE(same(&got[i], &want[i])) << "slot order, op " << op;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, TlbAgainstReference,
    ::testing::Values(Shape{4, 4, PageSize::k4K},      // fully associative, narrow: plain scan
                      Shape{32, 32, PageSize::k4K},    // the uTLB: LRU candidate list
                      Shape{32, 32, PageSize::k2M},    // with 2 MiB entries hiding and hidden
                      Shape{8, 2, PageSize::k2M},      // set associative
                      Shape{16, 1, PageSize::k1G},     // direct mapped
                      Shape{32, 32, PageSize::k1G},    // all three sizes
                      Shape{96, 3, PageSize::k4K},     // ways not a power of two
                      Shape{64, 16, PageSize::k2M},    // several wide sets
                      Shape{256, 128, PageSize::k4K},  // two words of free-way mask per set
                      Shape{512, 4, PageSize::k2M},    // the L2 TLB
                      // The same under second chance, the presets' default.
                      Shape{4, 4, PageSize::k4K, TlbReplacement::kClock},
                      Shape{32, 32, PageSize::k4K, TlbReplacement::kClock},
                      Shape{32, 32, PageSize::k1G, TlbReplacement::kClock},
                      Shape{8, 2, PageSize::k2M, TlbReplacement::kClock},
                      Shape{16, 1, PageSize::k1G, TlbReplacement::kClock},
                      Shape{96, 3, PageSize::k4K, TlbReplacement::kClock},
                      Shape{512, 4, PageSize::k2M, TlbReplacement::kClock}),
    shape_name);

TEST(Tlb, SecondChanceSparesAnEntryUsedSinceTheHandPassedIt) {
  // Four ways, all filled (marked by their fills). The first eviction sweeps the whole set,
  // unmarking, and takes way 0; a use then marks way 1 again, so the next fill passes it over
  // and takes way 2. True LRU would evict way 1's neighbour in use order instead.
  Tlb t(TlbSpec{4, 4, 1, TlbReplacement::kClock});
  auto page = [](unsigned n) {
    TlbEntry e;
    e.va_base = GpuVa{n} * kPageSize;
    e.pa_base = 0x100000 + GpuVa{n} * kPageSize;
    e.set_permissions(true, true, false);
    return e;
  };
  for (unsigned n = 0; n < 4; ++n) t.insert(page(n));
  t.insert(page(4));  // evicts page 0
  EXPECT_EQ(t.lookup(0, 0), nullptr);
  ASSERT_NE(t.lookup(0, 1 * kPageSize), nullptr);  // marks page 1
  t.insert(page(5));  // the hand is at way 1 (page 1, marked): passes it, takes way 2 (page 2)
  EXPECT_NE(t.lookup(0, 1 * kPageSize), nullptr);
  EXPECT_EQ(t.lookup(0, 2 * kPageSize), nullptr);
  EXPECT_NE(t.lookup(0, 3 * kPageSize), nullptr);
}

TEST(Tlb, LookupMemoYieldsToASmallerEntryFilledLater) {
  Tlb t(TlbSpec{8, 8, 1, TlbReplacement::kLru});
  TlbEntry huge;
  huge.size = PageSize::k1G;
  huge.va_base = 0x4000'0000;
  huge.pa_base = 0x1'0000'0000;
  t.insert(huge);
  for (GpuVa va = 0x4020'0000; va < 0x4040'0000; va += 0x4'0000)
    ASSERT_NE(t.lookup(0, va), nullptr);  // memoised
  TlbEntry big;
  big.size = PageSize::k2M;
  big.va_base = 0x4020'0000;
  big.pa_base = 0x2'0000'0000;
  t.insert(big);
  // The search tries 2 MiB entries before 1 GiB ones: no page of the new entry may still be
  // answered with the 1 GiB one.
  for (GpuVa va = 0x4020'0000; va < 0x4040'0000; va += 0x4'0000) {
    const TlbEntry* e = t.lookup_memo(0, va);
    if (e == nullptr) e = t.lookup(0, va);
    EXPECT_EQ(e->size, PageSize::k2M) << std::hex << va;
  }
  TlbEntry small;
  small.va_base = 0x4020'3000;
  small.pa_base = 0x3'0000'0000;
  t.insert(small);
  EXPECT_EQ(t.lookup(0, 0x4020'3010)->translate(0x4020'3010), 0x3'0000'0010U);
  EXPECT_EQ(t.lookup(0, 0x4020'4000)->size, PageSize::k2M);
  EXPECT_EQ(t.lookup(0, 0x4040'0000)->size, PageSize::k1G);
}

TEST(FlatIndex, RandomInsertsAndErasesAgreeWithAStandardMap) {
  FlatIndex index(2);  // grows several times
  std::unordered_map<std::uint64_t, std::uint32_t> ref;
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> keys;
  for (unsigned i = 0; i < 3000; ++i) keys.push_back(i % 3 == 0 ? rng() : (rng() % 64) << (20 + i % 40));
  for (int op = 0; op < 200'000; ++op) {
    const std::uint64_t key = keys[rng() % keys.size()];
    const auto it = ref.find(key);
    ASSERT_EQ(index.find(key), it == ref.end() ? FlatIndex::kNone : it->second) << "op " << op;
    if (rng() % 2 == 0) {
      if (it == ref.end()) {
        const auto value = static_cast<std::uint32_t>(op);
        index.insert(key, value);
        ref.emplace(key, value);
      }
    } else {
      ASSERT_EQ(index.erase(key), ref.erase(key) == 1);
    }
    ASSERT_EQ(index.size(), ref.size());
  }
  std::size_t seen = 0;
  index.for_each([&](std::uint64_t key, std::uint32_t value) {
    ++seen;
    EXPECT_EQ(ref.at(key), value);
  });
  EXPECT_EQ(seen, ref.size());
  index.clear();
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.find(keys[0]), FlatIndex::kNone);
}

}  // namespace
}  // namespace mali_sim
