"""Sparse inputs (issue 7): AnnData CSR and CSC written by python3-anndata, the legacy
h5sparse attributes, a 10x feature-barcode layout written with h5py to the published spec;
factors against LAPACK and scikit-learn's TruncatedSVD(algorithm='arpack'), sparse against
dense copies of the same matrix, PCA centered without densifying, duplicate and unsorted
entries as scipy sums them, and corrupt structures."""
import json
import os
import subprocess
import sys
import warnings

import anndata
import h5py
import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import PCA, TruncatedSVD

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import PRSVD, check, load, path, run, write  # noqa: E402

warnings.simplefilter("ignore")
# The test matrix, made here as it always was; its files are written once, by the first test
# that asks.
rng = np.random.default_rng(11)
m, n, r = 2500, 60, 8
# exact rank 8 and sparse: X = S1 diag(d) S2^T with sparse S1, S2
s1 = sp.random(m, r, density=0.3, random_state=1, format="csr")
s2 = sp.random(n, r, density=0.4, random_state=2, format="csr")
x = sp.csr_matrix(s1 @ sp.diags(2.0 ** -np.arange(r)) @ s2.T)
x.sort_indices()
dense = x.toarray()
counts = sp.csc_matrix(np.round(x.T.toarray() * 40))  # genes x cells, integer counts
tenx_cells = counts.T.toarray()
NAMES = ["AnnData CSR", "AnnData CSC", "legacy h5sparse", "10x"]
_cache = {}


def inputs():
    """The sparse copies of x, written once: {name: FILE:/GROUP}, and the dense copy's FILE:/A."""
    if "inputs" not in _cache:
        anndata.AnnData(X=x, dtype=np.float64).write_h5ad(path("csr.h5ad"))
        anndata.AnnData(X=sp.csc_matrix(x), dtype=np.float64).write_h5ad(path("csc.h5ad"))
        with h5py.File(path("legacy.h5"), "w") as f:
            g = f.create_group("M")
            g.attrs["h5sparse_format"] = "csr"
            g.attrs["h5sparse_shape"] = np.array([m, n])
            g["data"], g["indices"], g["indptr"] = x.data, x.indices.astype(np.int64), x.indptr.astype(np.int64)
        with h5py.File(path("tenx.h5"), "w") as f:  # 10x feature-barcode matrix, CSC genes x cells
            g = f.create_group("matrix")
            g["data"] = counts.data.astype(np.int32)
            g["indices"] = counts.indices.astype(np.int64)
            g["indptr"] = counts.indptr.astype(np.int64)
            g["shape"] = np.array([n, m], dtype=np.int32)
            g["barcodes"] = np.array([f"CELL{i}".encode() for i in range(m)])
            g.create_group("features")["id"] = np.array([f"G{j}".encode() for j in range(n)])
        spec_dense = write("dense.h5", dense)
        _cache["inputs"] = ({"AnnData CSR": f"{path('csr.h5ad')}:/X", "AnnData CSC": f"{path('csc.h5ad')}:/X",
                             "legacy h5sparse": f"{path('legacy.h5')}:/M", "10x": f"{path('tenx.h5')}:/matrix"},
                            spec_dense)
    return _cache["inputs"]


def dense_ref():
    """svd of the dense copy, run once: its (U, S, V, attributes), or None if it failed."""
    if "ref" not in _cache:
        _cache["ref"] = None
        r0 = run(["svd", inputs()[1], "-k", r, "-p", 20, "-o", path("d.h5"), "--quiet"])
        if check("dense copy: svd exits 0", r0.returncode == 0, r0.stderr):
            _cache["ref"] = load(path("d.h5"))
    return _cache["ref"]


def pca_ref():
    """scikit-learn's PCA of the dense copy, fitted once."""
    if "pca" not in _cache:
        _cache["pca"] = PCA(n_components=10, svd_solver="full").fit(dense)
    return _cache["pca"]


def test_matrix():
    """The test matrix is sparse and of exact rank 8."""
    sv = np.linalg.svd(dense, compute_uv=False)
    check(f"test matrix: sparse ({x.nnz / (m * n):.1%} dense), rank {r}", np.sum(sv > 1e-12 * sv[0]) == r, sv[:r + 2])


def check_input(name):
    """svd of one sparse input at 1 and 3 ranks against LAPACK, verify on it, and (but the 10x
    counts) the dense copy's factors."""
    spec = inputs()[0][name]
    ref = dense_ref()
    a = tenx_cells if name == "10x" else dense
    sref = np.linalg.svd(a, compute_uv=False)
    for ranks in [1, 3]:
        out = path(f"s.{ranks}.h5")
        p_ = 52 if name == "10x" else 20  # rounded counts are not low rank: k + p = n is exact
        rr = run(["svd", spec, "-k", r, "-p", p_, "-o", out, "--quiet", "--force", "--memory", "20K"], ranks=ranks)
        if not check(f"{name} at {ranks} rank(s): svd exits 0", rr.returncode == 0, rr.stderr):
            continue
        u, s, v, att = load(out)
        check(f"{name} at {ranks} rank(s): U is cells x k, V features x k", u.shape == (m, r) and v.shape == (n, r), (u.shape, v.shape))
        check(f"{name} at {ranks} rank(s): S equals LAPACK's to 1e-10", np.max(np.abs(s - sref[:r])) < 1e-10 * sref[0], s - sref[:r])
        rel = np.linalg.norm(a - (u * s) @ v.T) / np.linalg.norm(a)
        opt = np.sqrt(np.sum(sref[r:] ** 2)) / np.linalg.norm(a)  # 0 but for the rounded 10x counts
        check(f"{name} at {ranks} rank(s): residual is the optimal rank-{r} one to 1e-10", rel - opt < 1e-10, (rel, opt))
        rv = run(["verify", spec, out, "--json"], ranks=ranks)
        if check(f"{name} at {ranks} rank(s): verify reads the sparse input", rv.returncode == 0, rv.stderr):
            check(f"{name} at {ranks} rank(s): verify's residual matches", abs(json.loads(rv.stdout)["relative_residual_fro"] - rel) < 1e-9)
        if ref is not None and name != "10x":
            d = np.max(np.abs((u * s) @ v.T - (ref[0] * ref[1]) @ ref[2].T))
            check(f"{name} at {ranks} rank(s): same U S V^T as the dense copy to 1e-10", d < 1e-10, d)
            if name in ("AnnData CSR", "legacy h5sparse"):
                d = max(np.max(np.abs(load(out)[i] - ref[i])) for i in range(3))
                check(f"{name} at {ranks} rank(s): same factors as the dense copy to 1e-10", d < 1e-10, d)


def test_anndata_csr():
    """AnnData CSR at 1 and 3 ranks: LAPACK's S, the optimal residual, verify, the dense copy's factors."""
    check_input("AnnData CSR")


def test_anndata_csc():
    """AnnData CSC at 1 and 3 ranks: LAPACK's S, the optimal residual, verify, the dense copy's U S V^T."""
    check_input("AnnData CSC")


def test_legacy_h5sparse():
    """Legacy h5sparse CSR at 1 and 3 ranks: LAPACK's S, the optimal residual, verify, the dense copy's factors."""
    check_input("legacy h5sparse")


def test_tenx():
    """A 10x feature-barcode matrix (CSC genes x cells) at 1 and 3 ranks: LAPACK's S of the counts, verify."""
    check_input("10x")


def test_truncated_svd():
    """svd of AnnData CSR against scikit-learn's TruncatedSVD(algorithm='arpack') (k + p >= n)."""
    t = TruncatedSVD(n_components=10, algorithm="arpack").fit(x)
    rr = run(["svd", inputs()[0]["AnnData CSR"], "-k", 10, "-p", 50, "-o", path("ts.h5"), "--quiet"], ranks=2)
    if check("svd -k 10 -p 50 on AnnData CSR exits 0", rr.returncode == 0, rr.stderr):
        u, s, v, _ = load(path("ts.h5"))
        check("singular values match TruncatedSVD(arpack) to 1e-10", np.max(np.abs(s - t.singular_values_)) < 1e-10 * s[0],
              s - t.singular_values_)


def test_wide_sketch():
    """svd of CSR with 80 or 81 sketch columns (more than a CSR row block's 64): the dense copy's factors to 1e-10, 1 x 2 and 2 x 1."""
    w = sp.random(700, 150, density=0.05, random_state=5, format="csr")
    w.sort_indices()
    anndata.AnnData(X=w, dtype=np.float64).write_h5ad(path("wide.h5ad"))
    specs = {"CSR": f"{path('wide.h5ad')}:/X", "dense": write("wide.h5", w.toarray())}
    # subspace iteration multiplies R row-major (80 columns); the single pass of -k 40 a sparse
    # sign map of 81 columns
    for what, opts in (("-k 30 -p 50 -q 1", ["-k", 30, "-p", 50, "-q", 1]),
                       ("-k 40 --passes 1 --sketch sparse", ["-k", 40, "--passes", 1, "--sketch", "sparse"])):
        for label, ranks, threads in (("1 rank of 2 threads", None, 2), ("2 ranks", 2, 1)):
            got = {}
            for kind, spec in specs.items():
                out = path(f"wide.{kind}.{opts[1]}.{threads}.h5")
                rr = run(["svd", spec, *opts, "--threads", threads, "--memory", "40K", "-o", out, "--force", "--quiet"],
                         ranks=ranks)
                if check(f"{what}, {label}: svd of the 700 x 150 {kind} copy exits 0", rr.returncode == 0, rr.stderr):
                    got[kind] = load(out)
            if len(got) == 2:
                d = max(np.max(np.abs(got["CSR"][i] - got["dense"][i])) for i in range(3)) / got["dense"][1][0]
                check(f"{what}, {label}: the CSR factors are the dense copy's to 1e-10", d < 1e-10, d)


def check_pca(f, pref, what):
    """A PCA output's explained-variance ratio and 8 leading components against sklearn's, to 1e-10."""
    check(f"{what}: explained_variance_ratio matches sklearn to 1e-10",
          np.max(np.abs(f["explained_variance_ratio"][:] - pref.explained_variance_ratio_)) < 1e-10)
    # the centered matrix has rank 9: components past it span a null space, any basis
    err = np.max(np.abs(f["components"][:8] - pref.components_[:8]))
    check(f"{what}: the 8 leading components match sklearn to 1e-10 (signs included)", err < 1e-10, err)


def test_pca_csr():
    """PCA of AnnData CSR, centered without densifying, against sklearn's PCA of the dense copy."""
    pref = pca_ref()
    rr = run(["pca", inputs()[0]["AnnData CSR"], "-k", 10, "-p", 50, "-q", 1, "-o", path("pca.h5"), "--quiet", "--memory", "20K"],
             ranks=3)
    if check("pca of AnnData CSR exits 0", rr.returncode == 0, rr.stderr):
        with h5py.File(path("pca.h5")) as f:
            check_pca(f, pref, "sparse PCA")


def test_pca_csc():
    """PCA of the CSC copy (X^T streamed, its rows centred, issue 16) against sklearn; --scale refused."""
    pref = pca_ref()
    spec = inputs()[0]["AnnData CSC"]
    # small panels at 3 ranks
    rr = run(["pca", spec, "-k", 10, "-p", 50, "-q", 1, "-o", path("pca_csc.h5"), "--quiet", "--memory", "20K"],
             ranks=3)
    if check("pca of AnnData CSC exits 0", rr.returncode == 0, rr.stderr):
        with h5py.File(path("pca_csc.h5")) as f:
            check_pca(f, pref, "CSC PCA")
            check("CSC PCA: /mean = the column means", np.max(np.abs(f["mean"][:] - dense.mean(axis=0))) < 1e-12)
    rr = run(["pca", spec, "-k", 3, "--scale", "-o", path("never.h5")])
    check("pca --scale of a CSC matrix: exit 1 naming --scale", rr.returncode == 1 and "--scale" in rr.stderr, rr.stderr)


def test_matlab():
    """MATLAB v7.3 files (HDF5 with a 512-byte user block), dense (stored n x m) and sparse
    (MATLAB_sparse = m, data / ir / jc as CSC): the m x n matrix's exact rank, verify agrees."""
    csc = sp.csc_matrix(x)
    with h5py.File(path("m.mat"), "w", userblock_size=512) as f:
        d = f.create_dataset("A", data=dense.T)
        d.attrs["MATLAB_class"] = np.bytes_(b"double")
        g = f.create_group("S")
        g.attrs["MATLAB_class"] = np.bytes_(b"double")
        g.attrs["MATLAB_sparse"] = np.uint64(m)
        g["data"], g["ir"], g["jc"] = csc.data, csc.indices.astype(np.uint64), csc.indptr.astype(np.uint64)
    for name, ds in [("MATLAB dense", "A"), ("MATLAB sparse", "S")]:
        rr = run(["svd", f"{path('m.mat')}:/{ds}", "-k", r, "-p", 20, "-o", path("mat.h5"), "--force"], ranks=2)
        if check(f"{name}: svd exits 0 and says it reads MATLAB's orientation", rr.returncode == 0 and
                 ("MATLAB" in rr.stderr or "column-compressed" in rr.stderr), rr.stderr):
            u, s_, v, att = load(path("mat.h5"))
            check(f"{name}: factors are of the MATLAB m x n matrix", u.shape == (m, r) and v.shape == (n, r), (u.shape, v.shape))
            rel = np.linalg.norm(dense - (u * s_) @ v.T) / np.linalg.norm(dense)
            check(f"{name}: exact rank recovered to 1e-10", rel < 1e-10, rel)
            rv = run(["verify", f"{path('m.mat')}:/{ds}", path("mat.h5"), "--json"])
            check(f"{name}: verify agrees", rv.returncode == 0 and json.loads(rv.stdout)["relative_residual_fro"] < 1e-10, rv.stderr)


def test_transpose():
    """--transpose decomposes A^T of a plain dataset without a copy, and verify reads the result."""
    spec_dense = inputs()[1]
    rr = run(["svd", spec_dense, "-k", r, "-p", 20, "--transpose", "-o", path("t.h5"), "--quiet"], ranks=3)
    if check("--transpose exits 0", rr.returncode == 0, rr.stderr):
        u, s_, v, att = load(path("t.h5"))
        rel = np.linalg.norm(dense.T - (u * s_) @ v.T) / np.linalg.norm(dense)
        check("--transpose: U is n x k and U S V^T = A^T to 1e-10", u.shape == (n, r) and rel < 1e-10, (u.shape, rel))
        rv = run(["verify", spec_dense, path("t.h5"), "--json"])
        check("--transpose: verify reads the transposed output", rv.returncode == 0 and json.loads(rv.stdout)["relative_residual_fro"] < 1e-10, rv.stderr)


def prefetch_runs(cmd, ranks):
    """cmd of AnnData CSR with and without the reader thread (--memory 20K: 16 rows a panel with
    the reader, 33 without; 157 panel steps a pass on 1 rank), run once: {mode: output}."""
    key = ("prefetch", cmd, ranks)
    if key not in _cache:
        outs = {}
        for mode in ["prefetch", "no-prefetch"]:
            outs[mode] = path(f"{cmd}-{mode}.h5")
            extra = ["--no-prefetch"] if mode == "no-prefetch" else []
            rr = run([cmd, inputs()[0]["AnnData CSR"], "-k", r, "-q", 2, "--memory", "20K", "-o", outs[mode], "--quiet", *extra],
                     ranks=ranks)
            check(f"{cmd} of AnnData CSR at {ranks} rank(s), {mode}: exits 0", rr.returncode == 0, rr.stderr)
        _cache[key] = outs
    return _cache[key]


def test_reader_thread():
    """The reader thread reads the next CSR panel while this one is multiplied: the same factors
    with and without it, svd at 2 ranks and pca at 1."""
    for cmd, ranks in [("svd", 2), ("pca", 1)]:
        outs = prefetch_runs(cmd, ranks)
        if all(os.path.exists(o) for o in outs.values()):
            d = max(np.max(np.abs(load(outs["prefetch"])[i] - load(outs["no-prefetch"])[i])) for i in range(3))
            check(f"{cmd} of AnnData CSR: the same factors with and without the reader thread to 1e-10", d < 1e-10, d)


def test_checkpoint_resume():
    """A sparse svd with the reader thread stopped at panel step 200 (in the second pass) resumes
    to the uninterrupted factors."""
    reference = prefetch_runs("svd", 2)["no-prefetch"]
    ck, out = path("sparse.ckpt"), path("sparse-resumed.h5")
    args = ["svd", inputs()[0]["AnnData CSR"], "-k", r, "-q", 2, "--memory", "20K", "-o", out, "--quiet", "--checkpoint", ck]
    stopped = subprocess.run([PRSVD] + [str(a) for a in args], capture_output=True, text=True,
                             env=dict(os.environ, PRSVD_TEST_STOP_AT_STEP="200"))  # in the second pass
    check("sparse svd with the reader thread stopped at panel step 200: exit 99", stopped.returncode == 99, stopped.stderr)
    rr = run(args)
    if check("sparse svd: the rerun resumes and finishes", rr.returncode == 0, rr.stderr):
        d = max(np.max(np.abs(load(out)[i] - load(reference)[i])) for i in range(3))
        check("sparse svd: resumed factors equal the uninterrupted ones to 1e-10", d < 1e-10, d)


def corrupt(name, edit):
    """A CSR group in AnnData's encoding of x, passed through edit(group, arrays) before its arrays are written."""
    fn = path(f"bad-{name}.h5")
    with h5py.File(fn, "w") as f:
        g = f.create_group("X")
        g.attrs["encoding-type"] = "csr_matrix"
        g.attrs["shape"] = np.array([m, n])
        arrays = {"data": x.data.copy(), "indices": x.indices.astype(np.int64), "indptr": x.indptr.astype(np.int64)}
        edit(g, arrays)
        for k, val in arrays.items():
            g[k] = val
    return f"{fn}:/X"


def test_duplicate_and_unsorted_entries():
    """A CSR group whose rows repeat (i, j) entries and list columns out of order means what
    scipy's toarray() makes of it (duplicates summed): ||A||_F (id), PCA's total variance and
    variance ratios and svd's S against numpy on the dense sum, at 1 and 2 ranks."""
    g = np.random.default_rng(12)
    a = sp.random(400, 50, density=0.1, random_state=12, format="coo")
    extra = g.choice(a.nnz, a.nnz // 3, replace=False)  # a third of the entries stored twice more
    rows = np.concatenate([a.row, a.row[extra], a.row[extra]])
    cols = np.concatenate([a.col, a.col[extra], a.col[extra]])
    vals = np.concatenate([a.data, g.standard_normal(2 * len(extra)), -a.data[extra]])
    order = g.permutation(len(rows))  # columns out of order within the rows
    order = order[np.argsort(rows[order], kind="stable")]
    indptr = np.searchsorted(rows[order], np.arange(401)).astype(np.int64)
    y = sp.csr_matrix((vals[order], cols[order], indptr), shape=(400, 50))
    assert not y.has_canonical_format
    with h5py.File(path("dup.h5"), "w") as f:
        grp = f.create_group("M")
        grp.attrs["h5sparse_format"] = "csr"
        grp.attrs["h5sparse_shape"] = np.array([400, 50])
        grp["data"], grp["indices"], grp["indptr"] = vals[order], cols[order].astype(np.int64), indptr
    spec = f"{path('dup.h5')}:/M"
    d = y.toarray()  # scipy sums the duplicates
    sk = PCA(n_components=5, svd_solver="full").fit(d)
    s_ref = np.linalg.svd(d, compute_uv=False)
    for ranks in [None, 2]:
        tag = f"duplicates, {ranks or 1} rank(s)"
        ri = run(["id", spec, "-k", 5, "-o", path("dup.id.h5"), "--force", "--json"], ranks=ranks)
        rp = run(["pca", spec, "-k", 5, "-p", 45, "-o", path("dup.pca.h5"), "--force", "--json"], ranks=ranks)
        rs = run(["svd", spec, "-k", 5, "-p", 45, "-o", path("dup.svd.h5"), "--force", "--json"], ranks=ranks)
        if not check(f"{tag}: id, pca and svd exit 0", ri.returncode == rp.returncode == rs.returncode == 0,
                     ri.stderr + rp.stderr + rs.stderr):
            continue
        norm = json.loads(ri.stdout)["norm_fro"]
        check(f"{tag}: id's ||A||_F is numpy's of the summed matrix to 1e-12", abs(norm - np.linalg.norm(d)) <= 1e-12 * norm,
              (norm, np.linalg.norm(d)))
        jp = json.loads(rp.stdout)
        tv = float(np.var(d, axis=0, ddof=1).sum())
        check(f"{tag}: pca's total variance is numpy's to 1e-12", abs(jp["total_variance"] - tv) <= 1e-12 * tv,
              (jp["total_variance"], tv))
        check(f"{tag}: pca's variance ratios are sklearn's to 1e-10 (the sketch spans A)",
              np.max(np.abs(np.array(jp["explained_variance_ratio"]) - sk.explained_variance_ratio_)) < 1e-10,
              (jp["explained_variance_ratio"], sk.explained_variance_ratio_))
        e = np.max(np.abs(np.array(json.loads(rs.stdout)["singular_values"]) - s_ref[:5]) / s_ref[:5])
        check(f"{tag}: svd's S is LAPACK's of the summed matrix to 1e-10", e < 1e-10, e)


def test_corrupt_structures():
    """Corrupt CSR structures at 1 and 2 ranks: exit 2 naming the first bad row, no output."""
    row = 1234
    bad = [
        ("indptr decreasing", lambda g, a: a["indptr"].__setitem__(row + 1, a["indptr"][row] - 1), f"indptr decreases at row {row}"),
        ("column out of range", lambda g, a: a["indices"].__setitem__(x.indptr[row], n + 5), f"row {row} has column index {n + 5} outside [0, {n})"),
        ("indptr not ending at nnz", lambda g, a: a.__setitem__("data", a["data"][:-3]), "indices has"),
        ("shape against indptr", lambda g, a: g.attrs.__setitem__("shape", np.array([m + 1, n])), f"expected {m + 2}"),
        ("no encoding", lambda g, a: g.attrs.__delitem__("encoding-type"), "no encoding-type"),
    ]
    for desc, edit, msg in bad:
        spec = corrupt(desc.replace(" ", "_"), edit)
        for ranks in [1, 2]:
            # 1 rank without mpirun: mpirun -n 1's abort path cost ~2.6 s a failing run
            rr = run(["svd", spec, "-k", 3, "-o", path("never.h5")], ranks=ranks if ranks > 1 else None)
            check(f"corrupt sparse ({desc}) at {ranks} rank(s): exit 2", rr.returncode == 2, f"{rr.returncode} {rr.stderr}")
            check(f"corrupt sparse ({desc}) at {ranks} rank(s): message", msg in rr.stderr, rr.stderr)
            check(f"corrupt sparse ({desc}) at {ranks} rank(s): no output", not os.path.exists(path("never.h5")))


harness.main(globals())
