// libFuzzer: the binary trace reader on any bytes, through both of its paths (events one by one,
// and access runs). Nothing may crash, hang or read out of bounds.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>

#include "mali_sim/sim/trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  for (int path = 0; path < 2; ++path) {
    auto reader = mali_sim::trace::read_binary(std::make_unique<std::istringstream>(bytes), "fuzz.bin");
    if (!reader) return 0;
    mali_sim::trace::Event ev;
    std::array<mali_sim::trace::AccessRecord, 64> run{};
    for (;;) {
      if (path == 1 && (*reader)->next_accesses(run) != 0) continue;
      if (!(*reader)->next(ev)) break;
    }
  }
  return 0;
}
