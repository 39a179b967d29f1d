// The checker's job detectors (docs/driver-testing.md, detectors 2, 6 and 8) against register-level
// drivers: panfrost's order of AS_COMMAND UPDATE, JS_*_NEXT and START, and its job interrupt
// handling, give no report; each departure from it that a real driver has made (or could make) is
// reported when it happens, naming the slot, the job and the address space.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mali_sim/regs.hpp"
#include "protocol/job_rig.hpp"

namespace mali_sim {
namespace {

using testing::job_spec;
using testing::JobRig;

JobRig checked() { return JobRig(job_spec(), /*check=*/true); }

std::vector<CheckReport> of(JobRig& r, Detector d) {
  std::vector<CheckReport> out;
  for (const auto& rep : r.sim.checker()->reports())
    if (rep.detector == d) out.push_back(rep);
  return out;
}

std::string all(JobRig& r) {
  std::string s;
  for (const auto& rep : r.sim.checker()->reports()) s += rep.what + "\n";
  return s;
}

ChainJob compute(JobRig& r, unsigned accesses, Cycle delta = 10) {
  ChainJob j{JobType::Compute};
  j.workload = r.sim.add_workload(r.reads(accesses, delta));
  return j;
}

// The job interrupt's threaded half as panfrost writes it: read JOB_INT_STAT, clear those bits.
void handle_job_irq(JobRig& r) { r.wr(regs::kJobIntClear, r.rd(regs::kJobIntStat)); }

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(CheckerJobs, PanfrostsOrderUpdateThenStartWithoutWaitingAndAHandledInterruptGiveNoReport) {
  JobRig r = checked();
  // as_get: TRANSTAB, MEMATTR, UPDATE; the job's START follows at once (panfrost does not wait
  // for the UPDATE: the job's first read waits for it in the GPU).
  const auto w64 = [&](std::uint32_t lo, std::uint64_t v) {
    r.wr(lo, static_cast<std::uint32_t>(v));
    r.wr(lo + 4, static_cast<std::uint32_t>(v >> 32));
  };
  w64(regs::as_reg(0, regs::kAsTranstabLo), r.pt[0]->transtab());
  w64(regs::as_reg(0, regs::kAsMemattrLo), r.pt[0]->memattr());
  r.wr(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::Update));
  r.submit(1, r.chain(0, {compute(r, 8)}), 0);
  r.sim.run_until_idle();
  ASSERT_EQ(r.rd(regs::kJobIntRawstat), regs::job_done_bit(1));
  handle_job_irq(r);
  // A second job on the other slot in the same AS, and the AS kept (panfrost's as_put leaves it
  // enabled for the next job of the context).
  r.submit(0, r.chain(0, {{JobType::Fragment}}, 1), 0);
  r.sim.run_until_idle();
  handle_job_irq(r);
  EXPECT_TRUE(r.sim.check().empty()) << all(r);
}

// ---- 8. job-address-space ---------------------------------------------------------------------

TEST(CheckerJobs, AStartInAnAddressSpaceNeverEnabledIsReportedAtTheStart) {
  JobRig r = checked();
  r.enable(0);
  const GpuVa head = r.chain(1, {{JobType::Null}});
  r.submit(1, head, 1);  // AS1: TRANSTAB never written, no UPDATE
  const auto rep = of(r, Detector::JobAddressSpace);
  ASSERT_EQ(rep.size(), 1U) << "reported when START is written, before the job runs";
  EXPECT_EQ(rep[0].as, 1);
  EXPECT_EQ(rep[0].address, head);
  EXPECT_TRUE(contains(rep[0].what, "JS1 START")) << rep[0].what;
  EXPECT_TRUE(contains(rep[0].what, "not enabled")) << rep[0].what;
  EXPECT_TRUE(contains(rep[0].fix, "UPDATE")) << rep[0].fix;
}

TEST(CheckerJobs, AStartInAnAddressSpaceTheGpuDoesNotHaveIsReported) {
  JobRig r = checked();  // AS_PRESENT 0x0F
  r.enable(0);
  r.submit(1, r.chain(0, {{JobType::Null}}), 5);
  const auto rep = of(r, Detector::JobAddressSpace);
  ASSERT_EQ(rep.size(), 1U);
  EXPECT_EQ(rep[0].as, 5);
  EXPECT_TRUE(contains(rep[0].what, "GPU_AS_PRESENT")) << rep[0].what;
}

TEST(CheckerJobs, AStartAfterNewRegistersWithoutTheirUpdateIsReportedAsMidUpdate) {
  JobRig r = checked();
  r.enable(0);
  // The driver points AS0 at AS1's table but forgets the UPDATE: the job would run in the old
  // context's memory.
  r.wr(regs::as_reg(0, regs::kAsTranstabLo), static_cast<std::uint32_t>(r.pt[1]->transtab()));
  r.wr(regs::as_reg(0, regs::kAsTranstabHi), static_cast<std::uint32_t>(r.pt[1]->transtab() >> 32));
  r.submit(1, r.chain(0, {{JobType::Null}}), 0);
  const auto rep = of(r, Detector::JobAddressSpace);
  ASSERT_EQ(rep.size(), 1U);
  EXPECT_TRUE(contains(rep[0].what, "mid-update")) << rep[0].what;
}

TEST(CheckerJobs, AStartWhileAnUpdateSwitchesTheAddressSpaceOffIsReported) {
  JobRig r = checked();
  r.enable(0);
  r.disable(0);  // UPDATE to UNMAPPED written, still running
  r.submit(1, r.chain(0, {{JobType::Null}}), 0);
  const auto rep = of(r, Detector::JobAddressSpace);
  ASSERT_EQ(rep.size(), 1U);
  EXPECT_TRUE(contains(rep[0].what, "switching off")) << rep[0].what;
}

TEST(CheckerJobs, AnAddressSpaceGivenAnotherTableWhileItsJobRunsIsReported) {
  JobRig r = checked();
  r.enable(0);
  const GpuVa head = r.chain(0, {compute(r, 50, 1000)});  // about 25 000 cycles on two cores
  r.submit(1, head, 0);
  r.sim.run_for(5000);
  ASSERT_EQ(r.js(1, regs::kJsStatus), kExceptionActive);
  // Another context steals AS0 while the job still runs in it.
  r.wr(regs::as_reg(0, regs::kAsTranstabLo), static_cast<std::uint32_t>(r.pt[1]->transtab()));
  r.wr(regs::as_reg(0, regs::kAsTranstabHi), static_cast<std::uint32_t>(r.pt[1]->transtab() >> 32));
  r.wr(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::Update));
  r.sim.run_for(1000);
  const auto rep = of(r, Detector::JobAddressSpace);
  ASSERT_EQ(rep.size(), 1U) << all(r);
  EXPECT_EQ(rep[0].as, 0);
  EXPECT_TRUE(contains(rep[0].what, "another page table")) << rep[0].what;
  EXPECT_TRUE(contains(rep[0].what, "running on JS1")) << rep[0].what;
}

TEST(CheckerJobs, AnAddressSpaceSwitchedOffWithoutAFaultUnderARunningJobIsReported) {
  JobRig r = checked();
  r.enable(0);
  r.submit(1, r.chain(0, {compute(r, 50, 1000)}), 0);
  r.sim.run_for(5000);
  r.disable(0);
  r.sim.run_for(1000);
  const auto rep = of(r, Detector::JobAddressSpace);
  ASSERT_EQ(rep.size(), 1U) << all(r);
  EXPECT_TRUE(contains(rep[0].what, "no fault to kill")) << rep[0].what;
}

TEST(CheckerJobs, KillingAFaultedAddressSpaceUnderItsJobIsTheExpectedKillAndGivesNoReport) {
  JobRig r = checked();
  r.enable(0);
  r.wr(regs::kMmuIntMask, ~0U);
  r.submit(1, 0x7000'0000, 0);  // the chain pointer is unmapped: the job's first read faults
  r.sim.run_for(20'000);
  ASSERT_EQ(r.rd(regs::kMmuIntRawstat), regs::mmu_page_fault_bit(0));
  // panfrost's terminal fault path: clear the fault, switch the AS off (the job fails), handle
  // the job interrupt.
  r.wr(regs::kMmuIntClear, ~0U);
  r.disable(0);
  r.sim.run_until_idle();
  ASSERT_EQ(r.rd(regs::kJobIntRawstat), regs::job_error_bit(1));
  handle_job_irq(r);
  EXPECT_TRUE(r.sim.check().empty()) << all(r);
}

// ---- 6. command misuse: START while _NEXT still holds a job ------------------------------------

TEST(CheckerJobs, ASecondStartWhileAJobWaitsInNextIsCommandMisuse) {
  JobRig r = checked();
  r.enable(0);
  r.submit(1, r.chain(0, {compute(r, 50, 1000)}), 0);
  r.sim.run_for(100);  // promoted: _NEXT is free again
  r.submit(1, r.chain(0, {{JobType::Null}}, 1), 0);
  EXPECT_TRUE(of(r, Detector::CommandMisuse).empty()) << "one job running and one waiting is the design";
  r.submit(1, r.chain(0, {{JobType::Null}}, 2), 0);  // the waiting job is overwritten
  const auto rep = of(r, Detector::CommandMisuse);
  ASSERT_EQ(rep.size(), 1U);
  EXPECT_TRUE(contains(rep[0].what, "JS1")) << rep[0].what;
  EXPECT_TRUE(contains(rep[0].fix, "JS_COMMAND_NEXT reads 0")) << rep[0].fix;
}

// ---- 2. irq-left-asserted: the job interrupt ----------------------------------------------------

TEST(CheckerJobs, AJobInterruptNeverClearedIsReportedOnceTheBoundPasses) {
  JobRig r = checked();
  const Cycle bound = r.sim.checker()->config().fault_pending_bound;
  r.enable(0);
  r.submit(1, r.chain(0, {{JobType::Null}}), 0);
  r.sim.run_until_idle();
  ASSERT_EQ(r.rd(regs::kJobIntRawstat), regs::job_done_bit(1));
  const Cycle done = r.sim.now();
  // The driver goes on with other work and never handles the interrupt.
  r.sim.run_for(bound - 1000);
  r.wr(regs::kMmuIntMask, ~0U);  // any register access lets the checker look
  EXPECT_TRUE(of(r, Detector::IrqLeftAsserted).empty()) << "within the bound";
  r.sim.run_for(2000);
  r.wr(regs::kMmuIntMask, ~0U);
  const auto rep = of(r, Detector::IrqLeftAsserted);
  ASSERT_EQ(rep.size(), 1U) << all(r);
  EXPECT_TRUE(contains(rep[0].what, "JOB_INT_RAWSTAT bit 1 (JS1 DONE)")) << rep[0].what;
  EXPECT_GE(r.sim.now() - done, bound);
  r.sim.run_for(bound * 2);
  r.wr(regs::kMmuIntMask, ~0U);
  EXPECT_EQ(of(r, Detector::IrqLeftAsserted).size(), 1U) << "one report per episode";
}

TEST(CheckerJobs, AJobInterruptLeftSetWhenNothingIsLeftToRunIsReportedAtTheEnd) {
  JobRig r = checked();
  r.enable(0);
  r.submit(1, 0x7000'0000, 0);
  r.wr(regs::kMmuIntMask, ~0U);
  r.sim.run_for(20'000);
  r.wr(regs::kMmuIntClear, ~0U);
  r.disable(0);
  r.sim.run_until_idle();
  ASSERT_EQ(r.rd(regs::kJobIntRawstat), regs::job_error_bit(1));
  const auto& reps = r.sim.check();
  ASSERT_EQ(reps.size(), 1U) << all(r);
  EXPECT_EQ(reps[0].detector, Detector::IrqLeftAsserted);
  EXPECT_TRUE(contains(reps[0].what, "bit 17 (JS1 FAILED)")) << reps[0].what;
  EXPECT_TRUE(contains(reps[0].what, "never handled")) << reps[0].what;
}

TEST(CheckerJobs, AJobInterruptHandlerThatReturnsWithoutClearingIsAStorm) {
  JobRig r = checked();
  unsigned calls = 0;
  // The handler reads JOB_INT_STAT and JS_STATUS but forgets JOB_INT_CLEAR: the level-triggered
  // line stays high and the handler runs again every interrupt latency.
  r.sim.mmio().set_irq_handler(IrqLine::kJob, [&] {
    ++calls;
    (void)r.rd(regs::kJobIntStat);
    (void)r.js(1, regs::kJsStatus);
  });
  r.enable(0);
  r.submit(1, r.chain(0, {{JobType::Null}}), 0);
  const unsigned storm = r.sim.checker()->config().irq_storm_deliveries;
  r.sim.run_for(20'000 + 1000 * (storm + 2));  // the job, then more deliveries than the storm takes
  ASSERT_GE(calls, storm);
  const auto rep = of(r, Detector::IrqLeftAsserted);
  ASSERT_EQ(rep.size(), 1U) << all(r);
  EXPECT_TRUE(contains(rep[0].what, "JOB interrupt handler returned")) << rep[0].what;
  EXPECT_TRUE(contains(rep[0].fix, "JOB_INT_CLEAR")) << rep[0].fix;
  r.sim.mmio().set_irq_handler(IrqLine::kJob, {});
}

TEST(CheckerJobs, AHandlerThatLeftItsLineHighIsReportedAtTheEndEvenBeforeAStorm) {
  // A test that stops the clock as soon as its job has ended sees one or two deliveries of a
  // handler that does not clear: too few for the storm threshold, but the line is high at the end
  // and the handler has been in and out without touching it.
  JobRig r = checked();
  unsigned calls = 0;
  r.sim.mmio().set_irq_handler(IrqLine::kJob, [&] {
    ++calls;
    (void)r.rd(regs::kJobIntStat);
  });
  r.enable(0);
  r.submit(1, r.chain(0, {{JobType::Null}}), 0);
  ASSERT_TRUE(r.sim.run_until([&] { return calls > 0; }, 1'000'000));
  r.sim.run_for(1);  // the handler has returned
  EXPECT_TRUE(r.sim.checker()->reports().empty()) << "one delivery is no storm";
  const auto& reps = r.sim.check();
  ASSERT_EQ(reps.size(), 1U) << all(r);
  EXPECT_TRUE(contains(reps[0].what, "still set at the end")) << reps[0].what;
  r.sim.mmio().set_irq_handler(IrqLine::kJob, {});
}

TEST(CheckerJobs, AJobInterruptHandlerThatClearsIsNoStorm) {
  JobRig r = checked();
  r.sim.mmio().set_irq_handler(IrqLine::kJob, [&] { handle_job_irq(r); });
  r.enable(0);
  for (unsigned i = 0; i < 12; ++i) {
    r.submit(1, r.chain(0, {{JobType::Null}}, i), 0);
    r.sim.run_until_idle();
  }
  EXPECT_EQ(r.rd(regs::kJobIntRawstat), 0U);
  EXPECT_TRUE(r.sim.check().empty()) << all(r);
  r.sim.mmio().set_irq_handler(IrqLine::kJob, {});
}

TEST(CheckerJobs, AnInterruptClearedAndRaisedAgainStartsAFreshBound) {
  JobRig r = checked();
  const Cycle bound = r.sim.checker()->config().fault_pending_bound;
  r.enable(0);
  // Two jobs, each handled well within the bound, their sum beyond it: no report.
  for (unsigned i = 0; i < 2; ++i) {
    r.submit(1, r.chain(0, {{JobType::Null}}, i), 0);
    r.sim.run_until_idle();
    r.sim.run_for(bound * 3 / 4);
    handle_job_irq(r);
  }
  EXPECT_TRUE(r.sim.check().empty()) << all(r);
}

}  // namespace
}  // namespace mali_sim
