"""Gridded fields (issue 16): EOFs of (time, lat, lon) NetCDF-4 variables written by
netCDF4-python, as the `eofs` package computes them.  The reference is numpy's SVD of the
weighted, centred matrix without the masked grid points: X[:, keep] - mean, times sqrt(cos(lat)).
N-D variables (--sample-dim first or in the middle), --missing drop (a land mask as _FillValue,
NaN, a point missing in late samples only: taken out after the first pass at no extra pass, or
solved again where the first pass is the result), --weights coslat and
FILE:/DS, /components and /mean in the feature shape with NaN at the dropped points, and
`prsvd project` equal to the pca's own scores; hostile options and inputs refused with their
exit codes, leaving no output."""
import json
import os
import sys

import h5py
import netCDF4
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, path, run, temp_leftovers  # noqa: E402

rng = np.random.default_rng(16)
T, NY, NX, K = 64, 9, 12, 3
LAT = np.linspace(-80.0, 80.0, NY)
LON = np.arange(NX) * 30.0
# three modes of distinct variance plus a little noise: a sharp rank-3 problem
_modes = rng.standard_normal((3, NY * NX))
_series = rng.standard_normal((T, 3)) * np.array([8.0, 4.0, 2.0])
FIELD = (_series @ _modes + 0.01 * rng.standard_normal((T, NY * NX))).reshape(T, NY, NX) + 15.0
LAND = np.zeros((NY, NX), bool)
LAND[3:5, 4:8] = True
LAND[7, 0] = True


def write_nc(name, data, dims=("time", "lat", "lon"), mask=None, lat_units="degrees_north", lat_name="lat",
             fill=-1e20):
    """data as variable 'tos' with dimensions dims and their coordinates; mask (the shape of
    data) stored as _FillValue."""
    fn = path(name)
    with netCDF4.Dataset(fn, "w", format="NETCDF4") as ds:
        sizes = dict(zip(dims, data.shape))
        for d in dims:
            ds.createDimension(d, None if d == "time" else sizes[d])
        for d in dims:
            name_ = lat_name if d == "lat" else d
            if d == "lat" and lat_name != "lat":
                continue
            v = ds.createVariable(name_, "f8", (d,))
            v[:] = {"time": np.arange(sizes["time"]), "lat": LAT, "lon": LON}[d]
            if d == "lat" and lat_units:
                v.units = lat_units
        v = ds.createVariable("tos", "f8", dims, fill_value=fill)
        v[:] = np.ma.masked_array(data, mask) if mask is not None else data
    return f"{fn}:/tos"


def reference(x, keep, w):
    """eofs' answer: the SVD of (X - mean)[:, keep] * w[keep] (x is T x features)."""
    mu = x[:, keep].mean(0)
    a = (x[:, keep] - mu) * w[keep]
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    ratio = s ** 2 / (s ** 2).sum()
    return u[:, :K] * s[:K], s[:K], vt[:K], ratio[:K], mu


def aligned(got, want):
    """max |got - want| over rows, each row of got signed to match want's"""
    signs = np.sign(np.sum(got * want, axis=1, keepdims=True))
    return np.abs(got * signs - want).max()


def eof1():
    """The 1-rank land + coslat pca of SPEC (test_land_mask_coslat_1_and_3_ranks writes it; a
    test run alone makes it here)."""
    out = path("eof1.h5")
    if not os.path.exists(out):
        r = run(["pca", SPEC, "-k", K, "--missing", "drop", "--weights", "coslat", "--scores", "--precision", "double",
                 "-o", out, "--quiet"])
        assert r.returncode == 0, r.stderr
    return out


WEIGHTS = rng.uniform(0.5, 2.0, (NY, NX))


def weights_file():
    """w.h5 with the weights /w and bad ones: transposed, with a NaN, negative, all zero"""
    if not os.path.exists(path("w.h5")):
        w = WEIGHTS
        with h5py.File(path("w.h5"), "w") as f:
            f["w"] = w
            f["wrong"] = w.T
            f["nan"] = np.where(np.arange(NY * NX).reshape(NY, NX) == 3, np.nan, w)
            f["neg"] = -w
            f["zero"] = np.zeros_like(w)
    return path("w.h5")


COSW = np.repeat(np.sqrt(np.cos(np.deg2rad(LAT)))[:, None], NX, axis=1).ravel()
MASK3 = np.broadcast_to(LAND, FIELD.shape)
SPEC = write_nc("tos.nc", FIELD, mask=MASK3)


def test_land_mask_coslat_1_and_3_ranks():
    """--missing drop --weights coslat: components (k x lat x lon), PCs, variance fractions and
    the mean against numpy; NaN at the land points in /components, /mean and /V; /weights, the
    count in the file, the summary and --json alike, on 1 and 3 ranks."""
    keep = ~LAND.ravel()
    pcs, s, vt, ratio, mu = reference(FIELD.reshape(T, -1), keep, COSW)
    for ranks in (1, 3):
        out = path(f"eof{ranks}.h5")
        r = run(["pca", SPEC, "-k", K, "--missing", "drop", "--weights", "coslat", "--scores", "--precision", "double",
                 "--memory", "16K", "-o", out, "--force", "--json"], ranks=ranks if ranks > 1 else None)
        if not check(f"pca land + coslat on {ranks} rank(s) exits 0", r.returncode == 0, r.stderr[-800:]):
            continue
        res = json.loads(r.stdout)
        check(f"{ranks}: a land mask is found in each rank's first panel: one solve",
              "solving again" not in r.stderr, r.stderr[-400:])
        with h5py.File(out, "r") as f:
            comp, mean, v, w = f["components"][:], f["mean"][:], f["V"][:], f["weights"][:]
            scores, ev = f["scores"][:], f["explained_variance_ratio"][:]
            attrs, vattrs = dict(f.attrs), dict(f["V"].attrs)
        check(f"{ranks}: /components is k x lat x lon, /mean and /weights lat x lon",
              comp.shape == (K, NY, NX) and mean.shape == (NY, NX) and w.shape == (NY, NX), (comp.shape, mean.shape))
        flat = comp.reshape(K, -1)
        check(f"{ranks}: NaN exactly at the {LAND.sum()} land points in /components, /mean and /V",
              np.array_equal(np.isnan(flat).all(0), ~keep) and not np.isnan(flat[:, keep]).any()
              and np.array_equal(np.isnan(mean.ravel()), ~keep) and np.array_equal(np.isnan(v).all(1), ~keep))
        err = aligned(flat[:, keep], vt)
        check(f"{ranks}: components equal numpy's up to sign ({err:.2e})", err < 1e-7, err)
        check(f"{ranks}: variance fractions equal numpy's", np.allclose(ev, ratio, rtol=1e-9, atol=1e-12), (ev, ratio))
        err = aligned(scores.T, pcs.T) / np.abs(pcs).max()
        check(f"{ranks}: PCs (/scores) equal numpy's up to sign ({err:.2e})", err < 1e-7, err)
        check(f"{ranks}: /mean is the unweighted time mean", np.allclose(mean.ravel()[keep], mu, rtol=1e-12, atol=1e-10))
        check(f"{ranks}: /weights is sqrt(cos(lat)) from the lat coordinate", np.allclose(w.ravel(), COSW, rtol=1e-14))
        check(f"{ranks}: missing_features, feature_shape and dims recorded",
              attrs["missing_features"] == LAND.sum() and list(attrs["feature_shape"]) == [NY, NX]
              and attrs["feature_dims"] == "lat,lon" and attrs["sample_dim"] == "time"
              and list(vattrs["feature_shape"]) == [NY, NX] and attrs["weights"] == "coslat(lat)", attrs)
        check(f"{ranks}: --json reports the features",
              res.get("missing_features") == LAND.sum() and res.get("feature_shape") == [NY, NX]
              and res.get("weights") == "coslat(lat)" and res.get("features") == NY * NX, res)


def test_default_fails_on_fill_value():
    """--missing fail (the default) still stops at the first _FillValue, naming row and column."""
    r = run(["pca", SPEC, "-k", K, "-o", path("fail.h5"), "--force"])
    check("a _FillValue without --missing drop: exit 2 naming it, no output",
          r.returncode == 2 and "missing value (_FillValue" in r.stderr and not os.path.exists(path("fail.h5")),
          (r.returncode, r.stderr[-400:]))
    r = run(["pca", SPEC, "-k", K, "--missing", "skip", "-o", path("fail.h5"), "--force"])
    check("--missing skip: exit 1", r.returncode == 1 and "expected fail or drop" in r.stderr, r.stderr[-300:])


def test_sample_dim_in_the_middle():
    """(lat, time, lon) with --sample-dim time (by name) and 1 (by index): the same EOFs as the
    (time, lat, lon) variable, on 3 ranks with panels of a few samples (permuted hyperslabs)."""
    spec = write_nc("mid.nc", FIELD.transpose(1, 0, 2), dims=("lat", "time", "lon"),
                    mask=MASK3.transpose(1, 0, 2))
    with h5py.File(eof1(), "r") as f:
        want, want_mean = f["components"][:], f["mean"][:]
    for sd in ("time", "1"):
        out = path(f"mid_{sd}.h5")
        r = run(["pca", spec, "-k", K, "--sample-dim", sd, "--missing", "drop", "--weights", "coslat",
                 "--precision", "double", "--memory", "4K", "-o", out, "--force", "--quiet"], ranks=3)
        if not check(f"--sample-dim {sd} exits 0", r.returncode == 0, r.stderr[-600:]):
            continue
        with h5py.File(out, "r") as f:
            comp, mean, attrs = f["components"][:], f["mean"][:], dict(f.attrs)
        keep = ~LAND.ravel()
        err = aligned(comp.reshape(K, -1)[:, keep], want.reshape(K, -1)[:, keep])
        check(f"--sample-dim {sd}: components k x lat x lon equal the (time, lat, lon) run's ({err:.1e})",
              comp.shape == (K, NY, NX) and err < 1e-7 and np.allclose(mean, want_mean, equal_nan=True)
              and attrs["sample_axis"] == 1 and attrs["feature_dims"] == "lat,lon", (comp.shape, err))
    r = run(["pca", spec, "-k", K, "--sample-dim", "time", "--missing", "drop", "--weights", "coslat", "--read",
             "collective", "--precision", "single", "--memory", "4K", "-o", path("mid_mpiio.h5"), "--force", "--quiet"],
            ranks=3)
    if check("--sample-dim time with collective MPI-IO reads and float32 panels exits 0", r.returncode == 0,
             r.stderr[-600:]):
        with h5py.File(path("mid_mpiio.h5"), "r") as f:
            comp = f["components"][:].reshape(K, -1)
        keep = ~LAND.ravel()
        err = aligned(comp[:, keep], want.reshape(K, -1)[:, keep])
        check(f"collective reads, float32 panels: the same EOFs to float32's accuracy ({err:.1e})", err < 1e-4, err)
    r = run(["info", spec, "--sample-dim", "time"])
    check("info --sample-dim time shows the mapping",
          r.returncode == 0 and "samples time (axis 1, 64) x features lat x lon (9 x 12 = 108)" in r.stdout, r.stdout)
    r = run(["info", spec, "--sample-dim", "time", "--json"])
    res = json.loads(r.stdout) if r.returncode == 0 else {}
    check("info --json: rows 64, cols 108, feature_shape [9, 12], feature_dims lat, lon, sample_dim time",
          (res.get("rows"), res.get("cols"), res.get("feature_shape"), res.get("feature_dims"), res.get("sample_dim"))
          == (64, 108, [NY, NX], ["lat", "lon"], "time"), r.stdout[-400:] + r.stderr[-300:])


def test_missing_late_on_one_rank_no_second_solve():
    """A grid point missing in the last samples only (NaN in a plain HDF5 3-D dataset): rank 2
    finds it after ranks 0 and 1 used it; pca's -q auto takes it out after the first pass, with
    no second solve, and the result is numpy's without it.  The values are scaled by 2^-1000
    (1e-301): the flags and zeroes survive the rescaling."""
    x = FIELD.copy()
    x[-3:, 6, 2] = np.nan
    scale = 2.0 ** -1000
    with h5py.File(path("late.h5"), "w") as f:
        f["A"] = x * scale
    keep = np.isfinite(x).all(0).ravel()
    pcs, s, vt, ratio, mu = reference(FIELD.reshape(T, -1), keep, np.ones(NY * NX))
    out = path("late_out.h5")
    r = run(["pca", f"{path('late.h5')}:/A", "-k", K, "--missing", "drop", "--precision", "double",
             "--memory", "8K", "-o", out, "--force", "--json"], ranks=3)
    if check("a late missing value on 3 ranks exits 0", r.returncode == 0, r.stderr[-600:]):
        with h5py.File(out, "r") as f:
            comp, sv = f["components"][:].reshape(K, -1), f["singular_values"][:]
        err = aligned(comp[:, keep], vt)
        check(f"late missing: one feature left out, components numpy's ({err:.1e}), S scaled by 2^-1000",
              json.loads(r.stdout)["missing_features"] == 1 and np.isnan(comp[:, ~keep]).all() and err < 1e-7
              and np.allclose(sv / scale, s, rtol=1e-9), (err, sv / scale, s))
        check("late missing: no second solve", "solving again" not in r.stderr, r.stderr[-400:])
    r = run(["pca", f"{path('late.h5')}:/A", "-k", K, "-o", path("late_fail.h5"), "--force"])
    check("NaN without --missing drop: exit 2", r.returncode == 2 and not os.path.exists(path("late_fail.h5")),
          r.stderr[-300:])


def test_late_missing_costs_no_pass():
    """Features going missing late on ranks 1 and 2 (rows split over 3 ranks), planted rank 4 plus
    1e-8 noise: every multi-pass method (pca -q 1, -q auto, --scale -q 2; svd -q 2, -q auto,
    --tol with and without --passes) gives numpy's S and components of the matrix without them to
    1e-10, in the passes a run on the data with them removed beforehand takes, without solving
    again; -q 0 and --passes 1, whose first pass is the result, still solve again (and say so).
    Each on 3 ranks; pca -q 1, svd -q auto and -q 0 on 1 rank too."""
    g = np.random.default_rng(1616)
    m, n = 300, 40
    a = g.standard_normal((m, 4)) @ np.diag([50.0, 20.0, 10.0, 5.0]) @ g.standard_normal((4, n)) + 3.0
    a += 1e-8 * g.standard_normal((m, n))
    late = a.copy()
    late[150:, 7] = np.nan  # from the middle of rank 1's rows on
    late[281, 30] = np.nan  # one late sample of rank 2
    keep = np.isfinite(late).all(0)
    with h5py.File(path("late2d.h5"), "w") as f:
        f["A"] = late
    with h5py.File(path("removed2d.h5"), "w") as f:
        f["A"] = a[:, keep]
    x = a[:, keep]
    refs = {"svd": np.linalg.svd(x, full_matrices=False)}
    c = x - x.mean(0)
    refs["pca"] = np.linalg.svd(c, full_matrices=False)
    refs["pca --scale"] = np.linalg.svd(c / c.std(0), full_matrices=False)
    cases = (("pca", ["-q", "1"]), ("pca", []), ("pca --scale", ["--scale", "-q", "2"]), ("svd", ["-q", "2"]),
             ("svd", ["-q", "auto"]), ("svd", ["--tol", "1e-3", "--passes", "3", "--max-rank", "8"]),
             ("svd", ["--tol", "1e-3"]), ("svd", ["-q", "0"]), ("svd", ["--passes", "1"]))
    one_rank = {("pca", ("-q", "1")), ("svd", ("-q", "auto")), ("svd", ("-q", "0"))}  # the suite's time: 3 ranks for all
    for what, extra in cases:
        cmd = what.split()[0]
        args = extra if "--tol" in extra else ["-k", K] + extra
        again = extra in (["-q", "0"], ["--passes", "1"])
        for ranks in (1, 3) if (what, tuple(extra)) in one_rank else (3,):
            name = f"{cmd} {' '.join(extra) or '-q auto'} on {ranks} rank(s)"
            common = ["--precision", "double", "--memory", "8K", "--force", "--json"]
            r = run([cmd, f"{path('late2d.h5')}:/A", *args, "--missing", "drop", "-o", path("late2d_out.h5"), *common],
                    ranks=ranks if ranks > 1 else None)
            b = run([cmd, f"{path('removed2d.h5')}:/A", *args, "-o", path("removed2d_out.h5"), *common],
                    ranks=ranks if ranks > 1 else None)
            if not check(f"{name}: both exit 0", r.returncode == 0 and b.returncode == 0, r.stderr[-400:] + b.stderr[-400:]):
                continue
            got, want = json.loads(r.stdout), json.loads(b.stdout)
            with h5py.File(path("late2d_out.h5"), "r") as f:
                sv = f["singular_values" if cmd == "pca" else "S"][:]
                v = f["components"][:] if cmd == "pca" else f["V"][:].T
            u, s, vt = refs[what]
            t = min(len(sv), 3)
            serr = np.abs(sv[:t] - s[:t]).max() / s[0]
            verr = aligned(v[:t, keep], vt[:t])
            tol = 1e-8 if extra == ["--passes", "1"] else 1e-10  # a single pass: its sketch's accuracy
            check(f"{name}: 2 features left out, NaN there; S ({serr:.0e}) and components ({verr:.0e}) numpy's "
                  "without them", got["missing_features"] == 2 and np.isnan(v[:, ~keep]).all() and serr < tol
                  and verr < tol, (serr, verr))
            if again:
                check(f"{name}: the first pass is the result: solved again, and says so", "solving again" in r.stderr,
                      r.stderr[-300:])
            else:
                check(f"{name}: no second solve, the passes of the data without them ({got['passes']}), all it read",
                      "solving again" not in r.stderr and got["passes"] == want["passes"]
                      and len(got["pass_times"]) == got["passes"],
                      (got["passes"], want["passes"], len(got["pass_times"]), r.stderr[-300:]))


def test_weights_file():
    """--weights FILE:/DS of the feature shape: numpy's SVD of the matrix times diag(w)."""
    w = WEIGHTS
    weights_file()
    keep = ~LAND.ravel()
    pcs, s, vt, ratio, mu = reference(FIELD.reshape(T, -1), keep, w.ravel())
    out = path("wfile.h5")
    r = run(["pca", SPEC, "-k", K, "--missing", "drop", "--weights", f"{path('w.h5')}:/w", "--precision", "double",
             "-o", out, "--force", "--quiet"], ranks=2)
    if check("--weights FILE:/DS exits 0", r.returncode == 0, r.stderr[-500:]):
        with h5py.File(out, "r") as f:
            comp, ww = f["components"][:].reshape(K, -1), f["weights"][:]
        err = aligned(comp[:, keep], vt)
        check(f"--weights FILE: components numpy's ({err:.1e}), /weights the array", err < 1e-7
              and np.array_equal(ww, w), err)
    for ds, msg in (("wrong", "is 12 x 9, but the features of"), ("nan", "weight 3 is nan"),
                    ("neg", "weight 0 is -"), ("zero", "every one of the 108 weights is 0")):
        r = run(["pca", SPEC, "-k", K, "--missing", "drop", "--weights", f"{path('w.h5')}:/{ds}", "-o",
                 path("wbad.h5"), "--force"])
        check(f"--weights {ds}: exit 2, '{msg}', no output",
              r.returncode == 2 and msg in r.stderr and not os.path.exists(path("wbad.h5")), (r.returncode, r.stderr[-300:]))


def test_project_equals_scores():
    """project of the pca's own data gives its /scores; of new samples, numpy's
    ((x - mean) w) components^T."""
    out = eof1()
    r = run(["project", SPEC, "--components", out, "-o", path("proj.h5"), "--force", "--quiet"], ranks=3)
    if check("project on 3 ranks exits 0", r.returncode == 0, r.stderr[-500:]):
        with h5py.File(path("proj.h5"), "r") as f:
            got = f["scores"][:]
        with h5py.File(out, "r") as f:
            want = f["scores"][:]
        err = np.abs(got - want).max() / np.abs(want).max()
        check(f"project of the same data = the pca's scores ({err:.1e})", got.shape == (T, K) and err < 1e-7, err)
    new = FIELD[:20] * 0.5 + 3.0
    spec = write_nc("new.nc", new, mask=np.broadcast_to(LAND, new.shape))
    r = run(["project", spec, "--components", out, "-o", path("proj_new.h5"), "--force", "--quiet"], ranks=2)
    if check("project of new samples exits 0", r.returncode == 0, r.stderr[-500:]):
        with h5py.File(out, "r") as f:
            comp, mean = f["components"][:].reshape(K, -1), f["mean"][:].ravel()
        keep = ~LAND.ravel()
        want = ((new.reshape(20, -1)[:, keep] - mean[keep]) * COSW[keep]) @ comp[:, keep].T
        with h5py.File(path("proj_new.h5"), "r") as f:
            got = f["scores"][:]
        check("project of new samples = numpy's ((x - mean) w) C^T", np.allclose(got, want, rtol=1e-12, atol=1e-10),
              np.abs(got - want).max())


def test_scale_with_drop_projects():
    """pca --scale --missing drop: /scale in the feature shape (the columns' standard deviations,
    NaN over land), and project of the same data equals its /scores."""
    out = path("scaled.h5")
    r = run(["pca", SPEC, "-k", K, "--scale", "--missing", "drop", "--scores", "--precision", "double", "-q", "4",
             "-o", out, "--force", "--quiet"], ranks=2)
    if not check("pca --scale --missing drop exits 0", r.returncode == 0, r.stderr[-400:]):
        return
    keep = ~LAND.ravel()
    x = FIELD.reshape(T, -1)[:, keep]
    with h5py.File(out, "r") as f:
        sc, scores = f["scale"][:], f["scores"][:]
    check("/scale is lat x lon, NaN over land, the population standard deviations (sklearn's) elsewhere",
          sc.shape == (NY, NX) and np.array_equal(np.isnan(sc.ravel()), ~keep)
          and np.allclose(sc.ravel()[keep], np.std(x, axis=0), rtol=1e-10), sc.ravel()[keep][:4])
    r = run(["project", SPEC, "--components", out, "-o", path("scaled_proj.h5"), "--force", "--quiet"], ranks=2)
    if check("project on a scaled pca exits 0", r.returncode == 0, r.stderr[-400:]):
        with h5py.File(path("scaled_proj.h5"), "r") as f:
            got = f["scores"][:]
        err = np.abs(got - scores).max() / np.abs(scores).max()
        check(f"project of the same data = the scaled pca's scores ({err:.1e})", err < 1e-7, err)


def test_two_d_sample_dim_1():
    """A 2-D dataset with --sample-dim 1: its columns are the samples (the PCA of A^T), by
    column hyperslabs; --transpose with the features' options is refused."""
    a = rng.standard_normal((30, 200)) @ np.diag(0.8 ** np.arange(200)) @ rng.standard_normal((200, 200))
    with h5py.File(path("two.h5"), "w") as f:
        f["A"] = a
    r = run(["pca", f"{path('two.h5')}:/A", "-k", K, "--sample-dim", "1", "--precision", "double", "-q", "4",
             "-o", path("two_out.h5"), "--force", "--quiet"], ranks=2)
    if check("2-D --sample-dim 1 exits 0", r.returncode == 0, r.stderr[-400:]):
        at = a.T
        u, s, vt = np.linalg.svd(at - at.mean(0), full_matrices=False)
        with h5py.File(path("two_out.h5"), "r") as f:
            comp, sv = f["components"][:], f["singular_values"][:]
        check("2-D --sample-dim 1: the PCA of A^T (200 samples x 30 features)",
              comp.shape == (K, 30) and np.allclose(sv, s[:K], rtol=1e-8) and aligned(comp, vt[:K]) < 1e-6,
              (sv, s[:K]))
    r = run(["svd", f"{path('two.h5')}:/A", "-k", K, "--transpose", "--missing", "drop", "-o",
             path("two_bad.h5"), "--force"])
    check("--transpose with --missing drop: exit 1", r.returncode == 1 and "cannot be transposed" in r.stderr
          and not os.path.exists(path("two_bad.h5")), r.stderr[-300:])


def test_two_d_drop_and_svd_of_a_field():
    """--missing drop on a plain 2-D dataset (a NaN column): numpy's PCA without it, /components
    k x n with NaN there; svd of the N-D field: /V features x k, NaN rows at the land points,
    feature_shape on /V; -o naming the weights' file is refused."""
    a = rng.standard_normal((40, 25)) @ np.diag(0.7 ** np.arange(25)) @ rng.standard_normal((25, 25))
    a[17, 6] = np.nan
    with h5py.File(path("two_nan.h5"), "w") as f:
        f["A"] = a
    keep = np.isfinite(a).all(0)
    x = a[:, keep]
    u, s, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    r = run(["pca", f"{path('two_nan.h5')}:/A", "-k", K, "--missing", "drop", "--precision", "double", "-q", "5",
             "-o", path("two_nan_out.h5"), "--force", "--quiet"], ranks=2)
    if check("2-D --missing drop exits 0", r.returncode == 0, r.stderr[-400:]):
        with h5py.File(path("two_nan_out.h5"), "r") as f:
            comp, sv, mean = f["components"][:], f["singular_values"][:], f["mean"][:]
        check("2-D --missing drop: numpy's PCA without the NaN column, NaN in its place",
              comp.shape == (K, 25) and np.isnan(comp[:, 6]).all() and np.isnan(mean[6])
              and np.allclose(sv, s[:K], rtol=1e-8) and aligned(comp[:, keep], vt[:K]) < 1e-6, (sv, s[:K]))
    r = run(["svd", SPEC, "-k", K, "--missing", "drop", "--precision", "double", "-o", path("svd_field.h5"), "--force",
             "--quiet"], ranks=2)
    if check("svd of the masked (time, lat, lon) field exits 0", r.returncode == 0, r.stderr[-400:]):
        land = LAND.ravel()
        x = FIELD.reshape(T, -1)[:, ~land]
        s = np.linalg.svd(x, compute_uv=False)
        with h5py.File(path("svd_field.h5"), "r") as f:
            v, sv, vattrs = f["V"][:], f["S"][:], dict(f["V"].attrs)
        check("svd of the field: /V features x k, NaN rows at the land points, numpy's S",
              v.shape == (NY * NX, K) and np.array_equal(np.isnan(v).any(1), land) and np.allclose(sv, s[:K], rtol=1e-8)
              and list(vattrs["feature_shape"]) == [NY, NX], (sv, s[:K]))
    r = run(["pca", SPEC, "-k", K, "--missing", "drop", "--weights", f"{weights_file()}:/w", "-o", path("w.h5"),
             "--force"])
    check("-o naming the weights' file: exit 1, the weights intact",
          r.returncode == 1 and "same file" in r.stderr and "w" in h5py.File(path("w.h5"), "r"), r.stderr[-300:])


def test_checkpoint_names_the_weights():
    """A run of an N-D field with --weights stopped at its first panel step resumes only with
    the same weights: another --weights is refused naming both."""
    ck, out = path("w.ckpt"), path("ck.h5")
    base = ["pca", SPEC, "-k", K, "--precision", "double", "--checkpoint", ck, "-o", out, "--force", "--quiet"]
    plain = write_nc("nomask.nc", FIELD)
    base[1] = plain
    r = harness.stop_at(1, base + ["--weights", "coslat"], 1)
    check("a weighted N-D run checkpoints at step 1 (exit 99)", r.returncode == 99, r.stderr[-300:])
    r = run(base + ["--weights", f"{weights_file()}:/w"])
    check("resuming with other weights: exit 2 naming both", r.returncode == 2 and "weights=coslat(lat)" in r.stderr
          and "this run weights=/w" in r.stderr and not os.path.exists(out), r.stderr[-300:])
    r = run(base + ["--weights", "coslat"])
    keep = np.ones(NY * NX, bool)
    pcs, s, vt, ratio, mu = reference(FIELD.reshape(T, -1), keep, COSW)
    if check("resuming with the same weights: exit 0", r.returncode == 0, r.stderr[-300:]):
        with h5py.File(out, "r") as f:
            err = aligned(f["components"][:].reshape(K, -1), vt)
        check(f"the resumed run's components are numpy's ({err:.1e})", err < 1e-7, err)


def test_hostile():
    """Out-of-range and unknown --sample-dim, coslat without a latitude, every feature missing,
    project with mismatched shapes or onto its own input or components: each refused with its
    exit code and message, no output and no temporary left."""
    bad = path("hostile.h5")
    plain = path("plain3d.h5")
    with h5py.File(plain, "w") as f:
        f["A"] = FIELD
    allnan = FIELD.copy()
    allnan[5] = np.nan
    with h5py.File(path("allnan.h5"), "w") as f:
        f["A"] = allnan
    nolat = write_nc("nolat.nc", FIELD, lat_name="y")
    eof = eof1()
    with h5py.File(path("two30.h5"), "w") as f:
        f["A"] = rng.standard_normal((30, 200))
    with h5py.File(path("csr.h5"), "w") as f:  # a 3 x 4 CSR group, as AnnData stores X
        g = f.create_group("X")
        g.attrs["encoding-type"], g.attrs["encoding-version"], g.attrs["shape"] = "csr_matrix", "0.1.0", (3, 4)
        g["data"], g["indices"], g["indptr"] = np.ones(4), np.array([0, 1, 2, 3]), np.array([0, 2, 3, 4])
    cases = (
        ("--sample-dim 3", ["pca", SPEC, "-k", K, "--sample-dim", "3"], 1, "--sample-dim 3 is out of range"),
        ("--sample-dim -1", ["pca", SPEC, "-k", K, "--sample-dim", "-1"], 1, "out of range"),
        ("--sample-dim depth", ["pca", SPEC, "-k", K, "--sample-dim", "depth"], 1,
         "names no dimension of dataset '/tos' in"),
        ("coslat, plain HDF5", ["pca", f"{plain}:/A", "-k", K, "--weights", "coslat"], 2, "has no latitude coordinate"),
        ("coslat, no lat", ["pca", nolat, "-k", K, "--weights", "coslat"], 2, "none has units = degrees_north"),
        ("every feature missing", ["pca", f"{path('allnan.h5')}:/A", "-k", K, "--missing", "drop"], 2,
         f"every one of the {NY * NX} features"),
        ("svd --panels columns, 3-D", ["svd", SPEC, "-k", K, "--panels", "columns"], 1,
         "--panels columns: the features of"),
        ("sparse --sample-dim", ["pca", f"{path('csr.h5')}:/X", "-k", 1, "--sample-dim", "1"], 1,
         "take a dense dataset"),
        ("3-D eig", ["eig", f"{plain}:/A", "-k", K], 2, "is 3-D, expected a 2-D matrix"),
        ("--checkpoint with --missing drop", ["pca", SPEC, "-k", K, "--missing", "drop", "--checkpoint", path("c.ckpt")], 1,
         "--checkpoint with --missing drop"),
        ("project, shapes differ", ["project", f"{path('two30.h5')}:/A", "--components", eof], 2,
         "are 200, but the components in"),
        ("project, dims swapped", ["project", write_nc("swap.nc", FIELD.transpose(0, 2, 1), dims=("time", "lon", "lat")),
                                   "--components", eof], 2, "are 12 x 9 (lon,lat), but the components"),
        ("project, not a pca", ["project", SPEC, "--components", plain], 2, "has no /components and /mean"),
        ("project output = input", ["project", SPEC, "--components", eof, "-o", path("tos.nc")], 1,
         "same file"),
        ("project output = components", ["project", SPEC, "--components", eof, "-o", eof], 1,
         "same file"),
    )
    for what, argv, code, message in cases:
        argv = argv + ([] if "-o" in argv else ["-o", bad]) + ["--force"]
        r = run(argv)
        check(f"{what}: exit {code}, '{message}', no output", r.returncode == code and message in r.stderr
              and not os.path.exists(bad) and not temp_leftovers(), (r.returncode, r.stderr[-400:]))
    check("the inputs named as outputs are intact", "components" in h5py.File(eof, "r") and h5py.is_hdf5(path("tos.nc")))


harness.main(globals())
