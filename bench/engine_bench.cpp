// Host cost of a whole replay: a binary or text trace read from memory and replayed by the Engine
// on the default GPU (g52), driver and engine parameters, as `mali-sim run` does.
//
// The trace is `mali-sim gen streaming --cores 2`: two cores streaming through two 16 MiB buffers
// in 64-byte steps, so 96.5% of the accesses hit the uTLB and the rest walk (the buffers are
// larger than the L2 TLB's reach). Target (docs/performance.md): binary >= 50 M accesses/s,
// text >= 5 M/s, one core.
#include <benchmark/benchmark.h>

#include <memory>
#include <stdexcept>

#include "bench_traces.hpp"
#include "mali_sim/mmu/gpu_spec.hpp"
#include "mali_sim/sim/engine.hpp"
#include "mali_sim/sim/trace.hpp"
#include "mali_sim/sim/trace_gen.hpp"

namespace mali_sim {
namespace {

using bench::MemStream;

constexpr std::uint64_t kAccesses = 1'000'000;

const bench::TraceFiles& traces() {
  static const bench::TraceFiles t("mali_sim_engine_bench", [](trace::TraceWriter& w) {
    trace::GenParams p;
    p.kind = "streaming";
    p.accesses = kAccesses;
    p.cores = 2;
    if (Status s = trace::generate(p, w); !s) throw std::runtime_error(s.error().message);
  });
  return t;
}

template <bool kBinary>
void BM_Replay(benchmark::State& state) {
  const std::string& bytes = kBinary ? traces().binary : traces().text;
  const GpuSpec spec = gpu_preset("g52").value();
  std::uint64_t accesses = 0;
  for (auto _ : state) {
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
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(accesses));
}

void BM_ReplayBinaryStreaming(benchmark::State& state) { BM_Replay<true>(state); }
void BM_ReplayTextStreaming(benchmark::State& state) { BM_Replay<false>(state); }

BENCHMARK(BM_ReplayBinaryStreaming)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReplayTextStreaming)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mali_sim
