// The GPU control block at register level (docs/hardware-facts.md §9): identity and feature
// registers per preset, what each register does when read and written, the power domains, resets,
// cache cleans, the cycle counter and GPU faults, with their timing. Register accesses here go
// straight to the device (no bus time), so every cycle below is the device's own.
#include <gtest/gtest.h>

#include "mali_sim/gpu/gpu.hpp"
#include "protocol/rig.hpp"

namespace mali_sim {
namespace {

using testing::Rig;
using Kind = GpuControl::RegisterKind;

struct Device {
  explicit Device(const GpuSpec& s) : spec(s), gpu(spec, mem, q) {}
  GpuSpec spec;
  PhysMem mem{64ULL << 20};
  EventQueue q;
  Gpu gpu;
  std::uint32_t rd(std::uint32_t o) { return gpu.read32(o); }
  void wr(std::uint32_t o, std::uint32_t v) { gpu.write32(o, v); }
  void cmd(GpuCommand c) { wr(regs::kGpuCmd, static_cast<std::uint32_t>(c)); }
  std::size_t reports(MisuseKind k) const { return gpu.misuse().count(k); }
};

GpuSpec preset(const char* name) { return gpu_preset(name).value(); }

// A spec with round power and reset times (in ns at 1 GHz: one cycle per ns).
GpuSpec timed_spec() {
  GpuSpec s = testing::rig_spec();
  s.l2_power_ns = 200;
  s.shader_power_ns = 300;
  s.tiler_power_ns = 100;
  s.power_down_ns = 50;
  s.soft_reset_ns = 1000;
  s.hard_reset_ns = 400;
  s.cache_clean_ns = 700;
  s.timestamp_hz = 25'000'000;  // one tick every 40 cycles
  return s;
}

// ---- Identity and feature registers ------------------------------------------------------------

TEST(GpuControl, G52ReportsTheMt8186BootLogsRegistersAtTheirOffsets) {
  Device d(preset("g52"));
  EXPECT_EQ(d.rd(0x000), 0x74021000U);  // GPU_ID: 0x7402 r1p0
  EXPECT_EQ(d.rd(0x004), 0x07120206U);  // L2_FEATURES
  EXPECT_EQ(d.rd(0x008), 0x2U);         // CORE_FEATURES (arch 7.2)
  EXPECT_EQ(d.rd(0x00C), 0x209U);       // TILER_FEATURES
  EXPECT_EQ(d.rd(0x010), 0x1U);         // MEM_FEATURES
  EXPECT_EQ(d.rd(0x014), 0x2823U);      // MMU_FEATURES
  EXPECT_EQ(d.rd(0x018), 0xFFU);        // AS_PRESENT
  EXPECT_EQ(d.rd(0x01C), 0x7U);         // JS_PRESENT
  EXPECT_EQ(d.rd(0x100), 0x3U);         // SHADER_PRESENT_LO
  EXPECT_EQ(d.rd(0x104), 0x0U);         // SHADER_PRESENT_HI
  EXPECT_EQ(d.rd(0x110), 0x1U);         // TILER_PRESENT_LO
  EXPECT_EQ(d.rd(0x120), 0x1U);         // L2_PRESENT_LO
  EXPECT_EQ(d.rd(0x0C0), 0x20EU);       // JS0_FEATURES
  EXPECT_EQ(d.rd(0x0C4), 0x1FEU);       // JS1_FEATURES
  EXPECT_EQ(d.rd(0x0C8), 0x7EU);        // JS2_FEATURES
  EXPECT_EQ(d.rd(0x0CC), 0x0U);         // JS3_FEATURES: no slot 3
  EXPECT_EQ(d.rd(0x300), 0x3U);         // COHERENCY_FEATURES: ACE-Lite and ACE
  EXPECT_EQ(d.rd(0xE00), 0x3U);         // STACK_PRESENT (arch 6.2 and later)
  EXPECT_EQ(d.gpu.misuse().reports().size(), 0U);
}

TEST(GpuControl, G57ReportsItsNonContiguousCoresAndItsPropertyDump) {
  Device d(preset("g57"));
  EXPECT_EQ(d.rd(0x100), 0x10005U);  // SHADER_PRESENT: cores 0, 2 and 16
  EXPECT_EQ(d.rd(0x004), 0x08130206U);
  EXPECT_EQ(d.rd(0x0A0), 1024U);  // THREAD_MAX_THREADS
  EXPECT_EQ(d.rd(0x0A4), 512U);
  EXPECT_EQ(d.rd(0x0A8), 512U);
  EXPECT_EQ(d.rd(0x0AC), 0x48000U);
  EXPECT_EQ(d.rd(0x0C4), 0x1C9EU);
  EXPECT_EQ(d.rd(0x0BC), 0x10C6U);  // TEXTURE_FEATURES_3
}

TEST(GpuControl, RegistersAnArchitectureLacksReadZeroWithoutAReport) {
  // panfrost reads CORE_FEATURES, AFBC_FEATURES, COHERENCY_FEATURES, STACK_PRESENT and
  // THREAD_TLS_ALLOC on every GPU: reading one the part lacks is not misuse.
  Device t860(preset("t860"));
  for (std::uint32_t o : {regs::kCoreFeatures, regs::kAfbcFeatures, regs::kCoherencyFeatures,
                          regs::kStackPresentLo, regs::kThreadTlsAlloc, regs::kRevidr}) {
    EXPECT_EQ(t860.gpu.control().kind(o), Kind::kAbsent) << register_name(o);
    EXPECT_EQ(t860.rd(o), 0U) << register_name(o);
  }
  Device g72(preset("g72"));  // arch 6.2: TEXTURE_FEATURES_3 came with 7.0, CORE_FEATURES with 7.2
  EXPECT_EQ(g72.gpu.control().kind(regs::kTextureFeatures0 + 12), Kind::kAbsent);
  EXPECT_EQ(g72.gpu.control().kind(regs::kCoreFeatures), Kind::kAbsent);
  EXPECT_EQ(g72.gpu.control().kind(regs::kStackPresentLo), Kind::kReadOnly);
  Device g57(preset("g57"));  // arch 9.0 dropped CORE_FEATURES and THREAD_TLS_ALLOC again
  EXPECT_EQ(g57.gpu.control().kind(regs::kCoreFeatures), Kind::kAbsent);
  EXPECT_EQ(g57.gpu.control().kind(regs::kThreadTlsAlloc), Kind::kAbsent);
  for (Device* d : {&t860, &g72, &g57}) EXPECT_EQ(d->gpu.misuse().reports().size(), 0U);
  // An offset no architecture has is reported.
  EXPECT_EQ(g57.rd(0x048), 0U);
  EXPECT_EQ(g57.reports(MisuseKind::UnmodelledRegister), 1U);
}

TEST(GpuControl, ReadOnlyRegistersKeepTheirValueAndReportTheWrite) {
  Device d(preset("g52"));
  for (std::uint32_t o : {regs::kGpuId, regs::kL2Features, regs::kShaderPresentLo, regs::kShaderReadyLo,
                          regs::kGpuStatus, regs::kLatestFlush, regs::kCycleCountLo, regs::kGpuIntStat}) {
    const std::uint32_t before = d.rd(o);
    d.wr(o, 0xDEADBEEF);
    EXPECT_EQ(d.rd(o), before) << register_name(o);
  }
  EXPECT_EQ(d.reports(MisuseKind::WriteToReadOnly), 8U);
}

TEST(GpuControl, ReadWriteRegistersHoldWhatIsWrittenAndWriteOnlyOnesReadZero) {
  Device d(preset("g52"));
  for (std::uint32_t o : {regs::kJmConfig, regs::kShaderConfig, regs::kTilerConfig, regs::kL2MmuConfig,
                          regs::kCoherencyEnable, regs::kPrfcntConfig, regs::kPwrOverride1}) {
    EXPECT_EQ(d.rd(o), 0U) << register_name(o) << ": RW registers reset to 0";
    d.wr(o, 0x12345);
    EXPECT_EQ(d.rd(o), 0x12345U) << register_name(o);
  }
  d.wr(regs::kPwrKey, regs::kPwrKeyUnlock);
  EXPECT_EQ(d.rd(regs::kPwrKey), 0U);
  EXPECT_EQ(d.rd(regs::kGpuCmd), 0U);
  EXPECT_EQ(d.rd(regs::kGpuIntClear), 0U);
  EXPECT_EQ(d.gpu.misuse().reports().size(), 0U);
}

// ---- The three interrupt blocks ----------------------------------------------------------------

TEST(GpuControl, GpuIntRawstatWritesRaiseBitsAndStatIsRawstatAndMask) {
  Device d(preset("g52"));
  int delivered = 0;
  d.gpu.set_irq_handler(IrqLine::kGpu, [&] {
    ++delivered;
    d.wr(regs::kGpuIntClear, d.rd(regs::kGpuIntStat));
  });
  d.wr(regs::kGpuIntRawstat, regs::kGpuIrqPowerChanged);  // as kbase's interrupt test does
  EXPECT_EQ(d.rd(regs::kGpuIntRawstat), regs::kGpuIrqPowerChanged);
  EXPECT_EQ(d.rd(regs::kGpuIntStat), 0U) << "masked";
  EXPECT_FALSE(d.gpu.irq_line(IrqLine::kGpu));
  d.wr(regs::kGpuIntMask, regs::kGpuIrqPowerChanged);
  EXPECT_EQ(d.rd(regs::kGpuIntStat), regs::kGpuIrqPowerChanged);
  EXPECT_TRUE(d.gpu.irq_line(IrqLine::kGpu));
  d.q.run_until(d.spec.irq_latency - 1);
  EXPECT_EQ(delivered, 0);
  d.q.run_until(d.spec.irq_latency);
  EXPECT_EQ(delivered, 1);
  EXPECT_EQ(d.rd(regs::kGpuIntRawstat), 0U) << "GPU_INT_CLEAR is write-one-to-clear";
}

TEST(GpuControl, EachLineDeliversOnlyItsOwnBlocksInterrupts) {
  Device d(preset("g52"));
  int job = 0, mmu = 0, gpu = 0;
  d.gpu.set_irq_handler(IrqLine::kJob, [&] {
    ++job;
    d.wr(regs::kJobIntClear, ~0U);
  });
  d.gpu.set_irq_handler(IrqLine::kMmu, [&] {
    ++mmu;
    d.wr(regs::kMmuIntClear, ~0U);
  });
  d.gpu.set_irq_handler(IrqLine::kGpu, [&] {
    ++gpu;
    d.wr(regs::kGpuIntClear, ~0U);
  });
  d.wr(regs::kJobIntMask, ~0U);
  d.wr(regs::kMmuIntMask, ~0U);
  d.wr(regs::kGpuIntMask, ~0U);
  d.wr(regs::kJobIntRawstat, regs::job_done_bit(1));
  d.q.run_until_idle();
  EXPECT_EQ(job, 1);
  EXPECT_EQ(mmu + gpu, 0);
  d.wr(regs::kMmuIntRawstat, regs::mmu_page_fault_bit(3));
  d.q.run_until_idle();
  EXPECT_EQ(mmu, 1);
  EXPECT_EQ(job, 1);
  EXPECT_EQ(gpu, 0);
  const Gpu& g = d.gpu;
  EXPECT_EQ(g.irq(IrqLine::kJob).deliveries(), 1U);
  EXPECT_EQ(g.irq(IrqLine::kGpu).deliveries(), 0U);
}

// ---- Power domains --------------------------------------------------------------------------------

TEST(GpuControl, APowerDomainIsInTransitionForItsTimeThenReady) {
  Device d(timed_spec());
  d.wr(regs::kL2PwronLo, 0x1);
  EXPECT_EQ(d.rd(regs::kL2PwrtransLo), 0x1U);
  EXPECT_EQ(d.rd(regs::kL2ReadyLo), 0x0U);
  d.q.run_until(199);
  EXPECT_EQ(d.rd(regs::kL2ReadyLo), 0x0U) << "not ready at cycle 199 (power.l2_ns 200 at 1 GHz)";
  d.q.run_until(200);
  EXPECT_EQ(d.rd(regs::kL2ReadyLo), 0x1U);
  EXPECT_EQ(d.rd(regs::kL2PwrtransLo), 0x0U);
  EXPECT_EQ(d.rd(regs::kGpuIntRawstat), regs::kGpuIrqPowerChanged | regs::kGpuIrqPowerChangedAll);
  // Bits not in PRESENT are ignored: four cores present, 0xFF asked.
  d.wr(regs::kGpuIntClear, ~0U);
  d.wr(regs::kShaderPwronLo, 0xFF);
  EXPECT_EQ(d.rd(regs::kShaderPwrtransLo), 0xFU);
  d.q.run_until(200 + 300);
  EXPECT_EQ(d.rd(regs::kShaderReadyLo), 0xFU);
  EXPECT_EQ(d.gpu.misuse().reports().size(), 0U);
}

TEST(GpuControl, PowerOffClearsReadyAtOnceAndTakesTheDownTime) {
  Device d(timed_spec());
  d.wr(regs::kL2PwronLo, 0x1);
  d.q.run_until(200);
  d.wr(regs::kShaderPwronLo, 0xF);
  d.q.run_until(500);
  d.wr(regs::kGpuIntClear, ~0U);
  d.wr(regs::kShaderPwroffLo, 0x3);
  EXPECT_EQ(d.rd(regs::kShaderReadyLo), 0xCU);
  EXPECT_EQ(d.rd(regs::kShaderPwrtransLo), 0x3U);
  d.q.run_until(549);
  EXPECT_EQ(d.rd(regs::kShaderPwrtransLo), 0x3U);
  d.q.run_until(550);
  EXPECT_EQ(d.rd(regs::kShaderPwrtransLo), 0x0U);
  EXPECT_EQ(d.rd(regs::kGpuIntRawstat), regs::kGpuIrqPowerChanged | regs::kGpuIrqPowerChangedAll);
}

TEST(GpuControl, ShaderCoresPoweredBeforeTheL2WaitForItAndAreReported) {
  Device d(timed_spec());
  d.wr(regs::kShaderPwronLo, 0x1);
  EXPECT_EQ(d.reports(MisuseKind::PowerSequence), 1U);
  EXPECT_EQ(d.rd(regs::kShaderPwrtransLo), 0x1U) << "waiting for the L2 counts as in transition";
  d.q.run_until(10'000);
  EXPECT_EQ(d.rd(regs::kShaderReadyLo), 0x0U) << "the L2 never came";
  d.wr(regs::kL2PwronLo, 0x1);  // at 10000: L2 ready at 10200, the core 300 later
  d.q.run_until(10'499);
  EXPECT_EQ(d.rd(regs::kShaderReadyLo), 0x0U);
  d.q.run_until(10'500);
  EXPECT_EQ(d.rd(regs::kShaderReadyLo), 0x1U);
}

TEST(GpuControl, AnL2PowerOffWaitsForTheCoresAndIsReported) {
  Device d(timed_spec());
  d.wr(regs::kL2PwronLo, 0x1);
  d.q.run_until(200);
  d.wr(regs::kShaderPwronLo, 0x1);
  d.q.run_until(500);
  d.wr(regs::kL2PwroffLo, 0x1);
  EXPECT_EQ(d.reports(MisuseKind::PowerSequence), 1U);
  EXPECT_EQ(d.rd(regs::kL2ReadyLo), 0x1U) << "the L2 stays up while a core needs it";
  d.wr(regs::kShaderPwroffLo, 0x1);  // at 500: core off at 550, then the L2 goes, off at 600
  d.q.run_until(599);
  EXPECT_EQ(d.rd(regs::kL2PwrtransLo), 0x1U);
  d.q.run_until(600);
  EXPECT_EQ(d.rd(regs::kL2PwrtransLo), 0x0U);
  EXPECT_EQ(d.rd(regs::kL2ReadyLo), 0x0U);
}

TEST(GpuControl, AnAccessOnACoreThatIsNotPoweredIsAGpuFault) {
  Rig rig;
  ASSERT_TRUE(rig.pt[0]->map(0x10000, 0x200000, kPageSize, testing::kRwNx));
  rig.enable_and_settle(0, *rig.pt[0]);
  EXPECT_EQ(rig.access(1, 0, 0x10000).status, AccessStatus::Pending);  // walks: core 1 is powered
  rig.q.run_until_idle();
  rig.gpu->write32(regs::kShaderPwroffLo, 0x2);  // core 1 off
  rig.q.run_until_idle();
  rig.gpu->write32(regs::kGpuIntClear, ~0U);
  const AccessResult r = rig.access(1, 0, 0x10008);
  EXPECT_EQ(r.status, AccessStatus::Failed);
  EXPECT_EQ(r.fail, FailReason::PoweredOff);
  EXPECT_EQ(rig.gpu->read32(regs::kGpuFaultStatus), kExceptionJobPowerFault);
  EXPECT_EQ(rig.read64(regs::kGpuFaultAddressLo), 0x10008U);
  EXPECT_EQ(rig.gpu->read32(regs::kGpuIntRawstat), regs::kGpuIrqFault);
  // A second fault while the first is pending only raises MULTIPLE_GPU_FAULTS.
  (void)rig.access(1, 0, 0x10010);
  EXPECT_EQ(rig.read64(regs::kGpuFaultAddressLo), 0x10008U);
  EXPECT_EQ(rig.gpu->read32(regs::kGpuIntRawstat), regs::kGpuIrqFault | regs::kGpuIrqMultipleFault);
  EXPECT_EQ(rig.gpu->misuse().count(MisuseKind::AccessPoweredOff), 2U);
  // Core 1's uTLB went with its power: powered again, it walks once more.
  rig.gpu->write32(regs::kShaderPwronLo, 0x2);
  rig.q.run_until_idle();
  const std::uint64_t misses = rig.gpu->counters().utlb_misses;
  EXPECT_NE(rig.access(1, 0, 0x10000).status, AccessStatus::Failed);
  rig.q.run_until_idle();
  EXPECT_EQ(rig.gpu->counters().utlb_misses, misses + 1);
}

// ---- GPU_COMMAND ------------------------------------------------------------------------------------

TEST(GpuControl, SoftResetRaisesResetCompletedAfterItsTime) {
  Device d(timed_spec());
  d.cmd(GpuCommand::SoftReset);
  d.q.run_until(999);
  EXPECT_EQ(d.rd(regs::kGpuIntRawstat) & regs::kGpuIrqResetCompleted, 0U);
  EXPECT_TRUE(d.gpu.control().resetting());
  d.q.run_until(1000);
  EXPECT_EQ(d.rd(regs::kGpuIntRawstat), regs::kGpuIrqResetCompleted);
  EXPECT_FALSE(d.gpu.control().resetting());
}

TEST(GpuControl, AHardResetSentDuringASoftOneCompletesAtItsOwnTime) {
  Device d(timed_spec());
  d.cmd(GpuCommand::SoftReset);
  d.q.run_until(100);
  d.cmd(GpuCommand::HardReset);  // panfrost's fallback: completes 400 later, at 500
  d.q.run_until(499);
  EXPECT_EQ(d.rd(regs::kGpuIntRawstat) & regs::kGpuIrqResetCompleted, 0U);
  d.q.run_until(500);
  EXPECT_NE(d.rd(regs::kGpuIntRawstat) & regs::kGpuIrqResetCompleted, 0U);
  d.wr(regs::kGpuIntClear, regs::kGpuIrqResetCompleted);
  d.q.run_until(2000);
  EXPECT_EQ(d.rd(regs::kGpuIntRawstat), 0U) << "the superseded soft reset completes nothing";
  EXPECT_EQ(d.gpu.control().resets(), 1U);
}

TEST(GpuControl, AResetReturnsEveryBlockToItsPowerOnState) {
  Rig rig(timed_spec());
  // Power, an AS with a cached translation, a stalled fault, interrupt state, registers.
  rig.gpu->write32(regs::kL2PwronLo, 1);
  rig.q.run_until(rig.q.now() + 200);
  rig.gpu->write32(regs::kShaderPwronLo, 0xF);
  rig.q.run_until(rig.q.now() + 300);
  ASSERT_TRUE(rig.pt[0]->map(0x10000, 0x200000, kPageSize, testing::kRwNx));
  rig.gpu->write32(regs::kMmuIntMask, ~0U);
  rig.gpu->write32(regs::kJobIntMask, ~0U);
  rig.enable_and_settle(0, *rig.pt[0]);
  (void)rig.access(0, 0, 0x10000);
  rig.q.run_until_idle();
  EXPECT_EQ(rig.access(0, 0, 0x10000).status, AccessStatus::Done) << "cached";
  EXPECT_EQ(rig.access(0, 0, 0x50000).status, AccessStatus::Pending);  // faults and stalls
  rig.q.run_until(rig.q.now() + 1000);
  ASSERT_EQ(rig.gpu->stalled_accesses(0), 1U);
  rig.gpu->write32(regs::kGpuIntMask, regs::kGpuIrqResetCompleted);
  rig.gpu->write32(regs::kJmConfig, 0x3F8);
  rig.gpu->write32(regs::kGpuCmd, static_cast<std::uint32_t>(GpuCommand::CycleCountStart));
  const std::size_t completed = rig.completed.size();

  rig.gpu->write32(regs::kGpuCmd, static_cast<std::uint32_t>(GpuCommand::SoftReset));
  rig.q.run_until(rig.q.now() + 1000);

  ASSERT_EQ(rig.completed.size(), completed + 1);
  EXPECT_EQ(rig.completed.back().fail, FailReason::Reset) << "the stalled access fails";
  EXPECT_EQ(rig.gpu->stalled_accesses(0), 0U);
  EXPECT_EQ(rig.read64(regs::as_reg(0, regs::kAsTranstabLo)), 0U);
  EXPECT_EQ(rig.gpu->read32(regs::as_reg(0, regs::kAsFaultstatus)), 0U);
  EXPECT_EQ(rig.gpu->address_space(0).live.mode, TranslationMode::Unmapped);
  EXPECT_EQ(rig.gpu->utlb(0).valid_entries(), 0U);
  EXPECT_EQ(rig.gpu->l2_tlb().valid_entries(), 0U);
  EXPECT_EQ(rig.gpu->read32(regs::kMmuIntRawstat), 0U);
  EXPECT_EQ(rig.gpu->read32(regs::kMmuIntMask), 0U);
  EXPECT_EQ(rig.gpu->read32(regs::kJobIntMask), 0U);
  EXPECT_EQ(rig.gpu->read32(regs::kShaderReadyLo), 0U);
  EXPECT_EQ(rig.gpu->read32(regs::kL2ReadyLo), 0U);
  EXPECT_EQ(rig.gpu->read32(regs::kJmConfig), 0U);
  EXPECT_EQ(rig.gpu->read32(regs::kGpuStatus), 0U) << "the cycle counter stopped";
  EXPECT_EQ(rig.gpu->read32(regs::kCycleCountLo), 0U);
  EXPECT_EQ(rig.gpu->read32(regs::kGpuIntMask), regs::kGpuIrqResetCompleted) << "the GPU mask survives";
  EXPECT_EQ(rig.gpu->read32(regs::kGpuIntRawstat), regs::kGpuIrqResetCompleted);
  // Nothing left over fires later: the AS is unmapped, its old commands never finish.
  rig.q.run_until_idle();
  EXPECT_EQ(rig.completed.size(), completed + 1);
  EXPECT_FALSE(rig.active(0));
}

TEST(GpuControl, WritesDuringAResetAreIgnoredAndReportedAndAccessesFail) {
  Device d(timed_spec());
  d.cmd(GpuCommand::SoftReset);
  d.wr(regs::kMmuIntMask, ~0U);
  d.wr(regs::kL2PwronLo, 1);
  EXPECT_EQ(d.rd(regs::kMmuIntMask), 0U);
  EXPECT_EQ(d.rd(regs::kL2PwrtransLo), 0U);
  EXPECT_EQ(d.reports(MisuseKind::WriteDuringReset), 2U);
  const AccessResult r = d.gpu.access({.va = 0x10000});
  EXPECT_EQ(r.status, AccessStatus::Failed);
  EXPECT_EQ(r.fail, FailReason::Reset);
  // The GPU interrupt registers still take writes (a driver clears and masks while it waits).
  d.wr(regs::kGpuIntMask, 0x100);
  EXPECT_EQ(d.rd(regs::kGpuIntMask), 0x100U);
}

TEST(GpuControl, CleanCachesCompletesAfterItsTimeAndCountsInLatestFlush) {
  Device d(timed_spec());
  EXPECT_EQ(d.rd(regs::kLatestFlush), 0U);
  d.cmd(GpuCommand::CleanInvCaches);
  d.q.run_until(699);
  EXPECT_EQ(d.rd(regs::kGpuIntRawstat), 0U);
  d.q.run_until(700);
  EXPECT_EQ(d.rd(regs::kGpuIntRawstat), regs::kGpuIrqCleanCachesCompleted);
  EXPECT_EQ(d.rd(regs::kLatestFlush), 1U);
  d.cmd(GpuCommand::CleanCaches);
  d.q.run_until_idle();
  EXPECT_EQ(d.rd(regs::kLatestFlush), 2U);
}

TEST(GpuControl, TheCycleCounterRunsBetweenStartAndStopAndTheTimestampWithIt) {
  Device d(timed_spec());
  d.q.run_until(1000);
  EXPECT_EQ(d.rd(regs::kCycleCountLo), 0U);
  d.cmd(GpuCommand::CycleCountStart);
  EXPECT_EQ(d.rd(regs::kGpuStatus), regs::kGpuStatusCycleCountActive);
  d.q.run_until(1000 + 4000);
  EXPECT_EQ(d.rd(regs::kCycleCountLo), 4000U);
  EXPECT_EQ(d.rd(regs::kTimestampLo), 100U) << "25 MHz against a 1 GHz clock: one tick per 40 cycles";
  d.cmd(GpuCommand::CycleCountStop);
  d.q.run_until(9000);
  EXPECT_EQ(d.rd(regs::kCycleCountLo), 4000U) << "held while stopped";
  EXPECT_EQ(d.rd(regs::kGpuStatus), 0U);
  d.cmd(GpuCommand::CycleCountStart);
  d.q.run_until(10'000);
  EXPECT_EQ(d.rd(regs::kCycleCountLo), 5000U);
  EXPECT_EQ(d.rd(regs::kCycleCountHi), 0U);
}

TEST(GpuControl, AnUnknownCommandIsIgnoredAndReported) {
  Device d(preset("g52"));
  d.cmd(static_cast<GpuCommand>(0x42));
  EXPECT_EQ(d.reports(MisuseKind::UnknownCommand), 1U);
  EXPECT_FALSE(d.gpu.control().resetting());
}

// ---- AS_TRANSCFG -------------------------------------------------------------------------------------

TEST(GpuControl, TranscfgExistsOnEveryBifrostPresetAndNotOnMidgard) {
  for (const char* name : {"g31", "g52", "g72", "g57"}) {
    Device d(preset(name));
    d.wr(regs::as_reg(2, regs::kAsTranscfgLo), 0x6);  // ADRMODE_AARCH64_4K
    EXPECT_EQ(d.rd(regs::as_reg(2, regs::kAsTranscfgLo)), 0x6U) << name;
  }
  Device t860(preset("t860"));
  t860.wr(regs::as_reg(2, regs::kAsTranscfgLo), 0x6);
  EXPECT_EQ(t860.rd(regs::as_reg(2, regs::kAsTranscfgLo)), 0U);
  EXPECT_EQ(t860.gpu.misuse().reports().size(), 0U) << "panfrost writes it on every GPU";
}

}  // namespace
}  // namespace mali_sim
