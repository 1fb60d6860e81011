"""A checkpoint is trusted only after it verifies.  A run stopped in its second pass
(PRSVD_TEST_STOP_AT_STEP) at 1 and 2 ranks leaves a checkpoint; copies of it are tampered with
through h5py (phase = 77, pass = 10**6, a negative passes_done, a cursor past its rank's rows,
a dataset of another shape, one value of a dataset changed in place with its attributes
untouched, the format attribute removed, r_rcond NaN, and more) and resumed: each resume exits
2 naming the checkpoint's path and what is wrong and advising to delete it, leaves the file byte
for byte as it was, writes no output and leaves no temporary.  The untampered copy still
resumes to the singular values of an uninterrupted run to 1e-12.  The other methods check the
phases and passes they can resume (phase 1 is subspace iteration's extra pass only)."""
import os
import shutil
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, gen, load, panel_steps, path, run, stop_at, temp_leftovers  # noqa: E402

M, N, MEM = 3000, 200, 64 << 10  # 20 rows a panel: 150 steps a pass on 1 rank, 75 on 2
A = gen("a.h5", M, N, "--spectrum", "poly", "--decay", "1")
BASE = ["-k", 10, "-q", 2, "--memory", "64K", "--quiet"]  # l = k + p = 20 columns in Y and H
_pristine = {}


def svd_args(out, ck, extra=()):
    return ["svd", A, *BASE, "-o", out, "--checkpoint", ck, *extra]


def pristine(ranks):
    """A checkpoint of a run stopped 10 panels into its second pass (pass = 1), made once."""
    if ranks not in _pristine:
        ck, out = path(f"pristine.{ranks}.h5"), path(f"stopped.{ranks}.h5")
        steps = panel_steps(M, N, MEM, ranks)[0]
        r = stop_at(steps + 10, svd_args(out, ck), ranks)
        assert r.returncode == 99 and "in pass 2 at row" in r.stderr, f"{r.returncode} {r.stderr}"
        _pristine[ranks] = ck
    return _pristine[ranks]


def flip_last_bit(ds, idx):
    """Change one value of a dataset in place by its last bit; its attributes stay."""
    v = np.array([ds[idx]], dtype=np.float64)
    ds[idx] = (v.view(np.uint64) ^ np.uint64(1)).view(np.float64)[0]


def reshape(f, name, cols):
    """The dataset rewritten with `cols` columns, its attributes copied."""
    data, attrs = f[name][:, :cols], dict(f[name].attrs)
    del f[name]
    f.create_dataset(name, data=data)
    f[name].attrs.update(attrs)


def set_attrs(**kw):
    def edit(f, ranks):
        for k, v in kw.items():
            f.attrs[k] = v
    return edit


def set_cursor(f, ranks):
    """Rank 0's cursor 7 rows past the end of its rows (inside rank 1's when there are 2)."""
    f["cursor"][0] = -(-M // ranks) + 7


def truncate(ck):
    with open(ck, "r+b") as fh:
        fh.truncate(os.path.getsize(ck) // 2)


# what is done to the checkpoint, and what the refusal must say (after "is damaged: ")
TAMPERS = [
    ("phase = 77", set_attrs(phase=77), "phase = 77, but this method resumes phase 0 (its passes) or 1"),
    ("pass = 10**6", set_attrs(**{"pass": 10**6}),
     "pass = 1000000 in phase 0, but this run's passes there are 0 to 2"),
    ("passes_done negative", set_attrs(passes_done=-1), "passes_done = -1 is negative"),
    ("passes_done inconsistent with pass", set_attrs(passes_done=0), "passes_done = 0, but pass = 1"),
    ("a cursor past its rank's rows", set_cursor, "rank 0's cursor (next row) = {end7} lies outside its rows [0, {end})"),
    ("a cursor that is not a row", lambda f, r: f["cursor"].__setitem__(0, 12.5), "'/cursor'[0] = 12.5 is not a row number"),
    ("Y with one column fewer", lambda f, r: reshape(f, "Y", 19), "dataset '/Y' is 3000 x 19, this run expects 3000 x 20"),
    ("H removed", lambda f, r: f.__delitem__("H"), "it has no dataset '/H'"),
    ("Y's checksum removed", lambda f, r: f["Y"].attrs.__delitem__("checksum"), "dataset '/Y' has no checksum"),
    ("one value of Y (distributed, last rank's rows) changed in its last bit",
     lambda f, r: flip_last_bit(f["Y"], (M - 5, 3)), "dataset '/Y' does not match its checksum"),
    ("one value of H (a partial sum) changed in place", lambda f, r: flip_last_bit(f["H"], (150, 7)),
     "dataset '/H' does not match its checksum"),
    ("one value of X (replicated) negated in place", lambda f, r: f["X"].__setitem__((2, 2), -f["X"][2, 2]),
     "dataset '/X' does not match its checksum"),
    ("the format attribute removed", lambda f, r: f.attrs.__delitem__("format"),
     "is damaged, or not a prsvd checkpoint: it has no attribute 'format'"),
    ("r_rcond NaN", set_attrs(r_rcond=float("nan")), "r_rcond = nan is not a reciprocal condition number"),
    ("phase a float", set_attrs(phase=0.0), "attribute 'phase' is not a single integer"),
    ("the extra pass with r_rcond too large for it", set_attrs(phase=1, passes_done=3, r_rcond=0.5, **{"pass": 3}),
     "r_rcond = 0.5 in phase 1, but the extra pass runs only when r_rcond < 1e-06"),
    ("pass and passes_done moved back together (in range)", set_attrs(passes_done=0, **{"pass": 0}),
     "its attributes nprocs, pass, phase, passes_done and r_rcond ({ranks}, 0, 0, 0, 0) do not match their checksum"),
]


def refused(what, ck, out, msg, ranks, args=None):
    """Resume from the tampered checkpoint ck: exit 2 naming ck and msg, ck unchanged, no output."""
    with open(ck, "rb") as fh:
        before = fh.read()
    r = run(args or svd_args(out, ck), ranks=ranks if ranks > 1 else None)
    check(f"{what}: exit 2", r.returncode == 2, f"{r.returncode} {r.stderr}")
    check(f"{what}: names the checkpoint, says what is wrong, advises deleting it",
          f"checkpoint '{ck}'" in r.stderr and msg in r.stderr and "delete it to start over" in r.stderr,
          f"wanted: {msg}\n{r.stderr}")
    with open(ck, "rb") as fh:
        check(f"{what}: the checkpoint byte for byte as it was", fh.read() == before)
    check(f"{what}: no output, no temporary", not os.path.exists(out) and not temp_leftovers(),
          os.listdir(harness.WORK))
    return r


def tampered(ranks):
    for desc, edit, msg in TAMPERS:
        ck, out = path(f"t.{ranks}.h5"), path(f"t.out.{ranks}.h5")
        shutil.copy(pristine(ranks), ck)
        with h5py.File(ck, "r+") as f:
            edit(f, ranks)
        end = -(-M // ranks)
        refused(f"{ranks} rank(s), {desc}", ck, out, msg.format(end=end, end7=end + 7, ranks=ranks),
                ranks)
        os.unlink(ck)


def test_tampered_1_rank():
    tampered(1)


def test_tampered_2_ranks():
    tampered(2)


def test_truncated():
    for ranks in [1, 2]:
        ck, out = path(f"cut.{ranks}.h5"), path(f"cut.out.{ranks}.h5")
        shutil.copy(pristine(ranks), ck)
        truncate(ck)
        refused(f"{ranks} rank(s), the checkpoint cut to half its size", ck, out,
                "it is not an HDF5 file, or it is truncated or damaged", ranks)


def test_untampered_resumes():
    for ranks in [1, 2]:
        ref, out, ck = path(f"ref.{ranks}.h5"), path(f"good.out.{ranks}.h5"), path(f"good.{ranks}.h5")
        r = run(["svd", A, *BASE, "-o", ref], ranks=ranks if ranks > 1 else None)
        check(f"{ranks} rank(s): uninterrupted reference", r.returncode == 0, r.stderr)
        shutil.copy(pristine(ranks), ck)
        r = run(svd_args(out, ck), ranks=ranks if ranks > 1 else None)
        if check(f"{ranks} rank(s): the untampered checkpoint resumes", r.returncode == 0, r.stderr):
            s, s_ref = load(out)[1], load(ref)[1]
            d = float(np.max(np.abs(s - s_ref) / s_ref))
            check(f"{ranks} rank(s): the same singular values as uninterrupted to 1e-12 relative", d <= 1e-12, d)
            check(f"{ranks} rank(s): passes counted across the stop, checkpoint removed",
                  load(out)[3]["passes"] == 3 and not os.path.exists(ck), load(out)[3]["passes"])


def test_other_methods():
    """Each method's own passes and phases: phase 1 (the extra pass) is subspace iteration's."""
    psd = gen("p.h5", 600, 600, "--symmetric", "psd", "--spectrum", "poly", "--decay", "1")
    methods = [
        ("svd --passes 1", ["svd", A, "-k", 6, "--passes", 1, "--memory", "64K"], 40),
        ("svd --tol --passes 2 (QB)", ["svd", A, "--tol", "0.2", "--max-rank", 30, "--passes", 2, "--memory", "64K"], 160),
        ("eig nystrom", ["eig", psd, "-k", 6, "--memory", "64K"], 20),
    ]
    for name, args, step in methods:
        ck, out = path("m.h5"), path("m.out.h5")
        cmd = args + ["-o", out, "--quiet", "--checkpoint", ck]
        r = stop_at(step, cmd, 1)
        if not check(f"{name}: stopped with a checkpoint", r.returncode == 99 and os.path.exists(ck), r.stderr):
            continue
        shutil.copy(ck, path("m.saved.h5"))
        for desc, attrs, msg in [("phase = 1", {"phase": 1}, "phase = 1, but this method resumes phase 0 (its passes) only"),
                                 ("pass one past its last", {"pass": 2 if "tol" in name else 1},
                                  f"pass = {2 if 'tol' in name else 1} in phase 0, but this run's passes there are 0 to "
                                  f"{1 if 'tol' in name else 0}")]:
            shutil.copy(path("m.saved.h5"), ck)
            with h5py.File(ck, "r+") as f:
                f.attrs.update(attrs)
            refused(f"{name}, {desc}", ck, out, msg, 1, cmd)
        shutil.copy(path("m.saved.h5"), ck)
        r = run(cmd)
        check(f"{name}: the untampered checkpoint resumes", r.returncode == 0 and os.path.exists(out), r.stderr)
        for fn in (out, ck):
            if os.path.exists(fn):
                os.unlink(fn)


if __name__ == "__main__":
    harness.main(globals())
