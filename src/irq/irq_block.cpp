#include "mali_sim/irq/irq_block.hpp"

#include <algorithm>

#include <utility>

namespace mali_sim {

void IrqBlock::raise(std::uint32_t bits) {
  const std::uint32_t fresh = bits & ~rawstat_;
  rawstat_ |= bits;
  if (fresh != 0 && raise_hook_) raise_hook_(id_, fresh);
  changed();
}

void IrqBlock::clear(std::uint32_t bits) {
  rawstat_ &= ~bits;
  changed();
}

void IrqBlock::set_mask(std::uint32_t mask) {
  mask_ = mask;
  changed();
}

void IrqBlock::set_rawstat(std::uint32_t value) {
  rawstat_ = value;
  changed();
}

void IrqBlock::reset() {
  rawstat_ = 0;
  mask_ = 0;
  changed();
}

void IrqBlock::set_handler(Handler handler) {
  handler_ = std::move(handler);
  changed();
}

void IrqBlock::changed(Cycle min_delay) {
  const bool high = line();
  if (high && !was_high_) ++rising_edges_;
  was_high_ = high;
  if (high && handler_ && !delivery_scheduled_) {
    delivery_scheduled_ = true;
    clock_.schedule_in(std::max(latency_, min_delay), [this] { deliver(); });
  }
}

void IrqBlock::deliver() {
  delivery_scheduled_ = false;
  if (!line() || !handler_) return;  // dropped (cleared or masked) before it reached the CPU
  ++deliveries_;
  if (hook_) hook_(id_, true);
  // A copy: the handler may free or replace the line's handler.
  const Handler handler = handler_;
  handler();
  if (hook_) hook_(id_, false);
  // Still high: level triggered, it fires again, at least a cycle later. With a latency of 0 a
  // handler that never clears would otherwise run again and again without the clock moving.
  changed(1);
}

}  // namespace mali_sim
