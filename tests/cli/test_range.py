"""Matrices far from 1 (the range of A): planted spectra times 1e-300 .. 1e300 give their
singular values to the relative accuracy of unscaled data, by every method (subspace
iteration, -q 0, the single pass with Gaussian and sparse maps, --tol by randQB_EI and
randQB_FP, PCA, both eig methods); a power-of-two multiple of a matrix (2^-900 A, 2^900 A)
gives exactly that multiple of S with U and V bit for bit, by every method at 1 and 2 ranks;
float32 data at the ends of float32's range; float64 data of 1e-50 .. 1e300 multiplied in
float32 (--precision single); rows of 1e-300 and 1e307 in one matrix, streamed by the reader
thread, the main thread and in place from a mapping, at 1 and 2 ranks; a checkpoint that stops in the repeated first
pass or mid single pass resumes to the uninterrupted result; a singular value beyond the
largest double is an error.  Data inside the range is sketched as it is, at no pass more."""
import json
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, load, panel_steps, path, run, stop_at, write  # noqa: E402

rng = np.random.default_rng(1300)
m, n, r = 300, 120, 8
SIGMA = np.logspace(0, -3, r)


def orthonormal(rows, k):
    return np.linalg.qr(rng.standard_normal((rows, k)))[0]


def unit_max(a):
    """a scaled by a power of two so that max |a_ij| lies in [1/2, 1): its products with 2^e
    are then those the solver forms when it scales a's multiples back to this range"""
    return np.ldexp(a, -int(np.frexp(np.abs(a).max())[1]))


# exact rank r, so that every method recovers S to rounding (as test_toolbox's exact recoveries)
BASE = unit_max((orthonormal(m, r) * SIGMA) @ orthonormal(n, r).T)
BASE_S = np.linalg.svd(BASE, compute_uv=False)[:r]  # SIGMA times a power of two
Q = orthonormal(n, r)
PSD = unit_max((Q * SIGMA) @ Q.T)
PSD = (PSD + PSD.T) / 2

# 1e-310: denormal entries; 1e307: sigma_1 = 1.6e308, where the single pass's core Z = Phi A
# Psi^T (~ sigma_1 N(0,1)^2) overflows unless its exponent follows the panels
SCALES = [1e-310, 1e-300, 1e-170, 1.0, 1e80, 1e150, 1e300, 1e307]
METHODS = [("subspace", ["-k", r]), ("-q 0", ["-k", r, "-q", 0]),
           ("--passes 1", ["-k", r, "--passes", 1]),
           ("--passes 1 --sketch sparse", ["-k", r, "--passes", 1, "--sketch", "sparse"]),
           ("--tol (randQB_EI)", ["--tol", "1e-6", "--max-rank", 20]),
           ("--tol --passes 2 (randQB_FP)", ["--tol", "1e-6", "--max-rank", 20, "--passes", 2])]
MULTI_PASS = {"subspace", "-q 0", "--tol (randQB_EI)", "--tol --passes 2 (randQB_FP)"}
# tools/test's time: every magnitude at 1 rank; at 2 ranks (the exponent is agreed over ranks
# the same way at any magnitude) every method on 2^-900 A and 2^900 A, against LAPACK and
# bit for bit against A (test_power_of_two_multiples_exact)


def solve(cmd, spec, *args, ranks=None, env=None):
    out = path("out.h5")
    r = run([cmd, spec, *args, "-o", out, "--force", "--json"], ranks=ranks, env=env)
    return r, (json.loads(r.stdout) if r.returncode == 0 else None), out


_once = {}


def once(name, a):
    """The matrix a written as name, once a file (functions share their inputs)."""
    if name not in _once:
        _once[name] = write(name, a)
    return _once[name]


def solve_once(cmd, spec, *args, ranks=None):
    """solve, run once a file for a command, input, options and rank count (the planted
    spectrum's unscaled runs are test_power_of_two_multiples_exact's A), each its own output."""
    key = (cmd, spec, tuple(map(str, args)), ranks)
    if key not in _once:
        out = path(f"once.{len(_once)}.h5")
        r = run([cmd, spec, *args, "-o", out, "--force", "--json"], ranks=ranks)
        _once[key] = r, (json.loads(r.stdout) if r.returncode == 0 else None), out
    return _once[key]


def rel(s, ref):
    """the worst relative error of each value (S spans 3 orders: 1e-13 of sigma_1, the bound of
    test_cli's exact rank 5, is 1e-10 of sigma_r)"""
    s = np.asarray(s, dtype=np.float64)
    return float(np.max(np.abs(s - ref[:len(s)]) / np.abs(ref[:len(s)])))


def scaled(scale):
    return scale != 1.0  # 1e-170 .. 1e80 lie beyond 2^-180 .. 2^242 at 300 x 120 too


def test_planted_spectrum_at_every_magnitude():
    passes = {}
    for scale in SCALES:
        a = BASE * scale
        spec = once(f"planted.{scale:g}.h5", a)
        ref = np.linalg.svd(a, compute_uv=False)
        check(f"x {scale:g}: LAPACK's singular values are the planted ones, representable",
              np.all(np.isfinite(ref)) and rel(ref[:r], BASE_S * scale) < 1e-12, ref[:3])
        for name, args in METHODS:
            tag = f"x {scale:g}, {name}"
            rr, js, _ = solve_once("svd", spec, *args)
            if not check(f"{tag}: exit 0", rr.returncode == 0, rr.stderr):
                continue
            e = rel(js["singular_values"][:r], ref)
            check(f"{tag}: S to 1e-10 relative of LAPACK's", len(js["singular_values"]) >= r and e < 1e-10,
                  f"{e} {js['singular_values'][:3]} vs {ref[:3]}")
            passes[scale, name] = js["passes"]
    for (scale, name), p in passes.items():
        if scale == 1.0 or (1.0, name) not in passes:
            continue
        want = passes[1.0, name] + (1 if name in MULTI_PASS and scaled(scale) else 0)
        check(f"x {scale:g}, {name}: {want} passes (one more for a repeated first pass)", p == want, f"{p} vs {want}")


def test_in_range_data_is_sketched_as_it_is():
    """2^k A for max |a| from 2^-150 to 2^200 (inside 2^-180 .. 2^242 at 300 x 120): no pass
    more, and (floating point being homogeneous) S = 2^k S(A) exactly, U and V bit for bit"""
    a = unit_max(BASE + 1e-6 * rng.standard_normal((m, n)))  # full rank: no extra pass B = Q^T A
    for name, args, want in [("subspace", ["-k", r], 2), ("-q 0", ["-k", r, "-q", 0], 1),
                             ("--passes 1", ["-k", r, "--passes", 1], 1), ("pca", ["-k", r], 2)]:
        cmd = "pca" if name == "pca" else "svd"
        rr, js, out = solve(cmd, write("in.h5", a), *args)
        if not check(f"{name}, A: exit 0, {want} passes", rr.returncode == 0 and js["passes"] == want,
                     rr.stderr or js["passes"]):
            continue
        u0, s0, v0, _ = load(out)
        for k in [-150, 200]:
            rr, js, out = solve(cmd, write("in.h5", np.ldexp(a, k)), *args)
            if check(f"{name}, 2^{k} A: exit 0, {want} passes", rr.returncode == 0 and js["passes"] == want,
                     rr.stderr or js["passes"]):
                u, s, v, _ = load(out)
                check(f"{name}, 2^{k} A: S = 2^{k} S(A) exactly, U and V bit for bit",
                      np.array_equal(s, np.ldexp(s0, k)) and np.array_equal(u, u0) and np.array_equal(v, v0),
                      f"{s[:2]} vs {np.ldexp(s0[:2], k)}")


def test_power_of_two_multiples_exact():
    """2^-900 A and 2^900 A are sketched as A itself: S exactly 2^+-900 S(A), U and V bit for
    bit, one pass more for the multi-pass methods; at 2 ranks as at 1, where these are the
    ends of the range for every method: S (eig's eigenvalues) to 1e-10 of LAPACK's too"""
    refs = {"svd": np.linalg.svd(BASE, compute_uv=False), "eig": np.sort(np.linalg.eigvalsh(PSD))[::-1]}
    cases = [("svd", BASE, m1) for m1 in METHODS] + [("eig", PSD, ("nystrom", ["-k", r])),
                                                   ("eig", PSD, ("revd", ["-k", r, "--method", "revd"]))]
    for cmd, a, (name, args) in cases:
        # A: the planted spectrum's unscaled input (its 1-rank runs are that test's)
        spec = once("planted.1.h5", BASE) if cmd == "svd" else once("p2.eig.0.h5", a)
        for ranks in [None, 2]:
            rr, js0, out = solve_once(cmd, spec, *args, ranks=ranks)
            if not check(f"{cmd} {name}, {ranks or 1} rank(s), A: exit 0", rr.returncode == 0, rr.stderr):
                continue
            u0, s0, v0, _ = load(out)
            for e in [-900, 900]:
                tag = f"{cmd} {name}, {ranks or 1} rank(s), 2^{e} A"
                rr, js, out = solve_once(cmd, once(f"p2.{cmd}.{e}.h5", np.ldexp(a, e)), *args, ranks=ranks)
                if not check(f"{tag}: exit 0", rr.returncode == 0, rr.stderr):
                    continue
                u, s, v, _ = load(out)
                check(f"{tag}: S = 2^{e} S(A) exactly", s.shape == s0.shape and np.array_equal(s, np.ldexp(s0, e)),
                      f"{s[:3]} vs {np.ldexp(s0[:3], e)}")
                check(f"{tag}: U and V bit for bit those of A", u.shape == u0.shape and np.array_equal(u, u0)
                      and np.array_equal(v, v0), f"{np.max(np.abs(u - u0)) if u.shape == u0.shape else u.shape}")
                ref = np.ldexp(refs[cmd], e)
                if cmd == "eig":  # test_eig's measure
                    err, what = float(np.max(np.abs(s[:r] - ref[:r])) / ref[0]), "eigenvalues to 1e-10 of LAPACK's largest"
                else:
                    err, what = rel(s[:r], ref), "S to 1e-10 relative of LAPACK's"
                check(f"{tag}: {what}", len(s) >= r and err < 1e-10, f"{err} {s[:3]} vs {ref[:3]}")
                if cmd == "svd":
                    want = js0["passes"] + (1 if name in MULTI_PASS else 0)
                    check(f"{tag}: {want} passes (one more for a repeated first pass)", js["passes"] == want,
                          f"{js['passes']} vs {want}")


def test_pca():
    """the means, scales, singular values and variances of c A are c, c, c and c^2 times A's
    (exactly for a power of two c); a zero-variance column keeps scale 1.  (Only for c a power
    of two: a constant column of other values leaves a variance residue of eps sqrt(m) |mu| in
    sum a^2 - m mu^2, far above the 1e-12 |mu| that marks zero variance, at any magnitude.)"""
    x = BASE + np.linspace(-0.5, 0.5, n)  # column means to subtract
    for extra in [[], ["--scale"]]:
        for constant in [True, False]:
            y = x.copy()
            if constant:
                y[:, 7] = 0.375  # zero variance: left unscaled by --scale
            y = unit_max(y)
            rr, js, out = solve("pca", write("pca.h5", y), "-k", r, *extra)
            if not check(f"pca {' '.join(extra)}: unscaled run exits 0", rr.returncode == 0, rr.stderr):
                continue
            passes = js["passes"]
            with h5py.File(out, "r") as f:
                ref = {k: f[k][:] for k in f if isinstance(f[k], h5py.Dataset)}
            for c in [2.0 ** -450, 2.0 ** 450] if constant else [1e-150, 1e150]:
                tag = f"pca {' '.join(extra)} x {c:g}"
                rr, js, out = solve("pca", write("pca.h5", y * c), "-k", r, *extra)
                if not check(f"{tag}: exit 0", rr.returncode == 0, rr.stderr):
                    continue
                with h5py.File(out, "r") as f:
                    got = {k: f[k][:] for k in f if isinstance(f[k], h5py.Dataset)}
                power = {"mean": 1, "singular_values": 0 if extra else 1, "explained_variance": 0 if extra else 2,
                         "explained_variance_ratio": 0, "components": 0}
                if extra:
                    power["scale"] = 1
                for key, p in power.items():
                    want = ref[key] * c ** p
                    if key == "scale" and constant:
                        want[7] = 1.0  # at any magnitude
                    err = np.max(np.abs(got[key] - want)) / np.max(np.abs(want))
                    check(f"{tag}: {key} = c^{p} times A's {'exactly' if constant else 'to 1e-10 of its largest'}",
                          np.array_equal(got[key], want) if constant else err < 1e-10, err)
                check(f"{tag}: one pass more, to repeat the first on 2^e A", js["passes"] == passes + 1,
                      f"{js['passes']} vs {passes}")


def test_eig():
    """eigenvalues to 1e-10 of the largest (test_toolbox's measure: atol 1e-10 on 5 .. 1)"""
    ref = np.sort(np.linalg.eigvalsh(PSD))[::-1]
    for scale in [1e-310, 1e-170, 1e150, 1e300, 1e307]:
        spec = write(f"psd.{scale:g}.h5", PSD * scale)
        for method in ["nystrom", "revd"]:
            tag = f"eig {method} x {scale:g}"
            rr, js, out = solve("eig", spec, "-k", r, "--method", method)
            if check(f"{tag}: exit 0", rr.returncode == 0, rr.stderr):
                lam = load(out)[1]
                e = float(np.max(np.abs(lam - ref[:r] * scale)) / (ref[0] * scale))
                check(f"{tag}: eigenvalues to 1e-10 of LAPACK's largest", e < 1e-10, f"{e} {lam[:3]}")


def test_float32():
    """float32 data near both ends of float32's range, 1e-40 stored as denormals: its products
    are scaled in float32"""
    for scale in [1e-40, 1e-20, 1e37]:
        a = (BASE * scale).astype(np.float32)
        spec = write(f"f32.{scale:g}.h5", a)
        ref = np.linalg.svd(a.astype(np.float64), compute_uv=False)
        for name, args in METHODS:
            if scale == 1e-40 and name == "-q 0":
                # denormal storage keeps 1e-5 of max|a|: a tail that leaves R's condition (1e5)
                # below --rcond-min's 1e6, so B = H R^-1 multiplies float32 rounding by 1e5 (as
                # for any float32 matrix with such a tail; not a matter of its range)
                continue
            # --tol: E = ||A||^2 - sum ||B_i||^2 of float32 products holds ~1e-7, so tol ~3e-4 (test_io: 1e-3)
            args = [str(v).replace("1e-6", "1e-3") for v in args]
            tag = f"float32 x {scale:g}, {name}"
            rr, js, _ = solve("svd", spec, *args)
            if check(f"{tag}: exit 0", rr.returncode == 0, rr.stderr):
                s = np.asarray(js["singular_values"][:r])
                e = float(np.max(np.abs(s - ref[:len(s)])) / ref[0])  # test_io's float32 measure
                check(f"{tag}: multiplied in float32, S to 1e-5 of LAPACK on the float32 data",
                      js["precision"] == "float32" and e < 1e-5, f"{e} {s[:3]} vs {ref[:3]}")


def test_float64_in_single_precision():
    """--precision single on float64 data beyond float32's range (1e-50 .. 1e300): each panel is
    narrowed to float32 by a power of two, so S, PCA's singular values and eig's eigenvalues
    come to float32's accuracy (1e-5 of the largest) by svd, the single pass, pca and eig on 1
    rank, svd on 2 ranks and on a 2-D grid, and through a source read a row at a time (pca
    --log1p), where the float32 conversion gave 0 or a false Inf"""
    x = BASE + np.linspace(-0.5, 0.5, n)
    refs = {"svd": np.linalg.svd(BASE, compute_uv=False), "pca": np.linalg.svd(x - x.mean(0), compute_uv=False),
            "eig": np.sort(np.linalg.eigvalsh(PSD))[::-1]}
    runs = [("svd", ["-k", r]), ("svd", ["-k", r, "--passes", 1]), ("pca", ["-k", r]), ("eig", ["-k", r])]
    for scale in [1e-50, 1e50, 1e-300, 1e300]:
        specs = {"svd": write("single.svd.h5", BASE * scale), "pca": write("single.pca.h5", x * scale),
                 "eig": write("single.eig.h5", PSD * scale)}
        # every method on 1 rank; svd on 2 ranks as well, by rows and on a 1 x 2 grid, at the two
        # ends of the range (fewer launches: the suite's time)
        two = [(runs[0], 2, None), (runs[0], 2, "1x2")] if scale in (1e-300, 1e300) else []
        for (cmd, args), ranks, grid in [(c, None, None) for c in runs] + two:
            tag = f"{cmd} {' '.join(map(str, args[2:]))} x {scale:g} in single precision, {ranks or 1} rank(s)"
            tag += f", grid {grid}" if grid else ""
            rr, js, out = solve(cmd, specs[cmd], *args, "--precision", "single", *(["--grid", grid] if grid else []),
                                ranks=ranks)
            if check(f"{tag}: exit 0", rr.returncode == 0, rr.stderr):
                got = load(out)[1] if cmd == "eig" else np.asarray(js["singular_values"][:r])
                e = float(np.max(np.abs(got - refs[cmd][:r] * scale)) / (refs[cmd][0] * scale))
                check(f"{tag}: multiplied in float32, values to 1e-5 of LAPACK's largest",
                      js["precision"] == "float32" and e < 1e-5, f"{e} {got[:3]}")
        if scale < 1:  # a source read a row at a time (log1p's), narrowed as its rows come
            y = np.log1p(x * scale)
            ref = np.linalg.svd(y - y.mean(0), compute_uv=False)
            rr, js, _ = solve("pca", specs["pca"], "-k", r, "--log1p", "--precision", "single")
            tag = f"pca --log1p x {scale:g} in single precision"
            if check(f"{tag}: exit 0", rr.returncode == 0, rr.stderr):
                e = float(np.max(np.abs(np.asarray(js["singular_values"][:r]) - ref[:r])) / ref[0])
                check(f"{tag}: values to 1e-5 of LAPACK's largest", e < 1e-5, e)


def test_float64_in_range_single_is_float32():
    """float64 data inside float32's range, multiplied in single precision, gives S, U and V bit
    for bit as the same data stored as float32 (the float64 panel is rounded as HDF5 rounds)"""
    outs = []
    for name, a in [("f64", BASE), ("f32", BASE.astype(np.float32))]:
        rr, js, out = solve("svd", write(f"inrange.{name}.h5", a), "-k", r, "--precision", "single")
        if not check(f"{name}: exit 0", rr.returncode == 0, rr.stderr):
            return
        outs.append(load(out)[:3])
    check("float64 in single precision = float32 data, bit for bit",
          all(np.array_equal(u, v) for u, v in zip(*outs)))


def mixed(order):
    """rows of 1e-300 B1 and of 1e307 B2 (B2 of exact rank r): S is 1e307 S(B2) to 1e-607.  At
    1e307 a sketch overflows unless the exponent moves as the first huge panel arrives: the
    core Z = Phi (A Psi^T) sums 2400 rows of A Psi^T ~ 1e307"""
    half = m * 4
    tiny = 1e-300 * rng.standard_normal((half, n))
    huge = 1e307 * (orthonormal(half, r) * SIGMA) @ orthonormal(n, r).T
    if order == "tiny first":
        return np.vstack([tiny, huge])
    if order == "huge first":
        return np.vstack([huge, tiny])
    a = np.empty((2 * half, n))
    a[0::2], a[1::2] = tiny, huge  # every panel mixes them
    return a


def test_mixed_tiny_and_huge_rows():
    """at 2 ranks with tiny rows first, rank 0 holds only tiny rows: the ranks' running exponents
    differ until the end of the single pass; the reader thread scans the panels, or without it
    the main thread, or the products read a mapping of the file in place"""
    runs = [(order, name, args, []) for order in ["tiny first", "huge first", "interleaved"]
            for name, args in METHODS[:4]]
    runs += [("tiny first", name, args, extra) for name, args in [METHODS[0], METHODS[2]]
             for extra in [["--no-prefetch"], ["--read", "posix"]]]
    specs = {}
    for order, name, args, extra in runs:
        if order not in specs:
            a = mixed(order)
            specs[order] = write(f"mixed.{order.replace(' ', '_')}.h5", a), np.linalg.svd(a, compute_uv=False)
        spec, ref = specs[order]
        # interleaved, both ranks meet both kinds of rows in their first panel: at 1 rank
        for ranks in [None, 2] if order != "interleaved" else [None]:
            tag = f"{order}, {name} {' '.join(extra)}, {ranks or 1} rank(s)"
            # 21-row panels: a rank's exponent moves at its first huge panel
            rr, js, _ = solve("svd", spec, *args, "--memory", "40K", "--grid", f"{ranks or 1}x1", *extra, ranks=ranks)
            if check(f"{tag}: exit 0", rr.returncode == 0, rr.stderr):
                e = rel(js["singular_values"][:r], ref)
                check(f"{tag}: S to 1e-10 relative of LAPACK's", e < 1e-10, f"{e} {js['singular_values'][:3]}")
                if "--read" in extra:
                    check(f"{tag}: the panels are a mapping of the file", js["read_path"] == "mmap", js["read_path"])


def test_sparse_csr():
    """a CSR source scales its values as it reads them: svd, the single pass (both maps),
    --tol and a PCA centred without densifying, at 1e-300, 1 and 1e300"""
    import scipy.sparse as sp
    # exact rank r and sparse, as test_sparse.py: S1 diag(sigma) S2^T of sparse S1, S2
    x = (sp.random(m, r, density=0.3, random_state=1) @ sp.diags(SIGMA) @ sp.random(n, r, density=0.4, random_state=2).T)
    x = sp.csr_matrix(x)
    x.sort_indices()
    for scale in [1e-300, 1.0, 1e300]:
        with h5py.File(path("csr.h5"), "w") as f:
            g = f.create_group("M")
            g.attrs["h5sparse_format"] = "csr"
            g.attrs["h5sparse_shape"] = np.array([m, n])
            g["data"], g["indices"], g["indptr"] = x.data * scale, x.indices.astype(np.int64), x.indptr.astype(np.int64)
        spec = f"{path('csr.h5')}:/M"
        dense = x.toarray() * scale
        ref = np.linalg.svd(dense, compute_uv=False)
        centred = np.linalg.svd(dense - dense.mean(0), compute_uv=False)
        for name, args in METHODS[:5] + [("pca", ["-k", r])]:
            for ranks in [None, 2] if scale == 1e300 else [None]:
                tag = f"CSR x {scale:g}, {name}, {ranks or 1} rank(s)"
                rr, js, out = solve("pca" if name == "pca" else "svd", spec, *args, ranks=ranks)
                if check(f"{tag}: exit 0", rr.returncode == 0, rr.stderr):
                    want = centred if name == "pca" else ref
                    e = rel(js["singular_values"][:r], want)
                    check(f"{tag}: S to 1e-10 relative of LAPACK's", e < 1e-10, f"{e} {js['singular_values'][:3]} vs {want[:3]}")


def test_grid_2d():
    """a 2-D grid measures each column block in the first pass; the ranks agree on one exponent"""
    for scale in [1e-300, 1e300]:
        a = BASE * scale
        spec = write("grid.h5", a)
        ref = np.linalg.svd(a, compute_uv=False)
        for grid, ranks in [("1x2", 2), ("2x2", 4)]:
            tag = f"x {scale:g}, --grid {grid}"
            rr, js, _ = solve("svd", spec, "-k", r, "--grid", grid, ranks=ranks)
            if check(f"{tag}: exit 0", rr.returncode == 0, rr.stderr):
                e = rel(js["singular_values"][:r], ref)
                # 4 passes: q + 1, B = Q^T A (R is singular at exact rank r), the repeated first
                check(f"{tag}: S to 1e-10 relative of LAPACK's on that grid, the first pass repeated",
                      e < 1e-10 and f"{js['grid']['rows']}x{js['grid']['cols']}" == grid and js["passes"] == 4,
                      f"{e} {js['grid']} {js['passes']}")


def test_checkpoint_resumes_the_scale():
    for ranks in [1, 2]:
        # stops (in steps of a pass): subspace in the first attempt, the repeated first pass
        # and the second pass; after the huge rows in the first attempt (the resumed attempt
        # reads only tiny ones on 1 rank); mid single pass, before and after the exponent moves
        for case, (name, spec, args, stops) in enumerate([
                ("subspace, x 1e300", write("ck300.h5", BASE * 1e300), ["-k", r, "-q", 1], [0.5, 1.5, 2.2]),
                ("subspace, huge rows first", write("ckhuge.h5", mixed("huge first")), ["-k", r, "-q", 1], [0.75]),
                ("--passes 1, tiny rows first", write("ckmix.h5", mixed("tiny first")), ["-k", r, "--passes", 1],
                 [0.5, 0.98])]):
            rows = harness.matrix(spec)[0].shape[0]
            steps, _ = panel_steps(rows, n, 40 << 10, ranks)
            base = ["svd", spec, *args, "--memory", "40K", "--quiet"]
            ref = path(f"ck.ref.{ranks}.{case}.h5")
            rr = run(base + ["-o", ref], ranks=ranks if ranks > 1 else None)
            if not check(f"{name}, {ranks} rank(s): uninterrupted run exits 0", rr.returncode == 0, rr.stderr):
                continue
            for step in [int(f * steps) for f in stops]:
                tag = f"{name}, {ranks} rank(s), stopped at step {step}"
                out, ck = path("ck.out.h5"), path("ck.h5")
                if os.path.exists(ck):  # left by a failed resume: each case starts afresh
                    os.unlink(ck)
                rr = stop_at(step, base + ["-o", out, "--checkpoint", ck], ranks)
                if not check(f"{tag}: exit 99", rr.returncode == 99, f"{rr.returncode} {rr.stderr}"):
                    continue
                rr = run(base + ["-o", out, "--checkpoint", ck], ranks=ranks if ranks > 1 else None)
                if check(f"{tag}: resumed, exit 0", rr.returncode == 0, rr.stderr):
                    x, y = load(out), load(ref)
                    d = max(float(np.max(np.abs(x[i] - y[i]) / (np.abs(y[1]).max() if i == 1 else 1.0)))
                            for i in range(3))
                    check(f"{tag}: the uninterrupted result to 1e-12, {y[3]['passes']} passes",
                          d < 1e-12 and x[3]["passes"] == y[3]["passes"], f"{d} {x[3]['passes']} {y[3]['passes']}")
                if os.path.exists(out):
                    os.unlink(out)


def test_singular_value_beyond_double():
    spec = write("over.h5", np.full((200, 100), 1e308))  # sigma_1 = 1e308 sqrt(2e4)
    for name, args in [("subspace", ["-k", 2]), ("--passes 1", ["-k", 2, "--passes", 1])]:
        rr = run(["svd", spec, *args, "-o", path("over.out.h5"), "--force"])
        check(f"sigma_1 = 1.4e310, {name}: exit 4 naming the value and the input",
              rr.returncode == 4 and "singular value 1 of" in rr.stderr and "beyond the largest double" in rr.stderr
              and not os.path.exists(path("over.out.h5")), f"{rr.returncode} {rr.stderr}")


harness.main(globals())
