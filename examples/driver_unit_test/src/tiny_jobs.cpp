// TinyMmu's job path: submission through a job slot's _NEXT registers, the job interrupt, and the
// reset that recovers a hung GPU. One job per slot at a time keeps it short; panfrost keeps two
// (the current one and one waiting in _NEXT).
#include "tiny_gpu_mmu/tiny_mmu.hpp"

namespace tiny {

namespace regs = mali_sim::regs;

namespace {
// JS_CONFIG: flush (clean + invalidate) the caches before and after the job, thread priority 8:
// what panfrost writes besides the address space number.
constexpr std::uint32_t kFlushCleanInvalidate = 3;
constexpr std::uint32_t kJobConfig = kFlushCleanInvalidate << regs::kJsConfigStartFlushShift |
                                     kFlushCleanInvalidate << regs::kJsConfigEndFlushShift |
                                     8U << regs::kJsConfigThreadPriShift;
}  // namespace

std::optional<TinyMmu::JobId> TinyMmu::job_submit(unsigned as, unsigned slot, GpuVa head) {
  if (slot >= slot_job_.size() || (rd(regs::kGpuJsPresent) & (1U << slot)) == 0 || slot_job_[slot] ||
      !ctxs_.contains(as) || ctx(as).killed)
    return std::nullopt;
  // The slot must have taken whatever was queued before: JS_COMMAND_NEXT reads 0 once it has.
  if (rd(regs::js_reg(slot, regs::kJsCommandNext)) != 0) return std::nullopt;
  const JobId id = jobs_.size();
  jobs_.push_back(Job{as, slot, head});
  slot_job_[slot] = id;
  // The job's registers first, START last: START is what makes the slot read them.
  wr64(regs::js_reg(slot, regs::kJsHeadNextLo), head);
  wr64(regs::js_reg(slot, regs::kJsAffinityNextLo), rd64(regs::kShaderPresentLo));
  wr(regs::js_reg(slot, regs::kJsConfigNext), as | kJobConfig);
  wr(regs::js_reg(slot, regs::kJsCommandNext), static_cast<std::uint32_t>(regs::JsCommand::Start));
  return id;
}

void TinyMmu::job_ended(unsigned slot, JobEnd end, std::uint32_t js_status) {
  if (!slot_job_[slot]) return;  // nothing of ours ran there
  Job& j = jobs_[*slot_job_[slot]];
  j.end = end;
  j.js_status = js_status;
  slot_job_[slot].reset();
}

// JOB_INT_STAT: bit n is slot n's job DONE, bit 16 + n its FAILED. A failed job's JS_STATUS says
// why (a job fault 0x40..0x4F, or an MMU fault code); read it before clearing the interrupt.
void TinyMmu::job_irq() {
  const std::uint32_t stat = rd(regs::kJobIntStat);
  for (unsigned slot = 0; slot < regs::kMaxJobSlots; ++slot) {
    if ((stat & regs::job_error_bit(slot)) != 0) {
      ++stats_.jobs_failed;
      job_ended(slot, JobEnd::Failed, rd(regs::js_reg(slot, regs::kJsStatus)));
    } else if ((stat & regs::job_done_bit(slot)) != 0) {
      ++stats_.jobs_done;
      job_ended(slot, JobEnd::Done, rd(regs::js_reg(slot, regs::kJsStatus)));
    }
  }
  wr(regs::kJobIntClear, stat);
}

bool TinyMmu::reset() {
  ++stats_.resets;
  // No job interrupt while the GPU goes down: the reset ends every job itself.
  wr(regs::kJobIntMask, 0);
  if (!soft_reset_and_power_on()) return false;
  for (unsigned slot = 0; slot < slot_job_.size(); ++slot) job_ended(slot, JobEnd::LostInReset, 0);
  // The reset switched every address space off and cleared every mask. The page tables are in
  // memory, untouched: enable the live contexts on them again. A killed context stays off.
  for (const auto& [as, c] : ctxs_) {
    if (c->killed) continue;
    as_enable(*c);
    set_irq_mask(as, true);
  }
  wr(regs::kJobIntClear, ~0U);
  wr(regs::kJobIntMask, ~0U);
  return true;
}

}  // namespace tiny
