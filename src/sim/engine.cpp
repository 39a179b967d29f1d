// Engine: the simulated system put together (memory, clock, GPU, reference driver, checker), the
// loop that reads the trace into the model (engine_impl.hpp), and what the run reports as it goes:
// progress and the time series.
#include "mali_sim/sim/engine.hpp"

#include <array>
#include <stdexcept>

#include "sim/engine_impl.hpp"

namespace mali_sim {

// ---- Impl: set-up and tallies ---------------------------------------------------------------------

void Engine::Impl::init(const EngineConfig& cfg, unsigned cores_present) {
  gpu = e.gpu_.get();
  queue = e.queue_.get();
  drv = e.driver_.get();
  results = &e.results_;
  jobs[0].state = JobState::kMarker;
  num_cores = cores_present;
  assert(cfg.queue_per_core >= 1 && cfg.queue_per_core <= EngineConfig::kMaxQueuePerCore);
  limit = 1;
  while (limit < cfg.queue_per_core) limit <<= 1;
  // Room for a queue just under the limit, a marker after it, and a whole segment.
  ring_size = 1;
  while (ring_size < limit + AccessQueues::kMaxRun + 1) ring_size <<= 1;
  outstanding = cfg.outstanding_per_core;
  slot_size = 1;
  while (slot_size < outstanding) slot_size <<= 1;
  cores.resize(num_cores);
  queues.resize(num_cores);
  rings.resize(ring_size * num_cores);
  slots.assign(slot_size * num_cores, 0);
  for (unsigned i = 0; i < num_cores; ++i) {
    queues[i].ring = rings.data() + i * ring_size;
    cores[i].slots = slots.data() + i * slot_size;
  }
  aq.ring_mask = ring_size - 1;
  aq.limit = limit;
  aq.num_cores = num_cores;
  refresh();
}

// The reader's view of the tables, which the main loop resizes when it reads a control event.
void Engine::Impl::refresh() {
  aq.queues = queues.data();
  aq.bo_va = bo_va.data();
  aq.bo_va_size = bo_va.size();
}

// The tallies the hot path keeps in jobs and cores, into the results.
void Engine::Impl::tally() {
  for (Core& c : cores) uncache(c);
  results->accesses = 0;
  for (const Job& j : jobs) {
    if (j.outcome == kNoOutcome) continue;  // the markers', or never begun
    results->jobs[j.outcome].accesses = j.issued;
    results->accesses += j.issued;
  }
  results->core_stall_cycles = 0;
  for (const Core& c : cores) results->core_stall_cycles += c.stall_cycles;
}

// ---- Engine -----------------------------------------------------------------------------------

Engine::Engine(const GpuSpec& gpu, DriverConfig driver, EngineConfig engine) : spec_(gpu), cfg_(engine) {
  if (Status s = spec_.validate(); !s) throw std::invalid_argument(s.error().message);
  if (Status s = cfg_.validate(); !s) throw std::invalid_argument(s.error().message);
  mem_ = std::make_unique<PhysMem>(cfg_.phys_mem_bytes);
  frames_ = std::make_unique<FrameAllocator>(*mem_, 1);  // physical page 0 stays unused
  queue_ = std::make_unique<EventQueue>();
  gpu_ = std::make_unique<Gpu>(spec_, *mem_, *queue_);
  driver.gpu_clock_hz = spec_.clock_hz;
  driver_ = std::make_unique<Driver>(*gpu_, *queue_, *frames_, std::move(driver));
  if (cfg_.check) {
    CheckerConfig cc;
    cc.log = false;  // the caller reads checker()->reports()
    checker_ = std::make_unique<Checker>(*gpu_, *mem_, frames_.get(), cc);
    driver_->set_annotations(checker_.get());
  }
  impl_ = std::make_unique<Impl>(*this);
  impl_->init(cfg_, spec_.shader_cores);
  gpu_->set_access_handler([this](const AccessResult& r) { impl_->on_complete(r); });
  gpu_->set_workload_runner(impl_.get());  // the trace's jobs are the shader work of slot jobs
  driver_->set_job_done_handler(
      [this](Driver::JobId id, const Driver::JobResult& r) { impl_->job_completed(id, r); });
}

Engine::~Engine() = default;

Status Engine::run(trace::TraceReader& reader, const Progress& progress, const SampleSink& samples) {
  Status s = replay(reader, progress, samples);
  impl_->tally();  // also after an error: the results say what ran until then
  sampler_ = {};   // an observer left in the queue does nothing
  return s;
}

// The counters as they stood at the start of cycle `at` (docs/trace-format.md, "Time series"):
// everything before it, nothing at it. The sampler runs as a clock observer at `at`, so every
// event before `at` has run and none at it; accesses are issued at `at` only after it. What the
// counters already include that completes at or after `at` is taken back out: an access answered
// at once is counted done when it issues, and its completion cycle still sits in its core's slot.
Sample Engine::sample_at(Cycle at) const {
  const MmuCounters c = gpu_->counters();
  const DriverStats& d = driver_->stats();
  std::uint64_t not_yet_done = 0;
  for (const Impl::Core& core : impl_->cores) {
    for (std::size_t i = 0; i < impl_->slot_size; ++i) {
      const Cycle done = core.slots[i];
      not_yet_done += done >= at && done != Impl::kPending ? 1 : 0;
    }
  }
  return Sample{at - results_.start_cycle,
                c.accesses_done - not_yet_done,
                c.faults_recorded,
                d.grows,
                d.heap_rss_bytes,
                gpu_->stall_cycles_until(at),
                c.irqs_delivered,
                c.walks,
                c.utlb_hits,
                c.utlb_misses};
}

Status Engine::replay(trace::TraceReader& reader, const Progress& progress, const SampleSink& samples) {
  Impl& s = *impl_;
  if (Status st = driver_->probe(); !st) return st;
  // The trace starts when the driver has probed: its cycle 0.
  const Cycle start = queue_->now();
  results_.start_cycle = start;
  s.origin = start;
  if (checker_) checker_->set_time_origin(start);
  // The time series: an observer at each multiple of the epoch, which schedules the next.
  if (samples && cfg_.epoch != 0) {
    sampler_ = [this, &samples](Cycle at) {
      samples(sample_at(at));
      next_sample_ = at + cfg_.epoch;
      queue_->schedule_observer(next_sample_, [this] {
        if (sampler_) sampler_(queue_->now());
      });
    };
    next_sample_ = start + cfg_.epoch;
    queue_->schedule_observer(next_sample_, [this] {
      if (sampler_) sampler_(queue_->now());
    });
  }
  // Progress every 2^16 trace events: runs of accesses are cut so that a report falls between two.
  constexpr std::uint64_t kProgressEvery = 0x10000;
  const auto room = [&](std::size_t want) {
    if (!progress) return want;
    return std::min<std::size_t>(want, kProgressEvery - (results_.events % kProgressEvery));
  };
  const auto counted = [&](std::uint64_t n) {
    results_.events += n;
    if (progress && n != 0 && results_.events % kProgressEvery == 0)
      progress(results_.events, queue_->now() - start);
  };
  // Accesses come in runs, straight into the model's queues (append_accesses) or as records
  // (next_accesses); everything else one event at a time (next). All in trace order.
  std::array<trace::AccessRecord, 256> batch;
  trace::Event ev;
  for (;;) {
    if (const std::size_t n = s.append_from(reader, room(AccessQueues::kMaxRun)); n != 0) {
      counted(n);
      if (!s.error) return s.error;
      continue;
    }
    if (const std::size_t n = reader.next_accesses(batch); n != 0) {
      for (std::size_t i = 0; i < n;) {
        const std::size_t m = room(n - i);
        const std::size_t done = s.accesses(std::span(batch).subspan(i, m));
        counted(done);
        if (done != m) {
          counted(1);  // the failed one counts
          return s.error;
        }
        i += m;
      }
      continue;
    }
    if (!reader.next(ev)) break;
    if (ev.type == trace::EventType::Access) {
      const trace::AccessRecord a = Impl::record_of(ev);
      const std::size_t done = s.accesses(std::span(&a, 1));
      counted(1);
      if (done != 1) return s.error;
    } else {
      Status st = s.control(ev, reader);
      s.refresh();  // a declaration may have grown a table the reader points into
      counted(1);
      if (!st) return st;
      if (!s.error) return s.error;
    }
  }
  if (!reader.error()) return reader.error();
  if (Status st = s.finish(); !st) return st;
  results_.cycles = queue_->now() - start;
  results_.heap_rss_peak_bytes = driver_->stats().heap_rss_peak_bytes;
  if (checker_) checker_->finish();
  // The row after the end (the first multiple of the epoch past the last cycle) holds the totals.
  if (sampler_) samples(sample_at(next_sample_));
  if (progress) progress(results_.events, queue_->now() - start);
  return {};
}

}  // namespace mali_sim
