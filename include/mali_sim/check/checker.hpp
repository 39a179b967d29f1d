// The driver checker: KASAN/lockdep-style detectors for the bugs a GPU driver makes against the
// MMU. It watches the device through its observation interface (mmu/gpu_observer.hpp: GpuObserver
// hooks, ObservedGpu reads), page-table memory (through PhysMem's write observer) and frame frees
// (through FrameAllocator), takes a driver's annotations (annotations.hpp), and reports, with the
// cycle, AS and address and what the driver should have done:
//
//   stale-translation   the GPU used a cached translation whose descriptor has changed in memory
//                       (or whose table was unlinked) since it was cached: a flush was forgotten
//   irq-left-asserted   the handler returned with an unmasked interrupt bit still set and made no
//                       progress, again and again (a storm); a fault's bit stayed raised across
//                       handler rounds while accesses stall on it; or a fault, or a job interrupt
//                       bit, stayed pending too long (a watchdog reports it when the bound passes)
//   leaked-pages        at teardown of a tracked object, pages still held or mapped, or (when the
//                       last tracked object goes) frame/backing-store counters not back to their
//                       level before the objects existed
//   use-after-free      a page table maps a frame that has been freed (or was never allocated)
//   mapping-error       a live entry replaced without break-before-make (another output address,
//                       size or memory attributes), a table page freed while still linked into a
//                       page table in use
//   command-misuse      AS_COMMAND while ACTIVE, FLUSH without LOCK, UPDATE while faulted, a LOCK
//                       region that does not cover what changed, other illegal register use
//   executable-heap     memory that grows on fault mapped executable
//   job-address-space   a job started on an address space that is not enabled or whose new
//                       configuration no UPDATE has made live; an address space given another page
//                       table, or switched off, while a job still runs or waits on it
//
// Page-table edits are seen when they go through PhysMem::write32/write64/write or IoPgtable;
// stores through PhysMem::frame_words() pointers bypass the checker. Tables become known when an
// AS UPDATE makes their root live, or earlier through watch_page_table().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mali_sim/annotations.hpp"
#include "mali_sim/mmu/gpu_observer.hpp"
#include "mali_sim/phys_mem.hpp"

namespace mali_sim {

enum class Detector : std::uint8_t {
  StaleTranslation,
  IrqLeftAsserted,
  LeakedPages,
  UseAfterFree,
  MappingError,
  CommandMisuse,
  ExecutableHeap,
  JobAddressSpace,
};
inline constexpr unsigned kDetectorCount = 8;
std::string_view to_string(Detector d) noexcept;  // "stale-translation", ...
std::optional<Detector> detector_from_string(std::string_view name) noexcept;

struct CheckReport {
  Detector detector = Detector::StaleTranslation;
  Cycle at = 0;
  int as = -1;                // -1 when the report is not about one address space
  std::uint64_t address = 0;  // GPU VA, or a physical address when address_is_pa
  bool address_is_pa = false;
  std::string what;  // what happened
  std::string fix;   // what the driver should have done
  // "[stale-translation] cycle 1234 AS1 VA 0x1000000: <what>. Fix: <fix>"
  std::string to_string() const;
};

struct CheckerConfig {
  std::uint32_t detectors = (1U << kDetectorCount) - 1;  // bit n: Detector n enabled
  // Deliveries of the interrupt in a row, with no progress by the handler, that make a storm.
  unsigned irq_storm_deliveries = 8;
  // Cycles a fault may stay pending (interrupt bit set or accesses stalled on it), or a
  // JOB_INT_RAWSTAT bit stay set, before it is reported as left pending. One still pending when
  // nothing is left to run is reported by finish() whatever its age.
  Cycle fault_pending_bound = 10'000'000;
  // Deliveries of the MMU interrupt during which a fault's RAWSTAT bit stays raised (never
  // cleared) while accesses stall on it, whatever the handler masks and unmasks meanwhile.
  unsigned fault_handler_rounds = 8;
  bool log = true;                   // each report also goes to the "mali_sim" logger (warning)
  bool report_live_objects = false;  // finish() reports tracked objects never destroyed
  // Called with each report as it is made: e.g. ADD_FAILURE() in a test (see harness/gtest.hpp).
  std::function<void(const CheckReport&)> on_report;

  bool enabled(Detector d) const noexcept { return ((detectors >> static_cast<unsigned>(d)) & 1U) != 0; }
  void enable(Detector d, bool on = true) noexcept {
    const std::uint32_t bit = 1U << static_cast<unsigned>(d);
    detectors = on ? (detectors | bit) : (detectors & ~bit);
  }
};

class Checker final : public DriverAnnotations {
 public:
  using Object = AnnotatedObject;

  // Attaches to the device, the memory and (if given) the frame allocator, which must outlive
  // the checker; the destructor detaches. Without an allocator, use-after-free and frame-level
  // leak checks are off.
  Checker(ObservedGpu& gpu, PhysMem& mem, FrameAllocator* frames, CheckerConfig config = {});
  ~Checker() override;
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  // ---- Driver annotations (annotations.hpp) ------------------------------------------------
  // Follow a page table from now on (otherwise it is followed from the UPDATE that makes it live).
  void watch_page_table(PhysAddr root, PtFormat format) override;
  // Objects whose teardown is checked for leaks: a context (its page table), a BO (its VA range
  // in a page table and the pages it holds).
  ObjectId object_created(Object object) override;
  void object_destroyed(ObjectId id) override;
  // A backing-store counter that must return to its level once every tracked object is gone
  // (frames allocated from the FrameAllocator is always one).
  void add_counter(std::string name, std::function<std::uint64_t()> value) override;

  // End-of-run checks: faults still pending with nothing left to run, objects never destroyed
  // (if configured). Call it after the last run; reports already made stay.
  void finish();
  // Cycles of the reports made from now on count from `origin` on the GPU's clock (the replay
  // engine's trace starts after the driver's probe; its results count from there too).
  void set_time_origin(Cycle origin) noexcept;

  const std::vector<CheckReport>& reports() const noexcept;
  std::size_t count(Detector d) const noexcept;
  std::uint64_t dropped() const noexcept;  // reports beyond the kept maximum (counted, not kept)
  void clear() noexcept;
  const CheckerConfig& config() const noexcept;
  CheckerConfig& config() noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mali_sim
