// The driver-side page-table writer, in the manner of Linux's io-pgtable: it owns the table pages
// of one GPU address space, writes descriptors into PhysMem, and yields the TRANSTAB, TRANSCFG
// and MEMATTR values a driver programs for it. It never touches GPU registers: flushing the TLBs
// after map/unmap is the driver's job (LOCK + FLUSH_PT), exactly as on hardware.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

#include "mali_sim/error.hpp"
#include "mali_sim/pagetable/format.hpp"
#include "mali_sim/phys_mem.hpp"
#include "mali_sim/types.hpp"

namespace mali_sim {

struct IoPgtableConfig {
  PtFormat format = PtFormat::MaliLpae;
  unsigned ias = 48;          // input (VA) bits, <= 48 (panfrost passes GPU_MMU_FEATURES VA bits)
  unsigned oas = 40;          // output (PA) bits, <= 40
  bool coherent = false;      // page-table walk is IO-coherent (adds TRANSTAB SHARE_OUTER / PTW_SH)
  bool use_1g_blocks = true;  // pgsize_bitmap includes 1 GiB (panfrost asks only 4K|2M)
};

class IoPgtable {
 public:
  // Allocates the level-0 table. Errors: ias > 48, oas > 40, ias < 21, no frame for the root.
  static Result<std::unique_ptr<IoPgtable>> create(FrameAllocator& frames, const IoPgtableConfig& cfg);
  ~IoPgtable();  // returns every table page to the allocator
  IoPgtable(const IoPgtable&) = delete;
  IoPgtable& operator=(const IoPgtable&) = delete;

  // Map [iova, iova+size) to [pa, pa+size) using the largest pages that fit (2 MiB / 1 GiB blocks
  // only where both addresses are aligned and enough remains). All three must be 4 KiB aligned.
  // Refused, leaving the tables as they were: overlap with a live entry (EEXIST), addresses beyond
  // ias/oas (ERANGE), no frame for a table (ENOMEM).
  Status map(GpuVa iova, PhysAddr pa, std::uint64_t size, ProtFlags prot);

  // Unmap every live leaf in [iova, iova+size), skipping holes (heap BOs are sparse). Returns the
  // bytes unmapped (0 for a hole). Refused, changing nothing, when the range would split a block.
  // Tables left empty are freed and unlinked.
  Result<std::uint64_t> unmap(GpuVa iova, std::uint64_t size);

  std::optional<PhysAddr> iova_to_phys(GpuVa iova) const;

  // Register values a driver writes to enable an AS with this table (reference: io-pgtable's
  // Mali config and panfrost's AArch64 support).
  std::uint64_t transtab() const noexcept;
  std::uint64_t transcfg() const noexcept;
  std::uint64_t memattr() const noexcept { return fmt_.default_memattr(); }

  PhysAddr pgd() const noexcept { return pgd_; }
  const PteFormat& format() const noexcept { return fmt_; }
  const IoPgtableConfig& config() const noexcept { return cfg_; }
  std::uint64_t table_pages() const noexcept { return tables_.size(); }
  std::uint64_t mapped_bytes() const noexcept { return mapped_bytes_; }

 private:
  struct Table {
    std::uint64_t* words;    // host view of the table's 512 descriptors in PhysMem
    std::uint16_t live = 0;  // valid descriptors in it
  };
  IoPgtable(FrameAllocator& frames, const IoPgtableConfig& cfg, const PteFormat& fmt);

  std::optional<PhysAddr> new_table();  // nullopt when no frame is free
  void free_table(PhysAddr pa);
  void store(PhysAddr table, std::uint64_t& slot, std::uint64_t desc);
  Table& table_at(PhysAddr pa);
  const Table* find_table(PhysAddr pa) const;
  Status check_range(GpuVa iova, std::uint64_t size, const char* what) const;
  // The recursive work, instantiated per concrete format (descriptor decoding inlines).
  template <class Fmt>
  Status map_level(const Fmt& fmt, PhysAddr table, unsigned level, GpuVa iova, PhysAddr pa,
                   std::uint64_t size, ProtFlags prot);
  template <class Fmt>
  Status check_unmap(const Fmt& fmt, PhysAddr table, unsigned level, GpuVa start, GpuVa end) const;
  // Clears leaves in [start, end) when clear_leaves, and frees tables that are (or become) empty.
  template <class Fmt>
  std::uint64_t unmap_level(const Fmt& fmt, PhysAddr table, unsigned level, GpuVa start, GpuVa end,
                            bool clear_leaves);
  template <class F>
  decltype(auto) with_format(F&& f) const;

  FrameAllocator& frames_;
  PhysMem& mem_;
  IoPgtableConfig cfg_;
  const PteFormat& fmt_;
  PhysAddr pgd_ = 0;
  std::unordered_map<PhysAddr, Table> tables_;
  std::uint64_t mapped_bytes_ = 0;
  // The last level-3 table used by map(): drivers map heap chunks one 4 KiB page at a time, and
  // consecutive pages share it, so the walk from the root is skipped.
  GpuVa last_l3_va_ = ~0ULL;  // iova >> 21 of the cached table
  Table* last_l3_table_ = nullptr;
  PhysAddr last_l3_pa_ = 0;
  // Progress of the map() in flight, for rolling back a failed one.
  GpuVa map_cursor_ = 0;   // everything below was mapped by this call
  GpuVa map_fail_va_ = 0;  // where it failed
};

}  // namespace mali_sim
