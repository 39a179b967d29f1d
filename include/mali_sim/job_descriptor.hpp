// Job descriptors as they sit in GPU memory (docs/hardware-facts.md §13): the 32-byte job header
// every job starts with, the WRITE_VALUE payload, and mali-sim's workload payload. The job manager
// reads and writes them through the job's address space; a driver (or the harness) writes them.
// Bit-exact to Mesa's genxml "Job Header" (v4/v6/v9) and WRITE_VALUE payload.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "mali_sim/error.hpp"
#include "mali_sim/phys_mem.hpp"
#include "mali_sim/types.hpp"

namespace mali_sim {

// Job types (header word 4, bits [7:1]).
enum class JobType : std::uint8_t {
  NotStarted = 0,
  Null = 1,
  WriteValue = 2,
  CacheFlush = 3,
  Compute = 4,
  Vertex = 5,
  Geometry = 6,
  Tiler = 7,
  Fused = 8,
  Fragment = 9,
  IndexedVertex = 10,
  MallocVertex = 11,  // Valhall
};
std::string_view to_string(JobType t) noexcept;

// The job header, 32 bytes (eight 32-bit words) at the start of every job; jobs are 64-byte
// aligned (128 on Valhall) and their payload starts at byte 32.
struct JobHeader {
  static constexpr std::size_t kBytes = 32;
  static constexpr std::size_t kPayloadOffset = 32;
  static constexpr std::uint64_t kAlignment = 64;

  std::uint32_t exception_status = 0;       // word 0: [7:0] code, [9:8] access type, [31:16] source id
  std::uint32_t first_incomplete_task = 0;  // word 1
  std::uint64_t fault_pointer = 0;          // words 2-3
  bool is_64b = true;                  // word 4 bit 0: descriptor size (Midgard: 0 = 32-bit next pointer)
  JobType type = JobType::Null;        // word 4 [7:1]
  bool barrier = false;                // word 4 bit 8
  bool invalidate_cache = false;       // word 4 bit 9 (v4-v7)
  bool suppress_prefetch = false;      // word 4 bit 11
  bool enable_texture_mapper = false;  // word 4 bit 12 (v4-v7)
  bool relax_dependency_1 = false;     // word 4 bit 14
  bool relax_dependency_2 = false;     // word 4 bit 15
  std::uint16_t index = 0;             // word 4 [31:16]
  std::uint16_t dependency_1 = 0;      // word 5 [15:0]
  std::uint16_t dependency_2 = 0;      // word 5 [31:16]
  std::uint64_t next = 0;  // words 6-7 (0: the chain ends); a 32-bit pointer at word 6 when !is_64b

  std::array<std::uint8_t, kBytes> encode() const noexcept;
  static JobHeader decode(const std::array<std::uint8_t, kBytes>& bytes) noexcept;
};

// WRITE_VALUE payload (at byte 32): where, what kind of value, and the immediate.
enum class WriteValueType : std::uint32_t {
  CycleCounter = 1,  // the GPU's CYCLE_COUNT, 64 bits
  SystemTimestamp = 2,
  Zero = 3,  // 64 bits of 0
  Immediate8 = 4,
  Immediate16 = 5,
  Immediate32 = 6,
  Immediate64 = 7,
};
struct WriteValuePayload {
  static constexpr std::size_t kBytes = 24;
  GpuVa address = 0;                                  // words 0-1
  WriteValueType type = WriteValueType::Immediate64;  // word 2
  std::uint64_t immediate = 0;                        // words 4-5 (v6 and later)

  std::array<std::uint8_t, kBytes> encode() const noexcept;
  static WriteValuePayload decode(const std::array<std::uint8_t, kBytes>& bytes) noexcept;
  // How many bytes the job writes (0 for a type it does not know).
  static unsigned width(WriteValueType t) noexcept;
};

// mali-sim's stand-in for a shader job's payload (COMPUTE, VERTEX, TILER, FRAGMENT, ...): a real
// payload points at shaders and draw state the model does not execute; here its first 8 bytes
// name a workload, the list of memory accesses the shader cores make for the job, which whoever
// drives the GPU has registered (the harness, the replay engine). 0 names no workload: the job
// runs no shader work (docs/fidelity.md, "Jobs").
struct WorkloadPayload {
  static constexpr std::size_t kBytes = 8;
  std::uint64_t workload = 0;
};

// One job of a chain, as write_job_chain() lays it out.
struct ChainJob {
  JobType type = JobType::Null;
  std::uint64_t workload = 0;       // shader jobs: WorkloadPayload (0: no shader work)
  WriteValuePayload write_value{};  // WRITE_VALUE jobs
  std::uint16_t dependency_1 = 0;   // indices of earlier jobs of the chain (0: none)
  std::uint16_t dependency_2 = 0;
  bool barrier = false;
};

// The bytes of `jobs` as one chain starting at GPU address `va`, laid out as write_job_chain()
// does; for user space that writes them through a CPU mapping (Driver::write_bo).
Result<std::vector<std::uint8_t>> encode_job_chain(GpuVa va, std::span<const ChainJob> jobs,
                                                   unsigned stride = JobHeader::kAlignment);

// Writes `jobs` as one chain into memory a driver mapped at GPU address `va`, backed by the
// physically contiguous `pa`: job i at va + i * stride (64 bytes; 128 on Valhall), indexed 1, 2,
// ... in order, each header's next pointing at the following job, the last's at 0. What user
// space (Mesa's job-chain builder) does before a submission. Returns the chain's first address.
Result<GpuVa> write_job_chain(PhysMem& mem, PhysAddr pa, GpuVa va, std::span<const ChainJob> jobs,
                              unsigned stride = JobHeader::kAlignment);
// A job header as it is in memory now (its exception status after the job ran, say).
Result<JobHeader> read_job_header(const PhysMem& mem, PhysAddr pa);

}  // namespace mali_sim
