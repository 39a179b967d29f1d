// Faults, the MMU interrupt and the AS commands as a driver sees them through registers.
#include "protocol/rig.hpp"

namespace mali_sim::testing {
namespace {

constexpr GpuVa kMapped = 0x0100'0000;
constexpr GpuVa kHole = 0x4000'0000;  // level-1 entry absent: TRANSLATION_FAULT_1

class GpuFault : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(rig.pt[0]->map(kMapped, 0x20'0000, kPageSize, kRwNx));
    rig.enable_and_settle(0, *rig.pt[0]);
    rig.gpu->write32(regs::kMmuIntMask, ~0U);  // panfrost_mmu_reset()
  }
  std::uint32_t rawstat() { return rig.gpu->read32(regs::kMmuIntRawstat); }
  Rig rig;
};

TEST_F(GpuFault, TranslationFaultIsRecordedAndRaisesThePageFaultBit) {
  rig.access(2, 0, kHole + 0x44, Access::Write);
  rig.q.run_until_idle(50);
  EXPECT_EQ(rawstat(), regs::mmu_page_fault_bit(0));
  const FaultStatus fs = FaultStatus::decode(rig.gpu->read32(regs::as_reg(0, regs::kAsFaultstatus)));
  EXPECT_EQ(fs.exception_type, 0xC1);
  EXPECT_EQ(exception_name(fs.exception_type), "TRANSLATION_FAULT_1");
  EXPECT_EQ(fs.access_type, Access::Write);
  EXPECT_EQ(fs.source_id, 2);
  EXPECT_EQ(rig.read64(regs::as_reg(0, regs::kAsFaultaddressLo)), kHole + 0x44);
  EXPECT_EQ(rig.gpu->stalled_accesses(0), 1U);
  EXPECT_EQ(rig.gpu->counters().faults[0xC1], 1U);
}

TEST_F(GpuFault, InterruptIsDeliveredAfterTheModelledLatencyAndNotBefore) {
  const Cycle t = rig.q.now();
  rig.access(0, 0, kHole);
  // Walk (caches empty after UPDATE): uTLB + L2 miss, read level 0, read level 1: invalid.
  const Cycle fault_at = t + kUtlb + kL2 + kPwc + 2 * kMem;
  rig.q.run_until(fault_at - 1);
  EXPECT_EQ(rawstat(), 0U);
  rig.q.run_until(fault_at);
  EXPECT_EQ(rawstat(), 1U);
  rig.q.run_until(fault_at + rig.spec.irq_latency - 1);
  EXPECT_EQ(rig.irqs, 0);
  rig.q.run_until(fault_at + rig.spec.irq_latency);
  EXPECT_EQ(rig.irqs, 1);
}

TEST_F(GpuFault, LaterFaultsWaitWithoutOverwritingTheRecord) {
  rig.access(0, 0, kHole);
  rig.q.run_until(rig.q.now() + 500);
  rig.access(1, 0, kHole + 0x10'0000, Access::Write);
  rig.q.run_until(rig.q.now() + 500);
  EXPECT_EQ(rig.read64(regs::as_reg(0, regs::kAsFaultaddressLo)), kHole);
  EXPECT_EQ(FaultStatus::decode(rig.gpu->read32(regs::as_reg(0, regs::kAsFaultstatus))).source_id, 0);
  EXPECT_EQ(rig.gpu->stalled_accesses(0), 2U);
  EXPECT_EQ(rig.gpu->counters().faults_recorded, 1U);
  EXPECT_EQ(rig.gpu->counters().fault_stalls, 2U);
}

TEST_F(GpuFault, MapClearAndFlushRetriesTheStalledAccessesWhichThenComplete) {
  rig.access(0, 0, kHole + 0x8);
  rig.access(1, 0, kHole + kPageSize);
  rig.q.run_until(rig.q.now() + 2000);
  ASSERT_EQ(rig.gpu->stalled_accesses(0), 2U);
  // The heap-growth sequence: map the pages, clear the interrupt, LOCK + FLUSH_PT.
  ASSERT_TRUE(rig.pt[0]->map(kHole, 0x80'0000, 2 * kPageSize, kRwNx));
  rig.gpu->write32(regs::kMmuIntClear, regs::mmu_page_fault_bit(0));
  rig.flush_range(0, kHole, 2 * kPageSize);
  rig.q.run_until_idle(1000);
  ASSERT_NE(rig.completion(kHole + 0x8), nullptr);
  EXPECT_EQ(rig.completion(kHole + 0x8)->status, AccessStatus::Done);
  EXPECT_EQ(rig.completion(kHole + 0x8)->pa, 0x80'0008U);
  EXPECT_EQ(rig.completion(kHole + kPageSize)->pa, 0x80'1000U);
  EXPECT_EQ(rawstat(), 0U);
  EXPECT_EQ(rig.gpu->counters().retries, 2U);
  EXPECT_GT(rig.gpu->counters().stall_cycles, 2 * 2000U - 200);
}

TEST_F(GpuFault, RetriedAccessToAnAddressStillUnmappedFaultsAgain) {
  rig.access(0, 0, kHole);
  rig.q.run_until(rig.q.now() + 2000);
  rig.gpu->write32(regs::kMmuIntClear, 1);
  EXPECT_EQ(rawstat(), 0U);
  rig.flush_range(0, kHole, kPageSize);  // nothing mapped
  rig.q.run_until(rig.q.now() + 2000);
  EXPECT_EQ(rawstat(), 1U) << "the retry faulted and raised the bit again";
  EXPECT_EQ(rig.gpu->counters().faults_recorded, 2U);
  EXPECT_EQ(rig.gpu->stalled_accesses(0), 1U);
}

TEST_F(GpuFault, FlushBeforeClearingLosesTheRetriedFault) {
  // kbase's ordering rule: clear after updating the tables but before the flush, otherwise the
  // retried access re-faults while the bit is still set and raises no new interrupt.
  rig.access(0, 0, kHole);
  rig.q.run_until(rig.q.now() + 2000);
  rig.flush_range(0, kHole, kPageSize);
  rig.q.run_until(rig.q.now() + 2000);
  EXPECT_EQ(rig.gpu->counters().faults_recorded, 1U);
  rig.gpu->write32(regs::kMmuIntClear, 1);
  rig.q.run_until(rig.q.now() + 5000);
  EXPECT_EQ(rawstat(), 0U) << "nothing re-raises it: the access waits until the next flush";
  EXPECT_EQ(rig.gpu->stalled_accesses(0), 1U);
}

TEST_F(GpuFault, TranstabBusFaultRaisesTheBusErrorBit) {
  // Point a level-0 entry outside the 256 MiB of memory.
  const PhysAddr root = rig.pt[0]->pgd();
  const GpuVa va = 1ULL << 39;  // level-0 index 1
  ASSERT_TRUE(rig.mem.write64(root + 8, pte_format(PtFormat::MaliLpae).make_table(1ULL << 36)));
  rig.access(0, 0, va);
  rig.q.run_until_idle(50);
  EXPECT_EQ(rawstat(), regs::mmu_bus_error_bit(0));
  const FaultStatus fs = FaultStatus::decode(rig.gpu->read32(regs::as_reg(0, regs::kAsFaultstatus)));
  EXPECT_EQ(exception_name(fs.exception_type), "TRANSTAB_BUS_FAULT_1");
  EXPECT_TRUE(fs.decoder_fault);
}

TEST_F(GpuFault, PermissionFaultFromATlbHit) {
  ASSERT_TRUE(rig.pt[0]->map(0x0200'0000, 0x30'0000, kPageSize, prot::kRead));
  rig.access(0, 0, 0x0200'0000);
  rig.q.run_until_idle(50);
  const AccessResult hit = rig.access(0, 0, 0x0200'0000);
  ASSERT_EQ(hit.status, AccessStatus::Done);
  EXPECT_EQ(rig.access(0, 0, 0x0200'0000, Access::Write).status, AccessStatus::Pending);
  rig.q.run_until_idle(50);
  EXPECT_EQ(exception_name(
                FaultStatus::decode(rig.gpu->read32(regs::as_reg(0, regs::kAsFaultstatus))).exception_type),
            "PERM_FAULT_3");
}

TEST_F(GpuFault, StatIsRawstatAndMaskAndClearIsWriteOneToClear) {
  rig.gpu->write32(regs::kMmuIntRawstat, 0x0003'0005);  // software-raised bits
  rig.gpu->write32(regs::kMmuIntMask, 0x0001'0001);
  EXPECT_EQ(rig.gpu->read32(regs::kMmuIntStat), 0x0001'0001U);
  EXPECT_EQ(rig.gpu->read32(regs::kMmuIntClear), 0U) << "CLEAR reads as 0";
  rig.gpu->write32(regs::kMmuIntClear, 0x0001'0004);
  EXPECT_EQ(rawstat(), 0x0002'0001U);
  rig.gpu->write32(regs::kMmuIntStat, 0xFFFF'FFFF);  // read-only
  EXPECT_EQ(rig.gpu->read32(regs::kMmuIntStat), 0x0000'0001U);
  EXPECT_EQ(rig.gpu->misuse().count(MisuseKind::WriteToReadOnly), 1U);
}

TEST_F(GpuFault, MaskingStopsDeliveryAndClearingDropsTheLine) {
  rig.gpu->write32(regs::kMmuIntMask, 0);
  rig.access(0, 0, kHole);
  rig.q.run_until(rig.q.now() + 10'000);
  EXPECT_EQ(rawstat(), 1U);
  EXPECT_FALSE(rig.gpu->irq_line(IrqLine::kMmu));
  EXPECT_EQ(rig.irqs, 0);
  rig.gpu->write32(regs::kMmuIntMask, ~0U);
  EXPECT_TRUE(rig.gpu->irq_line(IrqLine::kMmu));
  rig.gpu->write32(regs::kMmuIntClear, 1);
  EXPECT_FALSE(rig.gpu->irq_line(IrqLine::kMmu));
  rig.q.run_until(rig.q.now() + 10'000);
  EXPECT_EQ(rig.irqs, 0) << "cleared before the delivery latency elapsed: nothing delivered";
}

TEST_F(GpuFault, LevelTriggeredLineFiresAgainWhileTheHandlerLeavesItHigh) {
  rig.access(0, 0, kHole);
  rig.q.run_until(rig.q.now() + 200 + 3 * rig.spec.irq_latency);
  EXPECT_EQ(rig.irqs, 3) << "a handler that does nothing sees the interrupt again and again";
  EXPECT_EQ(rig.gpu->counters().irqs_raised, 1U);
  EXPECT_EQ(rig.gpu->counters().irqs_delivered, 3U);
  // A handler that masks (panfrost's hard half) stops the storm.
  rig.on_irq = [&] { rig.gpu->write32(regs::kMmuIntMask, 0); };
  rig.q.run_until(rig.q.now() + 5 * rig.spec.irq_latency);
  EXPECT_EQ(rig.irqs, 4);
}

TEST_F(GpuFault, LockHoldsTheRegionUntilTheFlushReleasesIt) {
  ASSERT_TRUE(rig.pt[0]->map(0x0300'0000, 0x40'0000, kPageSize, kRwNx));
  rig.lock_region(0, kMapped, kPageSize);
  ASSERT_TRUE(rig.wait_ready(0));
  EXPECT_EQ(rig.access(0, 0, kMapped).status, AccessStatus::Pending);
  EXPECT_EQ(rig.access(1, 0, 0x0300'0000).status, AccessStatus::Pending);  // outside: walks
  rig.q.run_until(rig.q.now() + 1000);
  EXPECT_EQ(rig.completion(kMapped), nullptr) << "inside the locked region: waits";
  EXPECT_NE(rig.completion(0x0300'0000), nullptr) << "outside the region: runs";
  rig.write_cmd(0, AsCommand::FlushPt);
  rig.q.run_until_idle(1000);
  ASSERT_NE(rig.completion(kMapped), nullptr);
  EXPECT_EQ(rig.completion(kMapped)->pa, 0x20'0000U);
  EXPECT_EQ(rig.gpu->counters().lock_stalls, 1U);
}

}  // namespace
}  // namespace mali_sim::testing
