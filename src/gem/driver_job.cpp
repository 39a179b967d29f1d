// Job submission and the job interrupt as panfrost_job.c does them (docs/hardware-facts.md §12.6,
// §12.7): a software queue per slot feeding the hardware's two places (current and _NEXT), the
// _NEXT registers and START, and a threaded handler that reads JOB_INT_RAWSTAT, cancels the queued
// job of a failed slot, clears, reads JS_STATE, and completes the jobs that ended.
#include <fmt/format.h>

#include <algorithm>
#include <bit>

#include "common/log.hpp"
#include "mali_sim/gem/driver.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim {

namespace {

// panfrost_job_enable_interrupts(): done and error of slots 0 to 2.
constexpr unsigned kSlots = 3;
constexpr std::uint32_t kJobIrqAll = 0x00070007;
// Jobs a slot holds on the hardware: current and _NEXT (panfrost's credit limit with
// JOBCHAIN_DISAMBIGUATION, which every preset's GPU has).
constexpr std::size_t kHwJobsPerSlot = 2;
// JS_CONFIG's thread priority panfrost writes: THREAD_PRI(8).
constexpr std::uint32_t kThreadPri8 = 8U << regs::kJsConfigThreadPriShift;
constexpr std::uint32_t kFlushCleanInvalidate = 3;

std::uint32_t slot_bits(unsigned slot) { return regs::job_done_bit(slot) | regs::job_error_bit(slot); }

}  // namespace

Status Driver::write_bo(CtxId id, BoId bid, std::uint64_t offset, std::span<const std::uint8_t> bytes) {
  return exclusive([&]() -> Status {
    auto found = find_bo(id, bid);
    if (!found) return found.error();
    const Bo& b = **found;
    if (b.is_heap())
      return make_error(Errc::kInvalidArgument,
                        fmt::format("write to heap BO {}: heaps are not mappable", bid));
    if (b.purged) return make_error(Errc::kInvalidArgument, fmt::format("write to purged BO {}", bid));
    if (offset > b.size || bytes.size() > b.size - offset)
      return make_error(Errc::kOutOfRange,
                        fmt::format("write of {} bytes at {:#x} past the end of BO {} ({} bytes)",
                                    bytes.size(), offset, bid, b.size));
    std::size_t done = 0;
    while (done < bytes.size()) {
      const std::uint64_t at = offset + done;
      const auto pa = shmem_.page(b.obj, at / kPageSize);
      if (!pa) return make_error(Errc::kInvalidArgument, fmt::format("BO {} has no page at {:#x}", bid, at));
      const std::size_t n = std::min<std::uint64_t>(bytes.size() - done, kPageSize - at % kPageSize);
      if (Status s = frames_.mem().write(*pa + at % kPageSize, bytes.subspan(done, n)); !s) return s;
      done += n;
    }
    return {};
  });
}

Result<Driver::JobId> Driver::submit(CtxId id, GpuVa jc, const std::vector<BoId>& bos, bool fragment) {
  return exclusive([&]() -> Result<JobId> {
    charge_ns(cfg_.costs.ioctl_ns);
    auto c = context(id);
    if (!c) return c.error();
    for (BoId b : bos) {
      auto found = bo(**c, b);
      if (!found) return found.error();
    }
    Submitted job;
    job.id = next_job_++;
    job.ctx = id;
    job.jc = jc;
    job.bos = bos;
    job.slot = fragment ? 0 : 1;
    // Flush reduction (Bifrost and later): the flush id the job will need, read at submission.
    if (GpuId::decode(gpu_id_).arch_major() >= 6) job.flush_id = rd(regs::kLatestFlush);
    ++stats_.jobs_submitted;
    const JobId jid = job.id;
    slot_queue_[job.slot].push_back(jid);
    submitted_.emplace(jid, std::move(job));
    job_run(submitted_.at(jid).slot);
    return jid;
  });
}

// panfrost_job_run(): the slot's oldest jobs not on the hardware go there while it has room.
void Driver::job_run(unsigned slot) {
  for (;;) {
    std::size_t on_hw = 0;
    Submitted* next = nullptr;
    for (JobId id : slot_queue_[slot]) {
      Submitted& j = submitted_.at(id);
      if (j.on_hw) {
        ++on_hw;
      } else if (next == nullptr) {
        next = &j;
      }
    }
    if (next == nullptr || on_hw >= kHwJobsPerSlot || !job_hw_submit(*next)) return;
  }
}

// panfrost_job_hw_submit().
bool Driver::job_hw_submit(Submitted& job) {
  const unsigned slot = job.slot;
  if (rd(regs::js_reg(slot, regs::kJsCommandNext)) != 0) {
    log()->warn("JS{}: COMMAND_NEXT is not free; the job waits", slot);  // panfrost WARNs and bails
    return false;
  }
  submitting_ = true;
  auto as = job_begin(job.ctx, job.bos);  // panfrost_mmu_as_get()
  submitting_ = false;
  if (!as && as.error().code == Errc::kTimedOut) {
    // Binding the address space hung the MMU (AS_ACTIVE stuck) and the GPU was reset meanwhile:
    // the binding is gone with it. The job fails with the reason rather than reset the GPU again
    // and again. Out of the queue now, so that nothing submits it again; completed from a work
    // item of its own, as a fence is signalled after the ioctl that queued the job has returned.
    const JobId jid = job.id;
    std::erase(slot_queue_[slot], jid);
    post([this, jid, why = as.error().message] { job_complete(jid, false, 0, why); });
    // The jobs the reset took off the GPU go to it again, from a work item of their own: from
    // here they would nest one reset inside the other.
    post([this] {
      for (unsigned s = 0; s < slot_queue_.size(); ++s) job_run(s);
    });
    return false;
  }
  if (!as) return false;  // every AS is busy: it goes when a job ends
  const GpuId id = GpuId::decode(gpu_id_);
  job.chain_flag = (++job_seqno_ & 1U) != 0;
  std::uint32_t cfg = *as | kThreadPri8 | kFlushCleanInvalidate << regs::kJsConfigStartFlushShift |
                      kFlushCleanInvalidate << regs::kJsConfigEndFlushShift;
  if (job.chain_flag) cfg |= regs::kJsConfigJobChainFlag;  // JOBCHAIN_DISAMBIGUATION
  if (id.arch_major() >= 6) cfg |= regs::kJsConfigFlushReduction;
  wr64(regs::js_reg(slot, regs::kJsHeadNextLo), job.jc);
  wr64(regs::js_reg(slot, regs::kJsAffinityNextLo), features_.shader_present);
  wr(regs::js_reg(slot, regs::kJsConfigNext), cfg);
  if (id.arch_major() >= 6) wr(regs::js_reg(slot, regs::kJsFlushIdNext), job.flush_id);
  wr(regs::js_reg(slot, regs::kJsCommandNext), static_cast<std::uint32_t>(regs::JsCommand::Start));
  job.on_hw = true;
  log()->debug("JS{}: job {} of context {} started, chain {:#x}, AS{}", slot, job.id, job.ctx, job.jc, *as);
  ++job.hw_seq;
  arm_job_timeout(job);
  return true;
}

// The scheduler's timeout (drm_sched's, JOB_TIMEOUT_MS in panfrost), from when the job went to the
// hardware. The timer does not keep the clock busy (an observer event): a job that ends in time
// leaves it to fire on nothing, without stretching the run; one that hangs with nothing else
// scheduled is found when the clock is next run past it.
void Driver::arm_job_timeout(const Submitted& job) {
  if (cfg_.costs.job_timeout_ns == 0) return;
  const auto cycles = static_cast<Cycle>(static_cast<double>(cfg_.costs.job_timeout_ns) *
                                         static_cast<double>(cfg_.gpu_clock_hz) / 1e9);
  const Cycle at = now() > EventQueue::kForever - cycles ? EventQueue::kForever : now() + cycles;
  const JobId id = job.id;
  const std::uint64_t seq = job.hw_seq;
  queue_.schedule_observer(at, [this, id, seq] { cpu_.post([this, id, seq] { job_timedout(id, seq); }); });
}

// panfrost_job_timedout(): unless the job's interrupt is already pending (a spurious timeout: the
// thread will complete it), log the slot's registers and reset the GPU; the timed-out job fails,
// the others on the hardware go to it again after the reset.
void Driver::job_timedout(JobId id, std::uint64_t hw_seq) {
  const auto it = submitted_.find(id);
  if (it == submitted_.end() || !it->second.on_hw || it->second.hw_seq != hw_seq) return;
  Submitted& job = it->second;
  const unsigned slot = job.slot;
  if ((rd(regs::kJobIntRawstat) & slot_bits(slot)) != 0) return;
  log()->error("gpu sched timeout, js={}, config={:#x}, status={:#x}, head={:#x}, tail={:#x}", slot,
               rd(regs::js_reg(slot, regs::kJsConfig)), rd(regs::js_reg(slot, regs::kJsStatus)),
               rd64(regs::js_reg(slot, regs::kJsHeadLo)), rd64(regs::js_reg(slot, regs::kJsTailLo)));
  job.timed_out = true;
  gpu_reset(
      fmt::format("JS{}: job {} still running after {} us", slot, id, cfg_.costs.job_timeout_ns / 1000));
}

// panfrost_job_irq_handler(): in interrupt context.
IrqReturn Driver::job_hard_irq() {
  if (rd(regs::kJobIntStat) == 0) return IrqReturn::kNone;
  wr(regs::kJobIntMask, 0);
  return IrqReturn::kWakeThread;
}

// panfrost_job_irq_handler_thread() / panfrost_job_handle_irqs().
void Driver::job_threaded_irq() {
  ++stats_.job_irqs;
  std::array<bool, kSlots> done{}, failed{};
  std::uint32_t js_state = 0;
  std::uint32_t seen = 0;
  std::uint32_t status = rd(regs::kJobIntRawstat);
  while (status != 0) {
    for (unsigned slot = 0; slot < kSlots; ++slot) {
      if ((status & regs::job_done_bit(slot)) != 0) done[slot] = true;
      if ((status & regs::job_error_bit(slot)) != 0) {
        // A failed slot: its queued job is cancelled and goes again later.
        wr(regs::js_reg(slot, regs::kJsCommandNext), static_cast<std::uint32_t>(regs::JsCommand::Nop));
        failed[slot] = true;
      }
    }
    wr(regs::kJobIntClear, status);
    seen |= status;
    js_state = rd(regs::kJobIntJsState);
    status = rd(regs::kJobIntRawstat);
  }
  for (unsigned slot = 0; slot < kSlots; ++slot) {
    if ((seen & slot_bits(slot)) == 0) continue;
    std::vector<JobId> hw;
    for (JobId id : slot_queue_[slot]) {
      if (submitted_.at(id).on_hw) hw.push_back(id);
    }
    const bool active = (js_state & regs::job_done_bit(slot)) != 0;
    if (failed[slot] && !hw.empty()) {
      const std::uint32_t js_status = rd(regs::js_reg(slot, regs::kJsStatus));
      const std::uint64_t head = rd64(regs::js_reg(slot, regs::kJsHeadLo));
      const std::uint64_t tail = rd64(regs::js_reg(slot, regs::kJsTailLo));
      // With a DONE too, the first job ended well and the second, taken at once, failed; else the
      // first failed and the second, cancelled from _NEXT above, goes again later.
      JobId failing = hw[0];
      if (done[slot] && hw.size() == 2) {
        job_complete(hw[0], true, kExceptionDone, {});
        failing = hw[1];
      } else if (hw.size() == 2) {
        Submitted& cancelled = submitted_.at(hw[1]);
        (void)job_end(cancelled.ctx, cancelled.bos);
        cancelled.on_hw = false;
      }
      if (js_status == kExceptionStopped) {
        // Soft-stopped: it goes on from JS_TAIL when it is submitted again.
        Submitted& j = submitted_.at(failing);
        (void)job_end(j.ctx, j.bos);
        j.jc = tail;
        j.on_hw = false;
      } else {
        log()->warn("js fault, js={}, status={}, head={:#x}, tail={:#x}", slot, exception_name(js_status),
                    head, tail);
        job_complete(failing, false, js_status,
                     fmt::format("JS{} job fault: {} ({:#x})", slot, exception_name(js_status), js_status));
      }
      continue;
    }
    if (done[slot]) {
      // The hardware takes _NEXT without waiting: one DONE may stand for both jobs. Those JS_STATE
      // shows neither running nor queued have ended.
      if (active && hw.size() == 2) {
        job_complete(hw[0], true, kExceptionDone, {});
      } else if (!active) {
        for (JobId id : hw) job_complete(id, true, kExceptionDone, {});
      }
    }
  }
  wr(regs::kJobIntMask, kJobIrqAll);
  for (unsigned slot = 0; slot < kSlots; ++slot) job_run(slot);
}

// The job is over: as_put, and whoever waits on its fence is told.
void Driver::job_complete(JobId id, bool ok, std::uint32_t js_status, std::string error) {
  const auto it = submitted_.find(id);
  if (it == submitted_.end()) return;
  Submitted job = std::move(it->second);
  submitted_.erase(it);
  std::erase(slot_queue_[job.slot], id);
  if (job.on_hw) (void)job_end(job.ctx, job.bos);
  ++(ok ? stats_.jobs_done : stats_.jobs_failed);
  log()->debug("JS{}: job {} {}", job.slot, id, ok ? "done" : "failed: " + error);
  if (on_job_done_) on_job_done_(id, JobResult{ok, js_status, now(), std::move(error)});
}

}  // namespace mali_sim
