// The tiny driver's job path against a simulated Mali-G52: a job chain written into the context
// page (as user space would), submitted through a job slot, ended by the job interrupt; a job
// whose shader faults; a hung job ended by a reset.
//
// A shader job's work is a *workload*: the list of memory accesses its shader cores make,
// registered with Simulator::add_workload() and named in the job's payload. The GPU reads the
// descriptor through the job's address space, runs the accesses on the cores of its affinity
// through the MMU, then writes the job's status back into the descriptor.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "mali_sim/regs.hpp"
#include "test_platform.hpp"

namespace {

using mali_sim::Access;
using mali_sim::ChainJob;
using mali_sim::GpuVa;
using mali_sim::JobType;
using mali_sim::Simulator;
using tiny::JobEnd;
using tiny::TinyMmu;
using tiny_test::g52;
using tiny_test::platform;
using tiny_test::strict;

constexpr unsigned kFragmentSlot = 0;  // the G52's JS0 takes fragment jobs
constexpr unsigned kComputeSlot = 1;   // JS1 compute, vertex, tiler, write value...

// `n` reads over `bo`, one every `delta` cycles on each core.
std::vector<mali_sim::JobAccess> reads(GpuVa bo, unsigned n, mali_sim::Cycle delta = 100) {
  std::vector<mali_sim::JobAccess> v;
  for (unsigned i = 0; i < n; ++i) v.push_back({bo + (i % 16) * mali_sim::kPageSize, Access::Read, delta});
  return v;
}

// User space's part: the chain's descriptors in the context page, `first` jobs in.
GpuVa write_chain(Simulator& sim, const TinyMmu& drv, unsigned as, const std::vector<ChainJob>& jobs,
                  unsigned first = 0) {
  const unsigned off = first * sim.job_stride();
  return sim.write_job_chain(drv.ctx_page(as) + off, TinyMmu::kCtxPageVa + off, jobs).value();
}

bool ended(const TinyMmu& drv, TinyMmu::JobId id) { return drv.job(id).end != JobEnd::Running; }

TEST(TinyJobs, AJobRunsItsWorkloadAndItsDoneInterruptEndsIt) {
  Simulator sim(g52(), strict());
  TinyMmu drv(platform(sim));
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.ctx_create(0));
  const GpuVa bo = drv.bo_create(0, 64 * 1024).value();

  // A compute job, then a WRITE_VALUE job that writes a fence value into the BO when it is done:
  // the GPU's own write, through the MMU.
  ChainJob compute{JobType::Compute};
  compute.workload = sim.add_workload(reads(bo, 32));
  ChainJob fence{JobType::WriteValue};
  fence.write_value = {bo + 0x100, mali_sim::WriteValueType::Immediate64, 0xF00D};
  const GpuVa head = write_chain(sim, drv, 0, {compute, fence});

  const TinyMmu::JobId id = drv.job_submit(0, kComputeSlot, head).value();
  EXPECT_FALSE(drv.job_submit(0, kComputeSlot, head)) << "one job per slot at a time";
  ASSERT_TRUE(sim.run_until([&] { return ended(drv, id); }, 50'000'000));

  EXPECT_EQ(drv.job(id).end, JobEnd::Done);
  EXPECT_EQ(drv.job(id).js_status, mali_sim::kExceptionDone);
  EXPECT_EQ(drv.stats().jobs_done, 1U);
  EXPECT_EQ(sim.workload(compute.workload).done, 32U) << "every access of the workload ran";
  std::uint64_t value = 0;
  ASSERT_TRUE(sim.mem().read64(drv.bo_pages(0, bo)[0] + 0x100, value));
  EXPECT_EQ(value, 0xF00DU) << "the WRITE_VALUE job wrote through the MMU into the BO's first page";
  // The GPU wrote each job's status back into its descriptor.
  EXPECT_EQ(sim.read_job_header(drv.ctx_page(0)).value().exception_status, mali_sim::kExceptionDone);
  EXPECT_FALSE(drv.slot_busy(kComputeSlot));

  drv.ctx_destroy(0);
  EXPECT_TRUE(mali_sim::testing::no_reports(sim)) << "the interrupt was cleared, the AS idle when disabled";
}

TEST(TinyJobs, AWriteValueIntoAHeapGrowsItThroughTheOrdinaryFaultPath) {
  Simulator sim(g52(), strict());
  TinyMmu drv(platform(sim));
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.ctx_create(0));
  const GpuVa heap = drv.heap_create(0, 8 << 20).value();
  ChainJob w{JobType::WriteValue};
  w.write_value = {heap + 3 * mali_sim::kSize2M + 8, mali_sim::WriteValueType::Immediate32, 7};
  const TinyMmu::JobId id = drv.job_submit(0, kComputeSlot, write_chain(sim, drv, 0, {w})).value();
  ASSERT_TRUE(sim.run_until([&] { return ended(drv, id); }, 50'000'000));
  EXPECT_EQ(drv.job(id).end, JobEnd::Done) << "the write stalled on its fault and went on after the grow";
  EXPECT_EQ(drv.stats().grows, 1U);
  drv.ctx_destroy(0);
  EXPECT_TRUE(mali_sim::testing::no_reports(sim));
}

TEST(TinyJobs, AShaderFaultOutsideAnyHeapFailsTheJobWithABusFaultAndSparesTheOtherContext) {
  Simulator sim(g52(), strict());
  TinyMmu drv(platform(sim));
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.ctx_create(0));
  ASSERT_TRUE(drv.ctx_create(1));
  const GpuVa bad_bo = drv.bo_create(0, 64 * 1024).value();
  const GpuVa good_bo = drv.bo_create(1, 64 * 1024).value();

  // AS0's compute job reads its BO, then follows a stray pointer just past it, then would go on.
  std::vector<mali_sim::JobAccess> stray = {{bad_bo, Access::Read, 10}};
  stray.push_back({bad_bo + 64 * 1024 + 0x100, Access::Read, 10});
  for (unsigned i = 0; i < 20; ++i) stray.push_back({bad_bo, Access::Read, 10});
  ChainJob bad{JobType::Compute};
  bad.workload = sim.add_workload(stray);
  // AS1's fragment job runs at the same time on the other slot.
  ChainJob good{JobType::Fragment};
  good.workload = sim.add_workload(reads(good_bo, 64, 200));

  const TinyMmu::JobId bad_id = drv.job_submit(0, kComputeSlot, write_chain(sim, drv, 0, {bad})).value();
  const TinyMmu::JobId good_id = drv.job_submit(1, kFragmentSlot, write_chain(sim, drv, 1, {good})).value();
  ASSERT_TRUE(sim.run_until([&] { return ended(drv, bad_id) && ended(drv, good_id); }, 50'000'000));

  // The driver could not fix the fault and switched AS0 off; the GPU ended the job with the
  // status a shader's failed access gets (JOB_BUS_FAULT), and issued nothing more of it.
  EXPECT_TRUE(drv.ctx_killed(0));
  EXPECT_EQ(drv.job(bad_id).end, JobEnd::Failed);
  EXPECT_EQ(drv.job(bad_id).js_status, mali_sim::kExceptionJobBusFault);
  EXPECT_LT(sim.workload(bad.workload).issued, stray.size()) << "the rest of the killed job never ran";
  EXPECT_EQ(drv.stats().jobs_failed, 1U);
  EXPECT_FALSE(drv.job_submit(0, kComputeSlot, TinyMmu::kCtxPageVa)) << "a killed context takes no jobs";

  EXPECT_EQ(drv.job(good_id).end, JobEnd::Done) << "the other address space is untouched";
  EXPECT_EQ(sim.workload(good.workload).done, 64U);

  drv.ctx_destroy(0);
  drv.ctx_destroy(1);
  EXPECT_TRUE(mali_sim::testing::no_reports(sim));
}

TEST(TinyJobs, AHungJobIsEndedByAResetAndTheGpuRunsJobsAgain) {
  Simulator sim(g52(), strict());
  TinyMmu drv(platform(sim));
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.ctx_create(0));
  const GpuVa bo = drv.bo_create(0, 64 * 1024).value();

  // A job far longer than the driver's patience: 1000 reads, 1 ms apart.
  ChainJob slow{JobType::Compute};
  slow.workload = sim.add_workload(reads(bo, 1000, 1'000'000));
  const TinyMmu::JobId hung = drv.job_submit(0, kComputeSlot, write_chain(sim, drv, 0, {slow})).value();
  // The driver's job timeout (panfrost: 500 ms; here 10 ms of GPU clock) passes.
  const mali_sim::Cycle timeout = sim.now() + 10'000'000;
  EXPECT_FALSE(sim.run_until([&] { return ended(drv, hung); }, timeout));
  ASSERT_EQ(drv.job(hung).end, JobEnd::Running);

  ASSERT_TRUE(drv.reset());
  EXPECT_EQ(drv.job(hung).end, JobEnd::LostInReset);
  EXPECT_EQ(drv.stats().resets, 1U);
  EXPECT_EQ(sim.mmio().read32(mali_sim::regs::js_reg(kComputeSlot, mali_sim::regs::kJsStatus)), 0U)
      << "the reset left the slot idle";
  const std::size_t issued = sim.workload(slow.workload).issued;
  EXPECT_LT(issued, 1000U);
  sim.run_for(5'000'000);
  EXPECT_EQ(sim.workload(slow.workload).issued, issued) << "the reset stopped the job's cores";

  // The context survived: its address space was enabled again, and a new job runs to the end.
  ChainJob quick{JobType::Compute};
  quick.workload = sim.add_workload(reads(bo, 8));
  const TinyMmu::JobId id = drv.job_submit(0, kComputeSlot, write_chain(sim, drv, 0, {quick}, 1)).value();
  ASSERT_TRUE(sim.run_until([&] { return ended(drv, id); }, sim.now() + 50'000'000));
  EXPECT_EQ(drv.job(id).end, JobEnd::Done);
  EXPECT_EQ(sim.workload(quick.workload).done, 8U);

  drv.ctx_destroy(0);
  EXPECT_TRUE(mali_sim::testing::no_reports(sim));
}

}  // namespace
