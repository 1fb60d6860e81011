"""No silent wrong answers from what an input file says about its values.
  - NetCDF-4 unpacking, against netCDF4-python (Debian's python3-netcdf4) reading the same
    files: _Unsigned byte and short variables, scale_factor / add_offset (float32 and float64),
    _FillValue, missing_value, valid_min / valid_max / valid_range and their combinations,
    written raw by netCDF4-python itself (auto mask and scale off); prsvd's singular values
    against numpy's SVD of what netCDF4-python reads, at 1 and 2 ranks, and every value it
    masks refused (exit 2) naming its row and column.
  - Virtual datasets (h5py.VirtualLayout): a missing or broken source, which HDF5 reads as the
    fill value, is refused naming it unless --allow-missing-sources; `info` shows the layout
    as virtual with its source count.
  - verify: a NaN or Inf in U, S or V is a failed check (exit 4) with a line naming it; --json
    is always JSON (null for a number that is not finite, in verify and svd); an output is
    taken for an eig result or an svd result from its own 'method' attribute, not from which
    datasets it holds."""
import functools
import json
import os
import subprocess
import sys
import warnings

import h5py
import netCDF4
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, load, path, run, temp_leftovers  # noqa: E402

m, n, k = 48, 8, 4
rng = np.random.default_rng(23)


def strict_json(text):
    """json.loads that refuses NaN, Infinity and -Infinity, which Python accepts by default."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def grid(lo, hi):
    """An m x n matrix of whole numbers spread over [lo, hi], with a decaying spectrum."""
    q1, _ = np.linalg.qr(rng.standard_normal((m, n)))
    q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = (q1 * 2.0 ** -np.arange(n)) @ q2.T
    return np.round(lo + (a - a.min()) / (a.max() - a.min()) * (hi - lo))


def with_entry(raw, value, at=(5, 3)):
    raw = raw.copy()
    raw[at] = value
    return raw


def bits(u, dtype):
    """Unsigned whole numbers as the signed type's stored bits (what _Unsigned means)."""
    return u.astype(np.dtype(dtype).str.replace("i", "u")).view(dtype)


def nc_file(name, variables):
    """A NetCDF-4 file written by netCDF4-python, each variable (dtype, raw values, attributes,
    createVariable arguments) stored raw: auto mask and scale off while writing."""
    fn = path(name)
    with netCDF4.Dataset(fn, "w", format="NETCDF4") as ds:
        ds.createDimension("row", m)
        ds.createDimension("col", n)
        for var, (dtype, raw, attrs, kw) in variables.items():
            v = ds.createVariable(var, dtype, ("row", "col"), **kw)
            v.set_auto_maskandscale(False)
            for a, x in attrs.items():
                v.setncattr(a, x)
            v[:] = raw
    return fn


def netcdf4_reads(fn, var):
    """What netCDF4-python reads (auto mask and scale on): the values as float64 and the mask."""
    with netCDF4.Dataset(fn) as ds, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the attributes it ignores: info's line is checked instead
        x = ds[var][:]
    return np.ma.getdata(x).astype(np.float64), np.ma.getmaskarray(x), x.dtype


u8 = grid(0, 255)
u8[0, 0], u8[0, 1], u8[1, 0] = 129, 255, 128  # 129: the bits of the byte default fill -127
u16 = grid(0, 65000)
u16[0, 0], u16[0, 1] = 32769, 65000           # 32769: the bits of the short default fill -32767
s16 = grid(-30000, 30000)
s8 = grid(-100, 120)
f32 = (grid(0, 1000) / 400).astype(np.float32)  # up to 2.5, with 0.1 as float32 in it
f32[2, 2] = np.float32(0.1)
u8m = grid(0, 250)  # for the masked variables: 251..255 only where planted

# every variable netCDF4-python reads without a masked value: (dtype, raw, attributes, kw, why)
CLEAN = {
    "ubyte": ("i1", bits(u8, "i1"), {"_Unsigned": "true"}, {}, "_Unsigned byte with 129 = bits of -127"),
    "ubyte_True": ("i1", bits(u8, "i1"), {"_Unsigned": "True"}, {}, "_Unsigned 'True'"),
    "ushort": ("i2", bits(u16, "i2"), {"_Unsigned": "true"}, {}, "_Unsigned short with 32769 = bits of -32767"),
    "ushort_packed": ("i2", bits(u16, "i2"),
                      {"_Unsigned": "true", "scale_factor": np.float32(0.01), "add_offset": np.float32(-50),
                       "valid_range": np.array([0, -2], np.int16)},
                      {"fill_value": np.int16(-1)}, "_Unsigned, float32 packing, _FillValue, valid_range"),
    "short_packed": ("i2", s16, {"scale_factor": 1e-4, "add_offset": 2.5, "missing_value": np.int16(-32768)}, {},
                     "float64 packing, missing_value"),
    "byte_packed": ("i1", s8, {"scale_factor": np.float32(0.5), "add_offset": np.float32(10)}, {},
                    "byte with float32 packing"),
    "byte_nofill": ("i1", with_entry(s8, -127), {}, {"fill_value": False},
                    "byte written without fill holding -127"),
    "ubyte_ranged": ("i1", bits(u8, "i1"), {"_Unsigned": "true", "valid_min": np.int8(0),
                                            "valid_max": np.int8(-1)}, {}, "_Unsigned valid_min / valid_max"),
    "unsafe_attrs": ("f4", f32, {"missing_value": 0.1, "valid_max": 1.1}, {},
                     "missing_value and valid_max a float32 cannot hold (ignored)"),
}
# one masked entry each at row 5, column 3: (dtype, raw, attributes, kw, the message)
MASKED = {
    "ubyte_fill": ("i1", bits(with_entry(u8m, 255), "i1"), {"_Unsigned": "true"}, {"fill_value": np.int8(-1)},
                   "missing value (_FillValue 255) at row 5, column 3"),
    "ushort_missing": ("i2", bits(with_entry(u16, 65534), "i2"),
                       {"_Unsigned": "true", "missing_value": np.int16(-2)}, {},
                       "missing value (missing_value 65534) at row 5, column 3"),
    "ubyte_range": ("i1", bits(with_entry(u8m, 254), "i1"),
                    {"_Unsigned": "true", "valid_range": np.array([0, -3], np.int8)}, {},
                    "254 at row 5, column 3 is outside the valid range [0, 253]"),
    "short_min": ("i2", with_entry(s16, -30001), {"valid_min": np.int16(-30000)}, {},
                  "-30001 at row 5, column 3 is outside the valid range [-30000, inf]"),
    "short_max": ("i2", with_entry(s16, 30001), {"valid_max": np.int16(30000)}, {},
                  "30001 at row 5, column 3 is outside the valid range [-inf, 30000]"),
    "missing_list": ("i2", with_entry(s16, -31007), {"missing_value": np.array([-31005, -31006, -31007], np.int16)},
                     {}, "missing value (missing_value -31007) at row 5, column 3"),
    "byte_default": ("i1", with_entry(s8, -127), {}, {},
                     "missing value (NetCDF's default fill value -127) at row 5, column 3"),
    "short_nofill_default": ("i2", with_entry(s16, -32767), {}, {"fill_value": False},
                             "missing value (NetCDF's default fill value -32767) at row 5, column 3"),
    "ubyte_native_default": ("u1", with_entry(u8m, 255), {}, {},
                             "missing value (NetCDF's default fill value 255) at row 5, column 3"),
    "packed_missing": ("i2", with_entry(s16, -32768), {"scale_factor": 1e-4, "missing_value": np.int16(-32768)}, {},
                       "missing value (missing_value -32768) at row 5, column 3"),
    "ushort_packed_fill": ("i2", bits(with_entry(u16, 65535), "i2"),
                           {"_Unsigned": "true", "scale_factor": np.float32(0.01),
                            "valid_range": np.array([0, -2], np.int16)},
                           {"fill_value": np.int16(-1)}, "missing value (_FillValue 65535) at row 5, column 3"),
}


@functools.lru_cache(None)
def clean_file():
    return nc_file("clean.nc", {v: spec[:4] for v, spec in CLEAN.items()})


@functools.lru_cache(None)
def masked_file():
    return nc_file("masked.nc", {v: spec[:4] for v, spec in MASKED.items()})


def svd_values(spec, ranks, *extra):
    out = path("unpack.h5")
    r = run(["svd", spec, "-k", k, "-p", n - k, "-o", out, "--force", "--quiet", "--memory", "8K", *extra],
            ranks=ranks if ranks > 1 else None)
    return r, (load(out)[1] if r.returncode == 0 else None)


def test_unpacked_as_netcdf4_python_reads():
    """Every clean variable: netCDF4-python masks nothing, and prsvd's singular values are
    numpy's of what netCDF4-python reads (float32 arithmetic in netCDF4-python's unpacking
    for float32 scale factors: 1e-6), at 1 and 2 ranks."""
    fn = clean_file()
    for var, (_, _, _, _, why) in CLEAN.items():
        x, mask, dtype = netcdf4_reads(fn, var)
        check(f"{var} ({why}): netCDF4-python masks nothing", not mask.any(), np.argwhere(mask))
        ref = np.linalg.svd(x, compute_uv=False)
        tol = 1e-6 if dtype == np.float32 else 1e-12
        for ranks in [1, 2]:
            r, s = svd_values(f"{fn}:/{var}", ranks)
            if not check(f"{var} at {ranks} rank(s): exit 0", r.returncode == 0, r.stderr):
                continue
            err = np.max(np.abs(s - ref[:k])) / ref[0]
            check(f"{var} at {ranks} rank(s): singular values are netCDF4-python's to {tol:g} "
                  f"(sigma_1 {s[0]:.6g} vs {ref[0]:.6g}, measured {err:.1e})", err < tol, (s, ref[:k]))


def test_unsigned_is_not_read_signed():
    """The issue's symptom: an _Unsigned byte variable read as signed has another spectrum."""
    fn = clean_file()
    x, _, dtype = netcdf4_reads(fn, "ubyte")
    signed = np.linalg.svd(bits(u8, "i1").astype(np.float64), compute_uv=False)[0]
    r, s = svd_values(f"{fn}:/ubyte", 1)
    check("_Unsigned byte: netCDF4-python reads uint8 values up to 255", dtype == np.uint8 and x.max() == 255,
          (dtype, x.max()))
    check(f"_Unsigned byte: sigma_1 is the unsigned one ({np.linalg.svd(x, compute_uv=False)[0]:.6g}), "
          f"not the signed bits' ({signed:.6g})",
          s is not None and abs(s[0] - np.linalg.svd(x, compute_uv=False)[0]) < 1e-9 * s[0], r.stderr)


def test_every_masked_value_refused():
    """Each value netCDF4-python masks stops the run (exit 2, no output) naming its row and
    column, the attribute and the value as netCDF4-python compares it; at 2 ranks too (the
    entry is in rank 0's rows for 1 rank and for 2)."""
    fn = masked_file()
    for var, (_, _, _, _, msg) in MASKED.items():
        never = path(f"never-{var}.h5")  # one each: a run that wrongly succeeds fails only its own checks
        _, mask, _ = netcdf4_reads(fn, var)
        check(f"{var}: netCDF4-python masks only row 5, column 3", mask.sum() == 1 and mask[5, 3],
              np.argwhere(mask))
        for ranks in [1, 2] if var in ("ubyte_fill", "ushort_missing", "short_nofill_default") else [1]:
            r = run(["svd", f"{fn}:/{var}", "-k", 2, "-p", 2, "-o", never, "--memory", "8K"],
                    ranks=ranks if ranks > 1 else None)
            check(f"{var} at {ranks} rank(s): exit 2 with \"{msg}\"", r.returncode == 2 and msg in r.stderr,
                  f"{r.returncode} {r.stderr}")
            check(f"{var} at {ranks} rank(s): no output", not os.path.exists(never) and not temp_leftovers())


def test_float32_panels_compare_stored_values():
    """--precision single reads a 32-bit integer variable into float32 panels, where 16777217
    rounds to 16777216: its valid_max 16777216 and default fill -2147483647 are still compared
    with the values as stored (netCDF4-python masks the first, reads -2147483600 as a value)."""
    big = grid(-1000, 1000) * 1000
    fn = nc_file("wide.nc", {
        "over": ("i4", with_entry(big, 16777217), {"valid_max": np.int32(16777216), "scale_factor": 0.5}, {}),
        "near_fill": ("i4", with_entry(big, -2147483600), {"scale_factor": 0.5}, {}),
        "f64_fill": ("f8", with_entry(big / 7, -999.9), {}, {"fill_value": -999.9}),
    })
    _, mask, _ = netcdf4_reads(fn, "over")
    check("int32 over valid_max: netCDF4-python masks row 5, column 3", mask.sum() == 1 and mask[5, 3])
    for var, msg in [("over", "16777217 at row 5, column 3 is outside the valid range [-inf, 16777216]"),
                     ("f64_fill", "missing value (_FillValue -999.9) at row 5, column 3")]:
        r = run(["svd", f"{fn}:/{var}", "-k", 2, "-p", 2, "-o", path(f"never-{var}.h5"), "--precision", "single"])
        check(f"--precision single, {var}: exit 2 with \"{msg}\"", r.returncode == 2 and msg in r.stderr,
              f"{r.returncode} {r.stderr}")
    x, mask, _ = netcdf4_reads(fn, "near_fill")
    ref = np.linalg.svd(x, compute_uv=False)
    r, s = svd_values(f"{fn}:/near_fill", 2, "--precision", "single")
    check("--precision single, -2147483600 beside the int32 default fill: read as netCDF4-python reads it "
          "(float32 accuracy)", not mask.any() and s is not None and np.max(np.abs(s - ref[:k])) / ref[0] < 1e-6,
          r.stderr if s is None else (s, ref[:k]))


def test_unsigned_false_reads_signed():
    """_Unsigned "false" keeps the signed type (netCDF-C and -Java, netCDF4-python from 1.6.4;
    Debian's 1.6.2 takes any _Unsigned for true, so the reference here is the stored values)."""
    fn = nc_file("signed.nc", {"v": ("i1", s8, {"_Unsigned": "false"}, {})})
    ref = np.linalg.svd(s8, compute_uv=False)
    r, s = svd_values(f"{fn}:/v", 1)
    check("_Unsigned false: the signed values' singular values",
          s is not None and np.max(np.abs(s - ref[:k])) / ref[0] < 1e-12, r.stderr)


def test_ambiguous_attributes_refused():
    """Attributes whose meaning readers disagree on, or that prsvd cannot apply in full: exit 2
    naming the attribute."""
    fn = nc_file("ambiguous.nc", {
        "yes": ("i1", s8, {"_Unsigned": "yes"}, {}),
        "two_scales": ("i2", s16, {"scale_factor": np.array([0.5, 2.0])}, {}),
        "many_missing": ("i2", s16, {"missing_value": np.arange(-32000, -31984, dtype=np.int16)}, {}),
        "two_strings": ("i1", s8, {"_Unsigned": ["true", "true"]}, {}),
    })
    for var, msg in [("yes", "_Unsigned is 'yes', expected \"true\" or \"false\""),
                     ("two_strings", "_Unsigned is not one string, expected \"true\" or \"false\""),
                     ("two_scales", "scale_factor has 2 values, expected one"),
                     ("many_missing", "missing_value has 16 values, prsvd compares at most 15")]:
        r = run(["svd", f"{fn}:/{var}", "-k", 2, "-p", 2, "-o", path(f"never-{var}.h5")])
        check(f"{var}: exit 2 with \"{msg}\"", r.returncode == 2 and msg in r.stderr, f"{r.returncode} {r.stderr}")


def test_string_array_attributes_read_safely():
    """CLASS and NAME (read on every NetCDF variable to tell a dimension) as arrays of two
    fixed-length strings (written by h5py): read as no string, not into a one-string buffer
    (valgrind: no invalid write), and the variable reads as netCDF4-python reads it."""
    fn = nc_file("arrays.nc", {"v": ("i2", s16, {}, {})})
    with h5py.File(fn, "a") as f:
        f["v"].attrs["CLASS"] = np.array([b"DIMENSION_SCALE", b"x"], dtype="S15")
        f["v"].attrs["NAME"] = np.array([b"a", b"b"], dtype="S1")
    ref = np.linalg.svd(netcdf4_reads(fn, "v")[0], compute_uv=False)
    r, s = svd_values(f"{fn}:/v", 1)
    check("string-array CLASS and NAME: the variable's singular values",
          s is not None and np.max(np.abs(s - ref[:k])) / ref[0] < 1e-12, r.stderr)
    cmd = [os.path.join(harness.TOP, "libtool"), "--mode=execute", "valgrind", "--error-exitcode=42",
           "--suppressions=/usr/share/openmpi/openmpi-valgrind.supp",
           f"--suppressions={harness.SRC}/tests/valgrind.supp", harness.PRSVD, "info", f"{fn}:/v"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    check("string-array CLASS and NAME: valgrind finds no invalid access in info",
          r.returncode == 0 and "ERROR SUMMARY: 0 errors" in r.stderr, r.stderr[-3000:])


def test_info_says_how_it_reads():
    fn = clean_file()
    for var, want in [("ushort_packed", "int16 read as uint16 (_Unsigned); unpacked as 0.0099999997764825821 * x + -50;"
                                        " missing if _FillValue 65535; valid [0, 65534]"),
                      ("unsafe_attrs", "ignored, as netCDF4-python does (not float32 values): missing_value, "
                                       "valid_max")]:
        r = run(["info", f"{fn}:/{var}"])
        check(f"info {var}: \"{want}\"", r.returncode == 0 and want in r.stdout, r.stdout + r.stderr)


# ---- virtual datasets ------------------------------------------------------------------------
vrows = 30


def virtual(name, ranges=((0, 10), (10, 20), (20, 30)), local=()):
    """In the folder `name`: vds.h5:/A, vrows x n, its row blocks mapped onto x in part<i>.h5
    (named relative to the folder), and the blocks in `local` onto /own/x of vds.h5 itself
    (source file "."); returns the VDS path and the matrix."""
    folder = path(name)
    os.makedirs(folder, exist_ok=True)
    a = np.random.default_rng(5).standard_normal((vrows, n)) * 2.0 ** -np.arange(n)
    lay = h5py.VirtualLayout(shape=(vrows, n), dtype="f8")
    for i, (r0, r1) in enumerate(ranges):
        if i in local:
            lay[r0:r1] = h5py.VirtualSource(".", "/own/x", shape=(r1 - r0, n))
            continue
        with h5py.File(os.path.join(folder, f"part{i}.h5"), "w") as f:
            f["x"] = a[r0:r1]
        lay[r0:r1] = h5py.VirtualSource(f"part{i}.h5", "x", shape=(r1 - r0, n))
    fn = os.path.join(folder, "vds.h5")
    with h5py.File(fn, "w") as f:
        for i in local:
            f["own/x"] = a[ranges[i][0]:ranges[i][1]]
        f.create_virtual_dataset("A", lay, fillvalue=0)
    return fn, a


def refuses(args, msg, desc, ranks=1, out=None):
    r = run(args, ranks=ranks if ranks > 1 else None)
    check(f"{desc} at {ranks} rank(s): exit 2 with \"{msg}\"", r.returncode == 2 and msg in r.stderr,
          f"{r.returncode} {r.stderr}")
    if out:
        check(f"{desc} at {ranks} rank(s): no output", not os.path.exists(out) and not temp_leftovers())


def test_virtual_dataset_reads_its_sources():
    """A VDS whose sources sit beside it (one block in its own file) reads as the whole
    matrix, from another working directory too; info shows the layout as virtual with its
    source count."""
    fn, a = virtual("whole", local=(0,))
    ref = np.linalg.svd(a, compute_uv=False)
    for ranks in [1, 2]:
        r, s = svd_values(f"{fn}:/A", ranks)
        check(f"VDS at {ranks} rank(s): numpy's singular values to 1e-12",
              s is not None and np.max(np.abs(s - ref[:k])) / ref[0] < 1e-12, r.stderr)
    r = run(["info", f"{fn}:/A"])
    check("info: layout virtual, 3 sources, all present", r.returncode == 0 and
          "  layout     virtual, 3 sources, all present\n" in r.stdout, r.stdout + r.stderr)
    r = run(["info", f"{fn}:/A", "--json"])
    js = strict_json(r.stdout) if r.returncode == 0 else {}
    check("info --json: layout virtual, sources 3, missing_sources 0",
          (js.get("layout"), js.get("sources"), js.get("missing_sources")) == ("virtual", 3, 0), r.stdout + r.stderr)
    r = run(["info", path("clean.nc") + ":/ubyte" if os.path.exists(path("clean.nc")) else f"{clean_file()}:/ubyte",
             "--json"])
    check("info --json of a contiguous dataset: layout contiguous, no sources",
          r.returncode == 0 and strict_json(r.stdout).get("layout") == "contiguous"
          and "sources" not in strict_json(r.stdout), r.stdout + r.stderr)


def test_virtual_missing_source_refused():
    """A deleted source file reads as zeros through HDF5 (h5py shows it): prsvd refuses it
    before any work, naming it, at 1 and 2 ranks, in svd, eig, verify and info; with
    --allow-missing-sources it reads the zeros as HDF5 does, with a warning."""
    fn, a = virtual("missing")
    os.remove(os.path.join(os.path.dirname(fn), "part1.h5"))
    with h5py.File(fn, "r") as f:
        seen = f["A"][:]
    check("h5py reads the missing source's rows as the fill value, silently",
          np.all(seen[10:20] == 0) and np.array_equal(seen[:10], a[:10]))
    msg = f"virtual dataset '/A' in '{fn}': source 2 of 3, dataset 'x' of 'part1.h5': no such file"
    out = path("never-vds.h5")
    for ranks in [1, 2]:
        refuses(["svd", f"{fn}:/A", "-k", 2, "-p", 2, "-o", out], msg, "svd of a VDS missing a source", ranks, out)
    refuses(["info", f"{fn}:/A"], msg, "info of a VDS missing a source")
    square = path("square")
    os.makedirs(square, exist_ok=True)
    lay = h5py.VirtualLayout(shape=(n, n), dtype="f8")
    lay[:] = h5py.VirtualSource("gone.h5", "x", shape=(n, n))
    with h5py.File(os.path.join(square, "vds.h5"), "w") as f:
        f.create_virtual_dataset("A", lay, fillvalue=0)
    refuses(["eig", os.path.join(square, "vds.h5") + ":/A", "-k", 2, "-o", out],
            "source 1 of 1, dataset 'x' of 'gone.h5': no such file", "eig of a VDS missing its source", 1, out)
    whole, _ = virtual("for-verify")
    r, _ = svd_values(f"{whole}:/A", 1)
    refuses(["verify", f"{fn}:/A", path("unpack.h5")], msg, "verify against a VDS missing a source")
    r = run(["svd", f"{fn}:/A", "-k", k, "-p", n - k, "-o", out, "--quiet", "--allow-missing-sources"], ranks=2)
    if check("--allow-missing-sources: exit 0", r.returncode == 0, r.stderr):
        ref = np.linalg.svd(seen, compute_uv=False)
        s = load(out)[1]
        check("--allow-missing-sources: the singular values of the matrix with zeros, as HDF5 reads it",
              np.max(np.abs(s - ref[:k])) / ref[0] < 1e-12, (s, ref[:k]))
        check("--allow-missing-sources: a warning naming the source",
              "warning: '" + fn + ":/A': 1 of its 3 virtual sources are missing and read as the fill value" in r.stderr
              and "dataset 'x' of 'part1.h5': no such file" in r.stderr, r.stderr)
        os.remove(out)
    r = run(["info", f"{fn}:/A", "--allow-missing-sources"])
    check("info --allow-missing-sources: virtual, 3 sources, and the missing one",
          r.returncode == 0 and "  layout     virtual, 3 sources\n" in r.stdout
          and "  missing    1, read as the fill value" in r.stdout and "'part1.h5': no such file" in r.stdout,
          r.stdout + r.stderr)


def test_virtual_broken_sources_refused():
    """A source file that is not HDF5, one without the source dataset, and a chunked source
    dataset smaller than the hyperslab it maps (HDF5 reads the rest as the fill value: h5py
    shows it; from a contiguous one it reads past the dataset's storage)."""
    out = path("never-vds.h5")
    fn, _ = virtual("not-hdf5")
    with open(os.path.join(os.path.dirname(fn), "part2.h5"), "w") as f:
        f.write("not an HDF5 file\n")
    refuses(["svd", f"{fn}:/A", "-k", 2, "-p", 2, "-o", out],
            f"source 3 of 3, dataset 'x' of 'part2.h5': '{os.path.abspath(os.path.dirname(fn))}/part2.h5' is not an "
            "HDF5 file",
            "a source that is not HDF5", 2, out)
    fn, _ = virtual("no-dataset")
    with h5py.File(os.path.join(os.path.dirname(fn), "part0.h5"), "w") as f:
        f["y"] = np.ones((10, n))
    refuses(["svd", f"{fn}:/A", "-k", 2, "-p", 2, "-o", out],
            "source 1 of 3, dataset 'x' of 'part0.h5': 'part0.h5' has no dataset 'x'", "a source without its dataset",
            1, out)
    short = path("short")
    os.makedirs(short, exist_ok=True)
    with h5py.File(os.path.join(short, "part.h5"), "w") as f:
        f.create_dataset("x", data=np.ones((5, n)), chunks=(5, n), maxshape=(None, n))
    lay = h5py.VirtualLayout(shape=(10, n), dtype="f8")
    lay[:] = h5py.VirtualSource("part.h5", "x", shape=(10, n))[0:10, :]
    with h5py.File(os.path.join(short, "vds.h5"), "w") as f:
        f.create_virtual_dataset("A", lay, fillvalue=0)
    with h5py.File(os.path.join(short, "vds.h5"), "r") as f:
        seen = f["A"][:]
    check("h5py reads the rows past the short source as the fill value, silently",
          np.all(seen[:5] == 1) and np.all(seen[5:] == 0), seen)
    refuses(["svd", os.path.join(short, "vds.h5") + ":/A", "-k", 2, "-p", 2, "-o", out],
            "'x' in 'part.h5' has 5 entries along dimension 0, the mapping reads 10", "a short source", 1, out)


# ---- verify and --json -----------------------------------------------------------------------
@functools.lru_cache(None)
def planted_svd():
    """A planted 40 x 6 matrix (prsvd gen) and its rank-3 svd: (input spec, result file)."""
    spec = harness.gen("planted.h5", 40, 6)
    out = path("planted-svd.h5")
    r = run(["svd", spec, "-k", 3, "-p", 3, "-o", out, "--quiet"])
    assert r.returncode == 0, r.stderr
    return spec, out


def poked(src, name, dataset, at, value):
    """A copy of the HDF5 file src with one entry of dataset set to value."""
    dst = path(name)
    with h5py.File(src, "r") as f, h5py.File(dst, "w") as g:
        for key in f:
            f.copy(key, g)
        g.attrs.update(f.attrs)
        g[dataset][at] = value
    return dst


def test_verify_nonfinite_factor_fails():
    """A NaN or Inf in U, S or V (in rank 1's rows of U at 2 ranks) is a failed check: exit 4,
    a line naming the entry, the report still printed (nan in text, null in --json: the output
    parses as strict JSON), and max |U^T U - I| is NaN, not the finite value fmax made of it."""
    spec, out = planted_svd()
    for dataset, at, value, said in [("U", (27, 1), np.nan, "'/U' of '{f}' holds NaN at row 27, column 1"),
                                     ("S", (2,), np.inf, "'/S' of '{f}' holds Inf at entry 2"),
                                     ("V", (4, 0), -np.inf, "'/V' of '{f}' holds -Inf at row 4, column 0")]:
        bad = poked(out, f"bad-{dataset}.h5", dataset, at, value)
        said = said.format(f=bad)
        for ranks in [1, 2]:
            r = run(["verify", spec, bad, "--json"], ranks=ranks if ranks > 1 else None)
            check(f"NaN/Inf in {dataset} at {ranks} rank(s): exit 4 naming it",
                  r.returncode == 4 and f"the factorization is not finite: {said}" in r.stderr,
                  f"{r.returncode} {r.stderr}")
            try:
                js = strict_json(r.stdout)
            except ValueError as e:
                check(f"NaN/Inf in {dataset} at {ranks} rank(s): --json parses as JSON", False, f"{e}\n{r.stdout}")
                continue
            check(f"NaN/Inf in {dataset} at {ranks} rank(s): --json says finite false and names the entry",
                  js["finite"] is False and js["nonfinite"] == said, js)
            if dataset == "U":
                check(f"NaN in U at {ranks} rank(s): orthogonality_u is null, not a small number",
                      js["orthogonality_u"] is None and js["residual_fro"] is None, js)
        r = run(["verify", spec, bad])
        check(f"NaN/Inf in {dataset}, text: the FAILED line", r.returncode == 4 and f"  FAILED: {said}\n" in r.stdout,
              r.stdout + r.stderr)
        if dataset == "U":
            check("NaN in U, text: max |U^T U - I| shows nan", "max |U^T U - I|               nan" in r.stdout, r.stdout)


def test_verify_nonfinite_input_exits_2():
    spec, out = planted_svd()
    fn = poked(spec.rsplit(":", 1)[0], "bad-A.h5", "A", (31, 2), np.nan)
    for ranks in [1, 2]:
        r = run(["verify", f"{fn}:/A", out, "--json"], ranks=ranks if ranks > 1 else None)
        check(f"NaN in A at {ranks} rank(s): exit 2 naming row 31, column 2",
              r.returncode == 2 and f"the input is not finite: '{fn}:/A' holds NaN at row 31, column 2" in r.stderr,
              f"{r.returncode} {r.stderr}")
        js = strict_json(r.stdout)
        check(f"NaN in A at {ranks} rank(s): --json has finite false and a null residual, not 0",
              js["finite"] is False and js["relative_residual_fro"] is None and js["norm_a_fro"] is None, js)


def test_json_has_no_nan():
    """Numbers a run could not measure are null: verify's residual_over_optimal when the
    planted optimum is 0 (k = n), svd's error_estimate with --passes 1 and with --tol."""
    spec = harness.gen("full.h5", 40, 6)
    out = path("full-svd.h5")
    r = run(["svd", spec, "-k", 6, "-p", 0, "-o", out, "--quiet"])
    check("svd -k n: exit 0", r.returncode == 0, r.stderr)
    r = run(["verify", spec, out, "--json"])
    try:
        js = strict_json(r.stdout)
        check("verify --json with a zero optimal residual: residual_over_optimal null, optimal 0",
              r.returncode == 0 and js["residual_over_optimal"] is None and js["optimal_residual_fro"] == 0, js)
    except ValueError as e:
        check("verify --json with a zero optimal residual parses as JSON", False, f"{e}\n{r.stdout}")
    for extra in [["-k", 3, "--passes", 1], ["--tol", 0.5, "--max-rank", 4]]:
        r = run(["svd", spec, "-o", path("json.h5"), "--force", "--json", *extra])
        try:
            js = strict_json(r.stdout)
            check(f"svd --json {' '.join(map(str, extra))}: JSON, error_estimate null",
                  r.returncode == 0 and js["error_estimate"] is None and len(js["singular_values"]) >= 1, js)
        except ValueError as e:
            check(f"svd --json {' '.join(map(str, extra))} parses as JSON", False, f"{e}\n{r.stdout}")


def test_verify_tells_eig_from_svd_by_method():
    """verify reads an output by its 'method' attribute: an svd result that also holds /L is
    still an svd result, an eig result that also holds /S and /V an eig result; without the
    attribute, /U /S /V is an svd result (another program's), and /U /S /V /L is refused."""
    spec, out = planted_svd()
    ref = strict_json(run(["verify", spec, out, "--json"]).stdout)
    extra = path("svd-and-L.h5")
    with h5py.File(out, "r") as f, h5py.File(extra, "w") as g:
        for key in f:
            f.copy(key, g)
        g.attrs.update(f.attrs)
        g["L"] = f["S"][:] * 0 + 1  # a stray /L: read as eig values, the residual is wrong
    r = run(["verify", spec, extra, "--json"])
    check("svd result with a stray /L: verified as the svd result it says it is",
          r.returncode == 0 and strict_json(r.stdout)["relative_residual_fro"] == ref["relative_residual_fro"],
          r.stdout + r.stderr)
    sym = harness.gen("sym.h5", 30, 30, "--symmetric", "psd")
    eig_out = path("eig.h5")
    r = run(["eig", sym, "-k", 4, "-o", eig_out, "--quiet"])
    check("eig: exit 0", r.returncode == 0, r.stderr)
    eig_ref = strict_json(run(["verify", sym, eig_out, "--json"]).stdout)
    both = path("eig-and-SV.h5")
    with h5py.File(eig_out, "r") as f, h5py.File(both, "w") as g:
        for key in f:
            f.copy(key, g)
        g.attrs.update(f.attrs)
        g["S"], g["V"] = np.abs(f["L"][:]), f["U"][:]
    r = run(["verify", sym, both, "--json"])
    check("eig result with /S and /V beside /L: verified as the eig result it says it is",
          r.returncode == 0 and strict_json(r.stdout)["relative_residual_fro"] == eig_ref["relative_residual_fro"],
          r.stdout + r.stderr)
    with h5py.File(both, "a") as g:
        del g.attrs["method"]
    r = run(["verify", sym, both])
    check("/U /S /V /L without 'method': exit 2 saying it cannot tell",
          r.returncode == 2 and "holds /S, /V and /L but no 'method' attribute: an svd result or an eig result?"
          in r.stderr, f"{r.returncode} {r.stderr}")
    a = harness.matrix(spec)[0]
    u, sv, vt = np.linalg.svd(a, full_matrices=False)
    foreign = path("numpy-svd.h5")
    with h5py.File(foreign, "w") as g:
        g["U"], g["S"], g["V"] = u[:, :3], sv[:3], vt[:3].T
    r = run(["verify", spec, foreign, "--json"])
    opt = np.sqrt(np.sum(sv[3:] ** 2)) / np.linalg.norm(a)
    check("numpy's /U /S /V without attributes: verified as an svd result",
          r.returncode == 0 and abs(strict_json(r.stdout)["relative_residual_fro"] - opt) < 1e-12, r.stdout + r.stderr)


if __name__ == "__main__":
    harness.main(globals())
