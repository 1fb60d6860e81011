"""Zero-copy panels (--read posix on a contiguous dataset stored in the panel type): the rows are
lent as a mapping of the file and the products read them in place.  The mapped path gives the
copied path's U, S, V (--read posix-copy) at 1 and 2 ranks, float64 and float32, also past a
userblock (the file offset of the data is the dataset's address plus the userblock); a NaN or
Inf is reported with its row and column by the reader thread's check; a checkpoint stopped
mid-pass resumes to the uninterrupted result; and everything else (chunked, gzip, other or
byte-swapped types, MPI-IO reads, --precision double on float32 data, a 2-D grid, CSR) takes the
copy path, as --json's read_path says."""
import json
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, load, path, run, stop_at, temp_leftovers, write  # noqa: E402

rng = np.random.default_rng(5)
m, n, r = 2400, 120, 12
u, _ = np.linalg.qr(rng.standard_normal((m, r)))
v, _ = np.linalg.qr(rng.standard_normal((n, r)))
a = (u * 0.7 ** np.arange(r)) @ v.T + 1e-6 * rng.standard_normal((m, n))
ref = np.linalg.svd(a, compute_uv=False)
# wide rows with bad values (test_wide_rows_lowest_bad_row), drawn here after a as they always were
w = rng.standard_normal((3000, 1000))
w32 = rng.standard_normal((3000, 1000)).astype(np.float32)
BASE = ["-k", 8, "-p", 6, "-q", 2, "--memory", "128K"]  # 68 rows a panel: 36 panels a pass


def svd(spec, out, *extra, ranks=None, env=None):
    r = run(["svd", spec, *BASE, "-o", out, "--force", "--json", *extra], ranks=ranks, env=env)
    return r, (json.loads(r.stdout) if r.returncode == 0 else None)


_files = {}


def spec(name):
    """The inputs, each written once: f64 (a), f32 (a as float32), ub (a past a 4 KiB userblock)."""
    if name not in _files:
        if name == "ub":
            with h5py.File(path("ub.h5"), "w", userblock_size=4096) as f:
                f.create_dataset("A", data=a)
            _files[name] = f"{path('ub.h5')}:/A"
        else:
            _files[name] = write(f"{name}.h5", a if name == "f64" else a.astype(np.float32))
    return _files[name]


def gap(x, y):
    p, q = load(x), load(y)
    return max(float(np.max(np.abs(p[i] - q[i]))) for i in range(3))


def rel(s):
    return float(np.max(np.abs(np.asarray(s) - ref[: len(s)])) / ref[0])


def test_mapped_equals_copied():
    """The mapped path (float64, float32, past a userblock, no reader thread; 1 and 2 ranks) gives the copied path's U, S, V."""
    for label, src, tol, extra in [("float64", spec("f64"), 1e-10, []), ("float32", spec("f32"), 1e-5, []),
                                   ("float64 past a 4 KiB userblock", spec("ub"), 1e-10, []),
                                   ("float64, no reader thread", spec("f64"), 1e-10, ["--no-prefetch"])]:
        for ranks in [None, 2]:
            name = f"{label}, {ranks or 1} rank(s)"
            rm, jm = svd(src, path("mapped.h5"), *extra, ranks=ranks)
            rc, jc = svd(src, path("copied.h5"), "--read", "posix-copy", *extra, ranks=ranks)
            if not check(f"{name}: exit 0 mapped and copied", rm.returncode == 0 and rc.returncode == 0,
                         rm.stderr + rc.stderr):
                continue
            check(f"{name}: read_path mmap, and copy with --read posix-copy",
                  (jm["read_path"], jc["read_path"]) == ("mmap", "copy"), (jm["read_path"], jc["read_path"]))
            d = gap(path("mapped.h5"), path("copied.h5"))
            check(f"{name}: U, S, V the copied path's to 1e-14", d <= 1e-14, d)
            check(f"{name}: S against LAPACK to {tol:g}", rel(jm["singular_values"]) < tol, rel(jm["singular_values"]))
            whole = 3 * m * n * (4 if "32" in label else 8)
            check(f"{name}: every panel of the 3 passes was mapped, none copied (mapped_bytes)",
                  (jm["mapped_bytes"], jc["mapped_bytes"]) == (whole, 0), (jm["mapped_bytes"], jc["mapped_bytes"]))
            check(f"{name}: the mapped rows count as file bytes", jm["file_bytes_read"] == whole, jm["file_bytes_read"])


def test_pca_and_single_pass():
    """pca (centring on the products, never in a read-only panel) and single pass: mapped and copied agree."""
    f64 = spec("f64")
    for label, cmd in [("pca", ["pca", f64, "-k", 8, "--memory", "128K"]),
                       ("single pass", ["svd", f64, "-k", 8, "--passes", 1, "--memory", "128K"])]:
        outs = []
        for mode in ["posix", "posix-copy"]:
            o = path(f"{mode}.{label}.h5")
            rr = run([*cmd, "-o", o, "--force", "--read", mode])
            check(f"{label}, --read {mode}: exit 0", rr.returncode == 0, rr.stderr)
            outs.append(o)
        if all(os.path.exists(o) for o in outs):
            check(f"{label}: mapped and copied the same to 1e-14", gap(*outs) <= 1e-14, gap(*outs))


def nan_spec():
    """a with a NaN at row 1333, column 17, written once."""
    if "nan" not in _files:
        bad = a.copy()
        bad[1333, 17] = np.nan
        _files["nan"] = write("nan.h5", bad)
    return _files["nan"]


def test_nan_inf_named():
    """A NaN or Inf in a mapped panel is named with its row and column (reader thread, 2 ranks, none, copied); info says mmap."""
    nan = nan_spec()
    bad32 = a.astype(np.float32)
    bad32[2001, 5] = np.inf
    inf32 = write("inf32.h5", bad32)
    for label, src, extra, ranks, want in [
            ("NaN, reader thread", nan, [], None, "NaN at row 1333, column 17"),
            ("NaN, 2 ranks", nan, [], 2, "NaN at row 1333, column 17"),
            ("NaN, no reader thread", nan, ["--no-prefetch"], None, "NaN at row 1333, column 17"),
            ("NaN, copied", nan, ["--read", "posix-copy"], None, "NaN at row 1333, column 17"),
            ("float32 Inf", inf32, [], 2, "Inf at row 2001, column 5")]:
        out = path("bad.h5")
        rr = run(["svd", src, *BASE, "-o", out, "--force", *extra], ranks=ranks)
        check(f"{label}: exit 2 naming '{want}'", rr.returncode == 2 and want in rr.stderr, f"{rr.returncode} {rr.stderr}")
        check(f"{label}: no output left", not os.path.exists(out) and not temp_leftovers())


def test_wide_rows_lowest_bad_row():
    """Bad values in two chunks of one wide-row panel and in the next: the lowest row is named, whichever thread found it."""
    # float64 rows of 8000 bytes in panels of 524 rows, which the check scans as 8 chunks of 65
    # rows, the reader and a waiting main thread side by side (float32: 1048 rows, 8 chunks of 131)
    wb = w.copy()
    wb[970, 7], wb[1010, 3], wb[1060, 9] = np.nan, np.inf, np.nan  # chunks 6 and 7 of panel 1; panel 2
    wide = write("wide-nan.h5", wb)
    wb32 = w32.copy()
    wb32[900, 5], wb32[1010, 3], wb32[1060, 9] = np.inf, np.nan, np.nan  # chunks 6 and 7 of panel 0; panel 1
    wide32 = write("wide-inf32.h5", wb32)
    for label, src, extra, ranks, want in [
            ("wide rows, two bad chunks", wide, [], None, "NaN at row 970, column 7"),
            ("wide rows, two bad chunks, 2 ranks", wide, [], 2, "NaN at row 970, column 7"),
            ("wide rows, two bad chunks, copied", wide, ["--read", "posix-copy"], None, "NaN at row 970, column 7"),
            ("wide float32 rows, two bad chunks", wide32, [], None, "Inf at row 900, column 5")]:
        for attempt in range(3):  # which thread scans which chunk varies from run to run
            out = path("bad.h5")
            rr = run(["svd", src, "-k", 8, "-p", 6, "-q", 1, "-o", out, "--force", *extra], ranks=ranks)
            if not check(f"{label} (run {attempt + 1}): exit 2 naming '{want}'",
                         rr.returncode == 2 and want in rr.stderr, f"{rr.returncode} {rr.stderr}"):
                break


def test_info_read_path():
    """info --json plans the mapped path for a contiguous float64 dataset."""
    ri = run(["info", nan_spec(), "--json"])
    check("info --json on the NaN file: read_path mmap", ri.returncode == 0 and json.loads(ri.stdout)["read_path"] == "mmap",
          ri.stdout + ri.stderr)


def test_checkpoint_resume():
    """Stopped in pass 2 on the mapped path at 1 and 2 ranks, the resume gives the uninterrupted result to 1e-12."""
    f64 = spec("f64")
    for ranks in [1, 2]:
        refo, out, ck = path(f"ref.{ranks}.h5"), path(f"res.{ranks}.h5"), path(f"ck.{ranks}.h5")
        rr, js = svd(f64, refo, ranks=ranks if ranks > 1 else None)
        args = ["svd", f64, *BASE, "-o", out, "--quiet", "--checkpoint", ck]
        stopped = stop_at(36 // ranks + 7, args, ranks)  # in the second pass
        check(f"{ranks} rank(s): stopped in pass 2 with a checkpoint (exit 99)",
              stopped.returncode == 99 and "in pass 2 at row" in stopped.stderr and os.path.exists(ck), stopped.stderr)
        rr2 = run(args, ranks=ranks if ranks > 1 else None)
        if check(f"{ranks} rank(s): the mapped rerun resumes and finishes", rr.returncode == 0 and rr2.returncode == 0,
                 rr.stderr + rr2.stderr):
            check(f"{ranks} rank(s): resumed = uninterrupted to 1e-12 (both mapped)",
                  js["read_path"] == "mmap" and gap(out, refo) <= 1e-12, gap(out, refo))


def test_copy_path_fallbacks():
    """Chunked, gzip, big-endian, int32, another precision, MPI-IO reads, a 2-D grid and CSR take the copy path."""
    f64, f32 = spec("f64"), spec("f32")
    fallbacks = [("chunked, gzip", write("gz.h5", a, chunks=(100, n), compression="gzip"), [], None),
                 ("chunked, unfiltered", write("ch.h5", a, chunks=(100, n)), [], None),
                 ("big-endian float64", write("be.h5", a.astype(">f8")), [], None),
                 ("int32", write("i32.h5", np.round(a * 1e6).astype(np.int32)), [], None),
                 ("float32 data, --precision double", f32, ["--precision", "double"], None),
                 ("float64 data, --precision single", f64, ["--precision", "single"], None),
                 ("MPI-IO independent", f64, ["--read", "independent"], 2),
                 ("MPI-IO collective", f64, ["--read", "collective"], 2),
                 ("a 2-D grid 1x2", f64, ["--grid", "1x2"], 2)]
    for label, src, extra, ranks in fallbacks:
        rr, js = svd(src, path("fb.h5"), *extra, ranks=ranks)
        if check(f"{label}: exit 0", rr.returncode == 0, rr.stderr):
            check(f"{label}: read_path copy, nothing mapped", (js["read_path"], js["mapped_bytes"]) == ("copy", 0),
                  (js["read_path"], js["mapped_bytes"]))
            scale = 1e6 if label == "int32" else 1.0
            tol = 1e-5 if "single" in label or "int32" in label or "float32" in label else 1e-10
            e = float(np.max(np.abs(np.asarray(js["singular_values"]) / scale - ref[:8])) / ref[0])
            check(f"{label}: S against LAPACK to {tol:g}", e < tol, e)
    sparse = path("csr.h5")
    with h5py.File(sparse, "w") as f:
        g = f.create_group("X")
        g.attrs["encoding-type"], g.attrs["shape"] = "csr_matrix", (4, 3)
        g["data"], g["indices"], g["indptr"] = [1.0, 2.0, 3.0, 4.0], [0, 2, 1, 0], [0, 1, 2, 3, 4]
    rr = run(["svd", f"{sparse}:/X", "-k", 1, "-p", 1, "-o", path("sp.h5"), "--force", "--json"])
    check("CSR: exit 0, read_path copy", rr.returncode == 0 and json.loads(rr.stdout)["read_path"] == "copy",
          rr.stdout + rr.stderr)


harness.main(globals())
