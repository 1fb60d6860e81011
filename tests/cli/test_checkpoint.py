"""Checkpoint and resume (issue 6) without SLURM, at 1 and 3 ranks: stopped at exact panel
steps (PRSVD_TEST_STOP_AT_STEP) in the first pass, at the end of a pass, in a later pass and
in the extra pass, SIGTERM while the output is written and just after it is renamed into
place (PRSVD_TEST_SIGTERM_AT_WRITE=1, =commit);
a resume gives the uninterrupted result to 1e-12, also with collective MPI-IO reads at 2 ranks
where one rank joins the other's last read; SIGUSR1 to mpirun;
kill -9 of one rank leaves no output and the last periodic checkpoint resumes; a resume
with another input, other options or another number of ranks is refused."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (MPIEXEC, MPIFLAGS, PRSVD, check, gen, load, panel_steps, path, run,  # noqa: E402
                     stop_at, temp_leftovers, WORK)

BASE = ["-k", 10, "-q", 2, "--memory", "64K"]  # 13 rows a panel: 462 steps a pass on 1 rank


def svd_args(inp, out, extra=()):
    return ["svd", inp, *BASE, "-o", out, "--quiet", *extra]


def same(a, b, tol):
    x, y = load(a), load(b)
    return max(np.max(np.abs(x[i] - y[i])) for i in range(3)) <= tol

_cache = {}


def inputs():
    """The inputs, made once: (a 6000 x 300 poly-spectrum matrix, an exact rank-5 3000 x 200 one)."""
    if "spec" not in _cache:
        _cache["spec"] = gen("a.h5", 6000, 300, "--spectrum", "poly", "--decay", "1")
        _cache["rank5"] = gen("r5.h5", 3000, 200, "--spectrum", "lowrank-noise", "--rank", "5", "--noise", "0")
    return _cache["spec"], _cache["rank5"]


def big_input():
    """A 20000 x 400 poly-spectrum matrix for the runs signalled or killed, made once."""
    if "big" not in _cache:
        _cache["big"] = gen("big.h5", 20000, 400, "--spectrum", "poly")
    return _cache["big"]


def reference(ranks):
    """The uninterrupted run of the 6000 x 300 input at `ranks`, made (and checked) once:
    (its output, the file bytes it read)."""
    if ("ref", ranks) not in _cache:
        ref = path(f"ref.{ranks}.h5")
        r = run(svd_args(inputs()[0], ref, ["--json"]), ranks=ranks)
        check(f"{ranks} rank(s): uninterrupted reference", r.returncode == 0, r.stderr)
        _cache[("ref", ranks)] = ref, json.loads(r.stdout)["file_bytes_read"] if r.returncode == 0 else 0
    return _cache[("ref", ranks)]


def reference5(ranks):
    """The uninterrupted run of the rank-5 input at `ranks`, made once: its output."""
    if ("ref5", ranks) not in _cache:
        ref5 = path(f"ref5.{ranks}.h5")
        run(svd_args(inputs()[1], ref5), ranks=ranks)
        _cache[("ref5", ranks)] = ref5
    return _cache[("ref5", ranks)]


def test_stops_in_and_between_passes():
    """Stopped in the first pass, at its end and in the third, at 1 and 3 ranks: exit 99 saying where; the rerun resumes to 1e-12."""
    spec = inputs()[0]
    for ranks in [1, 3]:
        ref = reference(ranks)[0]
        steps_per_pass, block_end = panel_steps(6000, 300, 64 << 10, ranks)
        for label, step, where in [("in the first pass", 40, "in pass 1 at row "),
                                   ("at the end of the first pass", steps_per_pass, f"in pass 1 at row {block_end};"),
                                   ("in the third pass", 2 * steps_per_pass + 17, "in pass 3 at row ")]:
            out, ck = path(f"out.{ranks}.h5"), path(f"ck.{ranks}.h5")
            r = stop_at(step, svd_args(spec, out, ["--checkpoint", ck]), ranks)
            check(f"{ranks} rank(s), stopped {label}: exit 99 {where.strip(' ;')}",
                  r.returncode == 99 and where in r.stderr, f"{r.returncode} {r.stderr}")
            check(f"{ranks} rank(s), stopped {label}: says where and how to resume",
                  "prsvd: checkpointed: state saved in" in r.stderr and "rerun the same command" in r.stderr, r.stderr)
            check(f"{ranks} rank(s), stopped {label}: checkpoint written, no output",
                  os.path.exists(ck) and not os.path.exists(out) and not temp_leftovers())
            r = run(svd_args(spec, out, ["--checkpoint", ck]), ranks=ranks)
            if check(f"{ranks} rank(s), stopped {label}: the rerun resumes and finishes", r.returncode == 0, r.stderr):
                check(f"{ranks} rank(s), stopped {label}: same factors as uninterrupted to 1e-12", same(out, ref, 1e-12))
                check(f"{ranks} rank(s), stopped {label}: checkpoint removed after success", not os.path.exists(ck))
                check(f"{ranks} rank(s), stopped {label}: passes counted across the stop",
                      load(out)[3]["passes"] == load(ref)[3]["passes"] == 3)
            if os.path.exists(out):
                os.unlink(out)


def test_stop_in_extra_pass():
    """Stopped inside the extra pass B = Q^T A (exact rank 5 at k = 10), at 1 and 3 ranks: the resume gives U S V^T to 1e-12."""
    rank5 = inputs()[1]
    for ranks in [1, 3]:
        # the extra pass (exact rank 5 at k = 10 makes R singular): stop inside it
        ref5, out5, ck5 = reference5(ranks), path(f"out5.{ranks}.h5"), path(f"ck5.{ranks}.h5")
        spp = panel_steps(3000, 200, 64 << 10, ranks)[0]
        r = stop_at(3 * spp + 5, svd_args(rank5, out5, ["--checkpoint", ck5]), ranks)
        check(f"{ranks} rank(s), stopped in the extra pass B = Q^T A: exit 99 in pass 4",
              r.returncode == 99 and "in pass 4 at row" in r.stderr, r.stderr)
        r = run(svd_args(rank5, out5, ["--checkpoint", ck5]), ranks=ranks)
        if check(f"{ranks} rank(s), extra pass resumed", r.returncode == 0, r.stderr):
            x, y = load(out5), load(ref5)
            d = np.max(np.abs((x[0] * x[1]) @ x[2].T - (y[0] * y[1]) @ y[2].T))
            check(f"{ranks} rank(s), extra pass: same U S V^T as uninterrupted to 1e-12, 4 passes",
                  d < 1e-12 and x[3]["passes"] == 4, f"{d} {x[3]['passes']}")


def test_sigterm_during_write():
    """SIGTERM once U is in the temporary output of a resumed run: exit 143, the previous file and the checkpoint byte for byte."""
    spec = inputs()[0]
    for ranks in [1, 3]:
        ref, ref_read = reference(ranks)
        ref5 = reference5(ranks)
        # SIGTERM on every rank once U is in the temporary output (PRSVD_TEST_SIGTERM_AT_WRITE),
        # replacing a previous file with --force, after a stop left a checkpoint in pass 1
        out, ck, what = path(f"outw.{ranks}.h5"), path(f"ckw.{ranks}.h5"), f"{ranks} rank(s), SIGTERM during the write"
        shutil.copy(ref5, out)
        with open(out, "rb") as f:
            previous = f.read()
        args = svd_args(spec, out, ["--checkpoint", ck, "--force"])
        r = stop_at(40, args, ranks)
        check(f"{what}: a stop in pass 1 left a checkpoint first", r.returncode == 99 and os.path.exists(ck), r.stderr)
        saved = open(ck, "rb").read() if os.path.exists(ck) else None
        # 1 rank without mpirun, as stop_at runs it (mpirun -n 1's abort path costs ~2 s a run)
        r = run(args, ranks=ranks if ranks > 1 else None, env={"PRSVD_TEST_SIGTERM_AT_WRITE": "1"})
        check(f"{what}: exit 143, no output written", r.returncode == 143 and
              "prsvd: interrupted: no output written" in r.stderr, f"{r.returncode} {r.stderr}")
        with open(out, "rb") as f:
            check(f"{what}: the previous output intact byte for byte, no temporary",
                  f.read() == previous and not temp_leftovers(), os.listdir(WORK))
        if check(f"{what}: the checkpoint kept as saved", os.path.exists(ck)):
            with open(ck, "rb") as f:
                check(f"{what}: the checkpoint unchanged byte for byte", f.read() == saved)
        r = run(args + ["--json"], ranks=ranks)
        if check(f"{what}: the rerun finishes", r.returncode == 0, r.stderr):
            check(f"{what}: the rerun resumed (read fewer file bytes than an uninterrupted run)",
                  json.loads(r.stdout)["file_bytes_read"] < ref_read, f"{r.stdout[-300:]} {ref_read}")
            check(f"{what}: same factors as uninterrupted to 1e-12", same(out, ref, 1e-12))
            check(f"{what}: checkpoint removed after success", not os.path.exists(ck))


def test_sigterm_after_rename():
    """SIGTERM just after the output is renamed into place: exit 143 saying it was written in full, and it equals the reference."""
    spec = inputs()[0]
    for ranks in [1, 3]:
        ref = reference(ranks)[0]
        # SIGTERM just after the output is renamed into place, before the checkpoint is removed:
        # the run says the output is complete (not "no output written") and it is
        out, ck, what = path(f"outc.{ranks}.h5"), path(f"ckc.{ranks}.h5"), f"{ranks} rank(s), SIGTERM after the rename"
        args = svd_args(spec, out, ["--checkpoint", ck, "--force"])
        r = run(args, ranks=ranks if ranks > 1 else None, env={"PRSVD_TEST_SIGTERM_AT_WRITE": "commit"})
        check(f"{what}: exit 143, says the output was written in full", r.returncode == 143 and
              f"prsvd: interrupted: '{out}' was written in full" in r.stderr and "no output written" not in r.stderr,
              f"{r.returncode} {r.stderr}")
        check(f"{what}: the output equals the uninterrupted run to 1e-12, no temporary",
              os.path.exists(out) and same(out, ref, 1e-12) and not temp_leftovers(), os.listdir(WORK))


def test_pca_scale_resume():
    """pca --scale stopped at steps 30 and 300 at 2 ranks resumes to the same variances, statistics and U S V^T (1e-12)."""
    spec = inputs()[0]
    # PCA resumes too (the column statistics of the first pass are part of the state)
    ref, out, ck = path("pref.h5"), path("pout.h5"), path("pck.h5")
    r0 = run(["pca", spec, *BASE, "-o", ref, "--quiet", "--force", "--scale"], ranks=2)  # uninterrupted, once
    for step in [30, 300]:
        r = stop_at(step, ["pca", spec, *BASE, "-o", out, "--quiet", "--checkpoint", ck, "--scale"], 2)
        check(f"pca --scale stopped at step {step}: exit 99", r.returncode == 99, r.stderr)
        r = run(["pca", spec, *BASE, "-o", out, "--quiet", "--checkpoint", ck, "--scale"], ranks=2)
        if check(f"pca --scale stopped at step {step}: resumed", r.returncode == 0 and r0.returncode == 0, r.stderr):
            with h5py.File(out) as f, h5py.File(ref) as g:
                d = max(np.max(np.abs(f[k][:] - g[k][:])) for k in ["explained_variance_ratio", "mean", "scale"])
                a_f = (f["U"][:] * f["S"][:]) @ f["V"][:].T
                a_g = (g["U"][:] * g["S"][:]) @ g["V"][:].T
                d2 = np.max(np.abs(a_f - a_g)) / np.max(np.abs(a_g))
            # the rank-10 PCA of the scaled matrix has close singular values, so single components
            # may turn by rounding; the variances, statistics and U S V^T are what must agree
            check(f"pca --scale stopped at step {step}: same variances, mean, scale to 1e-12", d < 1e-12, d)
            check(f"pca --scale stopped at step {step}: same U S V^T to 1e-12 relative", d2 < 1e-12, d2)
            os.unlink(out)


def test_resume_mismatch_refused():
    """A resume with other options, another rank count or a changed input (mtime) is refused, the checkpoint kept."""
    spec = inputs()[0]
    # a resume must match the run that wrote the checkpoint
    ck, out = path("ckm.h5"), path("outm.h5")
    stop_at(10, svd_args(spec, out, ["--checkpoint", ck]), 2)
    for desc, args, ranks, msg in [
        ("other options", svd_args(spec, out, ["--checkpoint", ck, "--seed", "7"]), 2, "it has seed=0, this run seed=7"),
        ("another number of ranks", svd_args(spec, out, ["--checkpoint", ck]), 3, "written by 2 ranks, this run has 3"),
    ]:
        r = run(args, ranks=ranks)
        check(f"resume with {desc}: refused, exit 2", r.returncode == 2 and msg in r.stderr, r.stderr)
        check(f"resume with {desc}: no output, checkpoint kept", not os.path.exists(out) and os.path.exists(ck))
    os.utime(spec.rsplit(":", 1)[0], (time.time() + 5, time.time() + 5))
    r = run(svd_args(spec, out, ["--checkpoint", ck]), ranks=2)
    check("resume after the input changed (mtime): refused", r.returncode == 2 and "it has size=" not in r.stderr
          and "mtime=" in r.stderr and "does not match this run" in r.stderr, r.stderr)


def test_sigusr1_to_mpirun():
    """SIGUSR1 to mpirun mid-run is forwarded: every rank saves a checkpoint and exits 99, no output."""
    big = big_input()
    # SIGUSR1 to mpirun is forwarded; every rank saves and exits 99
    ck, out = path("cku.h5"), path("outu.h5")
    # k = 100: each of the 101 passes does ten times the products of k = 10, whose whole run took
    # about 2 s and once under load finished before mpirun forwarded the signal (exit 0)
    cmd = [MPIEXEC] + MPIFLAGS + ["-n", "2", PRSVD, "svd", big, "-k", "100", "-q", "100", "--memory", "8K",
                                  "-o", out, "--progress", "--checkpoint", ck]
    p, first = harness.start_in_pass(cmd)  # signalled once the passes are under way
    running = p.poll() is None and first.startswith("progress:")
    p.send_signal(signal.SIGUSR1)
    _, err = p.communicate(timeout=120)
    check("SIGUSR1 to mpirun: still running when signalled", running, first)
    check("SIGUSR1 to mpirun: exit 99, checkpoint written, no output",
          p.returncode == 99 and os.path.exists(ck) and not os.path.exists(out), f"{p.returncode} {first}{err[-400:]}")


def test_kill_one_rank():
    """kill -9 of one rank ends the job with no output; the last periodic checkpoint resumes to 1e-12."""
    big = big_input()
    # kill -9 of one rank: the job ends, nothing written; the last periodic checkpoint resumes
    ck, out, ref = path("ckk.h5"), path("outk.h5"), path("refk.h5")
    # 1M panels (163 rows, 62 steps a pass a rank) and -q 60: about 2 s under a checkpoint every
    # 0.3 s on an idle machine, long enough to be killed after one.  5-row panels (--memory 32K,
    # 2000 steps a pass, each with the checkpoint's vote, an allreduce) cost 8 CPU-s in the
    # reference alone and made the run take minutes in a loaded make check.
    args = ["svd", big, "-k", "10", "-q", "60", "--memory", "1M", "--quiet"]
    run(args + ["-o", ref], ranks=2)
    p = subprocess.Popen([MPIEXEC] + MPIFLAGS + ["-n", "2", PRSVD] + args + ["-o", out, "--checkpoint", ck,
                         "--checkpoint-every", "0.3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while not os.path.exists(ck) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    ranks_pids = subprocess.run(["pgrep", "-f", f"prsvd svd {big}"], capture_output=True, text=True).stdout.split()
    victims = [int(x) for x in ranks_pids if int(x) != p.pid]
    if victims:
        os.kill(victims[-1], signal.SIGKILL)
    try:
        p.communicate(timeout=60)
        ended = True
    except subprocess.TimeoutExpired:
        p.kill()
        ended = False
    check("kill -9 of one rank: the job ends (no hang)", ended and bool(victims), victims)
    check("kill -9 of one rank: no output, a checkpoint left", not os.path.exists(out) and os.path.exists(ck))
    r = run(args + ["-o", out, "--checkpoint", ck], ranks=2)
    if check("kill -9 of one rank: the rerun resumes from the last checkpoint", r.returncode == 0, r.stderr):
        check("kill -9 of one rank: same factors as uninterrupted to 1e-12", same(out, ref, 1e-12))


def test_collective_reads_resume():
    """Collective MPI-IO reads at 2 ranks stopped where one rank joins the other's last read, and in pass 2: resumed to 1e-12."""
    # collective MPI-IO reads at 2 ranks: rank 0 has one panel more than rank 1 (6007 rows, 13 a
    # panel: 232 and 231 steps), so rank 1 joins rank 0's last read of each pass with a zero-row
    # read; stopped at that step, and inside the second pass, the resume gives the uninterrupted
    # collective run to 1e-12
    odd = gen("odd.h5", 6007, 300, "--spectrum", "poly", "--decay", "1")
    COLL = ["--read", "collective"]
    ref = path("ref.coll.h5")
    r = run(svd_args(odd, ref, COLL), ranks=2)
    check("collective reads, 2 ranks: uninterrupted reference", r.returncode == 0, r.stderr)
    steps_per_pass = panel_steps(6007, 300, 64 << 10, 2)[0]
    for label, step, where in [("at rank 0's last panel (rank 1 joining)", steps_per_pass, "in pass 1 at row "),
                               ("in the second pass", steps_per_pass + 100, "in pass 2 at row ")]:
        out, ck = path("out.coll.h5"), path("ck.coll.h5")
        r = stop_at(step, svd_args(odd, out, COLL + ["--checkpoint", ck]), 2)
        check(f"collective reads, stopped {label}: exit 99 {where.strip()}, checkpoint written, no output",
              r.returncode == 99 and where in r.stderr and os.path.exists(ck) and not os.path.exists(out),
              f"{r.returncode} {r.stderr}")
        r = run(svd_args(odd, out, COLL + ["--checkpoint", ck]), ranks=2)
        if check(f"collective reads, stopped {label}: the rerun resumes and finishes", r.returncode == 0, r.stderr):
            check(f"collective reads, stopped {label}: same factors as uninterrupted to 1e-12", same(out, ref, 1e-12))
            check(f"collective reads, stopped {label}: checkpoint removed", not os.path.exists(ck))
        if os.path.exists(out):
            os.unlink(out)


harness.main(globals())
