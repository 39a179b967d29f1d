// The GPU control block: register decode by architecture, GPU_COMMAND, resets, the cycle counter
// and the GPU fault record. The power domains are power.cpp's.
#include "mali_sim/gpu/gpu_control.hpp"

#include <fmt/format.h>

#include <utility>

namespace mali_sim {

namespace {

using regs::hi32;
using regs::lo32;
using regs::with_half;

enum class RegAccess : std::uint8_t { kUnknown, kAbsent, kRO, kRW, kWO };

// The architecture as one number: major * 16 + minor (Midgard: 0).
constexpr unsigned arch_of(unsigned major, unsigned minor) { return major * 16 + minor; }

}  // namespace

GpuControl::GpuControl(const GpuSpec& spec, EventQueue& clock, IrqBlock& irq, Wiring wiring)
    : spec_(spec),
      clock_(clock),
      irq_(irq),
      wiring_(std::move(wiring)),
      power_(
          clock,
          {spec.core_mask(), spec.tiler_present, spec.l2_present,
           arch() >= arch_of(6, 2) ? spec.stack_present : 0},
          PowerDomains::Timing{
              {spec.ns_to_cycles(spec.shader_power_ns), spec.ns_to_cycles(spec.tiler_power_ns),
               spec.ns_to_cycles(spec.l2_power_ns), spec.ns_to_cycles(spec.stack_power_ns)},
              spec.ns_to_cycles(spec.power_down_ns)},
          [this](Domain d, bool settled) {
            std::uint32_t bits = regs::kGpuIrqPowerChanged;
            if (settled) bits |= regs::kGpuIrqPowerChangedAll;
            if (d == Domain::kShader && wiring_.cores_powered)
              wiring_.cores_powered(power_.ready(Domain::kShader));
            irq_.raise(bits);
          },
          [this](std::uint32_t offset, std::string message) {
            if (wiring_.report) wiring_.report(MisuseKind::PowerSequence, offset, std::move(message));
          }) {}

unsigned GpuControl::arch() const noexcept {
  const GpuId id = GpuId::decode(spec_.gpu_id);
  return id.is_new_format() ? arch_of(id.arch_major(), id.arch_minor()) : 0;
}

// Which function of which domain a power register is (function: the offset of its LO register
// in the shader domain's block: PRESENT 0x100, READY 0x140, ...).
bool GpuControl::power_register(std::uint32_t offset, Domain& d, std::uint32_t& function) const noexcept {
  if ((offset & 0xFU) >= 8) return false;
  if (offset >= regs::kShaderPresentLo && offset < regs::kShaderPwractiveLo + 0x30) {
    const std::uint32_t rel = offset - regs::kShaderPresentLo;
    const std::uint32_t index = (rel >> 4) % 4;
    if (index == 3) return false;  // 0x130, 0x170, ...: nothing
    d = static_cast<Domain>(index);
    function = regs::kShaderPresentLo + (rel & ~0x3FU);
    return true;
  }
  if (offset >= regs::kStackPresentLo && offset < regs::kStackPwrtransLo + 8) {
    d = Domain::kStack;
    function = regs::kShaderPresentLo + ((offset - regs::kStackPresentLo) & ~0xFU) * 4;
    return true;
  }
  return false;
}

namespace {

RegAccess access_of(std::uint32_t offset, unsigned arch, unsigned js_slots) {
  const bool bifrost = arch >= arch_of(6, 0);
  const auto present_from = [&](bool yes) { return yes ? RegAccess::kRO : RegAccess::kAbsent; };
  switch (offset) {
    case regs::kGpuId:
    case regs::kL2Features:
    case regs::kTilerFeatures:
    case regs::kMemFeatures:
    case regs::kGpuMmuFeatures:
    case regs::kGpuAsPresent:
    case regs::kGpuJsPresent:
    case regs::kGpuIntStat:
    case regs::kGpuStatus:
    case regs::kLatestFlush:
    case regs::kGpuFaultStatus:
    case regs::kGpuFaultAddressLo:
    case regs::kGpuFaultAddressHi:
    case regs::kCycleCountLo:
    case regs::kCycleCountHi:
    case regs::kTimestampLo:
    case regs::kTimestampHi:
    case regs::kThreadMaxThreads:
    case regs::kThreadMaxWorkgroupSize:
    case regs::kThreadMaxBarrierSize:
    case regs::kThreadFeatures:
    case regs::kTextureFeatures0:
    case regs::kTextureFeatures0 + 4:
    case regs::kTextureFeatures0 + 8: return RegAccess::kRO;
    case regs::kTextureFeatures0 + 12: return present_from(arch < arch_of(6, 0) || arch >= arch_of(7, 0));
    case regs::kCoreFeatures:
    case regs::kThreadTlsAlloc: return present_from(arch >= arch_of(7, 2) && arch < arch_of(9, 0));
    case regs::kAfbcFeatures:
    case regs::kCoherencyFeatures: return present_from(bifrost);
    case regs::kRevidr: return present_from(arch >= arch_of(6, 2));
    case regs::kCoherencyEnable: return bifrost ? RegAccess::kRW : RegAccess::kAbsent;
    case regs::kGpuIntRawstat:
    case regs::kGpuIntMask:
    case regs::kPwrOverride0:
    case regs::kPwrOverride1:
    case regs::kPrfcntBaseLo:
    case regs::kPrfcntBaseHi:
    case regs::kPrfcntConfig:
    case regs::kPrfcntJmEn:
    case regs::kPrfcntShaderEn:
    case regs::kPrfcntTilerEn:
    case regs::kPrfcntMmuL2En:
    case regs::kJmConfig:
    case regs::kShaderConfig:
    case regs::kTilerConfig:
    case regs::kL2MmuConfig: return RegAccess::kRW;
    case regs::kGpuIntClear:
    case regs::kGpuCmd:
    case regs::kPwrKey: return RegAccess::kWO;
    default: break;
  }
  if (offset >= regs::kJsFeatures0 && offset < regs::kJsFeatures0 + 4 * regs::kMaxJobSlots &&
      (offset & 3U) == 0)
    return (offset - regs::kJsFeatures0) / 4 < js_slots ? RegAccess::kRO : RegAccess::kAbsent;
  return RegAccess::kUnknown;
}

}  // namespace

GpuControl::RegisterKind GpuControl::kind(std::uint32_t offset) const noexcept {
  Domain d{};
  std::uint32_t function = 0;
  if (power_register(offset, d, function)) {
    if (d == Domain::kStack && arch() < arch_of(6, 2)) return RegisterKind::kAbsent;
    if (function == regs::kShaderPwronLo || function == regs::kShaderPwroffLo)
      return RegisterKind::kWriteOnly;
    if (function == regs::kShaderPwractiveLo && d == Domain::kStack) return RegisterKind::kUnknown;
    return RegisterKind::kReadOnly;
  }
  switch (access_of(offset, arch(), regs::kMaxJobSlots)) {
    case RegAccess::kUnknown: return RegisterKind::kUnknown;
    case RegAccess::kAbsent: return RegisterKind::kAbsent;
    case RegAccess::kRO: return RegisterKind::kReadOnly;
    case RegAccess::kRW: return RegisterKind::kReadWrite;
    case RegAccess::kWO: return RegisterKind::kWriteOnly;
  }
  return RegisterKind::kUnknown;
}

std::uint32_t GpuControl::read(std::uint32_t offset) const {
  const RegisterKind k = kind(offset);
  if (k != RegisterKind::kReadOnly && k != RegisterKind::kReadWrite) return 0;
  Domain d{};
  std::uint32_t function = 0;
  if (power_register(offset, d, function)) {
    std::uint64_t v = 0;
    switch (function) {
      case regs::kShaderPresentLo: v = power_.present(d); break;
      case regs::kShaderReadyLo: v = power_.ready(d); break;
      case regs::kShaderPwrtransLo: v = power_.in_transition(d); break;
      case regs::kShaderPwractiveLo:
        // Units doing work: the shader cores with work under way, and the L2 while any is.
        if (wiring_.active_cores) {
          const std::uint64_t cores = wiring_.active_cores() & power_.ready(Domain::kShader);
          v = d == Domain::kShader ? cores : d == Domain::kL2 && cores != 0 ? power_.ready(Domain::kL2) : 0;
        }
        break;
      default: break;
    }
    return (offset & 4U) != 0 ? hi32(v) : lo32(v);
  }
  if (offset >= regs::kJsFeatures0 && offset < regs::kJsFeatures0 + 4 * regs::kMaxJobSlots) {
    const unsigned n = (offset - regs::kJsFeatures0) / 4;
    return n < 3 && ((spec_.js_present >> n) & 1U) != 0 ? spec_.js_features[n] : 0;
  }
  switch (offset) {
    case regs::kGpuId: return spec_.gpu_id;
    case regs::kL2Features: return spec_.l2_features;
    case regs::kCoreFeatures: return spec_.core_features;
    case regs::kTilerFeatures: return spec_.tiler_features;
    case regs::kMemFeatures: return spec_.mem_features;
    case regs::kGpuMmuFeatures: return spec_.mmu_features;
    case regs::kGpuAsPresent: return spec_.as_present;
    case regs::kGpuJsPresent: return spec_.js_present;
    case regs::kGpuIntRawstat: return irq_.rawstat();
    case regs::kGpuIntMask: return irq_.mask();
    case regs::kGpuIntStat: return irq_.stat();
    case regs::kGpuStatus: return gpu_status();
    case regs::kLatestFlush: return flush_id_;
    case regs::kGpuFaultStatus: return fault_status_;
    case regs::kGpuFaultAddressLo: return lo32(fault_address_);
    case regs::kGpuFaultAddressHi: return hi32(fault_address_);
    case regs::kAfbcFeatures: return spec_.afbc_features;
    case regs::kPwrOverride0: return lo32(pwr_override_[0]);
    case regs::kPwrOverride1: return lo32(pwr_override_[1]);
    case regs::kPrfcntBaseLo: return lo32(prfcnt_base_);
    case regs::kPrfcntBaseHi: return hi32(prfcnt_base_);
    case regs::kPrfcntConfig: return prfcnt_[0];
    case regs::kPrfcntJmEn: return prfcnt_[1];
    case regs::kPrfcntShaderEn: return prfcnt_[2];
    case regs::kPrfcntTilerEn: return prfcnt_[3];
    case regs::kPrfcntMmuL2En: return prfcnt_[4];
    case regs::kCycleCountLo: return lo32(cycle_count());
    case regs::kCycleCountHi: return hi32(cycle_count());
    case regs::kTimestampLo: return lo32(timestamp());
    case regs::kTimestampHi: return hi32(timestamp());
    case regs::kThreadMaxThreads: return spec_.thread_max_threads;
    case regs::kThreadMaxWorkgroupSize: return spec_.thread_max_workgroup_size;
    case regs::kThreadMaxBarrierSize: return spec_.thread_max_barrier_size;
    case regs::kThreadFeatures: return spec_.thread_features;
    case regs::kTextureFeatures0: return spec_.texture_features[0];
    case regs::kTextureFeatures0 + 4: return spec_.texture_features[1];
    case regs::kTextureFeatures0 + 8: return spec_.texture_features[2];
    case regs::kTextureFeatures0 + 12: return spec_.texture_features[3];
    case regs::kRevidr: return 0;
    case regs::kCoherencyFeatures: return spec_.coherency_features;
    case regs::kCoherencyEnable: return coherency_enable_;
    case regs::kThreadTlsAlloc: return spec_.thread_tls_alloc;
    case regs::kJmConfig: return config_[0];
    case regs::kShaderConfig: return config_[1];
    case regs::kTilerConfig: return config_[2];
    case regs::kL2MmuConfig: return config_[3];
    default: return 0;
  }
}

void GpuControl::write(std::uint32_t offset, std::uint32_t value) {
  Domain d{};
  std::uint32_t function = 0;
  if (power_register(offset, d, function)) {
    const std::uint64_t mask = (offset & 4U) != 0 ? static_cast<std::uint64_t>(value) << 32 : value;
    if (function == regs::kShaderPwronLo) power_.power_on(d, mask, offset);
    if (function == regs::kShaderPwroffLo) power_.power_off(d, mask, offset);
    return;
  }
  switch (offset) {
    case regs::kGpuIntRawstat: irq_.raise(value); return;  // software-raised (kbase's IRQ test)
    case regs::kGpuIntClear: irq_.clear(value); return;
    case regs::kGpuIntMask: irq_.set_mask(value); return;
    case regs::kGpuCmd: command(value); return;
    case regs::kPwrKey: return;  // unlocks PWR_OVERRIDE on some parts; nothing to model
    case regs::kPwrOverride0: pwr_override_[0] = value; return;
    case regs::kPwrOverride1: pwr_override_[1] = value; return;
    case regs::kPrfcntBaseLo:
    case regs::kPrfcntBaseHi: prfcnt_base_ = with_half(prfcnt_base_, offset, value); return;
    case regs::kPrfcntConfig: prfcnt_[0] = value; return;
    case regs::kPrfcntJmEn: prfcnt_[1] = value; return;
    case regs::kPrfcntShaderEn: prfcnt_[2] = value; return;
    case regs::kPrfcntTilerEn: prfcnt_[3] = value; return;
    case regs::kPrfcntMmuL2En: prfcnt_[4] = value; return;
    case regs::kCoherencyEnable: coherency_enable_ = value; return;
    case regs::kJmConfig: config_[0] = value; return;
    case regs::kShaderConfig: config_[1] = value; return;
    case regs::kTilerConfig: config_[2] = value; return;
    case regs::kL2MmuConfig: config_[3] = value; return;
    default: return;
  }
}

bool GpuControl::poke(std::uint32_t offset, std::uint32_t value) {
  switch (offset) {
    case regs::kGpuIntRawstat: irq_.set_rawstat(value); return true;
    case regs::kGpuIntMask: irq_.set_mask(value); return true;
    case regs::kGpuFaultStatus: fault_status_ = value; return true;
    case regs::kGpuFaultAddressLo:
    case regs::kGpuFaultAddressHi: fault_address_ = with_half(fault_address_, offset, value); return true;
    case regs::kLatestFlush: flush_id_ = value; return true;
    default: break;
  }
  if (kind(offset) != RegisterKind::kReadWrite) return false;  // commands and read-only state
  write(offset, value);
  return true;
}

// ---- GPU_COMMAND --------------------------------------------------------------------------

void GpuControl::command(std::uint32_t value) {
  const auto report = [&](MisuseKind kind, std::string message) {
    if (wiring_.report) wiring_.report(kind, regs::kGpuCmd, std::move(message));
  };
  if (value > static_cast<std::uint32_t>(GpuCommand::SetProtectedMode)) {
    report(MisuseKind::UnknownCommand, fmt::format("GPU_COMMAND {:#x} is not a command; ignored", value));
    return;
  }
  switch (static_cast<GpuCommand>(value)) {
    case GpuCommand::Nop: return;
    case GpuCommand::SoftReset: begin_reset(false); return;
    case GpuCommand::HardReset: begin_reset(true); return;
    case GpuCommand::CycleCountStart:
      if (!counting_) {
        counting_ = true;
        counting_since_ = clock_.now();
      }
      return;
    case GpuCommand::CycleCountStop:
      if (counting_) {
        cycles_counted_ = cycle_count();
        counting_ = false;
      }
      return;
    case GpuCommand::CleanCaches:
    case GpuCommand::CleanInvCaches: {
      // The caches hold no modelled data: the command takes its time and completes. A second one
      // while one runs completes with it, later.
      const std::uint64_t ticket = next_ticket_++;
      clean_pending_ = ticket;
      clock_.schedule_in(spec_.ns_to_cycles(spec_.cache_clean_ns), [this, ticket] { finish_clean(ticket); });
      return;
    }
    case GpuCommand::PerfcntClear: return;  // performance counters are not modelled: nothing to clear
    case GpuCommand::PerfcntSample:
      report(MisuseKind::UnmodelledRegister,
             "GPU_COMMAND PERFCNT_SAMPLE: performance counters are not modelled; nothing is written to "
             "PRFCNT_BASE, PRFCNT_SAMPLE_COMPLETED is raised after a cache clean's time");
      clock_.schedule_in(spec_.ns_to_cycles(spec_.cache_clean_ns),
                         [this] { irq_.raise(regs::kGpuIrqPerfcntSampleCompleted); });
      return;
    case GpuCommand::SetProtectedMode:
      report(MisuseKind::UnmodelledRegister,
             "GPU_COMMAND SET_PROTECTED_MODE: protected mode is not modelled; ignored");
      return;
  }
}

void GpuControl::begin_reset(bool hard) {
  // The latest reset command decides when the reset completes: a hard reset sent because a soft
  // one timed out (panfrost's fallback) completes after its own time.
  const std::uint64_t ticket = next_ticket_++;
  reset_pending_ = ticket;
  const std::uint64_t ns = hard ? spec_.hard_reset_ns : spec_.soft_reset_ns;
  clock_.schedule_in(spec_.ns_to_cycles(ns), [this, ticket] { finish_reset(ticket); });
}

void GpuControl::finish_reset(std::uint64_t ticket) {
  if (ticket != reset_pending_) return;  // superseded by a later reset command
  reset_pending_ = 0;
  ++resets_;
  if (wiring_.reset_device) wiring_.reset_device();
  reset_state();
  irq_.clear(~0U);  // what was pending belonged to the GPU before the reset; the mask stays
  irq_.raise(regs::kGpuIrqResetCompleted);
}

void GpuControl::reset_state() {
  const std::uint64_t was_ready = power_.ready(Domain::kShader);
  power_.reset();
  if (was_ready != 0 && wiring_.cores_powered) wiring_.cores_powered(0);
  clean_pending_ = 0;
  fault_status_ = 0;
  fault_address_ = 0;
  flush_id_ = 0;
  counting_ = false;
  cycles_counted_ = 0;
  pwr_override_[0] = pwr_override_[1] = 0;
  prfcnt_base_ = 0;
  for (std::uint32_t& r : prfcnt_) r = 0;
  coherency_enable_ = 0;
  for (std::uint32_t& r : config_) r = 0;
}

void GpuControl::finish_clean(std::uint64_t ticket) {
  if (ticket != clean_pending_) return;
  clean_pending_ = 0;
  ++flush_id_;
  irq_.raise(regs::kGpuIrqCleanCachesCompleted);
}

void GpuControl::record_fault(std::uint32_t exception, std::uint64_t address) {
  if ((irq_.rawstat() & regs::kGpuIrqFault) != 0) {
    irq_.raise(regs::kGpuIrqMultipleFault);
    return;
  }
  fault_status_ = exception & 0xFFU;
  fault_address_ = address;
  irq_.raise(regs::kGpuIrqFault);
}

std::uint64_t GpuControl::cycle_count() const noexcept {
  return cycles_counted_ + (counting_ ? clock_.now() - counting_since_ : 0);
}

std::uint64_t GpuControl::timestamp() const noexcept {
  // The system counter's ticks over the same time as the cycle count: whole seconds exactly, the
  // rest in long double (its 64-bit mantissa holds rest * rate, both below 2^34).
  const std::uint64_t cycles = cycle_count();
  const std::uint64_t seconds = cycles / spec_.clock_hz;
  const long double rest =
      static_cast<long double>(cycles % spec_.clock_hz) * spec_.timestamp_hz / spec_.clock_hz;
  return seconds * spec_.timestamp_hz + static_cast<std::uint64_t>(rest);
}

std::uint32_t GpuControl::gpu_status() const noexcept {
  return counting_ ? regs::kGpuStatusCycleCountActive : 0U;
}

}  // namespace mali_sim
