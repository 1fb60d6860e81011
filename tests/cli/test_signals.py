"""Signals at any moment: every signal that would end prsvd (SIGINT, SIGTERM, SIGHUP, SIGQUIT,
SIGALRM, SIGXCPU, SIGPIPE, and SIGUSR1 without --checkpoint) at start (pending before main, so
before MPI_Init, and as soon as the handler shows in /proc), mid-pass and during the output
write, on 1 and 2 ranks, sent to a rank, to every rank or to mpirun: the exit code 128 + the
signal (mpirun's own 1 for the SIGINT, SIGTERM and SIGHUP it turns into SIGTERM for the ranks),
the message with the signal's name, nothing renamed into place unless it was complete, a
previous output byte for byte, no temporary.  Signals just before and just after the rename,
one on another thread while the rename is under way, and a rank killed outright."""
import os
import platform
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import MPIEXEC, MPIFLAGS, PRSVD, TOP, WORK, check, gen, load, path, temp_leftovers  # noqa: E402

SIGNALS = ["INT", "TERM", "HUP", "QUIT", "ALRM", "XCPU", "PIPE", "USR1"]
ENDING = [getattr(signal, "SIG" + s) for s in SIGNALS + ["USR2", "VTALRM"]]
BIG = gen("big.h5", 20000, 400, "--spectrum", "poly")      # mid-pass runs take seconds
SMALL = gen("small.h5", 3000, 200, "--spectrum", "poly")   # write runs are quick
LONG = ["-k", 10, "-q", 100, "--memory", "32K"]
# a job signalled mid-pass that runs to its end (mpirun ignores SIGPIPE): 163-row panels (62
# steps a pass a rank), 101 passes, about 2 s on an idle machine, so still mid-pass when
# signalled half a second in.  LONG's 5-row panels made 21 passes of it 6 CPU-s (5 of them
# system time, in the reader's hand-offs of 2000 panels a pass) and minutes on a loaded node.
RUN_OUT = ["-k", 10, "-q", 100, "--memory", "1M"]
TIMEOUT = 120  # seconds for a job to end once signalled: generous for a loaded node


def program():
    """The program itself, not libtool's wrapper script of a build tree: bash running the
    wrapper would take a pending SIGQUIT before prsvd starts (installed, prsvd is the binary)."""
    real = os.path.join(TOP, ".libs", "prsvd")
    with open(PRSVD, "rb") as f:
        script = f.read(2) == b"#!"
    if script and os.path.exists(real):
        libs = os.path.join(TOP, ".libs")
        return real, {"LD_LIBRARY_PATH": os.pathsep.join(filter(None, [libs, os.environ.get("LD_LIBRARY_PATH")]))}
    return PRSVD, {}


def start(args, ranks=1, env=None, block=None):
    """Start prsvd (under mpirun for ranks > 1) with every ending signal at its default, as a
    launcher hands them down (a shell's `cmd &` would hand down SIGINT and SIGQUIT ignored),
    and `block` blocked."""
    exe, extra = program()
    cmd = [exe] + [str(a) for a in args]
    if ranks > 1:
        cmd = [MPIEXEC] + MPIFLAGS + ["-n", str(ranks)] + cmd

    return launch(cmd, extra, env, block)


def launch(cmd, extra, env=None, block=None):
    """Popen of cmd with every ending signal at its default and `block` blocked, as a launcher
    hands them down."""
    def child():
        for s in ENDING:
            signal.signal(s, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, {block} if block else set())
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **extra, **(env or {})), preexec_fn=child)


def status(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
    except OSError:
        return {}


def has(pid, field, sig):
    """Signal sig is in the /proc mask `field` (SigCgt: caught) of pid."""
    v = status(pid).get(field)
    return v is not None and (int(v, 16) >> (sig - 1)) & 1 == 1


def is_prsvd(pid):
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")) == "prsvd"
    except OSError:
        return False


def children(pid):
    """The pids of pid's children (from /proc/PID/task/PID/children where the kernel has it)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return f.read().split()
    except OSError:
        return [d for d in os.listdir("/proc") if d.isdigit() and status(d).get("PPid") == str(pid)]


def ranks_of(p, ranks, until=None, timeout=60):
    """{rank: pid} of the running prsvd processes of job p (p itself for 1 rank), once each
    satisfies until(pid) (default: it is the program); {} if that did not happen in time."""
    until = until or (lambda pid: True)
    deadline = time.time() + timeout
    while time.time() < deadline and p.poll() is None:
        if ranks == 1:
            found = {0: p.pid} if is_prsvd(p.pid) else {}
        else:
            found = {}
            for d in children(p.pid):
                if is_prsvd(int(d)):
                    try:
                        with open(f"/proc/{d}/environ", "rb") as f:
                            env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
                        found[int(env[b"OMPI_COMM_WORLD_RANK"])] = int(d)
                    except (OSError, KeyError, ValueError):
                        pass
        if len(found) == ranks and all(until(pid) for pid in found.values()):
            return found
        time.sleep(0.002)
    return {}


def stopped(pid):
    return status(pid).get("State", "").startswith("T")


def computing(pid):
    """MPI_Init is over (Open MPI catches SIGSEGV from then on) and the passes are under way."""
    return has(pid, "SigCgt", signal.SIGSEGV)


def gone(pids, timeout=30):
    """The processes pids have all ended (zombies count) within the timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(status(pid).get("State", "Z").startswith(("Z", "X")) for pid in pids):
            return True
        time.sleep(0.05)
    return False


def end(p, pids=(), timeout=TIMEOUT):
    """Wait for job p; on a timeout kill it and its ranks. (returncode or None, stderr)."""
    try:
        _, err = p.communicate(timeout=timeout)
        return p.returncode, err
    except subprocess.TimeoutExpired:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        p.kill()
        _, err = p.communicate()
        return None, err


def nothing_left(out):
    return not os.path.exists(out) and not temp_leftovers()


def clean(*names):
    for n in names:
        if os.path.exists(n):
            os.unlink(n)


def message(name, out=None):
    if out:
        return f"prsvd: interrupted: '{out}' was written in full (SIG{name})"
    return f"prsvd: interrupted: no output written (SIG{name})"


def previous(out):
    """A previous output that a run with --force would replace."""
    data = f"the previous output of {out}\n".encode()
    with open(out, "wb") as f:
        f.write(data)
    return data


def unchanged(out, data):
    with open(out, "rb") as f:
        return f.read() == data


def test_pending_at_start():
    """A signal that arrives before prsvd's handlers could exist (blocked by the launcher from
    before exec, so pending): handled first thing in main, before MPI_Init.  (mpirun unblocks
    every signal for its ranks: 2 ranks are signalled at start in test_at_start.)"""
    for name in SIGNALS:
        sig = getattr(signal, "SIG" + name)
        out, what = path(f"pending.{name}.h5"), f"SIG{name} pending at start"
        p = start(["svd", BIG, *LONG, "-o", out, "--quiet"], block=sig)
        os.kill(p.pid, sig)
        rc, err = end(p, [p.pid])
        check(f"{what}: exit {128 + sig}, says so", rc == 128 + sig and message(name) in err, f"{rc} {err[-600:]}")
        check(f"{what}: no output, no temporary", nothing_left(out), os.listdir(WORK))


def test_at_start():
    """A signal as soon as the handler shows in /proc (mostly still before or inside
    MPI_Init): 1 rank, and one rank of 2 (the other must not wait for it)."""
    early = 0
    for name in SIGNALS:
        sig = getattr(signal, "SIG" + name)
        for ranks in [1, 2]:
            out, what = path(f"start.{name}.{ranks}.h5"), f"{ranks} rank(s), SIG{name} at start"
            p = start(["svd", BIG, *LONG, "-o", out, "--quiet"], ranks)
            pids = ranks_of(p, ranks, until=lambda pid: has(pid, "SigCgt", sig))
            victim = pids.get(ranks - 1)  # rank 1 of 2: silent, and rank 0 must not wait for it
            if victim:
                early += not computing(victim)
                os.kill(victim, sig)
            rc, err = end(p, pids.values())
            if ranks == 1:
                ok = rc == 128 + sig and message(name) in err
            else:  # mpirun: the first rank's code; it ends rank 0 with SIGTERM, which says so
                ok = rc == 128 + sig and message("TERM") in err
            check(f"{what}: the job ends, exit {128 + sig}, a message", victim and ok, f"{victim} {rc} {err[-600:]}")
            check(f"{what}: no output, no temporary", nothing_left(out), os.listdir(WORK))
    print(f"# {early} of {2 * len(SIGNALS)} signals at start came before MPI_Init was over")


def test_peer_ended_before_mpi_init():
    """Rank 1 of 2 ends before its MPI_Init (the signal pending when it starts: an MPMD second
    app blocks it, raises it and execs prsvd), so rank 0 waits in MPI_Init's handshake for a
    peer that never comes until mpirun's SIGTERM and, a second later, SIGKILL: rank 0 still says
    no output was written (it says so when the signal comes, not when MPI_Init returns)."""
    exe, extra = program()
    for name in ["TERM", "QUIT", "INT"]:
        sig = getattr(signal, "SIG" + name)
        out, what = path(f"peer.{name}.h5"), f"2 ranks, SIG{name} pending at rank 1's start"
        args = ["svd", BIG, *LONG, "-o", out, "--quiet"]
        pending = ("import os, signal, sys; s = int(sys.argv[1]); "
                   "signal.pthread_sigmask(signal.SIG_BLOCK, {s}); os.kill(os.getpid(), s); "
                   "os.execv(sys.argv[2], sys.argv[2:])")
        cmd = [MPIEXEC] + MPIFLAGS + ["-n", "1", exe, *map(str, args), ":",
                                      "-n", "1", sys.executable, "-c", pending, str(int(sig)), exe, *map(str, args)]
        p = launch(cmd, extra)
        rc, err = end(p)
        check(f"{what}: the job ends, exit {128 + sig}, rank 0 says SIGTERM ended it",
              rc == 128 + sig and message("TERM") in err, f"{rc} {err[-600:]}")
        check(f"{what}: no output, no temporary", nothing_left(out), os.listdir(WORK))


def test_mid_pass():
    """A signal during the passes: to the only rank, to every rank of 2 (as scancel does), and
    to mpirun, which turns SIGINT, SIGTERM and SIGHUP into SIGTERM for the ranks and exits 1,
    forwards SIGALRM, SIGXCPU and SIGUSR1, ignores SIGPIPE, and dies of SIGQUIT."""
    for name in SIGNALS:
        sig = getattr(signal, "SIG" + name)
        for ranks, to in [(1, "the rank"), (2, "every rank"), (2, "mpirun")]:
            out, what = path(f"mid.{name}.{ranks}.h5"), f"{ranks} rank(s), SIG{name} to {to} mid-pass"
            # mpirun ignores SIGPIPE: that job runs to its end, so it takes RUN_OUT's 21 passes
            ignored = to == "mpirun" and name == "PIPE"
            p = start(["svd", BIG, *(RUN_OUT if ignored else LONG), "-o", out, "--quiet"], ranks)
            pids = ranks_of(p, ranks, until=computing)
            time.sleep(0.5)
            running = bool(pids) and p.poll() is None
            if to == "mpirun" and running:
                p.send_signal(sig)
            else:
                for pid in pids.values():
                    os.kill(pid, sig)
            rc, err = end(p, pids.values(), 5 * TIMEOUT if ignored else TIMEOUT)
            check(f"{what}: still running when signalled", running)
            if ignored:
                check(f"{what}: mpirun ignores it, the run completes", rc == 0 and os.path.exists(out), f"{rc} {err[-600:]}")
                clean(out)
                continue
            if to == "mpirun" and name == "QUIT":
                check(f"{what}: mpirun dies of it, the ranks end", rc == -sig and gone(pids.values()), f"{rc} {err[-600:]}")
            elif to == "mpirun" and name in ("INT", "TERM", "HUP"):
                check(f"{what}: mpirun exits 1, rank 0 says SIGTERM ended it", rc == 1 and message("TERM") in err, f"{rc} {err[-600:]}")
            else:
                check(f"{what}: exit {128 + sig}, says so", rc == 128 + sig and message(name) in err, f"{rc} {err[-600:]}")
            check(f"{what}: no output, no temporary", nothing_left(out), os.listdir(WORK))


def test_during_write():
    """A signal once U is in the temporary (PRSVD_TEST_SIGTERM_AT_WRITE=1 raises
    PRSVD_TEST_SIGNAL on every rank), replacing a previous output with --force."""
    for ranks in [1, 2]:
        for name in SIGNALS:
            sig = getattr(signal, "SIG" + name)
            out, what = path(f"write.{ranks}.h5"), f"{ranks} rank(s), SIG{name} during the write"
            data = previous(out)
            p = start(["svd", SMALL, "-k", 5, "-o", out, "--quiet", "--force"], ranks,
                      env={"PRSVD_TEST_SIGTERM_AT_WRITE": "1", "PRSVD_TEST_SIGNAL": str(int(sig))})
            rc, err = end(p)
            check(f"{what}: exit {128 + sig}, no output written", rc == 128 + sig and message(name) in err, f"{rc} {err[-600:]}")
            check(f"{what}: the previous output byte for byte, no temporary", unchanged(out, data) and not temp_leftovers(),
                  os.listdir(WORK))


def test_to_mpirun_during_write():
    """SIGINT, SIGTERM, SIGHUP and SIGUSR1 to mpirun while the ranks are inside the write (held
    there by the test hook with SIGSTOP): stopped until mpirun's signal reaches them, and
    running again (the test continues them first), so that they reach their rename within the
    second between mpirun's SIGCONT and its SIGTERM."""
    for name, running in [("INT", False), ("TERM", False), ("HUP", False), ("USR1", False),
                          ("INT", True), ("TERM", True), ("HUP", True)]:
        sig = getattr(signal, "SIG" + name)
        out = path("mpirun.write.h5")
        what = f"SIG{name} to mpirun during the write, ranks {'running' if running else 'stopped'}"
        data = previous(out)
        p = start(["svd", SMALL, "-k", 5, "-o", out, "--quiet", "--force"], 2,
                  env={"PRSVD_TEST_SIGTERM_AT_WRITE": "1", "PRSVD_TEST_SIGNAL": str(int(signal.SIGSTOP))})
        pids = ranks_of(p, 2, until=stopped)
        if pids and running:
            for pid in pids.values():
                os.kill(pid, signal.SIGCONT)
            p.send_signal(sig)
        elif pids:
            p.send_signal(sig)
            deadline = time.time() + 30  # until the ranks have it (mpirun continues them itself)
            while time.time() < deadline and not all(has(pid, "ShdPnd", signal.SIGTERM if name != "USR1" else sig)
                                                      or not stopped(pid) for pid in pids.values()):
                time.sleep(0.01)
            for pid in pids.values():
                try:
                    os.kill(pid, signal.SIGCONT)
                except OSError:
                    pass
        rc, err = end(p, pids.values())
        code, said = (1, "TERM") if name != "USR1" else (128 + sig, name)
        check(f"{what}: exit {code}, says no output was written",
              bool(pids) and rc == code and message(said) in err, f"{pids} {rc} {err[-600:]}")
        check(f"{what}: the previous output byte for byte, no temporary", unchanged(out, data) and not temp_leftovers(),
              os.listdir(WORK))


def test_around_the_rename():
    """SIGTERM just before rename() (PRSVD_TEST_SIGTERM_AT_WRITE=rename): nothing is renamed,
    the previous output stays; just after it (=renamed), before the run could note it: the run
    says the output was written in full, and it equals an uninterrupted run's."""
    for ranks in [1, 2]:
        ref = reference(ranks)
        for point in ["rename", "renamed"]:
            out, what = path(f"around.{ranks}.h5"), f"{ranks} rank(s), SIGTERM {'before' if point == 'rename' else 'after'} rename()"
            data = previous(out)
            p = start(["svd", SMALL, "-k", 5, "-o", out, "--quiet", "--force"], ranks,
                      env={"PRSVD_TEST_SIGTERM_AT_WRITE": point})
            rc, err = end(p)
            if point == "rename":
                check(f"{what}: exit 143, no output written", rc == 143 and message("TERM") in err, f"{rc} {err[-600:]}")
                check(f"{what}: the previous output byte for byte, no temporary",
                      unchanged(out, data) and not temp_leftovers(), os.listdir(WORK))
            else:
                check(f"{what}: exit 143, says the output was written in full",
                      rc == 143 and message("TERM", out) in err and "no output written" not in err, f"{rc} {err[-600:]}")
                check(f"{what}: the output is the uninterrupted run's, no temporary",
                      not unchanged(out, data) and same(out, ref) and not temp_leftovers(), os.listdir(WORK))


def same(a, b):
    x, y = load(a), load(b)
    return all(abs(u - v).max() <= 1e-12 for u, v in zip(x[:3], y[:3]))


def reference(ranks):
    ref = path(f"ref.{ranks}.h5")
    if not os.path.exists(ref):
        r = harness.run(["svd", SMALL, "-k", 5, "-o", ref, "--quiet"], ranks=ranks if ranks > 1 else None)
        check(f"{ranks} rank(s): uninterrupted reference", r.returncode == 0, r.stderr)
    return ref


def tgkill(pid, tid, sig):
    """Signal one thread of another process (tgkill(2)); False where its number is unknown."""
    import ctypes
    number = {"x86_64": 234, "aarch64": 131}.get(platform.machine())
    if number is None:
        return False
    return ctypes.CDLL(None, use_errno=True).syscall(number, pid, tid, sig) == 0


def test_other_thread_during_rename():
    """SIGTERM handled on another thread than the one inside the rename (stopped there by the
    hook just after rename(), the signal sent to another of its threads, then continued): the
    handler waits for the rename's outcome and says the output was written in full."""
    out, ref, what = path("thread.h5"), reference(1), "SIGTERM to another thread during the rename"
    previous(out)
    p = start(["svd", SMALL, "-k", 5, "-o", out, "--quiet", "--force"], 1,
              env={"PRSVD_TEST_SIGTERM_AT_WRITE": "renamed", "PRSVD_TEST_SIGNAL": str(int(signal.SIGSTOP))})
    pids = ranks_of(p, 1, until=stopped)
    threads = [int(t) for t in os.listdir(f"/proc/{p.pid}/task") if int(t) != p.pid
               and not has(f"{p.pid}/task/{t}", "SigBlk", signal.SIGTERM)] if pids else []
    sent = bool(threads) and tgkill(p.pid, threads[0], signal.SIGTERM)
    if pids:
        os.kill(p.pid, signal.SIGCONT)
    rc, err = end(p, pids.values())
    check(f"{what}: stopped after rename(), the signal sent to thread {threads[:1]}", sent, f"{pids} {threads}")
    check(f"{what}: exit 143, says the output was written in full",
          rc == 143 and message("TERM", out) in err and "no output written" not in err, f"{rc} {err[-600:]}")
    check(f"{what}: the output is the uninterrupted run's, no temporary",
          os.path.exists(ref) and same(out, ref) and not temp_leftovers(), os.listdir(WORK))


def test_rank_killed():
    """A rank killed outright (SIGKILL) mid-run: the other ends within the timeout; no output,
    no temporary.  (One that a signal ends at start: test_at_start.)"""
    out, what = path("killed.h5"), "2 ranks, SIGKILL to rank 1 mid-run"
    p = start(["svd", BIG, *LONG, "-o", out, "--quiet"], 2)
    pids = ranks_of(p, 2, until=computing)
    if pids:
        os.kill(pids[1], signal.SIGKILL)
    rc, err = end(p, pids.values())
    check(f"{what}: the job ends with a nonzero exit", bool(pids) and rc not in (None, 0), f"{pids} {rc} {err[-600:]}")
    check(f"{what}: no output, no temporary", nothing_left(out), os.listdir(WORK))


def test_checkpoint_stop_at_start():
    """With --checkpoint, SIGUSR1 pending at start still means: save at the first panel
    boundary and exit 99."""
    out, ck, what = path("stop.h5"), path("stop.ck.h5"), "SIGUSR1 pending at start with --checkpoint"
    p = start(["svd", BIG, *LONG, "-o", out, "--quiet", "--checkpoint", ck], 1, block=signal.SIGUSR1)
    os.kill(p.pid, signal.SIGUSR1)
    rc, err = end(p)
    check(f"{what}: exit 99, checkpoint written, no output",
          rc == 99 and "prsvd: checkpointed" in err and os.path.exists(ck) and nothing_left(out), f"{rc} {err[-600:]}")


harness.main(globals())
