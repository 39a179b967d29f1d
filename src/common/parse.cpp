#include "mali_sim/parse.hpp"

#include <fmt/format.h>

namespace mali_sim {

Result<std::uint64_t> parse_number(std::string_view what, std::string_view text, NumberSyntax syntax) {
  std::uint64_t v = 0;
  switch (parse_u64(text, v, syntax)) {
    case ParseError::kNone: return v;
    case ParseError::kRange:
      return make_error(Errc::kInvalidArgument, fmt::format("{}: '{}' does not fit in 64 bits", what, text));
    case ParseError::kSyntax: break;
  }
  const char* form = syntax.size_suffix ? "a size (e.g. 4096, 0x1000, 64K, 2M, 1G)"
                     : syntax.hex       ? "an integer (decimal or 0x-hex)"
                                        : "a decimal integer";
  return make_error(Errc::kInvalidArgument, fmt::format("{}: '{}' is not {}", what, text, form));
}

Result<std::uint64_t> parse_size(std::string_view what, std::string_view text) {
  return parse_number(what, text, NumberSyntax{.hex = true, .size_suffix = true});
}

Result<bool> parse_bool(std::string_view what, std::string_view text) {
  if (text == "true" || text == "on" || text == "1") return true;
  if (text == "false" || text == "off" || text == "0") return false;
  return make_error(Errc::kInvalidArgument,
                    fmt::format("{}: '{}' is not a boolean (true, false, on, off, 1 or 0)", what, text));
}

}  // namespace mali_sim
