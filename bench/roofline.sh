#!/usr/bin/env bash
# The roofline benchmark (issue 4): in one run on one machine, the two ceilings of a pass
# (a plain sequential read of the file, cold, and a plain GEMM of the panel shape), then each
# pass of prsvd against max(read floor, GEMM floor), for float64 and float32 input, chunked +
# gzip and contiguous; then prsvd beside dask's svd_compressed, scikit-learn's randomized_svd
# and ScaLAPACK's PDGESVD on the same files, with wall time, peak RSS per process, memory over
# time and accuracy: the runs of `bench/bench.py roofline` (see bench/README.md), which then
# draws the plots in bench/plots/ and writes the section of bench/RESULTS.md from
# bench/out/roofline/ (scratch, gitignored; bench/report.py roofline).
#
#   bench/bench.py roofline                   # everything (about 21 minutes on 2 quiet cores)
#   ROWS=100000 COLS=2000 K=20 P=10 Q=2       # the roofline matrices and the sketch (defaults)
#   SMALL_ROWS=20000 SMALL_COLS=1000          # the matrix PDGESVD can take (defaults)
#   CHUNK=1000x500 GZIP=4                     # chunk shape and gzip level of the chunked files
#   K_BIG=200                                 # k of the compute-bound 1-vs-2-rank runs
#   REPEAT=3                                  # repetitions of each timed prsvd run (medians)
#   SETTLE=15                                 # after each eviction, wait at most this long
#                                             # for a VM to hand the memory back (see below)
#   QUIET_WAIT=900 QUIET_CORES=0.2            # wait, at most QUIET_WAIT s in all, before each
#                                             # timed command until others use < QUIET_CORES
#   bench/bench.py roofline --report-only     # only redo the tables and plots from out/
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PY=/usr/bin/python3
OUT=$HERE/out/roofline
RESULTS=$OUT/results.jsonl
ROWS=${ROWS:-100000} COLS=${COLS:-2000} K=${K:-20} P=${P:-10} Q=${Q:-2}
SMALL_ROWS=${SMALL_ROWS:-20000} SMALL_COLS=${SMALL_COLS:-1000}
CHUNK=${CHUNK:-1000x500} GZIP=${GZIP:-4} K_BIG=${K_BIG:-200} REPEAT=${REPEAT:-3}
SETTLE=${SETTLE:-15}
QUIET_WAIT=${QUIET_WAIT:-900} QUIET_CORES=${QUIET_CORES:-0.2}
BENCH_NAME=roofline.sh

# ---- prerequisites ----------------------------------------------------------------------
for pkg in python3-h5py python3-sklearn python3-dask gnuplot-nox util-linux; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
    || { echo "roofline.sh: needs the Debian package $pkg (tools/setup installs it)" >&2; exit 1; }
done
[ -x "$ROOT/prsvd" ] || { echo "roofline.sh: $ROOT/prsvd not found; build prsvd first" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Every BLAS call in this benchmark runs on one thread per process: prsvd's second core goes
# to its reader thread at 1 rank and to the second rank at 2; dask gets 2 worker threads;
# scikit-learn alone uses OpenBLAS's default (one thread per core), as a user would.
export OPENBLAS_NUM_THREADS=1
# No binding: Open MPI binds each of up to 2 ranks to one core by default, which would put
# prsvd's reader thread on its rank's GEMM core (and every 1-rank job of the machine on core
# 0); the f64c and f64z files also run bound at 1 rank (`--bind-to core`) to show the cost.
MPIRUN=(mpirun --oversubscribe --bind-to none -x OPENBLAS_NUM_THREADS -x LD_LIBRARY_PATH)
MPIRUN_BOUND=(mpirun --oversubscribe --bind-to core -x OPENBLAS_NUM_THREADS -x LD_LIBRARY_PATH)
mkdir -p "$OUT" "$OUT/bin" "$HERE/plots"
: > "$RESULTS"

. "$HERE/lib.sh"
copy_build
stamp_start
busy_before

# The peers in C, built against the BLAS, ScaLAPACK and HDF5 prsvd was configured with.
mkvar() { sed -n "s/^$1 = //p" "$ROOT/Makefile"; }
# shellcheck disable=SC2046
gcc -O2 -o "$OUT/bin/gemm_floor" "$HERE/peers/gemm_floor.c" $(mkvar BLAS_LIBS)
# shellcheck disable=SC2046
mpicc -O2 -o "$OUT/bin/pdgesvd" "$HERE/peers/pdgesvd.c" $(mkvar HDF5_CFLAGS) \
  $(mkvar HDF5_LIBS) $(mkvar SCALAPACK_LIBS) $(mkvar BLAS_LIBS) -lm

# ---- one timed command: contention marks, memory sampling, one JSON line -----------------
# timed TAG MATCH KEY=VALUE... -- CMD...   (MATCH: process names counted as the job)
timed() {
  local tag=$1 match=$2 rc=0 t0 t1 cpu0 cpu1 sets=()
  shift 2
  while [ "$1" != "--" ]; do sets+=("$1"); shift; done
  shift
  say "$tag: ${*##*/}"
  wait_quiet
  # COLD=FILE: evicted here, after the wait for a quiet machine, as read_floor.py --cold does
  [ -z "${COLD:-}" ] || cold "$COLD" "$tag"
  cpu_mark; cpu0=$CPU_MARK; t0=$EPOCHREALTIME
  "$PY" "$HERE/peers/memwatch.py" --csv "$OUT/$tag.mem.csv" --json "$OUT/$tag.mem.json" \
    --interval "${MW_INTERVAL:-0.05}" --match $match -- "$@" > "$OUT/$tag.out" 2> "$OUT/$tag.err" || rc=$?
  t1=$EPOCHREALTIME; cpu_mark; cpu1=$CPU_MARK
  [ "$rc" -eq 0 ] || { echo "roofline.sh: $tag failed (exit $rc)" >&2; tail -n 5 "$OUT/$tag.err" >&2; }
  "$PY" "$HERE/peers/annotate.py" --t0 "$t0" --t1 "$t1" --cpu0 "$cpu0" --cpu1 "$cpu1" \
    --memwatch "$OUT/$tag.mem.json" --rc "$rc" --set "tag=$tag" "${sets[@]}" \
    < "$OUT/$tag.out" >> "$RESULTS"
}

# cold FILE TAG: evict FILE from the page cache (posix_fadvise DONTNEED on that file only) and
# wait, at most SETTLE s, until the guest has handed the freed memory back to its host.  On
# this VM (free page reporting) a cold read right after an eviction refills pages the host
# still backs, and one started later pays the host for each page, about three times slower:
# every cold run, floors, prsvd and peers alike, starts once the memory went back
# (common.evict).  Records what stayed resident, what went back, how long that took.
cold() {
  "$PY" -c 'import json, sys; sys.path.insert(0, sys.argv[1]); import common
res, rep, waited = common.evict(sys.argv[2], float(sys.argv[3]))
print(json.dumps({"kind": "evicted", "tag": sys.argv[4], "resident_bytes": res, "settle_seconds": waited, "reported_mib": rep}))' \
    "$HERE/peers" "$1" "$SETTLE" "$2" >> "$RESULTS"
}

# verify TAG SPEC OUT.h5: accuracy of a factorization by `prsvd verify`, untimed
verify() {
  local rc=0
  "$PRSVD" verify "$2" "$3" --json > "$OUT/$1.verify.json" 2> "$OUT/$1.verify.err" || rc=$?
  "$PY" -c 'import json, sys; r = json.load(open(sys.argv[1])); r.update(kind="verify", tag=sys.argv[2]); print(json.dumps(r))' \
    "$OUT/$1.verify.json" "$1" >> "$RESULTS" 2>/dev/null \
    || printf '{"kind": "verify", "tag": "%s", "status": "failed", "rc": %d}\n' "$1" "$rc" >> "$RESULTS"
}

# ---- the matrices: same planted spectrum (sigma_j = 1/j), four layouts and a small one ----
# name dtype chunk/gzip rows cols
FILES=("f64c float64 - $ROWS $COLS" "f64z float64 $CHUNK $ROWS $COLS"
       "f32c float32 - $ROWS $COLS" "f32z float32 $CHUNK $ROWS $COLS"
       "small float64 - $SMALL_ROWS $SMALL_COLS")
for spec in "${FILES[@]}"; do
  read -r name dtype chunk m n <<<"$spec"
  layout=()
  [ "$chunk" = - ] || layout=(--chunk "$chunk" --gzip "$GZIP")
  say "prsvd gen $name: $m x $n $dtype ${layout[*]}"
  "${MPIRUN[@]}" -n 2 "$PRSVD" gen "$OUT/$name.h5:/A" --rows "$m" --cols "$n" --spectrum poly \
    --decay 1 --dtype "$dtype" "${layout[@]}" --force --quiet
  # the panel rows the solver uses (one cheap pass: k = 1, q = 0), beside `prsvd info`
  "$PRSVD" svd "$OUT/$name.h5:/A" -k 1 -p 0 -q 0 --json --force -o "$OUT/probe.h5" > "$OUT/probe.json"
  "$PRSVD" info "$OUT/$name.h5:/A" -k "$K" -p "$P" -q "$Q" --json \
    | "$PY" -c 'import json, os, sys
r = json.load(sys.stdin)
r.update(kind="file", name=sys.argv[1], file_bytes=os.path.getsize(r["file"]),
         panel_rows=json.load(open(sys.argv[2]))["panel_rows"])
print(json.dumps(r))' "$name" "$OUT/probe.json" >> "$RESULTS"
done
sync
panel_rows() { "$PY" -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("kind") == "file" and r["name"] == sys.argv[2]: print(r["panel_rows"])' "$RESULTS" "$1"; }

# ---- GEMM floors: the panel GEMMs alone, one thread, for 1 rank (all rows) and 2 (half) ----
# (gemm_floor streams its panels from a block in memory and runs one copy per rank at once)
# REPEAT rounds, interleaved, like every measurement below: the report takes medians
# at the panel rows the solver picks for float64 (DGEMM) and for float32 (SGEMM) data
L=$((K + P)) L_BIG=$((K_BIG + P)) PR=$(panel_rows f64c) PR_S=$(panel_rows f32c)
for ((i = 1; i <= REPEAT; i++)); do
  for prec in d s; do
    for ranks in 1 2; do
      rows=$(( (ROWS + ranks - 1) / ranks ))
      for extra in 0 10; do  # passes before the last: l columns; the last adds 10 probes
        timed "gemm.$prec.r$ranks.e$extra.$i" gemm_floor kind=gemm_floor ranks=$ranks rep=$i -- \
          "$OUT/bin/gemm_floor" "$rows" "$COLS" "$L" "$extra" "$([ $prec = s ] && echo "$PR_S" || echo "$PR")" "$prec" 1 "$ranks"
      done
    done
  done
  for ranks in 1 2; do
    rows=$(( (ROWS + ranks - 1) / ranks ))
    for extra in 0 10; do
      timed "gemm.big.r$ranks.e$extra.$i" gemm_floor kind=gemm_floor ranks=$ranks k=$K_BIG rep=$i -- \
        "$OUT/bin/gemm_floor" "$rows" "$COLS" "$L_BIG" "$extra" "$PR" d 1 "$ranks"
    done
  done
done

# ---- read floors and prsvd's passes, per file, interleaved in each round ----------------
SVD=(-k "$K" -p "$P" -q "$Q" --json --force)
for name in f64c f64z f32c f32z; do
  f=$OUT/$name.h5 pr=$(panel_rows "$name")
  rank_list=(1)
  [ "$name" = f64c ] && rank_list=(1 2 1core)
  [ "$name" = f64z ] && rank_list=(1 1core)
  for ((i = 1; i <= REPEAT; i++)); do
    modes=(hdf5)
    [ "$i" = 1 ] && modes=(raw hdf5) # the raw read is the disk's speed, for the record only
    for mode in "${modes[@]}"; do
      timed "read.$name.$mode.cold.$i" python3 kind=read_floor name=$name rep=$i -- \
        "$PY" "$HERE/peers/read_floor.py" "$f:/A" --panel-rows "$pr" --mode "$mode" --cold --settle "$SETTLE"
    done
    timed "read.$name.hdf5.warm.$i" python3 kind=read_floor name=$name rep=$i -- \
      "$PY" "$HERE/peers/read_floor.py" "$f:/A" --panel-rows "$pr" --mode hdf5
    for rb in "${rank_list[@]}"; do # a P-rank run's floor: its P row blocks read at once
      [ "$rb" = 1 ] || [ "$rb" != "${rb%core}" ] && continue
      timed "read.$name.hdf5.cold.r$rb.$i" python3 kind=read_floor name=$name rep=$i -- \
        "$PY" "$HERE/peers/read_floor.py" "$f:/A" --panel-rows "$pr" --mode hdf5 --cold --settle "$SETTLE" \
        --ranks "$rb"
      timed "read.$name.hdf5.warm.r$rb.$i" python3 kind=read_floor name=$name rep=$i -- \
        "$PY" "$HERE/peers/read_floor.py" "$f:/A" --panel-rows "$pr" --mode hdf5 --ranks "$rb"
    done
    for rb in "${rank_list[@]}"; do
      ranks=${rb%core} launch=("${MPIRUN[@]}") bind=none
      [ "$rb" = "$ranks" ] || launch=("${MPIRUN_BOUND[@]}") bind=core
      [ "$bind" = core ] && [ "$i" -gt 1 ] && continue # the bound runs once: they show its cost
      COLD=$f timed "prsvd.$name.r$rb.$i" prsvd kind=prsvd name=$name ranks=$ranks bind=$bind rep=$i cache=cold -- \
        "${launch[@]}" -n "$ranks" "$PRSVD" svd "$f:/A" "${SVD[@]}" -o "$OUT/prsvd.$name.r$rb.h5"
      echo "{\"kind\": \"resident\", \"tag\": \"prsvd.$name.r$rb.$i\", \"bytes\": $(fincore --bytes --noheadings --raw --output RES "$f")}" >> "$RESULTS"
    done
  done
  for rb in "${rank_list[@]}"; do verify "prsvd.$name.r$rb" "$f:/A" "$OUT/prsvd.$name.r$rb.h5"; done
done

# ---- compute-bound: 1 rank against 2 at k = K_BIG, the file in the page cache -------------
# memory sampled once a second: memwatch's 50 ms polling of /proc (smaps_rollup for the PSS)
# takes CPU the 2 ranks need, and made the 2-rank runs 8.26 s instead of 6.56 s at k = 200
MW_INTERVAL=1
f=$OUT/f64c.h5
cat "$f" > /dev/null
for ((i = 1; i <= REPEAT; i++)); do
  for ranks in 1 2; do
    timed "scale.r$ranks.$i" prsvd kind=scale ranks=$ranks rep=$i cache=warm -- \
      "${MPIRUN[@]}" -n "$ranks" "$PRSVD" svd "$f:/A" -k "$K_BIG" -p "$P" -q "$Q" --json --force \
      -o "$OUT/scale.r$ranks.h5"
  done
done
MW_INTERVAL=0.05

# ---- peers on the same files, each from a cold cache -------------------------------------
for name in f64c small; do
  f=$OUT/$name.h5
  if [ "$name" = small ]; then
    for ranks in 1 2; do
      COLD=$f timed "prsvd.small.r$ranks.1" prsvd kind=prsvd name=small ranks=$ranks rep=1 cache=cold -- \
        "${MPIRUN[@]}" -n "$ranks" "$PRSVD" svd "$f:/A" "${SVD[@]}" -o "$OUT/prsvd.small.r$ranks.h5"
      verify "prsvd.small.r$ranks" "$f:/A" "$OUT/prsvd.small.r$ranks.h5"
    done
  fi
  # dask's own chunk size (its "auto" default, 128 MiB): row panels of all columns
  dask_rows=$(( (128 << 20) / (8 * $("$PY" -c 'import h5py, sys; print(h5py.File(sys.argv[1])["A"].shape[1])' "$f")) ))
  COLD=$f timed "dask.$name" python3 kind=dask name=$name cache=cold -- \
    "$PY" "$HERE/peers/dask_svd.py" "$f:/A" "$K" --oversample "$P" --iters "$Q" \
    --chunk-rows "$dask_rows" --workers 2 --save "$OUT/dask.$name.h5"
  verify "dask.$name" "$f:/A" "$OUT/dask.$name.h5"
  COLD=$f timed "sklearn.$name" python3 kind=sklearn name=$name cache=cold -- \
    env -u OPENBLAS_NUM_THREADS "$PY" "$HERE/peers/sklearn_rsvd.py" "$f:/A" "$K" \
    --oversample "$P" --iters "$Q" --save "$OUT/sklearn.$name.h5"
  verify "sklearn.$name" "$f:/A" "$OUT/sklearn.$name.h5"
done
for ranks in 1 2; do
  COLD=$OUT/small.h5 timed "pdgesvd.small.r$ranks" pdgesvd kind=pdgesvd name=small ranks=$ranks cache=cold -- \
    "${MPIRUN[@]}" -n "$ranks" "$OUT/bin/pdgesvd" "$OUT/small.h5" /A
done

export BENCH_QUIET="waited ${QUIET_WAITED} s in all for other processes to go under ${QUIET_CORES} cores (limit ${QUIET_WAIT} s); ${QUIET_GAVE_UP} timed command(s) started without that"
export BENCH_END=$(date '+%Y-%m-%d %H:%M:%S %Z')
export BENCH_LOADAVG_END=$(cut -d' ' -f1-3 /proc/loadavg)
export BENCH_UPTIME_END=$(uptime)
export BENCH_ROWS=$ROWS BENCH_COLS=$COLS BENCH_K=$K BENCH_P=$P BENCH_Q=$Q BENCH_K_BIG=$K_BIG
export BENCH_SMALL="$SMALL_ROWS x $SMALL_COLS" BENCH_CHUNK=$CHUNK BENCH_GZIP=$GZIP BENCH_REPEAT=$REPEAT BENCH_SETTLE=$SETTLE
save_settings
