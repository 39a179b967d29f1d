// EngineConfig::set: the engine.* parameters (docs/presets.md, "Overriding parameters").
#include <fmt/format.h>

#include "mali_sim/parse.hpp"
#include "mali_sim/phys_mem.hpp"
#include "mali_sim/sim/engine.hpp"

namespace mali_sim {

Status EngineConfig::set(std::string_view key, std::string_view value) {
  if (key == "engine.check") {
    Result<bool> b = parse_bool(key, value);
    if (!b) return b.error();
    check = *b;
    return {};
  }
  auto v = key == "engine.phys_mem" ? parse_size(key, value) : parse_number(key, value);
  if (!v) return v.error();
  if (key == "engine.outstanding") {
    if (*v == 0 || *v > 256)
      return make_error(Errc::kInvalidArgument, "engine.outstanding: must be in [1, 256]");
    outstanding_per_core = static_cast<unsigned>(*v);
  } else if (key == "engine.phys_mem") {
    if (*v == 0 || *v % kPageSize != 0 || *v > PhysMem::kMaxSize)
      return make_error(Errc::kInvalidArgument,
                        "engine.phys_mem: must be a non-zero multiple of 4096 of at most 2^40 bytes");
    phys_mem_bytes = *v;
  } else if (key == "engine.queue_per_core") {
    if (*v == 0) return make_error(Errc::kInvalidArgument, "engine.queue_per_core: must be at least 1");
    queue_per_core = *v;
  } else if (key == "engine.epoch") {
    epoch = *v;
  } else {
    return make_error(
        Errc::kInvalidArgument,
        fmt::format("unknown engine parameter '{}' (known: engine.outstanding, engine.phys_mem, "
                    "engine.queue_per_core, engine.epoch, engine.check)",
                    key));
  }
  return {};
}

}  // namespace mali_sim
