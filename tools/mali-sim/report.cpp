#include "report.hpp"

#include <fmt/format.h>

#include "mali_sim/regs.hpp"

namespace mali_sim::cli {

namespace {
double ratio(std::uint64_t a, std::uint64_t b) {
  return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
}
}  // namespace

nlohmann::ordered_json results_json(const Engine& e) {
  const MmuCounters c = e.gpu().counters();
  const DriverStats& d = e.driver().stats();
  const RunResults& r = e.results();
  nlohmann::ordered_json j;
  j["cycles"] = r.cycles;
  j["start_cycle"] = r.start_cycle;  // the driver's probe took the GPU's first cycles
  j["simulated_us"] = static_cast<double>(r.cycles) / e.spec().cycles_per_us();
  j["events"] = r.events;
  j["accesses"] = r.accesses;
  j["accesses_done"] = c.accesses_done;
  j["accesses_failed"] = c.accesses_failed;
  j["tlb"] = {{"utlb_hits", c.utlb_hits},
              {"utlb_misses", c.utlb_misses},
              {"utlb_hit_rate", ratio(c.utlb_hits, c.utlb_hits + c.utlb_misses)},
              {"l2_hits", c.l2_hits},
              {"l2_misses", c.l2_misses},
              {"l2_hit_rate", ratio(c.l2_hits, c.l2_hits + c.l2_misses)}};
  j["walks"] = {{"walks", c.walks},
                {"merged", c.walks_merged},
                {"queued", c.walks_queued},
                {"queue_cycles", c.walk_queue_cycles},
                {"descriptor_reads", c.walk_reads},
                {"walk_cache_hits_l0", c.walk_cache_hits[0]},
                {"walk_cache_hits_l1", c.walk_cache_hits[1]},
                {"walk_cache_hits_l2", c.walk_cache_hits[2]},
                {"walk_cache_misses", c.walk_cache_misses}};
  nlohmann::ordered_json by_type = nlohmann::ordered_json::object();
  for (unsigned code = 0; code < 256; ++code) {
    if (c.faults[code] != 0) by_type[std::string(exception_name(code))] = c.faults[code];
  }
  j["faults"] = {{"recorded", c.faults_recorded}, {"stalled_accesses", c.fault_stalls}, {"by_type", by_type}};
  j["stall_cycles"] = c.stall_cycles;
  j["core_stall_cycles"] = r.core_stall_cycles;
  j["lock_stalls"] = c.lock_stalls;
  j["irqs"] = {
      {"raised", c.irqs_raised},     {"delivered", c.irqs_delivered},    {"hard", d.hard_irqs},
      {"spurious", d.spurious_irqs}, {"threaded_runs", d.threaded_runs}, {"job_irqs_handled", d.job_irqs}};
  j["driver"] = {{"faults_seen", d.faults_seen},
                 {"grows", d.grows},
                 {"grown_pages", d.grown_pages},
                 {"duplicate_faults", d.duplicate_faults},
                 {"terminal_faults", d.terminal_faults},
                 {"enomem_faults", d.enomem_faults},
                 {"huge_mappings", d.huge_mappings},
                 {"handler_cycles", d.handler_cycles},
                 {"fault_to_resume_cycles", d.fault_to_resume_cycles},
                 {"mean_grow_latency_cycles", d.grows ? d.fault_to_resume_cycles / d.grows : 0},
                 {"as_enables", d.as_enables},
                 {"as_disables", d.as_disables},
                 {"as_steals", d.as_steals},
                 {"flushes", d.flushes},
                 {"gpu_resets", d.gpu_resets},
                 {"purged_pages", d.purged_pages},
                 {"mmio_reads", d.mmio_reads},
                 {"mmio_writes", d.mmio_writes}};
  j["heap_rss_bytes"] = d.heap_rss_bytes;
  j["heap_rss_peak_bytes"] = r.heap_rss_peak_bytes;
  const MemoryInfo m = e.driver().memory_info();
  j["memory"] = {{"frames_allocated", m.frames_allocated},
                 {"page_table_pages", m.page_table_pages},
                 {"shmem_pages", m.shmem.shmem},
                 {"unevictable_pages", m.shmem.unevictable},
                 {"huge_pages", m.shmem.huge_pages}};
  nlohmann::ordered_json commands = nlohmann::ordered_json::object();
  for (unsigned cmd = 0; cmd < 6; ++cmd) {
    commands[std::string(to_string(static_cast<AsCommand>(cmd)))] = {
        {"count", c.commands[cmd]}, {"busy_cycles", c.command_busy_cycles[cmd]}};
  }
  j["as_commands"] = commands;
  nlohmann::ordered_json jobs = nlohmann::ordered_json::array();
  std::uint64_t failed = 0;
  for (const JobOutcome& o : r.jobs) {
    failed += o.failed ? 1 : 0;
    jobs.push_back({{"name", o.name},
                    {"context", o.context},
                    {"outcome", o.failed ? "failed" : "completed"},
                    {"slot", o.slot},
                    {"js_status", std::string(exception_name(o.js_status))},
                    {"error", o.error},
                    {"begin_cycle", o.begin},
                    {"end_cycle", o.end},
                    {"fence_cycle", o.fence},
                    {"accesses", o.accesses},
                    {"failed_accesses", o.failed_accesses},
                    {"dropped_accesses", o.dropped}});
  }
  j["jobs_completed"] = r.jobs.size() - failed;
  j["jobs_failed"] = failed;
  j["jobs"] = jobs;
  return j;
}

nlohmann::ordered_json run_json(const Engine& e, const std::string& trace_path) {
  nlohmann::ordered_json j;
  j["mali_sim"] = {{"format", 1}};
  j["trace"] = trace_path;
  nlohmann::ordered_json gpu = nlohmann::ordered_json::object();
  for (const auto& p : e.spec().params()) gpu[p.name] = {{"value", p.value}, {"source", p.source}};
  nlohmann::ordered_json driver = nlohmann::ordered_json::object();
  const DriverConfig& dc = e.driver_config();
  driver["policy"] = dc.grow_policy;
  driver["thp"] = dc.transparent_huge_pages;
  driver["format"] = std::string(to_string(dc.format));
  driver["cacheable"] = dc.map_cacheable;
  for (const auto& p : dc.costs.params()) driver[p.name] = {{"value", p.value}, {"source", p.source}};
  const EngineConfig& ec = e.config();
  j["parameters"] = {{"gpu", gpu},
                     {"driver", driver},
                     {"engine",
                      {{"engine.outstanding", ec.outstanding_per_core},
                       {"engine.phys_mem", ec.phys_mem_bytes},
                       {"engine.queue_per_core", ec.queue_per_core},
                       {"engine.epoch", ec.epoch},
                       {"engine.check", ec.check}}}};
  j["results"] = results_json(e);
  if (const Checker* c = e.checker()) j["check"] = check_json(*c);
  return j;
}

nlohmann::ordered_json check_json(const Checker& c) {
  nlohmann::ordered_json counts = nlohmann::ordered_json::object();
  for (unsigned d = 0; d < kDetectorCount; ++d)
    counts[std::string(to_string(static_cast<Detector>(d)))] = c.count(static_cast<Detector>(d));
  nlohmann::ordered_json reports = nlohmann::ordered_json::array();
  for (const CheckReport& r : c.reports()) {
    nlohmann::ordered_json one = {
        {"detector", std::string(to_string(r.detector))}, {"cycle", r.at}, {"as", r.as}};
    one[r.address_is_pa ? "pa" : "va"] = r.address;
    one["what"] = r.what;
    one["fix"] = r.fix;
    reports.push_back(std::move(one));
  }
  return {{"reports", c.reports().size() + c.dropped()}, {"by_detector", counts}, {"list", reports}};
}

std::string check_summary(const Checker& c, std::size_t max_listed) {
  const std::size_t total = c.reports().size() + c.dropped();
  if (total == 0) return "  checker                  no reports\n";
  std::string by;
  for (unsigned d = 0; d < kDetectorCount; ++d)
    if (const std::size_t n = c.count(static_cast<Detector>(d)); n != 0)
      by += fmt::format("{}{} {}", by.empty() ? "" : ", ", to_string(static_cast<Detector>(d)), n);
  std::string s = fmt::format("  checker                  {} report(s): {}\n", total, by);
  std::size_t listed = 0;
  for (const CheckReport& r : c.reports()) {
    if (listed++ == max_listed) {
      s += fmt::format("    ... and {} more (all of them in --json)\n", total - max_listed);
      break;
    }
    s += "    " + r.to_string() + "\n";
  }
  return s;
}

std::string summary(const Engine& e, double wall_seconds) {
  const auto j = results_json(e);
  const RunResults& r = e.results();
  std::string s;
  auto line = [&](std::string_view k, const std::string& v) { s += fmt::format("  {:<24} {}\n", k, v); };
  s += fmt::format("mali-sim: {} on {}, policy {}\n", e.results().events ? "run complete" : "empty trace",
                   e.spec().name, e.driver_config().grow_policy);
  line("simulated", fmt::format("{} cycles ({:.1f} us at {} MHz)", r.cycles, j["simulated_us"].get<double>(),
                                e.spec().clock_hz / 1'000'000));
  line("before the trace", fmt::format("{} cycles: the driver's probe (reset, power-up)", r.start_cycle));
  line("accesses",
       fmt::format("{} issued, {} done, {} failed", r.accesses, j["accesses_done"].get<std::uint64_t>(),
                   j["accesses_failed"].get<std::uint64_t>()));
  line("uTLB / L2 TLB hit rate",
       fmt::format("{:.2f}% / {:.2f}%", 100 * j["tlb"]["utlb_hit_rate"].get<double>(),
                   100 * j["tlb"]["l2_hit_rate"].get<double>()));
  line("walks",
       fmt::format("{} ({} descriptor reads, {} merged, {} queued)", j["walks"]["walks"].get<std::uint64_t>(),
                   j["walks"]["descriptor_reads"].get<std::uint64_t>(),
                   j["walks"]["merged"].get<std::uint64_t>(), j["walks"]["queued"].get<std::uint64_t>()));
  std::string faults;
  for (const auto& [k, v] : j["faults"]["by_type"].items())
    faults += fmt::format("{}{} {}", faults.empty() ? "" : ", ", k, v.get<std::uint64_t>());
  line("faults", fmt::format("{} recorded{}", j["faults"]["recorded"].get<std::uint64_t>(),
                             faults.empty() ? "" : " (" + faults + ")"));
  const auto& d = j["driver"];
  line("heap grows",
       fmt::format("{} ({} pages, {} duplicate faults, {} huge mappings)", d["grows"].get<std::uint64_t>(),
                   d["grown_pages"].get<std::uint64_t>(), d["duplicate_faults"].get<std::uint64_t>(),
                   d["huge_mappings"].get<std::uint64_t>()));
  line("heap RSS", fmt::format("{:.1f} MiB now, {:.1f} MiB peak",
                               static_cast<double>(j["heap_rss_bytes"].get<std::uint64_t>()) / (1 << 20),
                               static_cast<double>(r.heap_rss_peak_bytes) / (1 << 20)));
  line("stall cycles", fmt::format("{} (accesses), {} (cores waiting for a slot)",
                                   j["stall_cycles"].get<std::uint64_t>(), r.core_stall_cycles));
  line("IRQs",
       fmt::format("MMU {} raised, {} delivered; job {} handled", j["irqs"]["raised"].get<std::uint64_t>(),
                   j["irqs"]["delivered"].get<std::uint64_t>(),
                   j["irqs"]["job_irqs_handled"].get<std::uint64_t>()));
  line("fault handling", fmt::format("{} cycles in the threaded handler, {} cycles mean fault-to-resume",
                                     d["handler_cycles"].get<std::uint64_t>(),
                                     d["mean_grow_latency_cycles"].get<std::uint64_t>()));
  line("terminal faults", std::to_string(d["terminal_faults"].get<std::uint64_t>()));
  line("jobs", fmt::format("{} completed, {} failed", j["jobs_completed"].get<std::uint64_t>(),
                           j["jobs_failed"].get<std::uint64_t>()));
  for (const JobOutcome& o : r.jobs) {
    if (o.failed)
      s += fmt::format("    job {} (context {}) FAILED ({}) after {} accesses; {} dropped\n", o.name,
                       o.context,
                       exception_is_fault(o.js_status)
                           ? fmt::format("{} on job slot {}", exception_name(o.js_status), o.slot)
                           : fmt::format("on job slot {}: {}", o.slot, o.error),
                       o.accesses, o.dropped);
  }
  if (const Checker* c = e.checker()) s += check_summary(*c, 20);
  // A rate over a few milliseconds says nothing about mali-sim's speed: tiny runs get the time only.
  if (wall_seconds >= 0.05) {
    line("host time", fmt::format("{:.3f} s ({:.2f} M accesses/s)", wall_seconds,
                                  static_cast<double>(r.accesses) / wall_seconds / 1e6));
  } else if (wall_seconds > 0) {
    line("host time", "under 0.05 s");
  }
  return s;
}

std::string sample_csv_header() {
  return "cycle,accesses_done,faults,grows,heap_rss_bytes,stall_cycles,irqs,walks,utlb_hits,utlb_misses\n";
}

std::string sample_csv_row(const Sample& s, const Engine&) {
  return fmt::format("{},{},{},{},{},{},{},{},{},{}\n", s.cycle, s.accesses_done, s.faults, s.grows,
                     s.heap_rss_bytes, s.stall_cycles, s.irqs, s.walks, s.utlb_hits, s.utlb_misses);
}

}  // namespace mali_sim::cli
