#!/usr/bin/python3
"""Full (thin) SVD by LAPACK gesdd (scipy.linalg.svd, full_matrices=False) of an HDF5
dataset loaded whole with h5py, truncated to rank K afterwards.

usage: lapack_svd.py FILE.h5:/DATASET K
Prints one JSON line: load and compute times (s), peak RSS (MiB) after the compute,
||A - U_k S_k V_k^T||_F, the planted optimum ||A - A_k||_F and their ratio.
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
import scipy.linalg  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("k", type=int)
    ap.add_argument("--matrix", default=None, help="label of the matrix in the results table")
    ap.add_argument("--rep", type=int, default=1, help="repetition number, copied to the output")
    args = ap.parse_args()

    t_start = time.perf_counter()
    a, sv, t_load = common.load(args.spec)
    rss_load = common.peak_rss_mib()

    t0 = time.perf_counter()
    # a is kept (overwrite_a=False) for the residual check below; scipy hands gesdd a
    # Fortran-ordered copy of it.
    u, s, vt = scipy.linalg.svd(a, full_matrices=False, lapack_driver="gesdd",
                                overwrite_a=False, check_finite=False)
    t_compute = time.perf_counter() - t0
    rss = common.peak_rss_mib()
    t_total = time.perf_counter() - t_start

    k = args.k
    res = common.residual_fro(a, u[:, :k], s[:k], vt[:k])
    opt = common.optimal_residual(sv, k)
    blas = common.blas_info()
    print(json.dumps({
        "matrix": args.matrix or args.spec, "status": "ok", "rep": args.rep,
        "threads": common.threads_label(blas),
        "method": "LAPACK gesdd (full thin SVD)",
        "input": args.spec, "rows": a.shape[0], "cols": a.shape[1], "rank": k,
        "load_seconds": t_load, "compute_seconds": t_compute, "load_plus_compute_seconds": t_total,
        "peak_rss_mib_after_load": rss_load, "peak_rss_mib": rss,
        "residual_fro": res, "optimal_residual_fro": opt,
        "residual_over_optimal": None if not opt else res / opt,
        "tail_residual_from_s": float(np.sqrt(np.sum(s[k:] ** 2))),
        "scipy_version": scipy.__version__, "numpy_version": np.__version__,
        "blas": blas,
    }))


if __name__ == "__main__":
    main()
