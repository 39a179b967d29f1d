// Unit tests of the tiny driver against a simulated Mali-G52. Each test makes its own Simulator
// (memory, clock, GPU and driver checker): no state is shared between tests.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "mali_sim/pagetable/walker.hpp"
#include "test_platform.hpp"

namespace {

using mali_sim::Access;
using mali_sim::GpuVa;
using mali_sim::kPageSize;
using mali_sim::kSize2M;
using mali_sim::Simulator;
using mali_sim::SimulatorOptions;
using tiny::TinyMmu;

using tiny_test::g52;
using tiny_test::platform;
using tiny_test::strict;

// Runs a job of `accesses` on `as` to completion; returns the cycles it took.
mali_sim::Cycle run_job(Simulator& sim, unsigned as, std::vector<mali_sim::JobAccess> accesses,
                        Simulator::JobId* id = nullptr) {
  const mali_sim::Cycle start = sim.now();
  const Simulator::JobId job = sim.submit(as, std::move(accesses));
  EXPECT_TRUE(sim.run_until_done(job, 50'000'000)) << "job never finished";
  if (id != nullptr) *id = job;
  return sim.now() - start;
}

TEST(TinyMmu, ABoIsMappedAndTheGpuReachesItsPages) {
  Simulator sim(g52(), strict());
  TinyMmu drv(platform(sim));
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.ctx_create(0));
  const GpuVa bo = drv.bo_create(0, 64 * 1024).value();
  const std::vector<mali_sim::PhysAddr>& pages = drv.bo_pages(0, bo);
  ASSERT_EQ(pages.size(), 16U);

  Simulator::JobId job = 0;
  run_job(sim, 0, {{bo + 0x10, Access::Write}, {bo + 0x3008, Access::Read}, {bo + 0xFFFC, Access::Read}},
          &job);
  EXPECT_EQ(sim.job(job).done, 3U);
  EXPECT_EQ(sim.job(job).failed, 0U);
  // Every access landed on the page the driver mapped at its offset in the BO.
  for (const mali_sim::AccessResult& r : sim.job(job).results) {
    const GpuVa off = r.request.va - bo;
    EXPECT_EQ(r.pa, pages[off / kPageSize] + off % kPageSize) << "VA " << r.request.va;
    EXPECT_EQ(drv.page_table(0).iova_to_phys(r.request.va), r.pa);
  }
  EXPECT_EQ(drv.stats().faults, 0U);
  drv.ctx_destroy(0);
  EXPECT_TRUE(mali_sim::testing::no_reports(sim));
}

TEST(TinyMmu, AHeapGrowsOnceForEachChunkTheGpuTouches) {
  Simulator sim(g52(), strict());
  TinyMmu drv(platform(sim));
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.ctx_create(0));
  const GpuVa heap = drv.heap_create(0, 16 << 20).value();
  EXPECT_TRUE(drv.bo_pages(0, heap).empty()) << "a heap starts with no memory";

  // Chunks 0, 3 and 7 are touched; chunk 0 three times.
  const std::vector<mali_sim::JobAccess> touches = {{heap + 0x40, Access::Write},
                                                    {heap + 3 * kSize2M + 0x10, Access::Write},
                                                    {heap + 0x1000, Access::Write},
                                                    {heap + 7 * kSize2M + kSize2M - 4, Access::Write},
                                                    {heap + 0x80, Access::Read}};
  Simulator::JobId job = 0;
  const mali_sim::Cycle first = run_job(sim, 0, touches, &job);
  EXPECT_EQ(sim.job(job).done, touches.size()) << "the faulting accesses resumed and completed";
  EXPECT_EQ(drv.stats().grows, 3U) << "exactly one grow per 2 MiB chunk touched";
  EXPECT_GE(drv.stats().faults, 3U);
  EXPECT_EQ(drv.stats().kills, 0U);
  EXPECT_EQ(drv.bo_pages(0, heap).size(), 3 * kSize2M / kPageSize);

  // Each access landed on a page the heap holds, and a software walk of the driver's raw
  // descriptors shows a 4 KiB, non-executable mapping.
  const auto& pages = drv.bo_pages(0, heap);
  for (const mali_sim::AccessResult& r : sim.job(job).results)
    EXPECT_NE(std::find(pages.begin(), pages.end(), mali_sim::align_down(r.pa, kPageSize)), pages.end());
  mali_sim::WalkConfig wc;
  wc.mode = mali_sim::TranslationMode::MaliLpae;
  wc.table_base = drv.page_table(0).pgd();
  const mali_sim::WalkResult w = mali_sim::walk(sim.mem(), wc, heap + 3 * kSize2M + 0x10);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w.translation.size, mali_sim::PageSize::k4K);
  EXPECT_FALSE(w.translation.exec) << "heap memory must be NOEXEC";

  // The same touches again: no fault, no grow, and far fewer cycles. The difference is what the
  // faults cost the GPU: interrupt latency, the handler's LOCK + FLUSH_PT, the retried walks.
  const mali_sim::Cycle second = run_job(sim, 0, touches);
  EXPECT_EQ(drv.stats().grows, 3U);
  EXPECT_GT(first, 2 * second) << "first pass " << first << " cycles, second " << second;
  drv.ctx_destroy(0);
  EXPECT_TRUE(mali_sim::testing::no_reports(sim));
}

// Two shader cores append to one heap at once (accesses of both stall on the same chunks) while
// the CPU maps and unmaps BOs in the same address space.
TEST(TinyMmu, ConcurrentFaultsFromTwoCoresStillGrowEachChunkOnce) {
  Simulator sim(g52(), strict());
  TinyMmu drv(platform(sim));
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.ctx_create(0));
  const GpuVa heap = drv.heap_create(0, 32 << 20).value();
  std::vector<mali_sim::JobAccess> core0;
  std::vector<mali_sim::JobAccess> core1;
  for (GpuVa off = 0; off < 16 * kSize2M; off += kSize2M / 4) {
    core0.push_back({heap + off, Access::Write, 97});
    core1.push_back({heap + 16 * kSize2M - 64 - off, Access::Write, 131});
  }
  const auto a = sim.submit(0, core0, /*core=*/0);
  const auto b = sim.submit(0, core1, /*core=*/1);
  // Meanwhile the CPU side maps and unmaps BOs in the same address space, so faults arrive in the
  // middle of its LOCK + FLUSH_PT sequences. Without TinyMmu::IrqOff the handler's own sequence
  // runs inside them, and the checker reports a FLUSH_PT without LOCK or missing the unmap.
  const auto done = [&] { return sim.job(a).finished() && sim.job(b).finished(); };
  // Between them the CPU leaves the interrupt unmasked for 3 us, longer than the 2 us an interrupt
  // takes to reach it: IrqOff masks the MMU interrupt at the device, so a line masked again before
  // its handler runs is not delivered (as on hardware).
  while (!done() && sim.now() < 50'000'000) {
    const GpuVa bo = drv.bo_create(0, 64 * 1024).value();
    sim.udelay(3);
    drv.bo_destroy(0, bo);
  }
  ASSERT_TRUE(done());
  EXPECT_EQ(sim.job(a).done + sim.job(b).done, core0.size() + core1.size());
  EXPECT_EQ(drv.stats().grows, 16U) << "every chunk was touched, each grown once";
  EXPECT_GE(drv.stats().faults, 16U);
  EXPECT_EQ(drv.stats().kills, 0U);
  drv.ctx_destroy(0);
  EXPECT_TRUE(mali_sim::testing::no_reports(sim));
}

TEST(TinyMmu, AFaultOutsideAnyHeapKillsOnlyThatAddressSpace) {
  Simulator sim(g52(), strict());
  const std::uint64_t frames_before = sim.frames().stats().allocated;
  TinyMmu drv(platform(sim));
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.ctx_create(0));
  ASSERT_TRUE(drv.ctx_create(1));
  const GpuVa bad_bo = drv.bo_create(0, 64 * 1024).value();
  const GpuVa good_bo = drv.bo_create(1, 64 * 1024).value();

  // AS0 follows a stray pointer (just past its BO) while AS1 streams through its own BO.
  const GpuVa stray = bad_bo + 64 * 1024 + 0x100;
  const auto bad =
      sim.submit(0, {{bad_bo, Access::Read}, {stray, Access::Read}, {bad_bo, Access::Read, 5'000}});
  std::vector<mali_sim::JobAccess> stream;
  for (GpuVa off = 0; off < 64 * 1024; off += 4096) stream.push_back({good_bo + off, Access::Read, 500});
  const auto good = sim.submit(1, stream, /*core=*/1);
  ASSERT_TRUE(sim.run_until([&] { return sim.job(bad).finished() && sim.job(good).finished(); }, 50'000'000));

  EXPECT_EQ(sim.job(good).done, stream.size()) << "the other address space is untouched";
  EXPECT_EQ(sim.job(good).failed, 0U);
  EXPECT_EQ(sim.job(bad).done, 1U) << "only the access before the fault";
  EXPECT_EQ(sim.job(bad).failed, 2U);
  for (const mali_sim::AccessResult& r : sim.job(bad).results) {
    if (r.status == mali_sim::AccessStatus::Failed) {
      EXPECT_EQ(r.fail, mali_sim::FailReason::Unmapped);
    }
  }
  EXPECT_TRUE(drv.ctx_killed(0));
  EXPECT_FALSE(drv.ctx_killed(1));
  EXPECT_EQ(drv.stats().kills, 1U);
  EXPECT_FALSE(drv.bo_create(0, 4096).has_value()) << "a killed context takes no new BOs";

  // A killed context is torn down like any other, and gives back everything.
  drv.ctx_destroy(0);
  drv.ctx_destroy(1);
  EXPECT_EQ(sim.frames().stats().allocated, frames_before);
  EXPECT_TRUE(mali_sim::testing::no_reports(sim));
}

TEST(TinyMmu, TeardownReturnsTheFrameAllocatorToItsStartingLevel) {
  Simulator sim(g52(), strict());
  const std::uint64_t before = sim.frames().stats().allocated;
  {
    TinyMmu drv(platform(sim));
    ASSERT_TRUE(drv.probe());
    ASSERT_TRUE(drv.ctx_create(0));
    ASSERT_TRUE(drv.ctx_create(2));
    (void)drv.bo_create(0, 256 * 1024).value();
    const GpuVa heap = drv.heap_create(0, 8 << 20).value();
    (void)drv.bo_create(2, 3 * 4096 + 1).value();  // rounded up to 4 pages
    run_job(sim, 0, {{heap, Access::Write}, {heap + kSize2M, Access::Write}});
    EXPECT_EQ(drv.stats().grows, 2U);
    // Page tables, context pages, 64 BO pages and 1024 heap pages are out now.
    EXPECT_GT(sim.frames().stats().allocated, before + 64 + 4 + 1024);
    drv.ctx_destroy(0);
  }  // ~TinyMmu destroys context 2
  EXPECT_EQ(sim.frames().stats().allocated, before);
  EXPECT_TRUE(mali_sim::testing::no_reports(sim));
}

// The checker at work: the driver is built with a bug, and the test asserts on what the checker
// reports instead of failing on it (no fail_on_report here).
TEST(TinyMmuBugs, AnUnmapWithoutFlushIsCaughtWhenTheGpuUsesTheStaleTranslation) {
  SimulatorOptions opt;
  opt.check_config.log = false;  // the report is expected: keep the test output quiet
  Simulator sim(g52(), opt);
  TinyMmu drv(platform(sim), {.forget_flush_on_unmap = true});
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.ctx_create(0));
  const GpuVa bo = drv.bo_create(0, 64 * 1024).value();
  const mali_sim::PhysAddr old_page = drv.bo_pages(0, bo)[2];
  run_job(sim, 0, {{bo + 0x2000, Access::Read}});  // the GPU caches the translation

  drv.bo_destroy(0, bo);  // unmapped and pages freed, but no LOCK + FLUSH_PT
  EXPECT_TRUE(sim.checker()->reports().empty()) << "nothing has gone wrong until the GPU uses it";

  Simulator::JobId job = 0;
  run_job(sim, 0, {{bo + 0x2000, Access::Read}}, &job);
  EXPECT_EQ(sim.job(job).done, 1U) << "the stale TLB entry still translates: no fault";
  EXPECT_EQ(sim.job(job).results.at(0).pa, old_page) << "the GPU read a page the driver had freed";

  const auto& reports = sim.checker()->reports();
  ASSERT_EQ(reports.size(), 1U);
  EXPECT_EQ(reports[0].detector, mali_sim::Detector::StaleTranslation) << reports[0].to_string();
  EXPECT_EQ(reports[0].as, 0);
  EXPECT_EQ(reports[0].address, bo + 0x2000);
}

// The same sequence with the flush: the access faults, the driver kills the AS, and the checker is
// silent.
TEST(TinyMmuBugs, WithTheFlushTheSameSequenceFaultsCleanly) {
  Simulator sim(g52(), strict());
  TinyMmu drv(platform(sim));
  ASSERT_TRUE(drv.probe());
  ASSERT_TRUE(drv.ctx_create(0));
  const GpuVa bo = drv.bo_create(0, 64 * 1024).value();
  run_job(sim, 0, {{bo + 0x2000, Access::Read}});
  drv.bo_destroy(0, bo);
  Simulator::JobId job = 0;
  run_job(sim, 0, {{bo + 0x2000, Access::Read}}, &job);
  EXPECT_EQ(sim.job(job).failed, 1U);
  EXPECT_TRUE(drv.ctx_killed(0));
  drv.ctx_destroy(0);
  EXPECT_TRUE(mali_sim::testing::no_reports(sim));
}

}  // namespace
