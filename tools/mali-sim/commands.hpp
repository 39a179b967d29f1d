// The subcommands of the mali-sim command line, each registering itself on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>

namespace mali_sim::cli {

// Each adds its subcommand and sets `exit_code` when it runs.
void add_run(CLI::App& app, int& exit_code);
void add_compare(CLI::App& app, int& exit_code);
void add_gen(CLI::App& app, int& exit_code);
void add_decode(CLI::App& app, int& exit_code);
void add_presets(CLI::App& app, int& exit_code);
void add_convert(CLI::App& app, int& exit_code);

}  // namespace mali_sim::cli
