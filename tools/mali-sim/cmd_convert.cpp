// mali-sim convert IN OUT: text <-> binary traces, losslessly (comments aside).
#include <fmt/format.h>

#include "commands.hpp"
#include "mali_sim/sim/trace.hpp"
#include "util.hpp"

namespace mali_sim::cli {

void add_convert(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("convert", "Convert a trace between the text and binary forms");
  auto in = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  cmd->add_option("input", *in, "Trace to read (format detected)")->required();
  cmd->add_option("output", *out, "Trace to write")->required();
  cmd->add_option("--to", *to, "text or binary (default: binary for .bin/.mstb, else text)")
      ->check(CLI::IsMember({"text", "binary"}));
  cmd->callback([in, out, to, &exit_code] {
    trace::TraceFormat f = trace::TraceFormat::Text;
    if (*to == "binary" || (to->empty() && (out->ends_with(".bin") || out->ends_with(".mstb"))))
      f = trace::TraceFormat::Binary;
    auto n = trace::convert_trace(*in, *out, f);
    if (!n) {
      exit_code = fail(n.error().message);
      return;
    }
    fmt::print("{} events written to {} ({})\n", *n, *out,
               f == trace::TraceFormat::Binary ? "binary" : "text");
  });
}

}  // namespace mali_sim::cli
