// The CPU's side of the register bus (cpu_mmio.hpp), interrupt context on a CPU timeline, and
// request_threaded_irq (threaded_irq.hpp), against a scripted device: register access time, busy
// polls that end with the command, and the kernel's split of an interrupt into a hard half and a
// thread.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "mali_sim/cpu_mmio.hpp"
#include "mali_sim/cpu_timeline.hpp"
#include "mali_sim/event_queue.hpp"
#include "mali_sim/irq/irq_block.hpp"
#include "mali_sim/threaded_irq.hpp"

namespace mali_sim {
namespace {

// A device with one status register that reads 1 until cycle `done_at`, one interrupt block on
// the MMU line, and a log of when each access reached it. Reads take 100 ns, writes 20 ns; at
// 1 GHz that is 100 and 20 cycles.
class ScriptedDevice final : public MmioDevice {
 public:
  static constexpr std::uint32_t kStatus = 0x28, kRawstat = 0x2000, kClear = 0x2004, kMask = 0x2008,
                                 kStat = 0x200C;
  explicit ScriptedDevice(EventQueue& q) : q_(q), irq_(IrqLine::kMmu, q, 1000) {}

  std::uint32_t read32(std::uint32_t offset) override {
    reads.push_back(q_.now());
    switch (offset) {
      case kStatus: return q_.now() < done_at ? 1 : 0;
      case kRawstat: return irq_.rawstat();
      case kStat: return irq_.stat();
      default: return 0;
    }
  }
  void write32(std::uint32_t offset, std::uint32_t value) override {
    writes.push_back(q_.now());
    if (offset == kClear) irq_.clear(value);
    if (offset == kMask) irq_.set_mask(value);
    if (offset == kRawstat) irq_.raise(value);
  }
  void set_irq_handler(IrqLine line, std::function<void()> handler) override {
    if (line == IrqLine::kMmu) irq_.set_handler(std::move(handler));
  }
  MmioTiming mmio_timing() const noexcept override { return {100, 20}; }

  IrqBlock& irq() { return irq_; }
  Cycle done_at = 0;
  std::vector<Cycle> reads, writes;

 private:
  EventQueue& q_;
  IrqBlock irq_;
};

TEST(CpuMmio, EachAccessTakesTheDevicesBusTimeOnTheCpu) {
  EventQueue q;
  CpuTimeline cpu(q);
  ScriptedDevice dev(q);
  CpuMmio bus(dev, cpu);
  // Outside any work the reads run the clock: the second read reaches the device after the first
  // one's 100 ns, the write after both, the third read 20 ns after the write.
  (void)bus.read32(ScriptedDevice::kStatus);
  (void)bus.read32(ScriptedDevice::kStatus);
  bus.write32(ScriptedDevice::kMask, 0);
  (void)bus.read32(ScriptedDevice::kStatus);
  EXPECT_EQ(dev.reads, (std::vector<Cycle>{0, 100, 220}));
  EXPECT_EQ(dev.writes, (std::vector<Cycle>{200}));
  EXPECT_EQ(cpu.now(), 320U);
}

TEST(CpuMmio, AZeroDelayPollEndsWithTheCommandAfterAboutCommandTimeOverReadTimeReads) {
  EventQueue q;
  CpuTimeline cpu(q);
  ScriptedDevice dev(q);
  CpuMmio bus(dev, cpu);
  dev.done_at = 1050;  // a command that finishes at cycle 1050
  unsigned reads = 0;
  while ((bus.read32(ScriptedDevice::kStatus) & 1) != 0) ++reads;
  // Reads reach the device at 0, 100, ..., 1000 (busy) and 1100 (done): 11 busy reads, the
  // command's 1050 cycles over a read's 100, rounded up.
  EXPECT_EQ(reads, 11U);
  EXPECT_EQ(dev.reads.back(), 1100U);
}

TEST(CpuMmio, APollWithAUdelayEndsWithinOnePollPeriodOfTheCommand) {
  EventQueue q;
  CpuTimeline cpu(q);
  ScriptedDevice dev(q);
  CpuMmio bus(dev, cpu);
  dev.done_at = 25'000;
  while ((bus.read32(ScriptedDevice::kStatus) & 1) != 0) cpu.delay(10'000);  // udelay(10) at 1 GHz
  // Reads at 0, 10100, 20200, 30300: the last one within a poll period (plus a read) of 25000.
  EXPECT_EQ(dev.reads.back(), 30'300U);
  EXPECT_LE(dev.reads.back() - dev.done_at, 10'000U + 100U);
}

TEST(CpuMmio, WorkOnTheCpuSleepsThroughItsAccesses) {
  EventQueue q;
  CpuTimeline cpu(q);
  ScriptedDevice dev(q);
  CpuMmio bus(dev, cpu);
  Cycle other = 0;
  q.schedule(150, [&] { other = q.now(); });
  cpu.post([&] {
    (void)bus.read32(ScriptedDevice::kStatus);  // at 0
    (void)bus.read32(ScriptedDevice::kStatus);  // at 100: the work slept through its first read
    (void)bus.read32(ScriptedDevice::kStatus);  // at 200: the event at 150 ran meanwhile
  });
  q.run_until_idle();
  EXPECT_EQ(dev.reads, (std::vector<Cycle>{0, 100, 200}));
  EXPECT_EQ(other, 150U);
}

// ---- Interrupt context ---------------------------------------------------------------------------

TEST(CpuTimelineInterrupt, DeferredTimeLeavesTheHandlersAccessesAtTheDeliveryCycleAndHandsTheTimeBack) {
  EventQueue q;
  CpuTimeline cpu(q, 1'000'000'000, CpuTimeline::InterruptTime::kDeferred);
  ScriptedDevice dev(q);
  CpuMmio bus(dev, cpu);
  q.run_until(500);
  const Cycle spent = cpu.interrupt([&] {
    (void)bus.read32(ScriptedDevice::kStat);
    bus.write32(ScriptedDevice::kMask, 0);
    EXPECT_TRUE(cpu.in_interrupt());
    EXPECT_FALSE(cpu.in_work());
    EXPECT_EQ(cpu.now(), 620U);
  });
  EXPECT_EQ(spent, 120U);
  EXPECT_EQ(q.now(), 500U) << "the clock did not move";
  EXPECT_EQ(dev.reads, (std::vector<Cycle>{500}));
  EXPECT_EQ(dev.writes, (std::vector<Cycle>{500}));
  EXPECT_FALSE(cpu.in_interrupt());
}

TEST(CpuTimelineInterrupt, WhereTheClockMayRunAHardHandlerThatPollsSeesTheCommandFinish) {
  // Old panfrost handled MMU faults wholly in the hard half, polling AS_STATUS there.
  EventQueue q;
  CpuTimeline cpu(q);  // kRunsClock: a test harness
  ScriptedDevice dev(q);
  CpuMmio bus(dev, cpu);
  dev.done_at = 950;
  unsigned polls = 0;
  q.schedule(500, [&] {
    const Cycle spent = cpu.interrupt([&] {
      while ((bus.read32(ScriptedDevice::kStatus) & 1) != 0) ++polls;
    });
    EXPECT_EQ(spent, 600U);  // reads at 500 ... 900 busy, 1000 done, back at 1100
  });
  q.run_until_idle();
  EXPECT_EQ(polls, 5U);
  EXPECT_EQ(dev.reads.back(), 1000U);
}

// ---- request_threaded_irq --------------------------------------------------------------------------

struct ThreadedFixture {
  EventQueue q;
  CpuTimeline cpu{q, 1'000'000'000, CpuTimeline::InterruptTime::kDeferred};
  ScriptedDevice dev{q};
  CpuMmio bus{dev, cpu};
  std::vector<Cycle> hard, thread;
};

TEST(ThreadedIrq, TheThreadRunsTheWakeLatencyAfterTheHardHalfIncludingItsTime) {
  ThreadedFixture f;
  ThreadedIrq irq(
      f.dev, f.cpu, IrqLine::kMmu,
      [&] {
        f.hard.push_back(f.q.now());
        if (f.bus.read32(ScriptedDevice::kStat) == 0) return IrqReturn::kNone;
        f.bus.write32(ScriptedDevice::kMask, 0);  // mask, as panfrost's hard half does
        return IrqReturn::kWakeThread;
      },
      [&] {
        f.thread.push_back(f.q.now());
        f.bus.write32(ScriptedDevice::kClear, ~0U);
        f.bus.write32(ScriptedDevice::kMask, ~0U);
      },
      5000);
  f.dev.irq().set_mask(~0U);
  f.dev.irq().raise(1);  // at 0: delivered at 1000 (the line's latency)
  f.q.run_until_idle();
  EXPECT_EQ(f.hard, (std::vector<Cycle>{1000}));
  // Hard half: a read (100) and a write (20); then the 5000 ns wake-up.
  EXPECT_EQ(f.thread, (std::vector<Cycle>{1000 + 120 + 5000}));
  EXPECT_EQ(irq.thread_runs(), 1U);
  EXPECT_EQ(irq.last_hard_irq(), 1000U);
}

TEST(ThreadedIrq, AWakeUpWhileTheThreadIsWokenCountsOnceAndOneWhileItRunsRunsItAgain) {
  ThreadedFixture f;
  int hard_calls = 0;
  ThreadedIrq irq(
      f.dev, f.cpu, IrqLine::kMmu,
      [&] {
        ++hard_calls;
        return IrqReturn::kWakeThread;  // never masks: the line is delivered again and again
      },
      [&] {
        f.thread.push_back(f.q.now());
        f.cpu.spend(3000);  // runs long enough for deliveries to come meanwhile
        f.cpu.sync();
        if (f.thread.size() == 2) f.dev.irq().clear(~0U);
      },
      1500);
  f.dev.irq().set_mask(~0U);
  f.dev.irq().raise(1);
  f.q.run_until_idle();
  // Deliveries at 1000, 2000, 3000, ...: the first wakes the thread (runs at 2500); the one at 2000
  // finds it woken (nothing more); those at 3000, 4000 and 5000 find it running: one more run, at
  // once when the first ends at 5500. That run clears the line when it ends, at 8500, but the
  // deliveries at 6000, 7000 and 8000 found it running too: a third run at 8500, and no more.
  EXPECT_EQ(f.thread, (std::vector<Cycle>{2500, 5500, 8500}));
  EXPECT_EQ(irq.thread_runs(), 3U);
  EXPECT_EQ(hard_calls, 8);  // deliveries at 1000 ... 8000
}

TEST(ThreadedIrq, AHardHalfThatIsNotTheDevicesWakesNothing) {
  ThreadedFixture f;
  ThreadedIrq irq(
      f.dev, f.cpu, IrqLine::kMmu,
      [&] {
        f.dev.irq().clear(~0U);  // a shared line: someone else's, handled elsewhere
        return IrqReturn::kNone;
      },
      [&] { f.thread.push_back(f.q.now()); }, 1000);
  f.dev.irq().set_mask(~0U);
  f.dev.irq().raise(1);
  f.q.run_until_idle();
  EXPECT_TRUE(f.thread.empty());
  EXPECT_EQ(irq.unhandled(), 1U);
}

TEST(ThreadedIrq, FreeingTheLineDropsAThreadAlreadyWoken) {
  ThreadedFixture f;
  {
    ThreadedIrq irq(
        f.dev, f.cpu, IrqLine::kMmu,
        [&] {
          f.dev.irq().set_mask(0);
          return IrqReturn::kWakeThread;
        },
        [&] { f.thread.push_back(f.q.now()); }, 1000);
    f.dev.irq().set_mask(~0U);
    f.dev.irq().raise(1);
    f.q.run_until(1500);  // delivered at 1000, thread due at 2000
  }
  f.q.run_until_idle();
  EXPECT_TRUE(f.thread.empty());
}

// ---- IrqBlock --------------------------------------------------------------------------------------

TEST(IrqBlock, ALineLeftHighWithZeroLatencyComesBackOncePerCycleSoTheClockMoves) {
  // irq_latency 0 is legal; a handler that never clears must not run forever at one cycle.
  EventQueue q;
  IrqBlock b(IrqLine::kMmu, q, 0);
  unsigned delivered = 0;
  b.set_handler([&] { ++delivered; });
  b.set_mask(1);
  b.raise(1);
  q.run_until(10);  // returns: at cycles 0, 1, ..., 10
  EXPECT_EQ(delivered, 11U);
  EXPECT_EQ(q.now(), 10U);
}

TEST(IrqBlock, TheRaiseHookHearsOnlyBitsThatWereClear) {
  // An observer dates a pending bit from the event that set it: a bit raised again while still
  // set is the same episode, masked bits count too.
  EventQueue q;
  IrqBlock b(IrqLine::kJob, q, 100);
  std::vector<std::uint32_t> heard;
  b.set_raise_hook([&](IrqLine line, std::uint32_t bits) {
    EXPECT_EQ(line, IrqLine::kJob);
    heard.push_back(bits);
  });
  b.raise(0x3);
  b.raise(0x6);
  b.clear(0x2);
  b.raise(0x2);
  b.set_rawstat(0x80);  // a poke is no event
  EXPECT_EQ(heard, (std::vector<std::uint32_t>{0x3, 0x4, 0x2}));
}

TEST(IrqBlock, ALineThatFallsBeforeItsLatencyDeliversNothing) {
  EventQueue q;
  IrqBlock b(IrqLine::kJob, q, 100);
  int delivered = 0;
  b.set_handler([&] { ++delivered; });
  b.set_mask(1);
  b.raise(1);
  q.run_until(50);
  b.clear(1);
  q.run_until_idle();
  EXPECT_EQ(delivered, 0);
  EXPECT_EQ(b.rising_edges(), 1U);
  EXPECT_EQ(b.deliveries(), 0U);
}

TEST(IrqBlock, ResetClearsAndMasksEverything) {
  EventQueue q;
  IrqBlock b(IrqLine::kGpu, q, 100);
  b.set_mask(0xFF);
  b.raise(0x3);
  b.reset();
  EXPECT_EQ(b.rawstat(), 0U);
  EXPECT_EQ(b.mask(), 0U);
  EXPECT_FALSE(b.line());
}

}  // namespace
}  // namespace mali_sim
