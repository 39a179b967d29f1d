// Host cost of reading traces: access records decoded per second by the binary and the text
// reader, from memory (the decoder alone) and from a file (plus read(2) in 64 KiB chunks), one
// event at a time (next()) and, for the binary reader, in runs (next_accesses(), as replay reads).
//
// Targets (docs/trace-format.md): binary >= 50 M access records/s, text >= 5 M/s, one core. Whole
// replays are measured by bench/engine_bench.cpp.
#include <benchmark/benchmark.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_traces.hpp"
#include "mali_sim/sim/trace.hpp"

namespace mali_sim::trace {
namespace {

using bench::MemStream;

constexpr std::uint64_t kAccesses = 1'000'000;

// A shader-like stream: two jobs on four cores each, mostly heap reads and writes at BO offsets
// (4 and 16 bytes), some instruction fetches, some absolute addresses.
void write_trace(TraceWriter& t) {
  const std::uint32_t ctx = *t.context("A");
  const std::uint32_t heap = *t.bo_create(ctx, "heap", 64ULL << 20, bo_flags::kNoExec | bo_flags::kHeap);
  const std::uint32_t code = *t.bo_create(ctx, "code", 64 << 10, 0);
  const std::uint32_t uses[] = {heap, code};
  const std::uint32_t jobs[] = {*t.job_begin(ctx, "vertex", 0x0f, uses),
                                *t.job_begin(ctx, "fragment", 0xf0, uses)};
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (std::uint64_t i = 0; i < kAccesses; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const unsigned j = i & 1;
    const auto core = static_cast<std::uint16_t>(j * 4 + (x & 3));
    const std::uint64_t delta = 1 + ((x >> 8) & 7);
    Status s;
    switch ((x >> 16) & 7) {
      case 0:
        s = t.access(jobs[j], core, delta, Access::Execute, AddrKind::BoOffset, code, (x >> 20) & 0xffc0, 64);
        break;
      case 1:
        s = t.access(jobs[j], core, delta, Access::Read, AddrKind::Absolute, kNoId, 0x1'0000'0000 + (x >> 40),
                     4);
        break;
      default:
        s = t.access(jobs[j], core, delta, (x & 0x100) != 0 ? Access::Write : Access::Read,
                     AddrKind::BoOffset, heap, (x >> 24) & ((64ULL << 20) - 16), (x & 0x200) != 0 ? 16 : 4);
        break;
    }
    if (!s) throw std::runtime_error(s.error().message);
  }
  for (std::uint32_t job : jobs) (void)t.job_end(job);
}

const bench::TraceFiles& traces() {
  static const bench::TraceFiles t("mali_sim_trace_bench", write_trace);
  return t;
}

// Reads every event; counts and checksums accesses so nothing is optimised away.
void drain(benchmark::State& state, TraceReader& r, std::uint64_t& accesses) {
  Event ev;
  std::uint64_t sum = 0;
  while (r.next(ev)) {
    if (ev.type == EventType::Access) {
      ++accesses;
      sum += ev.addr ^ ev.delta;
    }
  }
  if (!r.error()) state.SkipWithError(r.error().error().message.c_str());
  benchmark::DoNotOptimize(sum);
}

template <bool kBinary>
void BM_DecodeFromMemory(benchmark::State& state) {
  const std::string& bytes = kBinary ? traces().binary : traces().text;
  std::uint64_t accesses = 0;
  for (auto _ : state) {
    auto r = kBinary ? read_binary(std::make_unique<MemStream>(bytes), "bench")
                     : read_text(std::make_unique<MemStream>(bytes), "bench");
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    drain(state, **r, accesses);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(accesses));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes.size() * state.iterations()));
  state.counters["bytes_per_access"] = static_cast<double>(bytes.size()) / static_cast<double>(kAccesses);
}

template <bool kBinary>
void BM_DecodeFromFile(benchmark::State& state) {
  const std::string path = kBinary ? traces().binary_path() : traces().text_path();
  std::uint64_t accesses = 0;
  for (auto _ : state) {
    auto r = open_trace(path);
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    drain(state, **r, accesses);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(accesses));
}

// The same, in runs of 256 accesses as the engine reads them.
void BM_BinaryDecodeAccessRuns(benchmark::State& state) {
  const std::string& bytes = traces().binary;
  std::uint64_t accesses = 0;
  std::vector<AccessRecord> run(256);
  for (auto _ : state) {
    auto r = read_binary(std::make_unique<MemStream>(bytes), "bench");
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    std::uint64_t sum = 0;
    Event ev;
    for (;;) {
      const std::size_t n = (*r)->next_accesses(run);
      for (std::size_t i = 0; i < n; ++i) sum += run[i].addr ^ run[i].delta;
      accesses += n;
      if (n != 0) continue;
      if (!(*r)->next(ev)) break;
      if (ev.type == EventType::Access) {
        ++accesses;
        sum += ev.addr ^ ev.delta;
      }
    }
    if (!(*r)->error()) state.SkipWithError((*r)->error().error().message.c_str());
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(accesses));
}

void BM_BinaryDecodeAccess(benchmark::State& state) { BM_DecodeFromMemory<true>(state); }
void BM_TextParseAccess(benchmark::State& state) { BM_DecodeFromMemory<false>(state); }
void BM_BinaryDecodeAccessFromFile(benchmark::State& state) { BM_DecodeFromFile<true>(state); }
void BM_TextParseAccessFromFile(benchmark::State& state) { BM_DecodeFromFile<false>(state); }

BENCHMARK(BM_BinaryDecodeAccess)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BinaryDecodeAccessRuns)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TextParseAccess)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BinaryDecodeAccessFromFile)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TextParseAccessFromFile)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mali_sim::trace
