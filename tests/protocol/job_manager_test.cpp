// The job manager at register level (docs/hardware-facts.md §12, §13): the slot registers and
// commands, job chains read and written back through the MMU, NULL / WRITE_VALUE / shader jobs,
// JOB_INT and JS_STATUS, stops, faults and the kill of an address space. Registers are written
// straight to the device (no bus time), so cycles are the device's own.
#include <gtest/gtest.h>

#include <vector>

#include "mali_sim/regs.hpp"
#include "protocol/job_rig.hpp"

namespace mali_sim {
namespace {

using testing::job_spec;
using testing::JobRig;
using testing::kDataVa;
using testing::kDescVa;
using testing::kRwNx;

// ---- Registers ----------------------------------------------------------------------------------------

TEST(JobManager, SlotRegistersOfPresentSlotsAndTheirAccess) {
  JobRig r;
  r.wr(regs::js_reg(1, regs::kJsHeadNextLo), 0x1234'0040);
  r.wr(regs::js_reg(1, regs::kJsAffinityNextLo), 0x3);
  r.wr(regs::js_reg(1, regs::kJsConfigNext), 0x87300);
  EXPECT_EQ(r.js(1, regs::kJsHeadNextLo), 0x1234'0040U);
  EXPECT_EQ(r.js(1, regs::kJsAffinityNextLo), 0x3U);
  EXPECT_EQ(r.js(1, regs::kJsConfigNext), 0x87300U) << "_NEXT registers read back as written";
  EXPECT_EQ(r.js(1, regs::kJsCommandNext), 0U);
  EXPECT_EQ(r.js(1, regs::kJsStatus), 0U) << "idle";
  r.wr(regs::js_reg(1, regs::kJsHeadLo), 5);  // read-only
  r.wr(regs::js_reg(1, regs::kJsStatus), 5);
  EXPECT_EQ(r.js(1, regs::kJsHeadLo), 0U);
  EXPECT_EQ(r.gpu().misuse().count(MisuseKind::WriteToReadOnly), 2U);
  // JS_PRESENT is 0x7: slot 3's registers are not there.
  (void)r.rd(regs::js_reg(3, regs::kJsStatus));
  EXPECT_EQ(r.gpu().misuse().count(MisuseKind::UnmodelledRegister), 1U);
  // JOB_INT_THROTTLE exists before arch 9 (the rig is arch 7).
  r.wr(regs::kJobIntThrottle, 77);
  EXPECT_EQ(r.rd(regs::kJobIntThrottle), 77U);
}

TEST(JobManager, JsConfigReadsBackWithoutTheThreadPriority) {
  // Two real readbacks (a T720 and a G57) show JS_CONFIG without bit 19 that panfrost wrote.
  JobRig r;
  r.enable(0);
  r.submit(1, r.chain(0, {{JobType::Null}}), 0, 0x3, 0x87300);
  EXPECT_EQ(r.js(1, regs::kJsConfig), 0x7300U);
}

// ---- Chains -------------------------------------------------------------------------------------------

TEST(JobManager, ANullChainRunsInOrderWritesEachHeaderBackAndRaisesDone) {
  JobRig r;
  r.enable(0);
  const GpuVa head = r.chain(0, {{JobType::Null}, {JobType::Null}, {JobType::Null}});
  r.submit(1, head, 0);
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionActive);
  EXPECT_EQ(r.rd(regs::kJobIntRawstat), 0U);
  r.sim.run_until_idle();
  EXPECT_EQ(r.rd(regs::kJobIntRawstat), regs::job_done_bit(1));
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionDone);
  EXPECT_EQ(r.js(1, regs::kJsHeadLo), static_cast<std::uint32_t>(head + 2 * 64)) << "the chain's last job";
  for (unsigned j = 0; j < 3; ++j) EXPECT_EQ(r.header_status(0, j), kExceptionDone) << "job " << j;
  EXPECT_EQ(r.gpu().job_manager().chains_done(), 1U);
}

TEST(JobManager, AJobTakesItsDescriptorReadAndItsWriteBackThroughTheMmu) {
  // Warm translations: the second chain's read hits the job manager's uTLB (1 cycle), the data
  // comes a memory read (25 cycles) later, the write-back hits too (1 cycle): DONE 27 cycles
  // after START.
  JobRig r;
  r.enable(0);
  r.submit(1, r.chain(0, {{JobType::Null}}), 0);
  r.sim.run_until_idle();
  r.wr(regs::kJobIntClear, ~0U);
  const GpuVa head = r.chain(0, {{JobType::Null}}, 1);
  const Cycle start = r.sim.now();
  r.submit(1, head, 0);
  r.sim.run_until(start + 26);
  EXPECT_EQ(r.rd(regs::kJobIntRawstat), 0U);
  r.sim.run_until(start + 27);
  EXPECT_EQ(r.rd(regs::kJobIntRawstat), regs::job_done_bit(1));
}

TEST(JobManager, WriteValueWritesThroughTheMmuWithEachValueType) {
  JobRig r;
  r.enable(0);
  WriteValuePayload imm32{kDataVa + 0x40, WriteValueType::Immediate32, 0xCAFEF00D'DEADBEEFULL};
  WriteValuePayload imm8{kDataVa + 0x48, WriteValueType::Immediate8, 0x1234};
  WriteValuePayload zero{kDataVa + 0x50, WriteValueType::Zero, 0};
  ASSERT_TRUE(r.sim.mem().write64(r.data_pa[0][0] + 0x50, ~0ULL));
  ASSERT_TRUE(r.sim.mem().write64(r.data_pa[0][0] + 0x48, ~0ULL));
  ChainJob a{JobType::WriteValue}, b{JobType::WriteValue}, c{JobType::WriteValue};
  a.write_value = imm32;
  b.write_value = imm8;
  c.write_value = zero;
  r.submit(1, r.chain(0, {a, b, c}), 0);
  r.sim.run_until_idle();
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionDone);
  std::uint64_t v = 0;
  ASSERT_TRUE(r.sim.mem().read64(r.data_pa[0][0] + 0x40, v));
  EXPECT_EQ(v, 0xDEADBEEFULL) << "32 bits written, the rest untouched (0)";
  ASSERT_TRUE(r.sim.mem().read64(r.data_pa[0][0] + 0x48, v));
  EXPECT_EQ(v, 0xFFFF'FFFF'FFFF'FF34ULL) << "one byte";
  ASSERT_TRUE(r.sim.mem().read64(r.data_pa[0][0] + 0x50, v));
  EXPECT_EQ(v, 0U);
}

TEST(JobManager, AWriteValueIntoAnUnmappedPageFaultsAndGoesOnOnceTheDriverMapsIt) {
  // The heap case: the job manager's write stalls on a translation fault like a shader access;
  // the driver maps the page, clears the interrupt, flushes; the write completes.
  JobRig r;
  r.enable(0);
  r.wr(regs::kMmuIntMask, ~0U);
  const GpuVa heap = 0x4000'0000;
  ChainJob w{JobType::WriteValue};
  w.write_value = {heap + 0x10, WriteValueType::Immediate64, 0x0123456789ABCDEFULL};
  r.submit(1, r.chain(0, {w}), 0);
  r.sim.run_for(20'000);
  ASSERT_EQ(r.rd(regs::kMmuIntRawstat), regs::mmu_page_fault_bit(0)) << "the job's write faulted";
  EXPECT_EQ(r.rd(regs::as_reg(0, regs::kAsFaultaddressLo)), static_cast<std::uint32_t>(heap + 0x10));
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionActive) << "stalled, not failed";
  const PhysAddr page = *r.sim.frames().alloc_frame();
  ASSERT_TRUE(r.pt[0]->map(heap, page, kPageSize, kRwNx));
  r.wr(regs::kMmuIntClear, ~0U);
  r.wr(regs::as_reg(0, regs::kAsLockaddrLo), static_cast<std::uint32_t>(heap | 14));  // 32 KiB
  r.wr(regs::as_reg(0, regs::kAsLockaddrHi), 0);
  r.wr(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::Lock));
  r.sim.run_for(100);
  r.wr(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::FlushPt));
  r.sim.run_until_idle();
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionDone);
  std::uint64_t v = 0;
  ASSERT_TRUE(r.sim.mem().read64(page + 0x10, v));
  EXPECT_EQ(v, 0x0123456789ABCDEFULL);
}

TEST(JobManager, ABadChainPointerIsAnMmuFaultAndKillingItsAddressSpaceFailsTheJob) {
  JobRig r;
  r.enable(0);
  r.wr(regs::kMmuIntMask, ~0U);
  r.submit(1, 0x7000'0000, 0);  // nothing mapped there
  r.sim.run_for(20'000);
  EXPECT_EQ(r.rd(regs::kMmuIntRawstat), regs::mmu_page_fault_bit(0));
  EXPECT_EQ(r.rd(regs::as_reg(0, regs::kAsFaultaddressLo)), 0x7000'0000U);
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionActive);
  // The driver cannot fix it: it switches the AS to UNMAPPED, and the job fails on the read.
  r.wr(regs::kMmuIntClear, ~0U);
  r.disable(0);
  r.sim.run_until_idle();
  EXPECT_EQ(r.rd(regs::kJobIntRawstat), regs::job_error_bit(1));
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionJobReadFault);
  EXPECT_EQ(r.js(1, regs::kJsTailLo), 0x7000'0000U);
}

TEST(JobManager, AMisalignedOrNullChainAddressIsAConfigFault) {
  JobRig r;
  r.enable(0);
  r.submit(1, kDescVa + 8, 0);
  r.sim.run_until_idle();
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionJobConfigFault);
}

TEST(JobManager, AJobTypeTheSlotDoesNotTakeIsAConfigFault) {
  // JS0_FEATURES 0x20E: fragment, null, write value, cache flush; not compute.
  JobRig r;
  r.enable(0);
  r.submit(0, r.chain(0, {{JobType::Compute}}), 0);
  r.sim.run_until_idle();
  EXPECT_EQ(r.js(0, regs::kJsStatus), kExceptionJobConfigFault);
  EXPECT_EQ(r.header_status(0, 0), 0U) << "no write-back after a config fault";
}

// ---- Shader work --------------------------------------------------------------------------------------

TEST(JobManager, AShaderJobRunsItsWorkloadOnTheCoresOfItsAffinityThenTheChainGoesOn) {
  JobRig r;
  r.enable(0);
  const std::uint64_t w = r.sim.add_workload(r.reads(8));
  ChainJob compute{JobType::Compute};
  compute.workload = w;
  r.submit(1, r.chain(0, {compute, {JobType::Null}}), 0, 0x3);
  r.sim.run_until_idle();
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionDone);
  EXPECT_EQ(r.sim.workload(w).done, 8U);
  // Dealt round-robin: accesses 0, 2, 4, 6 on core 0, the others on core 1.
  unsigned on_core[2] = {};
  for (const AccessResult& a : r.sim.workload(w).results) ++on_core[a.request.core];
  EXPECT_EQ(on_core[0], 4U);
  EXPECT_EQ(on_core[1], 4U);
  EXPECT_EQ(r.header_status(0, 1), kExceptionDone) << "the NULL job after it ran too";
}

TEST(JobManager, AffinityWithNoPoweredCoreFailsTheJob) {
  JobRig r;
  r.enable(0);
  ChainJob compute{JobType::Compute};
  compute.workload = r.sim.add_workload(r.reads(2));
  const GpuVa head = r.chain(0, {compute});
  ASSERT_TRUE(r.sim.mem().write32(r.desc_pa[0] + 4, 0x1234));       // first incomplete task
  ASSERT_TRUE(r.sim.mem().write64(r.desc_pa[0] + 8, 0xFEED'0000));  // fault pointer
  r.submit(1, head, 0, 0x0);
  r.sim.run_until_idle();
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionJobAffinityFault);
  // The descriptor is still writable: the code is written back into word 0 alone; first
  // incomplete task and fault pointer stay as user space wrote them (docs/fidelity.md, Jobs).
  const JobHeader h = r.sim.read_job_header(r.desc_pa[0]).value();
  EXPECT_EQ(h.exception_status, kExceptionJobAffinityFault);
  EXPECT_EQ(h.first_incomplete_task, 0x1234U);
  EXPECT_EQ(h.fault_pointer, 0xFEED'0000U);
  r.wr(regs::kJobIntClear, ~0U);
  r.wr(regs::kShaderPwroffLo, 0x2);  // core 1 off
  r.sim.run_until_idle();
  r.submit(1, r.chain(0, {compute}, 1), 0, 0x2);
  r.sim.run_until_idle();
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionJobPowerFault);
}

TEST(JobManager, SwitchingARunningJobsAddressSpaceOffFailsItAndItsRestIsNeverIssued) {
  JobRig r;
  r.enable(0);
  const std::uint64_t w = r.sim.add_workload(r.reads(100, 100));  // an access per 100 cycles per core
  ChainJob compute{JobType::Compute};
  compute.workload = w;
  r.submit(1, r.chain(0, {compute}), 0, 0x3);
  r.sim.run_for(1'000);
  const std::size_t issued = r.sim.workload(w).issued;
  ASSERT_GT(issued, 0U);
  ASSERT_LT(issued, 100U);
  r.disable(0);
  r.sim.run_until_idle();
  EXPECT_EQ(r.rd(regs::kJobIntRawstat), regs::job_error_bit(1));
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionJobBusFault);
  EXPECT_LE(r.sim.workload(w).issued, issued + 2) << "at most what each core had under way";
  EXPECT_LT(r.sim.workload(w).issued, 100U) << "the rest is never issued";
  EXPECT_EQ(r.header_status(0, 0), 0U) << "the AS is gone: no write-back";
}

TEST(JobManager, AJobFailingOnOneAddressSpaceLeavesAJobOnAnotherUnchanged) {
  // Slot 0 runs a fragment job on AS0 alone, then again beside a compute job on AS1 (slot 1)
  // whose AS is switched off half-way. With TLBs and walkers enough for both, slot 0's job ends
  // at the same cycle after its start.
  GpuSpec s = job_spec();
  s.walkers = 16;
  s.l2tlb = TlbSpec{256, 4, 10};
  s.utlb = TlbSpec{64, 64, 1};
  auto run = [&](bool beside) {
    JobRig r(s);
    r.enable(0);
    r.enable(1);
    ChainJob frag{JobType::Fragment};
    frag.workload = r.sim.add_workload(r.reads(40, 50));  // about 2000 cycles on its one core
    ChainJob compute{JobType::Compute};
    compute.workload = r.sim.add_workload(r.reads(100, 50));
    const Cycle start = r.sim.now();
    r.submit(0, r.chain(0, {frag}), 0, 0x1);
    if (beside) r.submit(1, r.chain(1, {compute}), 1, 0x2);
    r.sim.run_for(500);
    if (beside) r.disable(1);
    EXPECT_TRUE(r.sim.run_until([&] { return (r.rd(regs::kJobIntRawstat) & regs::job_done_bit(0)) != 0; },
                                r.sim.now() + 1'000'000));
    const Cycle cycles = r.sim.now() - start;
    if (beside) {
      EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionJobBusFault) << "killed while slot 0 ran";
    }
    return cycles;
  };
  EXPECT_EQ(run(true), run(false));
}

// ---- Two jobs on a slot; stops ---------------------------------------------------------------------------

TEST(JobManager, AJobWaitingInNextStartsWhenTheCurrentOneEndsWithoutWaitingForTheDriver) {
  JobRig r;
  r.enable(0);
  ChainJob slow{JobType::Compute};
  slow.workload = r.sim.add_workload(r.reads(20, 50));
  r.submit(1, r.chain(0, {slow}), 0);
  r.sim.run_for(100);
  const GpuVa second = r.chain(0, {{JobType::Null}}, 1);
  r.submit(1, second, 0);
  EXPECT_EQ(r.js(1, regs::kJsCommandNext), static_cast<std::uint32_t>(regs::JsCommand::Start)) << "queued";
  r.wr(regs::kJobIntClear, regs::job_done_bit(1));  // takes JS_STATE's snapshot: current and next busy
  EXPECT_EQ(r.rd(regs::kJobIntJsState), regs::job_done_bit(1) | regs::job_error_bit(1));
  r.sim.run_until_idle();
  // One DONE bit for both: the second ran as soon as the first ended.
  EXPECT_EQ(r.rd(regs::kJobIntRawstat), regs::job_done_bit(1));
  EXPECT_EQ(r.gpu().job_manager().chains_done(), 2U);
  EXPECT_EQ(r.js(1, regs::kJsCommandNext), 0U);
  EXPECT_EQ(r.header_status(0, 1), kExceptionDone);
  EXPECT_EQ(r.rd(regs::kJobIntJsState), regs::job_done_bit(1) | regs::job_error_bit(1))
      << "JS_STATE holds its snapshot until the next clear";
  r.wr(regs::kJobIntClear, regs::job_done_bit(1));
  EXPECT_EQ(r.rd(regs::kJobIntJsState), 0U);
}

TEST(JobManager, ASoftStopBetweenTwoJobsStopsTheFirstAndItResumesWhereItStopped) {
  JobRig r;
  r.enable(0);
  const std::uint64_t w = r.sim.add_workload(r.reads(40, 100));
  ChainJob slow{JobType::Compute};
  slow.workload = w;
  const GpuVa first = r.chain(0, {slow});
  r.submit(1, first, 0);
  r.sim.run_for(500);
  r.submit(1, r.chain(0, {{JobType::Null}}, 1), 0);  // waits in _NEXT
  r.wr(regs::js_reg(1, regs::kJsCommand), static_cast<std::uint32_t>(regs::JsCommand::SoftStop));
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionStopped);
  EXPECT_EQ(r.js(1, regs::kJsTailLo), static_cast<std::uint32_t>(first)) << "resume from here";
  EXPECT_EQ(r.rd(regs::kJobIntRawstat), regs::job_error_bit(1));
  r.sim.run_for(10'000);
  const std::size_t issued = r.sim.workload(w).issued;
  EXPECT_LT(issued, 40U);
  EXPECT_EQ(r.gpu().job_manager().chains_done(), 0U) << "the queued job waits for FAILED to be cleared";
  // The driver cancels the queued job, clears the interrupt and submits the stopped one again.
  r.wr(regs::js_reg(1, regs::kJsCommandNext), static_cast<std::uint32_t>(regs::JsCommand::Nop));
  r.wr(regs::kJobIntClear, ~0U);
  r.submit(1, first, 0);
  r.sim.run_until_idle();
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionDone);
  EXPECT_EQ(r.sim.workload(w).issued, 40U) << "each access issued once: it went on where it stopped";
  EXPECT_EQ(r.sim.workload(w).done, 40U);
}

TEST(JobManager, AHardStopTerminatesAndTheChainFlagFormsActOnlyOnTheirChains) {
  JobRig r;
  r.enable(0);
  ChainJob slow{JobType::Compute};
  slow.workload = r.sim.add_workload(r.reads(40, 100));
  r.submit(1, r.chain(0, {slow}), 0, 0x3, regs::kJsConfigJobChainFlag);
  r.sim.run_for(300);
  r.wr(regs::js_reg(1, regs::kJsCommand), static_cast<std::uint32_t>(regs::JsCommand::HardStop0));
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionActive) << "HARD_STOP_0 leaves a chain with flag 1";
  r.wr(regs::js_reg(1, regs::kJsCommand), static_cast<std::uint32_t>(regs::JsCommand::HardStop1));
  EXPECT_EQ(r.js(1, regs::kJsStatus), kExceptionTerminated);
  EXPECT_EQ(r.rd(regs::kJobIntRawstat), regs::job_error_bit(1));
}

TEST(JobManager, AResetStopsEverySlotAndClearsItsRegisters) {
  JobRig r;
  r.enable(0);
  ChainJob slow{JobType::Compute};
  const std::uint64_t w = r.sim.add_workload(r.reads(40, 100));
  slow.workload = w;
  r.submit(1, r.chain(0, {slow}), 0);
  r.sim.run_for(300);
  r.wr(regs::kGpuCmd, static_cast<std::uint32_t>(GpuCommand::SoftReset));
  r.sim.run_for(10'000);
  EXPECT_EQ(r.js(1, regs::kJsStatus), 0U);
  EXPECT_EQ(r.js(1, regs::kJsHeadNextLo), 0U);
  EXPECT_EQ(r.rd(regs::kJobIntRawstat), 0U);
  EXPECT_EQ(r.rd(regs::kJobIntMask), 0U);
  const std::size_t issued = r.sim.workload(w).issued;
  r.sim.run_until_idle();
  EXPECT_EQ(r.sim.workload(w).issued, issued) << "nothing more issued after the reset";
}

}  // namespace
}  // namespace mali_sim
