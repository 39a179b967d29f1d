#include "mali_sim/pagetable/walker.hpp"

#include <fmt/format.h>

#include "pagetable/formats.hpp"

namespace mali_sim {

std::string_view to_string(TranslationMode m) noexcept {
  switch (m) {
    case TranslationMode::Unmapped: return "UNMAPPED";
    case TranslationMode::Identity: return "IDENTITY";
    case TranslationMode::MaliLpae: return "LEGACY(TABLE)";
    case TranslationMode::Aarch64_4K: return "AARCH64_4K";
  }
  return "?";
}

WalkConfig WalkConfig::from_registers(std::uint64_t transtab, std::uint64_t transcfg, std::uint64_t memattr,
                                      unsigned mmu_va_bits, unsigned mmu_pa_bits, bool aarch64_capable) {
  WalkConfig c;
  c.memattr = memattr;
  c.va_bits = mmu_va_bits;
  c.pa_bits = mmu_pa_bits;
  const Transcfg cfg = Transcfg::decode(transcfg);
  // GPUs without the AArch64 MMU have no TRANSCFG register: it reads as LEGACY whatever is
  // written, so only TRANSTAB decides.
  const auto adrmode = aarch64_capable ? cfg.adrmode : TranscfgAdrmode::Legacy;
  switch (adrmode) {
    case TranscfgAdrmode::Legacy: {
      const LegacyTranstab t = LegacyTranstab::decode(transtab);
      c.table_base = t.base;
      switch (t.adrmode) {
        case TranstabAdrmode::Unmapped: c.mode = TranslationMode::Unmapped; break;
        case TranstabAdrmode::Identity: c.mode = TranslationMode::Identity; break;
        case TranstabAdrmode::Table: c.mode = TranslationMode::MaliLpae; break;
        case TranstabAdrmode::Reserved:
          c.mode = TranslationMode::Unmapped;
          c.unsupported = "TRANSTAB.ADRMODE 1 is reserved";
          break;
      }
      break;
    }
    case TranscfgAdrmode::Unmapped: c.mode = TranslationMode::Unmapped; break;
    case TranscfgAdrmode::Identity: c.mode = TranslationMode::Identity; break;
    case TranscfgAdrmode::Aarch64_4K:
      c.mode = TranslationMode::Aarch64_4K;
      c.table_base = transtab_aarch64_base(transtab);
      // INA_BITS narrows the input range below what the MMU supports, never widens it.
      if (cfg.ina_bits != 0 && cfg.va_bits() < c.va_bits) c.va_bits = cfg.va_bits();
      c.disable_af_fault = cfg.disable_af_fault;
      c.wxn = cfg.wxn;
      break;
    case TranscfgAdrmode::Aarch64_64K:
      c.mode = TranslationMode::Unmapped;
      c.unsupported = "TRANSCFG.ADRMODE AARCH64_64K is not modelled";
      break;
    default:
      c.mode = TranslationMode::Unmapped;
      c.unsupported = fmt::format("TRANSCFG.ADRMODE {} is reserved", static_cast<unsigned>(cfg.adrmode));
      break;
  }
  return c;
}

std::string WalkConfig::to_string() const {
  return fmt::format("mode {} base {:#x} memattr {:#018x} va_bits {} pa_bits {}{}{}",
                     mali_sim::to_string(mode), table_base, memattr, va_bits, pa_bits,
                     disable_af_fault ? " DISABLE_AF_FAULT" : "", wxn ? " WXN" : "");
}

std::string WalkFault::to_string() const {
  return fmt::format("{} ({:#04x})", exception_name(exception_code()), exception_code());
}

namespace {

WalkResult fault(WalkResult r, MmuFaultKind kind, unsigned level) {
  r.outcome = WalkResult::Outcome::Fault;
  r.fault = WalkFault{kind, static_cast<std::uint8_t>(level)};
  return r;
}

constexpr bool exceeds(std::uint64_t addr, unsigned bits) noexcept {
  return bits < 64 && (addr >> bits) != 0;
}

// The table walk proper, instantiated per format so that decoding inlines.
template <class Format>
WalkResult walk_tables(const Format& fmt, const PhysMem& mem, const WalkConfig& cfg, GpuVa va,
                       WalkStart start) {
  WalkResult r;
  if (exceeds(va, cfg.va_bits)) return fault(r, MmuFaultKind::AddressSizeIn, 0);
  PhysAddr table = start.level == 0 ? cfg.table_base : start.table;
  if (exceeds(table, cfg.pa_bits)) return fault(r, MmuFaultKind::AddressSizeOut, start.level);

  for (unsigned level = start.level; level < kLevels; ++level) {
    const PhysAddr desc_pa = table + 8ULL * level_index(va, level);
    std::uint64_t desc = 0;
    if (!mem.read64(desc_pa, desc)) return fault(r, MmuFaultKind::TranstabBus, level);
    r.reads[r.num_reads++] = WalkRead{desc_pa, desc, static_cast<std::uint8_t>(level)};

    const PhysAddr out = PteFormat::output_address(desc);
    switch (fmt.Format::classify(desc, level)) {
      case DescType::Invalid:
      case DescType::Reserved: return fault(r, MmuFaultKind::Translation, level);
      case DescType::Table:
        if (exceeds(out, cfg.pa_bits)) return fault(r, MmuFaultKind::AddressSizeOut, level);
        table = out;
        continue;
      case DescType::Leaf: break;
    }
    const std::uint64_t span = level_size(level);
    const PhysAddr base = out & ~(span - 1);
    if (exceeds(base, cfg.pa_bits)) return fault(r, MmuFaultKind::AddressSizeOut, level);
    const LeafAttrs a = fmt.Format::leaf_attrs(desc);
    if (fmt.Format::checks_access_flag() && !cfg.disable_af_fault && !a.access_flag)
      return fault(r, MmuFaultKind::AccessFlag, level);
    const auto memattr = static_cast<std::uint8_t>(cfg.memattr >> (8U * a.attr_index));
    if ((memattr >> 6) == 3) return fault(r, MmuFaultKind::MemAttr, level);

    r.outcome = WalkResult::Outcome::Ok;
    Translation& t = r.translation;
    t.pa = base | (va & (span - 1));
    t.size = level == 1 ? PageSize::k1G : level == 2 ? PageSize::k2M : PageSize::k4K;
    t.level = static_cast<std::uint8_t>(level);
    t.read = a.read;
    t.write = a.write;
    t.exec = a.exec && !(cfg.wxn && a.write);
    t.attr_index = a.attr_index;
    t.memattr = memattr;
    return r;
  }
  return fault(r, MmuFaultKind::Translation, kLevels - 1);  // unreachable: level 3 never yields Table
}

const detail::MaliLpaeFormat kLpae;
const detail::Aarch64Format kA64;

}  // namespace

WalkResult walk(const PhysMem& mem, const WalkConfig& cfg, GpuVa va, WalkStart start) {
  switch (cfg.mode) {
    case TranslationMode::Unmapped: return WalkResult{};
    case TranslationMode::Identity: {
      WalkResult r;
      if (exceeds(va, cfg.pa_bits)) return fault(r, MmuFaultKind::TranslationIdentity, 0);
      r.outcome = WalkResult::Outcome::Ok;
      r.translation =
          Translation{va, PageSize::k1G, 1, true, true, true, 0, static_cast<std::uint8_t>(cfg.memattr)};
      return r;
    }
    case TranslationMode::MaliLpae: return walk_tables(kLpae, mem, cfg, va, start);
    case TranslationMode::Aarch64_4K: return walk_tables(kA64, mem, cfg, va, start);
  }
  return WalkResult{};
}

std::optional<WalkFault> check_access(const Translation& t, Access access) noexcept {
  bool allowed = false;
  switch (access) {
    case Access::Read: allowed = t.read; break;
    case Access::Write: allowed = t.write; break;
    case Access::Execute: allowed = t.exec && t.read; break;
    case Access::Atomic: allowed = t.read && t.write; break;
  }
  if (allowed) return std::nullopt;
  return WalkFault{MmuFaultKind::Permission, t.level};
}

WalkResult translate(const PhysMem& mem, const WalkConfig& cfg, GpuVa va, Access access) {
  WalkResult r = walk(mem, cfg, va);
  if (r.ok()) {
    if (auto f = check_access(r.translation, access)) {
      r.outcome = WalkResult::Outcome::Fault;
      r.fault = *f;
    }
  }
  return r;
}

}  // namespace mali_sim
