#!/usr/bin/env bash
# SIGINT in the middle of `mali-sim gen` leaves neither the output nor its temporary behind.
# Usage: sigint_leaves_no_temporary.sh MALI_SIM OUTPUT_DIR
set -u
M=$1
dir=$2/sigint
rm -rf "$dir" && mkdir -p "$dir"
"$M" gen streaming -o "$dir/big.bin" --binary --accesses 400000000 >/dev/null 2>&1 &
pid=$!
# Wait until the temporary exists (the generator is writing), then interrupt it.
for _ in $(seq 1 200); do
  compgen -G "$dir/big.bin.tmp-*" >/dev/null && break
  sleep 0.05
done
compgen -G "$dir/big.bin.tmp-*" >/dev/null || { echo "the generator never started writing"; kill "$pid"; exit 1; }
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 130 ] || { echo "exit status $rc, expected 130 (killed by SIGINT)"; exit 1; }
if compgen -G "$dir/*" >/dev/null; then
  echo "left behind:"; ls -la "$dir"; exit 1
fi
echo "interrupted with status 130, nothing left behind"
