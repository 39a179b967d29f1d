// The simulated Mali GPU as a driver sees it: 32-bit MMIO at the real register offsets, three
// interrupt lines (job, MMU, GPU control) delivered to callbacks, and shader-core memory accesses
// translated through per-core uTLBs, a shared L2 TLB, a page-walk cache and a limited number of
// walkers, all timed in GPU cycles on an EventQueue. It reads page tables from PhysMem and
// includes no driver code.
//
// Blocks: the GPU control block (gpu_control.hpp: identity, power, resets), the job manager
// (jm/job_manager.hpp: job slots, chains read through the MMU), the MMU (this class: address
// spaces, TLBs, walks, faults) and one interrupt block per line (irq_block.hpp). Register reads and writes
// happen at the queue's current cycle; what an access costs the CPU is the bus's (mmio_timing(), charged by
// CpuMmio). Commands take modelled time (AS_STATUS.ACTIVE reads 1 until they complete; a reset raises
// RESET_COMPLETED when done), so a driver advances the clock while it polls.
#pragma once

#include <cassert>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "mali_sim/event_queue.hpp"
#include "mali_sim/gpu/gpu_control.hpp"
#include "mali_sim/gpu/gpu_spec.hpp"
#include "mali_sim/irq/irq_block.hpp"
#include "mali_sim/jm/job_manager.hpp"
#include "mali_sim/jm/workload.hpp"
#include "mali_sim/mmio.hpp"
#include "mali_sim/mmu/access.hpp"
#include "mali_sim/mmu/address_space.hpp"
#include "mali_sim/mmu/counters.hpp"
#include "mali_sim/mmu/gpu_observer.hpp"
#include "mali_sim/mmu/misuse.hpp"
#include "mali_sim/mmu/tlb.hpp"
#include "mali_sim/mmu/walk_cache.hpp"
#include "mali_sim/phys_mem.hpp"

namespace mali_sim {

class Gpu final : public MmioDevice, public ObservedGpu {
 public:
  using IrqHandler = std::function<void()>;
  using AccessHandler = std::function<void(const AccessResult&)>;

  // The spec must validate (throws std::invalid_argument with the reason otherwise); use
  // create() for an error value instead.
  Gpu(const GpuSpec& spec, PhysMem& mem, EventQueue& queue);
  static Result<std::unique_ptr<Gpu>> create(const GpuSpec& spec, PhysMem& mem, EventQueue& queue);
  Gpu(const Gpu&) = delete;
  Gpu& operator=(const Gpu&) = delete;

  // ---- MMIO ------------------------------------------------------------------------------
  std::uint32_t read32(std::uint32_t offset) override;
  void write32(std::uint32_t offset, std::uint32_t value) override;
  // Side-effect free: peek reads a register without logging; poke stores a register value
  // (read-only ones included, e.g. to inject a fault record) without running commands. Returns
  // false for offsets that hold no state.
  std::uint32_t peek(std::uint32_t offset) const override;
  bool poke(std::uint32_t offset, std::uint32_t value);

  // The time one register access takes the CPU (mmio.read_ns, mmio.write_ns).
  MmioTiming mmio_timing() const noexcept override { return {spec_.mmio_read_ns, spec_.mmio_write_ns}; }

  // ---- Interrupt lines --------------------------------------------------------------------
  // Level triggered: while a block's RAWSTAT & MASK != 0 its handler is called, first
  // irq_latency cycles after the line rises, then again every irq_latency cycles for as long as
  // it stays up when the handler returns (irq_block.hpp).
  // Without a handler the line still rises and falls, but nothing is delivered.
  void set_irq_handler(IrqLine line, IrqHandler handler) override;
  bool irq_line(IrqLine line) const noexcept { return irq(line).line(); }
  const IrqBlock& irq(IrqLine line) const noexcept { return *irqs_[static_cast<unsigned>(line)]; }
  bool mmu_irq_line() const noexcept override { return mmu_irq_.line(); }

  // ---- Jobs --------------------------------------------------------------------------------
  // Who runs the shader work of jobs (the harness, the replay engine); nullptr: shader jobs run no
  // work. The runner reports back through workload_done().
  void set_workload_runner(WorkloadRunner* runner) noexcept { jm_.set_runner(runner); }
  void workload_done(unsigned slot, std::uint32_t exception) { jm_.workload_done(slot, exception); }
  const JobManager& job_manager() const noexcept { return jm_; }

  // ---- GPU control ------------------------------------------------------------------------
  const GpuControl& control() const noexcept { return control_; }
  // Whether shader core `core` (numbered 0.. in SHADER_PRESENT's bit order) is powered.
  bool core_powered(unsigned core) const noexcept {
    return core < num_cores_ && control_.core_ready(core_bits_[core]);
  }

  // ---- Shader accesses --------------------------------------------------------------------
  // Translate one access issued now. Done and Failed results are final; a Pending one completes
  // (Done or Failed) later, at its cycle, through the access handler.
  AccessResult access(const AccessRequest& req) {
    // Hot path: a uTLB hit answered from the lookup memo. Everything else takes access_slow(),
    // which applies the same rules in full.
    PhysAddr pa = 0;
    if (memo_hit(req.core, req.as, req.va, req.access, pa)) {
      AccessResult r;
      r.status = AccessStatus::Done;
      r.done_at = queue_.now() + spec_.utlb.hit_latency;
      r.pa = pa;
      r.request = req;
      return r;
    }
    return access_slow(req);
  }
  // access()'s hot path alone, for callers that need only the completion cycle (replay loops):
  // when access() would answer from the uTLB lookup memo, does what it would do and returns the
  // cycle the access completes; otherwise returns kNotAHit, and the caller hands the access to
  // access(), which decides.
  static constexpr Cycle kNotAHit = ~Cycle{0};
  // The caller guarantees what access() checks first: core < shader cores, as < 16. `now` is the
  // cycle of the access, at or after now(): a replay loop that issues a run of hits moves the
  // clock once after them (nothing in the hit path reads or schedules on it).
  Cycle access_hit(unsigned core, unsigned as, GpuVa va, Access access, Cycle now) noexcept {
    assert(core < num_cores_ && as < regs::kMaxAddressSpaces && now >= queue_.now());
    // A memo hit implies as_[as].fast_path (update_fast_path() keeps the memos to that).
    if (utlbs_[core].lookup_memo_hit(as, va, access)) {
      assert(as_[as].fast_path);
      ++fast_hits_[core];
      return now + spec_.utlb.hit_latency;
    }
    return kNotAHit;
  }
  void set_access_handler(AccessHandler handler) { access_handler_ = std::move(handler); }

  // ---- Observation ------------------------------------------------------------------------
  // At most one observer (nullptr detaches); it must outlive its attachment.
  void set_observer(GpuObserver* observer) override;
  GpuObserver* observer() const noexcept override { return observer_; }
  bool idle() const noexcept override { return queue_.empty(); }
  void wake_observer_at(Cycle at, std::uint64_t token) override {
    queue_.schedule_observer(at, [this, token] {
      if (observer_ != nullptr) observer_->woken(token);
    });
  }
  std::uint32_t as_present() const noexcept override { return spec_.as_present; }
  bool aarch64_mmu() const noexcept override { return spec_.aarch64_mmu; }

  // ---- Introspection ----------------------------------------------------------------------
  const GpuSpec& spec() const noexcept { return spec_; }
  EventQueue& queue() noexcept { return queue_; }
  const PhysMem& mem() const noexcept { return mem_; }
  Cycle now() const noexcept override { return queue_.now(); }
  // A snapshot: the hot path counts its hits in one place and they are folded in here.
  MmuCounters counters() const noexcept {
    MmuCounters c = counters_;
    std::uint64_t hits = 0;
    for (std::uint64_t h : fast_hits_) hits += h;
    c.accesses += hits;
    c.utlb_hits += hits;
    c.accesses_done += hits;
    c.irqs_raised = mmu_irq_.rising_edges();
    c.irqs_delivered = mmu_irq_.deliveries();
    return c;
  }
  // MmuCounters::stall_cycles counts a stall when it ends; this adds the stalls still under way,
  // up to `until` (a time series' view of stall cycles before a cycle).
  std::uint64_t stall_cycles_until(Cycle until) const noexcept;
  const MisuseLog& misuse() const noexcept { return misuse_; }
  const AddressSpace& address_space(unsigned as) const override { return as_.at(as); }
  const Tlb& utlb(unsigned core) const { return utlbs_.at(core); }
  const Tlb& l2_tlb() const noexcept { return l2_; }
  const WalkCache& walk_cache() const noexcept { return walk_cache_; }
  unsigned walks_in_flight() const noexcept { return busy_walkers_; }
  std::size_t stalled_accesses(unsigned as) const {
    return as_.at(as).fault_waiters.size() + as_.at(as).lock_waiters.size();
  }

 private:
  struct Pending {
    AccessRequest req;
    Cycle stalled_since = 0;
    std::uint32_t gen = 0;  // bumped on reuse, so that events scheduled for an old access are dropped
    bool live = false;
  };
  struct Walk {
    std::uint8_t as = 0;
    GpuVa va = 0;
    std::uint64_t epoch = 0;
    Cycle requested_at = 0;
    std::vector<std::uint32_t> waiters;
  };
  enum class Step : std::uint8_t { Done, Fault, NeedWalk, LockWait, Unmapped };
  struct StepResult {
    Step step;
    Cycle at;  // completion (Done), fault time (Fault), walk request time (NeedWalk)
    PhysAddr pa = 0;
    WalkFault fault{};
  };

  AccessResult access_slow(const AccessRequest& req);
  // The translation proper, after access_slow()'s checks of the request.
  AccessResult translate(const AccessRequest& req);
  // A memory access of the job manager: through its own uTLB (the one after the cores'), not
  // counted as a shader access; `done` at its completion cycle.
  void jm_access(unsigned as, GpuVa va, Access access, std::uint32_t size, JobManager::AccessDone done);
  void deliver_jm(const AccessResult& r);
  // A hot-path hit (counted as one) and its PA, or false.
  bool memo_hit(unsigned core, unsigned as, GpuVa va, Access access, PhysAddr& pa) noexcept {
    if (core < num_cores_ && as < regs::kMaxAddressSpaces) {
      // A memo hit implies as_[as].fast_path (update_fast_path() keeps the memos to that).
      if (utlbs_[core].lookup_memo_pa(as, va, access, pa)) {
        assert(as_[as].fast_path);
        ++fast_hits_[core];
        return true;
      }
    }
    return false;
  }
  void update_fast_path(unsigned as);

  // MMIO helpers
  std::uint32_t read_as(unsigned as, std::uint32_t reg) const;
  void write_as(unsigned as, std::uint32_t reg, std::uint32_t value);
  void report(MisuseKind kind, int as, std::uint32_t offset, std::string message);

  // Interrupts
  IrqBlock& irq(IrqLine line) noexcept { return *irqs_[static_cast<unsigned>(line)]; }

  // GPU control wiring: a reset of every block, the cores' power, the cores at work.
  void write_control(std::uint32_t offset, std::uint32_t value);
  void write_block(RegisterKind kind, std::uint32_t offset, std::uint32_t value,
                   const std::function<void()>& store, bool during_reset_ok = false);
  void reset_blocks();
  void cores_powered(std::uint64_t ready_bits);
  std::uint64_t active_cores() const;

  // Translation pipeline
  StepResult lookup(const AccessRequest& req, Cycle t);
  std::uint32_t new_pending(const AccessRequest& req);
  void run_pending(std::uint32_t id);
  void request_walk(std::uint32_t id, Cycle at);
  void begin_walk(std::uint32_t walk_id);
  void finish_walk(std::uint32_t walk_id, const WalkResult& result);
  void on_fault(std::uint32_t id, const WalkFault& fault);
  void schedule_fault(std::uint32_t id, Cycle at, const WalkFault& fault);
  void complete(std::uint32_t id, Cycle at, PhysAddr pa);
  void fail(std::uint32_t id, FailReason reason);
  void deliver(const AccessResult& r);
  static TlbEntry walk_entry(unsigned as, GpuVa va, const WalkResult& w, Cycle now);

  // AS commands
  void command(unsigned as, std::uint32_t value);
  void start_command(unsigned as, AsCommand cmd);
  void execute_region_command(unsigned as);
  void finish_command(unsigned as);
  LockRegion command_region(unsigned as) const;
  unsigned invalidate_region(unsigned as, const LockRegion& region);
  void retry_waiters(unsigned as);
  void retry_lock_waiters(unsigned as);
  void retry(const std::vector<std::uint32_t>& waiters);
  void kill_as(unsigned as);
  void inflight_done(unsigned as);

  GpuSpec spec_;
  PhysMem& mem_;
  EventQueue& queue_;
  IrqBlock job_irq_;
  IrqBlock mmu_irq_;
  IrqBlock gpu_irq_;
  std::array<IrqBlock*, kIrqLines> irqs_{&job_irq_, &mmu_irq_, &gpu_irq_};  // by IrqLine
  AccessHandler access_handler_;
  std::uint64_t reset_gen_ = 0;  // bumped by a reset: events scheduled before it do nothing

  std::array<AddressSpace, regs::kMaxAddressSpaces> as_{};
  std::vector<Tlb> utlbs_;
  Tlb l2_;
  WalkCache walk_cache_;

  std::vector<Pending> pending_;
  std::vector<std::uint32_t> free_pending_;
  std::vector<Walk> walks_;
  std::vector<std::uint32_t> free_walks_;
  FlatIndex walk_by_page_;  // (as, VA page) -> walk
  // Emptied waiter lists kept with their capacity, so a finishing walk hands its successor a
  // list that needs no allocation.
  std::vector<std::vector<std::uint32_t>> spare_waiters_;
  std::deque<std::uint32_t> walk_queue_;
  unsigned busy_walkers_ = 0;

  MmuCounters counters_;
  // uTLB hits answered by the inline path, each counting as an access, a uTLB hit and a completion
  // (see counters()). One counter per core: hits of different cores do not wait for one another's
  // count to be stored.
  std::array<std::uint64_t, GpuSpec::kMaxShaderCores> fast_hits_{};
  unsigned num_cores_ = 0;
  std::array<unsigned, GpuSpec::kMaxShaderCores> core_bits_{};  // SHADER_PRESENT bit of each core
  unsigned jm_core_ = 0;  // the job manager's requests: core number num_cores_, its uTLB last
  std::vector<JobManager::AccessDone> jm_done_;  // by request cookie
  std::vector<std::uint32_t> jm_free_;
  MisuseLog misuse_;
  GpuObserver* observer_ = nullptr;
  // Last: their wiring calls into everything above.
  GpuControl control_;
  JobManager jm_;
};

}  // namespace mali_sim
