#include "mali_sim/sim/engine.hpp"

#include "mali_sim/parse.hpp"
#include "mali_sim/sim/access_queues.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <charconv>
#include <limits>
#include <span>
#include <stdexcept>

namespace mali_sim {

namespace {

constexpr Cycle kPending = std::numeric_limits<Cycle>::max();

}  // namespace

Status EngineConfig::set(std::string_view key, std::string_view value) {
  if (key == "engine.check") {
    Result<bool> b = parse_bool(key, value);
    if (!b) return b.error();
    check = *b;
    return {};
  }
  auto v = key == "engine.phys_mem" ? parse_size(key, value) : parse_number(key, value);
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
  } else {
    return make_error(
        Errc::kInvalidArgument,
        fmt::format("unknown engine parameter '{}' (known: engine.outstanding, engine.phys_mem, "
                    "engine.queue_per_core, engine.epoch, engine.check)",
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
    std::uint64_t issued = 0;    // JobOutcome::accesses, kept here on the hot path (tally())
    Cycle last_done = 0;
    std::size_t outcome = kNoOutcome;  // index into results.jobs
  };
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
    std::size_t slot_head = 0;
    // What the core had queued when the current segment began (see accesses()), and where.
    std::size_t budget = 0;
    std::size_t head0 = 0;
    std::uint64_t stall_cycles = 0;  // RunResults::core_stall_cycles, this core's share (tally())
  };

  Engine& e;
  Gpu* gpu = nullptr;
  EventQueue* queue = nullptr;
  RunResults* results = nullptr;
  std::vector<CtxId> ctx_of;
  std::vector<BoMap> bos;
  std::vector<GpuVa> bo_va{0};  // 0, then bos[i].va at i + 1: the hot path's base addresses
  std::vector<Job> jobs;
  // The hot path's view of the vectors above and of results->jobs, which only control events
  // resize (refresh() after each).
  Core* core_at = nullptr;
  AccessQueue* queue_at = nullptr;
  Job* job_at = nullptr;
  JobOutcome* outcome_at = nullptr;
  const GpuVa* bo_va_at = nullptr;
  std::size_t bo_va_size = 0;
  std::vector<Core> cores;
  std::vector<AccessQueue> queues;  // per core: the accesses read ahead from the trace
  std::vector<QueuedAccess> rings;  // their rings, cores x ring_size
  AccessQueues aq;                  // the queues as a reader appends to them
  std::vector<Cycle> slots;         // cores x slot_size
  std::size_t ring_size = 0;        // per core, a power of two >= limit + AccessQueues::kMaxRun
  std::size_t limit = 0;            // a core's read-ahead: it issues when this many are queued
  std::size_t slot_size = 0;        // per core, a power of two >= outstanding
  unsigned outstanding = 0;
  unsigned num_cores = 0;
  std::uint64_t nonempty = 0;  // bit n: core n has queued accesses
  std::uint64_t over = 0;      // bit n: core n has `limit` or more queued
  std::uint64_t line = 0;      // trace position of the event being handled
  std::uint64_t pushed = 0;    // bit n: core n got accesses in the current segment
  Status failure;              // an error of the hot path, which returns only true or false

  Error at(std::string msg) const {
    return make_error(Errc::kInvalidArgument, fmt::format("line {}: {}", line, msg));
  }
  EventQueue& q() { return *queue; }

  void init(const EngineConfig& cfg, unsigned cores_present) {
    gpu = e.gpu_.get();
    queue = e.queue_.get();
    results = &e.results_;
    num_cores = cores_present;
    limit = 1;
    while (limit < cfg.queue_per_core) limit <<= 1;
    ring_size = 1;
    while (ring_size < limit + AccessQueues::kMaxRun) ring_size <<= 1;  // room for a segment
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
  void refresh() {
    core_at = cores.data();
    queue_at = queues.data();
    aq.queues = queues.data();
    aq.bo_va = bo_va.data();
    aq.bo_va_size = bo_va.size();
    job_at = jobs.data();
    outcome_at = results->jobs.data();
    bo_va_at = bo_va.data();
    bo_va_size = bo_va.size();
  }

  static std::uint64_t cookie(std::uint32_t job, unsigned core) {
    return (static_cast<std::uint64_t>(job) << 32) | core;
  }

  // Gives the last slot (the latest completion) the value `at` and moves it to its place.
  void place_last_slot(Core& c, Cycle at) const { place_last_slot(hot(), c, at); }
  // Completions of accesses that had to wait (walk, fault, lock). They come from events, after
  // which every candidate is recomputed.
  void on_complete(const AccessResult& r) {
    const auto job = static_cast<std::uint32_t>(r.request.cookie >> 32);
    const auto core = static_cast<unsigned>(r.request.cookie & 0xFFFF);
    // One of the core's kPending slots (the latest ones, so the last is one) gets its time.
    place_last_slot(cores[core], r.done_at);
    Job& j = jobs[job];
    --j.inflight;
    j.last_done = std::max(j.last_done, r.done_at);
    if (r.status != AccessStatus::Done) fail_access(j);
  }

  void fail_access(Job& j) {
    JobOutcome& o = results->jobs[j.outcome];
    ++o.failed_accesses;
    if (!j.failed) {
      j.failed = true;
      o.failed = true;
    }
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
      core_at[i].cand = candidate(core_at[i], queue_at[i]);
    }
  }
  // Runs one event; every candidate may have changed.
  [[gnu::noinline]] void step() {
    queue->step();
    recompute_candidates();
  }

  // What issue_next() returns when it issued nothing (otherwise the core it issued on).
  static constexpr int kNothingQueued = -1;
  static constexpr int kError = -2;

  // The hot path's invariants and tallies, copied into locals for a run of accesses: the stores
  // it makes through 64-bit pointers (ring, slots, counters) could alias members, which would
  // otherwise be reloaded after each one. None changes while accesses run (only control events
  // resize the tables); flush() hands the tallies back.
  struct Hot {
    Core* cores;
    AccessQueue* qs;
    Job* jobs;
    JobOutcome* outcomes;
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
  [[gnu::always_inline]] Hot hot() const {
    return Hot{core_at,         queue_at, job_at,     outcome_at,    gpu,
               queue,           bo_va_at, bo_va_size, ring_size - 1, slot_size - 1,
               outstanding - 1, limit,    num_cores,  nonempty,      over};
  }
  void flush(const Hot& h) {
    nonempty = h.nonempty;
    over = h.over;
  }
  // The tallies the hot path keeps in jobs and cores, into the results.
  void tally() {
    results->accesses = 0;
    for (const Job& j : jobs) {
      if (j.outcome == kNoOutcome) continue;  // never begun
      results->jobs[j.outcome].accesses = j.issued;
      results->accesses += j.issued;
    }
    results->core_stall_cycles = 0;
    for (const Core& c : cores) results->core_stall_cycles += c.stall_cycles;
  }

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

  // Issue the next access of whichever core can go first (the lowest-numbered among equals),
  // after every event due by then. Returns that core, kNothingQueued or kError.
  [[gnu::always_inline]] int issue_next(Hot& h) {
    for (;;) {
      if (h.nonempty == 0) return kNothingQueued;
      Cycle best_t;
      const unsigned best = earliest_core(h, best_t);
      // An event at or before the chosen cycle may free a slot, or fail a job: run it first.
      if (h.queue->due_by(best_t)) [[unlikely]] {
        nonempty = h.nonempty;  // recompute_candidates reads it
        step();
        if (!failure) return kError;
        continue;
      }
      if (best_t == kPending) [[unlikely]]  // every core waits on a completion not known yet
        return stuck();
      h.queue->advance_to(best_t);  // nothing is due by then
      issue(h, h.cores[best], h.qs[best], best, best_t);
      return static_cast<int>(best);
    }
  }

  [[gnu::noinline]] int stuck() {
    failure = make_error(Errc::kBusy, fmt::format("line {}: the simulation cannot make progress: every core "
                                                  "waits on stalled accesses and nothing else is pending",
                                                  line));
    return kError;
  }

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

  // True when the access took the MMU's slow path, which may have scheduled events.
  // The clock may be behind t (a run of hits moves it once, after them); nothing here reads it
  // but the slow path, which moves it first.
  // Quiet: the caller knows that the core keeps an access queued after this one and that the
  // masks stay as they are (issue_segment_in's quiet runs), so neither is looked at.
  template <bool Quiet = false>
  [[gnu::always_inline]] bool issue(Hot& h, Core& c, AccessQueue& q, unsigned core_id, Cycle t) {
    assert(h.queue->now() <= t);  // candidates are never behind the clock
    bool slow = false;
    const std::size_t head = q.head;
    const QueuedAccess& a = q.ring[head];  // stays put: nothing is pushed while accesses issue
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
    Job& j = h.jobs[a.job];
    if (j.failed) [[unlikely]] {  // the job is dead: what it had not issued yet never runs
      ++results->jobs[j.outcome].dropped;
      if (Quiet || left != 0) c.cand = candidate(c, q, t);
    } else {
      // Waiting for a slot beyond the delta (not before the core's first access): a select, the
      // branch would be data.
      const Cycle last = c.last_issue;
      const Cycle wanted = last + a.delta;
      const bool stalled = t > wanted && last != 0;
      c.stall_cycles += stalled ? t - wanted : 0;
      c.last_issue = t;
      ++j.issued;
      // The first slot to free is taken: that completion leaves, the new one goes in.
      c.slot_head = (c.slot_head + 1) & h.slot_mask;
      const Cycle done = h.gpu->access_hit(core_id, j.as, a.va, a.op, t);
      if (done != Gpu::kNotAHit) [[likely]] {
        place_last_slot(h, c, done);
        j.last_done = std::max(j.last_done, done);
      } else {
        issue_slow(h, c, j, a, core_id, t);
        slow = true;
      }
      if (Quiet || left != 0) {
        // candidate(c), from what is at hand: the clock is at t (the chosen cycle is never behind
        // it), so the core's last issue, t, covers it.
        const Cycle slot = c.slots[c.slot_head];
        c.cand = slot == kPending ? kPending : std::max(t + q.ring[q.head].delta, slot);
      }
    }
    return slow;
  }
  // An access the MMU's hot path does not answer.
  [[gnu::noinline]] void issue_slow(const Hot& h, Core& c, Job& j, const QueuedAccess& a, unsigned core_id,
                                    Cycle t) {
    h.queue->advance_to(t);  // nothing is due by t (the caller checked)
    AccessRequest req;
    req.va = a.va;
    req.cookie = cookie(a.job, core_id);
    req.size = a.size;
    req.core = static_cast<std::uint16_t>(core_id);
    req.as = static_cast<std::uint8_t>(j.as);
    req.access = a.op;
    const AccessResult r = h.gpu->access(req);
    if (r.status == AccessStatus::Done) {
      place_last_slot(h, c, r.done_at);
      j.last_done = std::max(j.last_done, r.done_at);
    } else if (r.status == AccessStatus::Pending) {
      place_last_slot(h, c, kPending);
      ++j.inflight;
    } else {
      place_last_slot(h, c, t);
      fail_access(j);
    }
  }

  Status issue_all() {
    Hot h = hot();
    for (;;) {
      switch (issue_next(h)) {
        case kNothingQueued: flush(h); return {};
        case kError: flush(h); return failure;
        default: break;
      }
    }
  }

  // Before a segment's accesses are appended (see accesses()): what each core has queued, and
  // the appends' tallies.
  [[gnu::always_inline]] void begin_segment(const Hot& h) {
    for (std::uint64_t m = h.nonempty; m != 0; m &= m - 1) {
      const auto i = static_cast<unsigned>(std::countr_zero(m));
      h.cores[i].budget = h.qs[i].count;
      h.cores[i].head0 = h.qs[i].head;
    }
    aq.appended = 0;
  }

  // The model's read-ahead for one access, which sits just past the end of its core's queue: it
  // joins the queue, then, if that queue has reached the limit, the engine issues (from any core,
  // in time order) until it is below it again.
  bool push_one(Hot& h, unsigned core, std::uint64_t at_line) {
    AccessQueue& q = h.qs[core];
    const std::size_t count = q.count;
    const std::uint64_t bit = std::uint64_t{1} << core;
    q.count = count + 1;
    if (count == 0) {
      h.nonempty |= bit;
      h.cores[core].cand = candidate(h.cores[core], q);
    }
    if (count + 1 >= h.limit) {
      h.over |= bit;
      line = at_line;  // for stuck()
      do {
        if (issue_next(h) == kError) return false;
      } while (q.count >= h.limit);
    }
    return true;
  }

  // Issues what the segment's appends (aq) made due: in time order until every core is below its
  // read-ahead limit again. That is what appending one access at a time would issue, in the same
  // order, as long as every core taking part could choose from the same accesses either way: each
  // core that got accesses in the segment must keep one queued from before it. When one would not
  // (its last such access just issued, and more must issue), the segment's accesses, all still
  // queued, are taken back and appended one at a time. `line0 + p` or lines[p] is the trace
  // position of the segment's access p.
  bool issue_segment(Hot& hot, std::uint64_t line0, const trace::AccessRecord* lines) {
    Hot h = hot;  // in registers
    const bool ok = issue_segment_in(h, line0, lines);
    hot = h;
    return ok;
  }
  [[gnu::always_inline]] bool issue_segment_in(Hot& h, std::uint64_t line0,
                                               const trace::AccessRecord* lines) {
    // Which cores got accesses, and which reached the limit.
    pushed = 0;
    for (std::uint64_t m = h.nonempty; m != 0; m &= m - 1) {
      const auto i = static_cast<unsigned>(std::countr_zero(m));
      const std::uint64_t bit = std::uint64_t{1} << i;
      const std::size_t count = h.qs[i].count;
      pushed |= count != h.cores[i].budget ? bit : 0;
      h.over |= count >= h.limit ? bit : 0;
    }
    // No core can run out of what it had before fewer issues than the least it had.
    std::size_t safe = ~std::size_t{0};
    for (std::uint64_t m = pushed; m != 0; m &= m - 1)
      safe = std::min(safe, h.cores[std::countr_zero(m)].budget);
    while (h.over != 0) {
      if (std::popcount(h.nonempty) == 2) {
        // Two cores busy (the usual case on small GPUs): the same choice as issue_next() with the
        // pair at hand, for as long as it stays the pair and nothing else is due.
        const std::uint64_t pair = h.nonempty;
        const auto x = static_cast<unsigned>(std::countr_zero(pair));
        const auto y = static_cast<unsigned>(std::countr_zero(pair & (pair - 1)));
        Core& cx = h.cores[x];
        Core& cy = h.cores[y];
        AccessQueue& qx = h.qs[x];
        AccessQueue& qy = h.qs[y];
        // When the next event is due; only the MMU's slow path schedules events here.
        Cycle due = h.queue->next_time();
        // The clock follows the issues: moved by the slow path, and on the way out (see issue()).
        Cycle clock = h.queue->now();
        while (h.over != 0 && h.nonempty == pair) {
          // A quiet run first (quiet_budget): which core goes first is chosen as below, so the
          // order is the same; only the checks of the loop's conditions and the masks wait until
          // the run ends.
          const std::size_t quiet = quiet_budget(h, safe);
          std::size_t k = 0;
          for (; k < quiet; ++k) {
            const Cycle tx = cx.cand;
            const Cycle ty = cy.cand;
            const bool pick_y = ty < tx;  // ties go to the lower-numbered core
            const Cycle t = pick_y ? ty : tx;
            if (t == kPending || t >= due) [[unlikely]]
              break;  // taken up below
            clock = t;
            const bool slow = pick_y ? issue<true>(h, cy, qy, y, t) : issue<true>(h, cx, qx, x, t);
            if (slow) due = h.queue->next_time();
          }
          safe -= k;
          h.over = over_limit(h);
          // One issue with every check.
          const Cycle tx = cx.cand;
          const Cycle ty = cy.cand;
          const bool pick_y = ty < tx;  // ties go to the lower-numbered core
          const Cycle t = pick_y ? ty : tx;
          if (t == kPending || t >= due) [[unlikely]]
            break;  // issue_next() runs the event or reports that nothing can move
          clock = t;
          const bool slow = pick_y ? issue(h, cy, qy, y, t) : issue(h, cx, qx, x, t);
          if (slow) due = h.queue->next_time();
          if (--safe == 0) [[unlikely]] {
            h.queue->advance_to(clock);
            return issue_segment_closely(h, line0, lines);
          }
        }
        h.queue->advance_to(clock);
        if (h.over == 0) break;
      } else if (safe > 1) {
        quiet_run(h, safe);  // any other number of busy cores
      }
      const int b = issue_next(h);
      if (b < 0) return false;  // an error: nothing is queued while a core is over its limit
      if (--safe == 0) [[unlikely]]
        return issue_segment_closely(h, line0, lines);
    }
    return true;
  }
  // How many issues, whichever cores make them, surely leave every busy core with an access
  // queued, one of them with `limit` or more, and `safe` not used up, so that neither mask nor
  // the segment's loop conditions can change: a quiet run. After k issues a core that had n
  // queued keeps one if k < n; some core stays at the limit if k < the sum over the cores of
  // (n - limit + 1) for those at or over it, as each would have to make that many issues first.
  static std::size_t quiet_budget(const Hot& h, std::size_t safe) {
    std::size_t quiet = safe - 1;
    std::size_t over_by = 0;
    for (std::uint64_t m = h.nonempty; m != 0; m &= m - 1) {
      const std::size_t n = h.qs[std::countr_zero(m)].count;
      assert(n != 0);
      quiet = std::min(quiet, n - 1);
      over_by += n >= h.limit ? n - h.limit + 1 : 0;
    }
    assert(over_by != 0);  // a core is over the limit
    return std::min(quiet, over_by - 1);
  }
  // The over-limit mask, from the queue lengths (after a quiet run).
  static std::uint64_t over_limit(const Hot& h) {
    std::uint64_t over_mask = 0;
    for (std::uint64_t m = h.nonempty; m != 0; m &= m - 1) {
      const auto i = static_cast<unsigned>(std::countr_zero(m));
      over_mask |= h.qs[i].count >= h.limit ? std::uint64_t{1} << i : 0;
    }
    return over_mask;
  }
  // A quiet run for any number of busy cores, choosing as issue_next() chooses and stopping
  // before an event is due. Leaves the masks and the clock as issuing one at a time would.
  [[gnu::noinline]] void quiet_run(Hot& h, std::size_t& safe) {
    const std::size_t quiet = quiet_budget(h, safe);
    Cycle due = h.queue->next_time();
    Cycle clock = h.queue->now();
    std::size_t k = 0;
    for (; k < quiet; ++k) {
      Cycle best_t;
      const unsigned best = earliest_core(h, best_t);
      if (best_t == kPending || best_t >= due) [[unlikely]]
        break;  // issue_next() takes it up
      clock = best_t;
      if (issue<true>(h, h.cores[best], h.qs[best], best, best_t)) due = h.queue->next_time();
    }
    safe -= k;
    h.queue->advance_to(clock);
    h.over = over_limit(h);
  }

  // The rest of issue_segment(), watching each core's accesses from before the segment.
  [[gnu::noinline]] bool issue_segment_closely(Hot& h, std::uint64_t line0,
                                               const trace::AccessRecord* lines) {
    auto ran_out = [&](unsigned core) {
      const Core& c = h.cores[core];
      return ((pushed >> core) & 1U) != 0 && ((h.qs[core].head - c.head0) & h.ring_mask) == c.budget;
    };
    for (std::uint64_t m = pushed; m != 0; m &= m - 1) {
      if (ran_out(static_cast<unsigned>(std::countr_zero(m))) && h.over != 0)
        return replay_segment(h, line0, lines);
    }
    while (h.over != 0) {
      const int b = issue_next(h);
      if (b < 0) return false;
      if (ran_out(static_cast<unsigned>(b)) && h.over != 0) [[unlikely]]
        return replay_segment(h, line0, lines);
    }
    return true;
  }

  [[gnu::noinline]] bool replay_segment(Hot& h, std::uint64_t line0, const trace::AccessRecord* lines) {
    const std::size_t n = aq.appended;
    for (std::size_t p = 0; p < n; ++p) --h.qs[aq.order[p]].count;  // off the tails, where they stay
    for (std::uint64_t m = pushed; m != 0; m &= m - 1) {
      const auto core = static_cast<unsigned>(std::countr_zero(m));
      if (h.qs[core].count == 0) h.nonempty &= ~(std::uint64_t{1} << core);
    }
    h.over = 0;  // every core is back to what it had before the segment, less what issued
    for (std::size_t p = 0; p < n; ++p) {
      if (!push_one(h, aq.order[p], lines != nullptr ? lines[p].line : line0 + p)) return false;
    }
    return true;
  }

  [[gnu::noinline]] void bad_access(const trace::AccessRecord& a) {
    line = a.line;
    failure = a.core >= num_cores
                  ? at(fmt::format("access on core {} but the GPU has {} shader cores", a.core, num_cores))
                  : at(fmt::format("access to BO id {}, which was never created", a.bo));
  }

  // Accesses in trace order; returns how many went through: all, unless one failed (`failure`
  // says why). The model: each joins its core's queue; a queue that reaches the read-ahead limit
  // makes the engine issue (from any core, in time order) until it is below it again. Done in
  // segments: the accesses up to the next one the queues refuse (whose core has nothing queued,
  // so that its issue cycle depends on the clock when it arrives) are appended at once and then
  // issued (issue_segment() says why that is the same); a refused one goes on its own.
  [[gnu::noinline]] std::size_t accesses(std::span<const trace::AccessRecord> run) {
    return accesses_inline(run);
  }
  // The same, inlined where the caller passes a single access (a reader that does not batch).
  [[gnu::always_inline]] std::size_t accesses_inline(std::span<const trace::AccessRecord> run) {
    Hot h = hot();
    const std::size_t n = run.size();
    std::size_t i = 0;
    while (i < n) {
      begin_segment(h);
      const std::size_t start = i;
      const std::size_t end = std::min(n, start + AccessQueues::kMaxRun);
      AccessQueues::Appender app(aq);
      for (; i < end; ++i) {
        const trace::AccessRecord& a = run[i];
        if (!app.push(a.job, a.core, a.addr_kind == trace::AddrKind::BoOffset, a.bo, a.addr, a.delta, a.size,
                      a.op))
          break;
      }
      app.finish(aq);
      if (i != start) {
        line = run[i - 1].line;  // for stuck()
        if (!issue_segment(h, 0, run.data() + start)) {
          flush(h);
          return start;
        }
      }
      if (i == n) break;
      if (i == end) continue;
      // Refused: a bad access, or one to a core with nothing queued.
      const trace::AccessRecord& a = run[i];
      const bool bo_relative = a.addr_kind == trace::AddrKind::BoOffset;
      if (a.core >= h.num_cores || (bo_relative ? std::size_t{a.bo} + 1 : 0) >= h.bo_va_size) [[unlikely]] {
        flush(h);
        bad_access(a);
        return i;
      }
      AccessQueue& q = h.qs[a.core];
      q.ring[(q.head + q.count) & h.ring_mask] =
          QueuedAccess{AccessQueues::va_of(h.bo_va, bo_relative, a.bo, a.addr), a.delta, a.job, a.size, a.op};
      if (!push_one(h, a.core, a.line)) {
        flush(h);
        return i;
      }
      ++i;
    }
    if (n != 0) line = run[n - 1].line;
    flush(h);
    return n;
  }

  // A run of accesses straight from the reader into the queues (TraceReader::append_accesses),
  // issued as one segment. Returns how many it took (0: use next_accesses() or next()); on an
  // error `failure` says why.
  [[gnu::noinline]] std::size_t append_from(trace::TraceReader& reader, std::size_t max) {
    Hot h = hot();
    begin_segment(h);
    const std::size_t n = reader.append_accesses(aq, max);
    if (n != 0) {
      line = aq.last_line;
      issue_segment(h, aq.last_line - n + 1, nullptr);
    }
    flush(h);
    return n;
  }

  Status wait_job(std::uint32_t job) {
    while (jobs[job].inflight > 0) {
      if (q().empty())
        return make_error(
            Errc::kBusy,
            fmt::format("line {}: job '{}' cannot finish: {} accesses stay stalled and nothing else is "
                        "pending",
                        line, e.results_.jobs[jobs[job].outcome].name, jobs[job].inflight));
      step();
      if (!failure) return failure.error();
    }
    return {};
  }

  static trace::AccessRecord record_of(const trace::Event& ev) {
    trace::AccessRecord a;
    a.addr = ev.addr;
    a.delta = ev.delta;
    a.line = ev.line;
    a.job = ev.job;
    a.bo = ev.bo;
    a.size = ev.size;
    a.core = ev.core;
    a.op = ev.op;
    a.addr_kind = ev.addr_kind;
    return a;
  }

  Status handle(const trace::Event& ev, trace::TraceReader& reader) {
    Status s = handle_event(ev, reader);
    refresh();  // a declaration may have grown a vector the hot path points into
    return s;
  }

  Status handle_event(const trace::Event& ev, trace::TraceReader& reader) {
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
        if (bos.size() <= ev.bo) {
          bos.resize(ev.bo + 1);
          bo_va.resize(ev.bo + 2);
        }
        bos[ev.bo] = BoMap{ctx_of[ev.ctx], *b, *drv.bo_va(ctx_of[ev.ctx], *b), true};
        bo_va[ev.bo + 1] = bos[ev.bo].va;
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
        recompute_candidates();
        if (Status s = drv.job_end(ctx_of[j.trace_ctx], j.uses); !s) return at(s.error().message);
        j.running = false;
        e.results_.jobs[j.outcome].end = q().now();
        return {};
      }
      case trace::EventType::Access: {
        const trace::AccessRecord a = record_of(ev);
        if (accesses(std::span(&a, 1)) != 1) return failure;
        return {};
      }
    }
    return {};
  }

  static constexpr std::size_t kNoOutcome = ~std::size_t{0};
};

Engine::Engine(const GpuSpec& gpu, DriverConfig driver, EngineConfig engine) : spec_(gpu), cfg_(engine) {
  if (Status s = spec_.validate(); !s) throw std::invalid_argument(s.error().message);
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
}

Engine::~Engine() = default;

Status Engine::run(trace::TraceReader& reader, const Progress& progress, const SampleSink& samples) {
  Status s = replay(reader, progress, samples);
  impl_->tally();  // also after an error: the results say what ran until then
  return s;
}

Status Engine::replay(trace::TraceReader& reader, const Progress& progress, const SampleSink& samples) {
  if (Status s = driver_->probe(); !s) return s;
  Cycle next_sample = cfg_.epoch;
  const bool sampling = samples && cfg_.epoch != 0;
  auto sample = [&](Cycle at) {
    const MmuCounters c = gpu_->counters();
    const DriverStats& d = driver_->stats();
    samples(Sample{at, c.accesses_done, c.faults_recorded, d.grows, d.heap_rss_bytes, c.stall_cycles,
                   c.irqs_delivered, c.walks, c.utlb_hits, c.utlb_misses});
  };
  // After every event, as the clock may have passed one or more sampling points.
  auto take_samples = [&] {
    while (queue_->now() >= next_sample) {
      sample(next_sample);
      next_sample += cfg_.epoch;
    }
  };
  // Accesses come in runs (next_accesses), everything else one event at a time (next); both are
  // handled one event at a time, in trace order.
  constexpr std::size_t kBatch = 256;
  std::array<trace::AccessRecord, kBatch> batch;
  trace::Event ev;
  for (;;) {
    // Straight into the engine's queues where the reader can; the rest through `batch`.
    std::size_t max = AccessQueues::kMaxRun;
    if (progress) max = std::min<std::size_t>(max, 0x10000 - (results_.events & 0xFFFF));
    if (sampling) max = 1;
    if (const std::size_t appended = impl_->append_from(reader, max); appended != 0) {
      results_.events += appended;
      if (!impl_->failure) return impl_->failure;
      if (sampling) take_samples();
      if ((results_.events & 0xFFFF) == 0 && progress) progress(results_.events, queue_->now());
      continue;
    }
    const std::size_t n = reader.next_accesses(batch);
    for (std::size_t i = 0; i < n;) {
      // Up to the next progress report, without sampling: the tight loop.
      std::size_t m = n - i;
      if (progress) m = std::min<std::size_t>(m, 0x10000 - (results_.events & 0xFFFF));
      if (sampling) m = 1;
      const std::size_t done = impl_->accesses(std::span(batch).subspan(i, m));
      results_.events += done;
      if (done != m) {
        ++results_.events;  // the failed one counts
        return impl_->failure;
      }
      i += m;
      if (sampling) take_samples();
      if ((results_.events & 0xFFFF) == 0 && progress) progress(results_.events, queue_->now());
    }
    if (n != 0) continue;
    if (!reader.next(ev)) break;
    ++results_.events;
    if (ev.type == trace::EventType::Access) {
      // Straight to the hot path: an access declares nothing, so handle()'s refresh is not needed
      // (readers that do not batch hand out every access here).
      const trace::AccessRecord a = Impl::record_of(ev);
      if (impl_->accesses_inline(std::span(&a, 1)) != 1) return impl_->failure;
    } else if (Status s = impl_->handle(ev, reader); !s) {
      return s;
    }
    if (sampling) take_samples();
    if ((results_.events & 0xFFFF) == 0 && progress) progress(results_.events, queue_->now());
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
  if (sampling) take_samples();
  results_.cycles = queue_->now();
  results_.heap_rss_peak_bytes = driver_->stats().heap_rss_peak_bytes;
  if (checker_) checker_->finish();
  if (samples) sample(queue_->now());
  if (progress) progress(results_.events, queue_->now());
  return {};
}

}  // namespace mali_sim
