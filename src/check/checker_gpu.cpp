// The checker's device hooks: stale translations (a cached entry whose descriptor changed),
// interrupt storms and faults left pending, command misuse and LOCK regions that miss a change.
#include <fmt/format.h>

#include <limits>

#include "check/checker_impl.hpp"

namespace mali_sim {

namespace {
std::optional<PtFormat> format_of(TranslationMode m) {
  if (m == TranslationMode::MaliLpae) return PtFormat::MaliLpae;
  if (m == TranslationMode::Aarch64_4K) return PtFormat::Aarch64_4K;
  return std::nullopt;
}

bool overlaps(const LockRegion& r, GpuVa va, std::uint64_t size) {
  return size != 0 && va <= r.last() && va + (size - 1) >= r.base;
}
}  // namespace

void Checker::Impl::check_stale(unsigned core, unsigned as, GpuVa va, GpuVa va_base, const std::string& what,
                                PhysAddr desc_pa, std::uint64_t desc) {
  if (desc_pa == 0 && desc == 0) return;  // identity mode: no descriptor behind it
  std::uint64_t in_memory = 0;
  (void)mem.read64(desc_pa, in_memory);
  std::string why;
  if (in_memory != desc) {
    why = fmt::format("the descriptor at PA {:#x} now holds {:#x}, not the cached {:#x}", desc_pa, in_memory,
                      desc);
  } else if (roots.contains(gpu.address_space(as).live.table_base)) {
    auto t = tables.find(desc_pa >> kPageShift);
    if (t == tables.end() || t->second.dangling)
      why = fmt::format("the table page {:#x} holding its descriptor is no longer linked into the page table",
                        desc_pa & ~(kPageSize - 1));
  }
  if (why.empty()) return;
  if (!stale_reported.emplace(as, va_base, desc_pa, desc).second) return;  // once per cached entry
  report(Detector::StaleTranslation, static_cast<int>(as), va, false,
         fmt::format("core {} translated VA {:#x} through a stale {}: {}", core, va, what, why),
         "after changing descriptors of a live page table, LOCK a region covering them and UNLOCK "
         "(or FLUSH_PT) it before the GPU may use the range");
}

void Checker::Impl::tlb_used(const AccessRequest& req, const TlbEntry& e, bool l2) {
  poll_faults(false);
  if (!cfg.enabled(Detector::StaleTranslation)) return;
  check_stale(req.core, req.as, req.va, e.va_base,
              fmt::format("{} entry (VA {:#x} -> PA {:#x}, cached at cycle {})", l2 ? "L2 TLB" : "uTLB",
                          e.va_base, e.pa_base, e.filled_at),
              e.desc_pa, e.desc);
}

void Checker::Impl::walk_cache_used(unsigned as, GpuVa va, const WalkCacheEntry& e) {
  if (!cfg.enabled(Detector::StaleTranslation)) return;
  check_stale(0, as, va, e.va_base,
              fmt::format("walk-cache entry (level-{} table descriptor for VA {:#x})", e.level, e.va_base),
              e.desc_pa, e.desc);
}

// Pending: accesses still wait on it, or its interrupt bit is raised (masked or not) while the AS
// translates: the MMU records no new fault for the AS until the bit is cleared, so the AS is stuck
// on it whatever the mask says. A raised bit on an AS switched off is a fault the driver has
// parked on purpose (panfrost keeps a killed AS's bits masked until the AS is reused).
bool Checker::Impl::fault_still_pending(unsigned as) const {
  const AddressSpace& a = gpu.address_space(as);
  if (!a.fault_waiters.empty()) return true;
  if ((gpu.peek(regs::kMmuIntStat) & regs::mmu_as_irq_bits(as)) != 0) return true;
  return (gpu.peek(regs::kMmuIntRawstat) & regs::mmu_as_irq_bits(as)) != 0 &&
         a.live.mode != TranslationMode::Unmapped;
}

void Checker::Impl::wake_after_bound(Cycle since) {
  const Cycle bound = cfg.fault_pending_bound;
  constexpr Cycle kNever = std::numeric_limits<Cycle>::max();
  const Cycle at = since > kNever - bound - 1 ? kNever : since + bound + 1;
  gpu.wake_observer_at(at, 0);
}

// The watchdog: the bound of a fault or a job interrupt bit has passed; report it now, not at the
// next register access (a GPU stuck on a masked fault makes none).
void Checker::Impl::woken(std::uint64_t token) {
  (void)token;
  poll_faults(false);
  poll_job_irq(false);
}

// At each MMU delivery: a fault whose bit has stayed raised since the last delivery, with accesses
// stalled on it, is one more round the handler did not clear it. Masking and unmasking around it
// (panfrost's hard half and thread) is no progress for that fault.
void Checker::Impl::count_fault_rounds() {
  const std::uint32_t raw = gpu.peek(regs::kMmuIntRawstat);
  for (unsigned as = 0; as < regs::kMaxAddressSpaces; ++as) {
    AsState& st = as_state[as];
    if ((raw & regs::mmu_as_irq_bits(as)) == 0 || gpu.address_space(as).fault_waiters.empty()) {
      st.raised_rounds = 0;
      continue;
    }
    if (++st.raised_rounds < cfg.fault_handler_rounds || st.fault_reported) continue;
    st.fault_reported = true;
    report(Detector::IrqLeftAsserted, static_cast<int>(as), st.fault_va, false,
           fmt::format("the fault recorded at cycle {} (VA {:#x}) has kept its MMU_INT_RAWSTAT bit raised "
                       "through {} deliveries of the MMU interrupt with {} accesses stalled on it: the "
                       "handler masks and unmasks, but never clears it",
                       st.fault_since, st.fault_va, st.raised_rounds,
                       gpu.address_space(as).fault_waiters.size()),
           "write the fault's bits to MMU_INT_CLEAR in the handler (panfrost's thread does, before "
           "handling the fault), then map the page and flush, or kill the AS");
  }
}

void Checker::Impl::fault_recorded(unsigned as, GpuVa va, std::uint32_t faultstatus) {
  (void)faultstatus;
  AsState& st = as_state[as];
  // The MMU records a fault only once the one before was cleared: a fault at another page means
  // the driver handled that one, and a busy heap (a fault every few microseconds, accesses always
  // waiting on one) is progress, not a fault left pending. One at the same page again is no
  // progress (cleared and retried without a mapping): the wait goes on counting.
  if (!st.fault_pending || va / kPageSize != st.fault_va / kPageSize) {
    st.fault_pending = true;
    st.fault_since = gpu.now();
    st.fault_reported = false;
    st.raised_rounds = 0;
    wake_after_bound(st.fault_since);
  }
  st.fault_va = va;
  st.fault_va_unmapped = true;
  faulted_since_enable[as] = true;
  any_fault_pending = true;
}

void Checker::Impl::poll_faults(bool at_finish) {
  if (!any_fault_pending) return;
  bool any = false;
  const bool idle = at_finish && gpu.idle();
  for (unsigned as = 0; as < regs::kMaxAddressSpaces; ++as) {
    AsState& st = as_state[as];
    if (!st.fault_pending) continue;
    if (!fault_still_pending(as)) {
      st.fault_pending = false;
      continue;
    }
    any = true;
    if (st.fault_reported) continue;
    const Cycle age = gpu.now() - st.fault_since;
    if (age <= cfg.fault_pending_bound && !idle) continue;
    st.fault_reported = true;
    const std::size_t stalled = gpu.address_space(as).fault_waiters.size();
    const std::uint32_t bits = regs::mmu_as_irq_bits(as);
    const bool masked =
        (gpu.peek(regs::kMmuIntRawstat) & bits) != 0 && (gpu.peek(regs::kMmuIntMask) & bits) == 0;
    report(
        Detector::IrqLeftAsserted, static_cast<int>(as), st.fault_va, false,
        idle
            ? fmt::format("the fault recorded at cycle {} (VA {:#x}) is still pending and nothing is left to "
                          "run: {} accesses wait on it forever",
                          st.fault_since, st.fault_va, stalled)
            : fmt::format("the fault recorded at cycle {} (VA {:#x}) is still pending {} cycles later ({} "
                          "access{} stalled){}",
                          st.fault_since, st.fault_va, age, stalled, stalled == 1 ? "" : "es",
                          masked ? ": its MMU_INT_RAWSTAT bit is set but masked in MMU_INT_MASK, so no "
                                   "handler will see it"
                                 : ""),
        masked ? std::string("unmask an address space's MMU_INT bits whenever it translates (take it out of "
                             "the faulty mask before writing MMU_INT_MASK from it), and handle its faults")
               : std::string("handle every page fault: clear its MMU_INT bits, then map the page and "
                             "UNLOCK/FLUSH_PT, or kill the AS with UPDATE to UNMAPPED"));
  }
  any_fault_pending = any;
}

void Checker::Impl::command_started(unsigned as, AsCommand cmd, const LockRegion& region) {
  poll_faults(false);
  poll_job_irq(false);
  if (cmd == AsCommand::Update) as_update_starting(as);
  if (cmd != AsCommand::Unlock && cmd != AsCommand::FlushPt && cmd != AsCommand::FlushMem) return;
  const WalkConfig& live = gpu.address_space(as).live;
  if (!format_of(live.mode)) return;
  auto root = roots.find(live.table_base);
  if (root == roots.end()) return;
  std::vector<Change> changes;
  changes.swap(root->second.changes);
  std::size_t missed = 0;
  GpuVa first = 0;
  GpuVa first_end = 0;
  for (const Change& c : changes) {
    // A cached leaf is dropped only if the region covers it; a cached table descriptor if the
    // region overlaps the span it covers.
    const bool covered = c.table ? overlaps(region, c.va, c.size) : region.covers_range(c.va, c.size);
    if (covered) continue;
    if (missed++ == 0) {
      // The first byte of the change the region misses.
      first = c.va < region.base || !region.covers(c.va) ? c.va : region.last() + 1;
      first_end = c.va + c.size;
    }
  }
  if (missed != 0)
    report(Detector::CommandMisuse, static_cast<int>(as), first, false,
           fmt::format("{} invalidates {} but {} changed range(s) lie outside it, first [{:#x}, {:#x})",
                       to_string(cmd), region.to_string(), missed, first, first_end),
           "LOCK a region (LOCKADDR: base and log2 size, rounded up) that covers every range whose "
           "descriptors changed");
}

void Checker::Impl::command_finished(unsigned as, AsCommand cmd) {
  if (cmd != AsCommand::Update) return;
  AsState& st = as_state[as];
  st.fault_va_unmapped = false;
  const WalkConfig& live = gpu.address_space(as).live;
  if (live.mode != TranslationMode::Unmapped) faulted_since_enable[as] = false;
  const auto format = format_of(live.mode);
  if (!format) return;
  const PhysAddr root = live.table_base;
  watch(root, *format);
  roots[root].changes.clear();  // UPDATE invalidated everything the AS had cached
  for (const auto& [pfn, t] : tables) {
    if (t.root == root && t.dangling)
      report(Detector::MappingError, static_cast<int>(as), t.va_base, false,
             fmt::format(
                 "AS{} enabled with page table {:#x}, which still links the freed level-{} table page {:#x}",
                 as, root, t.level, pfn << kPageShift),
             "unlink a table (write its descriptor invalid) before freeing its page");
  }
}

void Checker::Impl::register_written(std::uint32_t offset, std::uint32_t value) {
  poll_faults(false);
  poll_job_irq(false);
  if (offset == regs::kJobIntClear) job_irq_cleared(value);
  if (offset == regs::kMmuIntClear) {
    const std::uint32_t cleared = value & gpu.peek(regs::kMmuIntRawstat);
    for (unsigned as = 0; as < regs::kMaxAddressSpaces; ++as)
      if ((cleared & regs::mmu_as_irq_bits(as)) != 0) as_state[as].raised_rounds = 0;
  }
  if (offset >= regs::kJsBase && offset < regs::kJsBase + regs::kMaxJobSlots * regs::kJsSlotStride &&
      (offset - regs::kJsBase) % regs::kJsSlotStride == regs::kJsCommandNext &&
      value == static_cast<std::uint32_t>(regs::JsCommand::Start)) {
    job_start_written((offset - regs::kJsBase) / regs::kJsSlotStride);
  }
  irq_register_written(offset, value);
}

namespace {

// Each interrupt block's registers: RAWSTAT, then CLEAR, MASK and STAT 4, 8 and 12 bytes on.
std::uint32_t irq_block_base(IrqLine line) {
  switch (line) {
    case IrqLine::kJob: return regs::kJobIntRawstat;
    case IrqLine::kMmu: return regs::kMmuIntRawstat;
    case IrqLine::kGpu: return regs::kGpuIntRawstat;
  }
  return regs::kMmuIntRawstat;
}

const char* irq_block_name(IrqLine line) {
  switch (line) {
    case IrqLine::kJob: return "JOB";
    case IrqLine::kMmu: return "MMU";
    case IrqLine::kGpu: return "GPU";
  }
  return "MMU";
}

}  // namespace

// Progress by a handler of each line: clearing a bit it found pending, masking one (the hard half
// of a threaded handler does that), and on the MMU line an AS command.
void Checker::Impl::irq_register_written(std::uint32_t offset, std::uint32_t value) {
  for (unsigned l = 0; l < kIrqLines; ++l) {
    LineState& ls = lines[l];
    if (!ls.in_handler) continue;
    const auto line = static_cast<IrqLine>(l);
    const std::uint32_t base = irq_block_base(line);
    const std::uint32_t stat = gpu.peek(base + 0xC);
    if (offset == base + 0x4 && (value & stat) != 0) ls.progress = true;
    if (offset == base + 0x8 && (stat & ~value) != 0) ls.progress = true;
    if (line == IrqLine::kMmu) {
      if (auto r = regs::as_reg_decode(offset); r && r->reg_in_block == regs::kAsCommand) ls.progress = true;
    }
  }
}

void Checker::Impl::irq_handler_entered(IrqLine line) {
  poll_job_irq(false);
  if (line == IrqLine::kMmu) {
    poll_faults(false);
    count_fault_rounds();
  }
  LineState& ls = lines[static_cast<unsigned>(line)];
  ls.in_handler = true;
  ls.progress = false;
}

void Checker::Impl::irq_handler_returned(IrqLine line) {
  LineState& ls = lines[static_cast<unsigned>(line)];
  ls.in_handler = false;
  const std::uint32_t stat = gpu.peek(irq_block_base(line) + 0xC);
  if (stat == 0 || ls.progress) {
    ls.idle_deliveries = 0;
    ls.storm_reported = false;
    return;
  }
  if (++ls.idle_deliveries < cfg.irq_storm_deliveries || ls.storm_reported) return;
  report_storm(line, stat, false);
}

void Checker::Impl::report_storm(IrqLine line, std::uint32_t stat, bool at_finish) {
  LineState& ls = lines[static_cast<unsigned>(line)];
  ls.storm_reported = true;
  const char* name = irq_block_name(line);
  report(Detector::IrqLeftAsserted, -1, 0, true,
         at_finish
             ? fmt::format("the {} interrupt handler's last {} deliveries returned with {}_INT_STAT {:#x} "
                           "still set, without clearing, masking or handling any of it, and it is still "
                           "set at the end: the line never goes low",
                           name, ls.idle_deliveries, name, stat)
             : fmt::format("the {} interrupt handler returned {} times in a row with {}_INT_STAT {:#x} "
                           "still set, without clearing, masking or handling any of it: an interrupt storm",
                           name, ls.idle_deliveries, name, stat),
         fmt::format("write the bits the handler takes to {}_INT_CLEAR (or mask them until a thread handles "
                     "them) before returning",
                     name));
}

// At the end a handler that last returned without progress, its line still high, is the storm
// cut short: the run ended before the storm threshold was reached.
void Checker::Impl::finish_irq_lines() {
  for (unsigned l = 0; l < kIrqLines; ++l) {
    const LineState& ls = lines[l];
    if (ls.idle_deliveries == 0 || ls.storm_reported) continue;
    const auto line = static_cast<IrqLine>(l);
    const std::uint32_t stat = gpu.peek(irq_block_base(line) + 0xC);
    if (stat != 0) report_storm(line, stat, true);
  }
}

void Checker::Impl::misuse(const MisuseReport& r) {
  std::string fix;
  switch (r.kind) {
    case MisuseKind::CommandWhileActive:
      fix = "poll AS_STATUS until ACTIVE clears before writing AS_COMMAND (panfrost's wait_ready)";
      break;
    case MisuseKind::FlushWithoutLock:
      fix = "write LOCKADDR and issue LOCK before FLUSH_PT / FLUSH_MEM";
      break;
    case MisuseKind::UpdateWhileFaulted:
      fix = "clear the fault (MMU_INT_CLEAR) first, or UPDATE to UNMAPPED to kill the faulting AS";
      break;
    case MisuseKind::UnknownCommand: fix = "write only the command values the GPU defines"; break;
    case MisuseKind::PowerSequence:
      fix = "power the L2 on first and off last: the shader cores, tiler and core stacks depend on it";
      break;
    case MisuseKind::WriteDuringReset:
      fix =
          "wait for RESET_COMPLETED in GPU_INT_RAWSTAT before touching the GPU after GPU_COMMAND SOFT_RESET";
      break;
    case MisuseKind::AccessPoweredOff:
      fix = "power the shader cores on (SHADER_PWRON, then poll SHADER_READY) before running work on them";
      break;
    case MisuseKind::WriteToReadOnly: fix = "do not write read-only registers"; break;
    case MisuseKind::AsNotPresent: fix = "use only the address spaces GPU_AS_PRESENT reports"; break;
    case MisuseKind::StartWhileNextBusy:
      fix =
          "submit the next job only once JS_COMMAND_NEXT reads 0 (the slot took the queued job), as "
          "panfrost checks before writing the _NEXT registers";
      break;
    case MisuseKind::UnsupportedMode:
      fix = "program a translation mode this GPU implements (GPU_MMU_FEATURES, AArch64 only on Bifrost+)";
      break;
    default: return;  // not a driver bug: unmodelled registers, the harness's own requests
  }
  report(Detector::CommandMisuse, r.as, 0, true, r.message, fix);
}

}  // namespace mali_sim
