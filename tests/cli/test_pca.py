"""End-to-end tests of PCA (issue 7): implicit centering and scaling against scikit-learn's
PCA(svd_solver='full') as the client would use it, svd --center, scores, zero-variance
columns, verify on PCA outputs, agreement across rank counts, and the bad inputs."""
import json
import os
import sys

import h5py
import numpy as np
from sklearn.decomposition import PCA

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, path, run, write  # noqa: E402

# The test matrix, drawn here in the order it always was; its file is written once, by the
# first test that asks.
rng = np.random.default_rng(7)
m, n = 1500, 80
# samples with a decaying covariance, offsets and feature scales far from 1
latent = rng.standard_normal((m, 12)) * (0.7 ** np.arange(12))
x = latent @ rng.standard_normal((12, n)) + 0.05 * rng.standard_normal((m, n))
x = x * rng.uniform(0.1, 20, n) + rng.uniform(-50, 50, n)
x[:, 11] = 3.25  # a constant feature
_files = {}


def x_spec():
    """x in FILE:/data/X, gzip chunks of 100 rows, written once."""
    if "x" not in _files:
        _files["x"] = write("x.h5", x, ds="data/X", chunks=(100, 80), compression="gzip")
    return _files["x"]


def check_pca(scale):
    """pca (--scale) at 1 and 3 ranks against sklearn on the centred (scaled) x, 3 ranks against
    1, and verify on the 1-rank output."""
    spec = x_spec()
    z = x - x.mean(0)
    if scale:
        sd = x.std(0)
        sd[sd == 0] = 1.0
        z = z / sd
    ref = PCA(n_components=10, svd_solver="full").fit(z)
    tag = "scaled PCA" if scale else "PCA"
    outs = {}
    for ranks in [1, 3]:
        args = ["pca", spec, "-k", 10, "-p", 70, "-q", 1, "-o", path(f"p.{ranks}.h5"), "--force", "--quiet", "--scores"]
        r = run(args + (["--scale"] if scale else []), ranks=ranks)
        if check(f"{tag} at {ranks} rank(s) exits 0", r.returncode == 0, r.stderr):
            with h5py.File(path(f"p.{ranks}.h5")) as f:
                outs[ranks] = {k: f[k][:] for k in f} | {"attrs": dict(f.attrs)}
    if 1 not in outs:
        return
    o = outs[1]
    check(f"{tag}: explained_variance_ratio matches sklearn to 1e-10 (k + p >= n)",
          np.max(np.abs(o["explained_variance_ratio"] - ref.explained_variance_ratio_)) < 1e-10,
          o["explained_variance_ratio"] - ref.explained_variance_ratio_)
    check(f"{tag}: explained_variance matches sklearn to 1e-10 relative",
          np.max(np.abs(o["explained_variance"] - ref.explained_variance_) / ref.explained_variance_) < 1e-10)
    check(f"{tag}: components match sklearn to 1e-10, signs included",
          np.max(np.abs(o["components"] - ref.components_)) < 1e-10, np.max(np.abs(o["components"] - ref.components_)))
    check(f"{tag}: singular_values match sklearn", np.max(np.abs(o["singular_values"] - ref.singular_values_) / ref.singular_values_[0]) < 1e-12)
    check(f"{tag}: mean matches", np.max(np.abs(o["mean"] - x.mean(0))) < 1e-10 * np.abs(x).max())
    check(f"{tag}: scores = sklearn's transform", np.max(np.abs(o["scores"] - ref.transform(z))) < 1e-8 * np.abs(ref.transform(z)).max())
    check(f"{tag}: components are V^T", np.max(np.abs(o["components"] - o["V"].T)) == 0)
    if scale:
        check("scaled PCA: the constant feature is left unscaled and reported",
              o["attrs"]["zero_variance_columns"] == 1 and o["scale"][11] == 1.0, o["attrs"])
    if 3 in outs:
        d = max(np.max(np.abs(outs[3][k] - o[k])) for k in ["components", "explained_variance", "scores", "mean"])
        check(f"{tag}: 3 ranks agree with 1 rank to 1e-10", d < 1e-10, d)
    r = run(["verify", spec, path("p.1.h5"), "--json"], ranks=2)
    if check(f"{tag}: verify understands the PCA output", r.returncode == 0, r.stderr):
        js = json.loads(r.stdout)
        rel = np.linalg.norm(z - (o["U"] * o["S"]) @ o["V"].T) / np.linalg.norm(z)
        check(f"{tag}: verify's residual is that of the centered matrix", abs(js["relative_residual_fro"] - rel) < 1e-9,
              f"{js['relative_residual_fro']} vs {rel}")


def test_pca():
    """Unscaled PCA at 1 and 3 ranks against sklearn (k + p >= n: to 1e-10), 3 ranks against 1, verify."""
    check_pca(False)


def test_scaled_pca():
    """pca --scale at 1 and 3 ranks against sklearn on standardized x, the constant feature unscaled, verify."""
    check_pca(True)


def test_randomized_pca():
    """The randomized regime, k + p < n with q = 3: within 1e-4 of the exact PCA."""
    spec = x_spec()
    ref = PCA(n_components=10, svd_solver="full").fit(x - x.mean(0))
    r = run(["pca", spec, "-k", 10, "-q", 3, "-o", path("r.h5"), "--force", "--quiet"], ranks=2)
    if check("PCA k = 10, p = 10, q = 3 exits 0", r.returncode == 0, r.stderr):
        with h5py.File(path("r.h5")) as f:
            ratio = f["explained_variance_ratio"][:]
            comp = f["components"][:]
        check("randomized PCA: top-10 explained variance ratios within 1e-4 relative",
              np.max(np.abs(ratio - ref.explained_variance_ratio_) / ref.explained_variance_ratio_) < 1e-4)
        check("randomized PCA: top-5 components within 1e-4 (up to sign)",
              np.max(np.abs(np.abs(comp[:5]) - np.abs(ref.components_[:5]))) < 1e-4)


def test_svd_center_is_pca():
    """svd --center -q auto writes the same factors as pca (whose default is -q auto)."""
    spec = x_spec()
    r1 = run(["svd", spec, "-k", 5, "--center", "-q", "auto", "-o", path("c1.h5"), "--force", "--quiet"])
    r2 = run(["pca", spec, "-k", 5, "-o", path("c2.h5"), "--force", "--quiet"])
    if check("svd --center -q auto and pca exit 0", r1.returncode == 0 and r2.returncode == 0, r1.stderr + r2.stderr):
        with h5py.File(path("c1.h5")) as f1, h5py.File(path("c2.h5")) as f2:
            check("svd --center -q auto writes the same factors as pca",
                  all(np.array_equal(f1[k][:], f2[k][:]) for k in ["U", "S", "V", "mean"]))


def test_refusals():
    """--scale without --center, --scale with q = 0, --passes 1, --tol: exit 1, the message, no output."""
    spec = x_spec()
    out = path("never.h5")
    for desc, args, code, msg in [
        ("--scale without --center", ["svd", spec, "-k", 3, "--scale", "-o", out], 1, "need --center"),
        ("pca --scale with q = 0", ["pca", spec, "-k", 3, "--scale", "-q", 0, "-o", out], 1, "needs at least one power iteration"),
        ("pca with --passes 1", ["pca", spec, "-k", 3, "--passes", 1, "-o", out], 1, "--passes = 1 is out of range [2, 101]"),
        ("svd --center with --passes 1", ["svd", spec, "-k", 3, "--center", "--passes", 1, "-o", out], 1, "subspace iteration only"),
        ("pca with --tol", ["pca", spec, "--tol", "0.1", "-o", out], 1, "unknown option '--tol' for 'prsvd pca'"),
        ("svd --center with --tol", ["svd", spec, "--center", "--tol", "0.1", "-o", out], 1, "subspace iteration only"),
    ]:
        r = run(args, ranks=2)
        check(f"{desc}: exit {code}", r.returncode == code, f"{r.returncode} {r.stderr}")
        check(f"{desc}: message", msg in r.stderr, r.stderr)
        check(f"{desc}: no output", not os.path.exists(out))


harness.main(globals())
