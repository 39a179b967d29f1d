// mali-sim gen KIND -o FILE: synthetic traces.
#include <fmt/format.h>

#include "commands.hpp"
#include "mali_sim/parse.hpp"
#include "mali_sim/sim/trace.hpp"
#include "mali_sim/sim/trace_gen.hpp"
#include "util.hpp"

namespace mali_sim::cli {

void add_gen(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("gen", "Write a synthetic trace");
  struct Args {
    trace::GenParams p;
    std::string out, heap = "64M", buffer = "16M";
    bool binary = false;
  };
  auto args = std::make_shared<Args>();
  args->p.cores = 2;  // runs on every preset but G31 (1 core); --cores for more
  std::string kinds;
  for (const auto& k : trace::generator_kinds()) kinds += (kinds.empty() ? "" : ", ") + k;
  cmd->add_option("kind", args->p.kind, "One of: " + kinds)->required();
  cmd->add_option("-o,--output", args->out, "Trace file to write")->required();
  cmd->add_option("--seed", args->p.seed, "Random seed")->capture_default_str();
  cmd->add_option("--accesses", args->p.accesses, "Number of accesses")->capture_default_str();
  cmd->add_option("--cores", args->p.cores, "Shader cores the jobs run on")->capture_default_str();
  cmd->add_option("--heap", args->heap, "Heap BO size (e.g. 64M)")->capture_default_str();
  cmd->add_option("--buffer", args->buffer, "Ordinary buffer size for streaming (e.g. 16M)")
      ->capture_default_str();
  cmd->add_option("--contexts", args->p.contexts, "Contexts for multi-context")->capture_default_str();
  cmd->add_option("--delta", args->p.mean_delta, "Mean cycles between a core's accesses")
      ->capture_default_str();
  cmd->add_flag("--binary", args->binary, "Write the binary form");
  cmd->callback([args, &exit_code] {
    auto heap = parse_size("--heap", args->heap);
    auto buffer = parse_size("--buffer", args->buffer);
    if (!heap || !buffer) {
      exit_code = fail((!heap ? heap.error() : buffer.error()).message, 2);
      return;
    }
    args->p.heap_bytes = *heap;
    args->p.buffer_bytes = *buffer;
    auto w =
        trace::create_trace(args->out, args->binary ? trace::TraceFormat::Binary : trace::TraceFormat::Text);
    if (!w) {
      exit_code = fail(w.error().message);
      return;
    }
    if (Status s = trace::generate(args->p, **w); !s) {
      exit_code = fail(s.error().message, 2);
      return;
    }
    if (Status s = (*w)->finish(); !s) exit_code = fail(s.error().message);
  });
}

}  // namespace mali_sim::cli
