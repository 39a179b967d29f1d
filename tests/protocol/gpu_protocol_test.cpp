// Register-level protocol: identity registers, misuse handling, stale TLB entries and flushes,
// isolation between address spaces and the UNMAPPED kill.
#include "protocol/rig.hpp"

namespace mali_sim::testing {
namespace {

constexpr GpuVa kVa = 0x0100'0000;

TEST(GpuMmio, IdentityRegistersReadTheSpecAndIgnoreWrites) {
  Rig rig;
  EXPECT_EQ(rig.gpu->read32(regs::kGpuId), rig.spec.gpu_id);
  EXPECT_EQ(rig.gpu->read32(regs::kGpuMmuFeatures), 0x2830U);
  EXPECT_EQ(rig.gpu->read32(regs::kGpuAsPresent), 0x0FU);
  rig.gpu->write32(regs::kGpuAsPresent, 0xFF);
  EXPECT_EQ(rig.gpu->read32(regs::kGpuAsPresent), 0x0FU);
  EXPECT_EQ(rig.gpu->misuse().count(MisuseKind::WriteToReadOnly), 1U);
}

TEST(GpuMmio, AddressSpaceNotPresentReadsZeroAndIgnoresWrites) {
  Rig rig;  // AS_PRESENT 0x0F
  rig.gpu->write32(regs::as_reg(5, regs::kAsTranstabLo), 0x1007);
  EXPECT_EQ(rig.gpu->read32(regs::as_reg(5, regs::kAsTranstabLo)), 0U);
  rig.gpu->write32(regs::as_reg(5, regs::kAsCommand), 1);
  EXPECT_EQ(rig.gpu->counters().commands[1], 0U);
  EXPECT_EQ(rig.gpu->misuse().count(MisuseKind::AsNotPresent), 3U);
  EXPECT_EQ(rig.access(0, 5, kVa).fail, FailReason::AsNotPresent);
}

TEST(GpuMmio, AsRegistersReadBackAsWrittenAndReadOnlyOnesIgnoreWrites) {
  Rig rig;
  rig.write64(regs::as_reg(1, regs::kAsMemattrLo), 0x0011'2233'4455'6677ULL);
  EXPECT_EQ(rig.read64(regs::as_reg(1, regs::kAsMemattrLo)), 0x0011'2233'4455'6677ULL);
  rig.gpu->write32(regs::as_reg(1, regs::kAsFaultstatus), 0xC1);
  EXPECT_EQ(rig.gpu->read32(regs::as_reg(1, regs::kAsFaultstatus)), 0U);
  EXPECT_EQ(rig.gpu->read32(regs::as_reg(1, regs::kAsCommand)), 0U) << "COMMAND is write-only";
  // poke stores even read-only registers, without side effects.
  EXPECT_TRUE(rig.gpu->poke(regs::as_reg(1, regs::kAsFaultstatus), 0x2C3));
  EXPECT_EQ(rig.gpu->peek(regs::as_reg(1, regs::kAsFaultstatus)), 0x2C3U);
  EXPECT_FALSE(rig.gpu->poke(regs::as_reg(1, regs::kAsCommand), 1));
  EXPECT_EQ(rig.gpu->counters().commands[1], 0U);
}

TEST(GpuMmio, UnknownRegistersAndCommandsAreIgnoredAndReported) {
  Rig rig;
  EXPECT_EQ(rig.gpu->read32(0x3000), 0U);
  rig.gpu->write32(0x3000, 1);
  rig.gpu->write32(regs::as_reg(0, regs::kAsCommand), 0x9);
  EXPECT_FALSE(rig.active(0));
  EXPECT_EQ(rig.gpu->misuse().count(MisuseKind::UnmodelledRegister), 2U);
  EXPECT_EQ(rig.gpu->misuse().count(MisuseKind::UnknownCommand), 1U);
}

TEST(GpuMmio, MisuseAllOverTheRegisterSpaceKeepsItsLogAndMemoryBounded) {
  // A hostile register program: 20 000 distinct unmodelled offsets, read and written.
  Rig rig;
  for (std::uint32_t i = 0; i < 10'000; ++i) {
    const std::uint32_t offset = 0x3000 + 4 * i;
    (void)rig.gpu->read32(offset);
    rig.gpu->write32(offset, i);
  }
  const MisuseLog& m = rig.gpu->misuse();
  EXPECT_EQ(m.logged_kinds(), MisuseLog::kMaxLogged) << "one log line per kind and register, up to the cap";
  EXPECT_EQ(m.reports().size(), MisuseLog::kMaxKept);
  EXPECT_EQ(m.dropped(), 20'000U - MisuseLog::kMaxKept);
}

TEST(GpuMmio, CommandWrittenWhileActiveRunsAfterTheCurrentOneAndIsReported) {
  Rig rig;
  const Cycle t = rig.q.now();
  rig.gpu->write32(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::Lock));
  rig.gpu->write32(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::Unlock));
  EXPECT_EQ(rig.gpu->misuse().count(MisuseKind::CommandWhileActive), 1U);
  rig.q.run_until(t + rig.spec.cmd_lock + rig.spec.cmd_unlock - 1);
  EXPECT_TRUE(rig.active(0));
  rig.q.run_until(t + rig.spec.cmd_lock + rig.spec.cmd_unlock);
  EXPECT_FALSE(rig.active(0));
  EXPECT_EQ(rig.gpu->counters().commands_while_active, 1U);
}

TEST(GpuMmio, FlushWithoutLockIsReportedAndFlushesTheLockaddrRegion) {
  Rig rig;
  rig.write_cmd(0, AsCommand::FlushPt);
  EXPECT_EQ(rig.gpu->misuse().count(MisuseKind::FlushWithoutLock), 1U);
  rig.lock_region(0, kVa, kPageSize);
  rig.write_cmd(0, AsCommand::FlushPt);
  EXPECT_EQ(rig.gpu->misuse().count(MisuseKind::FlushWithoutLock), 1U) << "LOCK first: no report";
}

TEST(GpuMmio, AddressSpaceIsUnmappedAfterReset) {
  Rig rig;
  const AccessResult r = rig.access(0, 0, kVa);
  EXPECT_EQ(r.status, AccessStatus::Failed);
  EXPECT_EQ(r.fail, FailReason::Unmapped);
}

TEST(GpuMmio, TranscfgDoesNotExistWithoutTheAarch64Mmu) {
  GpuSpec s = rig_spec();
  s.aarch64_mmu = false;
  Rig rig(s);
  ASSERT_TRUE(rig.pt[0]->map(kVa, 0x20'0000, kPageSize, kRwNx));
  rig.write64(regs::as_reg(0, regs::kAsTranscfgLo), 6);  // AARCH64_4K: no such register here
  EXPECT_EQ(rig.read64(regs::as_reg(0, regs::kAsTranscfgLo)), 0U);
  EXPECT_EQ(rig.gpu->misuse().reports().size(), 0U) << "panfrost writes TRANSCFG on every GPU: not misuse";
  rig.enable_and_settle(0, *rig.pt[0]);  // legacy TRANSTAB still works
  rig.access(0, 0, kVa);
  rig.q.run_until_idle(100);
  ASSERT_NE(rig.completion(kVa), nullptr);
  EXPECT_EQ(rig.completion(kVa)->status, AccessStatus::Done);
}

TEST(GpuMmio, Aarch64PageTablesTranslateOnAGpuWithTheAarch64Mmu) {
  Rig rig(rig_spec(), PtFormat::Aarch64_4K);
  ASSERT_TRUE(rig.pt[0]->map(kVa, 0x20'0000, kPageSize, kRwNx));
  rig.enable_and_settle(0, *rig.pt[0]);
  EXPECT_EQ(rig.read64(regs::as_reg(0, regs::kAsTranscfgLo)), 0x420001C6U);
  rig.access(0, 0, kVa + 8);
  rig.q.run_until_idle(100);
  ASSERT_NE(rig.completion(kVa + 8), nullptr);
  EXPECT_EQ(rig.completion(kVa + 8)->pa, 0x20'0008U);
}

TEST(GpuMmio, UnsupportedTranslationModeBehavesAsUnmappedAndIsReported) {
  Rig rig;
  rig.write64(regs::as_reg(0, regs::kAsTranscfgLo), 8);  // AARCH64_64K
  rig.write_cmd(0, AsCommand::Update);
  ASSERT_TRUE(rig.wait_ready(0));
  EXPECT_EQ(rig.gpu->misuse().count(MisuseKind::UnsupportedMode), 1U);
  EXPECT_EQ(rig.access(0, 0, kVa).fail, FailReason::Unmapped);
}

// ---- TLB coherence: entries survive page-table edits until a covering flush ----------------

class GpuStaleTlb : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(rig.pt[0]->map(kVa, 0x20'0000, kPageSize, kRwNx));
    rig.enable_and_settle(0, *rig.pt[0]);
    rig.access(0, 0, kVa);
    rig.q.run_until_idle(100);
    // The driver remaps the page to another frame.
    ASSERT_TRUE(rig.pt[0]->unmap(kVa, kPageSize));
    ASSERT_TRUE(rig.pt[0]->map(kVa, 0x90'0000, kPageSize, kRwNx));
  }
  PhysAddr pa_now(unsigned core) {
    const AccessResult r = rig.access(core, 0, kVa);
    if (r.status == AccessStatus::Done) return r.pa;
    rig.completed.clear();
    rig.q.run_until_idle(100);
    return rig.completion(kVa) ? rig.completion(kVa)->pa : 0;
  }
  Rig rig;
};

TEST_F(GpuStaleTlb, WithoutAFlushTheGpuKeepsUsingTheOldTranslation) {
  EXPECT_EQ(pa_now(0), 0x20'0000U) << "uTLB still holds the old page";
  EXPECT_EQ(pa_now(1), 0x20'0000U) << "so does the shared L2 TLB";
}

TEST_F(GpuStaleTlb, FlushOfARegionThatDoesNotCoverThePageLeavesItStale) {
  rig.flush_range(0, kVa + 0x10'0000, kPageSize);  // 32 KiB region 1 MiB away
  EXPECT_EQ(pa_now(0), 0x20'0000U);
}

TEST_F(GpuStaleTlb, LockAndFlushPtOverACoveringRegionGivesTheNewTranslation) {
  rig.flush_range(0, kVa, kPageSize);
  EXPECT_EQ(pa_now(0), 0x90'0000U);
  EXPECT_EQ(pa_now(2), 0x90'0000U);
}

TEST_F(GpuStaleTlb, UpdateInvalidatesEverythingOfTheAddressSpace) {
  rig.enable_and_settle(0, *rig.pt[0]);
  EXPECT_EQ(pa_now(0), 0x90'0000U);
}

// ---- Isolation and the UNMAPPED kill ---------------------------------------------------------

TEST(GpuIsolation, AFaultingAddressSpaceDoesNotStallAnother) {
  Rig rig;
  ASSERT_TRUE(rig.pt[1]->map(kVa, 0x50'0000, kPageSize, kRwNx));
  rig.enable_and_settle(0, *rig.pt[0]);  // nothing mapped: every access faults
  rig.enable_and_settle(1, *rig.pt[1]);
  rig.gpu->write32(regs::kMmuIntMask, ~0U);
  rig.access(0, 0, kVa);
  rig.q.run_until(rig.q.now() + 500);
  ASSERT_EQ(rig.gpu->stalled_accesses(0), 1U);
  rig.access(1, 1, kVa);
  rig.q.run_until(rig.q.now() + 500);
  ASSERT_NE(rig.completion(kVa), nullptr);
  EXPECT_EQ(rig.completion(kVa)->request.as, 1);
  EXPECT_EQ(rig.completion(kVa)->status, AccessStatus::Done);
}

TEST(GpuIsolation, SwitchingToUnmappedFailsTheStalledAccessesOfThatAddressSpaceOnly) {
  Rig rig;
  ASSERT_TRUE(rig.pt[1]->map(kVa, 0x50'0000, 16 * kPageSize, kRwNx));
  rig.enable_and_settle(0, *rig.pt[0]);
  rig.enable_and_settle(1, *rig.pt[1]);
  rig.gpu->write32(regs::kMmuIntMask, ~0U);
  rig.access(0, 0, kVa);
  rig.access(1, 0, kVa + kPageSize);
  rig.q.run_until(rig.q.now() + 500);
  ASSERT_EQ(rig.gpu->stalled_accesses(0), 2U);
  // The terminal-fault path: clear, then disable the AS (LOCK + FLUSH_MEM, UNMAPPED, UPDATE).
  rig.gpu->write32(regs::kMmuIntClear, regs::mmu_as_irq_bits(0));
  rig.disable(0);
  for (int i = 0; i < 8; ++i) rig.access(2, 1, kVa + i * kPageSize);  // AS1 keeps working
  ASSERT_TRUE(rig.wait_ready(0));
  rig.q.run_until_idle(1000);
  int failed = 0, done = 0;
  for (const auto& r : rig.completed) {
    if (r.request.as == 0) {
      EXPECT_EQ(r.status, AccessStatus::Failed);
      EXPECT_EQ(r.fail, FailReason::Unmapped);
      ++failed;
    } else {
      EXPECT_EQ(r.status, AccessStatus::Done);
      ++done;
    }
  }
  EXPECT_EQ(failed, 2);
  EXPECT_EQ(done, 8);
  EXPECT_EQ(rig.gpu->stalled_accesses(0), 0U);
  EXPECT_EQ(rig.access(0, 0, kVa).fail, FailReason::Unmapped) << "new accesses of the AS fail at once";
  EXPECT_EQ(rig.gpu->misuse().count(MisuseKind::UpdateWhileFaulted), 0U);
}

TEST(GpuIsolation, UpdateToAMappedModeWhileFaultedIsReported) {
  Rig rig;
  rig.enable_and_settle(0, *rig.pt[0]);
  rig.gpu->write32(regs::kMmuIntMask, ~0U);
  rig.access(0, 0, kVa);
  rig.q.run_until(rig.q.now() + 500);
  rig.enable_and_settle(0, *rig.pt[0]);  // re-enable without clearing the fault
  EXPECT_EQ(rig.gpu->misuse().count(MisuseKind::UpdateWhileFaulted), 1U);
}

}  // namespace
}  // namespace mali_sim::testing
