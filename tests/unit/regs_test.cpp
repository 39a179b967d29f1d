// Register vocabulary: offsets, exception codes and the bit-exact register codecs, checked
// against the values of the Mali MMU fact sheet (§1, §2, §3.1, §3.5).
#include "mali_sim/regs.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

namespace mali_sim {
namespace {

constexpr std::uint64_t kAllOnes = ~std::uint64_t{0};

// The codecs are usable at compile time (the MMIO model decodes in constexpr helpers).
static_assert(regs::as_reg(3, regs::kAsLockaddrLo) == 0x24D0);
static_assert(FaultStatus::decode(0x2C1).exception_type == 0xC1);
static_assert(lockaddr_decode(0x40010, 15).log2_size == 17);
static_assert(Transcfg::decode(0x420001C6).va_bits() == 48);
static_assert(GpuId::decode(0x72110000).panfrost_model_id() == 0x7001);

// ---------------------------------------------------------------------------------------------
// Offsets and names
// ---------------------------------------------------------------------------------------------

TEST(Regs, GpuAndJobControlOffsetsMatchReferenceMap) {
  EXPECT_EQ(regs::kGpuId, 0x000U);
  EXPECT_EQ(regs::kGpuMmuFeatures, 0x014U);
  EXPECT_EQ(regs::kGpuAsPresent, 0x018U);
  EXPECT_EQ(regs::kGpuJsPresent, 0x01CU);
  EXPECT_EQ(regs::kGpuIntRawstat, 0x020U);
  EXPECT_EQ(regs::kGpuIntClear, 0x024U);
  EXPECT_EQ(regs::kGpuIntMask, 0x028U);
  EXPECT_EQ(regs::kGpuIntStat, 0x02CU);
  EXPECT_EQ(regs::kGpuCmd, 0x030U);
  EXPECT_EQ(regs::kGpuFaultStatus, 0x03CU);
  EXPECT_EQ(regs::kGpuFaultAddressLo, 0x040U);
  EXPECT_EQ(regs::kGpuFaultAddressHi, 0x044U);
  EXPECT_EQ(regs::kGpuIrqMultipleFault, 0x80U);
  EXPECT_EQ(regs::kGpuIrqCleanCachesCompleted, 0x20000U);
  EXPECT_EQ(regs::kJobIntRawstat, 0x1000U);
  EXPECT_EQ(regs::kJobIntJsState, 0x1010U);
  EXPECT_EQ(regs::js_reg(0, 0), 0x1800U);
  EXPECT_EQ(regs::js_reg(2, regs::kJsConfigNext), 0x1800U + 2 * 0x80 + 0x58);
  EXPECT_EQ(regs::job_done_bit(2), 0x4U);
  EXPECT_EQ(regs::job_error_bit(2), 0x40000U);
}

TEST(Regs, MmuInterruptAndAsBlockOffsetsMatchReferenceMap) {
  EXPECT_EQ(regs::kMmuIntRawstat, 0x2000U);
  EXPECT_EQ(regs::kMmuIntClear, 0x2004U);
  EXPECT_EQ(regs::kMmuIntMask, 0x2008U);
  EXPECT_EQ(regs::kMmuIntStat, 0x200CU);
  EXPECT_EQ(regs::as_reg(0, regs::kAsTranstabLo), 0x2400U);
  EXPECT_EQ(regs::as_reg(15, 0), 0x27C0U);
  const std::array<std::uint32_t, 15> block = {
      regs::kAsTranstabLo,     regs::kAsTranstabHi,     regs::kAsMemattrLo,   regs::kAsMemattrHi,
      regs::kAsLockaddrLo,     regs::kAsLockaddrHi,     regs::kAsCommand,     regs::kAsFaultstatus,
      regs::kAsFaultaddressLo, regs::kAsFaultaddressHi, regs::kAsStatus,      regs::kAsTranscfgLo,
      regs::kAsTranscfgHi,     regs::kAsFaultextraLo,   regs::kAsFaultextraHi};
  const std::array<std::uint32_t, 15> expected = {0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x1C,
                                                  0x20, 0x24, 0x28, 0x30, 0x34, 0x38, 0x3C};
  EXPECT_EQ(block, expected);
  EXPECT_EQ(regs::kMaxAddressSpaces, 16U);
  EXPECT_EQ(regs::kAsStatusActive, 0x1U);
}

TEST(Regs, MmuIrqBitsSplitPageFaultLowAndBusErrorHigh) {
  EXPECT_EQ(regs::mmu_page_fault_bit(0), 0x1U);
  EXPECT_EQ(regs::mmu_page_fault_bit(3), 0x8U);
  EXPECT_EQ(regs::mmu_bus_error_bit(0), 0x10000U);
  EXPECT_EQ(regs::mmu_bus_error_bit(15), 0x80000000U);
  EXPECT_EQ(regs::mmu_as_irq_bits(2), 0x40004U);
}

TEST(Regs, AsRegDecodeInvertsAsRegForEveryAsAndRegister) {
  for (unsigned as = 0; as < regs::kMaxAddressSpaces; ++as) {
    for (std::uint32_t reg = 0; reg < regs::kMmuAsStride; reg += 4) {
      const auto decoded = regs::as_reg_decode(regs::as_reg(as, reg));
      ASSERT_TRUE(decoded.has_value());
      EXPECT_EQ(*decoded, (regs::AsRegister{as, reg}));
    }
  }
  EXPECT_FALSE(regs::as_reg_decode(0x23FC).has_value());
  EXPECT_FALSE(regs::as_reg_decode(0x2800).has_value());
  EXPECT_FALSE(regs::as_reg_decode(regs::kMmuIntMask).has_value());
}

TEST(Regs, RegisterNameNamesKnownRegistersAndPrintsHexOtherwise) {
  EXPECT_EQ(register_name(0x000), "GPU_ID");
  EXPECT_EQ(register_name(0x014), "GPU_MMU_FEATURES");
  EXPECT_EQ(register_name(0x044), "GPU_FAULT_ADDRESS_HI");
  EXPECT_EQ(register_name(0x1010), "JOB_INT_JS_STATE");
  EXPECT_EQ(register_name(0x2008), "MMU_INT_MASK");
  EXPECT_EQ(register_name(0x200C), "MMU_INT_STAT");
  EXPECT_EQ(register_name(regs::as_reg(3, regs::kAsLockaddrLo)), "AS3_LOCKADDR_LO");
  EXPECT_EQ(register_name(regs::as_reg(0, regs::kAsTranstabLo)), "AS0_TRANSTAB_LO");
  EXPECT_EQ(register_name(regs::as_reg(15, regs::kAsFaultextraHi)), "AS15_FAULTEXTRA_HI");
  EXPECT_EQ(register_name(regs::as_reg(7, regs::kAsCommand)), "AS7_COMMAND");
  EXPECT_EQ(register_name(regs::js_reg(1, regs::kJsConfigNext)), "JS1_CONFIG_NEXT");
  EXPECT_EQ(register_name(regs::js_reg(0, regs::kJsHeadLo)), "JS0_HEAD_LO");
  // Holes and offsets past the last block.
  EXPECT_EQ(register_name(regs::as_reg(0, 0x2C)), "0x242c");
  EXPECT_EQ(register_name(0x2800), "0x2800");
  EXPECT_EQ(register_name(0x048), "0x0048");  // L2_CONFIG exists only from arch 9.2: not named
  // The GPU control block: identity, power domains (LO/HI), per-slot features.
  EXPECT_EQ(register_name(0x004), "L2_FEATURES");
  EXPECT_EQ(register_name(0x0C8), "JS2_FEATURES");
  EXPECT_EQ(register_name(0x144), "SHADER_READY_HI");
  EXPECT_EQ(register_name(0x1A0), "L2_PWRON_LO");
  EXPECT_EQ(register_name(0x210), "TILER_PWRTRANS_LO");
  EXPECT_EQ(register_name(0x260), "L2_PWRACTIVE_LO");
  EXPECT_EQ(register_name(0xE24), "STACK_PWRON_HI");
  EXPECT_EQ(register_name(0x130), "0x0130");  // between the power blocks
  EXPECT_EQ(register_name(0xF0C), "L2_MMU_CONFIG");
  EXPECT_EQ(register_name(0x2001), "0x2001");
  EXPECT_EQ(register_name(0x12345), "0x12345");
}

TEST(Regs, AsCommandValuesAndNamesMatchHardware) {
  EXPECT_EQ(static_cast<std::uint32_t>(AsCommand::Nop), 0U);
  EXPECT_EQ(static_cast<std::uint32_t>(AsCommand::Update), 1U);
  EXPECT_EQ(static_cast<std::uint32_t>(AsCommand::Lock), 2U);
  EXPECT_EQ(static_cast<std::uint32_t>(AsCommand::Unlock), 3U);
  EXPECT_EQ(static_cast<std::uint32_t>(AsCommand::FlushPt), 4U);
  EXPECT_EQ(static_cast<std::uint32_t>(AsCommand::FlushMem), 5U);
  EXPECT_EQ(to_string(AsCommand::Nop), "NOP");
  EXPECT_EQ(to_string(AsCommand::Update), "UPDATE");
  EXPECT_EQ(to_string(AsCommand::Lock), "LOCK");
  EXPECT_EQ(to_string(AsCommand::Unlock), "UNLOCK");
  EXPECT_EQ(to_string(AsCommand::FlushPt), "FLUSH_PT");
  EXPECT_EQ(to_string(AsCommand::FlushMem), "FLUSH_MEM");
  EXPECT_EQ(to_string(static_cast<AsCommand>(6)), "UNKNOWN");
  EXPECT_TRUE(is_known_as_command(5));
  EXPECT_FALSE(is_known_as_command(6));
}

TEST(Regs, GpuCommandValuesAndNames) {
  EXPECT_EQ(static_cast<std::uint32_t>(GpuCommand::SoftReset), 1U);
  EXPECT_EQ(static_cast<std::uint32_t>(GpuCommand::CleanCaches), 7U);
  EXPECT_EQ(static_cast<std::uint32_t>(GpuCommand::CleanInvCaches), 8U);
  EXPECT_EQ(to_string(GpuCommand::CleanInvCaches), "CLEAN_INV_CACHES");
  EXPECT_EQ(static_cast<std::uint32_t>(GpuCommand::HardReset), 2U);
  EXPECT_EQ(static_cast<std::uint32_t>(GpuCommand::CycleCountStart), 5U);
  EXPECT_EQ(static_cast<std::uint32_t>(GpuCommand::CycleCountStop), 6U);
  EXPECT_EQ(to_string(GpuCommand::Nop), "NOP");
  EXPECT_EQ(to_string(static_cast<GpuCommand>(10)), "UNKNOWN");
}

// ---------------------------------------------------------------------------------------------
// Exception codes
// ---------------------------------------------------------------------------------------------

TEST(RegsException, CodesMatchReferenceTable) {
  for (unsigned l = 0; l <= 4; ++l) EXPECT_EQ(exception_code(MmuFaultKind::Translation, l), 0xC0 + l);
  EXPECT_EQ(exception_code(MmuFaultKind::TranslationIdentity, 0), 0xC7);
  for (unsigned l = 0; l <= 3; ++l) {
    EXPECT_EQ(exception_code(MmuFaultKind::Permission, l), 0xC8 + l);
    EXPECT_EQ(exception_code(MmuFaultKind::TranstabBus, l), 0xD0 + l);
    EXPECT_EQ(exception_code(MmuFaultKind::AccessFlag, l), 0xD8 + l);
    EXPECT_EQ(exception_code(MmuFaultKind::AddressSizeIn, l), 0xE0 + l);
    EXPECT_EQ(exception_code(MmuFaultKind::AddressSizeOut, l), 0xE4 + l);
    EXPECT_EQ(exception_code(MmuFaultKind::MemAttr, l), 0xE8 + l);
    EXPECT_EQ(exception_code(MmuFaultKind::MemAttrNonCache, l), 0xEC + l);
  }
}

TEST(RegsException, LevelAboveMaximumIsClampedToANamedCode) {
  EXPECT_EQ(exception_code(MmuFaultKind::Translation, 9), 0xC4);
  EXPECT_EQ(exception_code(MmuFaultKind::Permission, 4), 0xCB);
  EXPECT_EQ(exception_code(MmuFaultKind::AddressSizeIn, 7), 0xE3);  // never spills into OUT0
  EXPECT_EQ(exception_code(MmuFaultKind::TranslationIdentity, 3), 0xC7);
}

TEST(RegsException, ClassifyInvertsExceptionCodeForEveryKindAndLevel) {
  const MmuFaultKind kinds[] = {MmuFaultKind::Translation,    MmuFaultKind::TranslationIdentity,
                                MmuFaultKind::Permission,     MmuFaultKind::TranstabBus,
                                MmuFaultKind::AccessFlag,     MmuFaultKind::AddressSizeIn,
                                MmuFaultKind::AddressSizeOut, MmuFaultKind::MemAttr,
                                MmuFaultKind::MemAttrNonCache};
  for (const MmuFaultKind k : kinds) {
    for (unsigned l = 0; l <= max_fault_level(k); ++l) {
      const auto c = classify_exception(exception_code(k, l));
      ASSERT_TRUE(c.has_value()) << to_string(k) << " level " << l;
      EXPECT_EQ(*c, (MmuFaultClass{k, l})) << to_string(k) << " level " << l;
    }
  }
}

TEST(RegsException, ClassifyRejectsJobCodesAndUnnamedGaps) {
  const std::uint8_t codes[] = {0x00, 0x01, 0x40, 0x48, 0x7F, 0x80, 0x8A, 0xBF, 0xC5,
                                0xC6, 0xCC, 0xCF, 0xD4, 0xD7, 0xDC, 0xDF, 0xF0, 0xFF};
  for (const std::uint8_t code : codes) {
    EXPECT_FALSE(classify_exception(code).has_value()) << std::hex << int{code};
  }
}

TEST(RegsException, NamesArePanfrostEnumSuffixes) {
  EXPECT_EQ(exception_name(0x00), "OK");
  EXPECT_EQ(exception_name(0x01), "DONE");
  EXPECT_EQ(exception_name(0x02), "INTERRUPTED");
  EXPECT_EQ(exception_name(0x03), "STOPPED");
  EXPECT_EQ(exception_name(0x04), "TERMINATED");
  EXPECT_EQ(exception_name(0x05), "KABOOM");
  EXPECT_EQ(exception_name(0x06), "EUREKA");
  EXPECT_EQ(exception_name(0x08), "ACTIVE");
  EXPECT_EQ(exception_name(0x40), "JOB_CONFIG_FAULT");
  EXPECT_EQ(exception_name(0x44), "JOB_AFFINITY_FAULT");
  EXPECT_EQ(exception_name(0x48), "JOB_BUS_FAULT");
  EXPECT_EQ(exception_name(0x56), "INSTR_ALIGN_FAULT");
  EXPECT_EQ(exception_name(0x5B), "IMPRECISE_FAULT");
  EXPECT_EQ(exception_name(0x60), "OOM");
  EXPECT_EQ(exception_name(0x61), "OOM_AFBC");
  EXPECT_EQ(exception_name(0x7F), "UNKNOWN");
  EXPECT_EQ(exception_name(0x80), "DELAYED_BUS_FAULT");
  EXPECT_EQ(exception_name(0x88), "GPU_SHAREABILITY_FAULT");
  EXPECT_EQ(exception_name(0x89), "SYS_SHAREABILITY_FAULT");
  EXPECT_EQ(exception_name(0x8A), "GPU_CACHEABILITY_FAULT");
  EXPECT_EQ(exception_name(0xC0), "TRANSLATION_FAULT_0");
  EXPECT_EQ(exception_name(0xC4), "TRANSLATION_FAULT_4");
  EXPECT_EQ(exception_name(0xC7), "TRANSLATION_FAULT_IDENTITY");
  EXPECT_EQ(exception_name(0xCB), "PERM_FAULT_3");
  EXPECT_EQ(exception_name(0xD2), "TRANSTAB_BUS_FAULT_2");
  EXPECT_EQ(exception_name(0xD9), "ACCESS_FLAG_1");
  EXPECT_EQ(exception_name(0xE3), "ADDR_SIZE_FAULT_IN3");
  EXPECT_EQ(exception_name(0xE4), "ADDR_SIZE_FAULT_OUT0");
  EXPECT_EQ(exception_name(0xEA), "MEM_ATTR_FAULT_2");
  EXPECT_EQ(exception_name(0xEF), "MEM_ATTR_NONCACHE_3");
}

TEST(RegsException, UnlistedCodesAreUnknownExceptionType) {
  for (const std::uint32_t code :
       {0x07U, 0x3FU, 0x45U, 0x57U, 0x62U, 0x8BU, 0xC5U, 0xCCU, 0xF0U, 0x1C0U, 0xFFFFFFFFU}) {
    EXPECT_EQ(exception_name(code), "Unknown exception type") << std::hex << code;
  }
}

TEST(RegsException, EveryMmuRangeCodeIsNamedExactlyWhenClassified) {
  for (unsigned code = 0xC0; code <= 0xFF; ++code) {
    const bool named = exception_name(code) != "Unknown exception type";
    EXPECT_EQ(named, classify_exception(static_cast<std::uint8_t>(code)).has_value()) << std::hex << code;
  }
}

TEST(RegsException, FaultBoundaryIsAbove0x3F) {
  EXPECT_FALSE(exception_is_fault(0x00));
  EXPECT_FALSE(exception_is_fault(0x08));
  EXPECT_FALSE(exception_is_fault(0x3F));
  EXPECT_TRUE(exception_is_fault(0x40));
  EXPECT_TRUE(exception_is_fault(0xC1));
}

TEST(RegsException, TranslationFaultTestMatchesPanfrostGrowCheck) {
  for (unsigned code = 0; code <= 0xFF; ++code) {
    const bool expected = code >= 0xC0 && code <= 0xC7;
    EXPECT_EQ(exception_is_translation_fault(static_cast<std::uint8_t>(code)), expected) << std::hex << code;
  }
}

// ---------------------------------------------------------------------------------------------
// AS_FAULTSTATUS
// ---------------------------------------------------------------------------------------------

TEST(FaultStatus, AccessEnumValuesAreTheHardwareEncoding) {
  EXPECT_EQ(FaultStatus::decode(0x000).access_type, Access::Atomic);
  EXPECT_EQ(FaultStatus::decode(0x100).access_type, Access::Execute);
  EXPECT_EQ(FaultStatus::decode(0x200).access_type, Access::Read);
  EXPECT_EQ(FaultStatus::decode(0x300).access_type, Access::Write);
}

TEST(FaultStatus, DecodesEveryField) {
  const FaultStatus fs = FaultStatus::decode(0x123406C9);
  EXPECT_EQ(fs.exception_type, 0xC9);
  EXPECT_EQ(fs.access_type, Access::Read);
  EXPECT_TRUE(fs.decoder_fault);
  EXPECT_EQ(fs.source_id, 0x1234);
  EXPECT_EQ(fs.encode(), 0x123406C9U);
}

TEST(FaultStatus, EncodeDecodeRoundTripsAllFieldCombinations) {
  for (unsigned access = 0; access < 4; ++access) {
    for (const bool decoder : {false, true}) {
      for (const std::uint8_t exc :
           std::initializer_list<std::uint8_t>{0x00, 0x41, 0xC0, 0xC7, 0xDB, 0xEF, 0xFF}) {
        for (const std::uint16_t src : std::initializer_list<std::uint16_t>{0x0000, 0x0001, 0x8000, 0xFFFF}) {
          const FaultStatus fs{exc, static_cast<Access>(access), decoder, src};
          EXPECT_EQ(FaultStatus::decode(fs.encode()), fs);
        }
      }
    }
  }
}

TEST(FaultStatus, RandomRawValuesRoundTripOnDefinedBits) {
  std::mt19937 rng(0xFA017);
  for (int i = 0; i < 10000; ++i) {
    const auto raw = static_cast<std::uint32_t>(rng());
    const FaultStatus fs = FaultStatus::decode(raw);
    EXPECT_EQ(fs.encode(), raw & FaultStatus::kDefinedBits);
    EXPECT_EQ(FaultStatus::decode(fs.encode()), fs);
  }
}

TEST(FaultStatus, ToStringPrintsPanfrostReportFields) {
  const std::string s = FaultStatus::decode(0x123406C9).to_string(false);
  EXPECT_NE(s.find("raw fault status: 0x123406C9"), std::string::npos) << s;
  EXPECT_NE(s.find("DECODER FAULT"), std::string::npos) << s;
  EXPECT_NE(s.find("exception type 0xC9: PERM_FAULT_1"), std::string::npos) << s;
  EXPECT_NE(s.find("access type 0x2: READ"), std::string::npos) << s;
  EXPECT_NE(s.find("source id 0x1234"), std::string::npos) << s;
}

TEST(FaultStatus, AtomicPrintsAsUnknownWithoutAarch64Mmu) {
  const FaultStatus fs = FaultStatus::decode(0xC1);
  const std::string legacy = fs.to_string(false);
  const std::string aarch64 = fs.to_string(true);
  EXPECT_NE(legacy.find("access type 0x0: UNKNOWN"), std::string::npos) << legacy;
  EXPECT_NE(aarch64.find("access type 0x0: ATOMIC"), std::string::npos) << aarch64;
  EXPECT_NE(legacy.find("SLAVE FAULT"), std::string::npos) << legacy;
  EXPECT_NE(legacy.find("TRANSLATION_FAULT_1"), std::string::npos) << legacy;
}

TEST(FaultStatus, AccessTypeNamesFollowPanfrost) {
  EXPECT_EQ(access_type_name(Access::Atomic, false), "UNKNOWN");
  EXPECT_EQ(access_type_name(Access::Atomic, true), "ATOMIC");
  EXPECT_EQ(access_type_name(Access::Execute, false), "EXECUTE");
  EXPECT_EQ(access_type_name(Access::Read, false), "READ");
  EXPECT_EQ(access_type_name(Access::Write, true), "WRITE");
}

// ---------------------------------------------------------------------------------------------
// AS_LOCKADDR
// ---------------------------------------------------------------------------------------------

std::uint64_t encode_ok(std::uint64_t start, std::uint64_t size, unsigned min_log2,
                        LockAddrBaseStyle style = LockAddrBaseStyle::Kbase) {
  const Result<std::uint64_t> r = lockaddr_encode(start, size, min_log2, style);
  EXPECT_TRUE(r.has_value()) << (r.has_value() ? "" : r.error().to_string());
  return r.has_value() ? *r : 0;
}

TEST(LockAddr, WorkedExampleFromKbaseDocGives128KiBRegion) {
  // Range 0x4F000-0x50FFF: xor 0x1FFFF, log2 17, region [0x40000, 0x5FFFF].
  EXPECT_EQ(encode_ok(0x4F000, 0x2000, 15), 0x40010U);
  EXPECT_EQ(encode_ok(0x4F000, 0x2000, 15, LockAddrBaseStyle::Panfrost), 0x40010U);
  const LockRegion r = lockaddr_decode(0x40010, 15);
  EXPECT_EQ(r.base, 0x40000U);
  EXPECT_EQ(r.log2_size, 17U);
  EXPECT_EQ(r.size(), 128U * 1024);
  EXPECT_EQ(r.last(), 0x5FFFFU);
  EXPECT_TRUE(r.covers_range(0x4F000, 0x2000));
  EXPECT_FALSE(r.covers(0x3FFFF));
  EXPECT_FALSE(r.covers(0x60000));
}

TEST(LockAddr, WholeSpaceGives0x3F) {
  const Result<std::uint64_t> range = lockaddr_encode_range(0, kAllOnes, 15);
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(*range, 0x3FU);
  // panfrost's enable/disable path locks (start 0, size ~0): same value.
  EXPECT_EQ(encode_ok(0, kAllOnes, 15), 0x3FU);
  const LockRegion r = lockaddr_decode(0x3F, 15);
  EXPECT_EQ(r.base, 0U);
  EXPECT_EQ(r.log2_size, 64U);
  EXPECT_EQ(r.mask(), kAllOnes);
  EXPECT_EQ(r.last(), kAllOnes);
  EXPECT_EQ(r.size(), kAllOnes);  // saturated: 2^64 does not fit
  EXPECT_TRUE(r.covers(0));
  EXPECT_TRUE(r.covers(kAllOnes));
  EXPECT_TRUE(r.covers_range(0, kAllOnes));
}

TEST(LockAddr, MinimumRegionIs32KiBBeforeArch12And4KiBFrom12) {
  EXPECT_EQ(lock_region_min_log2(0), 15U);  // old-format (Midgard) ids report arch 0
  EXPECT_EQ(lock_region_min_log2(7), 15U);
  EXPECT_EQ(lock_region_min_log2(11), 15U);
  EXPECT_EQ(lock_region_min_log2(12), 12U);
  EXPECT_EQ(lock_region_min_log2(13), 12U);

  const std::uint64_t before12 = encode_ok(0x4F000, kPageSize, lock_region_min_log2(10));
  EXPECT_EQ(before12, 0x4800EU);
  EXPECT_EQ(lockaddr_decode(before12, 15), (LockRegion{0x48000, 15}));

  const std::uint64_t from12 = encode_ok(0x4F000, kPageSize, lock_region_min_log2(12));
  EXPECT_EQ(from12, 0x4F00BU);
  EXPECT_EQ(lockaddr_decode(from12, 12), (LockRegion{0x4F000, 12}));
}

TEST(LockAddr, PanfrostStyleKeepsBitWidthButLocksTheSameRegion) {
  // Size raised to 32 KiB: panfrost clears only bits below the width (14), kbase below 15.
  const std::uint64_t kbase = encode_ok(0x4F000, kPageSize, 15, LockAddrBaseStyle::Kbase);
  const std::uint64_t panfrost = encode_ok(0x4F000, kPageSize, 15, LockAddrBaseStyle::Panfrost);
  EXPECT_EQ(kbase, 0x4800EU);
  EXPECT_EQ(panfrost, 0x4C00EU);
  EXPECT_EQ(lockaddr_decode(kbase, 15), lockaddr_decode(panfrost, 15));
}

TEST(LockAddr, StylesAgreeWhenTheRangeAloneSetsTheSize) {
  std::mt19937_64 rng(0x10CC);
  for (int i = 0; i < 5000; ++i) {
    const std::uint64_t start = rng() & 0xFFFFFFFFF000ULL;
    const std::uint64_t size = 0x5000 + (rng() & 0xFFFFFFF000ULL);  // > 16 KiB: fls(xor) >= 15
    EXPECT_EQ(encode_ok(start, size, 15, LockAddrBaseStyle::Kbase),
              encode_ok(start, size, 15, LockAddrBaseStyle::Panfrost))
        << std::hex << start << " + " << size;
  }
}

TEST(LockAddr, EncodedRegionIsTheSmallestAlignedBlockCoveringTheRange) {
  std::mt19937_64 rng(0x5EED);
  for (int i = 0; i < 20000; ++i) {
    const unsigned min_log2 = (i % 2 == 0) ? 15 : 12;
    const std::uint64_t start = rng() >> (rng() % 64);
    const std::uint64_t max_size = kAllOnes - start;  // start + size - 1 stays below 2^64
    std::uint64_t size = std::min(rng() >> (rng() % 64), max_size);
    if (size == 0) size = 1;
    for (const auto style : {LockAddrBaseStyle::Kbase, LockAddrBaseStyle::Panfrost}) {
      const Result<std::uint64_t> v = lockaddr_encode(start, size, min_log2, style);
      ASSERT_TRUE(v.has_value()) << v.error().to_string();
      EXPECT_EQ(*v & 0xFC0, 0U) << "reserved bits [11:6] must stay clear";
      const LockRegion r = lockaddr_decode(*v, min_log2);
      EXPECT_GE(r.log2_size, min_log2);
      EXPECT_TRUE(r.covers_range(start, size))
          << std::hex << start << " + " << size << " -> " << r.to_string();
      if (r.log2_size > min_log2) {
        const LockRegion half{start & ~LockRegion{0, r.log2_size - 1}.mask(), r.log2_size - 1};
        EXPECT_FALSE(half.covers_range(start, size)) << std::hex << start << " + " << size;
      }
    }
  }
}

TEST(LockAddr, CanonicalValuesRoundTripThroughDecodeAndEncode) {
  std::mt19937_64 rng(0xC0DE);
  for (int i = 0; i < 20000; ++i) {
    const unsigned min_log2 = (i % 2 == 0) ? 15 : 12;
    const unsigned log2 = min_log2 + static_cast<unsigned>(rng() % (65 - min_log2));
    const std::uint64_t base = rng() & ~LockRegion{0, log2}.mask();
    const std::uint64_t value = base | (log2 - 1);
    const LockRegion r = lockaddr_decode(value, min_log2);
    EXPECT_EQ(r, (LockRegion{base, log2}));
    const Result<std::uint64_t> again = lockaddr_encode_range(r.base, r.last(), min_log2);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, value) << std::hex << value;
  }
}

TEST(LockAddr, DecodeAlignsBaseDownAndIgnoresReservedBits) {
  EXPECT_EQ(lockaddr_decode(0x4F000 | 0xFC0 | 16, 15), (LockRegion{0x40000, 17}));
  EXPECT_EQ(lockaddr_decode(0xFFFF'FFFF'FFFF'F000ULL | 47, 15), (LockRegion{0xFFFF'0000'0000'0000ULL, 48}));
}

TEST(LockAddr, DecodeRaisesTooSmallSizeToMinimum) {
  EXPECT_EQ(lockaddr_decode(0x4F000 | 11, 15), (LockRegion{0x48000, 15}));
  EXPECT_EQ(lockaddr_decode(0x4F000 | 11, 12), (LockRegion{0x4F000, 12}));
  EXPECT_EQ(lockaddr_decode(0x4F000 | 0, 15).log2_size, 15U);
}

TEST(LockAddr, ZeroSizeIsInvalidArgument) {
  const Result<std::uint64_t> r = lockaddr_encode(0x1000, 0, 15);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_NE(r.error().message.find("size 0"), std::string::npos) << r.error().message;
}

TEST(LockAddr, WrappingRangeIsInvalidArgument) {
  const Result<std::uint64_t> r = lockaddr_encode(0xFFFF'FFFF'FFFF'F000ULL, 0x2000, 15);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_NE(r.error().message.find("wraps"), std::string::npos) << r.error().message;
  // The last page of the space is fine.
  EXPECT_TRUE(lockaddr_encode(0xFFFF'FFFF'FFFF'F000ULL, 0x1000, 15).has_value());
}

TEST(LockAddr, BadMinimumOrReversedRangeIsInvalidArgument) {
  for (const unsigned bad_min : {0U, 11U, 65U}) {
    const Result<std::uint64_t> r = lockaddr_encode(0, kPageSize, bad_min);
    ASSERT_FALSE(r.has_value()) << bad_min;
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  }
  const Result<std::uint64_t> reversed = lockaddr_encode_range(0x2000, 0x1000, 15);
  ASSERT_FALSE(reversed.has_value());
  EXPECT_EQ(reversed.error().code, Errc::kInvalidArgument);
}

TEST(LockAddr, RegionSizeAndCoverageAtTheEdges) {
  const LockRegion small{0x40000, 17};
  EXPECT_EQ(small.size(), 0x20000U);
  EXPECT_EQ(small.mask(), 0x1FFFFU);
  EXPECT_TRUE(small.covers_range(0x5F000, 0x1000));
  EXPECT_FALSE(small.covers_range(0x5F000, 0x1001));
  EXPECT_TRUE(small.covers_range(0x12345, 0));  // empty range
  const LockRegion whole{0, 64};
  EXPECT_FALSE(whole.covers_range(kAllOnes, 2));  // wraps
  EXPECT_TRUE(whole.covers_range(kAllOnes, 1));
  const LockRegion top{0x8000'0000'0000'0000ULL, 63};
  EXPECT_EQ(top.last(), kAllOnes);
  EXPECT_TRUE(top.covers(kAllOnes));
  EXPECT_FALSE(top.covers(0x7FFF'FFFF'FFFF'FFFFULL));
}

TEST(LockAddr, ToStringShowsBoundsAndSize) {
  const std::string s = lockaddr_decode(0x40010, 15).to_string();
  EXPECT_NE(s.find("[0x40000, 0x5ffff]"), std::string::npos) << s;
  EXPECT_NE(s.find("128 KiB"), std::string::npos) << s;
  const std::string whole = lockaddr_decode(0x3F, 15).to_string();
  EXPECT_NE(whole.find("16 EiB"), std::string::npos) << whole;
  EXPECT_NE(whole.find("0xffffffffffffffff"), std::string::npos) << whole;
}

// ---------------------------------------------------------------------------------------------
// AS_TRANSTAB
// ---------------------------------------------------------------------------------------------

TEST(Transtab, IoPgtableValueDecodesAsTableWithReadInner) {
  // io-pgtable ARM_MALI_LPAE writes pgd | READ_INNER | ADRMODE_TABLE (+ SHARE_OUTER if coherent).
  const LegacyTranstab t = LegacyTranstab::decode(0x12345000 | 0x7);
  EXPECT_EQ(t.adrmode, TranstabAdrmode::Table);
  EXPECT_TRUE(t.read_inner);
  EXPECT_FALSE(t.share_outer);
  EXPECT_EQ(t.base, 0x12345000U);
  EXPECT_EQ(t.encode(), 0x12345007U);
  const LegacyTranstab coherent = LegacyTranstab::decode(0xFF'FFFF'F000ULL | 0x17);
  EXPECT_TRUE(coherent.share_outer);
  EXPECT_EQ(coherent.base, 0xFF'FFFF'F000ULL);
  EXPECT_EQ(coherent.encode(), 0xFF'FFFF'F017ULL);
}

TEST(Transtab, ZeroIsUnmappedAndAdrmodeValuesMatchHardware) {
  EXPECT_EQ(LegacyTranstab::decode(0).adrmode, TranstabAdrmode::Unmapped);
  EXPECT_EQ(LegacyTranstab::decode(1).adrmode, TranstabAdrmode::Reserved);
  EXPECT_EQ(LegacyTranstab::decode(2).adrmode, TranstabAdrmode::Identity);
  EXPECT_EQ(LegacyTranstab::decode(3).adrmode, TranstabAdrmode::Table);
  EXPECT_EQ(LegacyTranstab{}.encode(), 0U);
}

TEST(Transtab, RandomValuesRoundTripOnDefinedBits) {
  std::mt19937_64 rng(0x7AB);
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t raw = rng();
    const LegacyTranstab t = LegacyTranstab::decode(raw);
    EXPECT_EQ(t.encode(), raw & LegacyTranstab::kDefinedBits);
    EXPECT_EQ(LegacyTranstab::decode(t.encode()), t);
  }
}

TEST(Transtab, ToStringNamesModeBaseAndFlags) {
  const std::string s = LegacyTranstab::decode(0x12345017).to_string();
  EXPECT_NE(s.find("TABLE"), std::string::npos) << s;
  EXPECT_NE(s.find("base=0x12345000"), std::string::npos) << s;
  EXPECT_NE(s.find("READ_INNER"), std::string::npos) << s;
  EXPECT_NE(s.find("SHARE_OUTER"), std::string::npos) << s;
  EXPECT_EQ(LegacyTranstab::decode(0).to_string().find("READ_INNER"), std::string::npos);
  EXPECT_NE(LegacyTranstab::decode(0).to_string().find("UNMAPPED"), std::string::npos);
}

TEST(Transtab, Aarch64BaseKeepsBits63To4) {
  EXPECT_EQ(kTranstabAarch64AddrMask, 0xFFFFFFFFFFFFFFF0ULL);
  EXPECT_EQ(transtab_aarch64_base(0x1234567FULL), 0x12345670ULL);
  EXPECT_EQ(transtab_aarch64_base(kAllOnes), 0xFFFFFFFFFFFFFFF0ULL);
}

// ---------------------------------------------------------------------------------------------
// AS_TRANSCFG
// ---------------------------------------------------------------------------------------------

TEST(Transcfg, PanfrostAarch64NonCoherentValueDecodesAndReencodes) {
  const Transcfg t = Transcfg::decode(0x420001C6);
  EXPECT_EQ(t.adrmode, TranscfgAdrmode::Aarch64_4K);
  EXPECT_TRUE(t.is_known());
  EXPECT_EQ(t.ina_bits, 7);
  EXPECT_EQ(t.va_bits(), 48U);
  EXPECT_EQ(t.outa_bits, 0);
  EXPECT_EQ(t.ptw_memattr, Transcfg::kPtwMemattrWriteBack);
  EXPECT_EQ(t.ptw_sh, Transcfg::kPtwShNonShareable);
  EXPECT_TRUE(t.ptw_ra);
  EXPECT_FALSE(t.sl_concat);
  EXPECT_FALSE(t.disable_hier_ap || t.disable_af_fault || t.wxn || t.xreadable);
  EXPECT_EQ(t.encode(), 0x420001C6U);

  // Built field by field the way panfrost composes it: WB | RA | AARCH64_4K | INA_BITS(55 - 48).
  Transcfg built;
  built.adrmode = TranscfgAdrmode::Aarch64_4K;
  built.ina_bits = Transcfg::ina_bits_for(48);
  built.ptw_memattr = Transcfg::kPtwMemattrWriteBack;
  built.ptw_ra = true;
  EXPECT_EQ(built.encode(), 0x420001C6U);
  EXPECT_EQ(built, t);
}

TEST(Transcfg, PanfrostAarch64CoherentValueAddsOuterShareableWalk) {
  const Transcfg t = Transcfg::decode(0x620001C6);
  EXPECT_EQ(t.ptw_sh, Transcfg::kPtwShOuterShareable);
  EXPECT_EQ(t.adrmode, TranscfgAdrmode::Aarch64_4K);
  EXPECT_EQ(t.va_bits(), 48U);
  EXPECT_EQ(t.encode(), 0x620001C6U);
}

TEST(Transcfg, AdrmodeValuesMatchHardwareAndReservedOnesRoundTrip) {
  EXPECT_EQ(Transcfg::decode(0).adrmode, TranscfgAdrmode::Legacy);
  EXPECT_EQ(Transcfg::decode(1).adrmode, TranscfgAdrmode::Unmapped);
  EXPECT_EQ(Transcfg::decode(2).adrmode, TranscfgAdrmode::Identity);
  EXPECT_EQ(Transcfg::decode(6).adrmode, TranscfgAdrmode::Aarch64_4K);
  EXPECT_EQ(Transcfg::decode(8).adrmode, TranscfgAdrmode::Aarch64_64K);
  for (const std::uint64_t raw : {0ULL, 1ULL, 2ULL, 6ULL, 8ULL})
    EXPECT_TRUE(Transcfg::decode(raw).is_known());
  for (const std::uint64_t raw : {3ULL, 4ULL, 5ULL, 7ULL, 9ULL, 15ULL}) {
    const Transcfg t = Transcfg::decode(raw);
    EXPECT_FALSE(t.is_known()) << raw;
    EXPECT_EQ(t.encode(), raw);
  }
}

TEST(Transcfg, HighFlagBitsDecodeIndividually) {
  EXPECT_TRUE(Transcfg::decode(1ULL << 22).sl_concat);
  EXPECT_TRUE(Transcfg::decode(1ULL << 33).disable_hier_ap);
  EXPECT_TRUE(Transcfg::decode(1ULL << 34).disable_af_fault);
  EXPECT_TRUE(Transcfg::decode(1ULL << 35).wxn);
  EXPECT_TRUE(Transcfg::decode(1ULL << 36).xreadable);
  EXPECT_EQ(Transcfg::decode(3ULL << 28).ptw_sh, Transcfg::kPtwShInnerShareable);
  EXPECT_EQ(Transcfg::decode(1ULL << 24).ptw_memattr, Transcfg::kPtwMemattrNonCacheable);
  EXPECT_EQ(Transcfg::decode(0x1FULL << 14).outa_bits, 0x1F);
  EXPECT_EQ(Transcfg::decode(0x1FULL << 6).ina_bits, 0x1F);
  EXPECT_EQ(Transcfg::decode(0x1FULL << 6).va_bits(), 24U);
}

TEST(Transcfg, RandomValuesRoundTripOnDefinedBits) {
  std::mt19937_64 rng(0x7C5);
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t raw = rng();
    const Transcfg t = Transcfg::decode(raw);
    EXPECT_EQ(t.encode(), raw & Transcfg::kDefinedBits) << std::hex << raw;
    EXPECT_EQ(Transcfg::decode(t.encode()), t);
  }
}

TEST(Transcfg, ToStringNamesModeVaWidthAndWalkAttributes) {
  const std::string s = Transcfg::decode(0x620001C6).to_string();
  EXPECT_NE(s.find("AARCH64_4K"), std::string::npos) << s;
  EXPECT_NE(s.find("INA_BITS=7 (48-bit VA)"), std::string::npos) << s;
  EXPECT_NE(s.find("PTW_MEMATTR=WB"), std::string::npos) << s;
  EXPECT_NE(s.find("PTW_SH=OS"), std::string::npos) << s;
  EXPECT_NE(s.find("PTW_RA"), std::string::npos) << s;
  EXPECT_EQ(s.find("WXN"), std::string::npos) << s;
  EXPECT_NE(Transcfg::decode(3).to_string().find("RESERVED(3)"), std::string::npos);
  EXPECT_NE(Transcfg::decode(1).to_string().find("UNMAPPED"), std::string::npos);
  EXPECT_NE(Transcfg::decode((1ULL << 35) | (1ULL << 24)).to_string().find("PTW_MEMATTR=NC"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// AS_MEMATTR
// ---------------------------------------------------------------------------------------------

using Slots = std::array<std::uint8_t, 8>;

TEST(Memattr, PanfrostLegacyProducerDecodesToListedSlots) {
  EXPECT_EQ(Memattr::decode(kMemattrPanfrostLegacy).slots, (Slots{0x88, 0x8D, 0x88, 0, 0, 0, 0, 0}));
}

TEST(Memattr, KbaseLegacyProducerDecodesToListedSlots) {
  EXPECT_EQ(Memattr::decode(kMemattrKbaseLegacy).slots, (Slots{0x48, 0x4F, 0x4D, 0x88, 0x8D, 0, 0, 0}));
}

TEST(Memattr, KbaseAarch64ProducerDecodesToListedSlots) {
  EXPECT_EQ(Memattr::decode(kMemattrKbaseAarch64).slots, (Slots{0x88, 0x8F, 0x8D, 0x88, 0x8D, 0x4C, 0, 0}));
}

TEST(Memattr, PanfrostAarch64ProducerDecodesToListedSlots) {
  EXPECT_EQ(Memattr::decode(kMemattrPanfrostAarch64).slots,
            (Slots{0x4C, 0x8F, 0x4C, 0x8C, 0x4C, 0x4C, 0x4C, 0x4C}));
}

TEST(Memattr, ProducerValuesReencodeFromTheirSlots) {
  for (const std::uint64_t v :
       {kMemattrPanfrostLegacy, kMemattrKbaseLegacy, kMemattrKbaseAarch64, kMemattrPanfrostAarch64}) {
    Memattr m;
    m.slots = Memattr::decode(v).slots;
    EXPECT_EQ(m.encode(), v);
  }
}

TEST(Memattr, SlotFieldsFollowTheAarch64Layout) {
  const MemattrSlot impl{0x88};
  EXPECT_EQ(impl.cache(), 2U);
  EXPECT_EQ(impl.shareability(), 0U);
  EXPECT_EQ(impl.alloc_policy(), 2U);
  EXPECT_FALSE(impl.explicit_write_alloc());
  const MemattrSlot wa{0x8D};
  EXPECT_EQ(wa.alloc_policy(), 3U);
  EXPECT_TRUE(wa.explicit_write_alloc());
  EXPECT_FALSE(wa.explicit_read_alloc());
  const MemattrSlot rwa{0x8F};
  EXPECT_TRUE(rwa.explicit_write_alloc());
  EXPECT_TRUE(rwa.explicit_read_alloc());
  const MemattrSlot nc{0x4C};
  EXPECT_EQ(nc.cache(), 1U);
  EXPECT_EQ(nc.alloc_policy(), 3U);
  EXPECT_FALSE(nc.explicit_write_alloc() || nc.explicit_read_alloc());
  EXPECT_EQ(MemattrSlot{0x9D}.shareability(), 1U);  // coherent panfrost adds 0x10 to WB slots
  EXPECT_EQ(MemattrSlot{0xA8}.shareability(), 2U);
}

TEST(Memattr, OnlyTopBits11MarkAFaultSlot) {
  const Memattr m = Memattr::decode(0xC0ULL << 24 | 0xBFULL << 16 | 0xFFULL << 56);
  for (unsigned i = 0; i < Memattr::kSlots; ++i) EXPECT_EQ(m.slot_is_fault(i), i == 3 || i == 7) << i;
  for (const std::uint64_t v :
       {kMemattrPanfrostLegacy, kMemattrKbaseLegacy, kMemattrKbaseAarch64, kMemattrPanfrostAarch64}) {
    for (unsigned i = 0; i < Memattr::kSlots; ++i) EXPECT_FALSE(Memattr::decode(v).slot_is_fault(i));
  }
}

TEST(Memattr, RandomValuesRoundTrip) {
  std::mt19937_64 rng(0x3E3A);
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t raw = rng();
    const Memattr m = Memattr::decode(raw);
    EXPECT_EQ(m.encode(), raw);
    EXPECT_EQ(Memattr::decode(m.encode()), m);
  }
}

TEST(Memattr, SlotDescriptionsNameCacheShareabilityAndAllocation) {
  const Memattr m = Memattr::decode(kMemattrKbaseAarch64);
  EXPECT_EQ(m.slot_description(0), "0x88: WB, SH_MIDGARD_INNER, ALLOC_IMPL");
  EXPECT_EQ(m.slot_description(1), "0x8F: WB, SH_MIDGARD_INNER, ALLOC_EXPL(RW)");
  EXPECT_EQ(m.slot_description(2), "0x8D: WB, SH_MIDGARD_INNER, ALLOC_EXPL(W)");
  EXPECT_EQ(m.slot_description(5), "0x4C: NC, SH_MIDGARD_INNER, ALLOC_EXPL(none)");
  EXPECT_EQ(m.slot_description(6), "0x00: SHARED, SH_MIDGARD_INNER, ALLOC_0");
  EXPECT_NE(MemattrSlot{0xC0}.to_string().find("FAULT"), std::string::npos);
  const std::string all = m.to_string();
  EXPECT_NE(all.find("[1] 0x8F"), std::string::npos) << all;
  EXPECT_NE(all.find("[7] 0x00"), std::string::npos) << all;
}

// ---------------------------------------------------------------------------------------------
// GPU_ID
// ---------------------------------------------------------------------------------------------

struct IdCase {
  std::uint16_t product_id;
  std::uint32_t model_id;
  const char* name;
};

TEST(GpuId, DummyExampleIdsMapToPanfrostModels) {
  const IdCase cases[] = {
      {0x60A0, 0x6000, "G71"}, {0x6201, 0x6001, "G72"}, {0x7000, 0x7000, "G51"}, {0x7211, 0x7001, "G76"},
      {0x7222, 0x7002, "G52"}, {0x7402, 0x7002, "G52"}, {0x7003, 0x7003, "G31"},
  };
  for (const IdCase& c : cases) {
    const GpuId id = GpuId::decode(std::uint32_t{c.product_id} << 16);
    EXPECT_TRUE(id.is_new_format()) << std::hex << c.product_id;
    EXPECT_EQ(id.panfrost_model_id(), c.model_id) << std::hex << c.product_id;
    EXPECT_EQ(id.model_name(), c.name) << std::hex << c.product_id;
  }
}

TEST(GpuId, MakeNewBuildsTheDummyIds) {
  EXPECT_EQ(GpuId::make_new(6, 0, 10, 0, 0, 0, 0).product_id(), 0x60A0);
  EXPECT_EQ(GpuId::make_new(6, 2, 0, 1, 0, 0, 0).product_id(), 0x6201);
  EXPECT_EQ(GpuId::make_new(7, 2, 1, 1, 0, 0, 0).product_id(), 0x7211);
  EXPECT_EQ(GpuId::make_new(7, 2, 2, 2, 0, 0, 0).product_id(), 0x7222);
  EXPECT_EQ(GpuId::make_new(7, 4, 0, 2, 1, 0, 0).raw, 0x74021000U);
  EXPECT_EQ(GpuId::make_new(7, 0, 0, 3, 0, 0, 0).product_id(), 0x7003);
}

TEST(GpuId, FieldsDecodeFromTheirBitPositions) {
  const GpuId id = GpuId::decode(0x72113A59);
  EXPECT_EQ(id.product_id(), 0x7211);
  EXPECT_EQ(id.version_major(), 3U);
  EXPECT_EQ(id.version_minor(), 0xA5U);
  EXPECT_EQ(id.version_status(), 9U);
  EXPECT_EQ(id.arch_major(), 7U);
  EXPECT_EQ(id.arch_minor(), 2U);
  EXPECT_EQ(id.arch_rev(), 1U);
  EXPECT_EQ(id.product_major(), 1U);
}

TEST(GpuId, NewFormatFieldsRoundTripThroughMakeNew) {
  std::mt19937 rng(0x6F1D);
  for (int i = 0; i < 10000; ++i) {
    const auto raw = static_cast<std::uint32_t>(rng()) | 0x10000000U;  // arch_major >= 1: new format
    const GpuId id = GpuId::decode(raw);
    if (id.product_id() == GpuId::kT60xRawProductId) continue;
    ASSERT_TRUE(id.is_new_format()) << std::hex << raw;
    EXPECT_EQ(GpuId::make_new(id.arch_major(), id.arch_minor(), id.arch_rev(), id.product_major(),
                              id.version_major(), id.version_minor(), id.version_status())
                  .encode(),
              raw);
    const GpuId old =
        GpuId::make_old(id.product_id(), id.version_major(), id.version_minor(), id.version_status());
    EXPECT_EQ(old.encode(), raw);
  }
}

TEST(GpuId, T60xOddIdIsOldFormatModel0x600) {
  const GpuId id = GpuId::make_old(0x6956, 0, 1, 0);
  EXPECT_FALSE(id.is_new_format());
  EXPECT_EQ(id.panfrost_model_id(), 0x0600U);
  EXPECT_EQ(id.model_name(), "T600");
  EXPECT_EQ(id.arch_major(), 0U);  // read as new format it would claim arch 6
}

TEST(GpuId, MidgardIdsAreOldFormatWithArchZero) {
  const IdCase cases[] = {
      {0x0620, 0x0620, "T620"}, {0x0720, 0x0720, "T720"}, {0x0750, 0x0750, "T760"}, {0x0820, 0x0820, "T820"},
      {0x0830, 0x0830, "T830"}, {0x0860, 0x0860, "T860"}, {0x0880, 0x0880, "T880"},
  };
  for (const IdCase& c : cases) {
    const GpuId id = GpuId::make_old(c.product_id, 1, 2, 0);
    EXPECT_FALSE(id.is_new_format());
    EXPECT_EQ(id.arch_major(), 0U);
    EXPECT_EQ(id.panfrost_model_id(), c.model_id);
    EXPECT_EQ(id.model_name(), c.name);
  }
  EXPECT_EQ(GpuId::make_old(0x0760, 0, 0, 0).model_name(), "unknown");  // T760 is 0x750
}

TEST(GpuId, G57VariantsIncludingMediatekIdsAreG57) {
  for (const std::uint16_t pid : std::initializer_list<std::uint16_t>{0x9001, 0x9003, 0x9093}) {
    const GpuId id = GpuId::decode(std::uint32_t{pid} << 16);
    EXPECT_EQ(id.model_name(), "G57") << std::hex << pid;
    EXPECT_EQ(id.arch_major(), 9U);
  }
  EXPECT_EQ(GpuId::decode(0x90930000).panfrost_model_id(), 0x9003U);
}

TEST(GpuId, UnlistedProductsAreUnknown) {
  EXPECT_EQ(GpuId::decode(0x12340000).model_name(), "unknown");
  EXPECT_EQ(GpuId::decode(0x90020000).model_name(), "unknown");
  EXPECT_EQ(GpuId::decode(0x09990000).model_name(), "unknown");
}

TEST(GpuId, ToStringShowsModelAndRevision) {
  const std::string s = GpuId::make_new(7, 4, 0, 2, 1, 0, 0).to_string();
  EXPECT_NE(s.find("G52"), std::string::npos) << s;
  EXPECT_NE(s.find("r1p0"), std::string::npos) << s;
  EXPECT_NE(s.find("0x7402"), std::string::npos) << s;
}

// ---------------------------------------------------------------------------------------------
// GPU_MMU_FEATURES
// ---------------------------------------------------------------------------------------------

TEST(MmuFeatures, ReferenceValuesDecode) {
  EXPECT_EQ(MmuFeatures::decode(0x2830), (MmuFeatures{48, 40}));
  EXPECT_EQ(MmuFeatures::decode(0x2821), (MmuFeatures{33, 40}));
  EXPECT_EQ(MmuFeatures::decode(0x2823), (MmuFeatures{35, 40}));
}

TEST(MmuFeatures, EveryFieldPairRoundTripsAndUpperBitsAreIgnored) {
  for (unsigned va = 0; va < 256; ++va) {
    for (unsigned pa = 0; pa < 256; ++pa) {
      const MmuFeatures f{static_cast<std::uint8_t>(va), static_cast<std::uint8_t>(pa)};
      ASSERT_EQ(MmuFeatures::decode(f.encode()), f);
      ASSERT_EQ(f.encode(), va | pa << 8);
    }
  }
  EXPECT_EQ(MmuFeatures::decode(0xFFFF2830), MmuFeatures::decode(0x2830));
}

TEST(MmuFeatures, ToStringShowsBothWidths) {
  EXPECT_EQ(MmuFeatures::decode(0x2830).to_string(), "VA 48 bits, PA 40 bits");
}

}  // namespace
}  // namespace mali_sim
