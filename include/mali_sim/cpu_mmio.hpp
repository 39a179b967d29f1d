// The device as code running on one CPU sees it: every register access takes the bus time the
// device states (MmioDevice::mmio_timing) on that CPU's timeline. A read syncs first (the device
// answers at the CPU's time, with everything before it done), then the CPU waits for the answer;
// a write is posted. So a driver that busy-polls a status register moves the clock by one read
// time per poll, and its poll ends when the command does, as on silicon.
//
// Interrupt handlers registered through it run in the CPU's interrupt context
// (CpuTimeline::interrupt): their accesses happen at the delivery cycle and add up as time the
// handler spent.
#pragma once

#include "mali_sim/cpu_timeline.hpp"
#include "mali_sim/mmio.hpp"

namespace mali_sim {

class CpuMmio final : public MmioDevice {
 public:
  CpuMmio(MmioDevice& device, CpuTimeline& cpu) noexcept : dev_(device), cpu_(cpu) {}

  std::uint32_t read32(std::uint32_t offset) override;
  void write32(std::uint32_t offset, std::uint32_t value) override;
  void set_irq_handler(IrqLine line, std::function<void()> handler) override;
  MmioTiming mmio_timing() const noexcept override { return dev_.mmio_timing(); }

  MmioDevice& device() const noexcept { return dev_; }
  CpuTimeline& cpu() const noexcept { return cpu_; }

 private:
  MmioDevice& dev_;
  CpuTimeline& cpu_;
};

}  // namespace mali_sim
