#include "mali_sim/sim/event_queue.hpp"

#include <algorithm>
#include <utility>

namespace mali_sim {

void EventQueue::schedule(Cycle at, Action action) {
  heap_.push_back(Event{at < now_ ? now_ : at, seq_++, std::move(action)});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

bool EventQueue::step() {
  if (heap_.empty()) return false;
  // Take the event out before running it: it may schedule more events.
  std::pop_heap(heap_.begin(), heap_.end(), Later{});
  Event ev = std::move(heap_.back());
  heap_.pop_back();
  now_ = ev.at;
  ++executed_;
  ev.action();
  return true;
}

void EventQueue::run_until(Cycle until) {
  while (!heap_.empty() && heap_.front().at <= until) step();
  if (until > now_) now_ = until;
}

bool EventQueue::run_until_idle(std::uint64_t limit) {
  for (std::uint64_t i = 0; i < limit; ++i) {
    if (!step()) return true;
  }
  return heap_.empty();
}

}  // namespace mali_sim
