"""CPU time the rest of the machine used while one benchmark command ran.

run.sh takes a mark before and after each timed command: the busy CPU ticks of the whole
machine from /proc/stat, and the CPU time of the shell's finished children (bash `times`).
Busy time minus our own children's time is what other processes (and the kernel) used;
divided by the wall time it is the average number of cores they took from us.
"""
import os
import re

HZ = os.sysconf("SC_CLK_TCK")


def _parse(mark):
    """'BUSY_TICKS 0m1.23s 0m0.45s' -> (busy seconds, own children cpu seconds)."""
    parts = mark.split()
    busy = int(parts[0]) / HZ
    own = 0.0
    for p in parts[1:3]:
        m = re.fullmatch(r"(\d+)m([\d.]+)s", p)
        if m:
            own += int(m.group(1)) * 60 + float(m.group(2))
    return busy, own


def other_cpu(mark0, mark1, wall):
    """{'other_cpu_seconds': s, 'other_cores': s / wall} or {} when the marks are missing."""
    if not mark0 or not mark1:
        return {}
    b0, o0 = _parse(mark0)
    b1, o1 = _parse(mark1)
    other = max(0.0, (b1 - b0) - (o1 - o0))
    return {"other_cpu_seconds": other, "other_cores": other / wall if wall > 0 else None}
