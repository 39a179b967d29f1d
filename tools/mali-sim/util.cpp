#include "util.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace mali_sim::cli {

Status write_file_atomic(const std::string& path, std::string_view content) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      return make_error(Errc::kInvalidArgument,
                        fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      return make_error(Errc::kInvalidArgument, fmt::format("cannot write '{}': write failed", path));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    return make_error(Errc::kInvalidArgument, fmt::format("cannot write '{}': {}", path, std::strerror(err)));
  }
  return {};
}

int fail(std::string_view message, int code) {
  fmt::print(stderr, "mali-sim: {}\n", message);
  return code;
}

}  // namespace mali_sim::cli
