#!/usr/bin/python3
"""One process uses every core it is given (issue 15): `prsvd svd -k 50 -p 10 -q 1` launched the
ways a user does (no mpirun, `mpirun -n 1`, `-n 2`, each with and without `--bind-to none`,
`-n 1 --map-by slot:PE=2`) on three cached inputs, against the pass-efficient floor of each
and against dask:

  float64  FILE (the question's input, `prsvd gen`); the floor: numpy, 2 BLAS threads, the
           matrix in memory, Y = A X and H = A^T Y, the two products of a pass and nothing else;
  float32  the same shape from `prsvd gen --dtype float32`, beside FILE; the floor: the same
           in float32 (numpy's SGEMM, 2 BLAS threads), as prsvd multiplies float32 data;
  csr      the AnnData/CSR encoding prsvd reads (bench/peers/sparse_gen.py, 1% stored, float32
           values), as many rows as FILE and 5 times its columns, beside FILE; the floor:
           scipy.sparse in memory with float64 values, whose sparse x dense products run on one
           thread, so also the rows split between 2 forked processes (each its half: Y_i = A_i X,
           H_i = A_i^T Y_i, then H = H_1 + H_2, the halves' H sent back), the faster of the two.

dask: dask.array.linalg.svd_compressed(k=50, n_oversamples=10, n_power_iter=1, compute=True),
2 threads, on the same dataset read through h5py (bench/peers/dask_svd.py); for csr on the
dense float64 copy of the matrix when it is at most DASK_DENSE_MAX bytes (dask has no sparse
streaming), else n/a.  Optionally a reference build (`--build NAME=PATH`) runs the same
launches, and `--variant NAME=ARGS` runs this build with ARGS added in every
launch (`--variant copied='--read posix-copy'`), and `--panel-mib` times the per-thread panel block at 2 threads on the float64 input.

usage: threads.py FILE.h5 --prsvd PATH/prsvd [--input float64|float32|csr|all] [--runs 3]
                  [--build NAME=PATH/prsvd ...] [--variant NAME=ARGS ...] [--panel-mib 1 2 4] [--openblas-threads 2]

Every file stays in the page cache (read before the runs); every run is timed by prsvd's own
--json (elapsed and each pass), interleaved: each round runs, input by input, the floor, dask,
then every launch of every build.  OPENBLAS_NUM_THREADS is set to --openblas-threads for every
prsvd run (as a user's environment might; prsvd's compute threads set the BLAS themselves).
Writes the section *Threads inside a rank* of bench/RESULTS.md (peers/common.write_section):
per input and launch the threads prsvd chose, the median (min-max) elapsed and warm pass time,
their ratios to the floor's median and dask's, and the issue's targets (elapsed within 1.15x of
passes x the floor, dask at least 3x slower) met or missed; `uptime` before and after.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

import h5py

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))
import common  # noqa: E402

fmt = common.median_range  # median (min–max)

K, P, Q = 50, 10, 1
TARGET_FLOOR, TARGET_DASK = 1.15, 3.0  # issue 15: elapsed / (passes x floor) at most; dask / elapsed at least
CSR_DENSITY, CSR_WIDER = 0.01, 5       # the CSR input: 1% stored, 5 x the float64 input's columns
DASK_DENSE_MAX = 2 << 30               # dask on the CSR matrix made dense only up to 2 GiB
INPUTS = ("float64", "float32", "csr")

FLOOR_DENSE = r"""
import sys, time, json, h5py, numpy as np
path, dset, l, passes, dtype = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
with h5py.File(path, "r") as f:
    a = np.empty(f[dset].shape, dtype=dtype); f[dset].read_direct(a)
x = np.random.default_rng(0).standard_normal((a.shape[1], l)).astype(dtype)
times = []
for _ in range(passes):
    t0 = time.perf_counter()
    y = a @ x
    h = a.T @ y
    times.append(time.perf_counter() - t0)
    x = np.linalg.qr(h)[0]
print(json.dumps({"pass": times}))
"""

FLOOR_CSR = r"""
import sys, time, json, h5py, numpy as np, scipy.sparse as sp, multiprocessing as mp
path, group, l, passes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with h5py.File(path, "r") as f:
    g = f[group]
    a = sp.csr_matrix((g["data"][:].astype(np.float64), g["indices"][:], g["indptr"][:]),
                      shape=tuple(int(s) for s in g.attrs["shape"]))
half = a.shape[0] // 2
parts = [a[:half], a[half:]]  # made before the fork: each process has its half without a copy

def product(m, x):
    return m.T @ (m @ x)

def work(job):
    return product(parts[job[0]], job[1])

x0 = np.random.default_rng(0).standard_normal((a.shape[1], l))
one, two = [], []
x = x0
for _ in range(passes):
    t0 = time.perf_counter()
    h = product(a, x)
    one.append(time.perf_counter() - t0)
    x = np.linalg.qr(h)[0]
x = x0
with mp.get_context("fork").Pool(2) as pool:
    pool.map(work, [(0, x[:, :1]), (1, x[:, :1])], chunksize=1)  # the workers started
    for _ in range(passes):
        t0 = time.perf_counter()
        h = sum(pool.map(work, [(0, x), (1, x)], chunksize=1))
        two.append(time.perf_counter() - t0)
        x = np.linalg.qr(h)[0]
print(json.dumps({"pass": [min(p, q) for p, q in zip(one, two)], "one": one, "two": two}))
"""


def launches(ranks_list):
    """(label, mpirun prefix or None, ranks)"""
    out = [("prsvd (no mpirun)", None, 1)]
    for ranks in ranks_list:
        out.append((f"mpirun -n {ranks}", ["mpirun", "--oversubscribe", "-n", str(ranks)], ranks))
        out.append((f"mpirun -n {ranks} --bind-to none",
                    ["mpirun", "--oversubscribe", "--bind-to", "none", "-n", str(ranks)], ranks))
    out.append(("mpirun -n 1 --map-by slot:PE=2", ["mpirun", "--map-by", "slot:PE=2", "-n", "1"], 1))
    return out


def run_prsvd(prsvd, prefix, spec, out, env, extra):
    cmd = [prsvd, "svd", spec, "-k", str(K), "-p", str(P), "-q", str(Q), "--json", "--force", "-o", out, *extra]
    if prefix:
        cmd = prefix[:1] + ["-x", "OPENBLAS_NUM_THREADS"] + prefix[1:] + cmd
    b0, t0 = common.busy_seconds(), time.time()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.time() - t0
    if r.returncode:
        raise SystemExit(f"threads.py: {' '.join(cmd)}: exit {r.returncode}: {r.stderr}")
    j = json.loads(r.stdout)
    return {"elapsed": j["elapsed_seconds"], "pass": [p["time_max"] for p in j["pass_times"]],
            "threads": j.get("threads", {}).get("per_rank", 0), "why": j.get("threads", {}).get("why", ""),
            "busy": (common.busy_seconds() - b0) / max(wall, 1e-9)}


def make_inputs(file, dataset, prsvd, wanted):
    """{input: (spec, how it was made, dense copy for dask or None, why dask has none)} for the
    inputs asked, made beside FILE once (the float32 and CSR files are reused while their shape
    matches)."""
    with h5py.File(file, "r") as f:
        rows, cols = f[dataset].shape
    base = os.path.splitext(file)[0]
    out = {}
    if "float64" in wanted:
        out["float64"] = (f"{file}:{dataset}", f"{rows} x {cols} float64 (`prsvd gen`, {rows * cols * 8 / 1e9:.2f} GB)",
                          f"{file}:{dataset}", None)
    if "float32" in wanted:
        path = f"{base}-f32.h5"
        if not shape_is(path, "/A", (rows, cols)):
            subprocess.run(["mpirun", "-n", "2", prsvd, "gen", f"{path}:/A", "--rows", str(rows), "--cols", str(cols),
                            "--dtype", "float32", "--force", "--quiet"], env=common.ACCURACY_ENV, check=True)
        out["float32"] = (f"{path}:/A", f"{rows} x {cols} float32 (`prsvd gen --dtype float32`, "
                          f"{rows * cols * 4 / 1e9:.2f} GB)", f"{path}:/A", None)
    if "csr" in wanted:
        path, ccols = f"{base}-csr.h5", CSR_WIDER * cols
        if not shape_is(path, "/X", (rows, ccols)):
            subprocess.run(["/usr/bin/python3", os.path.join(HERE, "peers", "sparse_gen.py"), path, "--rows", str(rows),
                            "--cols", str(ccols), "--density", str(CSR_DENSITY)], check=True, capture_output=True)
        with h5py.File(path, "r") as f:
            nnz = f["/X/data"].shape[0]
            stored = sum(f[f"/X/{d}"].id.get_storage_size() for d in ("data", "indices", "indptr"))
        dense = rows * ccols * 8
        desc = (f"{rows} x {ccols} CSR, {nnz / (rows * ccols):.2%} stored ({nnz:.3g} entries, float32 values, "
                f"AnnData encoding from bench/peers/sparse_gen.py, {stored / 1e9:.2f} GB)")
        if dense <= DASK_DENSE_MAX:
            dpath = f"{base}-csr-dense.h5"
            if not shape_is(dpath, "/A", (rows, ccols)):
                a, _ = common.load_csr(f"{path}:/X")
                with h5py.File(dpath, "w") as f:
                    d = f.create_dataset("A", (rows, ccols), dtype="f8")
                    for r0 in range(0, rows, 8192):
                        d[r0:r0 + 8192] = a[r0:r0 + 8192].toarray()
            out["csr"] = (f"{path}:/X", desc, f"{dpath}:/A", None)
        else:
            out["csr"] = (f"{path}:/X", desc, None, f"n/a: dask has no sparse streaming; svd_compressed would need the "
                          f"{dense / 1e9:.1f} GB dense array (this question makes it only up to "
                          f"{DASK_DENSE_MAX / 2**30:.0f} GiB)")
    return out


def shape_is(path, name, shape):
    try:
        with h5py.File(path, "r") as f:
            obj = f[name]
            got = tuple(int(s) for s in (obj.attrs["shape"] if isinstance(obj, h5py.Group) else obj.shape))
            return got == tuple(shape)
    except (OSError, KeyError):
        return False


def cache(spec):
    """Read SPEC's file whole, so that every run finds it in the page cache."""
    with open(common.split_spec(spec)[0], "rb") as f:
        while f.read(64 << 20):
            pass


def floor_pass(kind, spec, env):
    path, name = common.split_spec(spec)
    if kind == "csr":
        cmd = ["/usr/bin/python3", "-c", FLOOR_CSR, path, name, str(K + P), str(Q + 1)]
    else:
        cmd = ["/usr/bin/python3", "-c", FLOOR_DENSE, path, name, str(K + P), str(Q + 1), kind]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode:
        raise SystemExit(f"threads.py: the {kind} floor: {r.stderr}")
    j = json.loads(r.stdout)
    return {"pass": min(j["pass"]), "one": min(j.get("one", [0])), "two": min(j.get("two", [0]))}


def dask_seconds(spec, env, scratch):
    with h5py.File(common.split_spec(spec)[0], "r") as f:
        cols = f[common.split_spec(spec)[1]].shape[1]
    rows = max(256, (32 << 20) // (8 * cols))  # panels of about 32 MiB
    j = common.run_json("threads.py: dask", ["/usr/bin/python3", os.path.join(HERE, "peers", "dask_svd.py"), spec, str(K),
                                             "--oversample", str(P), "--iters", str(Q), "--chunk-rows", str(rows),
                                             "--workers", "2", "--save", scratch], env=env)
    return j["compute_seconds"]


def verdict(ratio_floor, ratio_dask):
    """The issue's two targets for one launch: 'met', or what missed."""
    missed = []
    if ratio_floor > TARGET_FLOOR:
        missed.append(f"{ratio_floor:.2f}x the floor")
    if ratio_dask is not None and ratio_dask < TARGET_DASK:
        missed.append(f"dask only {ratio_dask:.1f}x")
    return "met" if not missed else "**missed**: " + ", ".join(missed)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--dataset", default="/A")
    ap.add_argument("--prsvd", required=True)
    ap.add_argument("--input", choices=INPUTS + ("all",), default="all")
    ap.add_argument("--build", action="append", default=[], help="NAME=PATH of a reference build")
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME=ARGS: this build with ARGS added, in every launch (e.g. copied='--read posix-copy')")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--openblas-threads", default="2")
    ap.add_argument("--panel-mib", type=float, nargs="*", default=[],
                    help="per-thread panel blocks (MiB) to time at 2 threads, no mpirun, through --memory")
    a = ap.parse_args()
    wanted = INPUTS if a.input == "all" else (a.input,)
    scratch = os.path.dirname(os.path.abspath(a.file))
    out, dask_out = os.path.join(scratch, "threads.out.h5"), os.path.join(scratch, "threads.dask.h5")
    env = dict(common.BENCH_ENV, OPENBLAS_NUM_THREADS=a.openblas_threads)
    two_threads = dict(common.BENCH_ENV, OPENBLAS_NUM_THREADS="2")
    inputs = make_inputs(a.file, a.dataset, a.prsvd, wanted)
    builds = [("this", a.prsvd, [])] + [(*b.split("=", 1), []) for b in a.build]
    builds += [(v.split("=", 1)[0], a.prsvd, shlex.split(v.split("=", 1)[1])) for v in a.variant]
    cases = [(kind, (name, path), label, prefix, extra) for kind in wanted for name, path, extra in builds
             for label, prefix, _ in launches(a.ranks)]
    # the per-thread block: 2 threads, two panel buffers, so --memory = 2 buffers x 2 blocks
    if "float64" in wanted:
        cases += [("float64", builds[0][:2], f"prsvd, 2 threads, {mib:g} MiB a thread", None,
                   ["--threads", "2", "--memory", str(int(4 * mib * (1 << 20)))]) for mib in a.panel_mib]
    for kind in wanted:
        cache(inputs[kind][0])
        if inputs[kind][2]:
            cache(inputs[kind][2])
    start, t_start = common.uptime(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    floor = {kind: [] for kind in wanted}
    dask = {kind: [] for kind in wanted}
    got = {i: [] for i in range(len(cases))}
    for _ in range(a.runs):
        for kind in wanted:
            floor[kind].append(floor_pass(kind, inputs[kind][0], two_threads))
            if inputs[kind][2]:
                dask[kind].append(dask_seconds(inputs[kind][2], two_threads, dask_out))
            for i, (ckind, (_, prsvd), _, prefix, extra) in enumerate(cases):
                if ckind == kind:
                    got[i].append(run_prsvd(prsvd, prefix, inputs[kind][0], out, env, extra))
    end, t_end = common.uptime(), time.strftime("%H:%M UTC", time.gmtime())
    for f in (out, dask_out):
        if os.path.exists(f):
            os.unlink(f)
    text = section(a, inputs, wanted, cases, floor, dask, got, (start, t_start), (end, t_end))
    print(text)
    common.write_section("threads", text)


def section(a, inputs, wanted, cases, floor, dask, got, start, end):
    passes = Q + 1
    L = ["## Threads inside a rank: every launch against the numpy floor", "",
         f"Measured by `bench/bench.py threads` (bench/threads.py) from {start[1]} to {end[1]}, {a.runs} "
         f"round{'s' if a.runs > 1 else ''}, on this shared 2-core VM: `uptime` at the start: {start[0]}; at the "
         f"end: {end[0]}. `prsvd svd -k {K} -p {P} -q {Q} --json` ({passes} passes) on each input in the page cache, "
         f"OPENBLAS_NUM_THREADS={a.openblas_threads} in every run's environment (prsvd's compute threads set "
         "their BLAS themselves). Each round runs, input by input, the floor, dask, then every launch; medians "
         "(min–max) of the rounds. *elapsed / floor* is prsvd's elapsed over "
         f"{passes} passes x the floor's median pass; *dask / elapsed* is dask's compute time over prsvd's elapsed. "
         f"The issue's targets: elapsed / floor at most {TARGET_FLOOR:g} and dask / elapsed at least "
         f"{TARGET_DASK:g}. *machine busy* counts every process's CPU, ours included.", ""]
    for kind in wanted:
        spec, desc, dense, no_dask = inputs[kind]
        fl = statistics.median(f["pass"] for f in floor[kind])
        floor_text = {"float64": "numpy, 2 BLAS threads, the matrix in memory, Y = A X and H = Aᵀ Y",
                      "float32": "numpy in float32 (SGEMM), 2 BLAS threads, the matrix in memory",
                      "csr": "scipy.sparse in memory (float64 values), the faster of one process (scipy's sparse x "
                             "dense products run on one thread) and the rows split between 2 forked processes"}[kind]
        L.append(f"**{kind}**: {desc}. Floor ({floor_text}): {fmt([f['pass'] for f in floor[kind]], 3)} s a pass"
                 + (f" (one process {statistics.median(f['one'] for f in floor[kind]):.3f}, two "
                    f"{statistics.median(f['two'] for f in floor[kind]):.3f})" if kind == "csr" else "")
                 + ". dask svd_compressed(compute=True), 2 threads"
                 + (f"{' on the dense float64 copy' if kind == 'csr' else ''}: {fmt(dask[kind])} s." if dense
                    else f": {no_dask}."))
        L.append("")
        L.append("| build | launch | threads a rank | elapsed s | warm pass s | elapsed / (passes x floor) "
                 "| warm pass / floor | dask / elapsed | machine busy, cores | targets |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        dk = statistics.median(dask[kind]) if dask[kind] else None
        for i, (ckind, (bname, _), label, _, extra) in enumerate(cases):
            if ckind != kind:
                continue
            g = got[i]
            warm = [min(x["pass"][1:]) if len(x["pass"]) > 1 else x["pass"][0] for x in g]
            el = statistics.median(x["elapsed"] for x in g)
            thr = g[0]["threads"] or "(1 GEMM thread)"
            rf, rd = el / (passes * fl), (dk / el if dk else None)
            L.append(f"| {bname} | {label} | {thr} | {fmt([x['elapsed'] for x in g])} | {fmt(warm, 3)} | {rf:.2f} "
                     f"| {statistics.median(warm) / fl:.2f} | {f'{rd:.1f}' if rd else 'n/a'} "
                     f"| {statistics.median(x['busy'] for x in g):.2f} "
                     f"| {verdict(rf, rd) if bname == 'this' and not extra else '—'} |")
        L.append("")
    whys = {}
    for i, (_, (bname, _), label, _, extra) in enumerate(cases):
        if bname == "this" and not extra and got[i][0]["why"]:
            whys.setdefault(label, got[i][0]["why"])
    L.append("Why each launch runs the threads it does (the plan's words, the first input's run):")
    L.append("")
    L += [f"- {label}: {why}" for label, why in whys.items()]
    return "\n".join(L)


if __name__ == "__main__":
    main()
