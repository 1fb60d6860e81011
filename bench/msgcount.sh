#!/usr/bin/env bash
# The message model of docs/performance.md against what MPI did here: every algorithm at 1, 2
# and 4 ranks (oversubscribed: counts, not speed), with its MPI calls counted through the
# profiling interface (bench/peers/pmpi_count.c, LD_PRELOAD) and its messages on the wire by
# Open MPI's pml monitoring.  Multi-pass methods run at q and q - 1: the difference is one
# pass.  (`--tol` runs as randQB_FP, whose passes are fixed; randQB_EI's passes grow with the
# rank the tolerance needs, and bench/model.py only predicts them.)  Then `bench/model.py check` compares.  About a minute; scratch in bench/out/msgcount/.
#
#   bench/msgcount.sh            # M=6000 N=3000 K=20 P=10 by default (N large against K keeps
#                                # the n-sized sketches apart from the k x k reductions)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PY=/usr/bin/python3
OUT=$HERE/out/msgcount
M=${M:-6000} N=${N:-3000} K=${K:-20} P=${P:-10}
[ -x "$ROOT/prsvd" ] || { echo "msgcount.sh: build prsvd first" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
rm -rf "$OUT" && mkdir -p "$OUT"
. "$HERE/lib.sh"
copy_build
mpicc -shared -fPIC -O2 -o "$OUT/libpmpi_count.so" "$HERE/peers/pmpi_count.c"

mpirun --oversubscribe -n 2 -x OPENBLAS_NUM_THREADS -x LD_LIBRARY_PATH "$PRSVD" gen "$OUT/a.h5:/A" \
  --rows "$M" --cols "$N" --spectrum poly --decay 1 --force --quiet
mpirun --oversubscribe -n 2 -x OPENBLAS_NUM_THREADS -x LD_LIBRARY_PATH "$PRSVD" gen "$OUT/g.h5:/G" \
  --rows "$N" --cols "$N" --symmetric psd --spectrum poly --decay 1 --force --quiet

LARGE=$((40 * N))  # above the l x l and k_s x s reductions, below the n x 10 probes
RESULTS=$OUT/results.jsonl
: > "$RESULTS"
# run ALG Q RANKS OK_CODES -- prsvd arguments
run() {
  local alg=$1 q=$2 ranks=$3 ok=$4 tag rc=0
  shift 5
  tag=$alg.q$q.r$ranks
  mkdir -p "$OUT/$tag.pmpi" "$OUT/$tag.prof"
  say "$tag: prsvd $*"
  mpirun --oversubscribe -n "$ranks" -x OPENBLAS_NUM_THREADS -x LD_LIBRARY_PATH \
    -x LD_PRELOAD="$OUT/libpmpi_count.so" -x PMPI_COUNT_DIR="$OUT/$tag.pmpi" -x PMPI_COUNT_LARGE=$LARGE \
    --mca pml_monitoring_enable 2 --mca pml_monitoring_enable_output 3 \
    --mca pml_monitoring_filename "$OUT/$tag.prof/prof" \
    "$PRSVD" "$@" --json --force > "$OUT/$tag.json" 2> "$OUT/$tag.err" || rc=$?
  "$PY" "$HERE/peers/msg_record.py" --pmpi-dir "$OUT/$tag.pmpi" --prof-dir "$OUT/$tag.prof" \
    --rc "$rc" --ok-codes "$ok" --json "$OUT/$tag.json" --set algorithm=$alg q=$q ranks=$ranks \
    m=$([ "$alg" = nystrom ] || [ "$alg" = revd ] && echo "$N" || echo "$M") n=$N \
    k=$([ "$alg" = qb ] && echo 40 || echo "$K") p=$P large=$LARGE >> "$RESULTS"
}

for ranks in 1 2 4; do
  for q in 1 2; do
    run subspace $q $ranks 0 -- svd "$OUT/a.h5:/A" -k "$K" -p "$P" -q $q -o "$OUT/o.h5"
    # randQB_FP (a pass count given) with an unreachable tolerance: every block of the QB
    # phase runs, whatever the passes (exit 8)
    run qb $q $ranks 0,8 -- svd "$OUT/a.h5:/A" --tol 1e-6 --max-rank 40 --passes $((q + 1)) -o "$OUT/o.h5"
    run revd $q $ranks 0 -- eig "$OUT/g.h5:/G" -k "$K" -p "$P" -q $q --method revd -o "$OUT/o.h5"
  done
  for m in three two hmt; do
    run $m 0 $ranks 0 -- svd "$OUT/a.h5:/A" -k "$K" --passes 1 --onepass-method $m -o "$OUT/o.h5"
  done
  run nystrom 0 $ranks 0 -- eig "$OUT/g.h5:/G" -k "$K" -p "$P" --method nystrom -o "$OUT/o.h5"
  # subspace iteration on the 2-D grids of this many ranks (--grid PRxPC with PC > 1)
  for pc in 2 4; do
    [ $pc -le $ranks ] && [ $((ranks % pc)) -eq 0 ] || continue
    for q in 1 2; do
      run grid$((ranks / pc))x$pc $q $ranks 0 -- svd "$OUT/a.h5:/A" -k "$K" -p "$P" -q $q \
        --grid $((ranks / pc))x$pc -o "$OUT/o.h5"
    done
  done
done
say "model against measured"
"$PY" "$HERE/model.py" check "$RESULTS"
