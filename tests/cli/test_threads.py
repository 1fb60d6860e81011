"""End-to-end tests of the compute threads inside a rank (issue 15, "one process uses every core
it is given"): any ranks x threads split gives the 1 x 1 result to 1e-10 (svd, pca, float32
input read as float64, CSR input, QB, eig; the single pass, every method and sketch kind, to
1e-12; float32 arithmetic to float32's rounding), the same split gives
the same bits run after run (the threads' sums are added in a fixed order, never as they
finish), a checkpoint taken with T threads resumes with another T, --threads out of range is
refused, and the plan and --json say ranks x threads and why, with the BLAS held to the
threads prsvd chose whatever OPENBLAS_NUM_THREADS says."""
import json
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, gen, matrix, path, run, stop_at  # noqa: E402

m, n, k = 3000, 160, 8
SPLITS = [(1, 1), (1, 2), (2, 1), (2, 2), (1, 3)]  # ranks x threads; 2 x 2 oversubscribes 2 cores
# 16 KiB panels (two buffers): 6 rows a panel at 1 thread, so a pass is hundreds of panels and
# each thread's sums gather many of them before they are added
SMALL = ["--memory", "16K"]
# what the plan counts for the GEMM packing buffer of each dense thread past the first (panel.c)
BLAS_PACK = 3 << 19
_files = {}


def spec(kind):
    """The test matrices, made once: float64 with a planted spectrum, the same as float32."""
    if kind not in _files:
        extra = ["--dtype", "float32"] if kind == "f32" else []
        _files[kind] = gen(f"{kind}.h5", m, n, "--spectrum", "exp", "--decay", "0.3", *extra)
    return _files[kind]


_solved = {}


def solve(tag, ranks, threads, src, *extra, cmd="svd", rank=k, again=False):
    """Run cmd at ranks x threads; (U, S, V as float64 arrays, --json) or (None, None).  A run
    of the same command, input, options and split is made once a file and its result shared
    (the bit-for-bit repeats, the plan's facts and the checkpoints' references take the split
    tests' runs), unless again: a new run."""
    key = (cmd, src, tuple(map(str, extra)), ranks, threads, rank)
    if key in _solved and not again:
        return _solved[key]
    out = path(f"{tag}.r{ranks}t{threads}.h5")
    args = [cmd, src, *(["-k", rank] if rank else []), "-o", out, "--force", "--json", "--threads", threads, *extra]
    r = run(args, ranks=ranks if ranks > 1 else None)
    if not check(f"{tag}: {cmd} at {ranks} rank(s) x {threads} thread(s) exits 0", r.returncode == 0, r.stderr):
        return None, None
    with h5py.File(out, "r") as f:
        res = {key: f[key][:] for key in f if key in ("U", "S", "V", "L", "mean", "scale")}
    _solved.setdefault(key, (res, json.loads(r.stdout)))
    return res, json.loads(r.stdout)


def gap(a, b):
    """The largest difference of two results, singular values relative to the first."""
    s = a["S"] if "S" in a else a["L"]
    return max(np.max(np.abs(a[key] - b[key])) / (abs(s[0]) if key in ("S", "L") else 1.0) for key in a)


def across_splits(tag, src, *extra, cmd="svd", tol=1e-10, splits=SPLITS, rank=k):
    """Every split against 1 x 1: the results to tol, the --json threads as asked."""
    base, _ = solve(tag, 1, 1, src, *extra, cmd=cmd, rank=rank)
    if base is None:
        return None
    for ranks, threads in splits[1:]:
        res, js = solve(tag, ranks, threads, src, *extra, cmd=cmd, rank=rank)
        if res is None:
            continue
        check(f"{tag}: {ranks} x {threads} gives the 1 x 1 result to {tol:g}", gap(base, res) < tol, gap(base, res))
        t = js["threads"]
        check(f"{tag}: {ranks} x {threads}: --json says {threads} thread(s) a rank on {ranks} rank(s), asked for",
              (t["per_rank"], t["ranks"], t["chosen"]) == (threads, ranks, "--threads"), t)
    return base


def test_svd_splits():
    base = across_splits("svd", spec("f64"), *SMALL, "-q", 2)
    if base is not None:
        a, planted = matrix(spec("f64"))
        check("svd 1 x 1: S is the planted spectrum to 1e-10", np.max(np.abs(base["S"] - planted[:k])) < 1e-10 * planted[0])
    # one panel a rank (the default 4 MiB a thread): each thread's sums are one block's
    across_splits("svd-big-panels", spec("f64"), "-q", 1)
    _, js = solve("svd", 1, 3, spec("f64"), *SMALL, "-q", 2)  # the 1 x 3 run above
    if js:
        check("svd at 3 threads: the passes split their panels, the threads adding into their columns of the "
              "pass's sums: none of their own, only 2 threads' BLAS packing buffers",
              js["threads"]["split_panels"] and js["threads"]["thread_bytes"] == 2 * BLAS_PACK, js["threads"])


def test_pca_splits():
    """PCA: the column sums and sums of squares of the first pass, split among the threads by columns."""
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((1200, 6)) * [6, 4, 2, 1, 0.5, 0.25]) @ rng.standard_normal((6, 90)) + 3.0
    x += 0.01 * rng.standard_normal(x.shape)
    src = harness.write("pca.h5", x, ds="X")
    base = across_splits("pca --scale", src, *SMALL, "--scale", "-q", 2, cmd="pca", rank=5)
    if base is not None:
        z = (x - x.mean(0)) / x.std(0)
        ref = np.linalg.svd(z, compute_uv=False)[:5]
        check("pca --scale 1 x 1: S matches LAPACK on the standardized matrix", np.max(np.abs(base["S"] - ref)) < 1e-10 * ref[0])


def test_float32_splits():
    """float32 input: read as float64 the splits agree to 1e-10; multiplied by SGEMM (the
    default for float32 data) each thread's partial products are rounded to float32 on their
    own, so the splits agree to float32's rounding, as different rank counts do."""
    across_splits("float32 --precision double", spec("f32"), *SMALL, "--precision", "double")
    base = across_splits("float32 SGEMM", spec("f32"), *SMALL, tol=1e-5)
    if base is not None:
        a, _ = matrix(spec("f32"))
        ref = np.linalg.svd(a, compute_uv=False)[:k]
        check("float32 SGEMM 1 x 1: S to 1e-5 of LAPACK", np.max(np.abs(base["S"] - ref)) < 1e-5 * ref[0])


def csr_spec():
    """A sparse rank-12 matrix as an AnnData-style CSR group, made once."""
    if "csr" not in _files:
        import scipy.sparse as sp
        s1 = sp.random(2000, 12, density=0.15, random_state=3, format="csr")
        s2 = sp.random(300, 12, density=0.3, random_state=4, format="csr")
        x = sp.csr_matrix(s1 @ sp.diags(2.0 ** -np.arange(12)) @ s2.T)
        x.sort_indices()
        with h5py.File(path("csr.h5"), "w") as f:
            g = f.create_group("X")
            g.attrs["encoding-type"] = "csr_matrix"
            g.attrs["encoding-version"] = "0.1.0"
            g.attrs["shape"] = np.array(x.shape)
            g["data"], g["indices"], g["indptr"] = x.data, x.indices.astype(np.int64), x.indptr.astype(np.int64)
        _files["csr"] = (f"{path('csr.h5')}:/X", x)
    return _files["csr"]


def test_sparse_splits():
    """CSR panels: the rows split by stored entries, each thread's co-range sum row-major and its
    own, added in thread order after each panel; svd and pca (column sums from the CSR entries)
    agree to 1e-10."""
    src, x = csr_spec()
    base = across_splits("csr svd", src, "--memory", "64K", "-q", 2)
    if base is not None:
        ref = np.linalg.svd(x.toarray(), compute_uv=False)[:k]
        check(f"csr svd 1 x 1 ({x.nnz} stored entries): S to 1e-10 of LAPACK",
              np.max(np.abs(base["S"] - ref)) < 1e-10 * ref[0], np.max(np.abs(base["S"] - ref)) / ref[0])
    across_splits("csr pca", src, "--memory", "64K", "-q", 2, cmd="pca", rank=5)
    _, js = solve("csr svd", 1, 2, src, "--memory", "64K", "-q", 2)  # the 1 x 2 run above
    if js:
        check("csr at 2 threads: the passes split their panels", js["threads"]["split_panels"], js["threads"])


def test_other_methods():
    """The other multi-pass methods and Nystrom split their panels as well."""
    # a tolerance halfway (in log) between the optimal errors at ranks 9 and 10, so that the
    # rank --tol chooses is not a rounding's decision
    _, planted = matrix(spec("f64"))
    tail = np.sqrt(np.cumsum((planted ** 2)[::-1])[::-1]) / np.linalg.norm(planted)  # tail[r]: error at rank r
    tol = float(np.sqrt(tail[9] * tail[10]))
    for tag, extra, cmd in [("qb --tol --passes 3", ["--tol", tol, "--passes", 3, "--max-rank", 24], "svd"),
                            ("qb-ei --tol", ["--tol", tol, "--max-rank", 24], "svd")]:
        base, _ = solve(tag, 1, 1, spec("f64"), *SMALL, *extra, cmd=cmd, rank=None)
        res, _ = (None, None) if base is None else solve(tag, 1, 3, spec("f64"), *SMALL, *extra, cmd=cmd, rank=None)
        if res is not None:
            same = base["S"].shape == res["S"].shape
            check(f"{tag}: 3 threads give the 1-thread rank and result to 1e-10", same and gap(base, res) < 1e-10,
                  (base["S"].shape, res["S"].shape) if not same else gap(base, res))
    rng = np.random.default_rng(7)
    b = rng.standard_normal((600, 40)) * np.linspace(3, 0.1, 40)
    g = harness.write("gram.h5", b @ b.T, ds="G")
    for method in ["nystrom", "revd"]:
        across_splits(f"eig {method}", g, *SMALL, "--method", method, cmd="eig", splits=[(1, 1), (1, 2), (2, 2)])
        _, js = solve(f"eig {method}", 1, 2, g, *SMALL, "--method", method, cmd="eig")  # the 1 x 2 run above
        if js:
            check(f"eig {method} at 2 threads: the passes split their panels", js["threads"]["split_panels"], js["threads"])


def test_extreme_scale_splits():
    """An A far from 1 is sketched as 2^e A (the repeated first pass, or Nystrom's running
    scale): each thread scales its own rows of K (its own scratch), and the threads' sums are
    added before a rescale; the splits agree to 1e-10 relative."""
    a, _ = matrix(spec("f64"))
    for scale in [1e-300, 1e300]:
        src = harness.write(f"x{scale:g}.h5", a[:1200] * scale)
        base = across_splits(f"svd x {scale:g}", src, *SMALL, "-q", 1, splits=[(1, 1), (1, 3), (2, 2)])
        if base is not None:
            check(f"svd x {scale:g}: S is that of A times {scale:g}", abs(base["S"][0] / scale / np.linalg.norm(a[:1200], 2) - 1) < 1e-10,
                  base["S"][0] / scale)
    rng = np.random.default_rng(8)
    b = rng.standard_normal((400, 30))
    g = harness.write("gram_tiny.h5", (b @ b.T) * 1e-300, ds="G")
    across_splits("eig nystrom x 1e-300", g, *SMALL, cmd="eig", splits=[(1, 1), (1, 3)])


def test_same_bits_every_run():
    """The same split gives the same bits each time: each thread adds its own rows' products
    into sums of its own, added to the pass's in thread order after each panel.  A reduction in the order the
    threads finish (say each adding its panel's part into the shared sum under a lock) gives
    other bits from run to run, and this fails."""
    for label, src, extra, ranks, threads in [("dense", spec("f64"), SMALL, 1, 2), ("dense", spec("f64"), SMALL, 1, 3),
                                              ("dense", spec("f64"), SMALL, 2, 2),
                                              ("CSR", csr_spec()[0], ["--memory", "64K"], 1, 3)]:
        # the first: test_svd_splits' or test_sparse_splits' run of this split, when it ran
        runs = [solve(f"repeat{i}", ranks, threads, src, *extra, "-q", 2, again=i > 0)[0] for i in range(4)]
        if all(r is not None for r in runs):
            same = all(np.array_equal(r[key], runs[0][key]) for r in runs[1:] for key in runs[0])
            check(f"{label}, {ranks} x {threads}: four runs give the same U, S, V bit for bit", same,
                  [gap(runs[0], r) for r in runs[1:]])


def test_checkpoint_other_threads():
    """A checkpoint holds the passes' sums whole (the threads' own added before each save), so
    a run stopped at 2 threads resumes at 3 and gives the uninterrupted result."""
    ck, out = path("t.ckpt"), path("ck.h5")
    args = ["svd", spec("f64"), "-k", k, "-q", 1, "-o", out, "--force", *SMALL, "--checkpoint", ck]
    if os.path.exists(ck):
        os.remove(ck)
    r = stop_at(300, args + ["--threads", 2], 1)
    check("stopped at step 300 with 2 threads: exit 99, a checkpoint written", r.returncode == 99 and os.path.exists(ck),
          r.returncode)
    r = run(args + ["--threads", 3])
    base, _ = solve("ck-ref", 1, 1, spec("f64"), *SMALL, "-q", 1)
    if check("resumed with 3 threads: exit 0", r.returncode == 0, r.stderr) and base is not None:
        with h5py.File(out, "r") as f:
            res = {key: f[key][:] for key in ("U", "S", "V")}
        check("resumed with 3 threads: the uninterrupted 1-thread result to 1e-10", gap(base, res) < 1e-10, gap(base, res))
    # the threads' sums are added at every panel's end, not only where a checkpoint is saved:
    # stopped and resumed at 2 threads, the bits of a 2-thread run that never checkpointed
    if os.path.exists(ck):
        os.remove(ck)
    r = stop_at(300, args + ["--threads", 2], 1)
    r2 = run(args + ["--threads", 2]) if r.returncode == 99 else r
    ref2, _ = solve("ck-ref2", 1, 2, spec("f64"), *SMALL, "-q", 1)
    if check("stopped and resumed at 2 threads: exit 99, then 0", r.returncode == 99 and r2.returncode == 0,
             r.stderr + r2.stderr) and ref2 is not None:
        with h5py.File(out, "r") as f:
            res = {key: f[key][:] for key in ("U", "S", "V")}
        check("stopped and resumed at 2 threads: the uninterrupted 2-thread run's U, S, V bit for bit",
              all(np.array_equal(res[key], ref2[key]) for key in res), gap(ref2, res))


def test_onepass_splits():
    """The single pass (--passes 1) splits its dense panels too: each thread draws its own rows
    of the left test matrices and adds its rows' A_b^T G_b and G_b^T P_b into sums of its own
    (the sparse sign maps into a tile of its own), added in thread order after each panel; every
    method and sketch kind agrees across splits to 1e-12, float32 arithmetic to float32's
    rounding, an A of 1e-300 (the running scale) and a checkpoint taken at 2 threads and resumed
    at 3 too (CSR data: test_onepass_csr_splits)."""
    for method in ["three", "two", "hmt"]:
        for sketch in ["gaussian", "sparse"]:
            across_splits(f"onepass {method} {sketch}", spec("f64"), *SMALL, "--passes", 1, "--onepass-method", method,
                          "--sketch", sketch, tol=1e-12)
    base = across_splits("onepass float32 SGEMM", spec("f32"), *SMALL, "--passes", 1, "--sketch", "sparse", tol=1e-5)
    if base is not None:
        a, _ = matrix(spec("f32"))
        ref = np.linalg.svd(a.astype(np.float64), compute_uv=False)[:k]
        check("onepass float32 1 x 1: S to 1e-2 of LAPACK (a single pass's accuracy at this spectrum)",
              np.max(np.abs(base["S"] - ref)) < 1e-2 * ref[0], np.max(np.abs(base["S"] - ref)) / ref[0])
    a, _ = matrix(spec("f64"))
    src = harness.write("onepass_tiny.h5", a[:1200] * 1e-300)
    base = across_splits("onepass x 1e-300", src, *SMALL, "--passes", 1, tol=1e-12, splits=[(1, 1), (1, 3), (2, 2)])
    ref, _ = solve("onepass-unscaled", 1, 1, harness.write("onepass_unit.h5", a[:1200]), *SMALL, "--passes", 1)
    if base is not None and ref is not None:
        check("onepass x 1e-300: S is 1e-300 times that of A, U and V the same",
              np.max(np.abs(base["S"] / 1e-300 - ref["S"])) < 1e-12 * ref["S"][0] and
              np.max(np.abs(base["U"] - ref["U"])) < 1e-10, np.max(np.abs(base["S"] / 1e-300 - ref["S"])))
    onepass = ["--passes", 1, "--onepass-method", "three"]  # the defaults, as across_splits gave them
    runs = [solve(f"onepass-repeat{i}", 1, 3, spec("f64"), *SMALL, *onepass, "--sketch", "sparse", again=i > 0)[0]
            for i in range(3)]
    if all(r is not None for r in runs):
        check("onepass 1 x 3: three runs give the same U, S, V bit for bit",
              all(np.array_equal(r[key], runs[0][key]) for r in runs[1:] for key in runs[0]), [gap(runs[0], r) for r in runs[1:]])
    _, js = solve("onepass-split", 1, 3, spec("f64"), *SMALL, *onepass, "--sketch", "gaussian")
    if js:
        check("onepass at 3 threads: the pass splits its panels, with no left sums or cores of the threads' own, "
              "only 2 threads' BLAS packing buffers",
              js["threads"]["split_panels"] and js["threads"]["thread_bytes"] == 2 * BLAS_PACK, js["threads"])
    ck, out = path("op.ckpt"), path("op-ck.h5")
    args = ["svd", spec("f64"), "-k", k, "--passes", 1, "--sketch", "sparse", "-o", out, "--force", *SMALL, "--checkpoint", ck]
    if os.path.exists(ck):
        os.remove(ck)
    r = stop_at(200, args + ["--threads", 2], 1)
    check("onepass stopped at step 200 with 2 threads: exit 99, a checkpoint written",
          r.returncode == 99 and os.path.exists(ck), r.returncode)
    r = run(args + ["--threads", 3])
    base, _ = solve("onepass-ck-ref", 1, 1, spec("f64"), *SMALL, *onepass, "--sketch", "sparse")
    if check("onepass resumed with 3 threads: exit 0", r.returncode == 0, r.stderr) and base is not None:
        with h5py.File(out, "r") as f:
            res = {key: f[key][:] for key in ("U", "S", "V")}
        check("onepass resumed with 3 threads: the uninterrupted 1-thread result to 1e-12", gap(base, res) < 1e-12,
              gap(base, res))


def write_csr(name, x):
    """x (scipy.sparse) as an AnnData-style CSR group; its FILE:/X."""
    x = x.tocsr()
    x.sort_indices()
    with h5py.File(path(name), "w") as f:
        g = f.create_group("X")
        g.attrs["encoding-type"] = "csr_matrix"
        g.attrs["encoding-version"] = "0.1.0"
        g.attrs["shape"] = np.array(x.shape)
        g["data"], g["indices"], g["indptr"] = x.data, x.indices.astype(np.int64), x.indptr.astype(np.int64)
    return f"{path(name)}:/X"


def same_subspace(u, ref):
    """The largest entry of ref - u u^T ref: 0 when u's columns span ref's."""
    return float(np.max(np.abs(ref - u @ (u.T @ ref))))


def test_onepass_csr_splits():
    """The single pass over CSR panels splits each panel's stored entries among the threads too:
    each thread its rows of Y = A Omega (a dense or sparse sign right map), its own left sums
    X^T, S^T and core Z from its rows of the left maps (a Gaussian's drawn by the thread), added
    in thread order after each panel.  Gaussian and sparse sketches at 1, 2 and 3 threads and
    2 x 2 agree to 1e-10, recover the exact rank-12 matrix (S and the subspaces of numpy's SVD
    to 1e-10), and --json says the panels were split (on one thread a rank before) with the
    threads' left sums and cores counted in the plan."""
    src, x = csr_spec()
    dense = x.toarray()
    ur, sr, vrt = np.linalg.svd(dense, full_matrices=False)
    for sketch in ["gaussian", "sparse"]:
        base = across_splits(f"onepass csr {sketch}", src, "--memory", "64K", "--passes", 1, "--sketch", sketch,
                             splits=[(1, 1), (1, 2), (1, 3), (2, 2)])
        if base is not None:
            check(f"onepass csr {sketch} 1 x 1: S to 1e-10 of numpy's SVD (exact rank 12 <= k_s)",
                  np.max(np.abs(base["S"] - sr[:k])) < 1e-10 * sr[0], np.max(np.abs(base["S"] - sr[:k])) / sr[0])
            check(f"onepass csr {sketch} 1 x 1: U and V span numpy's leading {k} singular vectors to 1e-10",
                  max(same_subspace(base["U"], ur[:, :k]), same_subspace(base["V"], vrt[:k].T)) < 1e-10,
                  (same_subspace(base["U"], ur[:, :k]), same_subspace(base["V"], vrt[:k].T)))
        _, js = solve(f"onepass-csr-{sketch}", 1, 2, src, "--memory", "64K", "--passes", 1, "--sketch", sketch)
        if js:
            ks, s = 2 * k + 1, 2 * (2 * k + 1) + 1
            check(f"onepass csr {sketch} at 2 threads: the pass splits its panels, and the plan counts a thread's left "
                  "sums and core", js["threads"]["split_panels"] and js["threads"]["thread_bytes"] >= 8 * (x.shape[1] * (ks + 10) + s * s),
                  js["threads"])


def test_onepass_csr_empty_lanes():
    """Hostile CSR panels for the single pass's threads: 3 threads on a 2-row matrix (a thread
    with no rows), and a matrix whose zero rows come in blocks (panels with no stored entry,
    whose every row falls to the last thread): the 1-thread result to 1e-10 and numpy's S."""
    import scipy.sparse as sp
    rng = np.random.default_rng(11)
    two = sp.csr_matrix(rng.standard_normal((2, 40)))
    # rank 6 (<= k_s: recovered exactly), rows 100-299 and 450-459 zero: whole panels stored empty
    keep = np.r_[np.ones(100), np.zeros(200), np.ones(150), np.zeros(10), np.ones(140)]
    low = sp.random(600, 6, density=0.3, random_state=13) @ sp.random(6, 50, density=0.5, random_state=14)
    zeros = sp.csr_matrix(sp.diags(keep) @ low)
    zeros.eliminate_zeros()
    for tag, x, rank, extra in [("2 rows", two, 1, []), ("zero-row blocks", zeros, 4, ["--memory", "2K"])]:
        src = write_csr(f"hostile-{tag.replace(' ', '-')}.h5", x)
        ref = np.linalg.svd(x.toarray(), compute_uv=False)[:rank]
        for sketch in ["gaussian", "sparse"]:
            base = across_splits(f"onepass csr {tag} {sketch}", src, *extra, "--passes", 1, "--sketch", sketch,
                                 splits=[(1, 1), (1, 3), (2, 2)], rank=rank)
            if base is not None:
                check(f"onepass csr {tag} {sketch}: S to 1e-10 of numpy's", np.max(np.abs(base["S"] - ref)) < 1e-10 * ref[0],
                      np.max(np.abs(base["S"] - ref)) / ref[0])


def test_threads_refused():
    for value in ["0", "-1", "1025", "100000", "two"]:
        r = run(["svd", spec("f64"), "-k", k, "-o", path("bad.h5"), "--force", "--threads", value])
        check(f"--threads {value}: a usage error (exit 1) naming --threads and its range",
              r.returncode == 1 and "--threads" in r.stderr and ("[1, 1024]" in r.stderr or "integer" in r.stderr),
              (r.returncode, r.stderr))
    r = run(["eig", spec("f64"), "-k", 2, "-o", path("bad.h5"), "--force", "--threads", "0"])
    check("eig --threads 0: a usage error", r.returncode == 1 and "--threads" in r.stderr, r.stderr)


def test_automatic_choice():
    """Without --threads: the rank's CPUs, shared among the ranks that may run on them."""
    cpus = len(os.sched_getaffinity(0))
    src = spec("f64")

    def auto(label, prefix, ranks, mpiflags, env):
        out = path("auto.h5")
        cmd = [harness.PRSVD, "svd", src, "-k", str(k), "-o", out, "--force", "--json", *SMALL]
        if ranks:
            cmd = [harness.MPIEXEC, *harness.MPIFLAGS, *mpiflags, "-n", str(ranks), *cmd]
        import subprocess
        r = subprocess.run(prefix + cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ, **env))
        if check(f"{label}: exit 0", r.returncode == 0, r.stderr):
            return json.loads(r.stdout)["threads"]
        return None

    # OPENBLAS_NUM_THREADS=4 would have OpenBLAS run 4 threads a call: prsvd sets its own count
    t = auto("no mpirun", [], None, [], {"OPENBLAS_NUM_THREADS": "4"})
    if t:
        check(f"no mpirun: {cpus} thread(s), the CPUs of the affinity mask, chosen automatically",
              (t["per_rank"], t["chosen"], t["cpus"], t["sharing"]) == (min(cpus, 1024), "auto", cpus, 1), t)
        if t["blas_control"] == "openblas":
            check("no mpirun: the BLAS runs the chosen threads, not OPENBLAS_NUM_THREADS=4", t["blas_threads"] == t["per_rank"], t)
    t = auto("taskset -c 0", ["taskset", "-c", "0"], None, [], {})
    if t:
        check("taskset -c 0: 1 thread (1 CPU in the mask)", (t["per_rank"], t["cpus"]) == (1, 1), t)
    t = auto("mpirun -n 2 --bind-to none", [], 2, ["--bind-to", "none"], {"OPENBLAS_NUM_THREADS": "4"})
    if t:
        want = max(1, cpus // 2)
        check(f"2 ranks --bind-to none on {cpus} CPU(s): {want} thread(s) each (both ranks share every CPU), "
              "so ranks x threads do not exceed the CPUs", (t["per_rank"], t["sharing"]) == (want, 2)
              and 2 * t["per_rank"] <= max(cpus, 2), t)
        if t["blas_control"] == "openblas":
            check("2 ranks --bind-to none: each rank's BLAS runs its thread count, not OPENBLAS_NUM_THREADS=4",
                  t["blas_threads"] == t["per_rank"], t)


def launched(label, mpiflags, ranks, env=None):
    """svd under `mpirun MPIFLAGS -n RANKS` as a user types it (without MPIEXEC_FLAGS, whose
    binding would not be the default's): (S, --json threads), or (None, None) when it failed."""
    import subprocess
    out = path("launch.h5")
    cmd = [harness.MPIEXEC, *mpiflags, "-n", str(ranks), harness.PRSVD, "svd", spec("f64"), "-k", str(k), "-o", out,
           "--force", "--json", *SMALL, "-q", "2"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ, **(env or {})))
    if not check(f"{label}: exit 0", r.returncode == 0, r.stderr):
        return None, None
    with h5py.File(out, "r") as f:
        return f["S"][:], json.loads(r.stdout)["threads"]


def open_mpi_4():
    """Whether MPIEXEC is Open MPI 4's mpirun, whose default binding prsvd tells from an asked one."""
    import subprocess
    v = subprocess.run([harness.MPIEXEC, "--version"], capture_output=True, text=True).stdout
    ok = "Open MPI) 4." in v
    if not ok:
        print(f"# skipped: {harness.MPIEXEC} is not Open MPI 4 ({v.splitlines()[:1]})")
    return ok


def test_mpirun_one_rank_widened():
    """`mpirun -n 1` (Open MPI binds it to a core by its default) runs on every CPU of the launcher, same S."""
    cpus = len(os.sched_getaffinity(0))
    if not open_mpi_4() or cpus < 2:
        return
    base, _ = solve("launch", 1, 1, spec("f64"), *SMALL, "-q", 2)
    s, t = launched("mpirun -n 1", [], 1)
    if t is None or base is None:
        return
    check(f"mpirun -n 1: widened from Open MPI's default binding to 1 CPU to all {cpus}, {cpus} threads, and the "
          "plan says so", (t["per_rank"], t["cpus"], t.get("widened_from"), t.get("binding_kept")) == (cpus, cpus, 1, False)
          and "default binding to 1, widened" in t["why"], t)
    check("mpirun -n 1: S is the 1-thread S to 1e-10", np.max(np.abs(s - base["S"])) < 1e-10 * base["S"][0],
          np.max(np.abs(s - base["S"])))
    _, t = launched("mpirun -n 1, PRSVD_KEEP_BINDING=1", [], 1, env={"PRSVD_KEEP_BINDING": "1"})
    if t:
        check("PRSVD_KEEP_BINDING=1: Open MPI's binding to 1 CPU kept, 1 thread, and the plan says why",
              (t["per_rank"], t["cpus"], t.get("widened_from"), t.get("binding_kept")) == (1, 1, 0, True)
              and "kept: PRSVD_KEEP_BINDING" in t["why"], t)
    _, t = launched("mpirun -n 1, PRSVD_KEEP_BINDING=0", [], 1, env={"PRSVD_KEEP_BINDING": "0"})
    if t:
        check("PRSVD_KEEP_BINDING=0: widened as without it", (t["per_rank"], t.get("widened_from")) == (cpus, 1), t)


def test_mpirun_asked_binding_kept():
    """A binding the user asked for (--bind-to core, the environment, an MCA parameter file) stays: 1 thread."""
    if not open_mpi_4():
        return
    conf = path("mca-params.conf")
    with open(conf, "w") as f:
        f.write("hwloc_base_binding_policy = core\n")
    for label, flags, env in [("mpirun -n 1 --bind-to core", ["--bind-to", "core"], None),
                              ("OMPI_MCA_hwloc_base_binding_policy=core", [], {"OMPI_MCA_hwloc_base_binding_policy": "core"}),
                              ("an MCA parameter file binding to a core", [], {"OMPI_MCA_mca_base_param_files": conf}),
                              ("mpirun -n 1 --cpu-set 0", ["--cpu-set", "0"], None)]:
        _, t = launched(label, flags, 1, env=env)
        if t:
            check(f"{label}: the binding to 1 CPU kept, 1 thread", (t["per_rank"], t["cpus"], t.get("widened_from")) == (1, 1, 0), t)


def test_mpirun_param_file_edges():
    """MCA parameter files read as Open MPI reads them: a binding in the second file of the list is kept; an empty value or a longer name asks for nothing."""
    if not open_mpi_4() or len(os.sched_getaffinity(0)) < 2:
        return
    files = {}
    for name, text in [("other", "btl_base_verbose = 0\n"), ("tabs", "\thwloc_base_binding_policy\t=\tcore  \n"),
                       ("empty", "hwloc_base_binding_policy =\n"), ("longer", "hwloc_base_binding_policy_x = core\n")]:
        files[name] = path(f"bind-{name}.conf")
        with open(files[name], "w") as f:
            f.write(text)
    _, t = launched("a binding in the second parameter file", [], 1,
                    env={"OMPI_MCA_mca_base_param_files": files["other"] + ":" + files["tabs"]})
    if t:
        check("a binding in the second parameter file (tabs around it): kept, 1 thread",
              (t["per_rank"], t.get("widened_from")) == (1, 0), t)
    for name in ("empty", "longer"):
        _, t = launched(f"a parameter file with {name} binding line", [], 1,
                        env={"OMPI_MCA_mca_base_param_files": files[name]})
        if t:
            check(f"a parameter file whose binding line is {name}: widened as the default",
                  t["per_rank"] == len(os.sched_getaffinity(0)) and t.get("widened_from") == 1, t)


def test_mpirun_two_ranks_kept():
    """`mpirun -n 2`: two ranks share the node, each keeps the core Open MPI gave it."""
    if not open_mpi_4() or len(os.sched_getaffinity(0)) < 2:
        return
    _, t = launched("mpirun -n 2", [], 2)
    if t:
        check("mpirun -n 2: each rank keeps its core, 1 thread", (t["per_rank"], t["cpus"], t.get("widened_from")) == (1, 1, 0), t)


def test_plan_says_threads():
    r = run(["svd", spec("f64"), "-k", k, "-o", path("plan.h5"), "--force", "--threads", 2])
    check("the text plan says 1 rank x 2 threads and that they were asked for",
          r.returncode == 0 and "1 rank x 2 threads (--threads 2;" in r.stdout, r.stdout)
    r = run(["svd", spec("f64"), "-k", k, "-o", path("plan.h5"), "--force", "--threads", 2, "--passes", 1])
    check("the text plan: the single pass over dense panels splits them (no 'one thread a rank')",
          r.returncode == 0 and "1 rank x 2 threads" in r.stdout and "one thread a rank" not in r.stdout, r.stdout)
    r = run(["svd", csr_spec()[0], "-k", k, "-o", path("plan.h5"), "--force", "--threads", 2, "--passes", 1])
    check("the text plan: the single pass over CSR panels splits them too (no 'one thread a rank')",
          r.returncode == 0 and "1 rank x 2 threads" in r.stdout and "one thread a rank" not in r.stdout, r.stdout)
    r = run(["info", spec("f64"), "-k", k, "--threads", 3])
    check("info -k plans the threads svd would run, in the plan's words",
          r.returncode == 0 and "1 rank x 3 threads (--threads 3;" in r.stdout, r.stdout)


def test_pml_named_on_one_node():
    """Open MPI's ob1 PML is named for a lone process and for mpirun's ranks on one node (no 0.2 s probe of cm); a user's choice is kept."""
    import subprocess
    if not open_mpi_4():
        return
    plain = {k: v for k, v in os.environ.items() if k != "OMPI_MCA_pml"}  # the harness names it
    plain["OMPI_MCA_pml_base_verbose"] = "10"
    files = {}
    for name, text in [("choose", "pml = ob1,cm\n"), ("exclude", "# Debian's\npml = ^ucx\n"),
                       ("exclude-ob1", "  pml=^ob1,ucx\n"), ("long", "x" * 5000 + "\npml_base_verbose = 10\n")]:
        files[name] = path(f"pml-{name}.conf")
        with open(files[name], "w") as f:
            f.write(text)
    cases = [("prsvd alone", None, {}, False),
             ("mpirun -n 2 on one node", 2, {}, False),
             ("the user's OMPI_MCA_pml=cm,ob1", None, {"OMPI_MCA_pml": "cm,ob1"}, True),
             ("mpirun -n 2 -x OMPI_MCA_pml=cm,ob1", 2, {"OMPI_MCA_pml": "cm,ob1"}, True),
             ("an MCA parameter file choosing pml = ob1,cm", None,
              {"OMPI_MCA_mca_base_param_files": files["choose"]}, True),
             ("an MCA parameter file excluding ucx only (pml = ^ucx)", None,
              {"OMPI_MCA_mca_base_param_files": "/nonexistent:" + files["exclude"] + "::" + files["long"]}, False),
             ("an MCA parameter file excluding ob1", None,
              {"OMPI_MCA_mca_base_param_files": files["exclude-ob1"]}, True)]
    for label, ranks, env, kept in cases:
        cmd = [harness.PRSVD, "svd", spec("f64"), "-k", k, "-o", path("pml.h5"), "--force", *SMALL]
        if ranks:
            cmd = [harness.MPIEXEC, "-n", str(ranks)] + (["-x", "OMPI_MCA_pml"] if "OMPI_MCA_pml" in env else []) + cmd
        r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300, env=dict(plain, **env))
        tried_cm = "component cm" in r.stderr
        if kept:
            check(f"{label}: kept (Open MPI looks at cm as told)", tried_cm, r.stderr[-2000:])
        else:
            check(f"{label}: exit 0, ob1 selected and cm never opened",
                  r.returncode == 0 and not tried_cm and "component ob1 selected" in r.stderr, r.stderr[-2000:])


def test_singleton_starts_no_daemon():
    """A lone prsvd (and prsvd-kfac-train) starts no orted and keeps a session directory of its own (cli/singleton.c): it runs where Open MPI's bin directory has none, side by side with others, and leaves nothing in TMPDIR, killed or not; a user's choice is kept."""
    import subprocess
    if not open_mpi_4():
        return
    # Open MPI finds orted in its bin directory, which OPAL_BINDIR names: an empty one makes
    # a singleton's MPI_Init fail if it forks the daemon (whose PMIx threads raced MPI_Finalize
    # into a SIGSEGV once in a few hundred runs), and changes nothing for one that starts none
    no_orted, sessions = path("no-orted"), path("sessions")
    os.makedirs(no_orted, exist_ok=True)
    os.makedirs(sessions, exist_ok=True)
    base = {k: v for k, v in os.environ.items()
            if k not in ("OMPI_MCA_ess_singleton_isolated", "OMPI_MCA_orte_top_session_dir", "OMPI_MCA_orte_tmpdir_base")}
    base["OPAL_BINDIR"] = no_orted
    base["TMPDIR"] = sessions  # where the session directories go: empty again after each run
    conf = path("isolated-0.conf")
    with open(conf, "w") as f:
        f.write("ess_singleton_isolated = 0\n")
    nan = path("nan.h5")
    bad = np.random.default_rng(3).standard_normal((200, 20))
    bad[150, 7] = np.nan
    with h5py.File(nan, "w") as f:
        f["A"] = bad
    train = os.path.join(harness.TOP, "tools", "kfac", "prsvd-kfac-train")

    def go(cmd, env=None):
        return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300,
                              env=dict(base, **(env or {})))

    def left():
        return sorted(os.listdir(sessions))

    r = go([harness.PRSVD, "info", spec("f64"), "--json"])
    check("info alone, no orted to be found: exit 0 with its JSON, no session directory left",
          r.returncode == 0 and json.loads(r.stdout or "{}").get("rows") == m and not left(),
          f"{r.returncode} {left()} {r.stderr[-1500:]}")
    r = go([harness.PRSVD, "svd", spec("f32"), "-k", k, "-o", path("iso.h5"), "--force", *SMALL])
    check("svd of float32 alone, no orted: exit 0, nothing left", r.returncode == 0 and not left(),
          f"{r.returncode} {left()} {r.stderr[-1500:]}")
    r = go([harness.PRSVD, "svd", f"{nan}:/A", "-k", 3, "-o", path("iso-nan.h5"), "--force"])
    check("an error exit alone, no orted: exit 2 naming the NaN, nothing left",
          r.returncode == 2 and "NaN at row 150, column 7" in r.stderr and not left(),
          f"{r.returncode} {left()} {r.stderr[-1500:]}")
    r = go([harness.PRSVD, "svd", spec("f64"), "-k", k, "-o", path("iso-term.h5"), "--force"],
           {"PRSVD_TEST_SIGTERM_AT_WRITE": "1"})
    check("SIGTERM during the write, no MPI_Finalize: exit 143, its session directory removed",
          r.returncode == 143 and not left(), f"{r.returncode} {left()} {r.stderr[-1500:]}")
    if os.access(train, os.X_OK):
        r = go([train, "--help"])
        check("prsvd-kfac-train alone, no orted: --help exits 0", r.returncode == 0 and not left(),
              f"{r.returncode} {left()} {r.stderr[-1500:]}")
    # side by side: each its own session directory, none removing another's as it finalizes
    # (one shared directory made MPI_Init or an MPI-IO open fail now and then)
    runs = [subprocess.Popen([str(c) for c in [harness.PRSVD, "svd", spec("f64"), "-k", k, "-o", path(f"side{i}.h5"),
                                               "--force", "--quiet"]],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=base) for i in range(6)]
    outs = [(p.wait(timeout=300), p.communicate()[1]) for p in runs]
    check("6 lone svd runs side by side: every one exits 0 with no MPI message, nothing left",
          all(rc == 0 and not err for rc, err in outs) and not left(), f"{[o[0] for o in outs]} {left()} "
          + " | ".join(err[-300:] for _, err in outs if err))
    for label, env in [("the user's OMPI_MCA_ess_singleton_isolated=0", {"OMPI_MCA_ess_singleton_isolated": "0"}),
                       ("an MCA parameter file's ess_singleton_isolated = 0", {"OMPI_MCA_mca_base_param_files": conf}),
                       ("the user's OMPI_MCA_orte_tmpdir_base", {"OMPI_MCA_orte_tmpdir_base": sessions})]:
        r = go([harness.PRSVD, "info", spec("f64")], env)
        check(f"{label} is kept: the singleton is Open MPI's own, which looks for its orted (and fails without one)",
              r.returncode != 0 and "orte_init failed" in r.stderr, f"{r.returncode} {r.stderr[-1500:]}")


harness.main(globals())
