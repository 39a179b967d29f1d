// The hardware walker: translations, the reads it makes, and every fault kind at every level it
// can occur, with the exact AS_FAULTSTATUS exception code.
#include <gtest/gtest.h>

#include "mali_sim/pagetable/walker.hpp"

namespace mali_sim {
namespace {

std::string format_param_name(const ::testing::TestParamInfo<PtFormat>& p) {
  return p.param == PtFormat::MaliLpae ? "MaliLpae" : "Aarch64";
}

constexpr PhysAddr kL0 = 0x1000, kL1 = 0x2000, kL2 = 0x3000, kL3 = 0x4000;
constexpr GpuVa kVa = (1ULL << 39) | (2ULL << 30) | (3ULL << 21) | (4ULL << 12) | 0x567;

// Builds a single translation path by hand, so that each test controls every descriptor.
class WalkerTest : public ::testing::TestWithParam<PtFormat> {
 protected:
  PhysMem mem{64 * 1024 * 1024};
  const PteFormat& fmt = pte_format(GetParam());

  WalkConfig config() const {
    WalkConfig c;
    c.mode = GetParam() == PtFormat::Aarch64_4K ? TranslationMode::Aarch64_4K : TranslationMode::MaliLpae;
    c.table_base = kL0;
    c.memattr = fmt.default_memattr();
    return c;
  }
  void set(PhysAddr table, unsigned level, std::uint64_t desc) {
    ASSERT_TRUE(mem.write64(table + 8ULL * level_index(kVa, level), desc));
  }
  // Tables down to (but excluding) `leaf_level`, then a leaf there.
  void build(unsigned leaf_level, PhysAddr pa, ProtFlags p) {
    const PhysAddr tables[] = {kL0, kL1, kL2, kL3};
    for (unsigned l = 0; l < leaf_level; ++l) set(tables[l], l, fmt.make_table(tables[l + 1]));
    set(tables[leaf_level], leaf_level, fmt.make_leaf(pa, leaf_level, p));
  }
  std::uint8_t fault_code(GpuVa va, Access a, const WalkConfig& c) {
    const WalkResult r = translate(mem, c, va, a);
    EXPECT_EQ(r.outcome, WalkResult::Outcome::Fault);
    return r.outcome == WalkResult::Outcome::Fault ? r.fault.exception_code() : 0;
  }
  std::uint8_t fault_code(Access a = Access::Read) { return fault_code(kVa, a, config()); }
};

INSTANTIATE_TEST_SUITE_P(BothFormats, WalkerTest, ::testing::Values(PtFormat::MaliLpae, PtFormat::Aarch64_4K),
                         format_param_name);

TEST_P(WalkerTest, FourLevelWalkTranslatesAndRecordsEachDescriptorRead) {
  build(3, 0x0080'0000'0000ULL - kPageSize, prot::kRead | prot::kWrite | prot::kNoExec);
  const WalkResult r = translate(mem, config(), kVa, Access::Write);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.translation.pa, 0x0080'0000'0000ULL - kPageSize + 0x567);
  EXPECT_EQ(r.translation.size, PageSize::k4K);
  EXPECT_FALSE(r.translation.exec);
  ASSERT_EQ(r.num_reads, 4);
  EXPECT_EQ(r.reads[0].pa, kL0 + 8 * 1);
  EXPECT_EQ(r.reads[1].pa, kL1 + 8 * 2);
  EXPECT_EQ(r.reads[2].pa, kL2 + 8 * 3);
  EXPECT_EQ(r.reads[3].pa, kL3 + 8 * 4);
  EXPECT_EQ(r.reads[3].level, 3);
}

TEST_P(WalkerTest, BlocksAtLevelsOneAndTwoCoverTheirWholeSpan) {
  build(2, 0x4000'0000ULL + 3 * kSize2M, prot::kRead);
  WalkResult r = walk(mem, config(), kVa);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.translation.size, PageSize::k2M);
  EXPECT_EQ(r.translation.pa, 0x4000'0000ULL + 3 * kSize2M + (kVa & (kSize2M - 1)));
  EXPECT_EQ(r.num_reads, 3);
}

TEST_P(WalkerTest, OneGigabyteBlockAtLevelOne) {
  build(1, 0x80'0000'0000ULL - kSize1G, prot::kRead | prot::kWrite);
  const WalkResult r = walk(mem, config(), kVa);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.translation.size, PageSize::k1G);
  EXPECT_EQ(r.translation.level, 1);
  EXPECT_EQ(r.translation.pa, 0x80'0000'0000ULL - kSize1G + (kVa & (kSize1G - 1)));
  EXPECT_EQ(r.num_reads, 2);
}

TEST_P(WalkerTest, WalkCacheStartSkipsUpperLevels) {
  build(3, 0x100000, prot::kRead);
  const WalkResult r = walk(mem, config(), kVa, WalkStart{2, kL2});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.translation.pa, 0x100567U);
  EXPECT_EQ(r.num_reads, 2);
  EXPECT_EQ(r.reads[0].level, 2);
}

TEST_P(WalkerTest, TranslationFaultAtEachLevel) {
  EXPECT_EQ(fault_code(), 0xC0);  // empty level-0 table
  set(kL0, 0, fmt.make_table(kL1));
  EXPECT_EQ(fault_code(), 0xC1);
  set(kL1, 1, fmt.make_table(kL2));
  EXPECT_EQ(fault_code(), 0xC2);
  set(kL2, 2, fmt.make_table(kL3));
  EXPECT_EQ(fault_code(), 0xC3);
  set(kL3, 3, fmt.invalid());
  EXPECT_EQ(fault_code(), 0xC3);
}

TEST_P(WalkerTest, ReservedEncodingsAreTranslationFaults) {
  set(kL0, 0, fmt.make_leaf(0, 1, prot::kRead));  // a leaf at level 0
  EXPECT_EQ(fault_code(), 0xC0);
  build(2, 0, prot::kRead);
  set(kL2, 2, fmt.make_table(kL3));
  // Level 3: MaliLpae reserves type 3, AArch64 reserves type 1.
  set(kL3, 3, GetParam() == PtFormat::MaliLpae ? 0x5003ULL : 0x5641ULL);
  EXPECT_EQ(fault_code(), 0xC3);
}

TEST_P(WalkerTest, PermissionFaultAtEachLeafLevel) {
  for (unsigned level = 1; level <= 3; ++level) {
    build(level, 0, prot::kRead | prot::kNoExec);
    EXPECT_EQ(fault_code(Access::Write), 0xC8 + level) << "write to read-only, level " << level;
    EXPECT_EQ(fault_code(Access::Execute), 0xC8 + level) << "execute of no-exec, level " << level;
    EXPECT_EQ(fault_code(Access::Atomic), 0xC8 + level) << "atomic needs write, level " << level;
    EXPECT_TRUE(translate(mem, config(), kVa, Access::Read).ok());
  }
}

TEST_P(WalkerTest, TranstabBusFaultWhenATableLiesOutsidePhysicalMemory) {
  const PhysAddr outside = 1ULL << 32;  // below 2^40, above the 64 MiB configured
  WalkConfig c = config();
  c.table_base = outside;
  EXPECT_EQ(fault_code(kVa, Access::Read, c), 0xD0);
  set(kL0, 0, fmt.make_table(outside));
  EXPECT_EQ(fault_code(), 0xD1);
  set(kL0, 0, fmt.make_table(kL1));
  set(kL1, 1, fmt.make_table(outside));
  EXPECT_EQ(fault_code(), 0xD2);
  set(kL1, 1, fmt.make_table(kL2));
  set(kL2, 2, fmt.make_table(outside));
  EXPECT_EQ(fault_code(), 0xD3);
}

TEST_P(WalkerTest, AddressSizeFaultForInputBeyondVaBits) {
  WalkConfig c = config();
  c.va_bits = 33;
  EXPECT_EQ(fault_code(1ULL << 33, Access::Read, c), 0xE0);
}

TEST_P(WalkerTest, AddressSizeFaultForOutputBeyondPaBitsAtEachLevel) {
  const PhysAddr beyond = 1ULL << 40;
  WalkConfig c = config();
  c.table_base = beyond;
  EXPECT_EQ(fault_code(kVa, Access::Read, c), 0xE4);
  set(kL0, 0, fmt.make_table(beyond));
  EXPECT_EQ(fault_code(), 0xE4);
  for (unsigned level = 1; level <= 3; ++level) {
    build(level, beyond, prot::kRead);
    EXPECT_EQ(fault_code(), 0xE4 + level) << "leaf output at level " << level;
  }
}

TEST_P(WalkerTest, MemAttrFaultWhenTheSelectedSlotIsTheFaultEncoding) {
  WalkConfig c = config();
  c.memattr = 0xC0;  // slot 0: bits[7:6] = 3
  for (unsigned level = 1; level <= 3; ++level) {
    build(level, 0, prot::kRead);  // attr index 0
    EXPECT_EQ(fault_code(kVa, Access::Read, c), 0xE8 + level);
  }
}

TEST_P(WalkerTest, UnmappedModeFailsEveryAccessWithoutAFaultCode) {
  build(3, 0, prot::kRead);
  WalkConfig c = config();
  c.mode = TranslationMode::Unmapped;
  EXPECT_EQ(translate(mem, c, kVa, Access::Read).outcome, WalkResult::Outcome::Unmapped);
}

TEST(WalkerIdentity, IdentityModeMapsVaToPaAndFaultsBeyondPaBits) {
  PhysMem mem(kPageSize);
  WalkConfig c;
  c.mode = TranslationMode::Identity;
  const WalkResult ok = translate(mem, c, 0x12345678, Access::Execute);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.translation.pa, 0x12345678U);
  EXPECT_EQ(ok.num_reads, 0);
  const WalkResult bad = translate(mem, c, 1ULL << 40, Access::Read);
  ASSERT_EQ(bad.outcome, WalkResult::Outcome::Fault);
  EXPECT_EQ(bad.fault.exception_code(), 0xC7);
}

TEST(WalkerAccessFlag, Aarch64LeafWithoutAccessFlagFaultsAtEachLevelUnlessDisabled) {
  PhysMem mem(64 * 1024 * 1024);
  const PteFormat& fmt = pte_format(PtFormat::Aarch64_4K);
  WalkConfig c;
  c.mode = TranslationMode::Aarch64_4K;
  c.table_base = kL0;
  c.memattr = fmt.default_memattr();
  const PhysAddr tables[] = {kL0, kL1, kL2, kL3};
  for (unsigned level = 1; level <= 3; ++level) {
    for (unsigned l = 0; l < level; ++l)
      ASSERT_TRUE(mem.write64(tables[l] + 8ULL * level_index(kVa, l), fmt.make_table(tables[l + 1])));
    const std::uint64_t leaf = fmt.make_leaf(0x200000, level, prot::kRead) & ~(1ULL << 10);
    ASSERT_TRUE(mem.write64(tables[level] + 8ULL * level_index(kVa, level), leaf));
    WalkResult r = walk(mem, c, kVa);
    ASSERT_EQ(r.outcome, WalkResult::Outcome::Fault);
    EXPECT_EQ(r.fault.exception_code(), 0xD8 + level);
    WalkConfig relaxed = c;
    relaxed.disable_af_fault = true;
    EXPECT_TRUE(walk(mem, relaxed, kVa).ok());
  }
}

TEST(WalkerAccessFlag, MaliLpaeNeverChecksTheAccessFlag) {
  PhysMem mem(64 * 1024 * 1024);
  const PteFormat& fmt = pte_format(PtFormat::MaliLpae);
  WalkConfig c;
  c.mode = TranslationMode::MaliLpae;
  c.table_base = kL0;
  ASSERT_TRUE(mem.write64(kL0 + 8ULL * level_index(kVa, 0), fmt.make_table(kL1)));
  ASSERT_TRUE(mem.write64(kL1 + 8ULL * level_index(kVa, 1), fmt.make_leaf(0, 1, prot::kRead)));
  EXPECT_TRUE(walk(mem, c, kVa).ok()) << "io-pgtable never sets AF for Mali and the GPU walks it";
}

TEST(WalkerWxn, WxnMakesWritablePagesNonExecutable) {
  PhysMem mem(64 * 1024 * 1024);
  const PteFormat& fmt = pte_format(PtFormat::Aarch64_4K);
  WalkConfig c;
  c.mode = TranslationMode::Aarch64_4K;
  c.table_base = kL0;
  c.memattr = fmt.default_memattr();
  ASSERT_TRUE(mem.write64(kL0 + 8ULL * level_index(kVa, 0), fmt.make_table(kL1)));
  ASSERT_TRUE(mem.write64(kL1 + 8ULL * level_index(kVa, 1), fmt.make_leaf(0, 1, prot::kRead | prot::kWrite)));
  EXPECT_TRUE(translate(mem, c, kVa, Access::Execute).ok());
  c.wxn = true;
  const WalkResult r = translate(mem, c, kVa, Access::Execute);
  ASSERT_EQ(r.outcome, WalkResult::Outcome::Fault);
  EXPECT_EQ(r.fault.exception_code(), 0xC9);
}

TEST(WalkConfigFromRegisters, DecodesLegacyAndAarch64Programming) {
  // panfrost legacy: TRANSTAB = pgd | READ_INNER | ADRMODE_TABLE, TRANSCFG unused.
  WalkConfig legacy = WalkConfig::from_registers(0x7000 | 0x7, 0, 0x888D88, 48, 40, false);
  EXPECT_EQ(legacy.mode, TranslationMode::MaliLpae);
  EXPECT_EQ(legacy.table_base, 0x7000U);
  EXPECT_EQ(WalkConfig::from_registers(0, 0, 0, 48, 40, false).mode, TranslationMode::Unmapped);
  EXPECT_EQ(WalkConfig::from_registers(2, 0, 0, 48, 40, false).mode, TranslationMode::Identity);
  const WalkConfig reserved = WalkConfig::from_registers(0x7001, 0, 0, 48, 40, false);
  EXPECT_EQ(reserved.mode, TranslationMode::Unmapped);
  EXPECT_FALSE(reserved.unsupported.empty());

  // panfrost AArch64: TRANSCFG 0x420001C6 (AARCH64_4K, INA_BITS 7 -> 48-bit VA, WB, RA).
  const WalkConfig a64 = WalkConfig::from_registers(0x9000, 0x420001C6, 0, 48, 40, true);
  EXPECT_EQ(a64.mode, TranslationMode::Aarch64_4K);
  EXPECT_EQ(a64.table_base, 0x9000U);
  EXPECT_EQ(a64.va_bits, 48U);
  // The same TRANSCFG on a GPU without the AArch64 MMU is ignored: TRANSTAB 0x9000 is UNMAPPED.
  EXPECT_EQ(WalkConfig::from_registers(0x9000, 0x420001C6, 0, 48, 40, false).mode, TranslationMode::Unmapped);
  const WalkConfig k64 = WalkConfig::from_registers(0x9000, 8, 0, 48, 40, true);
  EXPECT_EQ(k64.mode, TranslationMode::Unmapped);
  EXPECT_NE(k64.unsupported.find("64K"), std::string::npos);
  EXPECT_EQ(WalkConfig::from_registers(0, 1, 0, 48, 40, true).mode, TranslationMode::Unmapped);
}

}  // namespace
}  // namespace mali_sim
