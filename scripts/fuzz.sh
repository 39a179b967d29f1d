#!/usr/bin/env bash
# Builds the libFuzzer harnesses (the 'fuzz' preset: clang, ASan + UBSan) and runs each for a
# bounded time; any crash, leak, hang or sanitizer report fails the script and leaves the input
# that caused it in build/fuzz/findings/. docs/fuzzing.md says what each harness covers.
#   bash scripts/fuzz.sh [SECONDS_PER_HARNESS=60] [HARNESS...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz_text_reader fuzz_binary_reader fuzz_run fuzz_mmio)
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is needed (apt-get install clang)" >&2; exit 1; }
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)"
out=build/fuzz
mkdir -p "$out/findings"
seeds() {  # the seed corpus of a harness: the examples, the malformed corpus, committed seeds
  case $1 in
    fuzz_text_reader | fuzz_run) echo examples/traces tests/data/malformed tests/data/hostile fuzz/seeds/binary ;;
    fuzz_binary_reader) echo fuzz/seeds/binary tests/data/hostile ;;
    fuzz_mmio) echo fuzz/seeds/mmio ;;
  esac
}
status=0
for h in "${harnesses[@]}"; do
  corpus=$out/corpus/$h
  mkdir -p "$corpus"
  echo "== $h: ${seconds}s"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: memory without bound is a finding.
  # -seed: the same inputs in the same order every run (FUZZ_SEED=0 lets libFuzzer choose).
  # shellcheck disable=SC2046
  if ! "$out/fuzz/$h" -max_total_time="$seconds" -seed="${FUZZ_SEED:-1}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$out/findings/$h-" "$corpus" $(seeds "$h") 2>"$out/$h.log"; then
    echo "fuzz.sh: $h found a problem; the input is in $out/findings/, the log in $out/$h.log" >&2
    tail -40 "$out/$h.log" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|cov:" "$out/$h.log" | tail -3
done
exit $status
