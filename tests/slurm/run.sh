#!/usr/bin/env bash
# The SLURM job scripts (slurm/prsvd.sbatch, slurm/prsvd-array.sbatch; prsvd-requeue.sbatch's
# defaults, its requeue is requeue.sh's), their defaults (sbatch --test-only, a run against
# numpy) and prsvd's start-up check of the MPI world size (cli/slurm_check.c), on a real one-node SLURM cluster that this
# test starts with tools/slurm-local.sh: its own state directory under /tmp and a free port,
# no change to /etc.  It stops exactly the daemons it started at the end, also on failure.
#
# Needs root (the SLURM daemons run as root) and slurm-wlm + munge (tools/setup installs
# them; slurm-local.sh installs them if missing).  If the cluster cannot start, the test
# FAILS with the reason.  To leave it out knowingly, set PRSVD_TEST_SLURM=0 (exit 77: SKIP).
#
# Prints TAP-like lines and ends with "N passed, M failed".  Files: tests/slurm/tmp/ in the
# build directory (job logs, matrices, the daemons' logs in slurm-logs/).
set -uo pipefail

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-$srcdir}
PRSVD=$builddir/prsvd
PY=/usr/bin/python3
H5CHECK=$srcdir/tests/slurm/h5check.py
SLURM_LOCAL=$srcdir/tools/slurm-local.sh
SBATCH_ONE=$srcdir/slurm/prsvd.sbatch
SBATCH_ARRAY=$srcdir/slurm/prsvd-array.sbatch
SBATCH_REQUEUE=$srcdir/slurm/prsvd-requeue.sbatch
MPIRUN=${MPIEXEC:-mpirun}
read -r -a MPIFLAGS <<<"${MPIEXEC_FLAGS---oversubscribe}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export PRSVD_BIN=$PRSVD
unset PRSVD_INPUT PRSVD_RANK PRSVD_OUTPUT PRSVD_ARGS PRSVD_LAUNCHER PRSVD_SRUN_MPI PRSVD_VERIFY
# An outer SLURM job (CI inside SLURM) must not leak into the private cluster or mpirun.
for v in $(compgen -e); do case $v in SLURM_*) unset "$v" ;; esac; done

t_start=$SECONDS
passed=0 failed=0 n=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1"; }
# not_ok DESC [DETAIL...]: a failure, with each DETAIL as "#   " comment lines
not_ok() {
  n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift
  local d; for d in "$@"; do printf '%s\n' "$d" | sed 's/^/#   /'; done
}
comment() { printf '%s\n' "$@" | sed 's/^/#   /'; }
# check DESC CMD...: ok when CMD succeeds; its output becomes comment lines either way
check() {
  local d=$1 out; shift
  if out=$("$@" 2>&1); then ok "$d"; [ -z "$out" ] || comment "$out"; else not_ok "$d" "$out"; fi
}
finish() {
  echo "# slurm tests took $((SECONDS - t_start)) s"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

if [ "${PRSVD_TEST_SLURM:-1}" = 0 ]; then
  echo "# SKIP: PRSVD_TEST_SLURM=0: the SLURM tests were left out on purpose"
  exit 77
fi

W=$builddir/tests/slurm/tmp
rm -rf "$W" && mkdir -p "$W" || { not_ok "create $W"; finish; }

# ---- the private cluster ----------------------------------------------------------------
# A short directory: the munge socket path must stay under 108 characters.
export SLURM_LOCAL_DIR SLURM_LOCAL_PORT=auto SLURM_LOCAL_LINK_ETC=0
SLURM_LOCAL_DIR=$(mktemp -d /tmp/prsvd-slurm-test.XXXXXX) || { not_ok "mktemp"; finish; }
cleanup() {
  local rc=$?
  if ! "$SLURM_LOCAL" stop >>"$W/slurm-local.log" 2>&1; then
    echo "# WARNING: tools/slurm-local.sh stop failed, see $W/slurm-local.log"
  fi
  cp -r "$SLURM_LOCAL_DIR/log" "$W/slurm-logs" 2>/dev/null
  rm -rf "$SLURM_LOCAL_DIR"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$(id -u)" != 0 ]; then
  not_ok "start a local SLURM cluster" "must run as root: slurmctld and slurmd run as root" \
    "(set PRSVD_TEST_SLURM=0 to leave the SLURM tests out)"
  finish
fi
t0=$SECONDS
if ! out=$("$SLURM_LOCAL" start 2>&1); then
  not_ok "start a local SLURM cluster (tools/slurm-local.sh start)" "$out"
  finish
fi
echo "$out" >"$W/slurm-local.log"
eval "$("$SLURM_LOCAL" env)" # SLURM_CONF, for sbatch, squeue, scontrol here and srun in jobs
ok "local SLURM cluster started in $((SECONDS - t0)) s ($(grep -o 'SlurmctldPort=[0-9]*' "$SLURM_CONF"))"
check "sinfo: one node, idle" bash -c "sinfo -h -N -o '%N %T %c' | tee /dev/stderr | grep -qE ' idle [0-9]+$'"
# The first job step of a freshly started slurmd once failed to launch ("launch_p_step_launch:
# StepId=1.0 aborted before step completely launched", srun exiting 0): a warm-up step with PMIx
# first, retried, so the templates' tests below meet a node that has launched a step.
warm=""
for _ in 1 2 3; do
  if warm=$(srun -N1 -n1 --mpi=pmix true 2>&1); then break; fi
  sleep 1
done
comment "warm-up step: ${warm:-ok}"

# ---- helpers ------------------------------------------------------------------------------
# job_wait ID [SECONDS]: wait until job ID (all tasks of an array) has ended.  sbatch --wait
# sleeps 2, 8, 32 s between its polls; this polls every 0.25 s.  A busy slurmctld can time out
# a query ("Socket timed out on send/recv operation", seen under a loaded make check): ask again.
job_wait() {
  local id=$1 limit=${2:-120} i info=""
  for ((i = 0; i < limit * 4; i++)); do
    if ! info=$(scontrol -o show job "$id" 2>&1); then
      grep -q "Invalid job id" <<<"$info" && { echo "scontrol show job $id: $info"; return 1; }
      sleep 0.25
      continue
    fi
    grep -qE 'JobState=(PENDING|CONFIGURING|RUNNING|COMPLETING|SUSPENDED|REQUEUED|RESIZING|SIGNALING|STAGE_OUT)' \
      <<<"$info" || return 0
    if grep -q 'Reason=DependencyNeverSatisfied' <<<"$info"; then
      echo "# job $id will never run: Reason=DependencyNeverSatisfied"
      return 1
    fi
    sleep 0.25
  done
  echo "# job $id has not ended after ${limit} s: $(grep -oE 'JobState=[A-Z_]+ Reason=[^ ]+' <<<"$info")"
  return 1
}
# job_field ID FIELD: FIELD of job ID from scontrol (first record), e.g. ExitCode -> "5:0";
# a query the busy slurmctld timed out is asked again, up to 5 times
job_field() {
  local info i
  for ((i = 0; i < 5; i++)); do
    info=$(scontrol -o show job "$1" 2>/dev/null) && break
    sleep 1
  done
  head -n1 <<<"$info" | grep -oE "(^| )$2=[^ ]*" | cut -d= -f2-
}
job_rc() { local e; e=$(job_field "$1" ExitCode); echo "${e%%:*}"; }
# submit ARGS...: sbatch --parsable, prints the job ID.  The templates ask for 1 CPU a rank by
# default (e. checks that they fit this node as they are); the jobs here say -c 1 all the same.
submit() { sbatch --parsable "$@" | cut -d';' -f1; }
# no_output FILE: FILE and its temporaries (.FILE.tmp.PID) are absent
no_output() {
  local d b left; d=$(dirname "$1") b=$(basename "$1")
  left=$(ls -a "$d" | grep -E "^(\\.$b\\.tmp\\.[0-9]+|$b)\$")
  [ -z "$left" ] || { echo "left behind in $d: $left"; return 1; }
}
mpi() { "$MPIRUN" "${MPIFLAGS[@]}" -n "$@"; }

# ---- inputs and references, run directly under mpirun (no SLURM) --------------------------
t0=$SECONDS
setup_err=$(
  set -e
  exec 2>&1 >/dev/null
  mpi 2 "$PRSVD" gen "$W/a.h5:/A" --rows 2000 --cols 200 --spectrum poly --decay 1
  mpi 2 "$PRSVD" gen "$W/b.h5:/B" --rows 1500 --cols 120 --spectrum exp --decay 0.05 \
    --dtype float32 --chunk 100x120 --gzip 1 --seed 3
  mpi 2 "$PRSVD" gen "$W/c.h5:/C" --rows 1000 --cols 80 --spectrum poly --decay 2 --seed 4
  mpi 2 "$PRSVD" svd "$W/a.h5:/A" -k 5 -o "$W/a.ref.h5" --quiet
  mpi 2 "$PRSVD" svd "$W/b.h5:/B" -k 4 -o "$W/b.ref.h5" --quiet
  mpi 2 "$PRSVD" svd "$W/c.h5:/C" -k 6 -o "$W/c.ref.h5" --quiet -q 2 --memory 64K
) || { not_ok "generate 3 matrices and their reference SVDs under mpirun -n 2" "$setup_err"; finish; }
ok "generated 3 matrices and their reference SVDs under mpirun -n 2 ($((SECONDS - t0)) s)"

# ---- a. prsvd.sbatch with srun --mpi=pmix (the default), sbatch --wait ---------------------
t0=$SECONDS
(unset OPENBLAS_NUM_THREADS OMP_NUM_THREADS # the script's own default applies
  exec timeout 180 sbatch --wait -n 2 -c 1 -o "$W/a.log" "$SBATCH_ONE" "$W/a.h5:/A" 5 "$W/a.svd.h5" >/dev/null)
rc=$?
if [ $rc -eq 0 ]; then ok "a. sbatch --wait -n 2 prsvd.sbatch (srun --mpi=pmix): exit 0 ($((SECONDS - t0)) s)"
else not_ok "a. sbatch --wait -n 2 prsvd.sbatch (srun --mpi=pmix): exit 0" "exit $rc" "$(cat "$W/a.log" 2>&1)"; fi
check "a. the job ran srun --mpi=pmix" grep -E "^prsvd.sbatch: srun --mpi=pmix " "$W/a.log"
check "a. -c 1: one compute thread a rank (--threads 1)" grep -E " 2 tasks x 1 CPU\(s\), " "$W/a.log"
check "a. prsvd ran on 2 ranks" grep -E ": 2000 x 200 float64 on 2 ranks$" "$W/a.log"
check "a. a.svd.h5 is one 2-rank run (nprocs = 2)" $PY "$H5CHECK" attr "$W/a.svd.h5" nprocs 2
check "a. /S, /U, /V equal those of mpirun -n 2 prsvd svd run directly (S to 1e-10)" \
  $PY "$H5CHECK" same "$W/a.svd.h5" "$W/a.ref.h5" 1e-10

# ---- b. the same with PRSVD_LAUNCHER=mpirun, arguments through the environment ------------
t0=$SECONDS
jid=$(PRSVD_LAUNCHER=mpirun PRSVD_INPUT="$W/a.h5:/A" PRSVD_RANK=5 PRSVD_OUTPUT="$W/b.svd.h5" \
  PRSVD_ARGS="--seed 0 -p 10" submit -n 2 -c 1 -o "$W/b.log" "$SBATCH_ONE")
if job_wait "$jid" && [ "$(job_rc "$jid")" = 0 ]; then
  ok "b. PRSVD_LAUNCHER=mpirun, PRSVD_INPUT/RANK/OUTPUT/ARGS: job $jid exit 0 ($((SECONDS - t0)) s)"
else
  not_ok "b. PRSVD_LAUNCHER=mpirun: job exit 0" "ExitCode=$(job_field "$jid" ExitCode)" "$(cat "$W/b.log" 2>&1)"
fi
check "b. the job ran mpirun -n 2 with the PRSVD_ARGS options" \
  grep -E "^prsvd.sbatch: mpirun -n 2 .* svd $W/a.h5:/A -k 5 -o $W/b.svd.h5 --threads 1 --seed 0 -p 10$" "$W/b.log"
check "b. b.svd.h5 is one 2-rank run (nprocs = 2)" $PY "$H5CHECK" attr "$W/b.svd.h5" nprocs 2
check "b. /S, /U, /V equal the direct run's (S to 1e-10)" \
  $PY "$H5CHECK" same "$W/b.svd.h5" "$W/a.ref.h5" 1e-10

# ---- c. launchers that do not make one MPI world of the tasks -----------------------------
# c1. srun --mpi=none through the template.  Debian's Open MPI (no SLURM PMI-1/2 support)
# aborts in MPI_Init before prsvd runs; an MPI without that guard (e.g. MPICH) starts
# single-rank copies, which prsvd's check stops with exit code 5.
t0=$SECONDS
jid=$(PRSVD_SRUN_MPI=none submit -n 2 -c 1 -o "$W/c1.log" "$SBATCH_ONE" "$W/a.h5:/A" 5 "$W/c1.svd.h5")
job_wait "$jid" >/dev/null
rc=$(job_rc "$jid")
if grep -q "MPI world size 1 does not match SLURM_STEP_NUM_TASKS=2" "$W/c1.log"; then
  if [ "$rc" = 5 ]; then ok "c1. srun --mpi=none: prsvd's check stops the job, exit 5 ($((SECONDS - t0)) s)"
  else not_ok "c1. srun --mpi=none: prsvd's message, so exit 5" "exit $rc" "$(cat "$W/c1.log")"; fi
elif grep -q "OMPI was not built with SLURM's PMI support" "$W/c1.log"; then
  if [ -n "$rc" ] && [ "$rc" != 0 ]; then
    ok "c1. srun --mpi=none: Open MPI refuses in MPI_Init (no SLURM PMI support), job exit $rc ($((SECONDS - t0)) s)"
  else not_ok "c1. srun --mpi=none: job fails" "exit '$rc'" "$(cat "$W/c1.log")"; fi
else
  not_ok "c1. srun --mpi=none: job fails with prsvd's or Open MPI's message" "exit '$rc'" "$(cat "$W/c1.log")"
fi
check "c1. no output and no temporary file" no_output "$W/c1.svd.h5"

# c2. srun -n 2 around mpirun -n 1: two separate single-rank copies of prsvd, each with world
# size 1 in a step of 2 tasks.  prsvd must stop both before they read or write anything.
t0=$SECONDS
jid=$(submit -n 2 -c 1 -o "$W/c2.log" \
  --wrap "srun --mpi=pmix mpirun -n 1 '$PRSVD' svd '$W/a.h5:/A' -k 5 -o '$W/c2.svd.h5'")
job_wait "$jid" >/dev/null
rc=$(job_rc "$jid")
if [ "$rc" = 5 ]; then ok "c2. srun -n 2 mpirun -n 1 prsvd svd: job exit 5 ($((SECONDS - t0)) s)"
else not_ok "c2. srun -n 2 mpirun -n 1 prsvd svd: job exit 5" "exit '$rc'" "$(cat "$W/c2.log")"; fi
msg="prsvd: error: MPI world size 1 does not match SLURM_STEP_NUM_TASKS=2: the launcher started 2 separate single-rank copies (use srun --mpi=pmix or mpirun, not srun --mpi=none or srun ... mpirun)"
count=$(grep -cxF "$msg" "$W/c2.log")
if [ "$count" = 2 ]; then ok "c2. the message, once per copy (2 copies): $msg"
else not_ok "c2. the message once per copy (2 lines)" "found $count times" "$(cat "$W/c2.log")"; fi
check "c2. no output and no temporary file" no_output "$W/c2.svd.h5"

# c3. No false alarm where a world smaller than the allocation is meant, or where mpirun made
# the world inside a smaller srun step (as Open MPI's daemons on other nodes are).
cat >"$W/c3.sh" <<EOF
#!/bin/bash
# each line: "rc=N label"
P='$PRSVD'; A='$W/a.h5:/A'
# a step that a busy slurmctld timed out ("Socket timed out", "Unable to confirm allocation")
# is started again: the check is about prsvd's world-size test, not the controller's load
srun() {
  local try err=\$(mktemp) rc
  for try in 1 2 3; do
    command srun "\$@" 2>"\$err"; rc=\$?
    grep -qE 'timed out|Unable to confirm allocation' "\$err" || break
    sleep 2
  done
  cat "\$err" >&2; rm -f "\$err"; return \$rc
}
"\$P" info "\$A" -k 5 >/dev/null; echo "rc=\$? prsvd info run directly in a 2-task batch job"
mpirun -n 1 "\$P" info "\$A" -k 5 >/dev/null; echo "rc=\$? mpirun -n 1 prsvd info in a 2-task job"
srun --mpi=pmix -n 1 "\$P" info "\$A" -k 5 >/dev/null; echo "rc=\$? srun --mpi=pmix -n 1 prsvd info"
srun --mpi=pmix -n 1 mpirun --oversubscribe -n 2 "\$P" info "\$A" -k 5 >/dev/null
echo "rc=\$? srun -n 1 mpirun -n 2 prsvd info (mpirun's world inside a 1-task step)"
srun --mpi=pmix -n 2 mpirun -n 1 "\$P" --version >/dev/null; echo "rc=\$? srun -n 2 mpirun -n 1 prsvd --version"
EOF
t0=$SECONDS
jid=$(submit -n 2 -c 1 -o "$W/c3.log" "$W/c3.sh")
job_wait "$jid" >/dev/null
c3=$(grep -E '^rc=' "$W/c3.log")
if [ "$(grep -c '^rc=0 ' <<<"$c3")" = 5 ]; then
  ok "c3. no false alarm: 5 launches that are meant that way succeed ($((SECONDS - t0)) s)"
  comment "$c3"
else not_ok "c3. no false alarm: 5 launches succeed" "$(cat "$W/c3.log")"; fi

# ---- d. the job array on 2 matrices, then prsvd verify with --dependency=afterok ------------
cat >"$W/list.txt" <<EOF
# matrices for tests/slurm: comment and blank lines are skipped

$W/b.h5:/B   4  $W/arr-b.svd.h5
$W/c.h5:/C   6  $W/arr-c.svd.h5   -q 2 --memory 64K
EOF
t0=$SECONDS
arr=$(submit --array=1-2 -n 2 -c 1 -o "$W/d-%A_%a.log" "$SBATCH_ARRAY" "$W/list.txt")
ver=$(submit --dependency=afterok:"$arr" --array=1-2 -n 2 -c 1 --export=ALL,PRSVD_VERIFY=1 \
  -o "$W/dv-%A_%a.log" "$SBATCH_ARRAY" "$W/list.txt")
if job_wait "$arr" && [ "$(job_rc "${arr}_1")" = 0 ] && [ "$(job_rc "${arr}_2")" = 0 ]; then
  ok "d. array job $arr: tasks 1 and 2 exit 0 ($((SECONDS - t0)) s)"
else
  not_ok "d. array job $arr: tasks 1 and 2 exit 0" "$(scontrol -o show job "$arr" | grep -oE 'JobId=[^ ]+|ArrayTaskId=[^ ]+|JobState=[^ ]+|ExitCode=[^ ]+' | paste -sd' ')" \
    "$(cat "$W"/d-*.log 2>&1)"
fi
check "d. task 1 decomposed b.h5 (float32, chunked, gzip): equal to the direct run (S to 1e-10)" \
  $PY "$H5CHECK" same "$W/arr-b.svd.h5" "$W/b.ref.h5" 1e-10
check "d. task 2 decomposed c.h5 with its line's options (-q 2 --memory 64K)" \
  $PY "$H5CHECK" contains "$W/arr-c.svd.h5" command_line "-k 6 -o $W/arr-c.svd.h5 --threads 1 -q 2 --memory 64K"
check "d. task 2: equal to the direct run (S to 1e-10)" $PY "$H5CHECK" same "$W/arr-c.svd.h5" "$W/c.ref.h5" 1e-10
if job_wait "$ver" 60 && [ "$(job_rc "${ver}_1")" = 0 ] && [ "$(job_rc "${ver}_2")" = 0 ]; then
  ok "d. verify array $ver (--dependency=afterok:$arr, PRSVD_VERIFY=1): tasks exit 0 ($((SECONDS - t0)) s)"
else
  not_ok "d. verify array $ver after afterok:$arr: tasks exit 0" "$(cat "$W"/dv-*.log 2>&1)"
  scancel "$ver" 2>/dev/null
fi
# It started only after the array ended (second resolution), and the residuals are near optimal.
end_svd=$(for t in 1 2; do job_field "${arr}_$t" EndTime; done | sort | tail -n1)
start_ver=$(for t in 1 2; do job_field "${ver}_$t" StartTime; done | sort | head -n1)
states=$(for t in 1 2; do job_field "${ver}_$t" JobState; done | paste -sd' ')
if [ "$states" = "COMPLETED COMPLETED" ] && [ -n "$end_svd" ] && [[ ! $start_ver < $end_svd ]]; then
  ok "d. verify started ($start_ver) after the last svd task ended ($end_svd)"
else not_ok "d. verify ran, after the svd tasks ended" "verify: $states, svd ended '$end_svd', verify started '$start_ver'"; fi
for t in 1 2; do
  log=$(ls "$W"/dv-*_$t.log 2>/dev/null | head -n1)
  r=$(sed -nE 's/^ *\|\|A - U S V\^T\|\|_F \/ \|\|A - A_k\|\|_F +([0-9.]+).*/\1/p' "$log" 2>/dev/null)
  if [ -n "$r" ] && $PY -c "import sys; sys.exit(not 1 <= float('$r') <= 1.1)"; then
    ok "d. verify task $t: ||A - USV^T||_F / ||A - A_k||_F = $r (<= 1.1)"
  else not_ok "d. verify task $t: residual within 1.1 of optimal" "$(cat "$log" 2>&1)"; fi
done

# afterok on a failed array: the dependent job never starts (DependencyNeverSatisfied).
echo "$W/missing.h5:/X 3 $W/missing.svd.h5" >"$W/bad-list.txt"
bad=$(submit --array=1 -n 1 -c 1 -o "$W/bad-%A_%a.log" "$SBATCH_ARRAY" "$W/bad-list.txt")
dep=$(submit --dependency=afterok:"$bad" -n 1 -o "$W/dep.log" --wrap "touch '$W/dep-ran'")
job_wait "$bad" >/dev/null
rc=$(job_rc "${bad}_1")
reason=""
for _ in $(seq 40); do
  reason=$(job_field "$dep" Reason)
  [ "$reason" = DependencyNeverSatisfied ] && break
  sleep 0.25
done
if [ "$rc" = 2 ] && grep -q "prsvd: error:.*missing.h5" "$W"/bad-*.log; then
  ok "d. a task whose input is missing fails with exit 2 and prsvd's message"
else not_ok "d. a task whose input is missing: exit 2" "exit '$rc'" "$(cat "$W"/bad-*.log)"; fi
if [ "$reason" = DependencyNeverSatisfied ] && [ "$(job_field "$dep" JobState)" = PENDING ] && [ ! -e "$W/dep-ran" ]; then
  ok "d. the job after it with afterok stays PENDING (DependencyNeverSatisfied) and does not run"
else not_ok "d. afterok on a failed task: dependent job does not run" "state $(job_field "$dep" JobState), reason '$reason'"; fi
scancel "$dep" 2>/dev/null

# ---- e. the templates as they are: their defaults fit this node ---------------------------
# sbatch --test-only asks the controller where and when a job would start, without queueing
# it.  A template whose defaults ask for more CPUs than a node has is queued all the same and
# pends for ever (Reason=PartitionConfig): what -n 2 with 2 CPUs a rank did on this 2-CPU node.
node_cpus=$(sinfo -h -N -o '%c' | sort -n | tail -n1)
test_only() { sbatch --test-only "$@" 2>&1; }
for t in "prsvd.sbatch:$SBATCH_ONE $W/a.h5:/A 5 $W/e.svd.h5" \
  "prsvd-array.sbatch:--array=1-2 $SBATCH_ARRAY $W/list.txt" \
  "prsvd-requeue.sbatch:$SBATCH_REQUEUE $W/a.h5:/A 5 $W/e.svd.h5" \
  "prsvd.sbatch -n 2:-n 2 $SBATCH_ONE $W/a.h5:/A 5 $W/e.svd.h5"; do
  name=${t%%:*}
  read -r -a args <<<"${t#*:}"
  out=$(test_only "${args[@]}")
  if grep -qE "Job [0-9]+ to start at .* using [0-9]+ processors on nodes " <<<"$out"; then
    ok "e. sbatch --test-only $name (its defaults): scheduled on this ${node_cpus}-CPU node"
    comment "$out"
  else not_ok "e. sbatch --test-only $name (its defaults): scheduled on this ${node_cpus}-CPU node" "$out"; fi
done
out=$(test_only -n 1 -c $((node_cpus + 1)) "$SBATCH_ONE" "$W/a.h5:/A" 5 "$W/e.svd.h5")
if grep -q "Requested node configuration is not available" <<<"$out"; then
  ok "e. sbatch --test-only -c $((node_cpus + 1)) (more CPUs a task than a node has): refused"
  comment "$out"
else not_ok "e. sbatch --test-only -c $((node_cpus + 1)): refused" "$out"; fi

# A real run of prsvd.sbatch with its defaults at -n 2 (no -c), on a matrix of rank 8 whose
# top 5 singular triplets the sketch (k + p = 15 columns) finds exactly: against numpy.
if out=$($PY "$H5CHECK" lowrank "$W/low.h5" L 600 90 8 2>&1); then
  t0=$SECONDS
  (exec timeout 180 sbatch --wait -n 2 -o "$W/e.log" "$SBATCH_ONE" "$W/low.h5:/L" 5 "$W/e.svd.h5" >/dev/null)
  rc=$?
  if [ $rc -eq 0 ]; then ok "e. sbatch --wait -n 2 prsvd.sbatch (defaults, no -c): exit 0 ($((SECONDS - t0)) s)"
  else not_ok "e. sbatch --wait -n 2 prsvd.sbatch (defaults): exit 0" "exit $rc" "$(cat "$W/e.log" 2>&1)"; fi
  check "e. 2 tasks x 1 CPU, prsvd --threads 1, on 2 ranks" \
    bash -c "grep -E ' 2 tasks x 1 CPU\\(s\\), ' '$W/e.log' && grep -E '^prsvd.sbatch: srun .* --threads 1$' '$W/e.log' && grep -E ': 600 x 90 float64 on 2 ranks$' '$W/e.log'"
  check "e. /S, /U, /V equal numpy.linalg.svd's (1e-10)" $PY "$H5CHECK" numpy "$W/e.svd.h5" "$W/low.h5" L 1e-10
  # hybrid: one rank of 2 threads, where the node has 2 CPUs
  if [ "$node_cpus" -ge 2 ]; then
    (exec timeout 180 sbatch --wait -n 1 -c 2 -o "$W/e2.log" "$SBATCH_ONE" "$W/low.h5:/L" 5 "$W/e2.svd.h5" >/dev/null)
    rc=$?
    if [ $rc -eq 0 ] && grep -qE '^prsvd.sbatch: srun .* --threads 2$' "$W/e2.log" &&
      grep -qE '^  1 rank x 2 threads ' "$W/e2.log"; then
      ok "e. sbatch -n 1 -c 2 prsvd.sbatch: 1 rank x 2 threads, exit 0"
    else not_ok "e. sbatch -n 1 -c 2 prsvd.sbatch: 1 rank x 2 threads, exit 0" "exit $rc" "$(cat "$W/e2.log" 2>&1)"; fi
    check "e. -n 1 -c 2: equal numpy.linalg.svd's (1e-10)" $PY "$H5CHECK" numpy "$W/e2.svd.h5" "$W/low.h5" L 1e-10
  fi
else not_ok "e. write a rank-8 matrix with numpy" "$out"; fi

finish
