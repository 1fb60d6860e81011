"""prsvd id and prsvd cur (issue 18): the interpolative decomposition against numpy and
scipy.linalg.interpolative on 1, 2 and 3 ranks, on matrices with known spectra.  The chosen
indices are valid and distinct, T(:, J) = I (X(I, :) = I), the error is the one the file
reports and within the factor of sigma_{k+1} that bench/id_accuracy.py recorded
(bench/RESULTS.md), no worse than scipy's randomized ID, and the same seed chooses the same
indices at any rank count, by either pivoted QR.  Then the estimate without the extra pass,
--compare, sparse, float32 and column-compressed inputs, and the refusals.  Last the CUR
decomposition: U is C^+ A R^+ for its C and R, also when C is ill-conditioned."""
import json
import os
import sys

import anndata
import h5py
import numpy as np
import scipy.linalg.interpolative as sli
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, path, run, write  # noqa: E402

M, N, K = 900, 250, 15
# the factors bench/id_accuracy.py measured (worst over spectra, k and seeds), rounded up:
# ||E||_2 / sigma_{k+1} and ||E||_F / ||A - A_k||_F
FACTOR = {1: (4.5, 2.2), 0: (9.0, 6.5)}
CUR_FACTOR = (CUR_2, CUR_F) = (3.0, 2.9)


def known(kind, seed=5, m=M, n=N):
    """U diag(s) V^T with random orthonormal U, V: poly s_j = 1/j, exp s_j = 10^(-0.05 (j - 1))."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((m, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    j = np.arange(1, n + 1, dtype=float)
    s = 1.0 / j if kind == "poly" else 10.0 ** (-0.05 * (j - 1))
    return (u * s) @ v.T, s


MATS = {kind: known(kind) for kind in ("poly", "exp")}
SPECS = {kind: write(f"{kind}.h5", a) for kind, (a, _) in MATS.items()}


def prsvd_id(spec, out, *args, ranks=1):
    r = run(["id", spec, "-k", K, "-o", path(out), "--force", "--json", *args], ranks=ranks if ranks > 1 else None,
            timeout=120)
    res = json.loads(r.stdout) if r.returncode == 0 else None
    with h5py.File(path(out), "r") as f:
        data = {name: f[name][:] for name in f} if res else None
        if res:
            data["attrs"] = dict(f.attrs)
    return r, res, data


def column_error(a, j, t):
    e = a - a[:, j] @ t
    return np.linalg.norm(e, 2), np.linalg.norm(e)


def check_indices(what, idx, piv, limit):
    check(f"{what}: {K} indices, valid and distinct, /pivots the same set as the ascending list",
          len(idx) == K and len(set(idx.tolist())) == K and idx.min() >= 0 and idx.max() < limit
          and np.all(np.diff(idx) > 0) and sorted(piv.tolist()) == idx.tolist(), (idx, piv))


def test_column_id_against_numpy_and_scipy():
    """Column ID on poly and exp spectra at 1, 2, 3 ranks: T(:, J) = I, the reported error is
    the true one, within the recorded factors, no worse than scipy's randomized ID, within 2x
    of the deterministic pivoted QR of A; the same J at every rank count."""
    for kind, (a, s) in MATS.items():
        np.random.seed(3)
        idx, proj = sli.interp_decomp(a, K)
        ref_rand = column_error(a, idx[:K], sli.reconstruct_interp_matrix(idx, proj))
        idx, proj = sli.interp_decomp(a, K, rand=False)
        ref_det = column_error(a, idx[:K], sli.reconstruct_interp_matrix(idx, proj))
        opt_f = np.sqrt(np.sum(s[K:] ** 2))
        first = None
        for ranks in (1, 2, 3):
            what = f"{kind}, {ranks} rank(s)"
            r, res, d = prsvd_id(SPECS[kind], f"c{kind}{ranks}.h5", ranks=ranks)
            if not check(f"{what}: prsvd id exits 0", r.returncode == 0, r.stderr):
                continue
            j, t = d["pivots"], d["T"]
            check_indices(what, d["columns"], j, N)
            check(f"{what}: T is {K} x {N} and T(:, J) = I exactly", t.shape == (K, N) and np.array_equal(t[:, j], np.eye(K)),
                  t.shape)
            e2, ef = column_error(a, j, t)
            check(f"{what}: error_fro is ||A - A(:, J) T||_F (measured by a pass)",
                  abs(d["attrs"]["error_fro"] - ef) <= 1e-10 * ef and res["error_from"] == "pass" and res["passes"] == 3,
                  (d["attrs"]["error_fro"], ef))
            f2, ff = FACTOR[1]
            check(f"{what}: ||E||_2 = {e2 / s[K]:.2f} sigma_(k+1) <= {f2}, ||E||_F = {ef / opt_f:.2f} x optimal <= {ff}",
                  e2 <= f2 * s[K] and ef <= ff * opt_f)
            check(f"{what}: no worse than scipy's randomized ID ({ef:.4g} vs {ref_rand[1]:.4g}), within 2x of the "
                  f"pivoted QR of A ({ref_det[1]:.4g})", ef <= 1.05 * ref_rand[1] and ef <= 2 * ref_det[1])
            check(f"{what}: |T_ij| <= max_abs_coefficient = {res['max_abs_coefficient']:.3g}, a small number",
                  abs(np.abs(t).max() - res["max_abs_coefficient"]) < 1e-12 and np.abs(t).max() < 10)
            if first is None:
                first = (j, t)
            else:
                check(f"{what}: the same pivots as on 1 rank, T to 1e-10", np.array_equal(j, first[0])
                      and np.abs(t - first[1]).max() < 1e-10, (j, first[0]))


def test_q0_and_sparse_sketch():
    """q = 0 (one left-sketch pass) and the sparse sign map stay within their factors."""
    a, s = MATS["poly"]
    opt_f = np.sqrt(np.sum(s[K:] ** 2))
    for args, q in ((["-q", "0"], 0), (["--sketch", "sparse"], 1), (["-q", "0", "--sketch", "sparse"], 0)):
        r, res, d = prsvd_id(SPECS["poly"], "q.h5", *args, ranks=2)
        if not check(f"{' '.join(args)}: exits 0", r.returncode == 0, r.stderr):
            continue
        e2, ef = column_error(a, d["pivots"], d["T"])
        f2, ff = FACTOR[q]
        check(f"{' '.join(args)}: {q + 2} passes, ||E||_2 = {e2 / s[K]:.2f} sigma_(k+1) <= {f2}, ||E||_F = "
              f"{ef / opt_f:.2f} x optimal <= {ff}", res["passes"] == q + 2 and e2 <= f2 * s[K] and ef <= ff * opt_f)


def test_row_id():
    """--rows: A ~ X A(I, :) with X(I, :) = I, against scipy's ID of A^T; the same rows at 1,
    2 and 3 ranks, by the local and the distributed pivoted QR, and with collective reads."""
    a, s = MATS["exp"]
    np.random.seed(4)
    idx, proj = sli.interp_decomp(a.T, K)
    ref = np.linalg.norm(a - sli.reconstruct_interp_matrix(idx, proj).T @ a[idx[:K], :])
    first = None
    # MPI-IO collective reads: the ranks owning fewer of the k rows read A(I, :) with them
    for ranks, qr, extra in ((1, "local", []), (2, "local", []), (3, "local", []), (2, "distributed", []),
                             (3, "distributed", []), (3, "local", ["--read", "collective"])):
        what = f"rows, {ranks} rank(s), {qr} QR{' '.join([''] + extra)}"
        r, res, d = prsvd_id(SPECS["exp"], f"r{ranks}{qr}.h5", "--rows", "--qr", qr, *extra, ranks=ranks)
        if not check(f"{what}: exits 0", r.returncode == 0, r.stderr):
            continue
        i, x = d["pivots"], d["X"]
        check_indices(what, d["rows"], i, M)
        check(f"{what}: X is {M} x {K} and X(I, :) = I", x.shape == (M, K) and np.array_equal(x[i, :], np.eye(K)))
        e = a - x @ a[i, :]
        ef, e2 = np.linalg.norm(e), np.linalg.norm(e, 2)
        check(f"{what}: error_fro is ||A - X A(I, :)||_F, {ef / ref:.2f} x scipy's, {e2 / s[K]:.2f} sigma_(k+1)",
              abs(res["error_fro"] - ef) <= 1e-10 * ef and ef <= 1.05 * ref and e2 <= FACTOR[1][0] * s[K]
              and res["pivoted_qr"] == ("PDGEQPF" if qr == "distributed" else "DGEQP3"))
        if first is None:
            first = (i, x)
        else:
            check(f"{what}: the same rows as on 1 rank, X to 1e-10",
                  np.array_equal(i, first[0]) and np.abs(x - first[1]).max() < 1e-10)


def test_distributed_qr_spanning_ranks():
    """PDGEQPF where R11 spans the blocks of several ranks (k = 20 of 40 columns on 3 ranks),
    forced or chosen by --memory: the same J and T as DGEQP3."""
    a, _ = known("poly", seed=8, m=300, n=40)
    spec = write("narrow.h5", a)
    out = {}
    # auto: the local QR would hold 8 (30 + 20 + 1) 40 = 16320 bytes on rank 0, more than 12K
    for qr, args, want in (("local", ["--qr", "local"], "DGEQP3"), ("distributed", ["--qr", "distributed"], "PDGEQPF"),
                           ("auto", ["--memory", "12K"], "PDGEQPF")):
        r = run(["id", spec, "-k", 20, *args, "-o", path(f"n{qr}.h5"), "--force", "--quiet"], ranks=3)
        if check(f"{' '.join(args)}, k = 20 of 40 columns, 3 ranks: exits 0", r.returncode == 0, r.stderr):
            with h5py.File(path(f"n{qr}.h5"), "r") as f:
                out[qr] = f["pivots"][:], f["T"][:]
                check(f"{' '.join(args)}: pivoted_qr = {want}", f.attrs["pivoted_qr"] == want, f.attrs["pivoted_qr"])
    for qr in ("distributed", "auto"):
        if qr in out and "local" in out:
            j, t = out[qr]
            check(f"{qr}: PDGEQPF chose DGEQP3's columns, T(:, J) = I, T to 1e-10",
                  np.array_equal(j, out["local"][0]) and np.array_equal(t[:, j], np.eye(20))
                  and np.abs(t - out["local"][1]).max() < 1e-10, (j, out["local"][0]))


def test_estimate_without_the_pass():
    """--no-verify-pass: q + 1 passes, the error estimated from 10 probes with a 95% interval
    that holds the true error."""
    a, _ = MATS["poly"]
    for args in ([], ["--rows"]):
        r, res, d = prsvd_id(SPECS["poly"], "est.h5", "--no-verify-pass", *args, ranks=2)
        if not check(f"--no-verify-pass {' '.join(args)}: exits 0", r.returncode == 0, r.stderr):
            continue
        if args:
            true = np.linalg.norm(a - d["X"] @ a[d["pivots"], :])
        else:
            true = np.linalg.norm(a - a[:, d["pivots"]] @ d["T"])
        lo, hi = res["error_ci"]
        check(f"--no-verify-pass {' '.join(args)}: 2 passes, error_from probes, {true:.4g} in [{lo:.4g}, {hi:.4g}], "
              f"estimate {res['error_fro']:.4g}", res["passes"] == 2 and res["error_from"] == "probes"
              and lo <= true <= hi and d["attrs"]["error_from"] == "probes")


def test_compare():
    """--compare: the optimal rank-k error from prsvd svd's /S (||A||_F^2 minus its squares) and
    from a file with all of S (the tail summed), sigma_{k+1}, and the ratio."""
    a, s = MATS["poly"]
    opt = np.sqrt(np.sum(s[K:] ** 2))
    r = run(["svd", SPECS["poly"], "-k", K + 5, "-q", 3, "-o", path("svd.h5"), "--force", "--quiet"])
    check("prsvd svd for --compare exits 0", r.returncode == 0, r.stderr)
    with h5py.File(path("full.h5"), "w") as f:
        f["S"] = s
    for name, tol in (("svd.h5", 1e-3), ("full.h5", 1e-12)):
        r, res, d = prsvd_id(SPECS["poly"], "cmp.h5", "--compare", path(name))
        if not check(f"--compare {name}: exits 0", r.returncode == 0, r.stderr):
            continue
        check(f"--compare {name}: optimal_error_fro = ||A - A_k||_F to {tol:g}, sigma_(k+1), error_ratio",
              abs(res["optimal_error_fro"] - opt) <= tol * opt and abs(res["sigma_next"] - s[K]) <= 1e-3 * s[K]
              and abs(res["error_ratio"] - res["error_fro"] / res["optimal_error_fro"]) < 1e-12
              and abs(d["attrs"]["optimal_error_fro"] - res["optimal_error_fro"]) < 1e-15,
              (res.get("optimal_error_fro"), opt))


def test_inputs():
    """AnnData CSR (the residual densified a row tile at a time), its CSC copy (streamed
    transposed: A's column ID is the streamed matrix's row ID) and float32 data multiplied in
    float32: the same columns as the float64 dense run."""
    a, _ = known("poly", seed=6, m=600, n=120)
    a[np.abs(a) < 0.6 * np.abs(a).max() * 0.05] = 0.0  # sparse enough to be worth storing so
    x = sp.csr_matrix(a)
    dense = write("sp_dense.h5", a)
    anndata.AnnData(X=x, dtype=np.float64).write_h5ad(path("sp.h5ad"))
    anndata.AnnData(X=sp.csc_matrix(x), dtype=np.float64).write_h5ad(path("spc.h5ad"))
    f32 = write("f32.h5", a.astype(np.float32))
    r = run(["id", dense, "-k", K, "-o", path("ref.h5"), "--force", "--quiet"], ranks=2)
    check("dense float64 reference exits 0", r.returncode == 0, r.stderr)
    with h5py.File(path("ref.h5"), "r") as f:
        j_ref, t_ref, e_ref = f["pivots"][:], f["T"][:], f.attrs["error_fro"]
    for name, spec, tol in (("AnnData CSR", f"{path('sp.h5ad')}:/X", 1e-9), ("AnnData CSC", f"{path('spc.h5ad')}:/X", 1e-9),
                            ("float32", f32, 1e-3)):
        r, res, d = prsvd_id(spec, "in.h5", ranks=2)
        if not check(f"{name}: exits 0", r.returncode == 0, r.stderr):
            continue
        check(f"{name}: the dense run's columns, T to {tol:g}, error to {tol:g}", np.array_equal(d["pivots"], j_ref)
              and np.abs(d["T"] - t_ref).max() < tol * 100 and abs(res["error_fro"] - e_ref) <= tol * e_ref,
              (d["pivots"], j_ref, res["error_fro"], e_ref))


def test_refusals():
    """Bad k, k above the numerical rank, the output as the input or the --compare file, a
    --compare of another matrix or too short, NaN: each refused with its exit code and no
    output left."""
    spec = SPECS["poly"]
    rng = np.random.default_rng(2)
    low = write("low.h5", rng.standard_normal((200, 5)) @ rng.standard_normal((5, 60)))
    nan = MATS["poly"][0].copy()
    nan[123, 45] = np.nan
    nanspec = write("nan.h5", nan)
    with h5py.File(path("short.h5"), "w") as f:
        f["S"] = np.ones(5)
    with h5py.File(path("other.h5"), "w") as f:
        f["S"] = np.ones(40)
        f.attrs["rows"], f.attrs["cols"] = 10, 40
    cases = [
        ("k = 0", [spec, "-k", 0], 1, "--rank = 0 is out of range"),
        ("k > min(m, n)", [spec, "-k", N + 1], 1, f"exceeds min(rows, cols) = {N}"),
        ("no -k", [spec], 1, "missing required option --rank"),
        ("--qr sideways", [spec, "-k", K, "--qr", "sideways"], 1, "unknown --qr 'sideways'"),
        ("--sketch dense", [spec, "-k", K, "--sketch", "dense"], 1, "unknown --sketch 'dense'"),
        ("output = input", [spec, "-k", K, "-o", path("poly.h5"), "--force"], 1, "same file"),
        ("output = --compare", [spec, "-k", K, "--compare", path("short.h5"), "-o", path("short.h5"), "--force"], 1,
         "same file"),
        ("--compare too short", [spec, "-k", K, "--compare", path("short.h5")], 2, "holds 5 singular values"),
        ("--compare of another matrix", [spec, "-k", K, "--compare", path("other.h5")], 2, "10 x 40 matrix"),
        ("--compare missing", [spec, "-k", K, "--compare", path("absent.h5")], 2, "cannot read --compare"),
        ("k above the numerical rank", [low, "-k", 8], 4, "numerical rank 5 < k = 8"),
        ("k above the numerical rank, rows", [low, "-k", 8, "--rows"], 4, "numerical rank 5 < k = 8"),
        ("NaN", [nanspec, "-k", K], 2, "NaN at row 123, column 45"),
    ]
    # the options' own errors, refused before the input is opened, at 1 rank without mpirun
    # (whose abort path costs ~1.5 s a run); at 2 ranks those found in the input, the output,
    # the --compare file or a pass
    parsed = {"k = 0", "no -k", "--qr sideways", "--sketch dense"}
    for what, args, code, message in cases:
        out = path("refused.h5")
        if os.path.exists(out):
            os.remove(out)
        argv = ["id", *args] + ([] if "-o" in args else ["-o", out])
        ranks = None if what in parsed else 2
        r = run(argv, ranks=ranks)
        what = f"{what}, {ranks or 1} rank(s)"
        check(f"{what}: exit {code}, '{message}', no output", r.returncode == code and message in r.stderr
              and not os.path.exists(out) and not harness.temp_leftovers(), (r.returncode, r.stderr[-600:]))
    with h5py.File(path("poly.h5"), "r") as f:
        check("the input is untouched after the refusals", np.array_equal(f["A"][:], MATS["poly"][0]))


def cur_of(d, a):
    """C, U, R of a prsvd cur output, and the U that is optimal for that C and R."""
    c, r = a[:, d["columns"]], a[d["rows"], :]
    return c, d["U"], r, np.linalg.pinv(c) @ a @ np.linalg.pinv(r)


def test_cur_against_numpy():
    """prsvd cur at 1, 2, 3 ranks on both spectra: valid index sets (ascending and as chosen),
    U = C^+ A R^+, the reported error the true one and within the factor bench/id_accuracy.py
    recorded, the same J, I and U at every rank count."""
    for kind, (a, s) in MATS.items():
        opt_f = np.sqrt(np.sum(s[K:] ** 2))
        first = None
        for ranks in (1, 2, 3):
            what = f"cur, {kind}, {ranks} rank(s)"
            r = run(["cur", SPECS[kind], "-k", K, "-o", path("cur.h5"), "--force", "--json"], ranks=ranks if ranks > 1 else None)
            if not check(f"{what}: exits 0", r.returncode == 0, r.stderr):
                continue
            res = json.loads(r.stdout)
            with h5py.File(path("cur.h5"), "r") as f:
                d = {name: f[name][:] for name in f}
                attrs = dict(f.attrs)
            check_indices(f"{what}: columns", d["columns"], d["column_pivots"], N)
            check_indices(f"{what}: rows", d["rows"], d["row_pivots"], M)
            c, u, rr, u_opt = cur_of(d, a)
            check(f"{what}: /C is A(:, columns) and /R is A(rows, :), exactly",
                  np.array_equal(d["C"], c) and np.array_equal(d["R"], rr), (d["C"].shape, d["R"].shape))
            check(f"{what}: U is {K} x {K} and C^+ A R^+ to 1e-10", u.shape == (K, K)
                  and np.abs(u - u_opt).max() <= 1e-10 * np.abs(u_opt).max(), np.abs(u - u_opt).max())
            e = a - c @ u @ rr
            e2, ef = np.linalg.norm(e, 2), np.linalg.norm(e)
            check(f"{what}: error_fro is ||A - C U R||_F, {ef / opt_f:.2f} x optimal <= {CUR_F}, "
                  f"{e2 / s[K]:.2f} sigma_(k+1) <= {CUR_2}, q + 3 = 4 passes",
                  abs(attrs["error_fro"] - ef) <= 1e-10 * ef and ef <= CUR_F * opt_f and e2 <= CUR_2 * s[K]
                  and res["passes"] == 4 and attrs["method"] == "cur" and not res["extra_pass"])
            if first is None:
                first = d
            else:
                check(f"{what}: the same columns, rows and U as on 1 rank",
                      np.array_equal(d["column_pivots"], first["column_pivots"])
                      and np.array_equal(d["row_pivots"], first["row_pivots"]) and np.abs(d["U"] - first["U"]).max()
                      <= 1e-9 * np.abs(first["U"]).max())


def test_cur_sparse_factors():
    """A sparse input's CUR keeps C and R sparse: CSR groups in AnnData's encoding that anndata
    reads back as A[:, J] and A[I, :] exactly, from a CSR .h5ad (C by the ranks' row blocks)
    and from its CSC copy (streamed transposed: C whole on every rank, R gathered), at 1 and 2
    ranks; and C U R is the error reported."""
    from anndata._io.specs import read_elem
    a, _ = known("poly", seed=7, m=400, n=90)
    a[np.abs(a) < 0.03 * np.abs(a).max()] = 0.0
    x = sp.csr_matrix(a)
    anndata.AnnData(X=x, dtype=np.float64).write_h5ad(path("cur_sp.h5ad"))
    anndata.AnnData(X=sp.csc_matrix(x), dtype=np.float64).write_h5ad(path("cur_spc.h5ad"))
    for name, file in (("CSR", "cur_sp.h5ad"), ("CSC", "cur_spc.h5ad")):
        for ranks in (1, 2):
            what = f"cur of {name} .h5ad, {ranks} rank(s)"
            r = run(["cur", f"{path(file)}:/X", "-k", K, "-o", path("cur_sp.h5"), "--force", "--quiet"],
                    ranks=ranks if ranks > 1 else None)
            if not check(f"{what}: exits 0", r.returncode == 0, r.stderr):
                continue
            with h5py.File(path("cur_sp.h5"), "r") as f:
                enc = [f[g].attrs.get("encoding-type") for g in ("C", "R")]
                c, rr = read_elem(f["C"]), read_elem(f["R"])
                cols, rows, u, err = f["columns"][:], f["rows"][:], f["U"][:], f.attrs["error_fro"]
            check(f"{what}: /C and /R are csr_matrix groups, read by anndata as scipy CSR",
                  enc == ["csr_matrix", "csr_matrix"] and sp.isspmatrix_csr(c) and sp.isspmatrix_csr(rr), enc)
            check(f"{what}: C = A(:, columns), R = A(rows, :), exactly, no zero stored",
                  c.shape == (400, K) and rr.shape == (K, 90) and (c != x[:, cols]).nnz == 0
                  and (rr != x[rows, :]).nnz == 0 and np.all(c.data != 0) and np.all(rr.data != 0))
            e = np.linalg.norm(a - c @ u @ rr)
            check(f"{what}: ||A - C U R||_F from the written factors is error_fro", abs(e - err) <= 1e-9 * e, (e, err))


_range = {}


def range_spec(shift):
    """2^shift A (A: the exp spectrum, 300 x 80), written once."""
    if ("spec", shift) not in _range:
        a, _ = known("exp", seed=8, m=300, n=80)
        _range["spec", shift] = write(f"range{shift}.h5", np.ldexp(a, shift))
    return _range["spec", shift]


def range_run(cmd, extra, shift, ranks):
    """cmd (id or cur) with --json and the extra options on 2^shift A, run once a file
    (test_range and test_range_pass_reported ask for the same runs): (the run, its --json, the
    output's datasets)"""
    key = (cmd, tuple(extra), shift, ranks)
    if key not in _range:
        out = path(f"range.{len(_range)}.h5")
        r = run([cmd, range_spec(shift), "-k", K, "-o", out, "--force", "--json", *extra],
                ranks=ranks if ranks > 1 else None)
        res, d = None, None
        if r.returncode == 0:
            res = json.loads(r.stdout)
            with h5py.File(out, "r") as f:
                d = {name: f[name][:] for name in f}
        _range[key] = (r, res, d)
    return _range[key]


def test_range():
    """A matrix of entries near 1e-300, 1e-170 or 1e300 (2^-1000 A ... 2^1000 A, exact copies):
    the first pass measures its range and runs once more on 2^e A, as svd's do, so the ID, the
    row ID and the CUR choose what they choose on A, T and X to rounding, U times 2^-s, C and R
    A's own entries, and the errors and norms scaled by 2^s, with the pass and with the probes,
    at 1 and 2 ranks (2^-560 A at 1 rank: 2 ranks agree on the exponent at both ends).  Before,
    1e-300 was called 'zero' and 1e300 of rank 0."""
    ref = {}
    for shift in (0, -1000, -560, 1000):
        for ranks in (1, 2) if shift != -560 else (1,):
            for cmd, extra in (("id", []), ("id", ["--rows"]), ("cur", []), ("cur", ["--no-verify-pass"])):
                what = f"{cmd} {' '.join(extra)} of 2^{shift} A, {ranks} rank(s)".replace("  ", " ")
                r, res, d = range_run(cmd, extra, shift, ranks)
                if not check(f"{what}: exits 0", r.returncode == 0, r.stderr):
                    continue
                key = (cmd, tuple(extra), ranks)
                if shift == 0:
                    ref[key] = (d, res)
                    continue
                d0, res0 = ref[key]
                same = all(np.array_equal(d[i], d0[i]) for i in ("columns", "rows", "pivots") if i in d0)
                coef = "U" if cmd == "cur" else "X" if extra else "T"
                u_ok = np.abs(np.ldexp(d[coef], shift if cmd == "cur" else 0) - d0[coef]).max() <= 1e-9 * np.abs(d0[coef]).max()
                fac = cmd != "cur" or (np.array_equal(d["C"], np.ldexp(d0["C"], shift))
                                       and np.array_equal(d["R"], np.ldexp(d0["R"], shift)))
                err = abs(np.ldexp(res["error_fro"], -shift) - res0["error_fro"]) <= 1e-9 * res0["error_fro"] and \
                    abs(np.ldexp(res["norm_fro"], -shift) - res0["norm_fro"]) <= 1e-12 * res0["norm_fro"]
                check(f"{what}: the indices of A, {coef} to 1e-9{', C and R exact' if cmd == 'cur' else ''}, "
                      f"errors x 2^{shift}, one pass more ({res['passes']})",
                      same and u_ok and fac and err and res["passes"] == res0["passes"] + 1,
                      (same, u_ok, fac, res["error_fro"], res0["error_fro"], res["passes"], res0["passes"]))


def test_range_pass_reported():
    """The plan of id and cur says a range pass may come, and on 1e-300 data the summary and
    --json say it came (scale_exp, range_pass, passes = passes_planned + 1); on A none does."""
    for cmd in ("id", "cur"):
        for shift in (0, -1000):
            what = f"{cmd} of 2^{shift} A"
            r, js, _ = range_run(cmd, [], shift, 1)  # the --json run test_range reads
            t = run([cmd, range_spec(shift), "-k", K, "-o", path("rpass.h5"), "--force"])
            if not check(f"{what}: exits 0", r.returncode == 0 and t.returncode == 0, r.stderr + t.stderr):
                continue
            extra = 1 if shift else 0
            check(f"{what}: --json says {'a' if shift else 'no'} range pass ({js.get('scale_exp')}, "
                  f"{js.get('passes')} passes, {js.get('passes_planned')} planned)",
                  js.get("range_pass") == bool(shift) and (js.get("scale_exp") != 0) == bool(shift)
                  and js["passes"] == js.get("passes_planned", -9) + extra + js.get("extra_pass", 0), js)
            check(f"{what}: the plan says the first pass comes again if A needs scaling",
                  "the first again if A needs scaling by 2^e" in t.stdout, t.stdout)
            check(f"{what}: the summary says {'so' if shift else 'nothing'}",
                  ("the first again on 2^" in t.stdout) == bool(shift), t.stdout)


def test_compare_range():
    """--compare beside an SVD of 2^-1000 A or 2^1000 A: the optimal error and the ratio are
    A's, scaled (the squares of S underflowed or overflowed: an optimum of 0, a ratio of NaN)."""
    ratios = {}
    for shift in (0, -1000, 1000):
        spec = range_spec(shift)
        r = run(["svd", spec, "-k", 20, "-o", path(f"cmp{shift}.svd.h5"), "--force", "--quiet"])
        c = run(["cur", spec, "-k", K, "--compare", path(f"cmp{shift}.svd.h5"), "-o", path("cmp.h5"), "--force", "--json"])
        if not check(f"svd and cur --compare of 2^{shift} A exit 0", r.returncode == 0 and c.returncode == 0, r.stderr + c.stderr):
            continue
        j = json.loads(c.stdout)
        ratios[shift] = (np.ldexp(j["optimal_error_fro"], -shift), j["error_ratio"])
    if 0 in ratios:
        for shift in (-1000, 1000):
            if shift in ratios:
                check(f"2^{shift} A: the optimum x 2^{-shift} and the ratio are A's ({ratios[shift][1]:.4f})",
                      np.isfinite(ratios[shift][1]) and abs(ratios[shift][0] - ratios[0][0]) <= 1e-12 * ratios[0][0]
                      and abs(ratios[shift][1] - ratios[0][1]) <= 1e-9 * ratios[0][1], (ratios[shift], ratios[0]))


def test_relative_error_near_the_largest_double():
    """Entries up to 1.7e308: ||A||_F passes the largest double, but the relative error (formed
    before the results are unscaled) is A's, not NaN, for id and cur."""
    a, _ = known("exp", seed=9, m=60, n=30)
    big = write("near_max.h5", a / np.abs(a).max() * 1.7e308)
    ref = write("near_max_ref.h5", a)
    for cmd in ("id", "cur"):
        r0 = run([cmd, ref, "-k", K, "-o", path("nm0.h5"), "--force", "--json"])
        r1 = run([cmd, big, "-k", K, "-o", path("nm1.h5"), "--force", "--json"])
        if not check(f"{cmd} near the largest double exits 0", r0.returncode == 0 and r1.returncode == 0, r0.stderr + r1.stderr):
            continue
        e0, e1 = json.loads(r0.stdout)["relative_error"], json.loads(r1.stdout)["relative_error"]
        with h5py.File(path("nm1.h5"), "r") as f:
            attr = f.attrs["relative_error"]
        check(f"{cmd}: relative error {e1:.6f} in --json and the file, A's ({e0:.6f}) to 1e-9",
              np.isfinite(e1) and abs(e1 - e0) <= 1e-9 * e0 and attr == e1, (e0, e1, attr))


def test_cur_ill_conditioned_c():
    """A steep spectrum at q = 0 leaves C = A(:, J) too ill-conditioned (rcond(R_C) < 1e-6) to
    take A^T Q_C from A^T C: one more pass forms it, and U is still C^+ A R^+ to 1e-8."""
    rng = np.random.default_rng(9)
    u0, _ = np.linalg.qr(rng.standard_normal((500, 120)))
    v0, _ = np.linalg.qr(rng.standard_normal((120, 120)))
    a = (u0 * 10.0 ** (-0.4 * np.arange(120))) @ v0.T
    spec = write("steep.h5", a)
    r = run(["cur", spec, "-k", 18, "-q", 0, "-o", path("steep_cur.h5"), "--force", "--json"], ranks=2)
    if check("steep spectrum, -q 0: cur exits 0", r.returncode == 0, r.stderr):
        res = json.loads(r.stdout)
        with h5py.File(path("steep_cur.h5"), "r") as f:
            d = {name: f[name][:] for name in f}
        c, u, rr, u_opt = cur_of(d, a)
        check(f"rcond(R_C) = {res['c_rcond']:.1e} < 1e-6: extra_pass, 4 passes, U = C^+ A R^+ to 1e-8",
              res["c_rcond"] < 1e-6 and res["extra_pass"] and res["passes"] == 4
              and np.abs(u - u_opt).max() <= 1e-8 * np.abs(u_opt).max(), np.abs(u - u_opt).max() / np.abs(u_opt).max())


def test_cur_estimate_and_refusals():
    """cur --no-verify-pass: q + 2 passes, the interval holds the true error; cur takes no
    --rows, refuses k above min(m, n) and its input as output."""
    a, _ = MATS["exp"]
    r = run(["cur", SPECS["exp"], "-k", K, "--no-verify-pass", "-o", path("cur_est.h5"), "--force", "--json"], ranks=3)
    if check("cur --no-verify-pass exits 0", r.returncode == 0, r.stderr):
        res = json.loads(r.stdout)
        with h5py.File(path("cur_est.h5"), "r") as f:
            d = {name: f[name][:] for name in f}
        c, u, rr, _ = cur_of(d, a)
        true = np.linalg.norm(a - c @ u @ rr)
        lo, hi = res["error_ci"]
        check(f"cur --no-verify-pass: 3 passes, {true:.4g} in [{lo:.4g}, {hi:.4g}]",
              res["passes"] == 3 and res["error_from"] == "probes" and lo <= true <= hi)
    for what, args, code, message in (
            ("cur --rows", ["--rows"], 1, "unknown option '--rows' for 'prsvd cur'"),
            ("cur k > min(m, n)", ["-k", N + 1], 1, f"exceeds min(rows, cols) = {N}"),
            ("cur output = input", ["-o", path("exp.h5")], 1, "same file")):
        argv = ["cur", SPECS["exp"], *(["-k", K] if "-k" not in args else []), *args]
        argv += [] if "-o" in args else ["-o", path("cur_refused.h5")]
        r = run(argv + ["--force"])
        check(f"{what}: exit {code}, '{message}', no output", r.returncode == code and message in r.stderr
              and not os.path.exists(path("cur_refused.h5")), (r.returncode, r.stderr[-400:]))


harness.main(globals())
