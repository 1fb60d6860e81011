#!/usr/bin/python3
"""One process uses every core it is given (issue 15): `prsvd svd -k 50 -p 10 -q 1` on a cached
float64 file, launched the ways a user does (no mpirun, `mpirun -n 1`, `mpirun -n 2`, each
with and without `--bind-to none`), against the numpy pass-efficient floor: Y = A X and
H = A^T Y on the whole matrix in memory with two BLAS threads, the two products of a pass with
nothing else (no reading, no panels).  Optionally a reference build (the commit before the
compute threads: one GEMM thread a rank, OpenBLAS's own threads by OPENBLAS_NUM_THREADS) runs
the same launches, and `--panel-mib` times the per-thread panel block at 2 threads.

usage: threads.py FILE.h5 --prsvd PATH/prsvd [--build NAME=PATH/prsvd ...] [--runs 3]
                  [--panel-mib 1 2 4] [--openblas-threads 2]

The file stays in the page cache (read once before the runs); every run is timed by prsvd's
own --json (elapsed and each pass), the floor in the same process order, interleaved: each
round runs the floor, then every launch of every build.  OPENBLAS_NUM_THREADS is set to
--openblas-threads for every run (as a user's environment might; prsvd's compute threads set
the BLAS themselves, the reference build's OpenBLAS takes it as it is).  Prints a Markdown
section: per launch the threads prsvd chose, the median (min-max) elapsed time and warm pass
time, and their ratio to the floor's median; `uptime` and the CPU other processes took.
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

K, P, Q = 50, 10, 1

FLOOR = r"""
import sys, time, json, h5py, numpy as np
path, dset, l, passes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with h5py.File(path, "r") as f:
    a = np.empty(f[dset].shape); f[dset].read_direct(a)
x = np.random.default_rng(0).standard_normal((a.shape[1], l))
times = []
for _ in range(passes):
    t0 = time.perf_counter()
    y = a @ x
    h = a.T @ y
    times.append(time.perf_counter() - t0)
    x = np.linalg.qr(h)[0]
print(json.dumps({"pass": times}))
"""


def launches(ranks_list):
    """(label, mpirun prefix or None, ranks)"""
    out = [("prsvd (no mpirun)", None, 1)]
    for ranks in ranks_list:
        out.append((f"mpirun -n {ranks}", ["mpirun", "--oversubscribe", "-n", str(ranks)], ranks))
        out.append((f"mpirun -n {ranks} --bind-to none",
                    ["mpirun", "--oversubscribe", "--bind-to", "none", "-n", str(ranks)], ranks))
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--dataset", default="/A")
    ap.add_argument("--prsvd", required=True)
    ap.add_argument("--build", action="append", default=[], help="NAME=PATH of a reference build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--openblas-threads", default="2")
    ap.add_argument("--panel-mib", type=float, nargs="*", default=[],
                    help="per-thread panel blocks (MiB) to time at 2 threads, no mpirun, through --memory")
    a = ap.parse_args()
    spec = f"{a.file}:{a.dataset}"
    out = os.path.join(os.path.dirname(os.path.abspath(a.file)), "threads.out.h5")
    env = dict(common.BENCH_ENV, OPENBLAS_NUM_THREADS=a.openblas_threads)
    floor_env = dict(common.BENCH_ENV, OPENBLAS_NUM_THREADS="2")
    with open(a.file, "rb") as f:  # into the page cache
        while f.read(64 << 20):
            pass
    builds = [("this", a.prsvd)] + [tuple(b.split("=", 1)) for b in a.build]
    cases = [(b, label, prefix, ranks, []) for b in builds for label, prefix, ranks in launches(a.ranks)]
    # the per-thread block: 2 threads, two panel buffers, so --memory = 2 buffers x 2 blocks
    cases += [(builds[0], f"prsvd, 2 threads, {mib:g} MiB a thread", None, 1,
               ["--threads", "2", "--memory", str(int(4 * mib * (1 << 20)))]) for mib in a.panel_mib]
    start = common.uptime()
    floor, got = [], {i: [] for i in range(len(cases))}
    for _ in range(a.runs):
        r = subprocess.run(["/usr/bin/python3", "-c", FLOOR, a.file, a.dataset, str(K + P), str(Q + 1)],
                           capture_output=True, text=True, env=floor_env)
        if r.returncode:
            raise SystemExit(f"threads.py: the numpy floor: {r.stderr}")
        floor.append(min(json.loads(r.stdout)["pass"]))
        for i, ((_, prsvd), _, prefix, _, extra) in enumerate(cases):
            got[i].append(run_prsvd(prsvd, prefix, spec, out, env, extra))
    end = common.uptime()
    fl = statistics.median(floor)
    passes = Q + 1
    print(f"numpy floor (2 BLAS threads, A in memory, Y = A X and H = A^T Y): {fmt(floor, 3)} s a pass\n")
    print("| build | launch | threads a rank | elapsed s | warm pass s | elapsed / (passes x floor) "
          "| warm pass / floor | machine busy, cores |")
    print("|---|---|---|---|---|---|---|---|")
    for i, ((bname, _), label, _, ranks, _) in enumerate(cases):
        g = got[i]
        warm = [min(x["pass"][1:]) if len(x["pass"]) > 1 else x["pass"][0] for x in g]
        el = [x["elapsed"] for x in g]
        thr = g[0]["threads"] or "(1 GEMM thread)"
        print(f"| {bname} | {label} | {thr} | {fmt(el)} | {fmt(warm, 3)} | {statistics.median(el) / (passes * fl):.2f} "
              f"| {statistics.median(warm) / fl:.2f} | {statistics.median(x['busy'] for x in g):.2f} |")
    print("\n" + "\n".join(f"- {label} ({bname}): {got[i][0]['why']}" for i, ((bname, _), label, _, _, _)
                           in enumerate(cases) if got[i][0]["why"] and bname == "this"))
    print(f"\n- {a.runs} rounds, each the floor then every launch; OPENBLAS_NUM_THREADS={a.openblas_threads} "
          f"for prsvd; `uptime` at the start: {start}; at the end: {end}")
    if os.path.exists(out):
        os.unlink(out)


if __name__ == "__main__":
    main()
