// Host-speed batching of the model (engine_impl.hpp): the same accesses issued in the same order
// as appending one access at a time and issuing when a queue reaches its limit, with fewer checks.
//
//   segments     the accesses up to the next one the queues refuse are appended at once, then
//                issued in time order until every core is below its limit (issue_segment says
//                why that is the same order, and takes a segment back when it might not be)
//   quiet runs   within a segment, issues that can neither empty a busy core's queue, nor bring
//                every core under the limit, nor use up the segment's safe stretch, go without
//                those per-access checks
//   two cores    the usual case on small GPUs compares the pair directly
//
// Engine.LopsidedTracesIssueInTheSameOrderWhateverPathTheAccessesTake and
// Engine.ReplayTimingIsPinnedAndTheSameForBothFormsAndBothPaths hold every path to one schedule.
#include "sim/engine_impl.hpp"

namespace mali_sim {

// Before a segment's accesses are appended: what each core has queued, and the appends' tallies.
void Engine::Impl::begin_segment(const Hot& h) {
  for (std::uint64_t m = h.nonempty; m != 0; m &= m - 1) {
    const auto i = static_cast<unsigned>(std::countr_zero(m));
    h.cores[i].budget = static_cast<std::uint32_t>(h.qs[i].count);  // below the ring's size (init())
    h.cores[i].head0 = static_cast<std::uint32_t>(h.qs[i].head);
  }
  aq.appended = 0;
}

// The model's read-ahead for one access, which sits just past the end of its core's queue: it
// joins the queue, then, if that queue has reached the limit, the engine issues (from any core,
// in time order) until it is below it again.
bool Engine::Impl::push_one(Hot& h, unsigned core, std::uint64_t at_line) {
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
bool Engine::Impl::issue_segment(Hot& hot, std::uint64_t line0, const trace::AccessRecord* lines) {
  Hot h = hot;  // in registers
  const bool ok = issue_segment_in(h, line0, lines);
  hot = h;
  return ok;
}

inline bool Engine::Impl::issue_segment_in(Hot& h, std::uint64_t line0, const trace::AccessRecord* lines) {
  if (h.queue->now() > AccessQueues::kMaxRunCycles) [[unlikely]] {
    fail(at(line,
            fmt::format("the replay has reached cycle {}, past the latest mali-sim simulates (2^62): the "
                        "trace's gaps add up to more than the clock can hold",
                        h.queue->now())));
    return false;
  }
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
    safe = std::min<std::size_t>(safe, h.cores[std::countr_zero(m)].budget);
  while (h.over != 0) {
    if (std::popcount(h.nonempty) == 2) {
      // Two cores busy: the same choice as issue_next() with the pair at hand, for as long as it
      // stays the pair and nothing else is due.
      const std::uint64_t pair = h.nonempty;
      const auto x = static_cast<unsigned>(std::countr_zero(pair));
      const auto y = static_cast<unsigned>(std::countr_zero(pair & (pair - 1)));
      Core& cx = h.cores[x];
      Core& cy = h.cores[y];
      AccessQueue& qx = h.qs[x];
      AccessQueue& qy = h.qs[y];
      // When the next event is due; only the MMU's slow path and markers schedule events here.
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

// How many issues, whichever cores make them, surely leave every busy core with an entry
// queued, one of them with `limit` or more, and `safe` not used up, so that neither mask nor
// the segment's loop conditions can change: a quiet run. After k issues a core that had n
// queued keeps one if k < n; some core stays at the limit if k < the sum over the cores of
// (n - limit + 1) for those at or over it, as each would have to make that many issues first.
std::size_t Engine::Impl::quiet_budget(const Hot& h, std::size_t safe) {
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
std::uint64_t Engine::Impl::over_limit(const Hot& h) {
  std::uint64_t over_mask = 0;
  for (std::uint64_t m = h.nonempty; m != 0; m &= m - 1) {
    const auto i = static_cast<unsigned>(std::countr_zero(m));
    over_mask |= h.qs[i].count >= h.limit ? std::uint64_t{1} << i : 0;
  }
  return over_mask;
}

// A quiet run for any number of busy cores, choosing as issue_next() chooses and stopping before
// an event is due. Leaves the masks and the clock as issuing one at a time would.
void Engine::Impl::quiet_run(Hot& h, std::size_t& safe) {
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

// The rest of issue_segment(), watching each core's entries from before the segment.
bool Engine::Impl::issue_segment_closely(Hot& h, std::uint64_t line0, const trace::AccessRecord* lines) {
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

bool Engine::Impl::replay_segment(Hot& h, std::uint64_t line0, const trace::AccessRecord* lines) {
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

void Engine::Impl::bad_access(const trace::AccessRecord& a) {
  line = a.line;
  fail(a.core >= num_cores
           ? at(a.line, fmt::format("access on core {} but the GPU has {} shader cores", a.core, num_cores))
           : at(a.line, fmt::format("access to BO id {}, which was never declared", a.bo)));
}

// An access the queues refused: a bad one, one whose BO the driver is still creating (the trace
// waits for it, the model runs meanwhile), or one to a core with nothing queued (its issue cycle
// depends on the clock when it arrives).
bool Engine::Impl::push_refused(Hot& h, const trace::AccessRecord& a) {
  if (a.delta > AccessQueues::kMaxDelta) [[unlikely]] {
    fail(at(
        a.line,
        fmt::format("delta {} cycles is more than the engine takes between two accesses of a core "
                    "(2^32 = {} cycles, about {:.1f} s at 1 GHz)",
                    a.delta, AccessQueues::kMaxDelta, static_cast<double>(AccessQueues::kMaxDelta) / 1e9)));
    return false;
  }
  const bool bo_relative = a.addr_kind == trace::AddrKind::BoOffset;
  const std::size_t base = bo_relative ? std::size_t{a.bo} + 1 : 0;
  if (a.core >= h.num_cores || base >= h.bo_va_size) [[unlikely]] {
    bad_access(a);
    return false;
  }
  if (h.bo_va[base] == AccessQueues::kPendingVa) {
    flush(h);
    line = a.line;
    const Status s = advance_until([&] { return bo_va[base] != AccessQueues::kPendingVa; });
    h = hot();
    if (!s) return false;
  }
  AccessQueue& q = h.qs[a.core];
  q.ring[(q.head + q.count) & h.ring_mask] =
      AccessQueues::queued(h.bo_va, a.job, bo_relative, a.bo, a.addr, a.delta, a.size, a.op);
  return push_one(h, a.core, a.line);
}

// Accesses in trace order; returns how many went through: all, unless one failed (`error` says
// why). Each joins its core's queue in a segment (see issue_segment); one the queues refuse goes
// on its own (push_refused).
inline std::size_t Engine::Impl::accesses_inline(std::span<const trace::AccessRecord> run) {
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
    if (!push_refused(h, run[i])) {
      flush(h);
      return i;
    }
    ++i;
  }
  if (n != 0) {
    line = run[n - 1].line;
    last_access_core = run[n - 1].core;
  }
  flush(h);
  return n;
}

std::size_t Engine::Impl::accesses(std::span<const trace::AccessRecord> run) { return accesses_inline(run); }

// A run of accesses straight from the reader into the queues (TraceReader::append_accesses),
// issued as one segment. Returns how many it took (0: use next_accesses() or next()); on an error
// Impl::error says why.
std::size_t Engine::Impl::append_from(trace::TraceReader& reader, std::size_t max) {
  Hot h = hot();
  begin_segment(h);
  const std::size_t n = reader.append_accesses(aq, max);
  if (n != 0) {
    line = aq.last_line;
    last_access_core = aq.order[n - 1];
    issue_segment(h, aq.last_line - n + 1, nullptr);
  }
  flush(h);
  return n;
}

trace::AccessRecord Engine::Impl::record_of(const trace::Event& ev) {
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

}  // namespace mali_sim
