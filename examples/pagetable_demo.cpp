// A guided tour of the Mali page-table formats: build the page table panfrost would build for a
// small program (a code buffer and a sparse heap of which two 2 MiB chunks were grown on fault),
// print the register values a driver programs, the decoded table, and what the GPU's walker
// returns for a few accesses, including the faults a heap grows on.
//
//   pagetable_demo [--format mali-lpae|aarch64-4k]
#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <string_view>

#include "mali_sim/pagetable/dump.hpp"
#include "mali_sim/pagetable/io_pgtable.hpp"
#include "mali_sim/pagetable/walker.hpp"
#include "mali_sim/regs.hpp"

using namespace mali_sim;

namespace {

constexpr GpuVa kCodeVa = 0x0200'0000;  // panfrost places BOs from 32 MiB up
constexpr std::uint64_t kCodeSize = 64 * 1024;
constexpr GpuVa kHeapVa = 0x0400'0000;  // heap BOs are 2 MiB aligned
constexpr std::uint64_t kHeapSize = 8 * kSize2M;

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--format mali-lpae|aarch64-4k]\n", argv0);
  return 2;
}

void die_on(const Status& s, const char* what) {
  if (!s) {
    std::fprintf(stderr, "pagetable_demo: %s: %s\n", what, s.error().to_string().c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  PtFormat format = PtFormat::MaliLpae;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--format" && i + 1 < argc) {
      const std::string_view v = argv[++i];
      if (v == "mali-lpae") {
        format = PtFormat::MaliLpae;
      } else if (v == "aarch64-4k") {
        format = PtFormat::Aarch64_4K;
      } else {
        std::fprintf(stderr, "pagetable_demo: unknown format '%.*s'\n", static_cast<int>(v.size()), v.data());
        return usage(argv[0]);
      }
    } else {
      return usage(argv[0]);
    }
  }

  PhysMem mem(256ULL << 20);
  FrameAllocator frames(mem, 1);  // keep physical page 0 unused, as a real kernel does
  IoPgtableConfig cfg;
  cfg.format = format;
  cfg.use_1g_blocks = false;  // panfrost asks io-pgtable for 4K | 2M only
  auto made = IoPgtable::create(frames, cfg);
  die_on(made ? Status{} : Status{made.error()}, "create page table");
  IoPgtable& pt = **made;

  fmt::print("== mali-sim page-table demo: format {}, 256 MiB of simulated physical memory\n\n",
             to_string(format));

  // Code: 16 scattered pages, read-only and executable.
  for (std::uint64_t off = 0; off < kCodeSize; off += kPageSize) {
    die_on(pt.map(kCodeVa + off, *frames.alloc_frame(), kPageSize, prot::kRead), "map code");
  }
  // Heap: VA reserved, nothing mapped until the GPU faults. Chunk 0 was grown from 512 separate
  // 4 KiB pages; chunk 3 from a 2 MiB contiguous, aligned allocation (a transparent huge page),
  // which io-pgtable maps as one level-2 block.
  const ProtFlags heap_prot = prot::kRead | prot::kWrite | prot::kNoExec;
  for (std::uint64_t off = 0; off < kSize2M; off += kPageSize) {
    die_on(pt.map(kHeapVa + off, *frames.alloc_frame(), kPageSize, heap_prot), "map heap chunk 0");
  }
  const auto huge = frames.alloc_2m();
  die_on(pt.map(kHeapVa + 3 * kSize2M, *huge, kSize2M, heap_prot), "map heap chunk 3");

  fmt::print("Registers the driver programs (AS enable):\n");
  fmt::print("  TRANSTAB {:#018x}  {}\n", pt.transtab(),
             format == PtFormat::MaliLpae ? LegacyTranstab::decode(pt.transtab()).to_string()
                                          : fmt::format("base={:#x}", transtab_aarch64_base(pt.transtab())));
  fmt::print("  TRANSCFG {:#018x}  {}\n", pt.transcfg(), Transcfg::decode(pt.transcfg()).to_string());
  fmt::print("  MEMATTR  {:#018x}\n", pt.memattr());
  const Memattr memattr = Memattr::decode(pt.memattr());
  for (unsigned i = 0; i < 3; ++i) fmt::print("    slot {}: {}\n", i, memattr.slot_description(i));

  fmt::print("\nPage table (walked back from physical memory):\n{}",
             dump_page_table(mem, pt.format(), pt.pgd()).to_string());

  const WalkConfig walk_cfg =
      WalkConfig::from_registers(pt.transtab(), pt.transcfg(), pt.memattr(), 48, 40, true);
  struct Probe {
    GpuVa va;
    Access access;
    const char* what;
    const char* note = "";
  };
  const Probe probes[] = {
      {kCodeVa + 0x40, Access::Execute, "shader fetches an instruction"},
      {kCodeVa + 0x40, Access::Write, "shader writes its own code"},
      {kHeapVa + 0x1234, Access::Write, "tiler appends to heap chunk 0"},
      {kHeapVa + 0x1234, Access::Execute, "jump into the heap (NOEXEC)"},
      {kHeapVa + kSize2M + 0x10, Access::Write, "first touch of heap chunk 1",
       "  <- panfrost grows the heap by this 2 MiB chunk"},
      {kHeapVa + 3 * kSize2M + 0x5678, Access::Read, "read from the huge-page chunk 3"},
      {kHeapVa + kHeapSize + kSize1G, Access::Read, "stray pointer past the heap"},
      {1ULL << 48, Access::Read, "address beyond the 48-bit VA"},
  };
  fmt::print("\nWhat the GPU's walker returns:\n");
  for (const Probe& p : probes) {
    const WalkResult r = translate(mem, walk_cfg, p.va, p.access);
    std::string outcome;
    if (r.ok()) {
      outcome = fmt::format("PA {:#012x} ({} page, {} descriptor reads)", r.translation.pa,
                            to_string(r.translation.size), r.num_reads);
    } else if (r.outcome == WalkResult::Outcome::Fault) {
      outcome = fmt::format("fault {}{}", r.fault.to_string(), p.note);
    } else {
      outcome = "address space is UNMAPPED";
    }
    fmt::print("  {:<7} {:#014x}  {:<34} {}\n", to_string(p.access), p.va, p.what, outcome);
  }

  const FrameStats& st = frames.stats();
  fmt::print(
      "\nMemory: {} frames allocated ({} page-table pages), high-water {}, {} frames hold bytes in "
      "host memory\n",
      st.allocated, pt.table_pages(), st.high_water, mem.resident_frames());
  return 0;
}
