// Host cost of a whole replay: a binary or text trace read from memory and replayed by the Engine
// on the default GPU (g52), driver and engine parameters, as `mali-sim run` does.
//
// The trace is `mali-sim gen streaming --cores 2`: two cores streaming through two 16 MiB buffers
// in 64-byte steps, so 96.5% of the accesses hit the uTLB and the rest walk (the buffers are
// larger than the L2 TLB's reach). Target (docs/performance.md): binary >= 50 M accesses/s,
// text >= 5 M/s, one core.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <istream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "mali_sim/mmu/gpu_spec.hpp"
#include "mali_sim/sim/engine.hpp"
#include "mali_sim/sim/trace.hpp"
#include "mali_sim/sim/trace_gen.hpp"

namespace mali_sim {
namespace {

constexpr std::uint64_t kAccesses = 1'000'000;

// An istream over bytes we already hold, so each iteration measures the replay, not copying.
class MemStream : public std::istream {
 public:
  explicit MemStream(const std::string& bytes) : std::istream(nullptr) {
    char* p = const_cast<char*>(bytes.data());  // NOLINT: the get area is only read
    buf_.set(p, p + bytes.size());
    rdbuf(&buf_);
  }

 private:
  struct Buf : std::streambuf {
    void set(char* b, char* e) { setg(b, b, e); }
  };
  Buf buf_;
};

std::string make_trace(const std::string& path, trace::TraceFormat fmt) {
  auto w = trace::create_trace(path, fmt);
  if (!w) throw std::runtime_error(w.error().message);
  trace::GenParams p;
  p.kind = "streaming";
  p.accesses = kAccesses;
  p.cores = 2;
  if (Status s = trace::generate(p, **w); !s) throw std::runtime_error(s.error().message);
  if (Status s = (*w)->finish(); !s) throw std::runtime_error(s.error().message);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

struct Traces {
  std::string dir =
      (std::filesystem::temp_directory_path() / ("mali_sim_engine_bench_" + std::to_string(::getpid())))
          .string();
  std::string binary, text;
  Traces() {
    std::filesystem::create_directories(dir);
    binary = make_trace(dir + "/s.bin", trace::TraceFormat::Binary);
    text = make_trace(dir + "/s.trace", trace::TraceFormat::Text);
  }
  ~Traces() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  Traces(const Traces&) = delete;
  Traces& operator=(const Traces&) = delete;
};

const Traces& traces() {
  static const Traces t;
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
