// The checker's view of the job slots (docs/driver-testing.md, detectors 2, 6 and 8): what the
// registers show of the jobs (JS_STATUS ACTIVE, JS_CONFIG's address space, COMMAND_NEXT reading
// START for a queued job), checked against the address spaces the jobs run in, and how long the
// job interrupt's bits stay set.
#include <fmt/format.h>

#include <algorithm>

#include "check/checker_impl.hpp"
#include "mali_sim/pagetable/walker.hpp"

namespace mali_sim {

namespace {

constexpr auto kStart = static_cast<std::uint32_t>(regs::JsCommand::Start);

WalkConfig programmed(const ObservedGpu& gpu, const AddressSpace& a) {
  const MmuFeatures f = MmuFeatures::decode(gpu.peek(regs::kGpuMmuFeatures));
  return WalkConfig::from_registers(a.regs.transtab, a.regs.transcfg, a.regs.memattr, f.va_bits, f.pa_bits,
                                    gpu.aarch64_mmu());
}

bool update_under_way(const AddressSpace& a) {
  return a.updating || (a.busy && a.current == AsCommand::Update) ||
         std::find(a.queued.begin(), a.queued.end(), AsCommand::Update) != a.queued.end();
}

std::string describe(const WalkConfig& c) {
  if (c.mode == TranslationMode::Unmapped) return "UNMAPPED";
  return fmt::format("{} table at {:#x}", to_string(c.mode), c.table_base);
}

std::uint64_t reg64(const ObservedGpu& gpu, std::uint32_t lo) {
  return gpu.peek(lo) | (static_cast<std::uint64_t>(gpu.peek(lo + 4)) << 32);
}

}  // namespace

std::string Checker::Impl::jobs_on_as(unsigned as) const {
  std::string out;
  const std::uint32_t present = gpu.peek(regs::kGpuJsPresent);
  for (unsigned n = 0; n < regs::kMaxJobSlots; ++n) {
    if (((present >> n) & 1U) == 0) continue;
    const bool running = gpu.peek(regs::js_reg(n, regs::kJsStatus)) == kExceptionActive &&
                         (gpu.peek(regs::js_reg(n, regs::kJsConfig)) & regs::kJsConfigAsMask) == as;
    const bool queued = gpu.peek(regs::js_reg(n, regs::kJsCommandNext)) == kStart &&
                        (gpu.peek(regs::js_reg(n, regs::kJsConfigNext)) & regs::kJsConfigAsMask) == as;
    if (running) {
      out += fmt::format("{}the job at {:#x} running on JS{}", out.empty() ? "" : " and ",
                         reg64(gpu, regs::js_reg(n, regs::kJsHeadLo)), n);
    }
    if (queued) {
      out += fmt::format("{}the job at {:#x} queued in JS{}'s _NEXT", out.empty() ? "" : " and ",
                         reg64(gpu, regs::js_reg(n, regs::kJsHeadNextLo)), n);
    }
  }
  return out;
}

void Checker::Impl::job_start_written(unsigned slot) {
  if (!cfg.enabled(Detector::JobAddressSpace)) return;
  const unsigned as = gpu.peek(regs::js_reg(slot, regs::kJsConfigNext)) & regs::kJsConfigAsMask;
  const GpuVa head = reg64(gpu, regs::js_reg(slot, regs::kJsHeadNextLo));
  const std::string job = fmt::format("JS{} START of the job at {:#x}", slot, head);
  if (!gpu.has_as(as)) {
    report(Detector::JobAddressSpace, static_cast<int>(as), head, false,
           fmt::format("{}: JS_CONFIG_NEXT names AS{}, which GPU_AS_PRESENT does not have", job, as),
           "run jobs only in the address spaces GPU_AS_PRESENT reports");
    return;
  }
  const AddressSpace& a = gpu.address_space(as);
  // An UPDATE written before START (and still running or queued) is in order: the job's accesses
  // wait for it (panfrost writes UPDATE and goes on without waiting).
  const bool updating = update_under_way(a);
  const WalkConfig regs_config = programmed(gpu, a);
  const WalkConfig& target = updating ? regs_config : a.live;
  if (target.mode == TranslationMode::Unmapped) {
    report(Detector::JobAddressSpace, static_cast<int>(as), head, false,
           updating ? fmt::format("{} in AS{}, which an UPDATE to UNMAPPED is switching off", job, as)
                    : fmt::format("{} in AS{}, which is not enabled (UNMAPPED): the job's reads of its own "
                                  "descriptor will fault",
                                  job, as),
           "bind the job's context to an address space first (TRANSTAB, MEMATTR, TRANSCFG, then AS_COMMAND "
           "UPDATE: panfrost's as_get) and write that AS's number to JS_CONFIG_NEXT");
    return;
  }
  if (!updating && (regs_config.mode != a.live.mode || regs_config.table_base != a.live.table_base ||
                    regs_config.memattr != a.live.memattr)) {
    report(
        Detector::JobAddressSpace, static_cast<int>(as), head, false,
        fmt::format("{} in AS{} mid-update: its registers now say {}, but no UPDATE has made them live, so "
                    "the job runs with {}",
                    job, as, describe(regs_config), describe(a.live)),
        "issue AS_COMMAND UPDATE after writing TRANSTAB, MEMATTR and TRANSCFG, before starting a job in "
        "the address space");
  }
}

void Checker::Impl::as_update_starting(unsigned as) {
  if (!cfg.enabled(Detector::JobAddressSpace)) return;
  const AddressSpace& a = gpu.address_space(as);
  if (a.live.mode == TranslationMode::Unmapped) return;  // enabling: nothing runs in it yet
  const WalkConfig next = programmed(gpu, a);
  const bool disabling = next.mode == TranslationMode::Unmapped;
  if (!disabling && next.table_base == a.live.table_base) return;  // the same context
  // Switching off an AS that faulted is how a driver kills the job that faulted (and any other
  // job of that context): expected.
  if (disabling && faulted_since_enable[as]) return;
  const std::string jobs = jobs_on_as(as);
  if (jobs.empty()) return;
  if (disabling) {
    report(
        Detector::JobAddressSpace, static_cast<int>(as), 0, false,
        fmt::format("AS{} switched off (UPDATE to UNMAPPED) with no fault to kill, while {} still uses it: "
                    "that job fails for nothing it did",
                    as, jobs),
        "release an address space only once its jobs have ended (as_put from the job interrupt's "
        "handler), and switch one off while jobs run only to kill them after a fault");
  } else {
    report(
        Detector::JobAddressSpace, static_cast<int>(as), 0, false,
        fmt::format("AS{} given another page table ({}, was {}) while {} still uses it: the job goes on in "
                    "another context's memory",
                    as, describe(next), describe(a.live), jobs),
        "reassign an address space only when no job runs or waits in it (as_put after the job's "
        "interrupt; steal only an AS whose job count is 0)");
  }
}

void Checker::Impl::irq_raised(IrqLine line, std::uint32_t bits) {
  if (line != IrqLine::kJob) return;
  // The bound runs from the event, not from when the checker next looks.
  const Cycle now = gpu.now();
  for (unsigned b = 0; b < 32; ++b) {
    if (((bits >> b) & 1U) != 0) job_irq_since[b] = now + 1;  // +1: 0 means clear
  }
  job_irq_reported &= ~bits;  // the bits were clear: a new episode
  wake_after_bound(now);
}

void Checker::Impl::job_irq_cleared(std::uint32_t bits) {
  for (unsigned b = 0; b < 32; ++b) {
    if (((bits >> b) & 1U) != 0) job_irq_since[b] = 0;
  }
  job_irq_reported &= ~bits;
}

void Checker::Impl::poll_job_irq(bool at_finish) {
  const std::uint32_t raw = gpu.peek(regs::kJobIntRawstat);
  if (raw == 0 && job_irq_reported == 0) {
    job_irq_since.fill(0);
    return;
  }
  const Cycle now = gpu.now();
  const bool idle = at_finish && gpu.idle();
  for (unsigned b = 0; b < 32; ++b) {
    const std::uint32_t bit = 1U << b;
    if ((raw & bit) == 0) {
      job_irq_since[b] = 0;
      job_irq_reported &= ~bit;
      continue;
    }
    if (job_irq_since[b] == 0) job_irq_since[b] = now + 1;  // +1: 0 means clear
    if ((job_irq_reported & bit) != 0) continue;
    const Cycle since = job_irq_since[b] - 1;
    if (now - since <= cfg.fault_pending_bound && !idle) continue;
    job_irq_reported |= bit;
    const unsigned slot = b % 16;
    const char* kind = b < 16 ? "DONE" : "FAILED";
    report(
        Detector::IrqLeftAsserted, -1, 0, true,
        idle ? fmt::format("JOB_INT_RAWSTAT bit {} (JS{} {}), set since cycle {}, is still set and nothing "
                           "is left to run: the job interrupt was never handled",
                           b, slot, kind, since)
             : fmt::format("JOB_INT_RAWSTAT bit {} (JS{} {}) has been set since cycle {}, {} cycles: the job "
                           "interrupt is not being handled",
                           b, slot, kind, since, now - since),
        "handle the job interrupt: read JOB_INT_STAT, complete (or fail) the slot's jobs, and write the "
        "bits to JOB_INT_CLEAR");
  }
}

}  // namespace mali_sim
