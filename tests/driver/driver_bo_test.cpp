// Buffer-object rules of the reference driver (panfrost's ioctls as merged, with the review's
// explicit NOEXEC rule for heaps).
#include <map>
#include <random>

#include "driver/driver_rig.hpp"

namespace mali_sim::testing {
namespace {

using namespace bo_flags;

TEST(DriverBo, UnknownFlagsZeroSizeAndExecutableHeapsAreRefusedNamingTheRule) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  auto unknown = rig.driver->create_bo(ctx, 4096, 0x10);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::kInvalidArgument);
  EXPECT_NE(unknown.error().message.find("unknown flags 0x10"), std::string::npos);
  auto zero = rig.driver->create_bo(ctx, 0, kNoExec);
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("size 0"), std::string::npos);
  auto exec_heap = rig.driver->create_bo(ctx, 8 << 20, kHeap);
  ASSERT_FALSE(exec_heap);
  EXPECT_EQ(exec_heap.error().code, Errc::kInvalidArgument);
  EXPECT_NE(exec_heap.error().message.find("HEAP requires NOEXEC"), std::string::npos);
  EXPECT_FALSE(rig.driver->create_bo(ctx + 100, 4096, 0)) << "unknown context";
}

TEST(DriverBo, SizesRoundUpToThePageAndHeapsTo2MiB) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  EXPECT_EQ(*rig.driver->bo_size(ctx, rig.bo(ctx, 1, kNoExec)), kPageSize);
  EXPECT_EQ(*rig.driver->bo_size(ctx, rig.bo(ctx, 5000, 0)), 2 * kPageSize);
  EXPECT_EQ(*rig.driver->bo_size(ctx, rig.bo(ctx, 1, kNoExec | kHeap)), kSize2M);
  EXPECT_EQ(*rig.driver->bo_size(ctx, rig.bo(ctx, kSize2M + 1, kNoExec | kHeap)), 2 * kSize2M);
}

TEST(DriverBo, NonHeapBosAreBackedAndMappedAtCreationHeapsReserveVaOnly) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  const BoId plain = rig.bo(ctx, 64 * 1024, kNoExec);
  const BoId heap = rig.bo(ctx, 64ULL << 20, kNoExec | kHeap);
  const ContextInfo info = *rig.driver->context_info(ctx);
  EXPECT_EQ(info.resident, 64U * 1024U);
  EXPECT_EQ(info.heap_rss, 0U);
  EXPECT_EQ(rig.touch(ctx, rig.va(ctx, plain) + 0x100).status, AccessStatus::Done);
  (void)heap;
}

TEST(DriverBo, PlacementFollowsPanfrostRules) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  const GpuVa heap = rig.va(ctx, rig.bo(ctx, 4 << 20, kNoExec | kHeap));
  EXPECT_TRUE(is_aligned(heap, kSize2M)) << "NOEXEC BOs of 2 MiB or more are 2 MiB aligned";
  const GpuVa code = rig.va(ctx, rig.bo(ctx, 64 * 1024, 0));
  EXPECT_TRUE(is_aligned(code, 64 * 1024)) << "executable BOs are aligned to their size";
  for (GpuVa v : {heap, code}) {
    EXPECT_GE(v, 32ULL << 20);
    EXPECT_LT(v, 4ULL << 30);
  }
}

TEST(DriverBo, ThousandsOfBosNeverOverlapAndStayInTheContextRange) {
  DriverRig rig(driver_config(), rig_spec(), 1ULL << 31);
  const CtxId ctx = rig.open();
  std::mt19937_64 rng(42);
  std::map<GpuVa, std::pair<std::uint64_t, BoId>> oracle;
  std::vector<BoId> live;
  for (int i = 0; i < 3000; ++i) {
    if (!live.empty() && rng() % 3 == 0) {
      const std::size_t k = rng() % live.size();
      const GpuVa v = rig.va(ctx, live[k]);
      ASSERT_TRUE(rig.driver->free_bo(ctx, live[k]));
      oracle.erase(v);
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
      continue;
    }
    const std::uint32_t flags = rng() % 4 == 0 ? kNoExec | kHeap : (rng() % 2 ? kNoExec : 0U);
    const std::uint64_t size = (flags & kHeap) ? (1 + rng() % 8) * kSize2M : (1 + rng() % 16) * kPageSize;
    auto b = rig.driver->create_bo(ctx, size, flags);
    ASSERT_TRUE(b) << b.error().message;
    const GpuVa v = rig.va(ctx, *b);
    const std::uint64_t sz = *rig.driver->bo_size(ctx, *b);
    auto next = oracle.lower_bound(v);
    if (next != oracle.end()) {
      ASSERT_LE(v + sz, next->first) << "overlaps the next BO";
    }
    if (next != oracle.begin()) {
      ASSERT_LE(std::prev(next)->first + std::prev(next)->second.first, v);
    }
    ASSERT_GE(v, 32ULL << 20);
    ASSERT_LE(v + sz, 4ULL << 30);
    if ((flags & kNoExec) == 0) {
      ASSERT_EQ(v % sz, 0U) << "executable BO aligned to its size";
      ASSERT_EQ(v >> 32, (v + sz - 1) >> 32) << "executable BO crosses 4 GiB";
    } else if (sz >= kSize2M) {
      ASSERT_TRUE(is_aligned(v, kSize2M));
    }
    oracle[v] = {sz, *b};
    live.push_back(*b);
  }
  EXPECT_EQ(rig.driver->context_info(ctx)->bos, live.size());
}

TEST(DriverBo, HeapsRefuseMmapAndPinOthersAllowThem) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  const BoId heap = rig.bo(ctx, 2 << 20, kNoExec | kHeap);
  const BoId plain = rig.bo(ctx, 4096, kNoExec);
  Status m = rig.driver->mmap_bo(ctx, heap);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message.find("not pinned"), std::string::npos);
  EXPECT_FALSE(rig.driver->pin_bo(ctx, heap));
  EXPECT_TRUE(rig.driver->mmap_bo(ctx, plain));
  EXPECT_TRUE(rig.driver->pin_bo(ctx, plain));
  EXPECT_EQ(rig.driver->free_bo(ctx, plain).error().code, Errc::kBusy) << "pinned (exported) BOs stay";
  EXPECT_TRUE(rig.driver->unpin_bo(ctx, plain));
  EXPECT_TRUE(rig.driver->free_bo(ctx, plain));
}

TEST(DriverBo, MadviseReportsWhetherPagesWereRetainedAndTheShrinkerPurgesDontNeed) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  const BoId keep = rig.bo(ctx, 16 * kPageSize, kNoExec);
  const BoId drop = rig.bo(ctx, 32 * kPageSize, kNoExec);
  EXPECT_TRUE(*rig.driver->madvise(ctx, drop, Madvise::DontNeed));
  EXPECT_EQ(rig.driver->shrink(), 32U);
  EXPECT_FALSE(*rig.driver->madvise(ctx, drop, Madvise::WillNeed)) << "purged: not retained";
  EXPECT_TRUE(*rig.driver->madvise(ctx, keep, Madvise::DontNeed));
  EXPECT_TRUE(*rig.driver->madvise(ctx, keep, Madvise::WillNeed)) << "never purged: retained";
  EXPECT_EQ(rig.driver->stats().purged_bos, 1U);
  EXPECT_EQ(rig.driver->context_info(ctx)->resident, 16 * kPageSize);
}

TEST(DriverBo, ShrinkerLeavesBosOfRunningJobsAlone) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  const BoId b = rig.bo(ctx, 8 * kPageSize, kNoExec);
  ASSERT_TRUE(rig.driver->madvise(ctx, b, Madvise::DontNeed));
  ASSERT_TRUE(rig.driver->job_begin(ctx, {b}));
  EXPECT_EQ(rig.driver->shrink(), 0U);
  ASSERT_TRUE(rig.driver->job_end(ctx, {b}));
  EXPECT_EQ(rig.driver->shrink(), 8U);
}

TEST(DriverBo, PurgedHeapTearsDownItsMappingsHoleAware) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  const BoId heap = rig.bo(ctx, 8 << 20, kNoExec | kHeap);
  const GpuVa v = rig.va(ctx, heap);
  ASSERT_EQ(rig.touch(ctx, v).status, AccessStatus::Done);
  ASSERT_EQ(rig.touch(ctx, v + 3 * kSize2M).status, AccessStatus::Done);  // chunks 0 and 3
  ASSERT_TRUE(rig.driver->madvise(ctx, heap, Madvise::DontNeed));
  EXPECT_EQ(rig.driver->shrink(), 1024U);
  EXPECT_EQ(rig.driver->context_info(ctx)->heap_rss, 0U);
  EXPECT_EQ(rig.driver->memory_info().page_table_pages, 1U) << "emptied tables were returned";
}

TEST(DriverBo, FreeUnmapsWithOneFlushReturnsEveryPageAndTheVa) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  const BoId b = rig.bo(ctx, 64 * kPageSize, kNoExec);
  const GpuVa v = rig.va(ctx, b);
  ASSERT_EQ(rig.touch(ctx, v).status, AccessStatus::Done);  // binds an AS, so frees must flush
  const auto flushes = rig.driver->stats().flushes;
  const auto frames_before = rig.frames.stats().allocated;
  ASSERT_TRUE(rig.driver->free_bo(ctx, b));
  EXPECT_EQ(rig.driver->stats().flushes, flushes + 1);
  EXPECT_EQ(rig.frames.stats().allocated, frames_before - 64 - 3) << "64 pages and the emptied L1-L3 tables";
  const AccessResult after = rig.touch(ctx, v);
  EXPECT_NE(after.status, AccessStatus::Done) << "the freed range faults";
  const BoId again = rig.bo(ctx, 64 * kPageSize, kNoExec);
  EXPECT_EQ(rig.va(ctx, again), v) << "the VA was freed and is reused";
}

}  // namespace
}  // namespace mali_sim::testing
