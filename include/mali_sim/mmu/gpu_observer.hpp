// The device as an observer (a checker, a logic analyser) sees it: GpuObserver is what the device
// tells it as it works, ObservedGpu what it may read without changing anything. An observer needs
// nothing else of the device, so it compiles against this header, not against gpu.hpp.
//
// What the device tells an observer (a checker) as it works: which cached translation answered
// an access, which commands ran, which faults were recorded, when an interrupt handler ran.
// Observing changes nothing the device does, except that with an observer attached every access
// takes the full translation path (the inline uTLB shortcut skips the hooks), so runs are slower
// and identical.
#pragma once

#include <cstdint>

#include "mali_sim/mmio.hpp"
#include "mali_sim/mmu/access.hpp"
#include "mali_sim/mmu/address_space.hpp"
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
  // Around each delivery of an interrupt line to the driver's handler.
  virtual void irq_handler_entered(IrqLine line) { (void)line; }
  // Bits an event set in an interrupt block's RAWSTAT that were clear before.
  virtual void irq_raised(IrqLine line, std::uint32_t bits) { (void)line, (void)bits; }
  virtual void irq_handler_returned(IrqLine line) { (void)line; }
  // A wake-up the observer asked for (ObservedGpu::wake_observer_at), with its token.
  virtual void woken(std::uint64_t token) { (void)token; }
  // Register-level misuse the device noticed (also kept in Gpu::misuse()).
  virtual void misuse(const MisuseReport& report) { (void)report; }
};

// What an observer may read of the device: state a logic analyser could see, read without side
// effects. The Gpu implements it.
class ObservedGpu {
 public:
  virtual ~ObservedGpu() = default;
  // At most one observer (nullptr detaches); it must outlive its attachment.
  virtual void set_observer(GpuObserver* observer) = 0;
  virtual GpuObserver* observer() const noexcept = 0;
  virtual Cycle now() const noexcept = 0;
  // A watchdog's timer: at cycle `at` the observer attached then is told woken(token), before the
  // other events of that cycle. It never keeps the clock busy: a run that ends before `at` does
  // not wait for it, and it changes nothing the device does.
  virtual void wake_observer_at(Cycle at, std::uint64_t token) = 0;
  // Nothing is left scheduled on the clock: no command, walk, interrupt or driver work to come.
  virtual bool idle() const noexcept = 0;
  // A register's value, read without the side effects or the time of an MMIO read.
  virtual std::uint32_t peek(std::uint32_t offset) const = 0;
  virtual bool mmu_irq_line() const noexcept = 0;
  virtual std::uint32_t as_present() const noexcept = 0;
  // Whether the GPU walks AArch64-format tables (TRANSCFG ADRMODE AARCH64_4K is honoured).
  virtual bool aarch64_mmu() const noexcept = 0;
  // An address space's registers, the configuration it translates with, and what stalls on it.
  virtual const AddressSpace& address_space(unsigned as) const = 0;

  bool has_as(unsigned as) const noexcept { return as < 32 && ((as_present() >> as) & 1U) != 0; }
};

}  // namespace mali_sim
