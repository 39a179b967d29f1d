// Test rig for protocol tests in the manner of QEMU's qtest: a GPU with round-number latencies, a
// page table per AS, and a scripted register-level driver that follows panfrost's sequences
// (reference: AS enable/disable, lock region + LOCK + FLUSH_PT, wait_ready polling every 10 us).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "mali_sim/gpu/gpu.hpp"
#include "mali_sim/pagetable/io_pgtable.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim::testing {

// Latencies chosen so that every cycle in an expected value can be read off.
inline GpuSpec rig_spec() {
  GpuSpec s;
  s.name = "rig";
  s.gpu_id = 0x72120000;  // a Bifrost-format id (arch 7)
  s.mmu_features = 0x2830;
  s.as_present = 0x0F;
  s.aarch64_mmu = true;
  s.shader_cores = 4;
  s.clock_hz = 1'000'000'000;
  s.utlb = TlbSpec{4, 4, 1};
  s.l2tlb = TlbSpec{16, 4, 10};
  s.walk_cache_entries[0] = 2;
  s.walk_cache_entries[1] = 4;
  s.walk_cache_entries[2] = 8;
  s.walk_cache_latency = 4;
  s.mem_read_latency = 25;
  s.walkers = 2;
  s.irq_latency = 1000;
  s.cmd_update = 100;
  s.cmd_lock = 50;
  s.cmd_unlock = 60;
  s.cmd_flush_pt = 500;
  s.cmd_flush_mem = 1000;
  s.cmd_per_invalidation = 0;
  // Power comes up at once, so that a rig starts at cycle 0 with every core on (Rig's constructor).
  s.l2_power_ns = s.shader_power_ns = s.tiler_power_ns = s.stack_power_ns = 0;
  return s;
}

inline constexpr Cycle kUtlb = 1, kL2 = 10, kPwc = 4, kMem = 25;
inline constexpr Cycle kFullWalk = kPwc + 4 * kMem;
inline constexpr ProtFlags kRwNx = prot::kRead | prot::kWrite | prot::kNoExec;

struct Rig {
  explicit Rig(GpuSpec s = rig_spec(), PtFormat format = PtFormat::MaliLpae) : spec(std::move(s)) {
    gpu = std::make_unique<Gpu>(spec, mem, q);
    gpu->set_access_handler([this](const AccessResult& r) { completed.push_back(r); });
    gpu->set_irq_handler(IrqLine::kMmu, [this] {
      ++irqs;
      if (on_irq) on_irq();
    });
    power_up();
    for (auto& p : pt) {
      IoPgtableConfig cfg;
      cfg.format = format;
      cfg.ias = spec.va_bits();
      p = std::move(IoPgtable::create(frames, cfg)).value();
    }
  }

  GpuSpec spec;
  PhysMem mem{256ULL << 20};
  FrameAllocator frames{mem, 1};
  EventQueue q;
  std::unique_ptr<Gpu> gpu;
  std::unique_ptr<IoPgtable> pt[2];
  std::vector<AccessResult> completed;
  int irqs = 0;
  std::function<void()> on_irq;

  // The L2, then every shader core and the tiler, as a driver powers them, each until READY
  // (with the rig's spec at once, so the clock stays at 0); the power interrupts are cleared.
  void power_up() {
    const auto up = [&](std::uint32_t pwron, std::uint32_t ready, std::uint64_t bits) {
      gpu->write32(pwron, static_cast<std::uint32_t>(bits));
      while (gpu->read32(ready) != bits && q.step()) {
      }
    };
    up(regs::kL2PwronLo, regs::kL2ReadyLo, spec.l2_present);
    up(regs::kShaderPwronLo, regs::kShaderReadyLo, spec.core_mask());
    up(regs::kTilerPwronLo, regs::kTilerReadyLo, spec.tiler_present);
    gpu->write32(regs::kGpuIntClear, ~0U);
  }

  // ---- register helpers, as a driver writes them ----
  void write64(std::uint32_t lo_offset, std::uint64_t v) {
    gpu->write32(lo_offset, static_cast<std::uint32_t>(v));
    gpu->write32(lo_offset + 4, static_cast<std::uint32_t>(v >> 32));
  }
  std::uint64_t read64(std::uint32_t lo_offset) {
    return gpu->read32(lo_offset) | (static_cast<std::uint64_t>(gpu->read32(lo_offset + 4)) << 32);
  }
  bool active(unsigned as) {
    return (gpu->read32(regs::as_reg(as, regs::kAsStatus)) & regs::kAsStatusActive) != 0;
  }

  // panfrost wait_ready(): read AS_STATUS, then every 10 us, give up after 100 ms.
  bool wait_ready(unsigned as) {
    const Cycle poll = spec.us_to_cycles(10);
    const Cycle deadline = q.now() + spec.us_to_cycles(100'000);
    while (active(as)) {
      if (q.now() >= deadline) return false;
      q.run_until(q.now() + poll);
    }
    return true;
  }
  void write_cmd(unsigned as, AsCommand cmd) {
    ASSERT_TRUE(wait_ready(as)) << "AS_ACTIVE bit stuck";
    gpu->write32(regs::as_reg(as, regs::kAsCommand), static_cast<std::uint32_t>(cmd));
  }
  void lock_region(unsigned as, GpuVa iova, std::uint64_t size) {
    const auto v = lockaddr_encode(iova, size, 15, LockAddrBaseStyle::Panfrost);
    ASSERT_TRUE(v);
    write64(regs::as_reg(as, regs::kAsLockaddrLo), *v);
    write_cmd(as, AsCommand::Lock);
  }
  // panfrost_mmu_flush_range(): LOCKADDR, LOCK, FLUSH_PT, wait.
  void flush_range(unsigned as, GpuVa iova, std::uint64_t size) {
    lock_region(as, iova, size);
    write_cmd(as, AsCommand::FlushPt);
    ASSERT_TRUE(wait_ready(as));
  }
  void lock_all(unsigned as) {
    write64(regs::as_reg(as, regs::kAsLockaddrLo), *lockaddr_encode_range(0, ~0ULL, 15));
    write_cmd(as, AsCommand::Lock);
  }
  // panfrost_mmu_enable(): LOCK(0, ~0) + FLUSH_MEM, program the registers, UPDATE (not waited).
  void enable(unsigned as, const IoPgtable& table) {
    lock_all(as);
    write_cmd(as, AsCommand::FlushMem);
    write64(regs::as_reg(as, regs::kAsTranstabLo), table.transtab());
    write64(regs::as_reg(as, regs::kAsMemattrLo), table.memattr());
    write64(regs::as_reg(as, regs::kAsTranscfgLo), table.transcfg());
    write_cmd(as, AsCommand::Update);
  }
  // panfrost_mmu_disable(): the same with TRANSTAB 0, MEMATTR 0, TRANSCFG UNMAPPED.
  void disable(unsigned as) {
    lock_all(as);
    write_cmd(as, AsCommand::FlushMem);
    write64(regs::as_reg(as, regs::kAsTranstabLo), 0);
    write64(regs::as_reg(as, regs::kAsMemattrLo), 0);
    write64(regs::as_reg(as, regs::kAsTranscfgLo), 1);  // ADRMODE_UNMAPPED
    write_cmd(as, AsCommand::Update);
  }
  void enable_and_settle(unsigned as, const IoPgtable& table) {
    enable(as, table);
    ASSERT_TRUE(wait_ready(as));
  }

  AccessResult access(unsigned core, unsigned as, GpuVa va, Access a = Access::Read) {
    AccessRequest r;
    r.core = static_cast<std::uint16_t>(core);
    r.as = static_cast<std::uint8_t>(as);
    r.va = va;
    r.access = a;
    return gpu->access(r);
  }
  // The completion delivered for va, if any.
  const AccessResult* completion(GpuVa va) const {
    for (const auto& r : completed)
      if (r.request.va == va) return &r;
    return nullptr;
  }
};

}  // namespace mali_sim::testing
