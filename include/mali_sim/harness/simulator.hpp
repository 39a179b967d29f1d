// A simulated GPU for a driver's unit tests: physical memory, a frame allocator, the clock and
// the device, owned together, with jobs of shader accesses and ways to run the clock. No global
// state: make one per test.
//
//   Simulator sim(gpu_preset("g52").value());
//   MyDriver drv(sim.mmio(), sim.mem());           // your driver: registers + memory + IRQ line
//   drv.probe(); drv.map_something();
//   auto job = sim.submit(0, {{0x1000000, Access::Write}});
//   ASSERT_TRUE(sim.run_until_done(job));
//   EXPECT_EQ(sim.job(job).failed, 0U);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "mali_sim/check/checker.hpp"
#include "mali_sim/event_queue.hpp"
#include "mali_sim/mmio.hpp"
#include "mali_sim/mmu/gpu.hpp"
#include "mali_sim/phys_mem.hpp"

namespace mali_sim {

struct JobAccess {
  GpuVa va = 0;
  Access access = Access::Read;
  std::uint64_t delta = 1;  // cycles after the previous access of the job
  std::uint32_t size = 4;
};

struct JobStatus {
  std::size_t accesses = 0;  // in the job
  std::size_t issued = 0;
  std::size_t done = 0;
  std::size_t failed = 0;
  std::vector<AccessResult> results;  // in completion order
  bool finished() const noexcept { return done + failed == accesses; }
};

struct SimulatorOptions {
  std::uint64_t phys_mem_bytes = 256ULL << 20;
  // The driver checker (docs/driver-testing.md) is on by default: reports are logged and kept;
  // set check_config.on_report (or use harness/gtest.hpp) to make them fail the test.
  bool check = true;
  CheckerConfig check_config;
};

class Simulator {
 public:
  using JobId = std::size_t;

  explicit Simulator(const GpuSpec& spec, SimulatorOptions options);
  explicit Simulator(const GpuSpec& spec, std::uint64_t phys_mem_bytes = 256ULL << 20);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  MmioDevice& mmio() noexcept { return *gpu_; }  // what a driver gets of the device
  Gpu& gpu() noexcept { return *gpu_; }          // the device, for inspection
  PhysMem& mem() noexcept { return *mem_; }
  FrameAllocator& frames() noexcept { return *frames_; }
  EventQueue& clock() noexcept { return *queue_; }
  // The checker, nullptr when options.check was false. The destructor runs its finish() checks.
  Checker* checker() noexcept { return checker_.get(); }
  // Run the end-of-run checks now and return every report so far (empty without a checker).
  const std::vector<CheckReport>& check();
  Cycle now() const noexcept { return queue_->now(); }

  // A job: its accesses are issued on `as` by `core`, one after another (each `delta` cycles after
  // the previous one was issued), starting now.
  JobId submit(unsigned as, std::vector<JobAccess> accesses, unsigned core = 0);
  const JobStatus& job(JobId id) const { return jobs_.at(id)->status; }

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
};

}  // namespace mali_sim
