#!/usr/bin/python3
"""Zero-copy panels against copied ones: each pass of `prsvd svd -k 20 -p 10 -q 2` on a contiguous
float64 file with the panels mapped from the page cache (--read posix, io/h5map.c) and copied
out of it (--read posix-copy), and optionally a reference build (e.g. the commit before, whose
copy path also ran the NaN check on the GEMM thread).

usage: mmap.py FILE.h5 --prsvd PATH/prsvd [--build NAME=PATH/prsvd ...] [--runs 5]
               [--ranks 1 2] [--pause 3]

Runs alternate between the variants (mmap, copy, then each reference build), `pause` seconds
apart (on the shared VM a cold read() run right after a mapped run measured slower, with CPU
time outside the process: some clean-up of the kernel's), each with FILE evicted from the page
cache first (posix_fadvise DONTNEED, peers/common.evict), under
`mpirun --bind-to none` with one BLAS thread; pass 1 is then cold and passes 2 and 3 warm.
Each rank runs under /usr/bin/time for its peak RSS (VmHWM) and CPU time; the machine's busy
time (/proc/stat) less prsvd's gives the CPU other processes took meanwhile.  Prints a
Markdown section with medians (min-max) and `uptime` before and after.
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))
import common  # noqa: E402

def run(prsvd, spec, ranks, out, extra):
    usage_dir = os.path.join(os.path.dirname(out), "mmap.usage")
    os.makedirs(usage_dir, exist_ok=True)
    for f in os.listdir(usage_dir):
        os.unlink(os.path.join(usage_dir, f))
    env = dict(common.BENCH_ENV, LD_LIBRARY_PATH=os.path.dirname(prsvd), USAGE_DIR=usage_dir)
    # each rank's /usr/bin/time writes its own file (on a shared stderr the lines interleave)
    timed = 'exec /usr/bin/time -f "%M %U %S" -o "$USAGE_DIR/rank.$OMPI_COMM_WORLD_RANK" "$@"'
    cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "-x", "OPENBLAS_NUM_THREADS", "-x", "LD_LIBRARY_PATH",
           "-x", "USAGE_DIR", "-n", str(ranks), "sh", "-c", timed, "sh", prsvd, "svd", spec,
           "-k", "20", "-p", "10", "-q", "2", "--json", "--force", "-o", out, *extra]
    b0 = common.busy_seconds()
    j = common.run_json("mmap.py", cmd, env)
    busy = common.busy_seconds() - b0
    usage = []
    for i in range(ranks):
        with open(os.path.join(usage_dir, f"rank.{i}")) as f:
            usage.append(f.read().split()[-3:])
    own = sum(float(u) + float(s) for _, u, s in usage)
    wall = j["elapsed_seconds"]
    return {"pass": [p["time_max"] for p in j["pass_times"]], "cpu": [p["cpu_max"] for p in j["pass_times"]],
            "elapsed": wall, "hwm": sorted(int(m) / 1024 for m, _, _ in usage),
            "others": max(busy - own, 0.0) / max(wall, 1e-9), "read_path": j.get("read_path", "copy")}


def fmt(xs, digits=3):
    return common.median_range(xs, digits)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--prsvd", required=True,
                    help="the build with mapped panels (BUILD/prsvd; builds from before the "
                    "program linked the library's code in: BUILD/.libs/prsvd)")
    ap.add_argument("--build", action="append", default=[], help="NAME=PATH of a reference build (copy path)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--pause", type=float, default=3.0,
                    help="seconds between runs (a cold read() right after a mapped run measured slower)")
    a = ap.parse_args()
    spec = a.file + ":/A"
    out = os.path.join(os.path.dirname(os.path.abspath(a.file)), "mmap.out.h5")
    variants = [("mmap (`--read posix`)", a.prsvd, []), ("copy (`--read posix-copy`)", a.prsvd, ["--read", "posix-copy"])]
    variants += [(name, path, []) for name, path in (b.split("=", 1) for b in a.build)]
    start = common.uptime()
    got = {(r, v[0]): [] for r in a.ranks for v in variants}
    for ranks in a.ranks:
        for _ in range(a.runs):
            for name, prsvd, extra in variants:
                time.sleep(a.pause)
                common.evict(a.file)
                got[(ranks, name)].append(run(prsvd, spec, ranks, out, extra))
    end = common.uptime()
    print("| ranks | panels | read_path | pass 1 s (cold) | pass 1 CPU s | pass 2 s (warm) | pass 3 s (warm) "
          "| passes 2–3 CPU s | elapsed s | VmHWM MiB a rank | others' CPU, cores (max) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for ranks in a.ranks:
        for name, _, _ in variants:
            g = got[(ranks, name)]
            hwm = " / ".join(f"{statistics.median(x['hwm'][i] for x in g):.0f}" for i in range(ranks))
            print(f"| {ranks} | {name} | {g[0]['read_path']} | {fmt([x['pass'][0] for x in g])} "
                  f"| {statistics.median(x['cpu'][0] for x in g):.3f} | {fmt([x['pass'][1] for x in g])} "
                  f"| {fmt([x['pass'][2] for x in g])} | {statistics.median(x['cpu'][1] + x['cpu'][2] for x in g):.3f} "
                  f"| {fmt([x['elapsed'] for x in g], 2)} | {hwm} | {max(x['others'] for x in g):.2f} |")
        m, c = got[(ranks, variants[0][0])], got[(ranks, variants[1][0])]

        def ratio(key):
            return statistics.median(key(x) for x in m) / statistics.median(key(x) for x in c)
        print(f"| {ranks} | **mmap / copy** | | **{ratio(lambda x: x['pass'][0]):.2f}** "
              f"| {ratio(lambda x: x['cpu'][0]):.2f} | **{ratio(lambda x: x['pass'][1]):.2f}** "
              f"| **{ratio(lambda x: x['pass'][2]):.2f}** | {ratio(lambda x: x['cpu'][1] + x['cpu'][2]):.2f} "
              f"| {ratio(lambda x: x['elapsed']):.2f} | | |")
    print(f"\n- {a.runs} runs of each, interleaved, {a.pause:g} s apart; `uptime` at the start: {start}; at the end: {end}")
    if os.path.exists(out):
        os.unlink(out)


if __name__ == "__main__":
    main()
