#!/usr/bin/python3
"""What prsvd id and prsvd cur cost against scipy's interpolative decomposition in memory and
against the SVD of the same matrix (issue 18).

One m x n float64 matrix A = U diag(sigma) V^T + noise (random orthonormal U, V, sigma_j =
j^-1 for j <= 100, then a noise floor), written to HDF5 and read from the page cache. Timed,
interleaved, median of --rounds (wall-clock, the whole command):

  prsvd id -k K (q = 1, its default, and the verifying pass), prsvd id --no-verify-pass,
  prsvd cur -k K, prsvd svd -k K -q 1, each on 2 ranks;
  scipy.linalg.interpolative.interp_decomp(A, K) (randomized) on the matrix in memory, with
  OpenBLAS's 2 threads, and the load of A from the file it needs first, timed apart.

Beside each time, the error ||A - approximation||_F / ||A||_F computed with numpy. Prints a
Markdown table and replaces its section of bench/RESULTS.md. A few minutes on 2 cores at the
default size; --quick: 4000 x 500, k = 20, one round.

    bench/bench.py id-time [--quick] [--m 20000 --n 2000 --k 50 --rounds 3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
import common  # noqa: E402

PRSVD, ENV = common.PRSVD, common.ACCURACY_ENV
SECTION = "## Interpolative decomposition and CUR: time against scipy and the SVD (bench/id_time.py)"

# scipy with both BLAS threads: the best a competent in-memory run gets from these cores
SCIPY = r"""
import sys, time, json, h5py, numpy as np
import scipy.linalg.interpolative as sli
path, k = sys.argv[1], int(sys.argv[2])
t0 = time.perf_counter()
with h5py.File(path, "r") as f:
    a = f["A"][...]
t1 = time.perf_counter()
np.random.seed(1)
idx, proj = sli.interp_decomp(a, k)
t2 = time.perf_counter()
err = np.linalg.norm(a - a[:, idx[:k]] @ sli.reconstruct_interp_matrix(idx, proj)) / np.linalg.norm(a)
print(json.dumps({"load": t1 - t0, "id": t2 - t1, "error": err}))
"""


def make_matrix(path, m, n, seed=1):
    rng = np.random.default_rng(seed)
    r = min(100, n)
    u, _ = np.linalg.qr(rng.standard_normal((m, r)))
    v, _ = np.linalg.qr(rng.standard_normal((n, r)))
    s = 1.0 / np.arange(1, r + 1)
    a = (u * s) @ v.T + 1e-3 * rng.standard_normal((m, n)) / np.sqrt(m)
    with h5py.File(path, "w") as f:
        f["A"] = a
    return a


def run_prsvd(args):
    t0 = time.perf_counter()
    r = subprocess.run(["mpirun", "-n", "2", PRSVD] + args + ["--force", "--quiet"], env=ENV,
                       capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"prsvd {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return time.perf_counter() - t0


def error(a, kind, out):
    with h5py.File(out, "r") as f:
        if kind == "id":
            approx = a[:, f["pivots"][:]] @ f["T"][:]
        elif kind == "cur":
            approx = a[:, f["columns"][:]] @ f["U"][:] @ a[f["rows"][:], :]
        else:
            approx = (f["U"][:] * f["S"][:]) @ f["V"][:].T
    return np.linalg.norm(a - approx) / np.linalg.norm(a)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--m", type=int, default=20000)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    a_ = ap.parse_args()
    if a_.quick:
        a_.m, a_.n, a_.k, a_.rounds = 4000, 500, 20, 1
    work = tempfile.mkdtemp(prefix="id_time.")
    path = os.path.join(work, "a.h5")
    a = make_matrix(path, a_.m, a_.n)
    spec, k = path + ":/A", str(a_.k)
    out = os.path.join(work, "out.h5")
    runs = {
        "prsvd id (q = 1, verifying pass)": ("id", ["id", spec, "-k", k]),
        "prsvd id --no-verify-pass": ("id", ["id", spec, "-k", k, "--no-verify-pass"]),
        "prsvd cur (q = 1, verifying pass)": ("cur", ["cur", spec, "-k", k]),
        "prsvd svd -q 1": ("svd", ["svd", spec, "-k", k, "-q", "1"]),
    }
    times = {name: [] for name in runs}
    errors = {}
    scipy = []
    before = common.uptime()
    for rnd in range(a_.rounds):
        for name, (kind, args) in runs.items():
            times[name].append(run_prsvd(args + ["-o", out]))
            errors[name] = error(a, kind, out)
        r = subprocess.run([sys.executable, "-c", SCIPY, path, k], capture_output=True, text=True,
                           env=dict(os.environ, OPENBLAS_NUM_THREADS="2"))
        if r.returncode:
            sys.exit(f"scipy: {r.stderr}")
        scipy.append(json.loads(r.stdout))
        print(f"round {rnd + 1}: " + ", ".join(f"{n} {t[-1]:.2f} s" for n, t in times.items())
              + f", scipy {scipy[-1]['id']:.2f} + load {scipy[-1]['load']:.2f} s", flush=True)
    after = common.uptime()
    svd = statistics.median(times["prsvd svd -q 1"])
    med = lambda xs: statistics.median(xs)  # noqa: E731
    lines = [SECTION, "",
             f"{a_.m} x {a_.n} float64 ({a_.m * a_.n * 8 / 1e6:.0f} MB, in the page cache), sigma_j = 1/j for j <= 100 "
             f"plus a noise floor; k = {a_.k}; prsvd on `mpirun -n 2` (one BLAS thread a rank), scipy's "
             "`interp_decomp(A, k)` (randomized) with OpenBLAS's 2 threads on A in memory. Wall-clock seconds, "
             f"median of {a_.rounds} interleaved rounds; `uptime` before: {before}; after: {after}.", "",
             "| run | seconds | / prsvd svd | ‖A − approx‖_F / ‖A‖_F |", "|---|---|---|---|"]
    for name in runs:
        t = med(times[name])
        lines.append(f"| {name} | {t:.2f} | {t / svd:.2f} | {errors[name]:.3e} |")
    s_id, s_load = med([x["id"] for x in scipy]), med([x["load"] for x in scipy])
    lines.append(f"| scipy interp_decomp (A in memory) | {s_id:.2f} | {s_id / svd:.2f} | {scipy[-1]['error']:.3e} |")
    lines.append(f"| scipy: reading A into memory first | {s_load:.2f} | {s_load / svd:.2f} | |")
    t_id = med(times["prsvd id (q = 1, verifying pass)"])
    lines += ["", f"prsvd id took {t_id / (s_id + s_load):.2f} times scipy's load and in-memory ID, and {t_id / svd:.2f} "
              f"times the SVD of the same matrix; its error is {errors['prsvd id (q = 1, verifying pass)'] / scipy[-1]['error']:.2f} "
              "times scipy's (a power iteration, which scipy's randomized ID does not take) and "
              f"{errors['prsvd id (q = 1, verifying pass)'] / errors['prsvd svd -q 1']:.2f} times the SVD's (choosing actual "
              "columns costs accuracy against singular vectors). scipy's needs A in memory, prsvd streams it.", ""]
    text = "\n".join(lines)
    print(text)
    common.write_section("id-time", text)


if __name__ == "__main__":
    main()
