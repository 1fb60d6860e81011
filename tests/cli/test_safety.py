"""Nothing a user owns is destroyed (issue 14): the file a run reads is never its output or
its checkpoint, however the names differ; outputs that are devices, FIFOs, directories or
dangling links are refused; inputs that are not regular files are refused before they are
opened; a name that appeared during the run is not replaced without --force; FILE:/DS keeps
the file's other objects; a full disk ends with exit 3 and the previous output intact; stale
temporaries of killed runs are removed, by one sweep a run.  Each case checks the exit code, the message, that
the input and any previous output are byte-identical, and that no temporary remains."""
import hashlib
import os
import signal
import socket
import stat
import subprocess
import time

import h5py
import numpy as np

import harness
from harness import check, path, run, temp_leftovers

# some cases run from inside the work directory
harness.PRSVD, harness.WORK = os.path.abspath(harness.PRSVD), os.path.abspath(harness.WORK)
WORK = harness.WORK


def digest(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def refused(desc, r, code, words, intact=()):
    """r exited `code` naming every word of `words`; files in intact (path, digest) unchanged."""
    check(f"{desc}: exit {code}", r.returncode == code, f"exit {r.returncode}: {r.stderr}")
    missing = [w for w in words if w not in r.stderr]
    check(f"{desc}: the message names {words}", not missing, r.stderr)
    for p, d in intact:
        check(f"{desc}: '{os.path.basename(p)}' unchanged", os.path.exists(p) and digest(p) == d)
    check(f"{desc}: no temporary left", not temp_leftovers(), temp_leftovers())


def matrix_file(name, rows=300, cols=40):
    rng = np.random.default_rng(7)
    a = rng.standard_normal((rows, cols))
    with h5py.File(path(name), "w") as f:
        f["X"] = a
    return path(name)


def psd_file(name, n=60):
    rng = np.random.default_rng(8)
    b = rng.standard_normal((n, n))
    with h5py.File(path(name), "w") as f:
        f["G"] = b @ b.T
    return path(name)


def test_output_is_where_the_data_lives():
    """An input reached through an external link or a virtual dataset reads another file:
    that file is never an output or a checkpoint either, even with --force (svd, pca, id, cur
    and a checkpoint wrote over it, exit 0, and its /A was gone); refused with exit 1 naming it."""
    data = path("lives.h5")
    with h5py.File(data, "w") as f:
        f["A"] = np.random.default_rng(3).standard_normal((20, 10))
    with h5py.File(path("ext.h5"), "w") as f:
        f["A"] = h5py.ExternalLink("lives.h5", "/A")
    lay = h5py.VirtualLayout((20, 10), "f8")
    lay[:] = h5py.VirtualSource("lives.h5", "A", shape=(20, 10))
    with h5py.File(path("vds.h5"), "w") as f:
        f.create_virtual_dataset("A", lay)
    d = digest(data)
    for spec in ("ext.h5:/A", "vds.h5:/A"):
        for cmd in (["svd", "-k", "3"], ["pca", "-k", "3"], ["id", "-k", "3"], ["cur", "-k", "3"]):
            for ranks in (1, 2):
                r = run([cmd[0], path(spec), *cmd[1:], "-o", data, "--force"], ranks=ranks if ranks > 1 else None)
                refused(f"{cmd[0]} of {spec} -o the file it reads --force at {ranks} rank(s)", r, 1,
                        ["a file this run reads", "lives.h5"], [(data, d)])
        r = run(["svd", path(spec), "-k", "3", "-o", path("ck_out.h5"), "--force", "--checkpoint", data])
        refused(f"svd of {spec} --checkpoint the file it reads", r, 1, ["a file this run reads"], [(data, d)])


def test_output_is_the_input():
    inp = matrix_file("in.h5")
    d = digest(inp)
    os.makedirs(path("sub"), exist_ok=True)
    os.symlink("in.h5", path("link.h5"))
    os.link(inp, path("hard.h5"))
    here = os.getcwd()
    os.chdir(WORK)
    try:
        names = ["in.h5", "./in.h5", "sub/../in.h5", os.path.abspath("in.h5"), "link.h5", "hard.h5"]
        for ranks, outs in ((1, names), (2, names[1:3])):
            for out in outs:
                r = run(["svd", "in.h5:/X", "-k", "3", "-o", out, "--force"], ranks=ranks if ranks > 1 else None)
                refused(f"svd -o {out} --force of in.h5 at {ranks} rank(s)", r, 1, ["same file", out, "in.h5"],
                        [(inp, d)])
        for cmd in (["pca", "in.h5:/X", "-k", "3"], ["svd", "in.h5:/X", "-k", "3", "--passes", "1"],
                    ["svd", "in.h5:/X", "--tol", "0.5", "--passes", "2"]):
            r = run(cmd + ["-o", "./in.h5", "--force"], ranks=2)
            refused(f"{' '.join(cmd[:1] + cmd[3:])} -o ./in.h5 --force", r, 1, ["same file"], [(inp, d)])
    finally:
        os.chdir(here)
    g = psd_file("g.h5")
    dg = digest(g)
    r = run(["eig", f"{g}:/G", "-k", "3", "-o", g, "--force"], ranks=2)
    refused("eig -o its own input --force", r, 1, ["same file"], [(g, dg)])
    with h5py.File(path("factors.h5"), "w") as f:
        grp = f.create_group("fc")
        grp["A"] = np.eye(5) * 2.0
        grp["G"] = np.eye(4) * 3.0
    fac = path("factors.h5")
    dfac = digest(fac)
    r = run(["kfac", fac, "-o", fac, "--force", "--method", "eig"])
    refused("kfac -o its own input --force", r, 1, ["same file"], [(fac, dfac)])
    r = run(["import", os.path.relpath(fac, os.getcwd()), "-o", f"{fac}:/Y", "--force"])
    refused("import -o FILE:/Y where FILE is the input", r, 1, ["same file"], [(fac, dfac)])


def test_checkpoint_is_another_file():
    inp = matrix_file("ck_in.h5")
    d = digest(inp)
    out = path("ck_out.h5")
    r = run(["svd", f"{inp}:/X", "-k", "3", "-o", out, "--checkpoint", out])
    refused("--checkpoint equal to -o", r, 1, ["same file", "checkpoint"], [(inp, d)])
    check("--checkpoint equal to -o: nothing written", not os.path.exists(out))
    r = run(["svd", f"{inp}:/X", "-k", "3", "-o", out, "--checkpoint", inp], ranks=2)
    refused("--checkpoint equal to the input", r, 1, ["same file", "checkpoint"], [(inp, d)])
    r = run(["svd", f"{inp}:/X", "-k", "3", "-o", out, "--checkpoint", path("nowhere/ck.h5")])
    refused("--checkpoint in a missing directory, refused at start", r, 3, ["checkpoint directory", "nowhere"])
    check("--checkpoint in a missing directory: no output", not os.path.exists(out))


def test_outputs_that_are_not_files():
    inp = matrix_file("nf_in.h5")
    base = ["svd", f"{inp}:/X", "-k", "3"]
    # a device node of its own (as /dev/null is): a buggy build must not replace the real one
    dev = path("null")
    try:
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except OSError:
        dev = "/dev/null"
        print("# cannot make a device node here: trying /dev/null itself")
    for target, words in ((dev, ["character device", "even with --force"]),
                          (path("adir"), ["directory"]), (path("fifo.h5"), ["FIFO"])):
        if target.endswith("adir"):
            os.makedirs(target, exist_ok=True)
        if target.endswith("fifo.h5"):
            os.mkfifo(target)
        r = run(base + ["-o", target, "--force"], ranks=2)
        refused(f"-o {os.path.basename(target)} --force", r, 3, words)
    check("the device is still a character device", stat.S_ISCHR(os.lstat(dev).st_mode))
    check("the FIFO is still a FIFO", stat.S_ISFIFO(os.lstat(path("fifo.h5")).st_mode))
    r = run(base + ["-o", ""])
    refused("-o ''", r, 3, ["output path is empty"])
    r = run(base + ["-o", path("adir") + "/"])
    refused("-o dir/", r, 3, ["names a directory"])
    r = run(base + ["-o", path("missing/out.h5")])
    refused("-o in a missing directory", r, 3, ["does not exist", "missing"])
    os.symlink("nowhere.h5", path("dangling.h5"))
    r = run(base + ["-o", path("dangling.h5")])
    refused("-o a dangling link without --force", r, 3, ["exists", "--force"])
    r = run(base + ["-o", path("dangling.h5"), "--force", "--quiet"])
    check("-o a dangling link with --force: exit 0", r.returncode == 0, r.stderr)
    check("-o a dangling link with --force: the link is replaced by the file, its target not created",
          os.path.isfile(path("dangling.h5")) and not os.path.islink(path("dangling.h5"))
          and not os.path.exists(path("nowhere.h5")))


def test_inputs_that_are_not_files():
    os.mkfifo(path("in.fifo"))
    os.makedirs(path("in.dir"), exist_ok=True)
    for spec, words in ((path("in.fifo") + ":/X", ["FIFO", "not a regular file"]),
                        ("/dev/zero:/X", ["character device"]), (path("in.dir") + ":/X", ["directory"])):
        for cmd in (["svd", spec, "-k", "2", "-o", path("nf.h5")], ["info", spec]):
            try:
                r = run(cmd, ranks=2, timeout=60)
            except subprocess.TimeoutExpired:
                check(f"{cmd[0]} of {spec} ends", False, "timed out after 60 s (blocked in open?)")
                continue
            refused(f"{cmd[0]} of {os.path.basename(spec)}", r, 2, words)
    np.save(path("x.npy"), np.ones((3, 3)))
    os.mkfifo(path("y.npy"))
    try:
        r = run(["import", path("y.npy"), "-o", path("imp.h5") + ":/Y"], timeout=60)
        refused("import of a FIFO", r, 2, ["FIFO"])
    except subprocess.TimeoutExpired:
        check("import of a FIFO ends", False, "timed out (blocked in open?)")


def race_once(out, ranks):
    """Start a run, stop rank 0 (SIGSTOP) as soon as its temporary exists, create the output
    name as another writer would, let the run go on.  None if the run committed first."""
    tmp_prefix = "." + os.path.basename(out) + ".tmp."
    cmd = [harness.PRSVD, "svd", path("race_in.h5") + ":/X", "-k", "300", "-q", "0", "-o", out, "--quiet"]
    if ranks > 1:
        cmd = [harness.MPIEXEC] + harness.MPIFLAGS + ["-n", str(ranks)] + cmd
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stopped = None
    while p.poll() is None and stopped is None:
        for n in os.listdir(WORK):
            pid = n.rsplit(".", 1)[1] if n.startswith(tmp_prefix) else ""
            try:  # only this run's rank 0, never a stale name's pid reused by another process
                mine = pid.isdigit() and b"prsvd" in open(f"/proc/{pid}/cmdline", "rb").read()
            except OSError:
                mine = False
            if mine:
                stopped = int(pid)
                os.kill(stopped, signal.SIGSTOP)
                break
        else:
            time.sleep(0.0005)
    if stopped is None or os.path.exists(out):
        if stopped:
            os.kill(stopped, signal.SIGCONT)
        p.communicate(timeout=300)
        return None
    with open(out, "wb") as f:
        f.write(b"the other run's result")
    os.kill(stopped, signal.SIGCONT)
    _, err = p.communicate(timeout=300)
    return p.returncode, err


def test_name_that_appears_is_not_replaced():
    """A second writer creates the output while the run writes it: the commit fails instead of
    replacing it (renameat2 RENAME_NOREPLACE, or link), and that file is kept byte for byte."""
    a = np.random.default_rng(3).standard_normal((20000, 400))
    with h5py.File(path("race_in.h5"), "w") as f:
        f["X"] = a
    out = path("race_out.h5")
    for ranks in (1, 2):
        got = None
        for _ in range(5):  # the run may commit before the poll sees its temporary: try again
            if os.path.exists(out):
                os.unlink(out)
            got = race_once(out, ranks)
            if got:
                break
        if not check(f"an output that appeared during the write at {ranks} rank(s): caught the write", got):
            continue
        code, err = got
        check(f"an output that appeared during the write at {ranks} rank(s): exit 3", code == 3, f"exit {code}: {err}")
        check(f"an output that appeared during the write at {ranks} rank(s): the message says so",
              "appeared while this run wrote it" in err, err)
        with open(out, "rb") as f:
            check(f"an output that appeared during the write at {ranks} rank(s): kept byte for byte",
                  f.read() == b"the other run's result")
        check(f"an output that appeared at {ranks} rank(s): no temporary left", not temp_leftovers(),
              temp_leftovers())


def test_dataset_in_a_file_keeps_the_others():
    f = path("multi.h5")
    with h5py.File(f, "w") as h:
        h["keep"] = np.arange(10.0)
        h.attrs["note"] = "hello"
        g = h.create_group("g")
        g["a"] = np.ones(3)
        g["Y"] = np.zeros(5)
        g.attrs["ga"] = 7
    r = run(["gen", f + ":/Y", "--rows", "50", "--cols", "10", "--quiet"])
    check("gen FILE:/Y into an existing file without /Y: exit 0", r.returncode == 0, r.stderr)
    d = digest(f)
    r = run(["gen", f + ":/Y", "--rows", "50", "--cols", "10", "--quiet"])
    refused("gen FILE:/Y again without --force", r, 3, ["already holds '/Y'", "--force"], [(f, d)])
    for ranks in (1, 2):
        r = run(["gen", f + ":/Y", "--rows", "60", "--cols", "10", "--quiet", "--force"], ranks=ranks if ranks > 1 else None)
        check(f"gen FILE:/Y --force at {ranks} rank(s): exit 0", r.returncode == 0, r.stderr)
    r = run(["gen", f + ":/g/Y", "--rows", "7", "--cols", "3", "--quiet", "--force"], ranks=2)
    check("gen FILE:/g/Y --force: exit 0", r.returncode == 0, r.stderr)
    np.save(path("m.npy"), np.arange(20.0).reshape(4, 5))
    r = run(["import", path("m.npy"), "-o", f + ":/npy", "--quiet"])
    check("import into the same file: exit 0", r.returncode == 0, r.stderr)
    with h5py.File(f, "r") as h:
        check("FILE:/DS --force kept the other datasets, groups and attributes",
              sorted(h.keys()) == ["Y", "g", "keep", "npy"] and np.array_equal(h["keep"][:], np.arange(10.0))
              and h.attrs["note"] == "hello" and sorted(h["g"].keys()) == ["Y", "a"] and h["g"].attrs["ga"] == 7
              and np.array_equal(h["g/a"][:], np.ones(3)), f"{list(h.keys())} {dict(h.attrs)}")
        check("the replaced datasets are the new ones", h["Y"].shape == (60, 10) and h["g/Y"].shape == (7, 3)
              and np.array_equal(h["npy"][:], np.arange(20.0).reshape(4, 5)))
    check("no temporary left", not temp_leftovers(), temp_leftovers())


def test_stale_temporaries():
    inp = matrix_file("st_in.h5")
    host = socket.gethostname()
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = path(f".st_out.h5.tmp.{host}.{dead.pid}")
    live = path(f".st_out.h5.tmp.{host}.{os.getpid()}")
    other = path(f".st_out.h5.tmp.another-host.{dead.pid}")
    for p in (stale, live, other):
        with open(p, "w") as f:
            f.write("partial")
    r = run(["svd", f"{inp}:/X", "-k", "3", "-o", path("st_out.h5"), "--quiet"])
    check("a run beside stale temporaries: exit 0", r.returncode == 0, r.stderr)
    check("the killed run's temporary on this host is removed, and the run says so",
          not os.path.exists(stale) and "removed" in r.stderr and os.path.basename(stale) in r.stderr, r.stderr)
    check("a live process's temporary and another host's are kept", os.path.exists(live) and os.path.exists(other))
    for p in (live, other):
        os.unlink(p)


def test_stale_sweep_runs_once():
    """The sweep for stale temporaries reads an output's directory once a run (it ran at the
    check before the work and again as the writer was made), and says what it removed once:
    svd and id, counted by strace's opens of the directory."""
    import shutil
    if not shutil.which("strace"):
        check("strace is missing: the sweep's count is not measured (skipped)", True)
        return
    inp = matrix_file("sw_in.h5")
    d = path("sweep")
    os.makedirs(d, exist_ok=True)
    for cmd in ["svd", "id"]:
        dead = subprocess.Popen(["true"])
        dead.wait()
        stale = os.path.join(d, f".out.h5.tmp.{socket.gethostname()}.{dead.pid}")
        with open(stale, "w") as f:
            f.write("partial")
        trace = path("sweep.trace")
        # LeakSanitizer cannot run under ptrace: a sanitized program (tests/quality) leaves it off here
        env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
        r = subprocess.run(["strace", "-f", "-e", "trace=openat", "-o", trace, harness.PRSVD, cmd, f"{inp}:/X", "-k", "3",
                            "-o", os.path.join(d, "out.h5"), "--force", "--quiet"], capture_output=True, text=True, env=env)
        with open(trace) as f:
            sweeps = sum(1 for line in f if f'"{d}", O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY' in line)
        check(f"{cmd}: exit 0, the stale temporary removed and said so once",
              r.returncode == 0 and not os.path.exists(stale) and r.stderr.count("removed") == 1, r.stderr)
        check(f"{cmd}: the output's directory swept once ({sweeps})", sweeps == 1, sweeps)


def mount_small(size_kib):
    d = path("small")
    os.makedirs(d, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", d], capture_output=True, text=True)
    return d if r.returncode == 0 else None


def test_disk_full():
    """A file system with no room: refused before the temporary is created, or when its space is
    reserved; never a crash inside HDF5's close, the previous output intact, no temporary."""
    inp = matrix_file("df_in.h5", 3000, 100)
    d = mount_small(1400)
    if d is None:
        print("# skip: cannot mount a tmpfs here (not root, or no mount namespace)")
        return
    try:
        prev = os.path.join(d, "out.h5")
        r = run(["svd", f"{inp}:/X", "-k", "5", "-o", prev, "--quiet"])
        check("disk full: a first small output fits", r.returncode == 0, r.stderr)
        dprev = digest(prev)
        free = os.statvfs(d).f_bavail * os.statvfs(d).f_frsize
        for leave_kib in (0, 4, 200):  # no room at all, room for the superblock only, for metadata only
            filler = os.path.join(d, "filler")
            with open(filler, "wb") as f:
                f.write(b"\0" * max(free - leave_kib * 1024, 0))
            for ranks in (1, 2):
                r = run(["svd", f"{inp}:/X", "-k", "50", "-o", prev, "--force", "--quiet"],
                        ranks=ranks if ranks > 1 else None)
                left = [n for n in os.listdir(d) if ".tmp." in n]
                check(f"disk full, {leave_kib} KiB free, {ranks} rank(s): exit 3, no crash",
                      r.returncode == 3, f"exit {r.returncode}: {r.stderr}")
                check(f"disk full, {leave_kib} KiB free, {ranks} rank(s): the message says so",
                      "disk full" in r.stderr, r.stderr)
                check(f"disk full, {leave_kib} KiB free, {ranks} rank(s): previous output intact, no temporary",
                      digest(prev) == dprev and not left, left)
            os.unlink(filler)
    finally:
        subprocess.run(["umount", d], capture_output=True)


harness.main(globals())
