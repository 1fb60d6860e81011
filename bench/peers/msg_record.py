#!/usr/bin/python3
"""One JSON line from a run under bench/msgcount.sh: rank 0's MPI call counts
(bench/peers/pmpi_count.c) and every rank's messages and bytes on the wire (Open MPI's pml
monitoring, --mca pml_monitoring_enable 2: point-to-point messages, including those the
collectives make, counted where they are sent).

usage: msg_record.py --pmpi-dir D --prof-dir D --rc RC --json PRSVD_JSON [--set KEY=VALUE ...]
"""
import argparse
import glob
import json
import os
import re


def wire(prof_dir):
    """{rank: {"msgs": n, "bytes": b}} summed over the peers a rank sent to (I: internal,
    i.e. collectives, and E: the program's own point-to-point)."""
    out = {}
    for path in glob.glob(os.path.join(prof_dir, "*.prof")):
        with open(path) as f:
            for line in f:
                mt = re.match(r"^([IE])\t(\d+)\t(\d+)\t(\d+) bytes\t(\d+) msgs sent", line)
                if mt:
                    r = out.setdefault(int(mt.group(2)), {"msgs": 0, "bytes": 0})
                    r["msgs"] += int(mt.group(5))
                    r["bytes"] += int(mt.group(4))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pmpi-dir", required=True)
    ap.add_argument("--prof-dir", required=True)
    ap.add_argument("--rc", type=int, required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--ok-codes", default="0", help="exit codes that count as success (qb: 0,8)")
    ap.add_argument("--set", nargs="*", default=[])
    a = ap.parse_args()
    rec = {}
    for kv in a.set:
        k, _, v = kv.partition("=")
        try:
            rec[k] = json.loads(v)
        except ValueError:
            rec[k] = v
    ok = a.rc in [int(c) for c in a.ok_codes.split(",")]
    rec["rc"] = a.rc
    try:
        with open(os.path.join(a.pmpi_dir, "rank.0.json")) as f:
            rec["pmpi"] = json.load(f)
        with open(a.json) as f:
            js = json.load(f)
        rec.update({k: js.get(k) for k in ("passes", "bytes_read", "panel_rows")})
        rec["sketch_flops"] = (js.get("phases", {}).get("sketch") or {}).get("flops")
    except (OSError, ValueError):
        ok = False
    rec["wire"] = {str(k): v for k, v in sorted(wire(a.prof_dir).items())}
    rec["status"] = "ok" if ok else "failed"
    print(json.dumps(rec))


if __name__ == "__main__":
    main()
