#include "util.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "mali_sim/output_file.hpp"

namespace mali_sim::cli {

Status write_file_atomic(const std::string& path, std::string_view content) {
  auto f = OutputFile::create(path);
  if (!f) return f.error();
  if (Status s = (*f)->write(content); !s) return s;
  return (*f)->commit();
}

bool is_regular_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

Result<TempCopy> TempCopy::of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return make_error(Errc::kNotFound, fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  std::error_code ec;
  const auto dir = std::filesystem::temp_directory_path(ec);
  if (ec) return make_error(Errc::kNotFound, fmt::format("no temporary directory: {}", ec.message()));
  std::string name = (dir / fmt::format("mali-sim-input-{}-XXXXXX", ::getpid())).string();
  const int fd = ::mkstemp(name.data());
  if (fd < 0)
    return make_error(Errc::kPermission, fmt::format("cannot create '{}': {}", name, std::strerror(errno)));
  ::close(fd);
  TempCopy t;
  t.path_ = name;
  std::ofstream out(name, std::ios::binary | std::ios::trunc);
  out << in.rdbuf();
  out.close();
  if (!out || in.bad())
    return make_error(Errc::kInvalidArgument, fmt::format("cannot copy '{}' to '{}'", path, name));
  return t;
}

TempCopy::~TempCopy() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

std::string with_file(const std::string& file, const std::string& message) {
  return message.starts_with(file + ":") ? message : fmt::format("{}: {}", file, message);
}

int fail(std::string_view message, int code) {
  fmt::print(stderr, "mali-sim: {}\n", message);
  return code;
}

}  // namespace mali_sim::cli
