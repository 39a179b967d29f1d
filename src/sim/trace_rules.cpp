// The rules of docs/trace-format.md as TraceState checks them, and the names and values they use.
#include "sim/trace_rules.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

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

std::string_view trace_job_type_name(JobType t) noexcept {
  switch (t) {
    case JobType::Compute: return "compute";
    case JobType::Vertex: return "vertex";
    case JobType::Tiler: return "tiler";
    case JobType::Fragment: return "fragment";
    default: return "?";
  }
}

std::optional<JobType> trace_job_type(std::string_view word) noexcept {
  for (JobType t : {JobType::Compute, JobType::Vertex, JobType::Tiler, JobType::Fragment}) {
    if (word == trace_job_type_name(t)) return t;
  }
  return std::nullopt;
}

bool is_trace_job_type(JobType t) noexcept { return trace_job_type_name(t) != "?"; }

Problem TraceState::job_begin(std::uint32_t ctx, std::string_view name, std::uint64_t cores,
                              std::span<const std::uint32_t> uses, std::uint32_t& id, JobType type) {
  if (Problem p = check_ctx(ctx, fld::kJobCtx)) return p;
  if (!is_trace_job_type(type)) {
    return field_error(fld::kJobType, "type",
                       fmt::format("job type {} is not one of compute, vertex, tiler, fragment",
                                   static_cast<unsigned>(type)));
  }
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

}  // namespace detail

}  // namespace mali_sim::trace
