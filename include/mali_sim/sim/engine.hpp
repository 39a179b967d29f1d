// The simulation engine: replays a trace of GPU work against a simulated GPU and the reference
// driver on one clock, and collects what happened.
//
// Semantics (docs/trace-format.md; the model in full: docs/architecture.md, "Time"):
// - Shader cores issue their job's accesses in trace order, each `delta` cycles after the core's
//   previous issue, with at most `outstanding_per_core` accesses in flight; a stalled access keeps
//   its slot, so a fault stalls the core's stream once the slots are used up.
// - The driver runs on its own CPU timeline, concurrently with the cores: while it handles an
//   interrupt or an ioctl, every core whose work does not need it goes on issuing.
// - Control events (contexts, BOs, madvise, job begin) are ioctls of their context, in trace
//   order; each starts once every access of its context before it (and the access just before
//   it) has issued. A job is submitted as user space does: a job descriptor written into a
//   descriptor BO of its context, then SUBMIT; the driver puts it on its job slot, and its
//   accesses issue once the job manager has started it. `end` waits for the job's accesses to
//   complete (the job ends at its last completion), then for the driver to complete the job.
// - A job whose address space is killed (a terminal fault) fails as the hardware fails it: the
//   rest of its accesses are dropped, and its context gets a clean AS on its next job.
// - The clock jumps from event to event; nothing is ticked. Same inputs, same outputs.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "mali_sim/check/checker.hpp"
#include "mali_sim/error.hpp"
#include "mali_sim/gem/driver.hpp"
#include "mali_sim/gpu/gpu.hpp"
#include "mali_sim/sim/trace.hpp"

namespace mali_sim {

struct EngineConfig {
  static constexpr std::uint64_t kMaxQueuePerCore = std::uint64_t{1} << 20;

  unsigned outstanding_per_core = 4;
  std::uint64_t phys_mem_bytes = 4ULL << 30;
  std::uint64_t queue_per_core = 4096;  // accesses read ahead per core (bounds memory)
  Cycle epoch = 0;                      // time-series period in cycles; 0 = none
  // Run the driver checker (docs/driver-testing.md) over the replay: slower, same results.
  bool check = false;

  Status set(std::string_view key, std::string_view value);  // engine.outstanding, engine.check=0|1, ...
  // The same rules for a config built in code (the Engine's constructor checks them).
  Status validate() const;
};

struct JobOutcome {
  std::string name;
  std::string context;
  bool failed = false;
  // GPU time: begin when the job manager started the job's shader work (it read the job's
  // descriptor from its slot), end when its last access completed (or, for a failed job, when
  // the driver learnt of the failure); fence when the driver completed it (its job interrupt
  // handled, the address space released: what a process waiting on the job sees).
  Cycle begin = 0, end = 0, fence = 0;
  unsigned slot = 0;            // the job slot it ran on: 0 fragment, 1 the others
  std::uint32_t js_status = 0;  // JS_STATUS the driver read when it ended (DONE, or the fault)
  std::string error;            // why the driver failed it (a job fault, a timeout and reset)
  std::uint64_t accesses = 0;   // issued
  std::uint64_t failed_accesses = 0;
  std::uint64_t dropped = 0;  // never issued because the job had failed
};

// One row of the time series: the cumulative counters as they stood at the start of `cycle`
// (everything before it, nothing at it). Rows come at every multiple of the epoch, the last one
// the first multiple after the run's last cycle, which holds the run's totals.
struct Sample {
  Cycle cycle = 0;
  std::uint64_t accesses_done = 0, faults = 0, grows = 0, heap_rss_bytes = 0, stall_cycles = 0, irqs = 0,
                walks = 0, utlb_hits = 0, utlb_misses = 0;
};

// Every cycle in the results counts from the trace's start: the cycle the reference driver had
// probed the GPU (reset, power-up) and the trace's first event could come. start_cycle is that
// cycle on the GPU's clock, which the driver's and the checker's own records count from.
struct RunResults {
  Cycle start_cycle = 0;
  Cycle cycles = 0;
  std::uint64_t events = 0;
  std::uint64_t accesses = 0;
  std::uint64_t core_stall_cycles = 0;  // cycles cores waited for a free slot beyond their delta
  std::uint64_t heap_rss_peak_bytes = 0;
  std::vector<JobOutcome> jobs;
};

class Engine {
 public:
  using Progress = std::function<void(std::uint64_t events, Cycle now)>;
  using SampleSink = std::function<void(const Sample&)>;

  Engine(const GpuSpec& gpu, DriverConfig driver, EngineConfig engine);
  ~Engine();

  // Replay the whole trace. Errors (malformed trace, a driver refusal the trace cannot continue
  // past, a simulation that can no longer make progress) name the trace position.
  Status run(trace::TraceReader& reader, const Progress& progress = {}, const SampleSink& samples = {});

  const Gpu& gpu() const noexcept { return *gpu_; }
  const Driver& driver() const noexcept { return *driver_; }
  const RunResults& results() const noexcept { return results_; }
  const GpuSpec& spec() const noexcept { return spec_; }
  const DriverConfig& driver_config() const noexcept { return driver_->config(); }
  const EngineConfig& config() const noexcept { return cfg_; }
  // The checker when config().check, else nullptr; its reports are complete after run().
  const Checker* checker() const noexcept { return checker_.get(); }

  struct Impl;  // src/sim/engine_impl.hpp

 private:
  Status replay(trace::TraceReader& reader, const Progress& progress, const SampleSink& samples);
  Sample sample_at(Cycle at) const;
  std::unique_ptr<Impl> impl_;
  GpuSpec spec_;
  EngineConfig cfg_;
  std::unique_ptr<PhysMem> mem_;
  std::unique_ptr<FrameAllocator> frames_;
  std::unique_ptr<EventQueue> queue_;
  std::unique_ptr<Gpu> gpu_;
  std::unique_ptr<Driver> driver_;
  std::unique_ptr<Checker> checker_;  // after what it watches: destroyed first
  RunResults results_;
  std::function<void(Cycle)> sampler_;  // while run() samples: the observer's body
  Cycle next_sample_ = 0;
};

}  // namespace mali_sim
