#!/usr/bin/python3
"""The reference singular values of a sparse AnnData-style CSR group, centred and not, from
ARPACK (scipy.sparse.linalg.svds, tol 1e-8 on the eigenvalues of the normal operator): the
centred matrix A - 1 mu^T is applied as a LinearOperator (A x - 1 (mu^T x), A^T y - mu (1^T y)),
never formed.

usage: svds_reference.py FILE.h5:/GROUP K [--tol T]
Prints one JSON line: the top K singular values of A - 1 mu^T and of A, the operator
applications and the seconds each took.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.sparse.linalg import LinearOperator, svds  # noqa: E402


def top(op, k, tol):
    t0 = time.perf_counter()
    s = svds(op, k=k, tol=tol, return_singular_vectors=False, solver="arpack", random_state=0)
    return np.sort(s)[::-1].tolist(), time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("k", type=int)
    ap.add_argument("--tol", type=float, default=1e-8)
    args = ap.parse_args()
    a, t_load = common.load_csr(args.spec)
    at = a.T.tocsr()  # A^T y as a CSR product: scipy's transposed product is slower
    mu = np.asarray(a.mean(axis=0)).ravel()
    applied = {"centred": 0, "uncentred": 0}

    def operator(centre, key):
        def mv(x):
            applied[key] += 1
            x = np.asarray(x).ravel()
            return a @ x - (mu @ x if centre else 0.0)

        def rmv(y):
            applied[key] += 1
            y = np.asarray(y).ravel()
            return at @ y - (mu * y.sum() if centre else 0.0)
        return LinearOperator(a.shape, matvec=mv, rmatvec=rmv, dtype=np.float64)

    centred, t_c = top(operator(True, "centred"), args.k, args.tol)
    uncentred, t_u = top(operator(False, "uncentred"), args.k, args.tol)
    print(json.dumps({
        "method": "scipy svds (ARPACK)", "tol": args.tol, "load_seconds": t_load,
        "centred": centred, "centred_seconds": t_c, "centred_products": applied["centred"],
        "uncentred": uncentred, "uncentred_seconds": t_u, "uncentred_products": applied["uncentred"],
        "total_sum_squares_centred": float(a.multiply(a).sum() - a.shape[0] * mu @ mu),
        "scipy_version": scipy.__version__, "peak_rss_mib": common.peak_rss_mib(),
    }))


if __name__ == "__main__":
    main()
