// Heap growth on GPU faults through the whole path: GPU fault -> IRQ -> threaded handler ->
// grow policy -> shmem -> page table -> flush -> the stalled access completes.
#include "driver/driver_rig.hpp"

namespace mali_sim::testing {
namespace {

using namespace bo_flags;
constexpr std::uint64_t kHeapSize = 16 * kSize2M;

struct Heap {
  explicit Heap(DriverConfig cfg = driver_config(), GpuSpec spec = rig_spec())
      : rig(std::move(cfg), std::move(spec)) {
    ctx = rig.open();
    heap = rig.bo(ctx, kHeapSize, kNoExec | kHeap);
    base = rig.va(ctx, heap);
  }
  std::uint64_t rss() { return rig.driver->context_info(ctx)->heap_rss; }
  DriverRig rig;
  CtxId ctx;
  BoId heap;
  GpuVa base;
};

TEST(DriverHeap, FirstTouchGrowsExactlyOneAligned2MiBChunkAndTheAccessCompletes) {
  Heap h;
  const AccessResult r = h.rig.touch(h.ctx, h.base + kSize2M + 0x1234);
  ASSERT_EQ(r.status, AccessStatus::Done);
  EXPECT_EQ(h.rss(), kSize2M);
  EXPECT_EQ(h.rig.driver->stats().grows, 1U);
  EXPECT_EQ(h.rig.driver->stats().grown_pages, 512U);
  EXPECT_EQ(h.rig.gpu->counters().faults_recorded, 1U);
  // Every page of that chunk, and only that chunk, is now mapped.
  const auto run =
      h.rig.run(h.ctx, {{h.base + kSize2M, Access::Read}, {h.base + 2 * kSize2M - 8, Access::Read}});
  EXPECT_EQ(run[0].status, AccessStatus::Done);
  EXPECT_EQ(run[1].status, AccessStatus::Done);
  EXPECT_EQ(h.rig.driver->stats().grows, 1U);
}

TEST(DriverHeap, SecondTouchInTheSameChunkGrowsNothingAnotherChunkAdds2MiB) {
  Heap h;
  ASSERT_EQ(h.rig.touch(h.ctx, h.base + 0x10).status, AccessStatus::Done);
  ASSERT_EQ(h.rig.touch(h.ctx, h.base + 0x1F'F000).status, AccessStatus::Done);
  EXPECT_EQ(h.rss(), kSize2M);
  EXPECT_EQ(h.rig.gpu->counters().faults_recorded, 1U);
  ASSERT_EQ(h.rig.touch(h.ctx, h.base + 7 * kSize2M).status, AccessStatus::Done);
  EXPECT_EQ(h.rss(), 2 * kSize2M);
  EXPECT_EQ(h.rig.driver->stats().grows, 2U);
}

TEST(DriverHeap, TwoCoresFaultingTheSameChunkAtOnceGrowItOnce) {
  Heap h;
  const auto r = h.rig.run(h.ctx, {{h.base + 0x100, Access::Write},
                                   {h.base + 0x8'0000, Access::Write},
                                   {h.base + 0x1F'0000, Access::Read}});
  for (const auto& x : r) EXPECT_EQ(x.status, AccessStatus::Done);
  EXPECT_EQ(h.rig.driver->stats().grows, 1U);
  EXPECT_EQ(h.rss(), kSize2M);
}

TEST(DriverHeap, TouchingKDistinctChunksGivesKGrowsAndKTimes2MiB) {
  Heap h;
  const unsigned chunks[] = {0, 3, 4, 9, 15};
  for (unsigned c : chunks)
    ASSERT_EQ(h.rig.touch(h.ctx, h.base + c * kSize2M + 0x40).status, AccessStatus::Done);
  EXPECT_EQ(h.rig.driver->stats().grows, 5U);
  EXPECT_EQ(h.rss(), 5 * kSize2M);
}

TEST(DriverHeap, HugePagesGiveOneBlockEntryWhenTheChunkIsContiguous) {
  DriverConfig cfg = driver_config();
  cfg.transparent_huge_pages = true;
  Heap h(cfg);
  ASSERT_EQ(h.rig.touch(h.ctx, h.base + 0x10).status, AccessStatus::Done);
  EXPECT_EQ(h.rig.driver->stats().huge_mappings, 1U);
  EXPECT_EQ(h.rig.driver->memory_info().shmem.thp_allocs, 1U);
  // A 2 MiB block: the walk reads three levels, and the page is 2 MiB.
  const auto before = h.rig.gpu->counters().walk_reads;
  ASSERT_EQ(h.rig.touch(h.ctx, h.base + 0x10'0000, Access::Read, 1).status, AccessStatus::Done);
  EXPECT_LE(h.rig.gpu->counters().walk_reads - before, 3U);
}

// The same access pattern under each policy: footprint and faults worked out by hand.
// Pattern: 4 KiB writes at pages 0, 1, 100, 700 and 5000 of a 32 MiB heap.
struct PolicyCase {
  const char* policy;
  std::uint64_t rss_pages;
  std::uint64_t grows;
};

class DriverGrowPolicy : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(DriverGrowPolicy, FootprintAndFaultCountFollowThePolicy) {
  Heap h(driver_config(GetParam().policy));
  for (std::uint64_t page : {0, 1, 100, 700, 5000})
    ASSERT_EQ(h.rig.touch(h.ctx, h.base + page * kPageSize).status, AccessStatus::Done) << page;
  EXPECT_EQ(h.rss(), GetParam().rss_pages * kPageSize);
  EXPECT_EQ(h.rig.driver->stats().grows, GetParam().grows);
}

INSTANTIATE_TEST_SUITE_P(Policies, DriverGrowPolicy,
                         ::testing::Values(
                             // chunks 0 (pages 0,1,100), 1 (700), 9 (5000): 3 x 512 pages, 3 grows
                             PolicyCase{"panfrost-2m", 3 * 512, 3},
                             // 64-page granules 0 (0,1), 1 (100), 10 (700), 78 (5000): 4 x 64 pages
                             PolicyCase{"pages:64", 4 * 64, 4},
                             // contiguous from 0, rounded to 256 pages: 0 -> 256; 1, 100 duplicates; 700 ->
                             // 768; 5000 -> 5120 (capped well below the 8192-page heap)
                             PolicyCase{"kbase-extension:256", 5120, 3}),
                         [](const ::testing::TestParamInfo<PolicyCase>& p) {
                           std::string n = p.param.policy;
                           for (char& ch : n)
                             if (ch == '-' || ch == ':') ch = '_';
                           return n;
                         });

TEST(DriverHeapPolicy, KbaseExtensionIsCappedAtTheBoSize) {
  Heap h(driver_config("kbase-extension:3000"));
  ASSERT_EQ(h.rig.touch(h.ctx, h.base + 7000 * kPageSize).status, AccessStatus::Done);
  EXPECT_EQ(h.rss(), kHeapSize) << "7001 pages rounded up to 9000, capped at the heap's 8192";
}

TEST(DriverHeapPolicy, UnknownPolicyNamesAreRejected) {
  EXPECT_FALSE(make_grow_policy("lru"));
  EXPECT_FALSE(make_grow_policy("pages:0"));
  EXPECT_FALSE(make_grow_policy("pages:x"));
  EXPECT_TRUE(make_grow_policy("kbase-extension:512"));
}

TEST(DriverHeap, FaultLatencyIsWhatTheHandlerDid) {
  // Doubling the page-allocation cost adds 512 x that cost to the time a grow takes.
  auto latency = [](std::uint64_t page_ns) {
    DriverConfig cfg = driver_config();
    cfg.costs.page_alloc_ns = page_ns;
    Heap h(cfg);
    const Cycle t0 = h.rig.q.now();
    const AccessResult r = h.rig.touch(h.ctx, h.base);
    EXPECT_EQ(r.status, AccessStatus::Done);
    return r.done_at - t0;
  };
  const Cycle fast = latency(500), slow = latency(1500);
  EXPECT_EQ(slow - fast, 512U * 1000U) << "1 GHz: 1 ns = 1 cycle";
}

}  // namespace
}  // namespace mali_sim::testing
