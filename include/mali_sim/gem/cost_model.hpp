// What the reference driver's work costs on the CPU, in nanoseconds. The driver charges these as
// it runs, advancing the simulation clock, so a heap fault's latency is the sum of what the
// handler really did. Register accesses are not here: their time is the GPU's bus timing
// (mmio.read_ns, mmio.write_ns), which CpuMmio charges. No public source measures these for Mali
// platforms: every default is an assumption (docs/driver.md gives the reasoning), and every value
// can be overridden.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mali_sim/error.hpp"

namespace mali_sim {

struct CostModel {
  std::uint64_t page_alloc_ns = 500;            // one zeroed 4 KiB shmem page
  std::uint64_t huge_page_alloc_ns = 60'000;    // one zeroed 2 MiB page (clear at ~35 GB/s)
  std::uint64_t dma_map_page_ns = 50;           // sg-table entry + DMA mapping of one page
  std::uint64_t pte_write_ns = 5;               // one descriptor written
  std::uint64_t table_alloc_ns = 500;           // one page-table page
  std::uint64_t irq_entry_ns = 1'000;           // hard IRQ entry and exit
  std::uint64_t thread_wakeup_ns = 5'000;       // threaded IRQ handler scheduled and running
  std::uint64_t bo_lookup_ns = 200;             // VA tree lookup and locking in the fault path
  std::uint64_t ioctl_ns = 2'000;               // syscall and ioctl entry for BO create/free/madvise
  std::uint64_t poll_interval_ns = 10'000;      // wait_ready: panfrost polls AS_STATUS every 10 us
  std::uint64_t poll_timeout_ns = 100'000'000;  // and gives up after 100 ms (then resets the GPU)
  std::uint64_t job_timeout_ns = 500'000'000;   // a job still on the GPU after 500 ms: reset (0: never)

  Status set(std::string_view key, std::string_view value);
  struct Param {
    std::string name;
    std::uint64_t value;
    std::string source;
  };
  std::vector<Param> params() const;
};

}  // namespace mali_sim
