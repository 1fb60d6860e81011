#!/usr/bin/env bash
# prsvd vs scikit-learn randomized_svd vs LAPACK full SVD (gesdd), on two matrices written
# by `prsvd gen`: the runs of `bench/bench.py peers` (see bench/README.md), which then writes
# the section of bench/RESULTS.md from bench/out/results.jsonl (bench/report.py peers).
#
#   bench/bench.py peers              # the whole benchmark (about 7 minutes on 2 cores)
#   REPEAT_SMALL=5 REPEAT_BIG=3       # repetitions of the timed prsvd and sklearn runs (defaults)
#   SMALL="20000 2000 20" BIG="100000 4000 100"   # rows, columns and k of the two matrices
#   LAPACK_TIMEOUT=900                # seconds allowed per LAPACK run (default 660)
#   SKIP_BIG_LAPACK=1                 # do not try the 3.2 GB full SVD
#   QUIET_WAIT=600 QUIET_CORES=0.2    # before each timed command wait (at most QUIET_WAIT s in
#                                     # all) until other processes use under QUIET_CORES cores
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PY=/usr/bin/python3             # Debian's python: h5py, numpy, scipy, sklearn
OUT=$HERE/out
RESULTS=$OUT/results.jsonl
LAPACK_TIMEOUT=${LAPACK_TIMEOUT:-660}
SKIP_BIG_LAPACK=${SKIP_BIG_LAPACK:-0}
REPEAT_SMALL=${REPEAT_SMALL:-5}
REPEAT_BIG=${REPEAT_BIG:-3}
SMALL=${SMALL:-20000 2000 20} BIG=${BIG:-100000 4000 100}
QUIET_WAIT=${QUIET_WAIT:-600}
QUIET_CORES=${QUIET_CORES:-0.2}

# ---- prerequisites ------------------------------------------------------------------
need=()
dpkg-query -W -f='${Status}' python3-sklearn 2>/dev/null | grep -q 'install ok installed' \
  || need+=(python3-sklearn)
dpkg-query -W -f='${Status}' python3-h5py 2>/dev/null | grep -q 'install ok installed' \
  || need+=(python3-h5py)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  apt-get install -y --no-install-recommends "${need[@]}" \
    || { apt-get update && apt-get install -y --no-install-recommends "${need[@]}"; }
fi
[ -x "$ROOT/prsvd" ] || { echo "run.sh: $ROOT/prsvd not found; build prsvd first" >&2; exit 1; }

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Thread settings as found, for RESULTS.md; OPENBLAS_CORETYPE and OMP_NUM_THREADS are left alone.
export BENCH_ORIG_OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-unset}
export BENCH_OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}
export BENCH_OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset}
# Single-process runs (prsvd 1 rank, sklearn, LAPACK) use OpenBLAS's default threads;
# multi-rank runs get OPENBLAS_NUM_THREADS=1 explicitly, per command.
unset OPENBLAS_NUM_THREADS
MPIRUN=(mpirun --oversubscribe -n 2 -x OPENBLAS_NUM_THREADS -x LD_LIBRARY_PATH)

mkdir -p "$OUT"
: > "$RESULTS"

# ---- the prsvd build measured ---------------------------------------------------------
. "$HERE/lib.sh"
copy_build
stamp_start
export BENCH_REPEAT_SMALL=$REPEAT_SMALL BENCH_REPEAT_BIG=$REPEAT_BIG
busy_before

# ---- matrices -----------------------------------------------------------------------
# name rows cols k ranks-for-gen repetitions
MATRICES=("a $SMALL 1 $REPEAT_SMALL" "b $BIG 2 $REPEAT_BIG")

for spec in "${MATRICES[@]}"; do
  read -r name m n k gr reps <<<"$spec"
  say "prsvd gen $name: $m x $n, poly decay 1 ($gr rank(s))"
  if [ "$gr" -gt 1 ]; then
    OPENBLAS_NUM_THREADS=1 mpirun --oversubscribe -n "$gr" -x OPENBLAS_NUM_THREADS -x LD_LIBRARY_PATH \
      "$PRSVD" gen "$OUT/$name.h5:/A" --rows "$m" --cols "$n" --spectrum poly --decay 1 --force --quiet
  else
    "$PRSVD" gen "$OUT/$name.h5:/A" --rows "$m" --cols "$n" --spectrum poly --decay 1 --force --quiet
  fi
done
# Flush the freshly written files now, so that their write-back does not run during the
# timed reads below (the files stay in the page cache: every method reads them from memory).
sync

# ---- one timed prsvd svd (wall clock, peak RSS per rank); verify after the last one -----
# prsvd_run NAME K RANKS I REPS
prsvd_run() {
  local name=$1 k=$2 p=$3 i=$4 reps=$5 r
  local res="$OUT/$name.prsvd.$p.out.h5"
  local args=(svd "$OUT/$name.h5:/A" -k "$k" -p 10 -q 1 -o "$res" --force --json)
  local threads cmd tag="$name.prsvd.$p.r$i" rc=0 vrc=0 t0 t1 cpu0 cpu1 vjson=()
  if [ "$p" -eq 1 ]; then
    threads="default BLAS threads"; cmd="prsvd ${args[*]}"
  else
    threads="1 BLAS thread"; cmd="OPENBLAS_NUM_THREADS=1 ${MPIRUN[*]} prsvd ${args[*]}"
  fi
  rm -f "$OUT/$tag".*
  say "[$i/$reps] $cmd"
  wait_quiet
  cpu_mark; cpu0=$CPU_MARK
  t0=$EPOCHREALTIME
  ranked_time "$OUT/$tag.rss" %M "$p" "$PRSVD" "${args[@]}" \
    > "$OUT/$tag.svd.json" 2> "$OUT/$tag.stderr" || rc=$?
  t1=$EPOCHREALTIME
  cpu_mark; cpu1=$CPU_MARK
  if [ "$rc" -ne 0 ]; then
    echo "prsvd svd FAILED (exit $rc): $cmd" >&2; cat "$OUT/$tag.stderr" >&2
  elif [ "$i" -eq "$reps" ]; then
    say "prsvd verify $name.h5:/A $(basename "$res")"
    "$PRSVD" verify "$OUT/$name.h5:/A" "$res" --json \
      > "$OUT/$tag.verify.json" 2>> "$OUT/$tag.stderr" || vrc=$?
    [ "$vrc" -eq 0 ] || { echo "prsvd verify FAILED (exit $vrc)" >&2; cat "$OUT/$tag.stderr" >&2; }
    vjson=(--verify-json "$OUT/$tag.verify.json")
  fi
  local rss=()
  for ((r = 0; r < p; r++)); do rss+=("$OUT/$tag.rss.$r"); done
  "$PY" "$HERE/peers/prsvd_record.py" --matrix "$name" --ranks "$p" --threads "$threads" \
    --rep "$i" --t0 "$t0" --t1 "$t1" --rc "$rc" --verify-rc "$vrc" --command "$cmd" \
    --cpu0 "$cpu0" --cpu1 "$cpu1" \
    --svd-json "$OUT/$tag.svd.json" "${vjson[@]}" \
    --rss "${rss[@]}" --stderr "$OUT/$tag.stderr" >> "$RESULTS"
}

# ---- one run of a Python peer (sklearn or LAPACK) with a time limit ---------------------
# peer_run NAME K SCRIPT LIMIT METHOD-LABEL I REPS; returns 1 when the time limit was hit
peer_run() {
  local name=$1 k=$2 script=$3 limit=$4 label=$5 i=$6 reps=$7
  local tag="$name.${script%.py}.r$i" rc=0 t0 t1 cpu0 cpu1
  say "[$i/$reps] $script $name.h5:/A $k (time limit ${limit}s)"
  wait_quiet
  cpu_mark; cpu0=$CPU_MARK
  t0=$EPOCHREALTIME
  timeout "$limit" "$PY" "$HERE/peers/$script" "$OUT/$name.h5:/A" "$k" --matrix "$name" \
    --rep "$i" > "$OUT/$tag.json" 2> "$OUT/$tag.stderr" || rc=$?
  t1=$EPOCHREALTIME
  cpu_mark; cpu1=$CPU_MARK
  if [ "$rc" -eq 0 ]; then
    "$PY" "$HERE/peers/annotate.py" --t0 "$t0" --t1 "$t1" --cpu0 "$cpu0" --cpu1 "$cpu1" \
      < "$OUT/$tag.json" >> "$RESULTS"
    return 0
  fi
  local why="exit code $rc"
  [ "$rc" -eq 124 ] && why="skipped: did not finish within ${limit} s"
  echo "$script on $name: $why" >&2; tail -n 20 "$OUT/$tag.stderr" >&2 || true
  printf '{"matrix": "%s", "method": "%s", "rep": %d, "status": "not measured", "reason": "%s", "rc": %d}\n' \
    "$name" "$label" "$i" "$why" "$rc" >> "$RESULTS"
  [ "$rc" -ne 124 ]
}

# The repetitions of prsvd (1 and 2 ranks) and sklearn are interleaved, so that a change
# in the machine's background load falls on all three alike; LAPACK runs once.
for spec in "${MATRICES[@]}"; do
  read -r name m n k gr reps <<<"$spec"
  sk_on=1
  for ((i = 1; i <= reps; i++)); do
    prsvd_run "$name" "$k" 1 "$i" "$reps"
    prsvd_run "$name" "$k" 2 "$i" "$reps"
    [ "$sk_on" -eq 0 ] \
      || peer_run "$name" "$k" sklearn_rsvd.py 600 "sklearn randomized_svd" "$i" "$reps" || sk_on=0
  done
  if [ "$name" = b ] && [ "$SKIP_BIG_LAPACK" = 1 ]; then
    printf '{"matrix": "%s", "method": "LAPACK gesdd (full thin SVD)", "status": "not measured", "reason": "skipped: SKIP_BIG_LAPACK=1", "rc": 0}\n' \
      "$name" >> "$RESULTS"
  else
    # once: it takes seconds at 20000 x 2000 and minutes at 100000 x 4000
    peer_run "$name" "$k" lapack_svd.py "$LAPACK_TIMEOUT" "LAPACK gesdd (full thin SVD)" 1 1 || true
  fi
done

export BENCH_QUIET="waited ${QUIET_WAITED} s in all for other processes to go under ${QUIET_CORES} cores (limit ${QUIET_WAIT} s); ${QUIET_GAVE_UP} timed command(s) started without that"
export BENCH_END=$(date '+%Y-%m-%d %H:%M:%S %Z')
export BENCH_LOADAVG_END=$(cut -d' ' -f1-3 /proc/loadavg)
save_settings
