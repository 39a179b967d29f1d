// One of the GPU's three interrupt blocks (job control, MMU, GPU control): its RAWSTAT, CLEAR,
// MASK and STAT registers and the level-triggered line they drive (docs/hardware-facts.md §10).
//
// The line is high while RAWSTAT & MASK != 0. The CPU's handler runs `latency` cycles after the
// line rises, and again every `latency` cycles (at least one) for as long as it is still high when
// the handler returns. A line that falls before its handler runs delivers nothing (the interrupt was cleared
// or masked before it reached the CPU).
#pragma once

#include <cstdint>
#include <functional>

#include "mali_sim/event_queue.hpp"
#include "mali_sim/mmio.hpp"

namespace mali_sim {

class IrqBlock {
 public:
  using Handler = std::function<void()>;
  // Told around each handler call (entered: true before, false after), for observers.
  using DeliveryHook = std::function<void(IrqLine line, bool entered)>;
  // Told of the RAWSTAT bits an event sets that were clear before, for observers.
  using RaiseHook = std::function<void(IrqLine line, std::uint32_t bits)>;

  IrqBlock(IrqLine id, EventQueue& clock, Cycle latency) noexcept
      : id_(id), clock_(clock), latency_(latency) {}
  IrqBlock(const IrqBlock&) = delete;
  IrqBlock& operator=(const IrqBlock&) = delete;

  IrqLine id() const noexcept { return id_; }

  // ---- Registers ----------------------------------------------------------------------------
  std::uint32_t rawstat() const noexcept { return rawstat_; }
  std::uint32_t mask() const noexcept { return mask_; }
  std::uint32_t stat() const noexcept { return rawstat_ & mask_; }  // *_INT_STAT
  bool line() const noexcept { return stat() != 0; }

  // The hardware records events; a write to RAWSTAT does the same (software-raised interrupts,
  // which kbase's interrupt test relies on).
  void raise(std::uint32_t bits);
  void clear(std::uint32_t bits);         // *_INT_CLEAR: write-one-to-clear
  void set_mask(std::uint32_t mask);      // *_INT_MASK
  void set_rawstat(std::uint32_t value);  // poke: stores the value as it is
  // Reset: nothing pending, everything masked. A delivery already scheduled finds the line low.
  void reset();

  // ---- Delivery -----------------------------------------------------------------------------
  // An empty handler frees the line: it still rises and falls, but nothing is delivered.
  void set_handler(Handler handler);
  bool has_handler() const noexcept { return static_cast<bool>(handler_); }
  void set_delivery_hook(DeliveryHook hook) { hook_ = std::move(hook); }
  void set_raise_hook(RaiseHook hook) { raise_hook_ = std::move(hook); }
  Cycle latency() const noexcept { return latency_; }

  std::uint64_t rising_edges() const noexcept { return rising_edges_; }
  std::uint64_t deliveries() const noexcept { return deliveries_; }

 private:
  void changed(Cycle min_delay = 0);
  void deliver();

  IrqLine id_;
  EventQueue& clock_;
  Cycle latency_;
  std::uint32_t rawstat_ = 0;
  std::uint32_t mask_ = 0;  // reset value: everything masked until the driver enables it
  Handler handler_;
  DeliveryHook hook_;
  RaiseHook raise_hook_;
  bool delivery_scheduled_ = false;
  bool was_high_ = false;
  std::uint64_t rising_edges_ = 0;
  std::uint64_t deliveries_ = 0;
};

}  // namespace mali_sim
