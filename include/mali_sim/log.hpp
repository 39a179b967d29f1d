// Logging control. The library logs through spdlog (logger "mali_sim", stderr); the environment
// variable MALI_SIM_LOG (trace, debug, info, warn, err, off) sets the initial level.
#pragma once

namespace mali_sim {

enum class LogLevel { Trace, Debug, Info, Warn, Error, Off };
void set_log_level(LogLevel level);

}  // namespace mali_sim
