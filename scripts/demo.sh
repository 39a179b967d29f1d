#!/usr/bin/env bash
# Build mali-sim (release preset) and run its main job: the heap-growth example trace on the
# default GPU preset and grow policy, printing the run's summary. Extra arguments go to
# `mali-sim run` (e.g. --policy pages:64, --gpu t860, --json out.json).
#
# usage: bash scripts/demo.sh [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== configure + build (release): the command line only, what the demo runs"
cmake --preset release >/dev/null
cmake --build --preset release --target mali-sim

# ---------------------------------------------------------------------------------------------
# MAIN JOB: the program the demo runs.
main_job=(build/release/tools/mali-sim run examples/traces/heap-growth.trace)
# ---------------------------------------------------------------------------------------------

echo "== run: ${main_job[*]} $*"
exec "${main_job[@]}" "$@"
