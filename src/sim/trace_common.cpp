// What both trace forms share: the rules (TraceState), names and number formatting, input and the
// atomic output file, TraceWriter::copy, and opening, creating and converting trace files.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <istream>
#include <utility>

#include <fmt/format.h>

#include "sim/trace_internal.hpp"

namespace mali_sim::trace {

std::string_view to_string(EventType t) noexcept {
  // The text keywords, so that messages of both forms name events the same way.
  switch (t) {
    case EventType::Context: return "ctx";
    case EventType::BoCreate: return "bo";
    case EventType::BoFree: return "free";
    case EventType::Madvise: return "madvise";
    case EventType::JobBegin: return "job";
    case EventType::JobEnd: return "end";
    case EventType::Access: return "acc";
  }
  return "?";
}

namespace detail {

// ---------------------------------------------------------------------------------------------
// Varints, names, numbers
// ---------------------------------------------------------------------------------------------

std::uint64_t get_varint_slow(const std::uint8_t*& p, const std::uint8_t* end, VarintError& err) noexcept {
  std::uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (p == end) {
      if (err == VarintError::kNone) err = VarintError::kTruncated;
      return 0;
    }
    const std::uint8_t b = *p++;
    // The tenth byte holds bit 63 only; anything more does not fit in 64 bits.
    if (shift == 63 && b > 1) {
      if (err == VarintError::kNone) err = VarintError::kOverflow;
      return 0;
    }
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) return v;
  }
  return v;  // not reached: shift 63 returns above
}

std::string name_problem(std::string_view name) {
  auto head = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  auto tail = [&](char c) { return head(c) || (c >= '0' && c <= '9') || c == '.' || c == '-'; };
  bool ok = !name.empty() && name.size() <= kMaxNameLength && head(name[0]);
  for (std::size_t i = 1; ok && i < name.size(); ++i) ok = tail(name[i]);
  if (ok) return {};
  std::string shown(name.substr(0, 40));
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return fmt::format(
      "'{}{}' is not a valid name (names match [A-Za-z_][A-Za-z0-9_.-]*, at most {} characters)", shown,
      name.size() > 40 ? "..." : "", kMaxNameLength);
}

std::string format_bytes(std::uint64_t bytes) {
  if (bytes != 0) {
    for (auto [shift, suffix] : {std::pair{30, 'G'}, std::pair{20, 'M'}, std::pair{10, 'K'}}) {
      if ((bytes & ((1ULL << shift) - 1)) == 0) return fmt::format("{}{}", bytes >> shift, suffix);
    }
  }
  return fmt::format("{:#x}", bytes);
}

std::string format_cores(std::uint64_t cores) {
  std::string out;
  unsigned c = 0;
  while (c < kMaxCores) {
    if (((cores >> c) & 1U) == 0) {
      ++c;
      continue;
    }
    unsigned last = c;
    while (last + 1 < kMaxCores && ((cores >> (last + 1)) & 1U) != 0) ++last;
    if (!out.empty()) out += ',';
    out += last == c ? fmt::format("{}", c) : fmt::format("{}-{}", c, last);
    c = last + 1;
  }
  return out;
}

Error writer_error(const std::string& path, EventType type, const FieldError& e) {
  if (e.name.empty())
    return make_error(Errc::kInvalidArgument, fmt::format("{}: {}: {}", path, to_string(type), e.cause));
  return make_error(Errc::kInvalidArgument,
                    fmt::format("{}: {}: field {}: {}", path, to_string(type), e.name, e.cause));
}

Error writer_access_error(const std::string& path, const TraceState& state, std::uint32_t job,
                          std::uint16_t core, Access op, AddrKind kind, std::uint32_t bo, std::uint64_t addr,
                          std::uint32_t size) {
  if (static_cast<unsigned>(op) > 3) {
    return writer_error(
        path, EventType::Access,
        FieldError{fld::kAccOp, "op", fmt::format("op {} is not an Access", static_cast<int>(op))});
  }
  if (static_cast<unsigned>(kind) > 1) {
    return writer_error(
        path, EventType::Access,
        FieldError{fld::kAccAddr, "addr",
                   fmt::format("address kind {} is not an AddrKind", static_cast<int>(kind))});
  }
  return writer_error(path, EventType::Access, state.explain_access(job, core, kind, bo, addr, size));
}

// ---------------------------------------------------------------------------------------------
// TraceState
// ---------------------------------------------------------------------------------------------

namespace {
FieldError field_error(unsigned field, std::string_view name, std::string cause) {
  return FieldError{field, name, std::move(cause), 0};
}
}  // namespace

std::string TraceState::where(std::uint64_t at) const { return fmt::format("{} {}", unit_, at); }

std::string TraceState::describe_job(std::uint32_t job) const {
  return fmt::format("job '{}'", names_.jobs[job]);
}

std::string TraceState::describe_bo(std::uint32_t bo) const {
  return fmt::format("BO '{}' of context '{}'", names_.bos[bo], names_.contexts[names_.bo_ctx[bo]]);
}

std::string TraceState::describe_cores(std::uint32_t job) const { return format_cores(jobs_[job].cores); }

std::uint32_t TraceState::find_context(std::string_view name) const noexcept {
  const auto it = ctx_ids_.find(name);
  return it == ctx_ids_.end() ? kNoId : it->second;
}

std::uint32_t TraceState::find_bo(std::uint32_t ctx, std::string_view name) const noexcept {
  if (ctx >= bo_ids_.size()) return kNoId;
  const auto it = bo_ids_[ctx].find(name);
  return it == bo_ids_[ctx].end() ? kNoId : it->second;
}

std::uint32_t TraceState::find_job(std::string_view name) const noexcept {
  const auto it = job_ids_.find(name);
  return it == job_ids_.end() ? kNoId : it->second;
}

Problem TraceState::check_ctx(std::uint32_t ctx, unsigned field) const {
  if (ctx < names_.contexts.size()) return {};
  return field_error(field, "context",
                     fmt::format("no context has id {} ({} declared)", ctx, names_.contexts.size()));
}

Problem TraceState::check_bo(std::uint32_t bo, unsigned field) const {
  if (bo >= bos_.size())
    return field_error(field, "bo", fmt::format("no BO has id {} ({} declared)", bo, bos_.size()));
  if (freed(bo))
    return field_error(field, "bo",
                       fmt::format("{} was freed at {}", describe_bo(bo), where(bo_info_[bo].freed_at)));
  return {};
}

Problem TraceState::check_job(std::uint32_t job, unsigned field) const {
  if (job >= jobs_.size())
    return field_error(field, "job", fmt::format("no job has id {} ({} declared)", job, jobs_.size()));
  if (!running(job))
    return field_error(
        field, "job", fmt::format("{} has ended (at {})", describe_job(job), where(job_info_[job].ended_at)));
  return {};
}

Problem TraceState::context(std::string_view name, std::uint32_t& id) {
  if (std::string why = name_problem(name); !why.empty())
    return field_error(fld::kCtxName, "name", std::move(why));
  if (const std::uint32_t old = find_context(name); old != kNoId) {
    return field_error(
        fld::kCtxName, "name",
        fmt::format("context '{}' is already declared (at {})", name, where(ctx_declared_at_[old])));
  }
  id = static_cast<std::uint32_t>(names_.contexts.size());
  names_.contexts.emplace_back(name);
  ctx_ids_.emplace(name, id);
  bo_ids_.emplace_back();
  ctx_declared_at_.push_back(now_);
  return {};
}

Problem TraceState::bo_create(std::uint32_t ctx, std::string_view name, std::uint64_t bytes,
                              std::uint32_t flags, std::uint32_t& id) {
  if (Problem p = check_ctx(ctx, fld::kBoCtx)) return p;
  if (std::string why = name_problem(name); !why.empty())
    return field_error(fld::kBoName, "name", std::move(why));
  if (const std::uint32_t old = find_bo(ctx, name); old != kNoId) {
    return field_error(
        fld::kBoName, "name",
        fmt::format("BO '{}' is already declared in context '{}' (at {}); BO names are unique per "
                    "context in a trace",
                    name, names_.contexts[ctx], where(bo_info_[old].declared_at)));
  }
  if (bytes == 0) return field_error(fld::kBoSize, "size", "size 0: a BO has at least one byte");
  if ((flags & ~bo_flags::kAll) != 0) {
    return field_error(fld::kBoFlags, "flags",
                       fmt::format("unknown flag bits {:#x} (known: noexec {:#x}, heap {:#x})",
                                   flags & ~bo_flags::kAll, bo_flags::kNoExec, bo_flags::kHeap));
  }
  id = static_cast<std::uint32_t>(bos_.size());
  names_.bos.emplace_back(name);
  names_.bo_ctx.push_back(ctx);
  bo_ids_[ctx].emplace(name, id);
  bos_.push_back(Bo{bytes, ctx, 0});
  bo_info_.push_back(BoInfo{now_, 0});
  return {};
}

Problem TraceState::bo_free(std::uint32_t bo) {
  if (Problem p = check_bo(bo, fld::kFreeBo)) return p;
  if (bos_[bo].busy != 0) {
    for (std::uint32_t j = 0; j < jobs_.size(); ++j) {
      const auto& uses = job_info_[j].uses;
      if (running(j) && std::find(uses.begin(), uses.end(), bo) != uses.end()) {
        return field_error(fld::kFreeBo, "bo",
                           fmt::format("{} is in use by running {} (uses=, begun at {})", describe_bo(bo),
                                       describe_job(j), where(job_info_[j].begun_at)));
      }
    }
  }
  bos_[bo].ctx = kNoId;
  bo_info_[bo].freed_at = now_;
  return {};
}

Problem TraceState::madvise(std::uint32_t bo) { return check_bo(bo, fld::kMadvBo); }

Problem TraceState::job_begin(std::uint32_t ctx, std::string_view name, std::uint64_t cores,
                              std::span<const std::uint32_t> uses, std::uint32_t& id) {
  if (Problem p = check_ctx(ctx, fld::kJobCtx)) return p;
  if (std::string why = name_problem(name); !why.empty())
    return field_error(fld::kJobName, "name", std::move(why));
  if (const std::uint32_t old = find_job(name); old != kNoId) {
    return field_error(fld::kJobName, "name",
                       fmt::format("job '{}' is already declared (at {}); job names are unique in a trace",
                                   name, where(job_info_[old].begun_at)));
  }
  if (cores == 0) return field_error(fld::kJobCores, "cores", "no cores: a job runs on at least one core");
  for (std::size_t i = 0; i < uses.size(); ++i) {
    const std::uint32_t bo = uses[i];
    if (Problem p = check_bo(bo, fld::kJobUses)) {
      p->name = "uses";
      return p;
    }
    if (names_.bo_ctx[bo] != ctx) {
      return field_error(
          fld::kJobUses, "uses",
          fmt::format("{} is not in the job's context '{}'", describe_bo(bo), names_.contexts[ctx]));
    }
    if (std::find(uses.begin(), uses.begin() + static_cast<std::ptrdiff_t>(i), bo) !=
        uses.begin() + static_cast<std::ptrdiff_t>(i))
      return field_error(fld::kJobUses, "uses", fmt::format("BO '{}' is listed twice", names_.bos[bo]));
  }
  id = static_cast<std::uint32_t>(jobs_.size());
  names_.jobs.emplace_back(name);
  job_ids_.emplace(name, id);
  jobs_.push_back(Job{cores, ctx});
  job_info_.push_back(JobInfo{now_, 0, {uses.begin(), uses.end()}});
  for (std::uint32_t bo : uses) ++bos_[bo].busy;
  return {};
}

Problem TraceState::job_end(std::uint32_t job) {
  if (Problem p = check_job(job, fld::kEndJob)) return p;
  JobInfo& info = job_info_[job];
  for (std::uint32_t bo : info.uses) --bos_[bo].busy;
  info.uses = {};  // release: only running jobs hold their uses
  info.ended_at = now_;
  jobs_[job].cores = 0;
  return {};
}

Problem TraceState::finish() const {
  for (std::uint32_t j = 0; j < jobs_.size(); ++j) {
    if (!running(j)) continue;
    const std::string& name = names_.jobs[j];
    return FieldError{
        0,
        {},
        fmt::format("job '{}' never ends (no 'end {}' before the end of the trace)", name, name),
        job_info_[j].begun_at};
  }
  return {};
}

FieldError TraceState::explain_access(std::uint32_t job, std::uint64_t core, AddrKind kind, std::uint32_t bo,
                                      std::uint64_t addr, std::uint64_t size) const {
  if (Problem p = check_job(job, fld::kAccJob)) return *p;
  const Job& j = jobs_[job];
  if (core >= kMaxCores)
    return field_error(fld::kAccCore, "core",
                       fmt::format("core {} is out of range 0-{}", core, kMaxCores - 1));
  if (((j.cores >> core) & 1U) == 0) {
    return field_error(
        fld::kAccCore, "core",
        fmt::format("core {} is not one of {}'s cores {}", core, describe_job(job), describe_cores(job)));
  }
  if (size == 0) return field_error(fld::kAccSize, "size", "size 0: an access has at least one byte");
  if (size > UINT32_MAX)
    return field_error(fld::kAccSize, "size",
                       fmt::format("size {} is out of range (at most {})", size, UINT32_MAX));
  if (kind == AddrKind::Absolute) {
    if (bo != kNoId)
      return field_error(fld::kAccAddr, "addr",
                         fmt::format("an absolute address takes no BO (got BO id {})", bo));
  } else {
    if (Problem p = check_bo(bo, fld::kAccAddr)) {
      p->name = "addr";
      return *p;
    }
    const Bo& b = bos_[bo];
    if (b.ctx != j.ctx) {
      return field_error(fld::kAccAddr, "addr",
                         fmt::format("{} is not in {}'s context '{}'", describe_bo(bo), describe_job(job),
                                     names_.contexts[j.ctx]));
    }
    if (addr >= b.bytes) {
      return field_error(
          fld::kAccAddr, "addr",
          fmt::format("offset {:#x} is outside {} (size {:#x})", addr, describe_bo(bo), b.bytes));
    }
    if (size > b.bytes - addr) {
      return field_error(fld::kAccAddr, "addr",
                         fmt::format("{} bytes at offset {:#x} run past the end of {} (size {:#x})", size,
                                     addr, describe_bo(bo), b.bytes));
    }
  }
  return field_error(0, {}, "access refused");  // not reached: access_ok and this agree
}

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

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

Errc errno_code(int e) {
  switch (e) {
    case ENOENT:
    case ENOTDIR: return Errc::kNotFound;
    case EACCES:
    case EPERM:
    case EROFS: return Errc::kPermission;
    case ENOMEM:
    case ENOSPC: return Errc::kOutOfMemory;
    default: return Errc::kInvalidArgument;
  }
}

}  // namespace

std::unique_ptr<Input> istream_input(std::unique_ptr<std::istream> in) {
  return std::make_unique<IstreamInput>(std::move(in));
}

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

// ---------------------------------------------------------------------------------------------
// AtomicFile
// ---------------------------------------------------------------------------------------------

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
      return make_error(errno_code(e), fmt::format("cannot create '{}': {}", path, std::strerror(e)));
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
      return make_error(errno_code(e), fmt::format("cannot write '{}': {}", path_, std::strerror(e)));
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
    return make_error(errno_code(e), fmt::format("cannot write '{}': {}", path_, std::strerror(e)));
  }
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    return make_error(errno_code(e),
                      fmt::format("cannot rename '{}' to '{}': {}", temp_, path_, std::strerror(e)));
  }
  committed_ = true;
  return {};
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// TraceWriter::copy
// ---------------------------------------------------------------------------------------------

namespace {

// Source id -> this writer's id, or an error naming the undeclared source id.
Result<std::uint32_t> mapped(const std::vector<std::uint32_t>& map, std::uint32_t id, std::string_view what) {
  if (id < map.size() && map[id] != kNoId) return map[id];
  return make_error(
      Errc::kInvalidArgument,
      fmt::format("copy: {} id {} was not declared by an event copied to this writer", what, id));
}

void remember(std::vector<std::uint32_t>& map, std::uint32_t from, std::uint32_t to) {
  if (map.size() <= from) map.resize(from + 1, kNoId);
  map[from] = to;
}

Error bad_name_id(std::string_view what, std::uint32_t id) {
  return make_error(Errc::kInvalidArgument, fmt::format("copy: the source has no {} with id {}", what, id));
}

}  // namespace

Status TraceWriter::copy(const Event& ev, const Names& names, std::span<const std::uint32_t> uses) {
  switch (ev.type) {
    case EventType::Context: {
      if (ev.ctx >= names.contexts.size()) return bad_name_id("context", ev.ctx);
      Result<std::uint32_t> id = context(names.contexts[ev.ctx]);
      if (!id) return std::move(id).error();
      remember(copy_ctx_, ev.ctx, *id);
      return {};
    }
    case EventType::BoCreate: {
      if (ev.bo >= names.bos.size()) return bad_name_id("BO", ev.bo);
      Result<std::uint32_t> ctx = mapped(copy_ctx_, ev.ctx, "context");
      if (!ctx) return std::move(ctx).error();
      Result<std::uint32_t> id = bo_create(*ctx, names.bos[ev.bo], ev.bytes, ev.flags);
      if (!id) return std::move(id).error();
      remember(copy_bo_, ev.bo, *id);
      return {};
    }
    case EventType::BoFree:
    case EventType::Madvise: {
      Result<std::uint32_t> bo = mapped(copy_bo_, ev.bo, "BO");
      if (!bo) return std::move(bo).error();
      return ev.type == EventType::BoFree ? bo_free(*bo) : madvise(*bo, ev.advice);
    }
    case EventType::JobBegin: {
      if (ev.job >= names.jobs.size()) return bad_name_id("job", ev.job);
      Result<std::uint32_t> ctx = mapped(copy_ctx_, ev.ctx, "context");
      if (!ctx) return std::move(ctx).error();
      copy_uses_.clear();
      for (std::uint32_t u : uses) {
        Result<std::uint32_t> bo = mapped(copy_bo_, u, "BO");
        if (!bo) return std::move(bo).error();
        copy_uses_.push_back(*bo);
      }
      Result<std::uint32_t> id = job_begin(*ctx, names.jobs[ev.job], ev.cores, copy_uses_);
      if (!id) return std::move(id).error();
      remember(copy_job_, ev.job, *id);
      return {};
    }
    case EventType::JobEnd: {
      Result<std::uint32_t> job = mapped(copy_job_, ev.job, "job");
      if (!job) return std::move(job).error();
      return job_end(*job);
    }
    case EventType::Access: {
      // Hot in conversions: plain lookups, the writer validates the rest.
      const std::uint32_t job = ev.job < copy_job_.size() ? copy_job_[ev.job] : kNoId;
      std::uint32_t bo = kNoId;
      if (ev.addr_kind == AddrKind::BoOffset) {
        Result<std::uint32_t> b = mapped(copy_bo_, ev.bo, "BO");
        if (!b) return std::move(b).error();
        bo = *b;
      }
      if (job == kNoId) return mapped(copy_job_, ev.job, "job").error();
      return access(job, ev.core, ev.delta, ev.op, ev.addr_kind, bo, ev.addr, ev.size);
    }
  }
  return make_error(Errc::kInvalidArgument,
                    fmt::format("copy: unknown event type {}", static_cast<int>(ev.type)));
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<TraceReader>> open_trace(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    return make_error(detail::errno_code(e), fmt::format("cannot open '{}': {}", path, std::strerror(e)));
  }
  auto src = std::make_unique<detail::ByteSource>(std::make_unique<detail::FdInput>(fd), path);
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

Result<std::uint64_t> convert_trace(const std::string& in, const std::string& out, TraceFormat format) {
  Result<std::unique_ptr<TraceReader>> reader = open_trace(in);
  if (!reader) return std::move(reader).error();
  Result<std::unique_ptr<TraceWriter>> writer = create_trace(out, format);
  if (!writer) return std::move(writer).error();
  // On any failure the writer is destroyed unfinished, which removes its temporary: `out` is
  // either the complete conversion or untouched.
  TraceReader& r = **reader;
  TraceWriter& w = **writer;
  std::uint64_t copied = 0;
  Event ev;
  while (r.next(ev)) {
    if (Status s = w.copy(ev, r.names(), r.uses()); !s) {
      return make_error(s.error().code, fmt::format("{} (copying {} event at {} of '{}')", s.error().message,
                                                    to_string(ev.type), ev.line, in));
    }
    ++copied;
  }
  if (!r.error()) return r.error().error();
  if (Status s = w.finish(); !s) return s.error();
  return copied;
}

}  // namespace mali_sim::trace
