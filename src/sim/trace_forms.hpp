// The readers and writers of each trace form (trace_text.cpp, trace_binary.cpp), and what the
// writers of both share: the output file, the rules, and the state that makes a writer refuse
// everything after an I/O error or after finish().
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <string>

#include "sim/atomic_file.hpp"
#include "sim/trace_input.hpp"
#include "sim/trace_rules.hpp"

namespace mali_sim::trace::detail {

Result<std::unique_ptr<TraceReader>> make_text_reader(std::unique_ptr<ByteSource> src);
Result<std::unique_ptr<TraceReader>> make_binary_reader(std::unique_ptr<ByteSource> src);
std::unique_ptr<TraceWriter> make_text_writer(std::unique_ptr<AtomicFile> out);
std::unique_ptr<TraceWriter> make_binary_writer(std::unique_ptr<AtomicFile> out);

// What the text and binary writers share: the file, the event-order rules, and the state that
// makes a writer refuse everything after an I/O error or after finish().
class WriterBase {
 protected:
  explicit WriterBase(std::unique_ptr<AtomicFile> out) : out_(std::move(out)), state_("event") {}

  Status usable() const {
    if (!io_error_) return io_error_;
    if (finished_)
      return make_error(Errc::kInvalidArgument, fmt::format("{}: the writer has finished", out_->path()));
    return {};
  }
  // The start of finish(): the rules' end-of-trace check; from here on the writer is finished.
  Status begin_finish() {
    if (Status s = usable(); !s) return s;
    if (Problem p = state_.finish())
      return make_error(Errc::kInvalidArgument, fmt::format("{}: finish: {}", out_->path(), p->cause));
    finished_ = true;
    return {};
  }
  // Write buffered bytes; an I/O error is kept and refuses every later call.
  Status write_out(const char* data, std::size_t n) {
    Status s = out_->write(data, n);
    if (!s) io_error_ = s;
    return s;
  }

  std::unique_ptr<AtomicFile> out_;
  TraceState state_;

 private:
  Status io_error_;
  bool finished_ = false;
};

// A writer's message: "out.trace: acc: field core: core 9 is not one of job 'j1''s cores 0-3".
Error writer_error(const std::string& path, EventType type, const FieldError& e);
// The error a writer returns for an access it refuses: a bad op or address kind, else the rule
// TraceState::explain_access names. Shared by the text and binary writers.
Error writer_access_error(const std::string& path, const TraceState& state, std::uint32_t job,
                          std::uint16_t core, Access op, AddrKind kind, std::uint32_t bo, std::uint64_t addr,
                          std::uint32_t size);

}  // namespace mali_sim::trace::detail
