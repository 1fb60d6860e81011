#!/usr/bin/python3
"""scikit-learn TruncatedSVD (randomized) on a sparse AnnData-style CSR group loaded whole
into a scipy CSR matrix (float64 values).  Uncentred: TruncatedSVD never centres, which is
why sparse users pick it.

usage: sklearn_tsvd.py FILE.h5:/GROUP K [--iters Q] [--oversample P] [--normalizer LU]
(LU by default: TruncatedSVD of scikit-learn 1.2.1 rejects 'QR', its validation lists 'OR')
Prints one JSON line: load and compute times (s), peak RSS (MiB) after the compute, and the
singular values.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import sklearn  # noqa: E402
from sklearn.decomposition import TruncatedSVD  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("k", type=int)
    ap.add_argument("--oversample", type=int, default=10)
    ap.add_argument("--iters", type=int, default=1)
    ap.add_argument("--normalizer", default="LU", choices=["LU", "none", "auto"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    a, t_load = common.load_csr(args.spec)
    rss_load = common.peak_rss_mib()
    t0 = time.perf_counter()
    t = TruncatedSVD(n_components=args.k, algorithm="randomized", n_iter=args.iters,
                     n_oversamples=args.oversample, power_iteration_normalizer=args.normalizer,
                     random_state=args.seed).fit(a)
    t_compute = time.perf_counter() - t0
    blas = common.blas_info()
    print(json.dumps({
        "method": "sklearn TruncatedSVD", "status": "ok", "threads": common.threads_label(blas),
        "rows": a.shape[0], "cols": a.shape[1], "nnz": int(a.nnz), "rank": args.k,
        "oversample": args.oversample, "n_iter": args.iters, "power_iteration_normalizer": args.normalizer,
        "load_seconds": t_load, "compute_seconds": t_compute,
        "peak_rss_mib_after_load": rss_load, "peak_rss_mib": common.peak_rss_mib(),
        "singular_values": t.singular_values_.tolist(), "sklearn_version": sklearn.__version__,
    }))


if __name__ == "__main__":
    main()
