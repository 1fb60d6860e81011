"""Tables, plots and the bench/RESULTS.md section of bench/kfac/run.sh.

    report.py OUT_DIR RESULTS.md PLOT_DIR
"""
import glob
import json
import math
import os
import subprocess
import sys

import h5py
import numpy as np

out, results_md, plot_dir = sys.argv[1:4]
BEGIN = "<!-- bench/kfac/run.sh: K-FAC on Fashion-MNIST: begin -->"
END = "<!-- bench/kfac/run.sh: K-FAC on Fashion-MNIST: end -->"
OPTIMIZERS = ["kfac-eig", "kfac-revd", "kfac-rsvd", "kfac-nystrom", "sgd", "adam"]
RANDOMIZED = ["kfac-revd", "kfac-rsvd", "kfac-nystrom"]
FULL_EPOCH = 60000 // 256  # steps in one epoch of the whole training set

env = dict(line.rstrip("\n").split("=", 1) for line in open(os.path.join(out, "env.txt")) if "=" in line)
target = float(env["target"])
hidden = env["widths"].split(",")[0]  # the width of the training runs' hidden layers


def load(path):
    with open(path) as f:
        return json.load(f)


# ---- training runs -----------------------------------------------------------------------
runs = {}
for opt in OPTIMIZERS:
    p = os.path.join(out, f"train.{opt}.json")
    if os.path.exists(p):
        runs[opt] = load(p)


def to_target(secs, acc):
    """Time and epoch at which the accuracy first reaches the target: linear interpolation
    between epoch ends, from (0 s, 0)."""
    prev_t, prev_a = 0.0, 0.0
    for i, (t, a) in enumerate(zip(secs, acc)):
        if a >= target:
            return (prev_t + (t - prev_t) * (target - prev_a) / (a - prev_a) if a > prev_a else t), i + 1
        prev_t, prev_a = t, a
    return None, None


def summarize(js):
    ep = js["epochs"]
    secs = np.cumsum([e["seconds"] for e in ep])
    cpu = np.cumsum([e.get("cpu_seconds", math.nan) for e in ep])
    acc = np.array([e["test_accuracy"] for e in ep])
    steps = sum(e["steps"] for e in ep)
    inv = sum(e["inverse_seconds"] for e in ep)
    refreshes = math.ceil(steps / js["inverse_period"]) if js["optimizer"].startswith("kfac") else 0
    t_target, e_target = to_target(secs, acc)
    cpu_target, _ = to_target(cpu, acc)
    return {"steps": steps, "seconds": secs[-1], "per_step": secs[-1] / steps, "inverse": inv,
            "cpu_per_step": cpu[-1] / steps, "cpu_target": cpu_target,
            "refreshes": refreshes, "per_refresh": inv / refreshes if refreshes else None,
            "final": acc[-1], "best": acc.max(), "t_target": t_target, "e_target": e_target,
            "secs": secs, "acc": acc, "per_epoch": secs[-1] / len(ep), "epoch_steps": ep[0]["steps"]}


S = {opt: summarize(js) for opt, js in runs.items()}

# accuracy against wall time: one data block per optimizer (gnuplot index)
acc_dat = os.path.join(out, "accuracy.dat")
with open(acc_dat, "w") as f:
    for opt in OPTIMIZERS:
        if opt in S:
            f.write(f"# {opt}\n0 nan\n")
            for t, a in zip(S[opt]["secs"], S[opt]["acc"]):
                f.write(f"{t:.3f} {a:.4f}\n")
            f.write("\n\n")

# ---- spectra of the averaged factors over training (kfac-eig: every eigenvalue) -----------
spectra = {}
sp_path = os.path.join(out, "spectra.txt")
if os.path.exists(sp_path):
    for line in open(sp_path):
        if line.startswith("#"):
            continue
        step, layer, fac, j, lam = line.split()
        spectra.setdefault((int(layer), fac), {}).setdefault(int(step), []).append(float(lam))
decay_rows = []
for key in [(1, "A"), (1, "G")]:
    if key not in spectra:
        continue
    with open(os.path.join(out, f"decay.{key[0]}{key[1]}.dat"), "w") as f:
        for step, lam in sorted(spectra[key].items()):
            lam = np.array(lam)
            f.write(f"# step {step}\n")
            for j, v in enumerate(lam):
                f.write(f"{j + 1} {max(v / lam[0], 1e-300):.6e}\n")
            f.write("\n\n")
            tail = lam[220:].sum() / lam.sum() if len(lam) > 220 else 0.0
            decay_rows.append((key, step, len(lam), lam[0], lam[min(220, len(lam) - 1)] / lam[0], tail))

# ---- time per step at a wider layer ---------------------------------------------------
steps_wide = {}
for opt in ["kfac-eig", "kfac-revd", "sgd"]:
    p = os.path.join(out, f"step.{opt}.json")
    if os.path.exists(p):
        js = load(p)
        e = js["epochs"][0]
        steps_wide[opt] = {"widths": js["widths"], "steps": e["steps"],
                           "per_step": (e["seconds"] - e["inverse_seconds"]) / e["steps"],
                           "refresh": e["inverse_seconds"]}
for v in steps_wide.values():
    v["epoch"] = FULL_EPOCH * v["per_step"] + FULL_EPOCH / 50 * v["refresh"]

# ---- inversion time against width -----------------------------------------------------
table = {}
for p in glob.glob(os.path.join(out, "inv.*.json")):
    _, m, d, _ = os.path.basename(p).split(".")
    js = load(p)
    with h5py.File(p[:-5] + ".h5", "r") as f:
        lam = f[f"w{d}"]["lambda_A"][:]
    table[(m, int(d))] = {"t": js["inversion_seconds"], "lam": lam, "dim": js["layers"][0]["A"]["dim"]}
dist = {}
for p in glob.glob(os.path.join(out, "inv2.*.json")):
    _, m, d, _ = os.path.basename(p).split(".")
    dist[(m, int(d))] = load(p)["inversion_seconds"]
widths = sorted({d for _, d in table})
methods = ["eig", "revd", "rsvd", "nystrom"]


def growth(m):
    if (m, widths[0]) in table and (m, widths[-1]) in table and widths[-1] > widths[0]:
        a, b = table[(m, widths[0])], table[(m, widths[-1])]
        return math.log(b["t"] / a["t"]) / math.log(b["dim"] / a["dim"])
    return None


def lam_error(m, d):
    if ("eig", d) not in table or (m, d) not in table:
        return None
    ref, lam = table[("eig", d)]["lam"], table[(m, d)]["lam"]
    return np.max(np.abs(lam - ref[:len(lam)])) / ref[0]


# ---- plots ------------------------------------------------------------------------------
def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


styles = {"kfac-eig": 'lc rgb "#000000" dt 1', "kfac-revd": 'lc rgb "#c0392b"', "kfac-rsvd": 'lc rgb "#2e86c1"',
          "kfac-nystrom": 'lc rgb "#27ae60"', "sgd": 'lc rgb "#8e44ad" dt 2', "adam": 'lc rgb "#d68910" dt 2'}
if S:
    plots = ", ".join(f'"{acc_dat}" index {i} using 1:2 with linespoints pt 7 ps 0.7 lw 2 {styles[o]} title "{o}"'
                      for i, o in enumerate(o for o in OPTIMIZERS if o in S))
    first = next(iter(runs.values()))
    gnuplot(f"""set terminal pngcairo size 960,560 font "DejaVu Sans,11"
set output "{plot_dir}/accuracy-vs-time.png"
set title "Fashion-MNIST, 784-{first['widths'].replace(',', '-')}-10, batch 256, 1 rank: test accuracy against training time"
set xlabel "training wall time (s, evaluation excluded)"
set ylabel "test accuracy"
set grid
set key bottom right
set yrange [0.6:*]
set arrow from graph 0, first {target} to graph 1, first {target} nohead dt 3 lc rgb "#888888"
plot {plots}
""")
if decay_rows:
    blocks = []
    for key in [(1, "A"), (1, "G")]:
        if key not in spectra:
            continue
        steps_k = sorted(spectra[key])
        dat = os.path.join(out, f"decay.{key[0]}{key[1]}.dat")
        pal = ["#f1c40f", "#e67e22", "#e74c3c", "#8e44ad", "#2c3e50", "#16a085", "#000000"]
        lines = ", ".join(f'"{dat}" index {i} using 1:2 with lines lw 2 lc rgb "{pal[i % len(pal)]}" title "step {s}"'
                          for i, s in enumerate(steps_k))
        d = len(spectra[key][steps_k[0]])
        blocks.append(f"""set title "layer 2 factor {key[1]} ({d} x {d}), exponentially averaged (decay 0.95)"
set arrow 1 from 220, graph 0 to 220, graph 1 nohead dt 2 lc rgb "#888888"
set label 1 "rank 220" at 225, graph 0.9
plot {lines}""")
    gnuplot(f"""set terminal pngcairo size 1100,480 font "DejaVu Sans,10"
set output "{plot_dir}/eigen-decay.png"
set multiplot layout 1,{len(blocks)}
set logscale y
set format y "10^{{%L}}"
set xlabel "index j"
set ylabel "lambda_j / lambda_1"
set yrange [1e-12:1.5]
set grid
set key top right
{chr(10).join(blocks)}
unset multiplot
""")

# ---- RESULTS.md section -------------------------------------------------------------------
def f2(x, fmt="{:.2f}"):
    return "—" if x is None else fmt.format(x)


L = [BEGIN, "## K-FAC on Fashion-MNIST: randomized vs exact factor inversion", ""]
L.append(f"Measured by `bench/kfac/run.sh`, {env.get('start')} to {env.get('end')}, on {env.get('cpu')} "
         f"({env.get('cores')} cores, shared with other jobs), at `{env.get('git')}`. Every run is 1 MPI rank "
         "x 1 BLAS thread unless stated. Load (`uptime`) at the start: "
         f"`{env.get('uptime_start', '').split('load average:')[-1].strip()}`, at the end: "
         f"`{env.get('uptime_end', '').split('load average:')[-1].strip()}`; per run, in bench/kfac/out/load.txt:")
load_txt = os.path.join(out, "load.txt")
if os.path.exists(load_txt):
    L.append("")
    L.append(", ".join(f"{ln.split()[0]} {ln.split()[1]}" for ln in open(load_txt)) + " (1-minute load average at "
             "each training run's start; above 2 the runs shared the 2 cores with other work, and their times are "
             "inflated by it).")
L.append("")
if S:
    first = next(iter(runs.values()))
    ep_steps = S[next(iter(S))]["epoch_steps"]
    L.append(f"**Training.** 784-{first['widths'].replace(',', '-')}-10 ReLU network, softmax cross-entropy, batch 256, "
             f"{len(first['epochs'])} epochs of the first {first['train_size']} training images ({ep_steps} steps each), "
             f"test accuracy on the first {first['test_size']} test images after each epoch, seed 1. K-FAC: the paper's "
             "settings (factors every 10 steps, inverses every 50, decay 0.95, damping 0.1 λ_max per factor, rank 220 + "
             "10 oversampling, 4 power iterations for revd and rsvd), momentum 0.9, lr 0.02; sgd: momentum 0.9, lr "
             f"0.05; adam: lr 0.001. Target accuracy {target}. *s / full epoch* projects the measured time per step "
             f"onto an epoch of all 60000 images ({FULL_EPOCH} steps). *CPU s* is the process's CPU time over the "
             "same steps: a single-threaded run's CPU time is far less inflated than its wall time when other jobs "
             "share the cores, so the CPU-time ratios below are the steadier ones.")
    L.append("")
    L.append("| optimizer | steps | train s | s / step | CPU s / step | s / full epoch | refreshes | "
             "inversion s / refresh | inversion share | final test acc | best | time to target s | CPU s to target | "
             "epochs to target |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for opt in OPTIMIZERS:
        if opt not in S:
            continue
        s = S[opt]
        L.append(f"| {opt} | {s['steps']} | {s['seconds']:.1f} | {s['per_step']:.3f} | {s['cpu_per_step']:.3f} | "
                 f"{s['per_step'] * FULL_EPOCH:.0f} | {s['refreshes'] or '—'} | {f2(s['per_refresh'])} | "
                 f"{s['inverse'] / s['seconds']:.0%} | {s['final']:.4f} | {s['best']:.4f} | "
                 f"{f2(s['t_target'], '{:.1f}')} | {f2(s['cpu_target'], '{:.1f}')} | {s['e_target'] or 'not reached'} |")
    L.append("")
    L.append("Test accuracy after each epoch:")
    L.append("")
    names = [o for o in OPTIMIZERS if o in S]
    L.append("| epoch | " + " | ".join(names) + " |")
    L.append("|---|" + "---|" * len(names))
    n_ep = max(len(S[o]["acc"]) for o in names)
    for e in range(n_ep):
        L.append(f"| {e + 1} | " + " | ".join(f"{S[o]['acc'][e]:.4f} ({S[o]['secs'][e]:.0f} s)"
                                           if e < len(S[o]["acc"]) else "—" for o in names) + " |")
    L.append("")
    L.append("![test accuracy against training time](kfac/accuracy-vs-time.png)")
    L.append("")
    if "kfac-eig" in S:
        e = S["kfac-eig"]
        L.append("Ratios at this width (above 1: the randomized method is faster):")
        L.append("")
        for opt in RANDOMIZED:
            if opt not in S:
                continue
            s = S[opt]
            tt = f"{e['t_target'] / s['t_target']:.2f}" if e["t_target"] and s["t_target"] else "— (not reached)"
            ct = f"{e['cpu_target'] / s['cpu_target']:.2f}" if e["cpu_target"] and s["cpu_target"] else "—"
            L.append(f"- kfac-eig / {opt}: time per epoch {e['per_step'] / s['per_step']:.2f} (CPU time "
                     f"{e['cpu_per_step'] / s['cpu_per_step']:.2f}), inversion per refresh "
                     f"{e['per_refresh'] / s['per_refresh']:.2f}, time to {target} {tt} (CPU time {ct}); final "
                     f"accuracy {100 * (s['final'] - e['final']):+.2f} points")
        L.append("")
if steps_wide:
    w = next(iter(steps_wide.values()))["widths"]
    L.append(f"**Time per step at 784-{w.replace(',', '-')}-10** ({next(iter(steps_wide.values()))['steps']} steps "
             "each; one refresh of every factor at step 0, timed apart; a full epoch projected as "
             f"{FULL_EPOCH} steps and {FULL_EPOCH / 50:.2f} refreshes):")
    L.append("")
    L.append("| optimizer | s / step (without refresh) | one refresh s | projected s / full epoch |")
    L.append("|---|---|---|---|")
    for opt, v in steps_wide.items():
        L.append(f"| {opt} | {v['per_step']:.3f} | {v['refresh']:.2f} | {v['epoch']:.0f} |")
    if "kfac-eig" in steps_wide and "kfac-revd" in steps_wide:
        a, b = steps_wide["kfac-eig"], steps_wide["kfac-revd"]
        L.append("")
        L.append(f"kfac-eig / kfac-revd at this width: {a['per_step'] / b['per_step']:.2f} per step, "
                 f"{a['refresh'] / b['refresh']:.2f} per refresh, {a['epoch'] / b['epoch']:.2f} per projected epoch.")
    L.append("")
if table:
    L.append("**Inversion time against width** (`prsvd kfac` on the input factor A = E[[h; 1][h; 1]ᵀ] of the layer "
             "after a ReLU layer of width d at He initialization, over 4096 Fashion-MNIST images; one factor, "
             "seconds of `inversion_seconds`; revd, rsvd: rank 220 + 10, 4 power iterations; nystrom: one pass; "
             "*λ error* is max_j≤220 |λ_j − λ_j(eig)| / λ_1):")
    L.append("")
    L.append("| width d (factor) | " + " | ".join(f"{m} s" for m in methods) + " | eig / revd | λ error revd, rsvd, nystrom |")
    L.append("|---|" + "---|" * (len(methods) + 2))
    for d in widths:
        row = [f2(table[(m, d)]["t"] if (m, d) in table else None) for m in methods]
        ratio = table[("eig", d)]["t"] / table[("revd", d)]["t"] if ("eig", d) in table and ("revd", d) in table else None
        errs = ", ".join(f2(lam_error(m, d), "{:.1e}") for m in ["revd", "rsvd", "nystrom"])
        L.append(f"| {d} ({table[('eig', d)]['dim'] if ('eig', d) in table else d + 1}) | " + " | ".join(row)
                 + f" | {f2(ratio)} | {errs} |")
    L.append("| growth exponent (log t / log d) | " + " | ".join(f2(growth(m)) for m in methods) + " | | |")
    L.append("")
    if dist:
        L.append("The largest factor decomposed by 2 ranks together (`--distribute-dim`, `mpirun -n 2`): "
                 + "; ".join(f"{m} {dist[(m, d)]:.2f} s (1 rank: {f2(table[(m, d)]['t'] if (m, d) in table else None)} s)"
                             for (m, d) in sorted(dist)) + " — eig through ScaLAPACK PDSYEVD on a 1 x 2 grid, revd "
                 "through the distributed sketches; on this shared 2-core machine the second rank competes with "
                 "the other jobs for a core.")
        L.append("")
if decay_rows:
    L.append("**Eigenvalue decay of the averaged factors over training** (kfac-eig's full decompositions, layer 2, "
             "at every refresh):")
    L.append("")
    L.append("| factor | step | dimension | λ_1 | λ_221 / λ_1 | share of the trace beyond 220 |")
    L.append("|---|---|---|---|---|---|")
    for key, step, d, l1, r221, tail in decay_rows:
        L.append(f"| {key[1]} | {step} | {d} | {l1:.4g} | {f2(r221 if d > 220 else None, '{:.2e}')} | {tail:.2%} |")
    L.append("")
    L.append("![eigenvalue decay](kfac/eigen-decay.png)")
    L.append("")

# ---- the targets --------------------------------------------------------------------------
L.append("**The issue's targets**, read honestly:")
L.append("")
if S and "kfac-eig" in S:
    e = S["kfac-eig"]
    ratios = [e["per_step"] / S[o]["per_step"] for o in RANDOMIZED if o in S]
    cpu_ratios = [e["cpu_per_step"] / S[o]["cpu_per_step"] for o in RANDOMIZED if o in S]
    tts = [e["t_target"] / S[o]["t_target"] for o in RANDOMIZED if o in S and e["t_target"] and S[o]["t_target"]]
    ctts = [e["cpu_target"] / S[o]["cpu_target"] for o in RANDOMIZED if o in S and e["cpu_target"] and S[o]["cpu_target"]]
    accd = [100 * (S[o]["final"] - e["final"]) for o in RANDOMIZED if o in S]
    wide = ""
    if "kfac-eig" in steps_wide and "kfac-revd" in steps_wide:
        a, b = steps_wide["kfac-eig"], steps_wide["kfac-revd"]
        wide = (f"; at width {a['widths'].split(',')[0]}: {a['epoch'] / b['epoch']:.2f}x for kfac-revd (projected "
                "from the per-step runs above)")
    L.append(f"- ≥ 2.5x less time per epoch than kfac-eig: at width {hidden} (measured) "
             f"{min(ratios):.2f}–{max(ratios):.2f}x in wall time, {min(cpu_ratios):.2f}–{max(cpu_ratios):.2f}x in CPU "
             f"time{wide}.")
    L.append(f"- ≥ 3x less time to the target accuracy ({target}): "
             + (f"{min(tts):.2f}–{max(tts):.2f}x in wall time" if tts else "not measurable (the target was not reached)")
             + (f", {min(ctts):.2f}–{max(ctts):.2f}x in CPU time" if ctts else "")
             + f" at width {hidden}; not measured at width ≥ 2048 (a full training run of "
             "kfac-eig there does not fit the 15-minute budget on this machine).")
    L.append(f"- final accuracy within 0.5 points of kfac-eig: {', '.join(f'{a:+.2f}' for a in accd)} points.")
if table and growth("eig") is not None:
    L.append(f"- inversion time growing ~d² rather than d³ from {widths[0]} to {widths[-1]}: exponents "
             + ", ".join(f"{m} {f2(growth(m))}" for m in methods) + ".")
L.append("")
L.append("Reading these numbers:")
L.append("")
if S and "kfac-eig" in S:
    e = S["kfac-eig"]
    L.append(f"- Most of kfac-eig's time is the application, not the refresh (inversion share {e['inverse'] / e['seconds']:.0%}): "
             "it applies U(Λ + λ)⁻¹Uᵀ through all d eigenvectors, four products of about d_out·d_in·d per layer and "
             "step, where the randomized methods make the same four products with r = 220 in place of d. Forming each (F + λI)⁻¹ once per "
             "refresh, as K-FAC implementations that do not use eigenvectors do, would halve kfac-eig's application "
             "and so shrink the per-epoch ratios above (the refresh ratios would not change).")
    first = min((S[o]["t_target"], o) for o in S if S[o]["t_target"]) if any(S[o]["t_target"] for o in S) else None
    if first:
        L.append(f"- The first to reach {target} was {first[1]} ({first[0]:.1f} s): at this width and data set, "
                 "K-FAC's extra cost per step is not repaid by its faster progress per step within these steps, "
                 "whatever the inversion method.")
L.append("- prsvd's revd and rsvd count a power iteration as one product with FᵀF = F² (the subspace iteration "
         "that `prsvd svd` and `prsvd eig` share: two products with F per pass), so their 4 power iterations apply F "
         "about 10 times; if the paper's q counts products with F, `-q 2` here matches its q = 4 and roughly halves "
         "the randomized refresh times above (at the eigenvalue accuracy of the fewer iterations).")
L.append("- The machine is shared: the 1-minute load average at each run's start is listed above; a run that "
         "started under a higher load than another was slowed more, so wall-time ratios between runs carry that "
         "noise (up to about 2x). The CPU-time ratios of these 1-rank, 1-thread runs are steadier (contention still "
         "costs some CPU time through caches and memory bandwidth). Re-run `bench/kfac/run.sh` on an idle machine "
         "for clean wall-time ratios; the per-step runs at the wider layer and the width table are wall time.")
L.append("")
L.append(END)

old = open(results_md).read() if os.path.exists(results_md) else "# Benchmark results\n"
if BEGIN in old and END in old:
    pre, rest = old.split(BEGIN, 1)
    new = pre + "\n".join(L) + rest.split(END, 1)[1]
else:
    new = old.rstrip("\n") + "\n\n" + "\n".join(L) + "\n"
with open(results_md, "w") as f:
    f.write(new)
print("\n".join(L))
