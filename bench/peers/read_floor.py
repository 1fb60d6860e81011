#!/usr/bin/python3
"""The read floor of one pass: a plain sequential read of an HDF5 dataset, nothing else.

usage: read_floor.py FILE.h5:/DATASET --panel-rows R [--cold [--settle S]] [--mode hdf5|raw]
                     [--ranks P]

  raw   the file's bytes, front to back, in 16 MiB reads (what `dd` measures: the disk, or
        the page cache when warm)
  hdf5  the dataset through HDF5 (h5py), row panels of R rows in its own type (no
        conversion), R rounded down to whole chunks (at least one row of chunks) and a chunk
        cache of one panel, so no chunk is read or decompressed twice: the cost of getting
        the numbers out of the file, gzip included
--ranks P (hdf5 only) reads the P row blocks of a P-rank run at once, one process each, as
the ranks of a pass do; the time is the slowest reader's, the CPU time the largest.
--cold evicts the file from the page cache first (posix_fadvise DONTNEED, see
common.evict) and reports how many bytes were still resident; --settle S then waits, at
most S seconds, until a VM's guest has handed the freed memory back to its host
(reported_mib: how much it did, settle_seconds: how long that took).  The clock covers the
reads only (buffers are allocated and touched first, the file opened); the CPU time of the
same reads (user + system) is the work of reading, which other processes hardly inflate.
Prints one JSON line.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402


def read_raw(path):
    """Wall and CPU seconds to read the file front to back in 16 MiB reads."""
    block = 16 << 20
    buf = bytearray(block)  # allocated and touched before the clock starts
    view = memoryview(buf)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        t0, c0 = time.perf_counter(), time.process_time()
        while os.readv(fd, [view]) > 0:
            pass
        return time.perf_counter() - t0, time.process_time() - c0
    finally:
        os.close(fd)


def read_hdf5(path, dset, panel_rows, block=(0, 1), barrier=None):
    """Wall and CPU seconds to read the dataset by row panels (row block block[0] of block[1],
    after barrier), and what was read."""
    with h5py.File(path, "r") as f:
        d = f[dset]
        m, n = d.shape
        chunks = d.chunks
        rows = min(panel_rows, m)
        cache = 1 << 20
        if chunks:  # whole chunks per panel, a cache of one panel
            rows = max(chunks[0], rows // chunks[0] * chunks[0])
            cache = -(-n // chunks[1]) * -(-rows // chunks[0]) * chunks[0] * chunks[1] * d.dtype.itemsize
        info = (rows, m * n * d.dtype.itemsize, str(d.dtype), list(chunks) if chunks else None,
                d.compression)
        buf = np.ones((rows, n), dtype=d.dtype)  # touched before the clock starts
    with h5py.File(path, "r", rdcc_nbytes=cache + (1 << 20), rdcc_nslots=10007, rdcc_w0=1.0) as f:
        d = f[dset]
        b, nb = block
        start, end = b * (-(-m // nb)), min(m, (b + 1) * (-(-m // nb)))
        if barrier is not None:
            barrier.wait()
        t0, c0 = time.perf_counter(), time.process_time()
        for r in range(start, end, rows):
            nr = min(rows, end - r)
            d.read_direct(buf, np.s_[r:r + nr, :], np.s_[0:nr, :])
        return time.perf_counter() - t0, time.process_time() - c0, info


def read_blocks(path, dset, panel_rows, ranks):
    """read_hdf5 of the ranks' row blocks at once, one process each: the slowest wall time,
    the largest CPU time, and what was read."""
    import multiprocessing as mp
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(ranks), ctx.Queue()

    def reader(b):
        wall, cpu, info = read_hdf5(path, dset, panel_rows, (b, ranks), barrier)
        out.put((wall, cpu, info))

    procs = [ctx.Process(target=reader, args=(b,)) for b in range(ranks)]
    for p in procs:
        p.start()
    got = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return max(g[0] for g in got), max(g[1] for g in got), got[0][2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("--panel-rows", type=int, required=True)
    ap.add_argument("--mode", choices=["hdf5", "raw"], default="hdf5")
    ap.add_argument("--cold", action="store_true")
    ap.add_argument("--settle", type=float, default=0.0)
    ap.add_argument("--ranks", type=int, default=1)
    args = ap.parse_args()
    if args.settle and not args.cold:
        ap.error("--settle S: with --cold only")
    if args.ranks < 1 or (args.ranks > 1 and args.mode != "hdf5"):
        ap.error("--ranks P: P >= 1, and P > 1 with --mode hdf5 only")
    path, dset = common.split_spec(args.spec)
    file_bytes = os.path.getsize(path)
    resident, reported, waited = common.evict(path, args.settle) if args.cold else \
        (common.resident_bytes(path), None, 0.0)
    rec = {"input": args.spec, "mode": args.mode, "cold": args.cold, "settle_seconds": waited,
           "reported_mib": reported, "resident_bytes_before": resident, "file_bytes": file_bytes}
    if args.mode == "raw":
        rec["seconds"], rec["cpu_seconds"] = read_raw(path)
    else:
        rec["seconds"], rec["cpu_seconds"], (rows, data_bytes, dtype, chunks, comp) = \
            read_hdf5(path, dset, args.panel_rows) if args.ranks == 1 else \
            read_blocks(path, dset, args.panel_rows, args.ranks)
        rec["ranks"] = args.ranks
        rec.update({"panel_rows": rows, "data_bytes": data_bytes, "dtype": dtype,
                    "chunks": chunks, "compression": comp})
    rec["file_gb_per_s"] = file_bytes / rec["seconds"] * 1e-9
    print(json.dumps(rec))


if __name__ == "__main__":
    main()
