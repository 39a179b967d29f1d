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
    // Each core's ring holds the next power of two above it plus a segment: 2^20 entries of 32
    // bytes is 32 MiB a core, far past the point where reading further ahead changes anything.
    if (*v == 0 || *v > kMaxQueuePerCore)
      return make_error(Errc::kInvalidArgument,
                        fmt::format("engine.queue_per_core: must be in [1, {}]", kMaxQueuePerCore));
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

Status EngineConfig::validate() const {
  if (outstanding_per_core == 0 || outstanding_per_core > 256)
    return make_error(Errc::kInvalidArgument, "engine.outstanding: must be in [1, 256]");
  if (phys_mem_bytes == 0 || phys_mem_bytes % kPageSize != 0 || phys_mem_bytes > PhysMem::kMaxSize)
    return make_error(Errc::kInvalidArgument,
                      "engine.phys_mem: must be a non-zero multiple of 4096 of at most 2^40 bytes");
  if (queue_per_core == 0 || queue_per_core > kMaxQueuePerCore)
    return make_error(Errc::kInvalidArgument,
                      fmt::format("engine.queue_per_core: must be in [1, {}]", kMaxQueuePerCore));
  return {};
}

}  // namespace mali_sim
