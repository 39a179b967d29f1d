// What a simulated GPU is: identity registers, address spaces, shader cores, clock, the
// page-table formats it walks, TLB geometry and latencies. Immutable once validated (Akita's
// Spec/State split). Presets name real parts; every timing default states its source or says
// "assumption" (docs/presets.md). Any parameter can be overridden by name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mali_sim/error.hpp"
#include "mali_sim/types.hpp"

namespace mali_sim {

// Which entry of a full set a fill evicts. Mali's policy is not public (docs/fidelity.md).
enum class TlbReplacement : std::uint8_t {
  kClock,  // second chance: a hit marks its entry; the fill takes the first unmarked entry from a
           // hand that sweeps the set, unmarking as it goes (a common hardware LRU approximation)
  kLru,    // true LRU: the entry used least recently
};
std::string_view to_string(TlbReplacement r) noexcept;

struct TlbSpec {
  unsigned entries = 32;
  unsigned ways = 32;     // entries == ways: fully associative
  Cycle hit_latency = 1;  // cycles from lookup to translation
  TlbReplacement replacement = TlbReplacement::kClock;
};

struct GpuSpec {
  static constexpr unsigned kMaxShaderCores = 32;

  std::string name = "custom";

  // Identity and feature registers of the GPU control block, exactly as the GPU reports them
  // (docs/hardware-facts.md §9). A register the GPU's architecture lacks reads 0 whatever is
  // set here (GpuControl).
  std::uint32_t gpu_id = 0;          // GPU_ID
  std::uint32_t l2_features = 0;     // L2_FEATURES
  std::uint32_t core_features = 0;   // CORE_FEATURES (arch 7.2 to 8.x)
  std::uint32_t tiler_features = 0;  // TILER_FEATURES
  std::uint32_t mem_features = 0;    // MEM_FEATURES
  std::uint32_t mmu_features = 0;    // GPU_MMU_FEATURES: VA bits [7:0], PA bits [15:8]
  std::uint32_t as_present = 0;      // GPU_AS_PRESENT
  std::uint32_t js_present = 0x7;    // GPU_JS_PRESENT
  std::uint32_t thread_max_threads = 0;
  std::uint32_t thread_max_workgroup_size = 0;
  std::uint32_t thread_max_barrier_size = 0;
  std::uint32_t thread_features = 0;
  std::uint32_t texture_features[4] = {};  // TEXTURE_FEATURES_0..3
  std::uint32_t js_features[3] = {};       // JS0..2_FEATURES (slots 3 to 15 read 0)
  std::uint32_t coherency_features = 0;    // COHERENCY_FEATURES (arch 6 and later)
  std::uint32_t afbc_features = 0;         // AFBC_FEATURES (arch 6 and later)
  std::uint32_t thread_tls_alloc = 0;      // THREAD_TLS_ALLOC (arch 7.2 to 8.x)
  std::uint64_t shader_present = 0;        // SHADER_PRESENT; 0: the lowest shader_cores bits
  std::uint64_t tiler_present = 1;         // TILER_PRESENT
  std::uint64_t l2_present = 1;            // L2_PRESENT
  std::uint64_t stack_present = 0;         // STACK_PRESENT (arch 6.2 and later)
  bool aarch64_mmu = false;  // implements AS_TRANSCFG and the AArch64 4K format (every Bifrost+)

  unsigned shader_cores = 1;  // popcount of shader_present
  std::uint64_t clock_hz = 1'000'000'000;

  TlbSpec utlb{32, 32, 1, TlbReplacement::kClock};   // per shader core, fully associative
  TlbSpec l2tlb{512, 4, 5, TlbReplacement::kClock};  // shared
  // Page-walk cache: entries caching level-0, level-1 and level-2 table descriptors (a hit lets
  // the walk start at level 1, 2 or 3).
  unsigned walk_cache_entries[3] = {4, 28, 348};
  Cycle walk_cache_latency = 4;  // charged on every walk (the cache is probed first)
  Cycle mem_read_latency = 25;   // one descriptor read
  unsigned walkers = 16;         // concurrent page-table walks

  Cycle irq_latency = 2000;  // MMU IRQ assertion to handler entry

  // AS_COMMAND durations (AS_STATUS.ACTIVE reads 1 meanwhile).
  Cycle cmd_update = 100;
  Cycle cmd_lock = 60;
  Cycle cmd_unlock = 60;
  Cycle cmd_flush_pt = 500;
  Cycle cmd_flush_mem = 1000;      // after the AS's in-flight accesses have drained
  Cycle cmd_per_invalidation = 1;  // extra per TLB / walk-cache entry an UNLOCK or flush drops

  // Register bus and GPU control timing, in nanoseconds (docs/timing-sources.md).
  std::uint64_t mmio_read_ns = 150;         // one register read, round trip
  std::uint64_t mmio_write_ns = 40;         // one posted register write
  std::uint64_t soft_reset_ns = 5000;       // GPU_COMMAND SOFT_RESET to RESET_COMPLETED
  std::uint64_t hard_reset_ns = 2000;       // GPU_COMMAND HARD_RESET to RESET_COMPLETED
  std::uint64_t l2_power_ns = 2000;         // L2 PWRON to READY
  std::uint64_t shader_power_ns = 2000;     // SHADER PWRON to READY (cores in parallel)
  std::uint64_t tiler_power_ns = 1000;      // TILER PWRON to READY
  std::uint64_t stack_power_ns = 1000;      // STACK PWRON to READY
  std::uint64_t power_down_ns = 1000;       // any PWROFF to not READY
  std::uint64_t cache_clean_ns = 5000;      // GPU_COMMAND CLEAN_(INV_)CACHES to CLEAN_CACHES_COMPLETED
  std::uint64_t timestamp_hz = 24'000'000;  // the rate TIMESTAMP counts at

  // Derived from the identity registers.
  std::uint64_t core_mask() const noexcept;  // shader_present, or the lowest shader_cores bits
  // The SHADER_PRESENT bit of shader core `core` (cores are numbered 0.. in bit order).
  unsigned core_bit(unsigned core) const noexcept;
  Cycle ns_to_cycles(std::uint64_t ns) const noexcept;
  unsigned va_bits() const noexcept { return mmu_features & 0xFFU; }
  unsigned pa_bits() const noexcept { return (mmu_features >> 8) & 0xFFU; }
  unsigned arch_major() const noexcept;            // 0 for Midgard-era (old-format) GPU_IDs
  unsigned lock_region_min_log2() const noexcept;  // 15 before arch 12, 12 from arch 12
  unsigned address_spaces() const noexcept;        // popcount(as_present)
  bool has_as(unsigned as) const noexcept { return as < 16 && ((as_present >> as) & 1U) != 0; }
  double cycles_per_us() const noexcept { return static_cast<double>(clock_hz) / 1e6; }
  Cycle us_to_cycles(double us) const noexcept;

  // A clear error naming the parameter and the rule for any impossible value.
  Status validate() const;

  // Override one parameter by its documented name (see params()); unknown names and values that
  // do not parse are rejected. Does not validate the whole spec: call validate() after the last.
  Status set(std::string_view key, std::string_view value);

  // Every parameter as name, value, and source ("assumption: ..." where no source exists), in a
  // stable order, for --help, JSON echo and `mali-sim presets`. A value that differs from the
  // preset named by `name` (or from the defaults of a custom spec) is reported as an override.
  // Feeding each (name, value) back to set() reproduces the spec.
  struct Param {
    std::string name;
    std::string value;
    std::string source;
    std::string description = {};  // one line: what the parameter is and its rule
  };
  std::vector<Param> params() const;
};

// Named presets of real parts. Known names: t860, g31, g52, g72, g57 (see docs/presets.md).
std::vector<std::string> gpu_preset_names();
Result<GpuSpec> gpu_preset(std::string_view name);

}  // namespace mali_sim
