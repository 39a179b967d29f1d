// ShmemStore, the reference driver's backing store: pages exist only once populated, populate is
// all-or-nothing at every allocation point, transparent huge pages give one contiguous 2 MiB block
// or fall back cleanly, pins and the unevictable mark show in the meminfo-like counters, and every
// frame goes back to the FrameAllocator.
#include "mali_sim/gem/shmem.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mali_sim/phys_mem.hpp"

namespace mali_sim {
namespace {

constexpr std::uint64_t kChunk = ShmemStore::kPagesPerChunk;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A fresh memory, allocator and store per test; 64 MiB = 32 blocks of 2 MiB unless told.
struct Rig {
  explicit Rig(std::uint64_t bytes = 64ULL << 20, ShmemConfig cfg = {})
      : mem(bytes), frames(mem), store(frames, cfg) {}
  ShmemStore::ObjectId make(std::uint64_t size) {
    Result<ShmemStore::ObjectId> r = store.create(size);
    EXPECT_TRUE(r.has_value());
    return r.has_value() ? *r : 0;
  }
  PhysMem mem;
  FrameAllocator frames;
  ShmemStore store;
};

ShmemConfig thp() { return ShmemConfig{.transparent_huge_pages = true}; }

// Everything a failed populate must leave exactly as it found it.
struct Snapshot {
  std::uint64_t allocated, shmem, unevictable, huge_pages, resident, objects;
  std::vector<std::optional<PhysAddr>> pages;
  bool operator==(const Snapshot&) const = default;
};
Snapshot snapshot(Rig& rig, ShmemStore::ObjectId id) {
  const ShmemInfo i = rig.store.info();
  Snapshot s{rig.frames.stats().allocated,
             i.shmem,
             i.unevictable,
             i.huge_pages,
             rig.store.resident_pages(id),
             i.objects,
             {}};
  for (std::uint64_t p = 0; p < rig.store.size_pages(id); ++p) s.pages.push_back(rig.store.page(id, p));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Lazy allocation, populate, page lookup
// ---------------------------------------------------------------------------------------------

TEST(ShmemStore, CreateRoundsUpToPagesAndHoldsNoPage) {
  Rig rig;
  const auto id = rig.make(3 * kPageSize + 1);
  EXPECT_TRUE(rig.store.exists(id));
  EXPECT_EQ(rig.store.size_pages(id), 4U);
  EXPECT_EQ(rig.store.resident_pages(id), 0U);
  for (std::uint64_t p = 0; p < 4; ++p) EXPECT_FALSE(rig.store.page(id, p).has_value());
  EXPECT_EQ(rig.frames.stats().allocated, 0U);
  const ShmemInfo i = rig.store.info();
  EXPECT_EQ(i.shmem, 0U);
  EXPECT_EQ(i.objects, 1U);
  EXPECT_EQ(i.total, rig.mem.frame_count());
  EXPECT_EQ(i.free, rig.mem.frame_count());
}

TEST(ShmemStore, CreateOfZeroBytesIsInvalid) {
  Rig rig;
  Result<ShmemStore::ObjectId> r = rig.store.create(0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_FALSE(rig.store.create(~0ULL));  // would overflow when rounded to 4 KiB
}

TEST(ShmemStore, PopulateBacksExactlyTheRangeWithDistinctFrames) {
  Rig rig;
  const auto id = rig.make(16 * kPageSize);
  ASSERT_TRUE(rig.store.populate(id, 4, 6));
  EXPECT_EQ(rig.store.resident_pages(id), 6U);
  EXPECT_EQ(rig.frames.stats().allocated, 6U);
  EXPECT_EQ(rig.store.info().shmem, 6U);
  std::vector<PhysAddr> seen;
  for (std::uint64_t p = 0; p < 16; ++p) {
    const auto pa = rig.store.page(id, p);
    EXPECT_EQ(pa.has_value(), p >= 4 && p < 10) << p;
    if (!pa) continue;
    EXPECT_TRUE(is_aligned(*pa, kPageSize));
    EXPECT_TRUE(rig.frames.is_allocated(*pa));
    for (PhysAddr other : seen) EXPECT_NE(*pa, other);
    seen.push_back(*pa);
  }
  EXPECT_FALSE(rig.store.page(id, 16).has_value());  // past the end
}

TEST(ShmemStore, PopulateKeepsPresentPagesAndAllocatesOnlyTheMissingOnes) {
  Rig rig;
  const auto id = rig.make(16 * kPageSize);
  ASSERT_TRUE(rig.store.populate(id, 2, 2));
  const PhysAddr p2 = *rig.store.page(id, 2);
  ASSERT_TRUE(rig.store.populate(id, 0, 8));
  EXPECT_EQ(rig.store.page(id, 2), p2);
  EXPECT_EQ(rig.store.resident_pages(id), 8U);
  EXPECT_EQ(rig.frames.stats().allocated, 8U);
  const std::uint64_t allocs = rig.frames.stats().allocs;
  ASSERT_TRUE(rig.store.populate(id, 0, 8));  // all present: no allocation at all
  ASSERT_TRUE(rig.store.populate(id, 5, 0));  // empty range: a no-op
  EXPECT_EQ(rig.frames.stats().allocs, allocs);
}

TEST(ShmemStore, PopulateOutsideTheObjectOrOfUnknownIdIsInvalid) {
  Rig rig;
  const auto id = rig.make(16 * kPageSize);
  for (auto [first, count] : {std::pair<std::uint64_t, std::uint64_t>{10, 7}, {17, 0}, {1, ~0ULL}}) {
    Status s = rig.store.populate(id, first, count);
    ASSERT_FALSE(s) << first << "+" << count;
    EXPECT_EQ(s.error().code, Errc::kInvalidArgument);
  }
  Status s = rig.store.populate(id + 1, 0, 1);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(rig.frames.stats().allocated, 0U);
}

// ---------------------------------------------------------------------------------------------
// ENOMEM
// ---------------------------------------------------------------------------------------------

// The range crosses a chunk boundary so that a failure also has to drop chunks it created.
TEST(ShmemStore, PopulateIsAllOrNothingAtEveryAllocationPoint) {
  Rig rig;
  const auto id = rig.make(2 * kChunk * kPageSize);
  ASSERT_TRUE(rig.store.populate(id, 600, 1));  // an unrelated page that must survive
  const Snapshot before = snapshot(rig, id);
  const std::uint64_t host_before = rig.store.host_bytes();
  for (std::uint64_t n = 1; n <= 16; ++n) {
    rig.frames.fail_nth_alloc(n);
    Status s = rig.store.populate(id, kChunk - 8, 16);
    rig.frames.fail_nth_alloc(0);
    ASSERT_FALSE(s) << "allocation point " << n;
    EXPECT_EQ(s.error().code, Errc::kOutOfMemory);
    EXPECT_TRUE(snapshot(rig, id) == before) << "allocation point " << n;
    EXPECT_EQ(rig.store.host_bytes(), host_before) << "allocation point " << n;
  }
  ASSERT_TRUE(rig.store.populate(id, kChunk - 8, 16));  // and nothing stuck in the way
  EXPECT_EQ(rig.store.resident_pages(id), 17U);
}

TEST(ShmemStore, FailedPopulateLeavesPagesThatWerePresentBefore) {
  Rig rig;
  const auto id = rig.make(16 * kPageSize);
  ASSERT_TRUE(rig.store.populate(id, 3, 1));
  ASSERT_TRUE(rig.store.populate(id, 9, 2));
  const Snapshot before = snapshot(rig, id);
  for (std::uint64_t n = 1; n <= 13; ++n) {  // 16 pages, 3 present: 13 allocation points
    rig.frames.fail_nth_alloc(n);
    ASSERT_FALSE(rig.store.populate(id, 0, 16)) << n;
    rig.frames.fail_nth_alloc(0);
    EXPECT_TRUE(snapshot(rig, id) == before) << n;
  }
}

TEST(ShmemStore, EnomemWhenMemoryIsExhaustedNamesObjectRangeAndNeed) {
  Rig rig(64 * kPageSize);
  const auto a = rig.make(40 * kPageSize);
  const auto b = rig.make(100 * kPageSize);
  ASSERT_TRUE(rig.store.populate(a, 0, 40));
  const Snapshot before = snapshot(rig, b);
  Status s = rig.store.populate(b, 0, 30);  // 24 frames left
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kOutOfMemory);
  const std::string& m = s.error().message;
  EXPECT_TRUE(contains(m, "object " + std::to_string(b))) << m;
  EXPECT_TRUE(contains(m, "[0x0, 0x1e)")) << m;
  EXPECT_TRUE(contains(m, "needed 30")) << m;
  EXPECT_TRUE(snapshot(rig, b) == before);
  ASSERT_TRUE(rig.store.populate(b, 0, 24));  // exactly what is left still fits
  EXPECT_EQ(rig.store.info().free, 0U);
  EXPECT_FALSE(rig.store.populate(b, 24, 1));
}

TEST(ShmemStore, EnomemFromTheAllocatorSaysHowFarItGot) {
  Rig rig;
  const auto id = rig.make(16 * kPageSize);
  rig.frames.fail_nth_alloc(6);
  Status s = rig.store.populate(id, 0, 16);
  rig.frames.fail_nth_alloc(0);
  ASSERT_FALSE(s);
  EXPECT_TRUE(contains(s.error().message, "needed 16")) << s.error().message;
  EXPECT_TRUE(contains(s.error().message, "got 5")) << s.error().message;
}

// ---------------------------------------------------------------------------------------------
// Transparent huge pages
// ---------------------------------------------------------------------------------------------

TEST(ShmemStore, ThpAlignedPopulateGetsOneContiguousBlock) {
  Rig rig(64ULL << 20, thp());
  const auto id = rig.make(4 * kSize2M);
  const std::uint64_t allocs = rig.frames.stats().allocs;
  ASSERT_TRUE(rig.store.populate(id, kChunk, kChunk));
  EXPECT_EQ(rig.frames.stats().allocs, allocs + 1);  // one alloc_2m call
  EXPECT_TRUE(rig.store.contiguous_2m(id, kChunk));
  EXPECT_FALSE(rig.store.contiguous_2m(id, 0));  // not populated
  const PhysAddr base = *rig.store.page(id, kChunk);
  EXPECT_TRUE(is_aligned(base, kSize2M));
  for (std::uint64_t i = 0; i < kChunk; ++i) ASSERT_EQ(*rig.store.page(id, kChunk + i), base + i * kPageSize);
  const ShmemInfo i = rig.store.info();
  EXPECT_EQ(i.huge_pages, kChunk);
  EXPECT_EQ(i.thp_allocs, 1U);
  EXPECT_EQ(i.thp_fallbacks, 0U);
  EXPECT_EQ(i.shmem, kChunk);
}

TEST(ShmemStore, ThpIsNotTriedForPartialOrPartlyPresentChunks) {
  Rig rig(64ULL << 20, thp());
  const auto id = rig.make(2 * kSize2M);
  ASSERT_TRUE(rig.store.populate(id, 0, kChunk - 1));  // not the whole chunk
  ASSERT_TRUE(rig.store.populate(id, 0, kChunk));      // whole, but not entirely missing
  const ShmemInfo i = rig.store.info();
  EXPECT_EQ(i.thp_allocs, 0U);
  EXPECT_EQ(i.thp_fallbacks, 0U);
  EXPECT_EQ(i.huge_pages, 0U);
  EXPECT_EQ(rig.frames.stats().allocs, kChunk);
}

TEST(ShmemStore, ThpFallsBackTo4KPagesWhenEveryBlockIsFragmented) {
  Rig rig(8ULL << 20, thp());  // 4 blocks
  // Leave one frame allocated in every 2 MiB block, so that no block is entirely free.
  std::vector<PhysAddr> pins;
  while (auto blk = rig.frames.alloc_2m()) {
    pins.push_back(*blk);
    for (std::uint64_t f = 1; f < kChunk; ++f) ASSERT_TRUE(rig.frames.free_frame(*blk + f * kPageSize));
  }
  ASSERT_EQ(pins.size(), 4U);
  const auto id = rig.make(kSize2M);
  ASSERT_TRUE(rig.store.populate(id, 0, kChunk));
  EXPECT_EQ(rig.store.resident_pages(id), kChunk);
  EXPECT_FALSE(rig.store.contiguous_2m(id, 0));
  const ShmemInfo i = rig.store.info();
  EXPECT_EQ(i.thp_fallbacks, 1U);
  EXPECT_EQ(i.thp_allocs, 0U);
  EXPECT_EQ(i.huge_pages, 0U);
  EXPECT_EQ(rig.frames.stats().allocated, 4U + kChunk);
}

TEST(ShmemStore, ThpOffNeverUsesAlloc2m) {
  Rig rig;  // THP off
  const auto id = rig.make(2 * kSize2M);
  const std::uint64_t allocs = rig.frames.stats().allocs;
  ASSERT_TRUE(rig.store.populate(id, 0, 2 * kChunk));
  EXPECT_EQ(rig.frames.stats().allocs, allocs + 2 * kChunk);  // one call per 4 KiB page
  const ShmemInfo i = rig.store.info();
  EXPECT_EQ(i.thp_allocs, 0U);
  EXPECT_EQ(i.thp_fallbacks, 0U);
  EXPECT_EQ(i.huge_pages, 0U);
}

TEST(ShmemStore, Contiguous2mReportsTheFactEvenFor4KFrames) {
  // On an untouched allocator, 512 single frames come out as one aligned run; a driver may then
  // use a block mapping just as well, so the answer follows the frames, not how they were asked for.
  Rig rig;
  const auto id = rig.make(kSize2M);
  ASSERT_TRUE(rig.store.populate(id, 0, kChunk));
  EXPECT_TRUE(rig.store.contiguous_2m(id, 0));
  EXPECT_FALSE(rig.store.contiguous_2m(id, 1));  // not 512-aligned
  EXPECT_EQ(rig.store.info().huge_pages, 0U);
}

TEST(ShmemStore, ThpBlockFailureFallsBackTo4KPages) {
  Rig rig(64ULL << 20, thp());
  const auto id = rig.make(kSize2M);
  rig.frames.fail_nth_alloc(1);  // the alloc_2m attempt
  ASSERT_TRUE(rig.store.populate(id, 0, kChunk));
  EXPECT_EQ(rig.store.resident_pages(id), kChunk);
  EXPECT_EQ(rig.store.info().thp_fallbacks, 1U);
  EXPECT_EQ(rig.store.info().huge_pages, 0U);
}

TEST(ShmemStore, FailureAfterAThpFallbackRollsBackTheFallbackPages) {
  // One whole block plus a short one; taking a frame leaves no whole block, so alloc_2m fails for
  // real while enough 4 KiB frames remain for the up-front check to pass.
  Rig rig(kSize2M + 100 * kPageSize, thp());
  ASSERT_TRUE(rig.frames.alloc_frame());
  const auto id = rig.make(kSize2M);
  for (std::uint64_t n = 2; n <= 6; ++n) {  // call 1 is the block attempt
    rig.frames.fail_nth_alloc(n);
    Status s = rig.store.populate(id, 0, kChunk);
    rig.frames.fail_nth_alloc(0);
    ASSERT_FALSE(s) << n;
    EXPECT_EQ(rig.store.resident_pages(id), 0U);
    EXPECT_EQ(rig.frames.stats().allocated, 1U);
  }
  // An event counter, like thp_fault_fallback: the attempts happened even though nothing stayed.
  EXPECT_EQ(rig.store.info().thp_fallbacks, 5U);
  ASSERT_TRUE(rig.store.populate(id, 0, kChunk));
  EXPECT_FALSE(rig.store.contiguous_2m(id, 0));
}

TEST(ShmemStore, ReleasingPartOfAHugeBlockSplitsItAndFreesJustThoseFrames) {
  Rig rig(64ULL << 20, thp());
  const auto id = rig.make(kSize2M);
  ASSERT_TRUE(rig.store.populate(id, 0, kChunk));
  const PhysAddr base = *rig.store.page(id, 0);
  Result<std::uint64_t> r = rig.store.release(id, 10, 2);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 2U);
  EXPECT_FALSE(rig.frames.is_allocated(base + 10 * kPageSize));
  EXPECT_TRUE(rig.frames.is_allocated(base + 12 * kPageSize));
  EXPECT_EQ(rig.store.page(id, 12), base + 12 * kPageSize);  // the rest stays where it was
  EXPECT_FALSE(rig.store.contiguous_2m(id, 0));
  const ShmemInfo i = rig.store.info();
  EXPECT_EQ(i.huge_pages, 0U);  // a split block is no longer a huge page
  EXPECT_EQ(i.shmem, kChunk - 2);
  EXPECT_EQ(rig.frames.stats().allocated, kChunk - 2);
  ASSERT_TRUE(rig.store.destroy(id));
  EXPECT_EQ(rig.frames.stats().allocated, 0U);
}

// ---------------------------------------------------------------------------------------------
// Pins, unevictable, release, destroy
// ---------------------------------------------------------------------------------------------

TEST(ShmemStore, PinCountsAndUnevictableAccounting) {
  Rig rig;
  const auto a = rig.make(8 * kPageSize);
  const auto b = rig.make(8 * kPageSize);
  ASSERT_TRUE(rig.store.populate(a, 0, 4));
  ASSERT_TRUE(rig.store.populate(b, 0, 3));
  EXPECT_EQ(rig.store.info().unevictable, 0U);

  ASSERT_TRUE(rig.store.pin(a));
  ASSERT_TRUE(rig.store.pin(a));
  EXPECT_EQ(rig.store.pin_count(a), 2U);
  EXPECT_EQ(rig.store.info().unevictable, 4U);
  ASSERT_TRUE(rig.store.populate(a, 4, 2));  // pages added while pinned count at once
  EXPECT_EQ(rig.store.info().unevictable, 6U);

  ASSERT_TRUE(rig.store.set_unevictable(b, true));  // what panfrost does to a heap
  EXPECT_TRUE(rig.store.unevictable(b));
  EXPECT_EQ(rig.store.info().unevictable, 9U);
  ASSERT_TRUE(rig.store.set_unevictable(b, true));  // idempotent
  EXPECT_EQ(rig.store.info().unevictable, 9U);
  ASSERT_TRUE(rig.store.release(b, 0, 1));  // marked, not pinned: may still be released
  EXPECT_EQ(rig.store.info().unevictable, 8U);

  ASSERT_TRUE(rig.store.unpin(a));
  EXPECT_EQ(rig.store.info().unevictable, 8U);  // still pinned once
  ASSERT_TRUE(rig.store.unpin(a));
  EXPECT_EQ(rig.store.pin_count(a), 0U);
  EXPECT_EQ(rig.store.info().unevictable, 2U);
  Status s = rig.store.unpin(a);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kInvalidArgument);

  ASSERT_TRUE(rig.store.set_unevictable(b, false));
  EXPECT_EQ(rig.store.info().unevictable, 0U);
  // Pinned and marked at once counts the pages once.
  ASSERT_TRUE(rig.store.pin(b));
  ASSERT_TRUE(rig.store.set_unevictable(b, true));
  EXPECT_EQ(rig.store.info().unevictable, 2U);
  ASSERT_TRUE(rig.store.unpin(b));
  EXPECT_EQ(rig.store.info().unevictable, 2U);
}

TEST(ShmemStore, DestroyAndReleaseWhilePinnedAreRefused) {
  Rig rig;
  const auto id = rig.make(8 * kPageSize);
  ASSERT_TRUE(rig.store.populate(id, 0, 8));
  ASSERT_TRUE(rig.store.pin(id));
  Status d = rig.store.destroy(id);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::kBusy);
  Result<std::uint64_t> r = rig.store.release(id, 0, 8);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kBusy);
  EXPECT_FALSE(rig.store.release_all(id));
  EXPECT_TRUE(rig.store.exists(id));
  EXPECT_EQ(rig.store.resident_pages(id), 8U);
  ASSERT_TRUE(rig.store.unpin(id));
  ASSERT_TRUE(rig.store.destroy(id));
  EXPECT_EQ(rig.frames.stats().allocated, 0U);
}

TEST(ShmemStore, ReleaseOfASparseRangeReturnsExactlyThePresentPages) {
  Rig rig;
  const auto id = rig.make(3 * kSize2M);
  ASSERT_TRUE(rig.store.populate(id, 5, 3));
  ASSERT_TRUE(rig.store.populate(id, kChunk + 100, 1));
  ASSERT_TRUE(rig.store.populate(id, 2 * kChunk + 7, 4));
  const PhysAddr kept = *rig.store.page(id, 2 * kChunk + 10);
  const std::uint64_t baseline = rig.frames.stats().allocated;

  Result<std::uint64_t> r = rig.store.release(id, 6, 2 * kChunk + 4);  // ends at 2*512+10
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 2U + 1U + 3U);
  EXPECT_EQ(rig.frames.stats().allocated, baseline - 6);
  EXPECT_TRUE(rig.store.page(id, 5).has_value());
  EXPECT_FALSE(rig.store.page(id, 6).has_value());
  EXPECT_FALSE(rig.store.page(id, kChunk + 100).has_value());
  EXPECT_EQ(rig.store.page(id, 2 * kChunk + 10), kept);
  EXPECT_EQ(rig.store.resident_pages(id), 2U);
  EXPECT_EQ(rig.store.info().shmem, 2U);

  Result<std::uint64_t> again = rig.store.release(id, 6, 2 * kChunk + 4);  // only holes now
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0U);
  EXPECT_FALSE(rig.store.release(id, 0, 3 * kChunk + 1));  // outside the object
}

TEST(ShmemStore, ReleaseAllPurgesEveryPageAndKeepsTheObject) {
  Rig rig(64ULL << 20, thp());
  const auto id = rig.make(3 * kSize2M);
  ASSERT_TRUE(rig.store.populate(id, 0, kChunk));  // a huge block
  ASSERT_TRUE(rig.store.populate(id, 2 * kChunk + 3, 5));
  Result<std::uint64_t> r = rig.store.release_all(id);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, kChunk + 5);
  EXPECT_TRUE(rig.store.exists(id));
  EXPECT_EQ(rig.store.resident_pages(id), 0U);
  EXPECT_EQ(rig.frames.stats().allocated, 0U);
  const ShmemInfo i = rig.store.info();
  EXPECT_EQ(i.shmem, 0U);
  EXPECT_EQ(i.huge_pages, 0U);
  ASSERT_TRUE(rig.store.populate(id, 0, 1));  // a purged object can be repopulated
}

TEST(ShmemStore, DestroyingEverythingReturnsTheAllocatorToBaseline) {
  Rig rig(64ULL << 20, thp());
  const PhysAddr foreign = *rig.frames.alloc_frame();  // someone else's frame stays theirs
  const std::uint64_t baseline = rig.frames.stats().allocated;
  std::vector<ShmemStore::ObjectId> ids;
  for (int k = 0; k < 5; ++k) ids.push_back(rig.make(2 * kSize2M));
  for (std::size_t k = 0; k < ids.size(); ++k) {
    ASSERT_TRUE(rig.store.populate(ids[k], k, kChunk + 17 * k));
    ASSERT_TRUE(rig.store.set_unevictable(ids[k], k % 2 == 0));
  }
  ASSERT_TRUE(rig.store.release(ids[1], 3, 100));
  for (auto id : ids) ASSERT_TRUE(rig.store.destroy(id));
  EXPECT_EQ(rig.frames.stats().allocated, baseline);
  EXPECT_TRUE(rig.frames.is_allocated(foreign));
  const ShmemInfo i = rig.store.info();
  EXPECT_EQ(i.shmem, 0U);
  EXPECT_EQ(i.unevictable, 0U);
  EXPECT_EQ(i.huge_pages, 0U);
  EXPECT_EQ(i.objects, 0U);
  EXPECT_LT(rig.store.host_bytes(), 64U);
}

TEST(ShmemStore, DestroyingTheStoreFreesLiveAndPinnedObjects) {
  PhysMem mem(64ULL << 20);
  FrameAllocator frames(mem);
  {
    ShmemStore store(frames, thp());
    const auto a = *store.create(kSize2M);
    const auto b = *store.create(10 * kPageSize);
    ASSERT_TRUE(store.populate(a, 0, kChunk));
    ASSERT_TRUE(store.populate(b, 0, 10));
    ASSERT_TRUE(store.pin(b));
    EXPECT_EQ(frames.stats().allocated, kChunk + 10);
  }
  EXPECT_EQ(frames.stats().allocated, 0U);
}

TEST(ShmemStore, A64GiBObjectCostsHostMemoryOnlyForPopulatedChunks) {
  Rig rig(64ULL << 20);  // far less physical memory than the object's size
  const auto id = rig.make(64ULL << 30);
  EXPECT_EQ(rig.store.size_pages(id), (64ULL << 30) / kPageSize);
  const std::uint64_t empty_cost = rig.store.host_bytes();
  ASSERT_TRUE(rig.store.populate(id, 0, kChunk));
  ASSERT_TRUE(rig.store.populate(id, 10000 * kChunk, kChunk));
  EXPECT_TRUE(rig.store.page(id, 10000 * kChunk + 5).has_value());
  EXPECT_FALSE(rig.store.page(id, 5000 * kChunk).has_value());
  EXPECT_EQ(rig.store.resident_pages(id), 2 * kChunk);
  // Two chunk tables of 512 addresses and a little tree overhead, not 16 Mi entries.
  EXPECT_LT(rig.store.host_bytes() - empty_cost, 2 * (kChunk * sizeof(PhysAddr) + 256));
  EXPECT_EQ(rig.mem.resident_frames(), 0U);  // populating writes nothing into frames
  // Asking about the whole object stays cheap and sees only the two chunks.
  Result<std::uint64_t> r = rig.store.release_all(id);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 2 * kChunk);
  // A whole-object populate is refused up front instead of allocating all of memory first.
  const std::uint64_t allocs = rig.frames.stats().allocs;
  Status s = rig.store.populate(id, 0, rig.store.size_pages(id));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kOutOfMemory);
  EXPECT_EQ(rig.frames.stats().allocs, allocs);
}

TEST(ShmemStore, StaleIdAfterDestroyIsAnErrorAndIdsAreNeverReused) {
  Rig rig;
  const auto a = rig.make(kPageSize);
  ASSERT_TRUE(rig.store.destroy(a));
  const auto b = rig.make(kPageSize);
  EXPECT_NE(a, b);
  EXPECT_FALSE(rig.store.exists(a));
  const Status d = rig.store.destroy(a);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, Errc::kInvalidArgument);
  EXPECT_TRUE(contains(d.error().message, std::to_string(a))) << d.error().message;
  EXPECT_FALSE(rig.store.populate(a, 0, 1));
  EXPECT_FALSE(rig.store.release(a, 0, 1));
  EXPECT_FALSE(rig.store.release_all(a));
  EXPECT_FALSE(rig.store.pin(a));
  EXPECT_FALSE(rig.store.unpin(a));
  EXPECT_FALSE(rig.store.set_unevictable(a, true));
  EXPECT_FALSE(rig.store.page(a, 0).has_value());
  EXPECT_FALSE(rig.store.contiguous_2m(a, 0));
  EXPECT_EQ(rig.store.size_pages(a), 0U);
  EXPECT_EQ(rig.store.resident_pages(a), 0U);
  EXPECT_EQ(rig.store.pin_count(a), 0U);
  EXPECT_TRUE(rig.store.exists(b));
}

}  // namespace
}  // namespace mali_sim
