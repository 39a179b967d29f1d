// AtomicFile: a temporary beside the target, renamed over it on commit, removed otherwise.
#include "sim/atomic_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/sys_errors.hpp"

namespace mali_sim::trace::detail {

Result<std::unique_ptr<AtomicFile>> AtomicFile::create(const std::string& path) {
  // A name of our own beside the target (same directory, hence same file system, so rename is
  // atomic); O_EXCL so two writers never share one. The mode is the usual 0666 less umask.
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string temp = fmt::format("{}.tmp-{}-{}", path, ::getpid(), counter.fetch_add(1));
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return std::unique_ptr<AtomicFile>(new AtomicFile(path, std::move(temp), fd));
    if (errno != EEXIST) {
      const int e = errno;
      return make_error(errc_from_errno(e), fmt::format("cannot create '{}': {}", path, std::strerror(e)));
    }
  }
  return make_error(Errc::kExists, fmt::format("cannot create '{}': no free temporary name beside it", path));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

Status AtomicFile::write(const char* data, std::size_t n) {
  if (fd_ < 0)
    return make_error(Errc::kInvalidArgument, fmt::format("cannot write '{}': already closed", path_));
  while (n > 0) {
    const ssize_t done = ::write(fd_, data, n);
    if (done < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      return make_error(errc_from_errno(e), fmt::format("cannot write '{}': {}", path_, std::strerror(e)));
    }
    data += done;
    n -= static_cast<std::size_t>(done);
  }
  return {};
}

Status AtomicFile::commit() {
  if (fd_ < 0)
    return make_error(Errc::kInvalidArgument, fmt::format("cannot write '{}': already closed", path_));
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int e = errno;
    return make_error(errc_from_errno(e), fmt::format("cannot write '{}': {}", path_, std::strerror(e)));
  }
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    return make_error(errc_from_errno(e),
                      fmt::format("cannot rename '{}' to '{}': {}", temp_, path_, std::strerror(e)));
  }
  committed_ = true;
  return {};
}

}  // namespace mali_sim::trace::detail
