// The one number, size and boolean grammar (parse.hpp) that traces, parameters, grow policies and
// the command line share: what each form accepts, what it refuses, and where 64 bits end.
#include "mali_sim/parse.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace mali_sim {
namespace {

std::uint64_t number(std::string_view text, NumberSyntax syntax = {}) {
  std::uint64_t v = 0;
  EXPECT_EQ(parse_u64(text, v, syntax), ParseError::kNone) << text;
  return v;
}
ParseError error_of(std::string_view text, NumberSyntax syntax = {}) {
  std::uint64_t v = 12345;
  const ParseError e = parse_u64(text, v, syntax);
  EXPECT_EQ(v, 12345U) << text << ": the output is left alone on an error";
  return e;
}

constexpr NumberSyntax kDecimal{.hex = false, .size_suffix = false};
constexpr NumberSyntax kSize{.hex = true, .size_suffix = true};

TEST(Parse, NumbersAreDecimalOrHexWithEitherPrefixCase) {
  EXPECT_EQ(number("0"), 0U);
  EXPECT_EQ(number("4096"), 4096U);
  EXPECT_EQ(number("0x1000"), 4096U);
  EXPECT_EQ(number("0X1000"), 4096U);
  EXPECT_EQ(number("0xffffFFFF"), 0xffffffffU);
  EXPECT_EQ(number("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(number("0xffffffffffffffff"), UINT64_MAX);
}

TEST(Parse, NumbersRefuseSignsSpacesFractionsAndStrayCharacters) {
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1.5", "12a", "0x", "0x1g", "ten", "0b101", "1e3"})
    EXPECT_EQ(error_of(bad), ParseError::kSyntax) << bad;
}

TEST(Parse, DecimalOnlyFieldsRefuseHex) {
  EXPECT_EQ(number("10", kDecimal), 10U);
  EXPECT_EQ(error_of("0x10", kDecimal), ParseError::kSyntax);
}

TEST(Parse, ValuesPastSixtyFourBitsAreOutOfRangeNotMalformed) {
  EXPECT_EQ(error_of("18446744073709551616"), ParseError::kRange);
  EXPECT_EQ(error_of("0x10000000000000000"), ParseError::kRange);
}

TEST(Parse, SizeSuffixesArePowersOf1024InEitherCase) {
  EXPECT_EQ(number("4K", kSize), 4096U);
  EXPECT_EQ(number("4k", kSize), 4096U);
  EXPECT_EQ(number("64M", kSize), 64U << 20);
  EXPECT_EQ(number("2m", kSize), 2U << 20);
  EXPECT_EQ(number("1G", kSize), 1ULL << 30);
  EXPECT_EQ(number("0x10M", kSize), 16U << 20);
  EXPECT_EQ(number("4096", kSize), 4096U);
  // 2^34 GiB is 2^64 bytes: one past the end; 2^34 - 1 GiB still fits.
  EXPECT_EQ(number("17179869183G", kSize), 17179869183ULL << 30);
  EXPECT_EQ(error_of("17179869184G", kSize), ParseError::kRange);
  for (const char* bad : {"K", "4KB", "4T", "4 K", "-4K"})
    EXPECT_EQ(error_of(bad, kSize), ParseError::kSyntax) << bad;
}

TEST(Parse, SuffixesAreRefusedWhereOnlyNumbersAreAllowed) { EXPECT_EQ(error_of("4K"), ParseError::kSyntax); }

TEST(Parse, MessagesNameTheParameterTheTextAndTheForm) {
  EXPECT_EQ(parse_number("utlb.entries", "12a").error().message,
            "utlb.entries: '12a' is not an integer (decimal or 0x-hex)");
  EXPECT_EQ(parse_number("x", "99999999999999999999").error().message,
            "x: '99999999999999999999' does not fit in 64 bits");
  EXPECT_EQ(parse_size("--heap", "64MB").error().message,
            "--heap: '64MB' is not a size (e.g. 4096, 0x1000, 64K, 2M, 1G)");
  EXPECT_EQ(*parse_size("--heap", "64M"), 64U << 20);
}

TEST(Parse, BooleansTakeTrueFalseOnOffOneZero) {
  for (const char* yes : {"true", "on", "1"}) EXPECT_TRUE(*parse_bool("b", yes)) << yes;
  for (const char* no : {"false", "off", "0"}) EXPECT_FALSE(*parse_bool("b", no)) << no;
  for (const char* bad : {"yes", "TRUE", "2", "", " on"}) {
    const Result<bool> r = parse_bool("driver.thp", bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message,
              std::string("driver.thp: '") + bad + "' is not a boolean (true, false, on, off, 1 or 0)");
  }
}

}  // namespace
}  // namespace mali_sim
