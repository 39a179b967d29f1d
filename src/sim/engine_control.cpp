// Control events on the driver's CPU (docs/architecture.md, "Time").
//
// A control event (ctx, bo, free, madvise, job, end) is an ioctl of its context's user process.
// The engine reads on past it: the GPU's work before and after it goes on while the driver runs
// it. Each context's events start in trace order, one after another (a process makes one call at
// a time), and each waits for what it follows in the trace:
//   - every access of its context read before it has issued, and the access read just before it,
//     whatever its context (markers placed after those accesses in the cores' queues say when);
//   - `end J` waits instead for J's own accesses: all issued and completed, then for the driver
//     to complete J (its job interrupt: engine_jobs.cpp). The job ends at its last completion.
// A started event's work is posted to the driver's CPU, which runs the work of every context in
// the order it arrives. An access of a job that has not started waits (engine_model.cpp); an access
// to a BO whose creation has not finished holds the trace until it has (push_refused).
#include <utility>

#include "sim/engine_impl.hpp"

namespace mali_sim {

namespace {
std::uint64_t bit(unsigned core) { return std::uint64_t{1} << core; }
}  // namespace

Status Engine::Impl::control(const trace::Event& ev, trace::TraceReader& reader) {
  line = ev.line;
  const trace::Names& names = reader.names();
  const std::uint64_t l = ev.line;
  // What the event waits for: its context's accesses so far, and the access just before it.
  const auto fence = [&](std::uint32_t ctx) {
    return contexts[ctx].cores | (last_access_core >= 0 ? bit(static_cast<unsigned>(last_access_core)) : 0);
  };
  switch (ev.type) {
    case trace::EventType::Context: {
      if (ctx_of.size() <= ev.ctx) {
        ctx_of.resize(ev.ctx + 1, 0);
        contexts.resize(ev.ctx + 1);
      }
      Op op;
      op.line = l;
      op.work = [this, c = ev.ctx, l] {
        auto id = drv->open();
        if (!id) return fail(at(l, id.error().message));
        ctx_of[c] = *id;
      };
      enqueue(ev.ctx, std::move(op), fence(ev.ctx));
      return {};
    }
    case trace::EventType::BoCreate: {
      // Sized now, in the main loop: the hot path and the CPU's work never resize a table.
      if (bos.size() <= ev.bo) {
        bos.resize(ev.bo + 1);
        bo_va.resize(ev.bo + 2, AccessQueues::kPendingVa);
      }
      bo_va[ev.bo + 1] = AccessQueues::kPendingVa;
      Op op;
      op.line = l;
      op.work = [this, b = ev.bo, c = ev.ctx, bytes = ev.bytes, flags = ev.flags, l,
                 name = names.bos[ev.bo]] {
        auto id = drv->create_bo(ctx_of[c], bytes, flags);
        drv->cpu().sync();  // the BO exists when the ioctl returns
        if (!id) return fail(at(l, fmt::format("bo '{}': {}", name, id.error().message)));
        const GpuVa va = *drv->bo_va(ctx_of[c], *id);
        bos[b] = BoMap{ctx_of[c], *id, va};
        bo_va[b + 1] = va;
      };
      enqueue(ev.ctx, std::move(op), fence(ev.ctx));
      return {};
    }
    case trace::EventType::BoFree:
    case trace::EventType::Madvise: {
      Op op;
      op.line = l;
      if (ev.type == trace::EventType::BoFree) {
        op.work = [this, b = ev.bo, l, name = names.bos[ev.bo]] {
          if (Status s = drv->free_bo(bos[b].ctx, bos[b].bo); !s)
            fail(at(l, fmt::format("free '{}': {}", name, s.error().message)));
        };
      } else {
        op.work = [this, b = ev.bo, advice = ev.advice, l, name = names.bos[ev.bo]] {
          if (auto r = drv->madvise(bos[b].ctx, bos[b].bo, advice); !r)
            fail(at(l, fmt::format("madvise '{}': {}", name, r.error().message)));
        };
      }
      enqueue(ev.ctx, std::move(op), fence(ev.ctx));
      return {};
    }
    case trace::EventType::JobBegin: {
      for (unsigned c = 0; c < 64; ++c) {
        if (((ev.cores >> c) & 1U) != 0 && c >= num_cores)
          return at(l, fmt::format("job '{}' runs on core {} but the GPU has {} shader cores",
                                   names.jobs[ev.job], c, num_cores));
      }
      const std::uint32_t j = ev.job + 1;
      if (jobs.size() <= j) jobs.resize(j + 1);
      Job& job = jobs[j];
      job.state = JobState::kNotStarted;
      job.trace_ctx = ev.ctx;
      job.cores = ev.cores;
      job.type = ev.job_type;
      job.slot = ev.job_type == JobType::Fragment ? 0 : 1;  // the driver's choice (Driver::submit)
      job.outcome = results->jobs.size();
      JobOutcome o;
      o.name = names.jobs[ev.job];
      o.context = names.contexts[ev.ctx];
      o.slot = job.slot;
      results->jobs.push_back(std::move(o));
      const std::uint64_t waits_for = fence(ev.ctx);
      contexts[ev.ctx].cores |= ev.cores;
      contexts[ev.ctx].live_jobs.push_back(j);
      Op op;
      op.line = l;
      // The work sleeps (the driver's CPU time passes), and meanwhile the main loop may grow the
      // tables: it holds no reference into them across a call into the driver.
      op.work = [this, j, uses = std::vector<std::uint32_t>(reader.uses().begin(), reader.uses().end()), l,
                 name = names.jobs[ev.job]] {
        std::vector<BoId> bo_ids(uses.size());
        for (std::size_t i = 0; i < uses.size(); ++i) bo_ids[i] = bos[uses[i]].bo;
        if (Status s = submit_job(j, std::move(bo_ids), l, name); !s) fail(s.error());
      };
      enqueue(ev.ctx, std::move(op), waits_for);
      return {};
    }
    case trace::EventType::JobEnd: {
      // User space waits for the job: its own accesses (markers after the tails of its cores),
      // their completions, and the driver's completion of the job. Nothing runs on the CPU.
      const std::uint32_t j = ev.job + 1;
      Job& job = jobs[j];
      job.ending = true;
      Op op;
      op.line = l;
      op.end_job = j;
      enqueue(job.trace_ctx, std::move(op), job.cores);
      return {};
    }
    case trace::EventType::Access: break;
  }
  return {};
}

void Engine::Impl::enqueue(std::uint32_t trace_ctx, Op op, std::uint64_t fence_cores) {
  Context& c = contexts[trace_ctx];
  op.seq = c.next_seq++;
  for (std::uint64_t m = fence_cores; m != 0; m &= m - 1) {
    const auto core = static_cast<unsigned>(std::countr_zero(m));
    if (queues[core].count == 0) continue;  // everything it had has issued
    place_marker(core, trace_ctx, op.seq);
    ++op.markers;
  }
  const std::uint32_t end_job = op.markers == 0 ? op.end_job : 0;
  c.ops.push_back(std::move(op));
  if (end_job != 0) {
    jobs[end_job].all_issued = true;  // nothing of it was left queued
    maybe_work_done(end_job);
  }
  start_ready(trace_ctx);
}

// A marker after the core's last entry (or the last entry itself when it is already a marker),
// releasing op `seq` of the context when it reaches the head.
void Engine::Impl::place_marker(unsigned core, std::uint32_t trace_ctx, std::uint64_t seq) {
  AccessQueue& q = queues[core];
  // The main loop runs between segments, when every queue is below the limit, or just a marker
  // above it (placed by the event before): the ring holds the limit, a marker and a segment.
  assert(q.count != 0 && q.count <= limit);
  const QueuedAccess& tail = q.ring[(q.head + q.count - 1) & (ring_size - 1)];
  if (tail.job == AccessQueues::kMarkerJob) {
    markers[tail.va].releases.emplace_back(trace_ctx, seq);
    return;
  }
  std::uint64_t id = 0;
  if (!free_markers.empty()) {
    id = free_markers.back();
    free_markers.pop_back();
  } else {
    id = markers.size();
    markers.emplace_back();
  }
  markers[id].releases.assign(1, {trace_ctx, seq});
  q.ring[(q.head + q.count) & (ring_size - 1)] =
      QueuedAccess{id, 0, AccessQueues::kMarkerJob, 0, Access::Read};
  ++q.count;
  if (q.count >= limit) over |= bit(core);
}

void Engine::Impl::marker_reached(std::uint64_t id) {
  // Taken out first: starting ops may place markers (never while the hot path runs, but the
  // table may grow).
  const auto releases = std::move(markers[id].releases);
  free_markers.push_back(id);
  for (const auto& [ctx, seq] : releases) {
    Context& c = contexts[ctx];
    assert(!c.ops.empty() && seq >= c.ops.front().seq);
    Op& op = c.ops[seq - c.ops.front().seq];
    if (--op.markers == 0 && op.end_job != 0) {
      jobs[op.end_job].all_issued = true;
      maybe_work_done(op.end_job);
    }
    start_ready(ctx);
  }
}

bool Engine::Impl::op_ready(const Op& op) const {
  if (op.markers != 0) return false;
  if (op.end_job == 0) return true;
  // An `end`: what the job issued has completed, and the driver has completed the job.
  const Job& job = jobs[op.end_job];
  return job.fenced && job.inflight == 0;
}

// Starts the context's ops that are ready, in order: an op waits for the one before it.
void Engine::Impl::start_ready(std::uint32_t trace_ctx) {
  Context& c = contexts[trace_ctx];
  while (!c.ops.empty() && op_ready(c.ops.front())) {
    Op op = std::move(c.ops.front());
    c.ops.pop_front();
    if (op.end_job != 0) job_finished(op.end_job);
    if (op.work) drv->post(std::move(op.work));
  }
}

// Every access of the job has issued and completed (or been dropped), and the driver has
// completed it: it ended at its last completion (a failed one when the driver learnt of it); its
// context's live cores no longer include its own, and its descriptor may be used again.
void Engine::Impl::job_finished(std::uint32_t j) {
  uncache_job(j);  // its count and latest completion, from the cores that issued for it
  Job& job = jobs[j];
  job.ended = true;
  JobOutcome& o = results->jobs[job.outcome];
  o.end = std::max(o.begin, job.last_done > origin ? job.last_done - origin : 0);
  if (job.state == JobState::kFailed) o.end = std::max(o.end, o.fence);
  Context& c = contexts[job.trace_ctx];
  std::erase(c.live_jobs, j);
  c.cores = 0;
  for (std::uint32_t other : c.live_jobs) c.cores |= jobs[other].cores;
  if (job.submitted) c.free_descriptors.push_back(job.desc);
}

Status Engine::Impl::finish() {
  // Everything queued issues, every op starts, the CPU finishes its work.
  if (Status s = issue_all(); !s) return s;
  while (error && !queue->empty()) step();
  if (!error) return error;
  for (std::uint32_t c = 0; c < contexts.size(); ++c) {
    if (!contexts[c].ops.empty()) {
      return make_error(Errc::kBusy,
                        fmt::format("line {}: the trace ended with a control event of context {} that "
                                    "could not start",
                                    contexts[c].ops.front().line, c));
    }
  }
  return {};
}

}  // namespace mali_sim
