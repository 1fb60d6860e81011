#!/usr/bin/python3
"""The I/O and kernel path of a pass, measured in one run on this machine:

1. float32 data multiplied in float32 (SGEMM) against the same matrix as float64 (DGEMM),
   and against float32 data converted to float64 (--precision double): time per pass.
2. How ranks read the input: POSIX reads, MPI-IO independent and MPI-IO collective, at 1
   and 2 ranks, from the page cache (warm) and from the disk (cold: the file's pages dropped
   with posix_fadvise(DONTNEED) before each run), on a contiguous and a gzip-chunked file.
   The read phase runs without the reader thread (--no-prefetch), so it is all read time.

Usage: bench/bench.py io [--repeat N]   (about 5 minutes on 2 cores; writes bench/out/io/
and its section of bench/RESULTS.md)
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "peers"))
from common import BENCH_ENV, busy_seconds, evict, run_json, write_section  # noqa: E402
PRSVD = os.environ.get("PRSVD", os.path.join(ROOT, "prsvd"))  # PRSVD=...: a copy of a build
OUT = os.path.join(HERE, "out", "io")


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def prsvd(args, ranks=1):
    """Run prsvd --json; the JSON plus the cores other processes took meanwhile."""
    cmd = [PRSVD] + [str(a) for a in args]
    if ranks > 1:
        cmd = ["mpirun", "--oversubscribe", "-n", str(ranks)] + cmd
    b0, c0, t0 = busy_seconds(), children_cpu(), time.time()
    js = run_json("io.py", cmd)
    wall = time.time() - t0
    js["other_cores"] = max(0.0, (busy_seconds() - b0) - (children_cpu() - c0)) / wall
    return js


def gen(name, *extra):
    path = os.path.join(OUT, name)
    if not os.path.exists(path):
        r = subprocess.run(["mpirun", "-n", "2", PRSVD, "gen", f"{path}:/A", "--quiet", *map(str, extra)],
                           capture_output=True, text=True, env=BENCH_ENV)
        if r.returncode:
            sys.exit(f"io.py: gen {name} failed:\n{r.stderr}")
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if not os.access(PRSVD, os.X_OK):
        sys.exit("io.py: build prsvd first")
    load0 = os.getloadavg()
    t_start = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    size = ["--rows", 50000, "--cols", 2000]
    f64 = gen("f64.h5", *size)
    f32 = gen("f32.h5", *size, "--dtype", "float32")
    gz = gen("gz.h5", "--rows", 20000, "--cols", 2000, "--chunk", "128x2000", "--gzip", 1)
    out = os.path.join(OUT, "out.h5")
    lines = []

    # ---- 1. float32 vs float64 -----------------------------------------------------------
    cases = [("float64 data", f64, []), ("float32 data (SGEMM)", f32, []),
             ("float32 data, --precision double", f32, ["--precision", "double"])]
    runs = {c[0]: [] for c in cases}
    for _ in range(a.repeat):  # interleaved, so a change in background load falls on all
        for label, f, extra in cases:
            js = prsvd(["svd", f"{f}:/A", "-k", 20, "-p", 10, "-q", 1, "-o", out, "--force", "--json", *extra])
            ph = js["phases"]
            runs[label].append({"pass": (ph["read"]["time_max"] + ph["sketch"]["time_max"]) / js["passes"],
                                "sketch": ph["sketch"]["time_max"] / js["passes"],
                                "gflops": ph["sketch"]["flops"] / ph["sketch"]["time_max"] * 1e-9,
                                "elapsed": js["elapsed_seconds"], "precision": js["precision"],
                                "bytes": js["bytes_read"] / js["passes"], "s0": js["singular_values"][0],
                                "other": js["other_cores"]})
    lines += ["### float32 data multiplied in float32",
              "",
              "50000 x 2000 (`prsvd gen`, poly spectrum), `prsvd svd -k 20 -p 10 -q 1` (2 passes), 1 rank, "
              "1 BLAS thread, reader thread on, files in the page cache. *pass s* is (read time not hidden "
              f"+ sketch time) / passes; medians of {a.repeat} interleaved runs.",
              "",
              "| input | panels | bytes a pass | pass s | sketch s a pass | sketch GFLOP/s | elapsed s | others' cores |",
              "|---|---|---|---|---|---|---|---|"]
    for label, _, _ in cases:
        r = runs[label]
        lines.append(f"| {label} | {r[0]['precision']} | {r[0]['bytes'] / 2**20:.0f} MiB | {statistics.median(x['pass'] for x in r):.3f} "
                     f"| {statistics.median(x['sketch'] for x in r):.3f} | {statistics.median(x['gflops'] for x in r):.1f} "
                     f"| {statistics.median(x['elapsed'] for x in r):.2f} | {max(x['other'] for x in r):.2f} |")
    p64 = statistics.median(x["pass"] for x in runs["float64 data"])
    p32 = statistics.median(x["pass"] for x in runs["float32 data (SGEMM)"])
    pcv = statistics.median(x["pass"] for x in runs["float32 data, --precision double"])
    lines += ["", f"Time per pass, float64 / float32: **{p64 / p32:.2f}**; float32 converted to float64 / "
              f"float32 in float32: **{pcv / p32:.2f}**.", ""]

    # ---- 2. read modes ---------------------------------------------------------------------
    modes = ["posix", "independent", "collective"]
    lines += ["### POSIX vs MPI-IO independent vs MPI-IO collective reads",
              "",
              "`prsvd svd -k 5 -p 5 -q 0 --no-prefetch --read MODE` (one pass; the read phase is all read "
              "time): GB/s of the dataset's stored bytes over the slowest rank's read time. Cold: the file's "
              f"pages dropped before each run. Medians of {a.repeat} runs.",
              "",
              "| file | cache | ranks | " + " | ".join(f"{m} GB/s" for m in modes) + " | others' cores |",
              "|---|---|---|" + "---|" * len(modes) + "---|"]
    wins, spread = {m: 0 for m in modes}, []
    for fname, label in [(f64, "50000 x 2000 float64, contiguous (763 MiB)"),
                         (gz, "20000 x 2000 float64, chunks 128 x 2000, gzip 1")]:
        stored = prsvd(["info", f"{fname}:/A", "--json"])["storage_bytes"]
        for cache in ["cold", "warm"]:
            for ranks in [1, 2]:
                rates, other = {m: [] for m in modes}, 0.0
                for _ in range(a.repeat):
                    for m in modes:
                        if cache == "cold":
                            evict(fname)  # right before the run, as for every mode
                        js = prsvd(["svd", f"{fname}:/A", "-k", 5, "-p", 5, "-q", 0, "--no-prefetch", "--read", m,
                                    "-o", out, "--force", "--json"], ranks)
                        rates[m].append(stored / js["phases"]["read"]["time_max"] * 1e-9)
                        other = max(other, js["other_cores"])
                lines.append(f"| {label} | {cache} | {ranks} | " + " | ".join(f"{statistics.median(rates[m]):.2f}" for m in modes)
                             + f" | {other:.2f} |")
                best = max(modes, key=lambda m: statistics.median(rates[m]))
                wins[best] += 1
                spread.append(max(rates["posix"]) / min(rates["posix"]))
    lines += ["", "Fastest mode per row: " + ", ".join(f"{m} {wins[m]}" for m in modes) + f" of {sum(wins.values())}; "
              f"the same POSIX run varied by up to {max(spread):.2f}x between repetitions (fastest / slowest)."]
    load1 = os.getloadavg()
    head = ["## I/O and kernel path (bench/io.py)", "",
            f"Measured {t_start}, machine: {os.cpu_count()} cores, `uptime` load average "
            f"{load0[0]:.2f} before and {load1[0]:.2f} after (other jobs share this machine; *others' cores* "
            "is the CPU the rest of the machine used during the worst run, in cores).", ""]
    text = "\n".join(head + lines)
    print(text)
    write_section("io", text)


if __name__ == "__main__":
    main()
