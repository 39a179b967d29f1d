// libFuzzer: a register program on the GPU, with and without the checker watching. The input is a
// sequence of 9-byte steps: an operation, a register offset (or a core and address space), a
// 32-bit value and a delay. Whatever the program does to the device (illegal values, commands in
// any order, resets, power changes, descriptors written anywhere), nothing may crash or hang; the
// device's time must keep moving forward.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "mali_sim/check/checker.hpp"
#include "mali_sim/event_queue.hpp"
#include "mali_sim/gpu/gpu.hpp"
#include "mali_sim/log.hpp"
#include "mali_sim/phys_mem.hpp"

namespace {

struct Step {
  std::uint8_t op;
  std::uint16_t where;
  std::uint32_t value;
  std::uint16_t delay;
};

Step step_at(const std::uint8_t* p) {
  return Step{
      p[0], static_cast<std::uint16_t>(p[1] | p[2] << 8),
      static_cast<std::uint32_t>(p[3] | p[4] << 8 | p[5] << 16 | static_cast<std::uint32_t>(p[6]) << 24),
      static_cast<std::uint16_t>(p[7] | p[8] << 8)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mali_sim;
  static const bool quiet = [] {
    set_log_level(LogLevel::Off);
    return true;
  }();
  (void)quiet;
  static const GpuSpec spec = [] {
    GpuSpec s = gpu_preset("g52").value();
    s.irq_latency = 0;  // the hardest case: interrupts come back at once
    return s;
  }();
  if (size == 0) return 0;
  PhysMem mem(4ULL << 20);
  FrameAllocator frames(mem, 1);
  EventQueue q;
  Gpu gpu(spec, mem, q);
  std::unique_ptr<Checker> checker;
  if ((data[0] & 1U) != 0) {
    CheckerConfig cfg;
    cfg.log = false;
    checker = std::make_unique<Checker>(gpu, mem, &frames, cfg);
  }
  // An interrupt handler that clears half the time: a storm must not stop the clock.
  unsigned deliveries = 0;
  for (IrqLine line : {IrqLine::kJob, IrqLine::kMmu, IrqLine::kGpu}) {
    gpu.set_irq_handler(line, [&gpu, &deliveries, line] {
      if ((++deliveries & 1U) == 0) return;
      const std::uint32_t clear = line == IrqLine::kJob ? 0x1004U : line == IrqLine::kMmu ? 0x2004U : 0x024U;
      gpu.write32(clear, ~0U);
    });
  }
  gpu.set_access_handler([](const AccessResult&) {});
  for (std::size_t i = 1; i + 9 <= size; i += 9) {
    const Step s = step_at(data + i);
    const std::uint32_t offset = (static_cast<std::uint32_t>(s.where) * 4U) & 0x3FFCU;
    switch (s.op % 5) {
      case 0: (void)gpu.read32(offset); break;
      case 1: gpu.write32(offset, s.value); break;
      case 2: {  // a shader access
        AccessRequest r;
        r.core = static_cast<std::uint16_t>(s.where % spec.shader_cores);
        r.as = static_cast<std::uint8_t>((s.where >> 8) % 16);
        r.va = static_cast<GpuVa>(s.value) << 8;
        r.access = static_cast<Access>(s.op >> 6);
        (void)gpu.access(r);
        break;
      }
      case 3:  // a descriptor, or anything, written into memory
        (void)mem.write64((static_cast<PhysAddr>(s.where) << 6) % (4ULL << 20),
                          static_cast<std::uint64_t>(s.value) << 12 | (s.op >> 5));
        break;
      default: break;
    }
    const Cycle before = q.now();
    q.run_until(before + s.delay);
    if (q.now() != before + s.delay) __builtin_trap();  // time must move as asked
  }
  q.run_until(q.now() + 100'000);
  if (checker) (void)checker->finish();
  return 0;
}
