#include "mali_sim/regs.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mali_sim {

namespace {

// Registers at fixed offsets outside the per-slot and per-AS blocks.
std::string_view fixed_register_name(std::uint32_t offset) noexcept {
  switch (offset) {
    case regs::kGpuId: return "GPU_ID";
    case regs::kL2Features: return "L2_FEATURES";
    case regs::kCoreFeatures: return "CORE_FEATURES";
    case regs::kTilerFeatures: return "TILER_FEATURES";
    case regs::kMemFeatures: return "MEM_FEATURES";
    case regs::kGpuMmuFeatures: return "GPU_MMU_FEATURES";
    case regs::kGpuAsPresent: return "GPU_AS_PRESENT";
    case regs::kGpuJsPresent: return "GPU_JS_PRESENT";
    case regs::kGpuIntRawstat: return "GPU_INT_RAWSTAT";
    case regs::kGpuIntClear: return "GPU_INT_CLEAR";
    case regs::kGpuIntMask: return "GPU_INT_MASK";
    case regs::kGpuIntStat: return "GPU_INT_STAT";
    case regs::kGpuCmd: return "GPU_CMD";
    case regs::kGpuStatus: return "GPU_STATUS";
    case regs::kLatestFlush: return "LATEST_FLUSH";
    case regs::kGpuFaultStatus: return "GPU_FAULT_STATUS";
    case regs::kGpuFaultAddressLo: return "GPU_FAULT_ADDRESS_LO";
    case regs::kGpuFaultAddressHi: return "GPU_FAULT_ADDRESS_HI";
    case regs::kAfbcFeatures: return "AFBC_FEATURES";
    case regs::kPwrKey: return "PWR_KEY";
    case regs::kPwrOverride0: return "PWR_OVERRIDE0";
    case regs::kPwrOverride1: return "PWR_OVERRIDE1";
    case regs::kPrfcntBaseLo: return "PRFCNT_BASE_LO";
    case regs::kPrfcntBaseHi: return "PRFCNT_BASE_HI";
    case regs::kPrfcntConfig: return "PRFCNT_CONFIG";
    case regs::kPrfcntJmEn: return "PRFCNT_JM_EN";
    case regs::kPrfcntShaderEn: return "PRFCNT_SHADER_EN";
    case regs::kPrfcntTilerEn: return "PRFCNT_TILER_EN";
    case regs::kPrfcntMmuL2En: return "PRFCNT_MMU_L2_EN";
    case regs::kCycleCountLo: return "CYCLE_COUNT_LO";
    case regs::kCycleCountHi: return "CYCLE_COUNT_HI";
    case regs::kTimestampLo: return "TIMESTAMP_LO";
    case regs::kTimestampHi: return "TIMESTAMP_HI";
    case regs::kThreadMaxThreads: return "THREAD_MAX_THREADS";
    case regs::kThreadMaxWorkgroupSize: return "THREAD_MAX_WORKGROUP_SIZE";
    case regs::kThreadMaxBarrierSize: return "THREAD_MAX_BARRIER_SIZE";
    case regs::kThreadFeatures: return "THREAD_FEATURES";
    case regs::kTextureFeatures0: return "TEXTURE_FEATURES_0";
    case regs::kTextureFeatures0 + 4: return "TEXTURE_FEATURES_1";
    case regs::kTextureFeatures0 + 8: return "TEXTURE_FEATURES_2";
    case regs::kTextureFeatures0 + 12: return "TEXTURE_FEATURES_3";
    case regs::kRevidr: return "REVIDR";
    case regs::kCoherencyFeatures: return "COHERENCY_FEATURES";
    case regs::kCoherencyEnable: return "COHERENCY_ENABLE";
    case regs::kThreadTlsAlloc: return "THREAD_TLS_ALLOC";
    case regs::kJmConfig: return "JM_CONFIG";
    case regs::kShaderConfig: return "SHADER_CONFIG";
    case regs::kTilerConfig: return "TILER_CONFIG";
    case regs::kL2MmuConfig: return "L2_MMU_CONFIG";
    case regs::kJobIntRawstat: return "JOB_INT_RAWSTAT";
    case regs::kJobIntClear: return "JOB_INT_CLEAR";
    case regs::kJobIntMask: return "JOB_INT_MASK";
    case regs::kJobIntStat: return "JOB_INT_STAT";
    case regs::kJobIntJsState: return "JOB_INT_JS_STATE";
    case regs::kJobIntThrottle: return "JOB_INT_THROTTLE";
    case regs::kMmuIntRawstat: return "MMU_INT_RAWSTAT";
    case regs::kMmuIntClear: return "MMU_INT_CLEAR";
    case regs::kMmuIntMask: return "MMU_INT_MASK";
    case regs::kMmuIntStat: return "MMU_INT_STAT";
    default: return {};
  }
}

std::string_view js_register_suffix(std::uint32_t reg_in_slot) noexcept {
  switch (reg_in_slot) {
    case regs::kJsHeadLo: return "HEAD_LO";
    case regs::kJsHeadHi: return "HEAD_HI";
    case regs::kJsTailLo: return "TAIL_LO";
    case regs::kJsTailHi: return "TAIL_HI";
    case regs::kJsAffinityLo: return "AFFINITY_LO";
    case regs::kJsAffinityHi: return "AFFINITY_HI";
    case regs::kJsConfig: return "CONFIG";
    case regs::kJsXaffinity: return "XAFFINITY";
    case regs::kJsCommand: return "COMMAND";
    case regs::kJsStatus: return "STATUS";
    case regs::kJsFlushId: return "FLUSH_ID";
    case regs::kJsXaffinityNext: return "XAFFINITY_NEXT";
    case regs::kJsHeadNextLo: return "HEAD_NEXT_LO";
    case regs::kJsHeadNextHi: return "HEAD_NEXT_HI";
    case regs::kJsAffinityNextLo: return "AFFINITY_NEXT_LO";
    case regs::kJsAffinityNextHi: return "AFFINITY_NEXT_HI";
    case regs::kJsConfigNext: return "CONFIG_NEXT";
    case regs::kJsCommandNext: return "COMMAND_NEXT";
    case regs::kJsFlushIdNext: return "FLUSH_ID_NEXT";
    default: return {};
  }
}

std::string_view as_register_suffix(std::uint32_t reg_in_block) noexcept {
  switch (reg_in_block) {
    case regs::kAsTranstabLo: return "TRANSTAB_LO";
    case regs::kAsTranstabHi: return "TRANSTAB_HI";
    case regs::kAsMemattrLo: return "MEMATTR_LO";
    case regs::kAsMemattrHi: return "MEMATTR_HI";
    case regs::kAsLockaddrLo: return "LOCKADDR_LO";
    case regs::kAsLockaddrHi: return "LOCKADDR_HI";
    case regs::kAsCommand: return "COMMAND";
    case regs::kAsFaultstatus: return "FAULTSTATUS";
    case regs::kAsFaultaddressLo: return "FAULTADDRESS_LO";
    case regs::kAsFaultaddressHi: return "FAULTADDRESS_HI";
    case regs::kAsStatus: return "STATUS";
    case regs::kAsTranscfgLo: return "TRANSCFG_LO";
    case regs::kAsTranscfgHi: return "TRANSCFG_HI";
    case regs::kAsFaultextraLo: return "FAULTEXTRA_LO";
    case regs::kAsFaultextraHi: return "FAULTEXTRA_HI";
    default: return {};
  }
}

// "128 KiB", "4 GiB", "16 EiB" for a power-of-two size given as its log2.
std::string format_pow2_size(unsigned log2) {
  static constexpr std::string_view kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  const unsigned unit = std::min(log2 / 10, 6U);
  return fmt::format("{} {}", std::uint64_t{1} << (log2 - unit * 10), kUnits[unit]);
}

// "SHADER_READY_LO", "STACK_PWRON_HI", ... for the power-domain registers; empty otherwise.
std::string power_register_name(std::uint32_t offset) {
  static constexpr std::pair<std::uint32_t, std::string_view> kBlocks[] = {
      {regs::kShaderPresentLo, "PRESENT"},   {regs::kShaderReadyLo, "READY"},
      {regs::kShaderPwronLo, "PWRON"},       {regs::kShaderPwroffLo, "PWROFF"},
      {regs::kShaderPwrtransLo, "PWRTRANS"}, {regs::kShaderPwractiveLo, "PWRACTIVE"}};
  static constexpr std::string_view kDomains[] = {"SHADER", "TILER", "L2"};
  const char* half = (offset & 4U) != 0 ? "HI" : "LO";
  for (const auto& [base, what] : kBlocks) {
    if (offset >= base && offset < base + 0x30 && (offset & 0xFU) < 8)
      return fmt::format("{}_{}_{}", kDomains[(offset - base) >> 4], what, half);
  }
  if (offset >= regs::kStackPresentLo && offset < regs::kStackPwrtransLo + 8 && (offset & 0xFU) < 8) {
    static constexpr std::string_view kStack[] = {"PRESENT", "READY", "PWRON", "PWROFF", "PWRTRANS"};
    return fmt::format("STACK_{}_{}", kStack[(offset - regs::kStackPresentLo) >> 4], half);
  }
  return {};
}

}  // namespace

std::string register_name(std::uint32_t offset) {
  if (const std::string_view name = fixed_register_name(offset); !name.empty()) return std::string(name);
  if (offset >= regs::kJsFeatures0 && offset < regs::kJsFeatures0 + 4 * regs::kMaxJobSlots &&
      (offset & 3U) == 0)
    return fmt::format("JS{}_FEATURES", (offset - regs::kJsFeatures0) / 4);
  if (std::string name = power_register_name(offset); !name.empty()) return name;
  if (offset >= regs::kJsBase && offset < regs::kJsBase + regs::kMaxJobSlots * regs::kJsSlotStride) {
    const std::uint32_t rel = offset - regs::kJsBase;
    if (const std::string_view s = js_register_suffix(rel % regs::kJsSlotStride); !s.empty()) {
      return fmt::format("JS{}_{}", rel / regs::kJsSlotStride, s);
    }
  }
  if (const auto as = regs::as_reg_decode(offset)) {
    if (const std::string_view s = as_register_suffix(as->reg_in_block); !s.empty()) {
      return fmt::format("AS{}_{}", as->as, s);
    }
  }
  return fmt::format("{:#06x}", offset);
}

std::string_view to_string(AsCommand c) noexcept {
  switch (c) {
    case AsCommand::Nop: return "NOP";
    case AsCommand::Update: return "UPDATE";
    case AsCommand::Lock: return "LOCK";
    case AsCommand::Unlock: return "UNLOCK";
    case AsCommand::FlushPt: return "FLUSH_PT";
    case AsCommand::FlushMem: return "FLUSH_MEM";
  }
  return "UNKNOWN";
}

std::string_view to_string(GpuCommand c) noexcept {
  switch (c) {
    case GpuCommand::Nop: return "NOP";
    case GpuCommand::SoftReset: return "SOFT_RESET";
    case GpuCommand::HardReset: return "HARD_RESET";
    case GpuCommand::PerfcntClear: return "PERFCNT_CLEAR";
    case GpuCommand::PerfcntSample: return "PERFCNT_SAMPLE";
    case GpuCommand::CycleCountStart: return "CYCLE_COUNT_START";
    case GpuCommand::CycleCountStop: return "CYCLE_COUNT_STOP";
    case GpuCommand::CleanCaches: return "CLEAN_CACHES";
    case GpuCommand::CleanInvCaches: return "CLEAN_INV_CACHES";
    case GpuCommand::SetProtectedMode: return "SET_PROTECTED_MODE";
  }
  return "UNKNOWN";
}

std::string_view to_string(MmuFaultKind k) noexcept {
  switch (k) {
    case MmuFaultKind::Translation: return "TRANSLATION";
    case MmuFaultKind::TranslationIdentity: return "TRANSLATION_IDENTITY";
    case MmuFaultKind::Permission: return "PERMISSION";
    case MmuFaultKind::TranstabBus: return "TRANSTAB_BUS";
    case MmuFaultKind::AccessFlag: return "ACCESS_FLAG";
    case MmuFaultKind::AddressSizeIn: return "ADDRESS_SIZE_IN";
    case MmuFaultKind::AddressSizeOut: return "ADDRESS_SIZE_OUT";
    case MmuFaultKind::MemAttr: return "MEM_ATTR";
    case MmuFaultKind::MemAttrNonCache: return "MEM_ATTR_NONCACHE";
  }
  return "?";
}

// Names and values of panfrost_device.h's drm_panfrost_exception_type (0x3F MAX_NON_FAULT is a
// bound, not an entry of panfrost's name table, so it reads as unknown there too).
std::string_view exception_name(std::uint32_t code) noexcept {
  switch (code) {
    case 0x00: return "OK";
    case 0x01: return "DONE";
    case 0x02: return "INTERRUPTED";
    case 0x03: return "STOPPED";
    case 0x04: return "TERMINATED";
    case 0x05: return "KABOOM";
    case 0x06: return "EUREKA";
    case 0x08: return "ACTIVE";
    case 0x40: return "JOB_CONFIG_FAULT";
    case 0x41: return "JOB_POWER_FAULT";
    case 0x42: return "JOB_READ_FAULT";
    case 0x43: return "JOB_WRITE_FAULT";
    case 0x44: return "JOB_AFFINITY_FAULT";
    case 0x48: return "JOB_BUS_FAULT";
    case 0x50: return "INSTR_INVALID_PC";
    case 0x51: return "INSTR_INVALID_ENC";
    case 0x52: return "INSTR_TYPE_MISMATCH";
    case 0x53: return "INSTR_OPERAND_FAULT";
    case 0x54: return "INSTR_TLS_FAULT";
    case 0x55: return "INSTR_BARRIER_FAULT";
    case 0x56: return "INSTR_ALIGN_FAULT";
    case 0x58: return "DATA_INVALID_FAULT";
    case 0x59: return "TILE_RANGE_FAULT";
    case 0x5A: return "ADDR_RANGE_FAULT";
    case 0x5B: return "IMPRECISE_FAULT";
    case 0x60: return "OOM";
    case 0x61: return "OOM_AFBC";
    case 0x7F: return "UNKNOWN";
    case 0x80: return "DELAYED_BUS_FAULT";
    case 0x88: return "GPU_SHAREABILITY_FAULT";
    case 0x89: return "SYS_SHAREABILITY_FAULT";
    case 0x8A: return "GPU_CACHEABILITY_FAULT";
    case 0xC0: return "TRANSLATION_FAULT_0";
    case 0xC1: return "TRANSLATION_FAULT_1";
    case 0xC2: return "TRANSLATION_FAULT_2";
    case 0xC3: return "TRANSLATION_FAULT_3";
    case 0xC4: return "TRANSLATION_FAULT_4";
    case 0xC7: return "TRANSLATION_FAULT_IDENTITY";
    case 0xC8: return "PERM_FAULT_0";
    case 0xC9: return "PERM_FAULT_1";
    case 0xCA: return "PERM_FAULT_2";
    case 0xCB: return "PERM_FAULT_3";
    case 0xD0: return "TRANSTAB_BUS_FAULT_0";
    case 0xD1: return "TRANSTAB_BUS_FAULT_1";
    case 0xD2: return "TRANSTAB_BUS_FAULT_2";
    case 0xD3: return "TRANSTAB_BUS_FAULT_3";
    case 0xD8: return "ACCESS_FLAG_0";
    case 0xD9: return "ACCESS_FLAG_1";
    case 0xDA: return "ACCESS_FLAG_2";
    case 0xDB: return "ACCESS_FLAG_3";
    case 0xE0: return "ADDR_SIZE_FAULT_IN0";
    case 0xE1: return "ADDR_SIZE_FAULT_IN1";
    case 0xE2: return "ADDR_SIZE_FAULT_IN2";
    case 0xE3: return "ADDR_SIZE_FAULT_IN3";
    case 0xE4: return "ADDR_SIZE_FAULT_OUT0";
    case 0xE5: return "ADDR_SIZE_FAULT_OUT1";
    case 0xE6: return "ADDR_SIZE_FAULT_OUT2";
    case 0xE7: return "ADDR_SIZE_FAULT_OUT3";
    case 0xE8: return "MEM_ATTR_FAULT_0";
    case 0xE9: return "MEM_ATTR_FAULT_1";
    case 0xEA: return "MEM_ATTR_FAULT_2";
    case 0xEB: return "MEM_ATTR_FAULT_3";
    case 0xEC: return "MEM_ATTR_NONCACHE_0";
    case 0xED: return "MEM_ATTR_NONCACHE_1";
    case 0xEE: return "MEM_ATTR_NONCACHE_2";
    case 0xEF: return "MEM_ATTR_NONCACHE_3";
    default: return "Unknown exception type";
  }
}

std::string_view access_type_name(Access a, bool has_aarch64_mmu) noexcept {
  switch (a) {
    case Access::Atomic: return has_aarch64_mmu ? "ATOMIC" : "UNKNOWN";
    case Access::Execute: return "EXECUTE";
    case Access::Read: return "READ";
    case Access::Write: return "WRITE";
  }
  return "UNKNOWN";
}

std::string FaultStatus::to_string(bool has_aarch64_mmu) const {
  return fmt::format(
      "raw fault status: 0x{:X}, decoded fault status: {}, exception type 0x{:X}: {}, access type 0x{:X}: "
      "{}, "
      "source id 0x{:X}",
      encode(), decoder_fault ? "DECODER FAULT" : "SLAVE FAULT", exception_type,
      exception_name(exception_type), static_cast<unsigned>(access_type),
      access_type_name(access_type, has_aarch64_mmu), source_id);
}

std::string LockRegion::to_string() const {
  return fmt::format("[{:#x}, {:#x}] ({}, log2 {})", base, last(), format_pow2_size(log2_size), log2_size);
}

Result<std::uint64_t> lockaddr_encode_range(std::uint64_t first, std::uint64_t last_inclusive,
                                            unsigned min_log2, LockAddrBaseStyle style) {
  if (min_log2 < 12 || min_log2 > 64) {
    return make_error(Errc::kInvalidArgument,
                      fmt::format("lockaddr_encode: minimum region log2 {} outside 12..64 (the LOCKADDR base "
                                  "field starts at bit 12)",
                                  min_log2));
  }
  if (first > last_inclusive) {
    return make_error(
        Errc::kInvalidArgument,
        fmt::format("lockaddr_encode: empty range, first {:#x} > last {:#x}", first, last_inclusive));
  }
  // The smallest naturally aligned block holding both ends must include the highest differing bit.
  const unsigned log2 = std::max(static_cast<unsigned>(std::bit_width(first ^ last_inclusive)), min_log2);
  const unsigned width = log2 - 1;
  const std::uint64_t clear =
      style == LockAddrBaseStyle::Kbase ? LockRegion{0, log2}.mask() : LockRegion{0, width}.mask();
  return (first & ~clear & kLockAddrBaseMask) | width;
}

Result<std::uint64_t> lockaddr_encode(std::uint64_t start, std::uint64_t size, unsigned min_log2,
                                      LockAddrBaseStyle style) {
  if (size == 0) {
    return make_error(
        Errc::kInvalidArgument,
        fmt::format("lockaddr_encode: size 0 at {:#x} (an empty range has no lock region)", start));
  }
  const std::uint64_t last = start + (size - 1);
  if (last < start) {
    return make_error(Errc::kInvalidArgument,
                      fmt::format("lockaddr_encode: range {:#x} + {:#x} wraps past 2^64", start, size));
  }
  return lockaddr_encode_range(start, last, min_log2, style);
}

std::string_view to_string(TranstabAdrmode m) noexcept {
  switch (m) {
    case TranstabAdrmode::Unmapped: return "UNMAPPED";
    case TranstabAdrmode::Reserved: return "RESERVED";
    case TranstabAdrmode::Identity: return "IDENTITY";
    case TranstabAdrmode::Table: return "TABLE";
  }
  return "RESERVED";
}

std::string LegacyTranstab::to_string() const {
  return fmt::format("{} base={:#x}{}{}", mali_sim::to_string(adrmode), base, read_inner ? " READ_INNER" : "",
                     share_outer ? " SHARE_OUTER" : "");
}

std::string_view to_string(TranscfgAdrmode m) noexcept {
  switch (m) {
    case TranscfgAdrmode::Legacy: return "LEGACY";
    case TranscfgAdrmode::Unmapped: return "UNMAPPED";
    case TranscfgAdrmode::Identity: return "IDENTITY";
    case TranscfgAdrmode::Aarch64_4K: return "AARCH64_4K";
    case TranscfgAdrmode::Aarch64_64K: return "AARCH64_64K";
  }
  return "RESERVED";
}

std::string Transcfg::to_string() const {
  std::string out = is_known() ? std::string(mali_sim::to_string(adrmode))
                               : fmt::format("RESERVED({})", static_cast<unsigned>(adrmode));
  out += fmt::format(" INA_BITS={} ({}-bit VA) OUTA_BITS={}", ina_bits, va_bits(), outa_bits);
  if (sl_concat) out += " SL_CONCAT";
  switch (ptw_memattr) {
    case kPtwMemattrNonCacheable: out += " PTW_MEMATTR=NC"; break;
    case kPtwMemattrWriteBack: out += " PTW_MEMATTR=WB"; break;
    default: out += fmt::format(" PTW_MEMATTR={}", ptw_memattr); break;
  }
  switch (ptw_sh) {
    case kPtwShNonShareable: out += " PTW_SH=NS"; break;
    case kPtwShOuterShareable: out += " PTW_SH=OS"; break;
    case kPtwShInnerShareable: out += " PTW_SH=IS"; break;
    default: out += fmt::format(" PTW_SH={}", ptw_sh); break;
  }
  if (ptw_ra) out += " PTW_RA";
  if (disable_hier_ap) out += " DISABLE_HIER_AP";
  if (disable_af_fault) out += " DISABLE_AF_FAULT";
  if (wxn) out += " WXN";
  if (xreadable) out += " XREADABLE";
  return out;
}

std::string MemattrSlot::to_string() const {
  static constexpr std::string_view kCache[] = {"SHARED", "NC", "WB", "FAULT"};
  static constexpr std::string_view kShare[] = {"SH_MIDGARD_INNER", "SH_CPU_INNER", "SH_CPU_INNER_SHADER_COH",
                                                "SH_3"};
  std::string alloc;
  switch (alloc_policy()) {
    case 2: alloc = "ALLOC_IMPL"; break;
    case 3: {
      const bool r = explicit_read_alloc();
      const bool w = explicit_write_alloc();
      alloc = fmt::format("ALLOC_EXPL({})", r && w ? "RW" : r ? "R" : w ? "W" : "none");
      break;
    }
    default: alloc = fmt::format("ALLOC_{}", alloc_policy()); break;
  }
  return fmt::format("0x{:02X}: {}, {}, {}", raw, kCache[cache()], kShare[shareability()], alloc);
}

std::string Memattr::to_string() const {
  std::string out;
  for (unsigned i = 0; i < kSlots; ++i) {
    if (i != 0) out += "; ";
    out += fmt::format("[{}] {}", i, slot(i).to_string());
  }
  return out;
}

std::string_view GpuId::model_name() const noexcept {
  switch (panfrost_model_id()) {
    case 0x0600: return "T600";
    case 0x0620: return "T620";
    case 0x0720: return "T720";
    case 0x0750: return "T760";  // kbase GPU_ID_PI_T76X; the product id is not 0x760
    case 0x0820: return "T820";
    case 0x0830: return "T830";
    case 0x0860: return "T860";
    case 0x0880: return "T880";
    case 0x6000: return "G71";
    case 0x6001: return "G72";
    case 0x7000: return "G51";
    case 0x7001: return "G76";
    case 0x7002: return "G52";
    case 0x7003: return "G31";
    // panfrost also lists MediaTek's 0x9003 (MT8192) and 0x9093 (MT8188); the 0xf00f mask folds
    // 0x9093 into 0x9003 before the table is searched.
    case 0x9001:
    case 0x9003: return "G57";
    default: return "unknown";
  }
}

std::string GpuId::to_string() const {
  return fmt::format("{} (GPU_ID {:#010x}: product {:#06x} r{}p{} status {:#x})", model_name(), raw,
                     product_id(), version_major(), version_minor(), version_status());
}

std::string MmuFeatures::to_string() const { return fmt::format("VA {} bits, PA {} bits", va_bits, pa_bits); }

}  // namespace mali_sim
