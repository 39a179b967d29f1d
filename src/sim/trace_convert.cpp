// convert_trace: any trace to either form, whole or not at all.
#include <fmt/format.h>
#include "mali_sim/output_file.hpp"

#include "mali_sim/sim/trace.hpp"

namespace mali_sim::trace {

Result<std::uint64_t> convert_trace(const std::string& in, const std::string& out, TraceFormat format) {
  if (same_file(in, out))
    return make_error(
        Errc::kInvalidArgument,
        fmt::format("'{}' is the trace being read: refusing to write the conversion over it", out));
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
