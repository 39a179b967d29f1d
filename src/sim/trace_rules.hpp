// The rules every trace reader and writer enforces, whatever the form (docs/trace-format.md,
// "Rules"): names, field numbers for messages, and TraceState, the little state a stream needs to
// check each event against what came before it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mali_sim/sim/trace.hpp"

namespace mali_sim::trace::detail {

inline constexpr std::size_t kMaxNameLength = 255;
inline constexpr unsigned kMaxCores = 64;
inline constexpr std::uint32_t kDefaultAccessSize = 4;

// Empty when `name` is a valid name, else why not.
std::string name_problem(std::string_view name);

// "64M", "4K", "1G" when exact, else hex bytes: the canonical BO size.
std::string format_bytes(std::uint64_t bytes);
// "0-3", "0,2,5-7": the canonical core list (runs of two or more become ranges).
std::string format_cores(std::uint64_t cores);

// Text field numbers (the keyword is field 0). Binary records name the same fields, so a rule
// reports one FieldError that each form prints its own way.
namespace fld {
inline constexpr unsigned kCtxName = 1;
inline constexpr unsigned kBoCtx = 1, kBoName = 2, kBoSize = 3, kBoFlags = 4;
inline constexpr unsigned kFreeCtx = 1, kFreeBo = 2;
inline constexpr unsigned kMadvCtx = 1, kMadvBo = 2, kMadvAdvice = 3;
inline constexpr unsigned kJobCtx = 1, kJobName = 2, kJobCores = 3, kJobUses = 4, kJobType = 5;
inline constexpr unsigned kEndJob = 1;
inline constexpr unsigned kAccJob = 1, kAccCore = 2, kAccDelta = 3, kAccOp = 4, kAccAddr = 5, kAccSize = 6;
}  // namespace fld

// A job's type as the trace forms name it: "compute", "vertex", "tiler", "fragment"; a trace job
// is one of these shader jobs. trace_job_type() parses the word (nullopt for anything else).
std::string_view trace_job_type_name(JobType t) noexcept;
std::optional<JobType> trace_job_type(std::string_view word) noexcept;
bool is_trace_job_type(JobType t) noexcept;

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
                    std::span<const std::uint32_t> uses, std::uint32_t& id, JobType type = JobType::Compute);
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

}  // namespace mali_sim::trace::detail
