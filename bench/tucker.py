#!/usr/bin/python3
"""Tucker against flattening, at equal storage (issue 18).

A synthetic daily climate field time x lat x lon (a seasonal cycle on smooth patterns, a
travelling wave whose phase follows latitude, and 1% noise) is decomposed by `prsvd tucker`
(two passes at the default -p auto and -q 0, by route z and, with --memory 1M, by the sketched
core; two passes with -q 1; and one pass) at ranks r x r x r, and, flattened to the time x (lat lon)
matrix, by `prsvd svd` at the largest rank k whose U, S, V take no more numbers than the
Tucker core and factors.  Errors are ||A - approximation||_F / ||A||_F measured with numpy on
the dense field, beside numpy's truncated HOSVD at the same ranks and the optimal rank-k SVD
of the flattened matrix; last, the rank and storage the flattened SVD needs to reach the
default two-pass Tucker error.  A second table measures the two-pass error against the width of
the sketches (-p: l = r + p, at -q 0, seeds 0..2, error over numpy's HOSVD at the same ranks) on
the same field and on a tensor with a slowly decaying spectrum: the measurement behind the
default -p auto (route z: mode 1's width alone, 3r + 10; route core: 2r + 10 every mode).  Prints Markdown tables and replaces their sections of bench/RESULTS.md
(tucker, tucker-width).  About three minutes on 2 cores; --quick, ranks 4 and 8 only.

    bench/bench.py tucker [--quick]      (PRSVD: the program, default ./prsvd)
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
import common  # noqa: E402

PRSVD, ENV = common.PRSVD, common.ACCURACY_ENV
T, Y, X = 365, 60, 120
RANKS = [4, 8] if "--quick" in sys.argv else [4, 8, 12, 16, 24]
SECTION = "## Tucker against flattening at equal storage (bench/tucker.py)"
SWEEP = "## Tucker: the width of the two-pass sketches (bench/tucker.py)"
WIDTHS = [("r + 5", lambda r: 5), ("r + 10", lambda r: 10), ("2r", lambda r: r), ("2r + 10", lambda r: r + 10),
          ("3r + 10", lambda r: 2 * r + 10)]  # the sketch width l as the oversampling p = l - r


def field(seed=0):
    t = np.arange(T)[:, None, None] / 365.0
    lat = np.linspace(-np.pi / 2, np.pi / 2, Y)[None, :, None]
    lon = np.linspace(0, 2 * np.pi, X, endpoint=False)[None, None, :]
    a = 15 * np.cos(lat) ** 2 - 5                                     # climatology
    a = a + 10 * np.sin(lat) * np.cos(2 * np.pi * t) * (1 + 0.3 * np.cos(lon))  # seasons, land/sea
    a = a + 3 * np.exp(-((lat - 0.5) ** 2) * 8) * np.cos(3 * lon - 2 * np.pi * 20 * t + 2 * lat)  # a wave
    a = a + 2 * np.cos(lat) * np.sin(2 * lon + 0.5) * np.cos(2 * np.pi * 3 * t)
    rng = np.random.default_rng(seed)
    a = a + 0.01 * np.linalg.norm(a) / np.sqrt(a.size) * rng.standard_normal(a.shape)
    return np.ascontiguousarray(a)


def mode_product(x, u, n):
    return np.moveaxis(np.tensordot(u, np.moveaxis(x, n, 0), axes=(1, 0)), 0, n)


def unfold(x, n):
    return np.moveaxis(x, n, 0).reshape(x.shape[n], -1)


def hosvd_error(a, r):
    us = [np.linalg.svd(unfold(a, n), full_matrices=False)[0][:, :r] for n in range(a.ndim)]
    g = a
    for n, u in enumerate(us):
        g = mode_product(g, u.T, n)
    for n, u in enumerate(us):
        g = mode_product(g, u, n)
    return np.linalg.norm(a - g) / np.linalg.norm(a)


def run(args):
    r = subprocess.run(["mpirun", "-n", "2", PRSVD, *args, "--force", "--quiet"], env=ENV, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"prsvd {' '.join(args)} failed: {r.stderr}")


def tucker_error(a, spec, r, out, *extra):
    run(["tucker", spec, "--ranks", f"{r},{r},{r}", "-o", out, "--no-verify-pass", *extra])
    with h5py.File(out, "r") as f:
        g = f["G"][...]
        for n in range(3):
            g = mode_product(g, f[f"U{n + 1}"][...], n)
    return np.linalg.norm(a - g) / np.linalg.norm(a)


def slow_decay(dims=(60, 50, 40), seed=3):
    """A tensor whose core entries fall as 1 / (i j k) (1-based), in random orthonormal bases."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(dims) / np.prod(np.meshgrid(*[np.arange(1.0, d + 1) for d in dims], indexing="ij"), axis=0)
    for n, d in enumerate(dims):
        a = mode_product(a, np.linalg.qr(rng.standard_normal((d, d)))[0], n)
    return np.ascontiguousarray(a)


def sweep(work, fspec, a):
    """The two-pass error at -q 0 over numpy's HOSVD's, mean and largest over seeds 0..2, for each
    sketch width of WIDTHS."""
    slow = slow_decay()
    sspec = os.path.join(work, "slow.h5") + ":/A"
    with h5py.File(sspec.split(":")[0], "w") as f:
        f["A"] = slow
    out = os.path.join(work, "sweep.h5")
    lines = [SWEEP, "",
             "The two-pass method (`-q 0`, route z: the width is mode 1's, modes 2 and 3 exact) against numpy's "
             "truncated HOSVD at the same ranks r x r x r, as the "
             "sketch widens from the old default r + 5 to 3r + 10 (`-p` = l - r): mean and largest ratio over "
             "`--seed` 0, 1, 2.  The climate field of the section above (1% noise) and a 60 x 50 x 40 tensor whose "
             "core entries fall as 1/(i j k) in random orthonormal bases (a slowly decaying spectrum); 2 ranks.", "",
             "| tensor | r | HOSVD error | " + " | ".join(f"l = {w}" for w, _ in WIDTHS) + " |",
             "|---|---|---|" + "---|" * len(WIDTHS)]
    for name, x, spec, r in (("climate field", a, fspec, 4), ("climate field", a, fspec, 8),
                             ("climate field", a, fspec, 16), ("slow decay", slow, sspec, 6)):
        eh = hosvd_error(x, r)
        cells = []
        for _, p in WIDTHS:
            ratios = [tucker_error(x, spec, r, out, "-p", str(p(r)), "--seed", str(seed)) / eh for seed in range(3)]
            cells.append(f"{np.mean(ratios):.3f} ({max(ratios):.3f})")
        lines.append(f"| {name} | {r} | {eh:.4f} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    return lines


def svd_error(m, spec, k, out):
    if k < 1:
        return 1.0
    run(["svd", spec, "-k", str(k), "-q", "1", "-o", out])
    with h5py.File(out, "r") as f:
        approx = (f["U"][...] * f["S"][...]) @ f["V"][...].T
    return np.linalg.norm(m - approx) / np.linalg.norm(m)


def main():
    work = tempfile.mkdtemp(prefix="tucker_bench.")
    a = field()
    m = a.reshape(T, Y * X)
    tspec, mspec = os.path.join(work, "field.h5") + ":/t2m", os.path.join(work, "flat.h5") + ":/A"
    with h5py.File(tspec.split(":")[0], "w") as f:
        f["t2m"] = a
    with h5py.File(mspec.split(":")[0], "w") as f:
        f["A"] = m
    s = np.linalg.svd(m, compute_uv=False)
    tail = np.sqrt(np.maximum(np.sum(s ** 2) - np.cumsum(s ** 2), 0)) / np.linalg.norm(m)  # tail[k-1]: rank k
    out = os.path.join(work, "out.h5")
    lines = [SECTION, "",
             f"A synthetic daily field time x lat x lon = {T} x {Y} x {X} ({a.size} values): a climatology, a seasonal "
             "cycle modulated by longitude, a travelling wave whose phase follows latitude, a 3-cycle-a-year pattern, "
             "and 1% Gaussian noise (`bench/tucker.py`, 2 ranks).  Tucker at ranks r x r x r stores r^3 + r (T + Y + "
             "X) numbers; the flattened time x (lat lon) matrix's rank-k SVD stores k (T + Y X + 1), and k is the "
             "largest within the Tucker storage.  Errors are ||A - approx||_F / ||A||_F with numpy.  The last two "
             "columns: the rank the flattened SVD (optimal, numpy) needs to reach the default two-pass Tucker error, "
             "and its storage relative to Tucker's.", "",
             "| r | Tucker storage | compression | tucker 2-pass default | ÷ HOSVD | route core ÷ HOSVD | tucker 2-pass q=1 | "
             "tucker 1-pass | numpy HOSVD | svd rank k at equal storage | prsvd svd error | optimal rank-k | SVD rank for "
             "the Tucker error | its storage / Tucker's |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in RANKS:
        store = r ** 3 + r * (T + Y + X)
        k = store // (T + Y * X + 1)
        e2 = tucker_error(a, tspec, r, out)
        ec = tucker_error(a, tspec, r, out, "--memory", "1M")  # Z (>= 1 MiB) beyond it: the sketched core
        e2q = tucker_error(a, tspec, r, out, "-q", "1")
        e1 = tucker_error(a, tspec, r, out, "--passes", "1")
        eh = hosvd_error(a, r)
        es = svd_error(m, mspec, k, out)
        opt = tail[k - 1] if k >= 1 else 1.0
        need = int(np.argmax(tail <= e2)) + 1 if np.any(tail <= e2) else len(s)
        ratio = need * (T + Y * X + 1) / store
        lines.append(f"| {r} | {store} | {a.size / store:.0f}x | {e2:.4f} | {e2 / eh:.3f} | {ec / eh:.3f} | {e2q:.4f} | {e1:.4f} | "
                     f"{eh:.4f} | {k} | {es:.4f} | "
                     f"{opt:.4f} | {need} | {ratio:.1f}x |")
        print(lines[-1], flush=True)
    # the reading of the run recorded in bench/RESULTS.md (check it against a new run's table)
    lines += ["", "At equal storage the flattened SVD keeps at most 3 components (none at r = 4 and 8), and matching "
              "the default Tucker error takes 1.4 to 13.5 times Tucker's storage: the field is smooth in each of its "
              "dimensions, which Tucker exploits in every mode and flattening only in time.  From r = 8 on numpy's "
              "HOSVD and two passes with one power iteration sit at the 1% noise floor (the field's multilinear rank "
              "is about 8), so the larger r only cost storage.  The default two passes (-p auto: mode 1 sketched "
              "3r + 10 wide, no power iteration) take route z: Z = A x_1 Q1^T whole, modes 2 and 3 exact from it. They "
              "are below HOSVD at r = 4 (ST-HOSVD of the larger Z) and within 1.1x at every r (1.09x at r = 8), "
              "where the sketched core of every mode (route core, the default before route z; what a Z beyond "
              "--memory gets) is 1.13x to 1.32x at r = 8 to 16: there the ranks reach into the noise, whose flat "
              "spectrum each sketched mode captures only in part, and the parts compound over the modes.  Route z "
              "leaves mode 1's part (the next section: at 2r + 10 it was 1.135x at r = 8), and -q 1, one more "
              "pass, matches HOSVD.  One pass (Sun et al.'s sketch, k = 2r + 1, "
              "s = 2k + 1) is within 2.1x of HOSVD.", ""]
    text = "\n".join(lines)
    print(text)
    sweep_text = "\n".join(sweep(work, tspec, a) + [
        "", "The default (`-p auto`) on route z is mode 1 3r + 10 wide: 2r + 10 left 1.125x to 1.135x at r = 8 "
        "on the climate field, 3r + 10 reaches 1.09x, for half again the mode-1 sketch and Z (the pass over A "
        "still costs less than the sketched core's, which sketched every mode 2r + 10 wide).  With every mode "
        "sketched (route core, where Z does not fit --memory) the default stays 2r + 10: the same widths gave "
        "1.28x (1.32x) at r = 8, 1.13x at r = 16 and 1.03x on the slow decay, and 3r + 10 still left 1.19x at "
        "r = 8; a rank into the noise there wants `-q 1`.", ""])
    print(sweep_text)
    common.write_section("tucker", text)
    common.write_section("tucker-width", sweep_text)


if __name__ == "__main__":
    main()
