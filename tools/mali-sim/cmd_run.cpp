// mali-sim run TRACE: replay a trace and report.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>

#include "commands.hpp"
#include "mali_sim/output_file.hpp"
#include "mali_sim/parse.hpp"
#include "mali_sim/sim/access_queues.hpp"
#include "options.hpp"
#include "report.hpp"
#include "util.hpp"

namespace mali_sim::cli {

namespace {

struct ProgressLine {
  bool enabled = isatty(STDERR_FILENO) != 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last = start;
  bool shown = false;
  void update(std::uint64_t events, Cycle now) {
    if (!enabled) return;
    const auto t = std::chrono::steady_clock::now();
    if (t - start < std::chrono::seconds(1) || t - last < std::chrono::milliseconds(250)) return;
    last = t;
    shown = true;
    const double secs = std::chrono::duration<double>(t - start).count();
    fmt::print(stderr, "\r  {:>12} events  {:>14} cycles  {:>7.2f} M events/s  {:>6.1f} s", events, now,
               static_cast<double>(events) / secs / 1e6, secs);
  }
  void done() {
    if (shown) fmt::print(stderr, "\r{:80}\r", "");
  }
};

}  // namespace

void add_run(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("run", "Replay a trace on a simulated GPU with the reference driver");
  struct Args {
    std::string trace, json, timeseries;
    std::string epoch;
    bool quiet = false;
    bool check = false;
    SimOptions sim;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("trace", args->trace, "Trace file (text or binary)")->required();
  cmd->add_option("--gpu", args->sim.gpu, "GPU preset (see 'mali-sim presets')")->capture_default_str();
  cmd->add_option("--policy", args->sim.policy, "Heap grow policy: panfrost-2m, pages:N, kbase-extension:N")
      ->capture_default_str();
  cmd->add_option(
      "--set", args->sim.sets,
      "Override a parameter: GPU (utlb.entries=64), driver (driver.thp=true, cost.page_alloc_ns=800), "
      "engine (engine.outstanding=8)");
  cmd->add_option("--json", args->json, "Write every parameter and result as JSON");
  cmd->add_option("--timeseries", args->timeseries, "Write a CSV time series (needs --epoch)");
  cmd->add_option("--epoch", args->epoch, "Time-series period in cycles");
  cmd->add_flag("-q,--quiet", args->quiet, "No summary on stdout");
  cmd->add_flag("--check", args->check,
                "Run the driver checker (docs/driver-testing.md); exit status 3 if it reports anything");
  cmd->callback([args, &exit_code] {
    Cycle epoch = 0;
    if (!args->epoch.empty()) {
      auto e = parse_number("--epoch", args->epoch);
      if (!e || *e == 0 || *e > AccessQueues::kMaxRunCycles) {
        exit_code = fail(e ? fmt::format("--epoch: {} is not a period in [1, 2^62] cycles", args->epoch)
                           : e.error().message,
                         2);
        return;
      }
      epoch = *e;
    }
    if (!args->timeseries.empty() && epoch == 0) {
      exit_code = fail("--timeseries needs --epoch CYCLES", 2);
      return;
    }
    auto resolved = args->sim.resolve();
    if (!resolved) {
      exit_code = fail(resolved.error().message, 2);
      return;
    }
    resolved->engine.epoch = epoch;
    if (args->check) resolved->engine.check = true;
    // Outputs: never one of the inputs, opened before the run (an unwritable path fails now, not
    // after the simulation), and committed together at the end, or not at all.
    for (const std::string* out : {&args->json, &args->timeseries}) {
      if (!out->empty() && same_file(*out, args->trace)) {
        exit_code = fail(fmt::format("'{}' is the trace being read: refusing to write over it", *out), 2);
        return;
      }
    }
    if (!args->json.empty() && !args->timeseries.empty() && same_file(args->json, args->timeseries)) {
      exit_code = fail("--json and --timeseries name the same file", 2);
      return;
    }
    std::unique_ptr<OutputFile> json_out, csv_out;
    for (auto [path, file] : {std::pair{&args->json, &json_out}, std::pair{&args->timeseries, &csv_out}}) {
      if (path->empty()) continue;
      auto f = OutputFile::create(*path);
      if (!f) {
        exit_code = fail(f.error().message);
        return;
      }
      *file = std::move(*f);
    }
    auto reader = trace::open_trace(args->trace);
    if (!reader) {
      exit_code = fail(reader.error().message);
      return;
    }
    Engine engine(resolved->gpu, resolved->driver, resolved->engine);
    // Time-series rows go to the file as they are made, a buffer at a time: a fine epoch over a
    // long run keeps nothing in memory.
    std::string csv = csv_out ? sample_csv_header() : std::string{};
    Status csv_status;
    const auto flush_csv = [&] {
      if (csv_status && !csv.empty()) csv_status = csv_out->write(csv);
      csv.clear();
    };
    ProgressLine progress;
    const auto t0 = std::chrono::steady_clock::now();
    Status s = engine.run(
        **reader, [&](std::uint64_t ev, Cycle now) { progress.update(ev, now); },
        csv_out ? Engine::SampleSink([&](const Sample& smp) {
          csv += sample_csv_row(smp, engine);
          if (csv.size() >= (1U << 16)) flush_csv();
        })
                : Engine::SampleSink{});
    progress.done();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!s) {
      exit_code = fail(with_file(args->trace, s.error().message));
      return;  // the outputs' temporaries go with them: old files stay as they were
    }
    if (csv_out) {
      flush_csv();
      if (!csv_status) {
        exit_code = fail(csv_status.error().message);
        return;
      }
    }
    if (json_out) {
      if (Status w = json_out->write(run_json(engine, args->trace).dump(2) + "\n"); !w) {
        exit_code = fail(w.error().message);
        return;
      }
    }
    for (auto* f : {&csv_out, &json_out}) {
      if (!*f) continue;
      if (Status c = (*f)->commit(); !c) {
        exit_code = fail(c.error().message);
        return;
      }
    }
    if (!args->quiet) fmt::print("{}", summary(engine, wall));
    if (const Checker* c = engine.checker(); c != nullptr && (!c->reports().empty() || c->dropped() != 0)) {
      if (args->quiet) fmt::print(stderr, "{}", check_summary(*c, 20));
      exit_code = 3;
    }
  });
}

}  // namespace mali_sim::cli
