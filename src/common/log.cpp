#include "common/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <string>

#include "mali_sim/log.hpp"

namespace mali_sim {

std::shared_ptr<spdlog::logger> log() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto existing = spdlog::get("mali_sim");
    if (existing) return existing;
    auto l = spdlog::stderr_color_mt("mali_sim");
    l->set_pattern("[mali-sim %l] %v");
    if (const char* env = std::getenv("MALI_SIM_LOG")) l->set_level(spdlog::level::from_str(env));
    return l;
  }();
  return logger;
}

void set_log_level(LogLevel level) {
  static constexpr spdlog::level::level_enum kMap[] = {spdlog::level::trace, spdlog::level::debug,
                                                       spdlog::level::info,  spdlog::level::warn,
                                                       spdlog::level::err,   spdlog::level::off};
  log()->set_level(kMap[static_cast<int>(level)]);
}

}  // namespace mali_sim
