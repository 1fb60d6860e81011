#!/usr/bin/env bash
# What --checkpoint costs: the time of one checkpoint write against the time of a pass over A,
# and the overhead that gives at the default interval (--checkpoint-every 600), for
# `prsvd svd -k 100 -q 1` of a 100000 x 4000 float64 matrix at 2 ranks: the runs of
# `bench/bench.py checkpoint` (see bench/README.md), which then writes the section of
# bench/RESULTS.md from bench/out/ckpt/ (scratch, gitignored; bench/report.py checkpoint).
#
#   bench/bench.py checkpoint        # about 3 minutes on 2 cores (plus writing the 3.2 GB matrix once)
#   REPEAT=3 EVERY=2 RANKS=2         # runs of each kind (interleaved), seconds between saves in the
#                                    # saving runs, ranks (defaults)
#   ROWS=20000 COLS=500 K=20         # another size (--quick)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
OUT=$HERE/out
PY=/usr/bin/python3
PRSVD=$ROOT/prsvd
REPEAT=${REPEAT:-3}
EVERY=${EVERY:-2}
RANKS=${RANKS:-2}
ROWS=${ROWS:-100000} COLS=${COLS:-4000} K=${K:-100}
[ -x "$PRSVD" ] || { echo "checkpoint.sh: $PRSVD not found; build prsvd first" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
MPIRUN=(mpirun --oversubscribe -n "$RANKS" -x OPENBLAS_NUM_THREADS)
mkdir -p "$OUT/ckpt"
A=$OUT/b.h5  # the matrix of bench/run.sh's large case (same name and spectrum: one file serves both)
OUT=$OUT/ckpt
. "$HERE/lib.sh"
RUNS=$OUT/results.jsonl
: > "$RUNS"
[ "$ROWS.$COLS" = 100000.4000 ] || A=$OUT/a-${ROWS}x$COLS.h5
if ! "$PRSVD" info "$A:/A" --json 2>/dev/null | grep -q "\"rows\":$ROWS"; then
  echo "== prsvd gen $A: $ROWS x $COLS" >&2
  "${MPIRUN[@]}" "$PRSVD" gen "$A:/A" --rows $ROWS --cols $COLS --spectrum poly --decay 1 --force --quiet
  sync
fi

export BENCH_UPTIME_START=$(uptime)
# interleaved, so that changes in background load fall on every kind alike:
#   plain   no checkpoint
#   votes   --checkpoint --checkpoint-every 0: the per-panel vote (one allreduce), no save
#   saves   --checkpoint --checkpoint-every $EVERY: several saves a run
for ((i = 1; i <= REPEAT; i++)); do
  for kind in plain votes saves; do
    ck=$OUT/state.h5
    rm -f "$ck"
    extra=()
    [ $kind = votes ] && extra=(--checkpoint "$ck" --checkpoint-every 0)
    [ $kind = saves ] && extra=(--checkpoint "$ck" --checkpoint-every "$EVERY")
    echo "== [$i/$REPEAT] $kind: mpirun -n $RANKS prsvd svd $(basename "$A"):/A -k $K -q 1 ${extra[*]}" >&2
    load=$(cut -d' ' -f1 /proc/loadavg)
    "${MPIRUN[@]}" "$PRSVD" svd "$A:/A" -k $K -q 1 -o "$OUT/out.h5" --force --json "${extra[@]}" \
      > "$OUT/run.json"
    "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(json.dumps({"kind": sys.argv[2], "load1": float(sys.argv[3]), "elapsed_seconds": d["elapsed_seconds"], "passes": d["passes"], "phases": d["phases"]}))' \
      "$OUT/run.json" $kind "$load" >> "$RUNS"
  done
done
# the size of one checkpoint file: a run stopped by its checkpoint after its first panel (exit 99)
rm -f "$OUT/state.h5"
PRSVD_TEST_STOP_AT_STEP=1 "${MPIRUN[@]}" -x PRSVD_TEST_STOP_AT_STEP "$PRSVD" svd "$A:/A" -k $K -q 1 \
  -o "$OUT/out.h5" --force --quiet --checkpoint "$OUT/state.h5" 2>/dev/null || true
export BENCH_CHECKPOINT_BYTES=$(stat -c %s "$OUT/state.h5" 2>/dev/null || echo 0)
export BENCH_UPTIME_END=$(uptime) BENCH_RANKS=$RANKS BENCH_EVERY=$EVERY BENCH_REPEAT=$REPEAT
export BENCH_GIT_HEAD=$(git -C "$ROOT" log -1 --format='%h %s' 2>/dev/null || echo unknown)
export BENCH_SHAPE="$ROWS x $COLS, k = $K" BENCH_MATRIX_NOTE="poly spectrum, in the page cache"
[ "$ROWS.$COLS" = 100000.4000 ] \
  && BENCH_MATRIX_NOTE="bench/run.sh's large matrix: poly spectrum, 3.2 GB, in the page cache"
save_settings
