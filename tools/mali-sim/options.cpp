#include "options.hpp"

#include <fmt/format.h>

#include "mali_sim/parse.hpp"

namespace mali_sim::cli {

Result<SimOptions::Resolved> SimOptions::resolve() const {
  auto spec = gpu_preset(gpu);
  if (!spec) return make_error(Errc::kInvalidArgument, fmt::format("--gpu: {}", spec.error().message));
  Resolved r{std::move(spec).value(), DriverConfig{}, EngineConfig{}};
  r.driver.grow_policy = policy;
  if (auto p = make_grow_policy(policy); !p)
    return make_error(Errc::kInvalidArgument, fmt::format("--policy: {}", p.error().message));
  for (const std::string& kv : sets) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return make_error(Errc::kInvalidArgument, fmt::format("--set '{}': expected key=value", kv));
    const std::string_view key = std::string_view(kv).substr(0, eq);
    const std::string_view value = std::string_view(kv).substr(eq + 1);
    Status s;
    if (key.starts_with("cost.")) {
      s = r.driver.costs.set(key, value);
    } else if (key.starts_with("engine.")) {
      s = r.engine.set(key, value);
    } else if (key == "driver.thp") {
      auto b = parse_bool(key, value);
      if (b)
        r.driver.transparent_huge_pages = *b;
      else
        s = b.error();
    } else if (key == "driver.cacheable") {
      auto b = parse_bool(key, value);
      if (b)
        r.driver.map_cacheable = *b;
      else
        s = b.error();
    } else if (key == "driver.format") {
      if (value == "mali-lpae")
        r.driver.format = PtFormat::MaliLpae;
      else if (value == "aarch64-4k")
        r.driver.format = PtFormat::Aarch64_4K;
      else
        s = make_error(Errc::kInvalidArgument,
                       fmt::format("driver.format: '{}' is not mali-lpae or aarch64-4k", value));
    } else {
      s = r.gpu.set(key, value);
    }
    if (!s) return make_error(Errc::kInvalidArgument, fmt::format("--set {}: {}", kv, s.error().message));
  }
  if (Status s = r.gpu.validate(); !s)
    return make_error(Errc::kInvalidArgument, fmt::format("GPU spec: {}", s.error().message));
  if (r.driver.format == PtFormat::Aarch64_4K && !r.gpu.aarch64_mmu)
    return make_error(
        Errc::kInvalidArgument,
        fmt::format("driver.format=aarch64-4k needs a GPU with the AArch64 MMU; {} has none", r.gpu.name));
  return r;
}

}  // namespace mali_sim::cli
