#!/usr/bin/python3
"""Assemble bench/out/results.jsonl (one JSON line per run, written by run.sh and the
helpers in peers/) into a table on stdout and into this benchmark's section of
bench/RESULTS.md (the text between the two markers is replaced; the rest is kept).
Repeated runs of one configuration are summarised by their median time (min-max shown).

usage: report.py RESULTS.jsonl RESULTS.md PRSVD_PROGRAM
The BENCH_* settings of the run (threads, build, load) come from the environment run.sh
sets, else from bench_env.json beside RESULTS.jsonl (run.sh writes it), so the report can
be re-rendered from the results of a past run.
"""
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

BEGIN = "<!-- bench/run.sh: prsvd vs scikit-learn vs LAPACK: begin -->"
END = "<!-- bench/run.sh: prsvd vs scikit-learn vs LAPACK: end -->"
TARGET_RATIO_SKLEARN = 1.5   # 1-rank prsvd time / sklearn in-core compute time, at most
TARGET_RATIO_LAPACK = 10.0   # full SVD time / prsvd time at 100000 x 4000, at least
CONTENTION = 0.25            # others' CPU (cores) above which a verdict is flagged unreliable
TIMES = ("wall_seconds", "elapsed_seconds", "load_seconds", "compute_seconds",
         "load_plus_compute_seconds")


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


# ---- aggregation of repetitions ------------------------------------------------------------

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


def fmt(x, nd=2):
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    return f"{x:.{nd}f}"


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
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "|".join("---" for _ in HEAD) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


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


def write_section(md_path, begin, end, section):
    """Replace the text between the markers begin and end of md_path with section (which
    holds the markers), or append it; the rest of the file is kept."""
    old = ""
    if os.path.exists(md_path):
        with open(md_path) as f:
            old = f.read()
    if begin in old and end in old:
        pre, rest = old.split(begin, 1)
        post = rest.split(end, 1)[1].lstrip("\n")
        new = pre + section + (("\n" + post) if post else "")
    elif old:
        new = old.rstrip("\n") + "\n\n" + section
    else:
        new = "# Benchmark results\n\n" + section
    with open(md_path, "w") as f:
        f.write(new)
    print(f"\nwrote {md_path}")


def main():
    res_path, md_path, prsvd = sys.argv[1:4]
    with open(res_path) as f:
        results = [json.loads(ln) for ln in f if ln.strip()]
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
    e = {}
    env_file = os.path.join(os.path.dirname(os.path.abspath(res_path)), "bench_env.json")
    if os.path.exists(env_file):
        with open(env_file) as f:
            e.update(json.load(f))
    e.update({k: v for k, v in os.environ.items() if k.startswith("BENCH_")})

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
        BEGIN,
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
        f"- {env['mpirun']}",
        END]
    section = "\n".join(sec) + "\n"

    write_section(md_path, BEGIN, END, section)


if __name__ == "__main__":
    main()
