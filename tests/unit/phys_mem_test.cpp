#include <gtest/gtest.h>

#include <vector>

#include "mali_sim/phys_mem.hpp"

namespace mali_sim {
namespace {

TEST(PhysMem, RejectsImpossibleSizesWithAReason) {
  auto zero = PhysMem::create(0);
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("non-zero"), std::string::npos);
  auto odd = PhysMem::create(4096 + 1);
  ASSERT_FALSE(odd);
  EXPECT_NE(odd.error().message.find("4 KiB"), std::string::npos);
  auto huge = PhysMem::create((1ULL << 40) + 4096);
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().message.find("40-bit"), std::string::npos);
  EXPECT_TRUE(PhysMem::create(1ULL << 40));
}

TEST(PhysMem, UnwrittenMemoryReadsZeroAndCostsNoHostFrames) {
  PhysMem mem(1ULL << 40);  // the whole Mali PA space
  std::uint64_t v = 0xdead;
  ASSERT_TRUE(mem.read64((1ULL << 40) - 8, v));
  EXPECT_EQ(v, 0U);
  std::vector<std::uint8_t> buf(10000, 0xff);
  ASSERT_TRUE(mem.read(123456789, buf));
  for (auto b : buf) ASSERT_EQ(b, 0);
  EXPECT_EQ(mem.resident_frames(), 0U);
}

TEST(PhysMem, WordAndByteAccessesRoundTripAcrossFrames) {
  PhysMem mem(16 * kPageSize);
  ASSERT_TRUE(mem.write64(0x1008, 0x1122334455667788ULL));
  std::uint64_t v64 = 0;
  ASSERT_TRUE(mem.read64(0x1008, v64));
  EXPECT_EQ(v64, 0x1122334455667788ULL);
  std::uint32_t v32 = 0;
  ASSERT_TRUE(mem.read32(0x100C, v32));
  EXPECT_EQ(v32, 0x11223344U);  // little endian, as the GPU sees memory
  ASSERT_TRUE(mem.write32(0x2000, 0xCAFEF00DU));
  ASSERT_TRUE(mem.read32(0x2000, v32));
  EXPECT_EQ(v32, 0xCAFEF00DU);

  std::vector<std::uint8_t> in(6000);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<std::uint8_t>(i * 7);
  ASSERT_TRUE(mem.write(0x3F00, in));  // spans three frames
  std::vector<std::uint8_t> out(in.size());
  ASSERT_TRUE(mem.read(0x3F00, out));
  EXPECT_EQ(in, out);
  EXPECT_EQ(mem.resident_frames(), 2U + 3U);
}

TEST(PhysMem, AccessOutsideConfiguredSizeIsReportedAndNotPerformed) {
  PhysMem mem(4 * kPageSize);
  std::uint64_t v = 0;
  EXPECT_FALSE(mem.read64(4 * kPageSize, v));
  EXPECT_FALSE(mem.write64(4 * kPageSize, 1));
  EXPECT_FALSE(mem.read64(~0ULL - 7, v));  // no wrap-around
  std::vector<std::uint8_t> buf(16);
  Status s = mem.write(4 * kPageSize - 8, buf);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kOutOfRange);
  EXPECT_NE(s.error().message.find("0x3ff8"), std::string::npos);
  EXPECT_EQ(mem.resident_frames(), 0U);
}

TEST(PhysMem, MisalignedWordAccessIsRefused) {
  PhysMem mem(kPageSize);
  std::uint64_t v = 0;
  EXPECT_FALSE(mem.read64(4, v));
  EXPECT_FALSE(mem.write32(2, 1));
}

TEST(PhysMem, DiscardedFrameReadsZeroAndReleasesHostMemory) {
  PhysMem mem(4 * kPageSize);
  ASSERT_TRUE(mem.write64(kPageSize, 42));
  EXPECT_EQ(mem.resident_frames(), 1U);
  mem.discard_frame(1);
  std::uint64_t v = 1;
  ASSERT_TRUE(mem.read64(kPageSize, v));
  EXPECT_EQ(v, 0U);
  EXPECT_EQ(mem.resident_frames(), 0U);
}

TEST(FrameAllocator, AccountsAllocatedFreeAndHighWater) {
  PhysMem mem(8 * kPageSize);
  FrameAllocator fa(mem);
  EXPECT_EQ(fa.stats().total, 8U);
  auto a = fa.alloc_frame();
  auto b = fa.alloc_frame();
  auto c = fa.alloc_frame();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, 0U);  // lowest address first: deterministic
  EXPECT_EQ(*b, kPageSize);
  EXPECT_EQ(fa.stats().allocated, 3U);
  EXPECT_EQ(fa.stats().free, 5U);
  ASSERT_TRUE(fa.free_frame(*b));
  EXPECT_EQ(fa.stats().allocated, 2U);
  EXPECT_EQ(fa.stats().high_water, 3U);
  auto d = fa.alloc_frame();
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, *b);  // the hole is reused
}

TEST(FrameAllocator, ExhaustionReturnsNulloptAndCountsTheFailure) {
  PhysMem mem(2 * kPageSize);
  FrameAllocator fa(mem);
  ASSERT_TRUE(fa.alloc_frame());
  ASSERT_TRUE(fa.alloc_frame());
  EXPECT_FALSE(fa.alloc_frame());
  EXPECT_EQ(fa.stats().failed_allocs, 1U);
}

TEST(FrameAllocator, InjectedFailureHitsExactlyTheNthAllocation) {
  PhysMem mem(kSize2M * 2);
  FrameAllocator fa(mem);
  fa.fail_nth_alloc(3);
  EXPECT_TRUE(fa.alloc_frame());
  EXPECT_TRUE(fa.alloc_2m());
  EXPECT_FALSE(fa.alloc_frame()) << "third call fails";
  EXPECT_TRUE(fa.alloc_frame()) << "only once";
  EXPECT_EQ(fa.stats().failed_allocs, 1U);
}

TEST(FrameAllocator, BatchAllocationMakesTheSameChoicesAsSingleCalls) {
  PhysMem m1(3 * kSize2M), m2(3 * kSize2M);
  FrameAllocator one(m1, 7), many(m2, 7);
  (void)one.alloc_2m();
  (void)many.alloc_2m();
  std::vector<PhysAddr> singles;
  for (int i = 0; i < 700; ++i) singles.push_back(*one.alloc_frame());
  std::vector<PhysAddr> batch(700);
  ASSERT_EQ(many.alloc_frames(batch), 700U);
  EXPECT_EQ(batch, singles);
  EXPECT_EQ(many.stats().allocated, one.stats().allocated);
  EXPECT_EQ(many.stats().high_water, one.stats().high_water);
}

TEST(FrameAllocator, BatchAllocationStopsAtTheInjectedFailureAndAtExhaustion) {
  PhysMem mem(kSize2M);
  FrameAllocator fa(mem);
  std::vector<PhysAddr> out(100);
  fa.fail_nth_alloc(40);
  EXPECT_EQ(fa.alloc_frames(out), 39U) << "the 40th frame fails";
  EXPECT_EQ(fa.stats().allocated, 39U);
  std::vector<PhysAddr> rest(1000);
  EXPECT_EQ(fa.alloc_frames(rest), 512U - 39U);
  EXPECT_EQ(fa.stats().free, 0U);
}

TEST(FrameAllocator, DoubleFreeIsAnErrorAndChangesNothing) {
  PhysMem mem(4 * kPageSize);
  FrameAllocator fa(mem);
  auto a = fa.alloc_frame();
  ASSERT_TRUE(fa.free_frame(*a));
  Status again = fa.free_frame(*a);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("double free"), std::string::npos);
  EXPECT_EQ(fa.stats().allocated, 0U);
  EXPECT_EQ(fa.stats().free, 4U);
}

TEST(FrameAllocator, FreedFrameComesBackZeroed) {
  PhysMem mem(4 * kPageSize);
  FrameAllocator fa(mem);
  auto a = fa.alloc_frame();
  ASSERT_TRUE(mem.write64(*a + 16, 0x1234));
  ASSERT_TRUE(fa.free_frame(*a));
  auto b = fa.alloc_frame();
  ASSERT_EQ(*a, *b);
  std::uint64_t v = 1;
  ASSERT_TRUE(mem.read64(*b + 16, v));
  EXPECT_EQ(v, 0U);
}

TEST(FrameAllocator, HugeAllocationIsAlignedContiguousAndFallsBackWhenFragmented) {
  PhysMem mem(2 * kSize2M);
  FrameAllocator fa(mem);
  auto small = fa.alloc_frame();  // lands in block 0
  ASSERT_TRUE(small);
  auto huge = fa.alloc_2m();
  ASSERT_TRUE(huge);
  EXPECT_EQ(*huge, kSize2M);
  EXPECT_EQ(fa.stats().allocated, 1U + 512U);
  EXPECT_FALSE(fa.alloc_2m()) << "block 0 is partly used: no aligned 2 MiB run is left";
  EXPECT_TRUE(fa.alloc_frame()) << "4 KiB frames are still available";
  ASSERT_TRUE(fa.free_2m(*huge));
  auto again = fa.alloc_2m();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, kSize2M);
}

TEST(FrameAllocator, SmallFramesPreferPartlyUsedBlocksToKeepHugeBlocksFree) {
  PhysMem mem(3 * kSize2M);
  FrameAllocator fa(mem);
  auto h0 = fa.alloc_2m();
  auto f = fa.alloc_frame();  // block 1
  ASSERT_TRUE(h0 && f);
  ASSERT_TRUE(fa.free_2m(*h0));  // block 0 entirely free again
  auto g = fa.alloc_frame();
  ASSERT_TRUE(g);
  EXPECT_EQ(*g / kSize2M, *f / kSize2M) << "the partly used block is used first";
  auto h = fa.alloc_2m();
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, 0U);
}

TEST(FrameAllocator, ReservedLowFramesAreNeverHandedOut) {
  PhysMem mem(kSize2M + 4 * kPageSize);
  FrameAllocator fa(mem, 16);
  EXPECT_EQ(fa.stats().total, 512U + 4U - 16U);
  auto a = fa.alloc_frame();
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, 16 * kPageSize);
  EXPECT_FALSE(fa.alloc_2m()) << "neither block is a whole free 2 MiB";
  EXPECT_FALSE(fa.free_frame(0));
}

}  // namespace
}  // namespace mali_sim
