// Address-space management as panfrost_mmu.c does it: wait_ready polling, lock regions, the
// flush after map/unmap, AS enable/disable, as_get/as_put with LRU stealing.
#include <fmt/format.h>

#include <bit>

#include "common/log.hpp"
#include "mali_sim/gem/driver.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim {

namespace {
constexpr std::uint32_t cmd(AsCommand c) { return static_cast<std::uint32_t>(c); }
// panfrost's AS_LOCK_REGION_MIN_SIZE: 32 KiB on every GPU.
constexpr unsigned kLockMinLog2 = 15;
}  // namespace

// Poll AS_STATUS.ACTIVE every poll interval; on timeout report and reset the GPU.
bool Driver::wait_ready(unsigned as) {
  const Cycle start = now();
  const auto timeout = static_cast<Cycle>(static_cast<double>(cfg_.costs.poll_timeout_ns) *
                                          static_cast<double>(cfg_.gpu_clock_hz) / 1e9);
  for (;;) {
    if ((rd(regs::as_reg(as, regs::kAsStatus)) & regs::kAsStatusActive) == 0) return true;
    if (now() - start >= timeout) {
      gpu_reset(fmt::format("AS{}: AS_ACTIVE bit stuck for {} us", as, cfg_.costs.poll_timeout_ns / 1000));
      return false;
    }
    charge_ns(cfg_.costs.poll_interval_ns);
  }
}

void Driver::write_cmd(unsigned as, std::uint32_t command) {
  if (wait_ready(as)) wr(regs::as_reg(as, regs::kAsCommand), command);
}

void Driver::lock_region(unsigned as, GpuVa iova, std::uint64_t size) {
  auto v = lockaddr_encode(iova, size, kLockMinLog2, LockAddrBaseStyle::Panfrost);
  if (!v)
    v = lockaddr_encode_range(0, ~0ULL, kLockMinLog2, LockAddrBaseStyle::Panfrost);  // size 0: everything
  wr64(regs::as_reg(as, regs::kAsLockaddrLo), *v);
  write_cmd(as, cmd(AsCommand::Lock));
}

// mmu_hw_do_operation_locked(): lock the region (unless unlocking), run the command, wait.
void Driver::hw_do_operation(unsigned as, GpuVa iova, std::uint64_t size, std::uint32_t op) {
  if (op != cmd(AsCommand::Unlock)) lock_region(as, iova, size);
  write_cmd(as, op);
  (void)wait_ready(as);
}

void Driver::as_enable(unsigned as, Context& ctx) {
  ++stats_.as_enables;
  hw_do_operation(as, 0, ~0ULL, cmd(AsCommand::FlushMem));
  wr64(regs::as_reg(as, regs::kAsTranstabLo), ctx.pt->transtab());
  wr64(regs::as_reg(as, regs::kAsMemattrLo), ctx.pt->memattr());
  wr64(regs::as_reg(as, regs::kAsTranscfgLo), ctx.pt->transcfg());
  write_cmd(as, cmd(AsCommand::Update));  // not waited for: the next command waits
}

void Driver::as_disable(unsigned as) {
  ++stats_.as_disables;
  hw_do_operation(as, 0, ~0ULL, cmd(AsCommand::FlushMem));
  wr64(regs::as_reg(as, regs::kAsTranstabLo), 0);
  wr64(regs::as_reg(as, regs::kAsMemattrLo), 0);
  wr64(regs::as_reg(as, regs::kAsTranscfgLo), static_cast<std::uint64_t>(TranscfgAdrmode::Unmapped));
  write_cmd(as, cmd(AsCommand::Update));
}

// panfrost_mmu_flush_range(): nothing to do while the context has no AS (it is flushed with
// FLUSH_MEM when next enabled).
void Driver::flush_range(Context& ctx, GpuVa iova, std::uint64_t size) {
  if (ctx.as < 0) return;
  ++stats_.flushes;
  hw_do_operation(static_cast<unsigned>(ctx.as), iova, size, cmd(AsCommand::FlushPt));
}

// An AS killed by a terminal fault stays masked until its next use: clear its interrupt bits and
// unmask it. Returns whether it was faulty.
bool Driver::clear_faulty(unsigned as) {
  const std::uint32_t bits = regs::mmu_as_irq_bits(as);
  if ((as_faulty_mask_ & bits) == 0) return false;
  wr(regs::kMmuIntClear, bits);
  as_faulty_mask_ &= ~bits;
  wr(regs::kMmuIntMask, ~as_faulty_mask_);
  return true;
}

Result<unsigned> Driver::job_begin(CtxId id, const std::vector<BoId>& bos) {
  return exclusive([&]() -> Result<unsigned> {
    auto c = context(id);
    if (!c) return c.error();
    Context& ctx = **c;
    for (BoId b : bos) {
      auto found = bo(ctx, b);
      if (!found) return found.error();
    }
    const std::uint64_t resets = stats_.gpu_resets;
    if (ctx.as >= 0) {
      // Already bound: reuse; bring a faulted AS back clean.
      const auto as = static_cast<unsigned>(ctx.as);
      ++ctx.as_count;
      lru_.erase(lru_.iterator_to(ctx));
      lru_.push_front(ctx);
      if (clear_faulty(as)) {
        log()->debug("context {} takes its AS{} back after a fault: re-enabled", id, as);
        as_enable(as, ctx);
      }
    } else {
      unsigned as = static_cast<unsigned>(std::countr_one(as_alloc_mask_));
      if (as >= regs::kMaxAddressSpaces || (as_present_ & (1U << as)) == 0) {
        // No free AS: steal the least recently used one whose context runs nothing.
        Context* victim = nullptr;
        for (auto it = lru_.rbegin(); it != lru_.rend(); ++it) {
          if (it->as_count == 0) {
            victim = &*it;
            break;
          }
        }
        if (victim == nullptr)
          return make_error(Errc::kBusy,
                            fmt::format("job on context {}: every address space runs a job", id));
        as = static_cast<unsigned>(victim->as);
        log()->debug("context {} steals AS{} from idle context {} (least recently used)", id, as, victim->id);
        victim->as = -1;
        lru_.erase(lru_.iterator_to(*victim));
        ++stats_.as_steals;
      }
      as_alloc_mask_ |= 1U << as;
      ctx.as = static_cast<int>(as);
      ctx.as_count = 1;
      lru_.push_front(ctx);
      (void)clear_faulty(as);  // a stolen AS may still carry the previous owner's fault state
      log()->debug("context {} bound to AS{}", id, as);
      as_enable(as, ctx);
    }
    // Enabling the AS hung the MMU and the GPU was reset meanwhile: the reset forgot every binding
    // (this one too), so the job has no address space.
    if (stats_.gpu_resets != resets)
      return make_error(Errc::kTimedOut,
                        fmt::format("job on context {}: the GPU was reset while its address space "
                                    "was being enabled ({})",
                                    id, last_reset_why_));
    for (BoId b : bos) ++(*bo(ctx, b))->gpu_usecount;
    return static_cast<unsigned>(ctx.as);
  });
}

Status Driver::job_end(CtxId id, const std::vector<BoId>& bos) {
  return exclusive([&]() -> Status {
    auto c = context(id);
    if (!c) return c.error();
    Context& ctx = **c;
    if (ctx.as_count == 0)
      return make_error(Errc::kInvalidArgument, fmt::format("job_end on context {}: no job is running", id));
    --ctx.as_count;
    for (BoId b : bos) {
      if (auto found = bo(ctx, b); found && (*found)->gpu_usecount > 0) --(*found)->gpu_usecount;
    }
    return {};
  });
}

}  // namespace mali_sim
