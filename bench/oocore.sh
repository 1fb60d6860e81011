#!/usr/bin/env bash
# The out-of-core proof (issue 4): a float64 matrix larger than this machine's RAM, written by
# `prsvd gen`, decomposed with --memory 1G under a hard memory limit of 3 GiB, and the same
# run on a small matrix of the same spectrum, whose accuracy it must match: the runs of
# `bench/bench.py oocore`, which then writes time, per-pass read rate, peak RSS and accuracy
# as its section of bench/RESULTS.md (bench/report.py oocore).  Heavy disk I/O: it writes the
# big file once (35 GB by default), reads it q + 2 times, and deletes it.
#
#   bench/bench.py oocore              # ROWS=1100000 COLS=4000 (32.8 GiB) K=20 P=10 Q=2
#   SMALL_ROWS=40000                   # the small matrix: same columns, so the same sigma_j
#   LIMIT=3G MEMORY=1G                 # the job's memory limit; prsvd's --memory
#   KEEP=1                             # keep the big file (default: deleted at the end)
#
# The limit: a cgroup through `systemd-run --scope -p MemoryMax=$LIMIT` where systemd runs;
# otherwise `prlimit --as=$LIMIT` on the job, which runs as one MPI singleton process (plus
# the small orted Open MPI starts beside it, under the same limit): each process's address
# space, and so its resident memory, is capped, and memwatch.py samples the sum.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PY=/usr/bin/python3
OUT=${OOC_DIR:-$HERE/out/oocore}
ROWS=${ROWS:-1100000} COLS=${COLS:-4000} K=${K:-20} P=${P:-10} Q=${Q:-2}
SMALL_ROWS=${SMALL_ROWS:-40000} LIMIT=${LIMIT:-3G} MEMORY=${MEMORY:-1G}
RESULTS=$OUT/results.jsonl
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$OUT"
: > "$RESULTS"
. "$HERE/lib.sh"
copy_build
stamp_start
export BENCH_UPTIME_START=$(uptime)

need=$((ROWS * COLS * 8 + SMALL_ROWS * COLS * 8))
free_bytes=$(df --output=avail -B1 "$OUT" | tail -n 1)
[ "$free_bytes" -gt $((need + (4 << 30))) ] \
  || { echo "oocore.sh: needs $((need >> 30)) GiB + 4 GiB free under $OUT, has $((free_bytes >> 30)) GiB" >&2; exit 1; }
ram=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 1024))
[ $((ROWS * COLS * 8)) -gt "$ram" ] \
  || echo "oocore.sh: WARNING: the big matrix is not larger than RAM ($((ram >> 30)) GiB)" >&2

limit_bytes=$(numfmt --from=iec "$LIMIT")
if systemd-run --scope -q -p MemoryMax="$LIMIT" true 2>/dev/null; then
  LIMITER=(systemd-run --scope -q -p MemoryMax="$LIMIT" -p MemorySwapMax=0)
  export BENCH_LIMITER="cgroup: systemd-run --scope -p MemoryMax=$LIMIT -p MemorySwapMax=0 (the whole job)"
else
  LIMITER=(prlimit --as="$limit_bytes")
  export BENCH_LIMITER="prlimit --as=$limit_bytes (each process of the job; systemd is not running here, so no cgroup)"
fi

# limited TAG CMD...: under the memory limit, sampled by memwatch, one JSON line
limited() {
  local tag=$1 rc=0 t0 t1
  shift
  say "$tag: ${LIMITER[*]} ${*##*/}"
  t0=$EPOCHREALTIME
  "${LIMITER[@]}" "$PY" "$HERE/peers/memwatch.py" --csv "$OUT/$tag.mem.csv" --json "$OUT/$tag.mem.json" \
    --interval 0.5 -- "$@" > "$OUT/$tag.out" 2> "$OUT/$tag.err" || rc=$?
  t1=$EPOCHREALTIME
  [ "$rc" -eq 0 ] || { echo "oocore.sh: $tag failed (exit $rc)" >&2; tail -n 5 "$OUT/$tag.err" >&2; }
  "$PY" "$HERE/peers/annotate.py" --t0 "$t0" --t1 "$t1" --cpu0 "" --cpu1 "" \
    --memwatch "$OUT/$tag.mem.json" --rc "$rc" --set "tag=$tag" < "$OUT/$tag.out" >> "$RESULTS"
}

for spec in "small $SMALL_ROWS" "big $ROWS"; do
  read -r name m <<<"$spec"
  f=$OUT/$name.h5
  say "prsvd gen $name: $m x $COLS float64 (poly spectrum, decay 1)"
  t0=$EPOCHREALTIME
  mpirun --oversubscribe -n 2 -x OPENBLAS_NUM_THREADS -x LD_LIBRARY_PATH "$PRSVD" gen "$f:/A" \
    --rows "$m" --cols "$COLS" --spectrum poly --decay 1 --force --quiet
  sync
  t1=$EPOCHREALTIME
  "$PY" -c 'import json, os, sys; print(json.dumps({"kind": "gen", "tag": "gen." + sys.argv[1], "rows": int(sys.argv[2]), "cols": int(sys.argv[3]), "file_bytes": os.path.getsize(sys.argv[4]), "seconds": float(sys.argv[6]) - float(sys.argv[5])}))' \
    "$name" "$m" "$COLS" "$f" "$t0" "$t1" >> "$RESULTS"
  "$PY" -c 'import sys; sys.path.insert(0, sys.argv[1]); import common; common.evict(sys.argv[2])' "$HERE/peers" "$f"
  limited "svd.$name" "$PRSVD" svd "$f:/A" -k "$K" -p "$P" -q "$Q" --memory "$MEMORY" --json --force \
    -o "$OUT/svd.$name.h5"
  limited "verify.$name" "$PRSVD" verify "$f:/A" "$OUT/svd.$name.h5" --memory "$MEMORY" --json
done
[ "${KEEP:-0}" = 1 ] || rm -f "$OUT/big.h5"

export BENCH_END=$(date '+%Y-%m-%d %H:%M:%S %Z') BENCH_UPTIME_END=$(uptime)
export BENCH_K=$K BENCH_P=$P BENCH_Q=$Q BENCH_MEMORY=$MEMORY BENCH_LIMIT=$LIMIT
save_settings
