"""End-to-end tests of prsvd import (issue 7, "The real default"): Fashion-MNIST from Debian's
dataset-fashion-mnist against the idx files decoded here with gzip and numpy, PCA of the
70000 x 784 images against scikit-learn's PCA(svd_solver='full'), .npy files written by
numpy, and the bad inputs (exit code, message, no output left)."""
import gzip
import os
import sys

import h5py
import numpy as np
from sklearn.decomposition import PCA

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, path, run, temp_leftovers  # noqa: E402

FASHION = os.environ.get("PRSVD_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")


def idx_gz(name, offset):
    with gzip.open(os.path.join(FASHION, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


_cache = {}


def idx_data():
    """The images (70000 x 784) and labels of the idx files, train then test, decoded once."""
    if "images" not in _cache:
        _cache["images"] = np.vstack([idx_gz("train-images-idx3-ubyte.gz", 16).reshape(-1, 784),
                                      idx_gz("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784)])
        _cache["labels"] = np.concatenate([idx_gz("train-labels-idx1-ubyte.gz", 8),
                                           idx_gz("t10k-labels-idx1-ubyte.gz", 8)])
    return _cache["images"], _cache["labels"]


def fashion_import():
    """prsvd import fashion-mnist at 2 ranks, run once: (the run, fashion.h5)."""
    if "import" not in _cache:
        _cache["import"] = run(["import", "fashion-mnist", "-o", f"{path('fashion.h5')}:/X"], ranks=2)
    return _cache["import"], path("fashion.h5")


def fashion_file():
    """fashion.h5 with /X and /labels, for the tests that read it."""
    r, fm = fashion_import()
    assert r.returncode == 0, r.stderr
    return fm


# .npy files written by numpy: the arrays of five dtypes
rng = np.random.default_rng(5)
base = rng.standard_normal((1001, 37))
arrays = {
    "<f8": base * 1e3,
    "<f4": (base * 10).astype("<f4"),
    "<i4": (base * 1e8).astype("<i4"),
    "<i8": (base * 1e14).astype("<i8"),
    "|u1": rng.integers(0, 256, (1001, 37)).astype("u1"),
}


def npy_file(descr, version):
    """The array of dtype descr written by numpy in .npy format (1, 0) or (2, 0): its path."""
    arr = arrays[descr]
    src = path(f"a{arr.dtype.str[1:]}.v{version[0]}.npy")
    with open(src, "wb") as f:
        np.lib.format.write_array(f, arr, version=version)
    return src


# ---- Fashion-MNIST --------------------------------------------------------------------------
def test_import_fashion_mnist():
    """import fashion-mnist at 2 ranks: 70000 x 784 float32 images and 70000 x 1 labels equal to the idx files'."""
    images, labels = idx_data()
    r, fm = fashion_import()
    if not check("import fashion-mnist at 2 ranks exits 0", r.returncode == 0, r.stderr):
        return
    check("import prints what it wrote", "70000 x 784 float32" in r.stdout and "/labels (70000 x 1" in r.stdout, r.stdout)
    with h5py.File(fm, "r") as f:
        x, y = f["X"], f["labels"]
        check("images: 70000 x 784 float32 (uint8 fits float32 exactly)", x.shape == (70000, 784) and x.dtype == np.float32,
              f"{x.shape} {x.dtype}")
        check("labels: a 70000 x 1 dataset beside the images", y.shape == (70000, 1), y.shape)
        check("attributes: item_shape 28 x 28, train_rows 60000",
              list(x.attrs["item_shape"]) == [28, 28] and x.attrs["train_rows"] == 60000, dict(x.attrs))
        check("the images are the idx files' bytes, train then test", np.array_equal(x[:], images))
        check("the labels are the idx files' labels, train then test", np.array_equal(y[:, 0], labels))


def test_pca_against_sklearn():
    """pca -k 50 -q 3 at 2 ranks (the demo's run): top-10 ratios and components within 1e-4 of sklearn's exact PCA."""
    fm = fashion_file()
    # PCA with q = 3 on 2 ranks against the exact PCA, on the top 10 components.  The accuracy of
    # component j follows the sketch width l = k + p, not k: sigma_9 / sigma_10 = 1.012, so
    # components 9 and 10 need a wide sketch to be told apart.  Measured (2 ranks, seed 0), top 10:
    #   l = 20 (-k 10):            ratios 1.4e-4, components 7.8e-3 (2-norm) / 1.5e-3 (max entry)
    #   l = 30 (-k 20):            ratios 4.0e-5, components 3.5e-3 / 4.8e-4
    #   l = 40 (-k 30):            ratios 1.5e-6, components 5.4e-4 / 6.4e-5
    #   l = 50 (-k 40):            ratios 2.0e-7, components 1.6e-4 / 2.4e-5
    #   l = 60 (-k 50, the demo):  ratios 4.1e-8, components 6.4e-5 / 8.5e-6
    # So the demo's own run, -k 50 -q 3 with the default p = 10, is the one asserted: issue 7's
    # 1e-4 relative for the ratios and, per component, ||c - c_sklearn||_2 / ||c_sklearn||_2.
    with h5py.File(fm, "r") as f:
        a = f["X"][:].astype(np.float64)
    ref = PCA(n_components=10, svd_solver="full").fit(a)
    out = path("pca50.h5")
    r = run(["pca", f"{fm}:/X", "-k", 50, "-q", 3, "-o", out, "--quiet"], ranks=2)
    if check("pca -k 50 -q 3 (default p) at 2 ranks exits 0", r.returncode == 0, r.stderr):
        with h5py.File(out, "r") as f:
            ratio, comp, mean = f["explained_variance_ratio"][:10], f["components"][:10], f["mean"][:]
        err_ratio = np.max(np.abs(ratio - ref.explained_variance_ratio_) / ref.explained_variance_ratio_)
        signs = np.sign(np.sum(comp * ref.components_, 1))
        err_comp = np.linalg.norm(comp * signs[:, None] - ref.components_, axis=1)  # unit vectors: relative
        err_entry = np.max(np.abs(comp * signs[:, None] - ref.components_))
        print(f"# top 10: explained_variance_ratio max rel error {err_ratio:.3g}; components max relative error "
              f"{np.max(err_comp):.3g} (max entry error {err_entry:.3g})")
        check("top-10 explained variance ratios within 1e-4 relative of sklearn's", err_ratio < 1e-4, err_ratio)
        check("top-10 components within 1e-4 relative of sklearn's (2-norm, up to sign)", np.max(err_comp) < 1e-4, err_comp)
        check("component signs agree with sklearn's svd_flip", np.all(signs > 0), signs)
        check("mean is the pixel mean", np.max(np.abs(mean - a.mean(0))) < 1e-9)


# ---- .npy files written by numpy ---------------------------------------------------------
def test_npy_files():
    """.npy files of five dtypes, formats 1.0 and 2.0, at 1 and 3 ranks: datasets equal to the arrays."""
    for descr, arr in arrays.items():
        for version, ranks in [((1, 0), 1), ((2, 0), 3)]:
            src = npy_file(descr, version)
            out = path("npy.h5")
            r = run(["import", src, "-o", f"{out}:/g/A", "--memory", "4K", "--force", "--quiet"], ranks=ranks)
            if check(f".npy {descr} v{version[0]} at {ranks} rank(s) exits 0", r.returncode == 0, r.stderr):
                with h5py.File(out, "r") as f:
                    got = f["g/A"][:]
                want_type = np.float32 if descr in ("<f4", "|u1") else np.float64
                check(f".npy {descr} v{version[0]}: {want_type.__name__} dataset equal to the array",
                      got.dtype == want_type and np.array_equal(got, arr.astype(want_type)),
                      f"{got.dtype} max diff {np.max(np.abs(got - arr.astype(want_type)))}")


def test_npy_dtype_float64():
    """import --dtype float64 of a uint8 .npy writes float64."""
    r = run(["import", npy_file("|u1", (1, 0)), "-o", f"{path('u64.h5')}:/A", "--dtype", "float64", "--quiet"])
    if check("--dtype float64 exits 0", r.returncode == 0, r.stderr):
        with h5py.File(path("u64.h5"), "r") as f:
            check("--dtype float64 writes float64", f["A"].dtype == np.float64 and np.array_equal(f["A"][:], arrays["|u1"]))


# ---- idx files written here: plain, and a labels file ---------------------------------------
def test_idx_files():
    """A plain int16 idx at 2 ranks and a labels idx.gz: their values, shapes and types."""
    labels = idx_data()[1]
    hdr = bytes([0, 0, 0x0B, 3]) + np.array([7, 3, 2], ">u4").tobytes()
    vals = (np.arange(42) * 977 - 20000).astype(">i2")
    with open(path("plain.idx"), "wb") as f:
        f.write(hdr + vals.tobytes())
    r = run(["import", path("plain.idx"), "-o", f"{path('plain.h5')}:/A", "--quiet"], ranks=2)
    if check("plain int16 idx at 2 ranks exits 0", r.returncode == 0, r.stderr):
        with h5py.File(path("plain.h5"), "r") as f:
            check("plain int16 idx: 7 x 6 float32, values equal", f["A"].shape == (7, 6) and f["A"].dtype == np.float32
                  and np.array_equal(f["A"][:], vals.reshape(7, 6).astype(np.float32)))
    r = run(["import", os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz"), "-o", f"{path('lab.h5')}:/y", "--quiet"])
    if check("a labels idx.gz exits 0", r.returncode == 0, r.stderr):
        with h5py.File(path("lab.h5"), "r") as f:
            check("a labels idx.gz is a 10000 x 1 dataset", f["y"].shape == (10000, 1)
                  and np.array_equal(f["y"][:, 0], labels[60000:]))


# ---- bad inputs ----------------------------------------------------------------------------
def test_bad_inputs():
    """Bad idx and .npy files (magic, truncated, Fortran order, 3-D, complex, big-endian, missing, bad --dtype)."""
    with open(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz"), "rb") as f:
        gz = f.read()
    with open(path("trunc.gz"), "wb") as f:
        f.write(gz[: len(gz) // 2])
    with open(path("magic.idx"), "wb") as f:
        f.write(bytes([0, 0x08, 0x08, 3]) + np.array([7, 3, 2], ">u4").tobytes() + bytes(42))
    np.save(path("fortran.npy"), np.asfortranarray(base))
    np.save(path("cube.npy"), np.zeros((4, 3, 2)))
    np.save(path("complex.npy"), np.zeros((4, 3), np.complex128))
    np.save(path("bigendian.npy"), np.zeros((4, 3), ">f8"))
    with open(path("short.npy"), "wb") as f:
        f.write(open(npy_file("<f8", (1, 0)), "rb").read()[:-8])
    out = path("never.h5")
    for desc, args, code, msg in [
        ("idx with a bad magic number", [path("magic.idx")], 2, "is not an idx file: bad magic number 0x00080803"),
        ("truncated idx.gz", [path("trunc.gz")], 2, f"'{path('trunc.gz')}' is truncated: its header promises 10000 rows"),
        ("Fortran-order .npy", [path("fortran.npy")], 2, "is in Fortran order"),
        ("3-D .npy", [path("cube.npy")], 2, "holds a 3-D array of shape (4, 3, 2): import takes a 2-D array"),
        ("complex .npy", [path("complex.npy")], 2, ".npy dtype '<c16' is not supported"),
        ("big-endian .npy", [path("bigendian.npy")], 2, ".npy dtype '>f8' is not supported"),
        ("truncated .npy", [path("short.npy")], 2, "is truncated: its header promises 1001 x 37 <f8 values"),
        ("missing source", [path("nothing.idx")], 2, f"cannot open input '{path('nothing.idx')}'"),
        ("bad --dtype", [path("cube.npy"), "--dtype", "int8"], 1, "unknown --dtype 'int8'"),
    ]:
        for ranks in ([1, 2] if desc in ("truncated idx.gz", "truncated .npy") else [1]):  # tools/test time
            r = run(["import", *args, "-o", f"{out}:/A"], ranks=ranks if ranks > 1 else None)  # mpirun waits 2 s after a failure
            check(f"{desc} at {ranks} rank(s): exit {code}", r.returncode == code, f"{r.returncode} {r.stderr}")
            check(f"{desc} at {ranks} rank(s): message", msg in r.stderr, r.stderr)
            check(f"{desc} at {ranks} rank(s): no output", not os.path.exists(out) and not temp_leftovers())


def test_fashion_mnist_absent():
    """Fashion-MNIST absent: exit 2 naming the Debian package, no output; into /labels: exit 1."""
    out = path("never.h5")
    r = run(["import", "fashion-mnist", "-o", f"{out}:/X"], env={"PRSVD_FASHION_MNIST": path("no-such-dir")})
    check("fashion-mnist absent: exit 2", r.returncode == 2, r.stderr)
    check("fashion-mnist absent: the message names the Debian package",
          "Fashion-MNIST not found" in r.stderr and "apt-get install dataset-fashion-mnist" in r.stderr, r.stderr)
    check("fashion-mnist absent: no output", not os.path.exists(out))
    r = run(["import", "fashion-mnist", "-o", f"{out}:/labels"])
    check("fashion-mnist into /labels: exit 1 (the labels go there)", r.returncode == 1 and "the labels go there" in r.stderr,
          r.stderr)


def test_existing_dataset():
    """Importing over an existing dataset without --force: exit 3, the file's other datasets kept."""
    fm = fashion_file()
    r = run(["import", npy_file("|u1", (1, 0)), "-o", f"{fm}:/X"])
    with h5py.File(fm, "r") as f:
        kept = f["X"].shape == (70000, 784) and f["labels"].shape == (70000, 1)
    check("an existing dataset without --force: exit 3, the file's other datasets kept",
          r.returncode == 3 and "already holds '/X'" in r.stderr and kept, r.stderr)


harness.main(globals())
