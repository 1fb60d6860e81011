"""NetCDF-4 inputs (issue 7): variables written by Debian's python3-netcdf4 (netCDF4.Dataset)
with named dimensions, in the root and in a group, float and integer, chunked with zlib, big-
endian, along an unlimited dimension, and packed with scale_factor / add_offset.  `prsvd svd
FILE.nc:/var` and `prsvd pca` against LAPACK (numpy) on the values netCDF4 itself reads; holes
(_FillValue, NetCDF's default fill, missing_value, valid_range), a dimension without values
and a NetCDF-3 file are refused with exit 2, naming the row and column."""
import json
import os
import sys

import h5py
import netCDF4
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, load, path, run, temp_leftovers  # noqa: E402

# The test matrix, drawn here in the order it always was; the NetCDF-4 file is written once, by
# the first test that asks.
rng = np.random.default_rng(7)
m, n, k = 400, 40, 6
# a planted spectrum, 2^-j/2, through random orthogonal factors
q1, _ = np.linalg.qr(rng.standard_normal((m, n)))
q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
a = (q1 * (2.0 ** (-np.arange(n) / 2))) @ q2.T * 20
VARS = ["temp", "counts", "zipped", "bigendian", "packed", "ocean/salinity"]
_cache = {}


def sim_nc():
    """sim.nc, written once by netCDF4 with every variable below: its path."""
    nc = path("sim.nc")
    if "nc" in _cache:
        return nc
    with netCDF4.Dataset(nc, "w", format="NETCDF4") as ds:
        ds.setncattr("title", "prsvd test")
        ds.createDimension("time", None)  # unlimited: chunked, extensible
        ds.createDimension("cell", n)
        ds.createVariable("time", "f8", ("time",))[:] = np.arange(m)  # a coordinate variable
        ds.createVariable("temp", "f8", ("time", "cell"))[:] = a
        ds.createVariable("counts", "i4", ("time", "cell"))[:] = np.round(a * 1000).astype(np.int32)
        ds.createVariable("zipped", "f4", ("time", "cell"), zlib=True, complevel=4, shuffle=True,
                          chunksizes=(64, 16))[:] = a
        ds.createVariable("bigendian", np.dtype(">f8"), ("time", "cell"), endian="big")[:] = a
        p = ds.createVariable("packed", "i2", ("time", "cell"))  # CF packing: stored = (x - 0.5) / 1e-4
        p.scale_factor, p.add_offset = 1e-4, 0.5
        p[:] = a / 10
        ds.createGroup("ocean").createVariable("salinity", "f8", ("time", "cell"))[:] = a + 35.0
        h = ds.createVariable("holes", "f8", ("time", "cell"), fill_value=-999.0)
        h[:17], h[18:] = a[:17], a[18:]  # row 17 never written
        g = ds.createVariable("gap", "f4", ("time", "cell"))  # no _FillValue: NetCDF's default fill
        g[:250], g[251:] = a[:250], a[251:]
        mv = ds.createVariable("flagged", "i2", ("time", "cell"))
        mv.missing_value = np.int16(-1)
        mv[:] = np.where(np.arange(m * n).reshape(m, n) == 5 * n + 3, -1, 7)
        vr = ds.createVariable("ranged", "f8", ("time", "cell"))
        vr.valid_range = np.array([-100.0, 100.0])
        vr[:] = np.where(np.arange(m * n).reshape(m, n) == 9 * n + 2, 1e6, a)
    _cache["nc"] = True
    return nc


def values():
    """The values a NetCDF client sees (unpacked, masked), read once by netCDF4: {variable: float64 array}."""
    if "values" not in _cache:
        with netCDF4.Dataset(sim_nc()) as ds:
            _cache["values"] = {v: np.ma.getdata(ds[v][:]).astype(np.float64) for v in VARS}
    return _cache["values"]


def svd_output(i, var):
    """svd of variable `var`, the i-th of VARS, at 1 + i % 2 ranks with --precision double, run
    once: (its output, the run), or None if it failed."""
    key = ("svd", i)
    if key not in _cache:
        ranks = 1 + i % 2
        out = path(f"svd-{i}.h5")
        # float64 arithmetic for the 1e-12 comparisons (a float32 variable is multiplied in float32
        # by default: that path is checked in test_float32_panels)
        r = run(["svd", f"{sim_nc()}:/{var}", "-k", k, "-p", n - k, "-o", out, "--memory", "64K", "--precision", "double"],
                ranks=ranks)
        ok = check(f"svd {var} at {ranks} rank(s) exits 0", r.returncode == 0, r.stderr)
        _cache[key] = (out, r) if ok else None
    return _cache[key]


def test_netcdf4_layout():
    """What makes sim.nc NetCDF-4 on disk: _NCProperties, dimension scales, deflate chunks, int16 packing."""
    with h5py.File(sim_nc(), "r") as f:
        check("the file is NetCDF-4: HDF5 with _NCProperties and dimension scales",
              "_NCProperties" in f.attrs and "DIMENSION_LIST" in f["temp"].attrs and f["cell"].attrs["CLASS"] == b"DIMENSION_SCALE")
        check("the zipped variable is chunked 64 x 16 with deflate", f["zipped"].chunks == (64, 16) and f["zipped"].compression == "gzip")
        check("the unlimited dimension makes temp chunked", f["temp"].chunks is not None, f["temp"].chunks)
        check("the packed variable is stored as int16", f["packed"].dtype == np.int16)
    check("the packed variable reads back unpacked to 5e-5", np.max(np.abs(values()["packed"] - a / 10)) <= 5.1e-5)


def test_svd_against_lapack():
    """svd of each variable (float, int32, zlib, big-endian, packed, in a group) in float64: LAPACK's
    singular values and the optimal residual to 1e-12, and the plan saying how it unpacks."""
    for i, var in enumerate(VARS):
        x = values()[var]
        s_ref = np.linalg.svd(x, compute_uv=False)
        res_run = svd_output(i, var)
        if res_run is None:
            continue
        out, r = res_run
        u, s, v, _ = load(out)
        err = np.max(np.abs(s - s_ref[:k])) / s_ref[0]
        check(f"svd {var}: singular values match LAPACK's to 1e-12 relative (measured {err:.1e})", err < 1e-12, s - s_ref[:k])
        res = np.linalg.norm(x - (u * s) @ v.T) / np.linalg.norm(x)
        opt = np.sqrt(np.sum(s_ref[k:] ** 2)) / np.linalg.norm(x)
        check(f"svd {var}: the residual is the optimal rank-{k} one to 1e-12", abs(res - opt) < 1e-12, (res, opt))
        if var == "packed":
            check("svd packed: the plan says how it unpacks", "unpacked as 0.0001 * x + 0.5" in r.stdout, r.stdout)


def test_float32_panels():
    """float32 panels (issue 4's --precision) under the conventions: the float32 variable by
    default, and the packed int16 one unpacked into float32 panels; to float32 accuracy."""
    nc = sim_nc()
    for var, extra in [("zipped", []), ("packed", ["--precision", "single"])]:
        x = values()[var]
        s_ref = np.linalg.svd(x, compute_uv=False)
        r = run(["svd", f"{nc}:/{var}", "-k", k, "-p", n - k, "-o", path("svd32.h5"), "--force", "--memory", "64K",
                 "--json"] + extra, ranks=2)
        if check(f"svd {var} in float32 panels exits 0", r.returncode == 0, r.stderr):
            js = json.loads(r.stdout)
            err = np.max(np.abs(np.array(js["singular_values"]) - s_ref[:k])) / s_ref[0]
            check(f"svd {var} in float32 panels: singular values to 1e-5 of LAPACK's (measured {err:.1e})",
                  js["precision"] == "float32" and err < 1e-5, (js["precision"], err))


def test_info_and_verify():
    """info names a variable's NetCDF conventions; verify reads the packed variable unpacked."""
    nc = sim_nc()
    r = run(["info", f"{nc}:/holes"])
    check("info names the NetCDF conventions of a variable", r.returncode == 0 and "NetCDF-4 variable; missing if _FillValue -999" in r.stdout, r.stdout)
    packed = svd_output(VARS.index("packed"), "packed")
    r = run(["verify", f"{nc}:/packed", packed[0] if packed else path("svd-4.h5"), "--json"], ranks=2)
    check("verify reads the packed variable unpacked", r.returncode == 0 and '"relative_residual_fro"' in r.stdout, r.stderr)


def test_pca():
    """PCA of a packed variable and of a variable in a group against LAPACK on the centred values."""
    nc = sim_nc()
    # The salinity's mean (35) is ~150 times its spread: the implicit centering A X - 1 (mu^T X)
    # cancels that much, so its variances agree to ~3e-12 rather than 1e-15.
    for var, ranks, tol in [("packed", 2, 1e-12), ("ocean/salinity", 1, 1e-10)]:
        x = values()[var]
        xc = x - x.mean(0)
        _, s_ref, vt_ref = np.linalg.svd(xc, full_matrices=False)
        out = path("pca.h5")
        r = run(["pca", f"{nc}:/{var}", "-k", k, "-p", n - k, "-o", out, "--force", "--quiet"], ranks=ranks)
        if not check(f"pca {var} at {ranks} rank(s) exits 0", r.returncode == 0, r.stderr):
            continue
        with h5py.File(out, "r") as f:
            ev, ratio, comp, mean = f["explained_variance"][:], f["explained_variance_ratio"][:], f["components"][:], f["mean"][:]
        ev_ref = s_ref ** 2 / (m - 1)
        err = np.max(np.abs(ev - ev_ref[:k]) / ev_ref[:k])
        check(f"pca {var}: explained variance matches LAPACK to {tol:g} relative (measured {err:.1e})", err < tol, ev - ev_ref[:k])
        check(f"pca {var}: explained variance ratios match to {tol:g}", np.max(np.abs(ratio - ev_ref[:k] / ev_ref.sum())) < tol)
        check(f"pca {var}: components match LAPACK's up to sign to 1e-10",
              np.max(np.abs(np.abs(comp) - np.abs(vt_ref[:k]))) < 1e-10, np.max(np.abs(np.abs(comp) - np.abs(vt_ref[:k]))))
        check(f"pca {var}: the mean is that of the unpacked values", np.max(np.abs(mean - x.mean(0))) < 1e-12)


def test_refusals():
    """Holes (_FillValue, default fill, missing_value, valid_range), a dimension without values,
    NetCDF-3: exit 2 naming what is wrong, no output."""
    nc = sim_nc()
    with netCDF4.Dataset(path("classic.nc"), "w", format="NETCDF3_CLASSIC") as ds:
        ds.createDimension("r", 5)
        ds.createVariable("v", "f8", ("r", "r"))[:] = np.eye(5)
    never = path("never.h5")
    for desc, spec, msg in [
        ("an unwritten row (_FillValue)", f"{nc}:/holes", "'/holes' in '" + nc + "': missing value (_FillValue -999) at row 17, column 0"),
        ("an unwritten row (NetCDF's default fill)", f"{nc}:/gap", "missing value (NetCDF's default fill value 9.96920997e+36) at row 250, column 0"),
        ("a missing_value", f"{nc}:/flagged", "missing value (missing_value -1) at row 5, column 3"),
        ("a value outside valid_range", f"{nc}:/ranged", "1000000 at row 9, column 2 is outside the valid range [-100, 100]"),
        ("a dimension without values", f"{nc}:/cell", "'/cell' in '" + nc + "' is a NetCDF dimension, not a variable"),
        ("a NetCDF-3 file", f"{path('classic.nc')}:/v", "is a NetCDF-3 file, not HDF5: convert it with 'nccopy -k nc4"),
    ]:
        for ranks in [1, 2] if "valid_range" in desc else [1]:  # 1: no mpirun (it waits 2 s after a failure)
            r = run(["svd", spec, "-k", 2, "-o", never, "--memory", "8K"], ranks=ranks if ranks > 1 else None)
            check(f"{desc} at {ranks} rank(s): exit 2", r.returncode == 2, f"{r.returncode} {r.stderr}")
            check(f"{desc} at {ranks} rank(s): the message", msg in r.stderr, r.stderr)
            check(f"{desc} at {ranks} rank(s): no output", not os.path.exists(never) and not temp_leftovers())


def test_hole_in_column_panels():
    """Column panels stream the stored columns: the hole is still named by its stored row and column."""
    r = run(["svd", f"{sim_nc()}:/holes", "-k", 2, "-o", path("never.h5"), "--memory", "8K", "--panels", "columns"])
    check("an unwritten row, column panels: exit 2 naming row 17, column 0",
          r.returncode == 2 and "missing value (_FillValue -999) at row 17, column 0" in r.stderr, f"{r.returncode} {r.stderr}")


harness.main(globals())
