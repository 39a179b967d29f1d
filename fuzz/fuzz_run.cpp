// libFuzzer: the whole `run` path on any bytes taken as a trace (text, or binary when it starts
// with the binary magic): the reader, the engine, the reference driver, the GPU and the checker.
// Every input either replays or stops with an error; nothing may crash, hang, or wrap the clock.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "mali_sim/gpu/gpu_spec.hpp"
#include "mali_sim/log.hpp"
#include "mali_sim/sim/engine.hpp"
#include "mali_sim/sim/trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    mali_sim::set_log_level(mali_sim::LogLevel::Off);
    return true;
  }();
  (void)quiet;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto in = std::make_unique<std::istringstream>(bytes);
  const bool binary = bytes.starts_with(std::string_view("MSIMTRC\0", 8));
  auto reader = binary ? mali_sim::trace::read_binary(std::move(in), "fuzz.bin")
                       : mali_sim::trace::read_text(std::move(in), "fuzz.trace");
  if (!reader) return 0;
  static const mali_sim::GpuSpec spec = mali_sim::gpu_preset("g52").value();
  mali_sim::EngineConfig ec;
  ec.phys_mem_bytes = 64ULL << 20;
  ec.check = (size & 1U) != 0;  // half the inputs under the checker
  mali_sim::DriverConfig dc;
  mali_sim::Engine engine(spec, dc, ec);
  (void)engine.run(**reader);
  return 0;
}
