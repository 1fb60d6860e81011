#!/usr/bin/python3
"""The single pass at its arithmetic floor (issue 15): `prsvd svd --passes 1 -k 10` (method
three; sparse sign maps and Gaussian test matrices) on a float64 file in the page cache, at
`mpirun -n 1` (1 thread), `mpirun -n 2` (1 thread a rank) and `mpirun -n 1 --bind-to none
--threads 2`, against what the same sketches cost with nothing else on this machine:

  arithmetic floor  bench/peers/onepass_floor.c: the scalar updates (sparse: 24 an entry, the
                    zeta = 8 of each of Omega, Psi and Upsilon, as cached 8-wide axpys, plus
                    the 10 probes' GEMM) or the flops (Gaussian: the four GEMMs of the pass,
                    2 m n (2 k_s + s_c + 10) + 2 m s_c^2) of the pass, on panels streamed from
                    memory, with fixed test matrices, in one process for 1 core or two at once
                    (half the rows each) for 2 cores;
  I/O floor         `cat FILE > /dev/null` (the file is in the page cache).

For each launch it reports prsvd's pass time (its --json pass_times: reading, scanning and all
the sketches of the one pass) and its elapsed time (plus start-up, the QRs, the small SVDs,
the estimate and the write), and their ratios to the arithmetic floor of the cores the launch
has (1 or 2); and the CPU time of the pass (--json pass_times cpu_max, the process's CPU
clock over every thread of a rank, times the ranks: an upper bound of their sum) against the
floor's (all copies): on a machine that other jobs share, wall times follow the share of the
cores each run got, CPU times much less so.  Rounds are interleaved (each round: cat, the floors, every launch of every
build), medians (min-max) of --runs rounds.

With --csr it times the same single pass over a CSR input instead (an AnnData-style group of
--density stored entries, FILE-csr.h5 beside --file: bench/out/onepass-csr.h5, 200000 x 2000 at
1%, written with scipy when missing), at `mpirun -n 1` (1 thread) and `mpirun -n 1 --bind-to none --threads 2`
(the threads split each panel's stored entries), sparse and Gaussian maps: the pass, elapsed
and CPU times and the 1-thread / 2-thread ratio, with no arithmetic floor (the floor program
multiplies dense panels); it writes the section onepass-floor-csr.

usage: onepass_floor.py --prsvd PATH/prsvd [--build NAME=PATH/prsvd ...] [--file FILE.h5]
                        [--rows 50000] [--cols 2000] [--runs 3] [--csr [--density 0.01]]

The file (default bench/out/onepass.h5, 50000 x 2000 float64, 800 MB) is generated with
`prsvd gen` when missing.  It takes about two minutes on an idle 2-core machine.  Prints and
writes its part of bench/RESULTS.md (the table under the section's hand-written reading), with
`uptime` and the CPU that other processes took.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))
import common  # noqa: E402

fmt = common.median_range  # median (min–max)

K = 10
KS, SC = 2 * K + 1, 2 * (2 * K + 1) + 1  # prsvd's default single-pass sizes (three)
ENV = dict(common.BENCH_ENV, OMPI_MCA_rmaps_base_oversubscribe="1")
LAUNCHES = [  # label, mpirun options, ranks, threads a rank, cores
    ("-n 1", ["--bind-to", "core"], 1, 1, 1),  # asked: a lone rank under the default binding is widened
    ("-n 2", [], 2, 1, 2),
    ("-n 1 --threads 2", ["--bind-to", "none"], 1, 2, 2),
]


def build_floor(out):
    exe = os.path.join(out, "onepass_floor")
    src = os.path.join(HERE, "peers", "onepass_floor.c")
    for libs in (["-L/usr/lib/x86_64-linux-gnu/openblas-pthread", "-lopenblas"], ["-lopenblas"], ["-lblas"]):
        r = subprocess.run(["cc", "-O3", "-march=native", "-o", exe, src, *libs], capture_output=True, text=True)
        if r.returncode == 0:
            return exe
    raise SystemExit(f"onepass_floor.py: cannot build {src}: {r.stderr}")


def timed(cmd, **kw):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, **kw)
    if r.returncode:
        raise SystemExit(f"onepass_floor.py: {' '.join(map(str, cmd))}: exit {r.returncode}: {r.stderr}")
    return time.perf_counter() - t0, r


def floor(exe, kind, rows, cols, copies, panel_rows):
    _, r = timed([exe, kind, str(rows // copies), str(cols), str(KS), str(SC), str(panel_rows), "1", str(copies)],
                 capture_output=True, text=True, env=ENV)
    j = json.loads(r.stdout)
    return {"wall": j["seconds"], "cpu": j["cpu_total"]}





def prsvd_run(prsvd, spec, kind, opts, ranks, threads, out):
    cmd = ["mpirun", "--oversubscribe", *opts, "-n", str(ranks), prsvd, "svd", spec, "-k", str(K), "--passes", "1",
           "--sketch", kind, "--threads", str(threads), "-o", out, "--force", "--json"]
    _, r = timed(cmd, capture_output=True, text=True, env=ENV)
    j = json.loads(r.stdout)
    return {"pass": j["pass_times"][0]["time_max"], "elapsed": j["elapsed_seconds"],
            "cpu": j["pass_times"][0]["cpu_max"] * ranks,
            "sketch": j["phases"]["sketch"]["time_max"], "read": j["phases"]["read"]["time_max"],
            "split": j["threads"]["split_panels"]}


CSR_LAUNCHES = [LAUNCHES[0], LAUNCHES[2]]  # 1 thread, 2 threads of one rank


def write_csr(path, rows, cols, density):
    """A random rows x cols CSR matrix of that density (values uniform in [0, 1)), as AnnData
    encodes one: the group /X with data, indices and indptr."""
    import h5py
    import numpy as np
    import scipy.sparse as sp
    x = sp.random(rows, cols, density=density, format="csr", random_state=1, dtype=np.float64)
    x.sort_indices()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path + ".tmp", "w") as f:
        g = f.create_group("X")
        g.attrs["encoding-type"] = "csr_matrix"
        g.attrs["encoding-version"] = "0.1.0"
        g.attrs["shape"] = np.array(x.shape)
        g["data"], g["indices"], g["indptr"] = x.data, x.indices.astype(np.int64), x.indptr.astype(np.int64)
    os.replace(path + ".tmp", path)


def csr_main(args, builds):
    """The single pass over a CSR input at 1 thread and 2 (the module's --csr)."""
    if not os.path.exists(args.file):
        write_csr(args.file, args.rows, args.cols, args.density)
    import h5py
    with h5py.File(args.file, "r") as f:
        m, n = (int(v) for v in f["X"].attrs["shape"])
        nnz = f["X/data"].shape[0]
    out = os.path.join(os.path.dirname(os.path.abspath(args.file)), "onepass-floor")
    os.makedirs(out, exist_ok=True)
    spec = f"{args.file}:/X"
    timed(["cat", args.file], stdout=subprocess.DEVNULL)  # into the page cache
    up0, busy0, t0 = common.uptime(), common.busy_seconds(), time.time()
    runs = {}
    for _ in range(args.runs):  # interleaved: every build, kind and launch in each round
        for kind in ("sparse", "gaussian"):
            for name, prsvd in builds:
                for label, opts, ranks, threads, _cores in CSR_LAUNCHES:
                    r = prsvd_run(prsvd, spec, kind, opts, ranks, threads, os.path.join(out, "svd-csr.h5"))
                    runs.setdefault((name, kind, label), []).append(r)
    wall = time.time() - t0
    others = common.busy_seconds() - busy0
    L = [f"### The single pass over CSR data, 1 thread against 2 ({m} x {n}, {nnz} stored entries "
         f"({nnz / (m * n):.1%}), k = {K}, k_s = {KS}, s_c = {SC}; medians of {args.runs} interleaved rounds)\n"]
    L.append("| build | sketch | launch | pass s | elapsed s | pass CPU s | pass 1 thread / this |")
    L.append("|---|---|---|---|---|---|---|")
    for name, _ in builds:
        for kind in ("sparse", "gaussian"):
            one = statistics.median(r["pass"] for r in runs[(name, kind, CSR_LAUNCHES[0][0])])
            for label, _opts, _ranks, threads, _cores in CSR_LAUNCHES:
                rs = runs[(name, kind, label)]
                p = [r["pass"] for r in rs]
                L.append(f"| {name} | {kind} | {label}{'' if rs[0]['split'] or threads == 1 else ' (not split)'} | "
                         f"{fmt(p)} | {fmt([r['elapsed'] for r in rs])} | {fmt([r['cpu'] for r in rs])} | "
                         f"{one / statistics.median(p):.2f} |")
    L.append("")
    L.append(f"Load: before `{up0}`; after `{common.uptime()}`; the machine was busy {others / wall:.2f} cores on "
             f"average over the {wall:.0f} s (this benchmark's own runs included).")
    print("\n".join(L))
    common.write_section("onepass-floor-csr", "\n".join(L))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prsvd", required=True)
    ap.add_argument("--build", action="append", default=[], help="NAME=PATH: another build, timed alike")
    ap.add_argument("--file", default=None)
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--cols", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--csr", action="store_true", help="the single pass over a CSR input, 1 thread against 2")
    ap.add_argument("--density", type=float, default=0.01, help="--csr: the stored share of the input")
    args = ap.parse_args()
    builds = [("this build", os.path.abspath(args.prsvd))] + [tuple(b.split("=", 1)) for b in args.build]
    args.file = args.file or os.path.join(HERE, "out", "onepass.h5")
    if args.csr:  # the CSR file beside the dense one (--quick names bench/out/onepass-quick.h5)
        args.file = args.file[:-3] + "-csr.h5" if args.file.endswith(".h5") else args.file + "-csr.h5"
    args.rows = args.rows or (200000 if args.csr else 50000)
    if args.csr:
        csr_main(args, builds)
        return
    out = os.path.join(os.path.dirname(os.path.abspath(args.file)), "onepass-floor")
    os.makedirs(out, exist_ok=True)
    if not os.path.exists(args.file):
        timed([builds[0][1], "gen", f"{args.file}:/A", "--rows", str(args.rows), "--cols", str(args.cols), "--quiet"],
              capture_output=True, text=True, env=ENV)
    spec = f"{args.file}:/A"
    import h5py
    with h5py.File(args.file, "r") as f:
        m, n = f["A"].shape
    panel_rows = max(256, (4 << 20) // (8 * n))
    exe = build_floor(out)
    timed(["cat", args.file], stdout=subprocess.DEVNULL)  # into the page cache
    up0, busy0, t0 = common.uptime(), common.busy_seconds(), time.time()
    res = {"cat": [], "floor": {}, "runs": {}}
    for _ in range(args.runs):
        res["cat"].append(timed(["cat", args.file], stdout=subprocess.DEVNULL)[0])
        for kind in ("sparse", "gaussian"):
            for cores in (1, 2):
                res["floor"].setdefault((kind, cores), []).append(floor(exe, kind, m, n, cores, panel_rows))
            for name, prsvd in builds:
                for label, opts, ranks, threads, _cores in LAUNCHES:
                    r = prsvd_run(prsvd, spec, kind, opts, ranks, threads, os.path.join(out, "svd.h5"))
                    res["runs"].setdefault((name, kind, label), []).append(r)
    wall = time.time() - t0
    others = common.busy_seconds() - busy0
    cat = statistics.median(res["cat"])
    L = []  # the section, as printed
    L.append(f"### The single pass against its arithmetic floor ({m} x {n} float64, k = {K}, "
             f"k_s = {KS}, s_c = {SC}; medians of {args.runs} interleaved rounds)\n")
    L.append(f"`cat` of the {os.path.getsize(args.file) / 1e6:.0f} MB file from the page cache: {fmt(res['cat'])} s. "
             f"Arithmetic floors (bench/peers/onepass_floor.c, panels of {panel_rows} rows), wall (CPU of all copies):")
    for kind in ("sparse", "gaussian"):
        work = f"{24 * m * n:.2e} updates + {20 * m * n:.1e} flops" if kind == "sparse" else \
            f"{2 * m * n * (2 * KS + SC + 10) + 2 * m * SC * SC:.2e} flops"
        f1, f2 = res["floor"][(kind, 1)], res["floor"][(kind, 2)]
        L.append(f"- {kind} ({work}): 1 core {fmt([f['wall'] for f in f1])} s ({fmt([f['cpu'] for f in f1])}), "
                 f"2 cores {fmt([f['wall'] for f in f2])} s ({fmt([f['cpu'] for f in f2])})")
    L.append("")
    L.append("| build | sketch | launch | pass s | elapsed s | pass CPU s | floor s (CPU) | pass / floor | "
             "elapsed / floor | pass CPU / floor CPU |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for name, _ in builds:
        for kind in ("sparse", "gaussian"):
            for label, _opts, _ranks, _threads, cores in LAUNCHES:
                rs = res["runs"][(name, kind, label)]
                fl = statistics.median(f["wall"] for f in res["floor"][(kind, cores)])
                fc = statistics.median(f["cpu"] for f in res["floor"][(kind, cores)])
                p = [r["pass"] for r in rs]
                e = [r["elapsed"] for r in rs]
                c = [r["cpu"] for r in rs]
                L.append(f"| {name} | {kind} | {label}{'' if rs[0]['split'] or _threads == 1 else ' (not split)'} | "
                         f"{fmt(p)} | {fmt(e)} | {fmt(c)} | {fl:.2f} ({fc:.2f}) | {statistics.median(p) / fl:.2f} | "
                         f"{statistics.median(e) / fl:.2f} | {statistics.median(c) / fc:.2f} |")
    L.append("")
    L.append(f"`cat` / 2-core sparse floor: {cat / statistics.median(f['wall'] for f in res['floor'][('sparse', 2)]):.2f}. "
             f"Before: `{up0}`; after: `{common.uptime()}`; the machine was busy {others / wall:.2f} cores "
             f"on average over the {wall:.0f} s (this benchmark's own runs included).")

    print("\n".join(L))
    common.write_section("onepass-floor", "\n".join(L))


if __name__ == "__main__":
    main()
