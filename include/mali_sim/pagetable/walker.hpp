// The GPU's page-table walker: hardware side of the page-table seam.
//
// Given the live configuration of an address space (derived from TRANSTAB, TRANSCFG and MEMATTR)
// and a VA, it reads descriptors from PhysMem and returns either a translation or a fault record
// that maps to the exact AS_FAULTSTATUS exception code. It never touches registers; the device
// turns fault records into registers and an interrupt (QEMU's walker/device split).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "mali_sim/pagetable/format.hpp"
#include "mali_sim/phys_mem.hpp"
#include "mali_sim/regs.hpp"
#include "mali_sim/types.hpp"

namespace mali_sim {

// How an address space translates, after TRANSTAB/TRANSCFG decoding.
enum class TranslationMode : std::uint8_t {
  Unmapped,    // every access of the AS fails (TRANSTAB ADRMODE 0, TRANSCFG UNMAPPED)
  Identity,    // PA = VA
  MaliLpae,    // legacy TRANSCFG, TRANSTAB ADRMODE TABLE
  Aarch64_4K,  // TRANSCFG ADRMODE AARCH64_4K
};
std::string_view to_string(TranslationMode m) noexcept;

struct WalkConfig {
  TranslationMode mode = TranslationMode::Unmapped;
  PhysAddr table_base = 0;
  std::uint64_t memattr = 0;
  unsigned va_bits = kMaxVaBits;  // input address size
  unsigned pa_bits = kMaxPaBits;  // output address size
  bool disable_af_fault = false;  // TRANSCFG.DISABLE_AF_FAULT (AArch64 mode)
  bool wxn = false;               // TRANSCFG.WXN: writable implies execute-never (AArch64 mode)
  // Why the registers selected Unmapped when they asked for something else (a reserved ADRMODE,
  // AARCH64_64K, a format the GPU does not support), for the device's misuse log; empty if none.
  std::string unsupported;

  // Decode the registers the way the GPU does at UPDATE. mmu_va_bits/mmu_pa_bits come from
  // GPU_MMU_FEATURES; aarch64_capable says whether the GPU implements TRANSCFG AArch64 modes.
  static WalkConfig from_registers(std::uint64_t transtab, std::uint64_t transcfg, std::uint64_t memattr,
                                   unsigned mmu_va_bits, unsigned mmu_pa_bits, bool aarch64_capable);
  std::string to_string() const;
};

struct WalkRead {
  PhysAddr pa = 0;          // descriptor address
  std::uint64_t value = 0;  // descriptor read
  std::uint8_t level = 0;
};

struct Translation {
  PhysAddr pa = 0;  // output address of the accessed byte
  PageSize size = PageSize::k4K;
  std::uint8_t level = 3;  // level of the leaf (permission faults report it)
  bool read = false;
  bool write = false;
  bool exec = false;
  std::uint8_t attr_index = 0;
  std::uint8_t memattr = 0;  // the MEMATTR byte selected by attr_index
  PhysAddr page_base() const noexcept { return pa & ~(bytes(size) - 1); }
};

struct WalkFault {
  MmuFaultKind kind = MmuFaultKind::Translation;
  std::uint8_t level = 0;
  std::uint8_t exception_code() const noexcept { return mali_sim::exception_code(kind, level); }
  std::string to_string() const;
};

// Where a walk starts: the root (default) or an intermediate table supplied by a walk cache.
struct WalkStart {
  unsigned level = 0;
  PhysAddr table = 0;
};

struct WalkResult {
  enum class Outcome : std::uint8_t { Ok, Fault, Unmapped };
  Outcome outcome = Outcome::Unmapped;
  Translation translation;  // valid when Ok
  WalkFault fault;          // valid when Fault
  std::array<WalkRead, kLevels> reads{};
  std::uint8_t num_reads = 0;  // descriptor reads made (each costs one memory latency)

  bool ok() const noexcept { return outcome == Outcome::Ok; }
};

// Walk the tables for va. Starting below level 0 (start.level > 0) uses start.table as the table
// of that level, as a walk-cache hit supplies it.
WalkResult walk(const PhysMem& mem, const WalkConfig& cfg, GpuVa va, WalkStart start = {});

// The permission check the MMU applies to a translation (from a walk or from a TLB), or nullopt
// when the access is allowed. Atomics need read and write; execute needs exec and read.
std::optional<WalkFault> check_access(const Translation& t, Access access) noexcept;

// walk() followed by check_access(): the complete translation of one access.
WalkResult translate(const PhysMem& mem, const WalkConfig& cfg, GpuVa va, Access access);

}  // namespace mali_sim
