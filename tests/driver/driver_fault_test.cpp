// Terminal faults, isolation between address spaces, leaks, ENOMEM on the fault path, GPU reset.
#include "driver/driver_rig.hpp"

namespace mali_sim::testing {
namespace {

using namespace bo_flags;

TEST(DriverFault, FaultOutsideAnyBoKillsOnlyThatContextsAddressSpace) {
  DriverRig rig;
  const CtxId bad = rig.open();
  const CtxId good = rig.open();
  const BoId gb = rig.bo(good, 64 * kPageSize, kNoExec);
  const GpuVa gva = rig.va(good, gb);
  (void)rig.bo(bad, 64 * kPageSize, kNoExec);

  // Both contexts run jobs at the same time; the bad one dereferences a stray pointer.
  auto bad_as = rig.driver->job_begin(bad);
  auto good_as = rig.driver->job_begin(good);
  ASSERT_TRUE(bad_as && good_as);
  ASSERT_NE(*bad_as, *good_as);
  AccessRequest stray;
  stray.as = static_cast<std::uint8_t>(*bad_as);
  stray.va = 0x9000'0000;
  stray.access = Access::Write;
  EXPECT_EQ(rig.gpu->access(stray).status, AccessStatus::Pending);
  std::vector<AccessResult> good_results;
  for (int i = 0; i < 64; ++i) {
    AccessRequest r;
    r.core = 1;
    r.as = static_cast<std::uint8_t>(*good_as);
    r.va = gva + static_cast<GpuVa>(i) * kPageSize;
    r.cookie = 1;
    const AccessResult res = rig.gpu->access(r);
    if (res.status != AccessStatus::Pending) good_results.push_back(res);
    rig.q.run_until(rig.q.now() + 500);
  }
  rig.q.run_until_idle(1'000'000);
  for (const auto& r : rig.completed) {
    if (r.request.cookie == 1) good_results.push_back(r);
  }
  ASSERT_EQ(good_results.size(), 64U);
  for (const auto& r : good_results) EXPECT_EQ(r.status, AccessStatus::Done) << "the other context runs on";

  const AccessResult* killed = nullptr;
  for (const auto& r : rig.completed)
    if (r.request.va == 0x9000'0000) killed = &r;
  ASSERT_NE(killed, nullptr);
  EXPECT_EQ(killed->status, AccessStatus::Failed);
  EXPECT_EQ(killed->fail, FailReason::Unmapped);
  ASSERT_EQ(rig.driver->terminal_faults().size(), 1U);
  const TerminalFault& t = rig.driver->terminal_faults()[0];
  EXPECT_EQ(t.ctx, static_cast<int>(bad));
  EXPECT_EQ(t.address, 0x9000'0000U);
  EXPECT_NE(t.reason.find("no BO"), std::string::npos);
  EXPECT_EQ(rig.driver->faulty_mask(), regs::mmu_as_irq_bits(*bad_as));
  EXPECT_EQ(rig.gpu->read32(regs::kMmuIntMask), ~regs::mmu_as_irq_bits(*bad_as)) << "faulty AS stays masked";
  ASSERT_TRUE(rig.driver->job_end(bad));
  ASSERT_TRUE(rig.driver->job_end(good));
}

TEST(DriverFault, FaultedAddressSpaceComesBackCleanOnTheContextsNextJob) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  const GpuVa v = rig.va(ctx, rig.bo(ctx, 16 * kPageSize, kNoExec));
  EXPECT_EQ(rig.touch(ctx, 0x9000'0000).status, AccessStatus::Failed);
  ASSERT_NE(rig.driver->faulty_mask(), 0U);
  EXPECT_EQ(rig.touch(ctx, v).status, AccessStatus::Done) << "re-enabled, cleared and unmasked";
  EXPECT_EQ(rig.driver->faulty_mask(), 0U);
  EXPECT_EQ(rig.gpu->read32(regs::kMmuIntMask), ~0U);
}

TEST(DriverFault, NonHeapBoAndPermissionFaultsAreTerminalNotGrown) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  const GpuVa code = rig.va(ctx, rig.bo(ctx, 64 * 1024, 0));
  // Writes to code are fine (panfrost maps BOs RW); executing a NOEXEC BO is a permission fault.
  const GpuVa data = rig.va(ctx, rig.bo(ctx, 64 * 1024, kNoExec));
  EXPECT_EQ(rig.touch(ctx, code, Access::Execute).status, AccessStatus::Done);
  EXPECT_EQ(rig.touch(ctx, data, Access::Execute).status, AccessStatus::Failed);
  ASSERT_EQ(rig.driver->terminal_faults().size(), 1U);
  EXPECT_NE(rig.driver->terminal_faults()[0].reason.find("PERM_FAULT_3 is not a translation fault"),
            std::string::npos);
  EXPECT_EQ(rig.driver->stats().grows, 0U);
}

TEST(DriverFault, TranslationFaultInANonHeapBoIsTerminal) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  const BoId b = rig.bo(ctx, 16 * kPageSize, kNoExec);
  const GpuVa v = rig.va(ctx, b);
  ASSERT_TRUE(rig.driver->madvise(ctx, b, Madvise::DontNeed));
  ASSERT_EQ(rig.driver->shrink(), 16U);  // purged: mapping gone, BO still there
  EXPECT_EQ(rig.touch(ctx, v).status, AccessStatus::Failed);
  ASSERT_EQ(rig.driver->terminal_faults().size(), 1U);
  EXPECT_NE(rig.driver->terminal_faults()[0].reason.find("is not a heap"), std::string::npos);
}

TEST(DriverFault, FreeingEverythingReturnsEveryPageAndTablePage) {
  DriverRig rig;
  const auto baseline = rig.frames.stats().allocated;
  const CtxId a = rig.open();
  const CtxId b = rig.open();
  const BoId heap = rig.bo(a, 32 << 20, kNoExec | kHeap);
  (void)rig.bo(a, 100 * kPageSize, kNoExec);
  (void)rig.bo(b, 64 * 1024, 0);
  const GpuVa hv = rig.va(a, heap);
  for (unsigned c : {0U, 5U, 15U}) ASSERT_EQ(rig.touch(a, hv + c * kSize2M).status, AccessStatus::Done);
  EXPECT_GT(rig.frames.stats().allocated, baseline + 3 * 512);
  ASSERT_TRUE(rig.driver->close(a));
  ASSERT_TRUE(rig.driver->close(b));
  EXPECT_EQ(rig.frames.stats().allocated, baseline);
  const MemoryInfo m = rig.driver->memory_info();
  EXPECT_EQ(m.shmem.shmem, 0U);
  EXPECT_EQ(m.shmem.unevictable, 0U);
  EXPECT_EQ(m.page_table_pages, 0U);
}

// ENOMEM at every allocation point of the fault path, in every grow configuration. A dry run
// counts the allocation calls one grow makes (pages, a 2 MiB page under THP, the page tables its
// mapping needs); then each of them fails in turn, in a fresh driver. Each failure must leave no
// mapping and no page behind, turn the fault terminal with a clear reason, and let the next job
// grow the heap.
struct EnomemCase {
  const char* name;
  std::string policy;
  bool thp = false;
  PtFormat format = PtFormat::MaliLpae;
  std::uint64_t heap_bytes = 8 << 20;
  GpuVa offset = 0x10;  // where in the heap the access faults
};

class DriverEnomem : public ::testing::TestWithParam<EnomemCase> {};

TEST_P(DriverEnomem, EveryAllocationPointOfTheFaultPathFailsCleanly) {
  const EnomemCase& c = GetParam();
  const auto setup = [&](DriverRig& rig, CtxId& ctx, GpuVa& hv) {
    ctx = rig.open();
    hv = rig.va(ctx, rig.bo(ctx, c.heap_bytes, kNoExec | kHeap)) + c.offset;
    ASSERT_TRUE(rig.driver->job_begin(ctx));  // AS enabled before arming the failure
    ASSERT_TRUE(rig.driver->job_end(ctx));
  };
  const auto config = [&] {
    DriverConfig d = driver_config(c.policy);
    d.transparent_huge_pages = c.thp;
    d.format = c.format;
    return d;
  };
  // The dry run: how many allocation calls the grow makes.
  std::uint64_t points = 0;
  {
    DriverRig rig(config());
    CtxId ctx = 0;
    GpuVa hv = 0;
    setup(rig, ctx, hv);
    const std::uint64_t calls = rig.frames.stats().allocs;
    ASSERT_EQ(rig.touch(ctx, hv).status, AccessStatus::Done);
    points = rig.frames.stats().allocs - calls;
    ASSERT_GT(points, 0U);
  }
  for (std::uint64_t n = 1; n <= points; ++n) {
    SCOPED_TRACE(::testing::Message() << c.name << ": allocation " << n << " of " << points);
    DriverRig rig(config());
    CtxId ctx = 0;
    GpuVa hv = 0;
    setup(rig, ctx, hv);
    const auto before = rig.frames.stats().allocated;
    rig.frames.fail_nth_alloc(n);
    const AccessResult r = rig.touch(ctx, hv);
    rig.frames.fail_nth_alloc(0);
    if (c.thp && n == 1) {
      // No 2 MiB page: the grow falls back to 512 small pages, as shmem does without a huge page.
      ASSERT_EQ(r.status, AccessStatus::Done);
      EXPECT_EQ(rig.driver->context_info(ctx)->heap_rss, kSize2M);
      EXPECT_TRUE(rig.driver->terminal_faults().empty());
      continue;
    }
    ASSERT_EQ(r.status, AccessStatus::Failed);
    ASSERT_EQ(rig.driver->terminal_faults().size(), 1U);
    const std::string& reason = rig.driver->terminal_faults()[0].reason;
    EXPECT_TRUE(reason.find("out of memory") != std::string::npos ||
                reason.find("no free frame") != std::string::npos)
        << reason;
    ASSERT_EQ(rig.frames.stats().allocated, before) << "no page or table kept";
    EXPECT_EQ(rig.driver->context_info(ctx)->heap_rss, 0U);
    EXPECT_EQ(rig.driver->stats().enomem_faults, 1U);
    ASSERT_EQ(rig.touch(ctx, hv).status, AccessStatus::Done) << "memory is back: the next job grows";
  }
  // How many points there are, by reasoning: 512 pages (or one 2 MiB page under THP), or the
  // policy's granule, plus the level-1, 2 and 3 tables the first mapping in the heap needs (no
  // level-3 table for a 2 MiB block).
  std::uint64_t expected = 0;
  if (c.thp) {
    expected = 1 + 2;
  } else if (c.policy == "pages:64") {
    expected = 64 + 3;
  } else {
    expected = 512 + 3;
  }
  EXPECT_EQ(points, expected);
}

INSTANTIATE_TEST_SUITE_P(
    Configurations, DriverEnomem,
    ::testing::Values(
        EnomemCase{"panfrost_2m", "panfrost-2m"}, EnomemCase{"thp", "panfrost-2m", true},
        EnomemCase{"pages_64", "pages:64"}, EnomemCase{"kbase_extension_512", "kbase-extension:512"},
        EnomemCase{"aarch64_tables", "panfrost-2m", false, PtFormat::Aarch64_4K},
        // A fault 1 GiB into a 2 GiB heap: a level-1 entry of its own, so new level-2 and 3 tables.
        EnomemCase{"new_tables_far_in_the_heap", "panfrost-2m", false, PtFormat::MaliLpae, 2ULL << 30,
                   (1ULL << 30) + 0x10}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(DriverFault, MemoryPressurePurgesDontNeedBosToGrowAHeap) {
  DriverRig rig(driver_config(), rig_spec(), 8ULL << 20);  // 8 MiB of memory
  const CtxId ctx = rig.open();
  const BoId cache = rig.bo(ctx, 6 << 20, kNoExec);  // 6 MiB the app no longer needs: 2 MiB too many
  ASSERT_TRUE(rig.driver->madvise(ctx, cache, Madvise::DontNeed));
  const GpuVa hv = rig.va(ctx, rig.bo(ctx, 4 << 20, kNoExec | kHeap));
  EXPECT_EQ(rig.touch(ctx, hv).status, AccessStatus::Done);
  EXPECT_EQ(rig.driver->stats().purged_bos, 1U);
  EXPECT_FALSE(*rig.driver->madvise(ctx, cache, Madvise::WillNeed));
}

TEST(DriverFault, StuckAsActiveTimesOutAndIsHandledAsAGpuReset) {
  GpuSpec s = rig_spec();
  s.cmd_flush_mem = 500'000'000;  // half a second at 1 GHz: past panfrost's 100 ms timeout
  DriverRig rig(driver_config(), s);
  const CtxId ctx = rig.open();
  (void)rig.bo(ctx, 4096, kNoExec);
  (void)rig.driver->job_begin(ctx);
  EXPECT_GE(rig.driver->stats().gpu_resets, 1U);
  EXPECT_EQ(rig.driver->context_info(ctx)->as, -1) << "bindings are forgotten by the reset";
  // panfrost_device_reset(): the GPU itself was reset (the probe's reset, then this one), and the
  // driver powered it up again and unmasked its interrupts.
  EXPECT_EQ(rig.gpu->control().resets(), 2U);
  EXPECT_EQ(rig.gpu->read32(regs::kShaderReadyLo), static_cast<std::uint32_t>(rig.spec.core_mask()));
  EXPECT_EQ(rig.gpu->read32(regs::kMmuIntMask), ~0U);
  EXPECT_EQ(rig.gpu->read32(regs::kJobIntMask), 0x00070007U);
}

}  // namespace
}  // namespace mali_sim::testing

namespace mali_sim::testing {
namespace {

TEST(DriverAddressSpaces, ContextsReuseTheirAsTakeFreeOnesThenStealTheLeastRecentlyUsedIdleOne) {
  DriverRig rig;  // AS_PRESENT 0x0F: four address spaces
  std::vector<CtxId> ctx;
  for (int i = 0; i < 5; ++i) ctx.push_back(rig.open());
  for (int i = 0; i < 4; ++i) {
    auto as = rig.driver->job_begin(ctx[static_cast<std::size_t>(i)]);
    ASSERT_TRUE(as);
    EXPECT_EQ(*as, static_cast<unsigned>(i)) << "free address spaces are taken lowest first";
  }
  EXPECT_EQ(rig.driver->job_begin(ctx[4]).error().code, Errc::kBusy) << "all four run jobs";
  for (int i : {2, 0, 3, 1}) ASSERT_TRUE(rig.driver->job_end(ctx[static_cast<std::size_t>(i)]));
  // Context 2 finished first but context 0..3 were all used; LRU order is by last as_get: 0,1,2,3
  // got their AS in that order, so context 0's AS0 is the least recently used.
  auto stolen = rig.driver->job_begin(ctx[4]);
  ASSERT_TRUE(stolen);
  EXPECT_EQ(*stolen, 0U);
  EXPECT_EQ(rig.driver->context_info(ctx[0])->as, -1) << "the victim lost its AS";
  EXPECT_EQ(rig.driver->stats().as_steals, 1U);
  auto again = rig.driver->job_begin(ctx[1]);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 1U) << "a bound context keeps its AS";
  EXPECT_EQ(rig.driver->stats().as_enables, 5U) << "re-use needs no enable";
}

}  // namespace
}  // namespace mali_sim::testing
