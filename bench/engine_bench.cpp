// Host cost of a whole replay: a binary or text trace read from memory and replayed by the Engine
// on the default GPU (g52), driver and engine parameters, as `mali-sim run` does.
//
// The traces are `mali-sim gen streaming --cores 2 --buffer SIZE`: two cores streaming through two
// buffers in 64-byte steps. The buffer size sets where translations come from:
//   64 KiB  every page stays in the uTLB: after the first access to each, every access is a uTLB
//           hit (the TLB-hit-dominated trace of the target);
//   1 MiB   one access in 64 misses the uTLB and hits the L2 TLB;
//   16 MiB  (the generator's default) one access in 64 misses the uTLB and walks the page table,
//           as the buffers exceed the L2 TLB's reach.
// Targets (docs/performance.md): the TLB-hit-dominated binary replay (64 KiB) >= 100 M accesses/s
// and >= 0.7 of the decoder alone over the same trace in the same run (the vs_decoder counter);
// the walking one (16 MiB) >= 60 M/s; text >= 15 M/s.
#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <vector>

#include "bench_traces.hpp"
#include "mali_sim/gpu/gpu_spec.hpp"
#include "mali_sim/sim/engine.hpp"
#include "mali_sim/sim/trace.hpp"
#include "mali_sim/sim/trace_gen.hpp"

namespace mali_sim {
namespace {

using bench::MemStream;

constexpr std::uint64_t kAccesses = 1'000'000;

// The streaming trace through buffers of `kib` KiB, made once.
const bench::TraceFiles& traces(std::int64_t kib) {
  static std::map<std::int64_t, std::unique_ptr<bench::TraceFiles>> made;
  std::unique_ptr<bench::TraceFiles>& t = made[kib];
  if (!t) {
    t = std::make_unique<bench::TraceFiles>("mali_sim_engine_bench_" + std::to_string(kib),
                                            [kib](trace::TraceWriter& w) {
                                              trace::GenParams p;
                                              p.kind = "streaming";
                                              p.accesses = kAccesses;
                                              p.cores = 2;
                                              p.buffer_bytes = static_cast<std::uint64_t>(kib) << 10;
                                              if (Status s = trace::generate(p, w); !s)
                                                throw std::runtime_error(s.error().message);
                                            });
  }
  return *t;
}

// Accesses per second of the binary decoder alone over the same trace, by buffer size: the floor
// a replay is compared with (BM_DecodeBinaryStreaming, which runs first).
std::map<std::int64_t, double>& decoder_rates() {
  static std::map<std::int64_t, double> rates;
  return rates;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The decoder alone: the trace's accesses decoded in runs, as replay reads them, and dropped.
void BM_DecodeBinaryStreaming(benchmark::State& state) {
  const bench::TraceFiles& files = traces(state.range(0));
  std::vector<trace::AccessRecord> run(256);
  std::uint64_t accesses = 0;
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = trace::read_binary(std::make_unique<MemStream>(files.binary), "bench");
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    trace::Event ev;
    for (;;) {
      const std::size_t n = (*r)->next_accesses(run);
      accesses += n;
      if (n == 0 && !(*r)->next(ev)) break;
      benchmark::DoNotOptimize(run[0].addr);
    }
    seconds += seconds_since(t0);
  }
  decoder_rates()[state.range(0)] = static_cast<double>(accesses) / seconds;
  state.SetItemsProcessed(static_cast<std::int64_t>(accesses));
}

template <bool kBinary>
void BM_Replay(benchmark::State& state) {
  const bench::TraceFiles& files = traces(state.range(0));
  const std::string& bytes = kBinary ? files.binary : files.text;
  const GpuSpec spec = gpu_preset("g52").value();
  std::uint64_t accesses = 0;
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = kBinary ? trace::read_binary(std::make_unique<MemStream>(bytes), "bench")
                     : trace::read_text(std::make_unique<MemStream>(bytes), "bench");
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    Engine engine(spec, DriverConfig{}, EngineConfig{});
    if (Status s = engine.run(**r); !s) {
      state.SkipWithError(s.error().message.c_str());
      return;
    }
    accesses += engine.results().accesses;
    benchmark::DoNotOptimize(engine.results().cycles);
    seconds += seconds_since(t0);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(accesses));
  // The target is a ratio to the decoder measured in the same run (docs/performance.md).
  const auto floor = decoder_rates().find(state.range(0));
  if (kBinary && floor != decoder_rates().end())
    state.counters["vs_decoder"] = static_cast<double>(accesses) / seconds / floor->second;
}

void BM_ReplayBinaryStreaming(benchmark::State& state) { BM_Replay<true>(state); }
void BM_ReplayTextStreaming(benchmark::State& state) { BM_Replay<false>(state); }

// The argument is the buffer size in KiB.
BENCHMARK(BM_DecodeBinaryStreaming)->Arg(64)->Arg(1024)->Arg(16384)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReplayBinaryStreaming)->Arg(64)->Arg(1024)->Arg(16384)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReplayTextStreaming)->Arg(64)->Arg(16384)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mali_sim
