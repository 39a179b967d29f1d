// The checker's precision and recall (docs/driver-testing.md, "Precision and recall"): a correct
// driver in each of three legal styles (buggy_driver.hpp: Plain, Threaded, IoPgtable) runs every
// scenario without a single report, and every planted bug is reported by its detector, in every
// style, while the run goes on (before the end-of-run checks).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "buggy_driver.hpp"
#include "mali_sim/harness/gtest.hpp"

namespace mali_sim::test {
namespace {

constexpr std::uint64_t kBo = 64 * 1024;
constexpr std::uint64_t kHeap = 8 * kSize2M;
constexpr Cycle kBound = 200'000;  // the pending bound, short so that a stuck fault shows quickly

GpuSpec g52_spec() { return gpu_preset("g52").value(); }

SimulatorOptions options() {
  SimulatorOptions o;
  o.check_config.log = false;
  o.check_config.fault_pending_bound = kBound;
  return o;
}

bool run(BuggyDriver& d, std::vector<JobAccess> accesses, unsigned core = 0, Cycle timeout = 5'000'000) {
  const auto job = d.sim().submit(BuggyDriver::kAs, std::move(accesses), core);
  return d.sim().run_until_done(job, timeout);
}

// Everything a correct driver does, in one run: BOs and a heap used from two cores at once, a
// job through a job slot, a page migrated under a live mapping, BOs and a grown heap freed (a
// whole 2 MiB range among them), a stray access that kills the AS, the AS re-enabled and used.
void lifecycle(BuggyDriver& d) {
  Simulator& sim = d.sim();
  const GpuVa bo = d.create_bo(kBo);
  const GpuVa heap = d.create_bo(kHeap, true);
  const GpuVa big = d.create_bo(kSize2M);  // one whole 2 MiB range of 4 KiB pages
  std::vector<JobAccess> a, b;
  for (unsigned i = 0; i < 16; ++i) {
    a.push_back({bo + i * kPageSize, Access::Read, 50});
    b.push_back({heap + (i % 4) * kSize2M + i * 64, Access::Write, 70});
  }
  const auto ja = sim.submit(BuggyDriver::kAs, a, 0);
  const auto jb = sim.submit(BuggyDriver::kAs, b, 1);
  ASSERT_TRUE(
      sim.run_until([&] { return sim.job(ja).finished() && sim.job(jb).finished(); }, sim.now() + 5'000'000));
  ASSERT_EQ(sim.job(jb).done, b.size());
  ASSERT_TRUE(
      d.run_slot_job({{bo, Access::Read, 10}, {heap + 5 * kSize2M, Access::Write, 10}, {big, Access::Read}}));
  d.migrate_page(bo + 3 * kPageSize);
  ASSERT_TRUE(run(d, {{bo + 3 * kPageSize, Access::Read}}));
  d.free_bo(big);
  d.free_bo(bo);
  ASSERT_TRUE(run(d, {{heap + 8, Access::Read}}));
  // A stray pointer: the AS is killed; the driver brings it back and the heap works again.
  const auto stray = sim.submit(BuggyDriver::kAs, {{0x7000'0000, Access::Read}});
  ASSERT_TRUE(sim.run_until_done(stray, 5'000'000));
  ASSERT_TRUE(sim.run_until([&] { return d.killed(); }, sim.now() + 1'000'000))
      << "the handler finishes the kill";
  sim.run_for(20'000);  // and returns
  d.reenable();
  ASSERT_TRUE(run(d, {{heap + 6 * kSize2M + 16, Access::Write}}));
  d.free_bo(heap);
  d.destroy();
}

struct Case {
  const char* name;
  bool Bugs::*bug;
  Detector detector;
  std::function<void(BuggyDriver&)> scenario;
};

void heap_write_then_wait(BuggyDriver& d) {
  const GpuVa heap = d.create_bo(kHeap, true);
  d.sim().submit(BuggyDriver::kAs, {{heap + 0x40, Access::Write}});
  d.sim().run_for(3 * kBound);
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"SkipFlushAfterUnmap", &Bugs::skip_flush_after_unmap, Detector::StaleTranslation,
       [](BuggyDriver& d) {
         const GpuVa bo = d.create_bo(kBo);
         ASSERT_TRUE(run(d, {{bo + 0x1000, Access::Read}}));
         d.free_bo(bo);
         (void)run(d, {{bo + 0x1000, Access::Read}});
       }},
      {"IrqNeverClears", &Bugs::irq_never_clears, Detector::IrqLeftAsserted, heap_write_then_wait},
      {"IrqMasksAndForgets", &Bugs::irq_masks_and_forgets, Detector::IrqLeftAsserted, heap_write_then_wait},
      {"RetryWithoutMapping", &Bugs::retry_without_mapping, Detector::IrqLeftAsserted, heap_write_then_wait},
      {"MaskBeforeClear", &Bugs::mask_before_clear, Detector::IrqLeftAsserted,
       [](BuggyDriver& d) {
         const GpuVa heap = d.create_bo(kHeap, true);
         const auto stray = d.sim().submit(BuggyDriver::kAs, {{0x7000'0000, Access::Read}});
         ASSERT_TRUE(d.sim().run_until_done(stray, 5'000'000));
         ASSERT_TRUE(d.sim().run_until([&] { return d.killed(); }, d.sim().now() + 1'000'000));
         d.sim().run_for(20'000);  // the handler has returned
         d.reenable();
         d.sim().submit(BuggyDriver::kAs, {{heap + 0x40, Access::Write}});
         d.sim().run_for(3 * kBound);
       }},
      {"JobIrqNeverCleared", &Bugs::job_irq_never_cleared, Detector::IrqLeftAsserted,
       [](BuggyDriver& d) {
         const GpuVa bo = d.create_bo(kBo);
         (void)d.run_slot_job({{bo, Access::Read}});
         d.sim().run_for(3 * kBound);
       }},
      {"LoseGrownPages", &Bugs::lose_grown_pages, Detector::LeakedPages,
       [](BuggyDriver& d) {
         const GpuVa heap = d.create_bo(kHeap, true);
         ASSERT_TRUE(run(d, {{heap + 0x40, Access::Write}}));
         d.free_bo(heap);
         d.destroy();  // the last object goes: the allocator is not back where it was
       }},
      {"ForgetUnmapOnFree", &Bugs::forget_unmap_on_free, Detector::LeakedPages,
       [](BuggyDriver& d) { d.free_bo(d.create_bo(kBo)); }},
      {"FreePagesBeforeUnmap", &Bugs::free_pages_before_unmap, Detector::UseAfterFree,
       [](BuggyDriver& d) { d.free_bo(d.create_bo(kBo)); }},
      {"MigrateInPlace", &Bugs::migrate_in_place, Detector::MappingError,
       [](BuggyDriver& d) {
         const GpuVa bo = d.create_bo(kBo);
         ASSERT_TRUE(run(d, {{bo + 0x2000, Access::Read}}));
         d.migrate_page(bo + 0x2000);
       }},
      {"NoWaitReady", &Bugs::no_wait_ready, Detector::CommandMisuse,
       [](BuggyDriver& d) { (void)d.create_bo(kBo); }},
      {"FlushWithoutLock", &Bugs::flush_without_lock, Detector::CommandMisuse,
       [](BuggyDriver& d) { (void)d.create_bo(kBo); }},
      {"LockOnlyFirstPage", &Bugs::lock_only_first_page, Detector::CommandMisuse,
       [](BuggyDriver& d) {
         const GpuVa bo = d.create_bo(kBo);
         ASSERT_TRUE(run(d, {{bo + 0x8000, Access::Read}}));
         d.free_bo(bo);
       }},
      {"HeapExecutable", &Bugs::heap_executable, Detector::ExecutableHeap,
       [](BuggyDriver& d) {
         const GpuVa heap = d.create_bo(kHeap, true);
         ASSERT_TRUE(run(d, {{heap + 0x40, Access::Write}}));
       }},
      {"JobOnDisabledAs", &Bugs::job_on_disabled_as, Detector::JobAddressSpace,
       [](BuggyDriver& d) {
         const GpuVa bo = d.create_bo(kBo);
         (void)d.run_slot_job({{bo, Access::Read}}, 100'000);
       }},
  };
  return all;
}

class CheckerMatrix : public ::testing::TestWithParam<Style> {};

TEST_P(CheckerMatrix, ACorrectDriverInThisStyleGetsNoReportInAnyScenario) {
  {
    Simulator sim(g52_spec(), options());
    BuggyDriver d(sim, {}, GetParam());
    lifecycle(d);
    EXPECT_TRUE(mali_sim::testing::no_reports(sim)) << "lifecycle";
  }
  // Every bug's scenario, with the bug switched off.
  for (const Case& c : cases()) {
    Simulator sim(g52_spec(), options());
    {
      BuggyDriver d(sim, {}, GetParam());
      c.scenario(d);
    }
    EXPECT_TRUE(mali_sim::testing::no_reports(sim)) << c.name << " without the bug";
  }
}

class CheckerRecall : public ::testing::TestWithParam<std::tuple<Style, std::size_t>> {};

TEST_P(CheckerRecall, EachPlantedBugIsReportedByItsDetectorWhileTheRunGoesOn) {
  const auto [style, index] = GetParam();
  const Case& c = cases()[index];
  Simulator sim(g52_spec(), options());
  Bugs bugs;
  bugs.*c.bug = true;
  {
    BuggyDriver d(sim, bugs, style);
    c.scenario(d);
    EXPECT_GE(sim.checker()->count(c.detector), 1U) << c.name << " in style " << to_string(style) << ": no "
                                                    << to_string(c.detector) << " report before the end";
  }
}

INSTANTIATE_TEST_SUITE_P(Styles, CheckerMatrix,
                         ::testing::Values(Style::Plain, Style::Threaded, Style::IoPgtable),
                         [](const auto& p) { return std::string(to_string(p.param)); });

INSTANTIATE_TEST_SUITE_P(StylesAndBugs, CheckerRecall,
                         ::testing::Combine(::testing::Values(Style::Plain, Style::Threaded,
                                                              Style::IoPgtable),
                                            ::testing::Range<std::size_t>(0, cases().size())),
                         [](const auto& p) {
                           return std::string(to_string(std::get<0>(p.param))) + "_" +
                                  cases()[std::get<1>(p.param)].name;
                         });

}  // namespace
}  // namespace mali_sim::test
