// An output file that appears whole or not at all: written beside its final path and renamed over
// it when done, so no reader ever sees a half-written trace.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "mali_sim/error.hpp"

namespace mali_sim::trace::detail {

// A file written beside its final path and renamed over it by commit(); destroyed uncommitted, it
// removes itself, so no reader ever sees a half-written trace.
class AtomicFile {
 public:
  static Result<std::unique_ptr<AtomicFile>> create(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  Status write(const char* data, std::size_t n);
  Status commit();
  const std::string& path() const noexcept { return path_; }

 private:
  AtomicFile(std::string path, std::string temp, int fd)
      : path_(std::move(path)), temp_(std::move(temp)), fd_(fd) {}
  std::string path_, temp_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace mali_sim::trace::detail
