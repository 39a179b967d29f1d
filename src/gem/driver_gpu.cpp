// The GPU as panfrost_gpu.c and panfrost_device.c bring it up: soft reset with its RESET_COMPLETED
// poll (and the hard-reset fallback), the feature reads in panfrost's order, the power-on of L2,
// shader cores and tiler with their READY polls, the GPU interrupt handler, and the device reset
// that follows a timeout. The poll intervals and timeouts are panfrost's (docs/hardware-facts.md
// §9.4 to §9.6).
#include <fmt/format.h>

#include <bit>

#include "common/log.hpp"
#include "mali_sim/gem/driver.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim {

namespace {

// panfrost_gpu_soft_reset(): poll RAWSTAT every 10 us for 10 ms; the hard reset every 100 us.
constexpr std::uint64_t kResetPollUs = 10;
constexpr std::uint64_t kResetTimeoutUs = 10'000;
constexpr std::uint64_t kHardResetPollUs = 100;
// panfrost_gpu_power_on(): READY polls every 10 us, 20 ms for the L2 and the cores, 1 ms for the tiler.
constexpr std::uint64_t kPowerPollUs = 10;
constexpr std::uint64_t kL2TimeoutUs = 20'000;
constexpr std::uint64_t kShaderTimeoutUs = 20'000;
constexpr std::uint64_t kTilerTimeoutUs = 1'000;
// GPU_IRQ_MASK_ALL, and the mask panfrost leaves after a reset: faults, perfcnt and clean done.
constexpr std::uint32_t kGpuIrqAll = regs::kGpuIrqFault | regs::kGpuIrqMultipleFault |
                                     regs::kGpuIrqResetCompleted | regs::kGpuIrqPowerChanged |
                                     regs::kGpuIrqPowerChangedAll | regs::kGpuIrqPerfcntSampleCompleted |
                                     regs::kGpuIrqCleanCachesCompleted;
constexpr std::uint32_t kGpuIrqAfterReset = regs::kGpuIrqFault | regs::kGpuIrqMultipleFault |
                                            regs::kGpuIrqPerfcntSampleCompleted |
                                            regs::kGpuIrqCleanCachesCompleted;
// panfrost_job_enable_interrupts(): done and error of slots 0 to 2 (NUM_JOB_SLOTS).
constexpr std::uint32_t kJobIrqMask = 0x00070007;

bool reset_done(std::uint32_t rawstat) { return (rawstat & regs::kGpuIrqResetCompleted) != 0; }

}  // namespace

Status Driver::soft_reset() {
  wr(regs::kGpuIntMask, 0);
  wr(regs::kGpuIntClear, regs::kGpuIrqResetCompleted);
  wr(regs::kGpuCmd, static_cast<std::uint32_t>(GpuCommand::SoftReset));
  if (!poll(regs::kGpuIntRawstat, reset_done, kResetPollUs, kResetTimeoutUs)) {
    log()->error("soft reset timed out, forcing hard reset");
    wr(regs::kGpuCmd, static_cast<std::uint32_t>(GpuCommand::HardReset));
    if (!poll(regs::kGpuIntRawstat, reset_done, kHardResetPollUs, kResetTimeoutUs))
      return make_error(Errc::kTimedOut,
                        "GPU reset: RESET_COMPLETED never rose after a soft and a hard reset");
  }
  wr(regs::kGpuIntClear, kGpuIrqAll);
  wr(regs::kGpuIntMask, kGpuIrqAfterReset);
  return {};
}

Status Driver::read_features() {
  GpuFeatures& f = features_;
  f.l2_features = rd(regs::kL2Features);
  f.core_features = rd(regs::kCoreFeatures);
  f.tiler_features = rd(regs::kTilerFeatures);
  f.mem_features = rd(regs::kMemFeatures);
  f.mmu_features = rd(regs::kGpuMmuFeatures);
  f.thread_features = rd(regs::kThreadFeatures);
  f.thread_max_threads = rd(regs::kThreadMaxThreads);
  f.thread_max_workgroup_size = rd(regs::kThreadMaxWorkgroupSize);
  f.thread_max_barrier_size = rd(regs::kThreadMaxBarrierSize);
  f.coherency_features = rd(regs::kCoherencyFeatures);
  f.afbc_features = rd(regs::kAfbcFeatures);
  for (unsigned i = 0; i < 4; ++i) f.texture_features[i] = rd(regs::kTextureFeatures0 + 4 * i);
  f.as_present = rd(regs::kGpuAsPresent);
  f.js_present = rd(regs::kGpuJsPresent);
  const auto slots = static_cast<unsigned>(std::popcount(f.js_present));
  for (unsigned j = 0; j < slots && j < regs::kMaxJobSlots; ++j)
    f.js_features[j] = rd(regs::kJsFeatures0 + 4 * j);
  f.shader_present = rd64(regs::kShaderPresentLo);
  f.tiler_present = rd64(regs::kTilerPresentLo);
  f.l2_present = rd64(regs::kL2PresentLo);
  f.stack_present = rd64(regs::kStackPresentLo);
  f.thread_tls_alloc = rd(regs::kThreadTlsAlloc);
  f.gpu_id = rd(regs::kGpuId);

  gpu_id_ = f.gpu_id;
  as_present_ = f.as_present;
  va_bits_ = f.mmu_features & 0xFFU;
  pa_bits_ = (f.mmu_features >> 8) & 0xFFU;
  if (as_present_ == 0 || (as_present_ >> regs::kMaxAddressSpaces) != 0)
    return make_error(Errc::kInvalidArgument,
                      fmt::format("probe: GPU_AS_PRESENT {:#x} is unusable", as_present_));
  if (va_bits_ < 21 || va_bits_ > kMaxVaBits || pa_bits_ < 21 || pa_bits_ > kMaxPaBits)
    return make_error(Errc::kInvalidArgument,
                      fmt::format("probe: GPU_MMU_FEATURES {:#x} gives VA {} / PA {} bits", f.mmu_features,
                                  va_bits_, pa_bits_));
  if (f.shader_present == 0 || f.l2_present == 0)
    return make_error(Errc::kInvalidArgument,
                      fmt::format("probe: SHADER_PRESENT {:#x} / L2_PRESENT {:#x}: no shader core or no L2",
                                  f.shader_present, f.l2_present));
  return {};
}

// panfrost_gpu_init_quirks(), run at every power-on (a reset loses them). Of its quirks, the ones
// for the parts mali-sim has presets of: the job throttle of T860/T880 r2p0 and later, and the
// IDVS group size of G52, G76 and G57. TILER_CONFIG is always read back and written.
void Driver::init_quirks() {
  const GpuId id = GpuId::decode(gpu_id_);
  const std::uint32_t model = id.panfrost_model_id();
  std::uint32_t jm = 0;
  if ((model == 0x0860 || model == 0x0880) && id.version_major() >= 2)
    jm |= 0x3FU << 3;  // JM_JOB_THROTTLE_LIMIT
  if (model == 0x7001 || model == 0x7002 || model == 0x9001 || model == 0x9003)
    jm |= 0xFU << 16;  // JM_DEFAULT_IDVS_GROUP_SIZE
  if (jm != 0) wr(regs::kJmConfig, jm);
  wr(regs::kTilerConfig, rd(regs::kTilerConfig));
}

// panfrost_gpu_power_on(): L2, then shader cores, then tiler, each polled until READY. Failures
// are only logged, as panfrost does.
void Driver::power_on() {
  init_quirks();
  const GpuFeatures& f = features_;
  const std::uint64_t core_mask = std::popcount(f.l2_present) == 1 ? ~std::uint64_t{0} : f.shader_present;
  const auto up = [&](std::uint32_t pwron, std::uint32_t ready, std::uint32_t mask, std::uint64_t timeout_us,
                      const char* what) {
    wr(pwron, mask);
    if (!poll(
            ready, [mask](std::uint32_t v) { return v == mask; }, kPowerPollUs, timeout_us))
      log()->error("error powering up gpu {}", what);
  };
  up(regs::kL2PwronLo, regs::kL2ReadyLo, static_cast<std::uint32_t>(f.l2_present & core_mask), kL2TimeoutUs,
     "L2");
  up(regs::kShaderPwronLo, regs::kShaderReadyLo, static_cast<std::uint32_t>(f.shader_present & core_mask),
     kShaderTimeoutUs, "shader");
  up(regs::kTilerPwronLo, regs::kTilerReadyLo, static_cast<std::uint32_t>(f.tiler_present), kTilerTimeoutUs,
     "tiler");
}

// panfrost_mmu_reset(): every binding is forgotten (contexts get an AS again at their next job),
// and every MMU interrupt is cleared and unmasked.
void Driver::mmu_reset() {
  for (Context& ctx : lru_) {
    ctx.as = -1;
    ctx.as_count = 0;
  }
  lru_.clear();
  as_alloc_mask_ = 0;
  as_faulty_mask_ = 0;
  ++mmu_resets_;  // an MMU thread's pass still to come has nothing left to handle
  wr(regs::kMmuIntClear, ~0U);
  wr(regs::kMmuIntMask, ~0U);
}

void Driver::job_enable_interrupts() {
  wr(regs::kJobIntClear, kJobIrqMask);
  wr(regs::kJobIntMask, kJobIrqMask);
}

// panfrost_device_reset(). The jobs the hardware held are lost with it: they go to it again.
void Driver::device_reset() {
  std::vector<JobId> timed_out;
  for (auto& [id, job] : submitted_) {
    if (!job.on_hw) continue;
    (void)job_end(job.ctx, job.bos);
    job.on_hw = false;
    if (job.timed_out) timed_out.push_back(id);
  }
  // panfrost_reset(): job interrupts masked first, so that no handler touches the GPU while it
  // resets (jobs still running end meanwhile and raise their bits).
  wr(regs::kJobIntMask, 0);
  if (Status s = soft_reset(); !s) log()->error("{}", s.error().message);
  power_on();
  mmu_reset();
  job_enable_interrupts();
  // The job that hung is not run again (it would hang again): its fence carries the error.
  for (JobId id : timed_out)
    job_complete(id, false, 0,
                 fmt::format("timed out after {} us (cost.job_timeout_ns); the GPU was reset",
                             cfg_.costs.job_timeout_ns / 1000));
  // A reset while a job's address space was being bound: that submission fails and runs the
  // queues again itself (Driver::job_hw_submit).
  if (!submitting_)
    for (unsigned slot = 0; slot < slot_queue_.size(); ++slot) job_run(slot);
}

void Driver::gpu_reset(const std::string& why) {
  ++stats_.gpu_resets;
  last_reset_why_ = why;
  log()->error("GPU reset: {}", why);
  device_reset();
}

// panfrost_gpu_irq_handler(): a plain handler, in interrupt context.
void Driver::gpu_irq() {
  const std::uint32_t fault_status = rd(regs::kGpuFaultStatus);
  const std::uint32_t state = rd(regs::kGpuIntStat);
  if (state == 0) return;  // IRQ_NONE
  if ((state & (regs::kGpuIrqFault | regs::kGpuIrqMultipleFault)) != 0) {
    const std::uint64_t hi = rd(regs::kGpuFaultAddressHi);
    const std::uint64_t address = hi << 32 | rd(regs::kGpuFaultAddressLo);
    ++stats_.gpu_faults;
    log()->warn("GPU Fault {:#010x} ({}) at {:#018x}", fault_status, exception_name(fault_status & 0xFFU),
                address);
    if ((state & regs::kGpuIrqMultipleFault) != 0)
      log()->warn("There were multiple GPU faults - some have not been reported");
    wr(regs::kGpuIntMask, 0);  // panfrost leaves every GPU interrupt masked until the next reset
  }
  wr(regs::kGpuIntClear, state);
}

}  // namespace mali_sim
