#!/usr/bin/env bash
# The libFuzzer targets (tests/fuzz, built by `make fuzz` with clang 14) for a bounded time:
# first every input that once crashed them (tests/fuzz/regressions, run once each), then each
# target mutating its corpus (seeded from tests/fuzz/seeds, kept in bench/out/fuzz so later runs
# start where this one stopped) for FUZZ_SECONDS.  A crash leaves its input in bench/out/fuzz
# (crash-*) and makes the script fail: fix the code, then copy the input to
# tests/fuzz/regressions and add its case to tests/unit/test_sparse.c or test_options.c.
#
#   bench/fuzz.sh                    # 60 s per target
#   FUZZ_SECONDS=600 bench/fuzz.sh   # longer
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
OUT=$HERE/out/fuzz
SECONDS_EACH=${FUZZ_SECONDS:-60}
cd "$ROOT"
make -s fuzz || { echo "fuzz.sh: make fuzz failed (needs clang and libclang-rt-14-dev: tools/setup)"; exit 1; }
status=0
for target in options sparse; do
  bin=tests/fuzz/fuzz_$target
  mkdir -p "$OUT/$target"
  cp -n tests/fuzz/seeds/$target/* "$OUT/$target/"
  regressions=(tests/fuzz/regressions/$target-*)
  if [ -e "${regressions[0]}" ]; then
    if "$bin" "${regressions[@]}" > "$OUT/$target.regressions.log" 2>&1; then
      echo "fuzz_$target: ${#regressions[@]} regression input(s) pass"
    else
      echo "fuzz_$target: a regression input fails again:"; tail -20 "$OUT/$target.regressions.log"; status=1
    fi
  fi
  "$bin" -max_total_time="$SECONDS_EACH" -close_fd_mask=1 -artifact_prefix="$OUT/crash-$target-" \
    "$OUT/$target" > "$OUT/$target.log" 2>&1
  rc=$?
  runs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1 runs in \2 s/p' "$OUT/$target.log")
  if [ $rc -eq 0 ]; then
    echo "fuzz_$target: no crash, ${runs:-?}, corpus $(ls "$OUT/$target" | wc -l) inputs"
  else
    echo "fuzz_$target: CRASH (exit $rc); input in $OUT/crash-$target-*"; grep -E "ERROR|SUMMARY|runtime error" "$OUT/$target.log" | head -5
    status=1
  fi
done
exit $status
