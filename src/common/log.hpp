// The library's logger: one named spdlog logger shared by all simulators in a process (logging
// is the only shared state; every simulator's data is its own).
#pragma once

#include <spdlog/spdlog.h>

#include <memory>

namespace mali_sim {

std::shared_ptr<spdlog::logger> log();

}  // namespace mali_sim
