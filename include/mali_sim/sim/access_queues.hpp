// The replay engine's per-core read-ahead queues, in the form a trace reader can append to
// directly (TraceReader::append_accesses): a run of accesses goes from the trace's bytes into
// the queues without an intermediate record per access. They are the engine's (namespace
// mali_sim, beside Engine); a reader only appends. A trace access becomes a queue entry (its
// address a GPU VA) here, in AccessQueues::queued, and nowhere else.
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>

#include "mali_sim/mmu/access.hpp"
#include "mali_sim/types.hpp"

namespace mali_sim {

// An entry of a core's queue: an access, with its address resolved to a VA, or a marker (job
// kMarkerJob), which the engine places to learn when everything queued before it has issued.
struct QueuedAccess {
  GpuVa va;             // a marker: its id
  std::uint64_t delta;  // cycles after the core's previous access
  std::uint32_t job;    // the trace's job id + 1 (AccessQueues::queued); kMarkerJob
  std::uint32_t size;
  Access op;
};

// One shader core's queue: a ring of power-of-two capacity.
struct alignas(32) AccessQueue {  // a power of two in size: cheap to index
  QueuedAccess* ring = nullptr;
  std::size_t head = 0;
  std::size_t count = 0;
};

struct AccessQueues {
  static constexpr std::size_t kMaxRun = 1024;  // accesses one append_accesses() call takes at most

  // Set by the engine.
  AccessQueue* queues = nullptr;  // one per shader core
  const GpuVa* bo_va = nullptr;   // base addresses: [0] = 0 (absolute), [id + 1] = VA of BO id
  std::size_t bo_va_size = 0;
  std::size_t ring_mask = 0;
  std::size_t limit = 0;  // a queue holding this many is over its limit
  unsigned num_cores = 0;

  // What the appends did, for the engine (which resets them before each call).
  std::size_t appended = 0;
  std::array<std::uint8_t, kMaxRun> order{};  // the core of each appended access, in trace order
  std::uint64_t last_line = 0;  // trace position of the last appended access (the others precede it
                                // one by one: a reader that appends counts positions by record)

  static constexpr std::uint32_t kMarkerJob = 0;
  // bo_va of a BO the driver is still creating: an access to it waits for its VA.
  static constexpr GpuVa kPendingVa = ~GpuVa{0};
  // The longest gap between two accesses of a core the engine takes (about 4 s at 1 GHz), and
  // the latest cycle a replay may reach: with at most 64 cores of at most 2^20 + kMaxRun queued
  // accesses each, the clock stays below 2^63 between two checks, so no cycle sum can wrap.
  static constexpr std::uint64_t kMaxDelta = std::uint64_t{1} << 32;
  static constexpr Cycle kMaxRunCycles = Cycle{1} << 62;

  // The one place a trace access becomes a queue entry: its GPU VA is an offset into BO `bo` plus
  // the BO's VA, or an absolute address (plus bo_va[0] = 0); its job is the trace's id + 1. The
  // engine keeps bo_va current as BOs are created. The caller has checked that the BO's VA is
  // known (not kPendingVa).
  [[gnu::always_inline]] static QueuedAccess queued(const GpuVa* bo_va, std::uint32_t job, bool bo_relative,
                                                    std::uint32_t bo, std::uint64_t addr, std::uint64_t delta,
                                                    std::uint32_t size, Access op) noexcept {
    return QueuedAccess{addr + bo_va[bo_relative ? std::size_t{bo} + 1 : 0], delta, job + 1, size, op};
  }

  class Appender;
};

// Appends to AccessQueues from a decoding loop: a copy of what appending needs, held in locals (the
// loop's stores into the rings could otherwise alias the queues' fields, which the compiler would
// then reload and store around each access); finish() hands the tallies back.
class AccessQueues::Appender {
 public:
  explicit Appender(AccessQueues& q) noexcept
      : queues_(q.queues),
        bo_va_(q.bo_va),
        order_(q.order.data()),
        bo_va_size_(q.bo_va_size),
        ring_mask_(q.ring_mask),
        appended_(q.appended),
        num_cores_(q.num_cores) {}

  // Appends an access that passed the trace's rules. False, appending nothing, when the engine
  // must take it on its own: its core has nothing queued (its issue cycle depends on the clock
  // when it arrives), its BO is still being created, or its delta is past kMaxDelta (an error). The rules
  // make the core and BO ones the engine knows: the access's job runs on its core, and the engine refused the
  // job had it named a core the GPU lacks; the BO was declared (the engine sizes bo_va when the reader
  // decodes its declaration) and is not freed.
  [[gnu::always_inline]] bool push(std::uint32_t job, std::uint64_t core, bool bo_relative, std::uint32_t bo,
                                   std::uint64_t addr, std::uint64_t delta, std::uint32_t size,
                                   Access op) noexcept {
    const std::size_t base = bo_relative ? std::size_t{bo} + 1 : 0;
    assert(core < num_cores_ && base < bo_va_size_);
    AccessQueue& q = queues_[core];
    const std::size_t count = q.count;
    if ((count == 0) | (bo_va_[base] == kPendingVa) | (delta > kMaxDelta)) [[unlikely]]
      return false;
    assert(count < ring_mask_);  // the engine sizes rings for its limit, a marker and a whole run
    q.ring[(q.head + count) & ring_mask_] = queued(bo_va_, job, bo_relative, bo, addr, delta, size, op);
    q.count = count + 1;
    order_[appended_++] = static_cast<std::uint8_t>(core);
    return true;
  }
  std::size_t appended() const noexcept { return appended_; }
  void finish(AccessQueues& q) const noexcept { q.appended = appended_; }

 private:
  AccessQueue* queues_;
  const GpuVa* bo_va_;
  std::uint8_t* order_;
  [[maybe_unused]] std::size_t bo_va_size_;  // read by assert() only
  std::size_t ring_mask_, appended_;
  [[maybe_unused]] unsigned num_cores_;
};

}  // namespace mali_sim
