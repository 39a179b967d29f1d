// Options shared by the subcommands that build a simulation (run, compare).
#pragma once

#include <string>
#include <vector>

#include "mali_sim/error.hpp"
#include "mali_sim/sim/engine.hpp"

namespace mali_sim::cli {

struct SimOptions {
  std::string gpu = "g52";
  std::string policy = "panfrost-2m";
  std::vector<std::string> sets;  // key=value overrides

  // The GPU spec, driver and engine configuration these options resolve to. Errors name the
  // option and the cause.
  struct Resolved {
    GpuSpec gpu;
    DriverConfig driver;
    EngineConfig engine;
  };
  Result<Resolved> resolve() const;
};

}  // namespace mali_sim::cli
