// Event counters of the MMU. Each event is counted in exactly one place in the code (gem5 and
// Virtuoso both shipped double-counted TLB misses; tests here pin each counter down).
#pragma once

#include <array>
#include <cstdint>

namespace mali_sim {

struct MmuCounters {
  std::uint64_t accesses = 0;         // accepted access requests (retries not counted again)
  std::uint64_t accesses_done = 0;    // completed with a translation
  std::uint64_t accesses_failed = 0;  // failed: AS UNMAPPED or killed, AS not present, bad request
  std::uint64_t utlb_hits = 0;        // lookups, retries included
  std::uint64_t utlb_misses = 0;
  std::uint64_t l2_hits = 0;
  std::uint64_t l2_misses = 0;
  std::uint64_t walks = 0;                         // walks performed
  std::uint64_t walks_merged = 0;                  // misses that joined a walk already in flight for the page
  std::uint64_t walks_queued = 0;                  // walks that waited for a free walker
  std::uint64_t walk_queue_cycles = 0;             // cycles walks spent waiting for a walker
  std::uint64_t walk_reads = 0;                    // descriptor reads
  std::array<std::uint64_t, 3> walk_cache_hits{};  // by level of the cached descriptor (0-2)
  std::uint64_t walk_cache_misses = 0;
  std::uint64_t fault_stalls = 0;           // accesses that stalled on a fault (recorded or not)
  std::array<std::uint64_t, 256> faults{};  // recorded faults by AS_FAULTSTATUS exception type
  std::uint64_t faults_recorded = 0;        // sum of faults[]
  std::uint64_t lock_stalls = 0;            // accesses that waited on a locked region
  std::uint64_t stall_cycles = 0;           // cycles accesses spent stalled (fault or lock)
  std::uint64_t retries = 0;                // stalled accesses retried by UNLOCK / flush
  std::array<std::uint64_t, 6> commands{};  // AS_COMMAND by value (NOP..FLUSH_MEM)
  std::array<std::uint64_t, 6> command_busy_cycles{};
  std::uint64_t commands_while_active = 0;
  std::uint64_t tlb_invalidations = 0;  // TLB entries dropped by commands
  std::uint64_t walk_cache_invalidations = 0;
  std::uint64_t irqs_raised = 0;     // rising edges of the MMU IRQ line
  std::uint64_t irqs_delivered = 0;  // handler invocations
};

}  // namespace mali_sim
