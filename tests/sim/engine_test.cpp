// The engine against results derived by reasoning, not by copying output.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "mali_sim/gpu/gpu_spec.hpp"
#include "mali_sim/sim/engine.hpp"
#include "mali_sim/sim/trace_gen.hpp"
#include "protocol/rig.hpp"

namespace mali_sim {
namespace {

// A file per test and name: CTest runs tests in parallel.
std::string write_temp(const std::string& name, const std::string& text) {
  const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const auto path = std::filesystem::temp_directory_path() / ("mali_sim_engine_test_" + test + "_" + name);
  std::ofstream(path) << text;
  return path.string();
}

struct SimRun {
  explicit SimRun(const std::string& text, std::string policy = "panfrost-2m",
                  GpuSpec spec = testing::rig_spec(), EngineConfig ec = {}) {
    DriverConfig dc;
    dc.grow_policy = std::move(policy);
    ec.phys_mem_bytes = 512ULL << 20;
    engine = std::make_unique<Engine>(spec, dc, ec);
    auto r =
        trace::open_trace(write_temp(::testing::UnitTest::GetInstance()->current_test_info()->name(), text));
    EXPECT_TRUE(r);
    status = engine->run(**r);
  }
  std::unique_ptr<Engine> engine;
  Status status;
};

std::string heap_trace(const std::vector<unsigned>& chunks) {
  std::string t = "mali-sim-trace 1\nctx a\nbo a heap 32M noexec heap\njob a j cores=0-1 uses=heap\n";
  unsigned core = 0;
  for (unsigned c : chunks) {
    t += fmt::format("acc j {} +4 w heap+{:#x} 64\n", core, c * (2u << 20) + 0x100);
    core ^= 1;
  }
  return t + "end j\nfree a heap\n";
}

TEST(Engine, KDistinctChunksUnderPanfrost2mGiveKGrowsAndKTimes2MiB) {
  // Chunks 0, 3, 3, 7, 0, 15: four distinct.
  SimRun r(heap_trace({0, 3, 3, 7, 0, 15}));
  ASSERT_TRUE(r.status) << r.status.error().message;
  EXPECT_EQ(r.engine->driver().stats().grows, 4U);
  EXPECT_EQ(r.engine->results().heap_rss_peak_bytes, 4U * (2U << 20));
  EXPECT_EQ(r.engine->gpu().counters().accesses_done, 6U);
  ASSERT_EQ(r.engine->results().jobs.size(), 1U);
  EXPECT_FALSE(r.engine->results().jobs[0].failed);
}

TEST(Engine, SamePatternUnderPages64BacksOnly64PagesPerFault) {
  SimRun r(heap_trace({0, 3, 3, 7, 0, 15}), "pages:64");
  ASSERT_TRUE(r.status);
  EXPECT_EQ(r.engine->driver().stats().grows, 4U);
  EXPECT_EQ(r.engine->results().heap_rss_peak_bytes, 4U * 64U * 4096U);
}

TEST(Engine, AccessesToAPageBeingWalkedJoinTheWalk) {
  // One mapped page, one core, eight reads a cycle apart. The first misses and walks (at least
  // uTLB + L2 + one table read = 36 cycles with the rig's latencies, the upper tables being in the
  // walk cache or not); the other seven arrive while it walks, miss too and join it: one walk,
  // seven merged, nobody waits for a slot. The job manager's read of the job's descriptor (in a
  // BO of its own, through the job manager's own uTLB) is the other walk; its write-back hits.
  std::string t = "mali-sim-trace 1\nctx a\nbo a buf 4K noexec\njob a j cores=0 uses=buf\n";
  for (int i = 0; i < 8; ++i) t += fmt::format("acc j 0 +1 r buf+{:#x}\n", i * 8);
  t += "end j\n";
  EngineConfig ec;
  ec.outstanding_per_core = 64;  // never the limit here
  SimRun r(t, "panfrost-2m", testing::rig_spec(), ec);
  ASSERT_TRUE(r.status) << r.status.error().message;
  const MmuCounters c = r.engine->gpu().counters();
  EXPECT_EQ(c.walks, 2U);
  EXPECT_EQ(c.walks_merged, 7U);
  EXPECT_EQ(c.accesses_done, 8U);
  EXPECT_EQ(r.engine->results().core_stall_cycles, 0U) << "64 slots: the core never waits";
}

TEST(Engine, OutstandingLimitStallsTheCoreBehindAWalk) {
  std::string t = "mali-sim-trace 1\nctx a\nbo a buf 64K noexec\njob a j cores=0 uses=buf\n";
  for (int i = 0; i < 8; ++i) t += fmt::format("acc j 0 +1 r buf+{:#x}\n", i * 4096);  // 8 pages: 8 walks
  t += "end j\n";
  EngineConfig one;
  one.outstanding_per_core = 1;
  EngineConfig many;
  many.outstanding_per_core = 8;
  SimRun serial(t, "panfrost-2m", testing::rig_spec(), one);
  SimRun parallel(t, "panfrost-2m", testing::rig_spec(), many);
  ASSERT_TRUE(serial.status && parallel.status);
  EXPECT_GT(serial.engine->results().core_stall_cycles, parallel.engine->results().core_stall_cycles);
  EXPECT_GT(serial.engine->results().jobs[0].end, parallel.engine->results().jobs[0].end);
}

TEST(Engine, BuggyContextOfTheMultiContextMixFailsAndTheOthersComplete) {
  trace::GenParams p;
  p.kind = "multi-context";
  p.accesses = 3000;
  p.cores = 4;
  p.contexts = 3;
  p.heap_bytes = 8ULL << 20;
  p.buffer_bytes = 1ULL << 20;
  const auto path = (std::filesystem::temp_directory_path() / "mali_sim_engine_mix.trace").string();
  {
    auto w = trace::create_trace(path, trace::TraceFormat::Text);
    ASSERT_TRUE(w);
    ASSERT_TRUE(trace::generate(p, **w));
    ASSERT_TRUE((*w)->finish());
  }
  DriverConfig dc;
  EngineConfig ec;
  ec.phys_mem_bytes = 512ULL << 20;
  Engine engine(testing::rig_spec(), dc, ec);
  auto r = trace::open_trace(path);
  ASSERT_TRUE(r);
  ASSERT_TRUE(engine.run(**r));
  ASSERT_EQ(engine.results().jobs.size(), 3U);
  EXPECT_FALSE(engine.results().jobs[0].failed);
  EXPECT_FALSE(engine.results().jobs[1].failed);
  EXPECT_TRUE(engine.results().jobs[2].failed) << "the last context has the out-of-bounds bug";
  EXPECT_EQ(engine.driver().stats().terminal_faults, 1U);
}

TEST(Engine, SameInputsGiveIdenticalResults) {
  const std::string t = heap_trace({1, 2, 3, 1, 9, 9, 4});
  SimRun a(t), b(t);
  ASSERT_TRUE(a.status && b.status);
  EXPECT_EQ(a.engine->results().cycles, b.engine->results().cycles);
  EXPECT_EQ(a.engine->gpu().counters().walk_reads, b.engine->gpu().counters().walk_reads);
  EXPECT_EQ(a.engine->driver().stats().handler_cycles, b.engine->driver().stats().handler_cycles);
}

// A reader that hands out runs of accesses only as records (next_accesses), never straight into
// the engine's queues (append_accesses): the replay's path for readers that batch that way.
class RunsOnly final : public trace::TraceReader {
 public:
  explicit RunsOnly(trace::TraceReader& r) : r_(r) {}
  bool next(trace::Event& ev) override { return r_.next(ev); }
  const Status& error() const noexcept override { return r_.error(); }
  const trace::Names& names() const noexcept override { return r_.names(); }
  std::span<const std::uint32_t> uses() const noexcept override { return r_.uses(); }
  std::size_t next_accesses(std::span<trace::AccessRecord> out) override { return r_.next_accesses(out); }

 private:
  trace::TraceReader& r_;
};

// A reader that hands out every event through next(): the replay's one-event-at-a-time path.
class OneAtATime final : public trace::TraceReader {
 public:
  explicit OneAtATime(trace::TraceReader& r) : r_(r) {}
  bool next(trace::Event& ev) override { return r_.next(ev); }
  const Status& error() const noexcept override { return r_.error(); }
  const trace::Names& names() const noexcept override { return r_.names(); }
  std::span<const std::uint32_t> uses() const noexcept override { return r_.uses(); }

 private:
  trace::TraceReader& r_;
};

struct Outcome {
  std::uint64_t cycles, events, accesses, core_stall_cycles, accesses_done, accesses_failed, walks;
  std::vector<std::array<std::uint64_t, 5>> jobs;  // accesses, failed, dropped, begin, end
  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& o, const Outcome& x) {
  o << x.cycles << " cycles, " << x.events << " events, " << x.accesses << " accesses, "
    << x.core_stall_cycles << " core stall, " << x.accesses_done << " done, " << x.accesses_failed
    << " failed, " << x.walks << " walks; jobs";
  for (const auto& j : x.jobs)
    o << " (" << j[0] << ' ' << j[1] << ' ' << j[2] << ' ' << j[3] << ' ' << j[4] << ')';
  return o;
}

// How the engine gets the trace: straight into its queues (the binary reader), as runs of records,
// or one event at a time.
enum class Path : std::uint8_t { kAppended, kRuns, kOneAtATime };

Outcome replay(const std::string& path, const std::string& policy, unsigned cores, const EngineConfig& ec,
               Path how) {
  DriverConfig dc;
  dc.grow_policy = policy;
  GpuSpec spec = gpu_preset("g52").value();
  spec.shader_cores = cores;
  Engine engine(spec, dc, ec);
  auto r = trace::open_trace(path);
  EXPECT_TRUE(r);
  OneAtATime single(**r);
  RunsOnly runs(**r);
  const Status s = how == Path::kAppended ? engine.run(**r)
                   : how == Path::kRuns   ? engine.run(runs)
                                          : engine.run(single);
  EXPECT_TRUE(s) << s.error().message;
  const RunResults& res = engine.results();
  const MmuCounters c = engine.gpu().counters();
  Outcome o{res.cycles,      res.events,        res.accesses, res.core_stall_cycles,
            c.accesses_done, c.accesses_failed, c.walks,      {}};
  for (const JobOutcome& j : res.jobs)
    o.jobs.push_back({j.accesses, j.failed_accesses, j.dropped, j.begin, j.end});
  return o;
}

TEST(Engine, ReplayTimingIsPinnedAndTheSameForBothFormsAndBothPaths) {
  // Generated traces on the default GPU (g52, 2 cores, or 8 where said: `--set shader_cores=8`)
  // with `mali-sim run`'s defaults except the engine parameters given; 8 cores and one-cycle
  // deltas make cores tie for the same cycle, where the lowest-numbered goes first. Each trace runs
  // in text and binary form, straight into the queues, as runs of records and one event at a time:
  // the schedule (which core issues when, how long each waits) must not change with how it is
  // computed. The figures pin the model itself: any change to them is a change of the simulated
  // timing, to be explained. They changed when the driver's CPU became a timeline of its own
  // (cores issue while it works; jobs end at their last completion): every trace got faster or
  // stayed, and the multi-context one's failing job issued more before its kill, as its core no
  // longer waited for the driver. They changed again, by a few walks, when the TLBs' default
  // replacement became second chance (utlb/l2tlb.replacement=clock). And when the driver came to
  // probe as panfrost does (issue 11): cycles count from the end of the probe, so every figure
  // lost the old probe's three register reads and two writes (530 ns, 450 cycles at 850 MHz); in
  // the traces with faults, a stall tally and a job's end moved by a cycle or two more, as the bus
  // and the interrupt thread's wake-up are now converted from nanoseconds apart. And when jobs
  // came to run through the job slots (issue 12): a job begins about 11 500-13 000 cycles later
  // (user space creates its 64 KiB descriptor BO, 16 pages to back, and writes the descriptor;
  // SUBMIT's ioctl and the _NEXT register writes; the job manager walks to read the descriptor);
  // the run ends later again by the job interrupt's handling before `end` returns; the jobs
  // themselves take within a few hundred cycles of their old time (the descriptor's walk leaves
  // upper-level tables in the walk cache, one more walk in all). The multi-context trace changed
  // shape (its jobs run in pairs, as the two job slots allow), hence its new figures; its killed
  // job now fails all eight accesses waiting on the fault.
  struct Case {
    const char* kind;
    unsigned cores;
    std::uint64_t delta, heap, buffer;
    const char* policy;
    unsigned outstanding;
    std::uint64_t queue;
    Outcome want;
  };
  const Case cases[] = {
      {"streaming",
       2,
       4,
       64ULL << 20,
       1ULL << 20,
       "panfrost-2m",
       4,
       4096,
       {366592, 20007, 20000, 3164, 20000, 0, 375, {{20000, 0, 0, 276317, 318056}}}},
      {"tiler-heap",
       2,
       4,
       16ULL << 20,
       16ULL << 20,
       "panfrost-2m",
       1,
       4096,
       {2331268, 20007, 20000, 4370636, 20000, 0, 4226, {{20000, 0, 0, 41904, 2267432}}}},
      {"multi-context",
       2,
       4,
       8ULL << 20,
       1ULL << 20,
       "panfrost-2m",
       8,
       3,
       {3508092,
        20022,
        18292,
        5807101,
        18284,
        8,
        5939,
        {{6667, 0, 0, 406010, 1450150}, {6667, 0, 0, 1484643, 3362971}, {4958, 8, 1709, 1514223, 3412629}}}},
      {"heap-random",
       2,
       4,
       8ULL << 20,
       16ULL << 20,
       "pages:16",
       4,
       1,
       {3477540, 20005, 20000, 6738512, 20000, 0, 15781, {{20000, 0, 0, 32656, 3441949}}}},
      {"heap-random",
       8,
       1,
       8ULL << 20,
       16ULL << 20,
       "panfrost-2m",
       4,
       4096,
       {1135887, 20005, 20000, 8516840, 20000, 0, 14996, {{20000, 0, 0, 32656, 1100296}}}},
      {"tiler-heap",
       8,
       2,
       16ULL << 20,
       16ULL << 20,
       "panfrost-2m",
       4,
       2,
       {2190782, 20007, 20000, 16638147, 20000, 0, 4551, {{20000, 0, 0, 41904, 2126946}}}},
  };
  const auto dir = std::filesystem::temp_directory_path();
  for (const Case& c : cases) {
    SCOPED_TRACE(fmt::format("{} on {} cores", c.kind, c.cores));
    trace::GenParams p;
    p.kind = c.kind;
    p.accesses = 20000;
    p.cores = c.cores;
    p.mean_delta = c.delta;
    p.heap_bytes = c.heap;
    p.buffer_bytes = c.buffer;
    EngineConfig ec;
    ec.outstanding_per_core = c.outstanding;
    ec.queue_per_core = c.queue;
    for (auto [ext, fmt] :
         {std::pair{".trace", trace::TraceFormat::Text}, std::pair{".bin", trace::TraceFormat::Binary}}) {
      const std::string path =
          (dir / fmt::format("mali_sim_engine_pinned_{}_{}{}", c.kind, c.cores, ext)).string();
      {
        auto w = trace::create_trace(path, fmt);
        ASSERT_TRUE(w);
        ASSERT_TRUE(trace::generate(p, **w));
        ASSERT_TRUE((*w)->finish());
      }
      SCOPED_TRACE(ext);
      for (Path how : {Path::kAppended, Path::kRuns, Path::kOneAtATime})
        EXPECT_EQ(replay(path, c.policy, c.cores, ec, how), c.want) << static_cast<int>(how);
      std::filesystem::remove(path);
    }
  }
}

TEST(Engine, LopsidedTracesIssueInTheSameOrderWhateverPathTheAccessesTake) {
  // The engine takes runs of accesses as segments (appended at once, then issued) and falls back
  // to one access at a time when a core would run out of the accesses it had queued before a
  // segment; the order must be the model's either way. Bursts of one core's accesses, long and
  // zero deltas and small read-ahead limits make segments fall back often: every path, every
  // limit and every outstanding count must give one schedule for the same trace.
  const auto dir = std::filesystem::temp_directory_path();
  for (unsigned seed = 1; seed <= 4; ++seed) {
    const std::string path = (dir / fmt::format("mali_sim_engine_lopsided_{}.bin", seed)).string();
    {
      auto w = trace::create_trace(path, trace::TraceFormat::Binary);
      ASSERT_TRUE(w);
      trace::TraceWriter& tw = **w;
      const auto ctx = tw.context("a");
      ASSERT_TRUE(ctx);
      const auto heap = tw.bo_create(*ctx, "heap", 64ULL << 20, bo_flags::kHeap | bo_flags::kNoExec);
      const auto buf = tw.bo_create(*ctx, "buf", 16ULL << 20, bo_flags::kNoExec);
      ASSERT_TRUE(heap && buf);
      const unsigned cores = 2 + seed % 3;
      std::mt19937_64 rng(seed);
      for (unsigned jn = 0; jn < 2; ++jn) {
        const std::uint32_t uses[] = {*heap, *buf};
        const auto job = tw.job_begin(*ctx, fmt::format("j{}", jn), (1ULL << cores) - 1, uses);
        ASSERT_TRUE(job);
        std::vector<std::uint64_t> at(cores, 0);
        for (unsigned n = 0; n < 6000;) {
          const auto core = static_cast<std::uint16_t>(rng() % cores);
          const unsigned burst = std::array{1U, 1U, 3U, 40U, 700U}[rng() % 5];
          for (unsigned b = 0; b < burst && n < 6000; ++b, ++n) {
            const std::uint64_t delta = std::array<std::uint64_t, 6>{0, 1, 3, 4, 90, 4000}[rng() % 6];
            at[core] = rng() % 16 == 0 ? rng() % (15ULL << 20) : (at[core] + 64) % (15ULL << 20);
            const bool to_heap = rng() % 2 == 0;
            ASSERT_TRUE(tw.access(*job, core, delta, rng() % 3 == 0 ? Access::Write : Access::Read,
                                  trace::AddrKind::BoOffset, to_heap ? *heap : *buf, at[core], 64));
          }
        }
        ASSERT_TRUE(tw.job_end(*job));
      }
      ASSERT_TRUE(tw.finish());
    }
    for (std::uint64_t queue : {1ULL, 3ULL, 64ULL, 4096ULL}) {
      for (unsigned outstanding : {1U, 4U}) {
        SCOPED_TRACE(fmt::format("seed {}, engine.queue_per_core={}, engine.outstanding={}", seed, queue,
                                 outstanding));
        EngineConfig ec;
        ec.queue_per_core = queue;
        ec.outstanding_per_core = outstanding;
        const Outcome want = replay(path, "panfrost-2m", 4, ec, Path::kOneAtATime);
        EXPECT_EQ(want.accesses, 12000U);
        EXPECT_EQ(replay(path, "panfrost-2m", 4, ec, Path::kRuns), want);
        EXPECT_EQ(replay(path, "panfrost-2m", 4, ec, Path::kAppended), want);
      }
    }
    std::filesystem::remove(path);
  }
}

TEST(Engine, ProgressAndSamplesComeAtTheSameEventsWithRunsOfAccesses) {
  // 200k events: progress every 65536 events, samples every 10000 cycles, batched or not.
  trace::GenParams p;
  p.kind = "streaming";
  p.accesses = 200'000;
  p.cores = 2;
  p.buffer_bytes = 1ULL << 20;
  const auto path = (std::filesystem::temp_directory_path() / "mali_sim_engine_progress.bin").string();
  {
    auto w = trace::create_trace(path, trace::TraceFormat::Binary);
    ASSERT_TRUE(w);
    ASSERT_TRUE(trace::generate(p, **w));
    ASSERT_TRUE((*w)->finish());
  }
  auto run = [&](bool batched) {
    EngineConfig ec;
    ec.epoch = 10000;
    Engine engine(gpu_preset("g52").value(), DriverConfig{}, ec);
    auto r = trace::open_trace(path);
    EXPECT_TRUE(r);
    OneAtATime single(**r);
    std::vector<std::pair<std::uint64_t, Cycle>> progress;
    std::vector<std::pair<Cycle, std::uint64_t>> samples;
    const Status s = engine.run(
        batched ? static_cast<trace::TraceReader&>(**r) : single,
        [&](std::uint64_t events, Cycle now) { progress.emplace_back(events, now); },
        [&](const Sample& smp) { samples.emplace_back(smp.cycle, smp.accesses_done); });
    EXPECT_TRUE(s);
    return std::pair{progress, samples};
  };
  const auto batched = run(true);
  EXPECT_EQ(batched, run(false));
  ASSERT_EQ(batched.first.size(), 4U);  // 65536, 131072, 196608 and the end
  EXPECT_EQ(batched.first[0].first, 65536U);
  EXPECT_GT(batched.second.size(), 10U);
  std::filesystem::remove(path);
}

TEST(Engine, ErrorsNameTheTraceLine) {
  SimRun too_many_cores("mali-sim-trace 1\nctx a\njob a j cores=0-7\nend j\n");
  ASSERT_FALSE(too_many_cores.status);
  EXPECT_NE(too_many_cores.status.error().message.find("line 3"), std::string::npos)
      << too_many_cores.status.error().message;
  EXPECT_NE(too_many_cores.status.error().message.find("4 shader cores"), std::string::npos);
  SimRun unended("mali-sim-trace 1\nctx a\njob a j cores=0\n");
  ASSERT_FALSE(unended.status);
  EXPECT_NE(unended.status.error().message.find(":3: job 'j' never ends"), std::string::npos)
      << unended.status.error().message;
}

}  // namespace
}  // namespace mali_sim
