// The GPU's power domains: shader cores, tiler, L2 and (arch 6.2 and later) core stacks, each
// with PRESENT, READY, PWRTRANS and the PWRON / PWROFF commands (docs/hardware-facts.md §9.3).
//
// A PWRON puts the named present bits that are off (or going off) into transition; they become
// READY after the domain's power-up time. A PWROFF clears READY at once (the unit takes no more
// work) and the bits stay in transition for the power-down time. The shader cores, the tiler and
// the core stacks need the L2: powered before it, they wait in transition until it is ready; an
// L2 power-off waits until they are all off. Both orders are reported as misuse, since drivers
// power the L2 first and last (docs/fidelity.md, "GPU control"). Every finished transition raises
// POWER_CHANGED_SINGLE, and POWER_CHANGED_ALL when none is left.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "mali_sim/event_queue.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim {

class PowerDomains {
 public:
  using DomainId = regs::PowerDomainId;
  struct Timing {
    std::array<Cycle, regs::kPowerDomains> up{};  // by DomainId
    Cycle down = 0;
  };
  // A transition finished in `domain`; `settled`: none is left anywhere.
  using Changed = std::function<void(DomainId domain, bool settled)>;
  // Misuse: the register written and what was wrong.
  using Report = std::function<void(std::uint32_t offset, std::string message)>;

  PowerDomains(EventQueue& clock, const std::array<std::uint64_t, regs::kPowerDomains>& present,
               Timing timing, Changed changed, Report report);
  PowerDomains(const PowerDomains&) = delete;
  PowerDomains& operator=(const PowerDomains&) = delete;

  std::uint64_t present(DomainId d) const noexcept { return dom(d).present; }
  std::uint64_t ready(DomainId d) const noexcept { return dom(d).ready; }
  std::uint64_t in_transition(DomainId d) const noexcept { return dom(d).up | dom(d).down; }  // PWRTRANS
  bool settled() const noexcept;

  // The PWRON / PWROFF registers; `offset` names the register written, for reports.
  void power_on(DomainId d, std::uint64_t mask, std::uint32_t offset);
  void power_off(DomainId d, std::uint64_t mask, std::uint32_t offset);
  // Reset: everything off at once, no transition left (one under way finishes nothing).
  void reset();

 private:
  static constexpr unsigned kBits = 64;
  struct Domain {
    std::uint64_t present = 0;
    std::uint64_t ready = 0;
    std::uint64_t up = 0;                   // powering up (possibly waiting for the L2)
    std::uint64_t down = 0;                 // powering down
    std::uint64_t waiting = 0;              // up bits that wait for the L2 before their time starts
    std::array<std::uint64_t, kBits> op{};  // the transition each bit is in
  };
  Domain& dom(DomainId d) noexcept { return domains_[static_cast<unsigned>(d)]; }
  const Domain& dom(DomainId d) const noexcept { return domains_[static_cast<unsigned>(d)]; }
  static bool needs_l2(DomainId d) noexcept { return d != DomainId::kL2; }
  bool dependents_off() const noexcept;

  void start(DomainId d, std::uint64_t bits, bool up, Cycle duration);
  void finish(DomainId d, std::uint64_t bits, bool up, std::uint64_t op);
  void l2_ready();
  void try_l2_down();

  EventQueue& clock_;
  std::array<Domain, regs::kPowerDomains> domains_{};
  Timing timing_;
  Changed changed_;
  Report report_;
  std::uint64_t next_op_ = 1;
  std::uint64_t l2_down_pending_ = 0;  // L2 bits asked off while a dependent is still on
};

}  // namespace mali_sim
