"""The trainer tools/kfac-train (issue 5, part 3): for a fixed seed, 2 and 3 ranks follow the
1-rank loss trajectory to rounding with every optimizer (the minibatch split over the ranks,
gradients summed by one allreduce, K-FAC factors averaged by prsvd_kfac); kfac-eig through its
eigenvectors follows its dense damped powers; --threads 1, 2, 3 at 1 and 2 ranks follow the 1 x 1
trajectory; evaluations every N steps off the clock; every
optimizer learns (test accuracy after one short epoch); the CSV and JSON logs; bad options."""
import csv
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import MPIEXEC, MPIFLAGS, TOP, check, path  # noqa: E402

TRAIN = os.path.join(TOP, "tools", "kfac", "prsvd-kfac-train")
OPTIMIZERS = ["sgd", "adam", "kfac-eig", "kfac-revd", "kfac-rsvd", "kfac-nystrom"]


def train(args, ranks=1, timeout=600):
    cmd = [MPIEXEC, *MPIFLAGS, "-n", str(ranks), TRAIN, *[str(a) for a in args]]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


# Trajectories: a small network and subset, factors every step and decompositions every 2
# steps with rank 16 (so A of 785 and 33 go through the randomized methods).
small = ["--widths", "32,16", "--train-size", 600, "--test-size", 300, "--batch", 60, "--max-steps", 8,
         "--factor-period", 1, "--inverse-period", 2, "--rank", 16, "--seed", 3, "--quiet"]
_runs = {}


def trajectory(opt, ranks):
    """The 8-step run of an optimizer on the small network at `ranks`, run once: (the run, its JSON log)."""
    if (opt, ranks) not in _runs:
        out = path(f"{opt}.{ranks}.json")
        _runs[(opt, ranks)] = train(["--optimizer", opt, *small, "--json", out], ranks=ranks), out
    return _runs[(opt, ranks)]


def one_rank_log(opt):
    """The 1-rank JSON log of an optimizer's 8 steps (from its trajectory test when that ran)."""
    r, out = trajectory(opt, 1)
    assert r.returncode == 0, r.stderr
    with open(out) as f:
        return json.load(f)


def trajectory_case(opt):
    losses = {}
    for ranks in [1, 2, 3]:
        r, out = trajectory(opt, ranks)
        if check(f"{opt} at {ranks} rank(s) exits 0", r.returncode == 0, r.stderr):
            with open(out) as f:
                losses[ranks] = np.array(json.load(f)["step_loss"])
    if 1 not in losses:
        return
    check(f"{opt}: 8 steps logged", len(losses[1]) == 8, losses[1])
    for ranks in [2, 3]:
        if ranks in losses:
            d = np.max(np.abs(losses[ranks] - losses[1]) / losses[1])
            check(f"{opt}: {ranks} ranks follow the 1-rank loss trajectory to 1e-10 relative", d < 1e-10,
                  f"max relative difference {d:.3g}\n{losses[1]}\n{losses[ranks]}")


def test_trajectory_sgd():
    """sgd: 2 and 3 ranks follow the 1-rank loss trajectory of 8 steps to 1e-10 relative."""
    trajectory_case("sgd")


def test_trajectory_adam():
    """adam: 2 and 3 ranks follow the 1-rank loss trajectory of 8 steps to 1e-10 relative."""
    trajectory_case("adam")


def test_trajectory_kfac_eig():
    """kfac-eig: 2 and 3 ranks follow the 1-rank loss trajectory of 8 steps to 1e-10 relative."""
    trajectory_case("kfac-eig")


def test_trajectory_kfac_revd():
    """kfac-revd: 2 and 3 ranks follow the 1-rank loss trajectory of 8 steps to 1e-10 relative."""
    trajectory_case("kfac-revd")


def test_trajectory_kfac_rsvd():
    """kfac-rsvd: 2 and 3 ranks follow the 1-rank loss trajectory of 8 steps to 1e-10 relative."""
    trajectory_case("kfac-rsvd")


def test_trajectory_kfac_nystrom():
    """kfac-nystrom: 2 and 3 ranks follow the 1-rank loss trajectory of 8 steps to 1e-10 relative."""
    trajectory_case("kfac-nystrom")


# Factors decomposed by all ranks together (--distribute-dim 30: A of 785 and 33, G of 32, through
# ScaLAPACK PDSYEVD or the distributed sketches) still follow the 1-rank trajectory; --spectra logs
# every factor's eigenvalues at every refresh (steps 0, 2, 4, 6), descending.
def test_distributed_factors():
    """--distribute-dim 30 at 2 and 3 ranks follows the 1-rank trajectory; --spectra logs every factor, descending."""
    for opt in ["kfac-eig", "kfac-revd"]:
        ref = np.array(one_rank_log(opt)["step_loss"])
        for ranks in [2, 3]:
            out, spectra = path(f"{opt}.shared.{ranks}.json"), path(f"{opt}.shared.{ranks}.spectra")
            r = train(["--optimizer", opt, *small, "--distribute-dim", 30, "--json", out, "--spectra", spectra], ranks=ranks)
            if not check(f"{opt} --distribute-dim 30 at {ranks} ranks exits 0", r.returncode == 0, r.stderr):
                continue
            with open(out) as f:
                d = np.max(np.abs(np.array(json.load(f)["step_loss"]) - ref) / ref)
            check(f"{opt} --distribute-dim 30: {ranks} ranks follow the 1-rank trajectory to 1e-10 relative", d < 1e-10, d)
            rows = [line.split() for line in open(spectra) if not line.startswith("#")]
            groups = {}
            for step, layer, fac, j, lam in rows:
                groups.setdefault((int(step), int(layer), fac), []).append(float(lam))
            dims = {(0, "A"): 785, (0, "G"): 32, (1, "A"): 33, (1, "G"): 16, (2, "A"): 17, (2, "G"): 10}
            want = {(s, l, f): (n if opt == "kfac-eig" else min(n, 16)) for s in [0, 2, 4, 6] for (l, f), n in dims.items()}
            check(f"{opt} --spectra at {ranks} ranks: every factor at every refresh, descending and >= 0",
                  {k: len(v) for k, v in groups.items()} == want
                  and all(np.all(np.diff(v) <= 0) and v[-1] >= 0 for v in groups.values()), sorted(groups)[:8])


# kfac-eig applied through its eigenvectors (--eig-apply vectors, two GEMMs per side) follows the
# default dense damped powers (one GEMM per side) to rounding; --eval-every logs the accuracy at
# step 0 and every 4 steps with the training clock, the last one on the epoch's model and images;
# the cost of a step by phase adds up to no more than the training clock.
def test_eig_apply_vectors():
    """kfac-eig through its eigenvectors (--eig-apply vectors) follows the dense damped powers to 1e-10 relative."""
    dense = one_rank_log("kfac-eig")
    out = path("kfac-eig.vectors.json")
    r = train(["--optimizer", "kfac-eig", *small, "--eig-apply", "vectors", "--json", out])
    if check("kfac-eig --eig-apply vectors exits 0", r.returncode == 0, r.stderr):
        with open(out) as f:
            vec = json.load(f)
        d = np.max(np.abs(np.array(vec["step_loss"]) - dense["step_loss"]) / np.array(dense["step_loss"]))
        check("kfac-eig: the eigenvector path follows the dense path to 1e-10 relative", d < 1e-10, d)
        check("kfac-eig: --eig-apply logged", vec["eig_apply"] == "vectors" and dense["eig_apply"] == "dense",
              (vec["eig_apply"], dense["eig_apply"]))


def test_eval_every():
    """--eval-every 4 at 2 ranks: evaluations at steps 0, 4, 8 on the training clock; phase times within it."""
    out = path("kfac-revd.evals.json")
    r = train(["--optimizer", "kfac-revd", *small, "--eval-every", 4, "--eval-size", 300, "--json", out], ranks=2)
    if check("--eval-every 4 at 2 ranks exits 0", r.returncode == 0, r.stderr):
        with open(out) as f:
            js = json.load(f)
        ev, ep = js["evals"], js["epochs"][0]
        check("--eval-every 4: evaluations at steps 0, 4, 8", [e["step"] for e in ev] == [0, 4, 8], ev)
        check("--eval-every 4: the clock starts at 0 and grows to the epoch's training time",
              ev[0]["seconds"] == 0 and ev[0]["seconds"] <= ev[1]["seconds"] <= ev[2]["seconds"]
              and abs(ev[2]["seconds"] - ep["seconds"]) < 0.05, (ev, ep))
        check("--eval-every 4: the last evaluation is the epoch's (same model, same 300 images)",
              ev[2]["test_accuracy"] == ep["test_accuracy"] and abs(ev[2]["test_loss"] - ep["test_loss"]) < 1e-12, (ev, ep))
        ph = js["phase_seconds"]
        parts = sum(v for k, v in ph.items() if k != "form")
        check("phase_seconds: every phase logged, their sum within the training clock",
              set(ph) == {"forward_backward", "statistics", "allreduce", "factor_update", "refresh", "form",
                          "precondition", "optimizer"} and min(ph.values()) >= 0 and parts <= ep["seconds"] + 0.05,
              (ph, ep["seconds"]))


# Every optimizer learns: one epoch of 6000 images on 2 ranks, 784-64-10.
def learn_case(opt):
    csv_out, json_out = path(f"learn.{opt}.csv"), path(f"learn.{opt}.json")
    r = train(["--optimizer", opt, "--widths", 64, "--train-size", 6000, "--test-size", 2000, "--epochs", 1,
               "--batch", 100, "--rank", 40, "--csv", csv_out, "--json", json_out, "--seed", 1], ranks=2)
    if not check(f"{opt}: a short epoch exits 0", r.returncode == 0, r.stderr):
        return
    with open(json_out) as f:
        js = json.load(f)
    with open(csv_out) as f:
        rows = list(csv.DictReader(f))
    ep = js["epochs"][0]
    print(f"# {opt}: train loss {ep['train_loss']:.4f}, test accuracy {ep['test_accuracy']:.4f}, "
          f"{ep['seconds']:.2f} s, inversion {ep['inverse_seconds']:.3f} s")
    check(f"{opt}: test accuracy after one short epoch above 0.70", ep["test_accuracy"] > 0.70, ep)
    sl = js["step_loss"]
    check(f"{opt}: the loss falls (last 10 steps below the first 10)", np.mean(sl[-10:]) < 0.7 * np.mean(sl[:10]),
          f"{np.mean(sl[:10])} -> {np.mean(sl[-10:])}")
    check(f"{opt}: CSV and JSON hold the same epoch", len(rows) == 1 and abs(float(rows[0]["test_accuracy"])
          - ep["test_accuracy"]) < 1e-6 and int(rows[0]["steps"]) == 60 == len(sl), rows)
    check(f"{opt}: inversion time logged only for K-FAC",
          (ep["inverse_seconds"] > 0) == opt.startswith("kfac") and ep["inverse_seconds"] < ep["seconds"], ep)
    check(f"{opt}: the per-epoch line is printed", "epoch 1  steps 60  train loss" in r.stdout, r.stdout)


def test_learns_sgd():
    """sgd learns in one short epoch at 2 ranks: test accuracy above 0.70, the loss falls, CSV and JSON logs agree."""
    learn_case("sgd")


def test_learns_adam():
    """adam learns in one short epoch at 2 ranks: test accuracy above 0.70, the loss falls, CSV and JSON logs agree."""
    learn_case("adam")


def test_learns_kfac_eig():
    """kfac-eig learns in one short epoch at 2 ranks: test accuracy above 0.70, the loss falls, CSV and JSON logs agree."""
    learn_case("kfac-eig")


def test_learns_kfac_revd():
    """kfac-revd learns in one short epoch at 2 ranks: test accuracy above 0.70, the loss falls, CSV and JSON logs agree."""
    learn_case("kfac-revd")


def test_learns_kfac_rsvd():
    """kfac-rsvd learns in one short epoch at 2 ranks: test accuracy above 0.70, the loss falls, CSV and JSON logs agree."""
    learn_case("kfac-rsvd")


def test_learns_kfac_nystrom():
    """kfac-nystrom learns in one short epoch at 2 ranks: test accuracy above 0.70, the loss falls, CSV and JSON logs agree."""
    learn_case("kfac-nystrom")


# --threads 1, 2, 3 at 1 and 2 ranks: the factor statistics split among the threads by rows of
# each rank's block of the batch, the decompositions and the preconditioning on T threads, follow
# the 1 x 1 loss trajectory to rounding (and the default threads' 1-rank trajectory).
def test_threads_trajectory():
    """kfac-eig and kfac-revd with --threads 1, 2, 3 at 1 and 2 ranks follow the 1 x 1 trajectory to 1e-10 relative."""
    for opt in ["kfac-eig", "kfac-revd"]:
        losses = {}
        for ranks, threads in [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]:
            out = path(f"{opt}.{ranks}x{threads}.json")
            r = train(["--optimizer", opt, *small, "--threads", threads, "--json", out], ranks=ranks)
            if not check(f"{opt} at {ranks} rank(s) x {threads} thread(s) exits 0", r.returncode == 0, r.stderr):
                continue
            with open(out) as f:
                log = json.load(f)
            check(f"{opt} {ranks} x {threads}: the log says {threads} thread(s)", log["threads"] == threads, log["threads"])
            losses[(ranks, threads)] = np.array(log["step_loss"])
        if (1, 1) not in losses:
            continue
        ref = losses[(1, 1)]
        d = np.max(np.abs(np.array(one_rank_log(opt)["step_loss"]) - ref) / ref)
        check(f"{opt}: the default threads follow the 1 x 1 trajectory to 1e-10 relative", d < 1e-10, d)
        for split, loss in losses.items():
            d = np.max(np.abs(loss - ref) / ref)
            check(f"{opt}: {split[0]} x {split[1]} follows the 1 x 1 trajectory to 1e-10 relative", d < 1e-10, d)


def test_bad_options():
    """Bad options (optimizer, widths, batch, data, --eig-apply, --eval-size, --threads): exit code and message."""
    for desc, args, code, msg in [
        ("unknown optimizer", ["--optimizer", "lbfgs"], 1, "unknown --optimizer 'lbfgs'"),
        ("bad widths", ["--widths", "32,x"], 1, "bad --widths '32,x'"),
        ("batch above the training set", ["--train-size", 100, "--batch", 200], 1, "--batch 200 exceeds the 100 training images"),
        ("missing data", ["--data", path("nowhere")], 2, "install Debian's package dataset-fashion-mnist"),
        ("unknown --eig-apply", ["--eig-apply", "inverse"], 1, "unknown --eig-apply 'inverse': expected dense or vectors"),
        ("--eval-size above --test-size", ["--test-size", 100, "--eval-size", 200], 1, "--eval-size 200 exceeds --test-size 100"),
        ("--threads 0", ["--threads", 0], 1, "--threads = 0 is out of range [1, 1024]"),
        ("--threads -1", ["--threads", -1], 1, "--threads = -1 is out of range [1, 1024]"),
        ("--threads huge", ["--threads", 100000], 1, "--threads = 100000 is out of range [1, 1024]"),
    ]:
        r = train(args, ranks=2)
        check(f"{desc}: exit {code}", r.returncode == code, f"{r.returncode} {r.stderr}")
        check(f"{desc}: message", msg in r.stderr, r.stderr)


harness.main(globals())
