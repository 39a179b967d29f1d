// The harness a driver developer uses: a user-written driver (here a few lines of register
// helpers, not the reference driver) maps a page, programs AS0 and runs a job.
#include <gtest/gtest.h>

#include "mali_sim/harness/simulator.hpp"
#include "mali_sim/pagetable/io_pgtable.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim {
namespace {

struct TinyDriver {
  MmioDevice& mmio;
  void w64(std::uint32_t lo, std::uint64_t v) {
    mmio.write32(lo, static_cast<std::uint32_t>(v));
    mmio.write32(lo + 4, static_cast<std::uint32_t>(v >> 32));
  }
  void enable(unsigned as, const IoPgtable& pt) {
    w64(regs::as_reg(as, regs::kAsTranstabLo), pt.transtab());
    w64(regs::as_reg(as, regs::kAsMemattrLo), pt.memattr());
    mmio.write32(regs::as_reg(as, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::Update));
  }
  // Switch the AS off before its page table goes, as a driver's teardown does.
  void disable(Simulator& sim, unsigned as) {
    w64(regs::as_reg(as, regs::kAsTranstabLo), 0);
    mmio.write32(regs::as_reg(as, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::Update));
    sim.run_for(1000);
  }
};

TEST(Simulator, AUserDriverMapsAPageAndAJobRunsToCompletion) {
  Simulator sim(gpu_preset("g52").value());
  auto pt = std::move(IoPgtable::create(sim.frames(), {})).value();
  const PhysAddr page = *sim.frames().alloc_frame();
  ASSERT_TRUE(pt->map(0x100'0000, page, kPageSize, prot::kRead | prot::kWrite | prot::kNoExec));
  ASSERT_TRUE(sim.power_up());
  TinyDriver drv{sim.mmio()};
  drv.enable(0, *pt);
  const auto job = sim.submit(0, {{0x100'0000, Access::Write}, {0x100'0010, Access::Read, 5}});
  ASSERT_TRUE(sim.run_until_done(job));
  EXPECT_EQ(sim.job(job).done, 2U);
  EXPECT_EQ(sim.job(job).results[0].pa, page);
  drv.disable(sim, 0);
  pt.reset();
  EXPECT_TRUE(sim.check().empty()) << "a correct driver gives the checker nothing to report";
}

TEST(Simulator, AJobOnAnUnmappedAddressStallsAndRaisesTheInterrupt) {
  SimulatorOptions quiet;
  quiet.check_config.log = false;  // the report below is expected
  Simulator sim(gpu_preset("g52").value(), quiet);
  auto pt = std::move(IoPgtable::create(sim.frames(), {})).value();
  ASSERT_TRUE(sim.power_up());
  TinyDriver drv{sim.mmio()};
  sim.mmio().write32(regs::kMmuIntMask, ~0U);
  int irqs = 0;
  sim.mmio().set_irq_handler(IrqLine::kMmu, [&] {
    ++irqs;
    sim.mmio().write32(regs::kMmuIntMask, 0);  // mask, as a hard handler does
  });
  drv.enable(0, *pt);
  const auto job = sim.submit(0, {{0x200'0000, Access::Read}});
  EXPECT_FALSE(sim.run_until_done(job, 100'000)) << "the access stalls on the fault";
  EXPECT_EQ(irqs, 1);
  EXPECT_EQ(sim.mmio().read32(regs::kMmuIntRawstat), 1U);
  EXPECT_EQ(sim.job(job).issued, 1U);
  // The handler masked the fault and nobody handles it: the checker says so.
  const auto& reports = sim.check();
  ASSERT_EQ(reports.size(), 1U);
  EXPECT_EQ(reports[0].detector, Detector::IrqLeftAsserted);
  drv.disable(sim, 0);
}

TEST(Simulator, SimulatorsAreIndependent) {
  Simulator a(gpu_preset("g52").value()), b(gpu_preset("t860").value());
  a.run_for(1000);
  EXPECT_EQ(a.now(), 1000U);
  EXPECT_EQ(b.now(), 0U);
  EXPECT_NE(a.mmio().read32(regs::kGpuId), b.mmio().read32(regs::kGpuId));
}

}  // namespace
}  // namespace mali_sim
