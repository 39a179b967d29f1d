// What the device tells an observer (a checker) as it works: which cached translation answered
// an access, which commands ran, which faults were recorded, when the interrupt handler ran.
// Observing changes nothing the device does, except that with an observer attached every access
// takes the full translation path (the inline uTLB shortcut skips the hooks), so runs are slower
// and identical.
#pragma once

#include <cstdint>

#include "mali_sim/mmu/access.hpp"
#include "mali_sim/mmu/misuse.hpp"
#include "mali_sim/mmu/tlb.hpp"
#include "mali_sim/mmu/walk_cache.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim {

class GpuObserver {
 public:
  virtual ~GpuObserver() = default;
  // A uTLB or L2 TLB entry answered `req` (l2: it came from the L2 TLB).
  virtual void tlb_used(const AccessRequest& req, const TlbEntry& entry, bool l2) {
    (void)req, (void)entry, (void)l2;
  }
  // A walk for (as, va) starts below the root from this walk-cache entry.
  virtual void walk_cache_used(unsigned as, GpuVa va, const WalkCacheEntry& entry) {
    (void)as, (void)va, (void)entry;
  }
  // A fault was recorded in AS_FAULTSTATUS / AS_FAULTADDRESS and its interrupt bit raised.
  virtual void fault_recorded(unsigned as, GpuVa va, std::uint32_t faultstatus) {
    (void)as, (void)va, (void)faultstatus;
  }
  // A command starts running (`region`: what UNLOCK / FLUSH_PT / FLUSH_MEM will invalidate).
  virtual void command_started(unsigned as, AsCommand cmd, const LockRegion& region) {
    (void)as, (void)cmd, (void)region;
  }
  virtual void command_finished(unsigned as, AsCommand cmd) { (void)as, (void)cmd; }
  // Every MMIO write, before the device acts on it.
  virtual void register_written(std::uint32_t offset, std::uint32_t value) { (void)offset, (void)value; }
  // Around each delivery of the MMU interrupt to the driver's handler.
  virtual void irq_handler_entered() {}
  virtual void irq_handler_returned() {}
  // Register-level misuse the device noticed (also kept in Gpu::misuse()).
  virtual void misuse(const MisuseReport& report) { (void)report; }
};

}  // namespace mali_sim
