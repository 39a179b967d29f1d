// mali-sim: replay GPU work traces on a simulated Mali MMU, compare fault-handling policies,
// generate traces, decode register and descriptor values, list GPU presets.
#include <CLI/CLI.hpp>

#include <string>
#include <utility>

#include "commands.hpp"
#include "mali_sim/log.hpp"
#include "mali_sim/output_file.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mali-sim: cycle-approximate simulator of the Arm Mali GPU MMU and panfrost's heap growth"};
  app.require_subcommand(1);
  // -v is accepted after the subcommand too (`mali-sim run T -v`).
  app.fallthrough();
  app.set_help_all_flag("--help-all", "Help for every subcommand");
  // An interrupted gen, convert or run leaves no temporary behind.
  mali_sim::OutputFile::install_signal_cleanup();
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Log driver and device details (MALI_SIM_LOG=debug does the same)");
  std::string log_level;
  app.add_option("--log-level", log_level, "Log level: trace, debug, info, warn, error or off (default warn)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  int exit_code = 0;
  mali_sim::cli::add_run(app, exit_code);
  mali_sim::cli::add_compare(app, exit_code);
  mali_sim::cli::add_gen(app, exit_code);
  mali_sim::cli::add_convert(app, exit_code);
  mali_sim::cli::add_decode(app, exit_code);
  mali_sim::cli::add_presets(app, exit_code);
  app.parse_complete_callback([&] {
    using mali_sim::LogLevel;
    if (verbose) mali_sim::set_log_level(LogLevel::Debug);
    static const std::pair<const char*, LogLevel> kLevels[] = {
        {"trace", LogLevel::Trace}, {"debug", LogLevel::Debug}, {"info", LogLevel::Info},
        {"warn", LogLevel::Warn},   {"error", LogLevel::Error}, {"off", LogLevel::Off}};
    for (const auto& [name, level] : kLevels)
      if (log_level == name) mali_sim::set_log_level(level);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    // One line: the reason, then how to get help.
    std::fprintf(stderr, "mali-sim: %s (see --help)\n", e.what());
    return 2;
  }
  return exit_code;
}
