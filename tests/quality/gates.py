"""Quality gates (issue 6), each asserting zero reports and the numbers of the jobs it runs.

1. Sanitizers: the sources are configured again with --enable-sanitizers (AddressSanitizer,
   UndefinedBehaviorSanitizer, LeakSanitizer) in tests/quality/san, a copy of the sources only
   (automake refuses a second build directory beside an in-tree build), building just the
   library, the program and the unit tests (static, -O1; rebuilt incrementally on later runs).
   Under it run the unit tests, a 2-rank svd stopped by a checkpoint and resumed, a 2-rank
   pca of a sparse (h5sparse CSR) input, four 2-rank runs on hostile sizes that must be
   refused (test_sizes.py), and the hostile suite tests/cli/test_safety.py.  UBSan halts on the first report; LeakSanitizer
   suppresses only Open MPI's own allocations (tests/lsan.supp).
2. valgrind memcheck of a 1-rank svd of the normal build: zero errors, definite leaks
   included, with Open MPI's suppressions and tests/valgrind.supp (its start-up, shutdown
   and progress-thread leaks only)."""
import os
import re
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np

SRC = os.path.abspath(os.environ.get("top_srcdir", "."))
TOP = os.path.abspath(os.environ.get("top_builddir", "."))
sys.path.insert(0, os.path.join(SRC, "tests", "cli"))
from harness import MPIEXEC, MPIFLAGS, check, finish, path  # noqa: E402

SAN = os.path.join(TOP, "tests", "quality", "san")
REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer")
SAN_ENV = {
    "ASAN_OPTIONS": "fast_unwind_on_malloc=0:detect_leaks=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
    "LSAN_OPTIONS": f"suppressions={SRC}/tests/lsan.supp:print_suppressions=0",
    "OMPI_MCA_mca_base_component_disable_dlclose": "1",  # plugins stay mapped: stacks symbolize
}


def copy_sources():
    """The files configure and the three targets need, with their times (so make rebuilds only
    what changed since the last run)."""
    top = ["configure", "aclocal.m4", "Makefile.in", "Makefile.am", "configure.ac", "config.h.in",
           "libprsvd.pc.in"]
    for f in top:
        shutil.copy2(os.path.join(SRC, f), os.path.join(SAN, f))
    for d in ["build-aux", "m4"]:
        shutil.copytree(os.path.join(SRC, d), os.path.join(SAN, d), dirs_exist_ok=True)
    for d in ["include", "base", "mpi", "src", "io", "cli", "tests/unit", "tests/fuzz"]:
        os.makedirs(os.path.join(SAN, d), exist_ok=True)
        for f in os.listdir(os.path.join(SRC, d)):
            if f.endswith((".c", ".h")):
                src, dst = os.path.join(SRC, d, f), os.path.join(SAN, d, f)
                if not os.path.exists(dst) or os.path.getmtime(dst) != os.path.getmtime(src):
                    shutil.copy2(src, dst)
    shutil.copy2(os.path.join(SRC, "tests", "Makefile.inc"), os.path.join(SAN, "tests", "Makefile.inc"))


def build():
    os.makedirs(SAN, exist_ok=True)
    copy_sources()
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    if not os.path.exists(os.path.join(SAN, "config.status")):
        r = subprocess.run(["./configure", "-q", "--enable-sanitizers", "--disable-shared", "--enable-static",
                            "CFLAGS=-g -O1"], cwd=SAN, env=env, capture_output=True, text=True)
        if not check("sanitizers: ./configure --enable-sanitizers", r.returncode == 0, r.stdout + r.stderr):
            return False
    r = subprocess.run(["make", "-j2", "prsvd", "tests/unit/test_unit"], cwd=SAN, env=env,
                       capture_output=True, text=True)
    return check("sanitizers: the library, the program and the unit tests build", r.returncode == 0,
                 r.stdout[-2000:] + r.stderr[-2000:])


def san_run(args, ranks=None, env=None):
    cmd = [os.path.join(SAN, "prsvd")] + [str(a) for a in args]
    if ranks:
        cmd = [MPIEXEC] + MPIFLAGS + ["-n", str(ranks)] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, **SAN_ENV, **(env or {})))


def clean(r):
    """No sanitizer report in the output of a finished process."""
    return not REPORT.search(r.stdout + r.stderr)


def sanitizers():
    if not build():
        return
    r = subprocess.run([os.path.join(SAN, "tests", "unit", "test_unit")], capture_output=True, text=True,
                       timeout=600, env=dict(os.environ, **SAN_ENV))
    check("sanitizers: unit tests pass with no report", r.returncode == 0 and clean(r) and "Failures: 0" in r.stdout,
          r.stdout[-1500:] + r.stderr[-3000:])

    # a 2-rank svd, stopped by its checkpoint in the first pass and resumed
    inp, out, ck = path("exp.h5"), path("svd.h5"), path("svd.ckpt")
    r = san_run(["gen", f"{inp}:/A", "--rows", 1200, "--cols", 80, "--spectrum", "exp", "--decay", "0.5",
                 "--force", "--quiet"], ranks=2)
    check("sanitizers: 2-rank gen, no report", r.returncode == 0 and clean(r), r.stderr[-3000:])
    args = ["svd", f"{inp}:/A", "-k", 5, "-q", 2, "--memory", "16K", "-o", out, "--quiet", "--checkpoint", ck]
    r = san_run(args, ranks=2, env={"PRSVD_TEST_STOP_AT_STEP": "20"})
    check("sanitizers: 2-rank svd stopped by its checkpoint (exit 99), no report", r.returncode == 99 and clean(r),
          r.stderr[-3000:])
    r = san_run(args, ranks=2)
    if check("sanitizers: 2-rank svd resumed, no report", r.returncode == 0 and clean(r), r.stderr[-3000:]):
        with h5py.File(out) as f, h5py.File(inp) as g:
            s, planted = f["S"][:], g["A"].attrs["singular_values"][:5]
        err = np.max(np.abs(s - planted) / planted)
        check("sanitizers: 2-rank svd has the planted singular values to 1e-10", err < 1e-10, err)

    # a 2-rank pca of a sparse CSR group (legacy h5sparse), against numpy's covariance
    rng = np.random.default_rng(5)
    m, n = 600, 30
    dense = np.where(rng.random((m, n)) < 0.2, rng.standard_normal((m, n)), 0.0)
    indptr = np.concatenate([[0], np.cumsum((dense != 0).sum(axis=1))])
    rows, cols = np.nonzero(dense)
    with h5py.File(path("sparse.h5"), "w") as f:
        g = f.create_group("M")
        g.attrs["h5sparse_format"] = "csr"
        g.attrs["h5sparse_shape"] = np.array([m, n])
        g["data"], g["indices"], g["indptr"] = dense[rows, cols], cols.astype(np.int64), indptr.astype(np.int64)
    out = path("pca.h5")
    r = san_run(["pca", f"{path('sparse.h5')}:/M", "-k", 4, "-p", n - 4, "--memory", "4K", "-o", out, "--quiet"],
                ranks=2)
    if check("sanitizers: 2-rank pca of a sparse input, no report", r.returncode == 0 and clean(r), r.stderr[-3000:]):
        ev = np.linalg.eigvalsh(np.cov(dense, rowvar=False))[::-1][:4]
        with h5py.File(out) as f:
            err = np.max(np.abs(f["explained_variance"][:] - ev) / ev)
        check("sanitizers: sparse pca explained variances equal numpy's to 1e-10", err < 1e-10, err)

    # hostile sizes (tests/cli/test_sizes.py), where UBSan saw signed overflows in the shape
    # products of h5source.c, h5map.c, dmat.c and the pass engine: each refused with no report
    with h5py.File(path("hostile.h5"), "w") as f:
        f.create_dataset("tall", shape=(2 ** 61, 4), dtype="f8", chunks=(1, 4))
        f.create_dataset("huge", shape=(2 ** 62, 2 ** 62), dtype="f8", chunks=(1, 1))
        g = f.create_group("claims")
        g.attrs["encoding-type"] = "csr_matrix"
        g.attrs["shape"] = np.array([2 ** 62, 5])
        g.create_dataset("indptr", shape=(2 ** 62 + 1,), dtype="i8", chunks=(1024,))
        g["indices"], g["data"] = np.zeros(0, dtype=np.int64), np.zeros(0)
    for desc, args, code in [("a 2^61 x 4 dataset", ["svd", f"{path('hostile.h5')}:/tall", "-k", 2], 2),
                             ("a 2^62 x 2^62 dataset", ["pca", f"{path('hostile.h5')}:/huge", "-k", 2], 2),
                             ("a sparse group of 2^62 rows", ["svd", f"{path('hostile.h5')}:/claims", "-k", 2], 2),
                             ("--block 100000", ["svd", f"{inp}:/A", "--tol", 0.1, "--block", 100000], 1)]:
        r = san_run(args + ["-o", path("hostile.out.h5")], ranks=2)
        check(f"sanitizers: 2-rank run on {desc}: exit {code}, no report", r.returncode == code and clean(r),
              f"exit {r.returncode}: {r.stderr[-3000:]}")

    # the hostile suite (tests/cli/test_safety.py) with the sanitized program: a report halts
    # the run or changes its exit code, which the suite checks, and lands in a log file here
    logs = os.path.join(SAN, "reports")
    shutil.rmtree(logs, ignore_errors=True)
    os.makedirs(logs)
    env = dict(os.environ, **SAN_ENV, top_builddir=SAN)
    for tool in ("ASAN", "UBSAN"):
        env[f"{tool}_OPTIONS"] += f":log_path={logs}/{tool.lower()}"
    # the cases that reach the new C paths; the race (SIGSTOP timing) runs in the normal build
    cases = ["test_output_is_the_input", "test_checkpoint_is_another_file", "test_outputs_that_are_not_files",
             "test_inputs_that_are_not_files", "test_dataset_in_a_file_keeps_the_others", "test_stale_temporaries",
             "test_disk_full"]
    r = subprocess.run([sys.executable, os.path.join(SRC, "tests", "cli", "test_safety.py")] + cases,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=1200, env=env)
    failed = [line for line in r.stdout.splitlines() if line.startswith("not ok")]
    check("sanitizers: the hostile suite (test_safety.py) passes with the sanitized program",
          r.returncode == 0 and r.stdout.rstrip().endswith("0 failed"), "\n".join(failed[:20]) + r.stderr[-2000:])
    reports = sorted(os.listdir(logs))
    check("sanitizers: the hostile suite left no ASan/UBSan/LSan report", not reports,
          "\n".join(open(os.path.join(logs, n)).read()[:1500] for n in reports[:3]))


def memcheck():
    inp, out = path("v.h5"), path("v.out.h5")
    with h5py.File(inp, "w") as f:
        a = np.random.default_rng(3).standard_normal((400, 50))
        f["A"] = a
    cmd = [os.path.join(TOP, "libtool"), "--mode=execute", "valgrind", "--error-exitcode=42", "--leak-check=full",
           "--errors-for-leak-kinds=definite", "--num-callers=40",
           "--suppressions=/usr/share/openmpi/openmpi-valgrind.supp",
           f"--suppressions={SRC}/tests/valgrind.supp", os.path.join(TOP, "prsvd"),
           "svd", f"{inp}:/A", "-k", 5, "-p", 45, "--memory", "8K", "-o", out, "--quiet"]
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600)
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", r.stderr)
    check("valgrind memcheck, 1-rank svd: exit 0, zero errors (definite leaks included)",
          r.returncode == 0 and summary is not None and summary.group(1) == "0", r.stderr[-4000:])
    if r.returncode == 0:
        with h5py.File(out) as f:
            s = f["S"][:]
        err = np.max(np.abs(s - np.linalg.svd(a, compute_uv=False)[:5]))
        check("valgrind memcheck, 1-rank svd: singular values equal LAPACK's to 1e-10", err < 1e-10, err)


for gate in (sanitizers, memcheck):
    t0 = time.time()
    gate()
    print(f"# {gate.__name__}: {time.time() - t0:.1f} s")
finish()
