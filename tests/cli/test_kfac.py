"""End-to-end tests of `prsvd kfac` (issue 5): Kronecker factors written by h5py, one group
per layer; eigenvalues and eigenvectors against numpy.linalg.eigh (LAPACK), damped inverses
applied from the file against a dense solve, dampings by their definitions, agreement across
rank counts and --threads counts, and bad inputs (exit code, a message naming the layer and
dataset, no output)."""
import json
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, path, run, temp_leftovers  # noqa: E402

rng = np.random.default_rng(5)
R = 6


def averaged_factor(d, steps=8, batch=64, decay=0.9):
    """An exponentially averaged Gram matrix of minibatches with a decaying spectrum."""
    q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    f = None
    for _ in range(steps):
        x = (rng.standard_normal((batch, d)) * 0.6 ** np.arange(d)) @ q.T
        fb = x.T @ x / batch
        f = fb if f is None else decay * f + (1 - decay) * fb
    return (f + f.T) / 2


def lowrank_factor(d, k):
    q = np.linalg.qr(rng.standard_normal((d, k)))[0]
    f = (q * np.linspace(2.0, 0.5, k)) @ q.T
    return (f + f.T) / 2


# The test matrices, drawn here from one generator in the order they always were, whichever
# test runs: the layers' factors, the probe vectors of the damped-inverse checks (in the order
# those checks use them), the 300 x 300 factor streamed in panels, and the bad inputs' factors.
factors = {"fc1": {"A": averaged_factor(41), "G": averaged_factor(25)},
           "fc2": {"A": averaged_factor(26), "G": averaged_factor(12)},
           "lowrank": {"A": lowrank_factor(30, 4), "G": lowrank_factor(15, 3)}}
TOLS = {"eig": 1e-12, "revd": 1e-10, "nystrom": 1e-6, "rsvd": 1e-10}
probes = {(method, ranks, layer, w): rng.standard_normal((a.shape[0], 3))
          for method in TOLS for ranks in [1, 3] for layer, fs in factors.items() for w, a in fs.items()
          if layer == "lowrank" or method == "eig"}
big_factors = {"big": {"A": averaged_factor(300, steps=12), "G": averaged_factor(40)}}
sym = averaged_factor(8)
big_a = averaged_factor(300)
big_ns = big_a + 1e-3 * rng.standard_normal((300, 300))
_files = {}


def write_factors(name, layers):
    with h5py.File(path(name), "w") as f:
        for layer, fs in layers.items():
            g = f.create_group(layer)
            for ds, a in fs.items():
                g.create_dataset(ds, data=a)
    return path(name)


def kfac(inp, out, args, ranks=1):
    return run(["kfac", inp, "-o", path(out), "--force", *[str(a) for a in args]], ranks=ranks)


def read(out):
    with h5py.File(path(out), "r") as f:
        res = {}
        for layer in f:
            res[layer] = {w: (f[layer][f"U_{w}"][:], f[layer][f"lambda_{w}"][:], f[layer].attrs[f"damping_{w}"])
                          for w in "AG"}
        return res, dict(f.attrs)


def spec():
    """factors.h5, written once."""
    if "spec" not in _files:
        _files["spec"] = write_factors("factors.h5", factors)
    return _files["spec"]


def big_spec():
    """big.h5 (the 300 x 300 factor A and a 40 x 40 G), written once."""
    if "big" not in _files:
        _files["big"] = write_factors("big.h5", big_factors)
    return _files["big"]


# ---- every method at 1 and 3 ranks against numpy.linalg.eigh ---------------------------------
def method_case(method):
    tol = TOLS[method]
    spec_ = spec()
    results = {}
    for ranks in [1, 3]:
        # 1 thread a rank at both counts: `mpirun -n 1` now runs 2 on this machine (a lone rank's
        # default binding is widened), and the split ranks x threads changes the factors that are
        # not unique here (the low-rank layer's) by more than rounding
        args = ["--method", method, "--quiet", "--threads", 1] + ([] if method == "eig" else ["--rank", R])
        r = kfac(spec_, f"inv.{method}.{ranks}.h5", args, ranks)
        if not check(f"kfac {method} at {ranks} rank(s) exits 0", r.returncode == 0, r.stderr):
            continue
        res, attrs = read(f"inv.{method}.{ranks}.h5")
        results[(method, ranks)] = res
        check(f"kfac {method}: the file holds every layer and the method", sorted(res) == sorted(factors)
              and attrs["method"] == method, (sorted(res), attrs))
        worst_l, worst_u, worst_d, worst_inv = 0.0, 0.0, 0.0, 0.0
        for layer, fs in factors.items():
            for w, a in fs.items():
                u, lam, damping = res[layer][w]
                d = a.shape[0]
                ref = np.linalg.eigh(a)[0][::-1]
                r_want = d if method == "eig" else R
                if not check(f"kfac {method} {layer}/{w}: U is {d} x {r_want}", u.shape == (d, r_want) and lam.shape == (r_want,), u.shape):
                    continue
                worst_l = max(worst_l, np.max(np.abs(lam - ref[:r_want])) / ref[0])
                worst_u = max(worst_u, np.max(np.abs(u.T @ u - np.eye(r_want))))
                worst_d = max(worst_d, abs(damping - 0.1 * lam[0]) / (0.1 * lam[0]))
                if layer == "lowrank" or method == "eig":
                    # exact: (F + delta I)^-1 x = U[(L + delta)^-1 - 1/delta]U^T x + x / delta
                    x = probes[(method, ranks, layer, w)]
                    y = u @ ((1 / (lam + damping) - 1 / damping)[:, None] * (u.T @ x)) + x / damping
                    ref_y = np.linalg.solve(a + damping * np.eye(d), x)
                    worst_inv = max(worst_inv, np.max(np.abs(y - ref_y)) / np.max(np.abs(ref_y)))
        check(f"kfac {method} at {ranks} rank(s): top eigenvalues within {tol:g} lambda_1 of dsyevd", worst_l <= tol, worst_l)
        check(f"kfac {method} at {ranks} rank(s): U orthonormal to 1e-12", worst_u <= 1e-12, worst_u)
        check(f"kfac {method} at {ranks} rank(s): damping = 0.1 lambda_max", worst_d <= 1e-14, worst_d)
        check(f"kfac {method} at {ranks} rank(s): damped inverse from the file = dense solve to 1e-10 where exact",
              worst_inv <= 1e-10, worst_inv)
    if (method, 1) in results and (method, 3) in results:
        diff = max(np.max(np.abs(results[(method, 1)][layer][w][i] - results[(method, 3)][layer][w][i]))
                   for layer in factors for w in "AG" for i in range(2))
        check(f"kfac {method}: 3 ranks agree with 1 rank to 1e-12", diff <= 1e-12, diff)


def test_method_eig():
    """kfac eig (dsyevd) at 1 and 3 ranks: eigh's eigenpairs to 1e-12, damping, damped inverses, ranks agree."""
    method_case("eig")


def test_method_revd():
    """kfac revd at 1 and 3 ranks: eigh's top eigenvalues to 1e-10, orthonormal U, damping, ranks agree."""
    method_case("revd")


def test_method_nystrom():
    """kfac nystrom at 1 and 3 ranks: eigh's top eigenvalues to 1e-6, orthonormal U, damping, ranks agree."""
    method_case("nystrom")


def test_method_rsvd():
    """kfac rsvd at 1 and 3 ranks: eigh's top eigenvalues to 1e-10, orthonormal U, damping, ranks agree."""
    method_case("rsvd")


# ---- damping options, --layers, --json ------------------------------------------------------
def test_damping_layers_json():
    """--pi with an absolute damping splits it by the traces; --layers writes only those; --json names them."""
    r = kfac(spec(), "inv.pi.h5", ["--method", "eig", "--damping", "0.01", "--damping-kind", "absolute", "--pi",
                                 "--layers", "fc2,lowrank", "--json"], 2)
    if check("kfac --pi --damping-kind absolute --layers --json exits 0", r.returncode == 0, r.stderr):
        res, _ = read("inv.pi.h5")
        check("--layers writes only the layers named", sorted(res) == ["fc2", "lowrank"], sorted(res))
        worst = 0.0
        for layer in res:
            a, g = factors[layer]["A"], factors[layer]["G"]
            pi = np.sqrt((np.trace(a) / a.shape[0]) / (np.trace(g) / g.shape[0]))
            worst = max(worst, abs(res[layer]["A"][2] - pi * 0.1) / (pi * 0.1), abs(res[layer]["G"][2] - 0.1 / pi) / (0.1 / pi))
        check("--pi: lambda_A = pi sqrt(gamma), lambda_G = sqrt(gamma) / pi", worst <= 1e-12, worst)
        try:
            js = json.loads(r.stdout)
            ok = js["command"] == "kfac" and [l["name"] for l in js["layers"]] == ["fc2", "lowrank"] \
                and js["layers"][0]["A"]["dim"] == 26
        except (ValueError, KeyError, IndexError) as e:
            ok, js = False, e
        check("--json: one object naming the layers and their factors", ok, js)


# ---- streamed and distributed factors ---------------------------------------------------------
# A 300 x 300 factor is 720 KB: under --memory 64K the randomized methods stream it from the file
# in panels of at most 13 rows (two buffers, 2400 bytes a row), >= 23 panels a pass, and must
# give what they give the factor in memory, at 1 and 2 ranks.  --distribute-dim 100: at 2 and 3
# ranks all ranks decompose it together (eig: ScaLAPACK PDSYEVD).  --pi needs the traces: a
# streamed factor's comes from one more pass over the file.
def test_streamed_factors():
    """revd, nystrom, rsvd of a 300 x 300 factor streamed under --memory 64K at 1 and 2 ranks equal the in-memory result."""
    big = big_spec()
    for method in ["revd", "nystrom", "rsvd"]:
        args = ["--method", method, "--rank", 10, "-q", 3, "--pi", "--quiet"]
        r = kfac(big, f"big.{method}.mem.h5", args)
        if not check(f"kfac {method} of a 300 x 300 factor in memory exits 0", r.returncode == 0, r.stderr):
            continue
        ref, _ = read(f"big.{method}.mem.h5")
        for ranks in [1, 2]:
            r = kfac(big, f"big.{method}.{ranks}.h5", args[:-1] + ["--memory", "64K", "--json"], ranks)
            if not check(f"kfac {method} --memory 64K at {ranks} rank(s) exits 0", r.returncode == 0, r.stderr):
                continue
            js = json.loads(r.stdout)["layers"][0]
            check(f"kfac {method} --memory 64K at {ranks} rank(s): A streamed by all ranks, G read whole",
                  js["A"]["streamed"] and js["A"]["owner"] == -1 and not js["G"]["streamed"], js)
            res, _ = read(f"big.{method}.{ranks}.h5")
            diff = max(np.max(np.abs(res["big"][w][i] - ref["big"][w][i])) for w in "AG" for i in range(3))
            check(f"kfac {method} streamed in panels at {ranks} rank(s) = in memory to 1e-10 (U, lambda, pi-split dampings)",
                  diff <= 1e-10, diff)


def test_distributed_eig():
    """kfac eig of a 300 x 300 factor: dsyevd on 1 rank; PDSYEVD at 2 and 3 ranks (--distribute-dim 100) the same."""
    big = big_spec()
    r = kfac(big, "big.eig.1.h5", ["--method", "eig", "--quiet"])
    if check("kfac eig of a 300 x 300 factor on 1 rank (dsyevd) exits 0", r.returncode == 0, r.stderr):
        ref, _ = read("big.eig.1.h5")
        lam_ref = np.linalg.eigh(factors_big := big_factors["big"]["A"])[0][::-1]
        check("kfac eig: dsyevd's eigenvalues", np.max(np.abs(ref["big"]["A"][1] - lam_ref)) <= 1e-14 * lam_ref[0], ref["big"]["A"][1][:3])
        for ranks in [2, 3]:
            r = kfac(big, f"big.eig.{ranks}.h5", ["--method", "eig", "--distribute-dim", 100, "--json"], ranks)
            if not check(f"kfac eig --distribute-dim 100 at {ranks} ranks exits 0", r.returncode == 0, r.stderr):
                continue
            js = json.loads(r.stdout)["layers"][0]
            check(f"kfac eig --distribute-dim 100 at {ranks} ranks: A by all ranks, G by one",
                  js["A"]["owner"] == -1 and js["G"]["owner"] >= 0, js)
            res, _ = read(f"big.eig.{ranks}.h5")
            u, lam = res["big"]["A"][0], res["big"]["A"][1]
            dl = np.max(np.abs(lam - ref["big"]["A"][1])) / lam[0]
            du = np.max(np.abs(u[:, :8] - ref["big"]["A"][0][:, :8]))  # beyond, gaps below 1e-4 lambda_1
            resid = np.max(np.abs(factors_big @ u - u * lam))
            check(f"kfac eig PDSYEVD at {ranks} ranks = dsyevd: eigenvalues to 1e-13 lambda_1, top 8 eigenvectors to 1e-10, "
                  "every residual below 1e-14", dl <= 1e-13 and du <= 1e-10 and resid <= 1e-14, (dl, du, resid))


# ---- compute threads -------------------------------------------------------------------------
# --threads 1, 2, 3 at 1 and 2 ranks: each decomposition runs on T threads (eig: dsyevd's BLAS,
# and PDSYEVD's when both ranks decompose the 300 x 300 factor together; revd: the factors in
# memory split among the threads of the sketches; rsvd: the 300 x 300 factor streamed under
# --memory 64K), and gives the 1 x 1 result to rounding and still numpy's eigenvalues.  The
# eigenvectors compared are those whose eigenvalue lies 1e-4 lambda_1 from every other (rounding
# moves an eigenvector by about eps lambda_1 / gap: the averaged factors' smallest eigenvalues
# are 1e-8 lambda_1 apart and below, and their eigenvectors move by 1e-8 with the BLAS's threads).
THREAD_SPLITS = [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]


def threads_case(method, src, layers, args):
    base = None
    for ranks, threads in THREAD_SPLITS:
        out = f"thr.{method}.{ranks}x{threads}.h5"
        r = kfac(src(), out, ["--method", method, *args, "--threads", threads, "--json"], ranks)
        if not check(f"kfac {method} at {ranks} rank(s) x {threads} thread(s) exits 0", r.returncode == 0, r.stderr):
            continue
        t = json.loads(r.stdout)["threads"]
        check(f"kfac {method} {ranks} x {threads}: --json says {threads} thread(s) a rank on {ranks} rank(s), asked for",
              (t["per_rank"], t["ranks"], t["chosen"]) == (threads, ranks, "--threads"), t)
        res, _ = read(out)
        worst_ref = 0.0
        for layer, fs in layers.items():
            for w, a in fs.items():
                lam = res[layer][w][1]
                ref = np.linalg.eigh(a)[0][::-1][:len(lam)]
                worst_ref = max(worst_ref, np.max(np.abs(lam - ref)) / ref[0])
        tol = TOLS[method]
        check(f"kfac {method} {ranks} x {threads}: numpy's eigenvalues to {tol:g} lambda_1", worst_ref <= tol, worst_ref)
        if base is None:
            base = res
            continue
        du = dl = dd = 0.0
        fewest = np.inf  # eigenvectors compared, the fewest of any factor
        for layer, fs in layers.items():
            for w, a in fs.items():
                (u, lam, damping), (u1, lam1, damping1) = res[layer][w], base[layer][w]
                ev = np.linalg.eigvalsh(a)[::-1]
                gaps = np.abs(ev[:, None] - ev[None, :]) + np.diag(np.full(len(ev), np.inf))
                keep = np.min(gaps, axis=1)[:len(lam)] > 1e-4 * ev[0]
                fewest = min(fewest, np.sum(keep))
                du = max(du, np.max(np.abs(u[:, keep] - u1[:, keep])))
                dl = max(dl, np.max(np.abs(lam - lam1)) / lam1[0])
                dd = max(dd, abs(damping - damping1) / damping1)
        check(f"kfac {method} {ranks} x {threads} = 1 x 1 to 1e-10: eigenvectors, eigenvalues (of lambda_1), dampings",
              max(du, dl, dd) <= 1e-10 and fewest >= 3, (du, dl, dd, fewest))


def test_threads_eig():
    """kfac eig with --threads 1, 2, 3 at 1 and 2 ranks: the 1 x 1 eigenpairs to 1e-10, numpy's eigenvalues."""
    threads_case("eig", spec, factors, [])


def test_threads_eig_distributed():
    """kfac eig of the 300 x 300 factor, PDSYEVD at 2 ranks (--distribute-dim 100), with --threads 1, 2, 3 agrees."""
    threads_case("eig", big_spec, big_factors, ["--distribute-dim", 100])


def test_threads_revd():
    """kfac revd with --threads 1, 2, 3 at 1 and 2 ranks: the 1 x 1 eigenpairs to 1e-10, numpy's eigenvalues."""
    threads_case("revd", spec, factors, ["--rank", R])


def test_threads_rsvd_streamed():
    """kfac rsvd of the 300 x 300 factor streamed under --memory 64K with --threads 1, 2, 3 at 1 and 2 ranks agrees."""
    threads_case("rsvd", big_spec, big_factors, ["--rank", 10, "--memory", "64K"])


def test_threads_text_and_refused():
    """The summary says ranks x threads as svd's plan does; --threads 0, -1, huge or not a number is a usage error."""
    r = kfac(spec(), "thr.text.h5", ["--rank", R, "--threads", 2])
    check("kfac --threads 2: the summary says 1 rank x 2 threads and that they were asked for",
          r.returncode == 0 and "1 rank x 2 threads (--threads 2;" in r.stdout, r.stdout)
    out = path("thr.bad.h5")
    for value in ["0", "-1", "1025", "100000", "two"]:
        if os.path.exists(out):
            os.remove(out)
        rr = run(["kfac", spec(), "--rank", R, "-o", out, "--threads", value])
        check(f"kfac --threads {value}: a usage error (exit 1) naming --threads and its range, no output",
              rr.returncode == 1 and "--threads" in rr.stderr and ("[1, 1024]" in rr.stderr or "integer" in rr.stderr)
              and not os.path.exists(out), (rr.returncode, rr.stderr))


# ---- bad inputs -------------------------------------------------------------------------------
def test_bad_inputs():
    """Non-square, non-symmetric, NaN, indefinite, missing layers or datasets, bad options, also streamed: exit, message, no output."""
    bad = {}
    bad["nonsquare"] = write_factors("nonsquare.h5", {"fc1": {"A": sym, "G": sym[:, :5]}})
    ns = sym.copy()
    ns[1, 4] += 1e-3
    bad["nonsym"] = write_factors("nonsym.h5", {"fc1": {"A": sym, "G": sym}, "fc2": {"A": sym, "G": ns}})
    nan = sym.copy()
    nan[2, 3] = np.nan
    bad["nan"] = write_factors("nan.h5", {"fc1": {"A": sym, "G": sym}, "fc2": {"A": sym, "G": nan}})
    indef = sym - 2 * np.eye(8) * np.max(np.linalg.eigvalsh(sym))
    bad["indef"] = write_factors("indef.h5", {"fc1": {"A": sym, "G": indef}})
    bad["noG"] = write_factors("noG.h5", {"fc1": {"A": sym}})
    with h5py.File(path("empty.h5"), "w") as f:
        f.create_dataset("A", data=sym)
    bad["nogroups"] = path("empty.h5")
    big_nan = big_a.copy()
    big_nan[250, 7] = np.nan
    bad["bignan"] = write_factors("bignan.h5", {"big": {"A": big_nan, "G": sym}})
    bad["bignonsym"] = write_factors("bignonsym.h5", {"big": {"A": big_ns, "G": sym}})
    out = path("bad.out.h5")
    cases = [
        ("non-square factor", [bad["nonsquare"], "--rank", 2], 2, "nonsquare.h5:/fc1/G' is 8 x 5: a Kronecker factor must be square"),
        ("non-symmetric factor", [bad["nonsym"], "--rank", 2], 2, "nonsym.h5:/fc2/G' is not symmetric: F[1][4]"),
        ("NaN in a factor", [bad["nan"], "--rank", 2], 2, "nan.h5:/fc2/G' has NaN at row 2, column 3"),
        ("indefinite factor", [bad["indef"], "--method", "eig"], 2, "indef.h5:/fc1/G' is not positive semidefinite"),
        ("rank above a dimension", [spec(), "--rank", 13], 1, "--rank 13 exceeds the dimension 12 of"),
        ("missing layer group", [spec(), "--rank", 2, "--layers", "fc1,nope"], 2, "has no layer group 'nope'"),
        ("missing G dataset", [bad["noG"], "--rank", 2], 2, "has no dataset '/fc1/G'"),
        ("file without layer groups", [bad["nogroups"], "--rank", 2], 2, "has no layer groups"),
        ("missing file", [path("absent.h5"), "--rank", 2], 2, "cannot open"),
        ("unknown method", [spec(), "--method", "lanczos"], 1, "unknown --method 'lanczos'"),
        ("randomized method without --rank", [spec(), "--method", "nystrom"], 1, "--rank is required"),
        ("NaN in a streamed factor", [bad["bignan"], "--rank", 4, "--memory", "64K"], 2, "bignan.h5:/big/A': NaN at row 250, column 7"),
        ("non-symmetric streamed factor", [bad["bignonsym"], "--rank", 4, "--memory", "64K"], 2, "bignonsym.h5:/big/A' is not symmetric"),
        ("eig of a factor above --memory", [bad["bignan"], "--method", "eig", "--memory", "64K"], 1, "use --method revd, nystrom or rsvd, which stream it"),
    ]
    # every case at 1 rank, without mpirun (whose abort path costs ~2 s a failing run at 1 rank);
    # at 2 ranks those found in the factors or the plan, not the two options refused as parsed
    parsed = {"unknown method", "randomized method without --rank"}
    for desc, args, code, msg in cases:
        for ranks in [1, 2] if desc not in parsed else [1]:
            if os.path.exists(out):
                os.remove(out)  # one failure does not cascade into the next case
            rr = run(["kfac", *args, "-o", out], ranks=ranks if ranks > 1 else None)
            check(f"{desc} at {ranks} rank(s): exit {code}", rr.returncode == code, (rr.returncode, rr.stderr))
            check(f"{desc} at {ranks} rank(s): message names it", msg in rr.stderr and "prsvd: error:" in rr.stderr, rr.stderr)
            check(f"{desc} at {ranks} rank(s): no output written", not os.path.exists(out) and not temp_leftovers(),
                  os.listdir(os.path.dirname(out)))


harness.main(globals())
