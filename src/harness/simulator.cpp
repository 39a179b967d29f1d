#include "mali_sim/harness/simulator.hpp"

namespace mali_sim {

Simulator::Simulator(const GpuSpec& spec, SimulatorOptions options)
    : mem_(std::make_unique<PhysMem>(options.phys_mem_bytes)),
      frames_(std::make_unique<FrameAllocator>(*mem_, 1)),
      queue_(std::make_unique<EventQueue>()),
      gpu_(std::make_unique<Gpu>(spec, *mem_, *queue_)) {
  gpu_->set_access_handler([this](const AccessResult& r) { on_result(r); });
  if (options.check)
    checker_ = std::make_unique<Checker>(*gpu_, *mem_, frames_.get(), std::move(options.check_config));
}

Simulator::Simulator(const GpuSpec& spec, std::uint64_t phys_mem_bytes)
    : Simulator(spec, SimulatorOptions{phys_mem_bytes, true, {}}) {}

Simulator::~Simulator() {
  if (checker_) checker_->finish();
}

const std::vector<CheckReport>& Simulator::check() {
  static const std::vector<CheckReport> kNone;
  if (!checker_) return kNone;
  checker_->finish();
  return checker_->reports();
}

Simulator::JobId Simulator::submit(unsigned as, std::vector<JobAccess> accesses, unsigned core) {
  const JobId id = jobs_.size();
  auto job = std::make_unique<Job>(Job{as, core, std::move(accesses), {}});
  job->status.accesses = job->accesses.size();
  jobs_.push_back(std::move(job));
  if (!jobs_[id]->accesses.empty()) {
    queue_->schedule_in(jobs_[id]->accesses[0].delta, [this, id] { issue_next(id); });
  }
  return id;
}

void Simulator::issue_next(JobId id) {
  Job& j = *jobs_[id];
  const std::size_t i = j.status.issued++;
  AccessRequest req;
  req.va = j.accesses[i].va;
  req.access = j.accesses[i].access;
  req.size = j.accesses[i].size;
  req.core = static_cast<std::uint16_t>(j.core);
  req.as = static_cast<std::uint8_t>(j.as);
  req.cookie = id;
  const AccessResult r = gpu_->access(req);
  if (r.status != AccessStatus::Pending) {
    // Settled at once: deliver it at its cycle, like a completion.
    queue_->schedule(r.done_at, [this, r] { on_result(r); });
  }
  if (j.status.issued < j.accesses.size()) {
    queue_->schedule_in(j.accesses[j.status.issued].delta, [this, id] { issue_next(id); });
  }
}

void Simulator::on_result(const AccessResult& r) {
  JobStatus& s = jobs_.at(r.request.cookie)->status;
  if (r.status == AccessStatus::Done) {
    ++s.done;
  } else {
    ++s.failed;
  }
  s.results.push_back(r);
}

bool Simulator::run_until(const std::function<bool()>& done, Cycle deadline) {
  while (!done()) {
    if (queue_->empty() || queue_->next_time() > deadline) return false;
    queue_->step();
  }
  return true;
}

bool Simulator::run_until_done(JobId id, Cycle timeout) {
  return run_until([&] { return jobs_.at(id)->status.finished(); }, queue_->now() + timeout);
}

}  // namespace mali_sim
