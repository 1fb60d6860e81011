"""Nothing lost, nothing corrupt (issue 6): a write that hits a file-size limit leaves the
previous output intact and no temporary; truncated and corrupt inputs, an unreadable chunk
and an input that changes during the run (also one truncated under its mapped panels) stop with
exit 2 naming the file and rows; an
error on one rank reaches every rank, which all exit alike."""
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import PRSVD, check, gen, path, run, start_in_pass, temp_leftovers  # noqa: E402

_files = {}


def spec():
    """The 20000 x 200 poly-spectrum input, made once: FILE:/A."""
    if "a" not in _files:
        _files["a"] = gen("a.h5", 20000, 200, "--spectrum", "poly")
    return _files["a"]


def source_file():
    return spec().rsplit(":", 1)[0]


def test_disk_full():
    """A full disk (a 256 KiB tmpfs) during the output write: exit 3, the previous output intact, no temporary."""
    # (root may mount one; else ulimit -f, which Open MPI's singleton start-up cannot live with)
    disk = path("disk")
    os.makedirs(disk, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", disk],
                             capture_output=True).returncode == 0
    if not check("a 256 KiB tmpfs for the full-disk test (needs root)", mounted):
        return
    try:
        old = os.path.join(disk, "out.h5")
        with open(old, "w") as f:
            f.write("the previous result")
        r = run(["svd", spec(), "-k", 10, "-o", old, "--force", "--quiet"])  # U alone is 1.6 MB
        check("disk full while writing: exit 3", r.returncode == 3, f"{r.returncode} {r.stderr}")
        check("disk full while writing: says the write failed", "prsvd: error:" in r.stderr and "disk full?" in r.stderr,
              r.stderr)
        check("disk full while writing: previous output intact", open(old).read() == "the previous result")
        check("disk full while writing: no temporary left", os.listdir(disk) == ["out.h5"], os.listdir(disk))
    finally:
        subprocess.run(["umount", disk])


def test_truncated_input():
    """A truncated input: exit 2 naming the file, no output."""
    trunc = path("trunc.h5")
    shutil.copy(source_file(), trunc)
    os.truncate(trunc, os.path.getsize(trunc) // 2)
    r = run(["svd", f"{trunc}:/A", "-k", 5, "-o", path("never.h5")], ranks=2)
    check("truncated input: exit 2", r.returncode == 2, f"{r.returncode} {r.stderr}")
    check("truncated input: names the file", trunc in r.stderr and ("truncated" in r.stderr or "unreadable" in r.stderr),
          r.stderr)
    check("truncated input: no output", not os.path.exists(path("never.h5")))


def test_unreadable_chunk():
    """Garbage over one compressed chunk in the middle of the data: exit 2 naming the file, no output."""
    bad = path("badchunk.h5")
    with h5py.File(bad, "w") as f:
        f.create_dataset("A", data=np.random.default_rng(1).standard_normal((4000, 50)), chunks=(100, 50),
                         compression="gzip")
    with h5py.File(bad, "r") as f:
        info = f["A"].id.get_chunk_info(17)  # rows [1700, 1800)
    with open(bad, "r+b") as f:
        f.seek(info.byte_offset + 8)
        f.write(b"\xff" * 64)
    r = run(["svd", f"{bad}:/A", "-k", 5, "-o", path("never.h5"), "--memory", "16K"], ranks=2)
    check("unreadable chunk: exit 2", r.returncode == 2, f"{r.returncode} {r.stderr}")
    check("unreadable chunk: names the file and a row range holding row 1700",
          bad in r.stderr and "unreadable" in r.stderr, r.stderr)
    check("unreadable chunk: no output", not os.path.exists(path("never.h5")) and not temp_leftovers())


def while_stopped(p, change):
    """change() while process p is stopped, if it still runs (a process already reaped is not
    signalled: its pid may be another's)."""
    running = p.poll() is None
    if running:
        os.kill(p.pid, signal.SIGSTOP)
    change()
    if running:
        os.kill(p.pid, signal.SIGCONT)


def test_input_changed_during_run():
    """An input that grows while it is read: exit 2 saying so with the rows, no output."""
    grow = path("grow.h5")
    shutil.copy(source_file(), grow)
    # The file grows while the run is stopped inside its passes: once the first progress line
    # shows them under way (a fixed sleep of 1 s lost the race to a run on two threads; stopping
    # it as soon as it held the file open could come before it noted the file's size and time)
    p, first = start_in_pass([PRSVD, "svd", f"{grow}:/A", "-k", "10", "-q", "100", "--memory", "64K", "--threads",
                              "1", "-o", path("never.h5"), "--progress"])

    def grow_it():
        with open(grow, "ab") as f:
            f.write(b"\0" * 4096)
    while_stopped(p, grow_it)
    _, err = p.communicate(timeout=120)
    check("input changed during the run: exit 2", p.returncode == 2, f"{p.returncode} {first}{err}")
    check("input changed during the run: says so, with the rows", "changed while it was being read" in err
          and "rows [" in err, err)
    check("input changed during the run: no output", not os.path.exists(path("never.h5")) and not temp_leftovers())


def test_input_truncated_under_its_mapping():
    """--read posix-map: a file truncated under the panel a thread multiplies (a bus error, which
    killed the run) ends it with exit 2 naming the file and the rows, and no output; with the
    reader thread and 2 compute threads, and without either."""
    for label, extra in [("reader thread, 2 threads", ["--threads", "2"]),
                         ("no reader thread, 1 thread", ["--no-prefetch", "--threads", "1"])]:
        cut = path("cut.h5")
        shutil.copy(source_file(), cut)
        p, first = start_in_pass([PRSVD, "svd", f"{cut}:/A", "-k", "10", "-q", "100", "--memory", "1M", "--read",
                                  "posix-map", *extra, "-o", path("never.h5"), "--progress"])
        # stopped inside a pass, its panels mapped: the pages go with the truncation
        while_stopped(p, lambda: os.truncate(cut, os.path.getsize(cut) // 3))
        _, err = p.communicate(timeout=120)
        check(f"truncated under its mapping, {label}: exit 2", p.returncode == 2, f"{p.returncode} {first}{err}")
        check(f"truncated under its mapping, {label}: says so, with the file and the rows",
              f"'{cut}' changed while it was being read" in err and "rows [" in err and "Bus error" not in err, err)
        check(f"truncated under its mapping, {label}: no output",
              not os.path.exists(path("never.h5")) and not temp_leftovers())


def last_mapped(pid, file, end):
    """1 if process pid maps the bytes of `file` up to `end` (its last panel), as /proc says."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            maps = [l.split() for l in f if l.rstrip().endswith(file)]
    except OSError:
        return False
    for m in maps:
        lo, hi = (int(x, 16) for x in m[0].split("-"))
        if int(m[2], 16) + hi - lo >= end:
            return True
    return False


def stopped(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in "Tt"
    except OSError:
        return True


def test_input_cut_within_its_last_mapped_page():
    """--read posix-map: a file cut by less than a page under the last panel (the page that
    holds the new end stays mapped and reads zeros past it, no bus error: the run exited 0 with
    wrong singular values) ends with exit 2 and no output; the panel is checked against the
    file's size and time when it is given back."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((20000, 500))
    a[-1] = 100.0  # the rows the cut zeroes carry the leading singular value
    src = harness.write("spike.h5", a).rsplit(":", 1)[0]
    with h5py.File(src, "r") as f:
        data_end = f["A"].id.get_offset() + a.nbytes
    caught = False
    for attempt in range(5):  # until the last panel is seen mapped before the run ends
        cut = path("cut-last.h5")
        shutil.copy(src, cut)
        p = subprocess.Popen([PRSVD, "svd", f"{cut}:/A", "-k", "150", "--passes", "1", "--memory", "4M", "--threads", "1",
                              "--read", "posix-map", "-o", path("never-cut.h5"), "--quiet"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while p.poll() is None and not caught:
            if not last_mapped(p.pid, cut, data_end):
                continue
            os.kill(p.pid, signal.SIGSTOP)  # and look again once it stands still
            while p.poll() is None and not stopped(p.pid):
                time.sleep(0.001)
            if p.poll() is None and last_mapped(p.pid, cut, data_end):
                os.truncate(cut, data_end - 3000)
                caught = True
            os.kill(p.pid, signal.SIGCONT)
        _, err = p.communicate(timeout=120)
        if caught:
            break
    if not check("cut within its last mapped page: the cut came while the last panel was mapped", caught):
        return
    check("cut within its last mapped page: exit 2 naming the file", p.returncode == 2 and
          f"'{cut}' changed while it was being read" in err, f"{p.returncode} {err}")
    check("cut within its last mapped page: no output", not os.path.exists(path("never-cut.h5")) and not temp_leftovers())


def test_sigbus_sent_to_a_mapped_run():
    """--read posix-map: a SIGBUS sent by kill (not a fault of a mapping) still ends the run as it
    would without the mapping's handler (it was swallowed, and the run exited 0)."""
    p, first = start_in_pass([PRSVD, "svd", spec(), "-k", "10", "-q", "100", "--memory", "64K", "--read",
                              "posix-map", "-o", path("never-bus.h5"), "--progress"])
    if p.poll() is None:
        os.kill(p.pid, signal.SIGBUS)
    _, err = p.communicate(timeout=120)
    check("SIGBUS sent mid-pass: the run ends by it", p.returncode == -signal.SIGBUS, f"{p.returncode} {first}{err}")
    check("SIGBUS sent mid-pass: no output", not os.path.exists(path("never-bus.h5")) and not temp_leftovers())


def test_error_on_one_rank():
    """A NaN only in rank 2's rows: every rank exits 2, the message says which rank saw what."""
    a = np.random.default_rng(2).standard_normal((900, 40))
    a[700, 5] = np.nan
    with h5py.File(path("nan.h5"), "w") as f:
        f["A"] = a
    r = run(["svd", f"{path('nan.h5')}:/A", "-k", 3, "-o", path("never.h5")], ranks=3)
    check("error on rank 2 only: every rank exits 2", r.returncode == 2, f"{r.returncode} {r.stderr}")
    check("error on rank 2 only: the message says which rank saw what", "rank 2: " in r.stderr
          and "NaN at row 700, column 5" in r.stderr, r.stderr)


harness.main(globals())
