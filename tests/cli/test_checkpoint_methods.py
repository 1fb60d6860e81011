"""Checkpoint and resume of the other streaming methods (issue 6): the single pass
(--passes 1: three sketches; two with sparse sign maps), fixed accuracy (--tol, QB) and
prsvd eig (nystrom, revd), through the same checkpointer and cursor as subspace iteration.
Each at 1 and 3 ranks is stopped at an exact panel step (PRSVD_TEST_STOP_AT_STEP) inside the
first pass, resumed and stopped again at the end of that pass (before the factorization or the
next pass), for --tol once more inside the second pass; the last rerun gives the uninterrupted
result to 1e-12.  SIGUSR1 to mpirun stops a revd run at 3 ranks wherever it
lands, and the resume matches.  A resume with other options is refused naming the option."""
import os
import signal
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (MPIEXEC, MPIFLAGS, PRSVD, check, gen, load, panel_steps, path, run,  # noqa: E402
                     stop_at, temp_leftovers)

M, N, MEM_A = 1500, 120, 32 << 10  # 17 rows a panel: 89 steps a pass on 1 rank, 30 on 3
P, MEM_P = 600, 64 << 10           # 6 rows a panel: 100 steps a pass on 1 rank, 34 on 3
_inputs = {}


def inputs():
    """The inputs, made once: (A, a 1500 x 120 poly-spectrum matrix; PSD, a 600 x 600 PSD one)."""
    if not _inputs:
        _inputs["A"] = gen("a.h5", M, N, "--spectrum", "poly", "--decay", "1")
        _inputs["PSD"] = gen("p.h5", P, P, "--symmetric", "psd", "--spectrum", "poly", "--decay", "1")
    return _inputs["A"], _inputs["PSD"]


def methods():
    """name, arguments, input shape and budget, passes, rank counts"""
    A, PSD = inputs()
    return [
        ("svd --passes 1 (three sketches)", ["svd", A, "-k", 6, "--passes", 1, "--memory", MEM_A], (M, N, MEM_A), 1,
         [1, 3]),
        ("svd --passes 1 --onepass-method two --sketch sparse",
         ["svd", A, "-k", 6, "--passes", 1, "--onepass-method", "two", "--sketch", "sparse", "--memory", MEM_A],
         (M, N, MEM_A), 1, [3]),
        ("svd --tol (QB)", ["svd", A, "--tol", "0.2", "--max-rank", 40, "--passes", 2, "--memory", MEM_A], (M, N, MEM_A), 2, [1, 3]),
        ("eig nystrom", ["eig", PSD, "-k", 6, "--memory", MEM_P], (P, P, MEM_P), 1, [1, 3]),
        ("eig revd", ["eig", PSD, "-k", 6, "--method", "revd", "--memory", MEM_P], (P, P, MEM_P), 2, [1, 3]),
    ]


def max_diff(a, b):
    x, y = load(a), load(b)
    if any(x[i].shape != y[i].shape for i in range(3)):
        return float("inf")
    return max(float(np.max(np.abs(x[i] - y[i]))) for i in range(3))


def method_case(index):
    name, args, (rows, cols, mem), passes, rank_counts = methods()[index]
    for ranks in rank_counts:
        tag = f"{name}, {ranks} rank(s)"
        mpi = ranks if ranks > 1 else None
        ref = path("ref.h5")
        r = run(args + ["-o", ref, "--quiet", "--force"], ranks=mpi)
        if not check(f"{tag}: uninterrupted reference", r.returncode == 0, r.stderr):
            continue
        steps, block_end = panel_steps(rows, cols, mem, ranks)
        points = [("in the first pass", steps // 3, "in pass 1 at row "),
                  ("at the end of the first pass", steps, f"in pass 1 at row {block_end};")]
        if name.startswith("svd --tol"):  # X = orth(H) of the first pass is part of the state
            points.append(("in the second pass", steps + steps // 2, "in pass 2 at row "))
        # one run stopped at each point in turn, each stop resumed by the next run: the step
        # count restarts with every process
        out, ck = path("out.h5"), path("ck.h5")
        cmd = args + ["-o", out, "--quiet", "--checkpoint", ck]
        done = 0
        for label, step, where in points:
            r = stop_at(step - done, cmd, ranks)
            done = step
            check(f"{tag}, stopped {label}: exit 99 {where.strip(' ;')}, checkpoint written, no output",
                  r.returncode == 99 and where in r.stderr and os.path.exists(ck) and not os.path.exists(out)
                  and not temp_leftovers(), f"{r.returncode} {r.stderr}")
        r = run(cmd, ranks=mpi)
        if check(f"{tag}: the last rerun resumes and finishes", r.returncode == 0, r.stderr):
            d = max_diff(out, ref)
            check(f"{tag}: same factors as uninterrupted to 1e-12", d <= 1e-12, d)
            check(f"{tag}: checkpoint removed, passes counted across the stops",
                  not os.path.exists(ck) and load(out)[3]["passes"] == load(ref)[3]["passes"] == passes,
                  load(out)[3]["passes"])
        for f in (out, ck):
            if os.path.exists(f):
                os.unlink(f)


def test_single_pass_three_sketches():
    """svd --passes 1 (three sketches) at 1 and 3 ranks: stopped in and at the end of the pass, resumed to 1e-12."""
    method_case(0)


def test_single_pass_two_sparse():
    """svd --passes 1, two sketches with sparse sign maps, at 3 ranks: stopped twice, resumed to 1e-12."""
    method_case(1)


def test_tol_qb():
    """svd --tol --passes 2 (QB) at 1 and 3 ranks: stopped in pass 1, at its end and in pass 2, resumed to 1e-12."""
    method_case(2)


def test_eig_nystrom():
    """eig nystrom at 1 and 3 ranks: stopped in and at the end of its pass, resumed to 1e-12."""
    method_case(3)


def test_eig_revd():
    """eig revd at 1 and 3 ranks: stopped in and at the end of the first pass, resumed to 1e-12."""
    method_case(4)


def test_resume_other_options_refused():
    """A resume with another sketch, single-pass method, precision, --block, eig method or --sym-tol is refused."""
    METHODS = methods()
    # a resume must match the options that wrote the checkpoint
    for name, args, refusals in [
        ("single pass", METHODS[0][1], [(["--sketch", "sparse"], "it has sketch=gaussian, this run sketch=sparse"),
                                        (["--onepass-method", "hmt"], "it has method=onepass-three, this run method=onepass-hmt"),
                                        (["--precision", "double"], "it has precision=auto, this run precision=double")]),
        ("QB", METHODS[2][1], [(["--block", 5], "it has block=10, this run block=5")]),
        ("eig", METHODS[3][1], [(["--method", "revd"], "it has method=nystrom, this run method=revd"),
                                (["--sym-tol", "1e-6"], "it has sym_tol=1e-08, this run sym_tol=1e-06")]),
    ]:
        out, ck = path("outm.h5"), path("ckm.h5")
        r = stop_at(5, args + ["-o", out, "--quiet", "--checkpoint", ck], 1)
        check(f"{name}: stopped for the refusals", r.returncode == 99, r.stderr)
        for other, msg in refusals:
            r = run(args + other + ["-o", out, "--quiet", "--checkpoint", ck])
            check(f"{name}: resume with {' '.join(map(str, other))} refused, exit 2, saying what differs",
                  r.returncode == 2 and msg in r.stderr, r.stderr)
            check(f"{name}: the refused resume leaves no output and keeps the checkpoint",
                  not os.path.exists(out) and os.path.exists(ck))
        if os.path.exists(ck):
            os.unlink(ck)


def test_adaptive_tol_refuses_checkpoint():
    """--tol without --passes (randQB_EI) keeps no checkpoint: --checkpoint refused before reading."""
    A = inputs()[0]
    # the adaptive randQB_EI (--tol without --passes) keeps no checkpoint: refused before reading
    out, ck = path("outei.h5"), path("ckei.h5")
    r = run(["svd", A, "--tol", "0.2", "--max-rank", 40, "-o", out, "--quiet", "--checkpoint", ck])
    check("--tol without --passes: --checkpoint refused, exit 1, naming --passes",
          r.returncode == 1 and "--passes" in r.stderr and not os.path.exists(out) and not os.path.exists(ck), r.stderr)


def test_sigusr1_revd():
    """SIGUSR1 to mpirun stops a 3-rank revd run wherever it lands; the resume matches the uninterrupted run."""
    PSD = inputs()[1]
    # SIGUSR1 to mpirun while revd runs at 3 ranks (one row a panel, many passes): wherever it
    # lands, every rank saves and exits 99, and the rerun matches the uninterrupted result
    args = ["eig", PSD, "-k", 6, "--method", "revd", "-q", 6, "--memory", 2 * 8 * P]
    ref, out, ck = path("refu.h5"), path("outu.h5"), path("cku.h5")
    r0 = run(args + ["-o", ref, "--quiet"], ranks=3)
    p, first = harness.start_in_pass([MPIEXEC] + MPIFLAGS + ["-n", "3", PRSVD] + args +
                                     ["-o", out, "--progress", "--checkpoint", ck])
    p.send_signal(signal.SIGUSR1)
    _, err = p.communicate(timeout=120)
    check("revd, SIGUSR1 to mpirun at 3 ranks: exit 99 with a checkpoint and no output",
          r0.returncode == 0 and first.startswith("progress:") and p.returncode == 99 and os.path.exists(ck)
          and not os.path.exists(out), f"{first} {p.returncode} {err[-400:]}")
    r = run(args + ["-o", out, "--quiet", "--checkpoint", ck], ranks=3)
    if check("revd, SIGUSR1: the rerun resumes", r.returncode == 0, r.stderr):
        d = max_diff(out, ref)
        check("revd, SIGUSR1: same eigenpairs as uninterrupted to 1e-12", d <= 1e-12, d)


harness.main(globals())
