// request_threaded_irq() for driver code on a CpuTimeline (the reference driver, a user's driver
// in the test harness): at each delivery of the line the hard half runs in interrupt context;
// when it returns kWakeThread, the thread runs as work on the CPU once the wake-up latency (plus
// what the hard half spent) has passed.
//
// As in Linux: a wake-up while the thread is woken and has not started yet is one wake-up; a
// wake-up while it runs makes it run once more when it ends. Masking the line is the hard half's
// business, as for panfrost's handlers (requested without IRQF_ONESHOT: each masks its block's
// INT_MASK and the thread unmasks it); while the line stays high the device delivers it again.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "mali_sim/cpu_timeline.hpp"
#include "mali_sim/mmio.hpp"

namespace mali_sim {

enum class IrqReturn : std::uint8_t {
  kNone,        // IRQ_NONE: not this device's interrupt
  kHandled,     // IRQ_HANDLED: nothing more to do
  kWakeThread,  // IRQ_WAKE_THREAD: run the thread
};

class ThreadedIrq {
 public:
  // Registers the handler on `device`'s `line`; `wake_ns` is the time from the hard half's return
  // to the thread running (scheduler latency), on `cpu`'s clock.
  ThreadedIrq(MmioDevice& device, CpuTimeline& cpu, IrqLine line, std::function<IrqReturn()> hard,
              std::function<void()> thread, std::uint64_t wake_ns);
  // Frees the line. A thread already woken does not run.
  ~ThreadedIrq();
  ThreadedIrq(const ThreadedIrq&) = delete;
  ThreadedIrq& operator=(const ThreadedIrq&) = delete;

  std::uint64_t hard_runs() const noexcept { return hard_runs_; }
  std::uint64_t unhandled() const noexcept { return unhandled_; }  // hard half said kNone
  std::uint64_t thread_runs() const noexcept { return thread_runs_; }
  // When the hard half last ran (its delivery cycle).
  Cycle last_hard_irq() const noexcept { return last_hard_irq_; }

 private:
  void on_irq();
  void run_thread();

  struct Alive;
  enum class Thread : std::uint8_t { kIdle, kWoken, kRunning };

  MmioDevice& dev_;
  CpuTimeline& cpu_;
  IrqLine line_;
  std::function<IrqReturn()> hard_;
  std::function<void()> thread_;
  Cycle wake_cycles_;
  std::shared_ptr<Alive> alive_;
  Thread state_ = Thread::kIdle;
  bool again_ = false;
  std::uint64_t hard_runs_ = 0, unhandled_ = 0, thread_runs_ = 0;
  Cycle last_hard_irq_ = 0;
};

}  // namespace mali_sim
