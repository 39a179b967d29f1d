// One clock in GPU cycles and the events scheduled on it. Deterministic: events at the same
// cycle run in the order they were scheduled. Time only moves forward, and jumps straight to the
// next event (long stalls are skipped, not ticked).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "mali_sim/types.hpp"

namespace mali_sim {

class EventQueue {
 public:
  // Any callable `void()` can be scheduled; std::function still works. Actions are stored in
  // place (up to kInlineBytes, which fits the MMU's walk completions) rather than in a
  // std::function, so scheduling an event allocates nothing in the steady state.
  using Action = std::function<void()>;
  static constexpr Cycle kForever = std::numeric_limits<Cycle>::max();
  static constexpr std::size_t kInlineBytes = 192;

  EventQueue() = default;
  ~EventQueue();
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  Cycle now() const noexcept { return now_; }
  // Schedule at an absolute cycle; a cycle in the past runs at now().
  template <class F>
  void schedule(Cycle at, F&& action) {
    schedule_keyed(at, seq_++, std::forward<F>(action));
  }
  // Schedule `delay` cycles from now; a delay past the clock's range saturates at kForever (the
  // event never comes) instead of wrapping to the past.
  template <class F>
  void schedule_in(Cycle delay, F&& action) {
    schedule(delay > kForever - now_ ? kForever : now_ + delay, std::forward<F>(action));
  }
  // An observer: runs before every other event of its cycle (so it sees what happened before
  // the cycle began), and does not keep the queue busy: empty(), pending() and run_until_idle()
  // ignore it. For sampling over time.
  template <class F>
  void schedule_observer(Cycle at, F&& action) {
    schedule_keyed(at, observer_seq_++, std::forward<F>(action));
    ++observers_;
  }

  // No event is left but observers.
  bool empty() const noexcept { return heap_.size() == observers_; }
  std::size_t pending() const noexcept { return heap_.size() - observers_; }
  // The next event of any kind, observers included.
  Cycle next_time() const noexcept { return heap_.empty() ? kForever : heap_.front().at; }
  std::uint64_t executed() const noexcept { return executed_; }
  // An event is due at or before `t` (next_time() <= t with one test of the heap).
  bool due_by(Cycle t) const noexcept { return !heap_.empty() && heap_.front().at <= t; }

  // Run every event due at or before `until`, then set now() to `until`.
  void run_until(Cycle until) {
    while (!heap_.empty() && heap_.front().at <= until) step();
    advance_to(until);
  }
  // run_until() for a caller that knows no event is due by `until` (next_time() > until).
  void advance_to(Cycle until) noexcept {
    if (until > now_) now_ = until;
  }
  // Run events until none but observers is left or `limit` events ran; returns true when the
  // queue drained. The limit stops a system that never goes idle (an interrupt nobody clears).
  bool run_until_idle(std::uint64_t limit = 100'000'000);
  // Run one event of any kind (advancing now() to it); false when there is none.
  bool step();

 private:
  // Same-cycle events run in key order: observers (counted from 0) before the rest (from 2^63).
  static constexpr std::uint64_t kFirstEventSeq = std::uint64_t{1} << 63;

  template <class F>
  void schedule_keyed(Cycle at, std::uint64_t seq, F&& action) {
    const std::uint32_t slot = new_slot();
    Slot& s = slot_at(slot);
    using Fn = std::decay_t<F>;
    try {
      if constexpr (fits_inline<Fn>()) {
        ::new (static_cast<void*>(s.storage)) Fn(std::forward<F>(action));
        s.ops = &inline_ops<Fn>;
      } else {  // too big for a slot: kept on the heap
        ::new (static_cast<void*>(s.storage)) Fn*(new Fn(std::forward<F>(action)));
        s.ops = &heap_ops<Fn>;
      }
    } catch (...) {
      free_.push_back(slot);  // cannot allocate: free_ has room for every slot
      throw;
    }
    push(at < now_ ? now_ : at, seq, slot);  // cannot throw: heap_ has room for every slot
  }

  enum class Op : std::uint8_t { kRun, kDestroy };
  using Ops = void (*)(Op, void*);
  struct Slot {
    alignas(std::max_align_t) unsigned char storage[kInlineBytes];
    Ops ops;
  };
  // The heap holds keys only; actions stay in their slot, whose address never changes (slots come
  // in chunks), so an action may schedule more events while it runs.
  struct Key {
    Cycle at;
    std::uint64_t seq;
    std::uint32_t slot;
  };
  static constexpr std::uint32_t kChunkShift = 6;
  static constexpr std::uint32_t kChunkSlots = 1U << kChunkShift;

  template <class Fn>
  static constexpr bool fits_inline() {
    constexpr bool small = sizeof(Fn) <= kInlineBytes;
    constexpr bool aligned = alignof(Fn) <= alignof(std::max_align_t);
    return small && aligned;
  }
  template <class Fn>
  static void inline_ops(Op op, void* p) {
    Fn& f = *std::launder(static_cast<Fn*>(p));
    if (op == Op::kRun) {
      f();
    } else {
      f.~Fn();
    }
  }
  template <class Fn>
  static void heap_ops(Op op, void* p) {
    Fn* f = *std::launder(static_cast<Fn**>(p));
    if (op == Op::kRun) {
      (*f)();
    } else {
      delete f;
    }
  }

  Slot& slot_at(std::uint32_t i) noexcept { return chunks_[i >> kChunkShift][i & (kChunkSlots - 1)]; }
  std::uint32_t new_slot() {
    if (free_.empty()) grow();
    const std::uint32_t i = free_.back();
    free_.pop_back();
    return i;
  }
  void grow();
  void push(Cycle at, std::uint64_t seq, std::uint32_t slot) noexcept;

  std::vector<Key> heap_;  // a binary min-heap on (at, seq)
  std::vector<std::unique_ptr<Slot[]>> chunks_;
  std::vector<std::uint32_t> free_;
  Cycle now_ = 0;
  std::uint64_t seq_ = kFirstEventSeq;
  std::uint64_t observer_seq_ = 0;
  std::size_t observers_ = 0;  // observers in the heap
  std::uint64_t executed_ = 0;
};

}  // namespace mali_sim
