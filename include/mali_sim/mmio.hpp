// The seam between a driver and the GPU: 32-bit register access and the MMU interrupt line.
// The simulated GPU implements it; a driver (the reference one, or a user's own in their tests)
// uses nothing else of the device, as on hardware. Physical memory is the other shared thing.
#pragma once

#include <cstdint>
#include <functional>

namespace mali_sim {

class MmioDevice {
 public:
  virtual ~MmioDevice() = default;
  virtual std::uint32_t read32(std::uint32_t offset) = 0;
  virtual void write32(std::uint32_t offset, std::uint32_t value) = 0;
  // The MMU interrupt line: called while it is asserted (level triggered).
  virtual void set_irq_handler(std::function<void()> handler) = 0;
};

}  // namespace mali_sim
