// The reference driver's job path as panfrost's: a chain written into a BO through the process's
// mapping, SUBMIT, the slot registers, the job interrupt, and the job's end (as_put, the fence).
#include <fmt/format.h>

#include <map>

#include "driver/driver_rig.hpp"
#include "mali_sim/job_descriptor.hpp"

namespace mali_sim::testing {
namespace {

using namespace bo_flags;

struct JobDriverRig : DriverRig {
  explicit JobDriverRig(DriverConfig cfg = driver_config()) : DriverRig(std::move(cfg)) {
    driver->set_job_done_handler([this](Driver::JobId id, const Driver::JobResult& r) { results[id] = r; });
  }
  // A descriptor BO of `ctx` holding `jobs`; returns the chain's address.
  GpuVa chain(CtxId ctx, std::vector<ChainJob> jobs) {
    const BoId b = bo(ctx, (jobs.size() * JobHeader::kAlignment + 4095) / 4096 * 4096, kNoExec);
    const GpuVa v = va(ctx, b);
    auto bytes = encode_job_chain(v, jobs);
    EXPECT_TRUE(bytes);
    EXPECT_TRUE(driver->write_bo(ctx, b, 0, *bytes));
    desc_bos[v] = b;
    return v;
  }
  std::map<Driver::JobId, Driver::JobResult> results;
  std::map<GpuVa, BoId> desc_bos;
};

std::vector<std::string> writes_to(const std::vector<MmioRecord>& log, std::uint32_t from, std::uint32_t to) {
  std::vector<std::string> out;
  for (const MmioRecord& r : log) {
    if (r.write && r.offset >= from && r.offset < to)
      out.push_back(fmt::format("{} {:#x}", register_name(r.offset), r.value));
  }
  return out;
}

TEST(DriverJob, ASubmittedChainGoesThroughItsSlotAndTheJobInterruptEndsIt) {
  JobDriverRig rig;
  const CtxId ctx = rig.open();
  const GpuVa jc = rig.chain(ctx, {{JobType::Null}, {JobType::Null}});
  rig.driver->clear_mmio_log();
  auto id = rig.driver->submit(ctx, jc, {rig.desc_bos[jc]}, /*fragment=*/false);
  ASSERT_TRUE(id);
  rig.q.run_until_idle();
  ASSERT_TRUE(rig.results.contains(*id));
  EXPECT_TRUE(rig.results[*id].ok);
  EXPECT_EQ(rig.results[*id].js_status, kExceptionDone);
  // panfrost_job_hw_submit() on JS1 (not a fragment job): the chain, every core, the AS with
  // THREAD_PRI(8), clean+invalidate flushes at start and end, the chain flag of an odd job and
  // flush reduction (the rig is arch 7), the flush id, START.
  const std::uint32_t flush_id = rig.gpu->read32(regs::kLatestFlush) - 2;  // two flushes since: start, end
  const std::vector<std::string> expected = {fmt::format("JS1_HEAD_NEXT_LO {:#x}", jc),
                                             "JS1_HEAD_NEXT_HI 0x0",
                                             "JS1_AFFINITY_NEXT_LO 0xf",
                                             "JS1_AFFINITY_NEXT_HI 0x0",
                                             "JS1_CONFIG_NEXT 0x87b00",
                                             fmt::format("JS1_FLUSH_ID_NEXT {:#x}", flush_id),
                                             "JS1_COMMAND_NEXT 0x1"};
  EXPECT_EQ(writes_to(rig.driver->mmio_log(), regs::js_reg(1, 0), regs::js_reg(2, 0)), expected);
  // The interrupt thread: clear what it read, then unmask.
  const std::vector<std::string> irq = {"JOB_INT_MASK 0x0", "JOB_INT_CLEAR 0x2", "JOB_INT_MASK 0x70007"};
  EXPECT_EQ(writes_to(rig.driver->mmio_log(), regs::kJobIntRawstat, regs::kJsBase), irq);
  EXPECT_EQ(rig.driver->context_info(ctx)->as_count, 0U) << "as_put after the job";
  EXPECT_EQ(rig.driver->stats().jobs_done, 1U);
  EXPECT_EQ(rig.driver->jobs_in_flight(), 0U);
}

TEST(DriverJob, AFragmentJobGoesToSlotZero) {
  JobDriverRig rig;
  const CtxId ctx = rig.open();
  const GpuVa jc = rig.chain(ctx, {{JobType::Null}});
  rig.driver->clear_mmio_log();
  ASSERT_TRUE(rig.driver->submit(ctx, jc, {}, /*fragment=*/true));
  rig.q.run_until_idle();
  EXPECT_FALSE(writes_to(rig.driver->mmio_log(), regs::js_reg(0, 0), regs::js_reg(1, 0)).empty());
  EXPECT_TRUE(writes_to(rig.driver->mmio_log(), regs::js_reg(1, 0), regs::js_reg(2, 0)).empty());
}

TEST(DriverJob, ThreeJobsOnASlotGoTwoAtATimeAndAllEnd) {
  JobDriverRig rig;
  const CtxId ctx = rig.open();
  std::vector<Driver::JobId> ids;
  // Chains of 200 NULL jobs, each a descriptor read and a write-back (about 30 cycles): longer
  // than a SUBMIT ioctl (2 us), so the three overlap.
  const std::vector<ChainJob> long_chain(200, ChainJob{JobType::Null});
  std::vector<GpuVa> chains;
  for (int i = 0; i < 3; ++i) chains.push_back(rig.chain(ctx, long_chain));
  rig.driver->clear_mmio_log();
  for (GpuVa jc : chains) ids.push_back(*rig.driver->submit(ctx, jc, {}, false));
  rig.q.run_until_idle();
  // The third waited in software, the slot holding two (current and _NEXT): its START came after
  // the job interrupt that ended the first.
  std::vector<std::size_t> starts;
  std::size_t first_clear = 0;
  const auto& log = rig.driver->mmio_log();
  for (std::size_t i = 0; i < log.size(); ++i) {
    if (log[i].write && log[i].offset == regs::js_reg(1, regs::kJsCommandNext) && log[i].value == 1)
      starts.push_back(i);
    if (log[i].write && log[i].offset == regs::kJobIntClear && first_clear == 0) first_clear = i;
  }
  ASSERT_EQ(starts.size(), 3U);
  EXPECT_LT(starts[1], first_clear);
  EXPECT_GT(starts[2], first_clear);
  for (Driver::JobId id : ids) {
    ASSERT_TRUE(rig.results.contains(id)) << id;
    EXPECT_TRUE(rig.results[id].ok);
  }
  EXPECT_EQ(rig.driver->stats().jobs_done, 3U);
}

TEST(DriverJob, AChainPointingAtNoBoFaultsTheMmuAndTheJobFails) {
  // The job manager's read of the descriptor faults; no BO holds the address, so the MMU handler
  // kills the AS; the job ends with JOB_READ_FAULT and the driver fails it.
  JobDriverRig rig;
  rig.allowed = {};  // the reference driver handles this correctly: the checker stays silent
  const CtxId ctx = rig.open();
  auto id = rig.driver->submit(ctx, 0x7000'0000, {}, false);
  ASSERT_TRUE(id);
  rig.q.run_until_idle();
  ASSERT_TRUE(rig.results.contains(*id));
  EXPECT_FALSE(rig.results[*id].ok);
  EXPECT_EQ(rig.results[*id].js_status, kExceptionJobReadFault);
  EXPECT_EQ(rig.driver->stats().terminal_faults, 1U);
  EXPECT_EQ(rig.driver->stats().jobs_failed, 1U);
  // The context can run again: its next job's as_get brings the AS back.
  const GpuVa jc = rig.chain(ctx, {{JobType::Null}});
  auto again = rig.driver->submit(ctx, jc, {}, false);
  rig.q.run_until_idle();
  EXPECT_TRUE(rig.results[*again].ok);
}

DriverConfig job_timeout(std::uint64_t ns) {
  DriverConfig c = driver_config();
  c.costs.job_timeout_ns = ns;
  return c;
}

TEST(DriverJob, AJobStillOnTheGpuAfterTheTimeoutFailsTheGpuIsResetAndTheJobBehindItRuns) {
  // panfrost's scheduler timeout at 2 us instead of 500 ms: a chain of 400 NULL jobs (a
  // descriptor read and a write-back each, some 30 cycles: about 12 us) is still running then.
  JobDriverRig rig(job_timeout(2'000));
  const CtxId ctx = rig.open();
  const GpuVa slow = rig.chain(ctx, std::vector<ChainJob>(400, ChainJob{JobType::Null}));
  const GpuVa quick = rig.chain(ctx, {{JobType::Null}});
  const auto hung = rig.driver->submit(ctx, slow, {}, false);
  const auto next = rig.driver->submit(ctx, quick, {}, false);  // waits in _NEXT behind it
  ASSERT_TRUE(hung && next);
  rig.q.run_until(rig.q.now() + 100'000);
  ASSERT_TRUE(rig.results.contains(*hung));
  EXPECT_FALSE(rig.results[*hung].ok);
  EXPECT_NE(rig.results[*hung].error.find("timed out"), std::string::npos) << rig.results[*hung].error;
  EXPECT_EQ(rig.driver->stats().gpu_resets, 1U);
  // The job that was waiting in _NEXT was lost with the reset and went to the GPU again.
  ASSERT_TRUE(rig.results.contains(*next));
  EXPECT_TRUE(rig.results[*next].ok);
  EXPECT_EQ(rig.driver->jobs_in_flight(), 0U);
}

TEST(DriverJob, AJobThatEndsBeforeItsTimeoutLeavesTheTimerToFireOnNothing) {
  // 20 us: the job itself takes some 100 cycles, its interrupt 1 us and the thread's wake-up 5 us.
  JobDriverRig rig(job_timeout(20'000));
  const CtxId ctx = rig.open();
  const auto id = rig.driver->submit(ctx, rig.chain(ctx, {{JobType::Null}}), {}, false);
  ASSERT_TRUE(id);
  const Cycle submitted = rig.q.now();
  rig.q.run_until_idle();
  ASSERT_TRUE(rig.results[*id].ok);
  EXPECT_LT(rig.q.now(), submitted + 20'000) << "the pending timer does not keep the clock running";
  rig.q.run_until(rig.q.now() + 100'000);  // past the timer
  EXPECT_EQ(rig.driver->stats().gpu_resets, 0U);
}

TEST(DriverJob, AJobTimeoutOfZeroNeverResets) {
  JobDriverRig rig(job_timeout(0));
  const CtxId ctx = rig.open();
  const auto id =
      rig.driver->submit(ctx, rig.chain(ctx, std::vector<ChainJob>(400, ChainJob{JobType::Null})), {}, false);
  rig.q.run_until(rig.q.now() + 100'000);
  EXPECT_TRUE(rig.results[*id].ok);
  EXPECT_EQ(rig.driver->stats().gpu_resets, 0U);
}

TEST(DriverJob, WriteBoRefusesHeapsAndWritesPastTheEnd) {
  JobDriverRig rig;
  const CtxId ctx = rig.open();
  const BoId heap = rig.bo(ctx, 2 << 20, kNoExec | kHeap);
  const BoId b = rig.bo(ctx, 4096, kNoExec);
  const std::uint8_t byte = 1;
  EXPECT_FALSE(rig.driver->write_bo(ctx, heap, 0, std::span(&byte, 1)));
  EXPECT_FALSE(rig.driver->write_bo(ctx, b, 4096, std::span(&byte, 1)));
  EXPECT_TRUE(rig.driver->write_bo(ctx, b, 4095, std::span(&byte, 1)));
}

}  // namespace
}  // namespace mali_sim::testing
