// A simulated GPU for a driver's unit tests: physical memory, a frame allocator, the clock, the
// device, and the CPU the driver runs on, owned together, with jobs of shader accesses and ways to
// run the clock. No global state: make one per test.
//
//   Simulator sim(gpu_preset("g52").value());
//   MyDriver drv(sim.mmio(), sim.mem());           // your driver: registers + memory + IRQ lines
//   drv.probe(); drv.map_something();              // reset, power-up, page tables...
//   auto job = sim.submit(0, {{0x1000000, Access::Write}});
//   ASSERT_TRUE(sim.run_until_done(job));
//   EXPECT_EQ(sim.job(job).failed, 0U);
//
// Time as on an SoC: the test's code is the driver's CPU. Every register access through mmio()
// takes the GPU's bus time (mmio.read_ns / mmio.write_ns) on that CPU, and a read first lets the
// clock catch up with the CPU, so a busy poll of a status register moves the clock and ends when
// the command does. udelay() and usleep_range() wait as the kernel's do. Interrupt handlers set
// through mmio() run in interrupt context (their accesses add up and happen at the delivery
// cycle); request_threaded_irq() gives the kernel's split into a hard half and a thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "mali_sim/check/checker.hpp"
#include "mali_sim/cpu_mmio.hpp"
#include "mali_sim/cpu_timeline.hpp"
#include "mali_sim/event_queue.hpp"
#include "mali_sim/gpu/gpu.hpp"
#include "mali_sim/harness/access_list_runner.hpp"
#include "mali_sim/job_descriptor.hpp"
#include "mali_sim/mmio.hpp"
#include "mali_sim/phys_mem.hpp"
#include "mali_sim/threaded_irq.hpp"

namespace mali_sim {

struct SimulatorOptions {
  std::uint64_t phys_mem_bytes = 256ULL << 20;
  // The driver checker (docs/driver-testing.md) is on by default: reports are logged and kept;
  // set check_config.on_report (or use harness/gtest.hpp) to make them fail the test.
  bool check = true;
  CheckerConfig check_config;
  // request_threaded_irq(): from the hard half's return to the thread running (IRQ exit and
  // scheduler latency). The reference driver's default cost.irq_entry_ns + cost.thread_wakeup_ns.
  std::uint64_t irq_thread_wake_ns = 6'000;
};

class Simulator {
 public:
  using JobId = std::size_t;

  explicit Simulator(const GpuSpec& spec, SimulatorOptions options);
  explicit Simulator(const GpuSpec& spec, std::uint64_t phys_mem_bytes = 256ULL << 20);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // What a driver gets of the device: registers and interrupt lines, as seen from the CPU
  // (every access takes the bus time on cpu()).
  MmioDevice& mmio() noexcept { return *bus_; }
  Gpu& gpu() noexcept { return *gpu_; }  // the device, for inspection (peek takes no time)
  CpuTimeline& cpu() noexcept { return *cpu_; }
  PhysMem& mem() noexcept { return *mem_; }
  FrameAllocator& frames() noexcept { return *frames_; }
  EventQueue& clock() noexcept { return *queue_; }
  // The checker, nullptr when options.check was false. The destructor runs its finish() checks.
  Checker* checker() noexcept { return checker_.get(); }
  // Run the end-of-run checks now and return every report so far (empty without a checker).
  const std::vector<CheckReport>& check();
  Cycle now() const noexcept { return queue_->now(); }

  // A job straight onto a shader core, without the job slots (for tests of the MMU side): its
  // accesses are issued on `as` by `core`, one after another (each `delta` cycles after the
  // previous one was issued), starting now.
  JobId submit(unsigned as, std::vector<JobAccess> accesses, unsigned core = 0);
  const JobStatus& job(JobId id) const { return jobs_.at(id)->status; }

  // ---- Jobs through the job slots -------------------------------------------------------------
  // A workload: the accesses a job's shader cores make. A job whose payload names the returned id
  // (ChainJob::workload, write_job_chain()) runs them when a slot takes it: dealt round-robin over
  // the cores of its affinity, each core's share issued one after another
  // (access_list_runner.hpp). Its progress, as for submit()'s jobs:
  std::uint64_t add_workload(std::vector<JobAccess> accesses) { return runner_->add(std::move(accesses)); }
  const JobStatus& workload(std::uint64_t id) const { return runner_->status(id); }
  // Writes a job chain into memory the driver mapped at `va` and that is backed by the physically
  // contiguous `pa`; returns the address to write into JS_HEAD_NEXT (job_descriptor.hpp).
  Result<GpuVa> write_job_chain(PhysAddr pa, GpuVa va, std::span<const ChainJob> jobs) {
    return mali_sim::write_job_chain(*mem_, pa, va, jobs, job_stride());
  }
  Result<JobHeader> read_job_header(PhysAddr pa) const { return mali_sim::read_job_header(*mem_, pa); }
  // Jobs are 64-byte aligned, 128 on Valhall.
  unsigned job_stride() const noexcept { return gpu_->spec().arch_major() >= 9 ? 128U : 64U; }

  // Powers the L2, every shader core and the tiler up through mmio() as a driver's probe does
  // (the L2 first, each polled until READY, on the CPU and taking the time it takes), then clears
  // the power interrupts. For tests of other parts of a driver; a driver that probes needs none
  // of it. False when a domain did not come up within 20 ms.
  bool power_up();

  // ---- What a driver needs from a kernel ------------------------------------------------------
  // Busy-wait (udelay, ndelay) or sleep (usleep_range, msleep) on the CPU: the clock runs on
  // meanwhile. usleep_range(min, max) sleeps `max`: an idle CPU's timer fires at the range's end
  // (the slack lets the kernel merge wake-ups, it does not shorten them).
  void ndelay(std::uint64_t ns);
  void udelay(std::uint64_t us) { ndelay(us * 1000); }
  void usleep_range(std::uint64_t min_us, std::uint64_t max_us);
  void msleep(std::uint64_t ms) { ndelay(ms * 1'000'000); }
  // request_threaded_irq(): `hard` runs in interrupt context at each delivery of `line`; when it
  // returns IrqReturn::kWakeThread, `thread` runs on the CPU after irq_thread_wake_ns (plus what
  // the hard half spent). The hard half masks its block itself, as panfrost's do.
  void request_threaded_irq(IrqLine line, std::function<IrqReturn()> hard, std::function<void()> thread);
  // request_irq(): a plain handler, in interrupt context.
  void request_irq(IrqLine line, std::function<void()> handler);
  void free_irq(IrqLine line);
  // The threaded handler of a line, for its counts; nullptr if none.
  const ThreadedIrq* threaded_irq(IrqLine line) const noexcept {
    return threaded_[static_cast<unsigned>(line)].get();
  }

  void run_until(Cycle cycle) { queue_->run_until(cycle); }
  void run_for(Cycle cycles) { queue_->run_until(queue_->now() + cycles); }
  // Run until nothing is left to happen; false if `max_events` ran first (e.g. an IRQ storm).
  bool run_until_idle(std::uint64_t max_events = 10'000'000) { return queue_->run_until_idle(max_events); }
  // Run until `done()` holds; false if the clock passed `deadline` or nothing was left to run.
  bool run_until(const std::function<bool()>& done, Cycle deadline);
  bool run_until_done(JobId id, Cycle timeout = 1'000'000'000);

 private:
  struct Job {
    unsigned as;
    unsigned core;
    std::vector<JobAccess> accesses;
    JobStatus status;
  };
  void issue_next(JobId id);
  void on_result(const AccessResult& r);

  std::unique_ptr<PhysMem> mem_;
  std::unique_ptr<FrameAllocator> frames_;
  std::unique_ptr<EventQueue> queue_;
  std::unique_ptr<Gpu> gpu_;
  std::unique_ptr<Checker> checker_;  // after what it watches: destroyed (detached) first
  std::vector<std::unique_ptr<Job>> jobs_;
  std::unique_ptr<AccessListRunner> runner_;
  std::uint64_t irq_thread_wake_ns_;
  // The CPU and what hangs on it, last: destroyed first.
  std::unique_ptr<CpuTimeline> cpu_;
  std::unique_ptr<CpuMmio> bus_;
  std::array<std::unique_ptr<ThreadedIrq>, kIrqLines> threaded_;
};

}  // namespace mali_sim
