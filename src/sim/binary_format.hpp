// The binary trace form's constants and its varint codec (docs/trace-format.md, "Binary form"):
// what the binary reader and writer share.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "mali_sim/sim/trace.hpp"

namespace mali_sim::trace::detail {

inline constexpr std::array<char, 8> kMagic = {'M', 'S', 'I', 'M', 'T', 'R', 'C', '\0'};

namespace rec {
inline constexpr std::uint8_t kContext = 0x01;
inline constexpr std::uint8_t kBoCreate = 0x02;
inline constexpr std::uint8_t kBoFree = 0x03;
inline constexpr std::uint8_t kMadvise = 0x04;
inline constexpr std::uint8_t kJobBegin = 0x05;
inline constexpr std::uint8_t kJobEnd = 0x06;
// A job record followed by the job's type (a JobType value: vertex, tiler, fragment). Writers
// use it only for a job that is not compute, so that compute-only traces stay byte-identical to
// those written before job types existed (version 2 readers that predate it refuse it by type).
inline constexpr std::uint8_t kJobBeginTyped = 0x07;
// What would cost a field elsewhere sits in an access's type byte.
inline constexpr std::uint8_t kAccessOpMask = 0x03;    // the Access enum value (AS_FAULTSTATUS)
inline constexpr std::uint8_t kAccessBoOffset = 0x04;  // a BO id field precedes addr
inline constexpr std::uint8_t kAccessSized = 0x08;     // a size field follows addr (else 4)
// Version 2: accesses are 0x80-0xff, the type byte also giving the address's length in bytes
// (bits 6-4: length - 1), so that it is one load and a mask; the core is one byte.
inline constexpr std::uint8_t kAccessV2 = 0x80;
inline constexpr unsigned kAccessV2AddrShift = 4;
// Version 1: accesses are 0x10-0x1f, every field a varint.
inline constexpr std::uint8_t kAccessV1 = 0x10;
inline constexpr std::uint8_t kAccessV1Mask = 0xf0;
// The last record: the number of records before it. Without it a file cut at a record boundary
// would look complete. Version 1 used 0xff, an access type in version 2.
inline constexpr std::uint8_t kEndV2 = 0x7f;
inline constexpr std::uint8_t kEndV1 = 0xff;
}  // namespace rec

// The binary versions this reader reads; writers write the last.
inline constexpr unsigned kBinaryVersionV1 = 1;
inline constexpr unsigned kBinaryVersionV2 = 2;
static_assert(kBinaryFormatVersion == kBinaryVersionV2);

// Longest access record with every varint at its 10-byte maximum (version 1; version 2 is
// shorter): the reader refills its buffer to at least this much before decoding one, so the hot
// path needs no refill in the middle.
inline constexpr std::size_t kMaxAccessRecord = 1 + 6 * 10;

// LEB128: 7 bits a byte, least significant first, high bit = more bytes follow.
inline char* put_varint(char* out, std::uint64_t v) noexcept {
  while (v >= 0x80) {
    *out++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *out++ = static_cast<char>(v);
  return out;
}

enum class VarintError : std::uint8_t { kNone, kTruncated, kOverflow };

// The general case of get_varint: multi-byte values, truncation and overflow.
std::uint64_t get_varint_slow(const std::uint8_t*& p, const std::uint8_t* end, VarintError& err) noexcept;

// Single-byte values (small ids, cores, deltas) take one compare; errors are sticky in `err` so a
// record can be decoded straight through and checked once.
inline std::uint64_t get_varint(const std::uint8_t*& p, const std::uint8_t* end, VarintError& err) noexcept {
  if (p < end && *p < 0x80) [[likely]]
    return *p++;
  return get_varint_slow(p, end, err);
}

// Branch-free pieces for the access hot path, where field lengths vary from record to record and
// branches on them would mispredict. Both read whole 8-byte words: callers guarantee the bytes.
inline std::uint64_t load_le64(const std::uint8_t* p) noexcept {
  std::uint64_t x = 0;
  std::memcpy(&x, p, sizeof x);
  if constexpr (std::endian::native == std::endian::big) x = __builtin_bswap64(x);
  return x;
}

// Bit i set when byte i of w ends a varint (its high bit is clear): a movemask in plain C++.
inline unsigned varint_stops(std::uint64_t w) noexcept {
  return static_cast<unsigned>((((~w & 0x8080808080808080ULL) >> 7) * 0x0102040810204080ULL) >> 56);
}

// The value of the `len`-byte varint at p, 1 <= len <= 8 (values below 2^56).
inline std::uint64_t varint_of_length(const std::uint8_t* p, unsigned len) noexcept {
  const unsigned drop = (64 - 8 * len) & 63;
  std::uint64_t x = ((load_le64(p) << drop) >> drop) & 0x7f7f7f7f7f7f7f7fULL;
  // Squeeze the 7-bit groups together: pairs, then quads, then all eight.
  x = ((x & 0x7f007f007f007f00ULL) >> 1) | (x & 0x007f007f007f007fULL);
  x = ((x & 0x3fff00003fff0000ULL) >> 2) | (x & 0x00003fff00003fffULL);
  x = ((x & 0x0fffffff00000000ULL) >> 4) | (x & 0x000000000fffffffULL);
  return x;
}

}  // namespace mali_sim::trace::detail
