"""Kronecker factors of the width table (bench/kfac/run.sh): for each width d, the input factor
A = E[[h; 1][h; 1]^T] (d + 1 square) of the layer after a ReLU layer of width d fed with
Fashion-MNIST images, h = relu(W x), W ~ N(0, 2/784) (He), over N images; G is a small
placeholder (230 x 230: `prsvd kfac` refuses a --rank above a factor's dimension, and at
rank 220 + 10 it takes dsyevd, about 0.02 s) so each layer group is what `prsvd kfac` reads.

    factors.py OUT.h5 N WIDTH...
"""
import gzip
import sys

import h5py
import numpy as np

out, n = sys.argv[1], int(sys.argv[2])
widths = [int(w) for w in sys.argv[3:]]
with gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:n] / 255.0
rng = np.random.default_rng(0)
with h5py.File(out, "w") as f:
    for d in widths:
        w = rng.standard_normal((d, 784)) * np.sqrt(2 / 784)
        h = np.hstack([np.maximum(x @ w.T, 0.0), np.ones((n, 1))])
        a = h.T @ h / n
        g = rng.standard_normal((512, 230))
        grp = f.create_group(f"w{d}")
        grp.create_dataset("A", data=(a + a.T) / 2)
        grp.create_dataset("G", data=g.T @ g / 512)
        print(f"w{d}: A {d + 1} x {d + 1}, trace {np.trace(a):.4g}", file=sys.stderr)
