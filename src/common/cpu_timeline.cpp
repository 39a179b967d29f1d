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

CpuTimeline::CpuTimeline(EventQueue& clock, std::uint64_t clock_hz, InterruptTime interrupt_time)
    : clock_(clock),
      clock_hz_(clock_hz),
      interrupt_time_(interrupt_time),
      alive_(std::make_shared<Alive>(Alive{this})) {}

CpuTimeline::~CpuTimeline() {
  stop();
  alive_->cpu = nullptr;
}

bool CpuTimeline::in_work() const noexcept {
  return !in_interrupt_ && fiber_ != nullptr && Fiber::current() == fiber_.get();
}

Cycle CpuTimeline::now() const noexcept {
  if (in_interrupt_) return clock_.now() + interrupt_ahead_;
  return clock_.now() + (in_work() ? work_ahead_ : outside_ahead_);
}

void CpuTimeline::spend(Cycle cycles) noexcept {
  Cycle& ahead = in_interrupt_ ? interrupt_ahead_ : in_work() ? work_ahead_ : outside_ahead_;
  ahead = cycles > EventQueue::kForever - ahead ? EventQueue::kForever : ahead + cycles;
}

void CpuTimeline::spend_ns(std::uint64_t ns) noexcept {
  // Cycles = ns * clock / 1e9, split so that nothing overflows for clocks up to 10 GHz.
  constexpr std::uint64_t kGiga = 1'000'000'000;
  const std::uint64_t frac = (ns % kGiga) * clock_hz_ + ns_remainder_;
  const std::uint64_t cycles = ns / kGiga * clock_hz_ + frac / kGiga;
  ns_remainder_ = frac % kGiga;
  spend(cycles);
}

void CpuTimeline::delay(Cycle cycles) {
  spend(cycles);
  sync();
}

Cycle CpuTimeline::interrupt(const std::function<void()>& handler) {
  const bool outer = !in_interrupt_;
  const Cycle before = clock_.now() + interrupt_ahead_;
  in_interrupt_ = true;
  try {
    handler();
  } catch (...) {
    if (outer) {
      in_interrupt_ = false;
      interrupt_ahead_ = 0;
    }
    throw;
  }
  const Cycle spent = clock_.now() + interrupt_ahead_ - before;
  if (outer) {
    in_interrupt_ = false;
    interrupt_ahead_ = 0;
  }
  return spent;
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
  if (in_interrupt_) {
    // A hard handler cannot sleep (see InterruptTime).
    if (interrupt_time_ == InterruptTime::kDeferred || interrupt_ahead_ == 0) return;
    const Cycle until = clock_.now() + interrupt_ahead_;
    interrupt_ahead_ = 0;
    clock_.run_until(until);
    return;
  }
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
