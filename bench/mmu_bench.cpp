// Host cost of translating one shader access through the simulated MMU.
//
// Targets (docs/performance.md): uTLB-hit translate <= 10 ns and within 2x of BM_BareArrayLoad,
// a plain array-indexed load over the same address stream in this same binary.
#include <benchmark/benchmark.h>

#include <vector>

#include "mali_sim/gpu/gpu.hpp"
#include "mali_sim/pagetable/io_pgtable.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim {
namespace {

constexpr GpuVa kBase = 0x1000'0000;

struct Machine {
  PhysMem mem{1ULL << 32};
  FrameAllocator frames{mem, 1};
  EventQueue q;
  std::unique_ptr<Gpu> gpu;
  std::unique_ptr<IoPgtable> pt;

  explicit Machine(unsigned pages) {
    GpuSpec spec = gpu_preset("g52").value();
    gpu = std::make_unique<Gpu>(spec, mem, q);
    pt = std::move(IoPgtable::create(frames, IoPgtableConfig{})).value();
    for (unsigned i = 0; i < pages; ++i)
      (void)pt->map(kBase + i * kPageSize, 0x1000'0000 + (i * 7919ULL % 65536) * kPageSize, kPageSize,
                    prot::kRead | prot::kWrite | prot::kNoExec);
    auto w64 = [&](std::uint32_t off, std::uint64_t v) {
      gpu->write32(off, static_cast<std::uint32_t>(v));
      gpu->write32(off + 4, static_cast<std::uint32_t>(v >> 32));
    };
    w64(regs::as_reg(0, regs::kAsTranstabLo), pt->transtab());
    w64(regs::as_reg(0, regs::kAsMemattrLo), pt->memattr());
    gpu->write32(regs::as_reg(0, regs::kAsCommand), static_cast<std::uint32_t>(AsCommand::Update));
    q.run_until_idle();
  }
};

// An address stream over `pages` pages, 8 accesses per page visit, pages in a scrambled order.
std::vector<GpuVa> stream(unsigned pages) {
  std::vector<GpuVa> v;
  for (unsigned i = 0; i < 4096; ++i) {
    const unsigned page = (i / 8 * 2654435761U) % pages;
    v.push_back(kBase + page * kPageSize + (i % 8) * 64);
  }
  return v;
}

void BM_BareArrayLoad(benchmark::State& state) {
  const auto vas = stream(16);
  std::vector<std::uint64_t> table(1 << 16, 1);
  std::size_t i = 0;
  std::uint64_t sum = 0;
  for (auto _ : state) {
    sum += table[(vas[i] >> kPageShift) & 0xFFFF];
    if (++i == vas.size()) i = 0;
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BareArrayLoad);

void BM_TranslateUtlbHit(benchmark::State& state) {
  Machine m(16);
  const auto vas = stream(16);
  AccessRequest req;
  for (GpuVa va : vas) {  // warm the TLBs
    req.va = va;
    (void)m.gpu->access(req);
    m.q.run_until_idle();
  }
  std::size_t i = 0;
  std::uint64_t sum = 0;
  // The result is used as the baseline uses its load: summed, the sum kept after the loop (a
  // DoNotOptimize per access would also make the compiler reload every table pointer per access,
  // which the baseline does not pay).
  for (auto _ : state) {
    req.va = vas[i];
    const AccessResult r = m.gpu->access(req);
    sum += r.pa + r.done_at;
    if (++i == vas.size()) i = 0;
  }
  benchmark::DoNotOptimize(sum);
  if (m.gpu->counters().utlb_misses > 16) state.SkipWithError("stream did not stay in the uTLB");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TranslateUtlbHit);

void BM_TranslateL2Hit(benchmark::State& state) {
  Machine m(256);  // 256 pages: beyond the 32-entry uTLB, within the 512-entry L2 TLB
  const auto vas = stream(256);
  AccessRequest req;
  for (GpuVa va : vas) {
    req.va = va;
    (void)m.gpu->access(req);
    m.q.run_until_idle();
  }
  std::size_t i = 0;
  for (auto _ : state) {
    req.va = vas[i];
    const AccessResult r = m.gpu->access(req);
    benchmark::DoNotOptimize(r.pa);
    if (++i == vas.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["utlb_hit_rate"] =
      static_cast<double>(m.gpu->counters().utlb_hits) /
      static_cast<double>(m.gpu->counters().utlb_hits + m.gpu->counters().utlb_misses);
}
BENCHMARK(BM_TranslateL2Hit);

// Every access misses both TLBs and walks (pages far outnumber the L2 TLB): the access, the
// walker events and the completion callback, until the access is done.
void BM_TranslateMissAndWalk(benchmark::State& state) {
  Machine m(16384);
  std::vector<GpuVa> vas;
  for (unsigned i = 0; i < 16384; ++i) vas.push_back(kBase + ((i * 2654435761U) % 16384) * kPageSize);
  std::uint64_t done = 0;
  m.gpu->set_access_handler([&](const AccessResult&) { ++done; });
  AccessRequest req;
  std::size_t i = 0;
  for (auto _ : state) {
    req.va = vas[i];
    (void)m.gpu->access(req);
    m.q.run_until_idle();
    if (++i == vas.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["walks_per_access"] =
      static_cast<double>(m.gpu->counters().walks) / static_cast<double>(m.gpu->counters().accesses);
}
BENCHMARK(BM_TranslateMissAndWalk);

// The uTLB's miss path alone: a 32-way fully associative TLB filled with a new page per
// iteration (each fill evicts the least recently used entry), two pages looked up in between as
// a streaming core's reads and writes would.
void BM_TlbFillEvict(benchmark::State& state) {
  Tlb tlb(TlbSpec{32, 32, 1});
  TlbEntry e;
  e.set_permissions(true, true, false);
  GpuVa next = kBase;
  for (auto _ : state) {
    e.va_base = next;
    e.pa_base = next + 0x1000'0000;
    tlb.insert(e);
    benchmark::DoNotOptimize(tlb.lookup(0, next - 16 * kPageSize));
    benchmark::DoNotOptimize(tlb.lookup(0, next));
    next += kPageSize;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TlbFillEvict);

}  // namespace
}  // namespace mali_sim
