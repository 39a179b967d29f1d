// The driver checker against a deliberately buggy driver: each detector catches the bug planted
// for it (the review's findings and their relatives), and a correct driver gets no report.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "buggy_driver.hpp"
#include "mali_sim/harness/gtest.hpp"

namespace mali_sim::test {
namespace {

constexpr std::uint64_t kBo = 64 * 1024;
constexpr std::uint64_t kHeap = 8 * kSize2M;

GpuSpec g52() { return gpu_preset("g52").value(); }

Bugs with(bool Bugs::*bug) {
  Bugs b;
  b.*bug = true;
  return b;
}

SimulatorOptions quiet() {
  SimulatorOptions o;
  o.check_config.log = false;
  return o;
}

std::vector<CheckReport> of(const Checker& c, Detector d) {
  std::vector<CheckReport> out;
  for (const auto& r : c.reports())
    if (r.detector == d) out.push_back(r);
  return out;
}

// Runs `accesses` on the driver's AS and waits for them (false if they never finish).
bool run_job(BuggyDriver& d, std::vector<JobAccess> accesses, Cycle timeout = 10'000'000) {
  const auto job = d.sim().submit(BuggyDriver::kAs, std::move(accesses));
  return d.sim().run_until_done(job, timeout);
}

TEST(Checker, ACorrectDriverRunsAFullLifecycleWithoutReports) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, {});
  const GpuVa bo = d.create_bo(kBo);
  const GpuVa heap = d.create_bo(kHeap, /*heap=*/true);
  ASSERT_TRUE(run_job(d, {{bo, Access::Write},
                          {bo + 0x8000, Access::Read},
                          {heap + 3 * kSize2M + 8, Access::Write},
                          {heap + 5 * kSize2M, Access::Write},
                          {heap + 3 * kSize2M + 64, Access::Read}}));
  EXPECT_EQ(sim.job(0).done, 5U);
  d.free_bo(heap);
  d.free_bo(bo);
  d.destroy();
  sim.run_until_idle();
  EXPECT_TRUE(mali_sim::testing::no_reports(sim));
}

// ---- 1. stale translation ---------------------------------------------------------------------

TEST(Checker, AnUnmapWithoutFlushIsCaughtWhenTheGpuUsesTheStaleEntry) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, with(&Bugs::skip_flush_after_unmap));
  const GpuVa bo = d.create_bo(kBo);
  const GpuVa keep = d.create_bo(kBo);
  ASSERT_TRUE(run_job(d, {{bo + 0x1000, Access::Read}}));
  d.free_bo(bo);
  EXPECT_TRUE(sim.checker()->reports().empty()) << "nothing is wrong until the GPU uses the entry";
  ASSERT_TRUE(run_job(d, {{bo + 0x1000, Access::Read}})) << "the stale uTLB entry still translates";
  const auto r = of(*sim.checker(), Detector::StaleTranslation);
  ASSERT_EQ(r.size(), 1U) << "one report per stale entry";
  EXPECT_EQ(r[0].as, 0);
  EXPECT_EQ(r[0].address, bo + 0x1000);
  EXPECT_NE(r[0].what.find("uTLB"), std::string::npos) << r[0].what;
  EXPECT_NE(r[0].fix.find("UNLOCK"), std::string::npos);
  (void)keep;
}

TEST(Checker, AFlushedUnmapLeavesNoStaleEntryToReport) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, {});
  const GpuVa bo = d.create_bo(kBo);
  ASSERT_TRUE(run_job(d, {{bo + 0x1000, Access::Read}}));
  d.free_bo(bo);
  // The access now faults (the driver kills the AS); what matters is that no stale entry served it.
  (void)run_job(d, {{bo + 0x1000, Access::Read}}, 100'000);
  EXPECT_EQ(sim.checker()->count(Detector::StaleTranslation), 0U);
}

// ---- 2. interrupt left asserted --------------------------------------------------------------

TEST(Checker, AHandlerThatNeverClearsTheInterruptIsReportedAsAStorm) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, with(&Bugs::irq_never_clears));
  const GpuVa heap = d.create_bo(kHeap, true);
  sim.submit(BuggyDriver::kAs, {{heap, Access::Write}});
  EXPECT_FALSE(sim.run_until_idle(20'000)) << "the level-triggered line keeps firing";
  std::vector<CheckReport> storms;
  for (const auto& r : of(*sim.checker(), Detector::IrqLeftAsserted))
    if (r.what.find("storm") != std::string::npos) storms.push_back(r);
  ASSERT_EQ(storms.size(), 1U) << "one report per storm, not one per delivery";
  EXPECT_NE(storms[0].what.find("returned 8 times"), std::string::npos) << storms[0].what;
  EXPECT_NE(storms[0].fix.find("MMU_INT_CLEAR"), std::string::npos);
}

TEST(Checker, AFaultMaskedAndNeverHandledIsReportedWhenNothingIsLeftToRun) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, with(&Bugs::irq_masks_and_forgets));
  const GpuVa heap = d.create_bo(kHeap, true);
  const auto job = sim.submit(BuggyDriver::kAs, {{heap + 0x40, Access::Write}});
  EXPECT_TRUE(sim.run_until_idle());
  EXPECT_FALSE(sim.job(job).finished());
  EXPECT_EQ(sim.checker()->count(Detector::IrqLeftAsserted), 0U) << "masking is progress: no storm";
  sim.check();
  const auto r = of(*sim.checker(), Detector::IrqLeftAsserted);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_EQ(r[0].address, heap + 0x40);
  EXPECT_NE(r[0].what.find("nothing is left to run"), std::string::npos) << r[0].what;
}

TEST(Checker, AFaultPendingLongerThanTheBoundIsReportedWhileOtherWorkRuns) {
  SimulatorOptions opt = quiet();
  opt.check_config.fault_pending_bound = 5'000;
  Simulator sim(g52(), opt);
  BuggyDriver d(sim, with(&Bugs::irq_masks_and_forgets));
  const GpuVa heap = d.create_bo(kHeap, true);
  const GpuVa bo = d.create_bo(kBo);
  sim.submit(BuggyDriver::kAs, {{heap, Access::Write}});
  std::vector<JobAccess> busy(200, JobAccess{bo, Access::Read, 100});
  sim.submit(BuggyDriver::kAs, busy, /*core=*/1);
  sim.run_until(2'000);
  EXPECT_EQ(sim.checker()->count(Detector::IrqLeftAsserted), 0U) << "within the bound";
  sim.run_until(30'000);
  EXPECT_EQ(sim.checker()->count(Detector::IrqLeftAsserted), 1U);
}

TEST(Checker, AThreadThatMasksAndUnmasksButNeverClearsIsReportedAfterTheRoundLimitNotTheBound) {
  // panfrost's layout: the hard half masks MMU_INT_MASK, the thread unmasks at its end. A thread
  // that never writes MMU_INT_CLEAR brings the interrupt back round after round; every round masks
  // and unmasks (no storm), and the fault bit never goes down.
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, with(&Bugs::irq_never_clears), Style::Threaded);
  const GpuVa heap = d.create_bo(kHeap, true);
  sim.submit(BuggyDriver::kAs, {{heap + 0x40, Access::Write}});
  sim.run_for(2'000'000);
  const auto r = of(*sim.checker(), Detector::IrqLeftAsserted);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_NE(r[0].what.find("through 8 deliveries of the MMU interrupt"), std::string::npos) << r[0].what;
  EXPECT_LT(r[0].at, sim.checker()->config().fault_pending_bound) << "long before the pending bound";
  EXPECT_NE(r[0].fix.find("MMU_INT_CLEAR"), std::string::npos);
}

TEST(Checker, AHandlerThatNeverClearsWithZeroInterruptLatencyIsAStormAndTheClockStillMoves) {
  GpuSpec spec = g52();
  spec.irq_latency = 0;
  Simulator sim(spec, quiet());
  BuggyDriver d(sim, with(&Bugs::irq_never_clears));
  const GpuVa heap = d.create_bo(kHeap, true);
  sim.submit(BuggyDriver::kAs, {{heap, Access::Write}});
  const Cycle t0 = sim.now();
  sim.run_for(10'000);  // returns: the line comes back once a cycle, not forever at one cycle
  EXPECT_EQ(sim.now(), t0 + 10'000);
  bool storm = false;
  for (const auto& r : of(*sim.checker(), Detector::IrqLeftAsserted))
    storm |= r.what.find("storm") != std::string::npos;
  EXPECT_TRUE(storm);
}

TEST(Checker, AMaskedFaultWithAStalledAccessIsReportedAtTheCycleTheBoundPasses) {
  // Nothing happens after the handler masks the fault: no register access, no event. The report
  // comes from the checker's watchdog at the first cycle past the bound, not from the end checks.
  SimulatorOptions opt = quiet();
  opt.check_config.fault_pending_bound = 5'000;
  Simulator sim(g52(), opt);
  BuggyDriver d(sim, with(&Bugs::irq_masks_and_forgets));
  const GpuVa heap = d.create_bo(kHeap, true);
  sim.submit(BuggyDriver::kAs, {{heap + 0x40, Access::Write}});
  ASSERT_TRUE(sim.run_until([&] { return sim.gpu().counters().faults_recorded > 0; }, sim.now() + 100'000));
  const Cycle recorded = sim.now();
  sim.run_for(30'000);
  const auto r = of(*sim.checker(), Detector::IrqLeftAsserted);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_EQ(r[0].at, recorded + 5'000 + 1);
}

TEST(Checker, AnInterruptMaskWrittenBeforeTheAsLeavesTheFaultyMaskIsReportedWhenTheBoundPasses) {
  // The worked example of docs/driver-testing.md: after a terminal fault the driver kills the AS
  // and keeps its bits masked; re-enabling it, it writes MMU_INT_MASK from the faulty mask before
  // taking the AS out of it. The AS's next fault stays masked and its access stalls.
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, with(&Bugs::mask_before_clear), Style::Threaded);
  const GpuVa heap = d.create_bo(kHeap, true);
  const auto stray = sim.submit(BuggyDriver::kAs, {{0x7000'0000, Access::Read}});
  ASSERT_TRUE(sim.run_until_done(stray, 5'000'000));
  ASSERT_TRUE(sim.run_until([&] { return d.killed(); }, sim.now() + 1'000'000));
  sim.run_for(20'000);
  d.reenable();
  EXPECT_EQ(sim.mmio().read32(regs::kMmuIntMask), 0U) << "the bug: AS0's bits stay masked";
  sim.submit(BuggyDriver::kAs, {{heap + 0x40, Access::Write}});
  ASSERT_TRUE(sim.run_until([&] { return sim.gpu().counters().faults_recorded > 1; }, sim.now() + 100'000));
  const Cycle recorded = sim.now();
  sim.run_for(20'000'000);
  const auto r = of(*sim.checker(), Detector::IrqLeftAsserted);
  ASSERT_EQ(r.size(), 1U);
  const Cycle bound = sim.checker()->config().fault_pending_bound;
  EXPECT_EQ(r[0].at, recorded + bound + 1) << r[0].to_string();
  EXPECT_EQ(r[0].address, heap + 0x40);
  std::printf("%s\n", r[0].to_string().c_str());  // quoted in docs/driver-testing.md
}

TEST(Checker, AHeapFaultingPageAfterPageFasterThanTheBoundIsProgressNotAPendingFault) {
  // A correct driver grows a heap under a stream of writes, one 2 MiB chunk after another: some
  // access waits on a fault nearly all the time, for far longer than the bound in all, but each
  // fault is handled well within it. A fault at a new page is the driver's progress.
  SimulatorOptions opt = quiet();
  opt.check_config.fault_pending_bound = 5'000;
  Simulator sim(g52(), opt);
  BuggyDriver d(sim, {});
  const GpuVa heap = d.create_bo(kHeap, true);
  std::vector<JobAccess> stream;
  for (unsigned chunk = 0; chunk < 8; ++chunk)
    for (unsigned i = 0; i < 16; ++i)
      stream.push_back(JobAccess{heap + chunk * kSize2M + i * 64, Access::Write, 1});
  const Cycle t0 = sim.now();
  ASSERT_TRUE(run_job(d, stream));
  ASSERT_GT(sim.now() - t0, 3U * 5'000U) << "the faults together outlast the bound";
  EXPECT_TRUE(mali_sim::testing::no_reports(sim));
}

TEST(Checker, AFaultClearedAndRetriedWithoutAMappingIsStillPendingAfterTheBound) {
  // The driver clears the interrupt and flushes, so the stalled access retries, faults at the
  // same page again and is recorded again: no progress, and the wait counts from the first.
  SimulatorOptions opt = quiet();
  opt.check_config.fault_pending_bound = 5'000;
  Simulator sim(g52(), opt);
  BuggyDriver d(sim, with(&Bugs::retry_without_mapping));
  const GpuVa heap = d.create_bo(kHeap, true);
  sim.submit(BuggyDriver::kAs, {{heap + 0x40, Access::Write}});
  sim.run_until(sim.now() + 30'000);
  EXPECT_GT(sim.gpu().counters().faults_recorded, 2U) << "it faulted again and again";
  const auto r = of(*sim.checker(), Detector::IrqLeftAsserted);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_EQ(r[0].address, heap + 0x40);
}

// ---- 3. leaked pages --------------------------------------------------------------------------

TEST(Checker, GrownPagesTheDriverDidNotKeepAreReportedAsALeakAtTeardown) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, with(&Bugs::lose_grown_pages));
  const GpuVa heap = d.create_bo(kHeap, true);
  ASSERT_TRUE(run_job(d, {{heap, Access::Write}, {heap + kSize2M, Access::Write}}));
  d.free_bo(heap);
  EXPECT_EQ(sim.checker()->count(Detector::LeakedPages), 0U) << "the BO itself held nothing it knew of";
  d.destroy();
  const auto r = of(*sim.checker(), Detector::LeakedPages);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_NE(r[0].what.find("frames allocated"), std::string::npos) << r[0].what;
  EXPECT_NE(r[0].what.find("+1024 pages"), std::string::npos) << "two 2 MiB grows: " << r[0].what;
}

TEST(Checker, ABoFreedWithItsRangeStillMappedIsReported) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, with(&Bugs::forget_unmap_on_free));
  const GpuVa bo = d.create_bo(kBo);
  d.page_table();  // the mapping stays in it
  sim.checker()->clear();
  d.free_bo(bo);
  bool still_mapped = false;
  for (const auto& r : of(*sim.checker(), Detector::LeakedPages))
    still_mapped |= r.what.find("still mapped") != std::string::npos && r.address == bo;
  EXPECT_TRUE(still_mapped);
}

TEST(Checker, PagesStillHeldAtTeardownAreReported) {
  Simulator sim(g52(), quiet());
  Checker& c = *sim.checker();
  std::uint64_t held = 3;
  Checker::Object bo;
  bo.name = "my BO";
  bo.pages_held = [&] { return held; };
  const auto id = c.object_created(std::move(bo));
  c.object_destroyed(id);
  const auto r = of(c, Detector::LeakedPages);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_NE(r[0].what.find("still holding 3 pages"), std::string::npos) << r[0].what;
}

// ---- 4. use after free ------------------------------------------------------------------------

TEST(Checker, PagesFreedBeforeTheirUnmapAreReportedAsUseAfterFree) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, with(&Bugs::free_pages_before_unmap));
  const GpuVa bo = d.create_bo(kBo);
  d.free_bo(bo);
  const auto r = of(*sim.checker(), Detector::UseAfterFree);
  EXPECT_EQ(r.size(), kBo / kPageSize) << "one report per mapped page";
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0].address, bo);
}

TEST(Checker, MappingAFrameThatWasNeverAllocatedIsReported) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, {});
  const PhysAddr stray = 0x80'0000;  // not from the allocator
  ASSERT_FALSE(sim.frames().is_allocated(stray));
  ASSERT_TRUE(d.page_table().map(0x4000'0000, stray, kPageSize, BuggyDriver::kRw));
  EXPECT_EQ(sim.checker()->count(Detector::UseAfterFree), 1U);
}

// ---- 5. mapping errors ------------------------------------------------------------------------

TEST(Checker, WritingInvalidOverAnInvalidEntryIsSilent) {
  // io-pgtable clears a table entry, frees the table, and writes 0 over the entry again when it
  // unmaps a 2 MiB range mapped with 4 KiB pages; a driver may unmap heap chunks never grown.
  // Neither changes anything the GPU can see.
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, {});
  const GpuVa bo = d.create_bo(kBo);
  const WalkResult w = d.walk_of(bo + kSize2M);  // the next 2 MiB: nothing mapped
  ASSERT_FALSE(w.ok());
  const PhysAddr empty_slot = w.reads[w.num_reads - 1].pa;
  sim.mem().write64(empty_slot, 0);
  sim.mem().write64(empty_slot, 0);
  EXPECT_TRUE(sim.checker()->reports().empty());
}

TEST(Checker, RewritingALiveDescriptorWithOnlySoftwareBitsChangedIsSilentAndNeedsNoFlush) {
  // io-pgtable on a non-coherent walk installs a table descriptor, then writes it again with
  // software bit 55 (ARM_LPAE_PTE_SW_SYNC) set: the walker ignores bits 55-58.
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, {});
  const GpuVa bo = d.create_bo(kBo);
  const WalkResult w = d.walk_of(bo);
  ASSERT_TRUE(w.ok());
  for (unsigned i = 0; i < w.num_reads; ++i) {  // every table descriptor on the way, and the leaf
    std::uint64_t desc = 0;
    ASSERT_TRUE(sim.mem().read64(w.reads[i].pa, desc));
    sim.mem().write64(w.reads[i].pa, desc | BuggyDriver::kSwSync);
  }
  // No change was recorded: a flush of an unrelated page is no LOCK region that misses one.
  d.flush(0x7000'0000, kPageSize);
  EXPECT_TRUE(sim.checker()->reports().empty());
  ASSERT_TRUE(run_job(d, {{bo, Access::Read}})) << "the walker takes the tagged descriptors as before";
  EXPECT_TRUE(sim.checker()->reports().empty());
}

TEST(Checker, ChangingALiveLeafsMemoryAttributesOrSizeNeedsBreakBeforeMake) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, {});
  const GpuVa bo = d.create_bo(kBo);
  const WalkResult w = d.walk_of(bo);
  ASSERT_TRUE(w.ok());
  std::uint64_t leaf = 0;
  ASSERT_TRUE(sim.mem().read64(w.reads[3].pa, leaf));
  // Another MEMATTR slot (AttrIndx, bits 4:2), same page: the memory type changes.
  sim.mem().write64(w.reads[3].pa, leaf ^ (1ULL << 2));
  auto r = of(*sim.checker(), Detector::MappingError);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_NE(r[0].what.find("replaced while live"), std::string::npos) << r[0].what;
  // The level-2 table descriptor replaced by a 2 MiB block of the same address: the size changes.
  sim.checker()->clear();
  std::uint64_t table = 0;
  ASSERT_TRUE(sim.mem().read64(w.reads[2].pa, table));
  const auto& fmt = pte_format(PtFormat::MaliLpae);
  sim.mem().write64(w.reads[2].pa,
                    fmt.make_leaf(PteFormat::output_address(table) & ~(kSize2M - 1), 2, BuggyDriver::kRw));
  r = of(*sim.checker(), Detector::MappingError);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_NE(r[0].what.find("replaced while live"), std::string::npos) << r[0].what;
}

TEST(Checker, OverwritingALiveEntryIsReported) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, {});
  const GpuVa bo = d.create_bo(kBo);
  const WalkResult w = d.walk_of(bo);
  ASSERT_TRUE(w.ok());
  const PhysAddr other = *sim.frames().alloc_frame();
  const auto& fmt = pte_format(PtFormat::MaliLpae);
  sim.mem().write64(w.reads[w.num_reads - 1].pa, fmt.make_leaf(other, 3, BuggyDriver::kRw));
  const auto r = of(*sim.checker(), Detector::MappingError);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_NE(r[0].what.find("replaced while live"), std::string::npos) << r[0].what;
  // A permission change of the same page is not a remap.
  sim.checker()->clear();
  sim.mem().write64(w.reads[w.num_reads - 1].pa, fmt.make_leaf(other, 3, prot::kRead | prot::kNoExec));
  EXPECT_EQ(sim.checker()->count(Detector::MappingError), 0U);
}

TEST(Checker, ATablePageFreedWhileLinkedIntoALiveTableIsReported) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, {});
  (void)d.create_bo(kBo);                       // the level-1 and level-2 tables of the first GiB now exist
  const WalkResult w = d.walk_of(0x2000'0000);  // same level-2 table, empty slot
  ASSERT_EQ(w.num_reads, 3U);
  const PhysAddr slot = w.reads[2].pa;
  const PhysAddr table = *sim.frames().alloc_frame();
  const auto& fmt = pte_format(PtFormat::MaliLpae);
  sim.mem().write64(slot, fmt.make_table(table));
  ASSERT_TRUE(sim.frames().free_frame(table));
  const auto r = of(*sim.checker(), Detector::MappingError);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_NE(r[0].what.find("freed while still linked"), std::string::npos) << r[0].what;
  EXPECT_EQ(r[0].address, 0x2000'0000U);
  sim.mem().write64(slot, fmt.invalid());  // unlinking it late is quiet
  EXPECT_EQ(sim.checker()->reports().size(), 1U);
}

// ---- 6. command misuse ------------------------------------------------------------------------

TEST(Checker, ACommandWrittenWhileActiveIsReported) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, with(&Bugs::no_wait_ready));
  (void)d.create_bo(kBo);  // LOCK then FLUSH_PT back to back
  bool found = false;
  for (const auto& r : of(*sim.checker(), Detector::CommandMisuse))
    found |= r.what.find("ACTIVE") != std::string::npos;
  EXPECT_TRUE(found);
}

TEST(Checker, AFlushWithoutLockIsReported) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, with(&Bugs::flush_without_lock));
  (void)d.create_bo(kBo);
  const auto r = of(*sim.checker(), Detector::CommandMisuse);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_NE(r[0].what.find("without a preceding LOCK"), std::string::npos) << r[0].what;
}

TEST(Checker, ALockRegionThatMissesPartOfTheUnmappedRangeIsReported) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, with(&Bugs::lock_only_first_page));
  const GpuVa bo = d.create_bo(4 * kBo);  // 256 KiB; the lock covers 32 KiB of it
  EXPECT_EQ(sim.checker()->count(Detector::CommandMisuse), 0U) << "a new mapping needs no invalidation";
  d.free_bo(bo);
  const auto r = of(*sim.checker(), Detector::CommandMisuse);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_NE(r[0].what.find("outside"), std::string::npos) << r[0].what;
  EXPECT_EQ(r[0].address, bo + 0x8000) << "the first page past the 32 KiB region";
}

TEST(Checker, EachUnlinkedTableNeedsItsOwnOverlapWithTheFlushedRegion) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, {});
  (void)d.create_bo(kBo);  // gives the level-1 table for the first 512 GiB
  // Link two empty level-2 tables for [1 GiB, 2 GiB) and [2 GiB, 3 GiB), then unlink both.
  const PhysAddr l1 = walk(
                          sim.mem(),
                          [&] {
                            WalkConfig wc;
                            wc.mode = TranslationMode::MaliLpae;
                            wc.table_base = d.page_table().pgd();
                            return wc;
                          }(),
                          0x4000'0000)
                          .reads[1]
                          .pa &
                      ~(kPageSize - 1);
  const auto& fmt = pte_format(PtFormat::MaliLpae);
  PhysAddr slots[2] = {l1 + 1 * 8, l1 + 2 * 8};
  for (PhysAddr slot : slots) sim.mem().write64(slot, fmt.make_table(*sim.frames().alloc_frame()));
  for (PhysAddr slot : slots) sim.mem().write64(slot, fmt.invalid());
  d.flush(0x4000'0000, kPageSize);  // overlaps the first range only
  const auto r = of(*sim.checker(), Detector::CommandMisuse);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_EQ(r[0].address, 0x8000'0000U) << r[0].what;
}

TEST(Checker, AnUpdateWhileAFaultIsPendingIsReported) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, with(&Bugs::irq_masks_and_forgets));
  const GpuVa heap = d.create_bo(kHeap, true);
  sim.submit(BuggyDriver::kAs, {{heap, Access::Read}});
  sim.run_until_idle();
  d.command(AsCommand::Update);  // same table, fault not cleared
  const auto r = of(*sim.checker(), Detector::CommandMisuse);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_NE(r[0].what.find("while a fault is pending"), std::string::npos) << r[0].what;
}

// ---- 7. executable heap -----------------------------------------------------------------------

TEST(Checker, AHeapGrownExecutableOnAFaultIsReported) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, with(&Bugs::heap_executable));
  const GpuVa heap = d.create_bo(kHeap, true);
  ASSERT_TRUE(run_job(d, {{heap + kSize2M + 0x100, Access::Write}}));
  const auto r = of(*sim.checker(), Detector::ExecutableHeap);
  ASSERT_EQ(r.size(), 1U) << "one report per grow, not per page";
  EXPECT_EQ(r[0].address, heap + kSize2M);
}

TEST(Checker, AnExecutableMappingResolvingAFaultIsReportedWithoutAnyDeclaration) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, with(&Bugs::irq_masks_and_forgets));
  const GpuVa va = 0x7000'0000;  // no object declared there
  sim.submit(BuggyDriver::kAs, {{va + 0x10, Access::Write}});
  sim.run_until_idle();
  ASSERT_TRUE(d.page_table().map(va, *sim.frames().alloc_frame(), kPageSize, prot::kRead | prot::kWrite));
  const auto r = of(*sim.checker(), Detector::ExecutableHeap);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_NE(r[0].what.find("page fault"), std::string::npos) << r[0].what;
}

TEST(Checker, ExecutableCodeMappedWithoutAFaultIsFine) {
  Simulator sim(g52(), quiet());
  BuggyDriver d(sim, {});
  (void)d.create_bo(kBo, /*heap=*/false, /*exec=*/true);
  EXPECT_EQ(sim.checker()->count(Detector::ExecutableHeap), 0U);
}

// ---- reports, options ---------------------------------------------------------------------------

TEST(Checker, FailOnReportTurnsAReportIntoATestFailure) {
  EXPECT_NONFATAL_FAILURE(
      {
        SimulatorOptions opt = quiet();
        mali_sim::testing::fail_on_report(opt.check_config);
        Simulator sim(g52(), opt);
        sim.mmio().write32(regs::kMmuIntStat, 1);  // a read-only register
      },
      "[command-misuse]");
}

TEST(Checker, ADisabledDetectorStaysSilent) {
  SimulatorOptions opt = quiet();
  opt.check_config.enable(Detector::CommandMisuse, false);
  Simulator sim(g52(), opt);
  BuggyDriver d(sim, with(&Bugs::flush_without_lock));
  (void)d.create_bo(kBo);
  EXPECT_TRUE(sim.checker()->reports().empty());
}

TEST(Checker, AReportNamesDetectorCycleAsAndAddress) {
  CheckReport r{Detector::StaleTranslation, 1234, 1, 0x100'0000, false, "what happened", "what to do"};
  EXPECT_EQ(r.to_string(), "[stale-translation] cycle 1234 AS1 VA 0x1000000: what happened. Fix: what to do");
  EXPECT_EQ(detector_from_string("executable-heap"), Detector::ExecutableHeap);
  EXPECT_FALSE(detector_from_string("nonsense").has_value());
}

TEST(Checker, WithoutTheCheckerTheSimulatorHasNone) {
  SimulatorOptions opt;
  opt.check = false;
  Simulator sim(g52(), opt);
  EXPECT_EQ(sim.checker(), nullptr);
  EXPECT_TRUE(sim.check().empty());
}

}  // namespace
}  // namespace mali_sim::test
