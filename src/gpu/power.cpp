#include "mali_sim/gpu/power.hpp"

#include <fmt/format.h>

#include <bit>
#include <utility>

namespace mali_sim {

namespace {
constexpr std::string_view kNames[] = {"shader cores", "tiler", "L2", "core stacks"};
std::string_view name(regs::PowerDomainId d) { return kNames[static_cast<unsigned>(d)]; }
}  // namespace

PowerDomains::PowerDomains(EventQueue& clock, const std::array<std::uint64_t, regs::kPowerDomains>& present,
                           Timing timing, Changed changed, Report report)
    : clock_(clock), timing_(timing), changed_(std::move(changed)), report_(std::move(report)) {
  for (unsigned i = 0; i < regs::kPowerDomains; ++i) domains_[i].present = present[i];
}

bool PowerDomains::settled() const noexcept {
  for (const Domain& d : domains_)
    if ((d.up | d.down) != 0) return false;
  return l2_down_pending_ == 0;
}

bool PowerDomains::dependents_off() const noexcept {
  for (DomainId d : {DomainId::kShader, DomainId::kTiler, DomainId::kStack}) {
    const Domain& x = dom(d);
    if ((x.ready | x.up | x.down) != 0) return false;
  }
  return true;
}

void PowerDomains::power_on(DomainId d, std::uint64_t mask, std::uint32_t offset) {
  Domain& x = dom(d);
  const std::uint64_t bits = mask & x.present & ~x.ready & ~x.up;
  if (bits == 0) return;
  x.down &= ~bits;  // going off: it turns round
  if (d == DomainId::kL2) l2_down_pending_ &= ~bits;
  const Domain& l2 = dom(DomainId::kL2);
  if (needs_l2(d) && l2.ready == 0) {
    if (l2.up == 0) {
      report_(offset, fmt::format("{} powered on while the L2 is off: they wait for the L2 to be powered on "
                                  "(drivers power the L2 first)",
                                  name(d)));
    }
    const std::uint64_t op = next_op_++;
    for (std::uint64_t m = bits; m != 0; m &= m - 1) x.op[static_cast<unsigned>(std::countr_zero(m))] = op;
    x.up |= bits;
    x.waiting |= bits;
    return;
  }
  start(d, bits, true, timing_.up[static_cast<unsigned>(d)]);
}

void PowerDomains::power_off(DomainId d, std::uint64_t mask, std::uint32_t offset) {
  Domain& x = dom(d);
  const std::uint64_t bits = mask & x.present & (x.ready | x.up);
  if (bits == 0) return;
  if (d == DomainId::kL2 && !dependents_off()) {
    report_(offset,
            "L2 powered off while shader cores, tiler or core stacks are powered: it stays on until "
            "they are off (drivers power the L2 off last)");
    l2_down_pending_ |= bits;
    return;
  }
  x.ready &= ~bits;
  x.up &= ~bits;
  x.waiting &= ~bits;
  start(d, bits, false, timing_.down);
}

void PowerDomains::start(DomainId d, std::uint64_t bits, bool up, Cycle duration) {
  Domain& x = dom(d);
  const std::uint64_t op = next_op_++;
  for (std::uint64_t m = bits; m != 0; m &= m - 1) x.op[static_cast<unsigned>(std::countr_zero(m))] = op;
  (up ? x.up : x.down) |= bits;
  x.waiting &= ~bits;
  clock_.schedule_in(duration, [this, d, bits, up, op] { finish(d, bits, up, op); });
}

void PowerDomains::finish(DomainId d, std::uint64_t bits, bool up, std::uint64_t op) {
  Domain& x = dom(d);
  std::uint64_t done = 0;
  for (std::uint64_t m = bits & (up ? x.up : x.down); m != 0; m &= m - 1) {
    const auto bit = static_cast<unsigned>(std::countr_zero(m));
    if (x.op[bit] == op) done |= std::uint64_t{1} << bit;  // else turned round, or reset, since
  }
  if (done == 0) return;
  if (up) {
    x.up &= ~done;
    x.ready |= done;
  } else {
    x.down &= ~done;
  }
  if (up && d == DomainId::kL2) l2_ready();
  if (!up && needs_l2(d)) try_l2_down();
  changed_(d, settled());
}

// The L2 is ready: whatever waited for it starts its own power-up now.
void PowerDomains::l2_ready() {
  for (DomainId d : {DomainId::kShader, DomainId::kTiler, DomainId::kStack}) {
    Domain& x = dom(d);
    if (x.waiting != 0) start(d, x.waiting, true, timing_.up[static_cast<unsigned>(d)]);
  }
}

void PowerDomains::try_l2_down() {
  if (l2_down_pending_ == 0 || !dependents_off()) return;
  Domain& l2 = dom(DomainId::kL2);
  const std::uint64_t bits = l2_down_pending_ & (l2.ready | l2.up);
  l2_down_pending_ = 0;
  if (bits == 0) return;
  l2.ready &= ~bits;
  l2.up &= ~bits;
  start(DomainId::kL2, bits, false, timing_.down);
}

void PowerDomains::reset() {
  for (Domain& x : domains_) {
    x.ready = x.up = x.down = x.waiting = 0;
    x.op.fill(0);  // an event under way finds no bit in its transition
  }
  l2_down_pending_ = 0;
}

}  // namespace mali_sim
