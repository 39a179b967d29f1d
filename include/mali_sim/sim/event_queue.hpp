// One clock in GPU cycles and the events scheduled on it. Deterministic: events at the same
// cycle run in the order they were scheduled. Time only moves forward, and jumps straight to the
// next event (long stalls are skipped, not ticked).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "mali_sim/types.hpp"

namespace mali_sim {

class EventQueue {
 public:
  using Action = std::function<void()>;
  static constexpr Cycle kForever = std::numeric_limits<Cycle>::max();

  Cycle now() const noexcept { return now_; }
  // Schedule at an absolute cycle; a cycle in the past runs at now().
  void schedule(Cycle at, Action action);
  void schedule_in(Cycle delay, Action action) { schedule(now_ + delay, std::move(action)); }

  bool empty() const noexcept { return heap_.empty(); }
  std::size_t pending() const noexcept { return heap_.size(); }
  Cycle next_time() const noexcept { return heap_.empty() ? kForever : heap_.front().at; }
  std::uint64_t executed() const noexcept { return executed_; }

  // Run every event due at or before `until`, then set now() to `until`.
  void run_until(Cycle until);
  // Run events until none is left or `limit` events ran; returns true when the queue drained.
  // The limit stops a system that never goes idle (e.g. an interrupt nobody clears).
  bool run_until_idle(std::uint64_t limit = 100'000'000);
  // Run one event (advancing now() to it); false when there is none.
  bool step();

 private:
  struct Event {
    Cycle at;
    std::uint64_t seq;
    Action action;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const noexcept {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };
  std::vector<Event> heap_;  // a binary heap ordered by Later
  Cycle now_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t executed_ = 0;
};

}  // namespace mali_sim
