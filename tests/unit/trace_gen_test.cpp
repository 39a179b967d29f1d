// Synthetic trace generators: each kind's structure (event counts derived from the parameters,
// accesses inside their BOs but for the one deliberate bug, chunks touched, time order), the
// determinism a seed promises (byte-identical files), and parameter validation. Most checks run
// on an in-memory recording writer; the file round trip checks that the trace IO carries the same
// events.
#include "mali_sim/sim/trace_gen.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace mali_sim::trace {
namespace {

constexpr std::uint64_t kChunk = 2ULL << 20;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A TraceWriter that keeps everything in memory, assigning ids like the real writers (dense, in
// declaration order), so its events compare field by field with a reader's.
class Recorder : public TraceWriter {
 public:
  std::vector<Event> events;
  std::vector<std::vector<std::uint32_t>> uses;  // per JobBegin event, in order
  std::vector<std::string> comments;
  Names names;
  // Fail the n-th call (0-based) of any kind, to check that generate() passes errors on.
  std::uint64_t fail_at = ~0ULL;

  Result<std::uint32_t> context(std::string_view name) override {
    if (Status st = tick(); !st) return st.error();
    names.contexts.emplace_back(name);
    Event ev;
    ev.type = EventType::Context;
    ev.ctx = static_cast<std::uint32_t>(names.contexts.size() - 1);
    events.push_back(ev);
    return ev.ctx;
  }
  Result<std::uint32_t> bo_create(std::uint32_t ctx, std::string_view name, std::uint64_t bytes,
                                  std::uint32_t flags) override {
    if (Status st = tick(); !st) return st.error();
    names.bos.emplace_back(name);
    names.bo_ctx.push_back(ctx);
    Event ev;
    ev.type = EventType::BoCreate;
    ev.ctx = ctx;
    ev.bo = static_cast<std::uint32_t>(names.bos.size() - 1);
    ev.bytes = bytes;
    ev.flags = flags;
    events.push_back(ev);
    return ev.bo;
  }
  Status bo_free(std::uint32_t bo) override {
    if (Status st = tick(); !st) return st;
    Event ev;
    ev.type = EventType::BoFree;
    ev.ctx = names.bo_ctx.at(bo);
    ev.bo = bo;
    events.push_back(ev);
    return Status::ok();
  }
  Status madvise(std::uint32_t /*bo*/, Madvise /*advice*/) override {
    ADD_FAILURE() << "generators do not madvise";
    return Status::ok();
  }
  Result<std::uint32_t> job_begin(std::uint32_t ctx, std::string_view name, std::uint64_t cores,
                                  std::span<const std::uint32_t> job_uses, JobType type) override {
    if (Status st = tick(); !st) return st.error();
    names.jobs.emplace_back(name);
    Event ev;
    ev.type = EventType::JobBegin;
    ev.job_type = type;
    ev.ctx = ctx;
    ev.job = static_cast<std::uint32_t>(names.jobs.size() - 1);
    ev.cores = cores;
    events.push_back(ev);
    uses.emplace_back(job_uses.begin(), job_uses.end());
    return ev.job;
  }
  Status job_end(std::uint32_t job) override {
    if (Status st = tick(); !st) return st;
    Event ev;
    ev.type = EventType::JobEnd;
    ev.job = job;
    events.push_back(ev);
    return Status::ok();
  }
  Status access(std::uint32_t job, std::uint16_t core, std::uint64_t delta, Access op, AddrKind kind,
                std::uint32_t bo, std::uint64_t addr, std::uint32_t size) override {
    if (Status st = tick(); !st) return st;
    Event ev;
    ev.type = EventType::Access;
    ev.job = job;
    ev.core = core;
    ev.delta = delta;
    ev.op = op;
    ev.addr_kind = kind;
    ev.bo = bo;
    ev.addr = addr;
    ev.size = size;
    events.push_back(ev);
    return Status::ok();
  }
  Status comment(std::string_view text) override {
    if (Status st = tick(); !st) return st;
    comments.emplace_back(text);
    return Status::ok();
  }
  Status finish() override { return Status::ok(); }

 private:
  Status tick() {
    if (calls_++ == fail_at) return make_error(Errc::kOutOfMemory, "recorder: injected failure");
    return Status::ok();
  }
  std::uint64_t calls_ = 0;
};

GenParams params(std::string kind, std::uint64_t accesses = 20000) {
  GenParams p;
  p.kind = std::move(kind);
  p.accesses = accesses;
  p.heap_bytes = 16ULL << 20;
  p.buffer_bytes = 1ULL << 20;
  return p;
}

Recorder record(const GenParams& p) {
  Recorder r;
  const Status st = generate(p, r);
  EXPECT_TRUE(st) << (st ? "" : st.error().message);
  return r;
}

// What a trace contains, checked against the rules every generated trace keeps.
struct Summary {
  std::map<EventType, std::uint64_t> by_type;
  std::map<Access, std::uint64_t> by_op;
  std::vector<std::uint64_t> per_core = std::vector<std::uint64_t>(64);
  std::vector<std::uint64_t> per_job;
  std::map<std::uint32_t, std::set<std::uint64_t>> chunks;  // per BO: 2 MiB chunks touched
  std::vector<Event> absolute;                              // accesses outside any BO
  std::vector<std::uint64_t> absolute_after;                // ... after how many of their job's accesses
};

Summary summarize(const std::vector<Event>& events, const std::vector<std::vector<std::uint32_t>>& uses) {
  Summary s;
  std::vector<std::uint64_t> bo_bytes, bo_ctx;
  std::vector<bool> bo_live;
  std::vector<std::uint64_t> job_cores, job_ctx;
  std::vector<bool> job_running;
  std::vector<std::uint64_t> core_time(64), job_last_time;
  std::uint64_t now = 0;  // the emission time of the previous access: must not go backwards
  std::size_t job_index = 0;
  for (const Event& ev : events) {
    ++s.by_type[ev.type];
    switch (ev.type) {
      case EventType::Context: break;
      case EventType::BoCreate:
        EXPECT_EQ(ev.bo, bo_bytes.size());
        bo_bytes.push_back(ev.bytes);
        bo_ctx.push_back(ev.ctx);
        bo_live.push_back(true);
        break;
      case EventType::BoFree:
        EXPECT_TRUE(bo_live.at(ev.bo));
        bo_live.at(ev.bo) = false;
        for (const bool r : job_running) EXPECT_FALSE(r) << "BO freed under a running job";
        break;
      case EventType::Madvise: ADD_FAILURE() << "unexpected madvise"; break;
      case EventType::JobBegin:
        EXPECT_EQ(ev.job, job_cores.size());
        job_cores.push_back(ev.cores);
        job_ctx.push_back(ev.ctx);
        job_running.push_back(true);
        s.per_job.push_back(0);
        {
          // A job uses every BO of its context.
          std::vector<std::uint32_t> own;
          for (std::uint32_t bo = 0; bo < bo_ctx.size(); ++bo) {
            if (bo_live[bo] && bo_ctx[bo] == ev.ctx) own.push_back(bo);
          }
          EXPECT_EQ(uses.at(job_index++), own);
        }
        break;
      case EventType::JobEnd:
        EXPECT_TRUE(job_running.at(ev.job));
        job_running.at(ev.job) = false;
        break;
      case EventType::Access: {
        EXPECT_TRUE(job_running.at(ev.job)) << "access outside its job";
        EXPECT_TRUE((job_cores.at(ev.job) >> ev.core) & 1U) << "core " << ev.core << " not in the job";
        EXPECT_GE(ev.delta, 1U);
        core_time[ev.core] += ev.delta;
        EXPECT_GE(core_time[ev.core], now) << "accesses out of time order";
        now = core_time[ev.core];
        ++s.by_op[ev.op];
        ++s.per_core[ev.core];
        if (ev.addr_kind == AddrKind::Absolute) {
          s.absolute.push_back(ev);
          s.absolute_after.push_back(s.per_job[ev.job]);
        } else {
          EXPECT_TRUE(bo_live.at(ev.bo));
          EXPECT_EQ(bo_ctx.at(ev.bo), job_ctx.at(ev.job)) << "BO of another context";
          EXPECT_LE(ev.addr + ev.size, bo_bytes.at(ev.bo)) << "access past the end of its BO";
          EXPECT_EQ(ev.addr / 4096, (ev.addr + ev.size - 1) / 4096) << "access crosses a page";
          s.chunks[ev.bo].insert(ev.addr / kChunk);
        }
        ++s.per_job[ev.job];
        break;
      }
    }
  }
  for (const bool r : job_running) EXPECT_FALSE(r) << "job never ended";
  for (const bool l : bo_live) EXPECT_FALSE(l) << "BO never freed";
  return s;
}

Summary summarize(const Recorder& r) { return summarize(r.events, r.uses); }

std::uint64_t share(std::uint64_t total, std::uint64_t parts, std::uint64_t i) {
  return total / parts + (i < total % parts ? 1 : 0);
}

std::string header(const Recorder& r) {
  std::string all;
  for (const std::string& c : r.comments) all += c + "\n";
  return all;
}

// ---------------------------------------------------------------------------------------------
// Each kind's structure
// ---------------------------------------------------------------------------------------------

TEST(TraceGen, KindsAreListed) {
  EXPECT_EQ(generator_kinds(),
            (std::vector<std::string>{"tiler-heap", "heap-random", "streaming", "multi-context"}));
}

TEST(TraceGen, TilerHeapAppendsThroughTheWholeHeap) {
  const GenParams p = params("tiler-heap");
  const Recorder r = record(p);
  const Summary s = summarize(r);
  const std::uint64_t n = p.accesses;
  EXPECT_EQ(s.by_type.at(EventType::Context), 1U);
  EXPECT_EQ(s.by_type.at(EventType::BoCreate), 2U);
  EXPECT_EQ(s.by_type.at(EventType::JobBegin), 1U);
  EXPECT_EQ(s.by_type.at(EventType::JobEnd), 1U);
  EXPECT_EQ(s.by_type.at(EventType::BoFree), 2U);
  EXPECT_EQ(s.by_type.at(EventType::Access), n);
  EXPECT_EQ(s.by_op.at(Access::Execute), n / 8);
  EXPECT_EQ(s.by_op.at(Access::Read), n / 8);
  EXPECT_EQ(s.by_op.at(Access::Write), n - 2 * (n / 8));
  for (unsigned c = 0; c < p.cores; ++c) EXPECT_EQ(s.per_core[c], share(n, p.cores, c));
  EXPECT_TRUE(s.absolute.empty());

  const Event& heap = r.events[1];
  const Event& code = r.events[2];
  EXPECT_EQ(heap.flags, bo_flags::kNoExec | bo_flags::kHeap);
  EXPECT_EQ(heap.bytes, p.heap_bytes);
  EXPECT_EQ(code.flags, 0U);  // instruction fetches need an executable BO
  EXPECT_EQ(r.events[3].cores, 0xFU);
  EXPECT_EQ(s.chunks.at(heap.bo).size(), p.heap_bytes / kChunk);

  // A bump pointer: writes go up from 0 to the last record, reads re-read written records,
  // instruction fetches come from the code BO.
  std::set<std::uint64_t> written;
  std::uint64_t last_write = 0;
  bool first = true;
  for (const Event& ev : r.events) {
    if (ev.type != EventType::Access) continue;
    EXPECT_EQ(ev.size, 64U);
    if (ev.op == Access::Write) {
      EXPECT_EQ(ev.bo, heap.bo);
      if (first) {
        EXPECT_EQ(ev.addr, 0U);
      } else {
        EXPECT_GT(ev.addr, last_write);
      }
      first = false;
      last_write = ev.addr;
      written.insert(ev.addr);
    } else if (ev.op == Access::Read) {
      EXPECT_EQ(ev.bo, heap.bo);
      EXPECT_TRUE(written.count(ev.addr)) << "read of a record not yet written";
    } else {
      EXPECT_EQ(ev.bo, code.bo);
    }
  }
  EXPECT_EQ(last_write, p.heap_bytes - 64);
  const auto last = std::find_if(r.events.rbegin(), r.events.rend(),
                                 [](const Event& ev) { return ev.type == EventType::Access; });
  EXPECT_EQ(last->op, Access::Write);
  EXPECT_EQ(last->addr, p.heap_bytes - 64) << "the pointer reaches the end with the last access";
  EXPECT_TRUE(contains(header(r), "kind=tiler-heap seed=1 accesses=20000 cores=4"));
}

TEST(TraceGen, TilerHeapTouchesEveryChunkWithTheFewestAccessesAllowed) {
  // 32 chunks need 33 writes; 43 accesses give 43 - 2*5 = 33.
  GenParams p = params("tiler-heap", 43);
  p.heap_bytes = 64ULL << 20;
  const Recorder r = record(p);
  EXPECT_EQ(summarize(r).chunks.at(r.events[1].bo).size(), 32U);
  p.accesses = 42;
  Recorder rejected;
  const Status st = generate(p, rejected);
  ASSERT_FALSE(st);
  EXPECT_TRUE(contains(st.error().message, "accesses")) << st.error().message;
  EXPECT_TRUE(rejected.events.empty() && rejected.comments.empty()) << "nothing written before validation";
}

TEST(TraceGen, HeapRandomSpreadsAlignedAccessesOverTheHeap) {
  const GenParams p = params("heap-random");
  const Recorder r = record(p);
  const Summary s = summarize(r);
  EXPECT_EQ(s.by_type.at(EventType::BoCreate), 1U);
  EXPECT_EQ(r.events[1].flags, bo_flags::kNoExec | bo_flags::kHeap);
  EXPECT_EQ(s.by_type.at(EventType::Access), p.accesses);
  EXPECT_EQ(s.by_op.at(Access::Read) + s.by_op.at(Access::Write), p.accesses);
  // A fair coin over 20000 tosses stays well within 45..55 %.
  EXPECT_GT(s.by_op.at(Access::Read), p.accesses * 45 / 100);
  EXPECT_LT(s.by_op.at(Access::Read), p.accesses * 55 / 100);
  EXPECT_EQ(s.chunks.at(r.events[1].bo).size(), p.heap_bytes / kChunk);
  for (const Event& ev : r.events) {
    if (ev.type == EventType::Access) {
      EXPECT_TRUE(ev.size == 4 && ev.addr % 4 == 0);
    }
  }
  for (unsigned c = 0; c < p.cores; ++c) EXPECT_EQ(s.per_core[c], share(p.accesses, p.cores, c));
}

TEST(TraceGen, StreamingWalksEachCoresSliceOfBothBuffers) {
  GenParams p = params("streaming", 10001);
  p.cores = 3;
  p.buffer_bytes = 64ULL << 10;  // small enough for each core to wrap in its slice
  const Recorder r = record(p);
  const Summary s = summarize(r);
  EXPECT_EQ(s.by_type.at(EventType::BoCreate), 2U);
  EXPECT_EQ(r.events[1].flags, bo_flags::kNoExec);
  EXPECT_EQ(r.events[2].flags, bo_flags::kNoExec);
  std::uint64_t reads = 0;
  for (unsigned c = 0; c < p.cores; ++c) {
    EXPECT_EQ(s.per_core[c], share(p.accesses, p.cores, c));
    reads += (s.per_core[c] + 1) / 2;
  }
  EXPECT_EQ(s.by_op.at(Access::Read), reads);
  EXPECT_EQ(s.by_op.at(Access::Write), p.accesses - reads);

  const std::uint64_t slice = p.buffer_bytes / p.cores / 64 * 64;
  const std::uint32_t input = r.events[1].bo, output = r.events[2].bo;
  std::vector<std::uint64_t> step(p.cores);
  for (const Event& ev : r.events) {
    if (ev.type != EventType::Access) continue;
    const std::uint64_t k = step[ev.core]++;
    EXPECT_EQ(ev.bo, k % 2 == 0 ? input : output);
    EXPECT_EQ(ev.op, k % 2 == 0 ? Access::Read : Access::Write);
    EXPECT_EQ(ev.addr, ev.core * slice + (k / 2) % (slice / 64) * 64) << "core " << ev.core << " step " << k;
  }
  // 3334 accesses a core: 1667 lines of a 341-line slice, wrapped several times.
  EXPECT_GT(step[0] / 2, slice / 64);
}

TEST(TraceGen, MultiContextHasOneBuggyContext) {
  GenParams p = params("multi-context", 9001);
  p.cores = 4;
  p.contexts = 3;
  const Recorder r = record(p);
  const Summary s = summarize(r);
  EXPECT_EQ(s.by_type.at(EventType::Context), 3U);
  EXPECT_EQ(s.by_type.at(EventType::BoCreate), 6U);
  EXPECT_EQ(s.by_type.at(EventType::BoFree), 6U);
  EXPECT_EQ(s.by_type.at(EventType::JobBegin), 3U);
  EXPECT_EQ(s.by_type.at(EventType::JobEnd), 3U);
  EXPECT_EQ(s.by_type.at(EventType::Access), p.accesses + 1);

  // Three jobs: a lone compute job on all four cores, then a pair as the two job slots run them,
  // fragment then compute, on the two halves of the cores.
  std::vector<std::uint64_t> masks;
  std::vector<JobType> types;
  for (const Event& ev : r.events) {
    if (ev.type == EventType::JobBegin) {
      masks.push_back(ev.cores);
      types.push_back(ev.job_type);
    }
  }
  EXPECT_EQ(masks, (std::vector<std::uint64_t>{0xF, 0x3, 0xC}));
  EXPECT_EQ(types, (std::vector<JobType>{JobType::Compute, JobType::Fragment, JobType::Compute}));
  // A pair begins once the job before it has ended: job 0's end precedes job 1's begin, and the
  // pair's jobs both begin before either ends.
  std::vector<std::size_t> begin_at(3), end_at(3);
  for (std::size_t i = 0; i < r.events.size(); ++i) {
    const Event& ev = r.events[i];
    if (ev.type == EventType::JobBegin) begin_at[ev.job] = i;
    if (ev.type == EventType::JobEnd) end_at[ev.job] = i;
  }
  EXPECT_LT(end_at[0], begin_at[1]);
  EXPECT_LT(begin_at[2], std::min(end_at[1], end_at[2]));

  for (std::uint32_t g = 0; g < 3; ++g) {
    const std::uint64_t n = share(p.accesses, 3, g);
    EXPECT_EQ(s.per_job[g], n + (g == 2 ? 1 : 0));
    // Half heap writes (every chunk of a 16 MiB heap, at ~1500 writes), half buffer reads.
    std::uint64_t heap_writes = 0, buf_reads = 0;
    for (const Event& ev : r.events) {
      if (ev.type != EventType::Access || ev.job != g || ev.addr_kind == AddrKind::Absolute) continue;
      const bool heap = (r.events.at(3 + ev.bo).flags & bo_flags::kHeap) != 0;  // BOs follow 3 contexts
      (heap ? heap_writes : buf_reads) += 1;
      EXPECT_EQ(ev.op, heap ? Access::Write : Access::Read);
    }
    EXPECT_EQ(heap_writes, n / 2);
    EXPECT_EQ(buf_reads, n - n / 2);
  }
  for (const auto& [bo, chunks] : s.chunks) {
    if ((r.events.at(3 + bo).flags & bo_flags::kHeap) != 0) {
      EXPECT_EQ(chunks.size(), p.heap_bytes / kChunk);
    }
  }

  ASSERT_EQ(s.absolute.size(), 1U);
  const Event& bug = s.absolute[0];
  EXPECT_EQ(bug.job, 2U);
  EXPECT_EQ(bug.addr, kBugVa);
  EXPECT_EQ(bug.bo, kNoId);
  EXPECT_EQ(s.absolute_after[0], share(p.accesses, 3, 2) / 2) << "part way through the job";
  // Outside every BO whatever the VA allocator does: even packed from the bottom of the space
  // with worst-case 2 MiB alignment, the context's BOs end far below it.
  EXPECT_GT(kBugVa, (32ULL << 20) + (2ULL << 30) + (1ULL << 30) + 2 * kChunk);
  EXPECT_LT(kBugVa, 1ULL << 32);
  EXPECT_TRUE(contains(header(r), "buggy context: ctx2")) << header(r);
  EXPECT_TRUE(contains(header(r), "contexts=3"));
}

TEST(TraceGen, MultiContextPairsShareTheOnlyCoreAndNeverRunMoreThanTwoJobs) {
  GenParams p = params("multi-context", 3000);
  p.cores = 1;
  p.contexts = 5;
  const Recorder r = record(p);
  const Summary s = summarize(r);
  std::size_t running = 0, most = 0;
  for (const Event& ev : r.events) {
    if (ev.type == EventType::JobBegin) {
      EXPECT_EQ(ev.cores, 0x1U);
      most = std::max(most, ++running);
    }
    if (ev.type == EventType::JobEnd) --running;
  }
  EXPECT_EQ(most, 2U) << "one job per job slot";
  EXPECT_EQ(s.by_type.at(EventType::Access), p.accesses + 1);
  EXPECT_EQ(s.per_core[0], p.accesses + 1);
  ASSERT_EQ(s.absolute.size(), 1U);
  EXPECT_EQ(s.absolute[0].job, 4U);
}

TEST(TraceGen, DeltasAverageTheMeanOnEveryCore) {
  for (const std::uint64_t mean : {1ULL, 4ULL, 100ULL}) {
    GenParams p = params("heap-random");
    p.mean_delta = mean;
    const Recorder r = record(p);
    std::vector<std::uint64_t> sum(p.cores), count(p.cores);
    for (const Event& ev : r.events) {
      if (ev.type != EventType::Access) continue;
      EXPECT_LE(ev.delta, 2 * mean - 1);
      sum[ev.core] += ev.delta;
      ++count[ev.core];
    }
    for (unsigned c = 0; c < p.cores; ++c) {
      const double avg = static_cast<double>(sum[c]) / static_cast<double>(count[c]);
      EXPECT_NEAR(avg, static_cast<double>(mean), 0.05 * static_cast<double>(mean)) << "core " << c;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Determinism and errors
// ---------------------------------------------------------------------------------------------

TEST(TraceGen, SameSeedSameEventsDifferentSeedDifferent) {
  for (const std::string& kind : generator_kinds()) {
    GenParams p = params(kind, 5000);
    const Recorder a = record(p), b = record(p);
    ASSERT_EQ(a.events.size(), b.events.size()) << kind;
    bool same = true;
    for (std::size_t i = 0; i < a.events.size() && same; ++i) {
      same = a.events[i].addr == b.events[i].addr && a.events[i].delta == b.events[i].delta &&
             a.events[i].core == b.events[i].core && a.events[i].op == b.events[i].op;
    }
    EXPECT_TRUE(same) << kind;
    p.seed = 2;
    const Recorder c = record(p);
    bool differ = a.events.size() != c.events.size();
    for (std::size_t i = 0; i < a.events.size() && !differ; ++i) {
      differ = a.events[i].addr != c.events[i].addr || a.events[i].delta != c.events[i].delta;
    }
    EXPECT_TRUE(differ) << kind;
    EXPECT_TRUE(contains(header(c), "seed=2")) << kind;
  }
}

TEST(TraceGen, RejectsBadParametersNamingThem) {
  struct Case {
    std::string param;
    GenParams p;
  };
  std::vector<Case> cases;
  auto add = [&](std::string param, std::string kind, auto change) {
    GenParams p = params(std::move(kind));
    change(p);
    cases.push_back({std::move(param), p});
  };
  add("kind", "tiler", [](GenParams&) {});
  add("kind", "", [](GenParams&) {});
  add("accesses", "heap-random", [](GenParams& p) { p.accesses = 0; });
  add("accesses", "streaming", [](GenParams& p) { p.accesses = ~0ULL; });
  add("cores", "heap-random", [](GenParams& p) { p.cores = 0; });
  add("cores", "streaming", [](GenParams& p) { p.cores = 65; });
  add("mean_delta", "streaming", [](GenParams& p) { p.mean_delta = 0; });
  add("heap_bytes", "tiler-heap", [](GenParams& p) { p.heap_bytes = 3ULL << 20; });
  add("heap_bytes", "heap-random", [](GenParams& p) { p.heap_bytes = 0; });
  add("heap_bytes", "multi-context", [](GenParams& p) { p.heap_bytes = 4ULL << 30; });
  add("buffer_bytes", "streaming", [](GenParams& p) { p.buffer_bytes = 1000; });
  add("buffer_bytes", "multi-context", [](GenParams& p) { p.buffer_bytes = 0; });
  add("contexts", "multi-context", [](GenParams& p) { p.contexts = 1; });
  add("contexts", "multi-context", [](GenParams& p) { p.contexts = 0; });
  add("accesses", "multi-context", [](GenParams& p) { p.accesses = 5; });
  for (const Case& c : cases) {
    Recorder r;
    const Status st = generate(c.p, r);
    ASSERT_FALSE(st) << c.param << " for " << c.p.kind;
    EXPECT_EQ(st.error().code, Errc::kInvalidArgument);
    EXPECT_TRUE(contains(st.error().message, c.param + " =")) << st.error().message;
    EXPECT_TRUE(r.events.empty() && r.comments.empty());
  }
  // Parameters a kind does not use are not checked.
  GenParams p = params("streaming");
  p.heap_bytes = 3;
  EXPECT_TRUE(generate(p, *std::make_unique<Recorder>()));
}

TEST(TraceGen, PassesTheWritersErrorsOn) {
  for (const std::string& kind : generator_kinds()) {
    for (const std::uint64_t at : {0ULL, 3ULL, 20ULL, 400ULL}) {
      Recorder r;
      r.fail_at = at;
      const Status st = generate(params(kind, 1000), r);
      ASSERT_FALSE(st) << kind << " failing at " << at;
      EXPECT_EQ(st.error().code, Errc::kOutOfMemory);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Through the trace IO
// ---------------------------------------------------------------------------------------------

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "trace_gen_test_" + std::to_string(::getpid()) + "_" + name;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Generates into a file; returns its bytes.
std::string generate_file(const GenParams& p, TraceFormat format, const std::string& path) {
  Result<std::unique_ptr<TraceWriter>> w = create_trace(path, format);
  EXPECT_TRUE(w) << (w ? "" : w.error().message);
  if (!w) return {};
  Status st = generate(p, **w);
  EXPECT_TRUE(st) << (st ? "" : st.error().message);
  st = (*w)->finish();
  EXPECT_TRUE(st) << (st ? "" : st.error().message);
  return slurp(path);
}

TEST(TraceGen, FilesReadBackAsTheSameEvents) {
  for (const std::string& kind : generator_kinds()) {
    for (const TraceFormat format : {TraceFormat::Text, TraceFormat::Binary}) {
      const GenParams p = params(kind, 3000);
      const std::string path = temp_path(kind + (format == TraceFormat::Text ? ".trace" : ".btrace"));
      generate_file(p, format, path);
      const Recorder expect = record(p);

      Result<std::unique_ptr<TraceReader>> rd = open_trace(path);
      ASSERT_TRUE(rd) << rd.error().message;
      std::vector<Event> got;
      std::vector<std::vector<std::uint32_t>> uses;
      Event ev;
      while ((*rd)->next(ev)) {
        got.push_back(ev);
        if (ev.type == EventType::JobBegin) uses.emplace_back((*rd)->uses().begin(), (*rd)->uses().end());
      }
      ASSERT_TRUE((*rd)->error()) << ((*rd)->error() ? "" : (*rd)->error().error().message);
      ASSERT_EQ(got.size(), expect.events.size()) << kind;
      for (std::size_t i = 0; i < got.size(); ++i) {
        const Event& a = got[i];
        const Event& b = expect.events[i];
        ASSERT_EQ(a.type, b.type) << kind << " event " << i;
        if (a.type == EventType::Access) {
          ASSERT_TRUE(a.job == b.job && a.core == b.core && a.delta == b.delta && a.op == b.op &&
                      a.addr_kind == b.addr_kind && a.addr == b.addr && a.size == b.size)
              << kind << " access " << i;
          if (a.addr_kind == AddrKind::BoOffset) {
            ASSERT_EQ(a.bo, b.bo);
          }
        } else if (a.type == EventType::BoCreate) {
          EXPECT_TRUE(a.ctx == b.ctx && a.bo == b.bo && a.bytes == b.bytes && a.flags == b.flags);
        } else if (a.type == EventType::JobBegin) {
          EXPECT_TRUE(a.ctx == b.ctx && a.job == b.job && a.cores == b.cores);
        }
      }
      EXPECT_EQ(uses, expect.uses);
      EXPECT_EQ((*rd)->names().contexts, expect.names.contexts);
      EXPECT_EQ((*rd)->names().bos, expect.names.bos);
      EXPECT_EQ((*rd)->names().jobs, expect.names.jobs);
      if (format == TraceFormat::Text) {
        const std::string text = slurp(path);
        EXPECT_TRUE(contains(text, "kind=" + kind)) << "the comment heads the text form";
      }
      std::remove(path.c_str());
    }
  }
}

TEST(TraceGen, SameSeedByteIdenticalFiles) {
  for (const std::string& kind : generator_kinds()) {
    for (const TraceFormat format : {TraceFormat::Text, TraceFormat::Binary}) {
      GenParams p = params(kind, 2000);
      const std::string a = temp_path("a"), b = temp_path("b"), c = temp_path("c");
      const std::string bytes_a = generate_file(p, format, a);
      EXPECT_FALSE(bytes_a.empty());
      EXPECT_EQ(bytes_a, generate_file(p, format, b)) << kind;
      p.seed = 7;
      EXPECT_NE(bytes_a, generate_file(p, format, c)) << kind;
      for (const std::string& f : {a, b, c}) std::remove(f.c_str());
    }
  }
}

}  // namespace
}  // namespace mali_sim::trace
