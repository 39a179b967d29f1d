// The job manager: register decode, the slots' _NEXT promotion and stop commands, and the walk of
// a job chain through the MMU.
#include "mali_sim/jm/job_manager.hpp"

#include <fmt/format.h>

#include <bit>
#include <span>
#include <utility>

namespace mali_sim {

namespace {

using regs::hi32;
using regs::lo32;
using regs::with_half;

// JS_CONFIG reads back without the thread-priority field (two real readbacks show it missing:
// 0x3700 on a T720, 0x7300 on a G57, for values written with bit 19 set).
constexpr std::uint32_t kConfigReadback = 0xFFFF;

// A header and the first 32 bytes of its payload: jobs are 64-byte aligned, so one page.
constexpr std::uint32_t kDescriptorBytes = JobHeader::kBytes + WriteValuePayload::kBytes;

bool is_shader_job(JobType t) {
  switch (t) {
    case JobType::Compute:
    case JobType::Vertex:
    case JobType::Geometry:
    case JobType::Tiler:
    case JobType::Fused:
    case JobType::Fragment:
    case JobType::IndexedVertex:
    case JobType::MallocVertex: return true;
    default: return false;
  }
}

}  // namespace

JobManager::JobManager(const GpuSpec& spec, EventQueue& clock, PhysMem& mem, IrqBlock& irq, Wiring wiring)
    : spec_(spec), clock_(clock), mem_(mem), irq_(irq), wiring_(std::move(wiring)) {}

// ---- Registers --------------------------------------------------------------------------------------

RegisterKind JobManager::kind(std::uint32_t offset) const noexcept {
  if ((offset & 3U) != 0) return RegisterKind::kUnknown;
  switch (offset) {
    case regs::kJobIntRawstat:
    case regs::kJobIntMask: return RegisterKind::kReadWrite;
    case regs::kJobIntClear: return RegisterKind::kWriteOnly;
    case regs::kJobIntStat:
    case regs::kJobIntJsState: return RegisterKind::kReadOnly;
    case regs::kJobIntThrottle:
      return spec_.arch_major() >= 9 ? RegisterKind::kAbsent : RegisterKind::kReadWrite;
    default: break;
  }
  if (offset < regs::kJsBase) return RegisterKind::kUnknown;
  const std::uint32_t rel = offset - regs::kJsBase;
  if (!slot_present(rel / regs::kJsSlotStride)) return RegisterKind::kUnknown;
  switch (rel % regs::kJsSlotStride) {
    case regs::kJsHeadLo:
    case regs::kJsHeadHi:
    case regs::kJsTailLo:
    case regs::kJsTailHi:
    case regs::kJsAffinityLo:
    case regs::kJsAffinityHi:
    case regs::kJsConfig:
    case regs::kJsXaffinity:
    case regs::kJsStatus:
    case regs::kJsFlushId: return RegisterKind::kReadOnly;
    case regs::kJsCommand: return RegisterKind::kWriteOnly;
    case regs::kJsHeadNextLo:
    case regs::kJsHeadNextHi:
    case regs::kJsAffinityNextLo:
    case regs::kJsAffinityNextHi:
    case regs::kJsConfigNext:
    case regs::kJsXaffinityNext:
    case regs::kJsCommandNext:
    case regs::kJsFlushIdNext: return RegisterKind::kReadWrite;
    default: return RegisterKind::kUnknown;
  }
}

std::uint32_t JobManager::read(std::uint32_t offset) const {
  const RegisterKind k = kind(offset);
  if (k != RegisterKind::kReadOnly && k != RegisterKind::kReadWrite) return 0;
  switch (offset) {
    case regs::kJobIntRawstat: return irq_.rawstat();
    case regs::kJobIntMask: return irq_.mask();
    case regs::kJobIntStat: return irq_.stat();
    case regs::kJobIntJsState: return js_state_;
    case regs::kJobIntThrottle: return throttle_;
    default: break;
  }
  const std::uint32_t rel = offset - regs::kJsBase;
  const Slot& s = slots_[rel / regs::kJsSlotStride];
  switch (rel % regs::kJsSlotStride) {
    case regs::kJsHeadLo: return lo32(s.head);
    case regs::kJsHeadHi: return hi32(s.head);
    case regs::kJsTailLo: return lo32(s.tail);
    case regs::kJsTailHi: return hi32(s.tail);
    case regs::kJsAffinityLo: return lo32(s.affinity);
    case regs::kJsAffinityHi: return hi32(s.affinity);
    case regs::kJsConfig: return s.config & kConfigReadback;
    case regs::kJsXaffinity: return s.xaffinity;
    case regs::kJsStatus: return s.status;
    case regs::kJsFlushId: return s.flush_id;
    case regs::kJsHeadNextLo: return lo32(s.head_next);
    case regs::kJsHeadNextHi: return hi32(s.head_next);
    case regs::kJsAffinityNextLo: return lo32(s.affinity_next);
    case regs::kJsAffinityNextHi: return hi32(s.affinity_next);
    case regs::kJsConfigNext: return s.config_next;
    case regs::kJsXaffinityNext: return s.xaffinity_next;
    case regs::kJsCommandNext: return s.next_queued ? static_cast<std::uint32_t>(regs::JsCommand::Start) : 0U;
    case regs::kJsFlushIdNext: return s.flush_id_next;
    default: return 0;
  }
}

void JobManager::write(std::uint32_t offset, std::uint32_t value) {
  switch (offset) {
    case regs::kJobIntRawstat: irq_.raise(value); return;  // software-raised, as in the other blocks
    case regs::kJobIntClear: clear(value); return;
    case regs::kJobIntMask: irq_.set_mask(value); return;
    case regs::kJobIntThrottle: throttle_ = value; return;
    default: break;
  }
  const std::uint32_t rel = offset - regs::kJsBase;
  const unsigned n = rel / regs::kJsSlotStride;
  Slot& s = slots_[n];
  const std::uint32_t r = rel % regs::kJsSlotStride;
  switch (r) {
    case regs::kJsHeadNextLo:
    case regs::kJsHeadNextHi: s.head_next = with_half(s.head_next, r, value); return;
    case regs::kJsAffinityNextLo:
    case regs::kJsAffinityNextHi: s.affinity_next = with_half(s.affinity_next, r, value); return;
    case regs::kJsConfigNext: s.config_next = value; return;
    case regs::kJsXaffinityNext: s.xaffinity_next = value; return;
    case regs::kJsFlushIdNext: s.flush_id_next = value; return;
    case regs::kJsCommand: command(n, value); return;
    case regs::kJsCommandNext: command_next(n, value); return;
    default: return;
  }
}

// JOB_INT_CLEAR: clears the bits and takes JS_STATE's snapshot for the slots named. A cleared
// FAILED bit lets the slot take its next job.
void JobManager::clear(std::uint32_t bits) {
  irq_.clear(bits);
  for (unsigned n = 0; n < regs::kMaxJobSlots; ++n) {
    if ((bits & (regs::job_done_bit(n) | regs::job_error_bit(n))) == 0) continue;
    const Slot& s = slots_[n];
    js_state_ = (js_state_ & ~(regs::job_done_bit(n) | regs::job_error_bit(n))) |
                (s.active ? regs::job_done_bit(n) : 0U) | (s.next_queued ? regs::job_error_bit(n) : 0U);
  }
  for (unsigned n = 0; n < regs::kMaxJobSlots; ++n) {
    if ((bits & regs::job_error_bit(n)) != 0 && slots_[n].failed_pending) {
      slots_[n].failed_pending = false;
      try_promote(n);
    }
  }
}

// ---- Commands ---------------------------------------------------------------------------------------

void JobManager::command_next(unsigned n, std::uint32_t value) {
  Slot& s = slots_[n];
  const std::uint32_t offset = regs::js_reg(n, regs::kJsCommandNext);
  switch (static_cast<regs::JsCommand>(value & regs::kJsCommandMask)) {
    case regs::JsCommand::Nop: s.next_queued = false; return;  // cancels the queued job
    case regs::JsCommand::Start:
      if (s.next_queued && wiring_.report) {
        wiring_.report(
            MisuseKind::StartWhileNextBusy, offset,
            fmt::format("JS{} COMMAND_NEXT = START while a job still waits in _NEXT (head {:#x}): the "
                        "waiting job's registers were overwritten",
                        n, s.head_next));
      }
      s.next_queued = true;
      try_promote(n);
      return;
    default:
      if (wiring_.report)
        wiring_.report(
            MisuseKind::UnknownCommand, offset,
            fmt::format("JS{} COMMAND_NEXT {:#x}: only NOP and START go to _NEXT; ignored", n, value));
      return;
  }
}

void JobManager::command(unsigned n, std::uint32_t value) {
  Slot& s = slots_[n];
  const auto cmd = static_cast<regs::JsCommand>(value & regs::kJsCommandMask);
  const bool flag = (s.config & regs::kJsConfigJobChainFlag) != 0;
  switch (cmd) {
    case regs::JsCommand::Nop: return;
    case regs::JsCommand::SoftStop:
    case regs::JsCommand::HardStop: stop(n, cmd == regs::JsCommand::HardStop); return;
    case regs::JsCommand::SoftStop0:
    case regs::JsCommand::HardStop0:
      if (!flag) stop(n, cmd == regs::JsCommand::HardStop0);
      return;
    case regs::JsCommand::SoftStop1:
    case regs::JsCommand::HardStop1:
      if (flag) stop(n, cmd == regs::JsCommand::HardStop1);
      return;
    case regs::JsCommand::Start:
      if (wiring_.report)
        wiring_.report(MisuseKind::UnknownCommand, regs::js_reg(n, regs::kJsCommand),
                       fmt::format("JS{} COMMAND = START: jobs start through COMMAND_NEXT; ignored", n));
      return;
  }
}

// SOFT_STOP ends the chain as STOPPED, resumable from JS_TAIL (the job it stopped in, whose work
// goes on where it stopped); HARD_STOP as TERMINATED. Both raise FAILED.
void JobManager::stop(unsigned n, bool hard) {
  Slot& s = slots_[n];
  if (!s.active) return;
  fail(n, hard ? kExceptionTerminated : kExceptionStopped);
}

// ---- The chain ----------------------------------------------------------------------------------------

// The slot takes its queued job when it is idle and no FAILED bit of it is pending.
void JobManager::try_promote(unsigned n) {
  Slot& s = slots_[n];
  if (s.active || s.failed_pending || !s.next_queued) return;
  s.next_queued = false;
  s.head = s.head_next;
  s.affinity = s.affinity_next;
  s.config = s.config_next;
  s.xaffinity = s.xaffinity_next;
  s.flush_id = s.flush_id_next;
  start_chain(n);
}

void JobManager::flush(std::uint32_t mode) const {
  if (mode != 0 && wiring_.count_flush) wiring_.count_flush();
}

void JobManager::start_chain(unsigned n) {
  Slot& s = slots_[n];
  s.active = true;
  s.status = kExceptionActive;
  s.job = s.head;
  s.tail = 0;
  ++s.op;
  flush((s.config >> regs::kJsConfigStartFlushShift) & 3U);
  fetch(n);
}

// Read the job's header and the start of its payload through the slot's address space.
void JobManager::fetch(unsigned n) {
  Slot& s = slots_[n];
  if (s.job == 0 || s.job % JobHeader::kAlignment != 0) {
    fail(n, kExceptionJobConfigFault);  // not a job address
    return;
  }
  const std::uint64_t op = s.op;
  s.phase = Slot::Phase::kFetch;
  s.head = s.job;  // JS_HEAD follows the chain
  wiring_.access(as_of(s), s.job, Access::Read, kDescriptorBytes, [this, n, op](const AccessResult& r) {
    if (slots_[n].op != op) return;  // the chain stopped meanwhile
    if (r.status != AccessStatus::Done) {
      fail(n, kExceptionJobReadFault);
      return;
    }
    // The data arrives a memory read after the translation.
    const PhysAddr pa = r.pa;
    clock_.schedule_in(spec_.mem_read_latency, [this, n, op, pa] { execute(n, op, pa); });
  });
}

void JobManager::execute(unsigned n, std::uint64_t op, PhysAddr pa) {
  Slot& s = slots_[n];
  if (s.op != op) return;
  std::array<std::uint8_t, JobHeader::kBytes> hb{};
  std::array<std::uint8_t, WriteValuePayload::kBytes> pb{};
  if (!mem_.read(pa, hb) || !mem_.read(pa + JobHeader::kPayloadOffset, pb)) {
    fail(n, kExceptionJobReadFault);  // the address space maps it outside memory
    return;
  }
  s.header = JobHeader::decode(hb);
  s.phase = Slot::Phase::kRun;
  const JobType type = s.header.type;
  // A slot takes only the job types JSn_FEATURES lists (a custom GPU without them: any).
  const std::uint32_t accepted = n < 3 ? spec_.js_features[n] : 0;
  const auto type_bit = static_cast<unsigned>(type);
  if (type == JobType::NotStarted || type_bit > static_cast<unsigned>(JobType::MallocVertex) ||
      (accepted != 0 && type_bit < 32 && ((accepted >> type_bit) & 1U) == 0)) {
    fail(n, kExceptionJobConfigFault);
    return;
  }
  switch (type) {
    case JobType::Null: job_done(n); return;
    case JobType::WriteValue: write_value(n, WriteValuePayload::decode(pb)); return;
    case JobType::CacheFlush:
      flush(1);
      clock_.schedule_in(spec_.ns_to_cycles(spec_.cache_clean_ns), [this, n, op] {
        if (slots_[n].op == op) job_done(n);
      });
      return;
    default: break;
  }
  if (!is_shader_job(type)) {
    fail(n, kExceptionJobConfigFault);
    return;
  }
  std::uint64_t workload = 0;
  for (unsigned i = 0; i < WorkloadPayload::kBytes; ++i)
    workload |= static_cast<std::uint64_t>(pb[i]) << (8 * i);
  if (workload == 0 || runner_ == nullptr) {
    job_done(n);  // no shader work the model knows of
    return;
  }
  const std::uint64_t cores = wiring_.cores_for ? wiring_.cores_for(s.affinity) : 0;
  if (cores == 0) {
    fail(n, s.affinity == 0 ? kExceptionJobAffinityFault : kExceptionJobPowerFault);
    return;
  }
  s.work_running = true;
  const WorkloadRun run{n, as_of(s), cores, s.job, workload};
  if (!runner_->start(run) && slots_[n].op == op && slots_[n].work_running) {
    slots_[n].work_running = false;
    job_done(n);  // the runner does not know the workload: no shader work
  }
}

void JobManager::write_value(unsigned n, const WriteValuePayload& p) {
  Slot& s = slots_[n];
  const unsigned width = WriteValuePayload::width(p.type);
  const bool midgard = spec_.arch_major() < 6;
  if (width == 0 || (midgard && static_cast<std::uint32_t>(p.type) > 3)) {
    fail(n, kExceptionJobConfigFault);  // a value type this GPU does not have
    return;
  }
  std::uint64_t value = p.immediate;
  if (p.type == WriteValueType::CycleCounter) value = wiring_.cycle_count ? wiring_.cycle_count() : 0;
  if (p.type == WriteValueType::SystemTimestamp) value = wiring_.timestamp ? wiring_.timestamp() : 0;
  if (p.type == WriteValueType::Zero) value = 0;
  const std::uint64_t op = s.op;
  // A GPU-side write through the MMU: it can fault, and a heap grows under it as under a shader.
  wiring_.access(as_of(s), p.address, Access::Write, width,
                 [this, n, op, value, width](const AccessResult& r) {
                   if (slots_[n].op != op) return;
                   if (r.status != AccessStatus::Done) {
                     fail(n, kExceptionJobWriteFault);
                     return;
                   }
                   std::array<std::uint8_t, 8> bytes{};
                   for (unsigned i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(value >> (8 * i));
                   if (!mem_.write(r.pa, std::span<const std::uint8_t>(bytes.data(), width))) {
                     fail(n, kExceptionJobWriteFault);
                     return;
                   }
                   job_done(n);
                 });
}

void JobManager::workload_done(unsigned n, std::uint32_t exception) {
  if (n >= regs::kMaxJobSlots || !slots_[n].work_running) return;
  slots_[n].work_running = false;
  if (exception == 0) {
    job_done(n);
  } else {
    fail(n, exception);
  }
}

// A job finished: its header gets DONE written back, then the chain goes on at its next job.
void JobManager::job_done(unsigned n) {
  Slot& s = slots_[n];
  const std::uint64_t op = s.op;
  const auto next = [this, n, op] {
    Slot& t = slots_[n];
    if (t.op != op) return;
    if (t.header.next == 0) {
      chain_done(n);
      return;
    }
    t.job = t.header.next;
    fetch(n);
  };
  if ((s.config & regs::kJsConfigDisableDescriptorWriteBack) != 0) {
    next();
    return;
  }
  s.phase = Slot::Phase::kWrite;
  wiring_.access(as_of(s), s.job, Access::Write, 4, [this, n, op, next](const AccessResult& r) {
    if (slots_[n].op != op) return;
    if (r.status != AccessStatus::Done) {
      fail(n, kExceptionJobWriteFault);
      return;
    }
    if (!mem_.write32(r.pa, kExceptionDone)) {
      fail(n, kExceptionJobWriteFault);
      return;
    }
    next();
  });
}

void JobManager::chain_done(unsigned n) {
  Slot& s = slots_[n];
  ++s.op;
  s.active = false;
  s.status = kExceptionDone;
  ++chains_done_;
  flush((s.config >> regs::kJsConfigEndFlushShift) & 3U);
  irq_.raise(regs::job_done_bit(n));
  // After a job that succeeded the slot goes on with its queued one at once, without waiting for
  // the driver to clear DONE (panfrost relies on it; one DONE can then stand for two jobs).
  try_promote(n);
}

// The chain ends with `exception`: JS_STATUS takes it, JS_TAIL the job it ended in, FAILED rises,
// and the slot takes no job until that bit is cleared. The job's work stops at once.
void JobManager::fail(unsigned n, std::uint32_t exception) {
  Slot& s = slots_[n];
  if (!s.active) return;
  ++s.op;
  if (s.work_running) {
    s.work_running = false;
    // A soft-stopped job goes on where it stopped when it is submitted again (from JS_TAIL).
    if (runner_ != nullptr) runner_->stop(n, exception == kExceptionStopped);
  }
  s.active = false;
  s.status = exception;
  s.tail = s.job;
  s.failed_pending = true;
  ++chains_failed_;
  irq_.raise(regs::job_error_bit(n));
  // The header gets the code written back, where it can be (a descriptor that could not be read
  // cannot be written either).
  const bool writable = exception != kExceptionJobReadFault && exception != kExceptionJobConfigFault &&
                        (s.config & regs::kJsConfigDisableDescriptorWriteBack) == 0;
  if (writable) {
    const GpuVa job = s.job;
    wiring_.access(as_of(s), job, Access::Write, 4, [this, exception](const AccessResult& r) {
      if (r.status == AccessStatus::Done) (void)mem_.write32(r.pa, exception);
    });
  }
}

void JobManager::as_disabled(unsigned as) {
  for (unsigned n = 0; n < regs::kMaxJobSlots; ++n) {
    const Slot& s = slots_[n];
    if (!s.active || as_of(s) != as) continue;
    switch (s.phase) {
      case Slot::Phase::kFetch: fail(n, kExceptionJobReadFault); break;
      case Slot::Phase::kWrite: fail(n, kExceptionJobWriteFault); break;
      // A WRITE_VALUE's write counts as the job's own bus transaction.
      case Slot::Phase::kRun:
        fail(n, s.header.type == JobType::WriteValue ? kExceptionJobWriteFault : kExceptionJobBusFault);
        break;
    }
  }
}

void JobManager::reset() {
  for (unsigned n = 0; n < regs::kMaxJobSlots; ++n) {
    Slot& s = slots_[n];
    if (s.work_running && runner_ != nullptr) runner_->stop(n, false);
    const std::uint64_t op = s.op + 1;
    s = Slot{};
    s.op = op;
  }
  js_state_ = 0;
  throttle_ = 0;
}

JobManager::SlotState JobManager::slot_state(unsigned n) const {
  SlotState st;
  if (n >= regs::kMaxJobSlots) return st;
  const Slot& s = slots_[n];
  st.present = slot_present(n);
  st.active = s.active;
  st.next_queued = s.next_queued;
  st.failed_pending = s.failed_pending;
  st.as = as_of(s);
  st.job = s.job;
  st.status = s.status;
  return st;
}

}  // namespace mali_sim
