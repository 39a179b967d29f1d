// OutputFile: whole-or-nothing outputs through a temporary and rename, links followed, special
// files written directly, temporaries removed on SIGINT/SIGTERM.
#include "mali_sim/output_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "common/sys_errors.hpp"

namespace mali_sim {

namespace {

// The temporaries a signal handler must remove: fixed storage, claimed and released with atomics,
// so that the handler reads nothing a normal thread is halfway through writing.
constexpr int kSlots = 32;
struct TempSlot {
  std::atomic<bool> used{false};
  std::array<char, PATH_MAX> path{};
};
std::array<TempSlot, kSlots> g_temps;

int claim_slot(const std::string& temp) {
  if (temp.size() >= PATH_MAX) return -1;
  for (int i = 0; i < kSlots; ++i) {
    TempSlot& s = g_temps[static_cast<std::size_t>(i)];
    if (s.used.load()) continue;
    std::memcpy(s.path.data(), temp.c_str(), temp.size() + 1);
    bool expected = false;
    if (s.used.compare_exchange_strong(expected, true)) return i;
  }
  return -1;  // not tracked: a signal leaves this one behind (32 outputs at once is far more than any
              // command)
}

void release_slot(int slot) {
  if (slot >= 0) g_temps[static_cast<std::size_t>(slot)].used.store(false);
}

Error sys_error(int e, const std::string& what) {
  return Error{errc_from_errno(e), fmt::format("{}: {}", what, std::strerror(e))};
}

extern "C" void on_fatal_signal(int sig) {
  OutputFile::remove_temporaries_on_signal();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

Result<std::unique_ptr<OutputFile>> OutputFile::create(const std::string& path) {
  if (path.empty()) return make_error(Errc::kInvalidArgument, "an output path is empty");
  std::string target = path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    // Write the file the link names (resolved as far as it exists), not over the link.
    std::error_code ec;
    const auto resolved = std::filesystem::weakly_canonical(path, ec);
    if (ec)
      return make_error(errc_from_errno(ec.value()),
                        fmt::format("cannot follow '{}': {}", path, ec.message()));
    target = resolved.string();
  }
  if (::stat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode))
      return make_error(Errc::kInvalidArgument, fmt::format("cannot write '{}': it is a directory", path));
    // A FIFO, a terminal, a device: written as it is, nothing to rename.
    const int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return sys_error(errno, fmt::format("cannot open '{}'", path));
    return std::unique_ptr<OutputFile>(new OutputFile(path, target, {}, fd, -1));
  }
  // A name of our own beside the target (same directory, hence same file system, so rename is
  // atomic); O_EXCL so two writers never share one. The mode is the usual 0666 less umask.
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string temp = fmt::format("{}.tmp-{}-{}", target, ::getpid(), counter.fetch_add(1));
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      const int slot = claim_slot(temp);
      return std::unique_ptr<OutputFile>(new OutputFile(path, target, std::move(temp), fd, slot));
    }
    if (errno != EEXIST) return sys_error(errno, fmt::format("cannot create '{}'", path));
  }
  return make_error(Errc::kExists, fmt::format("cannot create '{}': no free temporary name beside it", path));
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
  release_slot(slot_);
}

Status OutputFile::write(const char* data, std::size_t n) {
  if (fd_ < 0)
    return make_error(Errc::kInvalidArgument, fmt::format("cannot write '{}': already closed", path_));
  while (n > 0) {
    const ssize_t done = ::write(fd_, data, n);
    if (done < 0) {
      if (errno == EINTR) continue;
      return sys_error(errno, fmt::format("cannot write '{}'", path_));
    }
    data += done;
    n -= static_cast<std::size_t>(done);
  }
  return {};
}

Status OutputFile::commit() {
  if (fd_ < 0)
    return make_error(Errc::kInvalidArgument, fmt::format("cannot write '{}': already closed", path_));
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return sys_error(errno, fmt::format("cannot write '{}'", path_));
  if (!temp_.empty()) {
    if (::rename(temp_.c_str(), target_.c_str()) != 0)
      return sys_error(errno, fmt::format("cannot rename '{}' to '{}'", temp_, target_));
  }
  committed_ = true;
  release_slot(slot_);
  slot_ = -1;
  return {};
}

void OutputFile::remove_temporaries_on_signal() noexcept {
  for (TempSlot& s : g_temps)
    if (s.used.load()) ::unlink(s.path.data());
}

void OutputFile::install_signal_cleanup() {
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec) && !ec;
}

}  // namespace mali_sim
