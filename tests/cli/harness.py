"""Shared pieces of the end-to-end tests: running prsvd (optionally under mpirun), TAP-style
checks with a closing "N passed, M failed", and reading results with h5py."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

TOP = os.environ.get("top_builddir", ".")
SRC = os.environ.get("top_srcdir", ".")
PRSVD = os.path.join(TOP, "prsvd")
MPIEXEC = os.environ.get("MPIEXEC", "mpirun")
MPIFLAGS = os.environ.get("MPIEXEC_FLAGS", "").split()
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
os.environ["OPENBLAS_NUM_THREADS"] = "1"
# Open MPI's PML is left to prsvd: it names ob1 itself on one node (cli/pml.c), which spares each
# launch 0.2 s of probing cm; test_threads checks when it does and when a user's choice stands.

_here = os.path.join(TOP, "tests", "cli")
WORK = tempfile.mkdtemp(prefix="cli.", dir=_here if os.access(_here, os.W_OK) else None)
counts = {"passed": 0, "failed": 0}


def path(name):
    return os.path.join(WORK, name)


def check(desc, cond, detail=""):
    n = counts["passed"] + counts["failed"] + 1
    if cond:
        counts["passed"] += 1
        print(f"ok {n} - {desc}")
    else:
        counts["failed"] += 1
        print(f"not ok {n} - {desc}")
        for line in str(detail).splitlines()[:20]:
            print(f"#   {line}")
    sys.stdout.flush()
    return cond


def run(args, ranks=None, timeout=300, env=None):
    cmd = [PRSVD] + [str(a) for a in args]
    if ranks:
        cmd = [MPIEXEC] + MPIFLAGS + ["-n", str(ranks)] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **env) if env else None)


def start_in_pass(cmd):
    """Start cmd (a whole command line, with --progress) and return it with its first progress
    line, once that line shows the passes under way ('' if it ended first): a fixed sleep races
    the start-up of mpirun and the ranks on a loaded machine."""
    p = subprocess.Popen([str(a) for a in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = p.stderr.readline()
    while first and not first.startswith("progress:"):  # (past any warning before it)
        first = p.stderr.readline()
    return p, first


def stop_at(step, args, ranks):
    """Run with a checkpoint stop after exactly `step` panel steps (PRSVD_TEST_STOP_AT_STEP)."""
    return run(args, ranks=ranks if ranks > 1 else None, env={"PRSVD_TEST_STOP_AT_STEP": str(step)})


def panel_steps(rows, cols, memory, ranks):
    """Panel steps of one pass over a dense rows x cols input with --memory `memory` bytes (the
    reader thread halves the panel), and the row where rank 0's block ends: the cursor that a
    stop at the end of a pass reports."""
    block = -(-rows // ranks)
    panel = min(max(memory // (8 * cols) // 2, 1), block)
    return -(-block // panel), block


def gen(name, rows, cols, *extra):
    r = run(["gen", f"{path(name)}:/A", "--rows", rows, "--cols", cols, "--force", "--quiet", *extra], ranks=2)
    assert r.returncode == 0, r.stderr
    return f"{path(name)}:/A"


def write(name, a, ds="A", **kw):
    with h5py.File(path(name), "w") as f:
        f.create_dataset(ds, data=a, **kw)
    return f"{path(name)}:/{ds}"


def load(out):
    with h5py.File(out, "r") as f:
        if "L" in f:
            return f["U"][:], f["L"][:], f["U"][:], dict(f.attrs)
        return f["U"][:], f["S"][:], f["V"][:], dict(f.attrs)


def matrix(spec):
    fn, ds = spec.rsplit(":", 1)
    with h5py.File(fn, "r") as f:
        return f[ds][:].astype(np.float64), f[ds].attrs.get("singular_values")


def temp_leftovers():
    return [n for n in os.listdir(WORK) if ".tmp." in n]


def finish():
    import shutil
    shutil.rmtree(WORK, ignore_errors=True)
    print(f"{counts['passed']} passed, {counts['failed']} failed")
    sys.exit(1 if counts["failed"] else 0)


def main(namespace):
    """Run the test functions of a test file: every function named test_* in `namespace` (the
    file's globals()) in the order defined, or only those named on the command line
    (python3 tests/cli/test_x.py test_one test_two).  An exception in one is a failed check
    with its last lines, and the next test still runs; ends with finish()."""
    import traceback
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    wanted = sys.argv[1:]
    unknown = [w for w in wanted if w not in dict(tests)]
    if unknown:
        print(f"unknown tests: {' '.join(unknown)}; known: {' '.join(n for n, _ in tests)}")
        sys.exit(2)
    for name, fn in tests:
        if wanted and name not in wanted:
            continue
        print(f"# {name}")
        try:
            fn()
        except Exception:  # a crashed test is a failure, not the end of the file
            check(f"{name} ran to its end", False, traceback.format_exc()[-2000:])
    finish()

