// Every MMU counter against a scenario whose counts are worked out by hand, plus the identities
// that hold between counters (each event is counted in exactly one place).
#include "protocol/rig.hpp"

namespace mali_sim::testing {
namespace {

constexpr GpuVa kVa = 0x0100'0000;

TEST(GpuCounters, ScenarioCountsMatchWhatHappened) {
  Rig rig;
  ASSERT_TRUE(rig.pt[0]->map(kVa, 0x20'0000, 4 * kPageSize, kRwNx));
  rig.enable_and_settle(0, *rig.pt[0]);  // LOCK, FLUSH_MEM, UPDATE
  rig.gpu->write32(regs::kMmuIntMask, ~0U);
  rig.on_irq = [&] { rig.gpu->write32(regs::kMmuIntMask, 0); };  // hard half: mask

  // 1. cold access: uTLB miss, L2 miss, full walk (4 reads, walk cache empty).
  rig.access(0, 0, kVa);
  rig.q.run_until_idle(100);
  // 2. same page, same core: uTLB hit.
  rig.access(0, 0, kVa + 8);
  // 3. same page, core 1: uTLB miss, L2 hit.
  rig.access(1, 0, kVa + 16);
  // 4. next page, core 0: uTLB miss, L2 miss, walk from level 3 (walk-cache hit at level 2).
  rig.access(0, 0, kVa + kPageSize);
  // 5. and 6. two cores, same new page at once: one walk, one merged (both walk-cache hits).
  rig.access(2, 0, kVa + 2 * kPageSize);
  rig.access(3, 0, kVa + 2 * kPageSize + 4);
  rig.q.run_until_idle(100);
  // 7. a hole in the same L3 table: walk (1 read), TRANSLATION_FAULT_3, recorded, IRQ.
  rig.access(0, 0, kVa + 8 * kPageSize, Access::Write);
  rig.q.run_until(rig.q.now() + 5000);
  // The handler masked; the driver maps, clears, flushes; the flush dropped the walk-cache entries
  // covering the region, so the retry walks all 4 levels, and completes.
  ASSERT_TRUE(rig.pt[0]->map(kVa + 8 * kPageSize, 0x30'0000, kPageSize, kRwNx));
  rig.gpu->write32(regs::kMmuIntClear, 1);
  rig.flush_range(0, kVa + 8 * kPageSize, kPageSize);  // LOCK, FLUSH_PT
  rig.q.run_until_idle(100);

  const MmuCounters& c = rig.gpu->counters();
  EXPECT_EQ(c.accesses, 7U);
  EXPECT_EQ(c.accesses_done, 7U);
  EXPECT_EQ(c.accesses_failed, 0U);
  EXPECT_EQ(c.utlb_hits, 1U);
  EXPECT_EQ(c.utlb_misses, 7U) << "six first lookups that missed, plus the retry";
  EXPECT_EQ(c.l2_hits, 1U);
  EXPECT_EQ(c.l2_misses, 6U);
  EXPECT_EQ(c.walks, 5U) << "cold, next page, shared page, hole, retry";
  EXPECT_EQ(c.walks_merged, 1U);
  EXPECT_EQ(c.walk_reads, 4U + 1U + 1U + 1U + 4U);
  EXPECT_EQ(c.walk_cache_misses, 2U);
  EXPECT_EQ(c.walk_cache_hits[2], 3U);
  EXPECT_EQ(c.faults_recorded, 1U);
  EXPECT_EQ(c.faults[0xC3], 1U);
  EXPECT_EQ(c.fault_stalls, 1U);
  EXPECT_EQ(c.retries, 1U);
  EXPECT_GT(c.stall_cycles, 5000U);
  EXPECT_EQ(c.irqs_raised, 1U);
  EXPECT_EQ(c.irqs_delivered, 1U);
  EXPECT_EQ(c.commands[static_cast<unsigned>(AsCommand::Lock)], 2U);
  EXPECT_EQ(c.commands[static_cast<unsigned>(AsCommand::FlushMem)], 1U);
  EXPECT_EQ(c.commands[static_cast<unsigned>(AsCommand::Update)], 1U);
  EXPECT_EQ(c.commands[static_cast<unsigned>(AsCommand::FlushPt)], 1U);
  EXPECT_EQ(c.command_busy_cycles[static_cast<unsigned>(AsCommand::Lock)], 2 * rig.spec.cmd_lock);
  EXPECT_EQ(c.command_busy_cycles[static_cast<unsigned>(AsCommand::Update)], rig.spec.cmd_update);
  EXPECT_EQ(c.command_busy_cycles[static_cast<unsigned>(AsCommand::FlushPt)], rig.spec.cmd_flush_pt);

  // Identities.
  EXPECT_EQ(c.utlb_misses, c.l2_hits + c.l2_misses);
  EXPECT_EQ(c.l2_misses, c.walks + c.walks_merged);
  EXPECT_EQ(c.walks,
            c.walk_cache_misses + c.walk_cache_hits[0] + c.walk_cache_hits[1] + c.walk_cache_hits[2]);
}

TEST(GpuCounters, FailedAccessesAreCountedOnceAndNotAsDone) {
  Rig rig;
  rig.access(0, 0, kVa);   // AS0 still UNMAPPED after reset
  rig.access(0, 9, kVa);   // AS9 not present
  rig.access(99, 0, kVa);  // no such core
  const MmuCounters& c = rig.gpu->counters();
  EXPECT_EQ(c.accesses_failed, 3U);
  EXPECT_EQ(c.accesses_done, 0U);
  EXPECT_EQ(c.accesses, 1U) << "only the well-formed request on a present AS is accepted";
  EXPECT_EQ(c.utlb_hits + c.utlb_misses, 0U);
}

}  // namespace
}  // namespace mali_sim::testing
