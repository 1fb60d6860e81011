"""Checks on prsvd output files for tests/slurm/run.sh (Debian's /usr/bin/python3, h5py).

  h5check.py same OUT.h5 REF.h5 TOL       /S agree to TOL (max abs difference), /U and /V to
                                          1e3*TOL, and the shapes match
  h5check.py attr OUT.h5 NAME VALUE       root attribute NAME printed as str equals VALUE
  h5check.py contains OUT.h5 NAME TEXT    root attribute NAME contains TEXT
  h5check.py lowrank IN.h5 DS M N R       write an M x N float64 matrix of rank R with singular
                                          values 2^-j (j = 0 .. R-1) as IN.h5:/DS
  h5check.py numpy OUT.h5 IN.h5 DS TOL    /S equal numpy.linalg.svd's of IN.h5:/DS to TOL
                                          relative, /U and /V its singular vectors up to sign
                                          (1 - |u_j . u'_j| <= TOL), U S V^T in sqrt(TOL) of A

Prints one line saying what was compared; exit 0 if the check holds, 1 if not, 2 on error.
"""
import sys

import h5py
import numpy as np


def same(out, ref, tol):
    with h5py.File(out, "r") as f, h5py.File(ref, "r") as g:
        worst = []
        for name, t in (("S", tol), ("U", 1e3 * tol), ("V", 1e3 * tol)):
            a, b = f[name][...], g[name][...]
            if a.shape != b.shape:
                print(f"/{name}: shape {a.shape} != {b.shape}")
                return 1
            d = float(np.max(np.abs(a - b))) if a.size else 0.0
            worst.append(f"/{name} {d:.2e} (tol {t:.0e})")
            if not d <= t:
                print("differ: " + ", ".join(worst))
                return 1
        print("max |difference|: " + ", ".join(worst) + f"; S = {np.array2string(f['S'][...], precision=6)}")
        return 0


def lowrank(path, ds, m, n, r):
    rng = np.random.default_rng(7)
    u, _ = np.linalg.qr(rng.standard_normal((m, r)))
    v, _ = np.linalg.qr(rng.standard_normal((n, r)))
    a = (u * 2.0 ** -np.arange(r)) @ v.T
    with h5py.File(path, "w") as f:
        f.create_dataset(ds, data=a)
    print(f"wrote {path}:/{ds}: {m} x {n}, rank {r}")
    return 0


def against_numpy(out, path, ds, tol):
    with h5py.File(out, "r") as f, h5py.File(path, "r") as g:
        s, u, v, a = f["S"][...], f["U"][...], f["V"][...], g[ds][...]
    k = s.size
    un, sn, vnt = np.linalg.svd(a, full_matrices=False)
    ds_rel = float(np.max(np.abs(s - sn[:k]) / sn[:k]))
    du = float(np.max(1 - np.abs(np.sum(u * un[:, :k], axis=0))))
    dv = float(np.max(1 - np.abs(np.sum(v * vnt[:k].T, axis=0))))
    res = float(np.linalg.norm(a - (u * s) @ v.T) / np.linalg.norm(a - (un[:, :k] * sn[:k]) @ vnt[:k]))
    ok = ds_rel <= tol and du <= tol and dv <= tol
    print(f"against numpy.linalg.svd: S rel {ds_rel:.1e}, 1-|u.u'| {du:.1e}, 1-|v.v'| {dv:.1e} "
          f"(tol {tol:.0e}); ||A - USV^T|| / ||A - A_k|| = {res:.6f}; S = {np.array2string(s, precision=6)}")
    return 0 if ok and 0.999 <= res <= 1.001 else 1


def attr(out, name):
    with h5py.File(out, "r") as f:
        v = f.attrs[name]
        return v.decode() if isinstance(v, bytes) else str(v)


def main(argv):
    if len(argv) == 4 and argv[0] == "same":
        return same(argv[1], argv[2], float(argv[3]))
    if len(argv) == 4 and argv[0] in ("attr", "contains"):
        v = attr(argv[1], argv[2])
        print(f"{argv[2]} = {v!r}")
        return 0 if (v == argv[3] if argv[0] == "attr" else argv[3] in v) else 1
    if len(argv) == 6 and argv[0] == "lowrank":
        return lowrank(argv[1], argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    if len(argv) == 5 and argv[0] == "numpy":
        return against_numpy(argv[1], argv[2], argv[3], float(argv[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as e:  # a missing file or dataset is a failed check, with the reason
        print(f"h5check: {type(e).__name__}: {e}")
        sys.exit(2)
