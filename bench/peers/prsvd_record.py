#!/usr/bin/python3
"""Fold one prsvd run (svd --json, verify --json, /usr/bin/time %M files, wall clock)
into one JSON line for the results table.

usage: prsvd_record.py --matrix NAME --ranks P --threads T --t0 S --t1 S --rc RC
                       --svd-json F [--verify-json F] --rss F [F ...] [--stderr F] [--rep I]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contention  # noqa: E402


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_rss_mib(path):
    """GNU time -f %M writes the peak RSS in KiB (last line; earlier lines may be a
    'Command exited with non-zero status' note)."""
    try:
        with open(path) as f:
            lines = [ln.strip() for ln in f if ln.strip()]
        return int(lines[-1]) / 1024.0
    except (OSError, ValueError, IndexError):
        return None


def tail(path, n=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--matrix", required=True)
    ap.add_argument("--ranks", type=int, required=True)
    ap.add_argument("--threads", required=True)
    ap.add_argument("--t0", type=float, required=True)
    ap.add_argument("--t1", type=float, required=True)
    ap.add_argument("--rc", type=int, required=True)
    ap.add_argument("--verify-rc", type=int, default=0)
    ap.add_argument("--svd-json", required=True)
    ap.add_argument("--verify-json", help="prsvd verify --json output (omit for unverified repetitions)")
    ap.add_argument("--rep", type=int, default=1, help="repetition number")
    ap.add_argument("--rss", nargs="+", required=True)
    ap.add_argument("--stderr")
    ap.add_argument("--command")
    ap.add_argument("--cpu0", help="CPU mark before the run (see contention.py)")
    ap.add_argument("--cpu1", help="CPU mark after the run")
    args = ap.parse_args()

    svd = read_json(args.svd_json) if args.rc == 0 else None
    ver = (read_json(args.verify_json)
           if args.verify_json and args.rc == 0 and args.verify_rc == 0 else None)
    rec = {
        "matrix": args.matrix, "method": "prsvd", "ranks": args.ranks, "threads": args.threads,
        "rep": args.rep,
        "status": "ok" if args.rc == 0 and svd is not None else "failed",
        "rc": args.rc, "verify_rc": args.verify_rc, "command": args.command,
        "wall_seconds": args.t1 - args.t0,
        "rss_mib": [read_rss_mib(p) for p in args.rss],
    }
    rec.update(contention.other_cpu(args.cpu0, args.cpu1, args.t1 - args.t0))
    if svd is not None:
        rec.update({k: svd.get(k) for k in ("rows", "cols", "rank", "oversample", "power_iters",
                                              "passes", "extra_pass", "panel_rows", "bytes_read",
                                              "file_bytes_read", "read_path", "elapsed_seconds", "nprocs")})
        rec["phase_seconds"] = {k: v.get("time_max") for k, v in svd.get("phases", {}).items()}
    if ver is not None:
        rec.update({k: ver.get(k) for k in ("residual_fro", "optimal_residual_fro",
                                             "residual_over_optimal", "relative_residual_fro",
                                             "orthogonality_u", "orthogonality_v",
                                             "singular_value_error")})
    if rec["status"] != "ok" or args.verify_rc != 0:
        rec["stderr_tail"] = tail(args.stderr) if args.stderr and os.path.exists(args.stderr) else None
    print(json.dumps(rec))


if __name__ == "__main__":
    main()
