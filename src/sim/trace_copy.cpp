// TraceWriter::copy: re-emit an event read from another trace, mapping its ids to the writer's.
#include <fmt/format.h>

#include "mali_sim/sim/trace.hpp"

namespace mali_sim::trace {

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
      Result<std::uint32_t> id = job_begin(*ctx, names.jobs[ev.job], ev.cores, copy_uses_, ev.job_type);
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

}  // namespace mali_sim::trace
