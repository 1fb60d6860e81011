#!/usr/bin/env bash
# K-FAC on Fashion-MNIST: kfac-eig vs kfac-revd vs kfac-rsvd vs kfac-nystrom vs sgd vs adam
# (tools/kfac-train) on a 784-2048-2048-10 network, the inversion time of one factor against its
# width (prsvd kfac), and the eigenvalue decay of the averaged factors over training: the runs
# of `bench/bench.py kfac`; see bench/kfac/README.md.  Writes bench/kfac/out/ (scratch,
# gitignored), from which bench.py then draws the two PNG plots beside this script and writes
# this benchmark's section of bench/RESULTS.md (bench/report.py kfac).  About 12 minutes on 2
# idle cores; longer when other jobs share them.
#
#   TRAIN_RANKS=2         MPI ranks of every training run (1 BLAS thread each): data parallel
#                         over the machine's 2 cores, as a user of this machine would train; the
#                         decompositions of a refresh are spread over the ranks and every rank
#                         preconditions every layer (KAISA's communication-optimal placement)
#   WIDTHS=2048,2048      hidden layers of the training runs
#   TRAIN_SIZE=12800      images per (short) epoch: 50 steps of batch 256
#   EPOCHS=3              150 steps, 3 refreshes (steps 0, 50, 100)
#   EVAL_EVERY=10 EVAL_SIZE=2000   test accuracy every 10 steps on the first 2000 test images
#                                  (off the training clock): time to target is interpolated
#                                  between these points
#   TEST_SIZE=5000        the end-of-epoch (and final) accuracy on the first 5000 test images
#   TARGET=0.84           the target accuracy of the time-to-target ratios (every K-FAC variant
#                         crosses it steeply, between steps 40 and 50)
#   VECTORS_STEPS=12      kfac-eig applied through its d eigenvectors (--eig-apply vectors, the
#                         paper's baseline) for this many steps, to price its step; 0 skips
#   TABLE_WIDTHS="1024 2048 4096"   widths of the inversion-time table
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
OUT=$HERE/out
WIDTHS=${WIDTHS:-2048,2048}
TRAIN_SIZE=${TRAIN_SIZE:-12800}
EPOCHS=${EPOCHS:-3}
EVAL_EVERY=${EVAL_EVERY:-10}
EVAL_SIZE=${EVAL_SIZE:-2000}
TEST_SIZE=${TEST_SIZE:-5000}
TARGET=${TARGET:-0.84}
VECTORS_STEPS=${VECTORS_STEPS:-12}
TABLE_WIDTHS=${TABLE_WIDTHS:-1024 2048 4096}
TRAIN_RANKS=${TRAIN_RANKS:-2}
OPTIMIZERS=(kfac-eig kfac-revd kfac-rsvd kfac-nystrom sgd adam)

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1 # one core per rank
[ -d /usr/share/datasets/fashion-mnist ] && command -v gnuplot > /dev/null \
  || { echo "run.sh: needs dataset-fashion-mnist and gnuplot-nox (tools/setup installs them)" >&2; exit 1; }
make -s -C "$ROOT" prsvd tools/kfac/prsvd-kfac-train > /dev/null
TRAIN=$ROOT/tools/kfac/prsvd-kfac-train
PRSVD=$ROOT/prsvd
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.csv "$OUT"/*.txt "$OUT"/*.dat "$OUT"/inv*.h5
t_start=$(date +%s)
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
say() { printf '\n== [%s, load %s] %s\n' "$(date +%T)" "$(loadavg)" "$*" >&2; }
{
  echo "start=$(date '+%Y-%m-%d %H:%M:%S %Z')"
  echo "uptime_start=$(uptime)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  echo "cores=$(nproc)"
  echo "git=$(git -C "$ROOT" log -1 --format='%h %s' 2> /dev/null || echo unknown)"
  echo "widths=$WIDTHS"
  echo "target=$TARGET"
  echo "eval_every=$EVAL_EVERY"
  echo "eval_size=$EVAL_SIZE"
  echo "table_widths=$TABLE_WIDTHS"
  echo "train_ranks=$TRAIN_RANKS"
} > "$OUT/env.txt"

# ---- training: every optimizer, the paper's settings ------------------------------------
# batch 256, factors every 10 steps, inverses every 50, decay 0.95, damping 0.1 lambda_max,
# rank 220 + 10 oversampling, 4 power iterations (the trainer's defaults)
for opt in "${OPTIMIZERS[@]}"; do
  say "train $opt, 784-$WIDTHS-10, $EPOCHS epochs of $TRAIN_SIZE images"
  extra=()
  [ "$opt" = kfac-eig ] && extra=(--spectra "$OUT/spectra.txt")
  echo "$opt $(loadavg)" >> "$OUT/load.txt"
  mpirun --oversubscribe -n "$TRAIN_RANKS" "$TRAIN" --optimizer "$opt" --widths "$WIDTHS" --batch 256 --epochs "$EPOCHS" \
    --train-size "$TRAIN_SIZE" --test-size "$TEST_SIZE" --eval-every "$EVAL_EVERY" \
    --eval-size "$EVAL_SIZE" --seed 1 --json "$OUT/train.$opt.json" "${extra[@]}" | tail -1
done

# ---- the paper's exact baseline: kfac-eig applied through all d eigenvectors ---------------
# (the same steps to rounding, so a few steps price it; the refresh at step 0 is timed apart)
if [ "$VECTORS_STEPS" -gt 0 ]; then
  say "kfac-eig --eig-apply vectors, $VECTORS_STEPS steps"
  echo "kfac-eig-vectors $(loadavg)" >> "$OUT/load.txt"
  mpirun --oversubscribe -n "$TRAIN_RANKS" "$TRAIN" --optimizer kfac-eig --eig-apply vectors --widths "$WIDTHS" --batch 256 \
    --epochs 1 --max-steps "$VECTORS_STEPS" --train-size "$TRAIN_SIZE" --test-size 500 --seed 1 \
    --json "$OUT/vectors.kfac-eig.json" | tail -1
fi

# ---- inversion time against width: one A factor per width, every method ------------------
say "factors of widths $TABLE_WIDTHS"
# shellcheck disable=SC2086
"$PY" "$HERE/factors.py" "$OUT/factors.h5" 4096 $TABLE_WIDTHS
for d in $TABLE_WIDTHS; do
  for m in eig revd rsvd nystrom; do
    say "prsvd kfac --method $m, width $d"
    args=(kfac "$OUT/factors.h5" --layers "w$d" --method "$m" -o "$OUT/inv.$m.$d.h5" --force --json)
    [ "$m" = eig ] || args+=(--rank 220 -p 10 -q 4)
    mpirun -n 1 "$PRSVD" "${args[@]}" > "$OUT/inv.$m.$d.json"
  done
done
last=${TABLE_WIDTHS##* }
for m in eig revd; do # the largest factor decomposed by 2 ranks together (PDSYEVD, sketches)
  say "prsvd kfac --method $m, width $last, 2 ranks together"
  args=(kfac "$OUT/factors.h5" --layers "w$last" --method "$m" --distribute-dim 1000
        -o "$OUT/inv2.$m.$last.h5" --force --json)
  [ "$m" = eig ] || args+=(--rank 220 -p 10 -q 4)
  mpirun --oversubscribe -n 2 "$PRSVD" "${args[@]}" > "$OUT/inv2.$m.$last.json"
done

{
  echo "end=$(date '+%Y-%m-%d %H:%M:%S %Z')"
  echo "run_seconds=$(($(date +%s) - t_start))"
  echo "uptime_end=$(uptime)"
} >> "$OUT/env.txt"
