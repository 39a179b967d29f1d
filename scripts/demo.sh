#!/usr/bin/env bash
# Build mali-sim (release preset) and run its main job. Extra arguments go to the program.
#
# usage: bash scripts/demo.sh [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== configure + build (release)"
cmake --preset release >/dev/null
cmake --build --preset release

# ---------------------------------------------------------------------------------------------
# MAIN JOB: the program the demo runs. Swap this line when the trace runner lands.
main_job=(build/release/examples/pagetable_demo)
# ---------------------------------------------------------------------------------------------

echo "== run: ${main_job[*]} $*"
exec "${main_job[@]}" "$@"
