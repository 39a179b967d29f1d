// The replay's jobs go through the job slots as a real process's do: a descriptor written into a
// BO, SUBMIT, the driver's _NEXT registers, the job manager reading the descriptor, the job
// interrupt. Expected values come from the protocol (docs/hardware-facts.md §12, §13) and from
// the trace's shape.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "mali_sim/regs.hpp"
#include "mali_sim/sim/engine.hpp"
#include "protocol/rig.hpp"

namespace mali_sim {
namespace {

std::string write_temp(const std::string& text) {
  const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const auto path = std::filesystem::temp_directory_path() / ("mali_sim_engine_jobs_" + test + ".trace");
  std::ofstream(path) << text;
  return path.string();
}

struct JobRun {
  explicit JobRun(const std::string& text, EngineConfig ec = {}, DriverConfig dc = {}) {
    ec.phys_mem_bytes = 256ULL << 20;
    dc.record_mmio = true;  // writes() reads the driver's register log
    engine = std::make_unique<Engine>(testing::rig_spec(), std::move(dc), ec);
    auto r = trace::open_trace(write_temp(text));
    EXPECT_TRUE(r);
    status = engine->run(**r);
  }
  const JobOutcome& job(const std::string& name) const {
    for (const JobOutcome& j : engine->results().jobs)
      if (j.name == name) return j;
    throw std::runtime_error("no job " + name);
  }
  bool overlapped(const std::string& a, const std::string& b) const {
    return job(a).begin < job(b).end && job(b).begin < job(a).end;
  }
  // The values the driver wrote to a register, in order.
  std::vector<std::uint32_t> writes(std::uint32_t offset) const {
    std::vector<std::uint32_t> v;
    for (const MmioRecord& m : engine->driver().mmio_log())
      if (m.write && m.offset == offset) v.push_back(m.value);
    return v;
  }
  std::unique_ptr<Engine> engine;
  Status status;
};

// Job `name` of context `ctx` on `core`: `n` reads of its buffer, `delta` cycles apart.
std::string job_lines(const std::string& ctx, const std::string& name, unsigned core, unsigned n,
                      const std::string& type = "", unsigned delta = 4) {
  std::string t =
      fmt::format("job {} {} cores={} uses=buf{}\n", ctx, name, core, type.empty() ? "" : " type=" + type);
  for (unsigned i = 0; i < n; ++i)
    t += fmt::format("acc {} {} +{} r buf+{:#x}\n", name, core, delta, (i % 4) * 64);
  return t;
}

constexpr const char* kTwoContexts =
    "mali-sim-trace 1\nctx a\nbo a buf 64K noexec\nctx b\nbo b buf 64K noexec\n";

TEST(EngineJobs, ATraceJobIsSubmittedThroughItsSlotsNextRegistersAndCompletesWithDone) {
  // A compute job of context a and a fragment job of context b: slot 1 and slot 0, each started
  // with JS_COMMAND_NEXT = START, each ending DONE through the job interrupt.
  // Both begin before their accesses (a control event waits for the accesses before it), and
  // each lasts 40 000 cycles, far longer than a submission takes the driver.
  std::string t =
      std::string(kTwoContexts) + "job a c cores=0 uses=buf\njob b f cores=1 uses=buf type=fragment\n";
  for (unsigned i = 0; i < 400; ++i)
    t += fmt::format("acc c 0 +100 r buf+{:#x}\nacc f 1 +100 r buf+{:#x}\n", i % 64 * 64, i % 64 * 64);
  JobRun r(t + "end c\nend f\n");
  ASSERT_TRUE(r.status) << r.status.error().message;
  EXPECT_EQ(r.job("c").slot, 1U);
  EXPECT_EQ(r.job("f").slot, 0U);
  EXPECT_EQ(r.job("c").js_status, kExceptionDone);
  EXPECT_EQ(r.job("f").js_status, kExceptionDone);
  const auto start = static_cast<std::uint32_t>(regs::JsCommand::Start);
  EXPECT_EQ(r.writes(regs::js_reg(1, regs::kJsCommandNext)), std::vector<std::uint32_t>{start});
  EXPECT_EQ(r.writes(regs::js_reg(0, regs::kJsCommandNext)), std::vector<std::uint32_t>{start});
  // JS_CONFIG_NEXT names the address space each context was bound to: two different ones.
  const auto cfg1 = r.writes(regs::js_reg(1, regs::kJsConfigNext));
  const auto cfg0 = r.writes(regs::js_reg(0, regs::kJsConfigNext));
  ASSERT_EQ(cfg1.size(), 1U);
  ASSERT_EQ(cfg0.size(), 1U);
  EXPECT_NE(cfg1[0] & regs::kJsConfigAsMask, cfg0[0] & regs::kJsConfigAsMask);
  const DriverStats& d = r.engine->driver().stats();
  EXPECT_EQ(d.jobs_submitted, 2U);
  EXPECT_EQ(d.jobs_done, 2U);
  EXPECT_EQ(d.jobs_failed, 0U);
  EXPECT_GE(d.job_irqs, 1U);
  EXPECT_EQ(r.engine->gpu().job_manager().chains_done(), 2U);
  // Two slots: the jobs run at the same time; each ends before the driver completes it.
  EXPECT_TRUE(r.overlapped("c", "f"));
  for (const char* j : {"c", "f"}) {
    EXPECT_LT(r.job(j).begin, r.job(j).end);
    EXPECT_LT(r.job(j).end, r.job(j).fence);
  }
}

TEST(EngineJobs, TwoJobsForOneSlotRunOneAfterTheOtherAndOnTwoSlotsTogether) {
  // Two compute jobs of different contexts, on different cores, their accesses interleaved in the
  // trace: slot 1 runs one job at a time (the second waits in _NEXT), so the second begins only
  // after the first has ended. Make the second a fragment job and they overlap.
  const auto trace = [](const std::string& second_type) {
    std::string t = std::string(kTwoContexts) + "job a x cores=0 uses=buf\n" + "job b y cores=1 uses=buf" +
                    (second_type.empty() ? "" : " type=" + second_type) + "\n";
    // 40 000 cycles each: far longer than a submission takes the driver.
    for (unsigned i = 0; i < 400; ++i)
      t += fmt::format("acc x 0 +100 r buf+{:#x}\nacc y 1 +100 r buf+{:#x}\n", i % 64 * 64, i % 64 * 64);
    return t + "end x\nend y\n";
  };
  const JobRun serial(trace(""));
  ASSERT_TRUE(serial.status) << serial.status.error().message;
  EXPECT_GE(serial.job("y").begin, serial.job("x").end);
  EXPECT_EQ(serial.job("x").slot, 1U);
  EXPECT_EQ(serial.job("y").slot, 1U);
  // Both went to the hardware at once: the second through _NEXT while the first ran.
  EXPECT_EQ(serial.writes(regs::js_reg(1, regs::kJsCommandNext)).size(), 2U);
  const JobRun together(trace("fragment"));
  ASSERT_TRUE(together.status) << together.status.error().message;
  EXPECT_TRUE(together.overlapped("x", "y"));
}

TEST(EngineJobs, MoreJobsAtOnceThanTheSlotsRunStopsWithAnErrorNamingTheSlotAndTheCure) {
  // Job y's accesses fill core 1's read-ahead (8) before x's `end`: y cannot start while x holds
  // slot 1, and x cannot end before the trace is read past y's accesses.
  std::string t = std::string(kTwoContexts) + "job a x cores=0 uses=buf\njob b y cores=1 uses=buf\n";
  for (unsigned i = 0; i < 40; ++i) t += fmt::format("acc y 1 +4 r buf+{:#x}\n", i * 64);
  t += "acc x 0 +4 r buf+0x0\nend x\nend y\n";
  EngineConfig ec;
  ec.queue_per_core = 8;
  const JobRun r(t, ec);
  ASSERT_FALSE(r.status);
  const std::string& msg = r.status.error().message;
  EXPECT_NE(msg.find("job 'y' waits for job slot 1, where job 'x' runs until its `end`"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("type=fragment"), std::string::npos) << msg;
}

TEST(EngineJobs, AJobWhoseAddressSpaceIsKilledFailsWithABusFaultAndTheRestOfItIsNeverIssued) {
  // One core, one access in flight: the write to an address no BO covers faults, the driver
  // kills the AS, the job manager ends the job with JOB_BUS_FAULT (the job was running shader
  // work), and the 30 reads behind the write never issue.
  std::string t = "mali-sim-trace 1\nctx a\nbo a buf 64K noexec\njob a j cores=0 uses=buf\n";
  t += "acc j 0 +4 r buf+0x0\nacc j 0 +4 w 0x10000000\n";
  for (unsigned i = 0; i < 30; ++i) t += fmt::format("acc j 0 +4 r buf+{:#x}\n", i * 64);
  t += "end j\n";
  EngineConfig ec;
  ec.outstanding_per_core = 1;
  const JobRun r(t, ec);
  ASSERT_TRUE(r.status) << r.status.error().message;
  const JobOutcome& j = r.job("j");
  EXPECT_TRUE(j.failed);
  EXPECT_EQ(j.js_status, kExceptionJobBusFault);
  EXPECT_EQ(j.accesses, 2U);
  EXPECT_EQ(j.failed_accesses, 1U);
  EXPECT_EQ(j.dropped, 30U);
  EXPECT_EQ(r.engine->gpu().counters().accesses_done, 1U) << "nothing after the kill reached the MMU";
  EXPECT_EQ(r.engine->driver().stats().jobs_failed, 1U);
  EXPECT_EQ(r.engine->gpu().job_manager().chains_failed(), 1U);
}

TEST(EngineJobs, AJobLongerThanTheDriversTimeoutFailsWithTheReasonAndTheGpuRunsTheNextJob) {
  // The timeout at 20 us: job j's 100 reads 1000 cycles apart (100 us at the rig's 1 GHz) time
  // out, the driver resets the GPU and fails j with the reason; the rest of j is dropped. k, a
  // fragment job of another context with 10 reads (10 us), then runs to DONE.
  std::string t = kTwoContexts;
  t += job_lines("a", "j", 0, 100, "", 1000);
  t += job_lines("b", "k", 1, 10, "fragment", 1000);
  t += "end j\nend k\n";
  DriverConfig dc;
  dc.costs.job_timeout_ns = 20'000;
  const JobRun r(t, {}, dc);
  ASSERT_TRUE(r.status) << r.status.error().message;
  const JobOutcome& j = r.job("j");
  EXPECT_TRUE(j.failed);
  EXPECT_NE(j.error.find("timed out after 20 us"), std::string::npos) << j.error;
  EXPECT_GE(j.fence - j.begin, 20'000U) << "not before the timeout";
  EXPECT_EQ(j.accesses + j.dropped, 100U);
  EXPECT_GT(j.dropped, 0U);
  EXPECT_EQ(r.engine->driver().stats().gpu_resets, 1U);
  const JobOutcome& k = r.job("k");
  EXPECT_FALSE(k.failed) << k.error;
  EXPECT_EQ(k.accesses, 10U);
  EXPECT_EQ(k.js_status, kExceptionDone);
}

TEST(EngineJobs, JobDescriptorsLiveInOneBoAndAreReusedOnceTheirJobHasEnded) {
  // Three jobs of one context one after another use the same descriptor (each ended before the
  // next began); two at once use two, 64 bytes apart (the rig is Bifrost: 64-byte jobs).
  std::string seq = "mali-sim-trace 1\nctx a\nbo a buf 64K noexec\n";
  for (const char* n : {"j1", "j2", "j3"}) seq += job_lines("a", n, 0, 4) + fmt::format("end {}\n", n);
  const JobRun s(seq);
  ASSERT_TRUE(s.status) << s.status.error().message;
  const auto heads = s.writes(regs::js_reg(1, regs::kJsHeadNextLo));
  ASSERT_EQ(heads.size(), 3U);
  EXPECT_EQ(std::set<std::uint32_t>(heads.begin(), heads.end()).size(), 1U);

  std::string both = "mali-sim-trace 1\nctx a\nbo a buf 64K noexec\n" + job_lines("a", "c", 0, 4) +
                     job_lines("a", "f", 1, 4, "fragment") + "end c\nend f\n";
  const JobRun b(both);
  ASSERT_TRUE(b.status) << b.status.error().message;
  const auto c = b.writes(regs::js_reg(1, regs::kJsHeadNextLo));
  const auto f = b.writes(regs::js_reg(0, regs::kJsHeadNextLo));
  ASSERT_EQ(c.size(), 1U);
  ASSERT_EQ(f.size(), 1U);
  EXPECT_EQ(f[0] - c[0], 64U);
}

TEST(EngineJobs, AJobWithoutAccessesStillRunsThroughItsSlot) {
  const JobRun r("mali-sim-trace 1\nctx a\njob a empty cores=0\nend empty\n");
  ASSERT_TRUE(r.status) << r.status.error().message;
  EXPECT_FALSE(r.job("empty").failed);
  EXPECT_EQ(r.job("empty").js_status, kExceptionDone);
  EXPECT_EQ(r.engine->gpu().job_manager().chains_done(), 1U);
}

}  // namespace
}  // namespace mali_sim
