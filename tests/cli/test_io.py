"""The I/O and kernel path of a pass: float32 data multiplied in float32 (--precision), panels
that follow the chunk grid with no chunk read twice (the file bytes a run reports), the
MPI-IO hints, `info` planning the panels `svd` streams, and the CPUs a rank may use."""
import json
import os
import re
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import MPIEXEC, MPIFLAGS, PRSVD, check, path, run, write  # noqa: E402

# The test matrices, drawn here in the order they always were: rank 10 with a decaying spectrum
# stored as float32 (the rounding is the matrix's own tail), float64 data near it, rank 8 with
# gzip chunks of 70 rows, and a wide rank-8 matrix.  Their files are written once, by the
# first test that asks.
rng = np.random.default_rng(11)
m, n, r = 3000, 200, 10
u, _ = np.linalg.qr(rng.standard_normal((m, r)))
v, _ = np.linalg.qr(rng.standard_normal((n, r)))
a32 = ((u * 0.8 ** np.arange(r)) @ v.T).astype(np.float32)
ref32 = np.linalg.svd(a32.astype(np.float64), compute_uv=False)
a64 = a32.astype(np.float64) + 1e-9 * rng.standard_normal((m, n))
ag = rng.standard_normal((6000, 8)) @ np.diag(0.7 ** np.arange(8)) @ rng.standard_normal((8, 120))  # rank 8
refg = np.linalg.svd(ag, compute_uv=False)
row_bytes = 8 * 120
aw = rng.standard_normal((300, 8)) @ np.diag(0.7 ** np.arange(8)) @ rng.standard_normal((8, 5000))  # rank 8
refw = np.linalg.svd(aw, compute_uv=False)
_files = {}


def f32_spec():
    """a32 with gzip chunks of 128 rows."""
    if "f32" not in _files:
        _files["f32"] = write("f32.h5", a32, chunks=(128, n), compression="gzip")
    return _files["f32"]


def gz_spec():
    """ag with gzip chunks of 70 rows, which divide neither the default panel nor the budgets
    below: (FILE:/A, its stored bytes, its largest chunk's)."""
    if "gz" not in _files:
        specg = write("gz.h5", ag, chunks=(70, 120), compression="gzip")
        with h5py.File(path("gz.h5"), "r") as f:
            dsid = f["A"].id
            storage = dsid.get_storage_size()
            biggest = max(dsid.get_chunk_info(i).size for i in range(dsid.get_num_chunks()))
        _files["gz"] = specg, storage, biggest
    return _files["gz"]


def wide_file():
    """wide.h5: /A the 300 x 5000 aw, /T its transpose in gzip column chunks, /T32 that in float32;
    (the file, /T's stored bytes, its largest chunk's)."""
    if "wide" not in _files:
        with h5py.File(path("wide.h5"), "w") as f:
            f.create_dataset("A", data=aw)                                                    # 300 x 5000: wide
            f.create_dataset("T", data=aw.T.copy(), chunks=(5000, 4), compression="gzip")     # 5000 x 300: column chunks
            f.create_dataset("T32", data=aw.T.astype(np.float32), chunks=(5000, 4))
            tstore = f["T"].id.get_storage_size()
            tchunk = max(f["T"].id.get_chunk_info(i).size for i in range(f["T"].id.get_num_chunks()))
        _files["wide"] = path("wide.h5"), tstore, tchunk
    return _files["wide"]


def svd_json(spec, *extra, ranks=None):
    out = path("out.h5")
    r = run(["svd", spec, "-o", out, "--force", "--json", *extra], ranks=ranks)
    return r, (json.loads(r.stdout) if r.returncode == 0 else None)


def rel(s, ref):
    return float(np.max(np.abs(np.asarray(s) - ref[: len(s)])) / ref[0])


# ---- float32 data multiplied in float32 -----------------------------------------------------
def test_float32_precision():
    """float32 data: auto and single multiply in float32 (half the panel bytes, LAPACK's S to 1e-5), double to 1e-10."""
    spec32 = f32_spec()
    res = {}
    for prec in ["auto", "single", "double"]:
        rr, js = svd_json(spec32, "-k", r, "-p", 10, "-q", 1, "--precision", prec)
        if check(f"float32 data, --precision {prec}: exit 0", rr.returncode == 0, rr.stderr):
            res[prec] = js
    if len(res) == 3:
        check("float32 data: auto multiplies in float32", res["auto"]["precision"] == "float32", res["auto"]["precision"])
        check("float32 data, --precision double: float64 panels", res["double"]["precision"] == "float64")
        check("float32 panels: half the bytes of float64 panels",
              2 * res["single"]["bytes_read"] == res["double"]["bytes_read"],
              f"{res['single']['bytes_read']} vs {res['double']['bytes_read']}")
        e_single = rel(res["single"]["singular_values"], ref32)
        e_double = rel(res["double"]["singular_values"], ref32)
        check("float32 arithmetic: S matches LAPACK on the float32 data to 1e-5", e_single < 1e-5, e_single)
        check("--precision double: S matches LAPACK to 1e-10", e_double < 1e-10, e_double)
        check("auto and single are the same run", res["auto"]["singular_values"] == res["single"]["singular_values"])
        # float32 rounding is visible: the SGEMM path did run
        gap = rel(res["single"]["singular_values"], np.array(res["double"]["singular_values"]))
        check("single differs from double by float32 rounding (above 1e-12)", gap > 1e-12, gap)


def test_float32_paths():
    """float32 arithmetic at 2 ranks, without the reader thread, in a single pass and with sparse sign maps: S to 1e-5."""
    spec32 = f32_spec()
    # float32 arithmetic at 2 ranks, with the reader thread off, and for single pass, QB and PCA
    for label, extra, ranks in [("2 ranks", [], 2), ("no reader thread", ["--no-prefetch"], None),
                                ("single pass", ["--passes", 1, "--range-dim", 40], None),
                                ("sparse sign maps", ["--passes", 1, "--range-dim", 40, "--sketch", "sparse"], None)]:
        rr, js = svd_json(spec32, "-k", r, "-p", 10, "-q", 1, *extra, ranks=ranks)
        if check(f"float32, {label}: exit 0", rr.returncode == 0, rr.stderr):
            e = rel(js["singular_values"], ref32)
            check(f"float32, {label}: S to 1e-5 of LAPACK", js["precision"] == "float32" and e < 1e-5, e)


def test_sparse_sign_maps_float32():
    """Sparse sign maps on float32 panels: the float64 panels' S bit for bit when every map is sparse, else to 1e-5."""
    spec32 = f32_spec()
    # the sparse sign-map kernels read float32 panels as they are, widening each entry (exactly) as
    # they accumulate in float64: with every map sparse (k_s = 40: the right map tiled, the co-range
    # and core maps by axpys) S is bit for bit that of float64 panels of the same data; with
    # k_s = 21 the co-range map goes through the GEMM densified, an SGEMM on float32 panels
    for ks, same in [(21, False), (40, True)]:
        got = {}
        for prec in ["single", "double"]:
            rr, js = svd_json(spec32, "-k", r, "--passes", 1, "--range-dim", ks, "--sketch", "sparse", "--precision", prec)
            if check(f"sparse sign maps, k_s = {ks}, --precision {prec}: exit 0", rr.returncode == 0, rr.stderr):
                got[prec] = js
        if len(got) == 2:
            gap = rel(got["single"]["singular_values"], np.array(got["double"]["singular_values"]))
            want = "bit for bit" if same else "to 1e-5, not bit for bit"
            check(f"sparse sign maps, k_s = {ks}: float32 panels give the float64 panels' S {want}",
                  got["single"]["precision"] == "float32" and (gap == 0.0 if same else 1e-12 < gap < 1e-5), gap)


def test_float32_tol_and_pca():
    """float32 data under --tol and in pca: S to 1e-5 of LAPACK (of the centred data for pca)."""
    spec32 = f32_spec()
    rr, js = svd_json(spec32, "--tol", 1e-3, "--max-rank", 30)
    if check("float32, --tol: exit 0", rr.returncode == 0, rr.stderr):
        check("float32, --tol: S to 1e-5 of LAPACK", js["precision"] == "float32" and rel(js["singular_values"], ref32) < 1e-5,
              js["singular_values"])
    rr = run(["pca", spec32, "-k", 5, "-o", path("pca.h5"), "--force", "--json"])
    if check("float32 PCA: exit 0", rr.returncode == 0, rr.stderr):
        c = a32.astype(np.float64) - a32.astype(np.float64).mean(axis=0)
        refc = np.linalg.svd(c, compute_uv=False)
        e = rel(json.loads(rr.stdout)["singular_values"], refc)
        check("float32 PCA: S of the centered data to 1e-5", e < 1e-5, e)


def test_float64_and_integer_data():
    """float64 data converted to float32 per panel on request; int16 data converted to float64 per panel."""
    # float64 and integer data: double by default; single on request
    spec64 = write("f64.h5", a64)
    ref64 = np.linalg.svd(a64, compute_uv=False)
    rr, js = svd_json(spec64, "-k", r, "-q", 1, "--precision", "single")
    if check("float64 data, --precision single: exit 0", rr.returncode == 0, rr.stderr):
        e = rel(js["singular_values"], ref64)
        check("float64 data converted to float32 per panel: S to 1e-5", js["precision"] == "float32" and e < 1e-5, e)
    ai = np.round(a32 * 3e4).astype(np.int16)
    spec16 = write("i16.h5", ai, chunks=(100, n))
    refi = np.linalg.svd(ai.astype(np.float64), compute_uv=False)
    rr, js = svd_json(spec16, "-k", r, "-p", 20, "-q", 3)
    if check("int16 data: exit 0", rr.returncode == 0, rr.stderr):
        e = rel(js["singular_values"], refi)
        check("int16 data: converted to float64 per panel, S to 1e-10", js["precision"] == "float64" and e < 1e-10, e)


def test_bad_precision():
    """--precision half, and --precision single on a sparse group: exit 1 naming them."""
    spec32 = f32_spec()
    # bad values
    rr = run(["svd", spec32, "-k", 2, "-o", path("bad.h5"), "--precision", "half"])
    check("--precision half: exit 1 naming the option", rr.returncode == 1 and "--precision 'half'" in rr.stderr, rr.stderr)
    with h5py.File(path("sp.h5"), "w") as f:
        g = f.create_group("X")
        g.attrs["encoding-type"], g.attrs["shape"] = "csr_matrix", (4, 3)
        g["data"], g["indices"], g["indptr"] = np.ones(4, np.float32), np.array([0, 1, 2, 0]), np.array([0, 1, 2, 3, 4])
    rr = run(["svd", path("sp.h5") + ":/X", "-k", 1, "-o", path("bad.h5"), "--precision", "single"])
    check("--precision single on a sparse group: exit 1 naming it", rr.returncode == 1 and "is sparse" in rr.stderr, rr.stderr)


# ---- panels follow the chunk grid; no chunk read twice in a pass -----------------------------
def test_gzip_chunk_panels():
    """gzip chunks of 70 rows: panels of whole chunk rows or a fifth of one read the dataset once a pass; S agrees."""
    specg, storage, biggest = gz_spec()
    runs = {}
    # budgets (two buffers) of 250 rows -> 210 (3 chunk rows), of 30 rows -> 14 (5 panels a chunk row)
    for label, rows, want, ranks in [("3 chunk rows a panel", 250, 210, None), ("5 panels a chunk row", 30, 14, None),
                                     ("3 chunk rows a panel, 2 ranks", 250, 210, 2)]:
        rr, js = svd_json(specg, "-k", 8, "-q", 1, "--memory", 2 * rows * row_bytes, ranks=ranks)
        if not check(f"gzip chunks, {label}: exit 0", rr.returncode == 0, rr.stderr):
            continue
        runs[label] = js
        check(f"gzip chunks, {label}: panels of {want} rows", js["panel_rows"] == want, js["panel_rows"])
        per_pass = js["file_bytes_read"] / js["passes"]
        # the chunk row straddling two ranks' blocks is read by both
        allowed = storage + (ranks or 1) * 8192 + ((ranks or 1) - 1) * biggest
        check(f"gzip chunks, {label}: each pass reads the compressed dataset once",
              storage <= per_pass <= allowed, f"{per_pass:.0f} bytes a pass, {storage} stored, {allowed} allowed")
        check(f"gzip chunks, {label}: S to 1e-8 of LAPACK", rel(js["singular_values"], refg) < 1e-8,
              rel(js["singular_values"], refg))
    if len(runs) == 3:
        base = np.array(runs["3 chunk rows a panel"]["singular_values"])
        check("gzip chunks: panel sizes and rank counts agree to 1e-12",
              all(rel(j["singular_values"], base) < 1e-12 for j in runs.values()))


# ---- the panel size: near 4 MiB, on the chunk grid ---------------------------------------------
def test_panel_size_rule():
    """info -k plans panels on the chunk grid near 4 MiB a thread (whole chunk rows, a divisor, 4 MiB for a prime)."""
    # Planned by `info -k --panels rows` (the solver's own prsvd_svd_plan; auto would stream the
    # columns of these 64-column chunks under --memory 8M, as svd would) on chunked datasets
    # never written, so nothing is stored.  6000 x 1024: 4 KiB a float32 row, 1024 rows in 4 MiB
    # (512 in float64).
    with h5py.File(path("plan.h5"), "w") as f:
        for c in [100, 1500, 5000, 4099]:
            f.create_dataset(f"c{c}", shape=(6000, 1024), dtype="f4", chunks=(c, 64))
    for c, extra, want, why in [
            (100, [], 1000, "whole chunk rows within 4 MiB"),
            (1500, [], 1500, "one chunk row of up to twice 4 MiB, taken whole"),
            (1500, ["--memory", "8M"], 750, "a budget below a chunk row: half a chunk row"),
            (1500, ["--precision", "double"], 500, "float64 rows: a third of a chunk row"),
            (5000, [], 1000, "a chunk row past twice 4 MiB: a fifth of it"),
            (4099, [], 1024, "a prime chunk row: 4 MiB panels, not single rows"),
            # 4 MiB a compute thread: 2 threads' panels hold 2 x 1024 rows, whole chunk rows
            (100, ["--threads", 2], 2000, "2 threads: whole chunk rows within 2 x 4 MiB"),
            (4099, ["--threads", 2], 2048, "2 threads: a prime chunk row, 2 x 4 MiB panels")]:
        if "--threads" not in extra:  # one thread's panels (the machine's CPUs would choose more)
            extra = extra + ["--threads", 1]
        rr = run(["info", path("plan.h5") + f":/c{c}", "-k", 5, "--json", "--panels", "rows", *extra])
        got = json.loads(rr.stdout)["panel_rows"] if rr.returncode == 0 else rr.stderr
        check(f"chunks of {c} rows {' '.join(map(str, extra))}: panels of {want} rows ({why})", got == want, got)


# ---- MPI-IO reads and hints --------------------------------------------------------------------
def test_mpiio_read_modes():
    """POSIX, independent and collective MPI-IO reads at 2 and 3 ranks agree to 1e-12 and with LAPACK."""
    specg = gz_spec()[0]
    # 6000 rows at 2 and 3 ranks: the ranks' blocks hold different numbers of grid-aligned panels,
    # so collective reads need the zero-row reads of the ranks that are done
    ref_modes = None
    for mode, ranks, extra in [("posix", 2, []), ("independent", 3, []), ("collective", 3, []),
                               ("collective", 2, ["--no-prefetch"])]:
        label = f"--read {mode}, {ranks} ranks{' ' + extra[0] if extra else ''}"
        try:
            rr, js = svd_json(specg, "-k", 8, "-q", 1, "--memory", 2 * 250 * row_bytes, "--read", mode, *extra,
                              ranks=ranks)
        except Exception as e:  # a hang would be a collective left unmatched
            check(f"{label}: finishes", False, e)
            continue
        if not check(f"{label}: exit 0", rr.returncode == 0, rr.stderr):
            continue
        s = np.array(js["singular_values"])
        ref_modes = s if ref_modes is None else ref_modes
        check(f"{label}: S as with POSIX reads to 1e-12, and to LAPACK", rel(s, ref_modes) < 1e-12 and
              rel(s, refg) < 1e-8 and js["read"] == mode, (rel(s, ref_modes), rel(s, refg)))


def test_mpiio_hints():
    """--mpiio-hint reaches MPI_File_get_info, works with POSIX reads, and malformed hints or --read modes are refused."""
    specg = gz_spec()[0]
    rr, js = svd_json(specg, "-k", 4, "--read", "independent", "--mpiio-hint", "cb_buffer_size=1048576",
                      "--mpiio-hint", "romio_cb_read=enable", ranks=2)
    if check("--mpiio-hint twice with MPI-IO reads: exit 0", rr.returncode == 0, rr.stderr):
        check("--mpiio-hint: both hints reach MPI_File_open (MPI_File_get_info)",
              "cb_buffer_size=1048576" in js.get("mpiio_hints", "") and "romio_cb_read=enable" in js.get("mpiio_hints", ""),
              js.get("mpiio_hints"))
    out = path("hinted.h5")
    rr = run(["svd", specg, "-k", 4, "-o", out, "--force", "--quiet", "--mpiio-hint", "striping_factor=4"], ranks=2)
    check("--mpiio-hint with POSIX reads (hints for the output): exit 0", rr.returncode == 0 and h5py.is_hdf5(out), rr.stderr)
    for bad, needle in [(["--mpiio-hint", "cb_nodes"], "bad --mpiio-hint 'cb_nodes': expected KEY=VALUE"),
                        (["--mpiio-hint", "=4"], "bad --mpiio-hint '=4'"), (["--read", "mmap"], "unknown --read 'mmap'")]:
        rr = run(["svd", specg, "-k", 4, "-o", path("bad.h5"), *bad])
        check(f"{' '.join(bad)}: exit 1 naming it", rr.returncode == 1 and needle in rr.stderr, rr.stderr)


def test_collective_read_error():
    """A NaN on one rank during collective reads ends every rank with exit 2 naming the row."""
    # an error on one rank during collective reads reaches every rank, and none waits forever
    an = ag.copy()
    an[5000, 3] = np.nan
    specn = write("nan.h5", an, chunks=(70, 120), compression="gzip")
    try:
        rr = run(["svd", specn, "-k", 4, "-o", path("nan.out.h5"), "--read", "collective", "--memory", 2 * 250 * row_bytes],
                 ranks=2, timeout=120)
        check("collective reads, NaN in rank 1's rows: exit 2 naming row 5000", rr.returncode == 2 and "row 5000" in rr.stderr,
              rr.stderr)
    except Exception as e:
        check("collective reads, NaN in rank 1's rows: finishes", False, e)


# ---- column panels: column-shaped chunks, or a wide matrix -------------------------------------
def factors(out):
    with h5py.File(out, "r") as f:
        return f["U"][:], f["S"][:], f["V"][:]


def same_factors(a, b):
    (ua, sa, va), (ub, sb, vb) = a, b
    signs = np.sign(np.sum(ua * ub, axis=0))  # each mode fixes the signs of its own left factor
    return max(rel(sa, sb), np.max(np.abs(ua - ub * signs)), np.max(np.abs(va - vb * signs)))


def test_column_panels():
    """Column panels (a wide dataset, column chunks; 1 and 2 ranks) give the row panels' U, S, V to 1e-10, reading once."""
    _, tstore, tchunk = wide_file()
    for ds, mem in [("A", "512M"), ("T", "4M")]:
        spec = f"{path('wide.h5')}:/{ds}"
        got = {}
        for panels, ranks, read in [("rows", None, "posix"), ("auto", None, "posix"), ("columns", 2, "collective")]:
            out = path(f"wide.{ds}.{panels}.h5")
            rr = run(["svd", spec, "-k", 8, "-q", 1, "--memory", mem, "--panels", panels, "--read", read,
                      "-o", out, "--json"], ranks=ranks)
            label = f"/{ds} --panels {panels}, {read} reads at {ranks or 1} rank(s)"
            if not check(f"{label}: exit 0", rr.returncode == 0, rr.stderr):
                continue
            js = json.loads(rr.stdout)
            got[panels] = factors(out)
            if panels == "auto":
                check(f"{label}: chooses columns", js["panels"] == "columns", js["panels"])
                rv = run(["verify", spec, out, "--json"])
                check(f"{label}: verify reads the output as factors of the stored matrix",
                      rv.returncode == 0 and json.loads(rv.stdout)["relative_residual_fro"] < 1e-10, rv.stdout + rv.stderr)
            if ds == "T" and panels != "rows":  # a rank boundary inside a column of chunks: both read it
                per_pass = js["file_bytes_read"] / js["passes"]
                allowed = tstore + 16384 + ((ranks or 1) - 1) * tchunk
                check(f"{label}: each pass reads the compressed dataset once", tstore <= per_pass <= allowed,
                      f"{per_pass:.0f} bytes a pass, {tstore} stored, {allowed} allowed")
        if "rows" in got:
            base = got["rows"]
            check(f"/{ds}: S of row panels to 1e-10 of LAPACK", rel(base[1], refw) < 1e-10, rel(base[1], refw))
            worst = max(same_factors(g, base) for g in got.values())
            check(f"/{ds}: column panels give the row panels' U, S, V to 1e-10 (1 and 2 ranks)", worst < 1e-10, worst)


def test_column_panels_float32_and_refusals():
    """float32 column panels multiply in float32; --center keeps row panels; bad --panels refused."""
    wide_file()
    rr, js = svd_json(f"{path('wide.h5')}:/T32", "-k", 8, "--memory", "4M")
    if check("float32 column panels: exit 0", rr.returncode == 0, rr.stderr):
        check("float32 column panels: columns, float32, S to 1e-5", js["panels"] == "columns" and js["precision"] == "float32"
              and rel(js["singular_values"], refw) < 1e-5, (js["panels"], js["precision"], rel(js["singular_values"], refw)))
    rr, js = svd_json(f"{path('wide.h5')}:/A", "-k", 8, "--center")
    check("--center keeps row panels on a wide matrix (samples are rows)", rr.returncode == 0 and js["panels"] == "rows",
          rr.stderr)
    rr = run(["svd", f"{path('wide.h5')}:/A", "-k", 8, "--center", "--panels", "columns", "-o", path("bad.h5")])
    check("--center --panels columns: exit 1", rr.returncode == 1 and "--panels columns" in rr.stderr, rr.stderr)
    rr = run(["svd", f"{path('wide.h5')}:/A", "-k", 8, "--panels", "diagonal", "-o", path("bad.h5")])
    check("--panels diagonal: exit 1 naming it", rr.returncode == 1 and "unknown --panels 'diagonal'" in rr.stderr, rr.stderr)


# ---- info plans the panels svd streams ----------------------------------------------------------
def test_info_plans_panels():
    """info with the same --panels, --read and --memory plans the direction, read mode and panel rows svd runs."""
    wide_file()
    # the same --panels, --read and --memory give the same direction, read mode and panel rows
    for ds, extra, ranks in [("T", [], None), ("T", ["--memory", "4M"], None), ("T", ["--panels", "rows"], 2),
                             ("A", ["--read", "independent", "--memory", "1M"], 2),
                             ("A", ["--panels", "rows", "--read", "collective"], 2)]:
        spec = f"{path('wide.h5')}:/{ds}"
        label = f"/{ds} {' '.join(extra)} at {ranks or 1} rank(s)"
        ri = run(["info", spec, "-k", 8, "--json", *extra], ranks=ranks)
        rr, js = svd_json(spec, "-k", 8, "-q", 0, *extra, ranks=ranks)
        if check(f"info and svd {label}: exit 0", ri.returncode == 0 and rr.returncode == 0, ri.stderr + rr.stderr):
            ji = json.loads(ri.stdout)
            got, want = [ji[f] for f in ("panels", "read", "panel_rows")], [js[f] for f in ("panels", "read", "panel_rows")]
            check(f"info {label}: panels, read and panel rows as svd ran them ({want})", got == want, f"{got} != {want}")


# ---- the CPUs a rank may use: its affinity mask, the fewest over the ranks ---------------------
def test_cpus():
    """--json cpus is the rank's affinity mask (the fewest over the ranks), warning only when a CPU is left idle."""
    wide_file()
    small = f"{path('wide.h5')}:/A"
    mine = len(os.sched_getaffinity(0))
    for label, prefix, want in [("taskset -c 0", ["taskset", "-c", "0"], 1), ("this process's CPUs", [], mine)]:
        out = path("cpus.h5")
        rr = subprocess.run(prefix + [PRSVD, "svd", small, "-k", "8", "-q", "0", "-o", out, "--force", "--json"],
                            capture_output=True, text=True)
        if check(f"{label}: exit 0", rr.returncode == 0, rr.stderr):
            got = json.loads(rr.stdout)["cpus"]
            check(f"{label}: --json cpus = {want}", got == want, got)
            warned = "reader thread takes turns with the GEMMs" in rr.stderr
            spare = want == 1 and os.cpu_count() > 1  # the warning only when a CPU is left idle
            check(f"{label}: {'a' if spare else 'no'} warning about the reader thread's CPU", warned == spare,
                  rr.stderr)
    # under mpirun: each rank's mask as the launcher set it (Open MPI binds 2 ranks to a core each)
    probe = subprocess.run([MPIEXEC, *MPIFLAGS, "-n", "2", sys.executable, "-c",
                            "import os; print(f'cpus={len(os.sched_getaffinity(0))};')"], capture_output=True, text=True)
    rr, js = svd_json(small, "-k", 8, "-q", 0, ranks=2)
    # tagged: mpirun once ran the two ranks' lines together ("11")
    probed = [int(x) for x in re.findall(r"cpus=(\d+);", probe.stdout)]
    if check("2 ranks: exit 0, both ranks' CPUs probed", rr.returncode == 0 and probe.returncode == 0 and len(probed) == 2,
             rr.stderr + probe.stdout + probe.stderr):
        want = min(probed)
        check(f"2 ranks: --json cpus = the fewest CPUs a rank of the same launch has ({want})", js["cpus"] == want,
              js["cpus"])
        rr2 = subprocess.run([MPIEXEC, *MPIFLAGS, "-n", "2", PRSVD, "svd", small, "-k", "8", "-q", "0", "-o",
                              path("cpus2.h5"), "--force"], capture_output=True, text=True)
        spare = want == 1 and os.cpu_count() > 2
        check(f"2 ranks: {'a' if spare else 'no'} warning about the reader thread's CPU ({os.cpu_count()} CPUs online)",
              rr2.returncode == 0 and ("reader thread takes turns" in rr2.stderr) == spare, rr2.stderr)


def test_output_in_write_blocks():
    """U leaves a rank in row blocks of at most 4 MiB (io/h5writer.c), every rank making as many
    collective writes as the one with the most: 20000 x 60 doubles are 3 blocks at 1 rank, 2 a
    rank at 2 and 1 at 3.  Every row lands where it belongs: U S V^T is A (exact rank, 10^-0.3j)."""
    spec = harness.gen("blocks.h5", 20000, 500, "--spectrum", "exp", "--decay", 0.3)
    a, _ = harness.matrix(spec)
    for ranks in [1, 2, 3]:
        out = path(f"blocks.{ranks}.h5")
        r = run(["svd", spec, "-k", 60, "-q", 2, "-o", out, "--force", "--quiet"], ranks=ranks if ranks > 1 else None)
        if not check(f"{ranks} rank(s): svd -k 60 of 20000 rows runs", r.returncode == 0, r.stderr):
            continue
        with h5py.File(out, "r") as f:
            u, sv, v = f["U"][:], f["S"][:], f["V"][:]
        err = np.max(np.abs(a - (u * sv) @ v.T)) / np.max(np.abs(a))
        check(f"{ranks} rank(s): U S V^T is A to 1e-10 in every row (max error {err:.1e}), U orthonormal",
              err < 1e-10 and np.max(np.abs(u.T @ u - np.eye(60))) < 1e-10, err)


harness.main(globals())
