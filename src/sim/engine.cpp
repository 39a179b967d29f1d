#include "mali_sim/sim/engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace mali_sim {

namespace {

constexpr Cycle kPending = std::numeric_limits<Cycle>::max();

Result<std::uint64_t> parse_u64(std::string_view key, std::string_view v) {
  std::uint64_t x = 0;
  int base = 10;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    v.remove_prefix(2);
    base = 16;
  }
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), x, base);
  if (v.empty() || ec != std::errc{} || ptr != v.data() + v.size())
    return make_error(Errc::kInvalidArgument, fmt::format("{}: '{}' is not a non-negative integer", key, v));
  return x;
}

}  // namespace

Status EngineConfig::set(std::string_view key, std::string_view value) {
  auto v = parse_u64(key, value);
  if (!v) return v.error();
  if (key == "engine.outstanding") {
    if (*v == 0 || *v > 256)
      return make_error(Errc::kInvalidArgument, "engine.outstanding: must be in [1, 256]");
    outstanding_per_core = static_cast<unsigned>(*v);
  } else if (key == "engine.phys_mem") {
    if (*v == 0 || *v % kPageSize != 0 || *v > PhysMem::kMaxSize)
      return make_error(Errc::kInvalidArgument,
                        "engine.phys_mem: must be a non-zero multiple of 4096 of at most 2^40 bytes");
    phys_mem_bytes = *v;
  } else if (key == "engine.queue_per_core") {
    if (*v == 0) return make_error(Errc::kInvalidArgument, "engine.queue_per_core: must be at least 1");
    queue_per_core = *v;
  } else if (key == "engine.epoch") {
    epoch = *v;
  } else if (key == "engine.seed") {
    seed = *v;
  } else {
    return make_error(
        Errc::kInvalidArgument,
        fmt::format("unknown engine parameter '{}' (known: engine.outstanding, engine.phys_mem, "
                    "engine.queue_per_core, engine.epoch, engine.seed)",
                    key));
  }
  return {};
}

struct Engine::Impl {
  explicit Impl(Engine& engine) : e(engine) {}

  struct BoMap {
    CtxId ctx = 0;
    BoId bo = 0;
    GpuVa va = 0;
    bool live = false;
  };
  struct Job {
    std::uint32_t trace_ctx = trace::kNoId;
    std::vector<BoId> uses;
    unsigned as = 0;
    bool running = false;
    bool failed = false;
    std::uint64_t inflight = 0;  // issued, completion still unknown
    Cycle last_done = 0;
    std::size_t outcome = 0;  // index into results.jobs
  };
  struct Queued {
    GpuVa va;
    std::uint64_t delta;
    std::uint32_t job;
    std::uint32_t size;
    Access op;
  };
  struct Core {
    // Accesses read ahead from the trace, a ring of power-of-two capacity.
    std::vector<Queued> ring;
    std::size_t head = 0, count = 0;
    Cycle last_issue = 0;
    std::vector<Cycle> slots;  // completion cycle of the access in each slot; kPending if unknown
    Cycle cand = 0;            // cached candidate(): valid until this core issues or an event runs
    bool cand_valid = false;
    const Queued& front() const { return ring[head]; }
    void push(const Queued& q) {
      ring[(head + count) & (ring.size() - 1)] = q;
      ++count;
    }
    Queued pop() {
      const Queued q = ring[head];
      head = (head + 1) & (ring.size() - 1);
      --count;
      return q;
    }
  };

  Engine& e;
  std::vector<CtxId> ctx_of;
  std::vector<BoMap> bos;
  std::vector<Job> jobs;
  std::vector<Core> cores;
  std::uint64_t line = 0;  // trace position of the event being handled
  Status failure;          // set by callbacks that cannot return an error

  Error at(std::string msg) const {
    return make_error(Errc::kInvalidArgument, fmt::format("line {}: {}", line, msg));
  }
  EventQueue& q() { return *e.queue_; }

  static std::uint64_t cookie(std::uint32_t job, unsigned core, unsigned slot) {
    return (static_cast<std::uint64_t>(job) << 32) | (static_cast<std::uint64_t>(core) << 16) | slot;
  }

  // Completions of accesses that had to wait (walk, fault, lock).
  void on_complete(const AccessResult& r) {
    const auto job = static_cast<std::uint32_t>(r.request.cookie >> 32);
    const auto core = static_cast<unsigned>((r.request.cookie >> 16) & 0xFFFF);
    const auto slot = static_cast<unsigned>(r.request.cookie & 0xFFFF);
    cores[core].slots[slot] = r.done_at;
    Job& j = jobs[job];
    --j.inflight;
    j.last_done = std::max(j.last_done, r.done_at);
    if (r.status != AccessStatus::Done) fail_access(j);
  }

  void fail_access(Job& j) {
    JobOutcome& o = e.results_.jobs[j.outcome];
    ++o.failed_accesses;
    if (!j.failed) {
      j.failed = true;
      o.failed = true;
    }
  }

  // Earliest cycle the core can issue its next access, or kPending when it must wait for a
  // completion whose time is not known yet.
  Cycle candidate(const Core& c) const {
    const Cycle slot = *std::min_element(c.slots.begin(), c.slots.end());
    if (slot == kPending) return kPending;
    return std::max({c.last_issue + c.front().delta, slot, e.queue_->now()});
  }
  void invalidate_candidates() {
    for (Core& c : cores) c.cand_valid = false;
  }

  // Issue the next access of whichever core can go first; false when nothing is queued.
  Result<bool> issue_next() {
    for (;;) {
      Cycle best_t = kPending;
      std::size_t best = cores.size();
      bool any = false;
      for (std::size_t i = 0; i < cores.size(); ++i) {
        Core& c = cores[i];
        if (c.count == 0) continue;
        any = true;
        if (!c.cand_valid) {
          c.cand = candidate(c);
          c.cand_valid = true;
        }
        if (c.cand < best_t) {
          best_t = c.cand;
          best = i;
        }
      }
      if (!any) return false;
      // An event at or before the chosen cycle may free a slot, or fail a job: run it first.
      if (!q().empty() && q().next_time() <= best_t) {
        q().step();
        invalidate_candidates();
        if (!failure) return failure.error();
        continue;
      }
      if (best == cores.size()) {
        return make_error(Errc::kBusy,
                          fmt::format("line {}: the simulation cannot make progress: every core waits "
                                      "on stalled accesses and nothing else is pending",
                                      line));
      }
      q().run_until(best_t);
      issue(static_cast<unsigned>(best), best_t);
      cores[best].cand_valid = false;
      return true;
    }
  }

  void issue(unsigned core_id, Cycle t) {
    Core& c = cores[core_id];
    const Queued a = c.pop();
    Job& j = jobs[a.job];
    JobOutcome& o = e.results_.jobs[j.outcome];
    if (j.failed) {  // the job is dead: what it had not issued yet never runs
      ++o.dropped;
      return;
    }
    const auto slot =
        static_cast<unsigned>(std::min_element(c.slots.begin(), c.slots.end()) - c.slots.begin());
    const Cycle wanted = c.last_issue + a.delta;
    if (t > wanted && c.last_issue != 0) e.results_.core_stall_cycles += t - wanted;
    c.last_issue = t;
    AccessRequest req;
    req.va = a.va;
    req.cookie = cookie(a.job, core_id, slot);
    req.size = a.size;
    req.core = static_cast<std::uint16_t>(core_id);
    req.as = static_cast<std::uint8_t>(j.as);
    req.access = a.op;
    ++o.accesses;
    ++e.results_.accesses;
    const AccessResult r = e.gpu_->access(req);
    switch (r.status) {
      case AccessStatus::Done:
        c.slots[slot] = r.done_at;
        j.last_done = std::max(j.last_done, r.done_at);
        break;
      case AccessStatus::Pending:
        c.slots[slot] = kPending;
        ++j.inflight;
        break;
      case AccessStatus::Failed:
        c.slots[slot] = t;
        fail_access(j);
        break;
    }
  }

  Status issue_all() {
    for (;;) {
      auto more = issue_next();
      if (!more) return more.error();
      if (!*more) return {};
    }
  }

  Status wait_job(std::uint32_t job) {
    while (jobs[job].inflight > 0) {
      if (q().empty())
        return make_error(
            Errc::kBusy,
            fmt::format("line {}: job '{}' cannot finish: {} accesses stay stalled and nothing else is "
                        "pending",
                        line, e.results_.jobs[jobs[job].outcome].name, jobs[job].inflight));
      q().step();
      if (!failure) return failure.error();
    }
    return {};
  }

  Status handle(const trace::Event& ev, trace::TraceReader& reader) {
    line = ev.line;
    const trace::Names& names = reader.names();
    Driver& drv = *e.driver_;
    if (ev.type != trace::EventType::Access) {
      // Control events act after every access before them was issued.
      if (Status s = issue_all(); !s) return s;
    }
    switch (ev.type) {
      case trace::EventType::Context: {
        auto c = drv.open();
        if (!c) return at(c.error().message);
        if (ctx_of.size() <= ev.ctx) ctx_of.resize(ev.ctx + 1, 0);
        ctx_of[ev.ctx] = *c;
        return {};
      }
      case trace::EventType::BoCreate: {
        auto b = drv.create_bo(ctx_of.at(ev.ctx), ev.bytes, ev.flags);
        if (!b) return at(fmt::format("bo '{}': {}", names.bos[ev.bo], b.error().message));
        if (bos.size() <= ev.bo) bos.resize(ev.bo + 1);
        bos[ev.bo] = BoMap{ctx_of[ev.ctx], *b, *drv.bo_va(ctx_of[ev.ctx], *b), true};
        return {};
      }
      case trace::EventType::BoFree: {
        BoMap& m = bos.at(ev.bo);
        if (Status s = drv.free_bo(m.ctx, m.bo); !s)
          return at(fmt::format("free '{}': {}", names.bos[ev.bo], s.error().message));
        m.live = false;
        return {};
      }
      case trace::EventType::Madvise: {
        const BoMap& m = bos.at(ev.bo);
        if (auto r = drv.madvise(m.ctx, m.bo, ev.advice); !r)
          return at(fmt::format("madvise '{}': {}", names.bos[ev.bo], r.error().message));
        return {};
      }
      case trace::EventType::JobBegin: {
        if (jobs.size() <= ev.job) jobs.resize(ev.job + 1);
        Job& j = jobs[ev.job];
        j.trace_ctx = ev.ctx;
        for (std::uint32_t b : reader.uses()) j.uses.push_back(bos.at(b).bo);
        for (unsigned c = 0; c < 64; ++c) {
          if ((ev.cores >> c) & 1U && c >= cores.size())
            return at(fmt::format("job '{}' runs on core {} but the GPU has {} shader cores",
                                  names.jobs[ev.job], c, cores.size()));
        }
        auto as = drv.job_begin(ctx_of.at(ev.ctx), j.uses);
        if (!as) {
          return at(fmt::format("job '{}': {}{}", names.jobs[ev.job], as.error().message,
                                as.error().code == Errc::kBusy
                                    ? " (the trace runs more jobs at once than the GPU has address spaces)"
                                    : ""));
        }
        j.as = *as;
        j.running = true;
        j.outcome = e.results_.jobs.size();
        e.results_.jobs.push_back(
            JobOutcome{names.jobs[ev.job], names.contexts[ev.ctx], false, q().now(), 0});
        return {};
      }
      case trace::EventType::JobEnd: {
        Job& j = jobs.at(ev.job);
        if (Status s = wait_job(ev.job); !s) return s;
        q().run_until(std::max(q().now(), j.last_done));
        if (Status s = drv.job_end(ctx_of[j.trace_ctx], j.uses); !s) return at(s.error().message);
        j.running = false;
        e.results_.jobs[j.outcome].end = q().now();
        return {};
      }
      case trace::EventType::Access: {
        if (ev.core >= cores.size())
          return at(fmt::format("access on core {} but the GPU has {} shader cores", ev.core, cores.size()));
        GpuVa va = ev.addr;
        if (ev.addr_kind == trace::AddrKind::BoOffset) va = bos.at(ev.bo).va + ev.addr;
        Core& c = cores[ev.core];
        c.push(Queued{va, ev.delta, ev.job, ev.size, ev.op});
        if (c.count == 1) c.cand_valid = false;
        while (c.count == c.ring.size()) {
          auto more = issue_next();
          if (!more) return more.error();
        }
        return {};
      }
    }
    return {};
  }
};

Engine::Engine(const GpuSpec& gpu, DriverConfig driver, EngineConfig engine) : spec_(gpu), cfg_(engine) {
  if (Status s = spec_.validate(); !s) throw std::invalid_argument(s.error().message);
  mem_ = std::make_unique<PhysMem>(cfg_.phys_mem_bytes);
  frames_ = std::make_unique<FrameAllocator>(*mem_, 1);  // physical page 0 stays unused
  queue_ = std::make_unique<EventQueue>();
  gpu_ = std::make_unique<Gpu>(spec_, *mem_, *queue_);
  driver.gpu_clock_hz = spec_.clock_hz;
  driver_ = std::make_unique<Driver>(*gpu_, *queue_, *frames_, std::move(driver));
  impl_ = std::make_unique<Impl>(*this);
  impl_->cores.resize(spec_.shader_cores);
  std::size_t ring = 1;
  while (ring < cfg_.queue_per_core) ring <<= 1;
  for (auto& c : impl_->cores) {
    c.slots.assign(cfg_.outstanding_per_core, 0);
    c.ring.resize(ring);
  }
  gpu_->set_access_handler([this](const AccessResult& r) { impl_->on_complete(r); });
}

Engine::~Engine() = default;

Status Engine::run(trace::TraceReader& reader, const Progress& progress, const SampleSink& samples) {
  if (Status s = driver_->probe(); !s) return s;
  Cycle next_sample = cfg_.epoch;
  auto sample = [&](Cycle at) {
    const MmuCounters c = gpu_->counters();
    const DriverStats& d = driver_->stats();
    samples(Sample{at, c.accesses_done, c.faults_recorded, d.grows, d.heap_rss_bytes, c.stall_cycles,
                   c.irqs_delivered, c.walks, c.utlb_hits, c.utlb_misses});
  };
  auto take_samples = [&] {
    if (!samples || cfg_.epoch == 0) return;
    while (queue_->now() >= next_sample) {
      sample(next_sample);
      next_sample += cfg_.epoch;
    }
  };
  trace::Event ev;
  while (reader.next(ev)) {
    ++results_.events;
    if (Status s = impl_->handle(ev, reader); !s) return s;
    take_samples();
    if (progress && (results_.events & 0xFFFF) == 0) progress(results_.events, queue_->now());
  }
  if (!reader.error()) return reader.error();
  if (Status s = impl_->issue_all(); !s) return s;
  for (std::size_t id = 0; id < impl_->jobs.size(); ++id) {
    if (impl_->jobs[id].running)
      return make_error(Errc::kInvalidArgument,
                        fmt::format("trace ended with job '{}' still running (missing 'end {}')",
                                    results_.jobs[impl_->jobs[id].outcome].name,
                                    results_.jobs[impl_->jobs[id].outcome].name));
  }
  if (!queue_->run_until_idle())
    return make_error(Errc::kBusy, "the simulation did not go idle after the trace ended");
  take_samples();
  results_.cycles = queue_->now();
  results_.heap_rss_peak_bytes = driver_->stats().heap_rss_peak_bytes;
  if (samples) sample(queue_->now());
  if (progress) progress(results_.events, queue_->now());
  return {};
}

}  // namespace mali_sim
