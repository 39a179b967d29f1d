// The reference driver: a model of what Linux panfrost does for GPU memory, as merged and as fixed
// after the review of the original heap patch. It runs inside the simulation and reaches the GPU
// only through MmioDevice (registers + the interrupt lines) and PhysMem (page tables and pages),
// exactly as the kernel driver reaches hardware. It probes as panfrost does (soft reset, feature
// reads, power-on of L2, shader cores and tiler, the interrupt masks).
//
// Time: the driver runs on one CPU timeline (cpu_timeline.hpp). Every register access takes the
// bus time the GPU states (CpuMmio), and every page allocation, descriptor write and thread
// wake-up is charged through the CostModel on that timeline; the work sleeps while the time passes, and the
// GPU keeps running meanwhile (shader cores issue, commands complete), so a heap fault's latency is what the
// handler really did and nobody else waits for it unless they need it. Driver work is serialised: work posted
// while the driver is busy (for example the threaded IRQ handler woken during an ioctl's flush) runs after
// the current item.
//
// Errors are values (Status / Result) with EINVAL-like codes and messages naming the rule.
#pragma once

#include <array>
#include <boost/intrusive/list.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mali_sim/annotations.hpp"
#include "mali_sim/cpu_mmio.hpp"
#include "mali_sim/cpu_timeline.hpp"
#include "mali_sim/error.hpp"
#include "mali_sim/event_queue.hpp"
#include "mali_sim/gem/cost_model.hpp"
#include "mali_sim/gem/grow_policy.hpp"
#include "mali_sim/gem/shmem.hpp"
#include "mali_sim/gem/va_space.hpp"
#include "mali_sim/mmio.hpp"
#include "mali_sim/pagetable/io_pgtable.hpp"
#include "mali_sim/phys_mem.hpp"
#include "mali_sim/threaded_irq.hpp"
#include "mali_sim/uapi.hpp"

namespace mali_sim {

using CtxId = std::uint32_t;
using BoId = std::uint32_t;

struct DriverConfig {
  std::string grow_policy = "panfrost-2m";
  bool transparent_huge_pages = false;
  PtFormat format = PtFormat::MaliLpae;        // AArch64_4K needs a GPU with the AArch64 MMU
  bool map_cacheable = false;                  // pass IOMMU_CACHE (panfrost does since 2025)
  std::uint64_t gpu_clock_hz = 1'000'000'000;  // converts the CPU timeline to GPU cycles
  CostModel costs;
  bool record_mmio = false;
};

// One register access the driver made.
struct MmioRecord {
  Cycle at;
  std::uint32_t offset;
  std::uint32_t value;
  bool write;
  std::string to_string() const;  // e.g. "W AS0_COMMAND = 0x2 (LOCK)"
};

// A fault the driver could not handle (it killed the address space).
struct TerminalFault {
  Cycle at;
  int ctx;  // -1: no context was bound to the AS
  unsigned as;
  std::uint32_t faultstatus;
  GpuVa address;
  std::string reason;  // why it was not grown
};

struct DriverStats {
  std::uint64_t hard_irqs = 0;      // hard-half invocations that found MMU_INT_STAT set
  std::uint64_t spurious_irqs = 0;  // ... that found it clear (IRQ_NONE)
  std::uint64_t threaded_runs = 0;
  std::uint64_t faults_seen = 0;  // faulting AS records the threaded half processed
  std::uint64_t grows = 0;        // faults that backed and mapped pages
  std::uint64_t grown_pages = 0;
  std::uint64_t duplicate_faults = 0;  // translation faults in already-grown memory
  std::uint64_t terminal_faults = 0;
  std::uint64_t enomem_faults = 0;   // terminal because memory ran out
  std::uint64_t huge_mappings = 0;   // 2 MiB block entries used for heap chunks
  std::uint64_t handler_cycles = 0;  // CPU time of the threaded half, in GPU cycles
  // Sum over grows: from the fault's interrupt (or, for a fault the threaded handler finds while it
  // runs, from its reading the fault) to the flush that lets the stalled accesses retry.
  std::uint64_t fault_to_resume_cycles = 0;
  std::uint64_t as_enables = 0, as_disables = 0, as_steals = 0;
  std::uint64_t flushes = 0;
  std::uint64_t gpu_resets = 0;  // resets after a timeout (panfrost_device_reset), not the probe's
  std::uint64_t gpu_faults = 0;  // GPU interrupts with GPU_FAULT or MULTIPLE_GPU_FAULTS
  std::uint64_t jobs_submitted = 0, jobs_done = 0, jobs_failed = 0;
  std::uint64_t job_irqs = 0;      // job interrupt threads run
  std::uint64_t probe_cycles = 0;  // how long the last probe took
  std::uint64_t purged_bos = 0, purged_pages = 0;
  std::uint64_t heap_rss_bytes = 0;       // heap memory backed now, all contexts
  std::uint64_t heap_rss_peak_bytes = 0;  // most ever backed at once
  std::uint64_t mmio_reads = 0, mmio_writes = 0;
};

struct ContextInfo {
  int as = -1;
  std::uint32_t as_count = 0;
  std::uint64_t bos = 0;
  std::uint64_t heap_rss = 0;  // bytes of heap memory backed (panfrost fdinfo "drm-resident" for heaps)
  std::uint64_t resident = 0;  // bytes backed by all BOs
  std::uint64_t table_pages = 0;
};

struct MemoryInfo {
  ShmemInfo shmem;
  std::uint64_t page_table_pages = 0;  // across all contexts (PageTables)
  std::uint64_t frames_allocated = 0;  // FrameAllocator view: shmem + page tables
};

// What the driver read of the GPU at probe (panfrost_gpu_init_features), in panfrost's order.
struct GpuFeatures {
  std::uint32_t l2_features = 0, core_features = 0, tiler_features = 0, mem_features = 0, mmu_features = 0;
  std::uint32_t thread_features = 0, thread_max_threads = 0, thread_max_workgroup_size = 0,
                thread_max_barrier_size = 0;
  std::uint32_t coherency_features = 0, afbc_features = 0;
  std::uint32_t texture_features[4] = {};
  std::uint32_t as_present = 0, js_present = 0;
  std::uint32_t js_features[16] = {};
  std::uint64_t shader_present = 0, tiler_present = 0, l2_present = 0, stack_present = 0;
  std::uint32_t thread_tls_alloc = 0;
  std::uint32_t gpu_id = 0;
};

class Driver {
 public:
  Driver(MmioDevice& dev, EventQueue& queue, FrameAllocator& frames, DriverConfig cfg);
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Probe as panfrost does (panfrost_device_init, then the first runtime resume): soft reset
  // (hard reset if it times out), read the features, request the interrupt lines, power on L2,
  // shader cores and tiler, reset the MMU's interrupt state and unmask the job interrupts. Fails
  // when the GPU does not come out of reset or reports unusable features.
  Status probe();
  const GpuFeatures& features() const noexcept { return features_; }

  // ---- Files (contexts) ----------------------------------------------------------------------
  Result<CtxId> open();
  Status close(CtxId ctx);  // frees the context's BOs, disables its AS

  // ---- Buffer objects (ioctls) -----------------------------------------------------------------
  Result<BoId> create_bo(CtxId ctx, std::uint64_t size, std::uint32_t flags);
  Status free_bo(CtxId ctx, BoId bo);
  Result<GpuVa> bo_va(CtxId ctx, BoId bo) const;
  Result<std::uint64_t> bo_size(CtxId ctx, BoId bo) const;
  Status mmap_bo(CtxId ctx, BoId bo);  // refused for heaps: their pages are not pinned
  Status pin_bo(CtxId ctx, BoId bo);   // pin / dma-buf export; refused for heaps
  Status unpin_bo(CtxId ctx, BoId bo);
  Result<bool> madvise(CtxId ctx, BoId bo, Madvise advice);  // whether the pages were retained

  // ---- User-space access to BO memory --------------------------------------------------------
  // What a process does through its CPU mapping of a BO (mmap, then a store): writes `bytes` at
  // `offset`. Refused for heaps (not mappable) and purged BOs. User space builds job chains so.
  Status write_bo(CtxId ctx, BoId bo, std::uint64_t offset, std::span<const std::uint8_t> bytes);

  // ---- Job submission (panfrost_drv.c's SUBMIT ioctl, panfrost_job.c) ----------------------------
  // Queues the job chain at `jc` (a GPU VA of the context) for slot 0 (fragment) or 1 (everything
  // else), as panfrost does; `bos` are kept from the shrinker until it ends. It goes to the
  // hardware when its slot has room (two jobs: current and _NEXT) and an address space is free:
  // as_get, then JS_HEAD_NEXT, JS_AFFINITY_NEXT (SHADER_PRESENT), JS_CONFIG_NEXT (the AS, flushes,
  // priority, the chain flag), JS_FLUSH_ID_NEXT, JS_COMMAND_NEXT = START. The job interrupt
  // completes it (as_put, then `on_job_done`). Returns the job's id.
  using JobId = std::uint64_t;
  struct JobResult {
    bool ok = false;
    std::uint32_t js_status = 0;  // JS_STATUS when it ended (DONE, or the fault)
    Cycle at = 0;                 // when the driver completed it
    std::string error;            // why it failed, for a failed job
  };
  Result<JobId> submit(CtxId ctx, GpuVa jc, const std::vector<BoId>& bos, bool fragment);
  void set_job_done_handler(std::function<void(JobId, const JobResult&)> handler) {
    on_job_done_ = std::move(handler);
  }
  std::size_t jobs_in_flight() const noexcept { return submitted_.size(); }

  // ---- Jobs ------------------------------------------------------------------------------------
  // panfrost_mmu_as_get / as_put around a job. as_get returns the AS the job runs on; kBusy when
  // every AS is held by a context with a running job. `bos` are the BOs the job uses (the shrinker
  // leaves them alone while it runs).
  Result<unsigned> job_begin(CtxId ctx, const std::vector<BoId>& bos = {});
  Status job_end(CtxId ctx, const std::vector<BoId>& bos = {});

  // ---- Memory pressure -------------------------------------------------------------------------
  // Purge DONTNEED BOs not used by a running job, oldest first, until `pages` pages were freed
  // (0: all of them). Returns the pages freed.
  std::uint64_t shrink(std::uint64_t pages = 0);

  // ---- Work serialisation ----------------------------------------------------------------------
  // Run `work` on the driver's CPU: from an event at the current cycle when it is idle, else after
  // what was posted before. The public calls above may be made from inside such work; made from
  // outside (a test), each runs as one work item and the clock runs until it is done.
  void post(std::function<void()> work);
  bool busy() const noexcept { return cpu_.busy(); }
  CpuTimeline& cpu() noexcept { return cpu_; }

  // ---- Observation -----------------------------------------------------------------------------
  const DriverStats& stats() const noexcept { return stats_; }
  Result<ContextInfo> context_info(CtxId ctx) const;
  MemoryInfo memory_info() const;
  const std::vector<MmioRecord>& mmio_log() const noexcept { return mmio_log_; }
  void clear_mmio_log() { mmio_log_.clear(); }
  const std::vector<TerminalFault>& terminal_faults() const noexcept { return terminal_; }
  void set_terminal_fault_handler(std::function<void(const TerminalFault&)> h) {
    on_terminal_ = std::move(h);
  }
  std::uint32_t faulty_mask() const noexcept { return as_faulty_mask_; }
  const GrowPolicy& grow_policy() const noexcept { return *policy_; }
  const DriverConfig& config() const noexcept { return cfg_; }
  // Announce page tables, contexts and BOs to a checker (as kmemleak annotations do), so that it
  // follows each page table from its creation and checks each teardown for leaks. nullptr stops.
  // Destroy the checker before the driver: the driver's destructor does no orderly teardown.
  void set_annotations(DriverAnnotations* checker);
  std::uint32_t as_present() const noexcept { return as_present_; }
  // The driver's time: the clock plus the CPU time its current work has spent and not yet synced.
  Cycle now() const noexcept { return cpu_.now(); }

 private:
  struct Bo {
    BoId id = 0;
    std::uint64_t size = 0;
    std::uint32_t flags = 0;
    VaNode node;
    ShmemStore::ObjectId obj = 0;
    std::unique_ptr<HeapBacking> heap;  // heap BOs: which pages are backed and mapped
    bool mapped = false;                // other BOs: mapped since creation (until purged)
    Madvise madv = Madvise::WillNeed;
    bool purged = false;
    std::uint64_t dontneed_seq = 0;  // shrinker order: older DONTNEED first
    std::uint32_t gpu_usecount = 0;  // running jobs using it
    std::uint32_t mmap_count = 0;
    std::uint32_t pin_count = 0;
    std::uint64_t check_id = 0;  // the checker's object id (0: not tracked)
    bool is_heap() const noexcept { return (flags & bo_flags::kHeap) != 0; }
    bool noexec() const noexcept { return (flags & bo_flags::kNoExec) != 0; }
  };
  using LruHook = boost::intrusive::list_member_hook<>;
  struct Context {
    Context(CtxId id_, GpuVa va_start, GpuVa va_end) : id(id_), va(va_start, va_end) {}
    CtxId id;
    std::unique_ptr<IoPgtable> pt;
    VaSpace va;
    int as = -1;
    std::uint32_t as_count = 0;
    LruHook lru_hook;
    std::map<BoId, std::unique_ptr<Bo>> bos;
    BoId next_bo = 1;
    std::uint64_t heap_rss = 0;
    std::uint64_t check_id = 0;  // the checker's object id (0: not tracked)
  };
  using LruList =
      boost::intrusive::list<Context, boost::intrusive::member_hook<Context, LruHook, &Context::lru_hook>>;

  // CPU time and registers
  void charge_ns(std::uint64_t ns) { cpu_.spend_ns(ns); }
  std::uint32_t rd(std::uint32_t offset);
  std::uint64_t rd64(std::uint32_t lo_offset);
  void wr(std::uint32_t offset, std::uint32_t value);
  void wr64(std::uint32_t lo_offset, std::uint64_t value);
  // readl_relaxed_poll_timeout(): read until `done(value)`, sleeping `sleep_us` between reads
  // (usleep_range's upper bound), and after `timeout_us` read once more. True when done.
  bool poll(std::uint32_t offset, const std::function<bool(std::uint32_t)>& done, std::uint64_t sleep_us,
            std::uint64_t timeout_us);

  // GPU control: panfrost_gpu.c, panfrost_device.c
  Status soft_reset();
  Status read_features();
  void init_quirks();
  void power_on();
  void mmu_reset();
  void job_enable_interrupts();
  void device_reset();
  void gpu_irq();
  template <class F>
  auto exclusive(F&& f) -> decltype(f());

  // MMU: panfrost_mmu.c
  bool wait_ready(unsigned as);
  void write_cmd(unsigned as, std::uint32_t cmd);
  void lock_region(unsigned as, GpuVa iova, std::uint64_t size);
  void hw_do_operation(unsigned as, GpuVa iova, std::uint64_t size, std::uint32_t op);
  void as_enable(unsigned as, Context& ctx);
  void as_disable(unsigned as);
  void flush_range(Context& ctx, GpuVa iova, std::uint64_t size);
  void gpu_reset(const std::string& why);
  bool clear_faulty(unsigned as);
  IrqReturn hard_irq();
  void threaded_irq();
  void mmu_thread_step(std::uint32_t status, bool first, std::uint64_t resets);

  // Jobs: panfrost_job.c
  struct Submitted {
    JobId id = 0;
    CtxId ctx = 0;
    GpuVa jc = 0;
    std::vector<BoId> bos;
    unsigned slot = 1;
    bool on_hw = false;
    bool chain_flag = false;  // JS_CONFIG's JOB_CHAIN_FLAG it went with
    std::uint32_t flush_id = 0;
    std::uint64_t hw_seq = 0;  // which time on the hardware: a timer armed before is stale
    bool timed_out = false;    // the reset that follows fails it instead of running it again
  };
  void job_run(unsigned slot);
  bool job_hw_submit(Submitted& job);
  IrqReturn job_hard_irq();
  void job_threaded_irq();
  void job_complete(JobId id, bool ok, std::uint32_t js_status, std::string error);
  void arm_job_timeout(const Submitted& job);
  std::string last_reset_why_;  // what the latest GPU reset was for
  bool submitting_ = false;     // inside job_hw_submit's as_get
  void job_timedout(JobId id, std::uint64_t hw_seq);
  Status handle_page_fault(unsigned as, GpuVa addr, std::string& reason);
  Status grow_heap(Context& ctx, Bo& bo, std::uint64_t fault_page, std::string& reason);
  void report_terminal(unsigned as, std::uint32_t faultstatus, GpuVa addr, const std::string& reason);

  // GEM: panfrost_gem.c
  Result<Context*> context(CtxId id);
  Result<const Context*> context(CtxId id) const;
  Result<Bo*> bo(Context& ctx, BoId id);
  Result<Bo*> find_bo(CtxId ctx, BoId id);
  Status map_pages(Context& ctx, Bo& bo, std::uint64_t first, std::uint64_t count, std::string& reason);
  void unmap_bo(Context& ctx, Bo& bo);
  void release_bo(Context& ctx, Bo& bo);
  Status populate_with_reclaim(Bo& bo, std::uint64_t first, std::uint64_t count);
  std::uint64_t purge(Context& ctx, Bo& bo);
  void track_context(Context& ctx);
  void watch_page_table(const Context& ctx);
  void track_bo(Context& ctx, Bo& bo);
  void untrack(std::uint64_t& check_id);

  MmioDevice& dev_;
  EventQueue& queue_;
  FrameAllocator& frames_;
  DriverConfig cfg_;
  std::unique_ptr<GrowPolicy> policy_;
  ShmemStore shmem_;

  // GPU identity
  GpuFeatures features_;
  std::uint32_t gpu_id_ = 0;
  unsigned va_bits_ = 48, pa_bits_ = 40;
  std::uint32_t as_present_ = 0;
  bool probed_ = false;

  // AS management
  std::uint32_t as_alloc_mask_ = 0;
  std::uint32_t as_faulty_mask_ = 0;
  LruList lru_;  // contexts holding an AS, most recently used first

  std::map<CtxId, std::unique_ptr<Context>> contexts_;
  CtxId next_ctx_ = 1;

  // Interrupt handling
  Cycle hard_irq_at_ = 0;
  Cycle fault_taken_at_ = 0;  // when the fault being handled started to wait for the driver

  // Jobs
  std::map<JobId, Submitted> submitted_;         // queued or on the hardware
  std::array<std::deque<JobId>, 3> slot_queue_;  // per slot, in submission order (front: oldest)
  JobId next_job_ = 1;
  std::uint64_t job_seqno_ = 0;
  std::function<void(JobId, const JobResult&)> on_job_done_;

  DriverStats stats_;
  std::vector<MmioRecord> mmio_log_;
  std::vector<TerminalFault> terminal_;
  std::function<void(const TerminalFault&)> on_terminal_;
  std::uint64_t dontneed_seq_ = 0;  // orders DONTNEED marks for the shrinker
  DriverAnnotations* checker_ = nullptr;
  // The CPU and what hangs on it, last: destroyed first (the interrupt lines freed, then the CPU
  // stopped) before anything their work uses goes.
  CpuTimeline cpu_;
  CpuMmio bus_;
  std::unique_ptr<ThreadedIrq> mmu_irq_;
  std::uint64_t mmu_resets_ = 0;  // mmu_reset() calls: a pass of the MMU thread posted before one is void
  std::unique_ptr<ThreadedIrq> job_irq_;
};

// Public entry points run as one work item on the driver's CPU: directly when called from inside
// driver work, else posted, with the clock run until the item has finished (a test's ioctl).
template <class F>
auto Driver::exclusive(F&& f) -> decltype(f()) {
  if (cpu_.in_work()) return f();
  std::optional<decltype(f())> result;
  if (!cpu_.run([&] { result.emplace(f()); }))
    return make_error(Errc::kBusy, "the driver's work could not finish: the simulation ran out of events");
  return std::move(*result);
}

}  // namespace mali_sim
