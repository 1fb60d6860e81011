#!/usr/bin/python3
"""dask.array.linalg.svd_compressed on an HDF5 dataset read through h5py, out of core.

usage: dask_svd.py FILE.h5:/DATASET K --oversample P --iters Q --chunk-rows R --save OUT.h5
                   [--workers W] [--hold]

The dataset is wrapped with da.from_array in row panels of R rows (all columns), with
h5py's lock, and decomposed by svd_compressed(k=K, n_oversamples=P, n_power_iter=Q,
seed=0) on the threaded scheduler with W workers (default 2).  By default compute=True,
dask's setting for data larger than memory: the sketches are persisted between passes
and A is re-read for each product (2 Q + 2 reads); --hold keeps compute=False, one graph
in which dask may hold A's panels in memory between products.
Prints one JSON line: compute time (graph build, reads and arithmetic; Python start-up
and imports excluded) and the peak RSS of this process right after the compute; writes
U, S, V to OUT.h5 for `prsvd verify` (the accuracy of every method, measured alike).
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import h5py  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("k", type=int)
    ap.add_argument("--matrix", default=None)
    ap.add_argument("--oversample", type=int, default=10)
    ap.add_argument("--iters", type=int, default=1)
    ap.add_argument("--chunk-rows", type=int, required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--hold", action="store_true", help="compute=False: one graph")
    ap.add_argument("--save", required=True, help="OUT.h5 for U, S, V")
    args = ap.parse_args()
    path, dset = common.split_spec(args.spec)

    t0 = time.perf_counter()
    with h5py.File(path, "r") as f, dask.config.set(scheduler="threads", num_workers=args.workers):
        d = f[dset]
        m, n = d.shape
        x = da.from_array(d, chunks=(args.chunk_rows, n), lock=True)
        u, s, v = da.linalg.svd_compressed(x, args.k, n_power_iter=args.iters,
                                           n_oversamples=args.oversample, seed=0,
                                           compute=not args.hold)
        u, s, v = dask.compute(u, s, v)
    t_compute = time.perf_counter() - t0
    rss = common.peak_rss_mib()

    common.save_usv(args.save, u, s, v)
    print(json.dumps({
        "matrix": args.matrix or args.spec, "status": "ok", "method": "dask svd_compressed",
        "threads": f"{args.workers} dask workers x {os.environ.get('OPENBLAS_NUM_THREADS', 'default')} BLAS threads",
        "input": args.spec, "rows": m, "cols": n, "rank": args.k, "oversample": args.oversample,
        "n_power_iter": args.iters, "chunk_rows": args.chunk_rows, "compute_flag": not args.hold,
        "passes": 2 * args.iters + 2,  # reads of A: range, 2 per power iteration, B = Q^T A
        "compute_seconds": t_compute, "peak_rss_mib": rss,
        "dask_version": dask.__version__, "h5py_version": h5py.__version__,
    }))


if __name__ == "__main__":
    main()
