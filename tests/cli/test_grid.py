"""End-to-end tests of the 2-D process grid (issue 4, "no rank holds an n x l array"): svd and
pca on pr x pc grids give the P x 1 result to 1e-10 and the planted spectrum against LAPACK;
the --json plan shows each rank holding n / pc rows of the test matrix; the automatic rule;
and the runs a 2-D grid refuses or stops, each with its message and exit code."""
import json
import os
import sys

import h5py
import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, gen, load, matrix, path, run, temp_leftovers, write  # noqa: E402

m, n, k = 500, 150, 8
_cache = {}


def input_matrix():
    """The chunked, gzipped exp-spectrum input, made once: (FILE:/A, A, planted, LAPACK's S)."""
    if "a" not in _cache:
        spec = gen("a.h5", m, n, "--spectrum", "exp", "--decay", "0.25", "--chunk", "50x50", "--gzip", "1")
        a, planted = matrix(spec)
        _cache["a"] = spec, a, planted, np.linalg.svd(a, compute_uv=False)
    return _cache["a"]


def svd(tag, ranks, *extra, cmd="svd", src=None, rank=k):
    out = path(f"{tag}.h5")
    r = run([cmd, src or input_matrix()[0], "-k", rank, "-q", 2, "-o", out, "--force", "--json", *extra], ranks=ranks)
    if not check(f"{cmd} {tag} on {ranks} rank(s) exits 0", r.returncode == 0, r.stderr):
        return None, None
    return load(out), json.loads(r.stdout)


def one_rank():
    """The 1-rank run, made once: ((U, S, V, attributes), --json)."""
    if "one" not in _cache:
        res, js = svd("one", None)
        assert res is not None, "the 1-rank svd failed"
        _cache["one"] = res, js
    return _cache["one"]


def test_one_rank():
    """The test matrix's planted spectrum is LAPACK's; 1 rank runs a 1 x 1 grid and matches LAPACK."""
    _, _, planted, sref = input_matrix()
    check("test matrix: the planted spectrum is LAPACK's", np.max(np.abs(sref[:k] - planted[:k])) < 1e-12 * sref[0])
    (u1, s1, v1, at1), j1 = one_rank()
    check("1 rank: the grid is 1 x 1, X holds all n rows",
          j1["grid"] == {"rows": 1, "cols": 1, "chosen": "auto", "x_rows_per_rank": n}, j1["grid"])
    check("1 rank: S matches LAPACK to 1e-10", np.max(np.abs(s1 - sref[:k])) < 1e-10 * sref[0], s1 - sref[:k])


def test_grids_match_one_rank():
    """--grid 1x2, 1x3, 2x2, 1x4: the 1-rank S, U, V and error estimates, n / pc rows of X, one read a pass."""
    _, _, _, sref = input_matrix()
    (u1, s1, v1, at1), _ = one_rank()
    for ranks, grid in [(2, "1x2"), (3, "1x3"), (4, "2x2"), (4, "1x4")]:
        pr, pc = map(int, grid.split("x"))
        (u, s, v, at), j = svd(f"g{grid}", ranks, "--grid", grid)
        if u is None:
            continue
        d = max(np.max(np.abs(u - u1)), np.max(np.abs(v - v1)), np.max(np.abs(s - s1)) / s1[0])
        check(f"--grid {grid}: S, U, V equal the 1-rank result to 1e-10", d < 1e-10, d)
        # the probes W_j of each column block against V's rows there
        e = max(abs(at[key] / at1[key] - 1) for key in ["error_estimate", "error_estimate_fro"])
        check(f"--grid {grid}: the error estimates equal the 1-rank run's to 1e-8", e < 1e-8,
              [(at[key], at1[key]) for key in ["error_estimate", "error_estimate_fro"]])
        check(f"--grid {grid}: S matches LAPACK to 1e-10", np.max(np.abs(s - sref[:k])) < 1e-10 * sref[0])
        # the memory claim: each rank's X (and W, H's part) has the rows of one column block, n / pc
        x_rows = j["grid"]["x_rows_per_rank"]
        check(f"--grid {grid}: the plan reports a {pr} x {pc} grid whose ranks hold {x_rows} <= ceil(n / pc) + pr rows of X",
              (j["grid"]["rows"], j["grid"]["cols"], j["grid"]["chosen"]) == (pr, pc, "--grid")
              and x_rows <= -(-n // pc) + pr and x_rows < n, j["grid"])
        check(f"--grid {grid}: one read of A per pass in total (each rank only its block)",
              j["bytes_read"] == j["passes"] * 8 * m * n, (j["bytes_read"], j["passes"]))


def test_pca_scale_grids():
    """pca --scale on 2 x 2 and 1 x 3 grids gives the 1-rank U, S, V, mean, scale, variance; 1 rank LAPACK's."""
    # column statistics per column block, mu^T X summed over the process row
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((400, 6)) * [5, 3, 2, 1, 0.5, 0.2]) @ rng.standard_normal((6, 90)) + rng.standard_normal(90)
    x += 0.01 * rng.standard_normal(x.shape)
    pspec = write("x.h5", x, ds="X")
    z = x - x.mean(0)
    outs = {}
    for ranks, grid in [(None, None), (4, "2x2"), (3, "1x3")]:
        tag = f"pca{grid or 1}"
        res, _ = svd(tag, ranks, "--scale", *(["--grid", grid] if grid else []), cmd="pca", src=pspec, rank=6)
        if res is not None:
            with h5py.File(path(f"{tag}.h5")) as f:
                outs[grid] = {key: f[key][:] for key in ["U", "S", "V", "mean", "scale", "explained_variance"]}
    if None in outs:
        zsd = z / x.std(0)
        check("pca --scale, 1 rank: S matches LAPACK on the standardized matrix",
              np.max(np.abs(outs[None]["S"] - np.linalg.svd(zsd, compute_uv=False)[:6])) < 1e-10 * outs[None]["S"][0])
        for grid in ["2x2", "1x3"]:
            if grid in outs:
                d = max(np.max(np.abs(outs[grid][key] - outs[None][key])) for key in outs[None])
                check(f"pca --scale --grid {grid}: U, S, V, mean, scale, variance equal the 1-rank result to 1e-10",
                      d < 1e-10, d)


def test_float32_column_blocks():
    """float32 input read by column blocks (collective reads), multiplied in float32: the 1-rank S, V to 1e-5."""
    # (SGEMM partial sums: float32 rounding)
    fspec = gen("f.h5", 300, 80, "--spectrum", "exp", "--decay", "0.3", "--dtype", "float32")
    (uf1, sf1, vf1, _), jf = svd("f1", None, src=fspec)
    (uf2, sf2, vf2, _), jf2 = svd("f2", 2, "--grid", "1x2", "--read", "collective", src=fspec)
    if jf2:
        check("float32 --grid 1x2 (collective reads): multiplied in float32, S and V as the 1-rank run's to 1e-5",
              jf2["precision"] == "float32" and np.max(np.abs(sf2 - sf1)) < 1e-5 * sf1[0]
              and np.max(np.abs(vf2 - vf1)) < 1e-5, (jf2["precision"], np.max(np.abs(sf2 - sf1))))


def test_automatic_grid():
    """The automatic grid at its threshold (X against --memory), and the text plan naming the grid."""
    # (at 4 ranks a 2 x 2 grid's column block holds 2 ceil(150 / 4) = 76 rows: 76 / 150 of X)
    xbytes = 8 * n * (k + 10 + 10)
    for ranks, memory, want in [(2, xbytes, (2, 1)), (2, xbytes - 1024, (1, 2)), (4, xbytes // 2 + 256, (2, 2))]:
        _, j = svd(f"auto{ranks}.{memory}", ranks, "--memory", memory)
        if j:
            check(f"auto at {ranks} ranks, --memory {memory} (X is {xbytes} bytes): grid {want[0]} x {want[1]}",
                  (j["grid"]["rows"], j["grid"]["cols"], j["grid"]["chosen"]) == (*want, "auto"), j["grid"])
    r = run(["svd", input_matrix()[0], "-k", k, "-o", path("plan.h5"), "--force", "--grid", "1x2"], ranks=2)
    check("the text plan names the grid and the columns each rank reads",
          r.returncode == 0 and f"process grid 1 x 2 (--grid): each rank reads 75 of the {n} columns" in r.stdout,
          r.stdout)


def test_refusals():
    """What a 2-D grid refuses or stops, each with its exit code and message, and no output."""
    spec, a, _, _ = input_matrix()
    csr = sp.random(60, 40, density=0.2, format="csr", random_state=1)
    with h5py.File(path("csr.h5"), "w") as f:
        g = f.create_group("M")
        g.attrs["h5sparse_format"] = "csr"
        g.attrs["h5sparse_shape"] = np.array([60, 40])
        g["data"], g["indices"], g["indptr"] = csr.data, csr.indices.astype(np.int64), csr.indptr.astype(np.int64)
    bad = a.copy()
    bad[420, 130] = np.nan
    nspec = write("nan.h5", bad)
    for desc, args, ranks, code, msg in [
        ("--passes 1", ["--passes", "1", "--grid", "1x2"], 2, 1, "--grid 1x2: a 2-D grid runs subspace iteration only"),
        ("--checkpoint", ["--grid", "1x2", "--checkpoint", path("ck.h5")], 2, 1, "--checkpoint runs on a P x 1 grid only"),
        ("column panels", ["--grid", "1x2", "--panels", "columns"], 2, 1, "cannot be read by column blocks (column panels)"),
        ("a grid of other size", ["--grid", "2x2"], 2, 1, "--grid 2x2 needs 4 ranks, not 2"),
        ("a malformed grid", ["--grid", "2by2"], 2, 1, "bad --grid '2by2': expected PRxPC"),
        ("a sparse source", ["--grid", "1x2", "SRC", f"{path('csr.h5')}:/M"], 2, 1,
         "cannot be read by column blocks (a sparse source)"),
        ("a NaN in column block 1", ["--grid", "2x2", "SRC", nspec], 4, 2, "NaN at row 420, column 130"),
    ]:
        src = args[args.index("SRC") + 1] if "SRC" in args else spec
        args = args[:args.index("SRC")] if "SRC" in args else args
        out = path("refused.h5")
        r = run(["svd", src, "-k", 4, "-o", out, "--force", *args], ranks=ranks, timeout=60)
        check(f"{desc}: exit {code}, '{msg}', no output", r.returncode == code and msg in r.stderr
              and not os.path.exists(out) and not temp_leftovers(), (r.returncode, r.stderr))


harness.main(globals())
