"""prsvd pca --anndata (issue 16): the PCA written into the .h5ad it was computed from, where
scanpy.pp.pca stores it, read back with anndata.read_h5ad and compared with scikit-learn's PCA
of the same matrix (CSR and CSC, 1 and 3 ranks), with /X, /obs and /var unchanged value for
value and attribute for attribute; --rows-where and --log1p against the same selection and
transform in numpy; and the refusals: a PCA already there without --force, a signal or SIGKILL
during the write (the file stays as it was), a read-only file, a file that is not AnnData, a
matrix of another shape, -o with --anndata, and the bad --rows-where and --log1p inputs.

Tolerances: the matrix has a gap of 10x after the 5th component and the runs use -q 7, so
prsvd's components, variances and scores agree with LAPACK's (sklearn svd_solver="full") to
rounding; 1e-8 relative leaves room for the summation order across ranks."""
import hashlib
import os
import shutil
import stat
import sys

import anndata
import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import PCA

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, path, run  # noqa: E402

CELLS, GENES, K = 400, 60, 5
TOL = 1e-8


def counts(seed=3):
    """A cells x genes matrix with 5 strong components (strengths 10 .. 2, then noise at 0.1),
    made sparse by zeroing the small entries, nonnegative like counts."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((CELLS, K)))
    v, _ = np.linalg.qr(rng.standard_normal((GENES, K)))
    a = (u * np.array([10.0, 7.0, 5.0, 3.0, 2.0]) * np.sqrt(CELLS)) @ v.T
    a = np.abs(a + 0.1 * rng.standard_normal((CELLS, GENES)))
    a[a < 0.6] = 0.0
    return a


A = counts()
OBS = pd.DataFrame({"keep": (np.arange(CELLS) % 3 != 0), "batch": pd.Categorical(np.arange(CELLS) % 2),
                    "flag8": (np.arange(CELLS) % 4 == 0).astype(np.int8), "score": np.linspace(0, 1, CELLS),
                    "celltype": pd.Categorical(np.array(["T", "B", "NK"])[np.arange(CELLS) % 3]),
                    "tcat": pd.Categorical(np.arange(CELLS) % 5 != 0)},
                   index=[f"c{i}" for i in range(CELLS)])
VAR = pd.DataFrame({"gene_ids": [f"g{j}" for j in range(GENES)]}, index=[f"g{j}" for j in range(GENES)])


def h5ad(name, fmt="csr", x=A, obs=OBS):
    m = sp.csr_matrix(x) if fmt == "csr" else sp.csc_matrix(x)
    anndata.AnnData(X=m, obs=obs, var=VAR, dtype=np.float64).write_h5ad(path(name))
    return path(name)


BASE = {fmt: h5ad(f"base_{fmt}.h5ad", fmt) for fmt in ("csr", "csc")}
# counts whose log1p is A (to rounding): --log1p's PCA has A's gap, so the same tolerance holds
EXPM1 = np.expm1(A)
LOGBASE = {fmt: h5ad(f"log_{fmt}.h5ad", fmt, x=EXPM1) for fmt in ("csr", "csc")}


def fresh(name, fmt="csr", base=BASE):
    shutil.copy(base[fmt], path(name))
    return path(name)


def pca(file, *args, ranks=1, env=None):
    return run(["pca", f"{file}:/X", "-k", K, "-q", 7, "--anndata", "--quiet", *args],
               ranks=ranks if ranks > 1 else None, env=env, timeout=120)


def digest(file):
    with open(file, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def tree(file, groups=("X", "obs", "var")):
    """Every dataset's bytes and every attribute under the groups, by name."""
    out = {}
    with h5py.File(file, "r") as f:
        for g in groups:
            def visit(name, obj, g=g):
                key = f"{g}/{name}"
                out[key + "@attrs"] = sorted((k, repr(v)) for k, v in obj.attrs.items())
                if isinstance(obj, h5py.Dataset):
                    out[key] = (obj.dtype.str, obj.shape, obj[()].tobytes() if obj.dtype.kind != "O"
                                else repr(obj[()].tolist()))
            out[g + "@attrs"] = sorted((k, repr(v)) for k, v in f[g].attrs.items())
            if isinstance(f[g], h5py.Group):
                f[g].visititems(visit)
            else:
                out[g] = f[g][()].tobytes()
    return out


def reference(x):
    p = PCA(K, svd_solver="full").fit(x)
    return p, p.transform(x)


def rel(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def check_pca(what, file, x):
    """The PCA anndata reads from file equals sklearn's of x (cells x genes, dense): components
    and scores up to the sign of each component (and prsvd signs them as sklearn does)."""
    p, scores = reference(x)
    a = anndata.read_h5ad(file)
    pcs, xp, uns = a.varm["PCs"], a.obsm["X_pca"], a.uns["pca"]
    ok = pcs.shape == (x.shape[1], K) and xp.shape == (x.shape[0], K)
    check(f"{what}: varm/PCs and obsm/X_pca have anndata's shapes", ok, f"{pcs.shape} {xp.shape}")
    if not ok:
        return a
    sign = np.sign(np.sum(pcs * p.components_.T, axis=0))
    check(f"{what}: components = sklearn's (up to sign, {TOL})", rel(pcs * sign, p.components_.T) < TOL,
          rel(pcs * sign, p.components_.T))
    check(f"{what}: signed as sklearn's", np.all(sign == 1), sign)
    check(f"{what}: X_pca = sklearn's transform ({TOL})", rel(xp * sign, scores) < TOL, rel(xp * sign, scores))
    check(f"{what}: uns/pca/variance = explained_variance_ ({TOL})",
          rel(uns["variance"], p.explained_variance_) < TOL, (uns["variance"], p.explained_variance_))
    check(f"{what}: uns/pca/variance_ratio = explained_variance_ratio_ ({TOL})",
          rel(uns["variance_ratio"], p.explained_variance_ratio_) < TOL,
          (uns["variance_ratio"], p.explained_variance_ratio_))
    params = uns["params"]
    check(f"{what}: uns/pca/params as scanpy writes them", params.get("zero_center") is np.True_ or
          params.get("zero_center") is True, params)
    check(f"{what}: use_highly_variable False", not params.get("use_highly_variable", True), params)
    return a


def test_csr_and_csc_at_1_and_3_ranks():
    for fmt in ("csr", "csc"):
        for ranks in (1, 3):
            f = fresh(f"{fmt}{ranks}.h5ad", fmt)
            before = tree(f)
            r = pca(f, ranks=ranks)
            if not check(f"{fmt} at {ranks} rank(s): pca --anndata exits 0", r.returncode == 0, r.stderr):
                continue
            check_pca(f"{fmt} at {ranks} rank(s)", f, A)
            check(f"{fmt} at {ranks} rank(s): /X, /obs, /var unchanged (values and attributes)", tree(f) == before)
            check(f"{fmt} at {ranks} rank(s): no temporary left", not [n for n in os.listdir(harness.WORK)
                                                                        if ".tmp." in n])
            with h5py.File(f, "r") as h:
                enc = {n: (h[n].attrs.get("encoding-type"), h[n].attrs.get("encoding-version"))
                       for n in ("obsm", "varm", "uns", "uns/pca", "uns/pca/params", "obsm/X_pca", "varm/PCs",
                                 "uns/pca/variance", "uns/pca/variance_ratio", "uns/pca/params/zero_center")}
            want = {"obsm": ("dict", "0.1.0"), "varm": ("dict", "0.1.0"), "uns": ("dict", "0.1.0"),
                    "uns/pca": ("dict", "0.1.0"), "uns/pca/params": ("dict", "0.1.0"),
                    "obsm/X_pca": ("array", "0.2.0"), "varm/PCs": ("array", "0.2.0"),
                    "uns/pca/variance": ("array", "0.2.0"), "uns/pca/variance_ratio": ("array", "0.2.0"),
                    "uns/pca/params/zero_center": ("numeric-scalar", "0.2.0")}
            check(f"{fmt} at {ranks} rank(s): anndata 0.8's encoding attributes", enc == want, enc)


def test_csc_to_an_output_file():
    """pca of a CSC .h5ad with -o: the rows of the streamed X^T centred, in prsvd's own vocabulary."""
    p, scores = reference(A)
    for ranks in (2,):  # (1 rank: test_csr_and_csc_at_1_and_3_ranks)
        out = path(f"csc_out{ranks}.h5")
        r = run(["pca", f"{BASE['csc']}:/X", "-k", K, "-q", 7, "--scores", "-o", out, "--force", "--json"],
                ranks=ranks if ranks > 1 else None, timeout=120)
        if not check(f"CSC -o at {ranks} rank(s): exits 0", r.returncode == 0, r.stderr):
            continue
        import json
        j = json.loads(r.stdout)
        with h5py.File(out, "r") as f:
            comp, mean, sc, ev = f["components"][:], f["mean"][:], f["scores"][:], f["explained_variance"][:]
            ratio, tv, transposed = f["explained_variance_ratio"][:], f.attrs["total_variance"], f.attrs["transposed"]
        check(f"CSC -o at {ranks}: /components = sklearn's, signed alike ({TOL})", rel(comp, p.components_) < TOL,
              rel(comp, p.components_))
        check(f"CSC -o at {ranks}: /mean = the gene means", rel(mean, A.mean(axis=0)) < 1e-12)
        check(f"CSC -o at {ranks}: /scores = sklearn's transform", rel(sc, scores) < TOL, rel(sc, scores))
        check(f"CSC -o at {ranks}: explained variance and ratio",
              rel(ev, p.explained_variance_) < TOL and rel(ratio, p.explained_variance_ratio_) < TOL)
        check(f"CSC -o at {ranks}: total_variance = the sum of the gene variances",
              abs(tv - A.var(axis=0, ddof=1).sum()) < 1e-10 * tv, (tv, A.var(axis=0, ddof=1).sum()))
        check(f"CSC -o at {ranks}: --json's ratio over the cells",
              rel(np.array(j["explained_variance_ratio"]), p.explained_variance_ratio_) < TOL, j["explained_variance_ratio"])
        check(f"CSC -o at {ranks}: attribute transposed = 1", transposed == 1)
    r = run(["pca", f"{BASE['csc']}:/X", "-k", K, "--scale", "-o", path("scaled.h5")])
    check("CSC with --scale: exit 1, not supported", r.returncode == 1 and "--scale" in r.stderr, r.stderr)


def test_through_a_symbolic_link():
    f = fresh("linked.h5ad")
    os.symlink(os.path.abspath(f), path("link.h5ad"))
    os.chmod(f, 0o640)
    r = pca(path("link.h5ad"))
    check("through a link: exits 0", r.returncode == 0, r.stderr)
    check("the link is still a link to the file", os.path.islink(path("link.h5ad")))
    check("the file holds the PCA", "X_pca" in anndata.read_h5ad(f).obsm)
    check("the file keeps its mode 0640", stat.S_IMODE(os.stat(f).st_mode) == 0o640, oct(os.stat(f).st_mode))


def test_existing_pca_needs_force():
    f = fresh("twice.h5ad")
    r = pca(f)
    check("first run exits 0", r.returncode == 0, r.stderr)
    d = digest(f)
    r = pca(f, "--seed", 9)
    check("a second run without --force exits 3", r.returncode == 3, (r.returncode, r.stderr))
    check("... naming obsm/X_pca and --force", "/obsm/X_pca" in r.stderr and "--force" in r.stderr, r.stderr)
    check("... and leaves the file byte for byte", digest(f) == d)
    # a file with only uns/pca (or only varm/PCs) is refused alike
    g = fresh("unsonly.h5ad")
    with h5py.File(g, "a") as h:
        h["uns"].create_group("pca")
    r = pca(g)
    check("an existing uns/pca alone: exit 3 naming it", r.returncode == 3 and "/uns/pca" in r.stderr, r.stderr)
    # --force replaces all three, and keeps nothing of the old uns/pca
    with h5py.File(f, "a") as h:
        h["uns/pca"].create_dataset("stale", data=[1.0])
        h["obsm"].create_dataset("X_umap", data=np.ones((CELLS, 2)))
    r = pca(f, "--force", ranks=2)
    check("--force at 2 ranks exits 0", r.returncode == 0, r.stderr)
    a = check_pca("--force", f, A)
    check("--force: nothing of the old uns/pca kept", "stale" not in a.uns["pca"], list(a.uns["pca"]))
    check("--force: obsm's other entries kept", "X_umap" in a.obsm and np.all(a.obsm["X_umap"] == 1))


def test_signal_during_the_write_keeps_the_file():
    f = fresh("signal.h5ad")
    before, d = tree(f), digest(f)
    for ranks, sig, code in ((1, 15, 143), (2, 15, None), (1, 9, -9)):
        r = pca(f, ranks=ranks, env={"PRSVD_TEST_SIGTERM_AT_WRITE": "1", "PRSVD_TEST_SIGNAL": str(sig)})
        what = f"signal {sig} after the first dataset written, {ranks} rank(s)"
        check(f"{what}: the run fails ({code if code is not None else 'mpirun: nonzero'})",
              r.returncode == code if code is not None else r.returncode != 0, (r.returncode, r.stderr))
        check(f"{what}: the file is byte for byte the old one", digest(f) == d)
        a = anndata.read_h5ad(f)
        check(f"{what}: anndata reads it, without a PCA", "X_pca" not in a.obsm and "pca" not in a.uns)
        check(f"{what}: /X, /obs, /var as before", tree(f) == before)
    # SIGKILL leaves its temporary; the next run removes it and writes the PCA
    r = pca(f)
    check("the run after SIGKILL exits 0", r.returncode == 0, r.stderr)
    check("... and says it removed the killed run's temporary", "left by a killed run" in r.stderr, r.stderr)
    check_pca("after SIGKILL", f, A)
    # a signal just after the rename: the new version is in place, whole
    g = fresh("renamed.h5ad")
    r = pca(g, env={"PRSVD_TEST_SIGTERM_AT_WRITE": "renamed"})
    check("SIGTERM just after the rename: exit 143, saying the file was written in full",
          r.returncode == 143 and "written in full" in r.stderr, (r.returncode, r.stderr))
    check_pca("SIGTERM after the rename", g, A)


def check_subset(what, file, keep, x):
    """The PCA of the kept cells of x: as check_pca, and X_pca NaN for the others."""
    a = anndata.read_h5ad(file)
    p, scores = reference(x[keep])
    pcs, xp = a.varm["PCs"], a.obsm["X_pca"]
    check(f"{what}: X_pca has a row for every cell", xp.shape == (CELLS, K), xp.shape)
    check(f"{what}: components = sklearn's of the selection ({TOL}, signed alike)", rel(pcs, p.components_.T) < TOL,
          rel(pcs, p.components_.T))
    check(f"{what}: X_pca of the kept cells = sklearn's transform ({TOL})", rel(xp[keep], scores) < TOL,
          rel(xp[keep], scores))
    check(f"{what}: X_pca of the other cells is NaN", np.isnan(xp[~keep]).all())
    check(f"{what}: variance ratio ({TOL})", rel(a.uns["pca"]["variance_ratio"], p.explained_variance_ratio_) < TOL)
    return a


def test_rows_where_and_log1p():
    keep = OBS["keep"].values
    for fmt, ranks, column, mask in (("csr", 1, "obs/keep", keep), ("csc", 3, "/obs/flag8", OBS["flag8"].values == 1),
                                     ("csr", 2, "obs/celltype=NK", OBS["celltype"].values == "NK"),
                                     ("csr", 1, "obs/tcat", OBS["tcat"].values.astype(bool))):
        f = fresh(f"where_{fmt}{ranks}.h5ad", fmt)
        before = tree(f)
        r = pca(f, "--rows-where", column, ranks=ranks)
        what = f"--rows-where {column}, {fmt}, {ranks} rank(s)"
        if check(f"{what}: exits 0", r.returncode == 0, r.stderr):
            a = check_subset(what, f, mask, A)
            check(f"{what}: uns/pca/params/rows_where", a.uns["pca"]["params"].get("rows_where") == column,
                  a.uns["pca"]["params"])
            check(f"{what}: /X, /obs, /var unchanged", tree(f) == before)
    for fmt, ranks in (("csr", 2), ("csc", 3)):
        f = fresh(f"log_{fmt}{ranks}.h5ad", fmt, LOGBASE)
        r = pca(f, "--log1p", "--rows-where", "obs/keep", ranks=ranks)
        what = f"--log1p --rows-where obs/keep, {fmt}, {ranks} rank(s)"
        if check(f"{what}: exits 0", r.returncode == 0, r.stderr):
            a = check_subset(what, f, keep, np.log1p(EXPM1))
            params = a.uns["pca"]["params"]
            check(f"{what}: uns/pca/params/log1p True", params.get("log1p") == True, params)  # noqa: E712
    # -o: the attributes say it, /U has the kept rows
    r = run(["pca", f"{LOGBASE['csr']}:/X", "-k", K, "-q", 7, "--log1p", "--rows-where", "obs/keep", "--scores", "-o",
             path("where.h5")])
    if check("-o with --log1p --rows-where: exits 0", r.returncode == 0, r.stderr):
        check("the plan says which cells and log1p", f"cells where obs/keep: {keep.sum()} of {CELLS}" in r.stdout
              and "log1p of every stored entry" in r.stdout, r.stdout)
        p, scores = reference(np.log1p(EXPM1)[keep])
        with h5py.File(path("where.h5"), "r") as h:
            check("-o: attributes log1p = 1 and rows_where", h.attrs["log1p"] == 1 and h.attrs["rows_where"] == "obs/keep",
                  dict(h.attrs))
            check(f"-o: /scores are the kept cells' ({TOL})", rel(h["scores"][:], scores) < TOL)
    # log1p of a dense matrix: every entry, zeros included (log1p(0) = 0)
    with h5py.File(path("dense.h5"), "w") as h:
        h.create_dataset("X", data=EXPM1 - 0.5)  # entries from -0.5: log1p of every one, zeros' too
    # (log1p(X - 0.5) is not A: its gap is smaller, so more power iterations for the same 1e-8)
    r = run(["pca", f"{path('dense.h5')}:/X", "-k", K, "-q", 14, "--log1p", "-o", path("dense_pca.h5"), "--quiet"],
            ranks=2)
    if check("dense --log1p at 2 ranks: exits 0", r.returncode == 0, r.stderr):
        p, _ = reference(np.log1p(EXPM1 - 0.5))
        with h5py.File(path("dense_pca.h5"), "r") as h:
            check(f"dense --log1p: components = sklearn's of log1p(X) ({TOL})", rel(h["components"][:], p.components_) < TOL,
                  rel(h["components"][:], p.components_))


def test_rows_where_and_log1p_refusals():
    f = fresh("bad_where.h5ad")
    with h5py.File(f, "a") as h:
        h["obs"].create_dataset("long", data=np.ones(CELLS + 1, dtype=bool))
        h["obs"].create_dataset("none", data=np.zeros(CELLS, dtype=bool))
        h["obs"].create_dataset("two", data=np.full(CELLS, 2, dtype=np.int8))
    d = digest(f)
    for column, code, words in (("obs/missing", 2, ["no column 'missing'"]),
                                ("obs/score", 2, ["floating-point", "not boolean"]),
                                ("obs/batch", 2, ["categorical", "numbers"]),
                                ("obs/celltype", 2, ["categorical", "'B', 'NK', 'T'", "obs/celltype=VALUE"]),
                                ("obs/celltype=DC", 2, ["'DC' is not a category"]),
                                ("obs/keep=T", 2, ["not one"]),
                                ("obs/long", 2, ["401 entries", "400 cells"]),
                                ("obs/none", 2, ["selects no cell"]),
                                ("obs/two", 2, ["cell 0 is 2"]),
                                ("var/gene_ids", 1, ["obs/COLUMN"]),
                                ("keep", 1, ["obs/COLUMN"])):
        r = pca(f, "--rows-where", column)
        check(f"--rows-where {column}: exit {code} saying {words}",
              r.returncode == code and all(w in r.stderr for w in words), (r.returncode, r.stderr))
    check("the refused runs leave the file byte for byte", digest(f) == d)
    with h5py.File(path("noobs.h5"), "w") as h:
        h.create_dataset("X", data=A)
    r = run(["pca", f"{path('noobs.h5')}:/X", "-k", K, "--rows-where", "obs/keep", "-o", path("x.h5")])
    check("--rows-where on a file without /obs: exit 2", r.returncode == 2 and "no /obs" in r.stderr, r.stderr)
    neg = A.copy()
    neg[7, 3] = -2.5
    g = h5ad("neg.h5ad", "csr", x=neg)
    d = digest(g)
    for ranks in (1, 2):
        r = pca(g, "--log1p", ranks=ranks)
        check(f"--log1p of -2.5 at {ranks} rank(s): exit 2 naming the entry (7, 3)",
              r.returncode == 2 and "(7, 3)" in r.stderr and "-2.5" in r.stderr, (r.returncode, r.stderr))
    check("... and the file is left byte for byte", digest(g) == d)
    neg[7, 3] = -1.0
    with h5py.File(path("neg.h5"), "w") as h:
        h.create_dataset("X", data=neg)
    r = run(["pca", f"{path('neg.h5')}:/X", "-k", K, "--log1p", "-o", path("neg_pca.h5")])
    check("--log1p of exactly -1 (dense): exit 2 naming the entry", r.returncode == 2 and "(7, 3)" in r.stderr,
          r.stderr)
    check("... and no output", not os.path.exists(path("neg_pca.h5")))


def test_checkpoint_of_a_selection():
    """A CSC PCA with --rows-where and --log1p stopped inside its first pass (the row sums half
    made) and resumed gives the uninterrupted run's result; a resume with another --rows-where
    or without --log1p is refused."""
    f = LOGBASE["csc"]
    args = ["pca", f"{f}:/X", "-k", K, "-q", 3, "--rows-where", "obs/keep", "--log1p", "--memory", "40K", "--quiet"]
    for ranks in (2,):
        whole, out, ck = path(f"ck_whole{ranks}.h5"), path(f"ck_out{ranks}.h5"), path(f"ck{ranks}.ckpt")
        r = run(args + ["-o", whole], ranks=ranks if ranks > 1 else None)
        check(f"uninterrupted at {ranks} rank(s): exit 0", r.returncode == 0, r.stderr)
        r = harness.stop_at(3, args + ["-o", out, "--checkpoint", ck], ranks)
        check(f"stopped at panel step 3 at {ranks} rank(s): exit 99", r.returncode == 99, (r.returncode, r.stderr))
        if ranks == 2:
            bad = [a if a != "obs/keep" else "obs/flag8" for a in args]
            r = run(bad + ["-o", out, "--checkpoint", ck], ranks=2)
            check("a resume with another --rows-where: exit 2 (the checkpoint does not match)", r.returncode == 2,
                  (r.returncode, r.stderr))
            r = run([a for a in args if a != "--log1p"] + ["-o", out, "--checkpoint", ck], ranks=2)
            check("a resume without --log1p: exit 2", r.returncode == 2, (r.returncode, r.stderr))
        r = run(args + ["-o", out, "--checkpoint", ck], ranks=ranks if ranks > 1 else None)
        if check(f"resumed at {ranks} rank(s): exit 0", r.returncode == 0, r.stderr):
            with h5py.File(whole, "r") as a, h5py.File(out, "r") as b:
                check(f"resumed at {ranks} rank(s): /components and /mean as uninterrupted (1e-12)",
                      rel(b["components"][:], a["components"][:]) < 1e-12 and rel(b["mean"][:], a["mean"][:]) < 1e-12,
                      rel(b["components"][:], a["components"][:]))


def test_refusals():
    f = fresh("ro.h5ad")
    os.chmod(f, 0o444)
    d = digest(f)
    r = pca(f)
    check("a read-only .h5ad: exit 3 naming it read-only", r.returncode == 3 and "read-only" in r.stderr,
          (r.returncode, r.stderr))
    check("... left as it was", digest(f) == d and stat.S_IMODE(os.stat(f).st_mode) == 0o444)
    with h5py.File(path("plain.h5"), "w") as h:
        h.create_dataset("X", data=A)
    d = digest(path("plain.h5"))
    r = pca(path("plain.h5"))
    check("a plain HDF5 file: exit 2, not an AnnData file (no /obs)",
          r.returncode == 2 and "not an AnnData file" in r.stderr and "'/obs'" in r.stderr, (r.returncode, r.stderr))
    check("... left as it was", digest(path("plain.h5")) == d)
    g = fresh("noenc.h5ad")
    with h5py.File(g, "a") as h:
        del h["var"].attrs["encoding-type"]
    r = pca(g)
    check("/var without its encoding-type: exit 2 naming it", r.returncode == 2 and "'/var'" in r.stderr, r.stderr)
    g = fresh("other.h5ad")
    with h5py.File(g, "a") as h:
        h.create_dataset("layers/small", data=A[:, :40])
    r = run(["pca", f"{g}:/layers/small", "-k", K, "--anndata", "--quiet"])
    check("a matrix of another shape than obs x var: exit 2 naming both",
          r.returncode == 2 and "400 cells (obs) x 60 genes" in r.stderr and "400 x 40" in r.stderr, r.stderr)
    r = run(["pca", f"{g}:/X", "-k", K, "--anndata", "-o", path("out.h5")])
    check("--anndata with -o: exit 1", r.returncode == 1 and "not both" in r.stderr, r.stderr)
    r = run(["pca", f"{g}:/X", "-k", K])
    check("neither -o nor --anndata: exit 1 naming both", r.returncode == 1 and "--anndata" in r.stderr, r.stderr)
    r = run(["svd", f"{g}:/X", "-k", K, "--anndata", "-o", path("out.h5")])
    check("svd does not take --anndata (exit 1)", r.returncode == 1, r.stderr)
    h = fresh("locked.h5ad")
    with h5py.File(h, "a"):  # another writer holds it (HDF5's file lock)
        r = pca(h)
    check("a file another program has open for writing: exit 2 saying so",
          r.returncode == 2 and "open for writing" in r.stderr, (r.returncode, r.stderr))
    check("... and it holds no PCA", "X_pca" not in anndata.read_h5ad(h).obsm)


def test_not_with_gridded_field_options():
    """--anndata and --rows-where are for an AnnData matrix: with --weights, --sample-dim or
    --missing drop (a gridded field's options) exit 1 naming both, the file unchanged."""
    h = fresh("fields.h5ad")
    d = digest(h)
    for extra in (["--weights", "coslat"], ["--sample-dim", "0"], ["--missing", "drop"]):
        for mode in (["--anndata"], ["--rows-where", "obs/keep", "-o", path("fields_out.h5")]):
            r = run(["pca", f"{h}:/X", "-k", K, *mode, *extra], timeout=60)
            check(f"pca {mode[0]} {' '.join(extra)}: exit 1 naming both, the file unchanged",
                  r.returncode == 1 and mode[0] in r.stderr and "gridded field" in r.stderr and digest(h) == d
                  and not os.path.exists(path("fields_out.h5")), (r.returncode, r.stderr))


harness.main(globals())
