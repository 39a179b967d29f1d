// Replay timing as on an SoC: the driver's CPU and the GPU's cores run concurrently, so a context
// is slowed by another only through hardware they share; and time-series rows hold the counters
// as of exactly their cycle. Expected values are derived in the comments.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mali_sim/gpu/gpu_spec.hpp"
#include "mali_sim/sim/engine.hpp"

namespace mali_sim {
namespace {

// A file per test and name: CTest runs tests in parallel, and several write a trace called "alone".
std::string write_temp(const std::string& name, const std::string& text) {
  const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const auto path =
      std::filesystem::temp_directory_path() / ("mali_sim_engine_time_" + test + "_" + name + ".trace");
  std::ofstream(path) << text;
  return path.string();
}

struct Replay {
  std::unique_ptr<Engine> engine;
  Status status;
  std::vector<Sample> samples;
  const JobOutcome& job(const std::string& name) const {
    for (const JobOutcome& j : engine->results().jobs)
      if (j.name == name) return j;
    throw std::runtime_error("no job " + name);
  }
  Cycle cycles_of(const std::string& name) const { return job(name).end - job(name).begin; }
  // The two jobs ran at the same time (else a test of isolation between them proves nothing).
  bool overlapped(const std::string& a, const std::string& b) const {
    return job(a).begin < job(b).end && job(b).begin < job(a).end;
  }
};

Replay replay(const std::string& name, const std::string& text, const GpuSpec& spec, DriverConfig dc = {},
              EngineConfig ec = {}) {
  Replay r;
  ec.phys_mem_bytes = 256ULL << 20;
  r.engine = std::make_unique<Engine>(spec, dc, ec);
  auto reader = trace::open_trace(write_temp(name, text));
  EXPECT_TRUE(reader);
  r.status = r.engine->run(**reader, {}, [&](const Sample& s) { r.samples.push_back(s); });
  EXPECT_TRUE(r.status) << r.status.error().message;
  return r;
}

// ---- Isolation -------------------------------------------------------------------------------

// Shared hardware made large enough that two contexts never compete for it: a walker for every
// walk, an L2 TLB and walk cache that hold everything. What is left in common is the clock.
GpuSpec roomy_g52() {
  GpuSpec s = gpu_preset("g52").value();
  s.walkers = 64;
  s.l2tlb = TlbSpec{4096, 4, s.l2tlb.hit_latency};
  for (auto& e : s.walk_cache_entries) e = 4096;
  return s;
}

// What the other context does on core 0 while "healthy" runs on core 1.
enum class Other : std::uint8_t { kAbsent, kQuiet, kTerminalFault, kHeapGrowth };

// "healthy" reads its buffer on core 1, 4 cycles apart (3000 accesses, about 12 000 cycles): 16
// pages round and round (all in its uTLB after the first round), or, `wandering`, a new page every
// 8 accesses (a walk each). "other" runs on core 0 around it: submitted first, so that healthy
// starts while it runs (a submission takes the driver tens of microseconds), touching one of 64
// pages every 1000 cycles (60 accesses, 60 000 cycles).
std::string two_contexts(Other other, bool wandering = false) {
  std::string t = "mali-sim-trace 1\nctx healthy\nbo healthy buf 1M noexec\n";
  if (other != Other::kAbsent) {
    t += "ctx other\nbo other heap 32M noexec heap\nbo other data 256K noexec\n";
    // A fragment job: job slot 0, beside healthy's compute job on slot 1 (one job per slot runs).
    t += "job other o cores=0 uses=heap,data type=fragment\n";
  }
  t += "job healthy h cores=1 uses=buf\n";
  for (unsigned i = 0; i < 3000; ++i) {
    const unsigned page = wandering ? (i / 8) % 256 : i % 16;
    t += fmt::format("acc h 1 +4 r buf+{:#x} 64\n", page * 0x1000);
    if (other == Other::kAbsent || i % 50 != 0) continue;
    const unsigned k = i / 50;  // the other context's k-th access
    switch (other) {
      case Other::kQuiet: t += fmt::format("acc o 0 +1000 r data+{:#x} 64\n", (k * 5 % 64) * 0x1000); break;
      case Other::kTerminalFault:
        // Its 25th access goes where none of its BOs is: the driver kills its address space.
        t += k == 25 ? std::string("acc o 0 +1000 w 0x10000000\n")
                     : fmt::format("acc o 0 +1000 r data+{:#x} 64\n", (k % 16) * 0x1000);
        break;
      case Other::kHeapGrowth:
        // Every 4th access touches a new 2 MiB chunk of its heap: a GPU fault and a grow each.
        t += fmt::format("acc o 0 +1000 w heap+{:#x} 64\n", (k / 4) * 0x200000 + (k % 4) * 0x40);
        break;
      case Other::kAbsent: break;
    }
  }
  if (other != Other::kAbsent) t += "end o\n";
  return t + "end h\n";
}

TEST(EngineTime, AnotherContextsTerminalFaultLeavesAHealthyJobsCyclesUnchanged) {
  const Replay alone = replay("alone", two_contexts(Other::kAbsent), roomy_g52());
  const Replay beside = replay("terminal", two_contexts(Other::kTerminalFault), roomy_g52());
  ASSERT_TRUE(beside.job("o").failed);
  EXPECT_EQ(beside.engine->driver().stats().terminal_faults, 1U);
  ASSERT_TRUE(beside.overlapped("h", "o"));
  // The kill (the fault's handling and the AS switched to UNMAPPED) falls inside healthy's run.
  EXPECT_GT(beside.engine->driver().terminal_faults().front().at, beside.job("h").begin);
  EXPECT_FALSE(beside.job("h").failed);
  EXPECT_EQ(beside.cycles_of("h"), alone.cycles_of("h"));
  EXPECT_EQ(beside.job("h").accesses, alone.job("h").accesses);
}

TEST(EngineTime, AnotherContextsHeapGrowthLeavesAHealthyJobsCyclesUnchanged) {
  const Replay alone = replay("alone", two_contexts(Other::kAbsent), roomy_g52());
  const Replay beside = replay("grow", two_contexts(Other::kHeapGrowth), roomy_g52());
  EXPECT_EQ(beside.engine->driver().stats().grows, 15U);  // chunks 0-14 of 60 / 4 touches
  ASSERT_TRUE(beside.overlapped("h", "o"));
  EXPECT_EQ(beside.cycles_of("h"), alone.cycles_of("h"));
}

TEST(EngineTime, ASlowDriverHandlingAnotherContextsFaultsLeavesAHealthyJobsCyclesUnchanged) {
  // The driver's costs 10-100x their defaults: each grow now holds the other context for
  // milliseconds (polls every 100 us), during which the healthy core must go on issuing.
  DriverConfig slow;
  ASSERT_TRUE(slow.costs.set("cost.poll_interval_ns", "100000"));
  ASSERT_TRUE(slow.costs.set("cost.page_alloc_ns", "5000"));
  ASSERT_TRUE(slow.costs.set("cost.thread_wakeup_ns", "50000"));
  const Replay alone = replay("alone_slow", two_contexts(Other::kAbsent), roomy_g52(), slow);
  const Replay beside = replay("grow_slow", two_contexts(Other::kHeapGrowth), roomy_g52(), slow);
  EXPECT_EQ(beside.engine->driver().stats().grows, 15U);
  // The other context's job takes far longer than the healthy one (its grows wait for the
  // driver), so the healthy job runs entirely beside the slow handling.
  EXPECT_GT(beside.cycles_of("o"), 10 * beside.cycles_of("h"));
  ASSERT_TRUE(beside.overlapped("h", "o"));
  EXPECT_EQ(beside.cycles_of("h"), alone.cycles_of("h"));
}

TEST(EngineTime, CoresIssueWhileTheDriverHandlesAFault) {
  // The healthy core's accesses are spread evenly over the other context's fault handling: had the
  // driver's work stopped every core, the healthy job would wait the whole handler time (about
  // thread wake-up + grow + flush, over 10 000 cycles) at each of the 15 grows.
  const Replay beside = replay("grow_issue", two_contexts(Other::kHeapGrowth), roomy_g52());
  ASSERT_TRUE(beside.overlapped("h", "o"));
  const Cycle handler = beside.engine->driver().stats().handler_cycles;
  EXPECT_GT(handler, 15U * 10'000U);
  // Healthy's 3000 accesses take 4 cycles each after its first walks, handler or not.
  EXPECT_LT(beside.cycles_of("h"), 3000U * 4U + 2'000U);
}

TEST(EngineTime, QuietNeighboursWithoutFaultsChangeNothingEither) {
  const Replay alone = replay("alone", two_contexts(Other::kAbsent), roomy_g52());
  const Replay beside = replay("quiet", two_contexts(Other::kQuiet), roomy_g52());
  ASSERT_TRUE(beside.overlapped("h", "o"));
  EXPECT_EQ(beside.cycles_of("h"), alone.cycles_of("h"));
}

// ---- What couples contexts (docs/fidelity.md, "Shared resources") -----------------------------

TEST(EngineTime, TooFewWalkersCoupleContextsThroughTheWalkQueue) {
  // One walker: healthy walks a new page every 32 cycles (a walk of a few dozen cycles), the
  // other context every 200; with one walker between them, some of healthy's walks wait for the
  // other's. With a walker each (the roomy GPU) they do not.
  GpuSpec one = roomy_g52();
  one.walkers = 1;
  const Replay alone = replay("alone_1w", two_contexts(Other::kAbsent, true), one);
  const Replay beside = replay("quiet_1w", two_contexts(Other::kQuiet, true), one);
  ASSERT_TRUE(beside.overlapped("h", "o"));
  EXPECT_EQ(alone.engine->gpu().counters().walks_queued, 0U);
  EXPECT_GT(beside.engine->gpu().counters().walks_queued, 0U);
  EXPECT_GT(beside.cycles_of("h"), alone.cycles_of("h"));
  const Replay roomy_alone = replay("alone_64w", two_contexts(Other::kAbsent, true), roomy_g52());
  const Replay roomy_beside = replay("quiet_64w", two_contexts(Other::kQuiet, true), roomy_g52());
  EXPECT_EQ(roomy_beside.cycles_of("h"), roomy_alone.cycles_of("h"));
}

TEST(EngineTime, ASmallL2TlbCouplesContextsThroughEvictions) {
  // healthy's uTLB holds one entry, so every access of its 16-page round trip misses it and goes
  // to the shared L2 TLB. Alone, its 16 pages just fill a 16-entry L2 TLB; beside the other
  // context, whose pages take L2 entries too, some of healthy's are evicted and walked again.
  GpuSpec small = roomy_g52();
  small.utlb = TlbSpec{1, 1, 1};
  small.l2tlb = TlbSpec{16, 16, 5};
  EngineConfig one_slot;  // each access waits for the one before, so a walk shows in the time
  one_slot.outstanding_per_core = 1;
  const Replay alone = replay("alone_l2", two_contexts(Other::kAbsent), small, DriverConfig{}, one_slot);
  const Replay beside = replay("quiet_l2", two_contexts(Other::kQuiet), small, DriverConfig{}, one_slot);
  ASSERT_TRUE(beside.overlapped("h", "o"));
  // Each page once, and the job manager's read of the job's descriptor.
  EXPECT_EQ(alone.engine->gpu().counters().walks, 16U + 1U);
  EXPECT_GT(beside.engine->gpu().counters().walks, 16U + 60U + 2U)
      << "beyond each page of both once: healthy walked again";
  EXPECT_GT(beside.cycles_of("h"), alone.cycles_of("h"));
}

TEST(EngineTime, TheDriversCpuCouplesSubmissionsNotRunningJobs) {
  // One driver CPU runs every context's ioctls in turn: a job submitted while it is busy with
  // another context's work starts later, but once started runs as fast. Here the other context's
  // 32 MiB non-heap BO (8192 pages to back) is created just before healthy's job is submitted.
  const std::string base = "mali-sim-trace 1\nctx healthy\nbo healthy buf 64K noexec\n";
  std::string body = "job healthy h cores=1 uses=buf\n";
  for (unsigned i = 0; i < 100; ++i) body += fmt::format("acc h 1 +4 r buf+{:#x} 64\n", (i % 16) * 0x1000);
  body += "end h\n";
  const Replay alone = replay("cpu_alone", base + body, roomy_g52());
  const Replay busy = replay("cpu_busy", base + "ctx other\nbo other big 32M noexec\n" + body, roomy_g52());
  EXPECT_GT(busy.job("h").begin, alone.job("h").begin + 8192U * 400U);  // 8192 pages at >= 500 ns
  EXPECT_EQ(busy.cycles_of("h"), alone.cycles_of("h"));
}

// ---- The time series ------------------------------------------------------------------------

TEST(EngineTime, TimeSeriesRowsHoldTheCountersAsOfTheStartOfTheirCycle) {
  // One core, one slot. The job starts at S (when the job manager has read its descriptor). Its first
  // access, issued at S, misses the uTLB (1 cycle) and the L2 TLB (5 more), waits for a walk
  // from the root (4 cycles of walk cache, 4 descriptor reads of 25): a walk starting at S + 6,
  // done at S + 6 + 104 = S + 110. The second access is 3 000 000 cycles after the first: it
  // issues at S + 3 000 000 and hits the uTLB, done one cycle later.
  GpuSpec spec = gpu_preset("g52").value();
  spec.shader_cores = 1;
  spec.utlb.hit_latency = 1;
  spec.l2tlb.hit_latency = 5;
  spec.walk_cache_latency = 4;
  spec.mem_read_latency = 25;
  EngineConfig ec;
  ec.outstanding_per_core = 1;
  ec.epoch = 100'000;
  const Replay r = replay("series",
                          "mali-sim-trace 1\nctx a\nbo a buf 4K noexec\njob a j cores=0 uses=buf\n"
                          "acc j 0 +0 r buf+0x0\nacc j 0 +3000000 r buf+0x8\nend j\n",
                          spec, DriverConfig{}, ec);
  const Cycle s = r.job("j").begin;
  ASSERT_GT(s, 0U);
  ASSERT_FALSE(r.samples.empty());
  // A row at T counts what happened before T: a completion at c counts from row c + 1 on.
  for (const Sample& row : r.samples) {
    SCOPED_TRACE(fmt::format("row at cycle {} (S = {})", row.cycle, s));
    const Cycle t = row.cycle;
    EXPECT_EQ(row.accesses_done, (t > s + 110 ? 1U : 0U) + (t > s + 3'000'001 ? 1U : 0U));
    if (t > s) {
      EXPECT_EQ(row.utlb_misses, 2U) << "the job manager's descriptor read, then the first access";
    }
    // The second access hits at S + 3 000 000; when it completes, a cycle later, the job's work
    // is over and the job manager writes DONE back into the descriptor (its uTLB hits).
    EXPECT_EQ(row.utlb_hits, (t > s + 3'000'000 ? 1U : 0U) + (t > s + 3'000'001 ? 1U : 0U));
    // Before S the job manager missed its own uTLB and walked once, for the job's descriptor.
    if (t > s) {
      EXPECT_EQ(row.walks, t > s + 6 ? 2U : 1U);
    }
    EXPECT_EQ(row.faults, 0U);
  }
  // Rows at every multiple of the epoch up to the first one past the run's last cycle.
  EXPECT_EQ(r.samples.front().cycle, 100'000U);
  for (std::size_t i = 1; i < r.samples.size(); ++i)
    EXPECT_EQ(r.samples[i].cycle, r.samples[i - 1].cycle + 100'000U);
  const Cycle end = r.engine->results().cycles;
  EXPECT_GT(r.samples.back().cycle, end);
  EXPECT_LE(r.samples.back().cycle, end + 100'000U);
  EXPECT_EQ(r.samples.back().accesses_done, 2U);
}

TEST(EngineTime, TimeSeriesCountsAStallUpToTheRowNotOnlyWhenItEnds) {
  // A heap access stalls on its fault from the cycle it faults until the grow's flush retries
  // it; a row inside the stall counts the stall's cycles so far.
  EngineConfig ec;
  ec.epoch = 1000;
  const Replay r = replay("stall",
                          "mali-sim-trace 1\nctx a\nbo a heap 2M noexec heap\njob a j cores=0 uses=heap\n"
                          "acc j 0 +0 w heap+0x0 64\nend j\n",
                          gpu_preset("g52").value(), DriverConfig{}, ec);
  // One stalled access: each row adds the epoch's cycles while the stall lasts (the first and
  // the last rows of it add a part), and nothing once it has ended.
  std::uint64_t previous = 0;
  unsigned full_rows = 0;
  for (const Sample& row : r.samples) {
    ASSERT_GE(row.stall_cycles, previous);
    EXPECT_LE(row.stall_cycles - previous, 1000U);
    full_rows += row.stall_cycles - previous == 1000U ? 1 : 0;
    previous = row.stall_cycles;
  }
  EXPECT_GT(full_rows, 5U) << "the fault takes many epochs to handle";
  EXPECT_EQ(r.samples.back().stall_cycles, r.engine->gpu().counters().stall_cycles);
}

}  // namespace
}  // namespace mali_sim
