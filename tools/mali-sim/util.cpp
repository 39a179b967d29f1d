#include "util.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
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

Result<std::uint64_t> parse_size(std::string_view text) {
  std::string_view v = text;
  std::uint64_t mult = 1;
  if (!v.empty()) {
    switch (v.back()) {
      case 'K':
      case 'k':
        mult = 1ULL << 10;
        v.remove_suffix(1);
        break;
      case 'M':
      case 'm':
        mult = 1ULL << 20;
        v.remove_suffix(1);
        break;
      case 'G':
      case 'g':
        mult = 1ULL << 30;
        v.remove_suffix(1);
        break;
      default: break;
    }
  }
  int base = 10;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    v.remove_prefix(2);
    base = 16;
  }
  std::uint64_t x = 0;
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), x, base);
  if (v.empty() || ec != std::errc{} || ptr != v.data() + v.size() || (x != 0 && x > ~0ULL / mult))
    return make_error(Errc::kInvalidArgument,
                      fmt::format("'{}' is not a size (e.g. 4096, 0x1000, 64M)", text));
  return x * mult;
}

int fail(std::string_view message, int code) {
  fmt::print(stderr, "mali-sim: {}\n", message);
  return code;
}

}  // namespace mali_sim::cli
