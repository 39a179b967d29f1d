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
// Whether `path` is a regular file (after links): a pipe, FIFO or device is read only once.
bool is_regular_file(const std::string& path);

// A copy of a non-seekable input (a pipe, a FIFO) in a temporary file, removed with the object.
class TempCopy {
 public:
  static Result<TempCopy> of(const std::string& path);
  TempCopy() = default;
  TempCopy(TempCopy&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempCopy& operator=(TempCopy&& o) noexcept {
    std::swap(path_, o.path_);
    return *this;
  }
  TempCopy(const TempCopy&) = delete;
  TempCopy& operator=(const TempCopy&) = delete;
  ~TempCopy();
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// "<file>: <message>", unless the message names the file already (the readers' errors do).
std::string with_file(const std::string& file, const std::string& message);
// Print "mali-sim: <message>" on stderr; returns the exit code to use.
int fail(std::string_view message, int code = 1);

}  // namespace mali_sim::cli
