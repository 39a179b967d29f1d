// The trace's jobs on the job slots (docs/architecture.md, "Jobs in a replay").
//
// A `job` event is what a process does to run a job: it writes a job descriptor into a BO of its
// context (a shader job whose payload names the trace job: job_descriptor.hpp,
// WorkloadPayload), then calls SUBMIT with the descriptor's address. The reference driver queues
// it for its slot (fragment jobs slot 0, the others slot 1), and when the slot has room binds an
// address space and starts it through the _NEXT registers. The job manager reads the descriptor
// through the MMU and hands the shader work to the engine (start(), below); the trace job's
// accesses issue from then on, through the address space JS_CONFIG named. When every access has
// issued and completed the engine tells the job manager (maybe_work_done()), which writes the
// descriptor back and raises the job interrupt; the driver's handler completes the job, and the
// process's `end` returns (job_completed()). A killed address space, a reset or a stop command
// stops the work (stop()): what the job has not issued is dropped, or waits for a soft-stopped
// job to go on.
#include <utility>

#include "sim/engine_impl.hpp"

namespace mali_sim {

namespace {

// What user space allocates for descriptors at a time (Mesa's pools grow so too).
constexpr std::uint64_t kDescriptorBoBytes = 64ULL * 1024;

}  // namespace

Result<Engine::Impl::Descriptor> Engine::Impl::descriptor(std::uint32_t trace_ctx) {
  if (contexts[trace_ctx].free_descriptors.empty()) {
    const CtxId ctx = ctx_of[trace_ctx];
    auto bo = drv->create_bo(ctx, kDescriptorBoBytes, bo_flags::kNoExec);
    drv->cpu().sync();
    if (!bo) return bo.error();
    const GpuVa va = *drv->bo_va(ctx, *bo);
    const unsigned stride = e.spec_.arch_major() >= 9 ? 128U : 64U;  // JobHeader alignment
    // Lowest address last: taken first.
    std::vector<Descriptor>& free = contexts[trace_ctx].free_descriptors;
    for (std::uint64_t off = kDescriptorBoBytes; off >= stride; off -= stride)
      free.push_back(Descriptor{*bo, off - stride, va + off - stride});
  }
  std::vector<Descriptor>& free = contexts[trace_ctx].free_descriptors;
  const Descriptor d = free.back();
  free.pop_back();
  return d;
}

Status Engine::Impl::submit_job(std::uint32_t j, std::vector<BoId> uses, std::uint64_t at_line,
                                const std::string& name) {
  const std::uint32_t trace_ctx = jobs[j].trace_ctx;
  const CtxId ctx = ctx_of[trace_ctx];
  auto d = descriptor(trace_ctx);
  if (!d) return at(at_line, fmt::format("job '{}': descriptor BO: {}", name, d.error().message));
  ChainJob cj;
  cj.type = jobs[j].type;
  cj.workload = j;
  const unsigned stride = e.spec_.arch_major() >= 9 ? 128U : 64U;
  auto bytes = encode_job_chain(d->va, std::span(&cj, 1), stride);
  if (!bytes) return at(at_line, fmt::format("job '{}': {}", name, bytes.error().message));
  if (Status s = drv->write_bo(ctx, d->bo, d->offset, *bytes); !s)
    return at(at_line, fmt::format("job '{}': writing its descriptor: {}", name, s.error().message));
  jobs[j].desc = *d;
  jobs[j].submitted = true;  // the descriptor is its (job_finished() gives it back)
  uses.push_back(d->bo);     // the job reads its descriptor BO: it stays while the job runs
  auto id = drv->submit(ctx, d->va, uses, jobs[j].type == JobType::Fragment);
  drv->cpu().sync();  // the ioctl has returned
  if (!id) return at(at_line, fmt::format("job '{}': {}", name, id.error().message));
  job_of.emplace(*id, j);
  return {};
}

bool Engine::Impl::start(const WorkloadRun& run) {
  const std::uint64_t j = run.workload;
  if (j == 0 || j >= jobs.size() || jobs[j].outcome == kNoOutcome) return false;  // not a trace job's
  Job& job = jobs[j];
  // Stopped for good (a reset, or a stop of its slot) and submitted again: what it had not issued
  // was dropped, and nothing is left to run.
  if (job.state == JobState::kFailed) return false;
  JobOutcome& o = results->jobs[job.outcome];
  if (const std::uint64_t missing = job.cores & ~run.cores; missing != 0) {
    fail(make_error(Errc::kInvalidArgument,
                    fmt::format("job '{}' runs on core {}, which the job manager did not give it (its "
                                "affinity and powered cores are {:#x})",
                                o.name, std::countr_zero(missing), run.cores)));
    return true;  // the run stops at the error
  }
  uncache_job(static_cast<std::uint32_t>(j));  // cores load its address space again
  job.as = run.as;
  job.slot = run.slot;
  job.state = JobState::kRunning;
  job.work_reported = false;
  slot_job[run.slot] = static_cast<std::uint32_t>(j);
  if (!job.started) {
    job.started = true;
    o.begin = queue->now() - origin;
    o.slot = run.slot;
  }
  maybe_work_done(static_cast<std::uint32_t>(j));  // a job without accesses is done at once
  return true;
}

void Engine::Impl::stop(unsigned slot, bool resumable) {
  const std::uint32_t j = slot_job[slot];
  if (j == 0) return;
  slot_job[slot] = 0;
  Job& job = jobs[j];
  uncache_job(j);  // no core issues for it any more
  job.work_reported = false;
  if (resumable) {
    job.state = JobState::kNotStarted;  // its accesses wait for it to go on
  } else if (job.state != JobState::kFailed) {
    job.state = JobState::kFailed;  // its accesses are dropped
    JobOutcome& o = results->jobs[job.outcome];
    o.failed = true;
    // The driver may yet complete it well (a job the GPU lost in a reset is run again, and finds
    // nothing left to run): say what happened unless the driver says more.
    if (o.error.empty())
      o.error = "its work was stopped (a GPU reset or a stop command); what it had not issued was dropped";
  }
}

void Engine::Impl::maybe_work_done(std::uint32_t j) {
  Job& job = jobs[j];
  if (!job.all_issued || job.state != JobState::kRunning || job.inflight != 0 || job.work_reported) return;
  job.work_reported = true;
  uncache_job(j);  // its latest completion, from the cores that issued for it
  const unsigned slot = job.slot;
  // Its accesses that hit complete at their own cycles: the work is over at the last of them.
  queue->schedule(std::max(queue->now(), job.last_done), [this, j, slot] {
    if (slot_job[slot] != j || !jobs[j].work_reported) return;  // stopped meanwhile
    slot_job[slot] = 0;
    gpu->workload_done(slot, 0);
  });
}

void Engine::Impl::job_completed(Driver::JobId id, const Driver::JobResult& r) {
  const auto it = job_of.find(id);
  if (it == job_of.end()) return;
  const std::uint32_t j = it->second;
  job_of.erase(it);
  Job& job = jobs[j];
  job.fenced = true;
  JobOutcome& o = results->jobs[job.outcome];
  o.fence = queue->now() - origin;
  o.js_status = r.js_status;
  if (!r.error.empty()) o.error = r.error;
  if (!r.ok) {
    o.failed = true;
    if (job.state != JobState::kFailed) {
      uncache_job(j);
      job.state = JobState::kFailed;  // whatever it had not issued is dropped
    }
  }
  start_ready(job.trace_ctx);  // its `end` waits for this
}

std::string Engine::Impl::slot_wait_reason() const {
  for (unsigned core = 0; core < num_cores; ++core) {
    const AccessQueue& q = queues[core];
    if (q.count == 0) continue;
    const std::uint32_t waiting = q.ring[q.head].job;
    const Job& w = jobs[waiting];
    if (w.state != JobState::kNotStarted || !w.submitted) continue;
    const unsigned slot = w.type == JobType::Fragment ? 0 : 1;
    const std::uint32_t holder = slot_job[slot];
    if (holder == 0) continue;
    return fmt::format(
        ": job '{}' waits for job slot {}, where job '{}' runs until its `end`, and the trace has more "
        "than engine.queue_per_core of the waiting job's accesses on core {} before that `end`. The "
        "GPU runs one job at a time on a slot (fragment jobs on slot 0, the others on slot 1): end a "
        "job before the next job of its slot begins, or give one of them type=fragment",
        results->jobs[w.outcome].name, slot, results->jobs[jobs[holder].outcome].name, core);
  }
  return {};
}

}  // namespace mali_sim
