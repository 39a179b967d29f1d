// The smallest driver: power the GPU up, build a page table, program address space 0 the way
// panfrost does, and translate one shader access through the simulated GPU. The README shows this
// program.
#include <fmt/format.h>

#include <mali_sim/gpu/gpu.hpp>
#include <mali_sim/pagetable/io_pgtable.hpp>

using namespace mali_sim;

int main() {
  PhysMem mem(256 << 20);
  FrameAllocator frames(mem, 1);
  EventQueue clock;
  Gpu gpu(gpu_preset("g52").value(), mem, clock);
  auto pt = IoPgtable::create(frames, {}).value();
  const PhysAddr page = *frames.alloc_frame();
  if (!pt->map(0x1000000, page, 4096, prot::kRead | prot::kWrite | prot::kNoExec)) return 1;

  // Power up as a driver's probe does: the L2 first, then the shader cores, each until READY.
  auto power_up = [&](std::uint32_t present, std::uint32_t pwron, std::uint32_t ready) {
    const std::uint32_t bits = gpu.read32(present);
    gpu.write32(pwron, bits);
    while (gpu.read32(ready) != bits) clock.run_until(clock.now() + 100);
  };
  power_up(regs::kL2PresentLo, regs::kL2PwronLo, regs::kL2ReadyLo);
  power_up(regs::kShaderPresentLo, regs::kShaderPwronLo, regs::kShaderReadyLo);

  // Program AS0 as panfrost does: TRANSTAB, MEMATTR, then AS_COMMAND = UPDATE.
  auto write64 = [&](std::uint32_t lo, std::uint64_t v) {
    gpu.write32(lo, static_cast<std::uint32_t>(v));
    gpu.write32(lo + 4, static_cast<std::uint32_t>(v >> 32));
  };
  write64(regs::as_reg(0, regs::kAsTranstabLo), pt->transtab());
  write64(regs::as_reg(0, regs::kAsMemattrLo), pt->memattr());
  gpu.write32(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::Update));
  while (gpu.read32(regs::as_reg(0, regs::kAsStatus)) & regs::kAsStatusActive)
    clock.run_until(clock.now() + 100);

  gpu.set_access_handler([&](const AccessResult& r) {
    fmt::print("access to {:#x} done at cycle {}: PA {:#x}\n", r.request.va, r.done_at, r.pa);
  });
  const Cycle issued = clock.now();
  const AccessResult r = gpu.access({.va = 0x1000010});  // TLBs are cold: a page-table walk
  fmt::print("access issued at cycle {}: {}\n", issued,
             r.status == AccessStatus::Pending ? "pending (walking)" : "?");
  clock.run_until_idle();
  const AccessResult again = gpu.access({.va = 0x1000020});  // now a uTLB hit
  fmt::print("second access: done at cycle {} (uTLB hit), PA {:#x}\n", again.done_at, again.pa);
  return again.pa == page + 0x20 ? 0 : 1;
}
