// The CPU a driver runs on: a timeline of its own beside the GPU's, on the one clock.
//
// Work (an ioctl, an interrupt thread) runs one item at a time, in the order posted, as kernel
// locks would serialise it. It runs on a stack of its own (a fiber), so driver code stays
// straight-line: it reads a register, spends CPU time, polls again. Spending time does not run
// the clock from inside the driver; the work sleeps, and the scheduler that drives the clock (the
// replay engine's loop, a test's run_until) goes on with everything else meanwhile: shader cores
// issue, commands complete, interrupts rise. So the GPU runs while the driver works, as on an SoC.
//
// Spent time is lazy: costs add up on the timeline and the work sleeps only when it next touches
// something shared (sync(), e.g. before a register access) or ends, so a run of costs is one sleep.
//
// Code outside any work (a test calling a driver directly) has no stack of its own to sleep on:
// there, sync() runs the clock forward instead.
//
// An interrupt's hard half runs in interrupt context (interrupt()): at once, whatever the work is
// doing, and it cannot sleep. What its time does depends on who drives the clock:
//   kRunsClock  sync() runs the clock forward there, as outside any work, so a handler that
//               busy-polls a register sees the command finish (old panfrost did its whole MMU
//               fault handling in the hard half). For a test harness, whose events can nest.
//   kDeferred   sync() does nothing there: the handler's accesses happen at the delivery cycle
//               and its time only adds up. For a scheduler that cannot have the clock run from
//               inside an event (the replay engine issues accesses between events), and handlers
//               that do not poll (the reference driver's).
// Either way interrupt() hands the time back, for the caller to delay what the handler wakes
// (ThreadedIrq).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>

#include "mali_sim/event_queue.hpp"
#include "mali_sim/types.hpp"

namespace mali_sim {

class Fiber;

class CpuTimeline {
 public:
  enum class InterruptTime : std::uint8_t { kRunsClock, kDeferred };
  // `clock_hz` converts nanoseconds (spend_ns) to the clock's cycles.
  explicit CpuTimeline(EventQueue& clock, std::uint64_t clock_hz = 1'000'000'000,
                       InterruptTime interrupt_time = InterruptTime::kRunsClock);
  // Stops the CPU first (stop()).
  ~CpuTimeline();
  CpuTimeline(const CpuTimeline&) = delete;
  CpuTimeline& operator=(const CpuTimeline&) = delete;

  // Queue `work`: it starts when everything posted before it has finished, from an event at the
  // current cycle when the CPU is idle.
  void post(std::function<void()> work);
  // The caller's timeline moves `cycles` ahead; nothing else sees it until sync().
  void spend(Cycle cycles) noexcept;
  // The same in nanoseconds, carrying the part of a cycle left over to the next call, so that
  // many small costs add up exactly.
  void spend_ns(std::uint64_t ns) noexcept;
  // spend() then sync(): udelay, or a sleep outside any work.
  void delay(Cycle cycles);
  // Let the clock catch up with the caller's timeline. Inside work: sleep until then while the
  // rest of the simulation runs. Outside: run the clock until then.
  void sync();
  // The caller's time: the clock plus what it has spent and not yet synced.
  Cycle now() const noexcept;
  // Run `work` on this CPU and return when it has finished and its time has passed. Inside
  // work: directly. Outside: posted, then the clock runs until it is done. False when the clock
  // ran out of events first (the work waits on something that never comes).
  bool run(const std::function<void()>& work);

  // Run `handler` in interrupt context (see above) and return the cycles it spent. Interrupts
  // nest: an inner one's time counts in the outer one's too.
  Cycle interrupt(const std::function<void()>& handler);

  bool busy() const noexcept { return active_ || !queue_.empty(); }  // running, sleeping or queued
  // Work is posted and waits for the CPU: a long-running item may give way (post its rest).
  bool work_waiting() const noexcept { return !queue_.empty(); }
  bool in_work() const noexcept;  // the caller is this CPU's work (and not an interrupt)
  bool in_interrupt() const noexcept { return in_interrupt_; }
  std::uint64_t clock_hz() const noexcept { return clock_hz_; }
  EventQueue& clock() const noexcept { return clock_; }
  Cycle busy_cycles() const noexcept { return busy_cycles_; }  // time spent in work so far

  // Abandon everything: queued work is dropped, and work that sleeps is unwound (its stack's
  // destructors run). A destructor of the CPU's owner calls it before tearing down what the work
  // uses.
  void stop() noexcept;

 private:
  void schedule_start();
  void start();  // the event that resumes an idle CPU
  void resume_fiber();
  void body();  // the fiber: runs queued work until none is left, then waits for more
  void wake(std::uint64_t ticket);

  struct Alive;
  EventQueue& clock_;
  std::uint64_t clock_hz_;
  InterruptTime interrupt_time_;
  std::shared_ptr<Alive> alive_;
  std::unique_ptr<Fiber> fiber_;
  std::deque<std::function<void()>> queue_;
  Cycle work_ahead_ = 0;            // spent by work, not yet synced
  Cycle outside_ahead_ = 0;         // spent outside any work, not yet synced
  Cycle interrupt_ahead_ = 0;       // spent by the interrupt handler running now
  std::uint64_t ns_remainder_ = 0;  // spend_ns(): the sub-cycle part carried to the next call
  bool in_interrupt_ = false;
  Cycle busy_cycles_ = 0;
  std::uint64_t ticket_ = 0;  // of the wake-up the sleeping work waits for
  bool active_ = false;       // an item has started and not finished (it may sleep)
  bool start_scheduled_ = false;
  bool idle_ = true;       // the fiber waits for work (or has not started)
  bool stopping_ = false;  // stop() unwinds work: what it posts meanwhile is dropped
};

}  // namespace mali_sim
