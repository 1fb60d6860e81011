#!/usr/bin/python3
"""Add the process wall clock and the CPU taken by other processes (see contention.py)
to the one-line JSON a peer printed.

usage: annotate.py --t0 S --t1 S --cpu0 MARK --cpu1 MARK < peer.json >> results.jsonl
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contention  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--t0", type=float, required=True)
    ap.add_argument("--t1", type=float, required=True)
    ap.add_argument("--cpu0", required=True)
    ap.add_argument("--cpu1", required=True)
    args = ap.parse_args()
    rec = json.loads(sys.stdin.read())
    wall = args.t1 - args.t0
    rec["process_wall_seconds"] = wall
    rec.update(contention.other_cpu(args.cpu0, args.cpu1, wall))
    print(json.dumps(rec))


if __name__ == "__main__":
    main()
