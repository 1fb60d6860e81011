#!/usr/bin/python3
"""K-FAC's compute threads (issue 15): 1 rank x 1 thread against 1 rank x 2 threads against
2 ranks x 1 thread, on the trainer and on `prsvd kfac`, each run interleaved with the others
in every round, `mpirun --bind-to none` for all three (a rank's threads may use both cores).

1. tools/kfac-train --optimizer kfac-revd on a 784-WIDTH-WIDTH-10 network, batch 256,
   factors every step and inverses every 5 steps (so statistics, refreshes and
   preconditioning all weigh): the training clock and the trainer's phase timers
   (factor statistics, refresh, precondition) from its JSON.
2. prsvd kfac on the trainer-like factors of two layers of dimension DIM (A = X^T X / n of
   Gaussian rows with a decaying spectrum), --method eig and --method revd -k 220: the
   inversion time (slowest rank) from --json.

usage: bench/bench.py kfac-threads [--quick] [--rounds 3] [--width 1024] [--dim 1536]
       (threads.py --prsvd PATH/prsvd --train PATH/prsvd-kfac-train [those options])
Prints a Markdown section and writes it into bench/RESULTS.md: per launch the median (min-max) of
the rounds and the ratio of 1 x 1 to it; `uptime` before and after, and the CPU seconds the
whole machine was busy meanwhile (it may be shared).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import shutil
import tempfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "peers"))
import common  # noqa: E402

SPLITS = [(1, 1), (1, 2), (2, 1)]  # ranks x threads
SECTION = "## K-FAC threads: 1 rank x 1 thread against 1 x 2 and 2 x 1 (bench/kfac/threads.py)"


def mpirun(ranks):
    return ["mpirun", "--oversubscribe", "--bind-to", "none", "-n", str(ranks)]


def factors(path, dim, rows=4096, seed=0):
    """Two layers of A and G, each X^T X / rows for rows of decaying scale."""
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        for layer in ["fc1", "fc2"]:
            g = f.create_group(layer)
            for name in "AG":
                x = rng.standard_normal((rows, dim)) * (0.99 ** np.arange(dim))
                g.create_dataset(name, data=x.T @ x / rows)


def train_run(args, ranks, threads, out):
    cmd = [*mpirun(ranks), args.train, "--optimizer", "kfac-revd", "--widths", f"{args.width},{args.width}",
           "--batch", "256", "--train-size", "2560", "--test-size", "500", "--max-steps", str(args.steps),
           "--factor-period", "1", "--inverse-period", "5", "--seed", "1", "--threads", str(threads),
           "--quiet", "--json", out]
    r = subprocess.run(cmd, capture_output=True, text=True, env=common.BENCH_ENV)
    if r.returncode:
        sys.exit(f"{' '.join(cmd)}: {r.stderr}")
    log = json.load(open(out))
    assert log["threads"] == threads, log["threads"]
    ph = log["phase_seconds"]
    return {"train": sum(e["seconds"] for e in log["epochs"]), "statistics": ph["statistics"],
            "refresh": ph["refresh"], "precondition": ph["precondition"], "loss": log["step_loss"][-1]}


def kfac_run(args, ranks, threads, method, src, out):
    extra = ["--method", "eig"] if method == "eig" else ["--method", "revd", "-k", "220"]
    cmd = [*mpirun(ranks), args.prsvd, "kfac", src, *extra, "-o", out, "--force", "--json", "--threads", str(threads)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=common.BENCH_ENV)
    if r.returncode:
        sys.exit(f"{' '.join(cmd)}: {r.stderr}")
    js = json.loads(r.stdout)
    assert (js["threads"]["per_rank"], js["threads"]["ranks"]) == (threads, ranks), js["threads"]
    return {f"kfac {method}": js["inversion_seconds"]}


def cell(values, base=None):
    med = statistics.median(values)
    text = f"{med:.3g} ({min(values):.3g}–{max(values):.3g})"
    return text if base is None else f"{text}, **{base / med:.2f}x**"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prsvd", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--dim", type=int, default=1536)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="kfac-threads.")
    src = os.path.join(tmp, "factors.h5")
    factors(src, args.dim)
    up0, busy0, t0, load = common.uptime(), common.busy_seconds(), time.time(), os.getloadavg()[0]
    times = {split: {} for split in SPLITS}
    losses = {}
    for _ in range(args.rounds):
        for ranks, threads in SPLITS:
            got = train_run(args, ranks, threads, os.path.join(tmp, "train.json"))
            losses[(ranks, threads)] = got.pop("loss")
            for method in ["eig", "revd"]:
                got.update(kfac_run(args, ranks, threads, method, src, os.path.join(tmp, "inv.h5")))
            for key, value in got.items():
                times[(ranks, threads)].setdefault(key, []).append(value)
    up1, busy1, wall = common.uptime(), common.busy_seconds(), time.time() - t0
    load = max(load, os.getloadavg()[0])
    shared = load > os.cpu_count()
    keys = ["train", "statistics", "refresh", "precondition", "kfac eig", "kfac revd"]
    names = {"train": f"trainer: {args.steps} steps, training clock", "statistics": "trainer: factor statistics",
             "refresh": "trainer: refreshes (revd)", "precondition": "trainer: preconditioning",
             "kfac eig": f"`prsvd kfac --method eig`, 4 factors of {args.dim}: inversion",
             "kfac revd": f"`prsvd kfac --method revd -k 220`, 4 factors of {args.dim}: inversion"}
    spread = max(abs(v - losses[(1, 1)]) / losses[(1, 1)] for v in losses.values())
    lines = [SECTION, "",
             f"Measured by `bench/kfac/threads.py --rounds {args.rounds}` ({args.rounds} interleaved rounds; "
             f"medians (min–max) in seconds, and 1 x 1 / this in bold). `uptime` before: {up0}; after: {up1}; "
             f"the machine's {os.cpu_count()} CPUs were busy {busy1 - busy0:.0f} of the {os.cpu_count() * wall:.0f} "
             f"CPU seconds the {wall:.0f} s run lasted, ours included. "
             + (f"**The machine was shared with other builds and tests** (load average up to {load:.3g} on "
                f"{os.cpu_count()} CPUs): a rank's second thread or a second rank then competes with them "
                "for a core, so these ratios measure that contention rather than the threads; to be rerun "
                "on a quiet machine. " if shared else "The machine was otherwise quiet. ") +
             "Every launch `mpirun --bind-to none`, OPENBLAS_NUM_THREADS=1 (prsvd sets the BLAS's threads itself). "
             f"The trainer: kfac-revd on 784-{args.width}-{args.width}-10, batch 256, factors every step, "
             f"inverses every 5 steps, rank 220 + 10; its last losses agree to {spread:.1g} relative across the "
             f"launches. `prsvd kfac`: 2 layers of A and G, {args.dim} x {args.dim} each.", "",
             "| measured | 1 rank x 1 thread | 1 rank x 2 threads | 2 ranks x 1 thread |", "|---|---|---|---|"]
    for key in keys:
        base = statistics.median(times[(1, 1)][key])
        lines.append(f"| {names[key]} | {cell(times[(1, 1)][key])} | {cell(times[(1, 2)][key], base)} | "
                     f"{cell(times[(2, 1)][key], base)} |")
    text = "\n".join(lines) + "\n"
    print(text)
    common.write_section("kfac-threads", text)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
