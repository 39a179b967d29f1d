// The binary form: a type byte and LEB128 varints per record, decoded straight from a 64 KiB
// window (docs/trace-format.md, "Binary form"). Accesses take a branch-light inline path; every
// other record, and every error, takes an out-of-line one.
#include <array>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "sim/trace_internal.hpp"

namespace mali_sim::trace::detail {
namespace {

class BinaryReader final : public TraceReader {
 public:
  explicit BinaryReader(std::unique_ptr<ByteSource> src) : src_(std::move(src)), state_("record") {}

  // Checks the magic and the version.
  Status start() {
    if (!src_->fill(kMagic.size() + 10)) return make_error(Errc::kInvalidArgument, src_->error());
    const std::size_t have = std::min(src_->available(), kMagic.size());
    if (std::memcmp(src_->data(), kMagic.data(), have) != 0) {
      return make_error(
          Errc::kInvalidArgument,
          fmt::format("{}: not a mali-sim binary trace (bad magic: the file does not start with "
                      "\"MSIMTRC\\0\")",
                      src_->name()));
    }
    const std::uint8_t* p = src_->data() + have;
    VarintError err = VarintError::kNone;
    const std::uint64_t version = get_varint(p, src_->data_end(), err);
    if (have < kMagic.size() || err == VarintError::kTruncated)
      return make_error(Errc::kInvalidArgument,
                        fmt::format("{}: truncated: the file ends inside the header", src_->name()));
    if (err == VarintError::kOverflow)
      return make_error(Errc::kInvalidArgument,
                        fmt::format("{}: header: the version varint overflows 64 bits", src_->name()));
    if (version != kFormatVersion) {
      return make_error(Errc::kInvalidArgument,
                        fmt::format("{}: unsupported binary trace version {} (this reader "
                                    "supports {})",
                                    src_->name(), version, kFormatVersion));
    }
    src_->advance_to(p);
    load_window();
    return {};
  }

  bool next(Event& ev) override {
    if (stopped_) [[unlikely]]
      return false;
    uses_.clear();
    if (static_cast<std::size_t>(lim_ - cur_) < kMaxAccessRecord) [[unlikely]] {
      src_->advance_to(cur_);
      const bool ok = src_->fill(kMaxAccessRecord);
      load_window();
      if (!ok) return io_failed();
    }
    ++record_;
    const std::uint8_t* const rec = cur_;
    const std::uint8_t* const end = lim_;
    if (rec == end) [[unlikely]] {
      kind_ = {};
      return fail("", "unexpected end of file: the end-of-trace record is missing (truncated trace?)");
    }
    const std::uint8_t type = *rec;
    if ((type & rec::kAccessMask) != rec::kAccess) {
      src_->advance_to(cur_);
      const bool ok = other(ev, type);
      load_window();
      return ok;
    }

    AccessFields a;
    const bool decoded =
        (static_cast<std::size_t>(end - rec) >= kMaxAccessRecord && decode_fast(rec, type, a)) ||
        decode_checked(rec, end, type, a);
    const AddrKind kind = (type & rec::kAccessBoOffset) != 0 ? AddrKind::BoOffset : AddrKind::Absolute;
    if (!decoded || ((a.job | a.bo) >> 32) != 0 ||
        !state_.access_ok(static_cast<std::uint32_t>(a.job), a.core, kind, static_cast<std::uint32_t>(a.bo),
                          a.addr, a.size)) [[unlikely]] {
      src_->advance_to(cur_);
      return access_error(type);
    }
    cur_ = a.end;
    const auto job32 = static_cast<std::uint32_t>(a.job);
    ev.type = EventType::Access;
    ev.op = static_cast<Access>(type & rec::kAccessOpMask);
    ev.addr_kind = kind;
    ev.advice = Madvise::WillNeed;
    ev.core = static_cast<std::uint16_t>(a.core);
    ev.ctx = state_.job_ctx(job32);
    ev.bo = static_cast<std::uint32_t>(a.bo);
    ev.job = job32;
    ev.flags = 0;
    ev.size = static_cast<std::uint32_t>(a.size);
    ev.bytes = 0;
    ev.addr = a.addr;
    ev.delta = a.delta;
    ev.cores = 0;
    ev.line = record_;
    return true;
  }

  const Status& error() const noexcept override { return error_; }
  const Names& names() const noexcept override { return state_.names(); }
  std::span<const std::uint32_t> uses() const noexcept override { return uses_; }

 private:
  // The window as two plain pointers: the hot path reads and advances these, and hands the
  // position back to src_ (advance_to) before anything else uses it.
  void load_window() noexcept {
    cur_ = src_->data();
    lim_ = src_->data_end();
  }

  // ---- access records

  struct AccessFields {
    std::uint64_t job = 0, core = 0, delta = 0, bo = kNoId, addr = 0, size = kDefaultAccessSize;
    const std::uint8_t* end = nullptr;
  };

  // Far from the end of the window, so without bounds checks. Small fields (ids, cores, deltas,
  // sizes) are one byte in nearly every record: one well-predicted branch each. A longer varint
  // (addresses, offsets) is found and decoded from one 8-byte load without a loop, so its varying
  // length costs no mispredicted branch. False when a varint is longer than 8 bytes (a delta or
  // address of 2^56 or more): decode_checked takes those.
  static bool decode_fast(const std::uint8_t* rec, std::uint8_t type, AccessFields& a) noexcept {
    const std::uint8_t* p = rec + 1;
    bool ok = true;
    auto field = [&]() -> std::uint64_t {
      if (*p < 0x80) [[likely]]
        return *p++;
      const std::uint8_t* const q = p;
      const unsigned len = static_cast<unsigned>(std::countr_zero(varint_stops(load_le64(q)) | 0x100U)) + 1;
      ok &= len <= 8;  // 9: longer than 8 bytes
      p += len;
      return varint_of_length(q, len);
    };
    a.job = field();
    a.core = field();
    a.delta = field();
    // The optional fields come and go with the record's type, at random as far as a branch
    // predictor can tell: a one-byte value is taken or skipped by selects instead.
    const bool has_bo = (type & rec::kAccessBoOffset) != 0;
    if (has_bo & (*p >= 0x80)) [[unlikely]] {
      a.bo = field();
    } else {
      a.bo = has_bo ? *p : kNoId;
      p += has_bo ? 1 : 0;
    }
    a.addr = field();
    const bool has_size = (type & rec::kAccessSized) != 0;
    if (has_size & (*p >= 0x80)) [[unlikely]] {
      a.size = field();
    } else {
      a.size = has_size ? *p : kDefaultAccessSize;
      p += has_size ? 1 : 0;
    }
    a.end = p;
    return ok;
  }

  // Anywhere, with bounds checks and sticky errors; false on truncation or overflow.
  static bool decode_checked(const std::uint8_t* rec, const std::uint8_t* end, std::uint8_t type,
                             AccessFields& a) noexcept {
    const std::uint8_t* p = rec + 1;
    VarintError err = VarintError::kNone;
    a.job = get_varint(p, end, err);
    a.core = get_varint(p, end, err);
    a.delta = get_varint(p, end, err);
    a.bo = (type & rec::kAccessBoOffset) != 0 ? get_varint(p, end, err) : kNoId;
    a.addr = get_varint(p, end, err);
    a.size = (type & rec::kAccessSized) != 0 ? get_varint(p, end, err) : kDefaultAccessSize;
    a.end = p;
    return err == VarintError::kNone;
  }

  // ---- errors: each sets error_, stops the reader and returns false

  bool fail_record(std::uint64_t record, std::string_view kind, std::string_view msg) {
    error_ =
        make_error(Errc::kInvalidArgument,
                   kind.empty() ? fmt::format("{}: record {}: {}", src_->name(), record, msg)
                                : fmt::format("{}: record {} ({}): {}", src_->name(), record, kind, msg));
    stopped_ = true;
    return false;
  }
  bool fail(std::string_view field, std::string_view msg) {
    if (field.empty()) return fail_record(record_, kind_, msg);
    return fail_record(record_, kind_, fmt::format("field {}: {}", field, msg));
  }
  bool fail(const FieldError& e) {
    if (e.at != 0) return fail_record(e.at, {}, e.cause);
    return fail(e.name, e.cause);
  }
  bool truncated(std::string_view field) {
    return fail("", fmt::format("truncated in field {} (the file ends mid-record)", field));
  }
  bool io_failed() {
    error_ = make_error(Errc::kInvalidArgument, src_->error());
    stopped_ = true;
    return false;
  }

  // ---- the slow path: field-by-field reads that refill the window as needed

  bool varint(std::string_view field, std::uint64_t& v) {
    if (!src_->fill(10)) return io_failed();
    const std::uint8_t* p = src_->data();
    VarintError err = VarintError::kNone;
    v = get_varint(p, src_->data_end(), err);
    if (err == VarintError::kTruncated) return truncated(field);
    if (err == VarintError::kOverflow) return fail(field, "varint overflows 64 bits");
    src_->advance_to(p);
    return true;
  }

  bool id(std::string_view field, std::string_view what, std::uint32_t& out) {
    std::uint64_t v = 0;
    if (!varint(field, v)) return false;
    if (v > UINT32_MAX) return fail(field, fmt::format("no {} has id {}", what, v));
    out = static_cast<std::uint32_t>(v);
    return true;
  }

  bool name(std::string_view field) {
    std::uint64_t len = 0;
    if (!varint(field, len)) return false;
    if (len == 0 || len > kMaxNameLength)
      return fail(field, fmt::format("name length {} is out of range 1-{}", len, kMaxNameLength));
    if (!src_->fill(len)) return io_failed();
    if (src_->available() < len) return truncated(field);
    name_.assign(reinterpret_cast<const char*>(src_->data()), len);
    src_->advance(len);
    return true;
  }

  bool other(Event& ev, std::uint8_t type) {
    ev = Event{};
    ev.line = record_;
    state_.set_position(record_);
    src_->advance(1);
    switch (type) {
      case rec::kContext: {
        kind_ = to_string(ev.type = EventType::Context);
        if (!name("name")) return false;
        if (Problem p = state_.context(name_, ev.ctx)) return fail(*p);
        return true;
      }
      case rec::kBoCreate: {
        kind_ = to_string(ev.type = EventType::BoCreate);
        std::uint64_t flags = 0;
        if (!id("context", "context", ev.ctx) || !name("name") || !varint("size", ev.bytes) ||
            !varint("flags", flags))
          return false;
        if (flags > UINT32_MAX)
          return fail("flags",
                      fmt::format("unknown flag bits {:#x}", flags & ~std::uint64_t{bo_flags::kAll}));
        ev.flags = static_cast<std::uint32_t>(flags);
        if (Problem p = state_.bo_create(ev.ctx, name_, ev.bytes, ev.flags, ev.bo)) return fail(*p);
        return true;
      }
      case rec::kBoFree: {
        kind_ = to_string(ev.type = EventType::BoFree);
        if (!id("bo", "BO", ev.bo)) return false;
        if (Problem p = state_.bo_free(ev.bo)) return fail(*p);
        ev.ctx = state_.bo_ctx(ev.bo);
        return true;
      }
      case rec::kMadvise: {
        kind_ = to_string(ev.type = EventType::Madvise);
        std::uint64_t advice = 0;
        if (!id("bo", "BO", ev.bo) || !varint("advice", advice)) return false;
        if (Problem p = state_.madvise(ev.bo)) return fail(*p);
        if (advice > 1) return fail("advice", fmt::format("{} is not 0 (willneed) or 1 (dontneed)", advice));
        ev.advice = static_cast<Madvise>(advice);
        ev.ctx = state_.bo_ctx(ev.bo);
        return true;
      }
      case rec::kJobBegin: {
        kind_ = to_string(ev.type = EventType::JobBegin);
        std::uint64_t count = 0;
        if (!id("context", "context", ev.ctx) || !name("name") || !varint("cores", ev.cores) ||
            !varint("uses", count))
          return false;
        // Bounded before the loop: a corrupt count must not make us read (or reserve) forever.
        if (count > state_.names().bos.size()) {
          return fail("uses", fmt::format("{} BOs listed but only {} are declared", count,
                                          state_.names().bos.size()));
        }
        for (std::uint64_t i = 0; i < count; ++i) {
          std::uint32_t bo = kNoId;
          if (!id("uses", "BO", bo)) return false;
          uses_.push_back(bo);
        }
        if (Problem p = state_.job_begin(ev.ctx, name_, ev.cores, uses_, ev.job)) return fail(*p);
        return true;
      }
      case rec::kJobEnd: {
        kind_ = to_string(ev.type = EventType::JobEnd);
        if (!id("job", "job", ev.job)) return false;
        if (Problem p = state_.job_end(ev.job)) return fail(*p);
        ev.ctx = state_.job_ctx(ev.job);
        return true;
      }
      case rec::kEnd: return end_of_trace();
      default: kind_ = {}; return fail("", fmt::format("unknown record type {:#04x}", type));
    }
  }

  bool end_of_trace() {
    kind_ = "end-of-trace";
    std::uint64_t count = 0;
    if (!varint("count", count)) return false;
    if (count != record_ - 1) {
      return fail("count",
                  fmt::format("{} records precede this one, but it says {} (a corrupt or spliced file)",
                              record_ - 1, count));
    }
    if (!src_->fill(1)) return io_failed();
    if (src_->available() != 0) {
      ++record_;
      kind_ = {};
      return fail("", "data after the end-of-trace record");
    }
    stopped_ = true;
    if (Problem p = state_.finish()) return fail(*p);
    return false;  // the end, cleanly
  }

  // Why an access record was refused: decoded again field by field, now naming the field.
  [[gnu::noinline]] bool access_error(std::uint8_t type) {
    kind_ = to_string(EventType::Access);
    const std::uint8_t* p = src_->data() + 1;
    const std::uint8_t* const end = src_->data_end();
    auto field = [&](std::string_view name, std::uint64_t& v) {
      VarintError err = VarintError::kNone;
      v = get_varint(p, end, err);
      if (err == VarintError::kTruncated) return truncated(name);
      if (err == VarintError::kOverflow) return fail(name, "varint overflows 64 bits");
      return true;
    };
    std::uint64_t job = 0, core = 0, delta = 0, bo = kNoId, addr = 0, size = kDefaultAccessSize;
    const bool bo_offset = (type & rec::kAccessBoOffset) != 0;
    if (!field("job", job) || !field("core", core) || !field("delta", delta) ||
        (bo_offset && !field("bo", bo)) || !field("addr", addr) ||
        ((type & rec::kAccessSized) != 0 && !field("size", size)))
      return false;
    if (job > UINT32_MAX) return fail("job", fmt::format("no job has id {}", job));
    if (bo > UINT32_MAX) return fail("bo", fmt::format("no BO has id {}", bo));
    const AddrKind kind = bo_offset ? AddrKind::BoOffset : AddrKind::Absolute;
    return fail(state_.explain_access(static_cast<std::uint32_t>(job), core, kind,
                                      static_cast<std::uint32_t>(bo), addr, size));
  }

  std::unique_ptr<ByteSource> src_;
  const std::uint8_t* cur_ = nullptr;
  const std::uint8_t* lim_ = nullptr;
  TraceState state_;
  std::uint64_t record_ = 0;
  std::string_view kind_;  // the record's event type, for messages
  std::string name_;       // the name being declared; reused, so declarations do not allocate
  std::vector<std::uint32_t> uses_;
  Status error_;
  bool stopped_ = false;
};

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

class BinaryWriter final : public TraceWriter {
 public:
  explicit BinaryWriter(std::unique_ptr<AtomicFile> out)
      : out_(std::move(out)), state_("event"), buf_(std::make_unique<char[]>(kBufferBytes)) {
    std::memcpy(buf_.get(), kMagic.data(), kMagic.size());
    pos_ = kMagic.size();
    pos_ = static_cast<std::size_t>(put_varint(buf_.get() + pos_, kFormatVersion) - buf_.get());
  }

  Result<std::uint32_t> context(std::string_view name) override {
    if (Status s = usable(); !s) return s.error();
    std::uint32_t id = kNoId;
    state_.set_position(records_ + 1);
    if (Problem p = state_.context(name, id)) return writer_error(out_->path(), EventType::Context, *p);
    if (Status s = room(kMaxFixedRecord); !s) return s.error();
    put(rec::kContext);
    put_name(name);
    ++records_;
    return id;
  }

  Result<std::uint32_t> bo_create(std::uint32_t ctx, std::string_view name, std::uint64_t bytes,
                                  std::uint32_t flags) override {
    if (Status s = usable(); !s) return s.error();
    std::uint32_t id = kNoId;
    state_.set_position(records_ + 1);
    if (Problem p = state_.bo_create(ctx, name, bytes, flags, id))
      return writer_error(out_->path(), EventType::BoCreate, *p);
    if (Status s = room(kMaxFixedRecord); !s) return s.error();
    put(rec::kBoCreate);
    put(ctx);
    put_name(name);
    put(bytes);
    put(flags);
    ++records_;
    return id;
  }

  Status bo_free(std::uint32_t bo) override {
    if (Status s = usable(); !s) return s;
    state_.set_position(records_ + 1);
    if (Problem p = state_.bo_free(bo)) return writer_error(out_->path(), EventType::BoFree, *p);
    if (Status s = room(kMaxFixedRecord); !s) return s;
    put(rec::kBoFree);
    put(bo);
    ++records_;
    return {};
  }

  Status madvise(std::uint32_t bo, Madvise advice) override {
    if (Status s = usable(); !s) return s;
    state_.set_position(records_ + 1);
    if (Problem p = state_.madvise(bo)) return writer_error(out_->path(), EventType::Madvise, *p);
    if (advice != Madvise::WillNeed && advice != Madvise::DontNeed) {
      return writer_error(
          out_->path(), EventType::Madvise,
          FieldError{fld::kMadvAdvice, "advice",
                     fmt::format("advice {} is not WillNeed or DontNeed", static_cast<int>(advice))});
    }
    if (Status s = room(kMaxFixedRecord); !s) return s;
    put(rec::kMadvise);
    put(bo);
    put(static_cast<std::uint64_t>(advice));
    ++records_;
    return {};
  }

  Result<std::uint32_t> job_begin(std::uint32_t ctx, std::string_view name, std::uint64_t cores,
                                  std::span<const std::uint32_t> uses) override {
    if (Status s = usable(); !s) return s.error();
    std::uint32_t id = kNoId;
    state_.set_position(records_ + 1);
    if (Problem p = state_.job_begin(ctx, name, cores, uses, id))
      return writer_error(out_->path(), EventType::JobBegin, *p);
    if (Status s = room(kMaxFixedRecord); !s) return s.error();
    put(rec::kJobBegin);
    put(ctx);
    put_name(name);
    put(cores);
    put(static_cast<std::uint64_t>(uses.size()));
    for (std::uint32_t bo : uses) {
      if (Status s = room(10); !s) return s.error();
      put(bo);
    }
    ++records_;
    return id;
  }

  Status job_end(std::uint32_t job) override {
    if (Status s = usable(); !s) return s;
    state_.set_position(records_ + 1);
    if (Problem p = state_.job_end(job)) return writer_error(out_->path(), EventType::JobEnd, *p);
    if (Status s = room(kMaxFixedRecord); !s) return s;
    put(rec::kJobEnd);
    put(job);
    ++records_;
    return {};
  }

  Status access(std::uint32_t job, std::uint16_t core, std::uint64_t delta, Access op, AddrKind kind,
                std::uint32_t bo, std::uint64_t addr, std::uint32_t size) override {
    if (Status s = usable(); !s) [[unlikely]]
      return s;
    if (!state_.access_ok(job, core, kind, bo, addr, size) || static_cast<unsigned>(op) > 3 ||
        static_cast<unsigned>(kind) > 1) [[unlikely]]
      return writer_access_error(out_->path(), state_, job, core, op, kind, bo, addr, size);
    if (pos_ + kMaxAccessRecord > kBufferBytes) {
      if (Status s = flush(); !s) return s;
    }
    const bool bo_offset = kind == AddrKind::BoOffset;
    const bool sized = size != kDefaultAccessSize;
    char* p = buf_.get() + pos_;
    *p++ = static_cast<char>(rec::kAccess | static_cast<std::uint8_t>(op) |
                             (bo_offset ? rec::kAccessBoOffset : 0) | (sized ? rec::kAccessSized : 0));
    p = put_varint(p, job);
    p = put_varint(p, core);
    p = put_varint(p, delta);
    if (bo_offset) p = put_varint(p, bo);
    p = put_varint(p, addr);
    if (sized) p = put_varint(p, size);
    pos_ = static_cast<std::size_t>(p - buf_.get());
    ++records_;
    return {};
  }

  Status comment(std::string_view /*text*/) override { return usable(); }  // the binary form has none

  Status finish() override {
    if (Status s = usable(); !s) return s;
    if (Problem p = state_.finish())
      return make_error(Errc::kInvalidArgument, fmt::format("{}: finish: {}", out_->path(), p->cause));
    finished_ = true;
    if (Status s = room(kMaxFixedRecord); !s) return s;
    put(rec::kEnd);
    put(records_);
    if (Status s = flush(); !s) return s;
    return out_->commit();
  }

 private:
  // Everything but the name and the uses list of the largest declaration, plus the name.
  static constexpr std::size_t kMaxFixedRecord = 1 + 4 * 10 + kMaxNameLength;
  static constexpr std::size_t kBufferBytes = kChunk;

  Status usable() const {
    if (!io_error_) return io_error_;
    if (finished_)
      return make_error(Errc::kInvalidArgument, fmt::format("{}: the writer has finished", out_->path()));
    return {};
  }

  Status room(std::size_t n) { return pos_ + n > kBufferBytes ? flush() : Status{}; }
  void put(std::uint8_t type) { buf_[pos_++] = static_cast<char>(type); }
  void put(std::uint64_t v) {
    pos_ = static_cast<std::size_t>(put_varint(buf_.get() + pos_, v) - buf_.get());
  }
  void put(std::uint32_t v) { put(static_cast<std::uint64_t>(v)); }
  void put_name(std::string_view name) {
    put(static_cast<std::uint64_t>(name.size()));
    std::memcpy(buf_.get() + pos_, name.data(), name.size());
    pos_ += name.size();
  }
  Status flush() {
    Status s = out_->write(buf_.get(), pos_);
    pos_ = 0;
    if (!s) io_error_ = s;
    return s;
  }

  std::unique_ptr<AtomicFile> out_;
  TraceState state_;
  std::unique_ptr<char[]> buf_;
  std::size_t pos_ = 0;
  std::uint64_t records_ = 0;
  Status io_error_;
  bool finished_ = false;
};

}  // namespace

Result<std::unique_ptr<TraceReader>> make_binary_reader(std::unique_ptr<ByteSource> src) {
  auto reader = std::make_unique<BinaryReader>(std::move(src));
  if (Status s = reader->start(); !s) return s.error();
  return std::unique_ptr<TraceReader>(std::move(reader));
}

std::unique_ptr<TraceWriter> make_binary_writer(std::unique_ptr<AtomicFile> out) {
  return std::make_unique<BinaryWriter>(std::move(out));
}

}  // namespace mali_sim::trace::detail
