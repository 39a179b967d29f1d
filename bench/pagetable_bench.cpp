// Page-table hot paths: the hardware walker (a full 4-level walk) and the driver-side writer
// mapping and unmapping one 2 MiB heap chunk as 512 separate 4 KiB pages, as panfrost's heap
// fault handler does when the pages are not physically contiguous.
//
// Targets (docs/performance.md): >= 20 M walks/s; <= 10 us to map a 2 MiB chunk as 4 KiB pages.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "mali_sim/pagetable/io_pgtable.hpp"
#include "mali_sim/pagetable/walker.hpp"

namespace mali_sim {
namespace {

constexpr ProtFlags kHeapProt = prot::kRead | prot::kWrite | prot::kNoExec;

struct Fixture {
  PhysMem mem{1ULL << 32};
  FrameAllocator frames{mem};
  std::unique_ptr<IoPgtable> pt;
  std::vector<PhysAddr> pages;  // 512 scattered frames

  explicit Fixture(PtFormat format) {
    IoPgtableConfig cfg;
    cfg.format = format;
    pt = std::move(IoPgtable::create(frames, cfg)).value();
    std::mt19937_64 rng(1);
    for (int i = 0; i < 512; ++i) pages.push_back((4096 + rng() % (1U << 19)) * kPageSize);
  }
};

// A full walk from the root for VAs spread over 64 MiB of 4 KiB mappings (16 L3 tables), in a
// shuffled order so that no level is trivially cached by the host.
void BM_FullWalk(benchmark::State& state) {
  Fixture f(static_cast<PtFormat>(state.range(0)));
  constexpr GpuVa kBase = 0x4000'0000;
  constexpr std::uint64_t kPages = 16 * 512;
  for (std::uint64_t i = 0; i < kPages; ++i)
    (void)f.pt->map(kBase + i * kPageSize, f.pages[i % 512], kPageSize, kHeapProt);
  const WalkConfig cfg =
      WalkConfig::from_registers(f.pt->transtab(), f.pt->transcfg(), f.pt->memattr(), 48, 40, true);
  std::vector<GpuVa> vas(kPages);
  for (std::uint64_t i = 0; i < kPages; ++i) vas[i] = kBase + i * kPageSize + 0x10;
  std::shuffle(vas.begin(), vas.end(), std::mt19937_64(7));
  std::size_t i = 0;
  for (auto _ : state) {
    WalkResult r = walk(f.mem, cfg, vas[i]);
    benchmark::DoNotOptimize(r.translation.pa);
    if (++i == vas.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(to_string(static_cast<PtFormat>(state.range(0))).data());
}
BENCHMARK(BM_FullWalk)->Arg(0)->Arg(1);

// Map one 2 MiB chunk as 512 x map(4 KiB), then unmap it with one call over the chunk (panfrost
// unmaps a BO's range in one go). Each iteration starts from an empty subtree, so table pages are
// allocated and freed every time, as for a fresh heap chunk.
void BM_MapUnmap2MChunkAs4K(benchmark::State& state) {
  Fixture f(static_cast<PtFormat>(state.range(0)));
  constexpr GpuVa kChunk = 0x8000'0000;
  for (auto _ : state) {
    for (std::uint64_t i = 0; i < 512; ++i)
      (void)f.pt->map(kChunk + i * kPageSize, f.pages[i], kPageSize, kHeapProt);
    benchmark::DoNotOptimize(f.pt->unmap(kChunk, kSize2M).value());
  }
  state.SetItemsProcessed(state.iterations() * 512);
  state.SetLabel(to_string(static_cast<PtFormat>(state.range(0))).data());
}
BENCHMARK(BM_MapUnmap2MChunkAs4K)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// Map only (the part of a heap fault the target is about): the chunk's L3 table stays in place
// between iterations, as for the second chunk of a heap whose first chunk is mapped.
void BM_Map2MChunkAs4K(benchmark::State& state) {
  Fixture f(static_cast<PtFormat>(state.range(0)));
  constexpr GpuVa kChunk = 0x8000'0000;
  (void)f.pt->map(kChunk + kSize2M, f.pages[0], kPageSize, kHeapProt);  // keeps L1/L2 tables alive
  for (auto _ : state) {
    for (std::uint64_t i = 0; i < 512; ++i)
      (void)f.pt->map(kChunk + i * kPageSize, f.pages[i], kPageSize, kHeapProt);
    state.PauseTiming();
    (void)f.pt->unmap(kChunk, kSize2M);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * 512);
  state.SetLabel(to_string(static_cast<PtFormat>(state.range(0))).data());
}
BENCHMARK(BM_Map2MChunkAs4K)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace mali_sim
