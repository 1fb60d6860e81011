#!/usr/bin/python3
"""Turn bench/out/sparse/results.jsonl (written by bench/sparse.sh) into a table on stdout
and into the sparse benchmark's section of bench/RESULTS.md.

usage: sparse_report.py RESULTS.jsonl RESULTS.md
Accuracy: the relative error |s_j - s*_j| / s*_j of the top singular values against ARPACK's
(peers/svds_reference.py), centred for prsvd pca, uncentred for TruncatedSVD and prsvd svd.
"""
import json
import os
import re
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import write_section  # noqa: E402

BEGIN = "<!-- bench/sparse.sh: sparse PCA: begin -->"
END = "<!-- bench/sparse.sh: sparse PCA: end -->"
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


def main():
    results_path, md_path = sys.argv[1:3]
    with open(results_path) as f:
        recs = [json.loads(ln) for ln in f if ln.strip()]
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
    lines = [BEGIN, "## Sparse PCA: prsvd pca vs scikit-learn TruncatedSVD", "",
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
              "serve the small dense steps); at 2 ranks each rank streams half the rows.", END]
    section = "\n".join(lines) + "\n"
    print("\n".join(table))
    write_section(md_path, BEGIN, END, section)


if __name__ == "__main__":
    main()
