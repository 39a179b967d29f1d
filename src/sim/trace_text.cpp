// The text form: a line-oriented reader that holds one line at a time, and a writer of the
// canonical form (docs/trace-format.md, "Text form").
#include <array>
#include <charconv>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "mali_sim/parse.hpp"
#include "sim/access_sinks.hpp"
#include "sim/trace_forms.hpp"

namespace mali_sim::trace::detail {
namespace {

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

constexpr std::string_view kHeaderKeyword = "mali-sim-trace";
// A line longer than this is an error rather than a reason to buffer without bound.
constexpr std::size_t kMaxLine = 1U << 20;
// The most fields any keyword takes, keyword included (bo CTX NAME SIZE noexec heap).
constexpr unsigned kMaxFields = 7;

// A token as it appears in a message: printable and short.
std::string shown(std::string_view tok) {
  std::string s(tok.substr(0, 40));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  if (tok.size() > 40) s += "...";
  return s;
}

// Numbers in the project's one grammar (parse.hpp): decimal, or hex with a 0x prefix where a
// field allows it.
ParseError parse_field(std::string_view tok, bool hex, std::uint64_t& v) noexcept {
  return parse_u64(tok, v, NumberSyntax{.hex = hex, .size_suffix = false});
}

class TextReader final : public TraceReader {
 public:
  explicit TextReader(std::unique_ptr<ByteSource> src) : src_(std::move(src)), state_("line") {}

  // Reads up to and including the header line.
  Status start() {
    std::string_view line;
    for (;;) {
      if (!next_line(line)) {
        if (!error_) return error_;
        return make_error(
            Errc::kInvalidArgument,
            fmt::format("{}: missing header: a text trace starts with '{} {}' (the file has no such "
                        "line)",
                        src_->name(), kHeaderKeyword, kFormatVersion));
      }
      if (split(line) != 0) break;
    }
    if (f_[0] != kHeaderKeyword) {
      fail_line(fmt::format("missing header: the first line must be '{} {}' (found '{}')", kHeaderKeyword,
                            kFormatVersion, shown(f_[0])));
      return error_;
    }
    if (nf_ != 2) {
      fail_count("mali-sim-trace VERSION");
      return error_;
    }
    std::uint64_t version = 0;
    if (!number(1, "version", f_[1], false, UINT64_MAX, version)) return error_;
    if (version != kFormatVersion) {
      fail(1, "version",
           fmt::format("unsupported version {} (this reader supports {})", shown(f_[1]), kFormatVersion));
      return error_;
    }
    return {};
  }

  bool next(Event& ev) override {
    if (stopped_) return false;
    uses_.clear();
    std::string_view line;
    for (;;) {
      if (!next_line(line)) return finish();
      if (split(line) != 0) break;
    }
    state_.set_position(line_);
    ev = Event{};
    ev.line = line_;
    const std::string_view kw = f_[0];
    // Accesses dominate every real trace: test for them first.
    if (kw == "acc") return access(ev);
    if (kw == "ctx") return context(ev);
    if (kw == "bo") return bo(ev);
    if (kw == "free") return free(ev);
    if (kw == "madvise") return madvise(ev);
    if (kw == "job") return job(ev);
    if (kw == "end") return end(ev);
    return fail(
        0, "keyword",
        fmt::format("unknown keyword '{}' (expected ctx, bo, free, madvise, job, end or acc)", shown(kw)));
  }

  const Status& error() const noexcept override { return error_; }
  const Names& names() const noexcept override { return state_.names(); }
  std::span<const std::uint32_t> uses() const noexcept override { return uses_; }

  // Runs of access lines, decoded and checked as next() does; a line in any other form (another
  // keyword, a comment or blank line, anything the plain form below does not cover, an error) and
  // the window's last line are left to next().
  std::size_t next_accesses(std::span<AccessRecord> out) override {
    RecordSink sink{out};
    access_lines(sink);
    return sink.n;
  }
  std::size_t append_accesses(AccessQueues& queues, std::size_t max) override {
    const std::size_t start = queues.appended;
    QueueSink sink(queues, max);
    access_lines(sink);
    sink.app.finish(queues);
    queues.last_line = line_;
    return queues.appended - start;
  }

 private:
  // ---- runs of access lines

  template <class Sink>
  void access_lines(Sink& sink) {
    if (stopped_) return;
    uses_.clear();
    const TraceState::AccessRules rules = state_.access_rules();
    const char* const start = reinterpret_cast<const char*>(src_->data());
    // Up to the window's last '\n': every line before it is whole, so that the scan below stops
    // at its '\n' without a bounds check.
    const char* limit = start + src_->available();
    while (limit != start && limit[-1] != '\n') --limit;
    const char* p = start;
    std::uint64_t line = line_;
    while (p != limit && !sink.full()) {
      DecodedAccess a;
      const char* const next = plain_access(p, a);
      if (next == nullptr) break;
      const AddrKind kind = a.bo_relative ? AddrKind::BoOffset : AddrKind::Absolute;
      if (!rules.ok(a.job, a.core, kind, a.bo, a.addr, a.size) || !sink.put(a, line + 1)) break;
      ++line;
      p = next;
    }
    src_->advance(static_cast<std::size_t>(p - start));
    line_ = line;
  }

  // The scanner of plain access lines. Each reads from a line that ends in '\n', and stops there
  // at the latest.
  static bool separator(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }
  // What ends a field, as split() has it: a separator, a comment, the line's end.
  static bool field_end(char c) noexcept { return separator(c) || c == '#' || c == '\n'; }
  static void skip_separators(const char*& p) noexcept {
    while (separator(*p)) ++p;
  }
  // A number field in a form parse_field() reads the same and short enough not to overflow: up to
  // 19 decimal digits, or (hex) 0x and up to 16 hex digits. False for anything else.
  static bool short_number(const char*& p, bool hex, std::uint64_t& v) noexcept {
    v = 0;
    const char* s = p;
    if (hex && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
      s = p += 2;
      for (;;) {
        const char c = *p;
        const char l = static_cast<char>(c | 0x20);
        if (c >= '0' && c <= '9') {
          v = (v << 4) | static_cast<unsigned>(c - '0');
        } else if (l >= 'a' && l <= 'f') {
          v = (v << 4) | (static_cast<unsigned>(l - 'a') + 10);
        } else {
          break;
        }
        ++p;
      }
      return p != s && p - s <= 16 && field_end(*p);
    }
    while (*p >= '0' && *p <= '9') {
      v = v * 10 + static_cast<unsigned>(*p - '0');
      ++p;
    }
    return p != s && p - s <= 19 && field_end(*p);
  }
  // An access line at p in its plain form: what access() accepts, with numbers short_number()
  // reads and names that are declared. The start of the next line; nullptr for anything else,
  // which next() then reads (and reports, if it is an error): the two agree on every line this
  // takes.
  const char* plain_access(const char* p, DecodedAccess& a) {
    skip_separators(p);
    if (p[0] != 'a' || p[1] != 'c' || p[2] != 'c' || !separator(p[3])) return nullptr;
    p += 3;
    skip_separators(p);
    const char* s = p;
    while (!field_end(*p)) ++p;
    if (p == s) return nullptr;
    const std::uint32_t job = cached_job({s, static_cast<std::size_t>(p - s)});
    if (job == kNoId) return nullptr;
    a.job = job;
    skip_separators(p);
    if (!short_number(p, false, a.core)) return nullptr;
    skip_separators(p);
    if (*p++ != '+' || !short_number(p, false, a.delta)) return nullptr;
    skip_separators(p);
    if (!op(p[0], a.op) || !field_end(p[1])) return nullptr;
    ++p;
    skip_separators(p);
    if (*p >= '0' && *p <= '9') {
      if (!short_number(p, true, a.addr)) return nullptr;
    } else {
      s = p;
      while (!field_end(*p) && *p != '+') ++p;
      if (*p != '+' || p == s) return nullptr;
      a.bo = cached_bo(state_.job_ctx(job), {s, static_cast<std::size_t>(p - s)});
      ++p;
      if (a.bo == kNoId || !short_number(p, true, a.addr)) return nullptr;
      a.bo_relative = true;
    }
    skip_separators(p);
    a.size = kDefaultAccessSize;
    if (*p != '#' && *p != '\n') {
      if (!short_number(p, true, a.size) || a.size > UINT32_MAX) return nullptr;
      skip_separators(p);
    }
    if (*p == '#') {
      while (*p != '\n') ++p;
    }
    return *p == '\n' ? p + 1 : nullptr;
  }

  // ---- lines and fields

  // The next line without its '\n', valid until the next call; false at the end or on an error.
  bool next_line(std::string_view& line) {
    for (;;) {
      const auto* p = reinterpret_cast<const char*>(src_->data());
      const std::size_t n = src_->available();
      if (const void* nl = std::memchr(p, '\n', n)) {
        const auto len = static_cast<std::size_t>(static_cast<const char*>(nl) - p);
        line = {p, len};
        src_->advance(len + 1);
        ++line_;
        return true;
      }
      if (src_->input_ended()) {
        if (n == 0) return false;
        line = {p, n};  // a last line without '\n'
        src_->advance(n);
        ++line_;
        return true;
      }
      if (n >= kMaxLine) {
        ++line_;
        return fail_line(fmt::format("line longer than {} bytes", kMaxLine));
      }
      if (!src_->fill(n + 1)) {
        error_ = make_error(Errc::kInvalidArgument, src_->error());
        stopped_ = true;
        return false;
      }
    }
  }

  // Fields of a line into f_, up to '#'; returns how many (counting past what f_ can hold).
  unsigned split(std::string_view line) {
    const char* p = line.data();
    const char* const e = p + line.size();
    nf_ = 0;
    for (;;) {
      while (p < e && (*p == ' ' || *p == '\t' || *p == '\r')) ++p;
      if (p == e || *p == '#') break;
      const char* s = p;
      while (p < e && *p != ' ' && *p != '\t' && *p != '\r' && *p != '#') ++p;
      if (nf_ < kMaxFields) f_[nf_] = {s, static_cast<std::size_t>(p - s)};
      ++nf_;
    }
    return nf_;
  }

  // ---- errors: each sets error_, stops the reader and returns false

  bool fail_at(std::uint64_t line, std::string msg) {
    error_ = make_error(Errc::kInvalidArgument, fmt::format("{}:{}: {}", src_->name(), line, msg));
    stopped_ = true;
    return false;
  }
  bool fail_line(std::string cause) { return fail_at(line_, std::move(cause)); }
  bool fail(unsigned field, std::string_view name, const std::string& cause) {
    return fail_line(fmt::format("field {} ({}): {}", field, name, cause));
  }
  bool fail(const FieldError& e) {
    if (e.name.empty()) return fail_at(e.at != 0 ? e.at : line_, e.cause);
    return fail(e.field, e.name, e.cause);
  }
  bool fail_count(std::string_view usage) {
    return fail_line(fmt::format("wrong number of fields: expected '{}', found {} field{} after '{}'", usage,
                                 nf_ - 1, nf_ == 2 ? "" : "s", shown(f_[0])));
  }
  bool check_count(unsigned min, unsigned max, std::string_view usage) {
    if (nf_ >= min + 1 && nf_ <= max + 1) return true;
    return fail_count(usage);
  }

  bool finish() {
    if (stopped_) return false;  // next_line failed
    stopped_ = true;
    if (Problem p = state_.finish()) return fail(*p);
    return false;
  }

  // ---- fields

  bool number(unsigned field, std::string_view name, std::string_view tok, bool hex, std::uint64_t max,
              std::uint64_t& v) {
    const ParseError r = parse_field(tok, hex, v);
    if (r == ParseError::kSyntax)
      return fail(field, name, fmt::format("'{}' is not a {}number", shown(tok), hex ? "" : "decimal "));
    if (r == ParseError::kRange || v > max)
      return fail(field, name, fmt::format("'{}' is out of range (at most {})", shown(tok), max));
    return true;
  }

  bool context_field(unsigned field, std::string_view tok, std::uint32_t& ctx) {
    ctx = state_.find_context(tok);
    if (ctx != kNoId) return true;
    return fail(field, "context", fmt::format("unknown context '{}'", shown(tok)));
  }

  // A BO name of context `ctx`; the message says where the name does exist, if anywhere.
  bool bo_field(unsigned field, std::string_view name, std::uint32_t ctx, std::string_view tok,
                std::uint32_t& bo) {
    bo = state_.find_bo(ctx, tok);
    if (bo != kNoId) return true;
    const Names& n = state_.names();
    for (std::uint32_t other = 0; other < n.contexts.size(); ++other) {
      if (other != ctx && state_.find_bo(other, tok) != kNoId) {
        return fail(field, name,
                    fmt::format("BO '{}' is not in context '{}' (it is in context '{}')", shown(tok),
                                n.contexts[ctx], n.contexts[other]));
      }
    }
    return fail(field, name, fmt::format("unknown BO '{}' in context '{}'", shown(tok), n.contexts[ctx]));
  }

  bool job_field(std::string_view tok, std::uint32_t& job) {
    job = cached_job(tok);
    if (job == kNoId)
      return fail(1, "job", fmt::format("unknown job '{}' (no 'job' line declares it)", shown(tok)));
    return true;
  }

  // Name lookups for accesses through a small cache, as accesses name few jobs and BOs over and
  // over: names are never declared twice (TraceState refuses that), so an entry stays right.
  struct CachedName {
    std::string name;
    std::uint32_t ctx = kNoId;
    std::uint32_t id = kNoId;
  };
  static constexpr std::size_t kNameCache = 16;  // a power of two
  static std::size_t cache_slot(std::string_view name) noexcept {
    const std::size_t first = static_cast<unsigned char>(name.front());
    const std::size_t last = static_cast<unsigned char>(name.back());
    return (name.size() * 31 + last * 7 + first) & (kNameCache - 1);
  }
  // The job named `name`, or kNoId. `name` is not empty.
  std::uint32_t cached_job(std::string_view name) {
    CachedName& c = job_cache_[cache_slot(name)];
    if (c.id != kNoId && c.name == name) return c.id;
    const std::uint32_t id = state_.find_job(name);
    if (id != kNoId) {
      c.name.assign(name);
      c.id = id;
    }
    return id;
  }
  // The BO named `name` in context `ctx`, or kNoId. `name` is not empty.
  std::uint32_t cached_bo(std::uint32_t ctx, std::string_view name) {
    CachedName& c = bo_cache_[cache_slot(name)];
    if (c.id != kNoId && c.ctx == ctx && c.name == name) return c.id;
    const std::uint32_t id = state_.find_bo(ctx, name);
    if (id != kNoId) {
      c.name.assign(name);
      c.ctx = ctx;
      c.id = id;
    }
    return id;
  }

  // ---- events

  bool context(Event& ev) {
    if (!check_count(1, 1, "ctx NAME")) return false;
    ev.type = EventType::Context;
    if (Problem p = state_.context(f_[1], ev.ctx)) return fail(*p);
    return true;
  }

  bool bo(Event& ev) {
    if (!check_count(3, 5, "bo CTX NAME SIZE [noexec] [heap]")) return false;
    ev.type = EventType::BoCreate;
    if (!context_field(fld::kBoCtx, f_[1], ev.ctx)) return false;
    if (!bo_size(f_[3], ev.bytes)) return false;
    for (unsigned i = 4; i < nf_; ++i) {
      std::uint32_t flag = 0;
      if (f_[i] == "noexec") {
        flag = bo_flags::kNoExec;
      } else if (f_[i] == "heap") {
        flag = bo_flags::kHeap;
      } else {
        return fail(i, "flags", fmt::format("'{}' is not one of noexec, heap", shown(f_[i])));
      }
      if ((ev.flags & flag) != 0) return fail(i, "flags", fmt::format("'{}' is given twice", f_[i]));
      ev.flags |= flag;
    }
    if (Problem p = state_.bo_create(ev.ctx, f_[2], ev.bytes, ev.flags, ev.bo)) return fail(*p);
    return true;
  }

  // A size (parse.hpp): decimal or 0x hex, with an optional K, M or G suffix (powers of 1024).
  bool bo_size(std::string_view tok, std::uint64_t& bytes) {
    const ParseError r = parse_u64(tok, bytes, NumberSyntax{.hex = true, .size_suffix = true});
    if (r == ParseError::kSyntax) {
      return fail(fld::kBoSize, "size",
                  fmt::format("'{}' is not a size (decimal or 0x hex, with an optional K, M or G suffix)",
                              shown(tok)));
    }
    if (r == ParseError::kRange)
      return fail(fld::kBoSize, "size",
                  fmt::format("'{}' is out of range (at most 2^64-1 bytes)", shown(tok)));
    return true;
  }

  bool free(Event& ev) {
    if (!check_count(2, 2, "free CTX NAME")) return false;
    ev.type = EventType::BoFree;
    if (!context_field(fld::kFreeCtx, f_[1], ev.ctx) || !bo_field(fld::kFreeBo, "bo", ev.ctx, f_[2], ev.bo))
      return false;
    if (Problem p = state_.bo_free(ev.bo)) return fail(*p);
    return true;
  }

  bool madvise(Event& ev) {
    if (!check_count(3, 3, "madvise CTX NAME willneed|dontneed")) return false;
    ev.type = EventType::Madvise;
    if (!context_field(fld::kMadvCtx, f_[1], ev.ctx) || !bo_field(fld::kMadvBo, "bo", ev.ctx, f_[2], ev.bo))
      return false;
    if (f_[3] == "willneed") {
      ev.advice = Madvise::WillNeed;
    } else if (f_[3] == "dontneed") {
      ev.advice = Madvise::DontNeed;
    } else {
      return fail(fld::kMadvAdvice, "advice",
                  fmt::format("'{}' is not one of willneed, dontneed", shown(f_[3])));
    }
    if (Problem p = state_.madvise(ev.bo)) return fail(*p);
    return true;
  }

  bool job(Event& ev) {
    if (!check_count(3, 5, "job CTX NAME cores=LIST [uses=BO,...] [type=TYPE]")) return false;
    ev.type = EventType::JobBegin;
    if (!context_field(fld::kJobCtx, f_[1], ev.ctx)) return false;
    if (!f_[3].starts_with("cores="))
      return fail(fld::kJobCores, "cores", fmt::format("expected cores=LIST, found '{}'", shown(f_[3])));
    if (!cores(f_[3].substr(6), ev.cores)) return false;
    // The optional fields, uses= and type=, in either order, each at most once.
    std::string_view uses_list;
    bool have_uses = false, have_type = false;
    for (std::size_t i = 4; i < nf_; ++i) {
      const std::string_view f = f_[i];
      const auto at = static_cast<unsigned>(i);
      if (f.starts_with("uses=") && !have_uses) {
        have_uses = true;
        uses_list = f.substr(5);
      } else if (f.starts_with("type=") && !have_type) {
        have_type = true;
        const std::optional<JobType> t = trace_job_type(f.substr(5));
        if (!t) {
          return fail(
              at, "type",
              fmt::format("'{}' is not a job type (compute, vertex, tiler or fragment)", shown(f.substr(5))));
        }
        ev.job_type = *t;
      } else if (f.starts_with("uses=") || f.starts_with("type=")) {
        return fail(at, "job", fmt::format("'{}' given twice", shown(f.substr(0, 4))));
      } else {
        return fail(at, "job", fmt::format("expected uses=BO,... or type=TYPE, found '{}'", shown(f)));
      }
    }
    if (have_uses) {
      std::string_view list = uses_list;
      for (;;) {
        const std::size_t comma = list.find(',');
        const std::string_view name = list.substr(0, comma);
        if (name.empty()) return fail(fld::kJobUses, "uses", "empty entry in the BO list");
        std::uint32_t bo = kNoId;
        if (!bo_field(fld::kJobUses, "uses", ev.ctx, name, bo)) return false;
        uses_.push_back(bo);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    }
    if (Problem p = state_.job_begin(ev.ctx, f_[2], ev.cores, uses_, ev.job, ev.job_type)) return fail(*p);
    return true;
  }

  // "0,2,5-7": cores 0..63.
  bool cores(std::string_view list, std::uint64_t& mask) {
    if (list.empty())
      return fail(fld::kJobCores, "cores", "empty core list: a job runs on at least one core");
    for (;;) {
      const std::size_t comma = list.find(',');
      const std::string_view item = list.substr(0, comma);
      const std::size_t dash = item.find('-');
      std::uint64_t lo = 0, hi = 0;
      if (item.empty()) return fail(fld::kJobCores, "cores", "empty entry in the core list");
      if (!core_number(item.substr(0, dash), lo)) return false;
      hi = lo;
      if (dash != std::string_view::npos && !core_number(item.substr(dash + 1), hi)) return false;
      if (hi < lo)
        return fail(fld::kJobCores, "cores", fmt::format("range '{}' runs backwards", shown(item)));
      for (std::uint64_t c = lo; c <= hi; ++c) mask |= 1ULL << c;
      if (comma == std::string_view::npos) return true;
      list.remove_prefix(comma + 1);
    }
  }

  bool core_number(std::string_view tok, std::uint64_t& core) {
    const ParseError r = parse_field(tok, false, core);
    if (r == ParseError::kSyntax)
      return fail(fld::kJobCores, "cores", fmt::format("'{}' is not a core number", shown(tok)));
    if (r == ParseError::kRange || core >= kMaxCores) {
      return fail(fld::kJobCores, "cores",
                  fmt::format("core {} is out of range 0-{}", shown(tok), kMaxCores - 1));
    }
    return true;
  }

  bool end(Event& ev) {
    if (!check_count(1, 1, "end JOB")) return false;
    ev.type = EventType::JobEnd;
    if (!job_field(f_[1], ev.job)) return false;
    if (Problem p = state_.job_end(ev.job)) return fail(*p);
    ev.ctx = state_.job_ctx(ev.job);
    return true;
  }

  bool access(Event& ev) {
    if (nf_ < 6 || nf_ > 7) return check_count(5, 6, "acc JOB CORE +DELTA OP ADDR [SIZE]");
    ev.type = EventType::Access;
    std::uint32_t job = kNoId;
    if (!job_field(f_[1], job)) return false;
    ev.job = job;
    ev.ctx = state_.job_ctx(job);
    std::uint64_t core = 0;
    if (!number(fld::kAccCore, "core", f_[2], false, UINT64_MAX, core)) return false;
    if (f_[3].empty() || f_[3][0] != '+') {
      return fail(fld::kAccDelta, "delta",
                  fmt::format("'{}' is not +CYCLES (a '+' and a decimal number)", shown(f_[3])));
    }
    if (!number(fld::kAccDelta, "delta", f_[3].substr(1), false, UINT64_MAX, ev.delta)) return false;
    if (f_[4].size() != 1 || !op(f_[4][0], ev.op))
      return fail(fld::kAccOp, "op", fmt::format("'{}' is not one of r, w, x, a", shown(f_[4])));
    if (!address(f_[5], ev)) return false;
    std::uint64_t size = kDefaultAccessSize;
    if (nf_ == 7 && !number(fld::kAccSize, "size", f_[6], true, UINT32_MAX, size)) return false;
    if (!state_.access_ok(job, core, ev.addr_kind, ev.bo, ev.addr, size))
      return fail(state_.explain_access(job, core, ev.addr_kind, ev.bo, ev.addr, size));
    ev.core = static_cast<std::uint16_t>(core);
    ev.size = static_cast<std::uint32_t>(size);
    return true;
  }

  static bool op(char c, Access& a) {
    switch (c) {
      case 'r': a = Access::Read; return true;
      case 'w': a = Access::Write; return true;
      case 'x': a = Access::Execute; return true;
      case 'a': a = Access::Atomic; return true;
      default: return false;
    }
  }

  // An absolute VA (starts with a digit) or BO+OFFSET (starts with a name).
  bool address(std::string_view tok, Event& ev) {
    if (!tok.empty() && tok[0] >= '0' && tok[0] <= '9') {
      ev.addr_kind = AddrKind::Absolute;
      return number(fld::kAccAddr, "addr", tok, true, UINT64_MAX, ev.addr);
    }
    const std::size_t plus = tok.find('+');
    if (plus == std::string_view::npos) {
      return fail(fld::kAccAddr, "addr", fmt::format("'{}' is neither an address nor BO+OFFSET", shown(tok)));
    }
    ev.addr_kind = AddrKind::BoOffset;
    const std::string_view name = tok.substr(0, plus);
    ev.bo = name.empty() ? kNoId : cached_bo(ev.ctx, name);
    if (ev.bo == kNoId && !bo_field(fld::kAccAddr, "addr", ev.ctx, name, ev.bo)) return false;
    return number(fld::kAccAddr, "addr", tok.substr(plus + 1), true, UINT64_MAX, ev.addr);
  }

  std::unique_ptr<ByteSource> src_;
  TraceState state_;
  std::array<std::string_view, kMaxFields> f_{};
  unsigned nf_ = 0;
  std::uint64_t line_ = 0;
  std::vector<std::uint32_t> uses_;
  Status error_;
  bool stopped_ = false;
  std::array<CachedName, kNameCache> job_cache_, bo_cache_;
};

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

class TextWriter final : public TraceWriter, private WriterBase {
 public:
  explicit TextWriter(std::unique_ptr<AtomicFile> out) : WriterBase(std::move(out)) {
    buf_.reserve(kChunk + 1024);
    buf_ = fmt::format("{} {}\n", kHeaderKeyword, kFormatVersion);
  }

  Result<std::uint32_t> context(std::string_view name) override {
    if (Status s = usable(); !s) return s.error();
    std::uint32_t id = kNoId;
    state_.set_position(events_ + 1);
    if (Problem p = state_.context(name, id)) return writer_error(out_->path(), EventType::Context, *p);
    buf_ += "ctx ";
    buf_ += name;
    buf_ += '\n';
    if (Status s = emitted(); !s) return s.error();
    return id;
  }

  Result<std::uint32_t> bo_create(std::uint32_t ctx, std::string_view name, std::uint64_t bytes,
                                  std::uint32_t flags) override {
    if (Status s = usable(); !s) return s.error();
    std::uint32_t id = kNoId;
    state_.set_position(events_ + 1);
    if (Problem p = state_.bo_create(ctx, name, bytes, flags, id))
      return writer_error(out_->path(), EventType::BoCreate, *p);
    buf_ += "bo ";
    buf_ += state_.names().contexts[ctx];
    buf_ += ' ';
    buf_ += name;
    buf_ += ' ';
    buf_ += format_bytes(bytes);
    if ((flags & bo_flags::kNoExec) != 0) buf_ += " noexec";
    if ((flags & bo_flags::kHeap) != 0) buf_ += " heap";
    buf_ += '\n';
    if (Status s = emitted(); !s) return s.error();
    return id;
  }

  Status bo_free(std::uint32_t bo) override {
    if (Status s = usable(); !s) return s;
    state_.set_position(events_ + 1);
    if (Problem p = state_.bo_free(bo)) return writer_error(out_->path(), EventType::BoFree, *p);
    append_bo_ref("free ", bo);
    buf_ += '\n';
    return emitted();
  }

  Status madvise(std::uint32_t bo, Madvise advice) override {
    if (Status s = usable(); !s) return s;
    state_.set_position(events_ + 1);
    if (Problem p = state_.madvise(bo)) return writer_error(out_->path(), EventType::Madvise, *p);
    if (advice != Madvise::WillNeed && advice != Madvise::DontNeed) {
      return writer_error(
          out_->path(), EventType::Madvise,
          FieldError{fld::kMadvAdvice, "advice",
                     fmt::format("advice {} is not WillNeed or DontNeed", static_cast<int>(advice))});
    }
    append_bo_ref("madvise ", bo);
    buf_ += advice == Madvise::WillNeed ? " willneed\n" : " dontneed\n";
    return emitted();
  }

  Result<std::uint32_t> job_begin(std::uint32_t ctx, std::string_view name, std::uint64_t cores,
                                  std::span<const std::uint32_t> uses, JobType type) override {
    if (Status s = usable(); !s) return s.error();
    std::uint32_t id = kNoId;
    state_.set_position(events_ + 1);
    if (Problem p = state_.job_begin(ctx, name, cores, uses, id, type))
      return writer_error(out_->path(), EventType::JobBegin, *p);
    buf_ += "job ";
    buf_ += state_.names().contexts[ctx];
    buf_ += ' ';
    buf_ += name;
    buf_ += " cores=";
    buf_ += format_cores(cores);
    for (std::size_t i = 0; i < uses.size(); ++i) {
      buf_ += i == 0 ? " uses=" : ",";
      buf_ += state_.names().bos[uses[i]];
    }
    if (type != JobType::Compute) {
      buf_ += " type=";
      buf_ += trace_job_type_name(type);
    }
    buf_ += '\n';
    if (Status s = emitted(); !s) return s.error();
    return id;
  }

  Status job_end(std::uint32_t job) override {
    if (Status s = usable(); !s) return s;
    state_.set_position(events_ + 1);
    if (Problem p = state_.job_end(job)) return writer_error(out_->path(), EventType::JobEnd, *p);
    buf_ += "end ";
    buf_ += state_.names().jobs[job];
    buf_ += '\n';
    return emitted();
  }

  Status access(std::uint32_t job, std::uint16_t core, std::uint64_t delta, Access op, AddrKind kind,
                std::uint32_t bo, std::uint64_t addr, std::uint32_t size) override {
    if (Status s = usable(); !s) return s;
    if (!state_.access_ok(job, core, kind, bo, addr, size) || static_cast<unsigned>(op) > 3 ||
        static_cast<unsigned>(kind) > 1)
      return writer_access_error(out_->path(), state_, job, core, op, kind, bo, addr, size);
    static constexpr std::array<char, 4> kOps = {'a', 'x', 'r', 'w'};  // by Access value
    buf_ += "acc ";
    buf_ += state_.names().jobs[job];
    buf_ += ' ';
    append_dec(buf_, core);
    buf_ += " +";
    append_dec(buf_, delta);
    buf_ += ' ';
    buf_ += kOps[static_cast<unsigned>(op)];
    buf_ += ' ';
    if (kind == AddrKind::BoOffset) {
      buf_ += state_.names().bos[bo];
      buf_ += '+';
    }
    append_hex(buf_, addr);
    if (size != kDefaultAccessSize) {
      buf_ += ' ';
      append_dec(buf_, size);
    }
    buf_ += '\n';
    return emitted();
  }

  Status comment(std::string_view text) override {
    if (Status s = usable(); !s) return s;
    // One '#' line per line of text, so a newline in the text cannot end the comment.
    for (;;) {
      const std::size_t nl = text.find('\n');
      const std::string_view line = text.substr(0, nl);
      buf_ += line.empty() ? "#" : "# ";
      buf_ += line;
      buf_ += '\n';
      if (nl == std::string_view::npos) break;
      text.remove_prefix(nl + 1);
    }
    return flush_if_full();
  }

  Status finish() override {
    if (Status s = begin_finish(); !s) return s;
    if (Status s = flush(); !s) return s;
    return out_->commit();
  }

 private:
  void append_bo_ref(std::string_view keyword, std::uint32_t bo) {
    buf_ += keyword;
    buf_ += state_.names().contexts[state_.bo_ctx(bo)];
    buf_ += ' ';
    buf_ += state_.names().bos[bo];
  }

  Status emitted() {
    ++events_;
    return flush_if_full();
  }
  Status flush_if_full() { return buf_.size() >= kChunk ? flush() : Status{}; }
  Status flush() {
    Status s = write_out(buf_.data(), buf_.size());
    buf_.clear();
    return s;
  }

  std::string buf_;
  std::uint64_t events_ = 0;
};

}  // namespace

Result<std::unique_ptr<TraceReader>> make_text_reader(std::unique_ptr<ByteSource> src) {
  auto reader = std::make_unique<TextReader>(std::move(src));
  if (Status s = reader->start(); !s) return s.error();
  return std::unique_ptr<TraceReader>(std::move(reader));
}

std::unique_ptr<TraceWriter> make_text_writer(std::unique_ptr<AtomicFile> out) {
  return std::make_unique<TextWriter>(std::move(out));
}

}  // namespace mali_sim::trace::detail
