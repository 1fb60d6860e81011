"""The single-pass toolbox benchmark (`bench/bench.py toolbox`; see bench/README.md):

(a) accuracy against storage for the single-pass methods (three, two, hmt) on the test
    families of Tropp, Yurtsever, Udell & Cevher 2019, Sec. 7.3 (n = 1000, r = 10), as a PNG;
(b) time per pass and per panel of the single-pass sketch update, Gaussian against sparse
    sign maps, on a 100000 x 4000 matrix from `prsvd gen`;
(c) one pass against subspace iteration with q = 1 (2 passes), time and accuracy, same file.

It runs a copy of the build it is given (default: this tree's), writes its scratch into
bench/out/toolbox/ (about 3.3 GB), bench/toolbox-storage.png and its section of
bench/RESULTS.md, and prints the ratios.  About 4 minutes on 2 idle cores.  Needs gnuplot
(tools/setup installs gnuplot-nox).

    bench/toolbox.py [--prsvd PATH] [--reps 3] [--rows 100000] [--cols 4000]"""
import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))
import common  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--prsvd", default=os.path.join(os.path.dirname(HERE), "prsvd"))
ap.add_argument("--out", default=os.path.join(HERE, "out", "toolbox"))
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--rows", type=int, default=100000)
ap.add_argument("--cols", type=int, default=4000)
args = ap.parse_args()
if not shutil.which("gnuplot"):
    sys.exit("toolbox.py: gnuplot not found (tools/setup installs gnuplot-nox)")
os.makedirs(os.path.join(args.out, "build"), exist_ok=True)
# a copy of the build (the library's code is linked in), so that a rebuild meanwhile cannot mix in
args.prsvd = shutil.copy(args.prsvd, os.path.join(args.out, "build", "prsvd"))
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OPENBLAS_NUM_THREADS="1")


def prsvd(*a, ranks=1, check=True):
    cmd = [args.prsvd] + [str(x) for x in a]
    if ranks > 1:
        cmd = ["mpirun", "--oversubscribe", "-n", str(ranks), "-x", "OPENBLAS_NUM_THREADS", "-x", "LD_LIBRARY_PATH"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and r.returncode:
        sys.exit(f"toolbox.py: {' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r


def loadavg():
    return open("/proc/loadavg").read().split()[:3]


def o(name):
    return os.path.join(args.out, name)


started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
uptime_start = common.uptime()
t_start = time.time()

# ---- (a) accuracy against storage ---------------------------------------------------------------
n, r = 1000, 10
rng = np.random.default_rng(2019)
g = rng.standard_normal((n, n))
fam = {
    "LowRank+noise (xi = 1e-2)": np.diag(np.r_[np.ones(r), np.zeros(n - r)]) + 1e-2 / n * (g @ g.T),
    "PolyDecay (p = 1)": np.diag(np.r_[np.ones(r), np.arange(2, n - r + 2, dtype=float) ** -1.0]),
    "ExpDecay (q = 0.1)": np.diag(np.r_[np.ones(r), 10.0 ** (-0.1 * np.arange(1, n - r + 1))]),
}
xs = [14, 16, 20, 24, 32, 48, 64, 96, 128]  # storage T = x (m + n) numbers


def sizes(method, t):
    """sketch sizes (k_s, s) at storage t: three by --sketch-memory (eq. 5.6); two keeps Y (m x k)
    and W (s x n) with s = 2k + 1; hmt keeps Y (m x k) and Yt (n x k)."""
    if method == "two":
        k = (t - n) // (n + 2 * n)
        return k, 2 * k + 1
    if method == "hmt":
        return t // (2 * n), None
    return None, None


curves = {}
for fname, a in fam.items():
    spec = o("fam.h5") + ":/A"
    with h5py.File(o("fam.h5"), "w") as f:
        f["A"] = a
    sv = np.linalg.svd(a, compute_uv=False)
    opt = math.sqrt(np.sum(sv[r:] ** 2))
    for method in ["three", "two", "hmt"]:
        pts = []
        for x in xs:
            t = x * 2 * n
            extra = ["--onepass-method", method]
            if method == "three":
                extra += ["--sketch-memory", 8 * t]
            else:
                k, s = sizes(method, t)
                if k < r + 2:  # prsvd refuses k_s < k + 2 (Tropp et al. 2019 Thm 5.1)
                    continue
                extra += ["--range-dim", k] + (["--core-dim", s] if s else [])
            rr = prsvd("svd", spec, "-k", r, "--passes", 1, *extra, "-o", o("fam.out.h5"), "--force", "--json")
            js = json.loads(rr.stdout)
            with h5py.File(o("fam.out.h5")) as f:
                u, s_, v = f["U"][:], f["S"][:], f["V"][:]
            err = np.linalg.norm(a - (u * s_) @ v.T)
            pts.append((x, err / opt - 1, js["range_dim"], js["core_dim"]))
        curves[(fname, method)] = pts
with open(o("curves.dat"), "w") as f:
    for (fname, method), pts in curves.items():
        f.write(f"# {fname} | {method}\n")
        for x, ex, k, s in pts:
            f.write(f"{x} {max(ex, 1e-16):.6e} {k} {s}\n")
        f.write("\n\n")
png = os.path.join(os.path.dirname(common.results_md()), "toolbox-storage.png")  # beside the RESULTS.md written
blocks = {key: i for i, key in enumerate(curves)}
plot = ["set terminal pngcairo size 1500,480 font ',10'", f"set output '{png}'",
        "set multiplot layout 1,3 title 'single pass, n = 1000, r = 10: excess error against storage (Gaussian maps, seed 0)'",
        "set logscale y", "set format y '10^{%L}'", "set xlabel 'storage T / (m + n)'",
        "set ylabel '||A - Â_r||_F / ||A - A_r||_F - 1'", "set key top right", "set grid"]
for fname in fam:
    plot.append(f"set title '{fname}'")
    parts = [f"'{o('curves.dat')}' index {blocks[(fname, m)]} using 1:2 with linespoints title '{m}'"
             for m in ["three", "two", "hmt"]]
    plot.append("plot " + ", ".join(parts))
plot.append("unset multiplot")
subprocess.run(["gnuplot"], input="\n".join(plot), text=True, check=True)

# ---- (b) Gaussian against sparse maps: time per pass and per panel -----------------------------
m_big, n_big = args.rows, args.cols
big = o("big.h5") + ":/A"
t0 = time.time()
prsvd("gen", big, "--rows", m_big, "--cols", n_big, "--spectrum", "poly", "--decay", 1, "--force", "--quiet", ranks=2)
gen_s = time.time() - t0
subprocess.run(["sync"])
timing = {}
for k in [10, 50]:
    for rep in range(args.reps):
        for sketch in ["gaussian", "sparse"]:  # interleaved: a change in load falls on both
            t0 = time.time()
            rr = prsvd("svd", big, "-k", k, "--passes", 1, "--sketch", sketch, "-o", o(f"b.{sketch}.{k}.h5"),
                       "--force", "--json")
            wall = time.time() - t0
            js = json.loads(rr.stdout)
            panels = math.ceil(m_big / js["panel_rows"])
            timing.setdefault((k, sketch), []).append(
                {"sketch": js["phases"]["sketch"]["time_max"], "read": js["phases"]["read"]["time_max"],
                 "elapsed": js["elapsed_seconds"], "wall": wall, "panels": panels, "panel_rows": js["panel_rows"],
                 "range_dim": js["range_dim"], "core_dim": js["core_dim"], "load": loadavg()[0]})

# ---- (c) one pass against constant pass (q = 1), time and accuracy -----------------------------
cmp_runs = [("subspace, q = 1 (2 passes)", ["-k", 10, "-q", 1]),
            ("single pass, three, gaussian", ["-k", 10, "--passes", 1]),
            ("single pass, three, sparse", ["-k", 10, "--passes", 1, "--sketch", "sparse"]),
            ("single pass, three, gaussian, 8x storage", ["-k", 10, "--passes", 1, "--range-dim", 84, "--core-dim", 169])]
onepass = []
for label, a_ in cmp_runs:
    res = o("c.out.h5")
    best = None
    for rep in range(args.reps):
        rr = prsvd("svd", big, *a_, "-o", res, "--force", "--json")
        js = json.loads(rr.stdout)
        if best is None or js["elapsed_seconds"] < best["elapsed_seconds"]:
            best = js
        times = best.setdefault("all_elapsed", [])
        times.append(js["elapsed_seconds"])
    vr = json.loads(prsvd("verify", big, res, "--json").stdout)
    onepass.append((label, a_, best, vr, statistics.median(best["all_elapsed"])))

ended = time.strftime("%Y-%m-%d %H:%M:%S %Z")
uptime_end = common.uptime()
total_s = time.time() - t_start

# ---- report --------------------------------------------------------------------------------------
L = []
L.append("## Single pass: accuracy against storage, Gaussian against sparse maps, one pass against two")
L.append("")
L.append(f"Measured by `bench/bench.py toolbox`, {started} to {ended} ({total_s:.0f} s). "
         f"`uptime` at the start: `{uptime_start}`; at the end: `{uptime_end}`. "
         "The machine (2 cores) is shared with other jobs: read every time with that load in mind. "
         "prsvd ran on 1 rank with OPENBLAS_NUM_THREADS=1 (the sparse kernels are single-threaded C; "
         "the Gaussian GEMMs get no extra thread either).")
L.append("")
L.append("### (a) Accuracy against storage (TYUC 2019 Sec. 7.3 families, n = 1000, r = 10)")
L.append("")
L.append("![excess error against storage](toolbox-storage.png)")
L.append("")
L.append("Excess error ‖A − Â_r‖_F / ‖A − A_r‖_F − 1 of the rank-10 result (numpy, against the "
         "matrix's own SVD), one seed, Gaussian maps, against the storage T of the sketches in numbers, "
         "over m + n. three: `--sketch-memory 8T` (k_s, s by TYUC eq. 5.6); two: the largest k with "
         "k m + (2k + 1) n ≤ T (`--range-dim k --core-dim 2k+1`); hmt: k = ⌊T / (m + n)⌋. "
         "The families are TYUC's diagonal matrices (LowRank plus ξ/n times a Wishart matrix, "
         "PolyDecay and ExpDecay after r ones).")
L.append("")
L.append("| family | method | " + " | ".join(f"T = {x}(m+n)" for x in xs) + " |")
L.append("|---|---|" + "---|" * len(xs))
for (fname, method), pts in curves.items():
    byx = {x: (ex, k, s) for x, ex, k, s in pts}
    cells = []
    for x in xs:
        if x in byx:
            ex, k, s = byx[x]
            cells.append(f"{ex:.2e} ({k}{', ' + str(s) if method != 'hmt' else ''})")
        else:
            cells.append("—")
    L.append(f"| {fname} | {method} | " + " | ".join(cells) + " |")
L.append("")
L.append("Cells: excess error (k_s, s). — : the storage holds less than rank 10 needs.")
L.append("")
L.append(f"### (b) Gaussian against sparse sign maps: time per pass, {m_big} x {n_big}")
L.append("")
L.append(f"`prsvd gen --spectrum poly --decay 1` (float64, {m_big * n_big * 8 / 2**30:.1f} GiB, written in "
         f"{gen_s:.0f} s on 2 ranks, then in the page cache), `prsvd svd -k K --passes 1 --sketch KIND` "
         f"(three sketches; the default --memory 512M gives {timing[(10, 'gaussian')][0]['panels']} panels of "
         f"{timing[(10, 'gaussian')][0]['panel_rows']} rows), {args.reps} runs of each, interleaved. *sketch* is "
         "prsvd's own timer of the panel updates (all sketches: range, co-range, core and the 10 Gaussian "
         "error probes); *per panel* divides it by the panels.")
L.append("")
L.append("| k (k_s, s) | maps | sketch s, median (min–max) | per panel ms | read s | elapsed s | load (1 min) |")
L.append("|---|---|---|---|---|---|---|")
ratios = {}
for (k, sketch), runs in timing.items():
    sk = [x["sketch"] for x in runs]
    med = statistics.median(sk)
    ratios[(k, sketch)] = med
    L.append(f"| {k} ({runs[0]['range_dim']}, {runs[0]['core_dim']}) | {sketch} | {med:.2f} ({min(sk):.2f}–{max(sk):.2f}) | "
             f"{1000 * med / runs[0]['panels']:.0f} | {statistics.median(x['read'] for x in runs):.2f} | "
             f"{statistics.median(x['elapsed'] for x in runs):.2f} | {', '.join(x['load'] for x in runs)} |")
L.append("")
for k in [10, 50]:
    L.append(f"- k = {k}: sparse / Gaussian sketch time = {ratios[(k, 'sparse')]:.2f} / {ratios[(k, 'gaussian')]:.2f} s = "
             f"**{ratios[(k, 'sparse')] / ratios[(k, 'gaussian')]:.2f}**")
L.append("")
L.append(f"### (c) One pass against subspace iteration (q = 1), {m_big} x {n_big}, k = 10")
L.append("")
L.append("Accuracy from `prsvd verify` against the planted spectrum (σ_j = 1/j, so ‖A − A_10‖_F = "
         "sqrt(Σ_{j>10} 1/j²)); time is prsvd's elapsed_seconds, median of the runs.")
L.append("")
L.append("| method | passes | elapsed s (median) | ‖A−USVᵀ‖F / ‖A−A_k‖F | max σ error / σ_1 |")
L.append("|---|---|---|---|---|")
for label, a_, best, vr, med in onepass:
    L.append(f"| {label} (`{' '.join(map(str, a_))}`) | {best['passes']} | {med:.2f} | "
             f"{vr.get('residual_over_optimal', float('nan')):.4f} | {vr.get('singular_value_error', float('nan')):.2e} |")
L.append("")
sub = onepass[0][4]
L.append(f"- single pass (Gaussian) / subspace q = 1 elapsed = {onepass[1][4]:.2f} / {sub:.2f} = **{onepass[1][4] / sub:.2f}**; "
         f"sparse: {onepass[2][4] / sub:.2f}")
common.write_section("toolbox", "\n".join(L))
print("\n".join(L))
