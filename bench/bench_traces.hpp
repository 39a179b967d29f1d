// Shared by the trace and replay benchmarks: one trace written in both forms to a temporary
// directory, its bytes held in memory, and an istream over those bytes so that an iteration
// measures decoding or replay, not copying.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <istream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>

#include "mali_sim/sim/trace.hpp"

namespace mali_sim::bench {

// An istream over bytes we already hold.
class MemStream : public std::istream {
 public:
  explicit MemStream(const std::string& bytes) : std::istream(nullptr) {
    char* p = const_cast<char*>(bytes.data());  // NOLINT: the get area is only read
    buf_.set(p, p + bytes.size());
    rdbuf(&buf_);
  }

 private:
  struct Buf : std::streambuf {
    void set(char* b, char* e) { setg(b, b, e); }
  };
  Buf buf_;
};

// The trace `write` produces (it throws on error), as trace.bin and trace.trace in a fresh
// temporary directory that is removed again, and the bytes of both.
class TraceFiles {
 public:
  using Writer = std::function<void(trace::TraceWriter&)>;

  TraceFiles(const std::string& name, const Writer& write)
      : dir((std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()))).string()) {
    std::filesystem::create_directories(dir);
    binary = make(binary_path(), trace::TraceFormat::Binary, write);
    text = make(text_path(), trace::TraceFormat::Text, write);
  }
  ~TraceFiles() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  TraceFiles(const TraceFiles&) = delete;
  TraceFiles& operator=(const TraceFiles&) = delete;

  std::string binary_path() const { return dir + "/trace.bin"; }
  std::string text_path() const { return dir + "/trace.trace"; }

  std::string dir;
  std::string binary, text;

 private:
  static std::string make(const std::string& path, trace::TraceFormat fmt, const Writer& write) {
    auto w = trace::create_trace(path, fmt);
    if (!w) throw std::runtime_error(w.error().message);
    write(**w);
    if (Status s = (*w)->finish(); !s) throw std::runtime_error(s.error().message);
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  }
};

}  // namespace mali_sim::bench
