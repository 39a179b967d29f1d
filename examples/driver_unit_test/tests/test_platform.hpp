// What every test of the tiny driver shares: the simulated GPU, a strict checker, and the "board"
// the driver is given.
#pragma once

#include "mali_sim/harness/gtest.hpp"
#include "mali_sim/harness/simulator.hpp"
#include "tiny_gpu_mmu/tiny_mmu.hpp"

namespace tiny_test {

inline mali_sim::GpuSpec g52() { return mali_sim::gpu_preset("g52").value(); }

// Any checker report (stale TLB entry, leaked page, command misuse, ...) fails the test.
inline mali_sim::SimulatorOptions strict() {
  mali_sim::SimulatorOptions opt;
  mali_sim::testing::fail_on_report(opt.check_config);
  return opt;
}

// What the driver gets from the "board": the simulated device, its page allocator, a udelay that
// advances the simulated clock, and the checker for the driver's annotations.
inline tiny::Platform platform(mali_sim::Simulator& sim) {
  return {sim.mmio(), sim.frames(), [&sim] { sim.udelay(1); }, sim.checker()};
}

}  // namespace tiny_test
