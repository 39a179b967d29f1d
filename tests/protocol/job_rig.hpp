// A register-level job rig: a G52-like GPU (rig_spec latencies), two address spaces each with a
// page of job descriptors at kDescVa and 64 KiB of data at kDataVa, and panfrost's submission
// sequence written straight to the device (no bus time). Shared by the job manager's protocol
// tests and the checker's job detector tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <vector>

#include "mali_sim/harness/simulator.hpp"
#include "mali_sim/pagetable/io_pgtable.hpp"
#include "mali_sim/regs.hpp"
#include "protocol/rig.hpp"

namespace mali_sim::testing {

inline constexpr GpuVa kDescVa = 0x10'0000;  // one page of job descriptors
inline constexpr GpuVa kDataVa = 0x20'0000;  // 64 KiB of data

// A G52-like rig spec with the G52's job slot features (JS0 fragment, JS1 compute and the rest).
inline GpuSpec job_spec() {
  GpuSpec s = rig_spec();
  s.shader_cores = 2;
  s.js_features[0] = 0x20E;
  s.js_features[1] = 0x1FE;
  s.js_features[2] = 0x7E;
  return s;
}

struct JobRig {
  explicit JobRig(GpuSpec spec = job_spec(), bool check = false) : sim(spec, options(check)) {
    EXPECT_TRUE(sim.power_up());
    for (unsigned as = 0; as < 2; ++as) {
      pt[as] = std::move(IoPgtable::create(sim.frames(), {})).value();
      desc_pa[as] = *sim.frames().alloc_frame();
      EXPECT_TRUE(pt[as]->map(kDescVa, desc_pa[as], kPageSize, kRwNx));
      for (unsigned i = 0; i < 16; ++i) {
        data_pa[as][i] = *sim.frames().alloc_frame();
        EXPECT_TRUE(pt[as]->map(kDataVa + i * kPageSize, data_pa[as][i], kPageSize, kRwNx));
      }
    }
    gpu().write32(regs::kJobIntMask, ~0U);
  }
  // The checker is off by default: the register-level tests misuse the GPU on purpose. With it on,
  // reports are kept (not logged) for the test to read.
  static SimulatorOptions options(bool check) {
    SimulatorOptions o;
    o.check = check;
    o.check_config.log = false;
    return o;
  }
  Gpu& gpu() { return sim.gpu(); }
  std::uint32_t rd(std::uint32_t o) { return gpu().read32(o); }
  void wr(std::uint32_t o, std::uint32_t v) { gpu().write32(o, v); }
  std::uint32_t js(unsigned slot, std::uint32_t r) { return rd(regs::js_reg(slot, r)); }

  void enable(unsigned as) {
    auto w64 = [&](std::uint32_t lo, std::uint64_t v) {
      wr(lo, static_cast<std::uint32_t>(v));
      wr(lo + 4, static_cast<std::uint32_t>(v >> 32));
    };
    w64(regs::as_reg(as, regs::kAsTranstabLo), pt[as]->transtab());
    w64(regs::as_reg(as, regs::kAsMemattrLo), pt[as]->memattr());
    wr(regs::as_reg(as, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::Update));
    sim.run_for(1000);
  }
  void disable(unsigned as) {
    wr(regs::as_reg(as, regs::kAsTranstabLo), 0);
    wr(regs::as_reg(as, regs::kAsTranstabHi), 0);
    wr(regs::as_reg(as, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::Update));
  }
  // A chain in AS `as`'s descriptor page, `first` jobs in.
  GpuVa chain(unsigned as, std::vector<ChainJob> jobs, unsigned first = 0) {
    const unsigned stride = sim.job_stride();
    return sim.write_job_chain(desc_pa[as] + first * stride, kDescVa + first * stride, jobs).value();
  }
  // panfrost's submission: HEAD_NEXT, AFFINITY_NEXT, CONFIG_NEXT (the AS in its low bits),
  // COMMAND_NEXT = START.
  void submit(unsigned slot, GpuVa head, unsigned as, std::uint64_t affinity = 0x3,
              std::uint32_t config = 0) {
    wr(regs::js_reg(slot, regs::kJsHeadNextLo), static_cast<std::uint32_t>(head));
    wr(regs::js_reg(slot, regs::kJsHeadNextHi), static_cast<std::uint32_t>(head >> 32));
    wr(regs::js_reg(slot, regs::kJsAffinityNextLo), static_cast<std::uint32_t>(affinity));
    wr(regs::js_reg(slot, regs::kJsAffinityNextHi), static_cast<std::uint32_t>(affinity >> 32));
    wr(regs::js_reg(slot, regs::kJsConfigNext), config | as);
    wr(regs::js_reg(slot, regs::kJsCommandNext), static_cast<std::uint32_t>(regs::JsCommand::Start));
  }
  std::uint32_t header_status(unsigned as, unsigned job) {
    return sim.read_job_header(desc_pa[as] + job * sim.job_stride()).value().exception_status;
  }
  std::vector<JobAccess> reads(unsigned n, Cycle delta = 10) {
    std::vector<JobAccess> v;
    for (unsigned i = 0; i < n; ++i)
      v.push_back({kDataVa + (i % 16) * kPageSize + 64 * (i / 16), Access::Read, delta});
    return v;
  }

  Simulator sim;
  std::unique_ptr<IoPgtable> pt[2];
  PhysAddr desc_pa[2] = {};
  PhysAddr data_pa[2][16] = {};
};

}  // namespace mali_sim::testing
