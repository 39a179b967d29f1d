// Opening trace files: the form is chosen by content when reading (the binary magic, else text)
// and by the caller when writing.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <istream>

#include "common/sys_errors.hpp"
#include "sim/binary_format.hpp"
#include "sim/trace_forms.hpp"

namespace mali_sim::trace {

Result<std::unique_ptr<TraceReader>> open_trace(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    return make_error(errc_from_errno(e), fmt::format("cannot open '{}': {}", path, std::strerror(e)));
  }
  auto src = std::make_unique<detail::ByteSource>(detail::fd_input(fd), path);
  if (!src->fill(detail::kMagic.size())) return make_error(Errc::kInvalidArgument, src->error());
  const bool binary = src->available() >= detail::kMagic.size() &&
                      std::memcmp(src->data(), detail::kMagic.data(), detail::kMagic.size()) == 0;
  return binary ? detail::make_binary_reader(std::move(src)) : detail::make_text_reader(std::move(src));
}

Result<std::unique_ptr<TraceReader>> read_text(std::unique_ptr<std::istream> in, std::string source_name) {
  if (!in) return make_error(Errc::kInvalidArgument, fmt::format("{}: no input stream", source_name));
  return detail::make_text_reader(
      std::make_unique<detail::ByteSource>(detail::istream_input(std::move(in)), std::move(source_name)));
}

Result<std::unique_ptr<TraceReader>> read_binary(std::unique_ptr<std::istream> in, std::string source_name) {
  if (!in) return make_error(Errc::kInvalidArgument, fmt::format("{}: no input stream", source_name));
  return detail::make_binary_reader(
      std::make_unique<detail::ByteSource>(detail::istream_input(std::move(in)), std::move(source_name)));
}

Result<std::unique_ptr<TraceWriter>> create_trace(const std::string& path, TraceFormat format) {
  Result<std::unique_ptr<detail::AtomicFile>> file = detail::AtomicFile::create(path);
  if (!file) return std::move(file).error();
  if (format == TraceFormat::Binary) return detail::make_binary_writer(std::move(*file));
  return detail::make_text_writer(std::move(*file));
}

}  // namespace mali_sim::trace
