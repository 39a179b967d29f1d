// Memory under a long stream of faults (issue 17): N heap faults spread over every address space
// of a G52 (8 contexts, each growing a heap a page per fault with the pages:1 policy, and freeing
// and recreating it once it is full, so the simulated memory stays bounded). The resident set of
// the process must stay flat: nothing the simulator keeps may grow with the number of faults.
// Counters: rss_mb at 10 %, 50 % and 100 % of the faults, and the process's peak.
//
//   ./build/release/bench/fault_rss_bench --benchmark_filter='/5000000/'    # routine, about a minute
//   ./build/release/bench/fault_rss_bench --benchmark_filter='/50000000/'   # the figure, about ten
//   minutes
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cstdio>

#include "mali_sim/gem/driver.hpp"
#include "mali_sim/gpu/gpu.hpp"

namespace mali_sim {
namespace {

double rss_mb() {
  long pages = 0;
  long resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / (1 << 20);
}

double peak_rss_mb() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

void BM_FaultsAcrossEveryAddressSpace(benchmark::State& state) {
  const auto faults = static_cast<std::uint64_t>(state.range(0));
  constexpr unsigned kContexts = 8;            // the G52's AS_PRESENT 0xff
  constexpr std::uint64_t kHeap = 4ULL << 20;  // 1024 pages, then freed and made again
  PhysMem mem(256ULL << 20);
  FrameAllocator frames(mem, 1);
  EventQueue q;
  const GpuSpec spec = gpu_preset("g52").value();
  Gpu gpu(spec, mem, q);
  DriverConfig cfg;
  cfg.grow_policy = "pages:1";
  Driver driver(gpu, q, frames, cfg);
  (void)driver.probe();
  gpu.set_access_handler([](const AccessResult&) {});
  struct Ctx {
    CtxId id = 0;
    BoId heap = 0;
    GpuVa base = 0;
    unsigned as = 0;
    std::uint64_t next = 0;
  };
  std::array<Ctx, kContexts> ctx{};
  const auto fresh_heap = [&](Ctx& c) {
    c.heap = *driver.create_bo(c.id, kHeap, bo_flags::kNoExec | bo_flags::kHeap);
    c.base = *driver.bo_va(c.id, c.heap);
    c.as = *driver.job_begin(c.id);
    c.next = 0;
  };
  for (Ctx& c : ctx) {
    c.id = *driver.open();
    fresh_heap(c);
  }
  for (auto _ : state) {
    for (std::uint64_t f = 0; f < faults; ++f) {
      Ctx& c = ctx[f % kContexts];
      if (c.next == kHeap / kPageSize) {
        (void)driver.job_end(c.id);
        (void)driver.free_bo(c.id, c.heap);
        fresh_heap(c);
      }
      AccessRequest r;
      r.as = static_cast<std::uint8_t>(c.as);
      r.core = static_cast<std::uint16_t>(f % spec.shader_cores);
      r.va = c.base + c.next * kPageSize;
      r.access = Access::Write;
      (void)gpu.access(r);
      q.run_until_idle();
      ++c.next;
      if (f + 1 == faults / 10) state.counters["rss_mb_at_10pct"] = rss_mb();
      if (f + 1 == faults / 2) state.counters["rss_mb_at_50pct"] = rss_mb();
    }
  }
  state.counters["rss_mb_at_100pct"] = rss_mb();
  state.counters["peak_rss_mb"] = peak_rss_mb();
  state.counters["faults_seen"] = static_cast<double>(driver.stats().faults_seen);
  state.SetItemsProcessed(static_cast<std::int64_t>(faults));
}
BENCHMARK(BM_FaultsAcrossEveryAddressSpace)
    ->Arg(100'000)
    ->Arg(5'000'000)
    ->Arg(50'000'000)
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

}  // namespace
}  // namespace mali_sim
