// The harness's shader cores for jobs that go through the job slots: each workload is a list of
// accesses (JobAccess, as for Simulator::submit) that a test registers and a job's payload names.
// When a slot runs the job, the accesses are dealt round-robin over the cores the job may use,
// and each core issues its share one after another (each `delta` cycles after its previous
// issue). The job's work is done when every access has completed; an access that fails ends it
// with a job fault. A soft stop keeps what was issued: the job goes on with the rest when it is
// submitted again.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "mali_sim/event_queue.hpp"
#include "mali_sim/gpu/gpu.hpp"
#include "mali_sim/jm/workload.hpp"

namespace mali_sim {

struct JobAccess {
  GpuVa va = 0;
  Access access = Access::Read;
  std::uint64_t delta = 1;  // cycles after the previous access of the same core
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

class AccessListRunner final : public WorkloadRunner {
 public:
  AccessListRunner(Gpu& gpu, EventQueue& clock) : gpu_(gpu), clock_(clock) {}

  // A workload; its id (from 1, at most 65535) is what a job's WorkloadPayload names.
  std::uint64_t add(std::vector<JobAccess> accesses);
  const JobStatus& status(std::uint64_t workload) const { return workloads_.at(workload).status; }

  bool start(const WorkloadRun& run) override;
  void stop(unsigned slot, bool resumable) override;

  // Results of this runner's accesses carry a mark in their cookie.
  static bool owns(const AccessResult& r) noexcept { return (r.request.cookie & kMark) != 0; }
  void on_result(const AccessResult& r);

 private:
  // Cookie: mark (bit 63), run epoch (bits 48-62), workload id (bits 32-47), access index.
  static constexpr std::uint64_t kMark = std::uint64_t{1} << 63;
  static constexpr unsigned kEpochShift = 48;
  static constexpr std::uint64_t kEpochMask = 0x7FFF;
  static constexpr unsigned kIdShift = 32;
  static constexpr std::uint64_t kIdMask = 0xFFFF;
  struct Workload {
    std::vector<JobAccess> accesses;
    std::vector<bool> issued;
    JobStatus status;
    // While a slot runs it:
    bool running = false;
    unsigned slot = 0;
    std::uint64_t gen = 0;  // bumped by every start and stop: issues scheduled before do nothing
    WorkloadRun run;
    std::vector<std::vector<std::size_t>> lanes;  // per core used: the indices it still issues
    std::size_t in_flight = 0;
    std::uint32_t fault = 0;  // the job exception the work ends with (0: none yet)
    std::uint64_t epoch = 0;  // bumped when a run is dropped (a stop that is not resumable)
  };
  void issue(std::uint64_t id, std::size_t lane, std::uint64_t gen);
  void schedule_issue(std::uint64_t id, std::size_t lane);
  void maybe_done(std::uint64_t id);

  Gpu& gpu_;
  EventQueue& clock_;
  std::map<std::uint64_t, Workload> workloads_;
  std::uint64_t next_id_ = 1;
};

}  // namespace mali_sim
