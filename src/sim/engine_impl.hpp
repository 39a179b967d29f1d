// The replay engine's inside (Engine::Impl), in four files by concern:
//
//   engine_impl.hpp      the state, and the model of the shader cores (below): one access at a time
//   engine_batching.cpp  host-speed shortcuts that issue the same accesses in the same order:
//                        segments, quiet runs, the two-core loop (held to the model by the
//                        engine tests that compare every path)
//   engine_control.cpp   control events on the driver's CPU: when each may start (fences), jobs
//                        submitted and ending
//   engine_jobs.cpp      the trace's jobs on the job slots: the job descriptors user space writes,
//                        the shader work the job manager starts and stops (WorkloadRunner), the
//                        driver's completion
//   engine.cpp           Engine: construction, the trace loop, samples and progress
//
// The model (docs/architecture.md, "Time"). Each shader core has a queue of the accesses read
// ahead from the trace for it, and `outstanding` slots. It issues its next access at
//   max(its previous issue + the access's delta, the cycle its earliest slot frees, the clock),
// the lowest-numbered core first among equals, after every event due by then; an access whose
// completion is not known yet (a walk, a fault, a lock) holds its slot until it completes. A
// queue that reaches the read-ahead limit makes the engine issue, from any core in time order,
// until it is below the limit again. An access of a job that has not started yet waits (the
// core's candidate is kPending) until the driver has started it; a queue entry may also be a
// marker, which releases control events waiting for the accesses before it to issue.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "mali_sim/jm/workload.hpp"
#include "mali_sim/regs.hpp"
#include "mali_sim/sim/access_queues.hpp"
#include "mali_sim/sim/engine.hpp"

namespace mali_sim {

struct Engine::Impl final : WorkloadRunner {
  explicit Impl(Engine& engine) : e(engine) {}

  static constexpr Cycle kPending = std::numeric_limits<Cycle>::max();
  static constexpr std::size_t kNoOutcome = ~std::size_t{0};

  // ---- Jobs, BOs, contexts ---------------------------------------------------------------------

  // Queue entries name a job by its index in `jobs`: the trace's job id + 1, index 0 being the
  // marker pseudo-job (AccessQueues::kMarkerJob).
  enum class JobState : std::uint8_t {
    kRunning,     // its accesses issue (the only state the hot path looks for)
    kNotStarted,  // not started by the job manager yet (or soft-stopped): its accesses wait
    kFailed,      // the job manager stopped it for good (its AS was killed, a reset): what it
                  // has not issued is dropped
    kMarker,      // jobs[0]: queue entries that are markers
  };
  // Where a job's descriptor lives: a slot of one of its context's descriptor BOs.
  struct Descriptor {
    BoId bo = 0;
    std::uint64_t offset = 0;
    GpuVa va = 0;
  };
  struct Job {
    JobState state = JobState::kNotStarted;
    unsigned as = 0;
    unsigned slot = 0;
    JobType type = JobType::Compute;
    std::uint32_t trace_ctx = trace::kNoId;
    std::uint64_t cores = 0;     // from the trace's cores= list
    std::uint64_t inflight = 0;  // issued, completion still unknown
    std::uint64_t issued = 0;    // JobOutcome::accesses, kept here on the hot path (tally())
    Cycle last_done = 0;
    std::size_t outcome = kNoOutcome;  // index into results.jobs
    Descriptor desc;
    bool submitted = false;      // SUBMIT returned
    bool started = false;        // the job manager has started it once
    bool ending = false;         // its `end` has been read
    bool all_issued = false;     // ... and every access before it has issued (or been dropped)
    bool work_reported = false;  // workload_done() is on its way to the job manager
    bool fenced = false;         // the driver has completed it
    bool ended = false;          // its `end` has run
  };
  struct BoMap {
    CtxId ctx = 0;
    BoId bo = 0;
    GpuVa va = 0;
  };
  // A control event of one context, waiting for its turn (docs/architecture.md, "Time").
  struct Op {
    std::uint64_t seq = 0;
    std::uint64_t line = 0;
    unsigned markers = 0;        // markers still queued before it
    std::uint32_t end_job = 0;   // an `end`: the job (also waits for its accesses to complete)
    std::function<void()> work;  // what it does on the driver's CPU
  };
  struct Context {
    std::deque<Op> ops;
    std::uint64_t next_seq = 0;
    std::vector<std::uint32_t> live_jobs;      // begun, not ended
    std::uint64_t cores = 0;                   // their cores
    std::vector<Descriptor> free_descriptors;  // of its descriptor BOs, not used by a live job
  };
  // A marker in a core's queue: the ops it releases when it reaches the head, each by its
  // context and sequence number.
  struct Marker {
    std::vector<std::pair<std::uint32_t, std::uint64_t>> releases;
  };

  // ---- Shader cores ----------------------------------------------------------------------------

  static constexpr std::uint32_t kNoJob = ~std::uint32_t{0};
  struct alignas(64) Core {  // one cache line, and cheap to index
    // (The accesses read ahead for the core are in queues[core].)
    Cycle last_issue = 0;
    // candidate(), kept current while the core has queued accesses: recomputed when the core
    // issues, gets its first queued access, or an event runs. The clock moving to the chosen
    // issue cycle changes no candidate: they are all at or after it.
    Cycle cand = kPending;
    // The completion cycles of the accesses in the core's slots (kPending while unknown), in
    // ascending order: a ring of `outstanding` entries in Impl::slots starting at slot_head. Only
    // the values matter (an access takes the slot that frees first; which of several equal ones
    // is immaterial), and keeping them sorted makes the earliest the first.
    Cycle* slots = nullptr;
    std::uint64_t stall_cycles = 0;  // RunResults::core_stall_cycles, this core's share (tally())
    // The running job whose accesses the core issues now, cached: the hot path compares an
    // access's job with it instead of reading the job, and gathers the job's issued count and
    // latest completion here until uncache() hands them to the job (a job switch, a job that
    // fails or ends, the tallies).
    std::uint64_t issued = 0;
    Cycle last_done = 0;
    std::uint32_t job = kNoJob;
    // What the core had queued when the current segment began (engine_batching.cpp), and where.
    std::uint32_t budget = 0;
    std::uint32_t head0 = 0;
    std::uint16_t slot_head = 0;
    std::uint8_t job_as = 0;
  };
  static_assert(sizeof(Core) == 64);

  // The hot path's invariants and tallies, copied into locals for a run of accesses: the stores
  // it makes through 64-bit pointers (ring, slots, counters) could alias members, which would
  // otherwise be reloaded after each one. None changes while accesses run (only the main loop
  // resizes the tables, when it reads a control event); flush() hands the tallies back.
  struct Hot {
    Core* cores;
    AccessQueue* qs;
    Job* jobs;
    Gpu* gpu;
    EventQueue* queue;
    const GpuVa* bo_va;
    std::size_t bo_va_size;
    std::size_t ring_mask;
    std::size_t slot_mask;
    std::size_t last_slot;  // outstanding - 1
    std::size_t limit;
    unsigned num_cores;
    std::uint64_t nonempty;
    std::uint64_t over;
  };

  Engine& e;
  Gpu* gpu = nullptr;
  EventQueue* queue = nullptr;
  Driver* drv = nullptr;
  RunResults* results = nullptr;
  Cycle origin = 0;                             // the trace's cycle 0 on the clock (RunResults::start_cycle)
  std::vector<CtxId> ctx_of;                    // trace context -> driver context
  std::vector<Context> contexts;                // by trace context
  std::vector<BoMap> bos;                       // by trace BO
  std::vector<GpuVa> bo_va{0};                  // 0, then the VA of BO i at i + 1 (kPendingVa: creating)
  std::vector<Job> jobs = std::vector<Job>(1);  // jobs[0] is the markers' (init())
  std::vector<Marker> markers;                  // by id (a marker entry's va)
  std::vector<std::uint64_t> free_markers;      // ids to reuse
  std::vector<Core> cores;
  std::vector<AccessQueue> queues;  // per core: the accesses read ahead from the trace
  std::vector<QueuedAccess> rings;  // their rings, cores x ring_size
  AccessQueues aq;                  // the queues as a reader appends to them
  std::vector<Cycle> slots;         // cores x slot_size
  std::size_t ring_size = 0;        // per core, a power of two > limit + AccessQueues::kMaxRun
  std::size_t limit = 0;            // a core's read-ahead: it issues when this many are queued
  std::size_t slot_size = 0;        // per core, a power of two >= outstanding
  unsigned outstanding = 0;
  unsigned num_cores = 0;
  std::array<std::uint32_t, regs::kMaxJobSlots> slot_job{};  // the job whose work each slot runs (0: none)
  std::unordered_map<Driver::JobId, std::uint32_t> job_of;   // the driver's job ids, until completed
  int last_access_core = -1;   // the core of the last access read (the next control event's anchor)
  std::uint64_t nonempty = 0;  // bit n: core n has queued accesses
  std::uint64_t over = 0;      // bit n: core n has `limit` or more queued
  std::uint64_t line = 0;      // trace position of the event being handled
  std::uint64_t pushed = 0;    // bit n: core n got accesses in the current segment
  Status error;                // the first error of the hot path or of driver work (ok: none)

  // ---- engine.cpp ------------------------------------------------------------------------------
  void init(const EngineConfig& cfg, unsigned cores_present);
  void refresh();
  void tally();
  Error at(std::uint64_t at_line, const std::string& msg) const {
    return make_error(Errc::kInvalidArgument, fmt::format("line {}: {}", at_line, msg));
  }
  void fail(Error err) {
    if (error) error = std::move(err);
  }

  // ---- The model (here and engine_model.cpp) ---------------------------------------------------
  static std::uint64_t cookie(std::uint32_t job, unsigned core) {
    return (static_cast<std::uint64_t>(job) << 32) | core;
  }
  void on_complete(const AccessResult& r);
  void fail_access(std::uint32_t job, FailReason why);
  // Hands a core's cached job back (its issued count and latest completion) and forgets it.
  void uncache(Core& c) noexcept {
    if (c.job == kNoJob) return;
    Job& j = jobs[c.job];
    j.issued += c.issued;
    j.last_done = std::max(j.last_done, c.last_done);
    c.issued = 0;
    c.last_done = 0;
    c.job = kNoJob;
  }
  // ... from every core that caches `job` (its state changes, or it is read).
  void uncache_job(std::uint32_t job) noexcept {
    for (Core& c : cores)
      if (c.job == job) uncache(c);
  }

  // Earliest cycle the core can issue its next access, or kPending when it must wait for a
  // completion whose time is not known yet.
  Cycle candidate(const Core& c, const AccessQueue& q) const { return candidate(c, q, queue->now()); }
  // The same with the clock at `now` (issue() runs ahead of the clock).
  static Cycle candidate(const Core& c, const AccessQueue& q, Cycle now) {
    const Cycle slot = c.slots[c.slot_head];
    if (slot == kPending) return kPending;
    return std::max({c.last_issue + q.ring[q.head].delta, slot, now});
  }
  void recompute_candidates() {
    for (std::uint64_t m = nonempty; m != 0; m &= m - 1) {
      const auto i = static_cast<unsigned>(std::countr_zero(m));
      cores[i].cand = candidate(cores[i], queues[i]);
    }
  }
  // Runs one event; every candidate may have changed.
  [[gnu::noinline]] void step() {
    queue->step();
    recompute_candidates();
  }

  [[gnu::always_inline]] Hot hot() {
    return Hot{cores.data(),  queues.data(), jobs.data(),     gpu,   queue,     bo_va.data(), bo_va.size(),
               ring_size - 1, slot_size - 1, outstanding - 1, limit, num_cores, nonempty,     over};
  }
  void flush(const Hot& h) {
    nonempty = h.nonempty;
    over = h.over;
  }

  // What issue_next() returns when it issued nothing (otherwise the core it issued on).
  static constexpr int kNothingQueued = -1;
  static constexpr int kError = -2;

  // The busy core with the earliest issue cycle (the lowest-numbered among equals); h.nonempty
  // must not be empty.
  [[gnu::always_inline]] static unsigned earliest_core(const Hot& h, Cycle& best_t) {
    std::uint64_t m = h.nonempty;
    auto best = static_cast<unsigned>(std::countr_zero(m));
    best_t = h.cores[best].cand;
    for (m &= m - 1; m != 0; m &= m - 1) {
      const auto i = static_cast<unsigned>(std::countr_zero(m));
      const Cycle t = h.cores[i].cand;
      // A branch, not a select: cores take turns in patterns a branch predictor learns, and a
      // predicted choice lets the chosen core's loads start before the comparison is done.
      if (t < best_t) {
        asm("" ::: "memory");  // keeps the compiler from turning it into a select
        best_t = t;
        best = i;
      }
    }
    return best;
  }

  // The model's one step: issue the next access of whichever core can go first, after every
  // event due by then. Returns that core, kNothingQueued or kError.
  [[gnu::always_inline]] int issue_next(Hot& h) {
    for (;;) {
      if (h.nonempty == 0) return kNothingQueued;
      Cycle best_t;
      const unsigned best = earliest_core(h, best_t);
      // An event at or before the chosen cycle may free a slot, start a job or fail one: run it
      // first.
      if (h.queue->due_by(best_t)) [[unlikely]] {
        if (best_t == kPending && h.queue->empty()) return stuck();  // only observers are left
        nonempty = h.nonempty;                                       // recompute_candidates reads it
        step();
        if (!error) return kError;
        continue;
      }
      if (best_t == kPending) [[unlikely]]  // every core waits on a completion not known yet
        return stuck();
      h.queue->advance_to(best_t);  // nothing is due by then
      issue(h, h.cores[best], h.qs[best], best, best_t);
      return static_cast<int>(best);
    }
  }
  [[gnu::noinline]] int stuck();

  // Gives the last slot (the latest completion) the value `at` and moves it to its place.
  [[gnu::always_inline]] static void place_last_slot(const Hot& h, Core& c, Cycle at) {
    Cycle* const s = c.slots;
    const std::size_t head = c.slot_head;
    std::size_t i = head + h.last_slot;
    while (i != head && s[(i - 1) & h.slot_mask] > at) {
      s[i & h.slot_mask] = s[(i - 1) & h.slot_mask];
      --i;
    }
    s[i & h.slot_mask] = at;
  }
  void place_last_slot(Core& c, Cycle at) { place_last_slot(hot(), c, at); }

  // The core's head entry at cycle t: the access issues, or (rarely) the entry is something else
  // (issue_other). True when something may have scheduled events (the MMU's slow path, a marker):
  // callers that cached the next event's cycle read it again.
  // The clock may be behind t (a run of hits moves it once, after them); nothing here reads it
  // but the slow path, which moves it first.
  // Quiet: the caller knows that the core keeps an entry queued after this one and that the masks
  // stay as they are (engine_batching.cpp's quiet runs), so neither is looked at.
  template <bool Quiet = false>
  [[gnu::always_inline]] bool issue(Hot& h, Core& c, AccessQueue& q, unsigned core_id, Cycle t) {
    assert(h.queue->now() <= t);  // candidates are never behind the clock
    const std::size_t head = q.head;
    const QueuedAccess& a = q.ring[head];  // stays put: nothing is pushed while accesses issue
    // Not the running job the core caches: another job, one that has not started or has failed,
    // or a marker.
    if (a.job != c.job) [[unlikely]]
      return issue_other<Quiet>(h, c, q, core_id, t);
    q.head = (head + 1) & h.ring_mask;
    const std::size_t left = q.count - 1;
    q.count = left;
    if constexpr (Quiet) {
      assert(left != 0);
    } else {
      const std::uint64_t bit = std::uint64_t{1} << core_id;
      if (left == 0) h.nonempty &= ~bit;
      if (left < h.limit) h.over &= ~bit;
    }
    // Waiting for a slot beyond the delta (not before the core's first access): a select, the
    // branch would be data.
    const Cycle last = c.last_issue;
    const Cycle wanted = last + a.delta;
    const bool stalled = t > wanted && last != 0;
    c.stall_cycles += stalled ? t - wanted : 0;
    c.last_issue = t;
    ++c.issued;
    // The first slot to free is taken: that completion leaves, the new one goes in.
    c.slot_head = static_cast<std::uint16_t>((c.slot_head + 1) & h.slot_mask);
    bool slow = false;
    const Cycle done = h.gpu->access_hit(core_id, c.job_as, a.va, a.op, t);
    if (done != Gpu::kNotAHit) [[likely]] {
      place_last_slot(h, c, done);
      c.last_done = std::max(c.last_done, done);
    } else {
      issue_slow(h, c, a, core_id, t);
      slow = true;
    }
    if (Quiet || left != 0) {
      // candidate(c), from what is at hand: the clock is at t (the chosen cycle is never behind
      // it), so the core's last issue, t, covers it.
      const Cycle slot = c.slots[c.slot_head];
      c.cand = slot == kPending ? kPending : std::max(t + q.ring[q.head].delta, slot);
    }
    return slow;
  }
  // The head entry of a core is not an access of a running job (engine_model.cpp).
  template <bool Quiet>
  [[gnu::noinline]] bool issue_other(Hot& h, Core& c, AccessQueue& q, unsigned core_id, Cycle t);
  // An access the MMU's hot path does not answer.
  [[gnu::noinline]] void issue_slow(const Hot& h, Core& c, const QueuedAccess& a, unsigned core_id, Cycle t);
  // Takes the head entry off the core's queue (a dropped access, a marker), keeping the masks
  // unless Quiet.
  template <bool Quiet>
  static void pop_head(Hot& h, AccessQueue& q, unsigned core_id);

  Status issue_all();
  // Runs the model (issues and events, in time order) until `done()` holds; an error when
  // nothing is left that could make it hold.
  Status advance_until(const std::function<bool()>& done);

  // ---- Host-speed batching (engine_batching.cpp) -----------------------------------------------
  std::size_t accesses(std::span<const trace::AccessRecord> run);
  [[gnu::always_inline]] std::size_t accesses_inline(std::span<const trace::AccessRecord> run);
  std::size_t append_from(trace::TraceReader& reader, std::size_t max);
  bool push_one(Hot& h, unsigned core, std::uint64_t at_line);
  bool push_refused(Hot& h, const trace::AccessRecord& a);
  void begin_segment(const Hot& h);
  bool issue_segment(Hot& hot, std::uint64_t line0, const trace::AccessRecord* lines);
  [[gnu::always_inline]] bool issue_segment_in(Hot& h, std::uint64_t line0, const trace::AccessRecord* lines);
  static std::size_t quiet_budget(const Hot& h, std::size_t safe);
  static std::uint64_t over_limit(const Hot& h);
  void quiet_run(Hot& h, std::size_t& safe);
  bool issue_segment_closely(Hot& h, std::uint64_t line0, const trace::AccessRecord* lines);
  bool replay_segment(Hot& h, std::uint64_t line0, const trace::AccessRecord* lines);
  void bad_access(const trace::AccessRecord& a);
  static trace::AccessRecord record_of(const trace::Event& ev);

  // ---- Control events (engine_control.cpp) -----------------------------------------------------
  Status control(const trace::Event& ev, trace::TraceReader& reader);
  void enqueue(std::uint32_t trace_ctx, Op op, std::uint64_t fence_cores);
  void place_marker(unsigned core, std::uint32_t trace_ctx, std::uint64_t seq);
  void marker_reached(std::uint64_t id);
  void start_ready(std::uint32_t trace_ctx);
  bool op_ready(const Op& op) const;
  void job_finished(std::uint32_t job);
  Status finish();

  // ---- Jobs on the job slots (engine_jobs.cpp) ---------------------------------------------------
  // What the driver submits for trace job j: its descriptor written, then SUBMIT. Runs on the
  // driver's CPU (it sleeps); the error names the trace line.
  Status submit_job(std::uint32_t j, std::vector<BoId> uses, std::uint64_t at_line, const std::string& name);
  Result<Descriptor> descriptor(std::uint32_t trace_ctx);
  bool start(const WorkloadRun& run) override;
  void stop(unsigned slot, bool resumable) override;
  // The job's work is over once all its accesses have issued and completed: the job manager is
  // told then (at its last completion).
  void maybe_work_done(std::uint32_t j);
  void job_completed(Driver::JobId id, const Driver::JobResult& r);
  // Why no core can go on, when a job waits for a slot another job holds (empty otherwise).
  std::string slot_wait_reason() const;
};

}  // namespace mali_sim
