"""Shared helpers of the peer benchmarks: load an HDF5 dataset, planted optimum, residual."""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import h5py
import numpy as np


# The environment of a benchmark's mpirun: root allowed, one BLAS thread a rank.
BENCH_ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
                 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
# ... and of one that measures accuracy, not time: more ranks than cores allowed, and a waiting
# rank yields its core.
ACCURACY_ENV = dict(BENCH_ENV, OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_mpi_yield_when_idle="1")
# The program measured: PRSVD=... in the environment (a copy of a build), else this tree's.
PRSVD = os.environ.get("PRSVD", os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "prsvd"))


def uptime():
    """`uptime`'s line: the load average a measurement was taken under."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def busy_seconds():
    """CPU seconds the whole machine has spent not idle (nor waiting for I/O)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def median_range(xs, digits=2):
    """'median (min–max)' of repeated measurements, as the tables give them."""
    return f"{statistics.median(xs):.{digits}f} ({min(xs):.{digits}f}–{max(xs):.{digits}f})"


def run_json(who, cmd, env=None):
    """Run CMD (prsvd ... --json, or a peer printing a JSON line last); its JSON, or exit naming WHO,
    the command and its stderr."""
    r = subprocess.run(cmd, capture_output=True, text=True, env=env or BENCH_ENV)
    if r.returncode:
        raise SystemExit(f"{who}: {' '.join(map(str, cmd))}: exit {r.returncode}: {r.stderr}")
    try:
        return json.loads(r.stdout)  # prsvd's --json: one document, indented
    except json.JSONDecodeError:     # a peer's last line
        return json.loads(r.stdout.strip().splitlines()[-1])


def peak_rss_mib():
    """Peak resident set size of this process so far, MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def split_spec(spec):
    """'FILE.h5:/DATASET' -> (FILE.h5, /DATASET)."""
    path, sep, dset = spec.rpartition(":")
    if not sep or not path:
        raise SystemExit(f"expected FILE.h5:/DATASET, got {spec!r}")
    return path, dset


def load(spec):
    """Read the whole dataset into a C-ordered float64 array; also return the planted
    singular values (or None) and the load time in seconds."""
    path, dset = split_spec(spec)
    t0 = time.perf_counter()
    with h5py.File(path, "r") as f:
        d = f[dset]
        a = np.empty(d.shape, dtype=np.float64)
        d.read_direct(a)
        sv = d.attrs.get("singular_values")
        sv = None if sv is None else np.asarray(sv, dtype=np.float64)
    return a, sv, time.perf_counter() - t0


def optimal_residual(sv, k):
    """||A - A_k||_F from the planted singular values: sqrt(sum_{j>k} sigma_j^2)."""
    if sv is None:
        return None
    s = np.sort(sv)[::-1]
    return float(np.sqrt(np.sum(s[k:] ** 2)))


def residual_fro(a, u, s, vt, block=8192):
    """||A - U diag(s) V^T||_F, in row blocks so no second m x n array is made."""
    us = u * s
    acc = 0.0
    for i in range(0, a.shape[0], block):
        r = a[i:i + block] - us[i:i + block] @ vt
        acc += float(np.einsum("ij,ij->", r, r))
    return float(np.sqrt(acc))


def blas_info():
    """BLAS library, version and thread count numpy runs with (threadpoolctl), if known."""
    try:
        from threadpoolctl import threadpool_info
        return [{k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                for p in threadpool_info() if p.get("user_api") == "blas"]
    except Exception as e:  # threadpoolctl missing or failing: say so rather than guess
        return [{"error": str(e)}]


def threads_label(blas):
    """'2 threads' from blas_info(), for the results table."""
    n = [p.get("num_threads") for p in blas if p.get("num_threads")]
    return f"{n[0]} BLAS threads" if n else "? BLAS threads"


def resident_bytes(path):
    """Bytes of PATH in the page cache now (util-linux fincore), or None if unknown."""
    try:
        out = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES", path],
                             capture_output=True, text=True, check=True).stdout.split()
        return int(out[0])
    except (OSError, subprocess.CalledProcessError, ValueError, IndexError):
        return None


# KiB of free memory this guest has handed back to its host so far (free page reporting of
# virtio_balloon); absent where the kernel does not report.
REPORTED_KIB = "/sys/module/page_reporting/parameters/reported_kib"


def reported_kib():
    """The guest's running count of KiB reported free to the host, or None."""
    try:
        with open(REPORTED_KIB) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def evict(path, settle=0.0):
    """Drop PATH's clean pages from the page cache (posix_fadvise DONTNEED: no privilege
    needed, other files untouched); then, on a guest that reports free memory to its host,
    wait until it has reported 90% of the bytes just freed, at most SETTLE seconds.  Returns
    the bytes still resident, the MiB reported meanwhile (None without free page reporting)
    and the seconds waited.

    Why wait: on a VM with free page reporting (virtio_balloon) the freed pages go back to the
    host within seconds (here about 0.7-1.1 GB after 1-3 s, then 128 MiB every 2 s), and
    whoever fills them next pays the host for each page on its first touch, in CPU time.  A
    cold read of 1.6 GB took 0.9 s right after its eviction and 2.5-3.5 s once the pages had
    gone back, prsvd and a plain h5py read alike; a read started a second after the eviction
    gets some of each.  Waiting gives every cold run the same, reproducible state: the one a
    machine whose memory has been free a while is in.  Without page reporting there is nothing
    to wait for."""
    before = resident_bytes(path)
    reported0 = reported_kib()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    after = resident_bytes(path)
    t0 = time.monotonic()
    if reported0 is None:
        return after, None, 0.0
    want = 0.9 * max(0, (before or 0) - (after or 0)) / 1024
    while reported_kib() - reported0 < want and time.monotonic() - t0 < settle:
        time.sleep(0.2)
    return after, (reported_kib() - reported0) // 1024, time.monotonic() - t0


def save_usv(path, u, s, vt):
    """Write a factorization as prsvd does (/U m x k, /S k, /V n x k), so that `prsvd verify`
    measures every method's accuracy with the same code."""
    with h5py.File(path, "w") as f:
        f["U"] = np.asarray(u, dtype=np.float64)
        f["S"] = np.asarray(s, dtype=np.float64)
        f["V"] = np.asarray(vt, dtype=np.float64).T


def load_csr(spec):
    """A sparse group as AnnData writes X (data, indices, indptr, attribute shape) into a
    scipy CSR matrix with float64 values, as the peers compute; and the load time (s)."""
    import scipy.sparse as sp
    path, group = split_spec(spec)
    t0 = time.perf_counter()
    with h5py.File(path, "r") as f:
        g = f[group]
        shape = tuple(int(x) for x in g.attrs["shape"])
        a = sp.csr_matrix((g["data"][:].astype(np.float64), g["indices"][:], g["indptr"][:]), shape=shape)
    return a, time.perf_counter() - t0


def results_md():
    """bench/RESULTS.md, or the file BENCH_RESULTS names (bench/bench.py --results FILE: a try
    that should not touch the record)."""
    return os.environ.get("BENCH_RESULTS") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "RESULTS.md")


def section_markers(question):
    """The two comment lines around the section bench/bench.py QUESTION writes."""
    return (f"<!-- bench/bench.py {question}: begin -->", f"<!-- bench/bench.py {question}: end -->")


def write_section(question, text, results=None):
    """The one writer of bench/RESULTS.md: put TEXT (the section, its heading first) between the
    markers of QUESTION in place of what they held, the rest of the file kept byte for byte; or,
    where the file has no such section yet, append it with its markers.  The new file replaces
    the old one whole (written beside it, then renamed)."""
    results = results or results_md()
    begin, end = section_markers(question)
    section = f"{begin}\n{text.strip(chr(10))}\n{end}"
    old = open(results).read() if os.path.exists(results) else "# Benchmark results\n"
    if begin in old and end in old.split(begin, 1)[1]:
        head, rest = old.split(begin, 1)
        new = head + section + rest.split(end, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + section + "\n"
    tmp = results + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, results)
    print(f"bench: wrote the section {question!r} of {results}", file=sys.stderr)
