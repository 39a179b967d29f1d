// The GPU control block, registers 0x0000 to 0x0FFF (docs/hardware-facts.md §9): identity and
// feature registers from the spec, the power domains, GPU_COMMAND (soft and hard reset, cache
// cleans, the cycle counter), GPU_STATUS, LATEST_FLUSH, the GPU fault record, and the GPU
// interrupt block's sources.
//
// A reset takes its modelled time; when it completes the device resets every block (the MMU, the
// job and MMU interrupt blocks, the power domains, this block's state) and raises RESET_COMPLETED.
// GPU_INT_MASK survives a reset: kbase unmasks RESET_COMPLETED before it writes the command and
// waits for the interrupt (docs/fidelity.md, "GPU control").
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "mali_sim/event_queue.hpp"
#include "mali_sim/gpu/gpu_spec.hpp"
#include "mali_sim/gpu/power.hpp"
#include "mali_sim/irq/irq_block.hpp"
#include "mali_sim/mmu/misuse.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim {

class GpuControl {
 public:
  // What the block needs of the device around it.
  struct Wiring {
    // Reset every other block (a reset completes).
    std::function<void()> reset_device;
    // The shader cores' power changed (bits of SHADER_PRESENT now READY).
    std::function<void(std::uint64_t ready)> cores_powered;
    // Bits of SHADER_PRESENT whose cores have work under way (SHADER_PWRACTIVE).
    std::function<std::uint64_t()> active_cores;
    // Misuse of a register of this block.
    std::function<void(MisuseKind kind, std::uint32_t offset, std::string message)> report;
  };

  GpuControl(const GpuSpec& spec, EventQueue& clock, IrqBlock& irq, Wiring wiring);
  GpuControl(const GpuControl&) = delete;
  GpuControl& operator=(const GpuControl&) = delete;

  static bool owns(std::uint32_t offset) noexcept { return offset < regs::kGpuControlEnd; }
  // What is at `offset` on this GPU. Drivers read some absent registers on every GPU (panfrost
  // reads CORE_FEATURES, AFBC_FEATURES, STACK_PRESENT and THREAD_TLS_ALLOC at every probe).
  using RegisterKind = mali_sim::RegisterKind;
  RegisterKind kind(std::uint32_t offset) const noexcept;
  // A register's value without side effects (0 for write-only and absent registers).
  std::uint32_t read(std::uint32_t offset) const;
  // A write by the CPU to a kReadWrite or kWriteOnly register.
  void write(std::uint32_t offset, std::uint32_t value);
  // Side-effect-free store for tests and debuggers (GPU_FAULTSTATUS and the like); false for
  // registers that hold no state.
  bool poke(std::uint32_t offset, std::uint32_t value);

  // ---- For the rest of the GPU --------------------------------------------------------------
  bool core_ready(unsigned bit) const noexcept { return ((power_.ready(Domain::kShader) >> bit) & 1U) != 0; }
  bool resetting() const noexcept { return reset_pending_ != 0; }
  // A GPU fault (not an MMU one): GPU_FAULTSTATUS and GPU_FAULTADDRESS record the first, a fault
  // while one is pending raises MULTIPLE_GPU_FAULTS instead.
  void record_fault(std::uint32_t exception, std::uint64_t address);
  // A cache flush done by other hardware (a job's start or end flush): LATEST_FLUSH counts it.
  void count_flush() noexcept { ++flush_id_; }
  const PowerDomains& power() const noexcept { return power_; }
  std::uint64_t cycle_count() const noexcept;  // CYCLE_COUNT
  std::uint64_t timestamp() const noexcept;    // TIMESTAMP
  std::uint64_t resets() const noexcept { return resets_; }

 private:
  using Domain = regs::PowerDomainId;
  void command(std::uint32_t value);
  void begin_reset(bool hard);
  void finish_reset(std::uint64_t ticket);
  void reset_state();
  void finish_clean(std::uint64_t ticket);
  std::uint32_t gpu_status() const noexcept;
  unsigned arch() const noexcept;  // arch_major * 16 + arch_minor (0 for Midgard)
  bool power_register(std::uint32_t offset, Domain& d, std::uint32_t& function) const noexcept;

  const GpuSpec& spec_;
  EventQueue& clock_;
  IrqBlock& irq_;
  Wiring wiring_;
  PowerDomains power_;

  std::uint64_t reset_pending_ = 0;  // the ticket of the reset under way, 0: none
  std::uint64_t next_ticket_ = 1;
  std::uint64_t resets_ = 0;
  std::uint64_t clean_pending_ = 0;  // the ticket of the cache clean under way, 0: none
  std::uint32_t fault_status_ = 0;
  std::uint64_t fault_address_ = 0;
  std::uint32_t flush_id_ = 0;
  // The cycle counter and timestamp advance while started (CYCLE_COUNT_START), and keep their
  // value while stopped: counted = what they had at the last start or stop.
  bool counting_ = false;
  Cycle counting_since_ = 0;
  std::uint64_t cycles_counted_ = 0;
  std::uint64_t pwr_override_[2] = {};
  std::uint64_t prfcnt_base_ = 0;
  std::uint32_t prfcnt_[5] = {};        // CONFIG, JM_EN, SHADER_EN, TILER_EN, MMU_L2_EN
  std::uint32_t coherency_enable_ = 0;  // RW registers reset to 0, as in the kbase no_mali model
  std::uint32_t config_[4] = {};        // JM_CONFIG, SHADER_CONFIG, TILER_CONFIG, L2_MMU_CONFIG
};

}  // namespace mali_sim
