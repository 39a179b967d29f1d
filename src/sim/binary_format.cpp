// The binary form's varint decoder for the general case (binary_format.hpp has the fast ones).
#include "sim/binary_format.hpp"

namespace mali_sim::trace::detail {

std::uint64_t get_varint_slow(const std::uint8_t*& p, const std::uint8_t* end, VarintError& err) noexcept {
  std::uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (p == end) {
      if (err == VarintError::kNone) err = VarintError::kTruncated;
      return 0;
    }
    const std::uint8_t b = *p++;
    // The tenth byte holds bit 63 only; anything more does not fit in 64 bits.
    if (shift == 63 && b > 1) {
      if (err == VarintError::kNone) err = VarintError::kOverflow;
      return 0;
    }
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) return v;
  }
  return v;  // not reached: shift 63 returns above
}

}  // namespace mali_sim::trace::detail
