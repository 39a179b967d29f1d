// libFuzzer: the text trace reader on any bytes. Every input either reads to its end or stops with
// an error naming a line; nothing may crash, hang or read out of bounds (ASan, UBSan).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>

#include "mali_sim/sim/trace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto in = std::make_unique<std::istringstream>(std::string(reinterpret_cast<const char*>(data), size));
  auto reader = mali_sim::trace::read_text(std::move(in), "fuzz.trace");
  if (!reader) return 0;
  mali_sim::trace::Event ev;
  while ((*reader)->next(ev)) {
  }
  return 0;
}
