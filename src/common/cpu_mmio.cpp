#include "mali_sim/cpu_mmio.hpp"

#include <utility>

namespace mali_sim {

std::string_view to_string(IrqLine line) noexcept {
  switch (line) {
    case IrqLine::kJob: return "job";
    case IrqLine::kMmu: return "mmu";
    case IrqLine::kGpu: return "gpu";
  }
  return "?";
}

std::uint32_t CpuMmio::read32(std::uint32_t offset) {
  cpu_.sync();
  const std::uint32_t v = dev_.read32(offset);
  cpu_.spend_ns(dev_.mmio_timing().read_ns);
  return v;
}

void CpuMmio::write32(std::uint32_t offset, std::uint32_t value) {
  cpu_.sync();
  dev_.write32(offset, value);
  cpu_.spend_ns(dev_.mmio_timing().write_ns);
}

void CpuMmio::set_irq_handler(IrqLine line, std::function<void()> handler) {
  if (!handler) {
    dev_.set_irq_handler(line, {});
    return;
  }
  dev_.set_irq_handler(line, [this, h = std::move(handler)] { cpu_.interrupt(h); });
}

}  // namespace mali_sim
