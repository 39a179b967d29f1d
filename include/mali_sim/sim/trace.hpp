// Traces of GPU work: contexts, buffer objects, jobs and the shader accesses of each job, in a
// line-oriented text form a person can write and a compact binary form, both read streaming (a
// reader holds one event at a time, whatever the trace's length). docs/trace-format.md is the
// specification.
//
// Names (contexts, BOs, jobs) are interned: events carry small integer ids into the reader's name
// tables, so an access event is a fixed-size record and replay does no string work.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mali_sim/error.hpp"
#include "mali_sim/job_descriptor.hpp"
#include "mali_sim/types.hpp"
#include "mali_sim/uapi.hpp"

namespace mali_sim {
struct AccessQueues;  // the replay engine's read-ahead queues (access_queues.hpp)
}  // namespace mali_sim

namespace mali_sim::trace {

inline constexpr unsigned kFormatVersion = 1;        // of the text form ("mali-sim-trace 1")
inline constexpr unsigned kBinaryFormatVersion = 2;  // of the binary form written (1 is still read)
inline constexpr std::uint32_t kNoId = ~0U;

enum class EventType : std::uint8_t {
  Context,   // ctx NAME                       declare a context (one open file)
  BoCreate,  // bo CTX NAME SIZE [noexec] [heap]
  BoFree,    // free CTX NAME
  Madvise,   // madvise CTX NAME willneed|dontneed
  JobBegin,  // job CTX NAME cores=LIST [uses=BO,BO...]
  JobEnd,    // end NAME                        after all the job's accesses are done
  Access,    // acc JOB CORE +DELTA OP ADDR [SIZE]
};
std::string_view to_string(EventType t) noexcept;

enum class AddrKind : std::uint8_t { Absolute, BoOffset };

struct Event {
  EventType type = EventType::Access;
  Access op = Access::Read;                 // Access
  AddrKind addr_kind = AddrKind::Absolute;  // Access
  Madvise advice = Madvise::WillNeed;       // Madvise
  std::uint16_t core = 0;                   // Access
  std::uint32_t ctx = kNoId;                // all (JobEnd, Access: the job's context)
  std::uint32_t bo = kNoId;                 // BoCreate, BoFree, Madvise, Access with BoOffset
  std::uint32_t job = kNoId;                // JobBegin, JobEnd, Access
  JobType job_type = JobType::Compute;      // JobBegin: compute, vertex, tiler or fragment
  std::uint32_t flags = 0;                  // BoCreate: bo_flags
  std::uint32_t size = 4;                   // Access: bytes
  std::uint64_t bytes = 0;                  // BoCreate: size in bytes
  std::uint64_t addr = 0;                   // Access: VA, or offset into the BO
  std::uint64_t delta = 0;                  // Access: cycles after the core's previous access
  std::uint64_t cores = 0;                  // JobBegin: bit n = core n
  std::uint64_t line = 0;                   // text line or binary record number, for errors
};

// An access event in the compact form next_accesses() hands out: the fields of an Access Event
// (the context is the job's: Names and the JobBegin event say which).
struct AccessRecord {
  std::uint64_t addr = 0;   // VA, or offset into the BO
  std::uint64_t delta = 0;  // cycles after the core's previous access
  std::uint64_t line = 0;   // text line or binary record number, for errors
  std::uint32_t job = kNoId;
  std::uint32_t bo = kNoId;  // BoOffset only
  std::uint32_t size = 4;
  std::uint16_t core = 0;
  Access op = Access::Read;
  AddrKind addr_kind = AddrKind::Absolute;
};

// Name tables shared by readers and writers. Ids are dense, in order of first declaration.
struct Names {
  std::vector<std::string> contexts, bos, jobs;
  // A BO name is unique per context: bo_ctx[id] says which.
  std::vector<std::uint32_t> bo_ctx;
};

class TraceReader {
 public:
  virtual ~TraceReader() = default;
  // The next event, or false at the end or on an error (then error() says where and why:
  // file, line or record number, field, cause).
  virtual bool next(Event& ev) = 0;
  virtual const Status& error() const noexcept = 0;
  virtual const Names& names() const noexcept = 0;
  // BOs a JobBegin event uses (uses=...), valid until the next call to next().
  virtual std::span<const std::uint32_t> uses() const noexcept = 0;
  // A run of access events at once, for replay loops: decodes up to out.size() of the accesses
  // that come next into `out` and returns how many, each checked as next() checks it. 0 says
  // "call next()", which gives the next event whatever it is: another kind, an access this call
  // leaves to it (one that breaks a rule, so next() reports the error; the binary reader's last
  // 61 bytes), the end, or any event of a reader that does not batch (the default). Mixing the
  // two calls gives every event once, in trace order.
  virtual std::size_t next_accesses(std::span<AccessRecord> out) {
    static_cast<void>(out);
    return 0;
  }
  // next_accesses() straight into a replay engine's queues (access_queues.hpp): appends up to
  // `max` (at most AccessQueues::kMaxRun) of the accesses that come next, each checked as next()
  // checks it, and stops before one the queues refuse (AccessQueues::push). Returns how many;
  // fewer than `max` may only say that the rest is left to next_accesses() or next(), which give
  // every event this call did not take. The default takes none.
  virtual std::size_t append_accesses(AccessQueues& queues, std::size_t max) {
    static_cast<void>(queues);
    static_cast<void>(max);
    return 0;
  }
};

class TraceWriter {
 public:
  virtual ~TraceWriter() = default;
  // Declarations return the id later events use. Names must be identifiers [A-Za-z_][A-Za-z0-9_.-]*.
  virtual Result<std::uint32_t> context(std::string_view name) = 0;
  virtual Result<std::uint32_t> bo_create(std::uint32_t ctx, std::string_view name, std::uint64_t bytes,
                                          std::uint32_t flags) = 0;
  virtual Status bo_free(std::uint32_t bo) = 0;
  virtual Status madvise(std::uint32_t bo, Madvise advice) = 0;
  // `type`: what kind of shader job (trace_format.md: compute, vertex, tiler or fragment); it
  // decides the job slot the driver submits it to.
  virtual Result<std::uint32_t> job_begin(std::uint32_t ctx, std::string_view name, std::uint64_t cores,
                                          std::span<const std::uint32_t> uses = {},
                                          JobType type = JobType::Compute) = 0;
  virtual Status job_end(std::uint32_t job) = 0;
  virtual Status access(std::uint32_t job, std::uint16_t core, std::uint64_t delta, Access op, AddrKind kind,
                        std::uint32_t bo, std::uint64_t addr, std::uint32_t size) = 0;
  virtual Status comment(std::string_view text) = 0;  // text form only; binary drops it
  // Write any buffered data; errors name the file.
  virtual Status finish() = 0;
  // Re-emit an event read from another trace (ids are the source reader's; the writer keeps its
  // own tables, so a converter declares names as they come).
  Status copy(const Event& ev, const Names& names, std::span<const std::uint32_t> uses);

 private:
  // copy(): source id -> this writer's id, per kind (kNoId: not declared through copy). One
  // source per writer.
  std::vector<std::uint32_t> copy_ctx_, copy_bo_, copy_job_, copy_uses_;
};

// Readers and writers over files. The format is chosen by content when reading (the binary
// magic, else text) and by the caller when writing. A failed open names the file and the cause.
Result<std::unique_ptr<TraceReader>> open_trace(const std::string& path);
Result<std::unique_ptr<TraceReader>> read_text(std::unique_ptr<std::istream> in, std::string source_name);
Result<std::unique_ptr<TraceReader>> read_binary(std::unique_ptr<std::istream> in, std::string source_name);
enum class TraceFormat : std::uint8_t { Text, Binary };
// Writes to `path` atomically: into a temporary beside it, renamed over it on finish(), removed
// if the writer is destroyed without a successful finish() (nothing half-written is left).
Result<std::unique_ptr<TraceWriter>> create_trace(const std::string& path, TraceFormat format);

// Convert any trace to the given format; returns the number of events copied.
Result<std::uint64_t> convert_trace(const std::string& in, const std::string& out, TraceFormat format);

}  // namespace mali_sim::trace
