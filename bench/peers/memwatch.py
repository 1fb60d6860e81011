#!/usr/bin/python3
"""Run a command and sample the memory of its whole process tree over time.

usage: memwatch.py --csv SAMPLES.csv --json SUMMARY.json [--interval S] [--match NAME ...] -- CMD ...

Every S seconds (default 0.05) it reads VmRSS and VmHWM from /proc/PID/status, and Pss from
/proc/PID/smaps_rollup, for the command and all its descendants (mpirun, its ranks, Python's
threads are one process).  SAMPLES.csv gets one line per sample and process: seconds since
start, pid, name, RSS and PSS in MiB, and the sums over the processes named by --match (all
processes when omitted) as pid 0, name "job".  SUMMARY.json gets the wall time, the exit code,
each matched process's peak RSS (the largest VmHWM seen, which the kernel keeps as a
high-water mark, so a peak between two samples is not missed unless the process exits within
the last interval) and peak PSS (the largest sampled: the kernel keeps no high-water mark of
it), the job's peaks (largest sampled sums of RSS and of PSS), and the largest ru_maxrss among
the waited-for descendants
(getrusage(RUSAGE_CHILDREN), a cross-check of the per-process peaks), and each process's
bytes read as last sampled from /proc/PID/io (rchar: through read calls, page cache
included; read_bytes: from the block device), which miss at most the last interval.
stdin/stdout/stderr pass through; the exit code is the command's.

RSS counts every page a process has mapped, so a sum over the ranks of a job counts the pages
they share (library code, Open MPI's shared-memory segments) once per rank.  PSS (proportional
set size) divides each page by the number of processes mapping it, so the sum of PSS over a
job counts a shared page once; it also gives a single process credit for library pages it
shares with unrelated processes on the machine.  The RSS sum is the conservative figure; the
PSS sum is the job's own share of memory.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time


def children_map():
    """{ppid: [pid, ...]} over all processes now."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        # the name is in parentheses and may hold spaces: split after the last ')'
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(root):
    kids, out, todo = children_map(), [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def status(pid):
    """(name, VmRSS KiB, VmHWM KiB) or None when the process is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return None
    if "VmRSS" not in fields:
        return None
    kib = lambda k: int(fields.get(k, "0 kB").split()[0])  # noqa: E731
    return fields["Name"].strip(), kib("VmRSS"), kib("VmHWM")


def pss_kib(pid):
    """Pss (KiB) of a process from /proc/PID/smaps_rollup, or None."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def io_counts(pid):
    """(rchar, read_bytes) of a process, or None."""
    try:
        with open(f"/proc/{pid}/io") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        return int(fields["rchar"]), int(fields["read_bytes"])
    except (OSError, KeyError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--match", nargs="*", default=None,
                    help="process names counted as the job (default: every process in the tree)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    if not cmd:
        ap.error("no command")

    t0 = time.monotonic()
    child = subprocess.Popen(cmd)
    peaks, pss_peaks, names, io, job_peak, job_pss_peak = {}, {}, {}, {}, 0.0, 0.0
    with open(args.csv, "w") as out:
        out.write("seconds,pid,name,rss_mib,pss_mib\n")
        while child.poll() is None:
            t = time.monotonic() - t0
            job = job_pss = 0.0
            for pid in tree(child.pid):
                st = status(pid)
                if st is None:
                    continue
                name, rss, hwm = st
                if args.match is not None and name not in args.match:
                    continue
                names[pid] = name
                peaks[pid] = max(peaks.get(pid, 0), hwm)
                io[pid] = io_counts(pid) or io.get(pid)
                pss = pss_kib(pid)
                if pss is None:  # gone between the two reads: count its RSS
                    pss = rss
                pss_peaks[pid] = max(pss_peaks.get(pid, 0), pss)
                job += rss / 1024.0
                job_pss += pss / 1024.0
                out.write(f"{t:.3f},{pid},{name},{rss / 1024.0:.1f},{pss / 1024.0:.1f}\n")
            out.write(f"{t:.3f},0,job,{job:.1f},{job_pss:.1f}\n")
            job_peak = max(job_peak, job)
            job_pss_peak = max(job_pss_peak, job_pss)
            time.sleep(args.interval)
    wall = time.monotonic() - t0
    rc = child.returncode
    summary = {
        "command": cmd, "rc": rc, "wall_seconds": wall, "interval": args.interval,
        "processes": [{"pid": p, "name": names[p], "peak_rss_mib": peaks[p] / 1024.0,
                       "peak_pss_mib": pss_peaks[p] / 1024.0,
                       "rchar": io[p][0] if io.get(p) else None,
                       "read_bytes": io[p][1] if io.get(p) else None}
                      for p in sorted(peaks)],
        "job_peak_rss_mib": job_peak,
        "job_peak_pss_mib": job_pss_peak,
        "children_max_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0,
    }
    with open(args.json, "w") as f:
        json.dump(summary, f)
    sys.exit(rc if rc >= 0 else 128 - rc)


if __name__ == "__main__":
    main()
