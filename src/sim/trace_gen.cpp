// Synthetic trace generators (see trace_gen.hpp for what each kind emits and the counts).
//
// All kinds share one timing model: each core draws its own inter-access delays and the core whose
// next access is earliest goes next, so the file is in time order across cores and a replay sees
// the interleaving a real multi-core job would produce. Per-core quotas fix how many accesses each
// core (and job) makes, which keeps every count derivable from the parameters.
#include "mali_sim/sim/trace_gen.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <random>
#include <span>
#include <string_view>
#include <utility>

namespace mali_sim::trace {
namespace {

constexpr std::uint64_t kChunk = 2ULL << 20;  // heap growth granule
constexpr std::uint64_t kPage = 4ULL << 10;
constexpr std::uint32_t kLine = 64;  // record / cache-line access size
constexpr std::uint64_t kMaxAccesses = 1ULL << 40;
constexpr std::uint64_t kMaxHeap = 2ULL << 30;
constexpr std::uint64_t kMaxBuffer = 1ULL << 30;
constexpr std::uint64_t kMaxDelta = 1ULL << 20;
constexpr unsigned kMaxCores = 64;  // JobBegin's core mask is 64 bits
constexpr unsigned kMaxContexts = 64;
constexpr std::uint64_t kCodeBytes = 64ULL << 10;
constexpr std::uint64_t kShaderBytes = 4ULL << 10;  // the loop each core fetches round and round
constexpr std::size_t kRecentRecords = 64;          // how far back a tiler re-reads its records

constexpr std::array<std::string_view, 4> kKinds = {"tiler-heap", "heap-random", "streaming",
                                                    "multi-context"};

Error bad(std::string_view param, std::uint64_t value, std::string_view rule) {
  return make_error(Errc::kInvalidArgument, fmt::format("trace generator: {} = {}: {}", param, value, rule));
}

// std::mt19937_64 is specified bit for bit, the standard distributions are not: draws are ours.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : mt_(seed) {}
  // Uniform in [0, n). Rejects the 2^64 mod n lowest outputs so every residue is equally
  // likely (no modulo bias).
  std::uint64_t below(std::uint64_t n) {
    if (n <= 1) return 0;  // nothing to choose (and n = 0 would divide by zero)
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
      const std::uint64_t r = mt_();
      if (r >= threshold) return r % n;
    }
  }

 private:
  std::mt19937_64 mt_;
};

// Offsets floor(k * (slots-1) / (count-1)) * 64 for k = 0, 1, ...: the first record at 0, the
// count-th at bytes-64, evenly spread. Incremental (quotient and remainder) so that nothing
// overflows whatever the count.
class BumpPointer {
 public:
  BumpPointer(std::uint64_t bytes, std::uint64_t count)
      : step_q_((bytes / kLine - 1) / std::max<std::uint64_t>(count - 1, 1)),
        step_r_((bytes / kLine - 1) % std::max<std::uint64_t>(count - 1, 1)),
        den_(std::max<std::uint64_t>(count - 1, 1)) {}
  std::uint64_t next() {
    const std::uint64_t offset = q_ * kLine;
    q_ += step_q_;
    r_ += step_r_;
    if (r_ >= den_) {
      r_ -= den_;
      ++q_;
    }
    return offset;
  }

 private:
  std::uint64_t step_q_, step_r_, den_;
  std::uint64_t q_ = 0, r_ = 0;
};

// Picks among remaining counts in proportion, so the totals are exact and the order is random.
std::size_t pick(Rng& rng, std::span<const std::uint64_t> left) {
  std::uint64_t total = 0;
  for (const std::uint64_t n : left) total += n;
  std::uint64_t u = rng.below(total);
  for (std::size_t i = 0;; ++i) {
    if (u < left[i]) return i;
    u -= left[i];
  }
}

std::uint64_t share(std::uint64_t total, std::uint64_t parts, std::uint64_t i) {
  return total / parts + (i < total % parts ? 1 : 0);
}

std::uint64_t core_mask(unsigned first, unsigned end) {
  std::uint64_t m = 0;
  for (unsigned c = first; c < end; ++c) m |= 1ULL << c;
  return m;
}

// One job's work on one core.
struct Lane {
  std::size_t job;
  unsigned core;
  std::uint64_t slot;      // position among the job's lanes (which buffer slice it owns)
  std::uint64_t quota;     // accesses left
  std::uint64_t done = 0;  // the kind's per-lane cursor (streaming: accesses, multi-context: reads)
};

// Chooses the next lane to issue: the core with the earliest next access (lowest id on ties), then
// one of that core's lanes in proportion to their remaining quotas (cores shared by jobs).
class Scheduler {
 public:
  Scheduler(Rng& rng, std::uint64_t mean_delta, unsigned cores, std::vector<Lane> lanes)
      : rng_(rng), mean_(mean_delta), cores_(cores) {
    add(std::move(lanes));
    for (Core& c : cores_) {
      c.pending = delay();
      c.ready = c.pending;
    }
  }

  // Lanes of jobs that begin after every access so far (the next wave of jobs, once the last
  // has run out): each core's next access comes no earlier than a fresh delay after the last
  // access of any core, so that accesses stay in time order.
  void restart(std::vector<Lane> lanes) {
    add(std::move(lanes));
    for (Core& c : cores_) {
      const std::uint64_t last = c.ready - c.pending;
      c.ready = std::max(c.ready, now_ + delay());
      c.pending = c.ready - last;
    }
  }

  // False when every lane is done; else the lane and the delta since its core's previous access.
  bool next(std::size_t& lane, std::uint64_t& delta) {
    Core* best = nullptr;
    for (Core& c : cores_) {
      if (c.left > 0 && (best == nullptr || c.ready < best->ready)) best = &c;
    }
    if (best == nullptr) return false;
    std::vector<std::uint64_t>& left = scratch_;
    left.clear();
    for (const std::size_t i : best->lanes) left.push_back(lanes_[i].quota);
    lane = best->lanes[best->lanes.size() == 1 ? 0 : pick(rng_, left)];
    --lanes_[lane].quota;
    --best->left;
    delta = best->pending;
    now_ = best->ready;
    best->pending = delay();
    best->ready += best->pending;
    return true;
  }

  Lane& lane(std::size_t i) { return lanes_[i]; }

 private:
  struct Core {
    std::vector<std::size_t> lanes;
    std::uint64_t left = 0, ready = 0, pending = 0;
  };
  void add(std::vector<Lane> lanes) {
    lanes_ = std::move(lanes);
    for (Core& c : cores_) {
      c.lanes.clear();
      c.left = 0;
    }
    for (std::size_t i = 0; i < lanes_.size(); ++i) {
      Core& c = cores_[lanes_[i].core];
      c.lanes.push_back(i);
      c.left += lanes_[i].quota;
    }
  }
  // Uniform in [1, 2*mean-1]: mean exactly mean_delta, never 0 (a core always moves on).
  std::uint64_t delay() { return 1 + rng_.below(2 * mean_ - 1); }

  Rng& rng_;
  std::uint64_t mean_;
  std::vector<Lane> lanes_;
  std::vector<Core> cores_;
  std::vector<std::uint64_t> scratch_;
  std::uint64_t now_ = 0;  // the time of the last access
};

// Lanes for one job on cores [first, end), its accesses shared evenly among them.
void add_lanes(std::vector<Lane>& lanes, std::size_t job, unsigned first, unsigned end,
               std::uint64_t accesses) {
  const unsigned n = end - first;
  for (unsigned c = first; c < end; ++c) {
    lanes.push_back(Lane{job, c, c - first, share(accesses, n, c - first)});
  }
}

// Buffer slice a lane owns: 64-byte aligned, non-empty (buffer_bytes >= 4 KiB, lanes <= 64).
std::uint64_t slice_bytes(std::uint64_t buffer, std::uint64_t lanes) {
  return buffer / lanes / kLine * kLine;
}

std::uint64_t slice_offset(std::uint64_t slice, std::uint64_t slot, std::uint64_t index) {
  return slot * slice + index % (slice / kLine) * kLine;
}

std::string describe(const GenParams& p) {
  std::string s = fmt::format("mali-sim synthetic trace: kind={} seed={} accesses={} cores={} mean_delta={}",
                              p.kind, p.seed, p.accesses, p.cores, p.mean_delta);
  if (p.kind != "streaming") s += fmt::format(" heap_bytes={}", p.heap_bytes);
  if (p.kind == "streaming" || p.kind == "multi-context")
    s += fmt::format(" buffer_bytes={}", p.buffer_bytes);
  if (p.kind == "multi-context") s += fmt::format(" contexts={}", p.contexts);
  return s;
}

// ---- tiler-heap ----------------------------------------------------------------------------------

std::uint64_t tiler_writes(std::uint64_t accesses) { return accesses - 2 * (accesses / 8); }

Status tiler_heap(const GenParams& p, Rng& rng, TraceWriter& out) {
  const std::uint64_t n = p.accesses;
  std::array<std::uint64_t, 3> left = {tiler_writes(n), n / 8, n / 8};  // write, read, execute
  Status st = out.comment(
      fmt::format("tiler: {} cores append 64-byte records through a {}-chunk heap (bump pointer 0 .. end), "
                  "{} writes, {} reads of recent records, {} instruction fetches",
                  p.cores, p.heap_bytes / kChunk, left[0], left[1], left[2]));
  if (!st) return st;
  Result<std::uint32_t> ctx = out.context("ctx0");
  if (!ctx) return ctx.error();
  Result<std::uint32_t> heap = out.bo_create(*ctx, "heap", p.heap_bytes, bo_flags::kNoExec | bo_flags::kHeap);
  if (!heap) return heap.error();
  Result<std::uint32_t> code = out.bo_create(*ctx, "code", kCodeBytes, 0);
  if (!code) return code.error();
  const std::array<std::uint32_t, 2> uses = {*heap, *code};
  Result<std::uint32_t> job = out.job_begin(*ctx, "tiler", core_mask(0, p.cores), uses);
  if (!job) return job.error();

  std::vector<Lane> lanes;
  add_lanes(lanes, 0, 0, p.cores, n);
  Scheduler sched(rng, p.mean_delta, p.cores, std::move(lanes));
  BumpPointer bump(p.heap_bytes, left[0]);
  std::array<std::uint64_t, kRecentRecords> recent{};
  std::uint64_t written = 0;
  std::array<std::uint64_t, kMaxCores> pc{};
  std::size_t lane = 0;
  std::uint64_t delta = 0;
  for (std::uint64_t i = 0; sched.next(lane, delta); ++i) {
    const auto core = static_cast<std::uint16_t>(sched.lane(lane).core);
    // The first access writes (a read needs a record to read) and so does the last (the pointer
    // ends at the end of the heap): the middle ones draw from what is left, last write reserved.
    std::size_t op = 0;
    if (i != 0 && i + 1 != n) {
      --left[0];
      op = pick(rng, left);
      ++left[0];
    }
    --left[op];
    if (op == 0) {
      const std::uint64_t off = bump.next();
      recent[written++ % kRecentRecords] = off;
      st = out.access(*job, core, delta, Access::Write, AddrKind::BoOffset, *heap, off, kLine);
    } else if (op == 1) {
      const std::uint64_t back = 1 + rng.below(std::min<std::uint64_t>(written, kRecentRecords));
      const std::uint64_t off = recent[(written - back) % kRecentRecords];
      st = out.access(*job, core, delta, Access::Read, AddrKind::BoOffset, *heap, off, kLine);
    } else {
      const std::uint64_t off = pc[core];
      pc[core] = (off + kLine) % kShaderBytes;
      st = out.access(*job, core, delta, Access::Execute, AddrKind::BoOffset, *code, off, kLine);
    }
    if (!st) return st;
  }
  if (st = out.job_end(*job); !st) return st;
  if (st = out.bo_free(*heap); !st) return st;
  return out.bo_free(*code);
}

// ---- heap-random ---------------------------------------------------------------------------------

Status heap_random(const GenParams& p, Rng& rng, TraceWriter& out) {
  Status st = out.comment("random: 4-byte reads and writes (coin flip) uniformly over the whole heap");
  if (!st) return st;
  Result<std::uint32_t> ctx = out.context("ctx0");
  if (!ctx) return ctx.error();
  Result<std::uint32_t> heap = out.bo_create(*ctx, "heap", p.heap_bytes, bo_flags::kNoExec | bo_flags::kHeap);
  if (!heap) return heap.error();
  const std::array<std::uint32_t, 1> uses = {*heap};
  Result<std::uint32_t> job = out.job_begin(*ctx, "random", core_mask(0, p.cores), uses);
  if (!job) return job.error();

  std::vector<Lane> lanes;
  add_lanes(lanes, 0, 0, p.cores, p.accesses);
  Scheduler sched(rng, p.mean_delta, p.cores, std::move(lanes));
  std::size_t lane = 0;
  std::uint64_t delta = 0;
  while (sched.next(lane, delta)) {
    const auto core = static_cast<std::uint16_t>(sched.lane(lane).core);
    const Access op = rng.below(2) == 0 ? Access::Read : Access::Write;
    const std::uint64_t off = rng.below(p.heap_bytes / 4) * 4;
    if (st = out.access(*job, core, delta, op, AddrKind::BoOffset, *heap, off, 4); !st) return st;
  }
  if (st = out.job_end(*job); !st) return st;
  return out.bo_free(*heap);
}

// ---- streaming -----------------------------------------------------------------------------------

Status streaming(const GenParams& p, Rng& rng, TraceWriter& out) {
  const std::uint64_t slice = slice_bytes(p.buffer_bytes, p.cores);
  Status st = out.comment(fmt::format(
      "streaming: core c reads input and writes output at the same offset, 64-byte strides through "
      "its own {}-byte slice c (wrapping)",
      slice));
  if (!st) return st;
  Result<std::uint32_t> ctx = out.context("ctx0");
  if (!ctx) return ctx.error();
  Result<std::uint32_t> input = out.bo_create(*ctx, "input", p.buffer_bytes, bo_flags::kNoExec);
  if (!input) return input.error();
  Result<std::uint32_t> output = out.bo_create(*ctx, "output", p.buffer_bytes, bo_flags::kNoExec);
  if (!output) return output.error();
  const std::array<std::uint32_t, 2> uses = {*input, *output};
  Result<std::uint32_t> job = out.job_begin(*ctx, "stream", core_mask(0, p.cores), uses);
  if (!job) return job.error();

  std::vector<Lane> lanes;
  add_lanes(lanes, 0, 0, p.cores, p.accesses);
  Scheduler sched(rng, p.mean_delta, p.cores, std::move(lanes));
  std::size_t lane = 0;
  std::uint64_t delta = 0;
  while (sched.next(lane, delta)) {
    Lane& l = sched.lane(lane);
    const auto core = static_cast<std::uint16_t>(l.core);
    const std::uint64_t off = slice_offset(slice, l.slot, l.done / 2);
    const bool read = l.done++ % 2 == 0;
    st = out.access(*job, core, delta, read ? Access::Read : Access::Write, AddrKind::BoOffset,
                    read ? *input : *output, off, kLine);
    if (!st) return st;
  }
  if (st = out.job_end(*job); !st) return st;
  if (st = out.bo_free(*input); !st) return st;
  return out.bo_free(*output);
}

// ---- multi-context -------------------------------------------------------------------------------

struct CtxJob {
  std::uint32_t ctx = 0, heap = 0, buf = 0, job = 0;
  std::uint64_t slots = 0;              // accesses left, the bug's included
  std::array<std::uint64_t, 2> left{};  // heap writes, buffer reads
  std::uint64_t lanes = 0, done = 0;
  BumpPointer bump{kChunk, 1};
};

// The waves of jobs: pairs, as the GPU's two job slots run them together (a fragment job, then a
// compute job), the first wave a lone compute job when the count is odd, so that the last
// (buggy) job always has a healthy neighbour. Returns each wave's first job.
std::vector<unsigned> wave_starts(unsigned k) {
  std::vector<unsigned> starts;
  unsigned g = 0;
  if (k % 2 != 0) starts.push_back(g++);
  for (; g < k; g += 2) starts.push_back(g);
  starts.push_back(k);
  return starts;
}

Status multi_context(const GenParams& p, Rng& rng, TraceWriter& out) {
  const unsigned k = p.contexts;
  const std::size_t buggy = k - 1;
  const std::uint64_t buggy_n = share(p.accesses, k, buggy);
  Status st = out.comment(fmt::format(
      "multi-context: {} contexts, one job each, run in pairs as the two job slots allow (a fragment job and "
      "a compute job{}) on {}; job G does accesses/{} (+1 for G < {}): half heap record writes, half buffer "
      "reads",
      k, k % 2 != 0 ? "; first a lone compute job on every core" : "",
      p.cores < 2 ? "the one core" : "the two halves of the cores", k, p.accesses % k));
  if (!st) return st;
  st = out.comment(fmt::format(
      "buggy context: ctx{} (job{}) writes absolute VA {:#x}, outside all its BOs, after {} of its {} "
      "accesses: expect a terminal fault there while the other job of its pair finishes",
      buggy, buggy, kBugVa, buggy_n / 2, buggy_n));
  if (!st) return st;

  std::vector<CtxJob> jobs(k);
  for (unsigned g = 0; g < k; ++g) {
    Result<std::uint32_t> ctx = out.context(fmt::format("ctx{}", g));
    if (!ctx) return ctx.error();
    jobs[g].ctx = *ctx;
  }
  for (unsigned g = 0; g < k; ++g) {
    Result<std::uint32_t> heap = out.bo_create(jobs[g].ctx, fmt::format("heap{}", g), p.heap_bytes,
                                               bo_flags::kNoExec | bo_flags::kHeap);
    if (!heap) return heap.error();
    Result<std::uint32_t> buf =
        out.bo_create(jobs[g].ctx, fmt::format("buf{}", g), p.buffer_bytes, bo_flags::kNoExec);
    if (!buf) return buf.error();
    jobs[g].heap = *heap;
    jobs[g].buf = *buf;
  }
  const std::vector<unsigned> starts = wave_starts(k);
  Scheduler sched(rng, p.mean_delta, p.cores, {});
  for (std::size_t w = 0; w + 1 < starts.size(); ++w) {
    const unsigned w0 = starts[w], members = starts[w + 1] - w0;
    std::vector<Lane> lanes;
    for (unsigned g = w0; g < w0 + members; ++g) {
      CtxJob& j = jobs[g];
      const std::uint64_t n = share(p.accesses, k, g);
      j.left = {n / 2, n - n / 2};
      j.slots = n + (g == buggy ? 1 : 0);
      j.bump = BumpPointer(p.heap_bytes, n / 2);
      const unsigned i = g - w0;
      const bool shared = p.cores < members;
      const unsigned first = shared ? 0 : i * p.cores / members;
      const unsigned end = shared ? p.cores : (i + 1) * p.cores / members;
      j.lanes = end - first;
      add_lanes(lanes, g, first, end, j.slots);
      const std::array<std::uint32_t, 2> uses = {j.heap, j.buf};
      const JobType type = members == 2 && i == 0 ? JobType::Fragment : JobType::Compute;
      Result<std::uint32_t> job =
          out.job_begin(j.ctx, fmt::format("job{}", g), core_mask(first, end), uses, type);
      if (!job) return job.error();
      j.job = *job;
    }

    sched.restart(std::move(lanes));
    std::size_t lane = 0;
    std::uint64_t delta = 0;
    while (sched.next(lane, delta)) {
      Lane& l = sched.lane(lane);
      CtxJob& j = jobs[l.job];
      const auto core = static_cast<std::uint16_t>(l.core);
      if (l.job == buggy && j.done == buggy_n / 2) {
        st = out.access(j.job, core, delta, Access::Write, AddrKind::Absolute, kNoId, kBugVa, 4);
      } else if (const std::size_t op = pick(rng, j.left); op == 0) {
        --j.left[0];
        st = out.access(j.job, core, delta, Access::Write, AddrKind::BoOffset, j.heap, j.bump.next(), kLine);
      } else {
        --j.left[1];
        const std::uint64_t off = slice_offset(slice_bytes(p.buffer_bytes, j.lanes), l.slot, l.done++);
        st = out.access(j.job, core, delta, Access::Read, AddrKind::BoOffset, j.buf, off, kLine);
      }
      if (!st) return st;
      ++j.done;
      if (--j.slots == 0) {
        if (st = out.job_end(j.job); !st) return st;
      }
    }
  }
  for (const CtxJob& j : jobs) {
    if (st = out.bo_free(j.heap); !st) return st;
    if (st = out.bo_free(j.buf); !st) return st;
  }
  return Status::ok();
}

// ---- parameters ----------------------------------------------------------------------------------

Status validate(const GenParams& p) {
  if (std::find(kKinds.begin(), kKinds.end(), p.kind) == kKinds.end()) {
    return make_error(Errc::kInvalidArgument, fmt::format("trace generator: kind = '{}': unknown (known: {})",
                                                          p.kind, fmt::join(kKinds, ", ")));
  }
  if (p.accesses == 0 || p.accesses > kMaxAccesses) return bad("accesses", p.accesses, "must be in 1..2^40");
  if (p.cores == 0 || p.cores > kMaxCores) return bad("cores", p.cores, "must be in 1..64");
  if (p.mean_delta == 0 || p.mean_delta > kMaxDelta)
    return bad("mean_delta", p.mean_delta, "must be in 1..2^20");
  if (p.kind != "streaming") {
    if (p.heap_bytes == 0 || p.heap_bytes % kChunk != 0 || p.heap_bytes > kMaxHeap) {
      return bad("heap_bytes", p.heap_bytes, "must be a non-zero multiple of 2 MiB, at most 2 GiB");
    }
  }
  if (p.kind == "streaming" || p.kind == "multi-context") {
    if (p.buffer_bytes == 0 || p.buffer_bytes % kPage != 0 || p.buffer_bytes > kMaxBuffer) {
      return bad("buffer_bytes", p.buffer_bytes, "must be a non-zero multiple of 4 KiB, at most 1 GiB");
    }
  }
  if (p.kind == "tiler-heap" && tiler_writes(p.accesses) <= p.heap_bytes / kChunk) {
    // Fewer writes than chunks + 1 would let the bump pointer step over a chunk.
    return bad("accesses", p.accesses,
               fmt::format("too few for tiler-heap: {} record writes, need more than heap_bytes/2MiB = {}",
                           tiler_writes(p.accesses), p.heap_bytes / kChunk));
  }
  if (p.kind == "multi-context") {
    if (p.contexts < 2 || p.contexts > kMaxContexts) return bad("contexts", p.contexts, "must be in 2..64");
    if (p.accesses < 2ULL * p.contexts) {
      return bad("accesses", p.accesses, "must be at least 2 * contexts (the bug needs an access before it)");
    }
  }
  return Status::ok();
}

}  // namespace

std::vector<std::string> generator_kinds() { return {kKinds.begin(), kKinds.end()}; }

Status generate(const GenParams& p, TraceWriter& out) {
  if (Status st = validate(p); !st) return st;
  Rng rng(p.seed);
  if (Status st = out.comment(describe(p)); !st) return st;
  if (p.kind == "tiler-heap") return tiler_heap(p, rng, out);
  if (p.kind == "heap-random") return heap_random(p, rng, out);
  if (p.kind == "streaming") return streaming(p, rng, out);
  return multi_context(p, rng, out);
}

}  // namespace mali_sim::trace
