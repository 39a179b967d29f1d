// The engine against results derived by reasoning, not by copying output.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "mali_sim/sim/engine.hpp"
#include "mali_sim/sim/trace_gen.hpp"
#include "protocol/rig.hpp"

namespace mali_sim {
namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("mali_sim_engine_test_" + name);
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
  // One mapped page, one core, eight reads 10 cycles apart. The first misses and walks (uTLB + L2
  // + walk cache + 4 reads = 115 cycles with the rig's latencies); the other seven arrive while it
  // walks, miss too and join it: one walk, seven merged, nobody waits for a slot.
  std::string t = "mali-sim-trace 1\nctx a\nbo a buf 4K noexec\njob a j cores=0 uses=buf\n";
  for (int i = 0; i < 8; ++i) t += fmt::format("acc j 0 +10 r buf+{:#x}\n", i * 8);
  t += "end j\n";
  EngineConfig ec;
  ec.outstanding_per_core = 64;  // never the limit here
  SimRun r(t, "panfrost-2m", testing::rig_spec(), ec);
  ASSERT_TRUE(r.status) << r.status.error().message;
  const MmuCounters c = r.engine->gpu().counters();
  EXPECT_EQ(c.walks, 1U);
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
