// The model of the shader cores, one access at a time (engine_impl.hpp has the inline part):
// completions, the entries that are not accesses of running jobs, and running the model until a
// condition holds.
#include "sim/engine_impl.hpp"

namespace mali_sim {

void Engine::Impl::on_complete(const AccessResult& r) {
  // Completions of accesses that had to wait (walk, fault, lock) come from events, after which
  // every candidate is recomputed.
  const auto job = static_cast<std::uint32_t>(r.request.cookie >> 32);
  const auto core = static_cast<unsigned>(r.request.cookie & 0xFFFF);
  // One of the core's kPending slots (the latest ones, so the last is one) gets its time.
  place_last_slot(cores[core], r.done_at);
  Job& j = jobs[job];
  --j.inflight;
  j.last_done = std::max(j.last_done, r.done_at);
  if (r.status != AccessStatus::Done) fail_access(job, r.fail);
  if (j.inflight == 0) {
    maybe_work_done(job);
    if (j.ending) start_ready(j.trace_ctx);  // its `end` may be waiting for this
  }
}

void Engine::Impl::fail_access(std::uint32_t job, FailReason why) {
  Job& j = jobs[job];
  JobOutcome& o = results->jobs[j.outcome];
  ++o.failed_accesses;
  if (j.state != JobState::kRunning) return;  // the job manager has stopped it already
  // The work cannot go on: the job manager ends the job with a fault (a killed address space
  // usually tells it first, and this finds the work stopped). What it has not issued is dropped.
  uncache_job(job);  // no core may issue for it any more
  j.state = JobState::kFailed;
  o.failed = true;
  const std::uint32_t code = why == FailReason::PoweredOff ? kExceptionJobPowerFault : kExceptionJobBusFault;
  const unsigned slot = j.slot;
  queue->schedule(queue->now(), [this, job, slot, code] {
    if (slot_job[slot] != job) return;  // stopped meanwhile
    slot_job[slot] = 0;
    gpu->workload_done(slot, code);
  });
}

template <bool Quiet>
void Engine::Impl::pop_head(Hot& h, AccessQueue& q, unsigned core_id) {
  q.head = (q.head + 1) & h.ring_mask;
  const std::size_t left = q.count - 1;
  q.count = left;
  if constexpr (Quiet) {
    assert(left != 0);
  } else {
    const std::uint64_t bit = std::uint64_t{1} << core_id;
    if (left == 0) h.nonempty &= ~bit;
    if (left < h.limit) h.over &= ~bit;
  }
}

template <bool Quiet>
bool Engine::Impl::issue_other(Hot& h, Core& c, AccessQueue& q, unsigned core_id, Cycle t) {
  const QueuedAccess& a = q.ring[q.head];
  Job& j = h.jobs[a.job];
  switch (j.state) {
    case JobState::kRunning:
      // Another running job than the one cached: cache it, then issue as usual.
      uncache(c);
      c.job = a.job;
      c.job_as = static_cast<std::uint8_t>(j.as);
      return issue<Quiet>(h, c, q, core_id, t);
    case JobState::kNotStarted:
      // The driver has not started the job yet: the core waits. The start comes from an event,
      // after which every candidate is recomputed.
      c.cand = kPending;
      return false;
    case JobState::kFailed:
      // The job is dead: what it had not issued yet never runs.
      ++results->jobs[j.outcome].dropped;
      pop_head<Quiet>(h, q, core_id);
      if (Quiet || q.count != 0) c.cand = candidate(c, q, t);
      return false;
    case JobState::kMarker: {
      // Everything queued before the marker on this core has issued: the control events waiting
      // for that may start (their work is posted to the driver's CPU, at this cycle).
      const std::uint64_t id = a.va;
      pop_head<Quiet>(h, q, core_id);
      if (Quiet || q.count != 0) c.cand = candidate(c, q, t);
      h.queue->advance_to(t);  // nothing is due before t
      marker_reached(id);
      return true;  // it may have scheduled events
    }
  }
  return false;
}
template bool Engine::Impl::issue_other<false>(Hot&, Core&, AccessQueue&, unsigned, Cycle);
template bool Engine::Impl::issue_other<true>(Hot&, Core&, AccessQueue&, unsigned, Cycle);

void Engine::Impl::issue_slow(const Hot& h, Core& c, const QueuedAccess& a, unsigned core_id, Cycle t) {
  h.queue->advance_to(t);  // nothing is due by t (the caller checked)
  Job& j = h.jobs[a.job];
  AccessRequest req;
  req.va = a.va;
  req.cookie = cookie(a.job, core_id);
  req.size = a.size;
  req.core = static_cast<std::uint16_t>(core_id);
  req.as = c.job_as;
  req.access = a.op;
  const AccessResult r = h.gpu->access(req);
  if (r.status == AccessStatus::Done) {
    place_last_slot(h, c, r.done_at);
    c.last_done = std::max(c.last_done, r.done_at);
  } else if (r.status == AccessStatus::Pending) {
    place_last_slot(h, c, kPending);
    ++j.inflight;
  } else {
    place_last_slot(h, c, t);
    c.last_done = std::max(c.last_done, t);
    fail_access(a.job, r.fail);
  }
}

int Engine::Impl::stuck() {
  const std::string why = slot_wait_reason();
  fail(make_error(Errc::kBusy,
                  why.empty() ? fmt::format("line {}: the simulation cannot make progress: every core waits "
                                            "on stalled accesses or on jobs that cannot start, and nothing "
                                            "else is pending",
                                            line)
                              : fmt::format("line {}: the simulation cannot make progress{}", line, why)));
  return kError;
}

Status Engine::Impl::issue_all() {
  Hot h = hot();
  for (;;) {
    const int issued = issue_next(h);
    if (issued == kNothingQueued || issued == kError) {
      flush(h);
      return error;
    }
  }
}

Status Engine::Impl::advance_until(const std::function<bool()>& done) {
  // Whichever comes first, an issue or an event, one at a time, checking `done` after each: the
  // model's order, stopped exactly when the condition starts to hold.
  Hot h = hot();
  while (error && !done()) {
    Cycle best_t = kPending;
    unsigned best = 0;
    if (h.nonempty != 0) best = earliest_core(h, best_t);
    if (h.queue->due_by(best_t) && !(best_t == kPending && h.queue->empty())) {
      nonempty = h.nonempty;
      step();
      continue;
    }
    if (best_t == kPending) {
      flush(h);
      const std::string why = slot_wait_reason();
      fail(make_error(Errc::kBusy, why.empty() ? fmt::format("line {}: the simulation cannot make progress: "
                                                             "the trace waits on work that nothing left "
                                                             "can finish",
                                                             line)
                                               : fmt::format("line {}: the simulation cannot make progress{}",
                                                             line, why)));
      return error;
    }
    h.queue->advance_to(best_t);
    issue(h, h.cores[best], h.qs[best], best, best_t);
  }
  flush(h);
  return error;
}

}  // namespace mali_sim
