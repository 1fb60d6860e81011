"""The cost a run plans against what it did (issue 17): svd's, pca's and eig's plan and
`prsvd info` with the same options come from one function (prsvd_svd_estimate), so they print
the same memory, passes, bytes and flops; and a run does what its plan said: the passes it
planned, bytes_per_pass x passes panel bytes (counted by its reads), the flops its panel
products counted, and no more memory than the estimate (its peak RSS growth during the solve,
which the run's --json measures).

For several runs (svd default, -q 0, --passes 1 with Gaussian and sparse maps, --tol with and
without --passes, pca, eig nystrom and revd, float32 input, a CSR input, a chunked input with
its chunk cache, float64 input multiplied in float32, 1 and 2 ranks, a 1 x 2 grid)."""
import json
import re
import sys

import h5py
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import harness
from harness import check, gen, path, run

# The estimate counts what the solve allocates; the process also grows by the pages its
# libraries touch on first use (OpenBLAS's packing buffers and kernels, LAPACK and ScaLAPACK
# code, the reader thread's stack): 1.4 to 1.9 MiB measured.  The memory check allows that much
# above the estimate, and the estimate at most FACTOR times what the solve grew by.
SLACK = 3 * 2**20
FACTOR = 1.5
# -q auto (pca's default) also solves an l x l symmetric eigenproblem after every pass (LAPACK's
# DSYEV on 3 l^2 doubles it allocates and counts): the same pca grew 1.25 MiB more at -q auto
# than at -q 1 and -q 3 (23.9, 23.9, 25.2 MiB), the pages of the eigensolver's code and OpenBLAS's
# buffers it touches on first use.
SLACK_AUTO = SLACK + int(1.5 * 2**20)
# randQB_FP's estimate adds the passes' two panels (16.0 MiB here) to the blocked QB's buffers
# (G, Q, Y_i, Q_i and the copy of Q: 18.3 MiB), but the blocked QB runs after the passes, when the
# passes' panels are freed: its peak is the QB's alone.  Measured: 25.6 MiB with 4 MiB
# panels (the estimate 26.7), 25.6 to 27.3 MiB at the default budget (the estimate 39.0, 1.43 to
# 1.52 x; CI failed at 1.5 with 25.8).  The sum stays an upper bound; the lower check allows it.
FACTOR_OF = {"svd --tol --passes 2 (randQB_FP)": 1.65}


def fmt_bytes(b):
    """prsvd_format_bytes: '9.8 MiB'."""
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    u = 0
    while b >= 1024 and u < 4:
        b /= 1024
        u += 1
    return f"{b:.1f} {units[u]}" if u else f"{b:.0f} {units[u]}"


def csr_file(name, m, n, per_row, seed=1):
    """A CSR matrix in the h5sparse layout (per_row stored entries a row) and its spec."""
    rng = np.random.default_rng(seed)
    indices = np.sort(np.stack([rng.choice(n, per_row, replace=False) for _ in range(m)]), axis=1)
    with h5py.File(path(name), "w") as f:
        g = f.create_group("M")
        g.attrs["h5sparse_format"] = "csr"
        g.attrs["h5sparse_shape"] = np.array([m, n])
        g["data"] = rng.standard_normal(m * per_row)
        g["indices"] = indices.ravel().astype(np.int64)
        g["indptr"] = np.arange(0, m * per_row + 1, per_row, dtype=np.int64)
    return f"{path(name)}:/M"


A = gen("a.h5", 12000, 1000)
F = gen("f.h5", 12000, 1000, "--dtype", "float32")
C = gen("chunked.h5", 12000, 1000, "--chunk", "500x200")
S = gen("s.h5", 1500, 1500, "--symmetric", "psd")
R = csr_file("csr.h5", 8000, 1500, 40)

# (label, ranks, the command's arguments, info's arguments for the same run)
RUNS = [
    ("svd", 1, ["svd", A, "-k", 30], ["-k", 30]),
    ("svd -q 0", 1, ["svd", A, "-k", 30, "-q", 0], ["-k", 30, "-q", 0]),
    ("svd --memory 1M (small panels)", 1, ["svd", A, "-k", 60, "--memory", "1M"], ["-k", 60, "--memory", "1M"]),
    ("svd --passes 1", 1, ["svd", A, "-k", 20, "--passes", 1], ["-k", 20, "--passes", 1]),
    ("svd --passes 1 --sketch sparse", 1, ["svd", A, "-k", 20, "--passes", 1, "--sketch", "sparse"],
     ["-k", 20, "--passes", 1, "--sketch", "sparse"]),
    ("svd --passes 1, copied panels", 1, ["svd", A, "-k", 20, "--passes", 1, "--read", "posix-copy"],
     ["-k", 20, "--passes", 1, "--read", "posix-copy"]),
    ("svd --passes 1 --onepass-method hmt", 1, ["svd", A, "-k", 20, "--passes", 1, "--onepass-method", "hmt"],
     ["-k", 20, "--passes", 1, "--onepass-method", "hmt"]),
    ("svd --tol --passes 2 (randQB_FP)", 1, ["svd", A, "--tol", 0.3, "--passes", 2, "--max-rank", 60],
     ["--tol", 0.3, "--passes", 2, "--max-rank", 60]),
    ("svd --tol (randQB_EI)", 1, ["svd", A, "--tol", 0.3, "--max-rank", 40], ["--tol", 0.3, "--max-rank", 40]),
    ("pca", 1, ["pca", A, "-k", 20], ["-k", 20, "--center"]),
    ("eig nystrom", 1, ["eig", S, "-k", 20], ["-k", 20, "--eig", "nystrom"]),
    ("eig revd", 1, ["eig", S, "-k", 20, "--method", "revd"], ["-k", 20, "--eig", "revd"]),
    ("svd of float32 input", 1, ["svd", F, "-k", 30], ["-k", 30]),
    ("svd of a chunked input", 1, ["svd", C, "-k", 30], ["-k", 30]),
    ("svd of CSR input", 1, ["svd", R, "-k", 30], ["-k", 30]),
    ("pca of CSR input", 1, ["pca", R, "-k", 20], ["-k", 20, "--center"]),
    ("svd --passes 1 of CSR input", 1, ["svd", R, "-k", 20, "--passes", 1], ["-k", 20, "--passes", 1]),
    ("svd, 2 ranks", 2, ["svd", A, "-k", 30], ["-k", 30]),
    ("svd --passes 1, 2 ranks", 2, ["svd", A, "-k", 20, "--passes", 1], ["-k", 20, "--passes", 1]),
    ("svd of CSR input, 2 ranks", 2, ["svd", R, "-k", 30], ["-k", 30]),
    ("svd --grid 1x2, 2 ranks", 2, ["svd", A, "-k", 30, "--grid", "1x2"], ["-k", 30, "--grid", "1x2"]),
    # float64 panels narrowed to float32 by prsvd: the float64 panel is two float32 panels more
    ("svd --precision single of float64 input", 1, ["svd", A, "-k", 30, "--precision", "single"],
     ["-k", 30, "--precision", "single"]),
]


def solve(args, ranks, extra=()):
    out = path("out.h5")
    return run([*args, "-o", out, "--force", *extra], ranks=ranks if ranks > 1 else None)


_info = {}


def info(spec, args, ranks, extra=()):
    """prsvd info; with --json run once a file for its options (test_plan_text_equals_info
    reads the estimates test_plan_against_run compares)."""
    key = (spec, tuple(map(str, args)), ranks, tuple(extra))
    if key in _info:
        return _info[key]
    r = run(["info", spec, *args, *extra], ranks=ranks if ranks > 1 else None)
    if "--json" in extra:
        _info[key] = r
    return r


_text = {}


def solve_text(args, ranks):
    """A run with its text plan and summary, once a file (test_error_estimate_probes reads
    RUNS[0]'s)."""
    key = (tuple(map(str, args)), ranks)
    if key not in _text:
        _text[key] = solve(args, ranks)
    return _text[key]


def test_plan_text_equals_info():
    """The memory the plan prints is the memory info prints for the same run (they differed:
    svd's plan and info each computed the sketches their own way)."""
    for label, ranks, args, iargs in [RUNS[0], RUNS[3], RUNS[8], RUNS[13]]:
        r = solve_text(args, ranks)
        ri = info(args[1], iargs, ranks, ["--json"])
        if not check(f"{label}: runs, and info -k runs", r.returncode == 0 and ri.returncode == 0, r.stderr + ri.stderr):
            continue
        total = re.search(r"memory per rank:.*total ~(\S+ \S+)", r.stdout)
        planned = total.group(1) if total else None
        estimated = fmt_bytes(json.loads(ri.stdout)["memory_per_rank"])
        check(f"{label}: the plan's memory per rank is info's ({planned} against {estimated})",
              planned == estimated, r.stdout)
        ri = info(args[1], iargs, ranks)
        lines = [l for l in r.stdout.splitlines() if re.match(r"  (reads|flops|memory per rank):", l)]
        same = [l for l in ri.stdout.splitlines() if l in lines]
        check(f"{label}: info prints the plan's reads, flops and memory lines, word for word",
              len(lines) == 3 and same == lines, "plan:\n" + "\n".join(lines) + "\ninfo:\n" + ri.stdout)


def test_plan_against_run():
    """--json's plan is info's, and the run did what it planned."""
    for label, ranks, args, iargs in RUNS:
        r = solve(args, ranks, ["--json"])
        ri = info(args[1], iargs, ranks, ["--json"])
        # exit 8: --tol not reached within --max-rank, the result written and labelled
        if not check(f"{label}: runs, and info runs", r.returncode in (0, 8) and ri.returncode == 0,
                     r.stderr + ri.stderr):
            continue
        js, ji = json.loads(r.stdout), json.loads(ri.stdout)
        plan = js.get("plan")
        if not check(f"{label}: --json has the plan and the measured memory", plan and js.get("memory"), js):
            continue
        check(f"{label}: the plan is info's (memory, passes, bytes, flops)", plan == ji.get("plan"),
              f"run  {plan}\ninfo {ji.get('plan')}")
        # randQB_EI and -q auto (pca's default) plan the most passes they may take
        adaptive = js["method"] == "qb-ei" or js.get("power_iters_auto", False)
        done = js["passes"]
        check(f"{label}: {done} passes done, {plan['passes']} planned" + (" at most" if adaptive else ""),
              (done <= plan["passes"] if adaptive else done == plan["passes"]) and done <= plan["passes_max"], plan)
        read = js["phases"]["read"]["bytes"]
        check(f"{label}: bytes_per_pass x passes = bytes_read = the bytes the reads counted ({read:.0f})",
              plan["bytes_per_pass"] * done == js["bytes_read"] == read,
              (plan["bytes_per_pass"], done, js["bytes_read"], read))
        flops = js["phases"]["sketch"]["flops"]
        check(f"{label}: the planned flops are the panel products' count ({flops:.4g})",
              flops <= plan["flops"] * (1 + 1e-12) if adaptive else abs(flops - plan["flops"]) <= 1e-12 * flops,
              (plan["flops"], flops))
        total, growth = plan["memory_per_rank"]["total"], js["memory"]["growth"]
        slack = SLACK_AUTO if js.get("power_iters_auto") else SLACK
        factor = FACTOR_OF.get(label, FACTOR)
        check(f"{label}: peak RSS growth {fmt_bytes(growth)} <= the estimate {fmt_bytes(total)} + "
              f"{fmt_bytes(slack)}, and the estimate <= {factor} x it",
              growth <= total + slack and total <= factor * growth, js["memory"])


def test_panels_freed_after_the_pass():
    """A pass gives its panels back when it ends, copies as mappings are unmapped, so the work
    after the last pass (the single pass's QR, pseudo-inverses and core SVD) does not hold them:
    a copied single pass grew 12.3 MiB more than the mapped one with k = 100 while it held its
    two 8 MiB panels to the end, 1.7 MiB more once it freed them."""
    grew = {}
    for read in ["posix-copy", "posix"]:
        r = solve(["svd", A, "-k", 100, "--passes", 1, "--read", read], 1, ["--json"])
        if not check(f"--read {read}: runs", r.returncode == 0, r.stderr):
            return
        js = json.loads(r.stdout)
        grew[read], panel = js["memory"]["growth"], js["plan"]["memory_per_rank"]["panels"] / 2
    check(f"a copied single pass grows less than one panel ({fmt_bytes(panel)}) beyond the mapped one "
          f"({fmt_bytes(grew['posix-copy'])} against {fmt_bytes(grew['posix'])})",
          grew["posix-copy"] - grew["posix"] < panel, grew)


def test_error_estimate_probes():
    """The summary names the probes the plan says the estimate uses, not a constant."""
    r = solve_text(RUNS[0][2], 1)  # svd -k 30: l = k + p = 40
    check("svd: the plan and the error estimate name the same probes",
          re.search(r"subspace iteration, l = 40\), 10 probes", r.stdout) and "(HMT eq. 4.3, 10 probes)" in r.stdout,
          r.stdout)
    r = solve(["svd", A, "--tol", 0.3, "--max-rank", 20], 1)
    check("svd --tol: no probes, and no probe estimate printed", r.returncode in (0, 8) and "probes" not in r.stdout,
          r.stdout)


harness.main(globals())
