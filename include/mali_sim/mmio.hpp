// The seam between a driver and the GPU: 32-bit register access and three interrupt lines. The
// simulated GPU implements it; a driver (the reference one, or a user's own in their tests) uses
// nothing else of the device, as on hardware. Physical memory is the other shared thing.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

namespace mali_sim {

// The GPU's interrupt lines, in the order the device tree names them ("job", "mmu", "gpu";
// docs/hardware-facts.md §10). Each is level triggered: high while its block's RAWSTAT & MASK
// is non-zero.
enum class IrqLine : std::uint8_t { kJob = 0, kMmu = 1, kGpu = 2 };
inline constexpr unsigned kIrqLines = 3;
std::string_view to_string(IrqLine line) noexcept;  // "job", "mmu", "gpu"

// What one register access costs the CPU that makes it: a read waits for the device's answer, a
// write is posted. The device states it (a preset parameter); the CPU's side of the bus
// (CpuMmio) charges it.
struct MmioTiming {
  std::uint64_t read_ns = 0;
  std::uint64_t write_ns = 0;
};

class MmioDevice {
 public:
  virtual ~MmioDevice() = default;
  virtual std::uint32_t read32(std::uint32_t offset) = 0;
  virtual void write32(std::uint32_t offset, std::uint32_t value) = 0;
  // The handler of one interrupt line, called while it is asserted (level triggered); an empty
  // function frees the line.
  virtual void set_irq_handler(IrqLine line, std::function<void()> handler) = 0;
  // The time one access takes on the bus.
  virtual MmioTiming mmio_timing() const noexcept { return {}; }
};

}  // namespace mali_sim
