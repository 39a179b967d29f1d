// The binary form: a type byte and LEB128 varints per record, decoded straight from a 64 KiB
// window (docs/trace-format.md, "Binary form"). Accesses take a branch-light inline path; every
// other record, and every error, takes an out-of-line one. Version 2 is written; version 1 (whose
// accesses are all varints) is still read.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "mali_sim/sim/access_queues.hpp"
#include "sim/access_sinks.hpp"
#include "sim/binary_format.hpp"
#include "sim/trace_forms.hpp"

namespace mali_sim::trace::detail {
namespace {

// A version 2 access's address length, from its type byte.
constexpr unsigned v2_addr_length(unsigned type) noexcept {
  return ((type >> rec::kAccessV2AddrShift) & 7U) + 1;
}

// Where a version 2 access's fields are when job, delta, bo and size take one byte each, by type
// byte (meaningful for accesses only, 0x80-0xff).
struct V2Layout {
  std::uint64_t more = 0;       // continuation bits of job, delta, bo in the record's first 8 bytes
  std::uint64_t addr_mask = 0;  // the address's bytes
  std::uint64_t bo_mask = 0, bo_absent = 0;
  std::uint32_t size_mask = 0, size_absent = 0;
  std::uint8_t size_more = 0;  // the size byte's continuation bit, when there is a size
  std::uint8_t addr_at = 0, addr_len = 0, size_len = 0;
};
constexpr std::array<V2Layout, 256> make_v2_layouts() {
  std::array<V2Layout, 256> t{};
  for (unsigned type = rec::kAccessV2; type < 256; ++type) {
    V2Layout& l = t[type];
    const bool has_bo = (type & rec::kAccessBoOffset) != 0;
    const bool has_size = (type & rec::kAccessSized) != 0;
    l.addr_len = static_cast<std::uint8_t>(v2_addr_length(type));
    l.more = 0x0000'0000'8000'8000ULL | (has_bo ? 0x0000'0080'0000'0000ULL : 0);  // bytes 1, 3, 4
    l.addr_mask = ~std::uint64_t{0} >> (64 - 8 * l.addr_len);
    l.bo_mask = has_bo ? 0xff : 0;
    l.bo_absent = has_bo ? 0 : kNoId;
    l.size_mask = has_size ? 0xff : 0;
    l.size_absent = has_size ? 0 : kDefaultAccessSize;
    l.size_more = has_size ? 0x80 : 0;
    l.addr_at = has_bo ? 5 : 4;  // type, job, core, delta, [bo]
    l.size_len = has_size ? 1 : 0;
  }
  return t;
}
constexpr std::array<V2Layout, 256> kV2Layout = make_v2_layouts();

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
    if (version != kBinaryVersionV1 && version != kBinaryVersionV2) {
      return make_error(Errc::kInvalidArgument,
                        fmt::format("{}: unsupported binary trace version {} (this reader "
                                    "supports {} and {})",
                                    src_->name(), version, kBinaryVersionV1, kBinaryVersionV2));
    }
    v1_ = version == kBinaryVersionV1;
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
    if (!is_access(type)) {
      src_->advance_to(cur_);
      const bool ok = other(ev, type);
      load_window();
      return ok;
    }

    AccessFields a;
    const bool decoded = decode_access_at(rec, end, type, a);
    const AddrKind kind = (type & rec::kAccessBoOffset) != 0 ? AddrKind::BoOffset : AddrKind::Absolute;
    if (!decoded || !state_.access_rules().ok(a.job, a.core, kind, a.bo, a.addr, a.size)) [[unlikely]] {
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

  // The access records in the window, decoded and checked as next() does; anything else (another
  // record type, a record that fails, the last kMaxAccessRecord bytes of the file) is left to
  // next(), which decodes it again and names the problem.
  std::size_t next_accesses(std::span<AccessRecord> out) override {
    RecordSink sink{out};
    return decode_runs(sink) ? sink.n : 0;
  }
  // The same into the engine's queues; an access they refuse is also left to the caller.
  std::size_t append_accesses(AccessQueues& queues, std::size_t max) override {
    QueueSink sink(queues, max);
    const std::size_t start = queues.appended;
    if (!decode_runs(sink)) return 0;
    sink.app.finish(queues);
    queues.last_line = record_;
    return queues.appended - start;
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

  bool is_access(std::uint8_t type) const noexcept {
    return v1_ ? (type & rec::kAccessV1Mask) == rec::kAccessV1 : (type & rec::kAccessV2) != 0;
  }

  // ---- access records

  struct AccessFields {
    std::uint64_t job = 0, core = 0, delta = 0, bo = kNoId, addr = 0, size = kDefaultAccessSize;
    const std::uint8_t* end = nullptr;
  };

  // decode_run() over as many windows as it takes to fill the sink or reach something else; false
  // when the reader has stopped.
  template <class Sink>
  bool decode_runs(Sink& sink) {
    if (stopped_) [[unlikely]]
      return false;
    uses_.clear();
    for (;;) {
      if (static_cast<std::size_t>(lim_ - cur_) < kMaxAccessRecord) {
        if (src_->input_ended()) return true;
        src_->advance_to(cur_);
        const bool ok = src_->fill(kMaxAccessRecord);
        load_window();
        if (!ok) {
          io_failed();
          return true;
        }
        if (static_cast<std::size_t>(lim_ - cur_) < kMaxAccessRecord) return true;
      }
      const bool at_window_end =
          v1_ ? decode_run<kBinaryVersionV1>(sink) : decode_run<kBinaryVersionV2>(sink);
      if (!at_window_end || sink.full()) return true;
    }
  }

  // Decodes the access records that start at least kMaxAccessRecord bytes before the window's
  // end into the sink, until it is full or a record is not an access, fails, or is refused. True
  // when it stopped at the window's end. The rule tables are looked up once: accesses declare
  // nothing.
  template <unsigned Version, class Sink>
  [[gnu::noinline]] bool decode_run(Sink& out) {
    Sink sink = out;  // in registers: the stores it makes could otherwise alias it
    const std::uint8_t* const last = lim_ - kMaxAccessRecord;
    const TraceState::AccessRules rules = state_.access_rules();
    const std::uint8_t* p = cur_;
    std::uint64_t record = record_;
    bool at_window_end = true;
    while (!sink.full()) {
      if (p > last) break;
      const std::uint8_t type = *p;
      AccessFields a;
      const bool is_access = Version == kBinaryVersionV1 ? (type & rec::kAccessV1Mask) == rec::kAccessV1
                                                         : (type & rec::kAccessV2) != 0;
      if (!is_access || !decode_access<Version, false>(p, nullptr, type, a)) {
        at_window_end = false;
        break;
      }
      const bool bo_relative = (type & rec::kAccessBoOffset) != 0;
      const AddrKind kind = bo_relative ? AddrKind::BoOffset : AddrKind::Absolute;
      const DecodedAccess d{
          a.job,      a.core, a.delta, a.bo, a.addr, a.size, static_cast<Access>(type & rec::kAccessOpMask),
          bo_relative};
      if (!rules.ok(a.job, a.core, kind, a.bo, a.addr, a.size) || !sink.put(d, record + 1)) [[unlikely]] {
        at_window_end = false;
        break;
      }
      ++record;
      p = a.end;
    }
    cur_ = p;
    record_ = record;
    out = sink;
    return at_window_end;
  }

  // The first field an access record could not be decoded at, and why (bounded decoding only).
  struct DecodeError {
    std::string_view field;
    VarintError why = VarintError::kNone;
  };

  // How decode_access() reads a record's fields. Unbounded: the record starts at least
  // kMaxAccessRecord bytes before the window's end, so no read needs a bounds check; ok() turns
  // false for a varint longer than 8 bytes (2^56 or more), which the fast path does not decode.
  // Bounded: every read is checked, and error() names the first field that is truncated or whose
  // varint overflows 64 bits.
  template <bool Bounded>
  class FieldReader {
   public:
    FieldReader(const std::uint8_t* p, const std::uint8_t* end) noexcept : p_(p), end_(end) {}

    // Small fields (ids, cores, deltas, sizes) are one byte in nearly every record: one
    // well-predicted branch each. Unbounded, a longer varint is found and decoded from one 8-byte
    // load without a loop, so its varying length costs no mispredicted branch.
    [[gnu::always_inline]] std::uint64_t varint(std::string_view field) noexcept {
      if constexpr (Bounded) {
        const VarintError before = err_;
        const std::uint64_t v = get_varint(p_, end_, err_);
        if (before == VarintError::kNone && err_ != VarintError::kNone) field_ = field;
        return v;
      } else {
        if (*p_ < 0x80) [[likely]]
          return *p_++;
        const std::uint8_t* const q = p_;
        const unsigned len = static_cast<unsigned>(std::countr_zero(varint_stops(load_le64(q)) | 0x100U)) + 1;
        long_ |= len > 8;  // 9: longer than 8 bytes
        p_ += len;
        return varint_of_length(q, len);
      }
    }
    // A varint present or not with the record's type, at random as far as a branch predictor can
    // tell: unbounded, a one-byte value is taken or skipped by selects instead.
    [[gnu::always_inline]] std::uint64_t optional(bool present, std::uint64_t absent,
                                                  std::string_view field) noexcept {
      if constexpr (Bounded) {
        return present ? varint(field) : absent;
      } else {
        if (present & (*p_ >= 0x80)) [[unlikely]]
          return varint(field);
        const std::uint64_t v = present ? *p_ : absent;
        p_ += present ? 1 : 0;
        return v;
      }
    }
    // A little-endian number of `len` bytes (1 to 8).
    [[gnu::always_inline]] std::uint64_t fixed(unsigned len, std::string_view field) noexcept {
      if constexpr (Bounded) {
        if (static_cast<std::size_t>(end_ - p_) < len) {
          if (err_ == VarintError::kNone) {
            err_ = VarintError::kTruncated;
            field_ = field;
          }
          p_ = end_;
          return 0;
        }
        std::uint64_t v = 0;
        for (unsigned i = len; i > 0; --i) v = (v << 8) | p_[i - 1];
        p_ += len;
        return v;
      } else {
        const std::uint64_t v = load_le64(p_) & (~std::uint64_t{0} >> (64 - 8 * len));
        p_ += len;
        return v;
      }
    }

    bool ok() const noexcept {
      if constexpr (Bounded) return err_ == VarintError::kNone;
      return !long_;
    }
    DecodeError error() const noexcept { return DecodeError{field_, err_}; }
    const std::uint8_t* pos() const noexcept { return p_; }

   private:
    const std::uint8_t* p_;
    const std::uint8_t* end_;
    VarintError err_ = VarintError::kNone;  // Bounded
    std::string_view field_;                // Bounded: the first field with an error
    bool long_ = false;                     // Unbounded: a varint longer than 8 bytes
  };

  // The access-record decoder, for both versions, with or without bounds checks (FieldReader).
  // True when the record decoded; false when, unbounded, a varint is longer than 8 bytes (the
  // bounded decoder takes those) or, bounded, the record is truncated or a varint overflows
  // (*error says where). The rules are checked by the caller.
  template <unsigned Version, bool Bounded>
  [[gnu::always_inline]] static bool decode_access(const std::uint8_t* rec, const std::uint8_t* end,
                                                   std::uint8_t type, AccessFields& a,
                                                   DecodeError* error = nullptr) noexcept {
    if constexpr (Version == kBinaryVersionV2 && !Bounded) {
      // The usual version 2 record: job, delta and bo (and size) one byte each, so that every
      // field sits at a place the type byte gives (kV2Layout): one load and one test for the first
      // four, one load and a mask for the address, then the size byte.
      const V2Layout& l = kV2Layout[type];
      const std::uint64_t w = load_le64(rec);
      const std::uint8_t* const q = rec + l.addr_at;
      const std::uint8_t size_byte = q[l.addr_len];
      if ((w & l.more) == 0 && (size_byte & l.size_more) == 0) [[likely]] {
        a.job = (w >> 8) & 0xff;
        a.core = (w >> 16) & 0xff;
        a.delta = (w >> 24) & 0xff;
        a.bo = ((w >> 32) & l.bo_mask) | l.bo_absent;
        a.addr = load_le64(q) & l.addr_mask;
        a.size = (size_byte & l.size_mask) | l.size_absent;
        a.end = q + l.addr_len + l.size_len;
        return true;
      }
    }
    FieldReader<Bounded> r(rec + 1, end);
    a.job = r.varint("job");
    a.core = Version == kBinaryVersionV1 ? r.varint("core") : r.fixed(1, "core");
    a.delta = r.varint("delta");
    a.bo = r.optional((type & rec::kAccessBoOffset) != 0, kNoId, "bo");
    a.addr = Version == kBinaryVersionV1 ? r.varint("addr") : r.fixed(v2_addr_length(type), "addr");
    a.size = r.optional((type & rec::kAccessSized) != 0, kDefaultAccessSize, "size");
    a.end = r.pos();
    if (error != nullptr) *error = r.error();
    return r.ok();
  }
  // The same for the file's version, anywhere in the window: unbounded when the record is far
  // enough from the window's end and its varints short enough, else bounded.
  [[gnu::always_inline]] bool decode_access_at(const std::uint8_t* rec, const std::uint8_t* end,
                                               std::uint8_t type, AccessFields& a,
                                               DecodeError* error = nullptr) const noexcept {
    const bool far = static_cast<std::size_t>(end - rec) >= kMaxAccessRecord;
    if (v1_)
      return (far && decode_access<kBinaryVersionV1, false>(rec, end, type, a)) ||
             decode_bounded<kBinaryVersionV1>(rec, end, type, a, error);
    return (far && decode_access<kBinaryVersionV2, false>(rec, end, type, a)) ||
           decode_bounded<kBinaryVersionV2>(rec, end, type, a, error);
  }
  // The bounded decoder out of line: rare (the window's last bytes, huge values, errors).
  template <unsigned Version>
  [[gnu::noinline]] static bool decode_bounded(const std::uint8_t* rec, const std::uint8_t* end,
                                               std::uint8_t type, AccessFields& a,
                                               DecodeError* error) noexcept {
    return decode_access<Version, true>(rec, end, type, a, error);
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
      case rec::kJobBegin:
      case rec::kJobBeginTyped: {
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
        if (type == rec::kJobBeginTyped) {
          if (v1_)
            return fail("", fmt::format("unknown record type {:#04x} (typed jobs are version 2)", type));
          std::uint64_t job_type = 0;
          if (!varint("type", job_type)) return false;
          if (job_type > 0xff || !is_trace_job_type(static_cast<JobType>(job_type))) {
            return fail(
                "type",
                fmt::format("{} is not a job type (compute {}, vertex {}, tiler {}, fragment {})", job_type,
                            static_cast<unsigned>(JobType::Compute), static_cast<unsigned>(JobType::Vertex),
                            static_cast<unsigned>(JobType::Tiler), static_cast<unsigned>(JobType::Fragment)));
          }
          ev.job_type = static_cast<JobType>(job_type);
        }
        if (Problem p = state_.job_begin(ev.ctx, name_, ev.cores, uses_, ev.job, ev.job_type))
          return fail(*p);
        return true;
      }
      case rec::kJobEnd: {
        kind_ = to_string(ev.type = EventType::JobEnd);
        if (!id("job", "job", ev.job)) return false;
        if (Problem p = state_.job_end(ev.job)) return fail(*p);
        ev.ctx = state_.job_ctx(ev.job);
        return true;
      }
      default:
        if (type == (v1_ ? rec::kEndV1 : rec::kEndV2)) return end_of_trace();
        kind_ = {};
        return fail("", fmt::format("unknown record type {:#04x}", type));
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

  // Why an access record was refused: decoded again with bounds checks, now naming the field.
  [[gnu::noinline]] bool access_error(std::uint8_t type) {
    kind_ = to_string(EventType::Access);
    AccessFields a;
    DecodeError bad;
    if (!decode_access_at(src_->data(), src_->data_end(), type, a, &bad)) {
      if (bad.why == VarintError::kOverflow) return fail(bad.field, "varint overflows 64 bits");
      return truncated(bad.field);
    }
    if (a.job > UINT32_MAX) return fail("job", fmt::format("no job has id {}", a.job));
    if (a.bo > UINT32_MAX) return fail("bo", fmt::format("no BO has id {}", a.bo));
    const AddrKind kind = (type & rec::kAccessBoOffset) != 0 ? AddrKind::BoOffset : AddrKind::Absolute;
    return fail(state_.explain_access(static_cast<std::uint32_t>(a.job), a.core, kind,
                                      static_cast<std::uint32_t>(a.bo), a.addr, a.size));
  }

  std::unique_ptr<ByteSource> src_;
  bool v1_ = false;  // a version 1 file
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

class BinaryWriter final : public TraceWriter, private WriterBase {
 public:
  explicit BinaryWriter(std::unique_ptr<AtomicFile> out)
      : WriterBase(std::move(out)), buf_(std::make_unique<char[]>(kBufferBytes)) {
    std::memcpy(buf_.get(), kMagic.data(), kMagic.size());
    pos_ = kMagic.size();
    pos_ = static_cast<std::size_t>(put_varint(buf_.get() + pos_, kBinaryFormatVersion) - buf_.get());
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
                                  std::span<const std::uint32_t> uses, JobType type) override {
    if (Status s = usable(); !s) return s.error();
    std::uint32_t id = kNoId;
    state_.set_position(records_ + 1);
    if (Problem p = state_.job_begin(ctx, name, cores, uses, id, type))
      return writer_error(out_->path(), EventType::JobBegin, *p);
    if (Status s = room(kMaxFixedRecord); !s) return s.error();
    const bool typed = type != JobType::Compute;
    put(typed ? rec::kJobBeginTyped : rec::kJobBegin);
    put(ctx);
    put_name(name);
    put(cores);
    put(static_cast<std::uint64_t>(uses.size()));
    for (std::uint32_t bo : uses) {
      if (Status s = room(10); !s) return s.error();
      put(bo);
    }
    if (typed) {
      if (Status s = room(10); !s) return s.error();
      put(static_cast<std::uint64_t>(type));
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
    // The address in as few bytes as hold it (at least one), little-endian.
    const auto addr_bytes = static_cast<unsigned>(std::max<std::uint64_t>(1, (std::bit_width(addr) + 7) / 8));
    char* p = buf_.get() + pos_;
    *p++ = static_cast<char>(rec::kAccessV2 | ((addr_bytes - 1) << rec::kAccessV2AddrShift) |
                             static_cast<std::uint8_t>(op) | (bo_offset ? rec::kAccessBoOffset : 0) |
                             (sized ? rec::kAccessSized : 0));
    p = put_varint(p, job);
    *p++ = static_cast<char>(core);  // 0-63: access_ok checked it
    p = put_varint(p, delta);
    if (bo_offset) p = put_varint(p, bo);
    for (unsigned i = 0; i < addr_bytes; ++i) *p++ = static_cast<char>(addr >> (8 * i));
    if (sized) p = put_varint(p, size);
    pos_ = static_cast<std::size_t>(p - buf_.get());
    ++records_;
    return {};
  }

  Status comment(std::string_view /*text*/) override { return usable(); }  // the binary form has none

  Status finish() override {
    if (Status s = begin_finish(); !s) return s;
    if (Status s = room(kMaxFixedRecord); !s) return s;
    put(rec::kEndV2);
    put(records_);
    if (Status s = flush(); !s) return s;
    return out_->commit();
  }

 private:
  // Everything but the name and the uses list of the largest declaration, plus the name.
  static constexpr std::size_t kMaxFixedRecord = 1 + 4 * 10 + kMaxNameLength;
  static constexpr std::size_t kBufferBytes = kChunk;

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
    Status s = write_out(buf_.get(), pos_);
    pos_ = 0;
    return s;
  }

  std::unique_ptr<char[]> buf_;
  std::size_t pos_ = 0;
  std::uint64_t records_ = 0;
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
