#!/usr/bin/python3
"""The cold first pass with and without prsvd's readahead advice (posix_fadvise WILLNEED of the
next panel's bytes, io/h5readahead.c; PRSVD_NO_READAHEAD=1 turns it off).

usage: readahead.py PRSVD FILE.h5 [FILE.h5 ...] [--runs 3] [--ranks 1]

For each file, `runs` times in turn with and without the advice: evict the file from the page
cache (posix_fadvise DONTNEED, peers/common.evict), run `prsvd svd -k 20 -p 10 -q 2 --json`
under `mpirun --bind-to none` (one BLAS thread), and keep pass 1's wall and CPU time
(pass_times[0]) and the elapsed time; also the cold HDF5 read floor of peers/read_floor.py at
the solver's panel rows.  Prints a Markdown section with medians and the load average
(`uptime`) before and after: other jobs share the machine, so the CPU times and the ratios
measured side by side are the evidence, not one wall time.
"""
import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))
import common  # noqa: E402

def run_prsvd(prsvd, spec, ranks, out, advice):
    env = dict(common.BENCH_ENV, **({} if advice else {"PRSVD_NO_READAHEAD": "1"}))
    cmd = ["mpirun", "--oversubscribe", "--bind-to", "none", "-n", str(ranks), prsvd, "svd", spec,
           "-k", "20", "-p", "10", "-q", "2", "--json", "--force", "-o", out]
    j = common.run_json("readahead.py", cmd, env)
    p1 = j["pass_times"][0]
    return {"pass1": p1["time_max"], "cpu1": p1["cpu_max"], "elapsed": j["elapsed_seconds"],
            "panel_rows": j["panel_rows"]}


def read_floor(spec, panel_rows):
    return common.run_json("readahead.py", [sys.executable, os.path.join(HERE, "peers", "read_floor.py"), spec,
                                             "--panel-rows", str(panel_rows), "--mode", "hdf5", "--cold"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prsvd")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ranks", type=int, default=1)
    a = ap.parse_args()
    out = os.path.join(os.path.dirname(os.path.abspath(a.files[0])), "readahead.out.h5")
    start = common.uptime()
    rows = []
    for f in a.files:
        spec = f + ":/A"
        got = {True: [], False: []}
        floors = []
        for _ in range(a.runs):
            for advice in (True, False):
                common.evict(f)
                got[advice].append(run_prsvd(a.prsvd, spec, a.ranks, out, advice))
            common.evict(f)
            floors.append(read_floor(spec, got[True][-1]["panel_rows"]))
        floor = statistics.median(x["seconds"] for x in floors)
        floor_cpu = statistics.median(x["cpu_seconds"] for x in floors)
        med = {adv: {k: statistics.median(r[k] for r in got[adv]) for k in ("pass1", "cpu1", "elapsed")}
               for adv in got}
        rows.append((os.path.basename(f), got, med, floor, floor_cpu))
    end = common.uptime()
    print("| file | ranks | readahead advice | pass 1 s, median (runs) | pass 1 / cold HDF5 read floor "
          "| pass 1 CPU s | elapsed s |")
    print("|---|---|---|---|---|---|---|")
    for name, got, med, floor, floor_cpu in rows:
        for adv in (True, False):
            m = med[adv]
            runs = ", ".join(f"{r['pass1']:.3f}" for r in got[adv])
            print(f"| {name} | {a.ranks} | {'on' if adv else 'off (PRSVD_NO_READAHEAD=1)'} | {m['pass1']:.3f} ({runs}) "
                  f"| {m['pass1'] / floor:.2f} (floor {floor:.3f} s, CPU {floor_cpu:.3f} s) | {m['cpu1']:.3f} "
                  f"| {m['elapsed']:.2f} |")
        print(f"| {name} | {a.ranks} | on / off | **{med[True]['pass1'] / med[False]['pass1']:.2f}** | | "
              f"{med[True]['cpu1'] / med[False]['cpu1']:.2f} | {med[True]['elapsed'] / med[False]['elapsed']:.2f} |")
    print(f"\n- `uptime` at the start: {start}; at the end: {end}")
    if os.path.exists(out):
        os.unlink(out)


if __name__ == "__main__":
    main()
