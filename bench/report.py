#!/usr/bin/python3
"""The sections of bench/RESULTS.md that bench/bench.py writes from a helper script's runs: one
function a question, each reading the records its shell helper left in its scratch directory
(results.jsonl and the run's settings, bench_env.json) and writing its section through
peers/common.write_section.  They can be re-rendered from a past run's records:

    bench/bench.py QUESTION --report-only       (peers, sparse, checkpoint, roofline, oocore, kfac)

  peers       bench/run.sh's runs: prsvd vs scikit-learn vs LAPACK, medians of the repetitions
  sparse      bench/sparse.sh's runs: accuracy against ARPACK (peers/svds_reference.py)
  checkpoint  bench/checkpoint.sh's runs: one write against one pass
  roofline    bench/roofline.sh's runs: each pass against its floors, the peers, the plots
  oocore      bench/oocore.sh's runs: the matrix larger than RAM, and its memory plot
  kfac        bench/kfac/run.sh's runs: K-FAC with randomized factor inversion, and its plots
"""
import datetime
import glob
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))
import common  # noqa: E402  (write_section)
import model  # noqa: E402  (the performance model of docs/performance.md)

CONTENTION = 0.25            # others' CPU (cores) above which a verdict or number is flagged


def settings(out):
    """The BENCH_* settings a helper script saved beside its records (bench_env.json)."""
    path = os.path.join(out, "bench_env.json")
    return json.load(open(path)) if os.path.exists(path) else {}


def records(out, name="results.jsonl"):
    """The JSON lines a helper script recorded, one a measurement."""
    with open(os.path.join(out, name)) as f:
        return [json.loads(line) for line in f if line.strip()]


def plots():
    """The folder of the plots: beside the RESULTS.md written (bench/plots/, or beside
    bench.py --results FILE)."""
    return os.path.join(os.path.dirname(common.results_md()), "plots")


def rel(path):
    """PATH as RESULTS.md links it."""
    return os.path.relpath(path, os.path.dirname(common.results_md()))


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=60).stdout.strip()
    except Exception as e:
        return f"({e})"


def machine(prsvd):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    free_total = "?"
    for line in sh("free -g").splitlines():
        if line.startswith("Mem:"):
            free_total = line.split()[1]
    mods = {}
    for m in ("numpy", "scipy", "sklearn", "h5py", "threadpoolctl"):
        try:
            mods[m] = __import__(m).__version__
        except Exception:
            mods[m] = "not importable"
    try:
        from threadpoolctl import threadpool_info
        import numpy  # noqa: F401  (loads the BLAS numpy links against)
        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        openblas_rt = "; ".join(f"{p.get('internal_api')} {p.get('version')} "
                                f"({p.get('threading_layer')}, {p.get('architecture')} kernels, "
                                f"{p.get('num_threads')} threads by default)" for p in blas)
    except Exception as e:
        openblas_rt = f"threadpoolctl failed: {e}"
    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": sh("nproc"),
        "free_g_total": free_total,
        "cpu": cpu,
        "kernel": platform.release(),
        "prsvd_version": re.sub(r"[ \t]+", " ", sh(f"'{prsvd}' --version")),
        "openblas_pkg": sh("dpkg-query -W -f='${db:Status-Abbrev} ${Package} ${Version}\\n' "
                           "'libopenblas0*' 2>/dev/null | awk '$1 == \"ii\" {print $2, $3}'"),
        "openblas_numpy": openblas_rt,
        "openblas_so": os.path.realpath("/lib/x86_64-linux-gnu/libopenblas.so.0"),
        "mpirun": sh("mpirun --version 2>&1 | head -1"),
        "modules": mods,
        "python": sys.version.split()[0] + " (" + sys.executable + ")",
    }


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, nd=2):
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    return f"{x:.{nd}f}"


def md(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return "\n".join(out + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


def peaks(r):
    """Peak RSS (MiB) of each matched process, and of the job (sampled sum)."""
    mw = r.get("memwatch") or {}
    procs = [p["peak_rss_mib"] for p in mw.get("processes") or []]
    job = mw.get("job_peak_rss_mib")
    # a one-process job's high-water mark can fall between two samples of the sum
    return procs, max([job or 0] + procs) if procs or job else None


def pss_peak(r):
    """The job's peak PSS (MiB, largest sampled sum over its processes), or None from a
    memwatch.py that did not sample it."""
    return (r.get("memwatch") or {}).get("job_peak_pss_mib")


def gnuplot(script):
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)
        return True
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"report: gnuplot failed: {getattr(e, 'stderr', e)}", file=sys.stderr)
        return False


def job_series(data_dir, tag):
    """The job's total RSS over time from TAG.mem.csv (memwatch.py) as a gnuplot data file
    TAG.job.dat; its path, or None without samples."""
    csv = os.path.join(data_dir, f"{tag}.mem.csv")
    if not os.path.exists(csv):
        return None
    dat = os.path.join(data_dir, f"{tag}.job.dat")
    with open(csv) as f, open(dat, "w") as g:
        next(f)
        for line in f:
            t, pid, _, rss = line.strip().split(",")[:4]  # then PSS, from a newer memwatch.py
            if pid == "0":
                g.write(f"{t} {rss}\n")
    return dat


# ---- peers: bench/run.sh --------------------------------------------------------------------

TARGET_RATIO_SKLEARN = 1.5   # 1-rank prsvd time / sklearn in-core compute time, at most
TARGET_RATIO_LAPACK = 10.0   # full SVD time / prsvd time at 100000 x 4000, at least
TIMES = ("wall_seconds", "elapsed_seconds", "load_seconds", "compute_seconds",
         "load_plus_compute_seconds")


def family(r):
    m = r["method"]
    return "prsvd" if m == "prsvd" else "sklearn" if m.startswith("sklearn") else "LAPACK"


def aggregate(results):
    """One summary per (matrix, method, ranks): median times, largest RSS, accuracy."""
    groups = {}
    for r in results:
        groups.setdefault((r["matrix"], family(r), r.get("ranks")), []).append(r)
    out = []
    for (matrix, fam, ranks), rs in groups.items():
        ok = [r for r in rs if r.get("status", "ok") == "ok"]
        bad = [r for r in rs if r.get("status", "ok") != "ok"]
        if not ok:
            g = dict(rs[-1])
            g.update(family=fam, n_runs=0, n_failed=len(bad))
            out.append(g)
            continue
        g = dict(ok[-1])
        g.update(family=fam, n_runs=len(ok), n_failed=len(bad), status="ok")
        for f in TIMES:
            vals = [r[f] for r in ok if r.get(f) is not None]
            if vals:
                g[f] = statistics.median(vals)
                g[f + "_range"] = (min(vals), max(vals))
        if fam == "prsvd":
            lists = [r.get("rss_mib") or [] for r in ok]
            width = max(len(x) for x in lists)
            g["rss_mib"] = [max((x[i] for x in lists if i < len(x) and x[i] is not None),
                                default=None) for i in range(width)]
        else:
            g["rss_mib"] = [max(r["peak_rss_mib"] for r in ok)]
        walls = [r.get("wall_seconds") or r.get("process_wall_seconds") for r in ok
                 if r.get("other_cpu_seconds") is not None]
        if walls and sum(walls) > 0:
            g["other_cores"] = (sum(r["other_cpu_seconds"] for r in ok
                                    if r.get("other_cpu_seconds") is not None) / sum(walls))
        acc = [r for r in ok if r.get("residual_over_optimal") is not None]
        g["residual_over_optimal"] = acc[-1]["residual_over_optimal"] if acc else None
        if fam == "prsvd":  # same seed, same S in every repetition?
            svs = {json.dumps(r.get("singular_values")) for r in ok}
            g["same_result_all_reps"] = len(svs) == 1
        if bad:
            g["failures"] = [r.get("reason") or f"exit code {r.get('rc')}" for r in bad]
        out.append(g)
    return out


def fmt_range(g, f, nd=2):
    rg = g.get(f + "_range")
    if not rg or g.get("n_runs", 0) < 2:
        return "—"
    return f"{rg[0]:.{nd}f}–{rg[1]:.{nd}f}"


def fmt_rss(lst):
    if not lst:
        return "—"
    return " / ".join("?" if v is None else f"{v:.0f}" for v in lst)


HEAD = ["matrix", "method", "ranks x threads", "runs", "wall s", "load s", "compute s",
        "compute s min–max", "peak RSS MiB / process", "passes over A",
        "‖A−USVᵀ‖F / ‖A−A_k‖F", "others' CPU, cores"]


def table_rows(aggs, labels):
    rows = []
    for g in aggs:
        fam = g["family"]
        if fam == "prsvd":
            method = "prsvd svd (p=10, q=1)"
            ranks = f"{g['ranks']} rank{'s' if g['ranks'] > 1 else ''} x {g.get('threads', '?')}"
            wall, load, comp, cf = g.get("wall_seconds"), "streamed", g.get("elapsed_seconds"), "elapsed_seconds"
        else:
            method = ("sklearn randomized_svd (p=10, n_iter=1, "
                      f"{g.get('power_iteration_normalizer', 'QR')})" if fam == "sklearn"
                      else "LAPACK gesdd, full thin SVD")
            ranks = f"1 process x {g.get('threads', 'default BLAS threads')}"
            wall, load, comp, cf = (g.get("load_plus_compute_seconds"), g.get("load_seconds"),
                                    g.get("compute_seconds"), "compute_seconds")
        runs = str(g.get("n_runs", 0)) + (f" (+{g['n_failed']} failed)" if g.get("n_failed") else "")
        if g.get("status", "ok") != "ok":
            note = g.get("reason") or f"exit code {g.get('rc')}"
            rows.append([labels[g["matrix"]], method, ranks, runs,
                         f"{g.get('status')}: {note}", "", "", "", "", "", "", ""])
            continue
        passes = g.get("passes")
        rows.append([labels[g["matrix"]], method, ranks, runs, fmt(wall), fmt(load), fmt(comp),
                     fmt_range(g, cf), fmt_rss(g.get("rss_mib")),
                     str(passes) if passes is not None else "—",
                     fmt(g.get("residual_over_optimal"), 4), fmt(g.get("other_cores"))])
    return rows


def md_table(rows):
    return md(HEAD, rows)


def text_table(rows):
    allr = [HEAD] + rows
    w = [max(len(str(r[i])) for r in allr) for i in range(len(HEAD))]
    return "\n".join(["  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)).rstrip()
                      for r in [HEAD, ["-" * x for x in w]] + rows])


def find(aggs, matrix, fam, ranks=None):
    for g in aggs:
        if (g["matrix"] == matrix and g["family"] == fam and g.get("status", "ok") == "ok"
                and (ranks is None or g.get("ranks") == ranks)):
            return g
    return None


def targets(aggs, matrices, labels):
    """Lines with the ratios the targets name, and one verdict per target."""
    lines, verdicts = [], []
    # Target 1: 1-rank prsvd time / sklearn in-core compute time <= 1.5, on every matrix.
    t1 = {}
    wall_over, disturbed1, disturbed2, borderline = [], [], [], []
    for m in matrices:
        p1, p2, sk = find(aggs, m, "prsvd", 1), find(aggs, m, "prsvd", 2), find(aggs, m, "sklearn")
        if not (p1 and sk):
            lines.append(f"- {labels[m]}: prsvd 1 rank / sklearn compute: not measured "
                         "(a run failed or was skipped)")
            continue
        r_el = p1["elapsed_seconds"] / sk["compute_seconds"]
        r_wall = p1["wall_seconds"] / sk["compute_seconds"]
        pmin, smin = p1["elapsed_seconds_range"][0], sk["compute_seconds_range"][0]
        s = (f"- {labels[m]}: prsvd 1 rank / sklearn compute = {p1['elapsed_seconds']:.2f} / "
             f"{sk['compute_seconds']:.2f} s = **{r_el:.2f}** (target ≤ {TARGET_RATIO_SKLEARN:g}"
             + (f"; fastest run of each: {pmin:.2f} / {smin:.2f} s = {pmin / smin:.2f}"
                if p1["n_runs"] > 1 or sk["n_runs"] > 1 else "") + "); "
             f"with prsvd's whole-process wall clock ({p1['wall_seconds']:.2f} s): {r_wall:.2f}; "
             f"against sklearn load + compute ({sk['load_plus_compute_seconds']:.2f} s): "
             f"{p1['elapsed_seconds'] / sk['load_plus_compute_seconds']:.2f}")
        if p2:
            s += (f"; prsvd 2 ranks / sklearn compute: "
                  f"{p2['elapsed_seconds'] / sk['compute_seconds']:.2f}")
        lines.append(s)
        t1[m] = r_el
        if p1["n_runs"] > 1 or sk["n_runs"] > 1:
            if (r_el <= TARGET_RATIO_SKLEARN) != (pmin / smin <= TARGET_RATIO_SKLEARN):
                borderline.append(f"{labels[m]} (median runs {r_el:.2f}, fastest runs "
                                  f"{pmin / smin:.2f})")
        for g, what in ((p1, "prsvd 1 rank"), (sk, "sklearn")):
            if (g.get("other_cores") or 0) > CONTENTION:
                disturbed1.append(f"{labels[m]} {what}: {g['other_cores']:.2f}")
        if r_wall > TARGET_RATIO_SKLEARN:
            wall_over.append(f"{labels[m]} ({r_wall:.2f})")
    # Target 2: LAPACK full SVD time / prsvd time >= 10 at the large matrix.
    big = matrices[-1]
    p1, p2, la = find(aggs, big, "prsvd", 1), find(aggs, big, "prsvd", 2), find(aggs, big, "LAPACK")
    t2 = None
    if p1 and la:
        t2 = la["compute_seconds"] / p1["elapsed_seconds"]
        for g, what in ((p1, "prsvd 1 rank"), (la, "LAPACK")):
            if (g.get("other_cores") or 0) > CONTENTION:
                disturbed2.append(f"{what}: {g['other_cores']:.2f}")
        s = (f"- {labels[big]}: LAPACK gesdd / prsvd 1 rank = {la['compute_seconds']:.1f} / "
             f"{p1['elapsed_seconds']:.2f} s = **{t2:.1f}** (target ≥ {TARGET_RATIO_LAPACK:g})")
        if p2:
            s += (f"; LAPACK gesdd / prsvd 2 ranks = {la['compute_seconds']:.1f} / "
                  f"{p2['elapsed_seconds']:.2f} s = {la['compute_seconds'] / p2['elapsed_seconds']:.1f}")
        s += (f"; LAPACK load + compute over prsvd's whole-process wall clock: "
              f"{la['load_plus_compute_seconds']:.1f} / {p1['wall_seconds']:.2f} s = "
              f"{la['load_plus_compute_seconds'] / p1['wall_seconds']:.1f}")
        lines.append(s)
    else:
        why = next((g.get("reason") for g in aggs if g["matrix"] == big and g["family"] == "LAPACK"),
                   None) or "a run failed or was not run"
        lines.append(f"- {labels[big]}: LAPACK gesdd / prsvd: not measured ({why})")

    names = "; ".join(labels[m] for m in matrices)
    head = (f"**Target 1, 1-rank prsvd time ≤ {TARGET_RATIO_SKLEARN:g} × scikit-learn in-core "
            f"compute time ({names})")
    if len(t1) < len(matrices):
        if t1 and any(v > TARGET_RATIO_SKLEARN for v in t1.values()):
            verdicts.append(head + ": not met**, and not measured on every matrix.")
        else:
            verdicts.append(head + ": not measured on every matrix**, so not shown to be met.")
    else:
        met = [labels[m] for m in matrices if t1[m] <= TARGET_RATIO_SKLEARN]
        missed = [f"{labels[m]} ({t1[m]:.2f})" for m in matrices if t1[m] > TARGET_RATIO_SKLEARN]
        if not missed:
            v = head + ": met** on both matrices."
        elif met:
            v = (head + f": not met** — met on {'; '.join(met)}, missed on {'; '.join(missed)}.")
        else:
            v = head + f": not met** on any matrix ({', '.join(missed)})."
        v += (" prsvd's time is its own elapsed_seconds (median of the runs), which includes "
              "reading A from the HDF5 file q + 1 = 2 times and writing U, S, V; sklearn's is "
              "the median randomized_svd call, A already in memory.")
        if wall_over:
            v += (" Timed as a whole command (prsvd's process wall clock, MPI and HDF5 start-up "
                  f"included) the ratio exceeds {TARGET_RATIO_SKLEARN:g} on {', '.join(wall_over)}.")
        if borderline:
            v += (" It is borderline on " + "; ".join(borderline) + ": the median and the "
                  f"fastest runs fall on opposite sides of {TARGET_RATIO_SKLEARN:g}.")
        if disturbed1:
            v += unreliable(disturbed1)
        verdicts.append(v)
    head2 = (f"**Target 2, LAPACK full SVD time ≥ {TARGET_RATIO_LAPACK:g} × prsvd time at "
             f"{labels[big]}")
    if t2 is None:
        verdicts.append(head2 + ": not measured**, so neither met nor shown to be missed.")
    else:
        verdicts.append(head2 + f": {'met' if t2 >= TARGET_RATIO_LAPACK else 'not met'}** "
                        f"({t2:.1f}: gesdd compute time, without loading A, over the 1-rank prsvd "
                        "median elapsed_seconds)."
                        + (unreliable(disturbed2) if disturbed2 else ""))
    return lines, verdicts


def unreliable(which):
    return (" **Caution: this verdict is not reliable**: other processes took CPU during the "
            f"runs it rests on ({'; '.join(which)} cores on average, on a {os.cpu_count()}-core "
            "machine), which slows the run they hit and can tip the ratio either way; re-run "
            "`bench/run.sh` on an idle machine.")


def peers(out):
    """The section of bench/run.sh's runs (in OUT)."""
    results = records(out)
    prsvd = os.path.join(out, "build", "prsvd")
    matrices, labels = [], {}
    for r in results:
        if r["matrix"] not in matrices:
            matrices.append(r["matrix"])
        if r.get("rows") and r["matrix"] not in labels:
            labels[r["matrix"]] = f"{r['rows']} x {r['cols']}, k = {r['rank']}"
    for m in matrices:
        labels.setdefault(m, m)

    aggs = aggregate(results)
    rows = table_rows(aggs, labels)
    ratio_lines, verdicts = targets(aggs, matrices, labels)
    env = machine(prsvd)
    e = settings(out)

    print(text_table(rows))
    print()
    print("\n".join(ratio_lines).replace("**", ""))
    print()
    print("\n".join(verdicts).replace("**", ""))

    notes = []
    for g in aggs:
        if g.get("failures"):
            notes.append(f"- {labels[g['matrix']]}, {g['family']}"
                         f"{' %d rank(s)' % g['ranks'] if g.get('ranks') else ''}: "
                         f"{len(g['failures'])} run(s) failed: {'; '.join(g['failures'])}")
        if g["family"] == "prsvd" and g.get("same_result_all_reps") is False:
            notes.append(f"- {labels[g['matrix']]}, prsvd {g['ranks']} rank(s): the singular "
                         "values differed between repetitions with the same seed")

    busy = ", ".join(f"{labels[g['matrix']]} {g['family']}"
                     f"{' %d rank(s)' % g['ranks'] if g.get('ranks') else ''}: "
                     f"{g['other_cores']:.2f} cores"
                     for g in aggs if (g.get("other_cores") or 0) > 0.1)
    if busy:
        print("\nCaution: other processes used CPU during some runs: " + busy)
    orig_obnt = e.get("BENCH_ORIG_OPENBLAS_NUM_THREADS", "unset")
    coretype = e.get("BENCH_OPENBLAS_CORETYPE", "unset")
    omp = e.get("BENCH_OMP_NUM_THREADS", "unset")
    rs, rb = e.get("BENCH_REPEAT_SMALL", "?"), e.get("BENCH_REPEAT_BIG", "?")
    dirty = e.get("BENCH_GIT_DIRTY", "")
    sec = [
        "## prsvd vs scikit-learn randomized_svd vs LAPACK full SVD",
        "",
        f"Measured by `bench/run.sh`, {e.get('BENCH_START', env['date'])} to "
        f"{e.get('BENCH_END', env['date'])}. Matrices from `prsvd gen` (poly spectrum, decay 1: "
        "σ_j = 1/j, float64, contiguous). Accuracy is ‖A − U S Vᵀ‖F over the optimal "
        "‖A − A_k‖F = sqrt(Σ_{j>k} σ_j²) of the planted spectrum (prsvd: `prsvd verify --json`, "
        "field residual_over_optimal; sklearn and LAPACK: the same quantity computed with numpy, "
        "LAPACK's SVD truncated to rank k).",
        "",
        md_table(rows),
        "",
        "Ratios the targets name (medians of the runs):",
        "",
        *ratio_lines,
        "",
        *[v + "\n" for v in verdicts],
        *(["Problems seen in this run:", "", *notes, ""] if notes else []),
        *([f"Caution: other processes used CPU during some runs ({busy}); those times are "
           "inflated by the contention.", ""] if busy else []),
        "How to read the table:",
        "",
        f"- *runs*: the timed prsvd and sklearn runs are repeated ({rs} times at the small "
        f"matrix, {rb} at the large one), interleaved (prsvd 1 rank, prsvd 2 ranks, sklearn, "
        "and again) so that changes in background load fall on all three alike; the time "
        "columns give the median, with the range of the compute times beside it; LAPACK runs "
        "once. Peak RSS is the largest over the runs.",
        "- prsvd *wall s* is the wall clock of the whole command measured outside it "
        "(for 2 ranks, of `mpirun`, including its start-up); *compute s* is prsvd's own "
        "`elapsed_seconds` from `--json` (reads of A, sketch, QR, small SVD and the output "
        "write; MPI and HDF5 start-up excluded). prsvd has no separate load: it streams A "
        "from the file in row panels (`--memory` 512M per rank by default). The output of the "
        "last run of each configuration is checked with `prsvd verify`; all runs use seed 0.",
        "- *others' CPU, cores*: CPU time the rest of the machine (other processes, the "
        "kernel, hypervisor steal) used while these runs ran, from /proc/stat minus the "
        "benchmark's own CPU time, divided by their wall time: 0 means the 2 cores were the "
        "benchmark's alone; 0.5 means other work took half a core on average, which slows "
        "the run (this machine is shared with other jobs).",
        "- sklearn and LAPACK: *load s* is reading the whole dataset with h5py "
        "(`read_direct` into one float64 array), *compute s* the call itself, *wall s* "
        "their sum (Python start-up and imports excluded).",
        "- Peak RSS: prsvd per rank from GNU `/usr/bin/time -f %M` (one file per rank); "
        "sklearn and LAPACK from `resource.getrusage(RUSAGE_SELF).ru_maxrss` right after the "
        "compute, before the accuracy check (it includes the Python interpreter, numpy/scipy/"
        "sklearn, and the whole of A held in memory).",
        "- sklearn is called with `power_iteration_normalizer='QR'` (its `'auto'` would pick "
        "no normalization for n_iter = 1), `n_oversamples=10`, `n_iter=1`, `random_state=0`; "
        "it multiplies by A or Aᵀ four times (2 per power iteration, 1 for the range, 1 for "
        "B = QᵀA), prsvd reads A twice (*passes over A*).",
        "- LAPACK is `scipy.linalg.svd(A, full_matrices=False, lapack_driver='gesdd', "
        "check_finite=False)` (scipy hands gesdd a Fortran-ordered copy of A, so peak RSS holds "
        "A twice plus U).",
        "- The HDF5 files were written by `prsvd gen` at the start of the run (then `sync`) and "
        f"stay in the page cache (the machine has {env['free_g_total']} GiB, the files total "
        "about 3.5 GB), so every read, prsvd's and h5py's, comes from memory, not from the disk.",
        "",
        f"Threads (the machine has {env['nproc']} cores): prsvd at 1 rank, scikit-learn and "
        "LAPACK ran with OPENBLAS_NUM_THREADS unset, i.e. OpenBLAS's default of one thread per "
        "core; prsvd at 2 ranks ran with OPENBLAS_NUM_THREADS=1 (`mpirun --oversubscribe -n 2 "
        "-x OPENBLAS_NUM_THREADS`), and so did `prsvd gen` of the large matrix on 2 ranks. In "
        f"the calling environment OPENBLAS_NUM_THREADS was {orig_obnt}, OMP_NUM_THREADS was "
        f"{omp} (left alone), OPENBLAS_CORETYPE was {coretype}"
        f"{' (left alone)' if coretype != 'unset' else ''}. OMPI_ALLOW_RUN_AS_ROOT=1 and "
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 were set for mpirun.",
        "",
        "Machine and software:",
        "",
        f"- `nproc`: {env['nproc']}; `free -g` total: {env['free_g_total']} GiB; CPU: {env['cpu']} "
        f"(/proc/cpuinfo model name); kernel {env['kernel']}",
        f"- other processes' CPU use just before the run (3 s sample): "
        f"{e.get('BENCH_OTHERS_BEFORE', '?')} cores; before each timed command run.sh "
        f"{e.get('BENCH_QUIET', '(no record)')}",
        f"- load average (1, 5, 15 min) at the start {e.get('BENCH_LOADAVG_START', '?')}, at the "
        f"end {e.get('BENCH_LOADAVG_END', '?')} (the benchmark itself keeps 2 cores busy; other "
        "work on the machine would raise these)",
        "- prsvd: " + "; ".join(ln.strip() for ln in env["prsvd_version"].splitlines()),
        f"- prsvd build measured: a copy of `prsvd` (built "
        f"{e.get('BENCH_BIN_TIME', '?')}; sha256 prefixes {e.get('BENCH_BUILD_ID', '?')}) taken "
        f"at the start; HEAD was {e.get('BENCH_GIT_HEAD', '?')}"
        + (f", with uncommitted changes in {dirty}" if dirty else
           ", no uncommitted changes in src, io, mpi"),
        f"- OpenBLAS: {env['openblas_pkg'].replace(chr(10), ', ')} (Debian packages; "
        f"libopenblas.so.0 → {env['openblas_so']}); as loaded by numpy: {env['openblas_numpy']}",
        f"- numpy {env['modules']['numpy']}, scipy {env['modules']['scipy']}, scikit-learn "
        f"{env['modules']['sklearn']}, h5py {env['modules']['h5py']}, threadpoolctl "
        f"{env['modules']['threadpoolctl']}, Python {env['python']}",
        f"- {env['mpirun']}"]
    common.write_section("peers", "\n".join(sec))


# ---- sparse: bench/sparse.sh ------------------------------------------------------------------

MIB = 2.0 ** 20


def own_times(tag, ranks):
    """Peak RSS (MiB) and CPU seconds of each process, from GNU time's "%M %U %S" files."""
    rss, cpu = [], 0.0
    for r in range(ranks):
        with open(f"{tag}.time.{r}") as f:
            m, u, s = f.read().split()[-3:]
        rss.append(int(m) / 1024.0)
        cpu += float(u) + float(s)
    return rss, cpu


def errors(s, ref):
    e = np.abs(np.asarray(s) - ref[:len(s)]) / ref[:len(s)]
    return e[0], e[:10].max(), e.max()


def prsvd_row(run, ref_c, ref_u):
    out = re.search(r"-o (\S+)", run["command"]).group(1)
    with open(f"{run['tag']}.stdout") as f:
        plan = [ln.strip() for ln in f if "memory per rank" in ln]
    with h5py.File(out, "r") as f:
        s, att = f["S"][:], dict(f.attrs)
    centred = " pca " in run["command"]
    return {"compute": float(att["elapsed_seconds"]), "passes": int(att["passes"]), "centred": centred,
            "errors": errors(s, ref_c if centred else ref_u), "plan": plan[0] if plan else "?", "s": s}


def sparse(out):
    """The section of bench/sparse.sh's runs (in OUT)."""
    recs = records(out)
    start = next(r for r in recs if r["event"] == "start")
    end = next((r for r in recs if r["event"] == "end"), {"date": "?", "uptime": "?"})
    setup = next(r for r in recs if r["event"] == "setup")
    with open(setup["matrix"]) as f:
        mat = json.load(f)
    with open(setup["reference"]) as f:
        ref = json.load(f)
    ref_c, ref_u = np.array(ref["centred"]), np.array(ref["uncentred"])
    m, n, nnz = mat["rows"], mat["cols"], mat["nnz"]
    k, q = int(setup["k"]), int(setup["q"])

    rows, info, busy = [], {}, []
    for run in (r for r in recs if r["event"] == "run" and r["label"] not in ("generate",)):
        ranks, wall = int(run["ranks"]), float(run["wall"])
        rss, cpu = own_times(run["tag"], ranks)
        others = max(0.0, float(run["busy"]) - cpu) / wall
        busy.append(others)
        load = run["uptime"].split("load average:")[-1].strip()
        label = run["label"]
        if run["rc"] != "0":
            rows.append([label, "failed (exit %s)" % run["rc"]] + [""] * 12)
            continue
        if label == "reference":
            info["reference"] = (wall, max(rss), others)
            continue
        if label.startswith("prsvd"):
            p = prsvd_row(run, ref_c, ref_u)
            info[label] = dict(p, rss=rss, wall=wall)
            method = f"prsvd {'pca' if p['centred'] else 'svd'} (p=10, q={q})"
            centring = "centred, implicit" if p["centred"] else "uncentred"
            ranks_s = f"{ranks} rank{'s' if ranks > 1 else ''} x {'default' if ranks == 1 else '1'} BLAS thread{'s' if ranks == 1 else ''}"
            load_s, compute, passes = "streamed", p["compute"], str(p["passes"])
        else:
            with open(f"{run['tag']}.stdout") as f:
                sk = json.loads(f.read())
            p = {"errors": errors(sk["singular_values"], ref_u)}
            info[label] = dict(sk, rss=rss, wall=wall)
            method = f"sklearn TruncatedSVD (randomized, p=10, n_iter={q}, LU)"
            centring, ranks_s = "uncentred", f"1 process x {sk['threads']}"
            load_s, compute, passes = f"{sk['load_seconds']:.1f}", sk["compute_seconds"], f"{2 * q + 2} products"
        e1, e10, e20 = p["errors"]
        info[label]["cpu"] = cpu
        rows.append([method, centring, ranks_s, f"{wall:.1f}", load_s, f"{compute:.1f}", f"{cpu:.1f}",
                     " / ".join(f"{x:.0f}" for x in rss), passes,
                     f"{e1:.1e}", f"{e10:.1e}", f"{e20:.1e}", f"{others:.2f}", load])

    head = ["method", "centring", "ranks x threads", "wall s", "load s", "compute s", "CPU s, own", "peak RSS MiB / process",
            "passes over A", "σ₁ rel. error", "top 10: max rel. error", f"top {k}: max rel. error",
            "others' CPU, cores", "load average at start (1, 5, 15 min)"]
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    table += ["| " + " | ".join(r) + " |" for r in rows]

    dense_gb = 8.0 * m * n / 1e9
    csr_mib = (12.0 * nnz + 8.0 * (m + 1)) / MIB
    pca1, pca2, sk = info.get("prsvd-pca-1"), info.get("prsvd-pca-2"), info.get("sklearn")
    lines = ["## Sparse PCA: prsvd pca vs scikit-learn TruncatedSVD", "",
             f"Measured by `bench/sparse.sh`, {start['date']} to {end['date']}; `uptime` at the start: "
             f"`{start['uptime'].strip()}`, at the end: `{end['uptime'].strip()}` (other helpers share the 2 cores; "
             "the *others' CPU* column says how much CPU the rest of the machine took during each run). "
             f"HEAD {start['git']}. {start['prsvd']}.", "",
             f"The matrix: {m:,} x {n:,} cells x genes, {nnz:,} stored entries ({100 * mat['density']:.3f}%), "
             f"float32 values and int32 column indices in an AnnData-style CSR group (`encoding-type` = "
             f"`csr_matrix`), written in blocks of rows by `bench/peers/sparse_gen.py` in {mat['seconds']:.0f} s "
             f"({mat['clusters']} clusters of geometric weights with 300 marker genes each: a decaying spectrum "
             f"above a noise bulk). A dense float64 copy would take {dense_gb:.0f} GB; the CSR matrix with "
             f"float64 values, as scipy holds it, {csr_mib:.0f} MiB.", "",
             f"All methods compute k = {k} with {q} power iteration{'s' if q > 1 else ''} and 10 oversampling "
             f"columns. The reference is ARPACK (`scipy.sparse.linalg.svds`, tol {ref['tol']:g}) on the same "
             f"matrix: centred through a LinearOperator (A x − 1 μᵀx, Aᵀy − μ 1ᵀy) in {ref['centred_seconds']:.0f} s "
             f"({ref['centred_products']} products), and uncentred in {ref['uncentred_seconds']:.0f} s "
             f"({ref['uncentred_products']} products). prsvd pca is compared with the centred reference; "
             "TruncatedSVD, which does not centre, and prsvd svd (uncentred, the like-for-like run) with the "
             "uncentred one. The errors are |σ_j − σ*_j| / σ*_j.", "",
             *table, ""]
    if pca1:
        lines += [f"Memory: prsvd pca at 1 rank planned `{pca1['plan']}` (`--memory {setup['memory']}` for the "
                  f"two CSR panels of the reader thread, and the sketches: Y is m/P x (k + p + 10) float64) and "
                  f"peaked at {max(pca1['rss']):.0f} MiB"
                  + (f"; at 2 ranks `{pca2['plan']}`, peaks {' / '.join(f'{x:.0f}' for x in pca2['rss'])} MiB"
                     if pca2 else "")
                  + f". That is the sketches plus the panel budget, not the {dense_gb:.0f} GB of a dense copy "
                  f"({dense_gb * 1e9 / MIB / max(pca1['rss']):.0f} times more) and not the matrix either: "
                  "prsvd never holds more than two panels of rows."]
    if sk:
        lines += ["", f"scikit-learn loaded the whole CSR matrix ({sk['load_seconds']:.1f} s with h5py, "
                  f"peak {sk['peak_rss_mib_after_load']:.0f} MiB after the load) and peaked at {max(sk['rss']):.0f} MiB; "
                  "it cannot centre a sparse matrix without densifying it (PCA refuses sparse input), so its "
                  "components are those of the uncentred matrix, whose first one is mostly the mean."]
    ratios = []
    if pca1 and sk:
        ratios.append(f"prsvd pca 1 rank / sklearn compute = {pca1['compute']:.1f} / {sk['compute_seconds']:.1f} s "
                      f"= **{pca1['compute'] / sk['compute_seconds']:.2f}**; against sklearn load + compute: "
                      f"{pca1['compute'] / (sk['compute_seconds'] + sk['load_seconds']):.2f}; peak RSS "
                      f"{max(pca1['rss']) / max(sk['rss']):.2f} of sklearn's")
    if pca2 and sk:
        ratios.append(f"prsvd pca 2 ranks / sklearn compute = {pca2['compute']:.1f} / {sk['compute_seconds']:.1f} s "
                      f"= {pca2['compute'] / sk['compute_seconds']:.2f}")
    svd1 = info.get("prsvd-svd-1")
    if pca1 and sk:
        ratios.append(f"CPU time, which contention inflates less: prsvd pca 1 rank / sklearn (load included) = "
                      f"{pca1['cpu']:.1f} / {sk['cpu']:.1f} s = {pca1['cpu'] / sk['cpu']:.2f}")
    if svd1 and sk:
        ratios.append(f"prsvd svd (uncentred) 1 rank / sklearn compute = {svd1['compute']:.1f} / "
                      f"{sk['compute_seconds']:.1f} s = {svd1['compute'] / sk['compute_seconds']:.2f}")
    if ratios:
        lines += ["", "Ratios measured in this run:", ""] + [f"- {r}" for r in ratios]
    if busy and max(busy) > 0.25:
        lines += ["", f"**Caution**: other processes took {min(busy):.2f} to {max(busy):.2f} of the 2 cores during "
                  "these runs, so every time is inflated, and the 2-rank run had no free core to gain from: "
                  "its time says nothing about scaling. The ratios compare runs that shared the machine alike; "
                  "re-run `bench/sparse.sh` on an idle machine for absolute times."]
    lines += ["", "How to read it: prsvd *compute s* is its own `elapsed_seconds` (reads of the file included, "
              "MPI start-up not), *wall s* the whole command (for 2 ranks, `mpirun`), *CPU s, own* the user + "
              "system time of its processes (all ranks, all threads; Python start-up and imports included for "
              "sklearn); sklearn's *load s* is "
              "reading the group with h5py into a scipy CSR matrix and *compute s* `TruncatedSVD.fit`. Peak RSS "
              "is GNU time's per process. The file stays in the page cache (23 GiB of memory), so every read "
              "comes from memory. prsvd at 1 rank runs its sparse kernels on one core (OpenBLAS threads only "
              "serve the small dense steps); at 2 ranks each rank streams half the rows."]
    print("\n".join(table))
    common.write_section("sparse", "\n".join(lines))


# ---- checkpoint: bench/checkpoint.sh ----------------------------------------------------------

INTERVAL = 600.0  # --checkpoint-every default


def checkpoint(out):
    """The section of bench/checkpoint.sh's runs (in OUT: one JSON line a run, kind plain | votes |
    saves, elapsed_seconds, passes, the --json phases).  One checkpoint write is the `checkpoint`
    phase's time (the slowest rank: reduce the partial sums, write the HDF5 state file, rename it)
    divided by its count; a pass is a plain run's elapsed_seconds divided by its passes (the QR,
    small SVD and output write included, which makes the pass a little longer and the ratio a
    little smaller than the passes alone).  The overhead at an interval T is one write per T
    seconds of work plus the per-panel vote."""
    runs = records(out)
    env = settings(out)
    by = {k: [r for r in runs if r["kind"] == k] for k in ("plain", "votes", "saves")}
    med = {k: statistics.median(r["elapsed_seconds"] for r in v) for k, v in by.items()}
    passes = by["plain"][0]["passes"]
    pass_s = med["plain"] / passes
    per_save = [r["phases"]["checkpoint"]["time_max"] / r["phases"]["checkpoint"]["count"] for r in by["saves"]]
    saves = [r["phases"]["checkpoint"]["count"] for r in by["saves"]]
    save_s = statistics.median(per_save)
    state_mb = by["saves"][0]["phases"]["checkpoint"]["bytes"] / by["saves"][0]["phases"]["checkpoint"]["count"] / 1e6
    file_mb = int(env.get("BENCH_CHECKPOINT_BYTES", "0")) / 1e6
    votes = (med["votes"] - med["plain"]) / med["plain"]
    plain_t = [r["elapsed_seconds"] for r in by["plain"]]
    spread = (max(plain_t) - min(plain_t)) / med["plain"]
    steps = by["votes"][0]["phases"]["read"]["count"]  # panel steps of a run: one vote each
    fastest_pass = min(plain_t) / passes
    at_interval = save_s / INTERVAL
    loads = [r["load1"] for r in runs]
    rows = [
        ("plain (no --checkpoint)", by["plain"], "—"),
        ("--checkpoint, --checkpoint-every 0 (votes only)", by["votes"], "0"),
        (f"--checkpoint, --checkpoint-every {env.get('BENCH_EVERY', '?')}", by["saves"],
         f"{min(saves)}–{max(saves)}"),
    ]
    lines = ["## Checkpoint cost (bench/checkpoint.sh)", "",
             f"`prsvd svd -q 1` ({passes} passes) of the {env.get('BENCH_SHAPE', '?')} float64 matrix "
             f"({env.get('BENCH_MATRIX_NOTE', '')}) at {env.get('BENCH_RANKS', '?')} ranks "
             f"(`OPENBLAS_NUM_THREADS=1`), {len(by['plain'])} runs of each kind, interleaved. HEAD: "
             f"{env.get('BENCH_GIT_HEAD', 'unknown')}.", "",
             "| runs | elapsed s (median) | min–max | saves per run |", "|---|---|---|---|"]
    for name, rs, nsaves in rows:
        t = [r["elapsed_seconds"] for r in rs]
        lines.append(f"| {name} | {statistics.median(t):.2f} | {min(t):.2f}–{max(t):.2f} | {nsaves} |")
    lines += ["",
              f"- One pass over A: **{pass_s:.2f} s** (plain median / {passes} passes).",
              f"- One checkpoint write: **{save_s:.3f} s** (median over the saving runs of the `checkpoint` phase "
              f"time / count, slowest rank; {min(per_save):.3f}–{max(per_save):.3f} s): {state_mb:.0f} MB of state "
              f"(X, the kept rows of Y and of the probes, H), a {file_mb:.0f} MB file. "
              f"That is **{100 * save_s / pass_s:.1f}% of a pass**.",
              f"  With the fastest runs instead of the medians: {min(per_save):.3f} s against {fastest_pass:.2f} s, "
              f"{100 * min(per_save) / fastest_pass:.1f}%.",
              f"- The vote at each panel step (one allreduce of 3 integers; {steps} steps a run here, the default "
              f"512M panels): the votes-only runs took {100 * votes:+.1f}% against the plain ones, "
              + ("which is inside the spread of the plain runs themselves "
                 f"({min(plain_t):.1f}–{max(plain_t):.1f} s, {100 * spread:.0f}% of their median) on this shared "
                 "machine: noise, not a cost this benchmark can resolve."
                 if abs(votes) <= spread else "beyond the spread of the plain runs."),
              f"- At the default interval (one save per {INTERVAL:.0f} s of work): **{100 * at_interval:.3f}%** "
              f"of the run ({save_s:.3f} s / {INTERVAL:.0f} s). Saving after every pass would cost "
              f"{100 * save_s / pass_s:.1f}%. The issue asks for at most a few percent at the default interval.",
              "",
              f"Machine: {os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()}. "
              f"`uptime` at the start: `{env.get('BENCH_UPTIME_START', '?').strip()}`; at the end: "
              f"`{env.get('BENCH_UPTIME_END', '?').strip()}`; 1-min load when each run started: "
              f"{min(loads):.2f}–{max(loads):.2f} (other helpers share the 2 cores, which inflates the "
              "elapsed times alike for every kind; the save time is the `checkpoint` phase alone). "
              "The checkpoint file goes to the same local disk through the page cache; on a parallel file "
              "system the write takes longer, and so does each pass when A is read from it."]
    common.write_section("checkpoint", "\n".join(lines))


# ---- roofline: bench/roofline.sh ---------------------------------------------------------------

TARGET_PASS = 1.25    # every pass within 1.25 x max(read floor, GEMM floor)
TARGET_DASK_TIME = 3.0  # dask time / prsvd time, at least
TARGET_DASK_MEM = 1 / 3  # prsvd peak memory / dask peak memory, at most
TARGET_SCALE = 1.7    # 1-rank time / 2-rank time when compute-bound, at least
LAYOUT = {"f64c": ("float64", "contiguous"), "f64z": ("float64", "chunked + gzip"),
          "f32c": ("float32", "contiguous"), "f32z": ("float32", "chunked + gzip"),
          "small": ("float64", "contiguous")}


class Results:
    def __init__(self, path):
        self.recs = [json.loads(line) for line in open(path) if line.strip()]
        self.files = {r["name"]: r for r in self.recs if r.get("kind") == "file"}
        self.by_tag = {r["tag"]: r for r in self.recs if "tag" in r and r.get("kind") not in ("verify", "resident", "evicted")}
        self.verify = {r["tag"]: r for r in self.recs if r.get("kind") == "verify"}
        self.resident = {r["tag"]: r["bytes"] for r in self.recs if r.get("kind") == "resident"}

    def sec(self, tag, field="seconds"):
        """Median seconds (or FIELD) of the measurement TAG over its rounds (TAG.1, TAG.2, ...)."""
        return med(r.get(field) for t, r in self.by_tag.items()
                   if (t == tag or (t.startswith(tag + ".") and t[len(tag) + 1:].isdigit()))
                   and r.get("status") == "ok")

    def one(self, tag):
        """A record of the measurement TAG (its first round)."""
        return self.by_tag.get(tag) or self.by_tag.get(tag + ".1")

    def runs(self, kind, name, ranks, bind="none"):
        return [r for r in self.recs if r.get("kind") == kind and r.get("name") == name
                and r.get("ranks") == ranks and r.get("bind", "none") == bind
                and r.get("status") == "ok"]

    def scale_runs(self, ranks):
        return [r for r in self.recs if r.get("kind") == "scale" and r.get("ranks") == ranks
                and r.get("status") == "ok"]


# ---- the roofline: each pass against its floor --------------------------------------------

def pass_rows(res, q):
    """One row per (file, ranks, pass): the median pass time over the runs and its floor."""
    rows = []
    for name in ("f64c", "f64z", "f32c", "f32z"):
        f = res.files.get(name)
        if not f:
            continue
        prec = "s" if f["type"] == "float32" else "d"
        for ranks in (1, 2):
            runs = res.runs("prsvd", name, ranks)
            if not runs:
                continue
            n_pass = min(len(r["pass_times"]) for r in runs)
            warm = all(res.resident.get(r["tag"], 0) >= 0.99 * f["file_bytes"] for r in runs)
            for i in range(n_pass):
                times = [r["pass_times"][i]["time_max"] for r in runs]
                extra = 10 if i == q else 0
                scale = 0.5 if i > q else 1.0  # an extra pass B^T = A^T Q: only the second GEMM
                g = res.sec(f"gemm.{prec}.r{ranks}.e{min(extra, 10)}")
                gd = res.sec(f"gemm.d.r{ranks}.e{min(extra, 10)}")
                g = None if g is None else g * scale
                gd = None if gd is None else gd * scale
                cache = "cold" if i == 0 or not warm else "warm"
                # the P-rank read floor (P blocks read at once) where it was measured
                rd = res.sec(f"read.{name}.hdf5.{cache}.r{ranks}") if ranks > 1 else None
                per_rank = rd is not None
                if rd is None:
                    rd = res.sec(f"read.{name}.hdf5.{cache}")
                # CPU: prsvd's process CPU for the pass against the floors' CPU, with the GEMM
                # the build ran (`precision` in --json; builds without it convert to float64)
                cpus = [r["pass_times"][i].get("cpu_max") for r in runs]
                ran = "s" if runs[0].get("precision") == "float32" else "d"
                gc = res.sec(f"gemm.{ran}.r{ranks}.e{min(extra, 10)}", "cpu_seconds")
                rc = res.sec(f"read.{name}.hdf5.{cache}{f'.r{ranks}' if per_rank else ''}", "cpu_seconds")
                fcpu = None if gc is None or rc is None else gc * scale + (rc if per_rank else rc / ranks)
                floor = max(x for x in (rd, g) if x is not None) if (rd or g) else None
                others = max(r.get("other_cores") or 0 for r in runs)
                rows.append({"name": name, "ranks": ranks, "pass": i + 1, "time": med(times),
                             "min": min(times), "max": max(times), "n": len(times), "read": rd,
                             "cache": cache + (f", {ranks} readers" if per_rank else ""), "gemm": g, "gemm_d": gd, "prec": prec, "floor": floor,
                             "ratio": med(times) / floor if floor else None,
                             "bound": None if not floor else ("read" if (rd or 0) >= (g or 0) else "GEMM"),
                             "others": others, "cpu": med(cpus), "floor_cpu": fcpu, "ran": ran,
                             "cpu_ratio": med(cpus) / fcpu if fcpu and med(cpus) else None})
    return rows


def settle_note(res):
    """How long the cold runs waited after their eviction and how much memory went back to
    the host meanwhile (common.evict), or None where the guest does not report."""
    recs = [r for r in res.recs if r.get("kind") == "evicted" or (r.get("kind") == "read_floor" and r.get("cold"))]
    recs = [r for r in recs if r.get("reported_mib") is not None and r.get("status", "ok") == "ok"]
    if not recs:
        return None
    w = [r.get("settle_seconds") or 0 for r in recs]
    rep = [r["reported_mib"] for r in recs]
    return (f"The {len(recs)} cold runs waited {min(w):.1f} to {max(w):.1f} s (median {med(w):.1f}) after their "
            f"eviction, while the guest handed {min(rep)} to {max(rep)} MiB (median {med(rep):.0f}) back to the host.")


def pass_table(rows):
    head = ["file", "ranks", "pass", "runs", "pass s (median, min–max)", "read floor s (HDF5, cache)",
            "GEMM floor s", "floor s", "**pass / floor**", "bound by", "pass CPU s a rank",
            "read + GEMM CPU s a rank", "CPU ratio", "others' CPU, cores (max)"]
    out = []
    for r in rows:
        dt, lay = LAYOUT[r["name"]]
        gem = f"{fmt(r['gemm'], 3)} ({'SGEMM' if r['prec'] == 's' else 'DGEMM'})"
        if r["prec"] != r["ran"]:
            gem += f"; DGEMM {fmt(r['gemm_d'], 3)}, which this build ran"
        out.append([f"{r['name']}: {dt}, {lay}", r["ranks"], r["pass"], r["n"],
                    f"{fmt(r['time'], 3)} ({fmt(r['min'], 3)}–{fmt(r['max'], 3)})",
                    f"{fmt(r['read'], 3)} ({r['cache']})", gem, fmt(r["floor"], 3),
                    f"**{fmt(r['ratio'])}**", r["bound"] or "—", fmt(r["cpu"], 3), fmt(r["floor_cpu"], 3),
                    fmt(r["cpu_ratio"]), fmt(r["others"])])
    return md(head, out)


def ceilings_table(res, q):
    head = ["file", "size on disk", "raw read, cold (GB/s)", "HDF5 read, cold s (GB/s of values)",
            "HDF5 read, warm s", "panel rows"]  # medians over the rounds
    out = []
    for name in ("f64c", "f64z", "f32c", "f32z"):
        f = res.files.get(name)
        if not f:
            continue
        raw, hc, hw = (res.sec(f"read.{name}.{m}") for m in ("raw.cold", "hdf5.cold", "hdf5.warm"))
        vbytes = f["rows"] * f["cols"] * (4 if f["type"] == "float32" else 8)
        dt, lay = LAYOUT[name]
        out.append([f"{name}: {dt}, {lay}" + (f" ({f.get('filters')}, chunks {f.get('chunk_rows')} x {f.get('chunk_cols')})" if f.get("chunked") else ""),
                    f"{f['file_bytes'] / 1e9:.2f} GB",
                    f"{fmt(raw, 3)} s ({fmt(f['file_bytes'] / raw * 1e-9 if raw else None)})",
                    f"{fmt(hc, 3)} ({fmt(vbytes / hc * 1e-9 if hc else None)})", fmt(hw, 3),
                    f["panel_rows"]])
    t1 = md(head, out)
    head = ["GEMM (one thread)", "rows per rank", "l", "s per pass, median (l cols / last pass l + 10)",
            "GFLOP/s"]
    out = []
    for prec, label in (("d", "DGEMM"), ("s", "SGEMM"), ("big", "DGEMM, k = K_BIG")):
        for ranks in (1, 2):
            a, b = res.one(f"gemm.{prec}.r{ranks}.e0"), res.one(f"gemm.{prec}.r{ranks}.e10")
            if not a or a.get("status") != "ok":
                continue
            ta, tb = res.sec(f"gemm.{prec}.r{ranks}.e0"), res.sec(f"gemm.{prec}.r{ranks}.e10")
            out.append([label, a["rows"], a["l"], f"{fmt(ta, 3)} / {fmt(tb, 3)}",
                        f"{fmt(a['flops'] / ta * 1e-9, 1)} / {fmt(b['flops'] / tb * 1e-9 if b and tb else None, 1)}"])
    return t1, md(head, out)


# ---- the reader thread with and without a core of its own ------------------------------------

def binding_table(res):
    head = ["file", "1 rank", "pass s (median per pass)", "pass CPU s", "elapsed s"]
    out = []
    for name in ("f64c", "f64z"):
        for bind, label in (("none", "`--bind-to none` (2 cores for its 2 threads)"),
                            ("core", "`--bind-to core` (Open MPI's default up to 2 ranks)")):
            runs = res.runs("prsvd", name, 1, bind)
            if not runs:
                continue
            n = min(len(r["pass_times"]) for r in runs)
            dt, lay = LAYOUT[name]
            out.append([f"{name}: {dt}, {lay}", label,
                        " / ".join(fmt(med(r["pass_times"][i]["time_max"] for r in runs), 3) for i in range(n)),
                        " / ".join(fmt(med(r["pass_times"][i].get("cpu_max") for r in runs), 3) for i in range(n)),
                        fmt(med(r["elapsed_seconds"] for r in runs))])
    return md(head, out) if out else None


# ---- bytes read and flops against the model -------------------------------------------------

def model_table(res, k, p, q):
    """Each rank's bytes read (rchar) and prsvd's flop count against docs/performance.md."""
    head = ["run", "ranks", "passes", "bytes read a rank (rchar)", "model: passes x stored bytes / P",
            "ratio", "sketch flops (--json)", "model flops", "ratio"]
    out = []
    for kind, name, kk in [("prsvd", n, k) for n in ("f64c", "f64z", "f32c", "f32z", "small")] + [("scale", "f64c", None)]:
        for ranks in (1, 2):
            runs = res.scale_runs(ranks) if kind == "scale" else res.runs("prsvd", name, ranks)
            if not runs or name not in res.files:
                continue
            r, f = runs[0], res.files[name]
            kk = kk or r.get("rank")
            mdl = model.subspace(f["rows"], f["cols"], kk, p, q)
            fl = sum(ps["flops"] for ps in mdl["passes"][:r["passes"]])
            procs = (r.get("memwatch") or {}).get("processes") or []
            rchar = [pp.get("rchar") for pp in procs if pp.get("rchar")]
            if r.get("read_path") == "mmap" and r.get("file_bytes_read"):  # no read(): prsvd's count
                rchar = [r["file_bytes_read"] / ranks]
            want = r["passes"] * f["storage_bytes"] / ranks
            got = (r.get("phases") or {}).get("sketch", {}).get("flops")
            out.append([f"{r['tag']} (k = {kk})", ranks, r["passes"],
                        " / ".join(f"{x / 1e9:.3f} GB" for x in rchar) or "—", f"{want / 1e9:.3f} GB",
                        " / ".join(f"{x / want:.4f}" for x in rchar) or "—",
                        f"{got:.4g}" if got else "—", f"{fl:.4g}", f"{got / fl:.4f}" if got else "—"])
    return md(head, out)


# ---- the peers ------------------------------------------------------------------------------

def peer_rows(res, name, k, p, q):
    rows = []

    def acc(tag):
        v = res.verify.get(tag) or {}
        return v.get("residual_over_optimal"), v.get("singular_value_error")

    for ranks in (1, 2):
        runs = res.runs("prsvd", name, ranks)
        if runs:
            pk = [peaks(r) for r in runs]
            rows.append({"method": f"prsvd svd (k={k}, p={p}, q={q})", "key": f"prsvd{ranks}",
                         "procs": f"{ranks} rank{'s' if ranks > 1 else ''} x 1 BLAS thread (+ reader thread)",
                         "time": med(r["elapsed_seconds"] for r in runs),
                         "wall": med(r["process_wall_seconds"] for r in runs), "n": len(runs),
                         "reads": runs[0].get("passes"),
                         "rss": [max(x) for x in zip(*[a for a, _ in pk])], "job": max(b for _, b in pk),
                         "pss": max((pss_peak(r) or 0 for r in runs), default=0) or None,
                         "acc": acc(f"prsvd.{name}.r{ranks}"),
                         "others": max(r.get("other_cores") or 0 for r in runs), "tag": runs[0]["tag"]})
    for kind, label, procs in (("dask", f"dask svd_compressed (k={k}, n_oversamples={p}, n_power_iter={q}, compute=True)",
                                "1 process x 2 dask threads x 1 BLAS thread"),
                               ("sklearn", f"scikit-learn randomized_svd (k={k}, n_oversamples={p}, n_iter={q}, QR), in memory",
                                "1 process x 2 BLAS threads")):
        r = res.by_tag.get(f"{kind}.{name}")
        if not r:
            continue
        if r.get("status") != "ok":
            rows.append({"method": label, "key": kind, "procs": procs, "failed": r.get("rc")})
            continue
        t = r["compute_seconds"] + (r.get("load_seconds") or 0)
        rss, job = peaks(r)
        rows.append({"method": label, "key": kind, "procs": procs, "time": t,
                     "wall": r["process_wall_seconds"], "n": 1, "reads": r.get("passes"),
                     "rss": [r.get("peak_rss_mib")] if r.get("peak_rss_mib") else rss, "job": job,
                     "pss": pss_peak(r),
                     "acc": acc(f"{kind}.{name}"), "others": r.get("other_cores"), "tag": r["tag"],
                     "load": r.get("load_seconds")})
    for ranks in (1, 2):
        r = res.by_tag.get(f"pdgesvd.{name}.r{ranks}")
        if not r:
            continue
        label = "ScaLAPACK PDGESVD, all singular values (no vectors), in memory"
        procs = f"{ranks} rank{'s' if ranks > 1 else ''} x 1 BLAS thread ({ranks} x 1 grid, 64 x 64 blocks)"
        if r.get("status") != "ok":
            rows.append({"method": label, "key": f"pdgesvd{ranks}", "procs": procs, "failed": r.get("rc")})
            continue
        rss, job = peaks(r)
        rows.append({"method": label, "key": f"pdgesvd{ranks}", "procs": procs,
                     "time": r["compute_seconds"] + r["load_seconds"], "wall": r["process_wall_seconds"],
                     "n": 1, "reads": 1, "rss": rss, "job": job, "pss": pss_peak(r),
                     "acc": (None, r.get("max_sigma_error_over_sigma1")), "others": r.get("other_cores"),
                     "tag": r["tag"], "load": r["load_seconds"]})
    return rows


def dask_verdicts(peers, big):
    """The target lines against dask: time, and peak memory by the RSS sum (the headline) and by
    the PSS sum (shared pages counted once)."""
    out, pk = [], {r["key"]: r for r in peers if "failed" not in r}
    d = pk.get("dask")
    for key in ("prsvd1", "prsvd2"):
        if not d or key not in pk:
            continue
        pr = pk[key]
        tr = d["time"] / pr["time"]
        mem = "peak memory unknown"
        if pr["job"] and d["job"]:
            mr = pr["job"] / d["job"]
            mem = (f"{mr:.2f} of its peak memory by the RSS sum (job totals {pr['job']:.0f} / {d['job']:.0f} MiB; "
                   f"target ≤ 0.33: {'met' if mr <= TARGET_DASK_MEM else 'not met'})")
        pss = ""
        if pr.get("pss") and d.get("pss"):
            mp = pr["pss"] / d["pss"]
            pss = (f"; by the PSS sum, which counts a page the ranks share once, {mp:.2f} "
                   f"({pr['pss']:.0f} / {d['pss']:.0f} MiB: {'met' if mp <= TARGET_DASK_MEM else 'not met'})")
        out.append(
            f"- **prsvd ({key[-1]} rank{'s' if key == 'prsvd2' else ''}) against dask on "
            f"{big.get('rows')} x {big.get('cols')} float64: {tr:.2f}× faster (target ≥ {TARGET_DASK_TIME:.0f}: "
            f"{'met' if tr >= TARGET_DASK_TIME else 'not met'}), {mem}**{pss} — times {pr['time']:.2f} s "
            f"against {d['time']:.2f} s."
            + (" dask's threaded scheduler ran 2 workers, one BLAS thread each: this is the comparison on "
               "the same 2 cores." if key == "prsvd2" else
               " One rank has one GEMM thread and one reader thread, where dask's two workers each read "
               "and multiply; in this run's cold state, where reading costs CPU (see *Cold runs on this "
               "VM*), one rank's first pass is bound by its reader thread."))
    return out


def peer_table(rows):
    head = ["method", "processes x threads", "time s", "process wall s", "reads of A",
            "peak RSS MiB / process", "job peak RSS MiB", "job peak PSS MiB", "‖A−USVᵀ‖F / ‖A−A_k‖F",
            "max |σ̂ⱼ−σⱼ| / σ₁", "others' CPU, cores"]
    out = []
    for r in rows:
        if "failed" in r:
            out.append([r["method"], r["procs"], f"failed (exit {r['failed']})"] + [""] * 8)
            continue
        tm = fmt(r["time"]) + (f" (load {fmt(r['load'])})" if r.get("load") else "")
        if r["n"] > 1:
            tm += f", median of {r['n']}"
        out.append([r["method"], r["procs"], tm, fmt(r["wall"]), r["reads"] or "—",
                    " / ".join(f"{x:.0f}" for x in r["rss"]) or "—", fmt(r["job"], 0), fmt(r.get("pss"), 0),
                    fmt(r["acc"][0], 5), "—" if r["acc"][1] is None else f"{r['acc'][1]:.1e}",
                    fmt(r["others"])])
    return md(head, out)


def plot_passes(rows, plot_dir, data_dir):
    dat = os.path.join(data_dir, "passes.dat")
    with open(dat, "w") as f:
        f.write("label pass read_floor gemm_floor\n")
        for r in rows:
            f.write(f"\"{r['name']} {r['ranks']}r p{r['pass']}\" {r['time']:.4f} "
                    f"{r['read'] or 0:.4f} {r['gemm'] or 0:.4f}\n")
    png = os.path.join(plot_dir, "roofline-passes.png")
    ok = gnuplot(f"""
set terminal pngcairo size 1100,520 font ',10' noenhanced
set output '{png}'
set title 'prsvd: each pass against its floors (1r / 2r: ranks; p: pass; 1st pass cold, later passes as cached)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel 'seconds'
set logscale y
set yrange [0.01:*]
set xtics rotate by -45 scale 0
set key top left
set grid ytics
plot '{dat}' using 2:xtic(1) title 'prsvd pass' lc rgb '#1f77b4', \
     '' using 3 title 'read floor (HDF5, same cache state)' lc rgb '#ff7f0e', \
     '' using 4 title 'GEMM floor (one thread a rank)' lc rgb '#2ca02c'
""")
    return png if ok else None


def plot_memory(res, tags, title, png, data_dir):
    series = []
    for tag, label in tags:
        dat = job_series(data_dir, tag)
        if dat:
            series.append(f"'{dat}' using 1:2 with lines lw 2 title '{label}'")
    if not series:
        return None
    ok = gnuplot(f"""
set terminal pngcairo size 900,540 font ',10' noenhanced
set output '{png}'
set title '{title}'
set xlabel 'seconds since start'
set ylabel 'resident memory, MiB (job total, 50 ms samples)'
set grid
set key below
plot {', '.join(series)}
""")
    return png if ok else None


def roofline(out):
    """The section of bench/roofline.sh's runs (in OUT), and its plots in bench/plots/."""
    data_dir, plot_dir = out, plots()
    res = Results(os.path.join(out, "results.jsonl"))
    e = settings(out)
    k, p, q = int(e.get("BENCH_K", 20)), int(e.get("BENCH_P", 10)), int(e.get("BENCH_Q", 2))
    k_big = e.get("BENCH_K_BIG", "?")
    build = os.path.join(data_dir, "build")  # roofline.sh's copy of the build measured
    os.environ["LD_LIBRARY_PATH"] = build + ":" + os.environ.get("LD_LIBRARY_PATH", "")
    mach = machine(os.path.join(build, "prsvd"))
    os.makedirs(plot_dir, exist_ok=True)

    prow = pass_rows(res, q)
    ceil_files, ceil_gemm = ceilings_table(res, q)
    big = res.files.get("f64c", {})
    small = res.files.get("small", {})
    peers_big, peers_small = peer_rows(res, "f64c", k, p, q), peer_rows(res, "small", k, p, q)

    # targets
    verdict = []
    worst = max((r for r in prow if r["ratio"]), key=lambda r: r["ratio"], default=None)
    if worst:
        bad = [r for r in prow if r["ratio"] and r["ratio"] > TARGET_PASS]
        verdict.append(f"- **Every pass within {TARGET_PASS} × max(read floor, GEMM floor): "
                       f"{'met' if not bad else 'not met'}** — worst {worst['name']} at "
                       f"{worst['ranks']} rank(s), pass {worst['pass']}: {worst['ratio']:.2f}; "
                       f"{len(bad)} of {len(prow)} passes above {TARGET_PASS}"
                       + (": " + ", ".join(f"{r['name']} {r['ranks']}r p{r['pass']} {r['ratio']:.2f}" for r in bad) if bad else "") + ".")
    verdict += dask_verdicts(peers_big, big)
    s1, s2 = res.scale_runs(1), res.scale_runs(2)
    if s1 and s2:
        t1, t2 = med(r["elapsed_seconds"] for r in s1), med(r["elapsed_seconds"] for r in s2)
        p1 = med(sum(x["time_max"] for x in r["pass_times"]) for r in s1)
        p2 = med(sum(x["time_max"] for x in r["pass_times"]) for r in s2)
        g1, rw = res.sec("gemm.big.r1.e0"), res.sec("read.f64c.hdf5.warm")
        oth = max(r.get("other_cores") or 0 for r in s1 + s2)
        verdict.append(
            f"- **2 ranks against 1 when compute-bound (k = {k_big}, file cached): {t1 / t2:.2f}× "
            f"(target ≥ {TARGET_SCALE}: {'met' if t1 / t2 >= TARGET_SCALE else 'not met'})** — elapsed "
            f"{t1:.2f} s / {t2:.2f} s (medians of {len(s1)} and {len(s2)}); the passes alone "
            f"{p1:.2f} s / {p2:.2f} s = {p1 / p2:.2f}×. Compute-bound: the GEMM floor of a pass at 1 rank "
            f"is {fmt(g1)} s against a warm read of {fmt(rw, 3)} s. Others' CPU during these runs: up to {oth:.2f} cores. "
            "Memory sampled once a second in these runs: the 50 ms sampling of the others takes CPU the ranks need.")

    flagged = [r for r in res.recs if (r.get("other_cores") or 0) > CONTENTION]
    png_pass = plot_passes(prow, plot_dir, data_dir)
    pk = {r["key"]: r for r in peers_big if "failed" not in r}
    png_mem_big = plot_memory(res, [(pk[key]["tag"], f"prsvd {key[-1]} rank(s)") for key in ("prsvd1", "prsvd2") if key in pk]
                              + [("dask.f64c", "dask svd_compressed"), ("sklearn.f64c", "scikit-learn randomized_svd (load, compute, its residual check)")],
                              f"memory over time, {big.get('rows')} x {big.get('cols')} float64, k = {k}, p = {p}, q = {q}",
                              os.path.join(plot_dir, "memory-f64c.png"), data_dir)
    ps = {r["key"]: r for r in peers_small if "failed" not in r}
    png_mem_small = plot_memory(res, [(ps[key]["tag"], f"prsvd {key[-1]} rank(s)") for key in ("prsvd1", "prsvd2") if key in ps]
                                + [("dask.small", "dask svd_compressed"), ("sklearn.small", "scikit-learn randomized_svd"),
                                   ("pdgesvd.small.r1", "PDGESVD 1 rank"), ("pdgesvd.small.r2", "PDGESVD 2 ranks")],
                                f"memory over time, {small.get('rows')} x {small.get('cols')} float64",
                                os.path.join(plot_dir, "memory-small.png"), data_dir)

    sec = ["## Roofline: each pass against max(read, GEMM), and prsvd against dask, scikit-learn and PDGESVD", "",
           f"Measured by `bench/roofline.sh`, {e.get('BENCH_START', '?')} to {e.get('BENCH_END', '?')}. "
           f"Matrices from `prsvd gen` (σⱼ = 1/j): {big.get('rows')} x {big.get('cols')} in four files "
           f"(float64 and float32, contiguous and chunked {e.get('BENCH_CHUNK', '?')} with gzip {e.get('BENCH_GZIP', '?')}), "
           f"and {small.get('rows')} x {small.get('cols')} float64 for the comparison with PDGESVD. "
           f"prsvd `svd -k {k} -p {p} -q {q}` ({q + 1} passes; default `--memory` 512M, in which the solver keeps "
           f"panels of {big.get('panel_rows')} rows, {(big.get('panel_rows') or 0) * (big.get('cols') or 0) * 8 / 2 ** 20:.0f} MiB of float64), one BLAS thread per rank, "
           "`mpirun --bind-to none`.", "",
           "**Targets (ratios from this one run):**", ""] + verdict + [""]
    if flagged:
        sec += [f"**Caution:** other processes took more than {CONTENTION} cores during {len(flagged)} of the "
                f"{sum(1 for r in res.recs if 'other_cores' in r)} timed commands (see the last column of each "
                "table; this 2-core machine is shared with other jobs), which slows the runs they hit, floors "
                "included, and makes every ratio less certain.", ""]
    sec += ["### Each pass against its floor", "",
            "*pass s*: prsvd's own time for the pass (`pass_times` in `--json`: the streaming loop of one pass, "
            "max over ranks), median over the runs, each run started with the file evicted from the page cache and its memory handed back to the host, as each cold read floor was (see *Cold runs on this VM*). "
            "*read floor*: a plain sequential read of the same dataset through HDF5 (h5py, row panels of whole "
            "chunks, a chunk cache of one panel, no conversion; for 2 ranks of f64c, the two row blocks read at "
            "once by two processes, the slower one's time), cold for the first pass and warm for the later "
            "ones, because after the first pass the file is in the page cache (checked with fincore after each "
            "run). *GEMM floor*: the pass's two panel GEMMs alone (`bench/peers/gemm_floor.c`, the same OpenBLAS, "
            "one thread, rows of one rank, at the solver's panel rows, the panels streamed from one block in memory as a "
            "pass's come from the page cache, and one copy per rank at once, sharing the cache and the memory bus as "
            "the ranks do: the slowest copy's time; the last pass multiplies 10 probe columns more); for float32 input the floor is SGEMM (a build that multiplies float32 panels in float64 "
            "has the DGEMM floor shown beside it). *CPU*: the pass's process CPU time (`cpu_max` of "
            "`pass_times`: the GEMM thread and the reader thread together) against the CPU time of the read "
            "floor (per rank) plus the floor of the GEMM the build ran (`precision` of `--json`). On an idle machine a pass takes max(read, GEMM) of wall time and "
            "read + GEMM of CPU time; other processes stretch the wall time but hardly the CPU time, so a "
            "CPU ratio near 1 with a wall ratio far above it means the time went to waiting for a core, "
            "not to work prsvd does beyond the floors.", "",
            pass_table(prow), ""]
    if png_pass:
        sec += [f"![passes against floors]({rel(png_pass)})", ""]
    note = settle_note(res)
    sec += ["### Cold runs on this VM", "",
            "This machine is a VM whose guest reports free memory to its host (virtio_balloon free page "
            "reporting, counted in `/sys/module/page_reporting/parameters/reported_kib`): memory freed by "
            "evicting a file goes back to the host within seconds (0.7 to 1.1 GB after 1 to 3 s, then about "
            "128 MiB every 2 s), and whoever fills those pages next, the kernel reading a file into its page "
            "cache or a process touching them, pays the host for each page on its first touch, in CPU time. "
            "Measured by hand (2026-11-29, 1.6 GB f64c): a plain h5py read took 0.93 s right after the eviction "
            "and 2.5 to 3.5 s ten seconds later, prsvd's first pass 0.9 to 1.1 s and 2.8 to 3.4 s, with posix "
            "reads mapped or copied alike. A run started a second or two after its eviction gets some of "
            "each, which is why earlier runs of this benchmark, whose prsvd runs started later after their "
            "eviction than the read floors did, put the cold first pass at 1.6 to 1.9 times its floor. Every "
            "cold run here, floors, prsvd and the peers alike, therefore starts once the guest has handed the "
            f"evicted memory back (`SETTLE`, at most {e.get('BENCH_SETTLE', '15')} s, see `bench/peers/common.py` evict): "
            "the state of a machine whose memory has been free a while." + (" " + note if note else ""), ""]
    btab = binding_table(res)
    if btab:
        sec += ["### The reader thread needs a core", "",
                "prsvd's reader thread overlaps reading with the GEMMs only if it can run beside them. "
                "Open MPI binds each of up to 2 ranks to one core by default, so at 1 rank the reader "
                "shares the GEMM's core: its CPU work (copying from the page cache, inflating gzip) then "
                "adds to the pass instead of hiding under it. Every other prsvd run here uses "
                "`mpirun --bind-to none`.", "", btab, ""]
    sec += ["### The ceilings", "", ceil_files, "", ceil_gemm, "",
            "### Bytes read and flops against the model", "",
            "Each rank's bytes read through read() (rchar of /proc/PID/io, the stored bytes: compressed "
            "for the gzip files; for panels mapped from the page cache, `read_path` mmap, which no read() "
            "sees, prsvd's own count of the mapped bytes, `file_bytes_read` of `--json` over the ranks) "
            "and prsvd's own count of the sketch flops, against the model of "
            "[docs/performance.md](../docs/performance.md) (`bench/model.py`: m n s a pass, read once "
            "over the ranks; 4mnℓ a pass plus 2mn·10 for the probes of the last).", "",
            model_table(res, k, p, q), "",
            f"### prsvd against dask, scikit-learn and PDGESVD, {big.get('rows')} x {big.get('cols')} float64 (f64c)", "",
            "Each run starts with the file evicted from the page cache. *time s*: prsvd's `elapsed_seconds` "
            "(reads, sketches, factorizations, output write), dask's compute (graph, reads through h5py, "
            "arithmetic), scikit-learn's h5py load plus the call, PDGESVD's parallel HDF5 load plus the call; "
            "*process wall s* adds start-up (Python imports, MPI). Peak RSS per process is the kernel's "
            "high-water mark (VmHWM) sampled every 50 ms by `bench/peers/memwatch.py`; for Python peers the "
            "process's own ru_maxrss right after the compute; the job peak RSS is the largest sampled sum over the "
            "job's processes. That sum is the headline and is conservative: RSS counts every page a process maps, "
            "so summing it over ranks counts their shared pages (library code, Open MPI's shared-memory segments) "
            "once per rank. *job peak PSS* corrects for that: the largest sampled sum of each process's "
            "proportional set size (Pss of /proc/PID/smaps_rollup, sampled with the RSS; the kernel keeps no "
            "high-water mark of it, so a peak between two samples can be missed), which divides each shared page "
            "among the processes mapping it; it also credits a single process (dask, scikit-learn) with the "
            "library pages it shares with unrelated processes on the machine. Accuracy is `prsvd verify` on every method's U, S, V (the same code for all), "
            "against the planted spectrum; for PDGESVD, its singular values against the planted ones.", "",
            peer_table(peers_big), ""]
    if png_mem_big:
        sec += [f"![memory over time]({rel(png_mem_big)})", ""]
    sec += [f"### The same on {small.get('rows')} x {small.get('cols')} float64, where PDGESVD fits", "",
            peer_table(peers_small), ""]
    if png_mem_small:
        sec += [f"![memory over time, small]({rel(png_mem_small)})", ""]
    sec += ["Machine and software:", "",
            f"- `nproc`: {mach['nproc']}; `free -g` total: {mach['free_g_total']} GiB; CPU: {mach['cpu']}; kernel {mach['kernel']}",
            f"- load average (1, 5, 15 min) at the start {e.get('BENCH_LOADAVG_START', '?')}, at the end "
            f"{e.get('BENCH_LOADAVG_END', '?')} (`uptime` at the end: {e.get('BENCH_UPTIME_END', '?').strip()}); "
            f"other processes' CPU just before the run (3 s sample): {e.get('BENCH_OTHERS_BEFORE', '?')} cores; "
            f"{e.get('BENCH_QUIET', '')}",
            "- cache: files evicted with posix_fadvise(POSIX_FADV_DONTNEED) on the file alone (the guest's page "
            "cache; what the hypervisor caches below is not visible from here)",
            "- prsvd: " + "; ".join(ln.strip() for ln in mach["prsvd_version"].splitlines()),
            f"- prsvd build measured: a copy of `prsvd` (built {e.get('BENCH_BIN_TIME', '?')}; "
            f"sha256 prefixes {e.get('BENCH_BUILD_ID', '?')}); HEAD was {e.get('BENCH_GIT_HEAD', '?')}"
            + (f", with uncommitted changes in {e['BENCH_GIT_DIRTY']}" if e.get("BENCH_GIT_DIRTY") else ""),
            f"- OpenBLAS: {mach['openblas_pkg'].replace(chr(10), ', ')}; numpy {mach['modules']['numpy']}, "
            f"scikit-learn {mach['modules']['sklearn']}, h5py {mach['modules']['h5py']}, dask "
            f"{next((r.get('dask_version') for r in res.recs if r.get('dask_version')), '?')}, Python {mach['python']}",
            f"- {mach['mpirun']}"]
    print("\n".join(sec))
    common.write_section("roofline", "\n".join(sec))


# ---- oocore: bench/oocore.sh ------------------------------------------------------------------

GIB = 1024.0 ** 3


def oocore(out):
    """The section of bench/oocore.sh's runs (in OUT), and the plot of the big run's memory over
    time (bench/plots/oocore-memory.png)."""
    data_dir, plot_dir = out, plots()
    os.makedirs(plot_dir, exist_ok=True)
    recs = {r["tag"]: r for r in records(out)}
    e = settings(out)
    limit = float(os.popen(f"numfmt --from=iec {e.get('BENCH_LIMIT', '3G')}").read() or 0)
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    rows, acc = [], {}
    for name in ("small", "big"):
        g, s, v = recs.get(f"gen.{name}"), recs.get(f"svd.{name}"), recs.get(f"verify.{name}")
        if not (g and s):
            continue
        fb = g["file_bytes"]
        procs = (s.get("memwatch") or {}).get("processes") or []
        peak = " / ".join(f"{p['name']} {p['peak_rss_mib']:.0f}" for p in procs)
        _, job = peaks(s)
        if s.get("status") != "ok":
            rows.append([f"{g['rows']} x {g['cols']}", f"{fb / GIB:.2f}", f"failed (exit {s.get('rc')})"] + [""] * 7)
            continue
        pts = [p["time_max"] for p in s["pass_times"]]
        disk = sum(p.get("read_bytes") or 0 for p in procs)
        rates = " / ".join(f"{fb / t / 1e9:.2f}" for t in pts)
        acc[name] = (v or {}).get("residual_over_optimal"), (v or {}).get("singular_value_error")
        rows.append([f"{g['rows']} x {g['cols']} float64", f"{fb / GIB:.2f} GiB ({fb / ram:.2f} x RAM)",
                     f"{s['elapsed_seconds']:.1f}", " / ".join(f"{t:.1f}" for t in pts), rates,
                     f"{disk / 1e9:.1f} GB ({disk / fb:.2f} x the file)",
                     peak, f"{job:.0f}" if job else "—",
                     fmt(acc[name][0], 5), "—" if acc[name][1] is None else f"{acc[name][1]:.2e}",
                     f"{v['process_wall_seconds']:.1f}" if v else "—"])
    head = ["matrix", "file", "prsvd svd elapsed s", "pass s", "read GB/s per pass (file bytes / pass)",
            "read from the disk (read_bytes of /proc/PID/io)",
            "peak RSS MiB per process (VmHWM)", "job peak RSS MiB (sampled sum)",
            "‖A−USVᵀ‖F / ‖A−A_k‖F", "max |σ̂ⱼ−σⱼ| / σ₁", "prsvd verify s (one more pass, same limit)"]
    verdict = []
    big = recs.get("svd.big", {})
    if "big" in acc and "small" in acc and acc["big"][0] and acc["small"][0]:
        _, job = peaks(big)
        d = abs(acc["big"][0] - acc["small"][0])
        verdict.append(f"- **{recs['gen.big']['file_bytes'] / GIB:.1f} GiB float64 decomposed with `--memory "
                       f"{e.get('BENCH_MEMORY')}` under a {e.get('BENCH_LIMIT')} limit: "
                       f"{'met' if big.get('rc') == 0 and job and job * 2 ** 20 <= limit else 'not met'}** — exit "
                       f"{big.get('rc')}, job peak {job:.0f} MiB of {limit / 2 ** 20:.0f} MiB; accuracy "
                       f"‖A−USVᵀ‖F / ‖A−A_k‖F = {acc['big'][0]:.5f} against {acc['small'][0]:.5f} on the small "
                       f"matrix of the same spectrum (difference {d:.1e}); singular values {acc['big'][1]:.1e} "
                       f"against {acc['small'][1]:.1e}.")
    dat, png = job_series(data_dir, "svd.big"), None
    if dat:
        png = os.path.join(plot_dir, "oocore-memory.png")
        if not gnuplot(f"""
set terminal pngcairo size 900,420 font ',10' noenhanced
set output '{png}'
set title 'prsvd svd of {recs["gen.big"]["rows"]} x {recs["gen.big"]["cols"]} float64 ({recs["gen.big"]["file_bytes"] / GIB:.1f} GiB), --memory {e.get("BENCH_MEMORY")}'
set xlabel 'seconds since start'
set ylabel 'resident memory, MiB (job total, 0.5 s samples)'
set grid
set yrange [0:{limit / 2 ** 20 * 1.1:.0f}]
set key bottom right
plot '{dat}' using 1:2 with lines lw 2 title 'prsvd + orted', {limit / 2 ** 20:.0f} with lines dt 2 lw 2 title 'the limit'
"""):
            png = None
    sec = ["## Out of core: a matrix larger than RAM under a 3 GiB limit", "",
           f"Measured by `bench/oocore.sh`, {e.get('BENCH_START', '?')} to {e.get('BENCH_END', '?')}. "
           f"Both matrices from `prsvd gen --spectrum poly --decay 1` (σⱼ = 1/j, j ≤ {recs.get('gen.big', {}).get('cols')}: "
           f"the same spectrum), contiguous float64; `prsvd svd -k {e.get('BENCH_K')} -p {e.get('BENCH_P')} "
           f"-q {e.get('BENCH_Q')} --memory {e.get('BENCH_MEMORY')}` on 1 rank (one BLAS thread, the reader "
           f"thread on), each file evicted from the page cache first. Memory limit: {e.get('BENCH_LIMITER')}. "
           f"Machine: {os.cpu_count()} cores, {ram / GIB:.1f} GiB RAM, so the page cache cannot hold the big file "
           "and every pass reads it from the disk.", ""] + verdict + ["",
           md(head, rows), ""]
    if png:
        sec += [f"![memory of the out-of-core run]({rel(png)})", ""]
    sec += [f"- `uptime` at the start: {e.get('BENCH_UPTIME_START', '?').strip()}; at the end: "
            f"{e.get('BENCH_UPTIME_END', '?').strip()} (a shared machine: other jobs ran meanwhile)",
            f"- prsvd build: sha256 prefixes {e.get('BENCH_BUILD_ID', '?')}; HEAD {e.get('BENCH_GIT_HEAD', '?')}",
            "- generation times: " + ", ".join(f"{r['tag'][4:]} {r['seconds']:.0f} s ({r['file_bytes'] / r['seconds'] / 1e6:.0f} MB/s written)"
                                                for r in recs.values() if r.get("kind") == "gen")]
    print("\n".join(sec))
    common.write_section("oocore", "\n".join(sec))


# ---- kfac: bench/kfac/run.sh -----------------------------------------------------------------

OPTIMIZERS = ["kfac-eig", "kfac-revd", "kfac-rsvd", "kfac-nystrom", "sgd", "adam"]
RANDOMIZED = ["kfac-revd", "kfac-rsvd", "kfac-nystrom"]
FULL_EPOCH = 60000 // 256  # steps in one epoch of the whole training set
PHASES = ["forward_backward", "statistics", "allreduce", "factor_update", "precondition", "optimizer"]


def kfac(out):
    """The section of bench/kfac/run.sh's runs (in OUT), one a network shape, and its plots
    (kfac/ beside the RESULTS.md written: bench/kfac/, or beside bench.py --results FILE, where
    the section links them): the training runs, the cost of a step by phase, the inversion time
    of one factor against its width, the eigenvalue decay of the averaged factors."""
    plot_dir = os.path.join(os.path.dirname(common.results_md()), "kfac")
    os.makedirs(plot_dir, exist_ok=True)

    env = dict(line.rstrip("\n").split("=", 1) for line in open(os.path.join(out, "env.txt")) if "=" in line)
    target = float(env["target"])
    hidden = env["widths"].split(",")[0]  # the width of the training runs' hidden layers
    # Each network shape has its own section of RESULTS.md and its own plots, so a run at another
    # width adds to the record instead of replacing it.
    SHAPE = "784-" + env["widths"].replace(",", "-") + "-10"
    ACC_PNG, DECAY_PNG = f"accuracy-vs-time.{SHAPE}.png", f"eigen-decay.{SHAPE}.png"


    def load(path):
        with open(path) as f:
            return json.load(f)


    # ---- training runs -----------------------------------------------------------------------
    runs = {}
    for opt in OPTIMIZERS:
        p = os.path.join(out, f"train.{opt}.json")
        if os.path.exists(p):
            runs[opt] = load(p)
    vectors = load(os.path.join(out, "vectors.kfac-eig.json")) if os.path.exists(os.path.join(out, "vectors.kfac-eig.json")) else None


    def to_target(points):
        """(time, step) at which the accuracy first reaches the target: linear interpolation between
        the two evaluations around the crossing; points are (time, step, accuracy) from step 0."""
        prev = None
        for t, st, a in points:
            if a >= target:
                if prev is None or a <= prev[2]:
                    return t, st
                f = (target - prev[2]) / (a - prev[2])
                return prev[0] + f * (t - prev[0]), prev[1] + f * (st - prev[1])
            prev = (t, st, a)
        return None, None




    def summarize(js):
        ep = js["epochs"]
        steps = sum(e["steps"] for e in ep)
        secs = float(np.sum([e["seconds"] for e in ep]))
        cpu = float(np.sum([e.get("cpu_seconds", math.nan) for e in ep]))
        inv = sum(e["inverse_seconds"] for e in ep)
        kfac = js["optimizer"].startswith("kfac")
        refreshes = math.ceil(steps / js["inverse_period"]) if kfac else 0
        ev = js.get("evals", [])
        t_target, s_target = to_target([(e["seconds"], e["step"], e["test_accuracy"]) for e in ev])
        cpu_target, _ = to_target([(e["cpu_seconds"], e["step"], e["test_accuracy"]) for e in ev])
        ph = js.get("phase_seconds", {})
        return {"steps": steps, "seconds": secs, "per_step": secs / steps, "inverse": inv, "cpu_per_step": cpu / steps,
                "refreshes": refreshes, "per_refresh": inv / refreshes if refreshes else None,
                "final": ep[-1]["test_accuracy"], "best": max(e["test_accuracy"] for e in ev) if ev else ep[-1]["test_accuracy"],
                "t_target": t_target, "s_target": s_target, "cpu_target": cpu_target,
                "ev_t": [e["seconds"] for e in ev], "ev_acc": [e["test_accuracy"] for e in ev],
                "ep_acc": [e["test_accuracy"] for e in ep], "ep_t": list(np.cumsum([e["seconds"] for e in ep])),
                "epoch_steps": ep[0]["steps"], "phases": ph, "form": ph.get("form", 0.0),
                "step_loss": js.get("step_loss", [])}


    S = {opt: summarize(js) for opt, js in runs.items()}

    # kfac-eig applied through its eigenvectors: the same steps (to rounding) as kfac-eig, so its run is
    # kfac-eig's with the dense application (precondition) and the forming of the dense powers replaced
    # by the eigenvector application measured over VECTORS_STEPS steps
    V = None
    if vectors and "kfac-eig" in S:
        e = S["kfac-eig"]
        vph, vsteps = vectors["phase_seconds"], sum(x["steps"] for x in vectors["epochs"])
        p_v, p_d = vph["precondition"] / vsteps, e["phases"]["precondition"] / e["steps"]
        form_per_refresh = e["form"] / e["refreshes"] if e["refreshes"] else 0.0

        def vec_time(t, step):
            return t + step * (p_v - p_d) - form_per_refresh * math.ceil(step / runs["kfac-eig"]["inverse_period"])

        n = min(vsteps, len(e["step_loss"]))
        loss_diff = max(abs(a - b) / abs(b) for a, b in zip(vectors["step_loss"][:n], e["step_loss"][:n])) if n else math.nan
        V = {"steps": vsteps, "precondition": p_v, "dense_precondition": p_d, "form_per_refresh": form_per_refresh,
             "per_step": vec_time(e["seconds"], e["steps"]) / e["steps"],
             "t_target": vec_time(e["t_target"], e["s_target"]) if e["t_target"] else None, "loss_diff": loss_diff,
             "phases": vph, "refresh": vph["refresh"]}

    # accuracy against wall time: one data block per optimizer (gnuplot index)
    acc_dat = os.path.join(out, "accuracy.dat")
    with open(acc_dat, "w") as f:
        for opt in OPTIMIZERS:
            if opt in S:
                f.write(f"# {opt}\n")
                for t, a in zip(S[opt]["ev_t"], S[opt]["ev_acc"]):
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
    styles = {"kfac-eig": 'lc rgb "#000000" dt 1', "kfac-revd": 'lc rgb "#c0392b"', "kfac-rsvd": 'lc rgb "#2e86c1"',
              "kfac-nystrom": 'lc rgb "#27ae60"', "sgd": 'lc rgb "#8e44ad" dt 2', "adam": 'lc rgb "#d68910" dt 2'}
    if S:
        plots = ", ".join(f'"{acc_dat}" index {i} using 1:2 with linespoints pt 7 ps 0.7 lw 2 {styles[o]} title "{o}"'
                          for i, o in enumerate(o for o in OPTIMIZERS if o in S))
        first = next(iter(runs.values()))
        gnuplot(f"""set terminal pngcairo size 960,560 font "DejaVu Sans,11"
    set output "{plot_dir}/{ACC_PNG}"
    set title "Fashion-MNIST, 784-{first['widths'].replace(',', '-')}-10, batch 256, {env.get('train_ranks', '1')} rank(s): test accuracy against training time"
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
    set output "{plot_dir}/{DECAY_PNG}"
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


    L = [f"## K-FAC on Fashion-MNIST, {SHAPE}: randomized vs exact factor inversion", ""]
    L.append(f"Measured by `bench/kfac/run.sh` ({env.get('run_seconds', '?')} s in all), {env.get('start')} to "
             f"{env.get('end')}, on {env.get('cpu')} "
             f"({env.get('cores')} cores, shared with other jobs), at `{env.get('git')}`. Every training run is "
             f"{env.get('train_ranks', '1')} MPI rank(s) x 1 BLAS thread (data parallel: the decompositions of a "
             "refresh spread over the ranks, every rank preconditioning every layer), every `prsvd kfac` run 1 rank "
             "unless stated. Load (`uptime`) at the start: "
             f"`{env.get('uptime_start', '').split('load average:')[-1].strip()}`, at the end: "
             f"`{env.get('uptime_end', '').split('load average:')[-1].strip()}`; per run, in bench/kfac/out/load.txt:")
    load_txt = os.path.join(out, "load.txt")
    if os.path.exists(load_txt):
        L.append("")
        L.append(", ".join(f"{ln.split()[0]} {ln.split()[1]}" for ln in open(load_txt)) + " (1-minute load average at "
                 "each training run's start, which includes the decaying load of this benchmark's own previous run: "
                 f"{env.get('train_ranks', '1')} busy rank(s); beyond that, other work shared the 2 cores and inflated "
                 "the times).")
    L.append("")
    if S:
        first = next(iter(runs.values()))
        ep_steps = S[next(iter(S))]["epoch_steps"]
        L.append(f"**Training.** 784-{first['widths'].replace(',', '-')}-10 ReLU network, softmax cross-entropy, batch 256, "
                 f"{len(first['epochs'])} epochs of the first {first['train_size']} training images ({ep_steps} steps each), "
                 f"seed 1. Test accuracy every {env.get('eval_every')} steps (and at step 0) on the first "
                 f"{env.get('eval_size')} test images with the training clock stopped (*time to target* is interpolated "
                 f"between these points), and after each epoch on the first {first['test_size']} (*final*). K-FAC: the "
                 "paper's settings (factors every 10 steps, inverses every 50, decay 0.95, damping 0.1 λ_max per factor, "
                 "rank 220 + 10 oversampling, 4 power iterations for revd and rsvd), momentum 0.9, lr 0.02; kfac-eig "
                 "applies each (F + λI)⁻¹ as one dense matrix formed once per refresh (its forming counted in the "
                 "inversion time); sgd: momentum 0.9, lr 0.05; adam: lr 0.001. Target accuracy "
                 f"{target}. *s / full epoch* is the measured time per step (refreshes included, every 50 steps as in "
                 f"a full epoch) times the {FULL_EPOCH} steps of an epoch of all 60000 images. *CPU s* is the process's "
                 "CPU time over the same steps, less inflated than wall time when other jobs share the cores.")
        L.append("")
        L.append("| optimizer | steps | train s | s / step | CPU s / step | s / full epoch | refreshes | "
                 "inversion s / refresh | inversion share | final test acc | best (eval) | time to target s | "
                 "CPU s to target | step at target |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for opt in OPTIMIZERS:
            if opt not in S:
                continue
            s = S[opt]
            L.append(f"| {opt} | {s['steps']} | {s['seconds']:.1f} | {s['per_step']:.3f} | {s['cpu_per_step']:.3f} | "
                     f"{s['per_step'] * FULL_EPOCH:.0f} | {s['refreshes'] or '—'} | {f2(s['per_refresh'])} | "
                     f"{s['inverse'] / s['seconds']:.0%} | {s['final']:.4f} | {s['best']:.4f} | "
                     f"{f2(s['t_target'], '{:.1f}')} | {f2(s['cpu_target'], '{:.1f}')} | "
                     f"{f2(s['s_target'], '{:.0f}') if s['s_target'] else 'not reached'} |")
        L.append("")
        L.append("**Cost of a step at this width** (seconds per step from the trainer's timers, averaged over the run; "
                 "*refresh* is the decompositions, broadcasts and, for kfac-eig, forming the dense powers, amortized "
                 "over the steps; the eigenvector run's refresh happened once in its "
                 f"{V['steps'] if V else '—'} steps, so it is shown per refresh):")
        L.append("")
        L.append("| optimizer | forward + backward | factor statistics | gradient allreduce | factor update | precondition "
                 "| optimizer step | refresh | total |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        rows = [(o, S[o]["phases"], S[o]["steps"], None) for o in OPTIMIZERS if o in S and S[o]["phases"]]
        if V:
            rows.insert(1, ("kfac-eig, through eigenvectors", V["phases"], V["steps"], V["refresh"]))
        for name, ph, n, once in rows:
            cells = [ph[k] / n for k in PHASES]
            refresh = f"{once:.2f} s once" if once is not None else f"{ph['refresh'] / n:.3f}"
            total = sum(cells) + (0.0 if once is not None else ph["refresh"] / n)
            L.append(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + f" | {refresh} | "
                     + (f"{total:.3f} (without the refresh)" if once is not None else f"{total:.3f}") + " |")
        L.append("")
        L.append("Test accuracy after each epoch (training seconds so far):")
        L.append("")
        names = [o for o in OPTIMIZERS if o in S]
        L.append("| epoch | " + " | ".join(names) + " |")
        L.append("|---|" + "---|" * len(names))
        n_ep = max(len(S[o]["ep_acc"]) for o in names)
        for e in range(n_ep):
            L.append(f"| {e + 1} | " + " | ".join(f"{S[o]['ep_acc'][e]:.4f} ({S[o]['ep_t'][e]:.0f} s)"
                                               if e < len(S[o]["ep_acc"]) else "—" for o in names) + " |")
        L.append("")
        L.append(f"![test accuracy against training time](kfac/{ACC_PNG})")
        L.append("")
        if "kfac-eig" in S:
            e = S["kfac-eig"]
            L.append("Ratios (above 1: the randomized method is faster):")
            L.append("")
            for opt in RANDOMIZED:
                if opt not in S:
                    continue
                s = S[opt]
                tt = f"{e['t_target'] / s['t_target']:.2f}" if e["t_target"] and s["t_target"] else "— (not reached)"
                ct = f"{e['cpu_target'] / s['cpu_target']:.2f}" if e["cpu_target"] and s["cpu_target"] else "—"
                vt = ""
                if V:
                    vtt = f"{V['t_target'] / s['t_target']:.2f}" if V["t_target"] and s["t_target"] else "—"
                    vt = (f"; against kfac-eig through its eigenvectors (projected): time per epoch "
                          f"{V['per_step'] / s['per_step']:.2f}, time to target {vtt}")
                L.append(f"- kfac-eig / {opt}: time per epoch {e['per_step'] / s['per_step']:.2f} (CPU time "
                         f"{e['cpu_per_step'] / s['cpu_per_step']:.2f}), inversion per refresh "
                         f"{e['per_refresh'] / s['per_refresh']:.2f}, time to {target} {tt} (CPU time {ct}); final "
                         f"accuracy {100 * (s['final'] - e['final']):+.2f} points{vt}")
            L.append("")
        if V:
            L.append(f"*kfac-eig through its eigenvectors* (`--eig-apply vectors`, Puiu 2022's exact baseline): "
                     f"{V['steps']} steps measured, their losses within {V['loss_diff']:.1e} (relative) of kfac-eig's, so "
                     f"its trajectory is kfac-eig's; its precondition costs {V['precondition']:.3f} s a step against "
                     f"{V['dense_precondition']:.3f} s through the dense powers, which cost "
                     f"{V['form_per_refresh']:.2f} s to form per refresh. Its run is projected from kfac-eig's: "
                     f"{V['per_step']:.3f} s a step, time to {target} "
                     f"{f2(V['t_target'], '{:.1f}')} s.")
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
        L.append(f"![eigenvalue decay](kfac/{DECAY_PNG})")
        L.append("")

    # ---- the targets --------------------------------------------------------------------------
    L.append(f"**The issue's targets at width {hidden}**, as measured ratios against the exact baseline of this run:")
    L.append("")
    if S and "kfac-eig" in S:
        e = S["kfac-eig"]
        rnd = [o for o in RANDOMIZED if o in S]

        def span(xs, unit="x"):
            return f"{min(xs):.2f}–{max(xs):.2f}{unit}" if xs else "—"

        def met(xs, goal):
            return "met by all" if xs and min(xs) >= goal else ("met by none" if not xs or max(xs) < goal else
                                                                f"met by {sum(x >= goal for x in xs)} of {len(xs)}")

        per = [e["per_step"] / S[o]["per_step"] for o in rnd]
        cpu = [e["cpu_per_step"] / S[o]["cpu_per_step"] for o in rnd]
        tts = [e["t_target"] / S[o]["t_target"] for o in rnd if e["t_target"] and S[o]["t_target"]]
        ctts = [e["cpu_target"] / S[o]["cpu_target"] for o in rnd if e["cpu_target"] and S[o]["cpu_target"]]
        accd = [100 * (S[o]["final"] - e["final"]) for o in rnd]
        reached = [o for o in rnd if S[o]["t_target"]]
        L.append(f"- ≥ 2.5x less time per epoch than kfac-eig: {span(per)} in wall time ({met(per, 2.5)}), "
                 f"{span(cpu)} in CPU time ({met(cpu, 2.5)})"
                 + (f"; {span([V['per_step'] / S[o]['per_step'] for o in rnd])} against kfac-eig applied through its "
                    "eigenvectors (projected)" if V else "") + ".")
        L.append(f"- ≥ 3x less time to the target accuracy {target}: "
                 + (f"{span(tts)} in wall time ({met(tts, 3.0)}), {span(ctts)} in CPU time ({met(ctts, 3.0)})"
                    if tts else "not measurable: kfac-eig or the randomized methods did not reach it")
                 + (f"; {span([V['t_target'] / S[o]['t_target'] for o in reached])} against kfac-eig through its "
                    "eigenvectors (projected)" if V and V["t_target"] and reached else "")
                 + (f" (reached by {', '.join(reached)} of the randomized methods)" if len(reached) < len(rnd) else "")
                 + ".")
        L.append(f"- final accuracy within 0.5 points of kfac-eig: {', '.join(f'{a:+.2f}' for a in accd)} points "
                 f"({'met' if accd and max(abs(a) for a in accd) <= 0.5 else 'not met'}).")
    if table and growth("eig") is not None:
        L.append(f"- inversion time growing ~d² rather than d³ from {widths[0]} to {widths[-1]}: exponents "
                 + ", ".join(f"{m} {f2(growth(m))}" for m in methods) + ".")
    L.append("")
    L.append("Reading these numbers:")
    L.append("")
    if S and "kfac-eig" in S:
        e = S["kfac-eig"]
        first = min((S[o]["t_target"], o) for o in S if S[o]["t_target"]) if any(S[o]["t_target"] for o in S) else None
        L.append("- kfac-eig is the honest exact baseline: each refresh forms (F + λI)⁻¹ = U(Λ + λ)⁻¹Uᵀ once (one "
                 "DSYRK) and every step applies it with one GEMM per side; Puiu 2022's exact K-FAC applies it through "
                 "all d eigenvectors (two GEMMs per side), which the *through eigenvectors* row prices. The randomized "
                 "methods apply U[(Λ + λ)⁻¹ − λ⁻¹]Uᵀ + λ⁻¹I with r = 220 ≪ d. What they cannot shrink is the part of the "
                 "step every optimizer pays (forward, backward, statistics): the ratios per epoch are bounded by it.")
        if first:
            L.append(f"- The first to reach {target} was {first[1]} ({first[0]:.1f} s).")
    L.append("- Power iterations: prsvd's q counts products with F² (one pass computes FΩ and Fᵀ(FΩ)), as HMT 2011's "
             "q in Alg. 4.3/4.4 (Y = (AA*)^q AΩ), which Alg. 5.3 uses for its range, and as torch.svd_lowrank's niter "
             "that Puiu's RS-KFAC code calls; so `-q 4` here is the paper's 4 power iterations (bench/kfac/README.md).")
    L.append("- The machine is shared: the 1-minute load average at each run's start is listed above; a run that "
             "started under a higher load than another was slowed more, so wall-time ratios between runs carry that "
             "noise. The CPU-time ratios of these 1-thread-per-rank runs are steadier (contention still costs some CPU "
             "time through caches and memory bandwidth). The width table is wall time.")
    common.write_section(f"kfac {SHAPE}", "\n".join(L))
    print("\n".join(L))
