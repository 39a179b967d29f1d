// Traces: the text reader turns a hand-written trace into exactly the events it says; text and
// binary convert into each other without loss (canonical text and binary bytes both survive a
// round trip); readers stream in constant memory; every rule has a malformed file (or a corrupted
// binary) that gives its exact message; writers refuse what readers refuse and never leave a
// half-written file.
#include "mali_sim/sim/trace.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define MALI_SIM_TRACE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MALI_SIM_TRACE_TEST_ASAN 1
#endif
#endif
#ifdef MALI_SIM_TRACE_TEST_ASAN
// From the ASan runtime (GCC does not install <sanitizer/allocator_interface.h>).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();  // NOLINT(bugprone-reserved-identifier)
#else
#include <malloc.h>
#endif

#include <unistd.h>

namespace mali_sim::trace {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Bytes the process has allocated and not freed.
std::size_t heap_in_use() {
#ifdef MALI_SIM_TRACE_TEST_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
#endif
}

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("mali_sim_trace_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::vector<std::string> entries() const {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(path_)) v.push_back(e.path().filename().string());
    return v;
  }

 private:
  fs::path path_;
};

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::unique_ptr<TraceReader> text_reader(const std::string& text, const std::string& name = "test.trace") {
  auto r = read_text(std::make_unique<std::istringstream>(text), name);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? std::move(r).value() : nullptr;
}

// Every event up to the end; `error` gets the reader's error, if any.
std::vector<Event> read_all(TraceReader& r, std::string* error = nullptr) {
  std::vector<Event> events;
  Event ev;
  while (r.next(ev)) events.push_back(ev);
  if (error != nullptr) *error = r.error() ? "" : r.error().error().message;
  return events;
}

// The message a trace file stops with: from open_trace (header problems) or from next().
std::string first_error(Result<std::unique_ptr<TraceReader>> opened) {
  if (!opened) return opened.error().message;
  std::string error;
  read_all(**opened, &error);
  return error;
}

// Field-by-field equality of what two readers produced, except the position.
std::string diff(const Event& a, const Event& b) {
  std::ostringstream o;
  auto cmp = [&](const char* name, auto x, auto y) {
    if (x != y) o << name << ": " << +x << " != " << +y << "; ";
  };
  cmp("type", static_cast<int>(a.type), static_cast<int>(b.type));
  cmp("op", static_cast<int>(a.op), static_cast<int>(b.op));
  cmp("addr_kind", static_cast<int>(a.addr_kind), static_cast<int>(b.addr_kind));
  cmp("advice", static_cast<int>(a.advice), static_cast<int>(b.advice));
  cmp("core", a.core, b.core);
  cmp("ctx", a.ctx, b.ctx);
  cmp("bo", a.bo, b.bo);
  cmp("job", a.job, b.job);
  cmp("flags", a.flags, b.flags);
  cmp("size", a.size, b.size);
  cmp("bytes", a.bytes, b.bytes);
  cmp("addr", a.addr, b.addr);
  cmp("delta", a.delta, b.delta);
  cmp("cores", a.cores, b.cores);
  cmp("job_type", static_cast<int>(a.job_type), static_cast<int>(b.job_type));
  return o.str();
}

// A small binary-form encoder, for records no writer would produce.
// Version 1 unless given another header (binary_v2()).
struct Bin {
  std::string b{"MSIMTRC\0\x01", 9};
  Bin& u8(std::uint8_t v) {
    b += static_cast<char>(v);
    return *this;
  }
  Bin& v(std::uint64_t x) {
    while (x >= 0x80) {
      b += static_cast<char>((x & 0x7f) | 0x80);
      x >>= 7;
    }
    b += static_cast<char>(x);
    return *this;
  }
  Bin& name(const std::string& n) {
    v(n.size());
    b += n;
    return *this;
  }
};

Bin binary_v2() { return Bin{std::string("MSIMTRC\0\x02", 9)}; }

std::string fmt_acc(int core, int offset) {
  return "acc j " + std::to_string(core) + " +1 r buf+" + std::to_string(offset) + "\n";
}

// Where record n (from 1) of a version 2 file made of ctx, bo, job, access and end records
// starts.
std::size_t nth_record_offset(const std::string& bin, std::size_t n) {
  std::size_t p = 9;  // magic and version
  auto varint = [&] {
    while (static_cast<unsigned char>(bin[p++]) & 0x80) {
    }
  };
  auto name = [&] {
    const auto len = static_cast<unsigned char>(bin[p++]);
    p += len;
  };
  for (std::size_t r = 1; r < n; ++r) {
    const auto type = static_cast<unsigned char>(bin[p++]);
    if (type & 0x80) {  // access: job, core, delta, [bo], addr bytes, [size]
      varint();
      ++p;
      varint();
      if (type & 0x04) varint();
      p += ((type >> 4) & 7) + 1;
      if (type & 0x08) varint();
    } else if (type == 0x01) {
      name();
    } else if (type == 0x02) {
      varint();
      name();
      varint();
      varint();
    } else if (type == 0x05) {
      varint();
      name();
      varint();
      std::size_t uses = static_cast<unsigned char>(bin[p++]);
      while (uses-- > 0) varint();
    } else {
      varint();
    }
  }
  return p;
}

std::string binary_error(const std::string& bytes) {
  return first_error(read_binary(std::make_unique<std::istringstream>(bytes), "corrupt.bin"));
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

constexpr const char* kHandWritten =
    "# A hand-written trace: every event type and every field form.\n"
    "   # an indented comment\n"
    "mali-sim-trace 1   # the header may carry a comment\n"
    "\n"
    "ctx A\n"
    "ctx B_2.x-y\n"
    "bo A heap 64M noexec heap\n"
    "bo A code 0x10000\n"
    "bo B_2.x-y buf 3K heap noexec\n"
    "bo A big 2G\n"
    "bo A k 1\n"
    "madvise A heap dontneed\n"
    "madvise A heap willneed\n"
    "job A j1 cores=0,2,5-7 type=fragment uses=heap,code\n"
    "job B_2.x-y j2 cores=63\n"
    "acc j1 0 +10 w heap+0x1000 16\n"
    "acc j1 2 +0 r code+16#comment right after a field\n"
    "\tacc\tj1 7  +18446744073709551615 x 0xffffffffffffffff 0x20\r\n"
    "acc j2 63 +1 a 4096 1\n"
    "end j1\n"
    "free A heap\n"
    "end j2";  // no final newline

TEST(TraceText, HandWrittenTraceParsesIntoExactlyTheExpectedEvents) {
  auto r = text_reader(kHandWritten);
  ASSERT_TRUE(r);
  std::vector<Event> ev;
  std::vector<std::vector<std::uint32_t>> uses;
  Event e;
  while (r->next(e)) {
    ev.push_back(e);
    uses.emplace_back(r->uses().begin(), r->uses().end());
  }
  ASSERT_TRUE(r->error()) << r->error().error().message;
  ASSERT_EQ(ev.size(), 18U);

  const Names& n = r->names();
  EXPECT_EQ(n.contexts, (std::vector<std::string>{"A", "B_2.x-y"}));
  EXPECT_EQ(n.bos, (std::vector<std::string>{"heap", "code", "buf", "big", "k"}));
  EXPECT_EQ(n.bo_ctx, (std::vector<std::uint32_t>{0, 0, 1, 0, 0}));
  EXPECT_EQ(n.jobs, (std::vector<std::string>{"j1", "j2"}));

  EXPECT_EQ(ev[0].type, EventType::Context);
  EXPECT_EQ(ev[0].ctx, 0U);
  EXPECT_EQ(ev[0].line, 5U);
  EXPECT_EQ(ev[1].ctx, 1U);

  EXPECT_EQ(ev[2].type, EventType::BoCreate);
  EXPECT_EQ(ev[2].ctx, 0U);
  EXPECT_EQ(ev[2].bo, 0U);
  EXPECT_EQ(ev[2].bytes, 64ULL << 20);
  EXPECT_EQ(ev[2].flags, bo_flags::kNoExec | bo_flags::kHeap);
  EXPECT_EQ(ev[3].bytes, 0x10000U);
  EXPECT_EQ(ev[3].flags, 0U);
  EXPECT_EQ(ev[4].ctx, 1U);
  EXPECT_EQ(ev[4].bytes, 3U << 10);
  EXPECT_EQ(ev[4].flags, bo_flags::kNoExec | bo_flags::kHeap);
  EXPECT_EQ(ev[5].bytes, 2ULL << 30);
  EXPECT_EQ(ev[6].bytes, 1U);

  EXPECT_EQ(ev[7].type, EventType::Madvise);
  EXPECT_EQ(ev[7].bo, 0U);
  EXPECT_EQ(ev[7].ctx, 0U);
  EXPECT_EQ(ev[7].advice, Madvise::DontNeed);
  EXPECT_EQ(ev[8].advice, Madvise::WillNeed);

  EXPECT_EQ(ev[9].type, EventType::JobBegin);
  EXPECT_EQ(ev[9].ctx, 0U);
  EXPECT_EQ(ev[9].job, 0U);
  EXPECT_EQ(ev[9].cores, 0b1110'0101U);
  EXPECT_EQ(uses[9], (std::vector<std::uint32_t>{0, 1}));
  EXPECT_EQ(ev[9].job_type, JobType::Fragment);
  EXPECT_EQ(ev[10].job_type, JobType::Compute) << "a job without type= is a compute job";
  EXPECT_EQ(ev[10].ctx, 1U);
  EXPECT_EQ(ev[10].job, 1U);
  EXPECT_EQ(ev[10].cores, 1ULL << 63);
  EXPECT_TRUE(uses[10].empty());

  EXPECT_EQ(ev[11].type, EventType::Access);
  EXPECT_EQ(ev[11].job, 0U);
  EXPECT_EQ(ev[11].ctx, 0U);
  EXPECT_EQ(ev[11].core, 0U);
  EXPECT_EQ(ev[11].delta, 10U);
  EXPECT_EQ(ev[11].op, Access::Write);
  EXPECT_EQ(ev[11].addr_kind, AddrKind::BoOffset);
  EXPECT_EQ(ev[11].bo, 0U);
  EXPECT_EQ(ev[11].addr, 0x1000U);
  EXPECT_EQ(ev[11].size, 16U);
  EXPECT_TRUE(uses[11].empty());  // uses() belongs to JobBegin events only

  EXPECT_EQ(ev[12].core, 2U);
  EXPECT_EQ(ev[12].delta, 0U);
  EXPECT_EQ(ev[12].op, Access::Read);
  EXPECT_EQ(ev[12].bo, 1U);
  EXPECT_EQ(ev[12].addr, 16U);
  EXPECT_EQ(ev[12].size, 4U);  // the default

  EXPECT_EQ(ev[13].core, 7U);
  EXPECT_EQ(ev[13].delta, UINT64_MAX);
  EXPECT_EQ(ev[13].op, Access::Execute);
  EXPECT_EQ(ev[13].addr_kind, AddrKind::Absolute);
  EXPECT_EQ(ev[13].bo, kNoId);
  EXPECT_EQ(ev[13].addr, UINT64_MAX);
  EXPECT_EQ(ev[13].size, 32U);

  EXPECT_EQ(ev[14].job, 1U);
  EXPECT_EQ(ev[14].ctx, 1U);
  EXPECT_EQ(ev[14].core, 63U);
  EXPECT_EQ(ev[14].op, Access::Atomic);
  EXPECT_EQ(ev[14].addr_kind, AddrKind::Absolute);
  EXPECT_EQ(ev[14].addr, 4096U);
  EXPECT_EQ(ev[14].size, 1U);

  EXPECT_EQ(ev[15].type, EventType::JobEnd);
  EXPECT_EQ(ev[15].job, 0U);
  EXPECT_EQ(ev[16].type, EventType::BoFree);
  EXPECT_EQ(ev[16].bo, 0U);
  EXPECT_EQ(ev[16].ctx, 0U);
  EXPECT_EQ(ev[17].type, EventType::JobEnd);
  EXPECT_EQ(ev[17].job, 1U);
  EXPECT_EQ(ev[17].line, 22U);
}

TEST(TraceText, HeaderOnlyTraceHasNoEventsAndNoError) {
  auto r = text_reader("# nothing yet\nmali-sim-trace 1\n");
  ASSERT_TRUE(r);
  Event ev;
  EXPECT_FALSE(r->next(ev));
  EXPECT_TRUE(r->error());
  EXPECT_FALSE(r->next(ev));  // and stays at the end
}

TEST(TraceText, LinesLongerThanTheReadWindowParseAndOverLongLinesAreRefused) {
  // A job using 5000 BOs: a ~120 KiB line, twice the reader's 64 KiB window.
  std::string text = "mali-sim-trace 1\nctx A\n";
  std::string uses;
  for (int i = 0; i < 5000; ++i) {
    const std::string name = "a_rather_long_bo_name_" + std::to_string(i);
    text += "bo A " + name + " 4K\n";
    uses += (i == 0 ? "" : ",") + name;
  }
  text += "job A j1 cores=0 uses=" + uses + "\nacc j1 0 +1 r a_rather_long_bo_name_4999+0x10\nend j1\n";
  auto r = text_reader(text);
  ASSERT_TRUE(r);
  std::size_t job_uses = 0;
  Event ev;
  while (r->next(ev)) {
    if (ev.type == EventType::JobBegin) job_uses = r->uses().size();
  }
  EXPECT_TRUE(r->error()) << r->error().error().message;
  EXPECT_EQ(job_uses, 5000U);

  auto too_long =
      text_reader("mali-sim-trace 1\n# " + std::string(1U << 20, 'x') + "\nctx A\n", "long.trace");
  ASSERT_TRUE(too_long);
  EXPECT_EQ(first_error(std::move(too_long)), "long.trace:2: line longer than 1048576 bytes");
}

TEST(TraceText, CanonicalFormIsOneEventPerLineWithHexAddressesAndExactSizeSuffixes) {
  TempDir dir;
  write_file(dir.file("in.trace"), kHandWritten);
  auto n = convert_trace(dir.file("in.trace"), dir.file("out.trace"), TraceFormat::Text);
  ASSERT_TRUE(n.has_value()) << n.error().message;
  EXPECT_EQ(*n, 18U);
  EXPECT_EQ(read_file(dir.file("out.trace")),
            "mali-sim-trace 1\n"
            "ctx A\n"
            "ctx B_2.x-y\n"
            "bo A heap 64M noexec heap\n"
            "bo A code 64K\n"
            "bo B_2.x-y buf 3K noexec heap\n"
            "bo A big 2G\n"
            "bo A k 0x1\n"
            "madvise A heap dontneed\n"
            "madvise A heap willneed\n"
            "job A j1 cores=0,2,5-7 uses=heap,code type=fragment\n"
            "job B_2.x-y j2 cores=63\n"
            "acc j1 0 +10 w heap+0x1000 16\n"
            "acc j1 2 +0 r code+0x10\n"
            "acc j1 7 +18446744073709551615 x 0xffffffffffffffff 32\n"
            "acc j2 63 +1 a 0x1000 1\n"
            "end j1\n"
            "free A heap\n"
            "end j2\n");
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

// A random valid trace through the writer API: contexts, BOs of every flag combination and of
// sizes with and without suffixes, madvise, jobs on random core sets with random uses, accesses
// of every op at BO offsets and absolute addresses with extreme values, frees, ends.
Status write_random(TraceWriter& w, std::uint64_t seed, std::uint64_t events) {
  std::mt19937_64 rng(seed);
  auto below = [&](std::uint64_t n) { return n == 0 ? 0 : rng() % n; };
  struct Bo {
    std::uint32_t id, ctx;
    std::uint64_t bytes;
    bool live;
  };
  struct Job {
    std::uint32_t id, ctx;
    std::uint64_t cores;
    std::vector<std::uint32_t> uses;
  };
  std::vector<std::uint32_t> ctxs;
  std::vector<Bo> bos;
  std::map<std::uint32_t, std::vector<std::size_t>> live;  // context -> indices of its live BOs
  std::vector<Job> running;
  std::map<std::uint32_t, int> busy;  // BO id -> running jobs using it
  std::uint64_t names = 0;
  const std::uint64_t sizes[] = {1,           3,          4096,      0x10000,   3 << 10,
                                 64ULL << 20, 2ULL << 30, 0x1234567, 1ULL << 40};

  for (std::uint64_t i = 0; i < events; ++i) {
    const std::uint64_t pick = below(1000);
    Status s;
    if (ctxs.empty() || pick < 3) {
      auto id = w.context("ctx" + std::to_string(names++));
      if (!id) return id.error();
      ctxs.push_back(*id);
    } else if (pick < 15) {
      const std::uint32_t ctx = ctxs[below(ctxs.size())];
      const std::uint64_t bytes = sizes[below(std::size(sizes))];
      auto id = w.bo_create(ctx, "bo" + std::to_string(names++), bytes, static_cast<std::uint32_t>(below(4)));
      if (!id) return id.error();
      live[ctx].push_back(bos.size());
      bos.push_back(Bo{*id, ctx, bytes, true});
    } else if (pick < 20 && !bos.empty()) {
      const std::size_t k = below(bos.size());
      Bo& b = bos[k];
      if (!b.live || busy[b.id] != 0) continue;
      s = w.bo_free(b.id);
      b.live = false;
      std::erase(live[b.ctx], k);
    } else if (pick < 25 && !bos.empty()) {
      const Bo& b = bos[below(bos.size())];
      if (!b.live) continue;
      s = w.madvise(b.id, below(2) != 0 ? Madvise::DontNeed : Madvise::WillNeed);
    } else if (pick < 35 && running.size() < 8) {
      Job j{0, ctxs[below(ctxs.size())], rng() | (1ULL << below(64)), {}};
      if (below(2) != 0) j.cores &= 0xff;
      if (j.cores == 0) j.cores = 1;
      for (std::size_t k : live[j.ctx]) {
        if (below(3) == 0) j.uses.push_back(bos[k].id);
      }
      auto id = w.job_begin(j.ctx, "job" + std::to_string(names++), j.cores, j.uses);
      if (!id) return id.error();
      j.id = *id;
      for (std::uint32_t u : j.uses) ++busy[u];
      running.push_back(std::move(j));
    } else if (pick < 45 && !running.empty()) {
      const std::size_t k = below(running.size());
      s = w.job_end(running[k].id);
      for (std::uint32_t u : running[k].uses) --busy[u];
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(k));
    } else if (!running.empty()) {
      const Job& j = running[below(running.size())];
      std::uint16_t core = 0;
      do {
        core = static_cast<std::uint16_t>(below(64));
      } while (((j.cores >> core) & 1U) == 0);
      const std::uint64_t delta = below(4) == 0 ? rng() : below(100);
      const auto op = static_cast<Access>(below(4));
      const std::vector<std::size_t>& mine = live[j.ctx];
      const std::uint32_t size = below(2) != 0 ? 4U : static_cast<std::uint32_t>(1 + below(64));
      if (!mine.empty() && below(10) < 7) {
        const Bo& b = bos[mine[below(mine.size())]];
        if (b.bytes < size) continue;
        s = w.access(j.id, core, delta, op, AddrKind::BoOffset, b.id, below(b.bytes - size + 1), size);
      } else {
        const std::uint64_t addr = below(4) == 0 ? rng() : below(1ULL << 48);
        s = w.access(j.id, core, delta, op, AddrKind::Absolute, kNoId, addr, size);
      }
    }
    if (!s) return s;
  }
  for (const Job& j : running) {
    if (Status s = w.job_end(j.id); !s) return s;
  }
  return {};
}

// Every event of two traces agrees (same ids, same fields) and so do their name tables.
void expect_same_events(const std::string& a_path, const std::string& b_path) {
  auto a = open_trace(a_path);
  auto b = open_trace(b_path);
  ASSERT_TRUE(a && b);
  Event ea, eb;
  std::uint64_t n = 0;
  for (;;) {
    const bool more_a = (*a)->next(ea);
    const bool more_b = (*b)->next(eb);
    ASSERT_EQ(more_a, more_b) << "event " << n;
    if (!more_a) break;
    ASSERT_EQ(diff(ea, eb), "") << "event " << n;
    if (ea.type == EventType::JobBegin) {
      ASSERT_EQ(std::vector<std::uint32_t>((*a)->uses().begin(), (*a)->uses().end()),
                std::vector<std::uint32_t>((*b)->uses().begin(), (*b)->uses().end()));
    }
    ++n;
  }
  EXPECT_TRUE((*a)->error()) << (*a)->error().error().message;
  EXPECT_TRUE((*b)->error()) << (*b)->error().error().message;
  EXPECT_EQ((*a)->names().contexts, (*b)->names().contexts);
  EXPECT_EQ((*a)->names().bos, (*b)->names().bos);
  EXPECT_EQ((*a)->names().bo_ctx, (*b)->names().bo_ctx);
  EXPECT_EQ((*a)->names().jobs, (*b)->names().jobs);
}

// text -> binary -> text gives the same canonical text, binary -> text -> binary the same bytes,
// and both forms read as the same events.
void expect_round_trips(const TempDir& dir, const std::string& text) {
  const std::string b1 = dir.file("rt1.bin"), t2 = dir.file("rt2.trace"), b2 = dir.file("rt2.bin");
  ASSERT_TRUE(convert_trace(text, b1, TraceFormat::Binary).has_value());
  ASSERT_TRUE(convert_trace(b1, t2, TraceFormat::Text).has_value());
  ASSERT_TRUE(convert_trace(t2, b2, TraceFormat::Binary).has_value());
  const std::string original = read_file(text);
  EXPECT_TRUE(read_file(t2) == original) << "text -> binary -> text changed the canonical text";
  EXPECT_TRUE(read_file(b2) == read_file(b1)) << "binary -> text -> binary changed the bytes";
  expect_same_events(text, b1);
}

TEST(TraceRoundTrip, EveryEventTypeAndFieldSurvivesTextToBinaryToTextAndBack) {
  TempDir dir;
  write_file(dir.file("hand.trace"), kHandWritten);
  // Canonical text first: the hand-written file has comments and non-canonical spellings.
  ASSERT_TRUE(convert_trace(dir.file("hand.trace"), dir.file("canon.trace"), TraceFormat::Text).has_value());
  expect_round_trips(dir, dir.file("canon.trace"));
  expect_same_events(dir.file("hand.trace"), dir.file("rt1.bin"));
}

TEST(TraceBinary, AccessRecordIsTheSpecifiedTypeByteVarintsAndAddressBytes) {
  // docs/trace-format.md's example: acc j1 0 +10 w heap+0x1000 16 is 9F 00 00 0A 00 00 10 10.
  TempDir dir;
  write_file(dir.file("a.trace"),
             "mali-sim-trace 1\nctx A\nbo A heap 64M\njob A j1 cores=0\nacc j1 0 +10 w heap+0x1000 16\n"
             "acc j1 0 +1 r 0x1000\nend j1\n");
  ASSERT_TRUE(convert_trace(dir.file("a.trace"), dir.file("a.bin"), TraceFormat::Binary).has_value());
  const std::string expected = binary_v2()
                                   .u8(0x01)
                                   .name("A")  // ctx A
                                   .u8(0x02)
                                   .v(0)
                                   .name("heap")
                                   .v(64ULL << 20)
                                   .v(0)  // bo A heap 64M
                                   .u8(0x05)
                                   .v(0)
                                   .name("j1")
                                   .v(1)
                                   .v(0)  // job A j1 cores=0
                                   .u8(0x9f)
                                   .v(0)
                                   .u8(0)
                                   .v(10)
                                   .v(0)
                                   .u8(0x00)
                                   .u8(0x10)
                                   .v(16)  // the example
                                   .u8(0x92)
                                   .v(0)
                                   .u8(0)
                                   .v(1)
                                   .u8(0x00)
                                   .u8(0x10)  // absolute read, default size
                                   .u8(0x06)
                                   .v(0)  // end j1
                                   .u8(0x7f)
                                   .v(6)  // end of trace after 6 records
                                   .b;
  EXPECT_EQ(read_file(dir.file("a.bin")), expected);
  EXPECT_NE(expected.find(std::string("\x9f\x00\x00\x0a\x00\x00\x10\x10", 8)), std::string::npos);
}

TEST(TraceBinary, AJobThatIsNotComputeIsATypedJobRecordAndAComputeJobIsUnchanged) {
  // "job A f cores=0 type=fragment" is record 0x07: record 0x05's fields, then the type (9).
  TempDir dir;
  write_file(dir.file("t.trace"),
             "mali-sim-trace 1\nctx A\njob A c cores=0\njob A f cores=1 type=fragment\nend c\nend f\n");
  ASSERT_TRUE(convert_trace(dir.file("t.trace"), dir.file("t.bin"), TraceFormat::Binary).has_value());
  const std::string expected = binary_v2()
                                   .u8(0x01)
                                   .name("A")
                                   .u8(0x05)
                                   .v(0)
                                   .name("c")
                                   .v(1)
                                   .v(0)  // compute: the untyped record, as before job types
                                   .u8(0x07)
                                   .v(0)
                                   .name("f")
                                   .v(2)
                                   .v(0)
                                   .v(static_cast<std::uint64_t>(JobType::Fragment))
                                   .u8(0x06)
                                   .v(0)
                                   .u8(0x06)
                                   .v(1)
                                   .u8(0x7f)
                                   .v(5)
                                   .b;
  EXPECT_EQ(read_file(dir.file("t.bin")), expected);

  // A type that is not a shader job type, and a typed record in a version 1 file, are refused.
  const std::string bad_type = binary_v2().u8(0x01).name("A").u8(0x07).v(0).name("j").v(1).v(0).v(1).b;
  EXPECT_TRUE(
      contains(binary_error(bad_type), "corrupt.bin: record 2 (job): field type: 1 is not a job type"))
      << binary_error(bad_type);
  const std::string v1_typed = Bin().u8(0x01).name("A").u8(0x07).v(0).name("j").v(1).v(0).v(9).b;
  EXPECT_TRUE(contains(binary_error(v1_typed), "record 2 (job): unknown record type 0x07"))
      << binary_error(v1_typed);
}

TEST(TraceBinary, AddressesTakeAsFewBytesAsHoldThem) {
  // The address's length is in the type byte (bits 6-4: bytes - 1), from 1 byte for 0 to 8.
  TempDir dir;
  auto w = create_trace(dir.file("a.bin"), TraceFormat::Binary);
  ASSERT_TRUE(w.has_value());
  const std::uint32_t ctx = *(*w)->context("A");
  const std::uint32_t job = *(*w)->job_begin(ctx, "j", 1);
  const std::uint64_t addrs[] = {0, 0xff, 0x100, 0xffffff, 0x1000000, 0xffffffffffffffULL, ~0ULL};
  for (std::uint64_t a : addrs)
    ASSERT_TRUE((*w)->access(job, 0, 1, Access::Read, AddrKind::Absolute, kNoId, a, 4));
  ASSERT_TRUE((*w)->job_end(job));
  ASSERT_TRUE((*w)->finish());
  Bin expected = binary_v2();
  expected.u8(0x01).name("A").u8(0x05).v(0).name("j").v(1).v(0);
  const unsigned lengths[] = {1, 1, 2, 3, 4, 7, 8};
  for (std::size_t i = 0; i < std::size(addrs); ++i) {
    expected.u8(static_cast<std::uint8_t>(0x82 | ((lengths[i] - 1) << 4))).v(0).u8(0).v(1);
    for (unsigned k = 0; k < lengths[i]; ++k) expected.u8(static_cast<std::uint8_t>(addrs[i] >> (8 * k)));
  }
  expected.u8(0x06).v(0).u8(0x7f).v(2 + std::size(addrs) + 1);
  EXPECT_EQ(read_file(dir.file("a.bin")), expected.b);
  auto r = open_trace(dir.file("a.bin"));
  ASSERT_TRUE(r.has_value());
  const std::vector<Event> ev = read_all(**r);
  ASSERT_EQ(ev.size(), 3 + std::size(addrs));
  for (std::size_t i = 0; i < std::size(addrs); ++i) EXPECT_EQ(ev[2 + i].addr, addrs[i]);
}

TEST(TraceBinary, Version1FilesAreStillRead) {
  // The example as version 1 wrote it (every field a varint, end record 0xff) reads as the same
  // events as the version 2 file, and converts to it.
  TempDir dir;
  const std::string v1 = Bin()
                             .u8(0x01)
                             .name("A")
                             .u8(0x02)
                             .v(0)
                             .name("heap")
                             .v(64ULL << 20)
                             .v(0)
                             .u8(0x05)
                             .v(0)
                             .name("j1")
                             .v(1)
                             .v(0)
                             .u8(0x1f)
                             .v(0)
                             .v(0)
                             .v(10)
                             .v(0)
                             .v(0x1000)
                             .v(16)
                             .u8(0x12)
                             .v(0)
                             .v(0)
                             .v(1)
                             .v(0x1000)
                             .u8(0x06)
                             .v(0)
                             .u8(0xff)
                             .v(6)
                             .b;
  write_file(dir.file("v1.bin"), v1);
  write_file(dir.file("a.trace"),
             "mali-sim-trace 1\nctx A\nbo A heap 64M\njob A j1 cores=0\nacc j1 0 +10 w heap+0x1000 16\n"
             "acc j1 0 +1 r 0x1000\nend j1\n");
  expect_same_events(dir.file("v1.bin"), dir.file("a.trace"));
  ASSERT_TRUE(convert_trace(dir.file("v1.bin"), dir.file("v2.bin"), TraceFormat::Binary).has_value());
  ASSERT_TRUE(convert_trace(dir.file("a.trace"), dir.file("a.bin"), TraceFormat::Binary).has_value());
  EXPECT_EQ(read_file(dir.file("v2.bin")), read_file(dir.file("a.bin")));
  // Each version's end record is an unknown record type in the other.
  EXPECT_TRUE(
      contains(binary_error(Bin().u8(0x7f).v(0).b), "corrupt.bin: record 1: unknown record type 0x7f"));
  EXPECT_TRUE(
      contains(binary_error(binary_v2().u8(0x12).v(0).b), "corrupt.bin: record 1: unknown record type 0x12"));
}

TEST(TraceRoundTrip, SeededRandomTraceOf100kEventsRoundTrips) {
  TempDir dir;
  auto w = create_trace(dir.file("random.trace"), TraceFormat::Text);
  ASSERT_TRUE(w.has_value());
  Status s = write_random(**w, 42, 100'000);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE((*w)->finish());
  expect_round_trips(dir, dir.file("random.trace"));
}

TEST(TraceRoundTrip, BinaryWriterAndTextWriterDescribeTheSameTrace) {
  TempDir dir;
  for (auto [name, fmt] :
       {std::pair{"w.trace", TraceFormat::Text}, std::pair{"w.bin", TraceFormat::Binary}}) {
    auto w = create_trace(dir.file(name), fmt);
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE(write_random(**w, 7, 20'000));
    ASSERT_TRUE((*w)->comment("comments exist in text only"));
    ASSERT_TRUE((*w)->finish());
  }
  expect_same_events(dir.file("w.trace"), dir.file("w.bin"));
  EXPECT_TRUE(contains(read_file(dir.file("w.trace")), "\n# comments exist in text only\n"));
}

TEST(TraceRoundTrip, CopyMapsIdsIntoAWriterThatAlreadyHasDeclarations) {
  TempDir dir;
  write_file(dir.file("in.trace"), kHandWritten);
  auto w = create_trace(dir.file("out.trace"), TraceFormat::Text);
  ASSERT_TRUE(w.has_value());
  auto own = (*w)->context("mine");  // shifts every context id of the copy by one
  ASSERT_TRUE(own.has_value());
  ASSERT_TRUE((*w)->comment("copied:\nbelow"));
  auto r = open_trace(dir.file("in.trace"));
  ASSERT_TRUE(r.has_value());
  Event ev;
  while ((*r)->next(ev)) ASSERT_TRUE((*w)->copy(ev, (*r)->names(), (*r)->uses()));
  ASSERT_TRUE((*w)->finish());
  const std::string out = read_file(dir.file("out.trace"));
  EXPECT_TRUE(contains(out, "mali-sim-trace 1\nctx mine\n# copied:\n# below\nctx A\nctx B_2.x-y\n")) << out;
  EXPECT_TRUE(contains(out, "job B_2.x-y j2 cores=63\n")) << out;
}

// ---------------------------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------------------------

// Writes a trace of `accesses` accesses over two jobs and a few BOs.
void write_long(const std::string& path, TraceFormat fmt, std::uint64_t accesses) {
  auto w = create_trace(path, fmt);
  ASSERT_TRUE(w.has_value());
  TraceWriter& t = **w;
  const std::uint32_t ctx = *t.context("A");
  const std::uint32_t heap = *t.bo_create(ctx, "heap", 64ULL << 20, bo_flags::kNoExec | bo_flags::kHeap);
  const std::uint32_t code = *t.bo_create(ctx, "code", 64 << 10, 0);
  const std::uint32_t uses[] = {heap, code};
  const std::uint32_t j1 = *t.job_begin(ctx, "j1", 0xf, uses);
  const std::uint32_t j2 = *t.job_begin(ctx, "j2", 0xf0, {});
  for (std::uint64_t i = 0; i < accesses; ++i) {
    const bool first = (i & 1) == 0;
    Status s = (i & 7) == 7 ? t.access(first ? j1 : j2, first ? 1 : 5, 3, Access::Execute, AddrKind::BoOffset,
                                       code, (i * 64) % (64 << 10), 64)
                            : t.access(first ? j1 : j2, static_cast<std::uint16_t>(first ? i % 4 : 4 + i % 4),
                                       1 + i % 5, i % 3 == 0 ? Access::Read : Access::Write,
                                       AddrKind::BoOffset, heap, (i * 4096) % (64ULL << 20), 16);
    ASSERT_TRUE(s) << s.error().message;
  }
  ASSERT_TRUE(t.job_end(j1));
  ASSERT_TRUE(t.job_end(j2));
  ASSERT_TRUE(t.finish());
}

// Reads the file once; heap in use after the first 10% and at the end must be the same: the
// reader keeps the name tables and its buffer, never the events.
void expect_constant_memory(const std::string& path, std::uint64_t accesses) {
  auto r = open_trace(path);
  ASSERT_TRUE(r.has_value());
  Event ev;
  std::uint64_t n = 0, seen_accesses = 0, checksum = 0;
  std::size_t early = 0;
  while ((*r)->next(ev)) {
    if (ev.type == EventType::Access) {
      ++seen_accesses;
      checksum += ev.addr + ev.core;
    }
    if (++n == accesses / 10) early = heap_in_use();
  }
  const std::size_t late = heap_in_use();
  ASSERT_TRUE((*r)->error()) << (*r)->error().error().message;
  EXPECT_EQ(seen_accesses, accesses);
  EXPECT_NE(checksum, 0U);
  EXPECT_LE(late, early + 4096) << "the reader's memory grew with the trace's length";
}

TEST(TraceStreaming, ReadingTwoMillionBinaryAccessesUsesConstantMemory) {
  TempDir dir;
  constexpr std::uint64_t kAccesses = 2'000'000;
  write_long(dir.file("long.bin"), TraceFormat::Binary, kAccesses);
  EXPECT_GT(fs::file_size(dir.file("long.bin")), kAccesses * 5);  // far more than the reader may hold
  expect_constant_memory(dir.file("long.bin"), kAccesses);
}

TEST(TraceStreaming, ReadingManyTextAccessesUsesConstantMemory) {
  TempDir dir;
  constexpr std::uint64_t kAccesses = 250'000;
  write_long(dir.file("long.trace"), TraceFormat::Text, kAccesses);
  EXPECT_GT(fs::file_size(dir.file("long.trace")), kAccesses * 20);
  expect_constant_memory(dir.file("long.trace"), kAccesses);
}

// ---------------------------------------------------------------------------------------------
// Malformed traces
// ---------------------------------------------------------------------------------------------

fs::path corpus_dir() { return fs::path(__FILE__).parent_path().parent_path() / "data" / "malformed"; }

// File -> the exact part of its message: position, field and cause.
const std::map<std::string, std::string>& expected_messages() {
  static const std::map<std::string, std::string> m = {
      {"missing_header.trace",
       "missing_header.trace:2: missing header: the first line must be 'mali-sim-trace 1' (found 'ctx')"},
      {"bad_version.trace",
       "bad_version.trace:2: field 1 (version): unsupported version 2 (this reader supports 1)"},
      {"empty.trace", "empty.trace: missing header: a text trace starts with 'mali-sim-trace 1'"},
      {"unknown_keyword.trace",
       "unknown_keyword.trace:3: field 0 (keyword): unknown keyword 'buffer' (expected ctx, bo, free, "
       "madvise, job, "
       "end or acc)"},
      {"wrong_field_count.trace",
       "wrong_field_count.trace:4: wrong number of fields: expected 'acc JOB CORE +DELTA OP ADDR [SIZE]', "
       "found 4 "
       "fields after 'acc'"},
      {"extra_fields.trace",
       "extra_fields.trace:2: wrong number of fields: expected 'ctx NAME', found 2 fields after 'ctx'"},
      {"bad_op.trace", "bad_op.trace:5: field 4 (op): 'q' is not one of r, w, x, a"},
      {"bad_number.trace", "bad_number.trace:4: field 3 (delta): '1x' is not a decimal number"},
      {"number_overflow.trace",
       "number_overflow.trace:4: field 5 (addr): '0x10000000000000000' is out of range (at most "
       "18446744073709551615)"},
      {"size_suffix_overflow.trace",
       "size_suffix_overflow.trace:3: field 3 (size): '17179869184G' is out of range (at most 2^64-1 bytes)"},
      {"unknown_context.trace", "unknown_context.trace:3: field 1 (context): unknown context 'B'"},
      {"unknown_bo.trace", "unknown_bo.trace:4: field 2 (bo): unknown BO 'nothere' in context 'A'"},
      {"unknown_job.trace",
       "unknown_job.trace:3: field 1 (job): unknown job 'j9' (no 'job' line declares it)"},
      {"redeclared_context.trace",
       "redeclared_context.trace:3: field 1 (name): context 'A' is already declared (at line 2)"},
      {"redeclared_bo.trace",
       "redeclared_bo.trace:4: field 2 (name): BO 'heap' is already declared in context 'A' (at line 3)"},
      {"redeclared_job.trace",
       "redeclared_job.trace:6: field 2 (name): job 'j1' is already declared (at line 3); job names are "
       "unique in a "
       "trace"},
      {"access_after_end.trace", "access_after_end.trace:6: field 1 (job): job 'j1' has ended (at line 5)"},
      {"end_twice.trace", "end_twice.trace:5: field 1 (job): job 'j1' has ended (at line 4)"},
      {"core_not_in_job.trace",
       "core_not_in_job.trace:4: field 2 (core): core 4 is not one of job 'j1''s cores 0-3"},
      {"core_out_of_range_access.trace",
       "core_out_of_range_access.trace:4: field 2 (core): core 64 is out of range 0-63"},
      {"bo_other_context.trace",
       "bo_other_context.trace:6: field 5 (addr): BO 'bbuf' is not in context 'A' (it is in context 'B')"},
      {"offset_outside_bo.trace",
       "offset_outside_bo.trace:5: field 5 (addr): offset 0x10000 is outside BO 'code' of context 'A' (size "
       "0x10000)"},
      {"access_past_bo_end.trace",
       "access_past_bo_end.trace:5: field 5 (addr): 16 bytes at offset 0xfff8 run past the end of BO 'code' "
       "of "
       "context 'A' (size 0x10000)"},
      {"free_busy_bo.trace",
       "free_busy_bo.trace:5: field 2 (bo): BO 'heap' of context 'A' is in use by running job 'j1' (uses=, "
       "begun at "
       "line 4)"},
      {"empty_cores.trace",
       "empty_cores.trace:3: field 3 (cores): empty core list: a job runs on at least one core"},
      {"core_out_of_range.trace", "core_out_of_range.trace:3: field 3 (cores): core 64 is out of range 0-63"},
      {"cores_backwards.trace", "cores_backwards.trace:3: field 3 (cores): range '3-1' runs backwards"},
      {"zero_bo_size.trace", "zero_bo_size.trace:3: field 3 (size): size 0: a BO has at least one byte"},
      {"zero_access_size.trace",
       "zero_access_size.trace:4: field 6 (size): size 0: an access has at least one byte"},
      {"job_never_ends.trace",
       "job_never_ends.trace:3: job 'j1' never ends (no 'end j1' before the end of the trace)"},
      {"bad_flag.trace", "bad_flag.trace:3: field 4 (flags): 'exec' is not one of noexec, heap"},
      {"duplicate_flag.trace", "duplicate_flag.trace:3: field 5 (flags): 'heap' is given twice"},
      {"bad_advice.trace", "bad_advice.trace:4: field 3 (advice): 'maybe' is not one of willneed, dontneed"},
      {"use_after_free.trace",
       "use_after_free.trace:5: field 2 (bo): BO 'heap' of context 'A' was freed at line 4"},
      {"bad_name.trace",
       "bad_name.trace:2: field 1 (name): '9A' is not a valid name (names match [A-Za-z_][A-Za-z0-9_.-]*, at "
       "most "
       "255 characters)"},
      {"missing_plus_delta.trace",
       "missing_plus_delta.trace:4: field 3 (delta): '10' is not +CYCLES (a '+' and a decimal number)"},
      {"duplicate_use.trace", "duplicate_use.trace:4: field 4 (uses): BO 'heap' is listed twice"},
      {"use_other_context.trace",
       "use_other_context.trace:5: field 4 (uses): BO 'bbuf' is not in context 'A' (it is in context 'B')"},
      {"bad_job_type.trace",
       "bad_job_type.trace:3: field 4 (type): 'pixel' is not a job type (compute, vertex, tiler or "
       "fragment)"},
      {"job_type_twice.trace", "job_type_twice.trace:3: field 5 (job): 'type' given twice"},
      {"unknown_job_field.trace",
       "unknown_job_field.trace:3: field 4 (job): expected uses=BO,... or type=TYPE, found 'slot=1'"},
      {"bad_address.trace",
       "bad_address.trace:5: field 5 (addr): 'heap' is neither an address nor BO+OFFSET"},
  };
  return m;
}

TEST(TraceMalformed, EveryCorpusFileGivesItsExpectedMessage) {
  std::set<std::string> files;
  for (const auto& e : fs::directory_iterator(corpus_dir())) {
    if (e.path().extension() == ".trace") files.insert(e.path().filename().string());
  }
  EXPECT_GE(files.size(), 20U);
  for (const auto& [name, expected] : expected_messages()) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(files.count(name) == 1) << "missing from " << corpus_dir();
    const std::string got = first_error(open_trace((corpus_dir() / name).string()));
    EXPECT_TRUE(contains(got, expected)) << "got:      " << got << "\nexpected: " << expected;
  }
  for (const std::string& f : files)
    EXPECT_TRUE(expected_messages().count(f) == 1) << f << " has no expected message";
}

TEST(TraceMalformedBinary, TheTextRulesHoldAndNameTheRecordAndField) {
  // Records no writer would emit, built byte by byte after a valid prefix.
  Bin b;
  b.u8(0x01).name("A").u8(0x05).v(0).name("j1").v(0xf).v(0);  // ctx A; job A j1 cores=0-3
  // acc j1 core 4: not one of the job's cores.
  EXPECT_TRUE(contains(binary_error(Bin(b).u8(0x12).v(0).v(4).v(1).v(0x1000).b),
                       "corrupt.bin: record 3 (acc): field core: core 4 is not one of job 'j1''s cores 0-3"));
  // end j1; acc j1: the job has ended.
  EXPECT_TRUE(contains(binary_error(Bin(b).u8(0x06).v(0).u8(0x12).v(0).v(0).v(1).v(0x1000).b),
                       "corrupt.bin: record 4 (acc): field job: job 'j1' has ended (at record 3)"));
  // BO offset past the end, BO of another context, size 0.
  Bin c;
  c.u8(0x01)
      .name("A")
      .u8(0x01)
      .name("B")
      .u8(0x02)
      .v(1)
      .name("bbuf")
      .v(4096)
      .v(0)
      .u8(0x02)
      .v(0)
      .name("code")
      .v(0x10000)
      .v(0);
  c.u8(0x05).v(0).name("j1").v(1).v(0);
  EXPECT_TRUE(
      contains(binary_error(Bin(c).u8(0x16).v(0).v(0).v(1).v(0).v(0).b),
               "record 6 (acc): field addr: BO 'bbuf' of context 'B' is not in job 'j1''s context 'A'"));
  EXPECT_TRUE(
      contains(binary_error(Bin(c).u8(0x1e).v(0).v(0).v(1).v(1).v(0xfff8).v(16).b),
               "record 6 (acc): field addr: 16 bytes at offset 0xfff8 run past the end of BO 'code' of "
               "context 'A' (size 0x10000)"));
  EXPECT_TRUE(contains(binary_error(Bin(c).u8(0x1a).v(0).v(0).v(1).v(0x1000).v(0).b),
                       "record 6 (acc): field size: size 0: an access has at least one byte"));
  EXPECT_TRUE(contains(binary_error(Bin(c).u8(0x12).v(9).v(0).v(1).v(0x1000).b),
                       "record 6 (acc): field job: no job has id 9 (1 declared)"));
  EXPECT_TRUE(contains(binary_error(Bin(c).u8(0x03).v(7).b),
                       "record 6 (free): field bo: no BO has id 7 (2 declared)"));
  EXPECT_TRUE(
      contains(binary_error(Bin(c).u8(0x05).v(0).name("j2").v(1).v(1).v(0).b),
               "record 6 (job): field uses: BO 'bbuf' of context 'B' is not in the job's context 'A'"));
  EXPECT_TRUE(contains(binary_error(Bin(c).u8(0x05).v(0).name("j2").v(1).v(1000).b),
                       "record 6 (job): field uses: 1000 BOs listed but only 2 are declared"));
  EXPECT_TRUE(contains(binary_error(Bin(c).u8(0x05).v(0).name("j2").v(0).v(0).b),
                       "record 6 (job): field cores: no cores: a job runs on at least one core"));
  EXPECT_TRUE(contains(binary_error(Bin(c).u8(0x02).v(0).name("x").v(4096).v(4).b),
                       "record 6 (bo): field flags: unknown flag bits 0x4 (known: noexec 0x1, heap 0x2)"));
  EXPECT_TRUE(contains(binary_error(Bin(c).u8(0x04).v(0).v(2).b),
                       "record 6 (madvise): field advice: 2 is not 0 (willneed) or 1 (dontneed)"));
  EXPECT_TRUE(contains(binary_error(Bin().u8(0x01).name("9A").b),
                       "corrupt.bin: record 1 (ctx): field name: '9A' is not a valid name"));
  EXPECT_TRUE(contains(binary_error(Bin().u8(0x01).v(0).b),
                       "corrupt.bin: record 1 (ctx): field name: name length 0 is out of range 1-255"));
  // The end-of-trace record (2 records before it) with j1 still running: named at its begin.
  EXPECT_TRUE(
      contains(binary_error(Bin(b).u8(0xff).v(2).b),
               "corrupt.bin: record 2: job 'j1' never ends (no 'end j1' before the end of the trace)"));
}

// A small valid binary trace with every record type, for corrupting.
std::string valid_binary(const TempDir& dir) {
  write_file(dir.file("valid.trace"), kHandWritten);
  EXPECT_TRUE(convert_trace(dir.file("valid.trace"), dir.file("valid.bin"), TraceFormat::Binary).has_value());
  return read_file(dir.file("valid.bin"));
}

TEST(TraceMalformedBinary, EveryTruncationIsAnErrorNeverACleanEnd) {
  TempDir dir;
  const std::string good = valid_binary(dir);
  ASSERT_TRUE(binary_error(good).empty()) << binary_error(good);
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    SCOPED_TRACE(cut);
    const std::string msg = binary_error(good.substr(0, cut));
    EXPECT_TRUE(cut < 9 ? contains(msg, "corrupt.bin: truncated: the file ends inside the header")
                        : contains(msg, "truncated in field") ||
                              contains(msg, "unexpected end of file: the end-of-trace record is missing"))
        << msg;
  }
}

TEST(TraceMalformedBinary, TruncationInsideAnAccessNamesTheRecordAndField) {
  // header, ctx A, job A j1 cores=0, then an access cut inside its address varint.
  const std::string bytes =
      Bin().u8(0x01).name("A").u8(0x05).v(0).name("j1").v(1).v(0).u8(0x12).v(0).v(0).v(1).b +
      std::string("\x80\x80", 2);
  EXPECT_TRUE(contains(binary_error(bytes),
                       "corrupt.bin: record 3 (acc): truncated in field addr (the file ends "
                       "mid-record)"))
      << binary_error(bytes);
}

TEST(TraceMalformedBinary, BadMagicUnsupportedVersionBadTypeAndVarintOverflowAreNamed) {
  TempDir dir;
  const std::string good = valid_binary(dir);
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  EXPECT_TRUE(contains(binary_error(bad_magic), "corrupt.bin: not a mali-sim binary trace (bad magic"));

  std::string version = good;
  version[8] = 3;
  EXPECT_TRUE(contains(binary_error(version),
                       "corrupt.bin: unsupported binary trace version 3 (this reader supports 1 and 2)"));

  std::string bad_type = good;
  bad_type[9] = 0x42;  // the first record's type byte
  EXPECT_TRUE(contains(binary_error(bad_type), "corrupt.bin: record 1: unknown record type 0x42"));

  // Eleven continuation bytes where a name length belongs, then a ten-byte varint with bit 64 set.
  EXPECT_TRUE(contains(binary_error(Bin().u8(0x01).b + std::string(11, '\x80') + "\x01"),
                       "corrupt.bin: record 1 (ctx): field name: varint overflows 64 bits"));
  EXPECT_TRUE(contains(
      binary_error(Bin().u8(0x01).name("A").u8(0x05).v(0).name("j1").v(1).v(0).u8(0x12).v(0).v(0).v(1).b +
                   std::string(9, '\xff') + "\x02"),
      "corrupt.bin: record 3 (acc): field addr: varint overflows 64 bits"));
  EXPECT_TRUE(contains(binary_error(Bin()
                                        .u8(0x01)
                                        .name("A")
                                        .u8(0x05)
                                        .v(0)
                                        .name("j1")
                                        .v(1)
                                        .v(0)
                                        .u8(0x12)
                                        .v(1ULL << 32)
                                        .v(0)
                                        .v(1)
                                        .v(0)
                                        .b),
                       "corrupt.bin: record 3 (acc): field job: no job has id 4294967296"));
}

TEST(TraceMalformedBinary, Version2AccessFieldsAreNamedToo) {
  // header, ctx A, job A j1 cores=0, then an access record of version 2 cut or corrupted.
  const Bin prefix = binary_v2().u8(0x01).name("A").u8(0x05).v(0).name("j1").v(1).v(0);
  // A read with a 4-byte address, cut after two of them; then cut right after the job.
  EXPECT_TRUE(contains(binary_error(Bin(prefix).u8(0xb2).v(0).u8(0).v(1).u8(0).u8(0x10).b),
                       "corrupt.bin: record 3 (acc): truncated in field addr (the file ends mid-record)"));
  EXPECT_TRUE(contains(binary_error(Bin(prefix).u8(0x82).v(0).b),
                       "corrupt.bin: record 3 (acc): truncated in field core (the file ends mid-record)"));
  // The core is one byte, so up to 255: above 63 is the rule's error.
  EXPECT_TRUE(contains(binary_error(Bin(prefix).u8(0x82).v(0).u8(0xff).v(1).u8(0).u8(0x06).v(0).b),
                       "corrupt.bin: record 3 (acc): field core: core 255 is out of range 0-63"));
  EXPECT_TRUE(contains(binary_error(Bin(prefix).u8(0x82).b + std::string(11, '\x80') + "\x01"),
                       "corrupt.bin: record 3 (acc): field job: varint overflows 64 bits"));
  EXPECT_TRUE(contains(binary_error(Bin(prefix).u8(0x82).v(1ULL << 32).u8(0).v(1).u8(0).b),
                       "corrupt.bin: record 3 (acc): field job: no job has id 4294967296"));
  // The same with room to spare after the record (the reader's fast path, then its explanation).
  const std::string pad = Bin().u8(0x06).v(0).b.substr(9) + std::string(100, '\x00');
  EXPECT_TRUE(contains(binary_error(Bin(prefix).u8(0x82).v(0).u8(0x40).v(1).u8(0).b + pad),
                       "corrupt.bin: record 3 (acc): field core: core 64 is out of range 0-63"));
  EXPECT_TRUE(contains(binary_error(Bin(prefix).u8(0x8a).v(0).u8(0).v(1).u8(0).v(0).b + pad),
                       "corrupt.bin: record 3 (acc): field size: size 0: an access has at least one byte"));
}

// Reads every event with next_accesses() runs of the given sizes (cycling) mixed with next(),
// as replay does, and checks they are exactly what next() alone gives, error included.
void expect_batches_match(const std::string& path, const std::vector<std::size_t>& run_sizes) {
  auto plain = open_trace(path);
  auto batched = open_trace(path);
  ASSERT_TRUE(plain && batched);
  std::string plain_error;
  const std::vector<Event> want = read_all(**plain, &plain_error);
  std::vector<AccessRecord> buf(*std::max_element(run_sizes.begin(), run_sizes.end()));
  std::size_t k = 0, runs = 0, in_runs = 0;
  for (;;) {
    const std::size_t n =
        (*batched)->next_accesses(std::span(buf).first(run_sizes[runs++ % run_sizes.size()]));
    for (std::size_t i = 0; i < n; ++i, ++k) {
      ASSERT_LT(k, want.size());
      const Event& e = want[k];
      const AccessRecord& a = buf[i];
      ASSERT_EQ(e.type, EventType::Access) << "event " << k;
      EXPECT_EQ(a.addr, e.addr);
      EXPECT_EQ(a.delta, e.delta);
      EXPECT_EQ(a.line, e.line);
      EXPECT_EQ(a.job, e.job);
      EXPECT_EQ(a.bo, e.bo);
      EXPECT_EQ(a.size, e.size);
      EXPECT_EQ(a.core, e.core);
      EXPECT_EQ(a.op, e.op);
      EXPECT_EQ(a.addr_kind, e.addr_kind);
    }
    in_runs += n;
    if (n != 0) continue;
    Event ev;
    if (!(*batched)->next(ev)) break;
    ASSERT_LT(k, want.size());
    ASSERT_EQ(diff(ev, want[k]), "") << "event " << k;
    EXPECT_EQ(ev.line, want[k].line);
    ++k;
  }
  EXPECT_EQ(k, want.size());
  EXPECT_EQ((*batched)->error() ? "" : (*batched)->error().error().message, plain_error);
  EXPECT_EQ((*batched)->next_accesses(buf), 0U) << "a reader that stopped stays stopped";
  if (fs::file_size(path) > 4096) {
    EXPECT_GT(in_runs, 0U) << "both readers hand out runs";
  }
}

TEST(TraceBatch, RunsOfAccessesAreTheEventsNextGivesInTheSameOrder) {
  TempDir dir;
  for (auto [name, fmt] :
       {std::pair{"r.trace", TraceFormat::Text}, std::pair{"r.bin", TraceFormat::Binary}}) {
    auto w = create_trace(dir.file(name), fmt);
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE(write_random(**w, 11, 60'000));  // several 64 KiB windows
    ASSERT_TRUE((*w)->finish());
    SCOPED_TRACE(name);
    expect_batches_match(dir.file(name), {1});
    expect_batches_match(dir.file(name), {256});
    expect_batches_match(dir.file(name), {7, 1, 300, 2, 64});
  }
  // Version 1, hand-made: the same events.
  write_file(dir.file("v1.bin"), Bin()
                                     .u8(0x01)
                                     .name("A")
                                     .u8(0x05)
                                     .v(0)
                                     .name("j1")
                                     .v(3)
                                     .v(0)
                                     .u8(0x12)
                                     .v(0)
                                     .v(1)
                                     .v(5)
                                     .v(0x123456789)
                                     .u8(0x1b)
                                     .v(0)
                                     .v(0)
                                     .v(1ULL << 60)
                                     .v(1)
                                     .v(8)
                                     .u8(0x06)
                                     .v(0)
                                     .u8(0xff)
                                     .v(5)
                                     .b);
  expect_batches_match(dir.file("v1.bin"), {1});
}

TEST(TraceBatch, AnErrorAmongAccessesEndsTheRunAndNextReportsIt) {
  // 2000 good accesses (so that runs are under way), a bad one (core 5 is not the job's), more.
  TempDir dir;
  std::string text = "mali-sim-trace 1\nctx A\nbo A buf 64K\njob A j cores=0-1 uses=buf\n";
  for (int i = 0; i < 2000; ++i) text += fmt_acc(i % 2, i * 8);
  text += "acc j 5 +1 r buf+0x10\n";
  for (int i = 0; i < 100; ++i) text += fmt_acc(0, i);
  text += "end j\n";
  write_file(dir.file("bad.trace"), text);
  ASSERT_FALSE(convert_trace(dir.file("bad.trace"), dir.file("bad.bin"), TraceFormat::Binary).has_value());
  // The binary form of the same, with the bad core patched in after conversion of a good one.
  std::string good = text;
  good.replace(good.find("acc j 5 "), 8, "acc j 1 ");
  write_file(dir.file("good.trace"), good);
  ASSERT_TRUE(convert_trace(dir.file("good.trace"), dir.file("good.bin"), TraceFormat::Binary).has_value());
  std::string bin = read_file(dir.file("good.bin"));
  // Record 2004 (after ctx, bo, job and 2000 accesses) is the bad access.
  const std::size_t at = nth_record_offset(bin, 2004);
  ASSERT_EQ(static_cast<unsigned char>(bin[at]) & 0x80, 0x80);
  ASSERT_EQ(bin[at + 2], 1);  // its core byte (job id 0 is one byte)
  bin[at + 2] = 5;
  write_file(dir.file("bad.bin"), bin);
  for (const char* name : {"bad.trace", "bad.bin"}) {
    SCOPED_TRACE(name);
    expect_batches_match(dir.file(name), {256});
    expect_batches_match(dir.file(name), {3});
    EXPECT_TRUE(
        contains(first_error(open_trace(dir.file(name))), "core 5 is not one of job 'j''s cores 0-1"));
  }
}

// The text reader's runs scan access lines in their plain form and leave every other line to
// next(): lines in every form the grammar allows, and malformed ones, read the same either way.
TEST(TraceBatch, TextLinesInEveryFormReadTheSameInRunsAsOneByOne) {
  TempDir dir;
  const std::string head = "mali-sim-trace 1\nctx A\nbo A buf 64K\njob A j cores=0-1 uses=buf\n";
  std::string plain;  // 300 plain lines: runs are under way before and after each variant
  for (int i = 0; i < 300; ++i) plain += fmt_acc(i % 2, i * 8);
  const std::vector<std::string> valid = {
      "acc\tj\t1\t+2\tw\tbuf+0X1F\t8",
      "   acc j 0 +3 r buf+0x20 4   # a comment after the fields",
      "acc j 0 +3 r buf+0x20#comment",
      "acc j 1 +0004 a buf+0016\r",
      "",
      "# a comment line",
      "acc j 0 +9999999999999999999 r buf+0x0",   // 19 digits: the longest the scan takes
      "acc j 0 +18446744073709551615 r buf+0x0",  // 20 digits: left to next()
      "acc j 0 +1 x 0x10000",
      "acc j 0 +1 r 0x00000000000010000",  // 17 hex digits
      "acc j 0 +1 r buf+0xffff 1",
      "acc j 1 +1 w buf+0x100 0x10",
      "acc j 1 +1 w 0x100 4294967295",
  };
  std::string all = head;
  for (const std::string& v : valid) all += plain + v + "\n";
  all += plain + "end j\n";
  write_file(dir.file("forms.trace"), all);
  {
    SCOPED_TRACE("valid forms");
    expect_batches_match(dir.file("forms.trace"), {256});
    expect_batches_match(dir.file("forms.trace"), {5, 1});
    EXPECT_EQ(first_error(open_trace(dir.file("forms.trace"))), "");
  }
  // Each malformed line ends the trace with next()'s error, batched or not.
  const std::vector<std::pair<std::string, std::string>> malformed = {
      {"acc j 0 +1 r buf+0x10 0x100000000", "out of range"},
      {"acc j 0 +1 r buf+0x10 4 extra", "wrong number of fields"},
      {"acc j 0 +1 r buf+", "is not a number"},
      {"acc j 0 +1 r +0x10", "unknown BO ''"},
      {"acc j 0 1 r buf+0", "is not +CYCLES"},
      {"acc j 0 + r buf+0", "is not a decimal number"},
      {"acc k 0 +1 r buf+0", "unknown job 'k'"},
      {"acc j 0 +1 rw buf+0", "is not one of r, w, x, a"},
      {"acc j 0 +1 r nobo+0", "unknown BO 'nobo'"},
      {"acc j 0 +1 r buf+0x10+5", "is not a number"},
      {"acc j 0x1 +1 r buf+0", "is not a decimal number"},
      {"acc j 0 +1 r buf+0x", "is not a number"},
      {"acc j 0 +1 r buf+0x10000", "outside"},
      {"acc j 5 +1 r buf+0", "core 5 is not one of job 'j''s cores 0-1"},
      {"acc# j 0 +1 r buf+0", "wrong number of fields"},
  };
  for (const auto& [line, cause] : malformed) {
    SCOPED_TRACE(line);
    write_file(dir.file("bad.trace"), head + plain + line + "\n" + plain + "end j\n");
    expect_batches_match(dir.file("bad.trace"), {256});
    const std::string error = first_error(open_trace(dir.file("bad.trace")));
    EXPECT_TRUE(contains(error, "bad.trace:305:")) << error;
    EXPECT_TRUE(contains(error, cause)) << error;
  }
}

TEST(TraceMalformedBinary, EndRecordMustCountTheRecordsAndBeLast) {
  TempDir dir;
  const std::string good = valid_binary(dir);
  EXPECT_TRUE(
      contains(binary_error(good + "x"), "corrupt.bin: record 20: data after the end-of-trace record"));
  std::string miscounted = good;
  miscounted.back() = static_cast<char>(miscounted.back() + 1);
  EXPECT_TRUE(contains(
      binary_error(miscounted),
      "corrupt.bin: record 19 (end-of-trace): field count: 18 records precede this one, but it says 19"));
}

TEST(TraceMalformed, ReaderStopsAtTheFirstErrorAndStaysStopped) {
  auto r = text_reader("mali-sim-trace 1\nctx A\nctx A\nctx B\n", "stop.trace");
  ASSERT_TRUE(r);
  Event ev;
  EXPECT_TRUE(r->next(ev));
  EXPECT_FALSE(r->next(ev));
  EXPECT_EQ(r->error().error().code, Errc::kInvalidArgument);
  const std::string msg = r->error().error().message;
  EXPECT_FALSE(r->next(ev));
  EXPECT_EQ(r->error().error().message, msg);
  EXPECT_EQ(r->names().contexts.size(), 1U);  // nothing after the error was read
}

// ---------------------------------------------------------------------------------------------
// Files and writers
// ---------------------------------------------------------------------------------------------

TEST(TraceFiles, MissingFileNamesTheFileAndTheCause) {
  auto r = open_trace("/nonexistent-dir/x.trace");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "cannot open '/nonexistent-dir/x.trace': No such file or directory");
  EXPECT_EQ(r.error().code, Errc::kNotFound);
  auto w = create_trace("/nonexistent-dir/x.trace", TraceFormat::Text);
  ASSERT_FALSE(w.has_value());
  EXPECT_EQ(w.error().message, "cannot create '/nonexistent-dir/x.trace': No such file or directory");
}

TEST(TraceFiles, ADirectoryIsNotATrace) {
  TempDir dir;
  fs::create_directories(dir.file("d"));
  EXPECT_EQ(first_error(open_trace(dir.file("d"))), "cannot read '" + dir.file("d") + "': Is a directory");
}

TEST(TraceFiles, OpenDetectsTheFormatByContent) {
  TempDir dir;
  write_file(dir.file("in.trace"), kHandWritten);
  // A binary trace named .trace and a text trace named .bin: names do not matter.
  ASSERT_TRUE(convert_trace(dir.file("in.trace"), dir.file("b.trace"), TraceFormat::Binary).has_value());
  ASSERT_TRUE(convert_trace(dir.file("in.trace"), dir.file("t.bin"), TraceFormat::Text).has_value());
  EXPECT_EQ(read_file(dir.file("b.trace")).substr(0, 8), std::string("MSIMTRC\0", 8));
  expect_same_events(dir.file("b.trace"), dir.file("t.bin"));
}

TEST(TraceWriterTest, InvalidNamesAndUnknownIdsAreRefusedAndWriteNothing) {
  TempDir dir;
  const std::string path = dir.file("w.trace");
  for (TraceFormat fmt : {TraceFormat::Text, TraceFormat::Binary}) {
    SCOPED_TRACE(fmt == TraceFormat::Text ? "text" : "binary");
    auto w = create_trace(path, fmt);
    ASSERT_TRUE(w.has_value());
    TraceWriter& t = **w;
    auto refused = [&](const auto& r, const std::string& part) {
      ASSERT_FALSE(r.has_value());
      EXPECT_TRUE(contains(r.error().message, part)) << r.error().message;
      EXPECT_TRUE(contains(r.error().message, path)) << r.error().message;
    };
    refused(t.context("9bad"), "ctx: field name: '9bad' is not a valid name");
    refused(t.context("has space"), "is not a valid name");
    refused(t.context(""), "is not a valid name");
    refused(t.context(std::string(256, 'a')), "is not a valid name");
    const std::uint32_t a = *t.context("A");
    refused(t.context("A"), "context 'A' is already declared (at event 1)");
    refused(t.bo_create(7, "x", 4096, 0), "bo: field context: no context has id 7 (1 declared)");
    refused(t.bo_create(a, "x", 0, 0), "size 0");
    refused(t.bo_create(a, "x", 4096, 8), "unknown flag bits 0x8");
    const std::uint32_t heap = *t.bo_create(a, "heap", 2 << 20, bo_flags::kHeap | bo_flags::kNoExec);
    refused(t.bo_free(99), "free: field bo: no BO has id 99");
    refused(t.madvise(99, Madvise::DontNeed), "madvise: field bo: no BO has id 99");
    const std::uint32_t bad_uses[] = {heap, 5};
    refused(t.job_begin(a, "j1", 1, bad_uses), "job: field uses: no BO has id 5");
    refused(t.job_begin(a, "j1", 0, {}), "no cores");
    const std::uint32_t uses[] = {heap};
    const std::uint32_t j1 = *t.job_begin(a, "j1", 0b0110, uses);
    refused(t.access(j1, 0, 1, Access::Read, AddrKind::Absolute, kNoId, 0x1000, 4),
            "acc: field core: core 0 is not one of job 'j1''s cores 1-2");
    refused(t.access(j1, 64, 1, Access::Read, AddrKind::Absolute, kNoId, 0x1000, 4),
            "core 64 is out of range 0-63");
    refused(t.access(j1, 1, 1, Access::Read, AddrKind::Absolute, heap, 0x1000, 4),
            "an absolute address takes no BO (got BO id 0)");
    refused(t.access(j1, 1, 1, Access::Read, AddrKind::BoOffset, heap, 2 << 20, 4), "is outside BO 'heap'");
    refused(t.access(j1, 1, 1, Access::Read, AddrKind::BoOffset, heap, 0, 0), "size 0");
    refused(t.access(9, 1, 1, Access::Read, AddrKind::BoOffset, heap, 0, 4),
            "acc: field job: no job has id 9");
    refused(t.bo_free(heap), "is in use by running job 'j1'");
    refused(t.job_end(5), "end: field job: no job has id 5");
    ASSERT_TRUE(t.access(j1, 2, 1, Access::Write, AddrKind::BoOffset, heap, 0x100, 8));
    refused(t.finish(), "finish: job 'j1' never ends");
    ASSERT_TRUE(t.job_end(j1));
    refused(t.job_end(j1), "job 'j1' has ended (at event 5)");
    refused(t.access(j1, 2, 1, Access::Write, AddrKind::BoOffset, heap, 0x100, 8), "job 'j1' has ended");
    ASSERT_TRUE(t.bo_free(heap));
    refused(t.madvise(heap, Madvise::WillNeed), "BO 'heap' of context 'A' was freed at event 6");
    ASSERT_TRUE(t.finish());
    refused(t.context("late"), "the writer has finished");
    // What was refused left no trace: the file reads back as exactly the accepted events.
    auto r = open_trace(path);
    ASSERT_TRUE(r.has_value());
    std::string error;
    EXPECT_EQ(read_all(**r, &error).size(), 6U);
    EXPECT_EQ(error, "");
  }
}

TEST(TraceWriterTest, AbandonedWriterLeavesNoFileAndKeepsAnOldOne) {
  TempDir dir;
  {
    auto w = create_trace(dir.file("new.bin"), TraceFormat::Binary);
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE(write_random(**w, 3, 50'000));  // more than one buffer, so bytes reached the disk
  }
  EXPECT_TRUE(dir.entries().empty()) << dir.entries().front();

  write_file(dir.file("old.trace"), "old contents");
  {
    auto w = create_trace(dir.file("old.trace"), TraceFormat::Text);
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE((*w)->context("A").has_value());
  }
  EXPECT_EQ(read_file(dir.file("old.trace")), "old contents");
  // A refused finish() (a job still running) is no finish either.
  {
    auto w = create_trace(dir.file("old.trace"), TraceFormat::Binary);
    ASSERT_TRUE(w.has_value());
    const std::uint32_t a = *(*w)->context("A");
    ASSERT_TRUE((*w)->job_begin(a, "j1", 1).has_value());
    EXPECT_FALSE((*w)->finish());
  }
  EXPECT_EQ(read_file(dir.file("old.trace")), "old contents");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"old.trace"});
}

TEST(TraceConvert, MalformedInputLeavesNoOutputAndKeepsAnExistingOne) {
  TempDir dir;
  const std::string in = (corpus_dir() / "access_after_end.trace").string();
  auto r = convert_trace(in, dir.file("out.bin"), TraceFormat::Binary);
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(contains(r.error().message, "access_after_end.trace:6: field 1 (job): job 'j1' has ended"))
      << r.error().message;
  EXPECT_TRUE(dir.entries().empty());

  write_file(dir.file("out.trace"), "precious");
  ASSERT_FALSE(convert_trace(in, dir.file("out.trace"), TraceFormat::Text).has_value());
  EXPECT_EQ(read_file(dir.file("out.trace")), "precious");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.trace"});

  auto missing = convert_trace(dir.file("none.trace"), dir.file("x.bin"), TraceFormat::Binary);
  ASSERT_FALSE(missing.has_value());
  EXPECT_TRUE(contains(missing.error().message, "none.trace': No such file or directory"));
}

}  // namespace
}  // namespace mali_sim::trace
