// The register sequences the reference driver writes, compared with panfrost's (reference: AS
// enable = LOCK(0, ~0) + FLUSH_MEM, TRANSTAB/MEMATTR/TRANSCFG, UPDATE; map flush = LOCKADDR,
// LOCK, FLUSH_PT; IRQ: hard half masks, threaded half reads the fault, clears it before handling,
// re-reads RAWSTAT and finally unmasks). AS_STATUS polls are folded: how many there are depends
// on timing, not on the protocol.
#include <fmt/format.h>

#include "driver/driver_rig.hpp"

namespace mali_sim::testing {
namespace {

using namespace bo_flags;

std::vector<std::string> protocol(const std::vector<MmioRecord>& log) {
  std::vector<std::string> out;
  for (const auto& r : log) {
    const bool status = !r.write && regs::as_reg_decode(r.offset) &&
                        regs::as_reg_decode(r.offset)->reg_in_block == regs::kAsStatus;
    std::string line =
        status ? fmt::format("R {} (poll)", register_name(r.offset))
               : fmt::format("{} {} {:#x}", r.write ? "W" : "R", register_name(r.offset), r.value);
    if (status && !out.empty() && out.back() == line) continue;
    out.push_back(line);
  }
  return out;
}

TEST(DriverMmioSequence, ProbeMatchesPanfrost) {
  // panfrost_device_init(): panfrost_gpu_soft_reset() (poll RAWSTAT every 10 us), then
  // panfrost_gpu_init_features() in its order, the power-on with its quirks (G52-class: the IDVS
  // group size in JM_CONFIG; TILER_CONFIG read back and written), L2, shader cores, tiler, each
  // polled READY; then the MMU reset and the job interrupts of slots 0 to 2 (docs/hardware-facts.md
  // §9.4 to §9.6). The rig's GPU powers up at once, so each READY poll takes one read; its reset
  // takes 5 us, so the first RAWSTAT read misses it and the one after a 10 us sleep sees it.
  DriverRig rig;
  const std::vector<std::string> expected = {
      "W GPU_INT_MASK 0x0",
      "W GPU_INT_CLEAR 0x100",
      "W GPU_CMD 0x1",
      "R GPU_INT_RAWSTAT 0x0",
      "R GPU_INT_RAWSTAT 0x100",
      "W GPU_INT_CLEAR 0x30781",
      "W GPU_INT_MASK 0x30081",
      "R L2_FEATURES 0x0",
      "R CORE_FEATURES 0x0",
      "R TILER_FEATURES 0x0",
      "R MEM_FEATURES 0x0",
      "R GPU_MMU_FEATURES 0x2830",
      "R THREAD_FEATURES 0x0",
      "R THREAD_MAX_THREADS 0x0",
      "R THREAD_MAX_WORKGROUP_SIZE 0x0",
      "R THREAD_MAX_BARRIER_SIZE 0x0",
      "R COHERENCY_FEATURES 0x0",
      "R AFBC_FEATURES 0x0",
      "R TEXTURE_FEATURES_0 0x0",
      "R TEXTURE_FEATURES_1 0x0",
      "R TEXTURE_FEATURES_2 0x0",
      "R TEXTURE_FEATURES_3 0x0",
      "R GPU_AS_PRESENT 0xf",
      "R GPU_JS_PRESENT 0x7",
      "R JS0_FEATURES 0x0",
      "R JS1_FEATURES 0x0",
      "R JS2_FEATURES 0x0",
      "R SHADER_PRESENT_LO 0xf",
      "R SHADER_PRESENT_HI 0x0",
      "R TILER_PRESENT_LO 0x1",
      "R TILER_PRESENT_HI 0x0",
      "R L2_PRESENT_LO 0x1",
      "R L2_PRESENT_HI 0x0",
      "R STACK_PRESENT_LO 0x0",
      "R STACK_PRESENT_HI 0x0",
      "R THREAD_TLS_ALLOC 0x0",
      "R GPU_ID 0x72120000",
      "W JM_CONFIG 0xf0000",
      "R TILER_CONFIG 0x0",
      "W TILER_CONFIG 0x0",
      "W L2_PWRON_LO 0x1",
      "R L2_READY_LO 0x1",
      "W SHADER_PWRON_LO 0xf",
      "R SHADER_READY_LO 0xf",
      "W TILER_PWRON_LO 0x1",
      "R TILER_READY_LO 0x1",
      "W MMU_INT_CLEAR 0xffffffff",
      "W MMU_INT_MASK 0xffffffff",
      "W JOB_INT_CLEAR 0x70007",
      "W JOB_INT_MASK 0x70007",
  };
  EXPECT_EQ(protocol(rig.driver->mmio_log()), expected);
  // Its time: the register accesses above (36 reads of 150 ns, 14 writes of 40 ns: one cycle per
  // ns at the rig's 1 GHz) and the one 10 us sleep.
  EXPECT_EQ(rig.driver->stats().probe_cycles, 36 * 150 + 14 * 40 + 10'000U);
}

TEST(DriverMmioSequence, AddressSpaceEnableMatchesPanfrost) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  rig.driver->clear_mmio_log();
  ASSERT_TRUE(rig.driver->job_begin(ctx));
  const std::vector<std::string> expected = {
      "W AS0_LOCKADDR_LO 0x3f",   "W AS0_LOCKADDR_HI 0x0",  // lock_region(0, ~0): width 63
      "R AS0_STATUS (poll)",      "W AS0_COMMAND 0x2",      // LOCK
      "R AS0_STATUS (poll)",      "W AS0_COMMAND 0x5",      // FLUSH_MEM
      "R AS0_STATUS (poll)",                                // wait for it
      "W AS0_TRANSTAB_LO 0x1007", "W AS0_TRANSTAB_HI 0x0", "W AS0_MEMATTR_LO 0x888d88",
      "W AS0_MEMATTR_HI 0x0",     "W AS0_TRANSCFG_LO 0x0", "W AS0_TRANSCFG_HI 0x0",
      "R AS0_STATUS (poll)",      "W AS0_COMMAND 0x1",  // UPDATE, not waited for
  };
  EXPECT_EQ(protocol(rig.driver->mmio_log()), expected);
}

TEST(DriverMmioSequence, MapFlushIsLockThenFlushPtOverTheBoRange) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  ASSERT_TRUE(rig.driver->job_begin(ctx));  // bound: maps must flush
  rig.driver->clear_mmio_log();
  const BoId b = rig.bo(ctx, 64 * 1024, kNoExec);
  const GpuVa v = rig.va(ctx, b);
  ASSERT_EQ(v, 0x200'0000U);
  const std::vector<std::string> expected = {
      // 64 KiB at 32 MiB: xor of first and last byte spans 16 bits -> 64 KiB region, width 15
      "W AS0_LOCKADDR_LO 0x200000f", "W AS0_LOCKADDR_HI 0x0",
      "R AS0_STATUS (poll)",         "W AS0_COMMAND 0x2",  // LOCK
      "R AS0_STATUS (poll)",         "W AS0_COMMAND 0x4",  // FLUSH_PT (implicit unlock)
      "R AS0_STATUS (poll)",
  };
  EXPECT_EQ(protocol(rig.driver->mmio_log()), expected);
  ASSERT_TRUE(rig.driver->job_end(ctx));
}

TEST(DriverMmioSequence, HeapFaultHandlingMatchesPanfrost) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  const GpuVa hv = rig.va(ctx, rig.bo(ctx, 4 << 20, kNoExec | kHeap));
  ASSERT_EQ(hv, 0x200'0000U);
  auto as = rig.driver->job_begin(ctx);
  ASSERT_TRUE(as);
  rig.q.run_until_idle();
  rig.driver->clear_mmio_log();
  AccessRequest r;
  r.va = hv + 0x20'0000 + 0x44;  // chunk 1
  r.access = Access::Write;
  r.core = 2;
  ASSERT_EQ(rig.gpu->access(r).status, AccessStatus::Pending);
  rig.q.run_until_idle();
  ASSERT_EQ(rig.completed.size(), 1U);
  EXPECT_EQ(rig.completed[0].status, AccessStatus::Done);
  const std::vector<std::string> expected = {
      // hard half
      "R MMU_INT_STAT 0x1",
      "W MMU_INT_MASK 0x0",
      // threaded half: the faulting AS, its fault record (TRANSLATION_FAULT_0: nothing is mapped
      // yet, WRITE, source id = core 2), clear before handling
      "R MMU_INT_RAWSTAT 0x1",
      "R AS0_FAULTSTATUS 0x203c0",
      "R AS0_FAULTADDRESS_LO 0x2200044",
      "R AS0_FAULTADDRESS_HI 0x0",
      "W MMU_INT_CLEAR 0x10001",
      // grow: map the chunk, flush [chunk, +2 MiB)
      "W AS0_LOCKADDR_LO 0x2200014",
      "W AS0_LOCKADDR_HI 0x0",
      "R AS0_STATUS (poll)",
      "W AS0_COMMAND 0x2",
      "R AS0_STATUS (poll)",
      "W AS0_COMMAND 0x4",
      "R AS0_STATUS (poll)",
      // nothing else pending: unmask everything
      "R MMU_INT_RAWSTAT 0x0",
      "W MMU_INT_MASK 0xffffffff",
  };
  EXPECT_EQ(protocol(rig.driver->mmio_log()), expected);
  ASSERT_TRUE(rig.driver->job_end(ctx));
}

TEST(DriverMmioSequence, TerminalFaultDisablesTheAddressSpaceAndKeepsItMasked) {
  DriverRig rig;
  const CtxId ctx = rig.open();
  (void)rig.driver->job_begin(ctx);
  rig.q.run_until_idle();
  rig.driver->clear_mmio_log();
  AccessRequest r;
  r.va = 0x9000'0000;
  ASSERT_EQ(rig.gpu->access(r).status, AccessStatus::Pending);
  rig.q.run_until_idle();
  const auto seq = protocol(rig.driver->mmio_log());
  const std::vector<std::string> tail = {
      "W MMU_INT_CLEAR 0x10001",
      // panfrost_mmu_disable(): LOCK(0, ~0) + FLUSH_MEM, TRANSTAB 0, MEMATTR 0, TRANSCFG UNMAPPED, UPDATE
      "W AS0_LOCKADDR_LO 0x3f",
      "W AS0_LOCKADDR_HI 0x0",
      "R AS0_STATUS (poll)",
      "W AS0_COMMAND 0x2",
      "R AS0_STATUS (poll)",
      "W AS0_COMMAND 0x5",
      "R AS0_STATUS (poll)",
      "W AS0_TRANSTAB_LO 0x0",
      "W AS0_TRANSTAB_HI 0x0",
      "W AS0_MEMATTR_LO 0x0",
      "W AS0_MEMATTR_HI 0x0",
      "W AS0_TRANSCFG_LO 0x1",
      "W AS0_TRANSCFG_HI 0x0",
      "R AS0_STATUS (poll)",
      "W AS0_COMMAND 0x1",
      // The FLUSH_MEM retried the stalled access, which faulted again and set the bit again; the
      // AS is in the faulty mask, so the handler ignores it and leaves it masked.
      "R MMU_INT_RAWSTAT 0x1",
      "W MMU_INT_MASK 0xfffefffe",
  };
  ASSERT_GE(seq.size(), tail.size() + 6);
  EXPECT_EQ(std::vector<std::string>(seq.begin() + 6, seq.end()), tail);
  (void)rig.driver->job_end(ctx);
}

}  // namespace
}  // namespace mali_sim::testing
