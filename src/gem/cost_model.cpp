#include "mali_sim/gem/cost_model.hpp"

#include "mali_sim/parse.hpp"

#include <fmt/format.h>

#include <charconv>

namespace mali_sim {

namespace {

struct Field {
  const char* name;
  std::uint64_t CostModel::*member;
  const char* source;
};

constexpr Field kFields[] = {
    {"cost.page_alloc_ns", &CostModel::page_alloc_ns, "assumption: shmem page allocation with clear_page"},
    {"cost.huge_page_alloc_ns", &CostModel::huge_page_alloc_ns, "assumption: 2 MiB clear at ~35 GB/s"},
    {"cost.dma_map_page_ns", &CostModel::dma_map_page_ns, "assumption: sg entry + dma_map per page"},
    {"cost.pte_write_ns", &CostModel::pte_write_ns, "assumption: one cached store"},
    {"cost.table_alloc_ns", &CostModel::table_alloc_ns, "assumption: one zeroed page-table page"},
    {"cost.irq_entry_ns", &CostModel::irq_entry_ns, "assumption: hard IRQ entry/exit"},
    {"cost.thread_wakeup_ns", &CostModel::thread_wakeup_ns,
     "assumption: threaded IRQ wake-up, the 1-5 us range of timing-sources.md plus scheduling"},
    {"cost.bo_lookup_ns", &CostModel::bo_lookup_ns, "assumption: rbtree lookup + reservation lock"},
    {"cost.ioctl_ns", &CostModel::ioctl_ns, "assumption: syscall + ioctl dispatch"},
    {"cost.poll_interval_ns", &CostModel::poll_interval_ns, "panfrost wait_ready(): 10 us poll"},
    {"cost.poll_timeout_ns", &CostModel::poll_timeout_ns, "panfrost wait_ready(): 100 ms timeout"},
    {"cost.job_timeout_ns", &CostModel::job_timeout_ns,
     "panfrost JOB_TIMEOUT_MS: 500 ms, then the GPU is reset (0: no timeout)"},
};

}  // namespace

Status CostModel::set(std::string_view key, std::string_view value) {
  for (const Field& f : kFields) {
    if (key != f.name) continue;
    Result<std::uint64_t> parsed = parse_number(key, value);
    if (!parsed) return parsed.error();
    const std::uint64_t v = *parsed;
    if (key == "cost.poll_interval_ns" && v == 0)
      return make_error(Errc::kInvalidArgument, "cost.poll_interval_ns: must be at least 1");
    this->*f.member = v;
    return {};
  }
  std::string known;
  for (const Field& f : kFields) known += fmt::format("{}{}", known.empty() ? "" : ", ", f.name);
  return make_error(Errc::kInvalidArgument,
                    fmt::format("unknown cost parameter '{}' (known: {})", key, known));
}

std::vector<CostModel::Param> CostModel::params() const {
  std::vector<Param> out;
  for (const Field& f : kFields) out.push_back(Param{f.name, this->*f.member, f.source});
  return out;
}

}  // namespace mali_sim
