// Register vocabulary of the Mali (Midgard / Bifrost / Valhall-JM) GPU as seen by the MMU:
// MMIO offsets, AS_COMMAND values, exception codes, and bit-exact codecs for the registers whose
// fields the simulator interprets (AS_FAULTSTATUS, AS_LOCKADDR, AS_TRANSTAB, AS_TRANSCFG,
// AS_MEMATTR, GPU_ID, GPU_MMU_FEATURES).
//
// Facts: docs/hardware-facts.md §1, §2, §3.1, §3.5 (panfrost_regs.h, panfrost_device.h and kbase's
// mali_midg_regmap.h); the § numbers below are that page's.
// Each codec keeps the raw field values it decodes, so decode(encode(x)) == x; bits the hardware
// leaves undefined (reserved) are dropped by decode and written as zero by encode.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mali_sim/error.hpp"
#include "mali_sim/types.hpp"

namespace mali_sim {

// ---------------------------------------------------------------------------------------------
// 1. MMIO offsets (byte offsets from the start of the GPU register window)
// ---------------------------------------------------------------------------------------------
namespace regs {

// A 64-bit register is two 32-bit halves, LO at an offset with bit 2 clear, HI 4 bytes above.
constexpr std::uint32_t lo32(std::uint64_t v) noexcept { return static_cast<std::uint32_t>(v); }
constexpr std::uint32_t hi32(std::uint64_t v) noexcept { return static_cast<std::uint32_t>(v >> 32); }
// `reg` with the half that a write to `offset` names replaced by `v`.
constexpr std::uint64_t with_half(std::uint64_t reg, std::uint32_t offset, std::uint32_t v) noexcept {
  return (offset & 4U) != 0 ? (reg & 0xFFFF'FFFFULL) | (static_cast<std::uint64_t>(v) << 32)
                            : (reg & ~0xFFFF'FFFFULL) | v;
}

// GPU control block (§1.1, §9): 0x0000 to 0x0FFF.
inline constexpr std::uint32_t kGpuControlEnd = 0x1000;
inline constexpr std::uint32_t kGpuId = 0x000;
inline constexpr std::uint32_t kL2Features = 0x004;
inline constexpr std::uint32_t kCoreFeatures = 0x008;  // arch 7.2 to 8.x only
inline constexpr std::uint32_t kTilerFeatures = 0x00C;
inline constexpr std::uint32_t kMemFeatures = 0x010;
inline constexpr std::uint32_t kGpuMmuFeatures = 0x014;  // VA bits [7:0], PA bits [15:8]
inline constexpr std::uint32_t kGpuAsPresent = 0x018;    // bitmask of implemented address spaces
inline constexpr std::uint32_t kGpuJsPresent = 0x01C;    // bitmask of job slots
inline constexpr std::uint32_t kGpuIntRawstat = 0x020;   // RW: a write raises bits
inline constexpr std::uint32_t kGpuIntClear = 0x024;
inline constexpr std::uint32_t kGpuIntMask = 0x028;
inline constexpr std::uint32_t kGpuIntStat = 0x02C;
inline constexpr std::uint32_t kGpuCmd = 0x030;  // GPU_COMMAND, WO
inline constexpr std::uint32_t kGpuStatus = 0x034;
inline constexpr std::uint32_t kLatestFlush = 0x038;
inline constexpr std::uint32_t kGpuFaultStatus = 0x03C;  // GPU (non-MMU) faults
inline constexpr std::uint32_t kGpuFaultAddressLo = 0x040;
inline constexpr std::uint32_t kGpuFaultAddressHi = 0x044;
inline constexpr std::uint32_t kAfbcFeatures = 0x04C;  // arch 6 and later
inline constexpr std::uint32_t kPwrKey = 0x050;        // WO
inline constexpr std::uint32_t kPwrOverride0 = 0x054;
inline constexpr std::uint32_t kPwrOverride1 = 0x058;
inline constexpr std::uint32_t kPrfcntBaseLo = 0x060;
inline constexpr std::uint32_t kPrfcntBaseHi = 0x064;
inline constexpr std::uint32_t kPrfcntConfig = 0x068;
inline constexpr std::uint32_t kPrfcntJmEn = 0x06C;
inline constexpr std::uint32_t kPrfcntShaderEn = 0x070;
inline constexpr std::uint32_t kPrfcntTilerEn = 0x074;
inline constexpr std::uint32_t kPrfcntMmuL2En = 0x07C;
inline constexpr std::uint32_t kCycleCountLo = 0x090;
inline constexpr std::uint32_t kCycleCountHi = 0x094;
inline constexpr std::uint32_t kTimestampLo = 0x098;
inline constexpr std::uint32_t kTimestampHi = 0x09C;
inline constexpr std::uint32_t kThreadMaxThreads = 0x0A0;
inline constexpr std::uint32_t kThreadMaxWorkgroupSize = 0x0A4;
inline constexpr std::uint32_t kThreadMaxBarrierSize = 0x0A8;
inline constexpr std::uint32_t kThreadFeatures = 0x0AC;
inline constexpr std::uint32_t kTextureFeatures0 = 0x0B0;  // + 4n, n = 0..3
inline constexpr std::uint32_t kJsFeatures0 = 0x0C0;       // + 4n, n = 0..15
inline constexpr std::uint32_t kRevidr = 0x280;            // arch 6.2 and later
inline constexpr std::uint32_t kCoherencyFeatures = 0x300;
inline constexpr std::uint32_t kCoherencyEnable = 0x304;
inline constexpr std::uint32_t kThreadTlsAlloc = 0x310;  // arch 7.2 to 8.x only
inline constexpr std::uint32_t kJmConfig = 0xF00;
inline constexpr std::uint32_t kShaderConfig = 0xF04;
inline constexpr std::uint32_t kTilerConfig = 0xF08;
inline constexpr std::uint32_t kL2MmuConfig = 0xF0C;

// Power domains (§9.3): 64-bit registers as LO/HI pairs (HI = LO + 4), one block per function at
// these offsets plus the domain's offset (shader 0x0, tiler 0x10, L2 0x20); the core stacks
// (arch 6.2 and later) have theirs at 0xE00.
enum class PowerDomainId : std::uint8_t { kShader = 0, kTiler = 1, kL2 = 2, kStack = 3 };
inline constexpr unsigned kPowerDomains = 4;
inline constexpr std::uint32_t kShaderPresentLo = 0x100;
inline constexpr std::uint32_t kTilerPresentLo = 0x110;
inline constexpr std::uint32_t kL2PresentLo = 0x120;
inline constexpr std::uint32_t kShaderReadyLo = 0x140;
inline constexpr std::uint32_t kTilerReadyLo = 0x150;
inline constexpr std::uint32_t kL2ReadyLo = 0x160;
inline constexpr std::uint32_t kShaderPwronLo = 0x180;
inline constexpr std::uint32_t kTilerPwronLo = 0x190;
inline constexpr std::uint32_t kL2PwronLo = 0x1A0;
inline constexpr std::uint32_t kShaderPwroffLo = 0x1C0;
inline constexpr std::uint32_t kTilerPwroffLo = 0x1D0;
inline constexpr std::uint32_t kL2PwroffLo = 0x1E0;
inline constexpr std::uint32_t kShaderPwrtransLo = 0x200;
inline constexpr std::uint32_t kTilerPwrtransLo = 0x210;
inline constexpr std::uint32_t kL2PwrtransLo = 0x220;
inline constexpr std::uint32_t kShaderPwractiveLo = 0x240;
inline constexpr std::uint32_t kTilerPwractiveLo = 0x250;
inline constexpr std::uint32_t kL2PwractiveLo = 0x260;
inline constexpr std::uint32_t kStackPresentLo = 0xE00;
inline constexpr std::uint32_t kStackReadyLo = 0xE10;
inline constexpr std::uint32_t kStackPwronLo = 0xE20;
inline constexpr std::uint32_t kStackPwroffLo = 0xE30;
inline constexpr std::uint32_t kStackPwrtransLo = 0xE40;

// PWR_KEY's unlock value (panfrost_regs.h), written before PWR_OVERRIDE1 on Amlogic parts.
inline constexpr std::uint32_t kPwrKeyUnlock = 0x2968A819;

// GPU_STATUS bits.
inline constexpr std::uint32_t kGpuStatusPrfcntActive = 1U << 2;
inline constexpr std::uint32_t kGpuStatusCycleCountActive = 1U << 6;
inline constexpr std::uint32_t kGpuStatusProtectedMode = 1U << 7;

// GPU_INT_* bits.
inline constexpr std::uint32_t kGpuIrqFault = 1U << 0;
inline constexpr std::uint32_t kGpuIrqMultipleFault = 1U << 7;
inline constexpr std::uint32_t kGpuIrqResetCompleted = 1U << 8;
inline constexpr std::uint32_t kGpuIrqPowerChanged = 1U << 9;
inline constexpr std::uint32_t kGpuIrqPowerChangedAll = 1U << 10;
inline constexpr std::uint32_t kGpuIrqPerfcntSampleCompleted = 1U << 16;
inline constexpr std::uint32_t kGpuIrqCleanCachesCompleted = 1U << 17;

// Job control block (§1.1). Per-slot offsets are from panfrost_regs.h; JS_CONFIG(_NEXT) low bits
// carry the AS number.
inline constexpr std::uint32_t kJobIntRawstat = 0x1000;
inline constexpr std::uint32_t kJobIntClear = 0x1004;
inline constexpr std::uint32_t kJobIntMask = 0x1008;
inline constexpr std::uint32_t kJobIntStat = 0x100C;
inline constexpr std::uint32_t kJobIntJsState = 0x1010;
inline constexpr std::uint32_t kJobIntThrottle = 0x1014;  // not on arch 9.0 and later
inline constexpr std::uint32_t kJobControlEnd = 0x2000;
inline constexpr std::uint32_t kJsBase = 0x1800;
inline constexpr std::uint32_t kJsSlotStride = 0x80;
inline constexpr unsigned kMaxJobSlots = 16;  // 0x1800 + 16 * 0x80 is where the MMU block starts

inline constexpr std::uint32_t kJsHeadLo = 0x00;
inline constexpr std::uint32_t kJsHeadHi = 0x04;
inline constexpr std::uint32_t kJsTailLo = 0x08;
inline constexpr std::uint32_t kJsTailHi = 0x0C;
inline constexpr std::uint32_t kJsAffinityLo = 0x10;
inline constexpr std::uint32_t kJsAffinityHi = 0x14;
inline constexpr std::uint32_t kJsConfig = 0x18;
inline constexpr std::uint32_t kJsXaffinity = 0x1C;
inline constexpr std::uint32_t kJsCommand = 0x20;
inline constexpr std::uint32_t kJsStatus = 0x24;
inline constexpr std::uint32_t kJsFlushId = 0x30;
inline constexpr std::uint32_t kJsHeadNextLo = 0x40;
inline constexpr std::uint32_t kJsHeadNextHi = 0x44;
inline constexpr std::uint32_t kJsAffinityNextLo = 0x50;
inline constexpr std::uint32_t kJsAffinityNextHi = 0x54;
inline constexpr std::uint32_t kJsConfigNext = 0x58;
inline constexpr std::uint32_t kJsXaffinityNext = 0x5C;
inline constexpr std::uint32_t kJsCommandNext = 0x60;
inline constexpr std::uint32_t kJsFlushIdNext = 0x70;

// JS_COMMAND / JS_COMMAND_NEXT values (§12.3; the low 3 bits count).
enum class JsCommand : std::uint32_t {
  Nop = 0,
  Start = 1,
  SoftStop = 2,
  HardStop = 3,
  SoftStop0 = 4,  // only if the running chain's JOB_CHAIN_FLAG is 0
  HardStop0 = 5,
  SoftStop1 = 6,  // only if it is 1
  HardStop1 = 7,
};
inline constexpr std::uint32_t kJsCommandMask = 0x7;

// JS_CONFIG(_NEXT) fields (§12.3).
inline constexpr std::uint32_t kJsConfigAsMask = 0xF;
inline constexpr std::uint32_t kJsConfigStartFlushShift = 8;  // [9:8]: 0 none, 1 clean, 3 clean+invalidate
inline constexpr std::uint32_t kJsConfigStartMmu = 1U << 10;
inline constexpr std::uint32_t kJsConfigJobChainFlag = 1U << 11;
inline constexpr std::uint32_t kJsConfigEndFlushShift = 12;  // [13:12]
inline constexpr std::uint32_t kJsConfigFlushReduction = 1U << 14;
inline constexpr std::uint32_t kJsConfigDisableDescriptorWriteBack = 1U << 15;
inline constexpr std::uint32_t kJsConfigThreadPriShift = 16;

constexpr std::uint32_t js_reg(unsigned slot, std::uint32_t reg_in_slot) noexcept {
  return kJsBase + slot * kJsSlotStride + reg_in_slot;
}
// JOB_INT_*: bit n = job done on slot n, bit n+16 = job failed on slot n.
constexpr std::uint32_t job_done_bit(unsigned slot) noexcept { return 1U << slot; }
constexpr std::uint32_t job_error_bit(unsigned slot) noexcept { return 1U << (slot + 16); }

// MMU interrupt block (§1.2). Bits 0..15 = page fault on AS0..15, bits 16..31 = bus error.
inline constexpr std::uint32_t kMmuIntRawstat = 0x2000;
inline constexpr std::uint32_t kMmuIntClear = 0x2004;  // write-1-to-clear
inline constexpr std::uint32_t kMmuIntMask = 0x2008;
inline constexpr std::uint32_t kMmuIntStat = 0x200C;  // RAWSTAT & MASK
inline constexpr unsigned kMmuBusErrorShift = 16;

constexpr std::uint32_t mmu_page_fault_bit(unsigned as) noexcept { return 1U << as; }
constexpr std::uint32_t mmu_bus_error_bit(unsigned as) noexcept { return 1U << (as + kMmuBusErrorShift); }
// Both interrupt bits of one AS (what panfrost masks/clears per AS).
constexpr std::uint32_t mmu_as_irq_bits(unsigned as) noexcept {
  return mmu_page_fault_bit(as) | mmu_bus_error_bit(as);
}

// Per-address-space blocks (§1.3): AS n at 0x2400 + n * 0x40, at most 16 of them.
inline constexpr std::uint32_t kMmuAsBase = 0x2400;
inline constexpr std::uint32_t kMmuAsStride = 0x40;
inline constexpr unsigned kMaxAddressSpaces = 16;

inline constexpr std::uint32_t kAsTranstabLo = 0x00;
inline constexpr std::uint32_t kAsTranstabHi = 0x04;
inline constexpr std::uint32_t kAsMemattrLo = 0x08;
inline constexpr std::uint32_t kAsMemattrHi = 0x0C;
inline constexpr std::uint32_t kAsLockaddrLo = 0x10;
inline constexpr std::uint32_t kAsLockaddrHi = 0x14;
inline constexpr std::uint32_t kAsCommand = 0x18;      // WO
inline constexpr std::uint32_t kAsFaultstatus = 0x1C;  // RO
inline constexpr std::uint32_t kAsFaultaddressLo = 0x20;
inline constexpr std::uint32_t kAsFaultaddressHi = 0x24;
inline constexpr std::uint32_t kAsStatus = 0x28;  // RO
inline constexpr std::uint32_t kAsTranscfgLo = 0x30;
inline constexpr std::uint32_t kAsTranscfgHi = 0x34;
inline constexpr std::uint32_t kAsFaultextraLo = 0x38;  // RO, "secondary fault address"
inline constexpr std::uint32_t kAsFaultextraHi = 0x3C;

// AS_STATUS bit 0: a command is still executing. Only bit defined by the public headers.
inline constexpr std::uint32_t kAsStatusActive = 0x01;

constexpr std::uint32_t as_reg(unsigned as, std::uint32_t reg_in_block) noexcept {
  return kMmuAsBase + as * kMmuAsStride + reg_in_block;
}

// Inverse of as_reg for MMIO dispatch: which AS and which register in its block an offset names.
struct AsRegister {
  unsigned as;
  std::uint32_t reg_in_block;
  bool operator==(const AsRegister&) const = default;
};
constexpr std::optional<AsRegister> as_reg_decode(std::uint32_t offset) noexcept {
  if (offset < kMmuAsBase || offset >= kMmuAsBase + kMaxAddressSpaces * kMmuAsStride) return std::nullopt;
  const std::uint32_t rel = offset - kMmuAsBase;
  return AsRegister{rel / kMmuAsStride, rel % kMmuAsStride};
}

}  // namespace regs

// What is at a register offset on a given GPU. kAbsent: a register other architectures have and
// this one lacks (it reads 0, and reading it is not misuse: drivers read some on every GPU).
enum class RegisterKind : std::uint8_t { kUnknown, kAbsent, kReadOnly, kReadWrite, kWriteOnly };

// Name of the register at an offset for MMIO logs: "GPU_ID", "MMU_INT_MASK", "AS3_LOCKADDR_LO",
// "JS1_CONFIG_NEXT"; offsets without a known register print as hex, e.g. "0x242c".
std::string register_name(std::uint32_t offset);

// AS_COMMAND values (§1.3).
enum class AsCommand : std::uint32_t {
  Nop = 0,
  Update = 1,    // make TRANSTAB/MEMATTR/TRANSCFG live
  Lock = 2,      // lock the LOCKADDR region
  Unlock = 3,    // unlock; stalled transactions retry
  FlushPt = 4,   // flush L2, then flush region (implicit unlock); a.k.a. FLUSH on T60x
  FlushMem = 5,  // drain accesses, flush L1s and L2s, then flush region (implicit unlock)
};
constexpr bool is_known_as_command(std::uint32_t raw) noexcept { return raw <= 5; }
// "NOP", "UPDATE", "LOCK", "UNLOCK", "FLUSH_PT", "FLUSH_MEM"; "UNKNOWN" for other values.
std::string_view to_string(AsCommand c) noexcept;

// GPU_CMD values (§1.1; full list from panfrost_regs.h).
// GPU_COMMAND values in the job-manager encoding (§9.2; CSF parts encode differently).
enum class GpuCommand : std::uint32_t {
  Nop = 0,
  SoftReset = 1,
  HardReset = 2,
  PerfcntClear = 3,
  PerfcntSample = 4,
  CycleCountStart = 5,
  CycleCountStop = 6,
  CleanCaches = 7,
  CleanInvCaches = 8,
  SetProtectedMode = 9,
};
std::string_view to_string(GpuCommand c) noexcept;

// ---------------------------------------------------------------------------------------------
// 2. Exception codes (§2): AS_FAULTSTATUS[7:0], also JS_STATUS / GPU_FAULT_STATUS
// ---------------------------------------------------------------------------------------------

// MMU exception classes: bits[7:6] = 11, bits[5:3] = class, bits[2:0] = table level (for the
// address-size and memory-attribute classes bit 2 splits IN/OUT and FAULT/NONCACHE, level = bits[1:0]).
enum class MmuFaultKind : std::uint8_t {
  Translation,          // 0xC0 + L, L = 0..4
  TranslationIdentity,  // 0xC7 (identity mode; no level)
  Permission,           // 0xC8 + L
  TranstabBus,          // 0xD0 + L: bus error while reading a table
  AccessFlag,           // 0xD8 + L
  AddressSizeIn,        // 0xE0 + L
  AddressSizeOut,       // 0xE4 + L
  MemAttr,              // 0xE8 + L
  MemAttrNonCache,      // 0xEC + L
};
std::string_view to_string(MmuFaultKind k) noexcept;

// Highest level with a named code: 4 for translation, 0 for identity, 3 otherwise.
constexpr unsigned max_fault_level(MmuFaultKind kind) noexcept {
  switch (kind) {
    case MmuFaultKind::Translation: return 4;
    case MmuFaultKind::TranslationIdentity: return 0;
    default: return 3;
  }
}

// The exception code of a fault kind at a level. A level above max_fault_level(kind) is clamped
// to it, so the result is always a code panfrost names (ignored for TranslationIdentity).
constexpr std::uint8_t exception_code(MmuFaultKind kind, unsigned level) noexcept {
  const unsigned l = level < max_fault_level(kind) ? level : max_fault_level(kind);
  unsigned base = 0xC0;
  switch (kind) {
    case MmuFaultKind::Translation: base = 0xC0; break;
    case MmuFaultKind::TranslationIdentity: return 0xC7;
    case MmuFaultKind::Permission: base = 0xC8; break;
    case MmuFaultKind::TranstabBus: base = 0xD0; break;
    case MmuFaultKind::AccessFlag: base = 0xD8; break;
    case MmuFaultKind::AddressSizeIn: base = 0xE0; break;
    case MmuFaultKind::AddressSizeOut: base = 0xE4; break;
    case MmuFaultKind::MemAttr: base = 0xE8; break;
    case MmuFaultKind::MemAttrNonCache: base = 0xEC; break;
  }
  return static_cast<std::uint8_t>(base + l);
}

struct MmuFaultClass {
  MmuFaultKind kind;
  unsigned level;
  bool operator==(const MmuFaultClass&) const = default;
};

// Inverse of exception_code over the named MMU codes; nullopt for anything else (job/GPU codes
// and the unnamed gaps such as 0xC5, 0xCC, 0xF0).
constexpr std::optional<MmuFaultClass> classify_exception(std::uint8_t code) noexcept {
  if (code == 0xC7) return MmuFaultClass{MmuFaultKind::TranslationIdentity, 0};
  struct Range {
    std::uint8_t first;
    MmuFaultKind kind;
  };
  constexpr Range kRanges[] = {
      {0xC0, MmuFaultKind::Translation},   {0xC8, MmuFaultKind::Permission},
      {0xD0, MmuFaultKind::TranstabBus},   {0xD8, MmuFaultKind::AccessFlag},
      {0xE0, MmuFaultKind::AddressSizeIn}, {0xE4, MmuFaultKind::AddressSizeOut},
      {0xE8, MmuFaultKind::MemAttr},       {0xEC, MmuFaultKind::MemAttrNonCache},
  };
  for (const Range& r : kRanges) {
    if (code >= r.first && code - r.first <= static_cast<int>(max_fault_level(r.kind))) {
      return MmuFaultClass{r.kind, static_cast<unsigned>(code - r.first)};
    }
  }
  return std::nullopt;
}

inline constexpr std::uint32_t kExceptionMaxNonFault = 0x3F;
// Job and GPU exception codes the model raises (§9.5; JS_STATUS and GPU_FAULTSTATUS share them).
inline constexpr std::uint32_t kExceptionOk = 0x00;
inline constexpr std::uint32_t kExceptionDone = 0x01;
inline constexpr std::uint32_t kExceptionStopped = 0x03;
inline constexpr std::uint32_t kExceptionTerminated = 0x04;
inline constexpr std::uint32_t kExceptionActive = 0x08;
inline constexpr std::uint32_t kExceptionJobConfigFault = 0x40;
inline constexpr std::uint32_t kExceptionJobPowerFault = 0x41;
inline constexpr std::uint32_t kExceptionJobReadFault = 0x42;
inline constexpr std::uint32_t kExceptionJobWriteFault = 0x43;
inline constexpr std::uint32_t kExceptionJobAffinityFault = 0x44;
inline constexpr std::uint32_t kExceptionJobBusFault = 0x48;

// panfrost_exception_name(): the enum suffix of panfrost_device.h ("TRANSLATION_FAULT_1",
// "JOB_BUS_FAULT", "OK", ...), or "Unknown exception type" for a code panfrost does not list.
std::string_view exception_name(std::uint32_t code) noexcept;
// Codes above 0x3F are faults; below are job states (OK, DONE, STOPPED, ...).
constexpr bool exception_is_fault(std::uint32_t code) noexcept { return code > kExceptionMaxNonFault; }
// Any translation fault incl. IDENTITY: the only kind panfrost tries to grow a heap for.
constexpr bool exception_is_translation_fault(std::uint8_t code) noexcept { return (code & 0xF8) == 0xC0; }

// ---------------------------------------------------------------------------------------------
// 3. AS_FAULTSTATUS
// ---------------------------------------------------------------------------------------------

// panfrost access_type_name(): ATOMIC reads as "UNKNOWN" on GPUs without the AArch64 MMU.
std::string_view access_type_name(Access a, bool has_aarch64_mmu) noexcept;

struct FaultStatus {
  static constexpr std::uint32_t kExceptionTypeMask = 0xFF;
  static constexpr unsigned kAccessTypeShift = 8;
  static constexpr std::uint32_t kAccessTypeMask = 0x3U << kAccessTypeShift;
  static constexpr std::uint32_t kDecoderFault = 1U << 10;
  static constexpr unsigned kSourceIdShift = 16;
  // Bits [15:11] have no documented meaning; decode drops them.
  static constexpr std::uint32_t kDefinedBits = 0xFFFF07FF;

  std::uint8_t exception_type = 0;      // bits [7:0]
  Access access_type = Access::Atomic;  // bits [9:8]
  bool decoder_fault = false;           // bit 10: "DECODER FAULT" (1) / "SLAVE FAULT" (0)
  std::uint16_t source_id = 0;          // bits [31:16]

  static constexpr FaultStatus decode(std::uint32_t raw) noexcept {
    return FaultStatus{static_cast<std::uint8_t>(raw & kExceptionTypeMask),
                       static_cast<Access>((raw & kAccessTypeMask) >> kAccessTypeShift),
                       (raw & kDecoderFault) != 0, static_cast<std::uint16_t>(raw >> kSourceIdShift)};
  }
  constexpr std::uint32_t encode() const noexcept {
    return std::uint32_t{exception_type} |
           ((static_cast<std::uint32_t>(access_type) << kAccessTypeShift) & kAccessTypeMask) |
           (decoder_fault ? kDecoderFault : 0U) | (std::uint32_t{source_id} << kSourceIdShift);
  }
  bool operator==(const FaultStatus&) const = default;

  // The fields of panfrost's "Unhandled Page fault" report on one line, e.g.
  // "raw fault status: 0x2C1, decoded fault status: SLAVE FAULT, exception type 0xC1:
  //  TRANSLATION_FAULT_1, access type 0x2: READ, source id 0x0".
  std::string to_string(bool has_aarch64_mmu) const;
};

// ---------------------------------------------------------------------------------------------
// 4. AS_LOCKADDR (§3.1): bits[5:0] = log2(size) - 1, bits[11:6] reserved, bits[63:12] = base
// ---------------------------------------------------------------------------------------------

inline constexpr std::uint64_t kLockAddrSizeMask = 0x3F;
inline constexpr std::uint64_t kLockAddrBaseMask = ~std::uint64_t{0xFFF};

// A naturally aligned power-of-two region of the GPU VA space; log2_size is 1..64.
struct LockRegion {
  std::uint64_t base = 0;
  unsigned log2_size = 0;

  // size - 1, exact even for the whole 2^64 space.
  constexpr std::uint64_t mask() const noexcept {
    return log2_size >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << log2_size) - 1;
  }
  // Bytes covered; the whole space (log2 64) does not fit in 64 bits and saturates to 2^64 - 1.
  constexpr std::uint64_t size() const noexcept { return log2_size >= 64 ? ~std::uint64_t{0} : mask() + 1; }
  // Last byte covered (inclusive), exact.
  constexpr std::uint64_t last() const noexcept { return base + mask(); }
  constexpr bool covers(std::uint64_t addr) const noexcept { return addr >= base && addr - base <= mask(); }
  // [start, start + size) lies inside the region. An empty range is covered; a range that wraps
  // past 2^64 is not.
  constexpr bool covers_range(std::uint64_t start, std::uint64_t size) const noexcept {
    if (size == 0) return true;
    const std::uint64_t end_incl = start + (size - 1);
    if (end_incl < start) return false;
    return covers(start) && covers(end_incl);
  }
  bool operator==(const LockRegion&) const = default;
  std::string to_string() const;  // e.g. "[0x40000, 0x5ffff] (128 KiB, log2 17)"
};

// Smallest lockable region (kbase kbase_get_lock_region_min_size_log2): 32 KiB before arch 12,
// 4 KiB from arch 12. panfrost always uses 32 KiB (AS_LOCK_REGION_MIN_SIZE).
constexpr unsigned lock_region_min_log2(unsigned arch_major) noexcept { return arch_major < 12 ? 15 : 12; }

// How an encoder clears the low base bits. The MMU ignores them either way (§3.1), so both
// styles lock the same region; they differ only when the size was raised to the minimum.
enum class LockAddrBaseStyle : std::uint8_t {
  Kbase,     // kbase lock_region(): base aligned down to the region size (bits below log2 cleared)
  Panfrost,  // panfrost/panthor: start & GENMASK_ULL(63, width), bit `width` (= log2 - 1) kept
};

// Current driver encoding of the byte range [start, start + size): log2 = max(fls64(start ^
// (end - 1)), min_log2), width = log2 - 1, value = base | width. Errors (kInvalidArgument): size 0,
// a range that wraps past 2^64, or min_log2 outside 12..64 (the base field starts at bit 12).
// start 0, size ~0 (panfrost's "whole space" lock) gives 0x3F. No upper cap: kbase refuses
// log2 > 48, panfrost does not.
Result<std::uint64_t> lockaddr_encode(std::uint64_t start, std::uint64_t size, unsigned min_log2,
                                      LockAddrBaseStyle style = LockAddrBaseStyle::Kbase);
// Same for an inclusive range, so the whole 2^64 space is expressible: (0, ~0) gives 0x3F.
Result<std::uint64_t> lockaddr_encode_range(std::uint64_t first, std::uint64_t last_inclusive,
                                            unsigned min_log2,
                                            LockAddrBaseStyle style = LockAddrBaseStyle::Kbase);

// The region the MMU locks for a LOCKADDR value: log2 = bits[5:0] + 1, raised to min_log2 when
// smaller (our choice: the hardware's handling of a too-small size is undocumented, and the
// drivers never write one), base = bits[63:12] aligned down to the region size (the hardware
// ignores the low base bits; kbase's lock_region documents this).
constexpr LockRegion lockaddr_decode(std::uint64_t value, unsigned min_log2) noexcept {
  unsigned log2 = static_cast<unsigned>(value & kLockAddrSizeMask) + 1;
  const unsigned floor = min_log2 > 64 ? 64 : min_log2;
  if (log2 < floor) log2 = floor;
  LockRegion r{0, log2};
  r.base = value & kLockAddrBaseMask & ~r.mask();
  return r;
}

// ---------------------------------------------------------------------------------------------
// 5. AS_TRANSTAB
// ---------------------------------------------------------------------------------------------

// Legacy ("Mali LPAE") TRANSTAB bits[1:0]. Value 1 has no name in the public headers.
enum class TranstabAdrmode : std::uint8_t { Unmapped = 0, Reserved = 1, Identity = 2, Table = 3 };
std::string_view to_string(TranstabAdrmode m) noexcept;

struct LegacyTranstab {
  static constexpr std::uint64_t kAdrmodeMask = 0x3;
  static constexpr std::uint64_t kReadInner = 1U << 2;
  static constexpr std::uint64_t kShareOuter = 1U << 4;
  static constexpr std::uint64_t kAddrMask = 0xFFFFFFFFFFFFF000ULL;
  static constexpr std::uint64_t kDefinedBits = kAddrMask | kShareOuter | kReadInner | kAdrmodeMask;

  TranstabAdrmode adrmode = TranstabAdrmode::Unmapped;
  bool read_inner = false;
  bool share_outer = false;  // set by io-pgtable when the table walk is coherent
  std::uint64_t base = 0;    // level-0 table address, 4 KiB aligned (bits [63:12])

  static constexpr LegacyTranstab decode(std::uint64_t raw) noexcept {
    return LegacyTranstab{static_cast<TranstabAdrmode>(raw & kAdrmodeMask), (raw & kReadInner) != 0,
                          (raw & kShareOuter) != 0, raw & kAddrMask};
  }
  constexpr std::uint64_t encode() const noexcept {
    return (base & kAddrMask) | (share_outer ? kShareOuter : 0) | (read_inner ? kReadInner : 0) |
           (static_cast<std::uint64_t>(adrmode) & kAdrmodeMask);
  }
  bool operator==(const LegacyTranstab&) const = default;
  std::string to_string() const;  // e.g. "TABLE base=0x1000 READ_INNER"
};

// AArch64 TRANSTAB: the table address in bits [63:4] (panfrost's mask; kbase r27 narrows it to
// bits [39:4], which the 40-bit PA limit makes equivalent).
inline constexpr std::uint64_t kTranstabAarch64AddrMask = 0xFFFFFFFFFFFFFFF0ULL;
constexpr std::uint64_t transtab_aarch64_base(std::uint64_t transtab) noexcept {
  return transtab & kTranstabAarch64AddrMask;
}

// ---------------------------------------------------------------------------------------------
// 6. AS_TRANSCFG (64-bit, Bifrost+)
// ---------------------------------------------------------------------------------------------

// ADRMODE bits[3:0]. Other raw values (reserved) are kept as is so they round-trip.
enum class TranscfgAdrmode : std::uint8_t {
  Legacy = 0,
  Unmapped = 1,
  Identity = 2,
  Aarch64_4K = 6,
  Aarch64_64K = 8
};
std::string_view to_string(TranscfgAdrmode m) noexcept;  // "RESERVED" for unnamed values

struct Transcfg {
  static constexpr std::uint64_t kAdrmodeMask = 0xF;
  static constexpr unsigned kInaBitsShift = 6;
  static constexpr unsigned kOutaBitsShift = 14;
  static constexpr std::uint64_t kFieldMask5 = 0x1F;
  static constexpr std::uint64_t kSlConcat = 1ULL << 22;
  static constexpr unsigned kPtwMemattrShift = 24;
  static constexpr unsigned kPtwShShift = 28;
  static constexpr std::uint64_t kPtwRa = 1ULL << 30;
  static constexpr std::uint64_t kDisableHierAp = 1ULL << 33;
  static constexpr std::uint64_t kDisableAfFault = 1ULL << 34;
  static constexpr std::uint64_t kWxn = 1ULL << 35;
  static constexpr std::uint64_t kXreadable = 1ULL << 36;
  static constexpr std::uint64_t kDefinedBits = kAdrmodeMask | (kFieldMask5 << kInaBitsShift) |
                                                (kFieldMask5 << kOutaBitsShift) | kSlConcat |
                                                (0x3ULL << kPtwMemattrShift) | (0x3ULL << kPtwShShift) |
                                                kPtwRa | kDisableHierAp | kDisableAfFault | kWxn | kXreadable;

  // PTW_MEMATTR (bits[25:24]) and PTW_SH (bits[29:28]) values with public names.
  static constexpr std::uint8_t kPtwMemattrNonCacheable = 1;
  static constexpr std::uint8_t kPtwMemattrWriteBack = 2;
  static constexpr std::uint8_t kPtwShNonShareable = 0;
  static constexpr std::uint8_t kPtwShOuterShareable = 2;
  static constexpr std::uint8_t kPtwShInnerShareable = 3;

  TranscfgAdrmode adrmode = TranscfgAdrmode::Legacy;  // raw 4-bit value
  std::uint8_t ina_bits = 0;                          // 5 bits: 55 - VA bits (7 for 48-bit)
  std::uint8_t outa_bits = 0;                         // 5 bits, raw
  bool sl_concat = false;
  std::uint8_t ptw_memattr = 0;  // 2 bits
  std::uint8_t ptw_sh = 0;       // 2 bits
  bool ptw_ra = false;           // page-table walk read-allocate
  bool disable_hier_ap = false;
  bool disable_af_fault = false;
  bool wxn = false;
  bool xreadable = false;

  constexpr bool is_known() const noexcept {
    switch (adrmode) {
      case TranscfgAdrmode::Legacy:
      case TranscfgAdrmode::Unmapped:
      case TranscfgAdrmode::Identity:
      case TranscfgAdrmode::Aarch64_4K:
      case TranscfgAdrmode::Aarch64_64K: return true;
    }
    return false;
  }
  constexpr unsigned va_bits() const noexcept { return 55U - ina_bits; }
  // INA_BITS value for a VA width (panfrost: 55 - ias).
  static constexpr std::uint8_t ina_bits_for(unsigned va_bits) noexcept {
    return static_cast<std::uint8_t>((55U - va_bits) & kFieldMask5);
  }

  static constexpr Transcfg decode(std::uint64_t raw) noexcept {
    Transcfg t;
    t.adrmode = static_cast<TranscfgAdrmode>(raw & kAdrmodeMask);
    t.ina_bits = static_cast<std::uint8_t>((raw >> kInaBitsShift) & kFieldMask5);
    t.outa_bits = static_cast<std::uint8_t>((raw >> kOutaBitsShift) & kFieldMask5);
    t.sl_concat = (raw & kSlConcat) != 0;
    t.ptw_memattr = static_cast<std::uint8_t>((raw >> kPtwMemattrShift) & 0x3);
    t.ptw_sh = static_cast<std::uint8_t>((raw >> kPtwShShift) & 0x3);
    t.ptw_ra = (raw & kPtwRa) != 0;
    t.disable_hier_ap = (raw & kDisableHierAp) != 0;
    t.disable_af_fault = (raw & kDisableAfFault) != 0;
    t.wxn = (raw & kWxn) != 0;
    t.xreadable = (raw & kXreadable) != 0;
    return t;
  }
  constexpr std::uint64_t encode() const noexcept {
    return (static_cast<std::uint64_t>(adrmode) & kAdrmodeMask) |
           ((ina_bits & kFieldMask5) << kInaBitsShift) | ((outa_bits & kFieldMask5) << kOutaBitsShift) |
           (sl_concat ? kSlConcat : 0) | (std::uint64_t{ptw_memattr & 0x3U} << kPtwMemattrShift) |
           (std::uint64_t{ptw_sh & 0x3U} << kPtwShShift) | (ptw_ra ? kPtwRa : 0) |
           (disable_hier_ap ? kDisableHierAp : 0) | (disable_af_fault ? kDisableAfFault : 0) |
           (wxn ? kWxn : 0) | (xreadable ? kXreadable : 0);
  }
  bool operator==(const Transcfg&) const = default;
  // e.g. "AARCH64_4K INA_BITS=7 (48-bit VA) OUTA_BITS=0 PTW_MEMATTR=WB PTW_SH=NS PTW_RA"
  std::string to_string() const;
};

// ---------------------------------------------------------------------------------------------
// 7. AS_MEMATTR (§3.5): 8 one-byte slots, slot i = bits [8i+7:8i], indexed by the PTE AttrIndx
// ---------------------------------------------------------------------------------------------

// Fields of one slot byte, AArch64-style layout of panfrost_regs.h. (In legacy mode kbase gives
// 0x4X bytes cacheable meanings; the sources document only this layout.)
struct MemattrSlot {
  std::uint8_t raw = 0;

  // bits[7:6]: 0 shared, 1 inner+outer non-cacheable, 2 inner+outer write-back, 3 fault.
  constexpr unsigned cache() const noexcept { return raw >> 6; }
  // bits[5:4]: 0 Midgard inner, 1 CPU inner, 2 CPU inner + shader coherent.
  constexpr unsigned shareability() const noexcept { return (raw >> 4) & 0x3U; }
  // bits[3:2]: 2 implementation-defined allocation, 3 explicit (bit0 write, bit1 read).
  constexpr unsigned alloc_policy() const noexcept { return (raw >> 2) & 0x3U; }
  constexpr bool is_fault() const noexcept { return cache() == 3; }
  constexpr bool explicit_write_alloc() const noexcept { return alloc_policy() == 3 && (raw & 0x1U) != 0; }
  constexpr bool explicit_read_alloc() const noexcept { return alloc_policy() == 3 && (raw & 0x2U) != 0; }
  // e.g. "0x8D: WB, SH_MIDGARD_INNER, ALLOC_EXPLICIT(W)"
  std::string to_string() const;
};

struct Memattr {
  static constexpr unsigned kSlots = 8;
  std::array<std::uint8_t, kSlots> slots{};

  static constexpr Memattr decode(std::uint64_t raw) noexcept {
    Memattr m;
    for (unsigned i = 0; i < kSlots; ++i) m.slots[i] = static_cast<std::uint8_t>(raw >> (8 * i));
    return m;
  }
  constexpr std::uint64_t encode() const noexcept {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < kSlots; ++i) v |= std::uint64_t{slots[i]} << (8 * i);
    return v;
  }
  // i is taken modulo 8 (the PTE AttrIndx field is 3 bits).
  constexpr MemattrSlot slot(unsigned i) const noexcept { return MemattrSlot{slots[i % kSlots]}; }
  constexpr bool slot_is_fault(unsigned i) const noexcept { return slot(i).is_fault(); }
  std::string slot_description(unsigned i) const { return slot(i).to_string(); }
  bool operator==(const Memattr&) const = default;
  std::string to_string() const;  // the eight slot descriptions, "0:... 1:..."
};

// MEMATTR values of the four producers of §3.5.
inline constexpr std::uint64_t kMemattrPanfrostLegacy = 0x0000000000888D88ULL;  // io-pgtable ARM_MALI_LPAE
inline constexpr std::uint64_t kMemattrKbaseLegacy = 0x0000008D884D4F48ULL;     // kbase r27 LPAE mode
inline constexpr std::uint64_t kMemattrKbaseAarch64 = 0x00004C8D888D8F88ULL;    // kbase r27 AArch64 mode
inline constexpr std::uint64_t kMemattrPanfrostAarch64 =
    0x4C4C4C4C8C4C8F4CULL;  // panfrost AArch64, non-coherent

// ---------------------------------------------------------------------------------------------
// 8. GPU_ID (§1.6)
// ---------------------------------------------------------------------------------------------

struct GpuId {
  static constexpr std::uint16_t kT60xRawProductId = 0x6956;  // T60x's odd old-format id

  std::uint32_t raw = 0;

  static constexpr GpuId decode(std::uint32_t value) noexcept { return GpuId{value}; }
  constexpr std::uint32_t encode() const noexcept { return raw; }

  constexpr std::uint16_t product_id() const noexcept { return static_cast<std::uint16_t>(raw >> 16); }
  constexpr unsigned version_major() const noexcept { return (raw >> 12) & 0xFU; }
  constexpr unsigned version_minor() const noexcept { return (raw >> 4) & 0xFFU; }
  constexpr unsigned version_status() const noexcept { return raw & 0xFU; }

  // Bifrost+ ("new format") ids: product id >= 0x1000, except T60x's 0x6956 (kbase
  // GPU_ID_IS_NEW_FORMAT; equivalent to panfrost's "id & 0xf000" test after its T60x fix-up).
  constexpr bool is_new_format() const noexcept {
    return product_id() != kT60xRawProductId && (product_id() & 0xF000U) != 0;
  }
  // New-format fields; arch_major() is 0 for old-format (Midgard) ids, which carry no arch field.
  constexpr unsigned arch_major() const noexcept { return is_new_format() ? (raw >> 28) & 0xFU : 0; }
  constexpr unsigned arch_minor() const noexcept { return (raw >> 24) & 0xFU; }
  constexpr unsigned arch_rev() const noexcept { return (raw >> 20) & 0xFU; }
  constexpr unsigned product_major() const noexcept { return (raw >> 16) & 0xFU; }

  // The id panfrost matches its model table with: (arch_major, product_major) = id & 0xf00f for
  // new-format ids, 0x0600 for T60x, else the product id.
  constexpr std::uint32_t panfrost_model_id() const noexcept {
    if (product_id() == kT60xRawProductId) return 0x0600;
    return is_new_format() ? product_id() & 0xF00FU : product_id();
  }
  // "T600" ... "T880", "G71", "G72", "G51", "G76", "G52", "G31", "G57"; "unknown" otherwise.
  std::string_view model_name() const noexcept;
  // e.g. "G52 (GPU_ID 0x74020000: product 0x7402 r0p0 status 0x0)"
  std::string to_string() const;

  static constexpr GpuId make_new(unsigned arch_major, unsigned arch_minor, unsigned arch_rev,
                                  unsigned product_major, unsigned ver_major, unsigned ver_minor,
                                  unsigned status) noexcept {
    return GpuId{((arch_major & 0xFU) << 28) | ((arch_minor & 0xFU) << 24) | ((arch_rev & 0xFU) << 20) |
                 ((product_major & 0xFU) << 16) | ((ver_major & 0xFU) << 12) | ((ver_minor & 0xFFU) << 4) |
                 (status & 0xFU)};
  }
  static constexpr GpuId make_old(std::uint16_t product_id, unsigned ver_major, unsigned ver_minor,
                                  unsigned status) noexcept {
    return GpuId{(std::uint32_t{product_id} << 16) | ((ver_major & 0xFU) << 12) | ((ver_minor & 0xFFU) << 4) |
                 (status & 0xFU)};
  }
  bool operator==(const GpuId&) const = default;
};

// ---------------------------------------------------------------------------------------------
// 9. GPU_MMU_FEATURES (§1.5)
// ---------------------------------------------------------------------------------------------

struct MmuFeatures {
  std::uint8_t va_bits = 0;  // bits [7:0]
  std::uint8_t pa_bits = 0;  // bits [15:8]

  static constexpr MmuFeatures decode(std::uint32_t raw) noexcept {
    return MmuFeatures{static_cast<std::uint8_t>(raw & 0xFF), static_cast<std::uint8_t>((raw >> 8) & 0xFF)};
  }
  constexpr std::uint32_t encode() const noexcept {
    return std::uint32_t{va_bits} | (std::uint32_t{pa_bits} << 8);
  }
  bool operator==(const MmuFeatures&) const = default;
  std::string to_string() const;  // "VA 48 bits, PA 40 bits"
};

}  // namespace mali_sim
