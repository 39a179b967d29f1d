// The checker's state, shared by its three parts:
//   checker.cpp         reports, tracked objects and leak checks, finish()
//   checker_tables.cpp  the shadow of every watched page table, fed by descriptor writes and frame
//                       frees: use-after-free, mapping errors, executable heaps, pending changes
//   checker_gpu.cpp     the device hooks: stale translations, interrupts, faults, commands
//   checker_jobs.cpp    the job slots: the address spaces jobs run in, the job interrupt
#pragma once

#include <array>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "mali_sim/check/checker.hpp"

namespace mali_sim {

struct Checker::Impl final : GpuObserver, MemWriteObserver {
  Impl(ObservedGpu& g, PhysMem& m, FrameAllocator* f, CheckerConfig c);

  ObservedGpu& gpu;
  PhysMem& mem;
  FrameAllocator* frames;
  CheckerConfig cfg;
  Cycle time_origin = 0;  // set_time_origin()

  // ---- Reports (checker.cpp) ----------------------------------------------------------------
  static constexpr std::size_t kMaxKept = 10000;
  std::vector<CheckReport> reports;
  std::array<std::size_t, kDetectorCount> counts{};
  std::uint64_t dropped = 0;
  void report(Detector d, int as, std::uint64_t address, bool is_pa, std::string what, std::string fix);

  // ---- Tracked objects (checker.cpp) --------------------------------------------------------
  struct Counter {
    std::string name;
    std::function<std::uint64_t()> value;
    std::uint64_t baseline = 0;
  };
  std::vector<Counter> counters;
  std::map<ObjectId, Object> objects;  // alive
  ObjectId next_object = 1;
  void check_range_unmapped(const Object& o);

  // ---- Shadow page tables (checker_tables.cpp) ---------------------------------------------
  struct TableInfo {
    PhysAddr root = 0;
    std::uint8_t level = 0;
    GpuVa va_base = 0;
    bool dangling = false;  // freed while linked into a table nobody translates through (yet)
  };
  struct LeafRef {
    PhysAddr root = 0;
    GpuVa va = 0;
    std::uint8_t level = 3;
    PhysAddr desc_pa = 0;
  };
  // A VA range whose translation changed from valid: cached copies must be invalidated by a
  // command whose region covers it (or, for a table descriptor, at least overlaps it).
  struct Change {
    GpuVa va = 0;
    std::uint64_t size = 0;
    bool table = false;
  };
  struct Root {
    PtFormat format = PtFormat::MaliLpae;
    std::vector<Change> changes;  // since the last covering flush, recorded while it is live
  };
  std::unordered_map<PhysAddr, Root> roots;
  std::unordered_map<std::uint64_t, TableInfo> tables;     // by table frame number
  std::unordered_multimap<std::uint64_t, LeafRef> leaves;  // by first output frame number
  bool in_scan = false;
  std::set<ObjectId> exec_heaps_reported;

  void watch(PhysAddr root, PtFormat format);
  void forget_root(PhysAddr root);
  void word_written(PhysAddr pa, std::uint64_t old_value, std::uint64_t new_value) override;
  void frame_freed(PhysAddr pa);
  void add_leaf(const LeafRef& ref, std::uint64_t desc, const PteFormat& fmt);
  void remove_leaf(std::uint64_t desc, PhysAddr desc_pa);
  void link_table(PhysAddr root, PhysAddr table, unsigned level, GpuVa va_base, const PteFormat& fmt);
  void unlink_table(PhysAddr table, const PteFormat& fmt, std::vector<Change>* changes);
  void record_change(PhysAddr root, const Change& c);
  int live_as_of(PhysAddr root) const;  // the AS translating through root, -1 if none

  // ---- Device hooks (checker_gpu.cpp) ------------------------------------------------------
  std::set<std::tuple<unsigned, GpuVa, PhysAddr, std::uint64_t>> stale_reported;
  struct AsState {
    bool fault_pending = false;
    Cycle fault_since = 0;
    GpuVa fault_va = 0;
    bool fault_reported = false;
    bool fault_va_unmapped = false;  // the recorded fault VA has not been mapped since
    unsigned raised_rounds = 0;      // MMU deliveries since its bit was last seen clear
  };
  std::array<AsState, regs::kMaxAddressSpaces> as_state{};
  bool any_fault_pending = false;
  // The interrupt-storm detector, per line: is its handler running, has it made progress (cleared
  // or masked a pending bit, issued an AS command), how many deliveries in a row made none.
  struct LineState {
    bool in_handler = false;
    bool progress = false;
    unsigned idle_deliveries = 0;
    bool storm_reported = false;
  };
  std::array<LineState, kIrqLines> lines{};
  void irq_register_written(std::uint32_t offset, std::uint32_t value);
  void report_storm(IrqLine line, std::uint32_t stat, bool at_finish);
  void finish_irq_lines();

  void tlb_used(const AccessRequest& req, const TlbEntry& entry, bool l2) override;
  void walk_cache_used(unsigned as, GpuVa va, const WalkCacheEntry& entry) override;
  void fault_recorded(unsigned as, GpuVa va, std::uint32_t faultstatus) override;
  void command_started(unsigned as, AsCommand cmd, const LockRegion& region) override;
  void command_finished(unsigned as, AsCommand cmd) override;
  void register_written(std::uint32_t offset, std::uint32_t value) override;
  void irq_handler_entered(IrqLine line) override;
  void irq_raised(IrqLine line, std::uint32_t bits) override;
  void woken(std::uint64_t token) override;
  void wake_after_bound(Cycle since);  // a watchdog at the first cycle past the pending bound
  void count_fault_rounds();
  void irq_handler_returned(IrqLine line) override;
  void misuse(const MisuseReport& r) override;
  void check_stale(unsigned core, unsigned as, GpuVa va, GpuVa va_base, const std::string& what,
                   PhysAddr desc_pa, std::uint64_t desc);
  void poll_faults(bool at_finish);
  bool fault_still_pending(unsigned as) const;

  // ---- Job slots (checker_jobs.cpp) --------------------------------------------------------
  std::array<bool, regs::kMaxAddressSpaces> faulted_since_enable{};  // a kill is then expected
  std::array<Cycle, 32> job_irq_since{};  // per JOB_INT_RAWSTAT bit: set since (0: clear)
  std::uint32_t job_irq_reported = 0;     // bits reported while still set
  void job_start_written(unsigned slot);  // JS_COMMAND_NEXT = START, before it acts
  void as_update_starting(unsigned as);   // an UPDATE starts running
  void poll_job_irq(bool at_finish);
  void job_irq_cleared(std::uint32_t bits);
  // Slots whose running job (JS_STATUS ACTIVE) or queued job (COMMAND_NEXT START) uses `as`.
  std::string jobs_on_as(unsigned as) const;
};

}  // namespace mali_sim
