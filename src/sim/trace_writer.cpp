// What the text and binary writers share: the messages of the events they refuse.
#include <fmt/format.h>

#include "sim/trace_forms.hpp"

namespace mali_sim::trace::detail {

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

}  // namespace mali_sim::trace::detail
