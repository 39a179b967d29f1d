// The device's register file: MMIO decode across the blocks (GPU control, job control, MMU),
// the interrupt lines, and the reset of every block.
#include <fmt/format.h>

#include <stdexcept>

#include "mali_sim/gpu/gpu.hpp"

namespace mali_sim {

namespace {
using regs::hi32;
using regs::lo32;
using regs::with_half;
}  // namespace

std::string_view to_string(FailReason r) noexcept {
  switch (r) {
    case FailReason::None: return "none";
    case FailReason::BadRequest: return "bad request";
    case FailReason::AsNotPresent: return "address space not present";
    case FailReason::Unmapped: return "address space UNMAPPED";
    case FailReason::PoweredOff: return "shader core not powered";
    case FailReason::Reset: return "GPU reset";
  }
  return "?";
}

Gpu::Gpu(const GpuSpec& spec, PhysMem& mem, EventQueue& queue)
    : spec_(spec),
      mem_(mem),
      queue_(queue),
      job_irq_(IrqLine::kJob, queue, spec.irq_latency),
      mmu_irq_(IrqLine::kMmu, queue, spec.irq_latency),
      gpu_irq_(IrqLine::kGpu, queue, spec.irq_latency),
      l2_(spec.l2tlb),
      walk_cache_(spec.walk_cache_entries),
      control_(spec_, queue, gpu_irq_,
               GpuControl::Wiring{[this] { reset_blocks(); },
                                  [this](std::uint64_t ready) { cores_powered(ready); },
                                  [this] { return active_cores(); },
                                  [this](MisuseKind kind, std::uint32_t offset, std::string message) {
                                    report(kind, -1, offset, std::move(message));
                                  }}),
      jm_(spec_, queue, mem, job_irq_,
          JobManager::Wiring{
              [this](unsigned as, GpuVa va, Access a, std::uint32_t size, JobManager::AccessDone done) {
                jm_access(as, va, a, size, std::move(done));
              },
              [this](std::uint64_t affinity) {
                std::uint64_t cores = 0;
                for (unsigned c = 0; c < num_cores_; ++c) {
                  if (((affinity >> core_bits_[c]) & 1U) != 0 && core_powered(c))
                    cores |= std::uint64_t{1} << c;
                }
                return cores;
              },
              [this] { control_.count_flush(); }, [this] { return control_.cycle_count(); },
              [this] { return control_.timestamp(); },
              [this](MisuseKind kind, std::uint32_t offset, std::string message) {
                report(kind, -1, offset, std::move(message));
              }}) {
  if (Status s = spec.validate(); !s) throw std::invalid_argument(s.error().message);
  // One uTLB per shader core, and one for the job manager's own requests after them.
  utlbs_.reserve(spec.shader_cores + 1);
  for (unsigned c = 0; c < spec.shader_cores; ++c) {
    utlbs_.emplace_back(spec.utlb);
    core_bits_[c] = spec.core_bit(c);
  }
  utlbs_.emplace_back(spec.utlb);
  num_cores_ = spec.shader_cores;
  jm_core_ = num_cores_;
  for (auto& a : as_) a.live.pa_bits = spec.pa_bits();
  for (unsigned as = 0; as < regs::kMaxAddressSpaces; ++as) update_fast_path(as);  // and the memos
  for (IrqBlock* b : irqs_) {
    b->set_delivery_hook([this](IrqLine line, bool entered) {
      if (observer_ == nullptr) return;
      if (entered) {
        observer_->irq_handler_entered(line);
      } else {
        observer_->irq_handler_returned(line);
      }
    });
    b->set_raise_hook([this](IrqLine line, std::uint32_t bits) {
      if (observer_ != nullptr) observer_->irq_raised(line, bits);
    });
  }
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
    case regs::kAsTranstabLo: return lo32(a.regs.transtab);
    case regs::kAsTranstabHi: return hi32(a.regs.transtab);
    case regs::kAsMemattrLo: return lo32(a.regs.memattr);
    case regs::kAsMemattrHi: return hi32(a.regs.memattr);
    case regs::kAsLockaddrLo: return lo32(a.regs.lockaddr);
    case regs::kAsLockaddrHi: return hi32(a.regs.lockaddr);
    case regs::kAsCommand: return 0;  // write-only
    case regs::kAsFaultstatus: return a.regs.faultstatus;
    case regs::kAsFaultaddressLo: return lo32(a.regs.faultaddress);
    case regs::kAsFaultaddressHi: return hi32(a.regs.faultaddress);
    case regs::kAsStatus: return a.active() ? regs::kAsStatusActive : 0U;
    case regs::kAsTranscfgLo: return spec_.aarch64_mmu ? lo32(a.regs.transcfg) : 0U;
    case regs::kAsTranscfgHi: return spec_.aarch64_mmu ? hi32(a.regs.transcfg) : 0U;
    case regs::kAsFaultextraLo: return lo32(a.regs.faultextra);
    case regs::kAsFaultextraHi: return hi32(a.regs.faultextra);
    default: return 0;
  }
}

std::uint32_t Gpu::peek(std::uint32_t offset) const {
  if (GpuControl::owns(offset)) return control_.read(offset);
  if (JobManager::owns(offset)) return jm_.read(offset);
  switch (offset) {
    case regs::kMmuIntRawstat: return mmu_irq_.rawstat();
    case regs::kMmuIntClear: return 0;
    case regs::kMmuIntMask: return mmu_irq_.mask();
    case regs::kMmuIntStat: return mmu_irq_.stat();
    default: break;
  }
  if (auto r = regs::as_reg_decode(offset); r && spec_.has_as(r->as)) return read_as(r->as, r->reg_in_block);
  return 0;
}

std::uint32_t Gpu::read32(std::uint32_t offset) {
  if ((offset & 3) == 0) {
    if (GpuControl::owns(offset)) {
      // Absent registers (ones this architecture lacks) read 0 without a report: drivers read
      // some of them on every GPU. Write-only ones read 0 too.
      if (control_.kind(offset) != RegisterKind::kUnknown) return control_.read(offset);
    } else if (JobManager::owns(offset)) {
      if (jm_.kind(offset) != RegisterKind::kUnknown) return jm_.read(offset);
    } else if (auto r = regs::as_reg_decode(offset); r && !spec_.has_as(r->as)) {
      report(MisuseKind::AsNotPresent, static_cast<int>(r->as), offset,
             fmt::format("read of {}: AS{} is not in AS_PRESENT {:#x}; reads as 0", register_name(offset),
                         r->as, spec_.as_present));
      return 0;
    } else {
      switch (offset) {
        case regs::kMmuIntRawstat:
        case regs::kMmuIntClear:
        case regs::kMmuIntMask:
        case regs::kMmuIntStat: return peek(offset);
        default:
          if (r) return peek(offset);
          break;
      }
    }
  }
  report(MisuseKind::UnmodelledRegister, -1, offset,
         fmt::format("read of {}: not modelled by mali-sim; reads as 0", register_name(offset)));
  return 0;
}

void Gpu::write32(std::uint32_t offset, std::uint32_t value) {
  if (observer_ != nullptr) observer_->register_written(offset, value);
  if ((offset & 3) == 0 && GpuControl::owns(offset)) {
    write_control(offset, value);
    return;
  }
  if (JobManager::owns(offset)) {
    write_block(jm_.kind(offset), offset, value, [&] { jm_.write(offset, value); });
    return;
  }
  if (control_.resetting()) {
    report(MisuseKind::WriteDuringReset, -1, offset,
           fmt::format("write of {:#x} to {} while a GPU reset is under way; ignored", value,
                       register_name(offset)));
    return;
  }
  switch (offset) {
    case regs::kMmuIntStat:
      report(MisuseKind::WriteToReadOnly, -1, offset,
             fmt::format("write of {:#x} to read-only {} ignored", value, register_name(offset)));
      return;
    case regs::kMmuIntRawstat:
      // RAWSTAT is writable: setting bits raises the interrupt by software (kbase documents the
      // register as RW); clearing goes through MMU_INT_CLEAR.
      mmu_irq_.raise(value);
      return;
    case regs::kMmuIntClear: mmu_irq_.clear(value); return;
    case regs::kMmuIntMask: mmu_irq_.set_mask(value); return;
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

// A write into the GPU control block. During a reset only the GPU interrupt registers and
// GPU_COMMAND (a hard reset after a soft one that took too long, as panfrost does) are taken.
void Gpu::write_control(std::uint32_t offset, std::uint32_t value) {
  const bool during_reset_ok = offset == regs::kGpuCmd || offset == regs::kGpuIntClear ||
                               offset == regs::kGpuIntMask || offset == regs::kGpuIntRawstat;
  write_block(
      control_.kind(offset), offset, value, [&] { control_.write(offset, value); }, during_reset_ok);
}

// A write to a block's register of kind `kind`: read-only, unknown and absent ones are reported
// and ignored, and so is any write during a reset unless `during_reset_ok`.
void Gpu::write_block(RegisterKind kind, std::uint32_t offset, std::uint32_t value,
                      const std::function<void()>& store, bool during_reset_ok) {
  if (kind == RegisterKind::kReadOnly) {
    report(MisuseKind::WriteToReadOnly, -1, offset,
           fmt::format("write of {:#x} to read-only {} ignored", value, register_name(offset)));
    return;
  }
  if (kind == RegisterKind::kUnknown || kind == RegisterKind::kAbsent) {
    report(MisuseKind::UnmodelledRegister, -1, offset,
           fmt::format("write of {:#x} to {}: {}; ignored", value, register_name(offset),
                       kind == RegisterKind::kAbsent ? fmt::format("the register does not exist on {}",
                                                                   GpuId::decode(spec_.gpu_id).to_string())
                                                     : std::string("not modelled by mali-sim")));
    return;
  }
  if (control_.resetting() && !during_reset_ok) {
    report(MisuseKind::WriteDuringReset, -1, offset,
           fmt::format("write of {:#x} to {} while a GPU reset is under way; ignored", value,
                       register_name(offset)));
    return;
  }
  store();
}

void Gpu::write_as(unsigned as, std::uint32_t reg, std::uint32_t value) {
  AsRegs& rg = as_[as].regs;
  switch (reg) {
    case regs::kAsTranstabLo:
    case regs::kAsTranstabHi: rg.transtab = with_half(rg.transtab, reg, value); return;
    case regs::kAsMemattrLo:
    case regs::kAsMemattrHi: rg.memattr = with_half(rg.memattr, reg, value); return;
    case regs::kAsLockaddrLo:
    case regs::kAsLockaddrHi: rg.lockaddr = with_half(rg.lockaddr, reg, value); return;
    case regs::kAsCommand: command(as, value); return;
    case regs::kAsTranscfgLo:
    case regs::kAsTranscfgHi:
      // Without the AArch64 MMU the register does not exist and the write goes nowhere. panfrost
      // writes it on every GPU (UNMAPPED on disable), so this is not reported as misuse.
      if (!spec_.aarch64_mmu) return;
      rg.transcfg = with_half(rg.transcfg, reg, value);
      return;
    default:
      report(
          MisuseKind::WriteToReadOnly, static_cast<int>(as), regs::as_reg(as, reg),
          fmt::format("write of {:#x} to read-only {} ignored", value, register_name(regs::as_reg(as, reg))));
      return;
  }
}

bool Gpu::poke(std::uint32_t offset, std::uint32_t value) {
  if (GpuControl::owns(offset)) return control_.poke(offset, value);
  switch (offset) {
    case regs::kMmuIntRawstat: mmu_irq_.set_rawstat(value); return true;
    case regs::kMmuIntMask: mmu_irq_.set_mask(value); return true;
    case regs::kJobIntRawstat: job_irq_.set_rawstat(value); return true;
    case regs::kJobIntMask: job_irq_.set_mask(value); return true;
    default: break;
  }
  const auto r = regs::as_reg_decode(offset);
  if (!r || !spec_.has_as(r->as)) return false;
  AsRegs& rg = as_[r->as].regs;
  switch (r->reg_in_block) {
    case regs::kAsFaultstatus: rg.faultstatus = value; return true;
    case regs::kAsFaultaddressLo:
    case regs::kAsFaultaddressHi:
      rg.faultaddress = with_half(rg.faultaddress, r->reg_in_block, value);
      return true;
    case regs::kAsFaultextraLo:
    case regs::kAsFaultextraHi: rg.faultextra = with_half(rg.faultextra, r->reg_in_block, value); return true;
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

// ---- Interrupt lines ------------------------------------------------------------------------

void Gpu::set_irq_handler(IrqLine line, IrqHandler handler) { irq(line).set_handler(std::move(handler)); }

// ---- Reset and power ------------------------------------------------------------------------

// A soft or hard reset completes: every block returns to its power-on state. Accesses in flight
// fail, commands under way never finish, walks under way fill nothing, translations cached
// before are gone; the job and MMU interrupt blocks are cleared and masked. (The GPU control
// block resets its own state and raises RESET_COMPLETED.)
void Gpu::reset_blocks() {
  ++reset_gen_;
  for (std::uint32_t id = 0; id < pending_.size(); ++id) {
    if (pending_[id].live) fail(id, FailReason::Reset);
  }
  const Cycle now = queue_.now();
  for (unsigned as = 0; as < regs::kMaxAddressSpaces; ++as) {
    AddressSpace& a = as_[as];
    for (std::uint32_t id : a.fault_waiters) counters_.stall_cycles += now - pending_[id].stalled_since;
    for (std::uint32_t id : a.lock_waiters) counters_.stall_cycles += now - pending_[id].stalled_since;
    const std::uint64_t epoch = a.epoch + 1;  // walks under way fill nothing
    a = AddressSpace{};
    a.epoch = epoch;
    a.live.pa_bits = spec_.pa_bits();
  }
  walk_by_page_.for_each([&](std::uint64_t, std::uint32_t w) { walks_[w].waiters.clear(); });
  for (Tlb& t : utlbs_) t.invalidate_all();
  l2_.invalidate_all();
  walk_cache_.invalidate_all();
  jm_.reset();
  job_irq_.reset();
  mmu_irq_.reset();
  for (unsigned as = 0; as < regs::kMaxAddressSpaces; ++as) update_fast_path(as);
}

void Gpu::cores_powered(std::uint64_t ready_bits) {
  for (unsigned c = 0; c < num_cores_; ++c) {
    // A core that powers down loses what its uTLB held.
    if (((ready_bits >> core_bits_[c]) & 1U) == 0) utlbs_[c].invalidate_all();
  }
  for (unsigned as = 0; as < regs::kMaxAddressSpaces; ++as) update_fast_path(as);
}

std::uint64_t Gpu::active_cores() const {
  std::uint64_t bits = 0;
  for (const Pending& p : pending_) {
    if (p.live && p.req.core < num_cores_) bits |= std::uint64_t{1} << core_bits_[p.req.core];
  }
  return bits;
}

}  // namespace mali_sim
