// The device's register file: MMIO decode, GPU identity, the MMU interrupt block and its line.
#include <fmt/format.h>

#include <stdexcept>

#include "mali_sim/mmu/gpu.hpp"

namespace mali_sim {

namespace {
std::uint64_t set_lo(std::uint64_t reg, std::uint32_t v) { return (reg & ~0xFFFF'FFFFULL) | v; }
std::uint64_t set_hi(std::uint64_t reg, std::uint32_t v) {
  return (reg & 0xFFFF'FFFFULL) | (static_cast<std::uint64_t>(v) << 32);
}
std::uint32_t lo(std::uint64_t v) { return static_cast<std::uint32_t>(v); }
std::uint32_t hi(std::uint64_t v) { return static_cast<std::uint32_t>(v >> 32); }
}  // namespace

std::string_view to_string(FailReason r) noexcept {
  switch (r) {
    case FailReason::None: return "none";
    case FailReason::BadRequest: return "bad request";
    case FailReason::AsNotPresent: return "address space not present";
    case FailReason::Unmapped: return "address space UNMAPPED";
  }
  return "?";
}

Gpu::Gpu(const GpuSpec& spec, PhysMem& mem, EventQueue& queue)
    : spec_(spec), mem_(mem), queue_(queue), l2_(spec.l2tlb), walk_cache_(spec.walk_cache_entries) {
  if (Status s = spec.validate(); !s) throw std::invalid_argument(s.error().message);
  utlbs_.reserve(spec.shader_cores);
  for (unsigned c = 0; c < spec.shader_cores; ++c) utlbs_.emplace_back(spec.utlb);
  num_cores_ = spec.shader_cores;
  for (auto& a : as_) a.live.pa_bits = spec.pa_bits();
  for (unsigned as = 0; as < regs::kMaxAddressSpaces; ++as) update_fast_path(as);  // and the memos
}

Result<std::unique_ptr<Gpu>> Gpu::create(const GpuSpec& spec, PhysMem& mem, EventQueue& queue) {
  if (Status s = spec.validate(); !s) return s.error();
  return std::make_unique<Gpu>(spec, mem, queue);
}

void Gpu::report(MisuseKind kind, int as, std::uint32_t offset, std::string message) {
  if (observer_ != nullptr) observer_->misuse(MisuseReport{kind, queue_.now(), as, offset, message});
  misuse_.report(kind, queue_.now(), as, offset, std::move(message));
}

std::uint32_t Gpu::read_as(unsigned as, std::uint32_t reg) const {
  const AddressSpace& a = as_[as];
  switch (reg) {
    case regs::kAsTranstabLo: return lo(a.regs.transtab);
    case regs::kAsTranstabHi: return hi(a.regs.transtab);
    case regs::kAsMemattrLo: return lo(a.regs.memattr);
    case regs::kAsMemattrHi: return hi(a.regs.memattr);
    case regs::kAsLockaddrLo: return lo(a.regs.lockaddr);
    case regs::kAsLockaddrHi: return hi(a.regs.lockaddr);
    case regs::kAsCommand: return 0;  // write-only
    case regs::kAsFaultstatus: return a.regs.faultstatus;
    case regs::kAsFaultaddressLo: return lo(a.regs.faultaddress);
    case regs::kAsFaultaddressHi: return hi(a.regs.faultaddress);
    case regs::kAsStatus: return a.active() ? regs::kAsStatusActive : 0U;
    case regs::kAsTranscfgLo: return spec_.aarch64_mmu ? lo(a.regs.transcfg) : 0U;
    case regs::kAsTranscfgHi: return spec_.aarch64_mmu ? hi(a.regs.transcfg) : 0U;
    case regs::kAsFaultextraLo: return lo(a.regs.faultextra);
    case regs::kAsFaultextraHi: return hi(a.regs.faultextra);
    default: return 0;
  }
}

std::uint32_t Gpu::peek(std::uint32_t offset) const {
  switch (offset) {
    case regs::kGpuId: return spec_.gpu_id;
    case regs::kGpuMmuFeatures: return spec_.mmu_features;
    case regs::kGpuAsPresent: return spec_.as_present;
    case regs::kGpuJsPresent: return spec_.js_present;
    case regs::kMmuIntRawstat: return irq_.rawstat();
    case regs::kMmuIntClear: return 0;
    case regs::kMmuIntMask: return irq_.mask();
    case regs::kMmuIntStat: return irq_.stat();
    default: break;
  }
  if (auto r = regs::as_reg_decode(offset); r && spec_.has_as(r->as)) return read_as(r->as, r->reg_in_block);
  return 0;
}

std::uint32_t Gpu::read32(std::uint32_t offset) {
  if ((offset & 3) == 0) {
    if (auto r = regs::as_reg_decode(offset); r && !spec_.has_as(r->as)) {
      report(MisuseKind::AsNotPresent, static_cast<int>(r->as), offset,
             fmt::format("read of {}: AS{} is not in AS_PRESENT {:#x}; reads as 0", register_name(offset),
                         r->as, spec_.as_present));
      return 0;
    }
    switch (offset) {
      case regs::kGpuId:
      case regs::kGpuMmuFeatures:
      case regs::kGpuAsPresent:
      case regs::kGpuJsPresent:
      case regs::kMmuIntRawstat:
      case regs::kMmuIntClear:
      case regs::kMmuIntMask:
      case regs::kMmuIntStat: return peek(offset);
      default:
        if (regs::as_reg_decode(offset)) return peek(offset);
        break;
    }
  }
  report(MisuseKind::UnmodelledRegister, -1, offset,
         fmt::format("read of {}: not modelled by mali-sim; reads as 0", register_name(offset)));
  return 0;
}

void Gpu::write32(std::uint32_t offset, std::uint32_t value) {
  if (observer_ != nullptr) observer_->register_written(offset, value);
  switch (offset) {
    case regs::kGpuId:
    case regs::kGpuMmuFeatures:
    case regs::kGpuAsPresent:
    case regs::kGpuJsPresent:
    case regs::kMmuIntStat:
      report(MisuseKind::WriteToReadOnly, -1, offset,
             fmt::format("write of {:#x} to read-only {} ignored", value, register_name(offset)));
      return;
    case regs::kMmuIntRawstat:
      // RAWSTAT is writable: setting bits raises the interrupt by software (kbase documents the
      // register as RW); clearing goes through MMU_INT_CLEAR.
      irq_.raise(value);
      irq_changed();
      return;
    case regs::kMmuIntClear:
      irq_.clear(value);
      irq_changed();
      return;
    case regs::kMmuIntMask:
      irq_.set_mask(value);
      irq_changed();
      return;
    default: break;
  }
  const auto r = regs::as_reg_decode(offset);
  if (!r || (offset & 3) != 0) {
    report(
        MisuseKind::UnmodelledRegister, -1, offset,
        fmt::format("write of {:#x} to {}: not modelled by mali-sim; ignored", value, register_name(offset)));
    return;
  }
  if (!spec_.has_as(r->as)) {
    report(MisuseKind::AsNotPresent, static_cast<int>(r->as), offset,
           fmt::format("write of {:#x} to {}: AS{} is not in AS_PRESENT {:#x}; ignored", value,
                       register_name(offset), r->as, spec_.as_present));
    return;
  }
  write_as(r->as, r->reg_in_block, value);
}

void Gpu::write_as(unsigned as, std::uint32_t reg, std::uint32_t value) {
  AsRegs& rg = as_[as].regs;
  switch (reg) {
    case regs::kAsTranstabLo: rg.transtab = set_lo(rg.transtab, value); return;
    case regs::kAsTranstabHi: rg.transtab = set_hi(rg.transtab, value); return;
    case regs::kAsMemattrLo: rg.memattr = set_lo(rg.memattr, value); return;
    case regs::kAsMemattrHi: rg.memattr = set_hi(rg.memattr, value); return;
    case regs::kAsLockaddrLo: rg.lockaddr = set_lo(rg.lockaddr, value); return;
    case regs::kAsLockaddrHi: rg.lockaddr = set_hi(rg.lockaddr, value); return;
    case regs::kAsCommand: command(as, value); return;
    case regs::kAsTranscfgLo:
    case regs::kAsTranscfgHi:
      // Without the AArch64 MMU the register does not exist and the write goes nowhere. panfrost
      // writes it on every GPU (UNMAPPED on disable), so this is not reported as misuse.
      if (!spec_.aarch64_mmu) return;
      rg.transcfg = reg == regs::kAsTranscfgLo ? set_lo(rg.transcfg, value) : set_hi(rg.transcfg, value);
      return;
    default:
      report(
          MisuseKind::WriteToReadOnly, static_cast<int>(as), regs::as_reg(as, reg),
          fmt::format("write of {:#x} to read-only {} ignored", value, register_name(regs::as_reg(as, reg))));
      return;
  }
}

bool Gpu::poke(std::uint32_t offset, std::uint32_t value) {
  switch (offset) {
    case regs::kMmuIntRawstat:
      irq_.set_rawstat(value);
      irq_changed();
      return true;
    case regs::kMmuIntMask:
      irq_.set_mask(value);
      irq_changed();
      return true;
    default: break;
  }
  const auto r = regs::as_reg_decode(offset);
  if (!r || !spec_.has_as(r->as)) return false;
  AsRegs& rg = as_[r->as].regs;
  switch (r->reg_in_block) {
    case regs::kAsFaultstatus: rg.faultstatus = value; return true;
    case regs::kAsFaultaddressLo: rg.faultaddress = set_lo(rg.faultaddress, value); return true;
    case regs::kAsFaultaddressHi: rg.faultaddress = set_hi(rg.faultaddress, value); return true;
    case regs::kAsFaultextraLo: rg.faultextra = set_lo(rg.faultextra, value); return true;
    case regs::kAsFaultextraHi: rg.faultextra = set_hi(rg.faultextra, value); return true;
    case regs::kAsCommand:
    case regs::kAsStatus: return false;  // no storage: commands only run through write32
    default:
      if (!spec_.aarch64_mmu &&
          (r->reg_in_block == regs::kAsTranscfgLo || r->reg_in_block == regs::kAsTranscfgHi))
        return false;
      write_as(r->as, r->reg_in_block, value);
      return true;
  }
}

// ---- Interrupt line -----------------------------------------------------------------------

void Gpu::set_irq_handler(IrqHandler handler) {
  irq_handler_ = std::move(handler);
  irq_changed();
}

void Gpu::irq_changed() {
  const bool high = irq_.line();
  if (high && !irq_was_high_) ++counters_.irqs_raised;
  irq_was_high_ = high;
  if (high && irq_handler_ && !irq_delivery_scheduled_) {
    irq_delivery_scheduled_ = true;
    queue_.schedule_in(spec_.irq_latency, [this] { deliver_irq(); });
  }
}

void Gpu::deliver_irq() {
  irq_delivery_scheduled_ = false;
  if (!irq_.line() || !irq_handler_) return;  // dropped (cleared or masked) before it reached the CPU
  ++counters_.irqs_delivered;
  if (observer_ != nullptr) observer_->irq_handler_entered();
  irq_handler_();
  if (observer_ != nullptr) observer_->irq_handler_returned();
  irq_changed();  // still high: level-triggered, it fires again
}

}  // namespace mali_sim
