// The MMU interrupt: a hard half that masks and wakes a thread, and the threaded half that walks
// the faulting address spaces, grows heaps on translation faults and kills the rest
// (panfrost_mmu_irq_handler / panfrost_mmu_irq_handler_thread, with the review's fixes: the
// interrupt is cleared in one place, before handling; only translation faults grow; faulty
// address spaces are switched to UNMAPPED and stay masked until their context's next job).
#include <fmt/format.h>

#include <algorithm>
#include <bit>

#include "common/log.hpp"
#include "mali_sim/gem/driver.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim {

// panfrost_mmu_irq_handler(): in interrupt context; the time its register accesses take delays
// the thread it wakes (ThreadedIrq).
IrqReturn Driver::hard_irq() {
  hard_irq_at_ = now();
  const std::uint32_t stat = rd(regs::kMmuIntStat);
  if (stat == 0) {
    ++stats_.spurious_irqs;  // IRQ_NONE: not ours (the line may be shared)
    return IrqReturn::kNone;
  }
  ++stats_.hard_irqs;
  wr(regs::kMmuIntMask, 0);
  return IrqReturn::kWakeThread;
}

void Driver::threaded_irq() {
  ++stats_.threaded_runs;
  mmu_thread_step(rd(regs::kMmuIntRawstat) & ~as_faulty_mask_, true, mmu_resets_);
}

// One pass of panfrost's loop: the lowest AS with a fault bit in `status`. Between two faults the
// thread gives way to work waiting for the CPU (another interrupt's thread, an ioctl): on an SoC
// those run on other cores meanwhile, and here a stream of faults (a heap grown a few pages at a
// time) would otherwise hold the job interrupt back for as long as it lasts (docs/fidelity.md).
void Driver::mmu_thread_step(std::uint32_t status, bool first, std::uint64_t resets) {
  if (mmu_resets_ != resets) return;  // a reset came meanwhile: it cleared and unmasked everything
  const Cycle start = now();
  // The first fault waits from its interrupt; a fault the handler finds while it runs (its bit
  // rose meanwhile, with the interrupt masked) waits from when the handler reads it.
  while (status != 0) {
    const auto as = static_cast<unsigned>(std::countr_zero(status | (status >> 16)));
    const std::uint32_t mask = regs::mmu_as_irq_bits(as);
    const std::uint32_t fs = rd(regs::as_reg(as, regs::kAsFaultstatus));
    fault_taken_at_ = first ? hard_irq_at_ : now();
    first = false;
    const GpuVa addr = rd(regs::as_reg(as, regs::kAsFaultaddressLo)) |
                       (static_cast<GpuVa>(rd(regs::as_reg(as, regs::kAsFaultaddressHi))) << 32);
    // Clear before handling: the flush that ends a grow retries the stalled accesses, and a fault
    // they raise must set the bit again, not be swallowed by a stale one.
    wr(regs::kMmuIntClear, mask);
    ++stats_.faults_seen;

    const auto exception = static_cast<std::uint8_t>(fs & 0xFF);
    std::string reason;
    Status handled = make_error(Errc::kInvalidArgument, "");
    if ((status & mask) != regs::mmu_page_fault_bit(as)) {
      reason = "bus error on the page-table walk";
    } else if (!exception_is_translation_fault(exception)) {
      reason = fmt::format("{} is not a translation fault: nothing to grow", exception_name(exception));
    } else {
      handled = handle_page_fault(as, addr, reason);
    }
    if (!handled) {
      report_terminal(as, fs, addr, reason);
      as_faulty_mask_ |= mask;
      as_disable(as);  // UNMAPPED: the jobs on this AS fail, every other AS runs on
    }
    status &= ~mask;
    if (status == 0) status = rd(regs::kMmuIntRawstat) & ~as_faulty_mask_;
    if (status != 0 && cpu_.work_waiting()) {
      stats_.handler_cycles += now() - start;
      cpu_.post([this, status, resets] { mmu_thread_step(status, false, resets); });
      return;  // the interrupt stays masked: the rest of the loop comes after the waiting work
    }
  }
  wr(regs::kMmuIntMask, ~as_faulty_mask_);
  stats_.handler_cycles += now() - start;
}

Status Driver::handle_page_fault(unsigned as, GpuVa addr, std::string& reason) {
  charge_ns(cfg_.costs.bo_lookup_ns);
  Context* ctx = nullptr;
  for (Context& c : lru_) {
    if (c.as == static_cast<int>(as)) {
      ctx = &c;
      break;
    }
  }
  if (ctx == nullptr) {
    reason = "no context is bound to the address space";
    return make_error(Errc::kNotFound, reason);
  }
  VaNode* node = ctx->va.find(addr);
  if (node == nullptr) {
    reason = fmt::format("no BO of context {} contains the address", ctx->id);
    return make_error(Errc::kNotFound, reason);
  }
  Bo& b = *static_cast<Bo*>(node->owner);
  if (!b.is_heap()) {
    reason =
        fmt::format("the matching BO {} (VA {:#x}, {} KiB) is not a heap", b.id, b.node.start, b.size / 1024);
    return make_error(Errc::kInvalidArgument, reason);
  }
  if (b.purged) {
    reason = fmt::format("heap BO {} was purged by the shrinker", b.id);
    return make_error(Errc::kInvalidArgument, reason);
  }
  return grow_heap(*ctx, b, (addr - b.node.start) >> kPageShift, reason);
}

Status Driver::grow_heap(Context& ctx, Bo& b, std::uint64_t fault_page, std::string& reason) {
  const GrowDecision d = policy_->decide(*b.heap, fault_page);
  if (d.count == 0) {
    ++stats_.duplicate_faults;  // another fault already grew this memory: nothing to map
    log()->debug("AS{}: page fault in BO {} page {}: already backed by an earlier fault, nothing to map",
                 ctx.as, b.id, fault_page);
    return {};
  }
  const std::uint64_t before = b.heap->backed_pages();
  (void)shmem_.set_unevictable(b.obj, true);  // heap pages are not swappable while mapped
  if (Status s = map_pages(ctx, b, d.first_page, d.count, reason); !s) {
    if (s.error().code == Errc::kOutOfMemory) ++stats_.enomem_faults;
    return s;
  }
  const std::uint64_t added = b.heap->backed_pages() - before;
  cpu_.sync();  // the grow counts from the cycle it is done: a time series sees it then, not earlier
  ++stats_.grows;
  stats_.grown_pages += added;
  ctx.heap_rss += added * kPageSize;
  stats_.heap_rss_bytes += added * kPageSize;
  stats_.heap_rss_peak_bytes = std::max(stats_.heap_rss_peak_bytes, stats_.heap_rss_bytes);
  stats_.fault_to_resume_cycles += now() - fault_taken_at_;
  log()->debug("mapped page fault @ AS{} {:#x}: BO {} grew by {} pages at offset {:#x} ({}), heap now {} KiB",
               ctx.as, b.node.start + (fault_page << kPageShift), b.id, added, d.first_page << kPageShift,
               cfg_.grow_policy, b.heap->backed_pages() * (kPageSize / 1024));
  return {};
}

void Driver::report_terminal(unsigned as, std::uint32_t faultstatus, GpuVa addr, const std::string& reason) {
  ++stats_.terminal_faults;
  int ctx_id = -1;
  for (const Context& c : lru_) {
    if (c.as == static_cast<int>(as)) ctx_id = static_cast<int>(c.id);
  }
  const FaultStatus fs = FaultStatus::decode(faultstatus);
  log()->warn(
      "Unhandled page fault in AS{} at VA {:#018x} (context {})\n  reason: {}\n  raw fault status: {:#x}\n"
      "  decoded fault status: {}\n  exception type {:#x}: {}\n  access type {:#x}: {}\n  source id {:#x}",
      as, addr, ctx_id, reason, faultstatus, fs.decoder_fault ? "DECODER FAULT" : "SLAVE FAULT",
      fs.exception_type, exception_name(fs.exception_type), static_cast<unsigned>(fs.access_type),
      access_type_name(fs.access_type, true), fs.source_id);
  TerminalFault t{now(), ctx_id, as, faultstatus, addr, reason};
  terminal_.push_back(t);
  if (on_terminal_) on_terminal_(t);
}

}  // namespace mali_sim
