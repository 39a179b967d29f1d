// Private pieces shared by the trace readers and writers of both forms: the rules every one of
// them enforces (TraceState), buffered byte input, the atomic output file, number formatting and
// the binary form's constants. docs/trace-format.md is the specification these implement.
#pragma once

#include <fmt/format.h>

#include <array>
#include <bit>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mali_sim/sim/trace.hpp"

namespace mali_sim::trace::detail {

// ---------------------------------------------------------------------------------------------
// Binary form constants
// ---------------------------------------------------------------------------------------------

inline constexpr std::array<char, 8> kMagic = {'M', 'S', 'I', 'M', 'T', 'R', 'C', '\0'};

namespace rec {
inline constexpr std::uint8_t kContext = 0x01;
inline constexpr std::uint8_t kBoCreate = 0x02;
inline constexpr std::uint8_t kBoFree = 0x03;
inline constexpr std::uint8_t kMadvise = 0x04;
inline constexpr std::uint8_t kJobBegin = 0x05;
inline constexpr std::uint8_t kJobEnd = 0x06;
// What would cost a field elsewhere sits in an access's type byte.
inline constexpr std::uint8_t kAccessOpMask = 0x03;    // the Access enum value (AS_FAULTSTATUS)
inline constexpr std::uint8_t kAccessBoOffset = 0x04;  // a BO id field precedes addr
inline constexpr std::uint8_t kAccessSized = 0x08;     // a size field follows addr (else 4)
// Version 2: accesses are 0x80-0xff, the type byte also giving the address's length in bytes
// (bits 6-4: length - 1), so that it is one load and a mask; the core is one byte.
inline constexpr std::uint8_t kAccessV2 = 0x80;
inline constexpr unsigned kAccessV2AddrShift = 4;
// Version 1: accesses are 0x10-0x1f, every field a varint.
inline constexpr std::uint8_t kAccessV1 = 0x10;
inline constexpr std::uint8_t kAccessV1Mask = 0xf0;
// The last record: the number of records before it. Without it a file cut at a record boundary
// would look complete. Version 1 used 0xff, an access type in version 2.
inline constexpr std::uint8_t kEndV2 = 0x7f;
inline constexpr std::uint8_t kEndV1 = 0xff;
}  // namespace rec

// The binary versions this reader reads; writers write the last.
inline constexpr unsigned kBinaryVersionV1 = 1;
inline constexpr unsigned kBinaryVersionV2 = 2;
static_assert(kBinaryFormatVersion == kBinaryVersionV2);

// Longest access record with every varint at its 10-byte maximum (version 1; version 2 is
// shorter): the reader refills its buffer to at least this much before decoding one, so the hot
// path needs no refill in the middle.
inline constexpr std::size_t kMaxAccessRecord = 1 + 6 * 10;

inline constexpr std::size_t kMaxNameLength = 255;
inline constexpr unsigned kMaxCores = 64;
inline constexpr std::uint32_t kDefaultAccessSize = 4;
inline constexpr std::size_t kChunk = std::size_t{64} << 10;

// LEB128: 7 bits a byte, least significant first, high bit = more bytes follow.
inline char* put_varint(char* out, std::uint64_t v) noexcept {
  while (v >= 0x80) {
    *out++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *out++ = static_cast<char>(v);
  return out;
}

enum class VarintError : std::uint8_t { kNone, kTruncated, kOverflow };

// The general case of get_varint: multi-byte values, truncation and overflow.
std::uint64_t get_varint_slow(const std::uint8_t*& p, const std::uint8_t* end, VarintError& err) noexcept;

// Single-byte values (small ids, cores, deltas) take one compare; errors are sticky in `err` so a
// record can be decoded straight through and checked once.
inline std::uint64_t get_varint(const std::uint8_t*& p, const std::uint8_t* end, VarintError& err) noexcept {
  if (p < end && *p < 0x80) [[likely]]
    return *p++;
  return get_varint_slow(p, end, err);
}

// Branch-free pieces for the access hot path, where field lengths vary from record to record and
// branches on them would mispredict. Both read whole 8-byte words: callers guarantee the bytes.
inline std::uint64_t load_le64(const std::uint8_t* p) noexcept {
  std::uint64_t x = 0;
  std::memcpy(&x, p, sizeof x);
  if constexpr (std::endian::native == std::endian::big) x = __builtin_bswap64(x);
  return x;
}

// Bit i set when byte i of w ends a varint (its high bit is clear): a movemask in plain C++.
inline unsigned varint_stops(std::uint64_t w) noexcept {
  return static_cast<unsigned>((((~w & 0x8080808080808080ULL) >> 7) * 0x0102040810204080ULL) >> 56);
}

// The value of the `len`-byte varint at p, 1 <= len <= 8 (values below 2^56).
inline std::uint64_t varint_of_length(const std::uint8_t* p, unsigned len) noexcept {
  const unsigned drop = (64 - 8 * len) & 63;
  std::uint64_t x = ((load_le64(p) << drop) >> drop) & 0x7f7f7f7f7f7f7f7fULL;
  // Squeeze the 7-bit groups together: pairs, then quads, then all eight.
  x = ((x & 0x7f007f007f007f00ULL) >> 1) | (x & 0x007f007f007f007fULL);
  x = ((x & 0x3fff00003fff0000ULL) >> 2) | (x & 0x00003fff00003fffULL);
  x = ((x & 0x0fffffff00000000ULL) >> 4) | (x & 0x000000000fffffffULL);
  return x;
}

// ---------------------------------------------------------------------------------------------
// Names and numbers
// ---------------------------------------------------------------------------------------------

// Empty when `name` is a valid name, else why not.
std::string name_problem(std::string_view name);

// "64M", "4K", "1G" when exact, else hex bytes: the canonical BO size.
std::string format_bytes(std::uint64_t bytes);
// "0-3", "0,2,5-7": the canonical core list (runs of two or more become ranges).
std::string format_cores(std::uint64_t cores);

// Appends decimal / 0x-hex without allocating beyond `out`'s growth.
inline void append_dec(std::string& out, std::uint64_t v) {
  std::array<char, 24> b{};
  const auto r = std::to_chars(b.data(), b.data() + b.size(), v);
  out.append(b.data(), r.ptr);
}
inline void append_hex(std::string& out, std::uint64_t v) {
  std::array<char, 24> b{'0', 'x'};
  const auto r = std::to_chars(b.data() + 2, b.data() + b.size(), v, 16);
  out.append(b.data(), r.ptr);
}

// ---------------------------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------------------------

// Text field numbers (the keyword is field 0). Binary records name the same fields, so a rule
// reports one FieldError that each form prints its own way.
namespace fld {
inline constexpr unsigned kCtxName = 1;
inline constexpr unsigned kBoCtx = 1, kBoName = 2, kBoSize = 3, kBoFlags = 4;
inline constexpr unsigned kFreeCtx = 1, kFreeBo = 2;
inline constexpr unsigned kMadvCtx = 1, kMadvBo = 2, kMadvAdvice = 3;
inline constexpr unsigned kJobCtx = 1, kJobName = 2, kJobCores = 3, kJobUses = 4;
inline constexpr unsigned kEndJob = 1;
inline constexpr unsigned kAccJob = 1, kAccCore = 2, kAccDelta = 3, kAccOp = 4, kAccAddr = 5, kAccSize = 6;
}  // namespace fld

struct FieldError {
  unsigned field = 0;     // text field number; 0 = the event as a whole
  std::string_view name;  // "job", "core", ...
  std::string cause;
  std::uint64_t at = 0;  // when not 0: the line/record the problem belongs to (a job never ended)
};
using Problem = std::optional<FieldError>;

// Every reader and writer keeps one: the name tables plus just enough state to enforce the rules
// (BO sizes and liveness, running jobs and their cores and uses). Its size grows with the number
// of names, never with the number of events. Each mutating call checks first and changes nothing
// when it reports a problem.
class TraceState {
 public:
  // "line" for text, "record" for binary, "event" for writers: how positions read in messages.
  explicit TraceState(std::string_view unit) : unit_(unit) {}

  const Names& names() const noexcept { return names_; }
  // The position of the event being checked, recorded with declarations for later messages.
  void set_position(std::uint64_t at) noexcept { now_ = at; }

  std::uint32_t find_context(std::string_view name) const noexcept;
  std::uint32_t find_bo(std::uint32_t ctx, std::string_view name) const noexcept;
  std::uint32_t find_job(std::string_view name) const noexcept;
  std::uint32_t job_ctx(std::uint32_t job) const noexcept { return jobs_[job].ctx; }
  std::uint32_t bo_ctx(std::uint32_t bo) const noexcept { return names_.bo_ctx[bo]; }

  Problem context(std::string_view name, std::uint32_t& id);
  Problem bo_create(std::uint32_t ctx, std::string_view name, std::uint64_t bytes, std::uint32_t flags,
                    std::uint32_t& id);
  Problem bo_free(std::uint32_t bo);
  Problem madvise(std::uint32_t bo);
  Problem job_begin(std::uint32_t ctx, std::string_view name, std::uint64_t cores,
                    std::span<const std::uint32_t> uses, std::uint32_t& id);
  Problem job_end(std::uint32_t job);
  // At the end of the trace: every job must have ended.
  Problem finish() const;

  // The hot path: all access rules in a few predictable branches. `bo` is kNoId for an absolute
  // address. explain_access says which rule failed.
  bool access_ok(std::uint32_t job, std::uint64_t core, AddrKind kind, std::uint32_t bo, std::uint64_t addr,
                 std::uint64_t size) const noexcept;
  // access_ok's tables as plain pointers, which a loop over many accesses looks up once.
  // Valid until the next declaration (accesses declare nothing).
  class AccessRules;
  AccessRules access_rules() const noexcept;
  FieldError explain_access(std::uint32_t job, std::uint64_t core, AddrKind kind, std::uint32_t bo,
                            std::uint64_t addr, std::uint64_t size) const;

  // Descriptions used in messages: "job 'j1'", "BO 'heap' of context 'A'".
  std::string describe_job(std::uint32_t job) const;
  std::string describe_bo(std::uint32_t bo) const;
  std::string describe_cores(std::uint32_t job) const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using NameMap = std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>>;
  // What access_ok reads, 16 bytes an entry; the rest lives apart (BoInfo, JobInfo).
  struct Bo {
    std::uint64_t bytes = 0;
    std::uint32_t ctx = 0;   // kNoId once freed (names_.bo_ctx keeps the context)
    std::uint32_t busy = 0;  // running jobs listing it in uses=
  };
  struct Job {
    std::uint64_t cores = 0;  // 0 once ended
    std::uint32_t ctx = 0;
  };

 public:
  class AccessRules {
   public:
    // Ids as decoded, 64 bits wide: one above 2^32 - 1 is no declared id either.
    bool ok(std::uint64_t job, std::uint64_t core, AddrKind kind, std::uint64_t bo, std::uint64_t addr,
            std::uint64_t size) const noexcept {
      if (job >= num_jobs_) return false;
      const Job& j = jobs_[job];
      // An ended job has no cores and a freed BO no context, so those rules cost nothing here;
      // size 0 wraps around and fails with the sizes above 2^32 - 1.
      if (core >= kMaxCores || ((j.cores >> core) & 1U) == 0 || size - 1 >= UINT32_MAX) return false;
      if (kind == AddrKind::Absolute) return bo == kNoId;
      if (bo >= num_bos_) return false;
      const Bo& b = bos_[bo];
      return b.ctx == j.ctx && addr < b.bytes && size <= b.bytes - addr;
    }

   private:
    friend class TraceState;
    const Job* jobs_ = nullptr;
    const Bo* bos_ = nullptr;
    std::size_t num_jobs_ = 0, num_bos_ = 0;
  };

 private:
  struct BoInfo {
    std::uint64_t declared_at = 0, freed_at = 0;
  };
  struct JobInfo {
    std::uint64_t begun_at = 0, ended_at = 0;
    std::vector<std::uint32_t> uses;  // emptied at the end: only running jobs hold any
  };
  bool freed(std::uint32_t bo) const noexcept { return bos_[bo].ctx == kNoId; }
  bool running(std::uint32_t job) const noexcept { return jobs_[job].cores != 0; }

  Problem check_ctx(std::uint32_t ctx, unsigned field) const;
  Problem check_bo(std::uint32_t bo, unsigned field) const;  // declared and not freed
  Problem check_job(std::uint32_t job, unsigned field) const;
  std::string where(std::uint64_t at) const;  // "line 12"

  std::string_view unit_;
  std::uint64_t now_ = 0;
  Names names_;
  NameMap ctx_ids_, job_ids_;
  std::vector<NameMap> bo_ids_;  // per context
  std::vector<std::uint64_t> ctx_declared_at_;
  std::vector<Bo> bos_;
  std::vector<Job> jobs_;
  std::vector<BoInfo> bo_info_;
  std::vector<JobInfo> job_info_;
};

inline TraceState::AccessRules TraceState::access_rules() const noexcept {
  AccessRules r;
  r.jobs_ = jobs_.data();
  r.bos_ = bos_.data();
  r.num_jobs_ = jobs_.size();
  r.num_bos_ = bos_.size();
  return r;
}

inline bool TraceState::access_ok(std::uint32_t job, std::uint64_t core, AddrKind kind, std::uint32_t bo,
                                  std::uint64_t addr, std::uint64_t size) const noexcept {
  return access_rules().ok(job, core, kind, bo, addr, size);
}

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

// Where bytes come from: a file descriptor or a std::istream, one virtual call per chunk.
class Input {
 public:
  virtual ~Input() = default;
  // Up to n bytes into dst; 0 at the end. On a read error returns 0 and sets `error`.
  virtual std::size_t read(char* dst, std::size_t n, std::string& error) = 0;
};
std::unique_ptr<Input> istream_input(std::unique_ptr<std::istream> in);

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

Result<std::unique_ptr<TraceReader>> make_text_reader(std::unique_ptr<ByteSource> src);
Result<std::unique_ptr<TraceReader>> make_binary_reader(std::unique_ptr<ByteSource> src);

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

// A file written beside its final path and renamed over it by commit(); destroyed uncommitted, it
// removes itself, so no reader ever sees a half-written trace.
class AtomicFile {
 public:
  static Result<std::unique_ptr<AtomicFile>> create(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  Status write(const char* data, std::size_t n);
  Status commit();
  const std::string& path() const noexcept { return path_; }

 private:
  AtomicFile(std::string path, std::string temp, int fd)
      : path_(std::move(path)), temp_(std::move(temp)), fd_(fd) {}
  std::string path_, temp_;
  int fd_ = -1;
  bool committed_ = false;
};

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

std::unique_ptr<TraceWriter> make_text_writer(std::unique_ptr<AtomicFile> out);
std::unique_ptr<TraceWriter> make_binary_writer(std::unique_ptr<AtomicFile> out);

// A writer's message: "out.trace: acc: field core: core 9 is not one of job 'j1''s cores 0-3".
Error writer_error(const std::string& path, EventType type, const FieldError& e);
// The error a writer returns for an access it refuses: a bad op or address kind, else the rule
// TraceState::explain_access names. Shared by the text and binary writers.
Error writer_access_error(const std::string& path, const TraceState& state, std::uint32_t job,
                          std::uint16_t core, Access op, AddrKind kind, std::uint32_t bo, std::uint64_t addr,
                          std::uint32_t size);

}  // namespace mali_sim::trace::detail
