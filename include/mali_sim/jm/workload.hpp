// The shader work of a job, as the job manager hands it to whoever models the shader cores (the
// harness runs access lists, the replay engine runs a trace's jobs). A job's payload names a
// workload (job_descriptor.hpp, WorkloadPayload); the runner knows what accesses it stands for.
#pragma once

#include <cstdint>

#include "mali_sim/types.hpp"

namespace mali_sim {

struct WorkloadRun {
  unsigned slot = 0;
  unsigned as = 0;          // JS_CONFIG's address space: every access of the work goes through it
  std::uint64_t cores = 0;  // the shader cores it may use: bit n = simulator core n (powered, in affinity)
  GpuVa job = 0;            // the job descriptor's address
  std::uint64_t workload = 0;
};

class WorkloadRunner {
 public:
  virtual ~WorkloadRunner() = default;
  // Runs (or, after a soft stop, goes on with) the work; the runner calls
  // JobManager::workload_done(run.slot, code) once every access it issued has completed (code 0)
  // or when the work cannot go on (a job exception code). False: no such workload, and the job
  // runs no shader work.
  virtual bool start(const WorkloadRun& run) = 0;
  // Stops issuing the slot's work at once (a stop command, its address space switched off, a
  // reset); accesses already issued end on their own. No workload_done follows. `resumable`: a
  // soft stop, after which start() of the same workload goes on with what was not issued; else
  // the work is dropped and a later start() begins it again.
  virtual void stop(unsigned slot, bool resumable) = 0;
};

}  // namespace mali_sim
