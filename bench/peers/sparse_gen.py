"""Write a cells x genes sparse matrix as AnnData writes X in an .h5ad (a group with data,
indices, indptr and the attributes encoding-type = csr_matrix, encoding-version, shape),
block by block, so that memory follows one block of rows, not the matrix.

Each row (a cell) belongs to one of C clusters with geometric weights; its stored entries
(Poisson(density * cols) of them, duplicates merged) fall with probability `marker` on its
cluster's 300 marker genes and otherwise uniformly on all genes, with log-normal values three
times larger on markers.  So the centred matrix has C - 1 leading components of decreasing
strength above a noise bulk, as single-cell counts do, and PCA of it is meaningful.

  sparse_gen.py OUT.h5 --rows 1000000 --cols 20000 --density 0.005 [--seed 0]
prints one JSON line (shape, nnz, seconds)."""
import argparse
import json
import time

import h5py
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--rows", type=int, default=1_000_000)
p.add_argument("--cols", type=int, default=20_000)
p.add_argument("--density", type=float, default=0.005)
p.add_argument("--clusters", type=int, default=30)
p.add_argument("--marker", type=float, default=0.3)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--block", type=int, default=100_000)
a = p.parse_args()

t0 = time.perf_counter()
rng = np.random.default_rng(a.seed)
n_markers = 300
markers = np.stack([rng.choice(a.cols, n_markers, replace=False) for _ in range(a.clusters)])
weights = 0.9 ** np.arange(a.clusters)
weights /= weights.sum()

with h5py.File(a.out, "w") as f:
    g = f.create_group("X")
    g.attrs["encoding-type"] = "csr_matrix"
    g.attrs["encoding-version"] = "0.1.0"
    g.attrs["shape"] = np.array([a.rows, a.cols], dtype=np.int64)
    chunk = 1 << 18
    data = g.create_dataset("data", (0,), maxshape=(None,), dtype=np.float32, chunks=(chunk,))
    indices = g.create_dataset("indices", (0,), maxshape=(None,), dtype=np.int32, chunks=(chunk,))
    indptr = np.zeros(a.rows + 1, dtype=np.int64)
    nnz = 0
    for r0 in range(0, a.rows, a.block):
        nr = min(a.block, a.rows - r0)
        cluster = rng.choice(a.clusters, nr, p=weights)
        counts = rng.poisson(a.density * a.cols, nr)
        row = np.repeat(np.arange(nr, dtype=np.int64), counts)
        on_marker = rng.random(row.size) < a.marker
        col = rng.integers(0, a.cols, row.size)
        col[on_marker] = markers[cluster[row[on_marker]], rng.integers(0, n_markers, int(on_marker.sum()))]
        val = rng.lognormal(0.0, 0.5, row.size) * np.where(on_marker, 3.0, 1.0)
        # merge duplicates within a row: sort by (row, column) and add
        key, inverse = np.unique(row * a.cols + col, return_inverse=True)
        summed = np.bincount(inverse, weights=val)
        rows_of, cols_of = key // a.cols, key % a.cols
        indptr[r0 + 1:r0 + nr + 1] = nnz + np.cumsum(np.bincount(rows_of, minlength=nr))
        data.resize((nnz + key.size,))
        indices.resize((nnz + key.size,))
        data[nnz:] = summed.astype(np.float32)
        indices[nnz:] = cols_of.astype(np.int32)
        nnz += key.size
    g.create_dataset("indptr", data=indptr)
print(json.dumps({"rows": a.rows, "cols": a.cols, "nnz": int(nnz), "density": nnz / (a.rows * a.cols),
                  "clusters": a.clusters, "seed": a.seed, "seconds": time.perf_counter() - t0}))
