// Where a reader's batched decoding loop puts the accesses it decodes: records for
// TraceReader::next_accesses, or the replay engine's queues for TraceReader::append_accesses. The
// text and binary readers share these, so both hand out the same thing for the same access.
#pragma once

#include <cstdint>
#include <span>

#include "mali_sim/sim/access_queues.hpp"
#include "mali_sim/sim/trace.hpp"

namespace mali_sim::trace::detail {

// An access as a reader has decoded and checked it (TraceState::AccessRules::ok): ids as decoded,
// 64 bits wide, the rules having bounded them.
struct DecodedAccess {
  std::uint64_t job = 0, core = 0, delta = 0, bo = kNoId, addr = 0, size = 4;
  Access op = Access::Read;
  bool bo_relative = false;
};

// full() says when to stop; put() takes one access (false: it refuses it, and decoding stops
// before it). `position` is the access's line or record number.
struct RecordSink {
  std::span<AccessRecord> out;
  std::size_t n = 0;
  bool full() const noexcept { return n == out.size(); }
  [[gnu::always_inline]] bool put(const DecodedAccess& a, std::uint64_t position) noexcept {
    AccessRecord& r = out[n++];
    r.addr = a.addr;
    r.delta = a.delta;
    r.line = position;
    r.job = static_cast<std::uint32_t>(a.job);
    r.bo = static_cast<std::uint32_t>(a.bo);
    r.size = static_cast<std::uint32_t>(a.size);
    r.core = static_cast<std::uint16_t>(a.core);
    r.op = a.op;
    r.addr_kind = a.bo_relative ? AddrKind::BoOffset : AddrKind::Absolute;
    return true;
  }
};

struct QueueSink {
  AccessQueues::Appender app;
  std::size_t end;  // app.appended() when full
  QueueSink(AccessQueues& queues, std::size_t max)
      : app(queues), end(queues.appended + std::min(max, AccessQueues::kMaxRun)) {}
  bool full() const noexcept { return app.appended() == end; }
  [[gnu::always_inline]] bool put(const DecodedAccess& a, std::uint64_t) noexcept {
    return app.push(static_cast<std::uint32_t>(a.job), a.core, a.bo_relative,
                    static_cast<std::uint32_t>(a.bo), a.addr, a.delta, static_cast<std::uint32_t>(a.size),
                    a.op);
  }
};

}  // namespace mali_sim::trace::detail
