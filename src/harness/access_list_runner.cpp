#include "mali_sim/harness/access_list_runner.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <utility>

namespace mali_sim {

std::uint64_t AccessListRunner::add(std::vector<JobAccess> accesses) {
  const std::uint64_t id = next_id_++;
  if (id > kIdMask) throw std::length_error("AccessListRunner: more than 65535 workloads");
  Workload& w = workloads_[id];
  w.status.accesses = accesses.size();
  w.issued.assign(accesses.size(), false);
  w.accesses = std::move(accesses);
  return id;
}

bool AccessListRunner::start(const WorkloadRun& run) {
  const auto it = workloads_.find(run.workload);
  if (it == workloads_.end()) return false;
  Workload& w = it->second;
  w.running = true;
  w.slot = run.slot;
  w.run = run;
  w.fault = 0;
  ++w.gen;
  // What is left, dealt round-robin over the cores, in list order.
  const auto cores = static_cast<std::size_t>(std::popcount(run.cores));
  w.lanes.assign(cores, {});
  std::size_t k = 0;
  for (std::size_t i = 0; i < w.accesses.size(); ++i) {
    if (!w.issued[i]) w.lanes[k++ % cores].push_back(i);
  }
  for (std::size_t lane = 0; lane < cores; ++lane) {
    std::reverse(w.lanes[lane].begin(), w.lanes[lane].end());  // taken from the back
    schedule_issue(run.workload, lane);
  }
  maybe_done(run.workload);
  return true;
}

void AccessListRunner::schedule_issue(std::uint64_t id, std::size_t lane) {
  Workload& w = workloads_.at(id);
  if (w.lanes[lane].empty()) return;
  const Cycle delta = w.accesses[w.lanes[lane].back()].delta;
  clock_.schedule_in(delta, [this, id, lane, gen = w.gen] { issue(id, lane, gen); });
}

void AccessListRunner::issue(std::uint64_t id, std::size_t lane, std::uint64_t gen) {
  Workload& w = workloads_.at(id);
  if (!w.running || w.gen != gen || w.lanes[lane].empty()) return;  // stopped, or started again
  const std::size_t i = w.lanes[lane].back();
  w.lanes[lane].pop_back();
  // The lane-th core the job may use.
  std::uint64_t cores = w.run.cores;
  for (std::size_t k = 0; k < lane; ++k) cores &= cores - 1;
  AccessRequest req;
  req.va = w.accesses[i].va;
  req.access = w.accesses[i].access;
  req.size = w.accesses[i].size;
  req.core = static_cast<std::uint16_t>(std::countr_zero(cores));
  req.as = static_cast<std::uint8_t>(w.run.as);
  req.cookie = kMark | (w.epoch & kEpochMask) << kEpochShift | id << kIdShift | i;
  w.issued[i] = true;
  ++w.status.issued;
  ++w.in_flight;
  const AccessResult r = gpu_.access(req);
  if (r.status != AccessStatus::Pending) clock_.schedule(r.done_at, [this, r] { on_result(r); });
  schedule_issue(id, lane);
}

void AccessListRunner::on_result(const AccessResult& r) {
  const std::uint64_t id = (r.request.cookie >> kIdShift) & kIdMask;
  const auto it = workloads_.find(id);
  if (it == workloads_.end()) return;
  Workload& w = it->second;
  if (((r.request.cookie >> kEpochShift) & kEpochMask) != (w.epoch & kEpochMask)) return;  // a dropped run's
  if (r.status == AccessStatus::Done) {
    ++w.status.done;
  } else {
    ++w.status.failed;
  }
  w.status.results.push_back(r);
  if (w.in_flight > 0) --w.in_flight;
  if (!w.running) return;
  if (r.status != AccessStatus::Done && w.fault == 0) {
    // The work cannot go on: nothing more is issued, and the job fails once what is in flight ends.
    w.fault = r.fail == FailReason::PoweredOff ? kExceptionJobPowerFault : kExceptionJobBusFault;
    for (auto& lane : w.lanes) lane.clear();
  }
  maybe_done(id);
}

void AccessListRunner::maybe_done(std::uint64_t id) {
  Workload& w = workloads_.at(id);
  if (!w.running || w.in_flight != 0) return;
  for (const auto& lane : w.lanes)
    if (!lane.empty()) return;
  w.running = false;
  ++w.gen;
  gpu_.workload_done(w.slot, w.fault);
}

void AccessListRunner::stop(unsigned slot, bool resumable) {
  for (auto& [id, w] : workloads_) {
    if (!w.running || w.slot != slot) continue;
    w.running = false;
    ++w.gen;
    for (auto& lane : w.lanes) lane.clear();
    if (!resumable) {
      // Dropped: a later start runs it all again, and what the dropped run had in flight no longer
      // counts.
      ++w.epoch;
      w.issued.assign(w.accesses.size(), false);
      w.in_flight = 0;
      w.status = JobStatus{w.accesses.size(), 0, 0, 0, {}};
    }
  }
}

}  // namespace mali_sim
