"""End-to-end tests of the prsvd program at 1-4 ranks: planted and LAPACK spectra, residuals,
agreement across rank counts and panel sizes, real HDF5 files from h5py, every bad input's
exit code and message, and that no run leaves a half-written output.  Prints TAP-style lines
and a closing "N passed, M failed"."""
import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import PRSVD, check, gen, load, matrix, path, run, temp_leftovers, write, WORK  # noqa: E402

# ---- accuracy on planted spectra, at 1-4 ranks ---------------------------------------------
M, N, K = 3000, 300, 20
cases = {
    # name: (gen options, power iterations, tolerance on |S - sigma| / sigma_1, residual ratio bound)
    "poly1": (["--spectrum", "poly", "--decay", "1"], 1, 1e-2, 1.1),
    "poly2": (["--spectrum", "poly", "--decay", "2"], 1, 1e-4, 1.1),
    "exp": (["--spectrum", "exp", "--decay", "0.25"], 1, 1e-12, 1.0 + 1e-9),
    "rank5": (["--spectrum", "lowrank-noise", "--rank", "5", "--noise", "0"], 1, 1e-13, None),
}
_cache = {}


def planted_input(name):
    """The planted-spectrum input of a case, made once."""
    if ("gen", name) not in _cache:
        _cache[("gen", name)] = gen(name + ".h5", M, N, *cases[name][0])
    return _cache[("gen", name)]


def planted_svd(name, ranks):
    """svd of a case's input at `ranks`, run once: (the run, its output)."""
    if ("svd", name, ranks) not in _cache:
        out = path(f"{name}.{ranks}.h5")
        r = run(["svd", planted_input(name), "-k", K, "-q", cases[name][1], "-o", out, "--quiet"], ranks=ranks)
        _cache[("svd", name, ranks)] = r, out
    return _cache[("svd", name, ranks)]


def poly1_one_rank():
    """The poly1 input and its 1-rank svd (from test_planted_poly1 when it ran): (spec, output)."""
    r, out = planted_svd("poly1", 1)
    assert r.returncode == 0, r.stderr
    return planted_input("poly1"), out


def data():
    """The h5py-written matrices, drawn once from one generator in a fixed order: the client
    files' base matrix, then the bad file's NaN, Inf and ok datasets."""
    if "base" not in _cache:
        rng = np.random.default_rng(5)
        _cache["base"] = (rng.standard_normal((700, 60)) @ np.diag(0.8 ** np.arange(60))
                          @ np.linalg.qr(rng.standard_normal((60, 60)))[0])
        _cache["nan"] = rng.standard_normal((400, 30))
        _cache["inf"] = rng.standard_normal((400, 30))
        _cache["ok"] = rng.standard_normal((50, 20))
    return _cache


def client_file():
    """client.h5: the base matrix as chunked gzip float32, int16, shuffled gzip uint8 and chunked float64."""
    if "client" not in _cache:
        base = data()["base"]
        with h5py.File(path("client.h5"), "w") as f:
            f.create_dataset("grp/f32", data=base.astype(np.float32), chunks=(64, 25), compression="gzip", compression_opts=4)
            f.create_dataset("i16", data=np.round(base * 1000).astype(np.int16))
            f.create_dataset("u8", data=np.round((base - base.min()) * 10).astype(np.uint8), chunks=(100, 60), shuffle=True, compression="gzip")
            f.create_dataset("f64c", data=base, chunks=(33, 7))
        _cache["client"] = path("client.h5")
    return _cache["client"]


def bad_file():
    """bad.h5 (a group, a vector, strings, a compound, NaN, Inf, a good 50 x 20) and text.h5: bad.h5's name."""
    if "bad" not in _cache:
        d = data()
        with h5py.File(path("bad.h5"), "w") as f:
            f.create_group("grp")
            f.create_dataset("vec", data=np.arange(5.0))
            f.create_dataset("str", data=np.array([[b"ab", b"cd"]] * 3))
            f.create_dataset("cmp", data=np.zeros((3, 3), dtype=[("a", "f8"), ("b", "i4")]))
            nan = d["nan"].copy()
            nan[333, 17] = np.nan
            f.create_dataset("nan", data=nan)
            inf = d["inf"].copy()
            inf[12, 3] = -np.inf
            f.create_dataset("inf", data=inf)
            f.create_dataset("ok", data=d["ok"])
        with open(path("text.h5"), "w") as t:
            t.write("plain text\n")
        _cache["bad"] = path("bad.h5")
    return _cache["bad"]


# ---- accuracy on planted spectra, at 1-4 ranks ---------------------------------------------
def planted_case(name):
    opts, q, tol, ratio_bound = cases[name]
    spec = planted_input(name)
    a, planted = matrix(spec)
    ref = np.linalg.svd(a, compute_uv=False)  # LAPACK gesdd
    check(f"{name}: planted singular values are LAPACK's", np.max(np.abs(ref - planted[:len(ref)])) < 1e-13)
    outs = {}
    for ranks in [1, 2, 3, 4]:
        r, out = planted_svd(name, ranks)
        if not check(f"{name}: svd at {ranks} rank(s) exits 0", r.returncode == 0, r.stderr):
            continue
        outs[ranks] = load(out)
    if 1 not in outs:
        return
    u, s, v, attrs = outs[1]
    check(f"{name}: S within {tol:g} sigma_1 of the planted spectrum",
          np.max(np.abs(s - planted[:K])) <= tol * planted[0], f"{s} vs {planted[:K]}")
    check(f"{name}: U, V orthonormal to 1e-12",
          np.max(np.abs(u.T @ u - np.eye(K))) < 1e-12 and np.max(np.abs(v.T @ v - np.eye(K))) < 1e-12)
    resid = np.linalg.norm(a - (u * s) @ v.T)
    optimal = np.sqrt(np.sum(ref[K:] ** 2))
    if ratio_bound:
        check(f"{name}: ||A - U S V^T||_F <= {ratio_bound:g} ||A - A_k||_F", resid <= ratio_bound * optimal,
              f"{resid} vs {optimal}")
    else:
        check(f"{name}: exact rank 5 reconstructed to 1e-13 relative", resid <= 1e-13 * np.linalg.norm(a), resid)
        check(f"{name}: the extra pass B = Q^T A was taken (3 passes)", attrs["passes"] == 3, attrs["passes"])
        check(f"{name}: null singular values at rounding level", np.max(s[5:]) < 1e-14 * s[0], s[5:])
    check(f"{name}: largest |U_ij| of each column is positive",
          all(u[np.argmax(np.abs(u[:, j])), j] > 0 for j in range(K)))
    for ranks in [2, 3, 4]:
        if ranks not in outs:
            continue
        if name == "rank5":
            # five equal singular values and a null space: only U S V^T is unique
            d = np.max(np.abs((outs[ranks][0] * outs[ranks][1]) @ outs[ranks][2].T - (u * s) @ v.T))
            check(f"{name}: {ranks} ranks give the 1-rank U S V^T to 1e-10", d < 1e-10, d)
        else:
            d = max(np.max(np.abs(outs[ranks][i] - outs[1][i])) for i in range(3))
            check(f"{name}: {ranks} ranks agree with 1 rank to 1e-10", d < 1e-10, d)
    for key, val in [("rows", M), ("cols", N), ("rank", K), ("power_iters", q), ("nprocs", 1),
                     ("input_dataset", "/A")]:
        check(f"{name}: attribute {key} = {val}", attrs.get(key) == val, attrs.get(key))

    # prsvd verify agrees with numpy
    r = run(["verify", spec, path(f"{name}.1.h5"), "--json"], ranks=2)
    if check(f"{name}: verify --json exits 0", r.returncode == 0, r.stderr):
        ver = json.loads(r.stdout)
        rel = resid / np.linalg.norm(a)
        check(f"{name}: verify's relative residual matches numpy",
              abs(ver["relative_residual_fro"] - rel) <= 1e-9 * max(rel, 1e-6) + 1e-15,
              f"{ver['relative_residual_fro']} vs {rel}")
        check(f"{name}: verify's orthogonality < 1e-12", ver["orthogonality_u"] < 1e-12 and ver["orthogonality_v"] < 1e-12)


def test_planted_poly1():
    """sigma_j = 1/j at 1-4 ranks: S to 1e-2, orthonormal U and V, residual <= 1.1 optimal, ranks agree, attributes, verify."""
    planted_case("poly1")


def test_planted_poly2():
    """sigma_j = 1/j^2 at 1-4 ranks: S to 1e-4, orthonormal U and V, residual <= 1.1 optimal, ranks agree, verify."""
    planted_case("poly2")


def test_planted_exp():
    """exp(-j/4) spectrum at 1-4 ranks: S to 1e-12, the optimal residual, ranks agree to 1e-10, attributes, verify."""
    planted_case("exp")


def test_planted_rank5():
    """Exact rank 5 at 1-4 ranks: reconstructed to 1e-13 with the extra pass, null values at rounding, verify."""
    planted_case("rank5")


def test_error_estimate():
    """The error estimate (HMT 4.3) bounds ||A - U S V^T||_2; its Frobenius one is within a factor 2."""
    spec, one = poly1_one_rank()
    u, s, v, attrs = load(one)
    a, _ = matrix(spec)
    e2 = np.linalg.norm(a - (u * s) @ v.T, 2)
    efro = np.linalg.norm(a - (u * s) @ v.T)
    check("error_estimate (HMT 4.3) bounds ||A - U S V^T||_2", attrs["error_estimate"] >= e2, f"{attrs['error_estimate']} vs {e2}")
    check("error_estimate_fro within a factor 2 of ||A - U S V^T||_F",
          0.5 * efro <= attrs["error_estimate_fro"] <= 2 * efro, f"{attrs['error_estimate_fro']} vs {efro}")


def test_small_panels():
    """--memory 24K (5-row panels, 300 a rank) gives the one-panel result to 1e-10; --json's passes and pass times."""
    spec, one = poly1_one_rank()
    # (--grid 2x1: with --memory below X's 94 KiB the automatic grid would split the columns)
    r = run(["svd", spec, "-k", K, "-o", path("tiny.h5"), "--memory", "24K", "--json", "--grid", "2x1"], ranks=2)
    if check("--memory 24K (5 rows a panel, 300 panels a rank) exits 0", r.returncode == 0, r.stderr):
        js = json.loads(r.stdout)
        check("--memory 24K used 5-row panels (two buffers for the reader thread)", js["panel_rows"] == 5, js["panel_rows"])
        t, ref1 = load(path("tiny.h5")), load(one)
        d = max(np.max(np.abs(t[i] - ref1[i])) for i in range(3))
        check("tiny panels agree with one panel to 1e-10", d < 1e-10, d)
        check("--json reports passes and singular values",
              js["passes"] == 2 and np.allclose(js["singular_values"], ref1[1], rtol=1e-12))
        pt = js["pass_times"]
        check("--json times each pass: one entry per pass, 0 < min <= max, their sum within elapsed_seconds, CPU time > 0",
              len(pt) == js["passes"] and all(0 < p["time_min"] <= p["time_max"] and p["cpu_max"] > 0 for p in pt)
              and sum(p["time_max"] for p in pt) <= js["elapsed_seconds"], pt)


def test_reader_thread():
    """The reader thread on and off at 1 and 3 ranks agree to 1e-10."""
    spec = planted_input("poly1")
    for ranks in [1, 3]:
        r1 = run(["svd", spec, "-k", K, "-o", path(f"pf.{ranks}.h5"), "--memory", "64K", "--quiet"], ranks=ranks)
        r2 = run(["svd", spec, "-k", K, "-o", path(f"npf.{ranks}.h5"), "--memory", "64K", "--quiet", "--no-prefetch"], ranks=ranks)
        if check(f"reader thread on and off at {ranks} rank(s) exit 0", r1.returncode == 0 and r2.returncode == 0, r1.stderr + r2.stderr):
            a, b = load(path(f"pf.{ranks}.h5")), load(path(f"npf.{ranks}.h5"))
            d = max(np.max(np.abs(a[i] - b[i])) for i in range(3))
            check(f"reader thread on and off at {ranks} rank(s) agree to 1e-10", d < 1e-10, d)


def test_h5py_files():
    """h5py-written chunked gzip float32, int16, shuffled uint8 and chunked float64 at 1 and 3 ranks match LAPACK."""
    client_file()
    for ds, dtype in [("/grp/f32", np.float32), ("/i16", np.int16), ("/u8", np.uint8), ("/f64c", np.float64)]:
        with h5py.File(path("client.h5"), "r") as f:
            a = f[ds][:].astype(np.float64)
        ref = np.linalg.svd(a, compute_uv=False)
        for ranks in [1, 3]:
            out = path(f"client{ds.replace('/', '_')}.{ranks}.h5")
            r = run(["svd", f"{path('client.h5')}:{ds}", "-k", 8, "-p", 20, "-q", 3, "-o", out, "--quiet"], ranks=ranks)
            if check(f"h5py {dtype.__name__} {ds} at {ranks} rank(s) exits 0", r.returncode == 0, r.stderr):
                _, s, _, _ = load(out)
                tol = 1e-5 if dtype is np.float32 else 1e-8  # float32 data is multiplied in float32
                check(f"h5py {dtype.__name__} {ds}: S matches LAPACK to {tol:g} relative",
                      np.max(np.abs(s - ref[:8])) < tol * ref[0], f"{s} vs {ref[:8]}")


def test_info():
    """info --json reports shape, type, chunks and filters; info -k prints the passes and memory a run needs."""
    client_file()
    r = run(["info", f"{path('client.h5')}:/grp/f32", "--json"])
    if check("info --json exits 0", r.returncode == 0, r.stderr):
        js = json.loads(r.stdout)
        check("info reports shape, type, chunks, filters",
              js["rows"] == 700 and js["cols"] == 60 and js["type"] == "float32" and js["chunk_rows"] == 64
              and "gzip(4)" in js["filters"], js)
    r = run(["info", f"{path('client.h5')}:/i16", "-k", 5])
    check("info -k prints the passes and memory a run needs", r.returncode == 0 and "passes" in r.stdout and "memory" in r.stdout, r.stdout)


def test_info_eig_refuses_svd_options():
    """info --eig costs prsvd eig: an option only svd takes is refused (exit 1) as eig refuses it."""
    spec = write("info_eig.h5", np.eye(40))
    svd_only = [["--passes", 1], ["--tol", 0.1], ["--max-rank", 5], ["--block", 4], ["--onepass-method", "two"],
                ["--sketch", "sparse"], ["--range-dim", 9], ["--core-dim", 19], ["--center"], ["--grid", "1x1"],
                ["--no-prefetch"], ["--panels", "rows"], ["--sample-dim", 0]]
    for opt in svd_only:
        r = run(["info", spec, "-k", 5, "--eig", "nystrom", *opt])
        check(f"info --eig {opt[0]}: exit 1, named as eig names an option it does not take",
              r.returncode == 1 and f"unknown option '{opt[0]}' for 'prsvd info --eig'" in r.stderr, r.stderr)
    # without --eig all of them in one run (one launch, not eleven): a refusal of any fails it
    taken = [o for opt in svd_only if opt[0] not in ("--tol", "--max-rank") for o in opt]  # --tol replaces -k
    r = run(["info", spec, "-k", 5, *taken])
    check(f"info {' '.join(map(str, taken))} without --eig: the svd's options, taken", r.returncode == 0, r.stderr)
    r = run(["info", spec, "-k", 5, "--eig", "revd", "-q", 2, "-p", 4, "--memory", "1M", "--precision", "single",
             "--read", "posix", "--threads", 1, "--conv-tol", "1e-3"])
    check("info --eig takes the options eig takes", r.returncode == 0, r.stderr)


def test_gen():
    """gen of a chunked gzip float32 matrix at 1 and 3 ranks: the same matrix, chunks and gzip as asked, its planted spectrum."""
    # gen: chunked, compressed float32 matrix generated by 3 ranks is the same matrix as by 1
    for ranks in [1, 3]:
        r = run(["gen", f"{path(f'g{ranks}.h5')}:/d/X", "--rows", 500, "--cols", 40, "--dtype", "float32",
                 "--chunk", "64x16", "--gzip", "3", "--spectrum", "exp", "--decay", "0.1", "--quiet"], ranks=ranks)
        check(f"gen float32 chunked gzip at {ranks} rank(s) exits 0", r.returncode == 0, r.stderr)
    with h5py.File(path("g1.h5")) as f1, h5py.File(path("g3.h5")) as f3:
        x1, x3 = f1["d/X"][:], f3["d/X"][:]
        check("gen: same matrix from 1 and 3 ranks", x1.dtype == np.float32 and np.array_equal(x1, x3))
        check("gen: chunks and gzip as asked", f1["d/X"].chunks == (64, 16) and f1["d/X"].compression == "gzip")
        check("gen: float32 matrix has the planted spectrum to float32 rounding",
              np.max(np.abs(np.linalg.svd(x1.astype(np.float64), compute_uv=False) - f1["d/X"].attrs["singular_values"])) < 1e-6)


# ---- bad input: exit code, message, and no output -------------------------------------------
def test_bad_input():
    """Every bad input at 1 rank, and those failing in a collective phase at 2: exit code, message, no output."""
    bad_file()
    bad = path("bad.h5")
    out = path("never.h5")
    bad_cases = [
        ("missing file", ["svd", path("nope.h5") + ":/A", "-k", 2, "-o", out], 2, "cannot open '" + path("nope.h5") + "'"),
        ("not HDF5", ["svd", path("text.h5") + ":/A", "-k", 2, "-o", out], 2, "is not an HDF5 file"),
        ("missing dataset", ["svd", bad + ":/missing", "-k", 2, "-o", out], 2, "has no dataset '/missing'"),
        ("group for dataset", ["svd", bad + ":/grp", "-k", 2, "-o", out], 2, "'/grp' in '" + bad + "' is a group, not a dataset"),
        ("1-D dataset", ["svd", bad + ":/vec", "-k", 2, "-o", out], 2, "is 1-D, expected a 2-D matrix"),
        ("string type", ["svd", bad + ":/str", "-k", 1, "-o", out], 2, "has string type"),
        ("compound type", ["svd", bad + ":/cmp", "-k", 1, "-o", out], 2, "has compound type"),
        ("malformed spec", ["svd", bad, "-k", 2, "-o", out], 2, "expected FILE:/path/to/dataset"),
        ("NaN", ["svd", bad + ":/nan", "-k", 2, "-o", out], 2, "NaN at row 333, column 17"),
        ("Inf", ["svd", bad + ":/inf", "-k", 2, "-o", out], 2, "Inf at row 12, column 3"),
        ("k = 0", ["svd", bad + ":/ok", "-k", 0, "-o", out], 1, "--rank = 0 is out of range"),
        ("k > min(m, n)", ["svd", bad + ":/ok", "-k", 21, "-o", out], 1, "--rank 21 exceeds min(rows, cols) = 20"),
        ("missing -k", ["svd", bad + ":/ok", "-o", out], 1, "missing required option --rank"),
        ("missing -o", ["svd", bad + ":/ok", "-k", 2], 1, "missing required option --output"),
        ("unknown option", ["svd", bad + ":/ok", "-k", 2, "-o", out, "--frobnicate"], 1, "unknown option '--frobnicate'"),
        ("bad SIZE", ["svd", bad + ":/ok", "-k", 2, "-o", out, "--memory", "12X"], 1, "bad SIZE '12X' for --memory"),
        ("memory below one row", ["svd", bad + ":/ok", "-k", 2, "-o", out, "--memory", "100"], 1, "holds less than one row"),
        ("unknown command", ["frobnicate"], 1, "unknown command 'frobnicate'"),
        ("output dir missing", ["svd", bad + ":/ok", "-k", 2, "-o", path("no/such/dir/out.h5")], 3, "output directory '" + path("no/such/dir") + "' does not exist"),
        ("output dir is a file", ["svd", bad + ":/ok", "-k", 2, "-o", path("text.h5") + "/out.h5"], 3, "is not a directory"),
    ]
    # every case at 1 rank, without mpirun; at 2 ranks the ones whose error arises in a collective
    # phase (mpirun's abort path costs ~1.5 s a run at 2 ranks, ~2 s at 1)
    at_two = {"missing file", "missing dataset", "NaN", "k > min(m, n)", "output dir missing"}
    for ranks in [1, 2]:
        for desc, args, code, msg in bad_cases:
            if ranks == 2 and desc not in at_two:
                continue
            r = run(args, ranks=ranks if ranks > 1 else None)
            check(f"bad input at {ranks} rank(s): {desc} -> exit {code}", r.returncode == code, f"exit {r.returncode}: {r.stderr}")
            check(f"bad input at {ranks} rank(s): {desc} -> message", "prsvd: error: " in r.stderr and msg in r.stderr, r.stderr)
            check(f"bad input at {ranks} rank(s): {desc} -> no output", not os.path.exists(out) and not temp_leftovers(), os.listdir(WORK))


def test_oversampling_reduced():
    """k + p > min(m, n): p is reduced with a warning."""
    bad = bad_file()
    # k + p > min(m, n): p reduced with a warning
    r = run(["svd", bad + ":/ok", "-k", 15, "-o", path("pred.h5"), "--quiet"])
    check("k + p > min(m, n): runs with a warning", r.returncode == 0 and "oversampling reduced to 5" in r.stderr, r.stderr)


def test_existing_output():
    """An existing output is refused without --force and kept, kept by a failed run with --force, replaced by a good one."""
    bad = bad_file()
    # an existing output is refused without --force and kept intact; replaced with --force
    keep = path("keep.h5")
    with open(keep, "w") as k:
        k.write("precious")
    r = run(["svd", bad + ":/ok", "-k", 2, "-o", keep])
    check("existing output refused without --force (exit 3)", r.returncode == 3 and f"output '{keep}' exists (use --force" in r.stderr, r.stderr)
    check("existing output untouched", open(keep).read() == "precious")
    r = run(["svd", bad + ":/nan", "-k", 2, "-o", keep, "--force"], ranks=2)
    check("a failed run with --force keeps the old file", r.returncode == 2 and open(keep).read() == "precious", r.stderr)
    r = run(["svd", bad + ":/ok", "-k", 2, "-o", keep, "--force", "--quiet"], ranks=2)
    check("--force replaces the output", r.returncode == 0 and h5py.is_hdf5(keep), r.stderr)


# ---- memory is the budget the user sets, not the size of A --------------------------------
MEASURE = """
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
print(r.stdout)
"""


def test_memory_budget():
    """--memory 4M and 64M on a 381 MiB input: the peak RSS stays within the printed plan plus 64 MiB."""
    mem_spec = gen("mem.h5", 100000, 500, "--spectrum", "poly")  # 381 MiB of float64
    for budget in ["4M", "64M"]:
        r = subprocess.run(["/usr/bin/python3", "-c", MEASURE, PRSVD, "svd", mem_spec, "-k", "10", "--memory", budget,
                            "-o", path("mem.out.h5"), "--force"], capture_output=True, text=True)
        head, _, report = r.stdout.partition("\n")
        code, rss = (int(x) for x in head.split())
        plan = [l for l in report.splitlines() if "memory per rank" in l]
        if check(f"--memory {budget}: runs and prints its memory plan", code == 0 and plan, r.stdout + r.stderr):
            total = plan[0].split("total ~")[1].split()
            planned = float(total[0]) * {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[total[1]]
            check(f"--memory {budget}: peak RSS within the plan + 64 MiB of fixed overhead (A is 381 MiB)",
                  rss <= planned + 64 * 2**20, f"rss {rss / 2**20:.1f} MiB, plan {planned / 2**20:.1f} MiB")


# ---- interrupted runs leave nothing behind --------------------------------------------------
_big = {}


def big_input():
    """A 20000 x 400 poly-spectrum matrix for the interrupted runs, made once."""
    if "big" not in _big:
        _big["big"] = gen("big.h5", 20000, 400, "--spectrum", "poly")
    return _big["big"]


def holds_open(pid, name):
    try:
        return any(os.path.realpath(f"/proc/{pid}/fd/{fd}") == os.path.realpath(name)
                   for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def test_interrupted_mid_run():
    """SIGTERM and SIGINT mid-run: exit 143 and 130, no output, no temporary."""
    big = big_input()
    for sig, code in [(signal.SIGTERM, 143), (signal.SIGINT, 130)]:
        target = path(f"interrupted.{sig}.h5")
        # the signal at its default in the run: prsvd leaves a signal ignored at its start ignored
        # (nohup, a shell's `cmd &` ignores SIGINT), and the test may run under such a shell
        p = subprocess.Popen([PRSVD, "svd", big, "-k", "10", "-q", "100", "--memory", "32K", "-o", target, "--quiet"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda sig=sig: signal.signal(sig, signal.SIG_DFL))
        # signalled once it holds the input open (mid-run, its handlers long installed): a
        # fixed second raced the start-up on a loaded machine
        deadline = time.time() + 60
        while p.poll() is None and not holds_open(p.pid, big.rsplit(":", 1)[0]) and time.time() < deadline:
            time.sleep(0.001)
        still_running = p.poll() is None
        p.send_signal(sig)
        _, err = p.communicate(timeout=60)
        check(f"{signal.Signals(sig).name} mid-run: still running when signalled", still_running)
        check(f"{signal.Signals(sig).name} mid-run: exit {code}", p.returncode == code, f"{p.returncode} {err}")
        check(f"{signal.Signals(sig).name} mid-run: no output, no temporary", not os.path.exists(target) and not temp_leftovers(), os.listdir(WORK))


def test_sigterm_during_write():
    """SIGTERM while U is written, replacing a file with --force: exit 143, the previous file intact, no temporary."""
    big = big_input()
    # SIGTERM while U is being written (PRSVD_TEST_SIGTERM_AT_WRITE), replacing a file with --force
    target = path("interrupted.write.h5")
    with open(target, "wb") as f:
        f.write(b"the previous output\n")
    r = run(["svd", big, "-k", "10", "-o", target, "--quiet", "--force"], env={"PRSVD_TEST_SIGTERM_AT_WRITE": "1"})
    check("SIGTERM during the write: exit 143, no output written",
          r.returncode == 143 and "no output written" in r.stderr, f"{r.returncode} {r.stderr}")
    with open(target, "rb") as f:
        check("SIGTERM during the write: the previous file intact, no temporary",
              f.read() == b"the previous output\n" and not temp_leftovers(), os.listdir(WORK))


harness.main(globals())
