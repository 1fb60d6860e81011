"""Sizes, element types and option values that break the method are refused, clearly and before
any work: each case asserts the exit code, the key words of the message (the option or dataset,
its value, the limit), that no output file (or temporary) is left, and that the input file is
unchanged; at 1 and 2 ranks where the ranks matter (the checks that run inside the collective
open and plan).  Hostile files are crafted with h5py: datasets of impossible shapes with chunks
and no data, sparse groups whose shape or indptr claims huge sizes, and float types whose
datatype message was patched in the file (HDF5's API refuses to make them)."""
import hashlib
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, gen, path, run, temp_leftovers, write  # noqa: E402

OUT = path("never.h5")


def stamp(spec):
    """What a run must not change about its input: bytes and modification time."""
    fn = spec.rsplit(":", 1)[0]
    with open(fn, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest(), os.stat(fn).st_mtime_ns


def fresh():
    """No output left by an earlier case that failed (it was reported there)."""
    if os.path.exists(OUT):
        os.remove(OUT)


def refused(desc, args, code, words, spec, ranks=(1, 2)):
    """Run args (which write to OUT) at each rank count: exit `code`, 'prsvd: error:' with every
    one of `words`, no output or temporary left, the input unchanged."""
    before = stamp(spec)
    for n in ranks:
        fresh()
        r = run(args, ranks=n if n > 1 else None)
        check(f"{desc} at {n} rank(s): exit {code}", r.returncode == code, f"exit {r.returncode}: {r.stderr[-2000:]}")
        missing = [w for w in words if w not in r.stderr]
        check(f"{desc} at {n} rank(s): the message names {words}", "prsvd: error: " in r.stderr and not missing,
              f"missing {missing} in: {r.stderr[-2000:]}")
        check(f"{desc} at {n} rank(s): no output, no temporary", not os.path.exists(OUT) and not temp_leftovers(),
              os.listdir(harness.WORK))
        check(f"{desc} at {n} rank(s): the input is unchanged", stamp(spec) == before)


def attrs(out):
    with h5py.File(out, "r") as f:
        return dict(f.attrs), f["S"][:]


# ---- single-pass sketch sizes --------------------------------------------------------------

def test_onepass_sizes_set_must_oversample():
    """--passes 1 with --core-dim 1 or --range-dim 2 was clipped into range and returned
    sigma_1 = 8.2 for a matrix whose sigma_1 is 1: sizes given must meet the conditions of
    Tropp et al.'s bounds (k_s >= k + 2, s >= 2 k_s + 1; two: s >= k_s + 2) and fit min(m, n),
    and the message names the smallest (or largest) value allowed."""
    spec = gen("poly.h5", 200, 50)
    base = ["svd", spec, "-k", 5, "--passes", 1, "-o", OUT]
    refused("--core-dim 1", base + ["--core-dim", 1], 1, ["--core-dim 1", "2 k_s + 1", "at least 23"], spec)
    refused("--range-dim 2", base + ["--range-dim", 2], 1, ["--range-dim 2", "k + 2", "at least 7"], spec)
    refused("--range-dim 6 (k + 1)", base + ["--range-dim", 6], 1, ["--range-dim 6", "at least 7"], spec, ranks=(2,))
    refused("--range-dim 51 > min(m, n)", base + ["--range-dim", 51], 1,
            ["--range-dim 51", "min(rows, cols) = 50", "at most 50"], spec, ranks=(2,))
    refused("--core-dim 30 for --range-dim 20", base + ["--range-dim", 20, "--core-dim", 30], 1,
            ["--core-dim 30", "k_s = 20", "at least 41"], spec, ranks=(2,))
    refused("--core-dim 51 > min(m, n)", base + ["--core-dim", 51], 1, ["--core-dim 51", "at most 50"], spec, ranks=(2,))
    refused("two: --core-dim 12 for k_s = 11", base + ["--onepass-method", "two", "--core-dim", 12], 1,
            ["--core-dim 12", "k_s + 2", "at least 13"], spec, ranks=(2,))
    # the smallest sizes allowed run, and run as given (not clipped)
    for n in (1, 2):
        out = path(f"smallest.{n}.h5")
        r = run(base[:-1] + [out, "--range-dim", 7, "--core-dim", 15, "--quiet"], ranks=n if n > 1 else None)
        if check(f"--range-dim 7 --core-dim 15 (the smallest for k = 5) at {n} rank(s): exit 0", r.returncode == 0,
                 r.stderr):
            a, s = attrs(out)
            check(f"--range-dim 7 --core-dim 15 at {n} rank(s): run with k_s = 7, s = 15",
                  (a["range_dim"], a["core_dim"]) == (7, 15), (a["range_dim"], a["core_dim"]))
            check(f"--range-dim 7 --core-dim 15 at {n} rank(s): sigma_1 within 30% of the planted 1",
                  abs(s[0] - 1.0) < 0.3, s[:5])


def test_onepass_defaults_still_clipped():
    """The defaults k_s = 2k + 1, s = 2 k_s + 1 are cut to a small matrix, as before."""
    spec = write("narrow.h5", np.random.default_rng(1).standard_normal((60, 12)))
    out = path("narrow.out.h5")
    r = run(["svd", spec, "-k", 5, "--passes", 1, "-o", out, "--quiet"])
    if check("defaults on 60 x 12, k = 5: exit 0", r.returncode == 0, r.stderr):
        a, _ = attrs(out)
        check("defaults on 60 x 12, k = 5: k_s = 11, s = 12 (cut to min(m, n))",
              (a["range_dim"], a["core_dim"]) == (11, 12), (a["range_dim"], a["core_dim"]))


def test_sketch_memory_respects_the_conditions():
    """A budget larger than the matrix can use stops s at min(m, n) and k_s at (s - 1) / 2, so
    s >= 2 k_s + 1 still holds; a matrix too small for k_s >= k + 2 and s >= 2 k_s + 1 refuses
    the budget (the defaults, which may be cut, remain)."""
    spec = gen("budget.h5", 200, 50)
    out = path("budget.out.h5")
    r = run(["svd", spec, "-k", 5, "--passes", 1, "--sketch-memory", "1G", "-o", out, "--quiet"], ranks=2)
    if check("--sketch-memory 1G on 200 x 50: exit 0", r.returncode == 0, r.stderr):
        a, _ = attrs(out)
        check("--sketch-memory 1G on 200 x 50: k_s = 24, s = 50 (s >= 2 k_s + 1)",
              (a["range_dim"], a["core_dim"]) == (24, 50), (a["range_dim"], a["core_dim"]))
    small = write("small.h5", np.random.default_rng(2).standard_normal((30, 20)))
    refused("--sketch-memory with k = 10 on 30 x 20", ["svd", small, "-k", 10, "--passes", 1, "--sketch-memory", "1M",
                                                       "-o", OUT], 1,
            ["--sketch-memory", "k_s >= 12", "s >= 25", "min(rows, cols) = 20"], small)


# ---- element types -------------------------------------------------------------------------

F64 = b"\x11\x20\x3f\x00\x08\x00\x00\x00\x00\x00\x40\x00\x34\x0b\x00\x34\xff\x03\x00\x00"


def patched(name, patch, sparse=False):
    """A file whose float64 datatype message (version 1, little-endian IEEE: size 8, precision
    64, exponent 11 bits at 52, mantissa 52 bits at 0, bias 1023) is patched: what the HDF5 API
    refuses to create."""
    fn = path(name)
    a = np.arange(1.0, 13.0).reshape(4, 3)
    with h5py.File(fn, "w") as f:
        if sparse:
            g = f.create_group("A")
            g.attrs["encoding-type"] = "csr_matrix"
            g.attrs["shape"] = np.array([4, 3])
            g["data"], g["indices"], g["indptr"] = a.ravel(), np.tile(np.arange(3), 4), np.arange(0, 13, 3)
        else:
            f["A"] = a
    raw = bytearray(open(fn, "rb").read())
    at = raw.find(F64)
    assert at >= 0 and raw.find(F64, at + 1) < 0, "the float64 datatype message, once"
    patch(raw, at)
    open(fn, "wb").write(raw)
    return f"{fn}:/A"


def test_malformed_float_types():
    """A float of size 0 was decomposed as zeros (and one whose precision exceeds its size as
    garbage): a number type HDF5 cannot convert is refused, naming the dataset and the type."""
    def size(v):
        return lambda b, i: b.__setitem__(slice(i + 4, i + 8), v.to_bytes(4, "little"))
    cases = [
        ("a float of size 0", size(0), ["dataset '/A'", "float0", "64 bits of precision", "its 0 bytes"]),
        ("64 bits of precision in 4 bytes", size(4), ["float32", "64 bits of precision", "its 4 bytes"]),
        ("a float of 4 GiB", size(0xFFFFFFFF), ["float34359738360", "its 4294967295 bytes"]),
        ("precision 0", lambda b, i: b.__setitem__(slice(i + 10, i + 12), b"\x00\x00"), ["float64", "0 bits of precision"]),
        ("no mantissa", lambda b, i: b.__setitem__(i + 15, 0), ["float64", "mantissa bits [0, 0)"]),
        ("no exponent", lambda b, i: b.__setitem__(i + 13, 0), ["float64", "exponent bits [52, 52)"]),
    ]
    for desc, fix, words in cases:
        spec = patched("type.h5", fix)
        refused(f"svd of {desc}", ["svd", spec, "-k", 1, "-p", 0, "-o", OUT], 2,
                words + ["HDF5 cannot convert it to float64"], spec)
        r = run(["info", spec])
        check(f"info of {desc}: exit 2 naming the type", r.returncode == 2 and words[-1] in r.stderr, r.stderr)
    spec = patched("sparse_type.h5", size(0), sparse=True)
    refused("sparse data of a float of size 0", ["svd", spec, "-k", 1, "-p", 0, "-o", OUT], 2,
            ["'/A/data'", "float0", "HDF5 cannot convert it to float64"], spec)


def test_other_types_refused():
    """Opaque, enum, compound, string and reference datasets: exit 2 naming the dataset and type."""
    fn = path("classes.h5")
    with h5py.File(fn, "w") as f:
        f.create_dataset("opaque", data=np.zeros((4, 3), dtype="V8"))
        f.create_dataset("enum", data=np.zeros((4, 3), dtype=h5py.enum_dtype({"a": 0, "b": 1}, basetype="i1")))
        f.create_dataset("compound", data=np.zeros((4, 3), dtype=[("x", "f8"), ("y", "f8")]))
        f.create_dataset("string", data=np.full((4, 3), b"abc", dtype="S3"))
        f.create_dataset("reference", shape=(4, 3), dtype=h5py.ref_dtype)
    for ds in ["opaque", "enum", "compound", "string", "reference"]:
        spec = f"{fn}:/{ds}"
        refused(f"a {ds} dataset", ["svd", spec, "-k", 1, "-o", OUT], 2,
                [f"dataset '/{ds}'", f"has {ds} type", "only integer and float matrices"], spec, ranks=(1,))


def test_well_formed_unusual_floats_decompose():
    """A 1-byte float (sign, 4-bit exponent, 3-bit mantissa) and float16 are well formed, and
    HDF5 converts them exactly: they decompose like the values they hold."""
    fn = path("small_floats.h5")
    rng = np.random.default_rng(3)
    raw = (rng.integers(0, 2, (40, 6)) << 7 | rng.integers(1, 15, (40, 6)) << 3 | rng.integers(0, 8, (40, 6))).astype(np.uint8)
    sign, e, m = raw >> 7, (raw >> 3) & 15, raw & 7
    want8 = np.where(sign == 1, -1.0, 1.0) * 2.0 ** (e.astype(float) - 7) * (1 + m / 8)
    t = h5py.h5t.IEEE_F32LE.copy()
    t.set_fields(7, 3, 4, 0, 3)
    t.set_size(1)
    t.set_precision(8)
    t.set_ebias(7)
    with h5py.File(fn, "w") as f:
        d = h5py.h5d.create(f.id, b"f8", t, h5py.h5s.create_simple(raw.shape))
        d.write(h5py.h5s.ALL, h5py.h5s.ALL, raw, mtype=t)
        f["f16"] = want16 = rng.standard_normal((40, 6)).astype(np.float16)
    for ds, want in [("f8", want8), ("f16", want16.astype(float))]:
        out = path(f"{ds}.out.h5")
        r = run(["svd", f"{fn}:/{ds}", "-k", 6, "-o", out, "--quiet"])
        if check(f"{ds}: exit 0", r.returncode == 0, r.stderr):
            _, s = attrs(out)
            err = np.max(np.abs(s - np.linalg.svd(want, compute_uv=False)))
            check(f"{ds}: S equals LAPACK's on the values the bits encode to 1e-10", err < 1e-10, err)


# ---- shapes --------------------------------------------------------------------------------

def test_impossible_dense_shapes():
    """A 2^61 x 4 dataset ended in SIGFPE (exit 136), others in 'out of memory allocating 0
    bytes': a shape whose float64 bytes exceed 2^63 - 1 is an input error naming it, before
    anything is sized by it; so is an empty one."""
    fn = path("shapes.h5")
    with h5py.File(fn, "w") as f:
        for name, shape, chunks in [("tall", (2 ** 61, 4), (1, 4)), ("wide", (4, 2 ** 61), (4, 1)),
                                    ("huge", (2 ** 62, 2 ** 62), (1, 1)), ("f32", (2 ** 40, 2 ** 30), (64, 64)),
                                    ("rows0", (0, 5), None), ("cols0", (5, 0), None)]:
            f.create_dataset(name, shape=shape, dtype="f4" if name == "f32" else "f8", chunks=chunks)
    for name, words in [("tall", ["2305843009213693952 x 4", "2^63 - 1 bytes"]),
                        ("wide", ["4 x 2305843009213693952", "2^63 - 1 bytes"]),
                        ("huge", ["4611686018427387904 x 4611686018427387904", "2^63 - 1 bytes"]),
                        ("f32", ["1099511627776 x 1073741824", "2^63 - 1 bytes"]),
                        ("rows0", ["is empty (0 x 5)"]), ("cols0", ["is empty (5 x 0)"])]:
        spec = f"{fn}:/{name}"
        words = [f"dataset '/{name}'"] + words
        refused(f"svd of {name}", ["svd", spec, "-k", 2, "-o", OUT], 2, words, spec)
        refused(f"pca of {name}", ["pca", spec, "-k", 2, "-o", OUT], 2, words, spec, ranks=(2,))
        refused(f"eig of {name}", ["eig", spec, "-k", 2, "-o", OUT], 2, words, spec, ranks=(1,))
        r = run(["info", spec])
        check(f"info of {name}: exit 2 naming the shape", r.returncode == 2 and words[1] in r.stderr, r.stderr)


def test_shapes_beyond_the_distributed_factors():
    """A 2^40 x 2^19 dataset fits a file's size, but U and V are ScaLAPACK matrices of at most
    2^31 - 1 rows: svd refuses it at the plan, naming the shape; info still describes it."""
    fn = path("tall.h5")
    with h5py.File(fn, "w") as f:
        f.create_dataset("A", shape=(2 ** 40, 2 ** 19), dtype="f8", chunks=(1, 1024))
    spec = f"{fn}:/A"
    refused("svd of 2^40 x 2^19", ["svd", spec, "-k", 2, "-o", OUT], 2,
            ["1099511627776 x 524288", "at most 2147483647 rows"], spec)
    r = run(["info", spec])
    check("info of 2^40 x 2^19: exit 0, the shape shown", r.returncode == 0 and "1099511627776 x 524288" in r.stdout,
          r.stdout + r.stderr)


def test_sparse_groups_claiming_huge_sizes():
    """Sparse groups whose shape or indptr claims more than can exist: input errors naming them."""
    fn = path("claims.h5")
    with h5py.File(fn, "w") as f:
        def group(name, shape, n_indptr, nnz, enc="csr_matrix"):
            g = f.create_group(name)
            g.attrs["encoding-type"] = enc
            g.attrs["shape"] = np.array(shape, dtype=np.int64)
            g.create_dataset("indptr", shape=(n_indptr,), dtype="i8", chunks=(min(n_indptr, 1024),))
            for ds, t in [("indices", "i8"), ("data", "f8")]:
                g.create_dataset(ds, shape=(nnz,), dtype=t, chunks=(min(nnz, 1024),) if nnz else None)
            return g
        group("tall", (2 ** 62, 5), 2 ** 62 + 1, 0)
        group("wide", (5, 2 ** 62), 6, 0)
        group("csc", (5, 2 ** 62), 2 ** 62 + 1, 0, enc="csc_matrix")
        group("entries", (4, 3), 5, 2 ** 62)["indptr"][:] = [0, 0, 0, 0, 2 ** 62]
        group("negative", (-5, 3), 1, 0)
    for name, code, words in [("tall", 2, ["4611686018427387904 x 5", "at most 2147483647 rows"]),
                              ("wide", 2, ["5 x 4611686018427387904", "at most 2147483647 rows"]),
                              ("csc", 2, ["4611686018427387904 x 5", "at most 2147483647 rows"]),
                              ("entries", 2, ["claims 4611686018427387904 stored entries"]),
                              ("negative", 2, ["has shape -5 x 3"])]:
        spec = f"{fn}:/{name}"
        refused(f"sparse group {name}", ["svd", spec, "-k", 2, "-o", OUT], code, words, spec)


# ---- size options --------------------------------------------------------------------------

def test_size_options_checked_against_the_matrix():
    """--block 100000 on 200 x 50 exited 6 asking for 80 GB: every size option given is
    checked against the matrix before any work, naming the option, its value and the limit."""
    spec = gen("opts.h5", 200, 50)
    svd = ["svd", spec, "-o", OUT]
    refused("--block 100000", svd + ["--tol", 0.1, "--block", 100000], 1,
            ["--block 100000", "min(rows, cols, 256)", "at most 50"], spec)
    refused("--block 21 with --max-rank 20", svd + ["--tol", 0.1, "--max-rank", 20, "--passes", 2, "--block", 21], 1,
            ["--block 21", "--max-rank", "at most 20"], spec, ranks=(2,))
    refused("-p 46 with -k 5", svd + ["-k", 5, "-p", 46], 1, ["--oversample 46", "--rank 5", "at most 45"], spec)
    refused("-k 51", svd + ["-k", 51], 1, ["--rank 51", "min(rows, cols) = 50"], spec, ranks=(1,))
    refused("--max-rank 51", svd + ["--tol", 0.1, "--max-rank", 51], 1, ["--max-rank 51", "= 50"], spec, ranks=(1,))
    # the defaults shrink to fit: p = 10 with k = 45, block = 10 with a largest rank of 8
    out = path("defaults.h5")
    r = run(["svd", spec, "-k", 45, "-o", out, "--quiet"])
    check("-k 45 with the default p: runs, p cut to 5 with a warning",
          r.returncode == 0 and "oversampling reduced to 5" in r.stderr, r.stderr)
    tiny = write("tiny.h5", np.random.default_rng(4).standard_normal((30, 8)))
    r = run(["svd", tiny, "--tol", 0.5, "-o", path("tiny.out.h5"), "--quiet"])
    check("--tol on 30 x 8 with the default block 10: runs (exit 0 or 8)", r.returncode in (0, 8), r.stderr)


def test_numbers_too_large_for_their_type():
    """--memory 9223372036854775807 said 'expected a number': a number too large for its type
    says so, with the largest allowed."""
    spec = gen("types.h5", 40, 10)
    svd = ["svd", spec, "-k", 2, "-o", OUT]
    for desc, extra, words in [
            ("--memory 2^63 - 1", ["--memory", "9223372036854775807"],
             ["--memory = 9223372036854775807 is too large", "at most 4611686018427387904 bytes"]),
            ("--memory 1e30", ["--memory", "1e30"], ["--memory = 1e30 is too large"]),
            ("--sketch-memory 8E", ["--passes", 1, "--sketch-memory", "9e18"], ["--sketch-memory = 9e18 is too large"]),
            ("-q 2^64", ["-q", "18446744073709551616"], ["--power-iters = 18446744073709551616 is too large", "at most 100"]),
            ("--seed 2^64", ["--seed", "18446744073709551616"], ["--seed = 18446744073709551616 is too large",
                                                                "at most 18446744073709551615"]),
            ("--tol 1e999", ["--tol", "1e999"], ["--tol = 1e999 is too large", "at most 0.999"]),
            ("--grid 2^40 x 1", ["--grid", "1099511627776x1"], ["--grid 1099511627776x1 is too large", "at most 2147483647"])]:
        refused(desc, svd + extra, 1, words, spec, ranks=(1,))
    refused("-k 2^64", ["svd", spec, "-k", "18446744073709551616", "-o", OUT], 1,
            ["--rank = 18446744073709551616 is too large", "at most 1000000000000"], spec, ranks=(1,))


def test_gen_sizes():
    """gen's --rows x --cols must fit a file, and a chunk (as clipped to the matrix) HDF5's
    4 GiB - 1: usage errors naming the options, before the file is created."""
    for desc, args, words in [
            ("--rows 1e15 --cols 1e12", ["--rows", 10 ** 15, "--cols", 10 ** 12],
             ["--rows 1000000000000000 --cols 1000000000000", "2^63 - 1 bytes", "at most 1152921 rows"]),
            ("--rows 2^64", ["--rows", "18446744073709551616", "--cols", 5],
             ["--rows = 18446744073709551616 is too large", "at most 1000000000000000"]),
            ("--chunk of 80 GB", ["--rows", 100000, "--cols", 100000, "--chunk", "100000x100000"],
             ["--chunk 100000x100000", "4294967295 bytes"]),
            ("--chunk 2^64 x 5", ["--rows", 100, "--cols", 10, "--chunk", "18446744073709551616x5"],
             ["--chunk 18446744073709551616x5 is too large"])]:
        # 1 rank: the options alone decide, before any file or collective open (a failing run
        # under mpirun costs ~1.5 s of its abort path)
        fresh()
        r = run(["gen", f"{OUT}:/A", *args, "--quiet"])
        check(f"gen {desc}: exit 1", r.returncode == 1, f"exit {r.returncode}: {r.stderr}")
        check(f"gen {desc}: the message names {words}",
              "prsvd: error: " in r.stderr and all(w in r.stderr for w in words), r.stderr)
        check(f"gen {desc}: no output", not os.path.exists(OUT) and not temp_leftovers())
    r = run(["gen", f"{path('clipped.h5')}:/A", "--rows", 100, "--cols", 10, "--chunk", "1000x1000", "--quiet"])
    check("gen --chunk 1000x1000 of 100 x 10: the chunk is cut to the matrix, exit 0", r.returncode == 0, r.stderr)


def test_eig_oversample():
    """eig: a -p given must fit n - k; the default is cut to fit."""
    spec = path("sym.h5") + ":/A"
    r = run(["gen", spec, "--rows", 40, "--cols", 40, "--symmetric", "psd", "--quiet"])
    assert r.returncode == 0, r.stderr
    refused("eig -k 5 -p 36 on 40 x 40", ["eig", spec, "-k", 5, "-p", 36, "-o", OUT], 1,
            ["--oversample 36", "dimension 40", "at most 35"], spec)
    r = run(["eig", spec, "-k", 35, "-o", path("eig.out.h5"), "--quiet"])
    check("eig -k 35 on 40 x 40 with the default p: runs", r.returncode == 0, r.stderr)


def test_verify_hostile_results():
    """verify reads a result's sizes from the file: S declaring 2^62 entries, or a rank above
    min(m, n) (whose k x k Gram matrix a 1 x 2^40 V would have overflowed), are input errors."""
    spec = write("ver.h5", np.random.default_rng(5).standard_normal((20, 5)))
    good = path("ver.out.h5")
    r = run(["svd", spec, "-k", 2, "-o", good, "--quiet"])
    assert r.returncode == 0, r.stderr
    with h5py.File(good) as f:
        u, s, v = f["U"][:], f["S"][:], f["V"][:]

    def result(name, build):
        with h5py.File(path(name), "w") as f:
            build(f)
        return path(name)
    long_s = result("ver.long.h5", lambda f: (f.create_dataset("U", data=u), f.create_dataset("V", data=v),
                                             f.create_dataset("S", shape=(2 ** 62,), dtype="f8", chunks=(1024,))))
    wide = result("ver.wide.h5", lambda f: (f.create_dataset("U", data=np.zeros((20, 8))),
                                           f.create_dataset("S", data=np.ones(8)), f.create_dataset("V", data=np.zeros((5, 8)))))
    for desc, res, words in [("S of 2^62 entries", long_s, ["'/S'", "holds 4611686018427387904 entries"]),
                             ("rank 8 of a 20 x 5 matrix", wide, ["has rank 8", "min(rows, cols) = 5"])]:
        before = stamp(spec), stamp(res + ":/S")
        for n in (1, 2):
            r = run(["verify", spec, res], ranks=n if n > 1 else None)
            check(f"verify of {desc} at {n} rank(s): exit 2", r.returncode == 2, f"exit {r.returncode}: {r.stderr[-2000:]}")
            check(f"verify of {desc} at {n} rank(s): the message names {words}",
                  all(w in r.stderr for w in words), r.stderr[-2000:])
        check(f"verify of {desc}: the input and the result unchanged", (stamp(spec), stamp(res + ":/S")) == before)


harness.main(globals())
