#!/usr/bin/python3
"""Tables, target ratios and plots of bench/roofline.sh, from its results.jsonl.

usage: roofline_report.py RESULTS.jsonl RESULTS.md PLOT_DIR

Prints the tables and writes them, with the machine and the load, as the roofline section of
RESULTS.md; draws PLOT_DIR/roofline-passes.png and PLOT_DIR/memory-*.png with gnuplot.
"""
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model  # noqa: E402  (the performance model of docs/performance.md)
import report  # noqa: E402  (machine(), write_section())

BEGIN = "<!-- bench/roofline.sh: begin -->"
END = "<!-- bench/roofline.sh: end -->"
TARGET_PASS = 1.25    # every pass within 1.25 x max(read floor, GEMM floor)
TARGET_DASK_TIME = 3.0  # dask time / prsvd time, at least
TARGET_DASK_MEM = 1 / 3  # prsvd peak memory / dask peak memory, at most
TARGET_SCALE = 1.7    # 1-rank time / 2-rank time when compute-bound, at least
CONTENTION = 0.25     # others' CPU (cores) above which a number is flagged
LAYOUT = {"f64c": ("float64", "contiguous"), "f64z": ("float64", "chunked + gzip"),
          "f32c": ("float32", "contiguous"), "f32z": ("float32", "chunked + gzip"),
          "small": ("float64", "contiguous")}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, nd=2):
    return "—" if x is None else f"{x:.{nd}f}"


def md(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return "\n".join(out + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


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


# ---- plots ---------------------------------------------------------------------------------

def gnuplot(script):
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)
        return True
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"roofline_report: gnuplot failed: {getattr(e, 'stderr', e)}", file=sys.stderr)
        return False


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


# ---- the section ---------------------------------------------------------------------------

def main():
    res_path, md_path, plot_dir = sys.argv[1:4]
    data_dir = os.path.dirname(os.path.abspath(res_path))
    res = Results(res_path)
    env_path = os.path.join(data_dir, "bench_env.json")
    e = json.load(open(env_path)) if os.path.exists(env_path) else {}
    k, p, q = int(e.get("BENCH_K", 20)), int(e.get("BENCH_P", 10)), int(e.get("BENCH_Q", 2))
    k_big = e.get("BENCH_K_BIG", "?")
    build = os.path.join(data_dir, "build")  # roofline.sh's copy of the build measured
    os.environ["LD_LIBRARY_PATH"] = build + ":" + os.environ.get("LD_LIBRARY_PATH", "")
    mach = report.machine(os.path.join(build, "prsvd"))
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
    rel = lambda path: os.path.relpath(path, os.path.dirname(os.path.abspath(md_path)))  # noqa: E731

    sec = [BEGIN, "## Roofline: each pass against max(read, GEMM), and prsvd against dask, scikit-learn and PDGESVD", "",
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
            f"- {mach['mpirun']}",
            END]
    section = "\n".join(sec) + "\n"
    print(section)
    report.write_section(md_path, BEGIN, END, section)


if __name__ == "__main__":
    main()
