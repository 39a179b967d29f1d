// The project's one grammar for numbers, sizes and booleans, used by traces, parameters, grow
// policies and the command line alike:
//
//   number   decimal digits, or 0x / 0X and hex digits; no sign, no spaces, at most 2^64 - 1
//   size     a number with an optional K, M or G suffix (either case): KiB, MiB, GiB
//   boolean  true, false, on, off, 1 or 0
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>

#include "mali_sim/error.hpp"

namespace mali_sim {

enum class ParseError : std::uint8_t { kNone, kSyntax, kRange };

struct NumberSyntax {
  bool hex = true;           // 0x / 0X hex is accepted
  bool size_suffix = false;  // K, M, G (k, m, g) multiply by 2^10, 2^20, 2^30
};

// The allocation-free core, inline for hot readers: `out` is set only on kNone.
inline ParseError parse_u64(std::string_view text, std::uint64_t& out, NumberSyntax syntax = {}) noexcept {
  unsigned shift = 0;
  if (syntax.size_suffix && !text.empty()) {
    switch (text.back()) {
      case 'K':
      case 'k': shift = 10; break;
      case 'M':
      case 'm': shift = 20; break;
      case 'G':
      case 'g': shift = 30; break;
      default: break;
    }
    if (shift != 0) text.remove_suffix(1);
  }
  int base = 10;
  if (syntax.hex && text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  if (text.empty()) return ParseError::kSyntax;
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (ptr != text.data() + text.size() || (ec != std::errc{} && ec != std::errc::result_out_of_range))
    return ParseError::kSyntax;
  if (ec == std::errc::result_out_of_range || (shift != 0 && v > (~std::uint64_t{0} >> shift)))
    return ParseError::kRange;
  out = v << shift;
  return ParseError::kNone;
}

// The same with a message naming `what` (a parameter, a field) and the text, e.g.
// "utlb.entries: '12a' is not an integer (decimal or 0x-hex)".
Result<std::uint64_t> parse_number(std::string_view what, std::string_view text, NumberSyntax syntax = {});
// A number with the size suffixes: "64M", "0x1000", "4k".
Result<std::uint64_t> parse_size(std::string_view what, std::string_view text);
Result<bool> parse_bool(std::string_view what, std::string_view text);

}  // namespace mali_sim
