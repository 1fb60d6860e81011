# Shared by the benchmark helper scripts bench/bench.py runs (run.sh, roofline.sh, oocore.sh,
# sparse.sh, checkpoint.sh); source it after setting ROOT (the build tree), OUT (scratch
# directory) and, for wait_quiet, QUIET_WAIT and QUIET_CORES.
#
#   say TEXT              a section heading on stderr
#   copy_build            PRSVD = a copy of the build under $OUT/build (LD_LIBRARY_PATH set)
#   stamp_start           BENCH_START, load average, git HEAD and uncommitted files, exported
#   cpu_mark              CPU_MARK = machine busy ticks and this shell's children's CPU time
#   others_cores M0 M1 T0 T1   cores other processes used between two marks
#   wait_quiet            wait (QUIET_WAIT s at most over the run) for < QUIET_CORES others
#   busy_before           BENCH_OTHERS_BEFORE: a 3 s sample before the benchmark starts
#   ranked_time PREFIX FORMAT RANKS CMD...   CMD on RANKS ranks, each under GNU time
#   save_settings         the exported BENCH_* settings into $OUT/bench_env.json, where the
#                         question's report (bench/report.py) reads them

BENCH_NAME=${BENCH_NAME:-$(basename "$0")}

say() { printf '\n== %s\n' "$*" >&2; }

# A copy of the build's prsvd taken now, so that a rebuild in the tree while the benchmark runs
# cannot mix two builds (the program links the library's code in: it does not load libprsvd.so).
copy_build() {
  rm -rf "$OUT/build" && mkdir -p "$OUT/build"
  cp "$ROOT/prsvd" "$OUT/build/"
  PRSVD=$OUT/build/prsvd
  export BENCH_BUILD_ID=$(cd "$OUT/build" && sha256sum prsvd | cut -c1-12)
  export BENCH_BIN_TIME=$(date -r "$ROOT/prsvd" '+%Y-%m-%d %H:%M:%S %Z')
  "$PRSVD" --version > /dev/null
}

stamp_start() {
  export BENCH_START=$(date '+%Y-%m-%d %H:%M:%S %Z')
  export BENCH_LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
  export BENCH_GIT_HEAD=$(git -C "$ROOT" log -1 --format='%h %s' 2>/dev/null || echo unknown)
  export BENCH_GIT_DIRTY=$( (git -C "$ROOT" status --porcelain -- src io mpi configure.ac \
    Makefile.am 2>/dev/null || true) | awk '{print $2}' | paste -sd' ' -)
}

# CPU_MARK: busy ticks of the whole machine and CPU time of this shell's finished children,
# so that peers/contention.py can tell how much CPU other processes took during a run.
# (`times` must run in this shell, not in a $(...) subshell.)
cpu_mark() {
  times > "$OUT/times.txt"
  CPU_MARK="$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat) $(tail -n 1 "$OUT/times.txt")"
}

# others_cores MARK0 MARK1 T0 T1: cores other processes used between two marks
others_cores() {
  awk -v a="$1" -v b="$2" -v t0="$3" -v t1="$4" -v hz="$(getconf CLK_TCK)" '
    function own(m,   f, p, i, s) {
      split(m, f, " "); s = 0
      for (i = 2; i <= 3; i++) { split(f[i], p, "m"); sub("s", "", p[2]); s += p[1] * 60 + p[2] }
      return s
    }
    BEGIN { split(a, fa, " "); split(b, fb, " ")
            o = (fb[1] - fa[1]) / hz - (own(b) - own(a)); if (o < 0) o = 0
            printf "%.2f\n", o / (t1 - t0) }'
}

# wait_quiet: sample 1 s; while other processes use more than QUIET_CORES cores, keep
# sampling, up to QUIET_WAIT seconds over the whole run; then go ahead regardless (the
# contention during each run is measured and reported in any case).
QUIET_WAITED=0 QUIET_GAVE_UP=0
wait_quiet() {
  local a b t0 t1 c
  while :; do
    cpu_mark; a=$CPU_MARK; t0=$EPOCHREALTIME
    sleep 1
    t1=$EPOCHREALTIME; cpu_mark; b=$CPU_MARK
    c=$(others_cores "$a" "$b" "$t0" "$t1")
    awk -v c="$c" -v q="$QUIET_CORES" 'BEGIN { exit !(c <= q) }' && return 0
    if [ "$QUIET_WAITED" -ge "$QUIET_WAIT" ]; then
      QUIET_GAVE_UP=$((QUIET_GAVE_UP + 1))
      echo "$BENCH_NAME: other processes use $c cores; starting anyway (QUIET_WAIT used up)" >&2
      return 0
    fi
    [ "$QUIET_WAITED" -eq 0 ] && echo "$BENCH_NAME: other processes use $c cores; waiting for them" >&2
    QUIET_WAITED=$((QUIET_WAITED + 1))
  done
}

# How busy is the machine before we start? (3 s sample)
busy_before() {
  local q0 q1 qt0 qt1
  cpu_mark; q0=$CPU_MARK; qt0=$EPOCHREALTIME
  sleep 3
  qt1=$EPOCHREALTIME; cpu_mark; q1=$CPU_MARK
  export BENCH_OTHERS_BEFORE=$(others_cores "$q0" "$q1" "$qt0" "$qt1")
  if awk -v c="$BENCH_OTHERS_BEFORE" -v q="$QUIET_CORES" 'BEGIN { exit !(c > q) }'; then
    echo "$BENCH_NAME: WARNING: other processes are using $BENCH_OTHERS_BEFORE cores; timings may be inflated" >&2
  fi
}

# ranked_time PREFIX FORMAT RANKS CMD...: CMD alone (RANKS = 1) or under mpirun on RANKS ranks
# with one BLAS thread each, every process under GNU time writing FORMAT (peak RSS %M, CPU
# %U %S) to PREFIX.RANK (time's -o does not expand %q{...}, so each rank names its own file).
ranked_time() {
  local prefix=$1 format=$2 ranks=$3
  shift 3
  if [ "$ranks" -gt 1 ]; then
    OPENBLAS_NUM_THREADS=1 mpirun --oversubscribe -n "$ranks" -x OPENBLAS_NUM_THREADS -x LD_LIBRARY_PATH \
      bash -c 'exec /usr/bin/time -f "$1" -o "$0.$OMPI_COMM_WORLD_RANK" "${@:2}"' "$prefix" "$format" "$@"
  else
    /usr/bin/time -f "$format" -o "$prefix.0" "$@"
  fi
}

# save_settings: the BENCH_* variables exported so far, for the report bench/bench.py writes
# after this script (also when it re-renders a past run: --report-only)
save_settings() {
  /usr/bin/python3 -c 'import json, os; print(json.dumps({k: v for k, v in os.environ.items() if k.startswith("BENCH_")}, indent=1))' \
    > "$OUT/bench_env.json"
}
