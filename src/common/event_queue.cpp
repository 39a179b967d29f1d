#include "mali_sim/event_queue.hpp"

#include <algorithm>

namespace mali_sim {

namespace {
struct Later {
  template <class K>
  bool operator()(const K& a, const K& b) const noexcept {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};
}  // namespace

EventQueue::~EventQueue() {
  for (const Key& k : heap_) {
    Slot& s = slot_at(k.slot);
    s.ops(Op::kDestroy, s.storage);
  }
}

void EventQueue::grow() {
  const auto first = static_cast<std::uint32_t>(chunks_.size() * kChunkSlots);
  chunks_.push_back(std::make_unique<Slot[]>(kChunkSlots));
  // Room for every slot in both, so that queueing or releasing one never allocates.
  free_.reserve(chunks_.size() * kChunkSlots);
  heap_.reserve(chunks_.size() * kChunkSlots);
  for (std::uint32_t i = kChunkSlots; i > 0; --i) free_.push_back(first + i - 1);
}

void EventQueue::push(Cycle at, std::uint64_t seq, std::uint32_t slot) noexcept {
  heap_.push_back(Key{at, seq, slot});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

bool EventQueue::step() {
  if (heap_.empty()) return false;
  // Take the key out before running the action: it may schedule more events.
  std::pop_heap(heap_.begin(), heap_.end(), Later{});
  const Key k = heap_.back();
  heap_.pop_back();
  if (k.seq < kFirstEventSeq) --observers_;
  now_ = k.at;
  ++executed_;
  Slot& s = slot_at(k.slot);
  // The action is destroyed and its slot freed even if it throws.
  struct Release {
    EventQueue& q;
    Slot& s;
    std::uint32_t slot;
    ~Release() {
      s.ops(Op::kDestroy, s.storage);
      q.free_.push_back(slot);
    }
  } release{*this, s, k.slot};
  s.ops(Op::kRun, s.storage);
  return true;
}

bool EventQueue::run_until_idle(std::uint64_t limit) {
  for (std::uint64_t i = 0; i < limit; ++i) {
    if (empty()) return true;
    step();
  }
  return empty();
}

}  // namespace mali_sim
