// An output a user asked for, written whole or not at all, and never at the cost of something else:
//  - A regular file (or a new one) is written beside its final path and renamed over it by
//    commit(); destroyed uncommitted, the temporary is removed, so no reader ever sees half a file
//    and a failed run leaves the old file as it was.
//  - A symbolic link is followed: the file it names is replaced, the link stays a link.
//  - Anything else that exists (a FIFO, a terminal, /dev/stdout, /dev/null) is written directly;
//    commit() only closes it.
//  - Temporaries still open when SIGINT or SIGTERM arrives are removed by
//    remove_temporaries_on_signal(), which is async-signal-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "mali_sim/error.hpp"

namespace mali_sim {

class OutputFile {
 public:
  // Opens the output now, so that a path that cannot be written fails before any work is done.
  static Result<std::unique_ptr<OutputFile>> create(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  Status write(const char* data, std::size_t n);
  Status write(std::string_view s) { return write(s.data(), s.size()); }
  Status commit();
  const std::string& path() const noexcept { return path_; }
  bool direct() const noexcept { return temp_.empty(); }

  // For a signal handler: unlinks every temporary not yet committed. Async-signal-safe.
  static void remove_temporaries_on_signal() noexcept;
  // Installs a SIGINT and SIGTERM handler that removes the temporaries, then dies of the signal
  // as it would have (exit status 128 + signal).
  static void install_signal_cleanup();

 private:
  OutputFile(std::string path, std::string target, std::string temp, int fd, int slot)
      : path_(std::move(path)), target_(std::move(target)), temp_(std::move(temp)), fd_(fd), slot_(slot) {}
  std::string path_, target_, temp_;  // target_: the file renamed over (links followed); temp_ empty: direct
  int fd_ = -1;
  int slot_ = -1;  // in the signal handler's table of temporaries
  bool committed_ = false;
};

// Whether two paths name the same existing file (after symbolic links): an output that is also an
// input would destroy the input.
bool same_file(const std::string& a, const std::string& b);

}  // namespace mali_sim
