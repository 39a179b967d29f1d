// Trace writers write through an OutputFile (mali_sim/output_file.hpp): whole or not at all, links
// followed, FIFOs and devices written directly, temporaries removed on SIGINT/SIGTERM.
#pragma once

#include "mali_sim/output_file.hpp"

namespace mali_sim::trace::detail {

using AtomicFile = mali_sim::OutputFile;

}  // namespace mali_sim::trace::detail
