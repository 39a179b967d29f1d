// Exact-cycle tests of the translation pipeline: "not done at N-1, done at N".
#include "protocol/rig.hpp"

namespace mali_sim::testing {
namespace {

constexpr GpuVa kVa = 0x0100'0000;

class GpuTiming : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 8; ++i)
      ASSERT_TRUE(rig.pt[0]->map(kVa + i * kPageSize, 0x20'0000 + i * kPageSize, kPageSize, kRwNx));
    rig.enable_and_settle(0, *rig.pt[0]);
  }
  // Runs to N-1 (must not be done), then to N (must be done at N).
  void expect_done_exactly_at(GpuVa va, Cycle n) {
    rig.q.run_until(n - 1);
    EXPECT_EQ(rig.completion(va), nullptr) << "already done at cycle N-1 = " << n - 1;
    rig.q.run_until(n);
    const AccessResult* r = rig.completion(va);
    ASSERT_NE(r, nullptr) << "not done at cycle N = " << n;
    EXPECT_EQ(r->status, AccessStatus::Done);
    EXPECT_EQ(r->done_at, n);
  }
  Rig rig;
};

TEST_F(GpuTiming, ColdMissTakesUtlbL2AndAFullFourLevelWalk) {
  const Cycle t = rig.q.now();
  EXPECT_EQ(rig.access(0, 0, kVa + 0x10).status, AccessStatus::Pending);
  expect_done_exactly_at(kVa + 0x10, t + kUtlb + kL2 + kFullWalk);
  EXPECT_EQ(rig.completion(kVa + 0x10)->pa, 0x20'0010U);
  EXPECT_EQ(rig.gpu->counters().walk_reads, 4U);
}

TEST_F(GpuTiming, UtlbHitCompletesAfterOneCycle) {
  rig.access(0, 0, kVa);
  rig.q.run_until_idle();
  const Cycle t = rig.q.now();
  const AccessResult r = rig.access(0, 0, kVa + 0x20);
  ASSERT_EQ(r.status, AccessStatus::Done);
  EXPECT_EQ(r.done_at, t + kUtlb);
  EXPECT_EQ(r.pa, 0x20'0020U);
}

// The replay engine's shortcut: access_hit() answers exactly the accesses that access() would
// answer from the uTLB at once, at the cycle it is given, and leaves every other to access().
TEST_F(GpuTiming, AccessHitAnswersUtlbHitsOnlyWhileNothingHoldsTheAddressSpace) {
  rig.access(0, 0, kVa);
  rig.q.run_until_idle();
  const Cycle t = rig.q.now();
  EXPECT_EQ(rig.gpu->access_hit(0, 0, kVa + 8, Access::Read, t + 5), t + 5 + kUtlb);
  EXPECT_EQ(rig.gpu->access_hit(0, 0, kVa + 8, Access::Execute, t), Gpu::kNotAHit) << "no-exec page";
  EXPECT_EQ(rig.gpu->access_hit(1, 0, kVa + 8, Access::Read, t), Gpu::kNotAHit) << "core 1's uTLB is cold";
  EXPECT_EQ(rig.gpu->counters().utlb_hits, 1U) << "the hit is counted, the refusals are not";
  rig.lock_region(0, 0x4000'0000, kPageSize);  // a region away from kVa
  const Cycle l = rig.q.now();
  EXPECT_EQ(rig.gpu->access_hit(0, 0, kVa + 8, Access::Read, l), Gpu::kNotAHit)
      << "while a LOCK holds the address space, access() decides";
  EXPECT_EQ(rig.access(0, 0, kVa + 8).done_at, l + kUtlb) << "outside the locked region it is a hit";
  rig.write_cmd(0, AsCommand::Unlock);
  ASSERT_TRUE(rig.wait_ready(0));
  // kNotAHit means "ask access()", never a miss: after the lock the shortcut answers again once
  // access() has looked the page up.
  const Cycle u = rig.q.now();
  EXPECT_EQ(rig.access(0, 0, kVa + 8).done_at, u + kUtlb);
  EXPECT_EQ(rig.gpu->access_hit(0, 0, kVa + 8, Access::Read, u), u + kUtlb)
      << "unlocked: the shortcut is back";
  rig.disable(0);
  ASSERT_TRUE(rig.wait_ready(0));
  EXPECT_EQ(rig.gpu->access_hit(0, 0, kVa + 8, Access::Read, rig.q.now()), Gpu::kNotAHit)
      << "an UNMAPPED address space fails its accesses in access()";
}

TEST_F(GpuTiming, L2HitFromAnotherCoreCostsUtlbPlusL2Latency) {
  rig.access(0, 0, kVa);
  rig.q.run_until_idle();
  const Cycle t = rig.q.now();
  const AccessResult r = rig.access(3, 0, kVa + 0x30);
  ASSERT_EQ(r.status, AccessStatus::Done);
  EXPECT_EQ(r.done_at, t + kUtlb + kL2);
  EXPECT_EQ(rig.gpu->counters().l2_hits, 1U);
  // The L2 hit filled core 3's uTLB.
  EXPECT_EQ(rig.access(3, 0, kVa).done_at, t + kUtlb);
}

TEST_F(GpuTiming, WalkCacheHitStartsTheWalkAtLevelThree) {
  rig.access(0, 0, kVa);
  rig.q.run_until_idle();
  const Cycle t = rig.q.now();
  ASSERT_EQ(rig.access(0, 0, kVa + kPageSize).status, AccessStatus::Pending);
  expect_done_exactly_at(kVa + kPageSize, t + kUtlb + kL2 + kPwc + 1 * kMem);
  EXPECT_EQ(rig.gpu->counters().walk_cache_hits[2], 1U);
  EXPECT_EQ(rig.gpu->counters().walk_reads, 4U + 1U);
}

TEST_F(GpuTiming, WalkQueuesBehindBusyWalkers) {
  rig.access(0, 0, kVa);
  rig.q.run_until_idle();
  const Cycle t = rig.q.now();
  // Two walkers: pages 1 and 2 walk at once, page 3 waits for the first walker to free.
  for (int i = 1; i <= 3; ++i) rig.access(static_cast<unsigned>(i), 0, kVa + i * kPageSize);
  const Cycle one_walk = kPwc + kMem;
  expect_done_exactly_at(kVa + 1 * kPageSize, t + kUtlb + kL2 + one_walk);
  EXPECT_NE(rig.completion(kVa + 2 * kPageSize), nullptr);
  expect_done_exactly_at(kVa + 3 * kPageSize, t + kUtlb + kL2 + 2 * one_walk);
  EXPECT_EQ(rig.gpu->counters().walks_queued, 1U);
  EXPECT_EQ(rig.gpu->counters().walk_queue_cycles, one_walk);
}

TEST_F(GpuTiming, MissesToTheSamePageShareOneWalk) {
  const Cycle t = rig.q.now();
  rig.access(0, 0, kVa + 0x100);
  rig.access(1, 0, kVa + 0x200);
  rig.q.run_until_idle();
  EXPECT_EQ(rig.gpu->counters().walks, 1U);
  EXPECT_EQ(rig.gpu->counters().walks_merged, 1U);
  EXPECT_EQ(rig.completion(kVa + 0x200)->done_at, t + kUtlb + kL2 + kFullWalk);
  EXPECT_EQ(rig.completion(kVa + 0x200)->pa, 0x20'0200U);
}

// The merged access fills its core's uTLB from the shared walk: a later hit on that core must
// translate with the page's base, not the first walker's offset.
TEST_F(GpuTiming, AnEntryFilledForAMergedAccessTranslatesTheWholePage) {
  rig.access(0, 0, kVa + 0x100);
  rig.access(1, 0, kVa + 0x200);
  rig.q.run_until_idle();
  ASSERT_EQ(rig.gpu->counters().walks_merged, 1U);
  const AccessResult hit = rig.access(1, 0, kVa + 0x340);
  ASSERT_EQ(hit.status, AccessStatus::Done) << "a uTLB hit on core 1";
  EXPECT_EQ(hit.pa, 0x20'0340U);
  EXPECT_EQ(rig.access(0, 0, kVa + 0x10).pa, 0x20'0010U);
}

TEST_F(GpuTiming, CommandsKeepActiveForTheirModelledDuration) {
  const Cycle t = rig.q.now();
  rig.gpu->write32(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::Lock));
  rig.q.run_until(t + rig.spec.cmd_lock - 1);
  EXPECT_TRUE(rig.active(0));
  rig.q.run_until(t + rig.spec.cmd_lock);
  EXPECT_FALSE(rig.active(0));
  rig.gpu->write32(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::FlushPt));
  rig.q.run_until(t + rig.spec.cmd_lock + rig.spec.cmd_flush_pt - 1);
  EXPECT_TRUE(rig.active(0));
  rig.q.run_until(t + rig.spec.cmd_lock + rig.spec.cmd_flush_pt);
  EXPECT_FALSE(rig.active(0));
  EXPECT_EQ(rig.gpu->counters().command_busy_cycles[static_cast<unsigned>(AsCommand::FlushPt)],
            rig.spec.cmd_flush_pt);
}

TEST_F(GpuTiming, FlushCostGrowsWithTheEntriesItInvalidates) {
  GpuSpec s = rig_spec();
  s.cmd_per_invalidation = 7;
  Rig r2(s);
  ASSERT_TRUE(r2.pt[0]->map(kVa, 0x20'0000, kPageSize, kRwNx));
  r2.enable_and_settle(0, *r2.pt[0]);
  r2.access(0, 0, kVa);
  r2.q.run_until_idle();
  // uTLB + L2 entry for the page, plus walk-cache entries for levels 0-2 that cover it.
  const unsigned cached = r2.gpu->utlb(0).valid_entries() + r2.gpu->l2_tlb().valid_entries() +
                          r2.gpu->walk_cache().valid_entries();
  ASSERT_EQ(cached, 5U);
  r2.lock_region(0, kVa, kPageSize);
  ASSERT_TRUE(r2.wait_ready(0));
  const Cycle t = r2.q.now();
  r2.gpu->write32(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::FlushPt));
  r2.q.run_until(t + s.cmd_flush_pt + 5 * 7 - 1);
  EXPECT_TRUE(r2.active(0));
  r2.q.run_until(t + s.cmd_flush_pt + 5 * 7);
  EXPECT_FALSE(r2.active(0));
}

TEST_F(GpuTiming, FlushMemWaitsForTheAddressSpacesAccessesInFlight) {
  rig.lock_region(0, 0x4000'0000, kPageSize);  // a region the walk does not touch
  ASSERT_TRUE(rig.wait_ready(0));
  const Cycle t = rig.q.now();
  rig.access(0, 0, kVa);  // a full walk, done at t + 11 + 104
  rig.gpu->write32(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::FlushMem));
  // Drains the walk, then lets TLB hits issued up to then finish (uTLB + L2 latency), then flushes.
  const Cycle flush_done = t + kUtlb + kL2 + kFullWalk + kUtlb + kL2 + rig.spec.cmd_flush_mem;
  rig.q.run_until(flush_done - 1);
  EXPECT_TRUE(rig.active(0));
  rig.q.run_until(flush_done);
  EXPECT_FALSE(rig.active(0));
}

}  // namespace
}  // namespace mali_sim::testing
