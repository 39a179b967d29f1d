// GpuSpec and the GPU presets: each preset validates and decodes to the part it names, each
// validation rule is enforced with an error naming the parameter, and every registered parameter
// can be overridden by name and read back through params().
#include "mali_sim/gpu/gpu_spec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "mali_sim/regs.hpp"

namespace mali_sim {
namespace {

GpuSpec preset(std::string_view name) {
  Result<GpuSpec> r = gpu_preset(name);
  EXPECT_TRUE(r.has_value()) << name;
  return r.has_value() ? *r : GpuSpec{};
}

const GpuSpec::Param* find(const std::vector<GpuSpec::Param>& ps, std::string_view name) {
  for (const GpuSpec::Param& p : ps)
    if (p.name == name) return &p;
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Presets
// ---------------------------------------------------------------------------------------------

TEST(GpuPreset, NamesAreTheFiveDocumentedParts) {
  EXPECT_EQ(gpu_preset_names(), (std::vector<std::string>{"t860", "g31", "g52", "g72", "g57"}));
}

TEST(GpuPreset, EveryPresetValidates) {
  for (const std::string& name : gpu_preset_names()) {
    const GpuSpec s = preset(name);
    const Status st = s.validate();
    EXPECT_TRUE(st.has_value()) << name << ": " << (st ? "" : st.error().message);
    EXPECT_EQ(s.name, name);
  }
}

struct Expected {
  std::string_view preset;
  std::string_view model;
  unsigned arch_major;
  unsigned va_bits;
  unsigned pa_bits;
  bool aarch64;
  unsigned address_spaces;
  unsigned shader_cores;
  std::uint64_t clock_hz;
};

TEST(GpuPreset, EachPresetDecodesToTheDocumentedModel) {
  const Expected table[] = {
      {"t860", "T860", 0, 48, 40, false, 8, 4, 800'000'000},
      {"g31", "G31", 7, 33, 40, true, 8, 1, 800'000'000},
      {"g52", "G52", 7, 35, 40, true, 8, 2, 850'000'000},  // every Bifrost has TRANSCFG (issue 11)
      {"g72", "G72", 6, 48, 40, true, 8, 3, 800'000'000},
      {"g57", "G57", 9, 48, 40, true, 8, 3, 880'000'000},
  };
  for (const Expected& e : table) {
    SCOPED_TRACE(std::string(e.preset));
    const GpuSpec s = preset(e.preset);
    EXPECT_EQ(GpuId::decode(s.gpu_id).model_name(), e.model);
    EXPECT_EQ(s.arch_major(), e.arch_major);
    EXPECT_EQ(s.va_bits(), e.va_bits);
    EXPECT_EQ(s.pa_bits(), e.pa_bits);
    EXPECT_EQ(s.aarch64_mmu, e.aarch64);
    EXPECT_EQ(s.address_spaces(), e.address_spaces);
    EXPECT_EQ(s.shader_cores, e.shader_cores);
    EXPECT_EQ(s.clock_hz, e.clock_hz);
    EXPECT_EQ(s.js_present, 0x7U);
  }
}

TEST(GpuPreset, RawIdentityRegistersAreTheDocumentedValues) {
  EXPECT_EQ(preset("t860").gpu_id, 0x08602000U);  // product 0x0860 r2p0, old format
  // The ids the named SoCs report in their panfrost boot logs (docs/presets.md).
  EXPECT_EQ(preset("g31").gpu_id, 0x70930000U);  // SM1: 0x7093 r0p0
  EXPECT_EQ(preset("g52").gpu_id, 0x74021000U);  // MT8186: 0x7402 r1p0
  EXPECT_EQ(preset("g72").gpu_id, 0x62210030U);  // MT8183: 0x6221 r0p3
  EXPECT_EQ(preset("g57").gpu_id, 0x90930000U);  // MT8390: 0x9093
  EXPECT_FALSE(GpuId::decode(preset("t860").gpu_id).is_new_format());
  EXPECT_EQ(preset("t860").mmu_features, 0x2830U);
  EXPECT_EQ(preset("g31").mmu_features, 0x2821U);
  EXPECT_EQ(preset("g52").mmu_features, 0x2823U);
  EXPECT_EQ(preset("g72").mmu_features, 0x2830U);
  EXPECT_EQ(preset("g57").mmu_features, 0x2830U);
  for (const std::string& name : gpu_preset_names()) EXPECT_EQ(preset(name).as_present, 0xFFU) << name;
}

TEST(GpuPreset, FeatureRegistersAreTheBootLogsValues) {
  // What panfrost prints at probe on each named SoC: L2, Shader (CORE), Tiler, Mem; SHADER_PRESENT.
  struct Logged {
    const char* preset;
    std::uint32_t l2, core, tiler, mem;
    std::uint64_t cores;
  };
  const Logged table[] = {{"t860", 0x07120206, 0x0, 0x809, 0x1, 0xF},
                          {"g31", 0x07100206, 0x0, 0x209, 0x1, 0x1},
                          {"g52", 0x07120206, 0x2, 0x209, 0x1, 0x3},
                          {"g72", 0x07120206, 0x0, 0x809, 0x1, 0x7},
                          {"g57", 0x08130206, 0x0, 0x809, 0x1, 0x10005}};
  for (const Logged& e : table) {
    SCOPED_TRACE(std::string(e.preset));
    const GpuSpec s = preset(e.preset);
    EXPECT_EQ(s.l2_features, e.l2);
    EXPECT_EQ(s.core_features, e.core);
    EXPECT_EQ(s.tiler_features, e.tiler);
    EXPECT_EQ(s.mem_features, e.mem);
    EXPECT_EQ(s.core_mask(), e.cores);
    EXPECT_EQ(s.l2_present, 1U);
    EXPECT_EQ(s.tiler_present, 1U);
  }
  // G57's cores are bits 0, 2 and 16: core 2 of the simulator is SHADER_PRESENT bit 16.
  EXPECT_EQ(preset("g57").core_bit(0), 0U);
  EXPECT_EQ(preset("g57").core_bit(1), 2U);
  EXPECT_EQ(preset("g57").core_bit(2), 16U);
}

TEST(GpuSpec, ACoreCountOtherThanShaderPresentsMakesTheCoresTheLowestBits) {
  GpuSpec s = preset("g57");
  ASSERT_TRUE(s.set("shader_cores", "4").has_value());
  EXPECT_EQ(s.core_mask(), 0xFU);
  EXPECT_TRUE(s.validate().has_value());
  GpuSpec t = preset("g57");
  t.shader_cores = 2;  // set in code, with the preset's three-core mask left: refused
  const Status st = t.validate();
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("shader_present = 0x10005: it has 3 cores but shader_cores = 2"),
            std::string::npos)
      << st.error().message;
}

TEST(GpuPreset, UnknownPresetIsRejectedListingTheKnownNames) {
  const Result<GpuSpec> r = gpu_preset("g610");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kNotFound);
  EXPECT_NE(r.error().message.find("'g610'"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("t860, g31, g52, g72, g57"), std::string::npos) << r.error().message;
}

TEST(GpuPreset, IrqLatencyIsTwoMicrosecondsAtThePresetClock) {
  for (const std::string& name : gpu_preset_names()) {
    const GpuSpec s = preset(name);
    EXPECT_EQ(s.irq_latency, s.clock_hz * 2 / 1'000'000) << name;
  }
}

TEST(GpuPreset, TimingDefaultsAreTheSourcedOnes) {
  const GpuSpec s = preset("g52");
  EXPECT_EQ(s.utlb.entries, 32U);
  EXPECT_EQ(s.utlb.ways, 32U);
  EXPECT_EQ(s.utlb.hit_latency, 1U);
  EXPECT_EQ(s.l2tlb.entries, 512U);
  EXPECT_EQ(s.l2tlb.ways, 4U);
  EXPECT_EQ(s.walk_cache_entries[0], 4U);
  EXPECT_EQ(s.walk_cache_entries[1], 28U);
  EXPECT_EQ(s.walk_cache_entries[2], 348U);
  EXPECT_EQ(s.walk_cache_latency, 4U);
  EXPECT_EQ(s.mem_read_latency, 25U);
  EXPECT_EQ(s.walkers, 16U);
}

TEST(GpuPreset, EveryParameterHasASourceAndADescriptionAndNoneIsAnOverride) {
  for (const std::string& name : gpu_preset_names()) {
    for (const GpuSpec::Param& p : preset(name).params()) {
      SCOPED_TRACE(name + " " + p.name);
      EXPECT_FALSE(p.source.empty());
      EXPECT_FALSE(p.description.empty());
      EXPECT_EQ(p.source.rfind("override", 0), std::string::npos) << p.source;
    }
  }
}

TEST(GpuPreset, SocChoicesAreMarkedAsAssumptions) {
  for (const std::string& name : gpu_preset_names()) {
    const std::vector<GpuSpec::Param> ps = preset(name).params();
    const GpuSpec::Param* clock = find(ps, "clock_hz");
    ASSERT_NE(clock, nullptr);
    EXPECT_EQ(clock->source.rfind("assumption: typical SoC", 0), 0U) << name << ": " << clock->source;
  }
  const std::vector<GpuSpec::Param> ps = preset("g52").params();
  EXPECT_NE(find(ps, "cmd.flush_mem")->source.find("assumption"), std::string::npos);
  EXPECT_NE(find(ps, "utlb.entries")->source.find("gem5"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Derived values
// ---------------------------------------------------------------------------------------------

TEST(GpuSpec, LockRegionMinimumIs32KiBBeforeArch12And4KiBFromArch12) {
  for (const std::string& name : gpu_preset_names())
    EXPECT_EQ(preset(name).lock_region_min_log2(), 15U) << name;
  GpuSpec s = preset("g57");
  s.gpu_id = GpuId::make_new(12, 0, 0, 1, 0, 0, 0).raw;
  EXPECT_EQ(s.arch_major(), 12U);
  EXPECT_EQ(s.lock_region_min_log2(), 12U);
  s.gpu_id = GpuId::make_new(11, 0, 0, 1, 0, 0, 0).raw;
  EXPECT_EQ(s.lock_region_min_log2(), 15U);
}

TEST(GpuSpec, ArchMajorIsZeroForOldFormatIds) {
  EXPECT_EQ(preset("t860").arch_major(), 0U);
  EXPECT_EQ(preset("g72").arch_major(), 6U);
  EXPECT_EQ(preset("g57").arch_major(), 9U);
}

TEST(GpuSpec, AddressSpacesCountsAsPresentBits) {
  GpuSpec s;
  s.as_present = 0x5;
  EXPECT_EQ(s.address_spaces(), 2U);
  EXPECT_TRUE(s.has_as(2));
  EXPECT_FALSE(s.has_as(1));
  s.as_present = 0xFFFF;
  EXPECT_EQ(s.address_spaces(), 16U);
}

TEST(GpuSpec, UsToCyclesRoundsToNearest) {
  GpuSpec s;
  s.clock_hz = 1'000'000'000;
  EXPECT_EQ(s.us_to_cycles(1.0), 1000U);
  EXPECT_EQ(s.us_to_cycles(0.0005), 1U);  // 0.5 cycles rounds up
  EXPECT_EQ(s.us_to_cycles(0.0004), 0U);  // 0.4 rounds down
  EXPECT_EQ(s.us_to_cycles(0.0016), 2U);  // 1.6 rounds up
  s.clock_hz = 800'000'000;
  EXPECT_EQ(s.us_to_cycles(2.0), 1600U);
  EXPECT_EQ(s.us_to_cycles(1.2345), 988U);  // 987.6
  EXPECT_EQ(s.us_to_cycles(-1.0), 0U);
  EXPECT_EQ(s.us_to_cycles(std::nan("")), 0U);
  EXPECT_EQ(s.us_to_cycles(1e30), std::numeric_limits<Cycle>::max());
}

// ---------------------------------------------------------------------------------------------
// validate(): one case per rule
// ---------------------------------------------------------------------------------------------

struct RuleCase {
  std::string label;
  std::function<void(GpuSpec&)> mutate;
  std::string param;     // the error must start with this parameter name
  std::string fragment;  // and contain this part of the rule or cause
};

void PrintTo(const RuleCase& c, std::ostream* os) { *os << c.label; }

class GpuSpecRule : public ::testing::TestWithParam<RuleCase> {};

TEST_P(GpuSpecRule, RejectsTheValueNamingTheParameterAndRule) {
  const RuleCase& c = GetParam();
  GpuSpec s = preset("g52");
  ASSERT_TRUE(s.validate().has_value());
  c.mutate(s);
  const Status st = s.validate();
  ASSERT_FALSE(st.has_value()) << c.label;
  EXPECT_EQ(st.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(st.error().message.rfind(c.param, 0), 0U) << st.error().message;
  EXPECT_NE(st.error().message.find(c.fragment), std::string::npos) << st.error().message;
}

std::vector<RuleCase> rule_cases() {
  std::vector<RuleCase> v = {
      {"NameEmpty", [](GpuSpec& s) { s.name.clear(); }, "name", "must not be empty"},
      {"AsPresentZero", [](GpuSpec& s) { s.as_present = 0; }, "as_present = 0x0", "1 to 16 address spaces"},
      {"AsPresentBit16", [](GpuSpec& s) { s.as_present = 0x1FFFF; }, "as_present = 0x1ffff",
       "bits 0-15 only"},
      {"JsPresentZero", [](GpuSpec& s) { s.js_present = 0; }, "js_present", "1 to 16 job slots"},
      {"ShaderCoresZero", [](GpuSpec& s) { s.shader_cores = 0; }, "shader_cores = 0", "1 to 32"},
      {"ShaderCores33", [](GpuSpec& s) { s.shader_cores = 33; }, "shader_cores = 33", "1 to 32"},
      {"ClockZero", [](GpuSpec& s) { s.clock_hz = 0; }, "clock_hz = 0", "1 Hz to 10 GHz"},
      {"VaBits32", [](GpuSpec& s) { s.mmu_features = 0x2820; }, "mmu_features = 0x2820",
       "VA bits [7:0] = 32"},
      {"VaBits49", [](GpuSpec& s) { s.mmu_features = 0x2831; }, "mmu_features", "outside 33..48"},
      {"PaBits31", [](GpuSpec& s) { s.mmu_features = 0x1F30; }, "mmu_features", "PA bits [15:8] = 31"},
      {"PaBits41", [](GpuSpec& s) { s.mmu_features = 0x2930; }, "mmu_features", "outside 32..40"},
      {"UtlbEntriesZero", [](GpuSpec& s) { s.utlb.entries = 0; }, "utlb.entries = 0", "1 to 1048576"},
      {"UtlbWaysZero", [](GpuSpec& s) { s.utlb.ways = 0; }, "utlb.ways = 0", "1 to 1048576"},
      {"UtlbEntriesNotMultipleOfWays", [](GpuSpec& s) { s.utlb.entries = 48; }, "utlb.entries = 48",
       "not a multiple of utlb.ways = 32"},
      {"UtlbSetsNotPowerOfTwo",
       [](GpuSpec& s) {
         s.utlb.entries = 24;
         s.utlb.ways = 8;
       },
       "utlb.entries = 24", "3 sets, which is not a power of two"},
      {"UtlbWaysAboveEntries", [](GpuSpec& s) { s.utlb.ways = 64; }, "utlb.entries = 32",
       "not a multiple of utlb.ways = 64"},
      {"L2tlbEntriesZero", [](GpuSpec& s) { s.l2tlb.entries = 0; }, "l2tlb.entries = 0", "1 to 1048576"},
      {"L2tlbWaysZero", [](GpuSpec& s) { s.l2tlb.ways = 0; }, "l2tlb.ways = 0", "1 to 1048576"},
      {"L2tlbEntriesNotMultipleOfWays", [](GpuSpec& s) { s.l2tlb.entries = 510; }, "l2tlb.entries = 510",
       "not a multiple of l2tlb.ways = 4"},
      {"L2tlbSetsNotPowerOfTwo", [](GpuSpec& s) { s.l2tlb.entries = 384; }, "l2tlb.entries = 384",
       "96 sets, which is not a power of two"},
      {"L2tlbEntriesHuge", [](GpuSpec& s) { s.l2tlb.entries = 1U << 21; }, "l2tlb.entries", "1 to 1048576"},
      {"WalkCacheLevelHuge", [](GpuSpec& s) { s.walk_cache_entries[2] = 1U << 21; }, "walk_cache.l2_entries",
       "0 (level off) to 1048576"},
      {"WalkersZero", [](GpuSpec& s) { s.walkers = 0; }, "walkers = 0", "1 to 1024"},
      {"MemReadLatencyZero", [](GpuSpec& s) { s.mem_read_latency = 0; }, "mem_read_latency = 0", "1 to 1e9"},
      {"AArch64OnMidgardId",
       [](GpuSpec& s) {
         s.gpu_id = GpuId::make_old(0x0860, 2, 0, 0).raw;
         s.aarch64_mmu = true;
       },
       "aarch64_mmu = true", "old-format (Midgard)"},
  };
  // Every latency above 10^9 cycles.
  const std::pair<const char*, std::function<void(GpuSpec&)>> latencies[] = {
      {"utlb.latency", [](GpuSpec& s) { s.utlb.hit_latency = 1'000'000'001; }},
      {"l2tlb.latency", [](GpuSpec& s) { s.l2tlb.hit_latency = 1'000'000'001; }},
      {"walk_cache.latency", [](GpuSpec& s) { s.walk_cache_latency = 1'000'000'001; }},
      {"mem_read_latency", [](GpuSpec& s) { s.mem_read_latency = 1'000'000'001; }},
      {"irq_latency", [](GpuSpec& s) { s.irq_latency = 1'000'000'001; }},
      {"cmd.update", [](GpuSpec& s) { s.cmd_update = 1'000'000'001; }},
      {"cmd.lock", [](GpuSpec& s) { s.cmd_lock = 1'000'000'001; }},
      {"cmd.unlock", [](GpuSpec& s) { s.cmd_unlock = 1'000'000'001; }},
      {"cmd.flush_pt", [](GpuSpec& s) { s.cmd_flush_pt = 1'000'000'001; }},
      {"cmd.flush_mem", [](GpuSpec& s) { s.cmd_flush_mem = 1'000'000'001; }},
      {"cmd.per_invalidation", [](GpuSpec& s) { s.cmd_per_invalidation = 1'000'000'001; }},
  };
  for (const auto& [param, mutate] : latencies) {
    std::string label = std::string("LatencyAbove1e9_") + param;
    for (char& ch : label)
      if (ch == '.') ch = '_';
    v.push_back({label, mutate, std::string(param) + " = 1000000001", "1e9 cycles"});
  }
  return v;
}

INSTANTIATE_TEST_SUITE_P(GpuSpecEveryRule, GpuSpecRule, ::testing::ValuesIn(rule_cases()),
                         [](const ::testing::TestParamInfo<RuleCase>& tp) { return tp.param.label; });

TEST(GpuSpec, AArch64IsAcceptedOnBifrostPartsThatPanfrostLeavesInLegacyMode) {
  GpuSpec s = preset("g72");
  s.aarch64_mmu = true;  // the hardware has TRANSCFG; newer kbase always uses the AArch64 format
  EXPECT_TRUE(s.validate().has_value());
}

TEST(GpuSpec, DefaultCustomSpecNeedsItsIdentityRegisters) {
  const Status st = GpuSpec{}.validate();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().message.rfind("mmu_features", 0), 0U) << st.error().message;
}

TEST(GpuSpec, LatenciesOfZeroAndExactlyOneBillionAreAllowed) {
  GpuSpec s = preset("g31");
  s.utlb.hit_latency = 0;
  s.cmd_lock = 0;
  s.irq_latency = 1'000'000'000;
  EXPECT_TRUE(s.validate().has_value());
}

TEST(GpuSpec, FullyAssociativeAndDirectMappedTlbsAreValid) {
  GpuSpec s = preset("g31");
  s.utlb = {64, 64, 1};
  s.l2tlb = {1024, 1, 3};
  EXPECT_TRUE(s.validate().has_value());
}

// ---------------------------------------------------------------------------------------------
// set() and params()
// ---------------------------------------------------------------------------------------------

// A valid value, different from the g52 preset's, for every registered parameter. A new
// parameter must be added here (the round-trip test checks the coverage).
const std::map<std::string, std::string>& alternative_values() {
  static const std::map<std::string, std::string> m = {
      {"name", "my-gpu"},
      {"gpu_id", "0x72120000"},
      {"mmu_features", "0x2830"},
      {"as_present", "0xf"},
      {"js_present", "0x3"},
      {"aarch64_mmu", "false"},
      {"shader_cores", "4"},
      {"clock_hz", "1000000000"},
      {"utlb.entries", "64"},
      {"utlb.ways", "16"},
      {"utlb.latency", "2"},
      {"utlb.replacement", "lru"},
      {"l2tlb.entries", "2048"},
      {"l2tlb.ways", "8"},
      {"l2tlb.latency", "10"},
      {"l2tlb.replacement", "lru"},
      {"walk_cache.l0_entries", "0"},
      {"walk_cache.l1_entries", "64"},
      {"walk_cache.l2_entries", "512"},
      {"walk_cache.latency", "10"},
      {"mem_read_latency", "100"},
      {"walkers", "32"},
      {"irq_latency", "5000"},
      {"cmd.update", "200"},
      {"cmd.lock", "70"},
      {"cmd.unlock", "80"},
      {"cmd.flush_pt", "600"},
      {"cmd.flush_mem", "1500"},
      {"cmd.per_invalidation", "2"},
      {"l2_features", "0x7110206"},
      {"core_features", "0x1"},
      {"tiler_features", "0x809"},
      {"mem_features", "0x101"},
      {"thread_max_threads", "0x400"},
      {"thread_max_workgroup_size", "0x200"},
      {"thread_max_barrier_size", "0x200"},
      {"thread_features", "0x48000"},
      {"texture_features.0", "0x1"},
      {"texture_features.1", "0x2"},
      {"texture_features.2", "0x3"},
      {"texture_features.3", "0x4"},
      {"js_features.0", "0x20f"},
      {"js_features.1", "0x1c9e"},
      {"js_features.2", "0x1e"},
      {"coherency_features", "0x1"},
      {"afbc_features", "0x1"},
      {"thread_tls_alloc", "0x100"},
      {"shader_present", "0x5"},
      {"tiler_present", "0x3"},
      {"l2_present", "0x3"},
      {"stack_present", "0x5"},
      {"mmio.read_ns", "300"},
      {"mmio.write_ns", "60"},
      {"reset.soft_ns", "20000"},
      {"reset.hard_ns", "4000"},
      {"power.l2_ns", "3000"},
      {"power.shader_ns", "4000"},
      {"power.tiler_ns", "2000"},
      {"power.stack_ns", "2500"},
      {"power.down_ns", "500"},
      {"cache.clean_ns", "8000"},
      {"timestamp_hz", "13000000"},
  };
  return m;
}

TEST(GpuSpec, EveryRegisteredNameIsSettableAndReadsBackThroughParams) {
  const std::vector<GpuSpec::Param> names = preset("g52").params();
  std::set<std::string> seen;
  for (const GpuSpec::Param& p : names) {
    SCOPED_TRACE(p.name);
    EXPECT_TRUE(seen.insert(p.name).second) << "duplicate parameter name";
    const auto alt = alternative_values().find(p.name);
    ASSERT_NE(alt, alternative_values().end()) << "no alternative value for a registered parameter";
    GpuSpec s = preset("g52");
    const Status st = s.set(p.name, alt->second);
    ASSERT_TRUE(st.has_value()) << st.error().message;
    const std::vector<GpuSpec::Param> after = s.params();
    const GpuSpec::Param* row = find(after, p.name);
    ASSERT_NE(row, nullptr);
    EXPECT_EQ(row->value, alt->second);
    EXPECT_NE(row->value, p.value);
    if (p.name != "name") {
      EXPECT_EQ(row->source.rfind("override (preset g52 has " + p.value + ")", 0), 0U) << row->source;
    }
  }
  EXPECT_EQ(seen.size(), alternative_values().size());
}

TEST(GpuSpec, ParamsFedBackThroughSetReproduceEveryPreset) {
  for (const std::string& name : gpu_preset_names()) {
    const GpuSpec original = preset(name);
    GpuSpec copy;
    for (const GpuSpec::Param& p : original.params()) {
      const Status st = copy.set(p.name, p.value);
      ASSERT_TRUE(st.has_value()) << name << " " << p.name << ": " << st.error().message;
    }
    EXPECT_TRUE(copy.validate().has_value()) << name;
    const std::vector<GpuSpec::Param> a = original.params();
    const std::vector<GpuSpec::Param> b = copy.params();
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].name, b[i].name);
      EXPECT_EQ(a[i].value, b[i].value) << name << " " << a[i].name;
      EXPECT_EQ(a[i].source, b[i].source) << name << " " << a[i].name;
    }
  }
}

TEST(GpuSpec, ParamsListsTheDocumentedNamesInAStableOrder) {
  std::vector<std::string> names;
  for (const GpuSpec::Param& p : GpuSpec{}.params()) names.push_back(p.name);
  const std::vector<std::string> expected = {"name",
                                             "gpu_id",
                                             "mmu_features",
                                             "as_present",
                                             "js_present",
                                             "aarch64_mmu",
                                             "l2_features",
                                             "core_features",
                                             "tiler_features",
                                             "mem_features",
                                             "thread_max_threads",
                                             "thread_max_workgroup_size",
                                             "thread_max_barrier_size",
                                             "thread_features",
                                             "texture_features.0",
                                             "texture_features.1",
                                             "texture_features.2",
                                             "texture_features.3",
                                             "js_features.0",
                                             "js_features.1",
                                             "js_features.2",
                                             "coherency_features",
                                             "afbc_features",
                                             "thread_tls_alloc",
                                             "shader_present",
                                             "tiler_present",
                                             "l2_present",
                                             "stack_present",
                                             "shader_cores",
                                             "clock_hz",
                                             "utlb.entries",
                                             "utlb.ways",
                                             "utlb.latency",
                                             "utlb.replacement",
                                             "l2tlb.entries",
                                             "l2tlb.ways",
                                             "l2tlb.latency",
                                             "l2tlb.replacement",
                                             "walk_cache.l0_entries",
                                             "walk_cache.l1_entries",
                                             "walk_cache.l2_entries",
                                             "walk_cache.latency",
                                             "mem_read_latency",
                                             "walkers",
                                             "irq_latency",
                                             "cmd.update",
                                             "cmd.lock",
                                             "cmd.unlock",
                                             "cmd.flush_pt",
                                             "cmd.flush_mem",
                                             "cmd.per_invalidation",
                                             "mmio.read_ns",
                                             "mmio.write_ns",
                                             "reset.soft_ns",
                                             "reset.hard_ns",
                                             "power.l2_ns",
                                             "power.shader_ns",
                                             "power.tiler_ns",
                                             "power.stack_ns",
                                             "power.down_ns",
                                             "cache.clean_ns",
                                             "timestamp_hz"};
  EXPECT_EQ(names, expected);
}

TEST(GpuSpec, ReplacementTakesItsNamesAndRefusesOthersListingThem) {
  GpuSpec s = preset("g52");
  EXPECT_EQ(s.utlb.replacement, TlbReplacement::kClock) << "the presets' default";
  ASSERT_TRUE(s.set("utlb.replacement", "lru"));
  EXPECT_EQ(s.utlb.replacement, TlbReplacement::kLru);
  ASSERT_TRUE(s.set("l2tlb.replacement", "clock"));
  EXPECT_EQ(s.l2tlb.replacement, TlbReplacement::kClock);
  const Status bad = s.set("utlb.replacement", "random");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "utlb.replacement: 'random' is not one of: clock or lru");
}

TEST(GpuSpec, ParamsPrintRegistersInHexAndCountsInDecimal) {
  const std::vector<GpuSpec::Param> ps = preset("t860").params();
  EXPECT_EQ(find(ps, "gpu_id")->value, "0x08602000");
  EXPECT_EQ(find(ps, "mmu_features")->value, "0x2830");
  EXPECT_EQ(find(ps, "as_present")->value, "0xff");
  EXPECT_EQ(find(ps, "aarch64_mmu")->value, "false");
  EXPECT_EQ(find(ps, "clock_hz")->value, "800000000");
  EXPECT_EQ(find(ps, "irq_latency")->value, "1600");
  EXPECT_NE(find(ps, "utlb.entries")->description.find("; allowed: 1 to 1048576"), std::string::npos);
}

TEST(GpuSpec, SetAcceptsDecimalAndHexIntegers) {
  GpuSpec s = preset("g52");
  ASSERT_TRUE(s.set("utlb.entries", "0x40").has_value());
  EXPECT_EQ(s.utlb.entries, 64U);
  ASSERT_TRUE(s.set("utlb.entries", "0X20").has_value());
  EXPECT_EQ(s.utlb.entries, 32U);
  ASSERT_TRUE(s.set("as_present", "15").has_value());
  EXPECT_EQ(s.as_present, 0xFU);
  ASSERT_TRUE(s.set("gpu_id", "0x90930000").has_value());
  EXPECT_EQ(GpuId::decode(s.gpu_id).model_name(), "G57");
  ASSERT_TRUE(s.set("clock_hz", "10000000000").has_value());  // 10 GHz, the documented maximum
  EXPECT_EQ(s.clock_hz, 10'000'000'000ULL);
}

TEST(GpuSpec, SetAcceptsTheFourBooleanSpellings) {
  GpuSpec s = preset("g52");
  for (const auto& [text, expected] :
       {std::pair{"true", true}, {"false", false}, {"1", true}, {"0", false}}) {
    ASSERT_TRUE(s.set("aarch64_mmu", text).has_value()) << text;
    EXPECT_EQ(s.aarch64_mmu, expected) << text;
  }
}

TEST(GpuSpec, SetRejectsAnUnknownKeyListingTheKnownOnes) {
  GpuSpec s = preset("g52");
  const Status st = s.set("utlb.size", "32");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, Errc::kNotFound);
  const std::string& m = st.error().message;
  EXPECT_EQ(m.rfind("unknown parameter 'utlb.size' (known: name, gpu_id, ", 0), 0U) << m;
  EXPECT_NE(m.find("timestamp_hz)"), std::string::npos) << m;
}

TEST(GpuSpec, SetRejectsMalformedIntegersNamingKeyAndValue) {
  for (const char* bad : {"12a", "", "-1", "+1", "0x", "1.5", " 12", "12 ", "0x1g", "ten", "0b101"}) {
    GpuSpec s = preset("g52");
    const Status st = s.set("utlb.entries", bad);
    ASSERT_FALSE(st.has_value()) << "'" << bad << "'";
    EXPECT_EQ(st.error().message,
              std::string("utlb.entries: '") + bad + "' is not an integer (decimal or 0x-hex)");
    EXPECT_EQ(s.utlb.entries, 32U) << "a rejected value must leave the spec unchanged";
  }
}

TEST(GpuSpec, SetRejectsIntegersThatDoNotFitSixtyFourBits) {
  GpuSpec s = preset("g52");
  const Status st = s.set("clock_hz", "99999999999999999999");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().message, "clock_hz: '99999999999999999999' does not fit in 64 bits");
}

TEST(GpuSpec, SetRejectsMalformedBooleans) {
  GpuSpec s = preset("g52");
  for (const char* bad : {"yes", "TRUE", "2", ""}) {
    const Status st = s.set("aarch64_mmu", bad);
    ASSERT_FALSE(st.has_value()) << bad;
    EXPECT_EQ(st.error().message,
              std::string("aarch64_mmu: '") + bad + "' is not a boolean (true, false, on, off, 1 or 0)");
  }
}

TEST(GpuSpec, SetRejectsOutOfRangeValuesWithTheRule) {
  GpuSpec s = preset("g52");
  Status st = s.set("shader_cores", "33");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().message, "shader_cores = 33: must be 1 to 32");
  st = s.set("gpu_id", "0x100000000");  // wider than the 32-bit register
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().message.rfind("gpu_id = 0x100000000: must be any 32-bit value", 0), 0U)
      << st.error().message;
  st = s.set("mmu_features", "0x2820");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().message.rfind("mmu_features = 0x2820: VA bits [7:0] = 32 outside 33..48", 0), 0U)
      << st.error().message;
  st = s.set("name", "");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().message, "name: must not be empty");
  EXPECT_EQ(s.shader_cores, 2U);
  EXPECT_EQ(s.name, "g52");
}

TEST(GpuSpec, SetLeavesCrossParameterRulesToValidate) {
  GpuSpec s = preset("g52");
  ASSERT_TRUE(s.set("utlb.entries", "48").has_value());  // not a multiple of 32 ways, yet
  EXPECT_FALSE(s.validate().has_value());
  ASSERT_TRUE(s.set("utlb.ways", "16").has_value());  // 3 sets: still invalid
  EXPECT_FALSE(s.validate().has_value());
  ASSERT_TRUE(s.set("utlb.ways", "48").has_value());  // fully associative
  EXPECT_TRUE(s.validate().has_value());
}

TEST(GpuSpec, RenamingToAPresetComparesAgainstThatPreset) {
  GpuSpec s = preset("g72");
  ASSERT_TRUE(s.set("name", "g57").has_value());
  const std::vector<GpuSpec::Param> ps = s.params();
  EXPECT_EQ(find(ps, "gpu_id")->source, "override (preset g57 has 0x90930000)");
  EXPECT_EQ(find(ps, "mmu_features")->source.rfind("MT8390 (Genio 700) panfrost boot log", 0), 0U);
}

TEST(GpuSpec, CustomSpecReportsOverridesAgainstTheDefaults) {
  GpuSpec s;
  ASSERT_TRUE(s.set("walkers", "8").has_value());
  const std::vector<GpuSpec::Param> ps = s.params();
  EXPECT_EQ(find(ps, "walkers")->source, "override (default 16)");
  EXPECT_EQ(find(ps, "utlb.latency")->source, "gem5 GPUTLBOptions.py / SMMUv3.py uTLB: 1-cycle hit");
  EXPECT_EQ(find(ps, "name")->value, "custom");
}

}  // namespace
}  // namespace mali_sim
