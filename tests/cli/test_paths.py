"""Long paths: outputs, checkpoints and MPI-IO inputs in a directory of 240+ bytes (Open MPI
4.1's lockedfile shared-file-pointer component overflowed a buffer there at every
MPI_File_open), and paths of PATH_MAX - 1 = 4095 bytes through nested directories (the
temporary beside such an output is reached through its directory's descriptor; it was cut
short to a wrong name), a file name of NAME_MAX bytes, a name over NAME_MAX and a path over
PATH_MAX refused before the work.  At 1
and 2 ranks; each result equals a run with short paths."""
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import WORK, check, gen, load, path, run  # noqa: E402

PATH_MAX = os.pathconf("/", "PC_PATH_MAX")  # 4096 on Linux, with the terminating NUL
NAME_MAX = os.pathconf("/", "PC_NAME_MAX")
SPEC = gen("a.h5", 3000, 200, "--spectrum", "poly")
ARGS = ["-k", 5, "--memory", "64K", "--quiet"]


def nested(total, name, tag):
    """A path of exactly `total` bytes ending in /name, through directories under WORK."""
    d = os.path.join(WORK, tag)
    need = total - len(d) - 1 - len(name)  # bytes of "/DIR" components still to add
    while need > 0:
        seg = min(200, need - 1)
        if need - (seg + 1) == 1:  # a last "/D" takes 2 bytes at least: leave 2, not 1
            seg -= 1
        d = os.path.join(d, tag * seg)
        need -= seg + 1
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, name)
    assert len(p) == total, (len(p), total)
    return p


def ranks_arg(ranks):
    return ranks if ranks > 1 else None


REF = path("ref.h5")


def reference():
    if not os.path.exists(REF):
        r = run(["svd", SPEC, *ARGS, "-o", REF])
        check("the reference run with short paths", r.returncode == 0, r.stderr)
    return load(REF)[1]


def same_as_reference(out):
    try:
        return os.path.exists(out) and np.allclose(load(out)[1], reference(), rtol=1e-12, atol=0)
    except OSError:
        return False


def no_temporary(d):
    return not [n for n in os.listdir(d) if ".tmp." in n]


def outputs_and_checkpoints(out, ck, what, ranks):
    """svd writing `out`, then a stop with --checkpoint `ck` (PRSVD_TEST_STOP_AT_STEP) and the
    resume writing `out` again."""
    r = run(["svd", SPEC, *ARGS, "-o", out, "--force"], ranks=ranks_arg(ranks))
    check(f"{what}, {ranks} rank(s): the output is written (exit 0)", r.returncode == 0, f"{r.returncode} {r.stderr[-500:]}")
    check(f"{what}, {ranks} rank(s): it equals the short-path run's, no temporary",
          same_as_reference(out) and no_temporary(os.path.dirname(out)), os.listdir(os.path.dirname(out)))
    os.unlink(out) if os.path.exists(out) else None
    r = run(["svd", SPEC, *ARGS, "-o", out, "--checkpoint", ck], ranks=ranks_arg(ranks), env={"PRSVD_TEST_STOP_AT_STEP": "20"})
    check(f"{what}, {ranks} rank(s): a stop saves the checkpoint there (exit 99)",
          r.returncode == 99 and os.path.exists(ck) and not os.path.exists(out), f"{r.returncode} {r.stderr[-500:]}")
    r = run(["svd", SPEC, *ARGS, "-o", out, "--checkpoint", ck], ranks=ranks_arg(ranks))
    check(f"{what}, {ranks} rank(s): the resume finishes, the checkpoint removed",
          r.returncode == 0 and not os.path.exists(ck) and same_as_reference(out), f"{r.returncode} {r.stderr[-500:]}")


def inputs(inp, what, ranks):
    """The input at a long path, read through MPI-IO (independent and collective) and POSIX."""
    for read in ["independent", "collective", "posix"]:
        out = path(f"in.{read}.{ranks}.h5")
        r = run(["svd", f"{inp}:/A", *ARGS, "-o", out, "--read", read, "--force"], ranks=ranks_arg(ranks))
        check(f"{what}, {ranks} rank(s), --read {read}: exit 0, the short-path result",
              r.returncode == 0 and same_as_reference(out), f"{r.returncode} {r.stderr[-500:]}")


def test_directory_of_240_bytes():
    d = os.path.join(WORK, "d" * 120, "e" * (250 - len(WORK) - 122))
    os.makedirs(d)
    check(f"a directory path of {len(d)} bytes", len(d) >= 240, len(d))
    shutil.copy(SPEC.rsplit(":", 1)[0], os.path.join(d, "in.h5"))
    for ranks in [1, 2]:
        outputs_and_checkpoints(os.path.join(d, "out.h5"), os.path.join(d, "ck.h5"), "a 240-byte directory", ranks)
        inputs(os.path.join(d, "in.h5"), "an input in a 240-byte directory", ranks)


def test_paths_of_path_max():
    longest = PATH_MAX - 1
    out, ck, inp = nested(longest, "out.h5", "o"), nested(longest, "ck.h5", "c"), nested(longest, "in.h5", "i")
    shutil.copy(SPEC.rsplit(":", 1)[0], inp)
    # what a temporary cut short to the path's length would have been named (".out.h"): a file
    # of the user's that must stay as it is
    bystander = os.path.join(os.path.dirname(out), ".out.h")
    with open(bystander, "w") as f:
        f.write("not prsvd's\n")
    for ranks in [1, 2]:
        outputs_and_checkpoints(out, ck, f"paths of {longest} bytes", ranks)
        inputs(inp, f"an input path of {longest} bytes", ranks)
    kept = os.path.exists(bystander) and open(bystander).read() == "not prsvd's\n"
    check(f"paths of {longest} bytes: a file named like a cut-short temporary is left alone", kept,
          os.listdir(os.path.dirname(out)))


def test_name_of_name_max():
    out = path("n" * (NAME_MAX - 3) + ".h5")
    for ranks in [1, 2]:
        r = run(["svd", SPEC, *ARGS, "-o", out, "--force"], ranks=ranks_arg(ranks))
        check(f"a file name of {NAME_MAX} bytes, {ranks} rank(s): written, the short-path result, no temporary",
              r.returncode == 0 and same_as_reference(out) and no_temporary(WORK), f"{r.returncode} {r.stderr[-500:]}")


def test_name_over_name_max():
    """An output or checkpoint name of NAME_MAX + 1 or more bytes is refused before the work
    (exit 3, naming the limit; a stop at the first panel step saves no checkpoint), leaving
    nothing; names of 200 and 250 bytes are written (their temporaries are cut to fit)."""
    for length in [NAME_MAX + 1, 300]:
        out = path("o" * (length - 3) + ".h5")
        for ranks in [1, 2]:
            what = f"an output name of {length} bytes, {ranks} rank(s)"
            r = run(["svd", SPEC, *ARGS, "-o", out, "--checkpoint", path("ck.h5")], ranks=ranks_arg(ranks),
                    env={"PRSVD_TEST_STOP_AT_STEP": "1"})
            check(f"{what}: exit 3 before the first panel, naming NAME_MAX ({NAME_MAX})",
                  r.returncode == 3 and "NAME_MAX" in r.stderr and f"{NAME_MAX} bytes" in r.stderr, f"{r.returncode} {r.stderr[-300:]}")
            check(f"{what}: no output, checkpoint or temporary left", no_temporary(WORK)
                  and not os.path.exists(path("ck.h5")) and not any(n.startswith("ooo") for n in os.listdir(WORK)),
                  os.listdir(WORK))
    ck = path("c" * (NAME_MAX + 1 - 3) + ".h5")
    r = run(["svd", SPEC, *ARGS, "-o", path("short.h5"), "--checkpoint", ck], env={"PRSVD_TEST_STOP_AT_STEP": "1"})
    check(f"a checkpoint name of {NAME_MAX + 1} bytes: exit 3 before the work, nothing left",
          r.returncode == 3 and "NAME_MAX" in r.stderr and no_temporary(WORK) and not os.path.exists(path("short.h5")),
          f"{r.returncode} {r.stderr[-300:]}")
    for length in [200, 250]:
        out = path("w" * (length - 3) + ".h5")
        r = run(["svd", SPEC, *ARGS, "-o", out, "--force"])
        check(f"an output name of {length} bytes: written, the short-path result, no temporary",
              r.returncode == 0 and same_as_reference(out) and no_temporary(WORK), f"{r.returncode} {r.stderr[-300:]}")


def test_path_over_path_max():
    d = os.path.dirname(nested(PATH_MAX - 1, "x", "t"))
    out = os.path.join(d, "out.h5")  # PATH_MAX + 4 bytes: no file can be reached by it
    for ranks in [1, 2]:
        r = run(["svd", SPEC, *ARGS, "-o", out], ranks=ranks_arg(ranks))
        check(f"an output path of {len(out)} bytes, {ranks} rank(s): exit 3, says it is too long",
              r.returncode == 3 and "too long" in r.stderr, f"{r.returncode} {r.stderr[-300:]}")
        check(f"an output path of {len(out)} bytes, {ranks} rank(s): nothing left in its directory",
              os.listdir(d) == [], os.listdir(d))


harness.main(globals())
