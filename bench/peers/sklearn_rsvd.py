#!/usr/bin/python3
"""scikit-learn randomized_svd on an HDF5 dataset loaded whole with h5py.

usage: sklearn_rsvd.py FILE.h5:/DATASET K [--oversample P] [--iters Q] [--normalizer QR]
                       [--save OUT.h5]
Prints one JSON line: load and compute times (s), peak RSS (MiB) after the compute,
||A - U S V^T||_F, the planted optimum ||A - A_k||_F and their ratio.  --save writes U, S, V
as prsvd does, for `prsvd verify`.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.utils.extmath import randomized_svd  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("k", type=int)
    ap.add_argument("--matrix", default=None, help="label of the matrix in the results table")
    ap.add_argument("--rep", type=int, default=1, help="repetition number, copied to the output")
    ap.add_argument("--oversample", type=int, default=10)
    ap.add_argument("--iters", type=int, default=1)
    ap.add_argument("--normalizer", default="QR", choices=["QR", "LU", "none", "auto"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", help="OUT.h5 for U, S, V")
    args = ap.parse_args()

    t_start = time.perf_counter()
    a, sv, t_load = common.load(args.spec)
    rss_load = common.peak_rss_mib()

    t0 = time.perf_counter()
    u, s, vt = randomized_svd(a, args.k, n_oversamples=args.oversample, n_iter=args.iters,
                              power_iteration_normalizer=args.normalizer,
                              random_state=args.seed)
    t_compute = time.perf_counter() - t0
    rss = common.peak_rss_mib()  # before the residual check, which is not part of the method
    t_total = time.perf_counter() - t_start

    if args.save:
        common.save_usv(args.save, u, s, vt)
    res = common.residual_fro(a, u, s, vt)
    opt = common.optimal_residual(sv, args.k)
    blas = common.blas_info()
    print(json.dumps({
        "matrix": args.matrix or args.spec, "status": "ok", "rep": args.rep,
        "threads": common.threads_label(blas),
        "method": "sklearn randomized_svd",
        "input": args.spec, "rows": a.shape[0], "cols": a.shape[1], "rank": args.k,
        "oversample": args.oversample, "n_iter": args.iters,
        "passes": 2 * args.iters + 2,  # products with A or A^T: 2 per power iteration, range, B
        "power_iteration_normalizer": args.normalizer, "random_state": args.seed,
        "load_seconds": t_load, "compute_seconds": t_compute, "load_plus_compute_seconds": t_total,
        "peak_rss_mib_after_load": rss_load, "peak_rss_mib": rss,
        "residual_fro": res, "optimal_residual_fro": opt,
        "residual_over_optimal": None if not opt else res / opt,
        "sklearn_version": sklearn.__version__, "numpy_version": np.__version__,
        "blas": blas,
    }))


if __name__ == "__main__":
    main()
