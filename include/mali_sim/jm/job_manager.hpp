// The job manager, registers 0x1000 to 0x1FFF (docs/hardware-facts.md §12): the job interrupt
// block and JS_STATE, and per job slot the current and _NEXT register sets. A driver writes a job
// chain's address, affinity and config into a slot's _NEXT registers and START into COMMAND_NEXT;
// the slot takes the job when it is free, walks the chain through the address space JS_CONFIG
// names (each header read and written through the MMU, so a bad pointer is an MMU fault), runs each
// job (NULL, WRITE_VALUE, CACHE_FLUSH at once; shader jobs by handing their workload to a
// WorkloadRunner), and raises the slot's DONE or FAILED interrupt bit with JS_STATUS.
//
// The jobs of a chain run one after another in chain order. Dependencies can only name earlier
// jobs of the chain, so they are met, and barriers with them (docs/fidelity.md, "Jobs").
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "mali_sim/event_queue.hpp"
#include "mali_sim/gpu/gpu_spec.hpp"
#include "mali_sim/irq/irq_block.hpp"
#include "mali_sim/jm/workload.hpp"
#include "mali_sim/job_descriptor.hpp"
#include "mali_sim/mmu/access.hpp"
#include "mali_sim/mmu/misuse.hpp"
#include "mali_sim/phys_mem.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim {

class JobManager {
 public:
  using AccessDone = std::function<void(const AccessResult&)>;
  // What the job manager needs of the device around it.
  struct Wiring {
    // A memory access of the job manager itself (a descriptor read, its write-back, a WRITE_VALUE)
    // through address space `as`; `done` gets the translation at the access's completion cycle.
    std::function<void(unsigned as, GpuVa va, Access access, std::uint32_t size, AccessDone done)> access;
    // The simulator cores JS_AFFINITY names that are powered (bit n: core n).
    std::function<std::uint64_t(std::uint64_t affinity)> cores_for;
    std::function<void()> count_flush;  // a start or end flush, or a CACHE_FLUSH job
    std::function<std::uint64_t()> cycle_count;
    std::function<std::uint64_t()> timestamp;
    std::function<void(MisuseKind kind, std::uint32_t offset, std::string message)> report;
  };

  JobManager(const GpuSpec& spec, EventQueue& clock, PhysMem& mem, IrqBlock& irq, Wiring wiring);
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  static bool owns(std::uint32_t offset) noexcept {
    return offset >= regs::kJobIntRawstat && offset < regs::kJobControlEnd;
  }
  RegisterKind kind(std::uint32_t offset) const noexcept;
  std::uint32_t read(std::uint32_t offset) const;
  // A write by the CPU to a kReadWrite or kWriteOnly register.
  void write(std::uint32_t offset, std::uint32_t value);

  // Who runs shader work (nullptr: nobody; shader jobs then run no work).
  void set_runner(WorkloadRunner* runner) noexcept { runner_ = runner; }
  WorkloadRunner* runner() const noexcept { return runner_; }
  // The runner's report for the slot's work: 0 done, else a job exception code.
  void workload_done(unsigned slot, std::uint32_t exception);
  // Address space `as` stopped translating (UPDATE to UNMAPPED): the jobs running in it fail with
  // JOB_BUS_FAULT and their remaining work is not issued.
  void as_disabled(unsigned as);
  // A GPU reset: every slot idle, its registers 0, its work stopped.
  void reset();

  // ---- Observation ----------------------------------------------------------------------------
  struct SlotState {
    bool present = false;
    bool active = false;          // a chain runs (JS_STATE's current bit)
    bool next_queued = false;     // a job waits in _NEXT (COMMAND_NEXT reads START)
    bool failed_pending = false;  // FAILED raised and not cleared: the slot takes no job
    unsigned as = 0;              // of the running chain
    GpuVa job = 0;                // the job of the chain running now
    std::uint32_t status = 0;     // JS_STATUS
  };
  SlotState slot_state(unsigned slot) const;
  std::uint64_t chains_done() const noexcept { return chains_done_; }
  std::uint64_t chains_failed() const noexcept { return chains_failed_; }

 private:
  struct Slot {
    std::uint64_t head = 0, tail = 0, affinity = 0;
    std::uint32_t config = 0, xaffinity = 0, status = 0, flush_id = 0;
    std::uint64_t head_next = 0, affinity_next = 0;
    std::uint32_t config_next = 0, xaffinity_next = 0, flush_id_next = 0;
    bool next_queued = false;
    bool active = false;
    bool failed_pending = false;
    bool work_running = false;
    // What the chain is doing: reading a descriptor, running a job, writing one back. A job whose
    // address space goes away fails with the matching code (JOB_READ_FAULT, JOB_BUS_FAULT,
    // JOB_WRITE_FAULT).
    enum class Phase : std::uint8_t { kFetch, kRun, kWrite } phase = Phase::kFetch;
    GpuVa job = 0;
    JobHeader header;
    std::uint64_t op = 0;  // bumped whenever the chain stops: what an older op scheduled does nothing
  };

  bool slot_present(unsigned n) const noexcept {
    return n < regs::kMaxJobSlots && ((spec_.js_present >> n) & 1U) != 0;
  }
  unsigned as_of(const Slot& s) const noexcept { return s.config & regs::kJsConfigAsMask; }
  void command(unsigned n, std::uint32_t value);
  void command_next(unsigned n, std::uint32_t value);
  void clear(std::uint32_t bits);
  void try_promote(unsigned n);
  void start_chain(unsigned n);
  void fetch(unsigned n);
  void execute(unsigned n, std::uint64_t op, PhysAddr pa);
  void write_value(unsigned n, const WriteValuePayload& p);
  void job_done(unsigned n);
  void chain_done(unsigned n);
  void fail(unsigned n, std::uint32_t exception);
  void stop(unsigned n, bool hard);
  void flush(std::uint32_t mode) const;

  const GpuSpec& spec_;
  EventQueue& clock_;
  PhysMem& mem_;
  IrqBlock& irq_;
  Wiring wiring_;
  WorkloadRunner* runner_ = nullptr;
  std::array<Slot, regs::kMaxJobSlots> slots_{};
  std::uint32_t js_state_ = 0;  // the snapshot JOB_INT_CLEAR takes
  std::uint32_t throttle_ = 0;
  std::uint64_t chains_done_ = 0, chains_failed_ = 0;
};

}  // namespace mali_sim
