// A driver's probe written from the hardware facts alone (docs/hardware-facts.md §9, §10), not
// from the reference driver: it waits for its reset the way kbase does (the RESET_COMPLETED
// interrupt, not a poll), reads the identity and feature registers, powers the domains up with
// READY polls, and unmasks the interrupts. On every preset it must read the values the real
// parts report and finish in the time the parameters give; a soft reset in the middle of a run
// must clear what was in flight and let the driver probe again, leaking nothing.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "mali_sim/harness/gtest.hpp"
#include "mali_sim/harness/simulator.hpp"
#include "mali_sim/pagetable/io_pgtable.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim {
namespace {

struct Probed {
  std::uint32_t gpu_id = 0, l2 = 0, core = 0, tiler = 0, mem = 0, mmu = 0, as_present = 0, js_present = 0;
  std::uint64_t shader_present = 0, l2_present = 0, tiler_present = 0;
};

class FactsDriver {
 public:
  explicit FactsDriver(Simulator& sim) : sim_(sim), m_(sim.mmio()) {
    sim_.request_irq(IrqLine::kGpu, [this] {
      const std::uint32_t stat = m_.read32(regs::kGpuIntStat);
      if ((stat & regs::kGpuIrqResetCompleted) != 0) reset_done_ = true;
      m_.write32(regs::kGpuIntClear, stat);
    });
  }
  ~FactsDriver() { sim_.free_irq(IrqLine::kGpu); }

  // False when a step did not finish in time (kbase allows a reset 500 ms, power-up 20 ms here).
  bool probe() {
    reset_done_ = false;
    m_.write32(regs::kGpuIntMask, regs::kGpuIrqResetCompleted);  // only the reset, as kbase does
    m_.write32(regs::kGpuCmd, static_cast<std::uint32_t>(GpuCommand::SoftReset));
    for (unsigned waited_us = 0; !reset_done_; waited_us += 10) {
      if (waited_us > 500'000) return false;
      sim_.usleep_range(5, 10);
    }
    p_.gpu_id = m_.read32(regs::kGpuId);
    p_.l2 = m_.read32(regs::kL2Features);
    p_.core = m_.read32(regs::kCoreFeatures);
    p_.tiler = m_.read32(regs::kTilerFeatures);
    p_.mem = m_.read32(regs::kMemFeatures);
    p_.mmu = m_.read32(regs::kGpuMmuFeatures);
    p_.as_present = m_.read32(regs::kGpuAsPresent);
    p_.js_present = m_.read32(regs::kGpuJsPresent);
    p_.shader_present = read64(regs::kShaderPresentLo);
    p_.l2_present = read64(regs::kL2PresentLo);
    p_.tiler_present = read64(regs::kTilerPresentLo);
    if (!power_up(regs::kL2PwronLo, regs::kL2ReadyLo, p_.l2_present)) return false;
    if (!power_up(regs::kShaderPwronLo, regs::kShaderReadyLo, p_.shader_present)) return false;
    if (!power_up(regs::kTilerPwronLo, regs::kTilerReadyLo, p_.tiler_present)) return false;
    m_.write32(regs::kGpuIntClear, ~0U);
    m_.write32(regs::kGpuIntMask, regs::kGpuIrqFault | regs::kGpuIrqMultipleFault);
    m_.write32(regs::kMmuIntClear, ~0U);
    m_.write32(regs::kMmuIntMask, ~0U);
    return true;
  }
  const Probed& probed() const { return p_; }

  void enable(unsigned as, const IoPgtable& pt) {
    w64(regs::as_reg(as, regs::kAsTranstabLo), pt.transtab());
    w64(regs::as_reg(as, regs::kAsMemattrLo), pt.memattr());
    command(as, AsCommand::Update);
  }
  void disable(unsigned as) {
    w64(regs::as_reg(as, regs::kAsTranstabLo), 0);
    command(as, AsCommand::Update);
  }

 private:
  std::uint64_t read64(std::uint32_t lo) {
    const std::uint64_t low = m_.read32(lo);
    return low | static_cast<std::uint64_t>(m_.read32(lo + 4)) << 32;
  }
  void w64(std::uint32_t lo, std::uint64_t v) {
    m_.write32(lo, static_cast<std::uint32_t>(v));
    m_.write32(lo + 4, static_cast<std::uint32_t>(v >> 32));
  }
  bool power_up(std::uint32_t pwron, std::uint32_t ready, std::uint64_t bits) {
    m_.write32(pwron, static_cast<std::uint32_t>(bits));
    for (unsigned waited_us = 0; read64(ready) != bits; waited_us += 10) {
      if (waited_us > 20'000) return false;
      sim_.udelay(10);
    }
    return true;
  }
  void command(unsigned as, AsCommand c) {
    m_.write32(regs::as_reg(as, regs::kAsCommand), static_cast<std::uint32_t>(c));
    while ((m_.read32(regs::as_reg(as, regs::kAsStatus)) & regs::kAsStatusActive) != 0) sim_.udelay(10);
  }

  Simulator& sim_;
  MmioDevice& m_;
  Probed p_;
  bool reset_done_ = false;
};

// What each named SoC's panfrost boot log prints (docs/presets.md), written out here on its own.
const std::map<std::string, Probed>& logged() {
  static const std::map<std::string, Probed> m = {
      {"t860", {0x08602000, 0x07120206, 0x0, 0x809, 0x1, 0x2830, 0xFF, 0x7, 0xF, 0x1, 0x1}},
      {"g31", {0x70930000, 0x07100206, 0x0, 0x209, 0x1, 0x2821, 0xFF, 0x7, 0x1, 0x1, 0x1}},
      {"g52", {0x74021000, 0x07120206, 0x2, 0x209, 0x1, 0x2823, 0xFF, 0x7, 0x3, 0x1, 0x1}},
      {"g72", {0x62210030, 0x07120206, 0x0, 0x809, 0x1, 0x2830, 0xFF, 0x7, 0x7, 0x1, 0x1}},
      {"g57", {0x90930000, 0x08130206, 0x0, 0x809, 0x1, 0x2830, 0xFF, 0x7, 0x10005, 0x1, 0x1}},
  };
  return m;
}

TEST(FactsProbe, EveryPresetReadsWhatItsPartReportsAndComesUpInTheModelledTime) {
  for (const auto& [name, want] : logged()) {
    SCOPED_TRACE(name);
    SimulatorOptions opt;
    testing::fail_on_report(opt.check_config);
    const GpuSpec spec = gpu_preset(name).value();
    Simulator sim(spec, opt);
    FactsDriver drv(sim);
    ASSERT_TRUE(drv.probe());
    const Probed& got = drv.probed();
    EXPECT_EQ(got.gpu_id, want.gpu_id);
    EXPECT_EQ(got.l2, want.l2);
    EXPECT_EQ(got.core, want.core);
    EXPECT_EQ(got.tiler, want.tiler);
    EXPECT_EQ(got.mem, want.mem);
    EXPECT_EQ(got.mmu, want.mmu);
    EXPECT_EQ(got.as_present, want.as_present);
    EXPECT_EQ(got.js_present, want.js_present);
    EXPECT_EQ(got.shader_present, want.shader_present);
    EXPECT_EQ(got.l2_present, want.l2_present);
    EXPECT_EQ(got.tiler_present, want.tiler_present);
    // The reset's 5 us end inside the first 10 us sleep; the interrupt reaches the CPU 2 us later,
    // still inside it: one sleep. Each power-up (2, 2 and 1 us) is not ready at the read that
    // follows its write, and is at the read after one 10 us delay. So the probe takes four 10 us
    // waits plus its register accesses: 26 reads and 9 writes, 26 x 150 + 9 x 40 ns = 4.26 us.
    const Cycle us10 = spec.us_to_cycles(10);
    EXPECT_GE(sim.now(), 4 * us10 + spec.ns_to_cycles(4'000));
    EXPECT_LT(sim.now(), 4 * us10 + spec.ns_to_cycles(4'300));
    EXPECT_TRUE(testing::no_reports(sim));
  }
}

TEST(FactsProbe, ASoftResetMidRunClearsWhatWasInFlightAndTheDriverProbesAgain) {
  SimulatorOptions opt;
  testing::fail_on_report(opt.check_config);
  Simulator sim(gpu_preset("g52").value(), opt);
  FactsDriver drv(sim);
  ASSERT_TRUE(drv.probe());
  auto pt = std::move(IoPgtable::create(sim.frames(), {})).value();
  const PhysAddr page = *sim.frames().alloc_frame();
  ASSERT_TRUE(pt->map(0x100'0000, page, kPageSize, prot::kRead | prot::kWrite | prot::kNoExec));
  drv.enable(0, *pt);
  // A job whose second access misses (nothing mapped there) and stalls on the fault; the driver
  // does not handle faults, it resets the GPU.
  const auto job = sim.submit(0, {{0x100'0000, Access::Read}, {0x300'0000, Access::Read, 10}});
  EXPECT_FALSE(sim.run_until_done(job, 50'000));
  EXPECT_EQ(sim.job(job).done, 1U);
  EXPECT_EQ(sim.gpu().stalled_accesses(0), 1U);

  ASSERT_TRUE(drv.probe());  // soft reset, power-up again
  ASSERT_TRUE(sim.job(job).finished()) << "the stalled access failed with the reset";
  EXPECT_EQ(sim.job(job).results.back().fail, FailReason::Reset);
  EXPECT_EQ(sim.gpu().stalled_accesses(0), 0U);
  EXPECT_EQ(sim.gpu().address_space(0).live.mode, TranslationMode::Unmapped);
  EXPECT_EQ(sim.gpu().utlb(0).valid_entries(), 0U);
  EXPECT_EQ(sim.mmio().read32(regs::kMmuIntRawstat), 0U);

  // The driver programs its AS again and the page is reachable again.
  drv.enable(0, *pt);
  const auto again = sim.submit(0, {{0x100'0008, Access::Write}});
  ASSERT_TRUE(sim.run_until_done(again));
  EXPECT_EQ(sim.job(again).done, 1U);
  EXPECT_EQ(sim.job(again).results[0].pa, page + 8);
  drv.disable(0);
  ASSERT_TRUE(pt->unmap(0x100'0000, kPageSize));
  ASSERT_TRUE(sim.frames().free_frame(page));
  pt.reset();
  EXPECT_EQ(sim.frames().stats().allocated, 0U) << "nothing leaked: every frame came back";
  EXPECT_TRUE(testing::no_reports(sim));
}

TEST(FactsProbe, AZeroDelayStatusPollEndsAfterAboutCommandTimeOverReadTimeReads) {
  // kbase polls AS_STATUS in a tight loop: each read takes the bus time, so the poll ends with the
  // command. On g52 (850 MHz) a FLUSH_PT with nothing cached takes cmd.flush_pt = 500 cycles; the
  // write takes 40 ns (34 cycles), each read 150 ns (127.5 cycles). Reads reach the device at 34,
  // 161.5, 289, 416.5 (busy) and 544 (done) after the write: 4 busy reads, about 500 / 127.5.
  Simulator sim(gpu_preset("g52").value());
  ASSERT_TRUE(sim.power_up());
  MmioDevice& m = sim.mmio();
  m.write32(regs::as_reg(0, regs::kAsLockaddrLo), 0x3F);
  m.write32(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::Lock));
  sim.run_for(1000);
  const Cycle written = sim.cpu().now();
  m.write32(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::FlushPt));
  unsigned busy_reads = 0;
  while ((m.read32(regs::as_reg(0, regs::kAsStatus)) & regs::kAsStatusActive) != 0) ++busy_reads;
  EXPECT_EQ(busy_reads, 4U);
  EXPECT_GE(sim.now(), written + 500);
  EXPECT_TRUE(sim.check().empty());
}

TEST(FactsProbe, APollWithUdelayTenSeesTheCompletionWithinOnePollPeriod) {
  Simulator sim(gpu_preset("g52").value());
  ASSERT_TRUE(sim.power_up());
  MmioDevice& m = sim.mmio();
  const GpuSpec& spec = sim.gpu().spec();
  // A FLUSH_MEM of 1000 cycles plus the TLB latencies it waits for: done 1000 + 1 + 5 cycles after
  // the write reaches the device.
  m.write32(regs::as_reg(0, regs::kAsLockaddrLo), 0x3F);
  m.write32(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::Lock));
  sim.run_for(1000);
  const Cycle written = sim.cpu().now();
  m.write32(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::FlushMem));
  const Cycle done = written + spec.cmd_flush_mem + spec.utlb.hit_latency + spec.l2tlb.hit_latency;
  Cycle last_read = 0;
  for (;;) {
    last_read = sim.cpu().now();
    if ((m.read32(regs::as_reg(0, regs::kAsStatus)) & regs::kAsStatusActive) == 0) break;
    sim.udelay(10);
  }
  EXPECT_GE(last_read, done);
  EXPECT_LE(last_read - done, spec.us_to_cycles(10) + spec.ns_to_cycles(spec.mmio_read_ns));
}

}  // namespace
}  // namespace mali_sim
