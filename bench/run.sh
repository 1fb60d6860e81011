#!/usr/bin/env bash
# prsvd vs scikit-learn randomized_svd vs LAPACK full SVD (gesdd), on two matrices written
# by `prsvd gen`; see bench/README.md.  Writes bench/out/ (scratch) and the section of
# bench/RESULTS.md for this benchmark.
#
#   bench/run.sh                      # the whole benchmark (a few minutes on 2 cores)
#   LAPACK_TIMEOUT=900 bench/run.sh   # seconds allowed per LAPACK run (default 660)
#   SKIP_BIG_LAPACK=1 bench/run.sh    # do not try the 3.2 GB full SVD
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PRSVD=$ROOT/prsvd
PY=/usr/bin/python3             # Debian's python: h5py, numpy, scipy, sklearn
OUT=$HERE/out
RESULTS=$OUT/results.jsonl
LAPACK_TIMEOUT=${LAPACK_TIMEOUT:-660}
SKIP_BIG_LAPACK=${SKIP_BIG_LAPACK:-0}

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
[ -x "$PRSVD" ] || { echo "run.sh: $PRSVD not found; build prsvd first" >&2; exit 1; }

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Thread settings as found, for RESULTS.md; OPENBLAS_CORETYPE and OMP_NUM_THREADS are left alone.
export BENCH_ORIG_OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-unset}
export BENCH_OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}
export BENCH_OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset}
# Single-process runs (prsvd 1 rank, sklearn, LAPACK) use OpenBLAS's default threads;
# multi-rank runs get OPENBLAS_NUM_THREADS=1 explicitly, per command.
unset OPENBLAS_NUM_THREADS
MPIRUN=(mpirun --oversubscribe -n 2 -x OPENBLAS_NUM_THREADS)

mkdir -p "$OUT"
: > "$RESULTS"

say() { printf '\n== %s\n' "$*" >&2; }

# ---- matrices -----------------------------------------------------------------------
# name rows cols k ranks-for-gen
MATRICES=("a 20000 2000 20 1" "b 100000 4000 100 2")

for spec in "${MATRICES[@]}"; do
  read -r name m n k gr <<<"$spec"
  say "prsvd gen $name: $m x $n, poly decay 1 ($gr rank(s))"
  if [ "$gr" -gt 1 ]; then
    OPENBLAS_NUM_THREADS=1 mpirun --oversubscribe -n "$gr" -x OPENBLAS_NUM_THREADS \
      "$PRSVD" gen "$OUT/$name.h5:/A" --rows "$m" --cols "$n" --spectrum poly --decay 1 --force --quiet
  else
    "$PRSVD" gen "$OUT/$name.h5:/A" --rows "$m" --cols "$n" --spectrum poly --decay 1 --force --quiet
  fi
done

# ---- one prsvd run: svd (timed, peak RSS per rank), then verify -----------------------
# prsvd_run NAME K RANKS
prsvd_run() {
  local name=$1 k=$2 p=$3 tag="$1.prsvd.$3"
  local args=(svd "$OUT/$name.h5:/A" -k "$k" -p 10 -q 1 -o "$OUT/$tag.out.h5" --force --json)
  local rc=0 vrc=0 t0 t1 threads cmd
  rm -f "$OUT/$tag".rss.* "$OUT/$tag.svd.json" "$OUT/$tag.verify.json"
  if [ "$p" -eq 1 ]; then
    threads="default BLAS threads"
    cmd="prsvd ${args[*]}"
    say "$cmd"
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%M' -o "$OUT/$tag.rss.0" "$PRSVD" "${args[@]}" \
      > "$OUT/$tag.svd.json" 2> "$OUT/$tag.stderr" || rc=$?
    t1=$EPOCHREALTIME
  else
    threads="1 BLAS thread"
    cmd="OPENBLAS_NUM_THREADS=1 ${MPIRUN[*]} prsvd ${args[*]}"
    say "$cmd"
    t0=$EPOCHREALTIME
    # one GNU time per rank, each writing its own file (time's -o does not expand %q{...})
    OPENBLAS_NUM_THREADS=1 "${MPIRUN[@]}" \
      bash -c 'exec /usr/bin/time -f %M -o "$0.$OMPI_COMM_WORLD_RANK" "$@"' "$OUT/$tag.rss" \
      "$PRSVD" "${args[@]}" > "$OUT/$tag.svd.json" 2> "$OUT/$tag.stderr" || rc=$?
    t1=$EPOCHREALTIME
  fi
  if [ "$rc" -ne 0 ]; then
    echo "prsvd svd FAILED (exit $rc): $cmd" >&2; cat "$OUT/$tag.stderr" >&2
  else
    say "prsvd verify $name.h5:/A $tag.out.h5"
    "$PRSVD" verify "$OUT/$name.h5:/A" "$OUT/$tag.out.h5" --json \
      > "$OUT/$tag.verify.json" 2>> "$OUT/$tag.stderr" || vrc=$?
    [ "$vrc" -eq 0 ] || { echo "prsvd verify FAILED (exit $vrc)" >&2; cat "$OUT/$tag.stderr" >&2; }
  fi
  local rss=()
  for ((r = 0; r < p; r++)); do rss+=("$OUT/$tag.rss.$r"); done
  "$PY" "$HERE/peers/prsvd_record.py" --matrix "$name" --ranks "$p" --threads "$threads" \
    --t0 "$t0" --t1 "$t1" --rc "$rc" --verify-rc "$vrc" --command "$cmd" \
    --svd-json "$OUT/$tag.svd.json" --verify-json "$OUT/$tag.verify.json" \
    --rss "${rss[@]}" --stderr "$OUT/$tag.stderr" >> "$RESULTS"
}

# ---- one Python peer run (sklearn or LAPACK), with a time limit -----------------------
# peer_run NAME K SCRIPT LIMIT METHOD-LABEL
peer_run() {
  local name=$1 k=$2 script=$3 limit=$4 label=$5 rc=0
  say "$script $name.h5:/A $k (time limit ${limit}s)"
  timeout "$limit" "$PY" "$HERE/peers/$script" "$OUT/$name.h5:/A" "$k" --matrix "$name" \
    > "$OUT/$name.$script.json" 2> "$OUT/$name.$script.stderr" || rc=$?
  if [ "$rc" -eq 0 ]; then
    cat "$OUT/$name.$script.json" >> "$RESULTS"
  else
    local why="exit code $rc"
    [ "$rc" -eq 124 ] && why="skipped: did not finish within ${limit} s"
    echo "$script on $name: $why" >&2; tail -n 20 "$OUT/$name.$script.stderr" >&2 || true
    printf '{"matrix": "%s", "method": "%s", "status": "not measured", "reason": "%s", "rc": %d}\n' \
      "$name" "$label" "$why" "$rc" >> "$RESULTS"
  fi
}

for spec in "${MATRICES[@]}"; do
  read -r name m n k gr <<<"$spec"
  prsvd_run "$name" "$k" 1
  prsvd_run "$name" "$k" 2
  peer_run "$name" "$k" sklearn_rsvd.py 600 "sklearn randomized_svd"
  if [ "$name" = b ] && [ "$SKIP_BIG_LAPACK" = 1 ]; then
    printf '{"matrix": "%s", "method": "LAPACK gesdd (full thin SVD)", "status": "not measured", "reason": "skipped: SKIP_BIG_LAPACK=1", "rc": 0}\n' \
      "$name" >> "$RESULTS"
  else
    peer_run "$name" "$k" lapack_svd.py "$LAPACK_TIMEOUT" "LAPACK gesdd (full thin SVD)"
  fi
done

# ---- table ----------------------------------------------------------------------------
say "results"
"$PY" "$HERE/report.py" "$RESULTS" "$HERE/RESULTS.md" "$PRSVD"
