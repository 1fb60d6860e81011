#!/usr/bin/python3
"""The out-of-core section of RESULTS.md from bench/oocore.sh's results.jsonl, and the plot
of the big run's memory over time (bench/plots/oocore-memory.png).

usage: oocore_report.py RESULTS.jsonl RESULTS.md
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402
import roofline_report as rr  # noqa: E402

BEGIN = "<!-- bench/oocore.sh: begin -->"
END = "<!-- bench/oocore.sh: end -->"
GIB = 1024.0 ** 3


def main():
    res_path, md_path = sys.argv[1:3]
    data_dir = os.path.dirname(os.path.abspath(res_path))
    plot_dir = os.path.join(os.path.dirname(os.path.abspath(md_path)), "plots")
    recs = {r["tag"]: r for r in (json.loads(x) for x in open(res_path) if x.strip())}
    e = json.load(open(os.path.join(data_dir, "bench_env.json")))
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
        _, job = rr.peaks(s)
        if s.get("status") != "ok":
            rows.append([f"{g['rows']} x {g['cols']}", f"{fb / GIB:.2f}", f"failed (exit {s.get('rc')})"] + [""] * 6)
            continue
        pts = [p["time_max"] for p in s["pass_times"]]
        rates = " / ".join(f"{fb / t / 1e9:.2f}" for t in pts)
        acc[name] = (v or {}).get("residual_over_optimal"), (v or {}).get("singular_value_error")
        rows.append([f"{g['rows']} x {g['cols']} float64", f"{fb / GIB:.2f} GiB ({fb / ram:.2f} x RAM)",
                     f"{s['elapsed_seconds']:.1f}", " / ".join(f"{t:.1f}" for t in pts), rates,
                     peak, f"{job:.0f}" if job else "—",
                     rr.fmt(acc[name][0], 5), "—" if acc[name][1] is None else f"{acc[name][1]:.2e}",
                     f"{v['process_wall_seconds']:.1f}" if v else "—"])
    head = ["matrix", "file", "prsvd svd elapsed s", "pass s", "read GB/s per pass (file bytes / pass)",
            "peak RSS MiB per process (VmHWM)", "job peak RSS MiB (sampled sum)",
            "‖A−USVᵀ‖F / ‖A−A_k‖F", "max |σ̂ⱼ−σⱼ| / σ₁", "prsvd verify s (one more pass, same limit)"]
    verdict = []
    big = recs.get("svd.big", {})
    if "big" in acc and "small" in acc and acc["big"][0] and acc["small"][0]:
        _, job = rr.peaks(big)
        d = abs(acc["big"][0] - acc["small"][0])
        verdict.append(f"- **{recs['gen.big']['file_bytes'] / GIB:.1f} GiB float64 decomposed with `--memory "
                       f"{e.get('BENCH_MEMORY')}` under a {e.get('BENCH_LIMIT')} limit: "
                       f"{'met' if big.get('rc') == 0 and job and job * 2 ** 20 <= limit else 'not met'}** — exit "
                       f"{big.get('rc')}, job peak {job:.0f} MiB of {limit / 2 ** 20:.0f} MiB; accuracy "
                       f"‖A−USVᵀ‖F / ‖A−A_k‖F = {acc['big'][0]:.5f} against {acc['small'][0]:.5f} on the small "
                       f"matrix of the same spectrum (difference {d:.1e}); singular values {acc['big'][1]:.1e} "
                       f"against {acc['small'][1]:.1e}.")
    dat, png = rr.job_series(data_dir, "svd.big"), None
    if dat:
        png = os.path.join(plot_dir, "oocore-memory.png")
        if not rr.gnuplot(f"""
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
    sec = [BEGIN, "## Out of core: a matrix larger than RAM under a 3 GiB limit", "",
           f"Measured by `bench/oocore.sh`, {e.get('BENCH_START', '?')} to {e.get('BENCH_END', '?')}. "
           f"Both matrices from `prsvd gen --spectrum poly --decay 1` (σⱼ = 1/j, j ≤ {recs.get('gen.big', {}).get('cols')}: "
           f"the same spectrum), contiguous float64; `prsvd svd -k {e.get('BENCH_K')} -p {e.get('BENCH_P')} "
           f"-q {e.get('BENCH_Q')} --memory {e.get('BENCH_MEMORY')}` on 1 rank (one BLAS thread, the reader "
           f"thread on), each file evicted from the page cache first. Memory limit: {e.get('BENCH_LIMITER')}. "
           f"Machine: {os.cpu_count()} cores, {ram / GIB:.1f} GiB RAM, so the page cache cannot hold the big file "
           "and every pass reads it from the disk.", ""] + verdict + ["",
           rr.md(head, rows), ""]
    if png:
        sec += [f"![memory of the out-of-core run]({os.path.relpath(png, os.path.dirname(os.path.abspath(md_path)))})", ""]
    sec += [f"- `uptime` at the start: {e.get('BENCH_UPTIME_START', '?').strip()}; at the end: "
            f"{e.get('BENCH_UPTIME_END', '?').strip()} (a shared machine: other jobs ran meanwhile)",
            f"- prsvd build: sha256 prefixes {e.get('BENCH_BUILD_ID', '?')}; HEAD {e.get('BENCH_GIT_HEAD', '?')}",
            "- generation times: " + ", ".join(f"{r['tag'][4:]} {r['seconds']:.0f} s ({r['file_bytes'] / r['seconds'] / 1e6:.0f} MB/s written)"
                                                for r in recs.values() if r.get("kind") == "gen"),
            END]
    section = "\n".join(sec) + "\n"
    print(section)
    report.write_section(md_path, BEGIN, END, section)


if __name__ == "__main__":
    main()
