// GpuSpec: the parameter registry (one row per parameter: name, accessors, allowed range, rule,
// default source, description), set()/params()/validate() on top of it, and the named presets.
//
// Every identity value of a preset names where it was read; every timing value names the peer
// simulator or paper of docs/timing-sources.md it comes from, or says "assumption". The per-preset
// choices are explained in docs/presets.md.
#include "mali_sim/mmu/gpu_spec.hpp"

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
constexpr std::uint64_t kMaxTlbEntries = 1U << 20;    // keeps a mistyped size from eating memory
constexpr std::uint64_t kMaxClockHz = 10'000'000'000ULL;
constexpr unsigned kMaxShaderCores = GpuSpec::kMaxShaderCores;
constexpr unsigned kMaxWalkers = 1024;
constexpr unsigned kMinVaBits = 33;  // T720/T820, G51/G31 (hardware-facts §1.5)
constexpr unsigned kMinPaBits = 32;  // our floor: no Mali part with fewer is known

enum class Kind : std::uint8_t {
  Text,    // name
  Id,      // GPU_ID: printed as 0x%08x, parsed as decimal or 0x-hex
  Hex,     // other identity registers: printed as 0x..., parsed as decimal or 0x-hex
  Uint,    // counts and cycles
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

#define MALI_SIM_FIELD(expr)                                                                  \
  [](const GpuSpec& s) { return static_cast<std::uint64_t>(s.expr); }, [](GpuSpec& s, std::uint64_t v) { \
    s.expr = static_cast<std::remove_reference_t<decltype(s.expr)>>(v);                       \
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
    {"shader_cores", Kind::Uint, 1, kMaxShaderCores, "1 to 32", "assumption: one core for a custom GPU",
     "shader cores, one uTLB each", MALI_SIM_FIELD(shader_cores)},
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
};

constexpr double kIrqLatencyUs = 2.0;

const PresetDef kPresets[] = {
    {"t860", "Mali-T860 MP4 (Midgard), as in the Rockchip RK3399", GpuId::make_old(0x0860, 2, 0, 0).raw,
     "product 0x0860 (panfrost model table, hardware-facts §1.6); r2p0 as an RK3399 reports it "
     "(panfrost boot log, dri-devel 2022-09-04 'panfrost js fault')",
     0x2830,
     "RK3399 panfrost boot log (dri-devel 2022-09-04): MMU:0x00002830 (48-bit VA, 40-bit PA); matches "
     "the T604 log of hardware-facts §1.4",
     0xFF, "RK3399 panfrost boot log (dri-devel 2022-09-04): AS:0xff", 0x7,
     "RK3399 panfrost boot log (dri-devel 2022-09-04): JS:0x7", false,
     "panfrost_features.h: hw_features_t860 has no HW_FEATURE_AARCH64_MMU (legacy LPAE format only)", 4,
     "RK3399 panfrost boot log: shader_present=0xf (T860 MP4)", 800'000'000,
     "assumption: typical SoC, RK3399; 800 MHz is the top of its GPU OPP table (rk3399-opp.dtsi)"},
    {"g31", "Mali-G31 (Bifrost, tDVx), as in the Amlogic S905D3/S905X3 (SM1)",
     GpuId::make_new(7, 0, 0, 3, 0, 0, 0).raw,
     "kbase no_mali model tDVx GPU_ID2_MAKE(7,0,0,3) r0p0 (hardware-facts §1.6); SM1 and H616 silicon "
     "report product 0x7093, the same G31 model",
     0x2821,
     "kbase no_mali model tDVx (hardware-facts §1.5); the Khadas VIM3L (SM1) panfrost boot log reads "
     "MMU:0x00002821 too",
     0xFF, "kbase no_mali model as_present 0xFF; the VIM3L (SM1) panfrost boot log reads AS:0xff", 0x7,
     "kbase no_mali model JS_PRESENT 0x7; VIM3L boot log JS:0x7", true,
     "panfrost_features.h: hw_features_g31 has HW_FEATURE_AARCH64_MMU", 1,
     "Khadas VIM3L (SM1) panfrost boot log: shader_present=0x1", 800'000'000,
     "assumption: typical SoC, Amlogic SM1; 800 MHz is the top of the meson-g12 GPU OPP table"},
    {"g52", "Mali-G52 r1 MC2 (Bifrost, tGOx), as in the MediaTek MT8186",
     GpuId::make_new(7, 4, 0, 2, 1, 0, 0).raw,
     "kbase no_mali model tGOx r1p0 GPU_ID2_MAKE(7,4,0,2) (hardware-facts §1.6); MT8186, MT8365 and "
     "RK3566 panfrost boot logs report the same id 0x7402 r1p0",
     0x2823,
     "kbase no_mali model tGOx r1p0 (hardware-facts §1.5); MT8186/MT8365/RK3566 panfrost boot logs read "
     "MMU:0x00002823",
     0xFF, "MT8186/MT8365/RK3566 panfrost boot logs: AS:0xff (kbase no_mali model: 0xFF)", 0x7,
     "MT8186/MT8365/RK3566 panfrost boot logs: JS:0x7", false,
     "panfrost_features.h: hw_features_g52 has no HW_FEATURE_AARCH64_MMU (the MT8186 boot log's "
     "feature mask 0xcf7 has bit 8 clear)",
     2, "MT8186 panfrost boot log: shader_present=0x3 (Mali-G52 MC2 2EE)", 850'000'000,
     "assumption: typical SoC, MT8186; 850 MHz is the top GPU OPP every speed bin has (mt8186.dtsi)"},
    {"g72", "Mali-G72 MP3 (Bifrost, tHEx), as in the MediaTek MT8183",
     GpuId::make_new(6, 2, 0, 1, 0, 0, 0).raw,
     "kbase no_mali model tHEx GPU_ID2_MAKE(6,2,0,1) r0p0 (hardware-facts §1.6); MT8183 silicon reports "
     "product 0x6221 r0p3, the same G72 model",
     0x2830,
     "kbase no_mali model tHEx (hardware-facts §1.5); the MT8183 panfrost boot log (dri-devel 2020-02-07, "
     "'Add dts for mt8183 GPU') reads MMU:0x00002830",
     0xFF, "MT8183 panfrost boot log (dri-devel 2020-02-07): AS:0xff", 0x7,
     "MT8183 panfrost boot log (dri-devel 2020-02-07): JS:0x7", false,
     "panfrost_features.h: hw_features_g72 has no HW_FEATURE_AARCH64_MMU", 3,
     "MT8183 panfrost boot log: shader_present=0x7 (Mali-G72 MP3)", 800'000'000,
     "assumption: typical SoC, MT8183 at 800 MHz (not checked against a device tree)"},
    {"g57", "Mali-G57 MC3 (Valhall JM, tNAx), as in the MediaTek MT8188 / MT8390",
     GpuId::make_new(9, 0, 0, 1, 0, 0, 0).raw,
     "tNAx product 0x9001 (arch 9, product major 1; panfrost model 0x9001) r0p0, our choice; "
     "MediaTek's MT8188/MT8390 report their own variant 0x9093, the same G57 model",
     0x2830,
     "kbase no_mali model tNAx (hardware-facts §1.5); MT8390 (Genio 700) panfrost boot log reads "
     "MMU:0x00002830",
     0xFF, "MT8390 (Genio 700) panfrost boot log: AS:0xff (kbase no_mali model: 0xFF)", 0x7,
     "MT8390 (Genio 700) panfrost boot log: JS:0x7", true,
     "panfrost_features.h: hw_features_g57 has HW_FEATURE_AARCH64_MMU", 3,
     "MT8390 (Genio 700, the MT8188 die) panfrost boot log: shader_present=0x10005 (G57 MC3)", 880'000'000,
     "assumption: typical SoC, MT8188; 880 MHz is the top GPU OPP every speed bin has (mt8188.dtsi)"},
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
