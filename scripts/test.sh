#!/usr/bin/env bash
# Build mali-sim and run its whole test suite with CTest. Exits non-zero on any failure.
#
# usage: bash scripts/test.sh
# env:   MALI_SIM_PRESET=release|debug|asan   (default release) the CMake preset to use
#        MALI_SIM_WERROR=ON                    treat compiler warnings as errors
set -euo pipefail
cd "$(dirname "$0")/.."

preset=${MALI_SIM_PRESET:-release}
configure_args=()
if [ "${MALI_SIM_WERROR:-OFF}" = ON ]; then
  configure_args+=(-DMALI_SIM_WARNINGS_AS_ERRORS=ON)
else
  # The cache remembers -D values: switch -Werror off again after a CI-style run.
  configure_args+=(-DMALI_SIM_WARNINGS_AS_ERRORS=OFF)
fi

bash scripts/install-deps.sh

echo "== configure ($preset${MALI_SIM_WERROR:+, MALI_SIM_WERROR=$MALI_SIM_WERROR})"
cmake --preset "$preset" "${configure_args[@]}" >/dev/null
echo "== build ($preset)"
cmake --build --preset "$preset" -j2
echo "== test ($preset)"
ctest --preset "$preset" -j2
