// The CPU timeline drivers run on (cpu_timeline.hpp) and the fiber under it: work sleeps while the
// rest of the simulation runs, work is serialised in posting order, spent time is lazy, and work
// abandoned half-way unwinds cleanly.
#include "mali_sim/cpu_timeline.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "common/fiber.hpp"
#include "mali_sim/event_queue.hpp"

namespace mali_sim {
namespace {

TEST(Fiber, YieldReturnsToTheResumerAndResumeContinuesWhereItStopped) {
  std::vector<int> seen;
  Fiber f([&] {
    seen.push_back(1);
    Fiber::current()->yield();
    seen.push_back(3);
  });
  EXPECT_EQ(Fiber::current(), nullptr);
  f.resume();
  seen.push_back(2);
  EXPECT_FALSE(f.finished());
  f.resume();
  EXPECT_TRUE(f.finished());
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
}

TEST(Fiber, AnExceptionLeavingTheBodyIsRethrownByResume) {
  Fiber f([] { throw std::runtime_error("from the fiber"); });
  EXPECT_THROW(f.resume(), std::runtime_error);
  EXPECT_TRUE(f.finished());
}

TEST(Fiber, DestroyingASuspendedFiberUnwindsItsStack) {
  bool unwound = false;
  {
    struct Guard {
      bool& flag;
      ~Guard() { flag = true; }
    };
    auto f = std::make_unique<Fiber>([&] {
      Guard g{unwound};
      Fiber::current()->yield();
      ADD_FAILURE() << "a cancelled fiber must not continue";
    });
    f->resume();
    EXPECT_FALSE(unwound);
  }
  EXPECT_TRUE(unwound);
}

TEST(CpuTimeline, WorkStartsFromAnEventAtTheCycleItIsPosted) {
  EventQueue clock;
  CpuTimeline cpu(clock);
  clock.run_until(100);
  Cycle started = 0;
  cpu.post([&] { started = clock.now(); });
  EXPECT_EQ(started, 0U) << "posting runs nothing by itself";
  EXPECT_TRUE(cpu.busy());
  ASSERT_TRUE(clock.step());
  EXPECT_EQ(started, 100U);
  EXPECT_FALSE(cpu.busy());
}

TEST(CpuTimeline, SleepingWorkLetsTheRestOfTheSimulationRun) {
  EventQueue clock;
  CpuTimeline cpu(clock);
  std::vector<std::string> log;
  clock.schedule(50, [&] { log.push_back("event@" + std::to_string(clock.now())); });
  cpu.post([&] {
    log.push_back("work@" + std::to_string(cpu.now()));
    cpu.spend(100);
    cpu.sync();  // sleeps: the event at 50 runs meanwhile
    log.push_back("work@" + std::to_string(cpu.now()));
  });
  clock.run_until_idle();
  EXPECT_EQ(log, (std::vector<std::string>{"work@0", "event@50", "work@100"}));
}

TEST(CpuTimeline, WorkRunsOneItemAtATimeInPostingOrder) {
  EventQueue clock;
  CpuTimeline cpu(clock);
  std::vector<std::pair<char, Cycle>> log;
  cpu.post([&] {
    log.emplace_back('a', cpu.now());
    cpu.spend(30);
  });
  cpu.post([&] { log.emplace_back('b', cpu.now()); });
  clock.run_until_idle();
  // b waits until a's time has passed: the CPU is one timeline.
  EXPECT_EQ(log, (std::vector<std::pair<char, Cycle>>{{'a', 0}, {'b', 30}}));
  EXPECT_EQ(cpu.busy_cycles(), 30U);
}

TEST(CpuTimeline, SpentTimeIsLazyARunOfCostsIsOneSleep) {
  EventQueue clock;
  CpuTimeline cpu(clock);
  cpu.post([&] {
    for (int i = 0; i < 10; ++i) cpu.spend(7);
    EXPECT_EQ(cpu.now(), 70U) << "the work's own time";
    EXPECT_EQ(clock.now(), 0U) << "nobody else has seen it yet";
  });
  clock.run_until_idle();
  EXPECT_EQ(clock.now(), 70U);
  // The start event and one wake-up: ten costs, one sleep.
  EXPECT_EQ(clock.executed(), 2U);
}

TEST(CpuTimeline, RunFromOutsideReturnsWhenTheWorkAndItsTimeAreDone) {
  EventQueue clock;
  CpuTimeline cpu(clock);
  int inner = 0;
  ASSERT_TRUE(cpu.run([&] {
    cpu.spend(40);
    // From inside work, run() is a plain call on the same timeline.
    EXPECT_TRUE(cpu.run([&] { inner = 1; }));
  }));
  EXPECT_EQ(inner, 1);
  EXPECT_EQ(clock.now(), 40U);
  EXPECT_FALSE(cpu.busy());
}

TEST(CpuTimeline, OutsideAnyWorkSyncRunsTheClockForward) {
  EventQueue clock;
  CpuTimeline cpu(clock);
  bool ran = false;
  clock.schedule(10, [&] { ran = true; });
  cpu.spend(25);
  EXPECT_EQ(cpu.now(), 25U);
  cpu.sync();
  EXPECT_TRUE(ran);
  EXPECT_EQ(clock.now(), 25U);
}

TEST(CpuTimeline, StopUnwindsSleepingWorkAndDropsQueuedWork) {
  EventQueue clock;
  auto cpu = std::make_unique<CpuTimeline>(clock);
  bool unwound = false;
  bool second_ran = false;
  struct Guard {
    bool& flag;
    ~Guard() { flag = true; }
  };
  cpu->post([&] {
    Guard g{unwound};
    cpu->spend(1000);
    cpu->sync();
    ADD_FAILURE() << "stopped work must not continue";
  });
  cpu->post([&] { second_ran = true; });
  clock.run_until(10);  // the first item sleeps until 1000
  cpu->stop();
  EXPECT_TRUE(unwound);
  EXPECT_FALSE(cpu->busy());
  clock.run_until_idle();  // its stale wake-up does nothing
  EXPECT_FALSE(second_ran);
  cpu.reset();
}

TEST(CpuTimeline, AnExceptionInWorkReachesWhoeverRunsTheClock) {
  EventQueue clock;
  CpuTimeline cpu(clock);
  cpu.post([] { throw std::runtime_error("driver bug"); });
  EXPECT_THROW(clock.run_until_idle(), std::runtime_error);
  // The CPU takes new work afterwards.
  bool ran = false;
  cpu.post([&] { ran = true; });
  clock.run_until_idle();
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace mali_sim
