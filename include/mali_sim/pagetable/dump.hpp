// Human-readable view of a page table in PhysMem: the mapped ranges with their attributes.
// Used by the demo, by `mali-sim decode`, and by tests that want to see what a driver built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mali_sim/pagetable/format.hpp"
#include "mali_sim/phys_mem.hpp"

namespace mali_sim {

struct MappedRange {
  GpuVa va = 0;
  std::uint64_t size = 0;
  PhysAddr pa = 0;
  LeafAttrs attrs;
  std::uint64_t pages_4k = 0;  // leaves of each size merged into this range
  std::uint64_t blocks_2m = 0;
  std::uint64_t blocks_1g = 0;
  std::string to_string() const;
};

struct PageTableDump {
  std::vector<MappedRange> ranges;  // VA order; neighbours with contiguous VA and PA and equal
                                    // attributes are merged
  std::uint64_t tables_per_level[kLevels] = {};
  std::uint64_t bad_table_reads = 0;  // table pointers outside PhysMem (the GPU would bus-fault)
  std::string to_string() const;
};

PageTableDump dump_page_table(const PhysMem& mem, const PteFormat& fmt, PhysAddr root);

}  // namespace mali_sim
