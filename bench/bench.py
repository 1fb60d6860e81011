#!/usr/bin/python3
"""prsvd's benchmarks, one question each, one entry point: this script.

    bench/bench.py                          list the questions and the section each writes
    bench/bench.py QUESTION [--quick] [--results FILE] [ARGS...]
                                            measure one and rewrite its section of
                                            bench/RESULTS.md (ARGS go to its script)
    bench/bench.py QUESTION --report-only   redo the section from the last run's records
                                            (the questions whose shell helper records them)
    bench/bench.py --readme                 rewrite the question table of bench/README.md
    bench/bench.py --check                  check the table, the scripts and the sections

Every section is written by peers/common.write_section, the one writer of RESULTS.md: it
replaces the text between the section's markers and keeps the rest of the file byte for byte,
or appends the section where the file has none.  --quick runs a small size in a minute or
two (it still writes the section: use --results FILE, or `git checkout bench/RESULTS.md`,
to keep the record).  Each question's script (a helper below this folder) says how it
measures; bench/README.md says what each question asks.  Run with Debian's python3 after
building prsvd; scratch files go to the gitignored bench/out/.
"""
import os
import subprocess
import sys
import textwrap
from collections import namedtuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = "/usr/bin/python3"  # Debian's python: h5py, numpy, scipy, scikit-learn, dask, anndata
sys.path.insert(0, os.path.join(HERE, "peers"))
import common  # noqa: E402  (write_section, the one writer)

# name, the section(s) it writes (None: prints a table for a hand-written section, named in
# `about`), what it asks, the command (a script below bench/ and its arguments), the records
# it leaves for bench/report.py (a folder below bench/, or None: the script writes its section
# itself), what --quick changes (environment, arguments), minutes on 2 idle cores, and the
# input file it needs ({file} in the command: made with `prsvd gen` when missing; --quick
# makes and uses a 20000 x 1000 one beside it).
Q = namedtuple("Q", "name sections about command records quick_env quick_args minutes needs")
CACHED = "bench/out/cached.h5"  # 100000 x 2000 float64, 1.6 GB: the file of the warm-cache questions
QUESTIONS = [
    Q("peers", ["peers"], "throughput and accuracy against scikit-learn's randomized_svd and LAPACK's full SVD "
      "(20000 x 2000 and 100000 x 4000, 1 and 2 ranks)", ["run.sh"], "out",
      {"SMALL": "5000 500 10", "BIG": "20000 1000 20", "REPEAT_SMALL": "1", "REPEAT_BIG": "1", "QUIET_WAIT": "0"},
      [], 7, None),
    Q("sparse", ["sparse"], "centred PCA of a 1,000,000 x 20,000 CSR matrix against scikit-learn's "
      "TruncatedSVD, accuracy against ARPACK", ["sparse.sh"], "out/sparse", {"ROWS": "100000"}, [], 8, None),
    Q("oocore", ["oocore"], "a 32.8 GiB matrix, larger than RAM, with --memory 1G under a 3 GiB limit",
      ["oocore.sh"], "out/oocore", {"ROWS": "200000", "SMALL_ROWS": "20000", "COLS": "500"}, [], 5, None),
    Q("checkpoint", ["checkpoint"], "one checkpoint write against one pass, and the overhead of "
      "--checkpoint-every 600", ["checkpoint.sh"], "out/ckpt",
      {"ROWS": "100000", "COLS": "1000", "K": "20", "REPEAT": "1", "EVERY": "1"}, [], 3, None),
    Q("roofline", ["roofline"], "each pass against max(read floor, GEMM floor); dask, scikit-learn and "
      "PDGESVD on the same files, memory over time", ["roofline.sh"], "out/roofline",
      {"ROWS": "20000", "COLS": "1000", "SMALL_ROWS": "5000", "SMALL_COLS": "500", "REPEAT": "1",
       "K_BIG": "50", "SETTLE": "2", "QUIET_WAIT": "0"}, [], 21, None),
    Q("onepass-floor", ["onepass-floor", "onepass-floor-csr"], "the single pass (sparse and Gaussian maps) at "
      "each ranks x threads split against its arithmetic floor; with --csr over a CSR input, 1 thread against 2",
      ["onepass_floor.py"], None, {},
      ["--rows", "10000", "--runs", "1", "--file", "bench/out/onepass-quick.h5"], 2, None),
    Q("threads", ["threads"], "every launch (no mpirun, -n 1, -n 2, bound or not, -n 1 --map-by slot:PE=2) on "
      "float64, float32 and CSR inputs against the numpy/scipy floor and dask (`--input` one of them)",
      ["threads.py", "{file}"], None, {}, ["--runs", "1"], 6, CACHED),
    Q("qauto", ["qauto"], "the passes -q auto takes against -q 1, -q 7 and scikit-learn's n_iter = 7",
      ["qauto.py"], None, {}, ["--quick"], 3, None),
    Q("anndata", ["anndata"], "prsvd pca --anndata into the .h5ad against scanpy's in-memory routes",
      ["anndata_pca.py"], None, {"CELLS": "10000"}, [], 3, None),
    Q("id", ["id"], "the interpolative decomposition and CUR against the optimal rank-k error",
      ["id_accuracy.py"], None, {}, ["--quick"], 1, None),
    Q("id-time", ["id-time"], "prsvd id and cur against scipy's in-memory interpolative decomposition and "
      "the SVD of the same matrix: time and error", ["id_time.py"], None, {}, ["--quick"], 3, None),
    Q("tucker", ["tucker", "tucker-width"], "Tucker against the flattened SVD at equal storage", ["tucker.py"], None, {},
      ["--quick"], 1, None),
    Q("kfac", ["kfac 784-2048-2048-10"], "the K-FAC optimizer, randomized against exact factor inversion "
      "(other widths, WIDTHS=3072,3072 EPOCHS=2 or --quick, write a section of their own shape)", ["kfac/run.sh"],
      "kfac/out",
      {"WIDTHS": "256,256", "TRAIN_SIZE": "2560", "EPOCHS": "2", "EVAL_EVERY": "5", "EVAL_SIZE": "500",
       "TEST_SIZE": "1000", "TARGET": "0.7", "VECTORS_STEPS": "6", "TABLE_WIDTHS": "256 512"}, [], 12, None),
    Q("kfac-threads", ["kfac-threads"], "K-FAC (the trainer's phases and prsvd kfac) at 1 rank x 1 thread, "
      "1 x 2 and 2 x 1", ["kfac/threads.py", "--train", "tools/kfac/prsvd-kfac-train"], None, {},
      ["--rounds", "1", "--width", "256", "--steps", "10", "--dim", "512"], 4, None),
    Q("io", ["io"], "float32 multiplied in float32; POSIX against MPI-IO independent and collective reads, "
      "cold and warm", ["io.py"], None, {}, ["--repeat", "1"], 6, None),
    Q("readahead", None, "the cold first pass with and without the readahead advice; prints a table for "
      "*Readahead of the next panel*", ["readahead.py", os.path.join(ROOT, "prsvd"), "{file}"], None, {},
      ["--runs", "1"], 7, CACHED),
    Q("mmap", None, "panels mapped from the page cache against copied ones, pass by pass; prints a table for "
      "*Zero-copy panels*", ["mmap_panels.py", "{file}"], None, {}, ["--runs", "1"], 2, CACHED),
    Q("toolbox", ["toolbox"], "the single-pass methods: accuracy against storage, Gaussian against sparse maps, "
      "one pass against two", ["toolbox.py"], None, {}, ["--reps", "1", "--rows", "20000", "--cols", "1000"], 4,
      None),
    Q("msgcount", None, "the performance model's message counts against MPI's at 1, 2 and 4 ranks (prints "
      "`bench/model.py check`)", ["msgcount.sh"], None, {"M": "2000", "N": "1000"}, [], 1, None),
    Q("fuzz", None, "the libFuzzer targets for a bounded time (tests/README.md, Fuzzing)", ["fuzz.sh"], None,
      {"FUZZ_SECONDS": "10"}, [], 2, None),
]
BY_NAME = {q.name: q for q in QUESTIONS}
# the scripts that take --prsvd (the others run this tree's prsvd, or PRSVD=... in the environment)
TAKES_PRSVD = {"onepass_floor.py", "threads.py", "mmap_panels.py", "kfac/threads.py"}


def writes(q):
    """The headings of the sections Q writes, as RESULTS.md has them now (else their keys)."""
    if not q.sections:
        return "none (prints)"
    path = common.results_md()
    text = open(path).read() if os.path.exists(path) else ""
    names = []
    for key in q.sections:
        begin = common.section_markers(key)[0] + "\n"
        head = text.split(begin, 1)[1].split("\n", 1)[0].lstrip("# ") if begin in text else key
        names.append(f"*{head}*")
    return ", ".join(names)


def table():
    """The questions as a Markdown table (bench/README.md holds it)."""
    rows = ["| question | asks | writes the section | minutes | --quick |", "|---|---|---|---|---|"]
    for q in QUESTIONS:
        quick = " ".join([f"{k}={v}" for k, v in q.quick_env.items()] + q.quick_args) or "—"
        rows.append(f"| `{q.name}` | {q.about} | {writes(q)} | {q.minutes} | `{quick}` |")
    return "\n".join(rows)


def listing():
    width = max(len(q.name) for q in QUESTIONS) + 4
    lines = []
    for q in QUESTIONS:
        text = f"{q.about}. Writes: {writes(q)}; about {q.minutes} min."
        lines.append(textwrap.fill(text, 100, initial_indent=f"  {q.name:<{width - 2}}",
                                   subsequent_indent=" " * width))
    return "usage: bench/bench.py QUESTION [--quick] [--results FILE] [--report-only] [ARGS...]\n\n" + \
        "\n".join(lines)


def gen(q, quick):
    """The input file Q needs (below ROOT), made with `prsvd gen` on 2 ranks when missing."""
    path, size = q.needs, ["--rows", "100000", "--cols", "2000"]
    if quick:
        path, size = path.replace(".h5", "-quick.h5"), ["--rows", "20000", "--cols", "1000"]
    if not os.path.exists(os.path.join(ROOT, path)):
        os.makedirs(os.path.dirname(os.path.join(ROOT, path)), exist_ok=True)
        print(f"bench: prsvd gen {path}:/A {' '.join(size)}", file=sys.stderr)
        subprocess.run(["mpirun", "-n", "2", os.path.join(ROOT, "prsvd"), "gen", f"{path}:/A", *size, "--quiet"],
                       env=common.ACCURACY_ENV, cwd=ROOT, check=True)
    return path


def report(q):
    sys.path.insert(0, HERE)
    import report as sections  # noqa: E402  (bench/report.py: one function a question)
    getattr(sections, q.name)(os.path.join(HERE, q.records))


def run(q, quick, extra):
    script, *args = q.command
    env = dict(os.environ, **(q.quick_env if quick else {}))
    args = args + (q.quick_args if quick else []) + extra
    if q.needs:
        file = gen(q, quick)
        args = [a.replace("{file}", file) for a in args]
    if script in TAKES_PRSVD and "--prsvd" not in args:
        args += ["--prsvd", os.path.join(ROOT, "prsvd")]
    path = os.path.join(HERE, script)
    cmd = ["bash", path, *args] if script.endswith(".sh") else [PY, path, *args]
    print(f"bench: {q.name}: {' '.join(cmd)}", file=sys.stderr)
    rc = subprocess.run(cmd, env=env, cwd=ROOT).returncode
    if rc:
        sys.exit(f"bench: {q.name}: {script} failed (exit {rc}); RESULTS.md not changed")
    if q.records:
        report(q)


def check():
    """Problems of the questions' wiring, as lines: a script that is missing, a section of
    RESULTS.md without exactly one pair of markers or that the writer would not replace in place,
    a README table that is not the questions'."""
    import contextlib
    import io
    import shutil
    import tempfile
    bad = []
    text = open(common.results_md()).read()
    for q in QUESTIONS:
        if not os.path.exists(os.path.join(HERE, q.command[0])):
            bad.append(f"{q.name}: no script bench/{q.command[0]}")
        for key in q.sections or []:
            begin, end = common.section_markers(key)
            if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
                bad.append(f"{q.name}: RESULTS.md has not one section between {begin} and {end}")
                continue
            with tempfile.TemporaryDirectory() as tmp:  # rewrite a copy: the rest must stay as it was
                copy = shutil.copy(common.results_md(), os.path.join(tmp, "RESULTS.md"))
                with contextlib.redirect_stderr(io.StringIO()):
                    common.write_section(key, "## probe", results=copy)
                new = open(copy).read()
            if (new.split(begin)[0], new.split(end)[1]) != (text.split(begin)[0], text.split(end)[1]):
                bad.append(f"{q.name}: writing its section changed the rest of RESULTS.md")
    readme = open(os.path.join(HERE, "README.md")).read()
    if table() not in readme:
        bad.append("bench/README.md: the question table is not bench/bench.py --readme's")
    return bad


def main(argv):
    if not argv or argv[0] in ("-h", "--help", "list"):
        print(listing())
        return
    if argv[0] == "--readme":
        common.write_section("--readme", table(), results=os.path.join(HERE, "README.md"))
        return
    if argv[0] == "--check":
        bad = check()
        print("\n".join(bad) or f"bench: {len(QUESTIONS)} questions, their scripts and sections: ok")
        sys.exit(1 if bad else 0)
    q = BY_NAME.get(argv[0])
    if q is None:
        sys.exit(f"bench: no question {argv[0]!r}\n\n{listing()}")
    rest = argv[1:]
    quick = "--quick" in rest
    if quick:
        rest.remove("--quick")
    if "--results" in rest:
        i = rest.index("--results")
        os.environ["BENCH_RESULTS"] = os.path.abspath(rest[i + 1])
        del rest[i:i + 2]
    if "--report-only" in rest:
        if not q.records:
            sys.exit(f"bench: {q.name} keeps no records to report from: its script writes its section")
        report(q)
        return
    if not os.access(os.path.join(ROOT, "prsvd"), os.X_OK):
        sys.exit(f"bench: {ROOT}/prsvd not found; build prsvd first")
    run(q, quick, rest)


if __name__ == "__main__":
    main(sys.argv[1:])
