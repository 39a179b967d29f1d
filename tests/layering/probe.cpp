// A source file of one layer that includes one header, compiled by tests/CMakeLists.txt with that
// layer's include view (src/CMakeLists.txt). The layering tests build it for headers the layer may
// see (it must compile) and for headers of layers it must not see (it must fail to compile).
#include MALI_SIM_PROBE_HEADER

int mali_sim_layering_probe() { return 0; }
