#include "mali_sim/threaded_irq.hpp"

#include <utility>

namespace mali_sim {

// Events hold a weak reference, so that a wake-up left scheduled after the handler is freed does
// nothing.
struct ThreadedIrq::Alive {
  ThreadedIrq* irq;
};

namespace {
Cycle ns_to_cycles(std::uint64_t ns, std::uint64_t hz) {
  constexpr std::uint64_t kGiga = 1'000'000'000;
  return ns / kGiga * hz + (ns % kGiga) * hz / kGiga;
}
}  // namespace

ThreadedIrq::ThreadedIrq(MmioDevice& device, CpuTimeline& cpu, IrqLine line, std::function<IrqReturn()> hard,
                         std::function<void()> thread, std::uint64_t wake_ns)
    : dev_(device),
      cpu_(cpu),
      line_(line),
      hard_(std::move(hard)),
      thread_(std::move(thread)),
      wake_cycles_(ns_to_cycles(wake_ns, cpu.clock_hz())),
      alive_(std::make_shared<Alive>(Alive{this})) {
  dev_.set_irq_handler(line_, [this] { on_irq(); });
}

ThreadedIrq::~ThreadedIrq() {
  alive_->irq = nullptr;
  dev_.set_irq_handler(line_, {});
}

void ThreadedIrq::on_irq() {
  ++hard_runs_;
  last_hard_irq_ = cpu_.clock().now();
  IrqReturn ret = IrqReturn::kNone;
  const Cycle spent = cpu_.interrupt([&] { ret = hard_(); });
  if (ret == IrqReturn::kNone) ++unhandled_;
  if (ret != IrqReturn::kWakeThread) return;
  if (state_ == Thread::kRunning) {
    again_ = true;  // it runs once more when it ends
    return;
  }
  if (state_ == Thread::kWoken) return;
  state_ = Thread::kWoken;
  EventQueue& clock = cpu_.clock();
  clock.schedule(clock.now() + spent + wake_cycles_, [a = std::weak_ptr<Alive>(alive_)] {
    if (auto p = a.lock(); p && p->irq != nullptr)
      p->irq->cpu_.post([a] {
        if (auto q = a.lock(); q && q->irq != nullptr) q->irq->run_thread();
      });
  });
}

void ThreadedIrq::run_thread() {
  do {
    again_ = false;
    state_ = Thread::kRunning;
    ++thread_runs_;
    thread_();
  } while (again_ && alive_->irq != nullptr);
  state_ = Thread::kIdle;
}

}  // namespace mali_sim
