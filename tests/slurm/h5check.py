"""Checks on prsvd output files for tests/slurm/run.sh (Debian's /usr/bin/python3, h5py).

  h5check.py same OUT.h5 REF.h5 TOL       /S agree to TOL (max abs difference), /U and /V to
                                          1e3*TOL, and the shapes match
  h5check.py attr OUT.h5 NAME VALUE       root attribute NAME printed as str equals VALUE
  h5check.py contains OUT.h5 NAME TEXT    root attribute NAME contains TEXT

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
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as e:  # a missing file or dataset is a failed check, with the reason
        print(f"h5check: {type(e).__name__}: {e}")
        sys.exit(2)
