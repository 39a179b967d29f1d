// mali-sim presets: the GPU presets with their key values and sources.
#include <fmt/format.h>

#include "commands.hpp"
#include "mali_sim/gpu/gpu_spec.hpp"
#include "mali_sim/regs.hpp"

namespace mali_sim::cli {

void add_presets(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("presets", "List the GPU presets");
  auto all = std::make_shared<bool>(false);
  auto markdown = std::make_shared<bool>(false);
  auto name = std::make_shared<std::string>();
  cmd->add_option("name", *name,
                  "Show every parameter of one preset, with its source ('custom': a GpuSpec{} before "
                  "any override)");
  cmd->add_flag("--all", *all, "Show every parameter of every preset");
  cmd->add_flag("--markdown", *markdown, "With NAME or --all: as the tables of docs/presets.md");
  cmd->callback([all, markdown, name, &exit_code] {
    if (!name->empty() || *all) {
      for (const auto& n : name->empty() ? gpu_preset_names() : std::vector<std::string>{*name}) {
        auto spec = n == "custom" ? Result<GpuSpec>(GpuSpec{}) : gpu_preset(n);
        if (!spec) {
          fmt::print(stderr, "mali-sim: {}\n", spec.error().message);
          exit_code = 2;
          return;
        }
        if (*markdown) {
          fmt::print("| Parameter | Value | Source |\n|---|---|---|\n");
          for (const auto& p : spec->params())
            fmt::print("| `{}` | `{}` | {} |\n", p.name, p.value, p.source);
          continue;
        }
        fmt::print("{}:\n", n);
        for (const auto& p : spec->params()) fmt::print("  {:<24} {:<14} {}\n", p.name, p.value, p.source);
      }
      return;
    }
    fmt::print("{:<6} {:<6} {:<10} {:>7} {:>5} {:>6} {:>9} {:>8} {:>10}\n", "preset", "model", "GPU_ID",
               "VA/PA", "AS", "cores", "clock", "AArch64", "uTLB/L2");
    for (const auto& n : gpu_preset_names()) {
      const GpuSpec s = gpu_preset(n).value();
      const GpuId id = GpuId::decode(s.gpu_id);
      fmt::print("{:<6} {:<6} {:#010x} {:>4}/{:<2} {:>5} {:>6} {:>5} MHz {:>8} {:>5}/{:<4}\n", n,
                 id.model_name(), s.gpu_id, s.va_bits(), s.pa_bits(), s.address_spaces(), s.shader_cores,
                 s.clock_hz / 1'000'000, s.aarch64_mmu ? "yes" : "no", s.utlb.entries, s.l2tlb.entries);
    }
    fmt::print(
        "\n'mali-sim presets NAME' shows every parameter with its source; docs/presets.md explains them.\n");
  });
}

}  // namespace mali_sim::cli
