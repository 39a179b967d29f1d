// Small helpers for the command line: atomic output files, errors. (Numbers: mali_sim/parse.hpp.)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mali_sim/error.hpp"

namespace mali_sim::cli {

// Write `content` to `path` through a temporary beside it and a rename: a reader never sees a
// half-written file, and a failure leaves the old one (or none).
Status write_file_atomic(const std::string& path, std::string_view content);
// Print "mali-sim: <message>" on stderr; returns the exit code to use.
int fail(std::string_view message, int code = 1);

}  // namespace mali_sim::cli
