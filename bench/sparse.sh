#!/usr/bin/env bash
# Centred PCA of a sparse 1,000,000 x 20,000 CSR matrix (0.5% stored, AnnData layout in HDF5)
# with `prsvd pca` at 1 and 2 ranks, beside scikit-learn's TruncatedSVD (uncentred, the whole
# matrix in memory) and `prsvd svd` (uncentred, like for like), with the same k and power
# iterations; accuracy against ARPACK (scipy svds): the runs of `bench/bench.py sparse` (see
# bench/README.md), which then writes the section of bench/RESULTS.md from bench/out/sparse/
# (scratch, gitignored; bench/report.py sparse).
#
#   bench/bench.py sparse                # about 5 minutes on 2 idle cores, the first time
#   K=20 Q=2 MEMORY=256M                 # rank, power iterations, prsvd's --memory (defaults)
#   ROWS=100000                          # a smaller matrix (COLS, DENSITY likewise; --quick)
# The matrix and the ARPACK reference are kept in bench/out/sparse/ and reused while ROWS,
# COLS, DENSITY (and K) are unchanged (REGENERATE=1 makes them again).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PY=/usr/bin/python3             # Debian's python: h5py, numpy, scipy, sklearn
OUT=$HERE/out/sparse
ROWS=${ROWS:-1000000} COLS=${COLS:-20000} DENSITY=${DENSITY:-0.005}
K=${K:-20} Q=${Q:-2} MEMORY=${MEMORY:-256M} REGENERATE=${REGENERATE:-0}
RESULTS=$OUT/results.jsonl

[ -x /usr/bin/time ] || { echo "sparse.sh: needs GNU time (apt-get install time)" >&2; exit 1; }
[ -x "$ROOT/prsvd" ] || { echo "sparse.sh: $ROOT/prsvd not found; build prsvd first" >&2; exit 1; }
PRSVD=$ROOT/prsvd   # the real binary: it links the library's code in, no libtool wrapper
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset OPENBLAS_NUM_THREADS   # 1 rank and the Python peers: OpenBLAS's default, a thread a core
mkdir -p "$OUT"
: > "$RESULTS"

. "$HERE/lib.sh"
busy_seconds() { awk -v hz="$(getconf CLK_TCK)" '/^cpu /{print ($2+$3+$4+$7+$8+$9)/hz}' /proc/stat; }
record() { "$PY" -c 'import json, sys; print(json.dumps(dict(a.split("=", 1) for a in sys.argv[1:])))' "$@" >> "$RESULTS"; }
record event=start date="$(date '+%Y-%m-%d %H:%M:%S %Z')" uptime="$(uptime)" \
  git="$(git -C "$ROOT" log -1 --format='%h %s' 2>/dev/null || echo unknown)" \
  prsvd="$("$PRSVD" --version | tr -s ' \t' ' ' | paste -sd ';')"

# timed LABEL RANKS CMD...: run CMD (under mpirun when RANKS > 1, one GNU time per rank),
# recording wall clock, peak RSS and CPU time of each process, and the CPU the rest of the
# machine used meanwhile.
timed() {
  local label=$1 ranks=$2 tag=$OUT/run.$1 rc=0 t0 t1 b0 b1 up
  shift 2
  rm -f "$tag".*
  say "$label: $*"
  up=$(uptime)
  b0=$(busy_seconds); t0=$EPOCHREALTIME
  ranked_time "$tag.time" "%M %U %S" "$ranks" "$@" > "$tag.stdout" 2> "$tag.stderr" || rc=$?
  t1=$EPOCHREALTIME; b1=$(busy_seconds)
  [ "$rc" -eq 0 ] || { echo "sparse.sh: $label failed (exit $rc)" >&2; tail -n 20 "$tag.stderr" >&2; }
  record event=run label="$label" ranks="$ranks" rc="$rc" wall="$(awk "BEGIN {print $t1 - $t0}")" \
    busy="$(awk "BEGIN {print $b1 - $b0}")" uptime="$up" command="$*" tag="$tag"
  return "$rc"
}

# ---- the matrix and its reference (kept while the shape is the same) --------------------
stamp="rows=$ROWS cols=$COLS density=$DENSITY seed=0"
if [ "$REGENERATE" = 1 ] || [ "$(cat "$OUT/matrix.stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -f "$OUT/matrix.stamp" "$OUT/reference.stamp"
  timed generate 1 "$PY" "$HERE/peers/sparse_gen.py" "$OUT/cells.h5" --rows "$ROWS" --cols "$COLS" --density "$DENSITY"
  cp "$OUT/run.generate.stdout" "$OUT/matrix.json"
  sync   # written back now, not during the timed reads (the file stays in the page cache)
  echo "$stamp" > "$OUT/matrix.stamp"
fi
record event=setup matrix="$OUT/matrix.json" reference="$OUT/reference.json" k="$K" q="$Q" memory="$MEMORY"
if [ "$(cat "$OUT/reference.stamp" 2>/dev/null)" != "$stamp k=$K" ]; then
  timed reference 1 "$PY" "$HERE/peers/svds_reference.py" "$OUT/cells.h5:/X" "$K"
  cp "$OUT/run.reference.stdout" "$OUT/reference.json"
  echo "$stamp k=$K" > "$OUT/reference.stamp"
fi

# ---- the runs ---------------------------------------------------------------------------
X=$OUT/cells.h5:/X
timed prsvd-pca-1 1 "$PRSVD" pca "$X" -k "$K" -q "$Q" --memory "$MEMORY" -o "$OUT/pca.1.h5" --force || true
timed prsvd-pca-2 2 "$PRSVD" pca "$X" -k "$K" -q "$Q" --memory "$MEMORY" -o "$OUT/pca.2.h5" --force || true
timed prsvd-svd-1 1 "$PRSVD" svd "$X" -k "$K" -q "$Q" --memory "$MEMORY" -o "$OUT/svd.1.h5" --force || true
timed sklearn 1 "$PY" "$HERE/peers/sklearn_tsvd.py" "$X" "$K" --iters "$Q" || true
record event=end date="$(date '+%Y-%m-%d %H:%M:%S %Z')" uptime="$(uptime)"
