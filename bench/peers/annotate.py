#!/usr/bin/python3
"""Add the process wall clock and the CPU taken by other processes (see contention.py)
to the JSON a peer printed, and optionally the memory a memwatch.py run sampled and labels.

usage: annotate.py --t0 S --t1 S --cpu0 MARK --cpu1 MARK [--memwatch SUMMARY.json]
                   [--rc RC] [--set KEY=VALUE ...] < peer.json >> results.jsonl
The input may be one JSON object over several lines (prsvd --json).  With --rc other than
0, or input that is not JSON, the record says status "failed" and keeps the exit code.
VALUE is parsed as JSON when it can be (numbers, true), else kept as a string.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contention  # noqa: E402


def value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--t0", type=float, required=True)
    ap.add_argument("--t1", type=float, required=True)
    ap.add_argument("--cpu0", required=True)
    ap.add_argument("--cpu1", required=True)
    ap.add_argument("--memwatch")
    ap.add_argument("--rc", type=int, default=0)
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    text = sys.stdin.read()
    try:
        rec = json.loads(text)
    except ValueError:
        rec = {"status": "failed", "output_tail": text[-2000:]}
    if args.rc != 0:
        rec["status"] = "failed"
    rec.setdefault("status", "ok")
    rec["rc"] = args.rc
    wall = args.t1 - args.t0
    rec["process_wall_seconds"] = wall
    rec.update(contention.other_cpu(args.cpu0, args.cpu1, wall))
    if args.memwatch:
        try:
            with open(args.memwatch) as f:
                mw = json.load(f)
            rec["memwatch"] = {k: mw.get(k) for k in ("processes", "job_peak_rss_mib",
                                                      "job_peak_pss_mib", "children_max_rss_mib",
                                                      "interval")}
        except (OSError, ValueError):
            rec["memwatch"] = None
    for kv in args.set:
        k, _, v = kv.partition("=")
        rec[k] = value(v)
    print(json.dumps(rec))


if __name__ == "__main__":
    main()
