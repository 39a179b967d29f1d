// Trace input: the Input implementations (file descriptor, std::istream) and the ByteSource window.
#include "sim/trace_input.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <istream>
#include <utility>

namespace mali_sim::trace::detail {

namespace {

class IstreamInput final : public Input {
 public:
  explicit IstreamInput(std::unique_ptr<std::istream> in) : in_(std::move(in)) {}
  std::size_t read(char* dst, std::size_t n, std::string& error) override {
    // sgetn skips the istream sentry: one call per chunk whatever the stream type.
    const std::streamsize got =
        in_->rdbuf() == nullptr ? 0 : in_->rdbuf()->sgetn(dst, static_cast<std::streamsize>(n));
    if (got < 0) {
      error = "read error";
      return 0;
    }
    return static_cast<std::size_t>(got);
  }

 private:
  std::unique_ptr<std::istream> in_;
};

class FdInput final : public Input {
 public:
  explicit FdInput(int fd) : fd_(fd) {}
  ~FdInput() override { ::close(fd_); }
  FdInput(const FdInput&) = delete;
  FdInput& operator=(const FdInput&) = delete;
  std::size_t read(char* dst, std::size_t n, std::string& error) override {
    for (;;) {
      const ssize_t got = ::read(fd_, dst, n);
      if (got >= 0) return static_cast<std::size_t>(got);
      if (errno == EINTR) continue;
      error = std::strerror(errno);
      return 0;
    }
  }

 private:
  int fd_;
};

}  // namespace

std::unique_ptr<Input> istream_input(std::unique_ptr<std::istream> in) {
  return std::make_unique<IstreamInput>(std::move(in));
}

std::unique_ptr<Input> fd_input(int fd) { return std::make_unique<FdInput>(fd); }

ByteSource::ByteSource(std::unique_ptr<Input> in, std::string name)
    : in_(std::move(in)),
      name_(std::move(name)),
      buf_(std::make_unique<std::uint8_t[]>(kChunk)),
      cap_(kChunk) {}

bool ByteSource::fill(std::size_t want) {
  if (end_ - pos_ >= want || eof_) return error_.empty();
  // Slide the unread tail to the front, grow if the caller wants more than the window holds, then
  // read until `want` bytes are there or the input ends.
  std::memmove(buf_.get(), buf_.get() + pos_, end_ - pos_);
  end_ -= pos_;
  pos_ = 0;
  if (want > cap_) {
    std::size_t cap = cap_;
    while (cap < want) cap *= 2;
    auto bigger = std::make_unique<std::uint8_t[]>(cap);
    std::memcpy(bigger.get(), buf_.get(), end_);
    buf_ = std::move(bigger);
    cap_ = cap;
  }
  while (end_ < want) {
    const std::size_t got = in_->read(reinterpret_cast<char*>(buf_.get() + end_), cap_ - end_, error_);
    if (!error_.empty()) {
      error_ = fmt::format("cannot read '{}': {}", name_, error_);
      eof_ = true;
      return false;
    }
    if (got == 0) {
      eof_ = true;
      break;
    }
    end_ += got;
  }
  return true;
}

}  // namespace mali_sim::trace::detail
