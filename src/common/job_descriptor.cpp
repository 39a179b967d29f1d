#include "mali_sim/job_descriptor.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mali_sim {

namespace {

template <std::size_t N>
std::uint32_t word(const std::array<std::uint8_t, N>& b, std::size_t i) noexcept {
  return static_cast<std::uint32_t>(b[4 * i]) | static_cast<std::uint32_t>(b[4 * i + 1]) << 8 |
         static_cast<std::uint32_t>(b[4 * i + 2]) << 16 | static_cast<std::uint32_t>(b[4 * i + 3]) << 24;
}
template <std::size_t N>
void put_word(std::array<std::uint8_t, N>& b, std::size_t i, std::uint32_t v) noexcept {
  for (unsigned k = 0; k < 4; ++k) b[4 * i + k] = static_cast<std::uint8_t>(v >> (8 * k));
}
std::uint32_t bit(bool on, unsigned n) noexcept { return on ? 1U << n : 0U; }

}  // namespace

std::string_view to_string(JobType t) noexcept {
  switch (t) {
    case JobType::NotStarted: return "NOT_STARTED";
    case JobType::Null: return "NULL";
    case JobType::WriteValue: return "WRITE_VALUE";
    case JobType::CacheFlush: return "CACHE_FLUSH";
    case JobType::Compute: return "COMPUTE";
    case JobType::Vertex: return "VERTEX";
    case JobType::Geometry: return "GEOMETRY";
    case JobType::Tiler: return "TILER";
    case JobType::Fused: return "FUSED";
    case JobType::Fragment: return "FRAGMENT";
    case JobType::IndexedVertex: return "INDEXED_VERTEX";
    case JobType::MallocVertex: return "MALLOC_VERTEX";
  }
  return "UNKNOWN";
}

std::array<std::uint8_t, JobHeader::kBytes> JobHeader::encode() const noexcept {
  std::array<std::uint8_t, kBytes> b{};
  put_word(b, 0, exception_status);
  put_word(b, 1, first_incomplete_task);
  put_word(b, 2, static_cast<std::uint32_t>(fault_pointer));
  put_word(b, 3, static_cast<std::uint32_t>(fault_pointer >> 32));
  put_word(b, 4,
           bit(is_64b, 0) | (static_cast<std::uint32_t>(type) & 0x7FU) << 1 | bit(barrier, 8) |
               bit(invalidate_cache, 9) | bit(suppress_prefetch, 11) | bit(enable_texture_mapper, 12) |
               bit(relax_dependency_1, 14) | bit(relax_dependency_2, 15) |
               static_cast<std::uint32_t>(index) << 16);
  put_word(b, 5, dependency_1 | static_cast<std::uint32_t>(dependency_2) << 16);
  put_word(b, 6, static_cast<std::uint32_t>(next));
  // A 32-bit descriptor (Midgard) has only the low word of the next pointer.
  put_word(b, 7, is_64b ? static_cast<std::uint32_t>(next >> 32) : 0U);
  return b;
}

JobHeader JobHeader::decode(const std::array<std::uint8_t, kBytes>& b) noexcept {
  JobHeader h;
  h.exception_status = word(b, 0);
  h.first_incomplete_task = word(b, 1);
  h.fault_pointer = word(b, 2) | static_cast<std::uint64_t>(word(b, 3)) << 32;
  const std::uint32_t w4 = word(b, 4);
  h.is_64b = (w4 & 1U) != 0;
  h.type = static_cast<JobType>((w4 >> 1) & 0x7FU);
  h.barrier = (w4 >> 8 & 1U) != 0;
  h.invalidate_cache = (w4 >> 9 & 1U) != 0;
  h.suppress_prefetch = (w4 >> 11 & 1U) != 0;
  h.enable_texture_mapper = (w4 >> 12 & 1U) != 0;
  h.relax_dependency_1 = (w4 >> 14 & 1U) != 0;
  h.relax_dependency_2 = (w4 >> 15 & 1U) != 0;
  h.index = static_cast<std::uint16_t>(w4 >> 16);
  const std::uint32_t w5 = word(b, 5);
  h.dependency_1 = static_cast<std::uint16_t>(w5);
  h.dependency_2 = static_cast<std::uint16_t>(w5 >> 16);
  h.next = word(b, 6) | (h.is_64b ? static_cast<std::uint64_t>(word(b, 7)) << 32 : 0);
  return h;
}

std::array<std::uint8_t, WriteValuePayload::kBytes> WriteValuePayload::encode() const noexcept {
  std::array<std::uint8_t, kBytes> b{};
  put_word(b, 0, static_cast<std::uint32_t>(address));
  put_word(b, 1, static_cast<std::uint32_t>(address >> 32));
  put_word(b, 2, static_cast<std::uint32_t>(type));
  put_word(b, 4, static_cast<std::uint32_t>(immediate));
  put_word(b, 5, static_cast<std::uint32_t>(immediate >> 32));
  return b;
}

WriteValuePayload WriteValuePayload::decode(const std::array<std::uint8_t, kBytes>& b) noexcept {
  WriteValuePayload p;
  p.address = word(b, 0) | static_cast<std::uint64_t>(word(b, 1)) << 32;
  p.type = static_cast<WriteValueType>(word(b, 2));
  p.immediate = word(b, 4) | static_cast<std::uint64_t>(word(b, 5)) << 32;
  return p;
}

unsigned WriteValuePayload::width(WriteValueType t) noexcept {
  switch (t) {
    case WriteValueType::CycleCounter:
    case WriteValueType::SystemTimestamp:
    case WriteValueType::Zero:
    case WriteValueType::Immediate64: return 8;
    case WriteValueType::Immediate8: return 1;
    case WriteValueType::Immediate16: return 2;
    case WriteValueType::Immediate32: return 4;
  }
  return 0;
}

Result<std::vector<std::uint8_t>> encode_job_chain(GpuVa va, std::span<const ChainJob> jobs,
                                                   unsigned stride) {
  if (jobs.empty()) return make_error(Errc::kInvalidArgument, "job chain: a chain has at least one job");
  if (stride < JobHeader::kBytes + WriteValuePayload::kBytes || stride % JobHeader::kAlignment != 0)
    return make_error(
        Errc::kInvalidArgument,
        fmt::format("job chain: stride {} is not a multiple of 64 holding a header and payload", stride));
  if (va % JobHeader::kAlignment != 0)
    return make_error(Errc::kInvalidArgument,
                      fmt::format("job chain: jobs are 64-byte aligned (va {:#x})", va));
  if (jobs.size() > 0xFFFF)
    return make_error(Errc::kInvalidArgument, "job chain: job indices are 16 bits: at most 65535 jobs");
  std::vector<std::uint8_t> out(jobs.size() * stride, 0);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const ChainJob& j = jobs[i];
    JobHeader h;
    h.type = j.type;
    h.index = static_cast<std::uint16_t>(i + 1);
    h.dependency_1 = j.dependency_1;
    h.dependency_2 = j.dependency_2;
    h.barrier = j.barrier;
    h.next = i + 1 < jobs.size() ? va + (i + 1) * stride : 0;
    const auto header = h.encode();
    std::copy(header.begin(), header.end(), out.begin() + static_cast<std::ptrdiff_t>(i * stride));
    std::array<std::uint8_t, WriteValuePayload::kBytes> payload{};
    if (j.type == JobType::WriteValue) {
      payload = j.write_value.encode();
    } else {
      for (unsigned k = 0; k < WorkloadPayload::kBytes; ++k)
        payload[k] = static_cast<std::uint8_t>(j.workload >> (8 * k));
    }
    std::copy(payload.begin(), payload.end(),
              out.begin() + static_cast<std::ptrdiff_t>(i * stride + JobHeader::kPayloadOffset));
  }
  return out;
}

Result<GpuVa> write_job_chain(PhysMem& mem, PhysAddr pa, GpuVa va, std::span<const ChainJob> jobs,
                              unsigned stride) {
  if (pa % JobHeader::kAlignment != 0)
    return make_error(Errc::kInvalidArgument,
                      fmt::format("write_job_chain: jobs are 64-byte aligned (pa {:#x})", pa));
  auto bytes = encode_job_chain(va, jobs, stride);
  if (!bytes) return bytes.error();
  if (Status s = mem.write(pa, *bytes); !s) return s.error();
  return va;
}

Result<JobHeader> read_job_header(const PhysMem& mem, PhysAddr pa) {
  std::array<std::uint8_t, JobHeader::kBytes> b{};
  if (Status s = mem.read(pa, b); !s) return s.error();
  return JobHeader::decode(b);
}

}  // namespace mali_sim
