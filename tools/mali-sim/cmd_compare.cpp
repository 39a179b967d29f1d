// mali-sim compare TRACE --policy A --policy B [--gpu X --gpu Y]: the same trace under each
// combination, side by side.
#include <fmt/format.h>

#include "commands.hpp"
#include "mali_sim/output_file.hpp"
#include "options.hpp"
#include "report.hpp"
#include "util.hpp"

namespace mali_sim::cli {

void add_compare(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("compare", "Run one trace under several policies and/or GPU presets");
  struct Args {
    std::string trace, json;
    std::vector<std::string> policies, gpus, sets;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("trace", args->trace, "Trace file (text or binary)")->required();
  cmd->add_option("--policy", args->policies, "Grow policy to compare (repeat)");
  cmd->add_option("--gpu", args->gpus, "GPU preset to compare (repeat)");
  cmd->add_option("--set", args->sets, "Override a parameter for every run (as in 'run')");
  cmd->add_option("--json", args->json, "Write all runs' parameters and results as JSON");
  cmd->callback([args, &exit_code] {
    std::vector<std::string> policies =
        args->policies.empty() ? std::vector<std::string>{"panfrost-2m"} : args->policies;
    std::vector<std::string> gpus = args->gpus.empty() ? std::vector<std::string>{"g52"} : args->gpus;
    if (policies.size() * gpus.size() < 2) {
      exit_code = fail("compare needs at least two runs: give two --policy or two --gpu values", 2);
      return;
    }
    if (!args->json.empty() && same_file(args->json, args->trace)) {
      exit_code = fail(fmt::format("'{}' is the trace being read: refusing to write over it", args->json), 2);
      return;
    }
    std::unique_ptr<OutputFile> json_out;
    if (!args->json.empty()) {
      auto f = OutputFile::create(args->json);  // an unwritable path fails before the runs
      if (!f) {
        exit_code = fail(f.error().message);
        return;
      }
      json_out = std::move(*f);
    }
    // Every run reads the trace from the start: a pipe or FIFO is read once, into a temporary
    // file the runs share.
    std::string trace_path = args->trace;
    TempCopy copy;
    if (!is_regular_file(args->trace)) {
      auto c = TempCopy::of(args->trace);
      if (!c) {
        exit_code = fail(c.error().message);
        return;
      }
      copy = std::move(*c);
      trace_path = copy.path();
    }
    nlohmann::ordered_json out;
    out["trace"] = args->trace;
    out["runs"] = nlohmann::ordered_json::array();
    std::vector<std::string> labels;
    std::vector<nlohmann::ordered_json> results;
    for (const auto& g : gpus) {
      for (const auto& p : policies) {
        SimOptions sim{g, p, args->sets};
        auto resolved = sim.resolve();
        if (!resolved) {
          exit_code = fail(resolved.error().message, 2);
          return;
        }
        auto reader = trace::open_trace(trace_path);
        if (!reader) {
          exit_code = fail(reader.error().message);
          return;
        }
        Engine engine(resolved->gpu, resolved->driver, resolved->engine);
        if (Status s = engine.run(**reader); !s) {
          exit_code = fail(fmt::format("({} {}) {}", g, p, with_file(args->trace, s.error().message)));
          return;
        }
        const std::string label =
            gpus.size() > 1 && policies.size() > 1 ? g + "/" + p : (gpus.size() > 1 ? g : p);
        labels.push_back(label);
        auto rj = run_json(engine, args->trace);
        results.push_back(rj["results"]);
        out["runs"].push_back({{"label", label},
                               {"gpu", g},
                               {"policy", p},
                               {"parameters", rj["parameters"]},
                               {"results", rj["results"]}});
      }
    }
    struct Row {
      const char* name;
      std::function<std::string(const nlohmann::ordered_json&)> get;
    };
    auto u = [](const char* a, const char* b = nullptr) {
      return [a, b](const nlohmann::ordered_json& j) {
        return std::to_string((b ? j[a][b] : j[a]).get<std::uint64_t>());
      };
    };
    const Row rows[] = {
        {"cycles", u("cycles")},
        {"accesses done", u("accesses_done")},
        {"faults recorded",
         [](const auto& j) { return std::to_string(j["faults"]["recorded"].template get<std::uint64_t>()); }},
        {"heap grows", u("driver", "grows")},
        {"grown pages", u("driver", "grown_pages")},
        {"heap RSS peak (KiB)",
         [](const auto& j) {
           return std::to_string(j["heap_rss_peak_bytes"].template get<std::uint64_t>() / 1024);
         }},
        {"stall cycles", u("stall_cycles")},
        {"core stall cycles", u("core_stall_cycles")},
        {"IRQs delivered",
         [](const auto& j) { return std::to_string(j["irqs"]["delivered"].template get<std::uint64_t>()); }},
        {"handler cycles", u("driver", "handler_cycles")},
        {"walks",
         [](const auto& j) { return std::to_string(j["walks"]["walks"].template get<std::uint64_t>()); }},
        {"jobs failed", u("jobs_failed")},
    };
    std::size_t w = 14;
    for (const auto& l : labels) w = std::max(w, l.size() + 2);
    fmt::print("{:<22}", "");
    for (const auto& l : labels) fmt::print("{:>{}}", l, w);
    fmt::print("\n");
    for (const Row& r : rows) {
      fmt::print("{:<22}", r.name);
      for (const auto& res : results) fmt::print("{:>{}}", r.get(res), w);
      fmt::print("\n");
    }
    if (json_out) {
      Status s = json_out->write(out.dump(2) + "\n");
      if (s) s = json_out->commit();
      if (!s) exit_code = fail(s.error().message);
    }
  });
}

}  // namespace mali_sim::cli
