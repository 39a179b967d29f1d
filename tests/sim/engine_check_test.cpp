// The reference driver replaying every example trace and every generator kind, under every
// grow policy, gives the driver checker nothing to report; and checking changes no result.
#include <gtest/gtest.h>

#include <filesystem>

#include "mali_sim/sim/engine.hpp"
#include "mali_sim/sim/trace_gen.hpp"

namespace mali_sim {
namespace {

namespace fs = std::filesystem;

fs::path examples_dir() {
  return fs::path(__FILE__).parent_path().parent_path().parent_path() / "examples" / "traces";
}

struct Checked {
  std::unique_ptr<Engine> engine;
  Status status;
};

Checked replay(const fs::path& trace, const std::string& policy, bool check, const std::string& gpu = "g52") {
  DriverConfig dc;
  dc.grow_policy = policy;
  EngineConfig ec;
  ec.phys_mem_bytes = 1ULL << 30;
  ec.check = check;
  Checked c;
  c.engine = std::make_unique<Engine>(gpu_preset(gpu).value(), dc, ec);
  auto reader = trace::open_trace(trace.string());
  EXPECT_TRUE(reader) << trace;
  if (reader) c.status = c.engine->run(**reader);
  return c;
}

std::string reports_of(const Engine& e) {
  std::string s;
  for (const auto& r : e.checker()->reports()) s += "\n  " + r.to_string();
  return s;
}

std::vector<fs::path> traces_to_check() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(examples_dir()))
    if (entry.path().extension() == ".trace") out.push_back(entry.path());
  for (const std::string& kind : trace::generator_kinds()) {
    trace::GenParams p;
    p.kind = kind;
    p.accesses = 20000;
    p.cores = 2;  // the G52 preset has two shader cores
    p.heap_bytes = 32ULL << 20;
    p.buffer_bytes = 4ULL << 20;
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    const fs::path path = fs::temp_directory_path() / ("mali_sim_check_" + test + "_" + kind + ".trace");
    auto w = trace::create_trace(path.string(), trace::TraceFormat::Text);
    EXPECT_TRUE(w);
    if (!w) continue;
    EXPECT_TRUE(trace::generate(p, **w));
    EXPECT_TRUE((*w)->finish());
    out.push_back(path);
  }
  return out;
}

TEST(EngineCheck, TheReferenceDriverGivesNoReportOnAnyExampleOrGeneratedTrace) {
  const auto traces = traces_to_check();
  ASSERT_GE(traces.size(), 2U + trace::generator_kinds().size());
  for (const auto& t : traces) {
    for (const std::string policy : {"panfrost-2m", "pages:64", "kbase-extension:4"}) {
      SCOPED_TRACE(t.filename().string() + " under " + policy);
      const Checked c = replay(t, policy, true);
      ASSERT_TRUE(c.status) << c.status.error().message;
      ASSERT_NE(c.engine->checker(), nullptr);
      EXPECT_TRUE(c.engine->checker()->reports().empty()) << reports_of(*c.engine);
    }
  }
}

TEST(EngineCheck, CheckingChangesNoSimulatedResult) {
  for (const auto& t : traces_to_check()) {
    SCOPED_TRACE(t.filename().string());
    const Checked off = replay(t, "panfrost-2m", false);
    const Checked on = replay(t, "panfrost-2m", true);
    ASSERT_TRUE(off.status && on.status);
    EXPECT_EQ(off.engine->checker(), nullptr);
    EXPECT_EQ(on.engine->results().cycles, off.engine->results().cycles);
    EXPECT_EQ(on.engine->results().accesses, off.engine->results().accesses);
    const MmuCounters a = on.engine->gpu().counters(), b = off.engine->gpu().counters();
    EXPECT_EQ(a.utlb_hits, b.utlb_hits);
    EXPECT_EQ(a.walks, b.walks);
    EXPECT_EQ(a.faults_recorded, b.faults_recorded);
    EXPECT_EQ(a.stall_cycles, b.stall_cycles);
    EXPECT_EQ(on.engine->driver().stats().grows, off.engine->driver().stats().grows);
  }
}

TEST(EngineCheck, CheckIsAnEngineParameter) {
  EngineConfig ec;
  EXPECT_FALSE(ec.check) << "off by default outside tests";
  ASSERT_TRUE(ec.set("engine.check", "1"));
  EXPECT_TRUE(ec.check);
  // The project's one boolean grammar (parse.hpp): the spellings every other switch takes.
  ASSERT_TRUE(ec.set("engine.check", "off"));
  EXPECT_FALSE(ec.check);
  ASSERT_TRUE(ec.set("engine.check", "true"));
  EXPECT_TRUE(ec.check);
  const Status bad = ec.set("engine.check", "2");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "engine.check: '2' is not a boolean (true, false, on, off, 1 or 0)");
}

TEST(EngineConfigRules, OutOfRangeValuesAreRefusedBySetAndByTheConstructor) {
  EngineConfig ec;
  // The read-ahead sizes each core's ring: bounded, so that a typo cannot ask for terabytes.
  EXPECT_EQ(ec.set("engine.queue_per_core", "2000000").error().message,
            "engine.queue_per_core: must be in [1, 1048576]");
  EXPECT_FALSE(ec.set("engine.queue_per_core", "0"));
  EXPECT_TRUE(ec.set("engine.queue_per_core", "1048576"));
  EXPECT_FALSE(ec.set("engine.outstanding", "257"));
  EXPECT_TRUE(ec.set("engine.phys_mem", "1G")) << "a size, like every size";
  EXPECT_EQ(ec.phys_mem_bytes, 1ULL << 30);
  EngineConfig built;
  built.queue_per_core = std::uint64_t{1} << 40;  // set in code, past set()'s checks
  EXPECT_FALSE(built.validate());
  EXPECT_THROW(Engine(gpu_preset("g52").value(), DriverConfig{}, built), std::invalid_argument);
}

}  // namespace
}  // namespace mali_sim
