// Where a trace reader's bytes come from: an Input (a file descriptor or a std::istream) behind
// a growable window the readers decode from directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>

namespace mali_sim::trace::detail {

inline constexpr std::size_t kChunk = std::size_t{64} << 10;

// Where bytes come from: a file descriptor or a std::istream, one virtual call per chunk.
class Input {
 public:
  virtual ~Input() = default;
  // Up to n bytes into dst; 0 at the end. On a read error returns 0 and sets `error`.
  virtual std::size_t read(char* dst, std::size_t n, std::string& error) = 0;
};
std::unique_ptr<Input> istream_input(std::unique_ptr<std::istream> in);
// Takes ownership of `fd` (closed when the Input goes).
std::unique_ptr<Input> fd_input(int fd);

// A growable window over an Input. Readers decode straight from the window; fill() slides the
// unread tail to the front and reads more, in 64 KiB chunks.
class ByteSource {
 public:
  ByteSource(std::unique_ptr<Input> in, std::string name);

  const std::uint8_t* data() const noexcept { return buf_.get() + pos_; }
  const std::uint8_t* data_end() const noexcept { return buf_.get() + end_; }
  std::size_t available() const noexcept { return end_ - pos_; }
  void advance(std::size_t n) noexcept { pos_ += n; }
  void advance_to(const std::uint8_t* p) noexcept { pos_ = static_cast<std::size_t>(p - buf_.get()); }
  bool at_eof() const noexcept { return eof_ && pos_ == end_; }
  bool input_ended() const noexcept { return eof_; }  // nothing more will be read

  // Makes at least `want` bytes available unless the input ends first (growing the window if
  // `want` exceeds it). False only on a read error (then error() says why).
  bool fill(std::size_t want);
  const std::string& error() const noexcept { return error_; }
  const std::string& name() const noexcept { return name_; }

 private:
  std::unique_ptr<Input> in_;
  std::string name_;
  std::unique_ptr<std::uint8_t[]> buf_;
  std::size_t cap_ = 0, pos_ = 0, end_ = 0;
  bool eof_ = false;
  std::string error_;
};

}  // namespace mali_sim::trace::detail
