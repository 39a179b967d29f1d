#include "mali_sim/harness/simulator.hpp"

#include "mali_sim/regs.hpp"

namespace mali_sim {

Simulator::Simulator(const GpuSpec& spec, SimulatorOptions options)
    : mem_(std::make_unique<PhysMem>(options.phys_mem_bytes)),
      frames_(std::make_unique<FrameAllocator>(*mem_, 1)),
      queue_(std::make_unique<EventQueue>()),
      gpu_(std::make_unique<Gpu>(spec, *mem_, *queue_)),
      irq_thread_wake_ns_(options.irq_thread_wake_ns),
      cpu_(std::make_unique<CpuTimeline>(*queue_, spec.clock_hz)),
      bus_(std::make_unique<CpuMmio>(*gpu_, *cpu_)) {
  runner_ = std::make_unique<AccessListRunner>(*gpu_, *queue_);
  gpu_->set_workload_runner(runner_.get());
  gpu_->set_access_handler([this](const AccessResult& r) {
    if (AccessListRunner::owns(r)) {
      runner_->on_result(r);
    } else {
      on_result(r);
    }
  });
  if (options.check)
    checker_ = std::make_unique<Checker>(*gpu_, *mem_, frames_.get(), std::move(options.check_config));
}

Simulator::Simulator(const GpuSpec& spec, std::uint64_t phys_mem_bytes)
    : Simulator(spec, SimulatorOptions{phys_mem_bytes, true, {}}) {}

Simulator::~Simulator() {
  if (checker_) checker_->finish();
  gpu_->set_workload_runner(nullptr);
  for (auto& t : threaded_) t.reset();
  cpu_->stop();
}

bool Simulator::power_up() {
  MmioDevice& m = *bus_;
  const auto up = [&](std::uint32_t present, std::uint32_t pwron, std::uint32_t ready) {
    const std::uint32_t bits = m.read32(present);
    m.write32(pwron, bits);
    for (unsigned waited_us = 0; m.read32(ready) != bits; ++waited_us) {
      if (waited_us == 20'000) return false;
      udelay(1);
    }
    return true;
  };
  const bool ok = up(regs::kL2PresentLo, regs::kL2PwronLo, regs::kL2ReadyLo) &&
                  up(regs::kShaderPresentLo, regs::kShaderPwronLo, regs::kShaderReadyLo) &&
                  up(regs::kTilerPresentLo, regs::kTilerPwronLo, regs::kTilerReadyLo);
  m.write32(regs::kGpuIntClear, regs::kGpuIrqPowerChanged | regs::kGpuIrqPowerChangedAll);
  return ok;
}

void Simulator::ndelay(std::uint64_t ns) {
  cpu_->spend_ns(ns);
  cpu_->sync();
}

void Simulator::usleep_range(std::uint64_t min_us, std::uint64_t max_us) {
  static_cast<void>(min_us);
  udelay(max_us);
}

void Simulator::request_threaded_irq(IrqLine line, std::function<IrqReturn()> hard,
                                     std::function<void()> thread) {
  auto& slot = threaded_[static_cast<unsigned>(line)];
  slot.reset();
  slot = std::make_unique<ThreadedIrq>(*gpu_, *cpu_, line, std::move(hard), std::move(thread),
                                       irq_thread_wake_ns_);
}

void Simulator::request_irq(IrqLine line, std::function<void()> handler) {
  threaded_[static_cast<unsigned>(line)].reset();
  bus_->set_irq_handler(line, std::move(handler));
}

void Simulator::free_irq(IrqLine line) {
  threaded_[static_cast<unsigned>(line)].reset();
  gpu_->set_irq_handler(line, {});
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
