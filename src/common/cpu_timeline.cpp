#include "mali_sim/cpu_timeline.hpp"

#include <cassert>
#include <utility>

#include "common/fiber.hpp"

namespace mali_sim {

// Events of the clock hold a weak reference to this, so that one left scheduled after the CPU is
// gone does nothing.
struct CpuTimeline::Alive {
  CpuTimeline* cpu;
};

CpuTimeline::CpuTimeline(EventQueue& clock) : clock_(clock), alive_(std::make_shared<Alive>(Alive{this})) {}

CpuTimeline::~CpuTimeline() {
  stop();
  alive_->cpu = nullptr;
}

bool CpuTimeline::in_work() const noexcept { return fiber_ != nullptr && Fiber::current() == fiber_.get(); }

Cycle CpuTimeline::now() const noexcept {
  return clock_.now() + (in_work() ? work_ahead_ : outside_ahead_);
}

void CpuTimeline::spend(Cycle cycles) noexcept {
  Cycle& ahead = in_work() ? work_ahead_ : outside_ahead_;
  ahead = cycles > EventQueue::kForever - ahead ? EventQueue::kForever : ahead + cycles;
}

void CpuTimeline::post(std::function<void()> work) {
  if (stopping_) return;
  queue_.push_back(std::move(work));
  if (idle_) schedule_start();  // else running or sleeping: it takes the queue in order
}

void CpuTimeline::schedule_start() {
  if (start_scheduled_) return;
  start_scheduled_ = true;
  clock_.schedule(clock_.now(), [a = std::weak_ptr<Alive>(alive_)] {
    if (auto p = a.lock(); p && p->cpu != nullptr) p->cpu->start();
  });
}

void CpuTimeline::start() {
  start_scheduled_ = false;
  if (!idle_ || queue_.empty()) return;
  idle_ = false;
  if (!fiber_ || fiber_->finished()) fiber_ = std::make_unique<Fiber>([this] { body(); });
  resume_fiber();
}

void CpuTimeline::resume_fiber() {
  try {
    fiber_->resume();
  } catch (...) {
    // Work threw: the fiber is finished and the item abandoned. The CPU stays usable (a new fiber
    // takes the rest of the queue) and the exception goes to whoever runs the clock.
    active_ = false;
    idle_ = true;
    work_ahead_ = 0;
    if (!queue_.empty()) schedule_start();
    throw;
  }
}

void CpuTimeline::body() {
  for (;;) {
    while (!queue_.empty()) {
      std::function<void()> work = std::move(queue_.front());
      queue_.pop_front();
      active_ = true;
      const Cycle began = clock_.now();
      work();
      sync();  // the CPU is busy until the time the work spent has passed
      busy_cycles_ += clock_.now() - began;
      active_ = false;
    }
    idle_ = true;
    fiber_->yield();  // start() resumes it when work is posted
  }
}

void CpuTimeline::sync() {
  if (in_work()) {
    if (work_ahead_ == 0) return;
    const Cycle at = clock_.now() + work_ahead_;
    work_ahead_ = 0;
    const std::uint64_t ticket = ++ticket_;
    clock_.schedule(at, [a = std::weak_ptr<Alive>(alive_), ticket] {
      if (auto p = a.lock(); p && p->cpu != nullptr) p->cpu->wake(ticket);
    });
    fiber_->yield();
    return;
  }
  if (outside_ahead_ == 0) return;
  const Cycle until = clock_.now() + outside_ahead_;
  outside_ahead_ = 0;
  clock_.run_until(until);
}

void CpuTimeline::wake(std::uint64_t ticket) {
  if (ticket != ticket_ || !fiber_ || fiber_->finished()) return;  // stopped meanwhile
  resume_fiber();
}

bool CpuTimeline::run(const std::function<void()>& work) {
  if (in_work()) {
    work();
    return true;
  }
  bool done = false;
  post([&work, &done, this] {
    work();
    sync();
    done = true;
  });
  try {
    while (!done) {
      if (!clock_.step()) {
        stop();  // the work can never finish: drop it before its references go
        return false;
      }
    }
  } catch (...) {
    stop();
    throw;
  }
  return true;
}

void CpuTimeline::stop() noexcept {
  assert(!in_work() && "a CPU cannot stop itself from inside its work");
  stopping_ = true;
  queue_.clear();
  ++ticket_;
  fiber_.reset();  // unwinds work that sleeps (Fiber::Cancelled)
  queue_.clear();
  active_ = false;
  idle_ = true;
  work_ahead_ = 0;
  stopping_ = false;
}

}  // namespace mali_sim
