#include <gtest/gtest.h>

#include "mali_sim/event_queue.hpp"
#include "mali_sim/mmu/tlb.hpp"
#include "mali_sim/mmu/walk_cache.hpp"

namespace mali_sim {
namespace {

TlbEntry entry(unsigned as, GpuVa va, PageSize size, PhysAddr pa = 0x1000'0000) {
  TlbEntry e;
  e.as = static_cast<std::uint8_t>(as);
  e.va_base = align_down(va, bytes(size));
  e.pa_base = pa;
  e.size = size;
  e.set_permissions(true, false, false);
  return e;
}

TEST(TlbEntry, PermissionMaskFollowsTheMmuRules) {
  TlbEntry e;
  e.set_permissions(true, false, true);
  EXPECT_TRUE(e.allows(Access::Read));
  EXPECT_TRUE(e.allows(Access::Execute));
  EXPECT_FALSE(e.allows(Access::Write));
  EXPECT_FALSE(e.allows(Access::Atomic));
  e.set_permissions(false, true, true);
  EXPECT_FALSE(e.allows(Access::Execute)) << "execute needs read";
  EXPECT_TRUE(e.allows(Access::Write));
  e.set_permissions(true, true, false);
  EXPECT_TRUE(e.allows(Access::Atomic));
  EXPECT_FALSE(e.allows(Access::Execute));
}

TEST(Tlb, FullyAssociativeEvictsTheLeastRecentlyUsedEntry) {
  Tlb t(TlbSpec{4, 4, 1, TlbReplacement::kLru});
  for (GpuVa i = 0; i < 4; ++i) t.insert(entry(0, i * kPageSize, PageSize::k4K));
  ASSERT_NE(t.lookup(0, 0), nullptr);  // page 0 becomes most recent; page 1 is now LRU
  t.insert(entry(0, 4 * kPageSize, PageSize::k4K));
  EXPECT_EQ(t.lookup(0, 1 * kPageSize), nullptr);
  EXPECT_NE(t.lookup(0, 0), nullptr);
  EXPECT_NE(t.lookup(0, 4 * kPageSize), nullptr);
  EXPECT_EQ(t.valid_entries(), 4U);
}

TEST(Tlb, SetAssociativeConflictsStayWithinTheirSet) {
  Tlb t(TlbSpec{8, 2, 1});  // 4 sets of 2 ways; 4K pages index by VA[13:12]
  for (GpuVa i = 0; i < 3; ++i) t.insert(entry(0, i * 4 * kPageSize, PageSize::k4K));  // all set 0
  t.insert(entry(0, 1 * kPageSize, PageSize::k4K));                                    // set 1
  EXPECT_EQ(t.lookup(0, 0), nullptr) << "third insert into set 0 evicted its LRU entry";
  EXPECT_NE(t.lookup(0, 4 * kPageSize), nullptr);
  EXPECT_NE(t.lookup(0, 8 * kPageSize), nullptr);
  EXPECT_NE(t.lookup(0, 1 * kPageSize), nullptr);
}

TEST(Tlb, EntriesAreTaggedByAddressSpace) {
  Tlb t(TlbSpec{4, 4, 1});
  t.insert(entry(1, 0x5000, PageSize::k4K));
  EXPECT_EQ(t.lookup(0, 0x5000), nullptr);
  EXPECT_NE(t.lookup(1, 0x5123), nullptr);
}

TEST(Tlb, LargeEntriesCoverTheirWholeSpan) {
  Tlb t(TlbSpec{8, 2, 1});
  t.insert(entry(0, 0x4000'0000, PageSize::k1G, 0x8000'0000));
  t.insert(entry(0, 0x0020'0000, PageSize::k2M, 0x0060'0000));
  const TlbEntry* g = t.lookup(0, 0x7FFF'FFFF);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->translate(0x7FFF'FFFF), 0xBFFF'FFFFU);
  const TlbEntry* m = t.lookup(0, 0x003F'F000);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->translate(0x003F'F000), 0x007F'F000U);
  EXPECT_EQ(t.lookup(0, 0x0040'0000), nullptr);
}

TEST(Tlb, RegionInvalidationDropsOverlappingEntriesOfThatAddressSpaceOnly) {
  Tlb t(TlbSpec{16, 16, 1});
  t.insert(entry(0, 0x0000, PageSize::k4K));
  t.insert(entry(0, 0x8000, PageSize::k4K));
  t.insert(entry(1, 0x0000, PageSize::k4K));
  t.insert(entry(0, 0x0020'0000, PageSize::k2M));
  // 32 KiB at 0: covers the first page only; a 2 MiB entry is dropped if any byte overlaps.
  EXPECT_EQ(t.invalidate_region(0, LockRegion{0, 15}), 1U);
  EXPECT_EQ(t.lookup(0, 0x0000), nullptr);
  EXPECT_NE(t.lookup(0, 0x8000), nullptr);
  EXPECT_NE(t.lookup(1, 0x0000), nullptr);
  EXPECT_EQ(t.invalidate_region(0, LockRegion{0x003F'8000, 15}), 1U);
  EXPECT_EQ(t.lookup(0, 0x0020'0000), nullptr);
  EXPECT_EQ(t.invalidate_as(1), 1U);
  EXPECT_EQ(t.invalidate_all(), 1U);
  EXPECT_EQ(t.valid_entries(), 0U);
}

TEST(Tlb, LookupMemoNeverReturnsAnEvictedOrInvalidatedEntry) {
  Tlb t(TlbSpec{2, 2, 1});
  t.insert(entry(0, 0x1000, PageSize::k4K, 0xA000));
  ASSERT_NE(t.lookup(0, 0x1000), nullptr);  // memoised
  t.invalidate_all();
  EXPECT_EQ(t.lookup(0, 0x1000), nullptr);
  t.insert(entry(0, 0x1000, PageSize::k4K, 0xB000));
  ASSERT_NE(t.lookup(0, 0x1000), nullptr);
  t.insert(entry(0, 0x2000, PageSize::k4K));
  t.insert(entry(0, 0x3000, PageSize::k4K));  // evicts 0x1000 (LRU)
  EXPECT_EQ(t.lookup(0, 0x1000), nullptr);
  t.insert(entry(0, 0x1000, PageSize::k4K, 0xC000));
  EXPECT_EQ(t.lookup(0, 0x1000)->pa_base, 0xC000U);
}

TEST(WalkCache, CachesTableDescriptorsAndReturnsTheDeepest) {
  const unsigned sizes[3] = {2, 2, 2};
  WalkCache wc(sizes);
  WalkResult w;
  w.outcome = WalkResult::Outcome::Ok;
  w.reads[0] = WalkRead{0x1000, 0x2003, 0};
  w.reads[1] = WalkRead{0x2000, 0x3003, 1};
  w.reads[2] = WalkRead{0x3000, 0x4003, 2};
  w.reads[3] = WalkRead{0x4000, 0x5041, 3};
  w.num_reads = 4;
  wc.fill(0, 0x0100'0000, w);
  EXPECT_EQ(wc.valid_entries(), 3U);
  auto hit = wc.lookup(0, 0x0100'0000 + 0x1F'F000);  // same 2 MiB: level-2 descriptor
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->level, 2);
  EXPECT_EQ(hit->next_table, 0x4000U);
  auto other = wc.lookup(0, 0x0100'0000 + kSize2M);  // next 2 MiB, same 1 GiB: level 1
  ASSERT_TRUE(other);
  EXPECT_EQ(other->level, 1);
  EXPECT_EQ(other->next_table, 0x3000U);
  EXPECT_FALSE(wc.lookup(1, 0x0100'0000));
  EXPECT_EQ(wc.invalidate_region(0, LockRegion{0x0100'0000, 15}), 3U);
}

TEST(EventQueue, RunsEventsInTimeThenSchedulingOrderAndJumpsOverIdleTime) {
  EventQueue q;
  std::vector<int> order;
  q.schedule(10, [&] { order.push_back(2); });
  q.schedule(5, [&] { order.push_back(1); });
  q.schedule(10, [&] {
    order.push_back(3);
    q.schedule_in(0, [&] { order.push_back(4); });
  });
  q.run_until(9);
  EXPECT_EQ(order, std::vector<int>({1}));
  EXPECT_EQ(q.now(), 9U);
  q.run_until(1'000'000'000);
  EXPECT_EQ(order, std::vector<int>({1, 2, 3, 4}));
  EXPECT_EQ(q.executed(), 4U);
  q.schedule(3, [&] { order.push_back(5); });  // in the past: runs now
  EXPECT_EQ(q.next_time(), q.now());
  EXPECT_TRUE(q.run_until_idle());
}

TEST(EventQueue, RunUntilIdleStopsAtItsLimitForASystemThatNeverIdles) {
  EventQueue q;
  std::function<void()> again = [&] { q.schedule_in(1, again); };
  q.schedule(0, again);
  EXPECT_FALSE(q.run_until_idle(1000));
  EXPECT_EQ(q.executed(), 1000U);
}

TEST(Tlb, AMemoTurnedOffForAnAddressSpaceNeverAnswersForItWhileTheSearchStillDoes) {
  Tlb t(TlbSpec{8, 8, 1});
  t.insert(entry(1, 0x1000, PageSize::k4K));
  t.insert(entry(2, 0x2000, PageSize::k4K));
  ASSERT_NE(t.lookup_memo(1, 0x1000), nullptr) << "a 4 KiB fill is remembered";
  t.set_memo_enabled(1, false);
  EXPECT_EQ(t.lookup_memo(1, 0x1000), nullptr) << "turning it off retires what the memo held";
  EXPECT_NE(t.lookup(1, 0x1000), nullptr) << "the modelled search is unchanged";
  t.insert(entry(1, 0x3000, PageSize::k4K));
  EXPECT_EQ(t.lookup_memo(1, 0x3000), nullptr) << "fills while off stay out of the memo";
  EXPECT_EQ(t.lookup_memo(1, 0x1000), nullptr) << "and so do searches while off";
  ASSERT_NE(t.lookup(2, 0x2000), nullptr);
  EXPECT_NE(t.lookup_memo(2, 0x2000), nullptr) << "other address spaces keep their memo";
  t.set_memo_enabled(1, true);
  ASSERT_NE(t.lookup(1, 0x3000), nullptr);
  EXPECT_NE(t.lookup_memo(1, 0x3000), nullptr) << "on again, a search fills it";
}

}  // namespace
}  // namespace mali_sim
