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
// Target (docs/performance.md): binary >= 50 M accesses/s, text >= 5 M/s, one core.
#include <benchmark/benchmark.h>

#include <map>
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

template <bool kBinary>
void BM_Replay(benchmark::State& state) {
  const bench::TraceFiles& files = traces(state.range(0));
  const std::string& bytes = kBinary ? files.binary : files.text;
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

// The argument is the buffer size in KiB.
BENCHMARK(BM_ReplayBinaryStreaming)->Arg(64)->Arg(1024)->Arg(16384)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReplayTextStreaming)->Arg(64)->Arg(16384)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mali_sim
