// Small helpers for the command line: atomic output files, number parsing, errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mali_sim/error.hpp"

namespace mali_sim::cli {

// Write `content` to `path` through a temporary beside it and a rename: a reader never sees a
// half-written file, and a failure leaves the old one (or none).
Status write_file_atomic(const std::string& path, std::string_view content);
// Decimal or 0x-hex, with an optional K/M/G (binary) suffix.
Result<std::uint64_t> parse_size(std::string_view text);
// Print "mali-sim: <message>" on stderr; returns the exit code to use.
int fail(std::string_view message, int code = 1);

}  // namespace mali_sim::cli
