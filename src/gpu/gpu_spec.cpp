// GpuSpec: the parameter registry (one row per parameter: name, accessors, allowed range, rule,
// default source, description), set()/params()/validate() on top of it, and the named presets.
//
// Every identity value of a preset names where it was read; every timing value names the peer
// simulator or paper of docs/timing-sources.md it comes from, or says "assumption". The per-preset
// choices are explained in docs/presets.md.
#include "mali_sim/gpu/gpu_spec.hpp"

#include <fmt/format.h>

#include <span>

#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <type_traits>

#include "mali_sim/parse.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim {

namespace {

// ---------------------------------------------------------------------------------------------
// Rules shared by set() and validate()
// ---------------------------------------------------------------------------------------------

constexpr std::uint64_t kMaxLatency = 1'000'000'000;  // cycles; anything above is a typo
constexpr std::uint64_t kMaxNs = 1'000'000'000;       // one second
// Where the reset and power-up times come from (docs/timing-sources.md, "GPU control").
constexpr std::string_view kResetSource =
    "assumption: a few us, each step done within one of panfrost's 10 us poll sleeps, so that its "
    "probe takes about 46 us against the 33.5 us a runtime resume takes on an MT8195 (commit "
    "540527b1385f; docs/timing-sources.md)";
constexpr std::uint64_t kMaxTlbEntries = 1U << 20;  // keeps a mistyped size from eating memory
constexpr std::uint64_t kMaxClockHz = 10'000'000'000ULL;
constexpr unsigned kMaxShaderCores = GpuSpec::kMaxShaderCores;
constexpr unsigned kMaxWalkers = 1024;
constexpr unsigned kMinVaBits = 33;  // T720/T820, G51/G31 (hardware-facts §1.5)
constexpr unsigned kMinPaBits = 32;  // our floor: no Mali part with fewer is known

enum class Kind : std::uint8_t {
  Text,  // name
  Id,    // GPU_ID: printed as 0x%08x, parsed as decimal or 0x-hex
  Hex,   // other identity registers: printed as 0x..., parsed as decimal or 0x-hex
  Uint,  // counts and cycles
  Bool,
  Choice,  // one of ParamDef::choices, stored as its index
};

// The names of TlbReplacement's values, by value.
constexpr std::string_view kReplacementNames[] = {"clock", "lru"};

struct ParamDef {
  std::string_view name;
  Kind kind;
  std::uint64_t min;
  std::uint64_t max;
  std::string_view rule;         // the allowed range in words, quoted by every range error
  std::string_view source;       // where the default of a custom spec comes from
  std::string_view description;  // one line
  std::uint64_t (*get)(const GpuSpec&);
  void (*put)(GpuSpec&, std::uint64_t);
  // Extra per-parameter rule beyond [min, max]; returns the cause, empty when the value is fine.
  std::string (*check)(std::uint64_t) = nullptr;
  std::span<const std::string_view> choices = {};  // Kind::Choice: the names, by value
};

#define MALI_SIM_FIELD(expr)                                                                             \
  [](const GpuSpec& s) { return static_cast<std::uint64_t>(s.expr); }, [](GpuSpec& s, std::uint64_t v) { \
    s.expr = static_cast<std::remove_reference_t<decltype(s.expr)>>(v);                                  \
  }

std::string check_mmu_features(std::uint64_t v) {
  const MmuFeatures f = MmuFeatures::decode(static_cast<std::uint32_t>(v));
  if (f.va_bits < kMinVaBits || f.va_bits > kMaxVaBits)
    return fmt::format("VA bits [7:0] = {} outside {}..{}", f.va_bits, kMinVaBits, kMaxVaBits);
  if (f.pa_bits < kMinPaBits || f.pa_bits > kMaxPaBits)
    return fmt::format("PA bits [15:8] = {} outside {}..{}", f.pa_bits, kMinPaBits, kMaxPaBits);
  return {};
}

// The registry. Order is the order of params(), --help and docs/presets.md.
const ParamDef kParams[] = {
    {"name", Kind::Text, 0, 0, "must not be empty", "user-chosen label (\"custom\")",
     "preset name or label; decides which preset params() compares against", nullptr, nullptr},
    {"gpu_id", Kind::Id, 0, 0xFFFFFFFFULL, "any 32-bit value", "none: a custom GPU must set it",
     "GPU_ID register (product id, version; arch for Bifrost+)", MALI_SIM_FIELD(gpu_id)},
    {"mmu_features", Kind::Hex, 0, 0xFFFFFFFFULL, "VA bits [7:0] in 33..48, PA bits [15:8] in 32..40",
     "none: a custom GPU must set it", "GPU_MMU_FEATURES register: VA bits [7:0], PA bits [15:8]",
     MALI_SIM_FIELD(mmu_features), check_mmu_features},
    {"as_present", Kind::Hex, 1, 0xFFFF, "nonzero, bits 0-15 only (1 to 16 address spaces)",
     "none: a custom GPU must set it", "GPU_AS_PRESENT register: bitmask of implemented address spaces",
     MALI_SIM_FIELD(as_present)},
    {"js_present", Kind::Hex, 1, 0xFFFF, "nonzero, bits 0-15 only (1 to 16 job slots)",
     "kbase no_mali model: JS_PRESENT 0x7", "GPU_JS_PRESENT register: bitmask of job slots",
     MALI_SIM_FIELD(js_present)},
    {"aarch64_mmu", Kind::Bool, 0, 1, "true needs a new-format (Bifrost or later) gpu_id",
     "none: off unless set", "implements AS_TRANSCFG and the AArch64 4K page-table format",
     MALI_SIM_FIELD(aarch64_mmu)},
#define MALI_SIM_REG(key, field, what)                                                            \
  {                                                                                               \
    key, Kind::Hex, 0, 0xFFFFFFFFULL, "any 32-bit value", "none: 0 unless set", what " register", \
        MALI_SIM_FIELD(field)                                                                     \
  }
    MALI_SIM_REG("l2_features", l2_features, "L2_FEATURES"),
    MALI_SIM_REG("core_features", core_features, "CORE_FEATURES (reads 0 outside arch 7.2 to 8.x)"),
    MALI_SIM_REG("tiler_features", tiler_features, "TILER_FEATURES"),
    MALI_SIM_REG("mem_features", mem_features, "MEM_FEATURES"),
    MALI_SIM_REG("thread_max_threads", thread_max_threads, "THREAD_MAX_THREADS"),
    MALI_SIM_REG("thread_max_workgroup_size", thread_max_workgroup_size, "THREAD_MAX_WORKGROUP_SIZE"),
    MALI_SIM_REG("thread_max_barrier_size", thread_max_barrier_size, "THREAD_MAX_BARRIER_SIZE"),
    MALI_SIM_REG("thread_features", thread_features, "THREAD_FEATURES"),
    MALI_SIM_REG("texture_features.0", texture_features[0], "TEXTURE_FEATURES_0"),
    MALI_SIM_REG("texture_features.1", texture_features[1], "TEXTURE_FEATURES_1"),
    MALI_SIM_REG("texture_features.2", texture_features[2], "TEXTURE_FEATURES_2"),
    MALI_SIM_REG("texture_features.3", texture_features[3], "TEXTURE_FEATURES_3 (reads 0 on arch 6.x)"),
    MALI_SIM_REG("js_features.0", js_features[0], "JS0_FEATURES"),
    MALI_SIM_REG("js_features.1", js_features[1], "JS1_FEATURES"),
    MALI_SIM_REG("js_features.2", js_features[2], "JS2_FEATURES (JS3 to JS15 read 0)"),
    MALI_SIM_REG("coherency_features", coherency_features, "COHERENCY_FEATURES (reads 0 before arch 6)"),
    MALI_SIM_REG("afbc_features", afbc_features, "AFBC_FEATURES (reads 0 before arch 6)"),
    MALI_SIM_REG("thread_tls_alloc", thread_tls_alloc, "THREAD_TLS_ALLOC (reads 0 outside arch 7.2 to 8.x)"),
#undef MALI_SIM_REG
    {"shader_present", Kind::Hex, 0, 0xFFFFFFFFULL,
     "0 (the lowest shader_cores bits) or a mask of exactly shader_cores bits",
     "none: 0, the lowest shader_cores bits", "SHADER_PRESENT register: which core numbers exist",
     MALI_SIM_FIELD(shader_present)},
    {"tiler_present", Kind::Hex, 1, 0xFFFFFFFFULL, "nonzero", "kbase no_mali model: TILER_PRESENT 0x1",
     "TILER_PRESENT register", MALI_SIM_FIELD(tiler_present)},
    {"l2_present", Kind::Hex, 1, 0xFFFFFFFFULL, "nonzero", "kbase no_mali model: L2_PRESENT 0x1",
     "L2_PRESENT register", MALI_SIM_FIELD(l2_present)},
    {"stack_present", Kind::Hex, 0, 0xFFFFFFFFULL, "any 32-bit value", "none: 0 unless set",
     "STACK_PRESENT register (reads 0 before arch 6.2)", MALI_SIM_FIELD(stack_present)},
    {"shader_cores", Kind::Uint, 1, kMaxShaderCores, "1 to 32", "assumption: one core for a custom GPU",
     "shader cores, one uTLB each; another count than shader_present's clears it (the lowest bits)",
     MALI_SIM_FIELD(shader_cores)},
    {"clock_hz", Kind::Uint, 1, kMaxClockHz, "1 Hz to 10 GHz", "Akita mmu/builder.go defaultSpec: 1 GHz",
     "GPU clock in Hz, for cycle <-> microsecond conversion", MALI_SIM_FIELD(clock_hz)},
    {"utlb.entries", Kind::Uint, 1, kMaxTlbEntries, "1 to 1048576; a multiple of utlb.ways",
     "gem5 GPUTLBOptions.py and SMMUv3.py uTLB: 32 entries", "entries of each per-core L1 uTLB",
     MALI_SIM_FIELD(utlb.entries)},
    {"utlb.ways", Kind::Uint, 1, kMaxTlbEntries, "1 to 1048576; utlb.entries / utlb.ways a power of two",
     "gem5 PR #1769: a 32-entry, 32-way (fully associative) L1 TLB is the representative one",
     "associativity of the uTLB (ways == entries: fully associative)", MALI_SIM_FIELD(utlb.ways)},
    {"utlb.latency", Kind::Uint, 0, kMaxLatency, "0 to 1e9 cycles",
     "gem5 GPUTLBOptions.py / SMMUv3.py uTLB: 1-cycle hit", "cycles from uTLB lookup to translation",
     MALI_SIM_FIELD(utlb.hit_latency)},
    {"utlb.replacement", Kind::Choice, 0, 1, "clock or lru",
     "assumption: second chance (clock); Mali's policy is not public",
     "which uTLB entry a fill evicts: clock (second chance) or lru (true LRU)",
     MALI_SIM_FIELD(utlb.replacement), nullptr, kReplacementNames},
    {"l2tlb.entries", Kind::Uint, 1, kMaxTlbEntries, "1 to 1048576; a multiple of l2tlb.ways",
     "Mosaic (MICRO'17) config: 512-entry shared L2 TLB (timing-sources.md: 512-2048 is the usual range)",
     "entries of the shared L2 TLB", MALI_SIM_FIELD(l2tlb.entries)},
    {"l2tlb.ways", Kind::Uint, 1, kMaxTlbEntries, "1 to 1048576; l2tlb.entries / l2tlb.ways a power of two",
     "gem5 SMMUv3.py main TLB: 4-way", "associativity of the L2 TLB", MALI_SIM_FIELD(l2tlb.ways)},
    {"l2tlb.latency", Kind::Uint, 0, kMaxLatency, "0 to 1e9 cycles",
     "assumption: 5 cycles, inside the 3 (gem5 SMMUv3.py) to 10 cycle range of timing-sources.md",
     "cycles from L2 TLB lookup to translation", MALI_SIM_FIELD(l2tlb.hit_latency)},
    {"l2tlb.replacement", Kind::Choice, 0, 1, "clock or lru",
     "assumption: second chance (clock); Mali's policy is not public",
     "which L2 TLB entry a fill evicts: clock (second chance) or lru (true LRU)",
     MALI_SIM_FIELD(l2tlb.replacement), nullptr, kReplacementNames},
    {"walk_cache.l0_entries", Kind::Uint, 0, kMaxTlbEntries, "0 (level off) to 1048576",
     "gem5 SMMUv3.py walk cache S1L0: 4 entries", "walk-cache entries for level-0 table descriptors",
     MALI_SIM_FIELD(walk_cache_entries[0])},
    {"walk_cache.l1_entries", Kind::Uint, 0, kMaxTlbEntries, "0 (level off) to 1048576",
     "gem5 SMMUv3.py walk cache S1L1: 28 entries", "walk-cache entries for level-1 table descriptors",
     MALI_SIM_FIELD(walk_cache_entries[1])},
    {"walk_cache.l2_entries", Kind::Uint, 0, kMaxTlbEntries, "0 (level off) to 1048576",
     "gem5 SMMUv3.py walk cache S1L2: 348 entries", "walk-cache entries for level-2 table descriptors",
     MALI_SIM_FIELD(walk_cache_entries[2])},
    {"walk_cache.latency", Kind::Uint, 0, kMaxLatency, "0 to 1e9 cycles",
     "gem5 SMMUv3.py walk-cache lookup: 4 cycles", "cycles charged on every walk for the walk-cache probe",
     MALI_SIM_FIELD(walk_cache_latency)},
    {"mem_read_latency", Kind::Uint, 1, kMaxLatency, "1 to 1e9 cycles",
     "derived: a 100-cycle 4-level walk (MGPUSim, UVMSmart, Mosaic, Accel-Sim PR #118) / 4 reads",
     "cycles for one descriptor read from memory", MALI_SIM_FIELD(mem_read_latency)},
    {"walkers", Kind::Uint, 1, kMaxWalkers, "1 to 1024",
     "Akita MMU default and gem5 SMMUv3.py ptw_slots: 16 concurrent walks",
     "page-table walks in flight at once", MALI_SIM_FIELD(walkers)},
    {"irq_latency", Kind::Uint, 0, kMaxLatency, "0 to 1e9 cycles",
     "assumption: 2 us at clock_hz (no public Mali figure; 1-5 us is the usual range, timing-sources.md)",
     "cycles from MMU IRQ assertion to handler entry", MALI_SIM_FIELD(irq_latency)},
    {"cmd.update", Kind::Uint, 0, kMaxLatency, "0 to 1e9 cycles",
     "assumption: 100 cycles (no public figure; drivers poll AS_STATUS every 10 us)",
     "AS_COMMAND UPDATE duration", MALI_SIM_FIELD(cmd_update)},
    {"cmd.lock", Kind::Uint, 0, kMaxLatency, "0 to 1e9 cycles", "assumption: 60 cycles (no public figure)",
     "AS_COMMAND LOCK duration", MALI_SIM_FIELD(cmd_lock)},
    {"cmd.unlock", Kind::Uint, 0, kMaxLatency, "0 to 1e9 cycles", "assumption: 60 cycles (no public figure)",
     "AS_COMMAND UNLOCK duration, before per-invalidation costs", MALI_SIM_FIELD(cmd_unlock)},
    {"cmd.flush_pt", Kind::Uint, 0, kMaxLatency, "0 to 1e9 cycles",
     "assumption: 500 cycles (no public figure; includes the L2 flush)",
     "AS_COMMAND FLUSH_PT duration, before per-invalidation costs", MALI_SIM_FIELD(cmd_flush_pt)},
    {"cmd.flush_mem", Kind::Uint, 0, kMaxLatency, "0 to 1e9 cycles",
     "assumption: 1000 cycles (no public figure; includes the L1 and L2 flushes)",
     "AS_COMMAND FLUSH_MEM duration after the AS's accesses drained", MALI_SIM_FIELD(cmd_flush_mem)},
    {"cmd.per_invalidation", Kind::Uint, 0, kMaxLatency, "0 to 1e9 cycles",
     "assumption: 1 cycle per dropped entry (no public figure)",
     "extra cycles per TLB / walk-cache entry an UNLOCK or flush drops",
     MALI_SIM_FIELD(cmd_per_invalidation)},
    {"mmio.read_ns", Kind::Uint, 0, kMaxNs, "0 to 1e9 ns",
     "assumption: 150 ns, an uncached device read's round trip on an SoC bus (no public Mali figure)",
     "time a CPU waits for one register read", MALI_SIM_FIELD(mmio_read_ns)},
    {"mmio.write_ns", Kind::Uint, 0, kMaxNs, "0 to 1e9 ns",
     "assumption: 40 ns, a posted device write (no public Mali figure)",
     "time one register write takes the CPU", MALI_SIM_FIELD(mmio_write_ns)},
    {"reset.soft_ns", Kind::Uint, 0, kMaxNs, "0 to 1e9 ns", kResetSource,
     "GPU_COMMAND SOFT_RESET to RESET_COMPLETED", MALI_SIM_FIELD(soft_reset_ns)},
    {"reset.hard_ns", Kind::Uint, 0, kMaxNs, "0 to 1e9 ns",
     "assumption: 2 us, shorter than a soft reset (a hard reset does not wait for the bus to drain)",
     "GPU_COMMAND HARD_RESET to RESET_COMPLETED", MALI_SIM_FIELD(hard_reset_ns)},
    {"power.l2_ns", Kind::Uint, 0, kMaxNs, "0 to 1e9 ns", kResetSource, "L2 PWRON to L2_READY",
     MALI_SIM_FIELD(l2_power_ns)},
    {"power.shader_ns", Kind::Uint, 0, kMaxNs, "0 to 1e9 ns", kResetSource,
     "SHADER PWRON to SHADER_READY (all cores written at once power up together)",
     MALI_SIM_FIELD(shader_power_ns)},
    {"power.tiler_ns", Kind::Uint, 0, kMaxNs, "0 to 1e9 ns", kResetSource, "TILER PWRON to TILER_READY",
     MALI_SIM_FIELD(tiler_power_ns)},
    {"power.stack_ns", Kind::Uint, 0, kMaxNs, "0 to 1e9 ns", "assumption: 1 us, as the tiler",
     "STACK PWRON to STACK_READY", MALI_SIM_FIELD(stack_power_ns)},
    {"power.down_ns", Kind::Uint, 0, kMaxNs, "0 to 1e9 ns",
     "assumption: 1 us (panfrost allows 2 ms for power-off polls; no figure is public)",
     "any PWROFF to the domain's READY bits clearing", MALI_SIM_FIELD(power_down_ns)},
    {"cache.clean_ns", Kind::Uint, 0, kMaxNs, "0 to 1e9 ns",
     "assumption: 5 us to clean the L2 (no public figure; drivers allow up to 1 s)",
     "GPU_COMMAND CLEAN_CACHES / CLEAN_INV_CACHES to CLEAN_CACHES_COMPLETED", MALI_SIM_FIELD(cache_clean_ns)},
    {"timestamp_hz", Kind::Uint, 1, kMaxClockHz, "1 Hz to 10 GHz",
     "assumption: 24 MHz, the Arm generic timer rate of the RK3399 (the SoC's system counter)",
     "the rate the TIMESTAMP register counts at", MALI_SIM_FIELD(timestamp_hz)},
};

#undef MALI_SIM_FIELD

const ParamDef* find_param(std::string_view name) noexcept {
  for (const ParamDef& p : kParams)
    if (p.name == name) return &p;
  return nullptr;
}

std::string known_param_names() {
  std::string out;
  for (const ParamDef& p : kParams) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

std::string format_value(const ParamDef& p, std::uint64_t v) {
  switch (p.kind) {
    case Kind::Id: return fmt::format("{:#010x}", v);
    case Kind::Hex: return fmt::format("{:#x}", v);
    case Kind::Bool: return v != 0 ? "true" : "false";
    case Kind::Choice: return v < p.choices.size() ? std::string(p.choices[v]) : fmt::format("{}", v);
    case Kind::Text:
    case Kind::Uint: break;
  }
  return fmt::format("{}", v);
}

// The single-parameter rule: [min, max] plus the parameter's own check. Empty when fine.
std::string param_violation(const ParamDef& p, std::uint64_t v) {
  if (v < p.min || v > p.max) return fmt::format("{} = {}: must be {}", p.name, format_value(p, v), p.rule);
  if (p.check != nullptr) {
    if (std::string why = p.check(v); !why.empty())
      return fmt::format("{} = {}: {} (rule: {})", p.name, format_value(p, v), why, p.rule);
  }
  return {};
}

Error invalid(std::string message) { return make_error(Errc::kInvalidArgument, std::move(message)); }

std::string check_tlb_geometry(std::string_view prefix, const TlbSpec& t) {
  if (t.entries == 0 || t.ways == 0) return {};  // reported by the range check
  if (t.entries % t.ways != 0)
    return fmt::format("{}.entries = {}: not a multiple of {}.ways = {}", prefix, t.entries, prefix, t.ways);
  const unsigned sets = t.entries / t.ways;
  if (!std::has_single_bit(sets))
    return fmt::format("{}.entries = {}: {} entries / {} ways = {} sets, which is not a power of two", prefix,
                       t.entries, t.entries, t.ways, sets);
  return {};
}

// ---------------------------------------------------------------------------------------------
// Presets
// ---------------------------------------------------------------------------------------------

// The feature registers of one preset (GpuSpec's fields of the same names) and where they come
// from: `logged` covers what panfrost prints at probe (L2, CORE, TILER and MEM_FEATURES,
// SHADER_PRESENT, L2_PRESENT), `props` the rest.
struct PresetFeatures {
  std::uint32_t l2, core, tiler, mem;
  std::uint32_t thread_max_threads, thread_max_workgroup_size, thread_max_barrier_size, thread_features;
  std::uint32_t texture[4];
  std::uint32_t js[3];
  std::uint32_t coherency, afbc, tls_alloc;
  std::uint64_t shader_present, stack_present;
  std::string_view logged;
  std::string_view props;
};

// Identity and platform values of one preset with the source of each. Timing parameters are the
// registry defaults for every preset, except irq_latency, which is 2 us at the preset's clock.
struct PresetDef {
  std::string_view name;
  std::string_view part;
  std::uint32_t gpu_id;
  std::string_view gpu_id_src;
  std::uint32_t mmu_features;
  std::string_view mmu_features_src;
  std::uint32_t as_present;
  std::string_view as_present_src;
  std::uint32_t js_present;
  std::string_view js_present_src;
  bool aarch64_mmu;
  std::string_view aarch64_mmu_src;
  unsigned shader_cores;
  std::string_view shader_cores_src;
  std::uint64_t clock_hz;
  std::string_view clock_hz_src;
  PresetFeatures features;
};

constexpr double kIrqLatencyUs = 2.0;

// Texture, job-slot and thread values of kbase's no_mali model, which stand in where no real
// part's values are public (hardware-facts §9.1).
constexpr std::string_view kDummyProps =
    "kbase no_mali model (mali_kbase_model_dummy.c): TEXTURE_FEATURES 0xFFFFF/0xFFFF/0x9F81FFFF/0, "
    "JS_FEATURES 0x20E/0x1FE/0x7E, COHERENCY_FEATURES 0x3, THREAD_* of its row for this GPU; "
    "STACK_PRESENT assumed equal to SHADER_PRESENT; AFBC_FEATURES and THREAD_TLS_ALLOC 0 (not found)";
// Bifrost's THREAD_FEATURES in the no_mali model: 0x6000 registers, task queue 4, TG split 10.
constexpr std::uint32_t kDummyBifrostThreadFeatures = 0x6000U | (4U << 16) | (10U << 24);

const PresetDef kPresets[] = {
    {"t860",
     "Mali-T860 MP4 (Midgard), as in the Rockchip RK3399",
     GpuId::make_old(0x0860, 2, 0, 0).raw,
     "product 0x0860 (panfrost model table, hardware-facts §1.6); r2p0 as an RK3399 reports it "
     "(panfrost boot log, dri-devel 2022-09-04 'panfrost js fault')",
     0x2830,
     "RK3399 panfrost boot log (dri-devel 2022-09-04): MMU:0x00002830 (48-bit VA, 40-bit PA); matches "
     "the T604 log of hardware-facts §1.4",
     0xFF,
     "RK3399 panfrost boot log (dri-devel 2022-09-04): AS:0xff",
     0x7,
     "RK3399 panfrost boot log (dri-devel 2022-09-04): JS:0x7",
     false,
     "hardware-facts §3.5: Midgard has no AS_TRANSCFG in any source (legacy LPAE format only)",
     4,
     "RK3399 panfrost boot log: shader_present=0xf (T860 MP4)",
     800'000'000,
     "assumption: typical SoC, RK3399; 800 MHz is the top of its GPU OPP table (rk3399-opp.dtsi)",
     {0x07120206,
      0x0,
      0x809,
      0x1,
      256,
      256,
      256,
      0x0,
      {0x000FFFFE, 0x0000FFFF, 0x9F81FFFF, 0x0},
      {0x20E, 0x1FE, 0x7E},
      0x0,
      0x0,
      0x0,
      0x0,
      0x0,
      "RK3399 panfrost boot log (dri-devel 2022-09-04): L2:0x07120206 Shader:0x0 Tiler:0x809 Mem:0x1, "
      "shader_present=0xf l2_present=0x1",
      "assumption (no T860 values are public): THREAD_* 256, kbase's defaults for registers that read 0; "
      "TEXTURE_FEATURES as Arm's T600 base driver hard-codes them; JS_FEATURES of the kbase no_mali "
      "model; no COHERENCY, AFBC, STACK or TLS registers before arch 6"}},
    {"g31",
     "Mali-G31 MP1 (Bifrost, tDVx), as in the Amlogic S905D3/S905X3 (SM1)",
     GpuId::make_new(7, 0, 9, 3, 0, 0, 0).raw,
     "Khadas VIM3L (SM1) panfrost boot log (LKML 2020-10-26, Kevin Hilman, 'irq-meson-gpio'): id 0x7093 "
     "r0p0, a G31 (panfrost model 0x7003, hardware-facts §1.6); an Allwinner H616 reports the same",
     0x2821,
     "VIM3L (SM1) panfrost boot log: MMU:0x00002821 (kbase no_mali model tDVx agrees, hardware-facts §1.5)",
     0xFF,
     "VIM3L (SM1) panfrost boot log: AS:0xff (kbase no_mali model: 0xFF)",
     0x7,
     "VIM3L (SM1) panfrost boot log: JS:0x7 (kbase no_mali model: 0x7)",
     true,
     "hardware-facts §3.5: AS_TRANSCFG exists from arch 6.0 (newest kbase register table) and every Bifrost "
     "MMU walks the AArch64 4K format (panfrost commit db599be9f393, 2025)",
     1,
     "VIM3L (SM1) panfrost boot log: shader_present=0x1",
     800'000'000,
     "assumption: typical SoC, Amlogic SM1; 800 MHz is the top of the meson-g12 GPU OPP table",
     {0x07100206,
      0x0,
      0x209,
      0x1,
      0x300,
      0x180,
      0x180,
      kDummyBifrostThreadFeatures,
      {0x000FFFFF, 0x0000FFFF, 0x9F81FFFF, 0x0},
      {0x20E, 0x1FE, 0x7E},
      0x3,
      0x0,
      0x0,
      0x0,
      0x1,
      "VIM3L (SM1) panfrost boot log: L2:0x07100206 Shader:0x0 Tiler:0x209 Mem:0x1, shader_present=0x1 "
      "l2_present=0x1",
      kDummyProps}},
    {"g52",
     "Mali-G52 r1 MC2 (Bifrost, tGOx), as in the MediaTek MT8186",
     GpuId::make_new(7, 4, 0, 2, 1, 0, 0).raw,
     "MT8186 panfrost boot log (KernelCI report to stable@, 2025-03-06, mt8186-corsola-steelix): id 0x7402 "
     "r1p0; the kbase no_mali model's tGOx r1p0 GPU_ID2_MAKE(7,4,0,2) is the same (hardware-facts §1.6)",
     0x2823,
     "MT8186 panfrost boot log: MMU:0x00002823 (kbase no_mali model tGOx r1p0 agrees)",
     0xFF,
     "MT8186/MT8365/RK3566 panfrost boot logs: AS:0xff (kbase no_mali model: 0xFF)",
     0x7,
     "MT8186/MT8365/RK3566 panfrost boot logs: JS:0x7",
     true,
     "hardware-facts §3.5: AS_TRANSCFG exists from arch 6.0 (newest kbase register table) and every Bifrost "
     "MMU walks the AArch64 4K format (panfrost commit db599be9f393, 2025, adds the flag to G52)",
     2,
     "MT8186 panfrost boot log: shader_present=0x3 (Mali-G52 MC2 2EE)",
     850'000'000,
     "assumption: typical SoC, MT8186; 850 MHz is the top GPU OPP every speed bin has (mt8186.dtsi)",
     {0x07120206,
      0x2,
      0x209,
      0x1,
      0x180,
      0x180,
      0x180,
      kDummyBifrostThreadFeatures,
      {0x000FFFFF, 0x0000FFFF, 0x9F81FFFF, 0x0},
      {0x20E, 0x1FE, 0x7E},
      0x3,
      0x0,
      0x0,
      0x0,
      0x3,
      "MT8186 panfrost boot log (KernelCI, 2025-03-06): L2:0x07120206 Shader:0x2 Tiler:0x209 Mem:0x1, "
      "shader_present=0x3 l2_present=0x1",
      kDummyProps}},
    {"g72",
     "Mali-G72 MP3 (Bifrost, tHEx), as in the MediaTek MT8183",
     GpuId::make_new(6, 2, 2, 1, 0, 3, 0).raw,
     "MT8183 panfrost boot log (dri-devel 2020-02-07, 'Add dts for mt8183 GPU'): id 0x6221 r0p3, a G72 "
     "(panfrost model 0x6001, hardware-facts §1.6)",
     0x2830,
     "MT8183 panfrost boot log (dri-devel 2020-02-07): MMU:0x00002830 (kbase no_mali model tHEx agrees)",
     0xFF,
     "MT8183 panfrost boot log (dri-devel 2020-02-07): AS:0xff",
     0x7,
     "MT8183 panfrost boot log (dri-devel 2020-02-07): JS:0x7",
     true,
     "hardware-facts §3.5: AS_TRANSCFG exists from arch 6.0 (newest kbase register table) and every Bifrost "
     "MMU walks the AArch64 4K format (panfrost commit db599be9f393, 2025, adds the flag to G72)",
     3,
     "MT8183 panfrost boot log: shader_present=0x7 (Mali-G72 MP3)",
     800'000'000,
     "assumption: typical SoC, MT8183 at 800 MHz (not checked against a device tree)",
     {0x07120206,
      0x0,
      0x809,
      0x1,
      0x180,
      0x180,
      0x180,
      kDummyBifrostThreadFeatures,
      {0x000FFFFF, 0x0000FFFF, 0x9F81FFFF, 0x0},
      {0x20E, 0x1FE, 0x7E},
      0x3,
      0x0,
      0x0,
      0x0,
      0x7,
      "MT8183 panfrost boot log (dri-devel 2020-02-07): L2:0x07120206 Shader:0x0 Tiler:0x809 Mem:0x1, "
      "shader_present=0x7 l2_present=0x1",
      kDummyProps}},
    {"g57",
     "Mali-G57 MC3 (Valhall JM, tNAx), as in the MediaTek MT8188 / MT8390",
     GpuId::make_new(9, 0, 9, 3, 0, 0, 0).raw,
     "MT8390 (Genio 700) panfrost boot log (dri-devel 2024-10-02, 'Enable Mali GPU on MediaTek Genio 700 "
     "EVK'): id 0x9093, MediaTek's G57 variant (panfrost model 0x9003, hardware-facts §1.6); r0p0 is our "
     "choice",
     0x2830,
     "MT8390 (Genio 700) panfrost boot log: MMU:0x00002830 (kbase no_mali model tNAx agrees)",
     0xFF,
     "MT8390 (Genio 700) panfrost boot log: AS:0xff (kbase no_mali model: 0xFF)",
     0x7,
     "MT8390 (Genio 700) panfrost boot log: JS:0x7",
     true,
     "panfrost_features.h: hw_features_g57 has HW_FEATURE_AARCH64_MMU",
     3,
     "MT8390 (Genio 700, the MT8188 die) panfrost boot log: shader_present=0x10005 (G57 MC3)",
     880'000'000,
     "assumption: typical SoC, MT8188; 880 MHz is the top GPU OPP every speed bin has (mt8188.dtsi)",
     {0x08130206,
      0x0,
      0x809,
      0x1,
      1024,
      512,
      512,
      0x00048000,
      {0xF7FE03FE, 0xC3FFF7FF, 0xBFE1FF9F, 0x000010C6},
      {0x20E, 0x1C9E, 0x1E},
      0x3,
      0x0,
      0x0,
      0x10005,
      0x10005,
      "MT8390 (Genio 700) panfrost boot log (dri-devel 2024-10-02): L2:0x08130206 Shader:0x0 Tiler:0x809 "
      "Mem:0x1, shader_present=0x10005 l2_present=0x1",
      "a real two-core G57 r0p1's property dump (libGPUCounters prop_decoder, the ARM-Mali_PC page in the "
      "gpu "
      "folder of github.com/StarBeat/cpu-gpu-arch): THREAD_* 1024/512/512 and 0x48000, TEXTURE_FEATURES, "
      "JS_FEATURES "
      "0x20E/0x1C9E/0x1E; STACK_PRESENT equal to SHADER_PRESENT as in that dump; COHERENCY_FEATURES 0x3 "
      "of the kbase no_mali model; AFBC_FEATURES and THREAD_TLS_ALLOC 0 (not found)"}},
};

const PresetDef* find_preset(std::string_view name) noexcept {
  for (const PresetDef& p : kPresets)
    if (p.name == name) return &p;
  return nullptr;
}

GpuSpec build_preset(const PresetDef& d) {
  GpuSpec s;
  s.name = std::string(d.name);
  s.gpu_id = d.gpu_id;
  s.mmu_features = d.mmu_features;
  s.as_present = d.as_present;
  s.js_present = d.js_present;
  s.aarch64_mmu = d.aarch64_mmu;
  s.shader_cores = d.shader_cores;
  s.clock_hz = d.clock_hz;
  const PresetFeatures& f = d.features;
  s.l2_features = f.l2;
  s.core_features = f.core;
  s.tiler_features = f.tiler;
  s.mem_features = f.mem;
  s.thread_max_threads = f.thread_max_threads;
  s.thread_max_workgroup_size = f.thread_max_workgroup_size;
  s.thread_max_barrier_size = f.thread_max_barrier_size;
  s.thread_features = f.thread_features;
  for (unsigned i = 0; i < 4; ++i) s.texture_features[i] = f.texture[i];
  for (unsigned i = 0; i < 3; ++i) s.js_features[i] = f.js[i];
  s.coherency_features = f.coherency;
  s.afbc_features = f.afbc;
  s.thread_tls_alloc = f.tls_alloc;
  s.shader_present = f.shader_present;
  s.stack_present = f.stack_present;
  s.irq_latency = s.us_to_cycles(kIrqLatencyUs);
  return s;
}

// The source of a parameter's baseline value: the preset's own for identity parameters, the
// registry default otherwise.
std::string_view baseline_source(const PresetDef* d, const ParamDef& p) {
  if (d != nullptr) {
    if (p.name == "gpu_id") return d->gpu_id_src;
    if (p.name == "mmu_features") return d->mmu_features_src;
    if (p.name == "as_present") return d->as_present_src;
    if (p.name == "js_present") return d->js_present_src;
    if (p.name == "aarch64_mmu") return d->aarch64_mmu_src;
    if (p.name == "shader_cores") return d->shader_cores_src;
    if (p.name == "clock_hz") return d->clock_hz_src;
    const bool logged = p.name == "l2_features" || p.name == "core_features" || p.name == "tiler_features" ||
                        p.name == "mem_features" || p.name == "shader_present" || p.name == "l2_present";
    if (logged) return d->features.logged;
    const bool props = p.name.starts_with("thread_") || p.name.starts_with("texture_features") ||
                       p.name.starts_with("js_features") || p.name == "coherency_features" ||
                       p.name == "afbc_features" || p.name == "stack_present";
    if (props) return d->features.props;
  }
  return p.source;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// GpuSpec
// ---------------------------------------------------------------------------------------------

std::string_view to_string(TlbReplacement r) noexcept {
  const auto i = static_cast<std::size_t>(r);
  return i < std::size(kReplacementNames) ? kReplacementNames[i] : "?";
}

unsigned GpuSpec::arch_major() const noexcept { return GpuId::decode(gpu_id).arch_major(); }

unsigned GpuSpec::lock_region_min_log2() const noexcept {
  return ::mali_sim::lock_region_min_log2(arch_major());
}

std::uint64_t GpuSpec::core_mask() const noexcept {
  if (shader_present != 0) return shader_present;
  return shader_cores >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << shader_cores) - 1;
}

unsigned GpuSpec::core_bit(unsigned core) const noexcept {
  std::uint64_t m = core_mask();
  for (unsigned i = 0; i < core && m != 0; ++i) m &= m - 1;
  return m == 0 ? 64 : static_cast<unsigned>(std::countr_zero(m));
}

Cycle GpuSpec::ns_to_cycles(std::uint64_t ns) const noexcept {
  return us_to_cycles(static_cast<double>(ns) / 1000.0);
}

unsigned GpuSpec::address_spaces() const noexcept { return static_cast<unsigned>(std::popcount(as_present)); }

Cycle GpuSpec::us_to_cycles(double us) const noexcept {
  const double cycles = us * cycles_per_us();
  if (!(cycles > 0.0)) return 0;                       // negative, zero or NaN
  constexpr double kTooMany = 18446744073709549568.0;  // largest double below 2^64
  if (cycles >= kTooMany) return std::numeric_limits<Cycle>::max();
  return static_cast<Cycle>(std::floor(cycles + 0.5));
}

Status GpuSpec::validate() const {
  if (name.empty()) return invalid("name: must not be empty");
  for (const ParamDef& p : kParams) {
    if (p.get == nullptr) continue;
    if (std::string why = param_violation(p, p.get(*this)); !why.empty()) return invalid(std::move(why));
  }
  if (std::string why = check_tlb_geometry("utlb", utlb); !why.empty()) return invalid(std::move(why));
  if (std::string why = check_tlb_geometry("l2tlb", l2tlb); !why.empty()) return invalid(std::move(why));
  if (shader_present != 0 && static_cast<unsigned>(std::popcount(shader_present)) != shader_cores) {
    return invalid(fmt::format(
        "shader_present = {:#x}: it has {} cores but shader_cores = {} (rule: 0, for the lowest shader_cores "
        "bits, or a mask of exactly shader_cores bits)",
        shader_present, std::popcount(shader_present), shader_cores));
  }
  if (aarch64_mmu && !GpuId::decode(gpu_id).is_new_format()) {
    return invalid(fmt::format(
        "aarch64_mmu = true: gpu_id {:#010x} is an old-format (Midgard) id; the AArch64 MMU needs a "
        "Bifrost or later GPU (rule: true needs a new-format gpu_id)",
        gpu_id));
  }
  return Status::ok();
}

Status GpuSpec::set(std::string_view key, std::string_view value) {
  const ParamDef* p = find_param(key);
  if (p == nullptr)
    return make_error(Errc::kNotFound,
                      fmt::format("unknown parameter '{}' (known: {})", key, known_param_names()));
  if (p->kind == Kind::Text) {
    if (value.empty()) return invalid(fmt::format("{}: {}", p->name, p->rule));
    name = std::string(value);
    return Status::ok();
  }
  if (p->kind == Kind::Choice) {
    for (std::size_t i = 0; i < p->choices.size(); ++i) {
      if (p->choices[i] == value) {
        p->put(*this, i);
        return Status::ok();
      }
    }
    return invalid(fmt::format("{}: '{}' is not one of: {}", p->name, value, p->rule));
  }
  Result<std::uint64_t> v = parse_number(p->name, value);
  if (p->kind == Kind::Bool) {
    Result<bool> b = parse_bool(p->name, value);
    if (!b) return std::move(b).error();
    v = std::uint64_t{*b ? 1U : 0U};
  }
  if (!v) return std::move(v).error();
  if (std::string why = param_violation(*p, *v); !why.empty()) return invalid(std::move(why));
  p->put(*this, *v);
  // Another core count than SHADER_PRESENT has: the cores become the lowest bits.
  if (p->name == "shader_cores" && shader_present != 0 &&
      static_cast<std::uint64_t>(std::popcount(shader_present)) != *v)
    shader_present = 0;
  return Status::ok();
}

std::vector<GpuSpec::Param> GpuSpec::params() const {
  const PresetDef* preset = find_preset(name);
  const GpuSpec baseline = preset != nullptr ? build_preset(*preset) : GpuSpec{};
  std::vector<Param> out;
  out.reserve(std::size(kParams));
  for (const ParamDef& p : kParams) {
    Param row;
    row.name = std::string(p.name);
    row.description = fmt::format("{}; allowed: {}", p.description, p.rule);
    if (p.kind == Kind::Text) {
      row.value = name;
      row.source = preset != nullptr ? fmt::format("preset {}: {}", preset->name, preset->part)
                                     : std::string(p.source);
    } else {
      const std::uint64_t v = p.get(*this);
      const std::uint64_t base = p.get(baseline);
      row.value = format_value(p, v);
      if (v == base) {
        row.source = std::string(baseline_source(preset, p));
      } else {
        row.source = preset != nullptr
                         ? fmt::format("override (preset {} has {})", preset->name, format_value(p, base))
                         : fmt::format("override (default {})", format_value(p, base));
      }
    }
    out.push_back(std::move(row));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Presets
// ---------------------------------------------------------------------------------------------

std::vector<std::string> gpu_preset_names() {
  std::vector<std::string> names;
  names.reserve(std::size(kPresets));
  for (const PresetDef& p : kPresets) names.emplace_back(p.name);
  return names;
}

Result<GpuSpec> gpu_preset(std::string_view name) {
  if (const PresetDef* d = find_preset(name)) return build_preset(*d);
  std::string known;
  for (const PresetDef& p : kPresets) {
    if (!known.empty()) known += ", ";
    known += p.name;
  }
  return make_error(Errc::kNotFound, fmt::format("unknown GPU preset '{}' (known: {})", name, known));
}

}  // namespace mali_sim
