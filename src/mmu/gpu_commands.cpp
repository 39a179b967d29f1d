// AS_COMMAND: UPDATE, LOCK, UNLOCK, FLUSH_PT, FLUSH_MEM, each taking modelled time during which
// AS_STATUS.ACTIVE reads 1. A command written while one runs waits for it (and is reported).
#include <fmt/format.h>

#include "mali_sim/gpu/gpu.hpp"

namespace mali_sim {

void Gpu::command(unsigned as, std::uint32_t value) {
  const std::uint32_t offset = regs::as_reg(as, regs::kAsCommand);
  if (!is_known_as_command(value)) {
    report(MisuseKind::UnknownCommand, static_cast<int>(as), offset,
           fmt::format("AS{} COMMAND {:#x} is not a command; ignored", as, value));
    return;
  }
  const auto cmd = static_cast<AsCommand>(value);
  ++counters_.commands[value];
  AddressSpace& a = as_[as];
  if (a.active()) {
    ++counters_.commands_while_active;
    report(MisuseKind::CommandWhileActive, static_cast<int>(as), offset,
           fmt::format(
               "AS{} COMMAND {} written while AS_STATUS.ACTIVE (running {}); it runs after the current one",
               as, to_string(cmd), to_string(a.current)));
    a.queued.push_back(cmd);
    return;
  }
  start_command(as, cmd);
}

LockRegion Gpu::command_region(unsigned as) const {
  const AddressSpace& a = as_[as];
  return a.lock ? *a.lock : lockaddr_decode(a.regs.lockaddr, spec_.lock_region_min_log2());
}

unsigned Gpu::invalidate_region(unsigned as, const LockRegion& region) {
  unsigned n = l2_.invalidate_region(as, region);
  for (Tlb& t : utlbs_) n += t.invalidate_region(as, region);
  counters_.tlb_invalidations += n;
  const unsigned w = walk_cache_.invalidate_region(as, region);
  counters_.walk_cache_invalidations += w;
  return n + w;
}

void Gpu::start_command(unsigned as, AsCommand cmd) {
  AddressSpace& a = as_[as];
  a.busy = true;
  a.current = cmd;
  a.busy_since = queue_.now();
  const std::uint32_t offset = regs::as_reg(as, regs::kAsCommand);
  if (observer_ != nullptr) observer_->command_started(as, cmd, command_region(as));
  switch (cmd) {
    case AsCommand::Nop: finish_command(as); return;
    case AsCommand::Update:
      // The AS is being reconfigured: its accesses wait until the new configuration is live.
      a.updating = true;
      update_fast_path(as);
      queue_.schedule_in(spec_.cmd_update, [this, as, g = reset_gen_] {
        if (g == reset_gen_) finish_command(as);
      });
      return;
    case AsCommand::Lock:
      // The region is taken from LOCKADDR now; accesses into it wait from this cycle on.
      a.lock = lockaddr_decode(a.regs.lockaddr, spec_.lock_region_min_log2());
      update_fast_path(as);
      queue_.schedule_in(spec_.cmd_lock, [this, as, g = reset_gen_] {
        if (g == reset_gen_) finish_command(as);
      });
      return;
    case AsCommand::FlushPt:
    case AsCommand::FlushMem:
      if (!a.lock) {
        report(MisuseKind::FlushWithoutLock, static_cast<int>(as), offset,
               fmt::format("AS{} {} without a preceding LOCK: it flushes the LOCKADDR region {}", as,
                           to_string(cmd), command_region(as).to_string()));
      }
      if (cmd == AsCommand::FlushMem && a.inflight > 0) {
        a.draining = true;  // runs when the last in-flight access of the AS is done
        return;
      }
      execute_region_command(as);
      return;
    case AsCommand::Unlock: execute_region_command(as); return;
  }
}

// UNLOCK, FLUSH_PT and FLUSH_MEM: drop cached translations in the region now; release the lock
// and retry stalled accesses when the command completes.
void Gpu::execute_region_command(unsigned as) {
  AddressSpace& a = as_[as];
  a.draining = false;
  const unsigned dropped = invalidate_region(as, command_region(as));
  Cycle base = spec_.cmd_unlock;
  Cycle start = queue_.now();
  if (a.current == AsCommand::FlushPt) base = spec_.cmd_flush_pt;
  if (a.current == AsCommand::FlushMem) {
    base = spec_.cmd_flush_mem;
    // Accesses that hit a TLB up to now are still finishing: they are done within the TLB
    // latencies, so the flush proper starts after them.
    start += spec_.utlb.hit_latency + spec_.l2tlb.hit_latency;
  }
  queue_.schedule(start + base + dropped * spec_.cmd_per_invalidation, [this, as, g = reset_gen_] {
    if (g == reset_gen_) finish_command(as);  // else a reset came: the command never finishes
  });
}

void Gpu::finish_command(unsigned as) {
  AddressSpace& a = as_[as];
  const AsCommand cmd = a.current;
  counters_.command_busy_cycles[static_cast<unsigned>(cmd)] += queue_.now() - a.busy_since;
  switch (cmd) {
    case AsCommand::Update: {
      const bool fault_pending =
          (mmu_irq_.rawstat() & (regs::mmu_page_fault_bit(as) | regs::mmu_bus_error_bit(as))) != 0;
      a.live = WalkConfig::from_registers(a.regs.transtab, a.regs.transcfg, a.regs.memattr, spec_.va_bits(),
                                          spec_.pa_bits(), spec_.aarch64_mmu);
      if (!a.live.unsupported.empty()) {
        report(MisuseKind::UnsupportedMode, static_cast<int>(as), regs::as_reg(as, regs::kAsCommand),
               fmt::format("AS{} UPDATE: {}; the AS behaves as UNMAPPED", as, a.live.unsupported));
      }
      if (fault_pending && a.live.mode != TranslationMode::Unmapped) {
        report(MisuseKind::UpdateWhileFaulted, static_cast<int>(as), regs::as_reg(as, regs::kAsCommand),
               fmt::format("AS{} UPDATE to {} while a fault is pending (MMU_INT_RAWSTAT {:#x})", as,
                           to_string(a.live.mode), mmu_irq_.rawstat()));
      }
      ++a.epoch;
      a.updating = false;
      update_fast_path(as);
      const unsigned n = l2_.invalidate_as(as) + [&] {
        unsigned u = 0;
        for (Tlb& t : utlbs_) u += t.invalidate_as(as);
        return u;
      }();
      counters_.tlb_invalidations += n;
      counters_.walk_cache_invalidations += walk_cache_.invalidate_as(as);
      if (a.live.mode == TranslationMode::Unmapped) {
        kill_as(as);
        jm_.as_disabled(as);  // its jobs end, and their work with them
      } else {
        retry_lock_waiters(as);
      }
      break;
    }
    case AsCommand::Unlock:
    case AsCommand::FlushPt:
    case AsCommand::FlushMem:
      a.lock.reset();
      update_fast_path(as);
      retry_waiters(as);
      break;
    case AsCommand::Lock:
    case AsCommand::Nop: break;
  }
  a.busy = false;
  if (observer_ != nullptr) observer_->command_finished(as, cmd);
  if (!a.queued.empty()) {
    const AsCommand next = a.queued.front();
    a.queued.pop_front();
    start_command(as, next);
  }
}

void Gpu::retry_waiters(unsigned as) {
  AddressSpace& a = as_[as];
  std::vector<std::uint32_t> waiters;
  waiters.swap(a.fault_waiters);
  waiters.insert(waiters.end(), a.lock_waiters.begin(), a.lock_waiters.end());
  a.lock_waiters.clear();
  retry(waiters);
}

void Gpu::retry_lock_waiters(unsigned as) {
  std::vector<std::uint32_t> waiters;
  waiters.swap(as_[as].lock_waiters);
  retry(waiters);
}

std::uint64_t Gpu::stall_cycles_until(Cycle until) const noexcept {
  std::uint64_t cycles = counters_.stall_cycles;
  for (const AddressSpace& a : as_) {
    for (const auto* waiters : {&a.fault_waiters, &a.lock_waiters}) {
      for (std::uint32_t id : *waiters) {
        const Cycle since = pending_[id].stalled_since;
        cycles += until > since ? until - since : 0;
      }
    }
  }
  return cycles;
}

void Gpu::retry(const std::vector<std::uint32_t>& waiters) {
  const Cycle now = queue_.now();
  for (std::uint32_t id : waiters) {
    counters_.stall_cycles += now - pending_[id].stalled_since;
    ++counters_.retries;
    run_pending(id);
  }
}

// UPDATE to UNMAPPED: every access of the AS that waits (stalled, locked out or walking) fails.
void Gpu::kill_as(unsigned as) {
  AddressSpace& a = as_[as];
  const Cycle now = queue_.now();
  for (std::uint32_t id : a.fault_waiters) counters_.stall_cycles += now - pending_[id].stalled_since;
  for (std::uint32_t id : a.lock_waiters) counters_.stall_cycles += now - pending_[id].stalled_since;
  a.fault_waiters.clear();
  a.lock_waiters.clear();
  walk_by_page_.for_each([&](std::uint64_t, std::uint32_t w) {
    if (walks_[w].as == as) walks_[w].waiters.clear();
  });
  for (std::uint32_t id = 0; id < pending_.size(); ++id) {
    if (pending_[id].live && pending_[id].req.as == as) fail(id, FailReason::Unmapped);
  }
  a.inflight = 0;
  if (a.draining) execute_region_command(as);
}

void Gpu::inflight_done(unsigned as) {
  AddressSpace& a = as_[as];
  if (a.inflight > 0) --a.inflight;
  if (a.inflight == 0 && a.draining) execute_region_command(as);
}

}  // namespace mali_sim
