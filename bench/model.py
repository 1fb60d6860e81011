#!/usr/bin/python3
"""The performance model of docs/performance.md, as code: per pass over A, the bytes read,
the flops and the MPI collectives (calls and payload) of every prsvd algorithm, as functions
of m, n, k (l = k + p) and P; a predicted time on a stated machine; and a check of the
message model against counts measured here (bench/msgcount.sh).

usage:
  model.py predict [--m M --n N --k K --p P --q Q --dtype-bytes S] [--ranks 1,10,100,1000]
                   [--fs-gbs 100 --gflops 30 --node-gbs 12.5 --ranks-per-node 32
                    --latency-us 2 --client-gbs 10] [--grid-cols 1,4,...]
  model.py node [--m M --n N --k K --p P --cores 64 --splits 1x64,8x8,64x1 --gflops 30
                 --mem-gbs 200 --copy-gbs 5 --read-gbs 10 --memory-mb 512]
                                      (one node's pass with P ranks x T threads)
  model.py check RESULTS.jsonl        (what bench/msgcount.sh measured; prints the table)

Payload of a collective: the logical size of the vector it combines (the convention of
bench/peers/pmpi_count.c); bytes on the wire per rank follow from the algorithm MPI picks
(wire_bytes below: bandwidth-optimal ring / Rabenseifner bounds).
"""
import argparse
import json
import math
import sys

N_PROBES = 10   # Gaussian probes of the error estimate (prsvd.h PRSVD_SVD_PARAMS_INIT)
N_THETA = 10    # left probes of the single-pass error estimate (onepass.c)
N_PAIRS = 1000  # sampled symmetric pairs of eig (eig.c)
AGREE = ("MPI_Allreduce", 4)  # prsvd_error_agree after every pass: one int


def subspace(m, n, k, p, q, npr=N_PROBES, symmetric=False):
    """Randomized subspace iteration (rsvd.c; also revd on a square A, and pca).
    q + 1 passes; each Y = A X and H = A^T Y; between passes X = orth(H) replicated."""
    l = min(k + p, m, n)
    passes = []
    for j in range(q + 1):
        last = j == q
        right = l + (npr if last else 0)
        coll = [AGREE]
        if symmetric and j == 0:
            coll.append(("MPI_Allreduce", 8 * 2 * N_PAIRS))  # the sampled pairs of A and A^T
        coll.append(("MPI_Reduce_scatter", 8 * n * l))       # H, summed and split by rows
        if not last:
            coll += [("MPI_Allreduce", 8 * l * l)] * 3       # CholeskyQR2 of H: 2 Grams + check
            coll.append(("MPI_Allgatherv", 8 * n * l))       # X = orth(H), replicated
        passes.append({"flops": 2 * m * n * right + 2 * m * n * l, "coll": coll})
    return {"passes": passes, "l": l,
            # per rank: X replicated, H's partial sum, the reduce-scatter and allgather
            # buffers (n x l each), and 1/P of Y (m x (l + probes)) and H
            "replicated": n * (l + npr) + 3 * n * l, "distributed": m * (l + npr) + n * l,
            "end": "CholeskyQR2 of Y (3 Allreduce 8l^2), B^T = H R^-1, QR of B^T (3 Allreduce 8l^2), "
                   "small SVD on rank 0 (3 Bcast), U = Q W, V = Q_B U_r, signs (Allgather 24kP), "
                   "estimate (Allreduce 8k*10, 80)"}


PANEL_BYTES = 4 << 20  # sketch.h PRSVD_PANEL_BYTES: a panel's ceiling
PANEL_MIN_ROWS = 256   # sketch.h PRSVD_PANEL_MIN_ROWS


def subspace_grid(m, n, k, p, q, P, pc, npr=N_PROBES):
    """Subspace iteration on a pr x pc grid (rsvd.c, --grid PRxPC, P = pr pc): rank (i, j)
    streams m/pr rows restricted to n/pc columns.  Each panel's A_i X_j is summed over the
    process row (an Allreduce among pc ranks, one a panel, so the co-range update sees whole
    rows of Y); H is reduce-scattered and X = orth(H) allgathered within the process column
    (pr ranks), n/pc rows each.  Collectives are (call, payload, ranks in the group, calls);
    pc = 1 is subspace() above."""
    pr = P // pc
    l = min(k + p, m, n)
    # rank 0's process row and column: pc and pr of the P x 1 row blocks (prsvd_dmat_span)
    rows, cols = min(m, pc * math.ceil(m / P)), min(n, pr * math.ceil(n / P))
    panel = min(max(PANEL_BYTES // (8 * cols), PANEL_MIN_ROWS), rows)
    full, rest = divmod(rows, panel)
    passes = []
    for j in range(q + 1):
        last = j == q
        right = l + (npr if last else 0)
        coll = [AGREE + (P, 1)]
        if pc > 1:  # the panel sums, with the failure flag
            coll.append(("MPI_Allreduce", 8 * panel * right + 8, pc, full))
            if rest:
                coll.append(("MPI_Allreduce", 8 * rest * right + 8, pc, 1))
        coll.append(("MPI_Reduce_scatter", 8 * cols * l, pr, 1))
        if not last:
            coll += [("MPI_Allreduce", 8 * l * l, P, 1)] * 3
            coll.append(("MPI_Allgatherv", 8 * cols * l, pr, 1))
        passes.append({"flops": 2 * m * n * right + 2 * m * n * l, "coll": coll})
    return {"passes": passes, "l": l,
            # per rank: X_j, H's partial sum and the two buffers (n/pc rows), a panel's sum
            "replicated": cols * (l + npr) + 3 * cols * l + (panel * (l + npr) if pc > 1 else 0),
            "distributed": m * (l + npr) + n * l}


def onepass(m, n, k, method="three"):
    """Single pass (onepass.c): k_s = 2k + 1, s = 2 k_s + 1, clipped to min(m, n)."""
    mn = min(m, n)
    ks = min(2 * k + 1, mn)
    s = min(max(2 * ks + 1, ks), mn)
    # replicated per rank: the right maps, the co-range sketch and its reduce-scatter buffer, S
    if method == "three":  # Y = A Omega^T and A Psi^T; X = Upsilon A; Z = Phi (A Psi^T); S = Theta A
        right, left = ks + s, ks
        flops = 2 * m * n * (ks + s) + 2 * m * n * ks + 2 * m * s * s + 2 * m * n * N_THETA
        coll = [AGREE, ("MPI_Reduce_scatter", 8 * n * ks), ("MPI_Allreduce", 8 * n * N_THETA),
                ("MPI_Allreduce", 8), ("MPI_Allreduce", 8 * s * s)]
    elif method == "two":  # Y = A Omega; W = Psi A; S = Theta A
        right, left = ks, s
        flops = 2 * m * n * ks + 2 * m * n * s + 2 * m * n * N_THETA
        coll = [AGREE, ("MPI_Reduce_scatter", 8 * n * s), ("MPI_Allreduce", 8 * n * N_THETA),
                ("MPI_Allreduce", 8)]
    else:  # hmt: Y = A Omega; Yt = A^T Omega_t; S = Theta A
        right, left = ks, ks
        flops = 2 * m * n * ks + 2 * m * n * ks + 2 * m * n * N_THETA
        coll = [AGREE, ("MPI_Reduce_scatter", 8 * n * ks), ("MPI_Allreduce", 8 * n * N_THETA),
                ("MPI_Allreduce", 8)]
    return {"passes": [{"flops": flops, "coll": coll}], "l": ks, "s": s,
            "replicated": n * right + 2 * n * left + n * N_THETA + s * s,
            "distributed": m * ks + n * left,
            "end": "CholeskyQR2 of Y and of X^T, small products with the test maps (Allreduce of k_s x s), "
                   "pseudo-inverses, small SVD, estimate"}


def qb(m, n, L, q):
    """randQB_FP (qb.c): q + 1 passes of width L = --max-rank, no probes; the blocked QB after
    them touches A no more (per block of b columns: 3 cross-products, 2 CholeskyQR2, a small
    SVD, one norm: about 13 small collectives)."""
    L = min(L, m, n)
    passes = []
    for j in range(q + 1):
        last = j == q
        coll = [AGREE, ("MPI_Reduce_scatter", 8 * n * L)]
        if not last:
            coll += [("MPI_Allreduce", 8 * L * L)] * 3 + [("MPI_Allgatherv", 8 * n * L)]
        passes.append({"flops": 4 * m * n * L, "coll": coll})
    return {"passes": passes, "l": L, "replicated": 4 * n * L, "distributed": 2 * m * L + n * L,
            "end": "blocked QB from G and H: per block ~13 small collectives of <= 8 L b bytes"}


def qb_ei(m, n, k, q, b=10):
    """randQB_EI (qb_ei.c, `--tol` without `--passes`): blocks of b fresh columns, each with q
    power passes, against the deflated A - QB; a pass forms A X (b columns) and A^T of [G | the
    pending Q_i] (up to 2b columns); t = ceil(k / b) blocks for a rank k cost t(q + 1) + 1
    passes.  The small collectives grow with the rank r reached (cross products of r x b)."""
    t = max(1, -(-k // b))
    passes = []
    for j in range(t * (q + 1) + 1):
        r = min(k, (j // (q + 1)) * b)  # rank reached before this pass
        coll = [AGREE, ("MPI_Reduce_scatter", 8 * n * 2 * b)]
        if j % (q + 1) != q:  # a power step follows: X = orth(A^T G - B^T (Q^T G)), replicated
            coll += [("MPI_Allreduce", 8 * r * b)] + [("MPI_Allreduce", 8 * b * b)] * 3 + \
                [("MPI_Allgatherv", 8 * n * b)]
        else:  # a new basis block: deflate twice against Q, CholeskyQR2 twice, append
            coll += [("MPI_Allreduce", 8 * r * b)] * 2 + [("MPI_Allreduce", 8 * b * b)] * 6 + \
                [("MPI_Allreduce", 8)] * 3
        passes.append({"flops": 2 * m * n * b + 2 * m * n * 2 * b, "coll": coll})
    return {"passes": passes, "l": k, "replicated": n * b + 2 * n * 2 * b,
            "distributed": 2 * m * min(k + b, m) + 2 * n * min(k + b, n),
            "end": "SVD of Q B (as randQB_FP)"}


def nystrom(n, k, p):
    """Stable Nystrom (eig.c): one pass Y = A Omega over a symmetric n x n A; Y stays distributed."""
    l = min(k + p, n)
    coll = [AGREE, ("MPI_Allreduce", 8 * 2 * N_PAIRS)]
    return {"passes": [{"flops": 2 * n * n * l, "coll": coll}], "l": l,
            "replicated": n * l, "distributed": n * l,
            "end": "||Y||_F (Allreduce 8), Omega^T Y (Allreduce 8 l^2), Cholesky on rank 0 (Bcast), "
                   "E = Y C^-1, CholeskyQR2 of E, small SVD, signs"}


ALGORITHMS = {
    "subspace": lambda m, n, k, p, q: subspace(m, n, k, p, q),
    "three": lambda m, n, k, p, q: onepass(m, n, k, "three"),
    "two": lambda m, n, k, p, q: onepass(m, n, k, "two"),
    "hmt": lambda m, n, k, p, q: onepass(m, n, k, "hmt"),
    "qb": lambda m, n, k, p, q: qb(m, n, k, q),   # k is --max-rank here
    "qb_ei": lambda m, n, k, p, q: qb_ei(m, n, k, q),  # k is the rank the tolerance needs
    "nystrom": lambda m, n, k, p, q: nystrom(n, k, p),
    "revd": lambda m, n, k, p, q: subspace(n, n, k, p, q, symmetric=True),
}


def wire_bytes(call, payload, P):
    """Bytes one rank sends for a collective with a bandwidth-optimal algorithm (ring
    reduce-scatter / allgather; Rabenseifner allreduce = reduce-scatter + allgather; a
    binomial-tree broadcast sends the payload up to log2 P times from the root)."""
    if P == 1:
        return 0.0
    f = (P - 1) / P
    return {"MPI_Reduce_scatter": f * payload, "MPI_Allgatherv": f * payload,
            "MPI_Allgather": f * payload, "MPI_Allreduce": 2 * f * payload,
            "MPI_Bcast": payload * math.ceil(math.log2(P))}.get(call, payload)


def steps(call, payload, P):
    """Messages one rank sends in a collective: P - 1 for a ring (reduce-scatter, allgather,
    large allreduce), log2 P for recursive doubling (small allreduce, broadcast)."""
    if P == 1:
        return 0
    ring = call in ("MPI_Reduce_scatter", "MPI_Allgatherv", "MPI_Allgather") or payload > 65536
    return 2 * (P - 1) if ring and call == "MPI_Allreduce" else P - 1 if ring else math.ceil(math.log2(P))


def coll_time(call, payload, P, alpha, beta):
    """Time of one collective: latency term + bandwidth term (alpha s, beta bytes/s per rank)."""
    return steps(call, payload, P) * alpha + wire_bytes(call, payload, P) / beta if P > 1 else 0.0


def predict_pass(ps, m, n, s_bytes, P, mach, square=False):
    """Seconds of one pass on P ranks: max(read, compute) + communication after it (a
    collective (call, payload) is over all P ranks once; (call, payload, group, calls) over a
    group of that many ranks, that many times)."""
    rows = n if square else m
    read_bytes = rows * n * s_bytes
    io_bw = min(mach["fs"], mach["client"] * math.ceil(P / mach["rpn"]))
    t_read = read_bytes / io_bw
    t_comp = ps["flops"] / (P * mach["flops"])
    beta = mach["node"] / min(P, mach["rpn"])  # ranks of a node share its link
    coll = groups(ps["coll"], P)
    t_comm = sum(t * coll_time(c, b, g, mach["alpha"], beta) for c, b, g, t in coll)
    return {"read": t_read, "compute": t_comp, "comm": t_comm,
            "time": max(t_read, t_comp) + t_comm,
            "wire_bytes": sum(t * wire_bytes(c, b, g) for c, b, g, t in coll),
            "bound": "read" if t_read >= t_comp else "compute"}


def cmd_predict(a):
    mach = {"fs": a.fs_gbs * 1e9, "client": a.client_gbs * 1e9, "flops": a.gflops * 1e9,
            "node": a.node_gbs * 1e9, "rpn": a.ranks_per_node, "alpha": a.latency_us * 1e-6}
    ranks = [int(x) for x in a.ranks.split(",")]
    print(f"A = {a.m:.0f} x {a.n:.0f}, {a.dtype_bytes} bytes an entry ({a.m * a.n * a.dtype_bytes / 1e12:.2f} TB); "
          f"k = {a.k}, p = {a.p}, q = {a.q}; Lustre {a.fs_gbs} GB/s aggregate, {a.client_gbs} GB/s per node; "
          f"{a.gflops} GFLOP/s per rank; {a.ranks_per_node} ranks per node on a {a.node_gbs} GB/s link; "
          f"latency {a.latency_us} us")
    print(f"{'algorithm':10} {'P':>6} {'passes':>6} {'read s':>9} {'compute s':>10} {'comm s':>8} "
          f"{'total s':>9} {'bound':>8} {'wire MB/rank':>12} {'sketch GB/rank':>14}")
    for name, fn in ALGORITHMS.items():
        if name in ("nystrom", "revd"):
            continue  # square inputs: see the square scenario in docs/performance.md
        kk = 256 if name == "qb" else a.k + a.p if name == "qb_ei" else a.k
        for P in ranks:
            grids = [int(c) for c in a.grid_cols.split(",")] if name == "subspace" else [1]
            for pc in grids:
                if P % pc:
                    continue
                mdl = subspace_grid(a.m, a.n, kk, a.p, a.q, P, pc) if pc > 1 else fn(a.m, a.n, kk, a.p, a.q)
                label = f"{name} {P // pc}x{pc}" if pc > 1 else name
                ts = [predict_pass(ps, a.m, a.n, a.dtype_bytes, P, mach) for ps in mdl["passes"]]
                mem = (mdl["replicated"] + mdl["distributed"] / P) * 8 / 1e9
                print(f"{label:10} {P:6d} {len(ts):6d} {sum(t['read'] for t in ts):9.1f} "
                      f"{sum(t['compute'] for t in ts):10.1f} {sum(t['comm'] for t in ts):8.3f} "
                      f"{sum(t['time'] for t in ts):9.1f} {ts[0]['bound']:>8} "
                      f"{sum(t['wire_bytes'] for t in ts) / 1e6:12.1f} {mem:14.2f}")


# ---- the check against bench/msgcount.sh ----------------------------------------------------

def measured_calls(rec, large_only):
    """{routine: (calls, bytes)} of rank 0 from a pmpi_count record."""
    out = {}
    for k, v in rec["pmpi"].items():
        if k.startswith("MPI_"):
            out[k] = (v["large_calls"], v["large_bytes"]) if large_only else (v["calls"], v["bytes"])
    return out


def groups(colls, P):
    """Collectives as (call, payload, ranks in the group, calls): (call, payload) is once over P."""
    return [c if len(c) == 4 else (c[0], c[1], P, 1) for c in colls]


def model_calls(colls, large, P=1):
    out = {}
    for c, b, _, t in groups(colls, P):
        if large is None or b >= large:
            n, s = out.get(c, (0, 0))
            out[c] = (n + t, s + t * b)
    return out


def cmd_check(path):
    recs = [json.loads(line) for line in open(path) if line.strip()]
    by = {(r["algorithm"], r["ranks"], r["q"]): r for r in recs if r.get("status") == "ok"}
    rows, rows_wire, bad = [], [], 0
    for (alg, P, q), r in sorted(by.items()):
        m, n, k, p, large = r["m"], r["n"], r["k"], r["p"], r["large"]
        if alg.startswith("grid"):  # subspace iteration on a pr x pc grid: "grid2x2"
            mdl = subspace_grid(m, n, k, p, q, P, int(alg.split("x")[1]))
        else:
            mdl = ALGORITHMS[alg](m, n, k, p, q)
        if alg in ("subspace", "qb", "revd") or alg.startswith("grid"):
            prev = by.get((alg, P, q - 1))
            if not prev:
                continue
            # one more pass: the difference of two runs is one pass before the last
            meas = {c: (a[0] - prev_a[0], a[1] - prev_a[1])
                    for c, a in measured_calls(r, False).items()
                    for prev_a in [measured_calls(prev, False).get(c, (0, 0))]}
            meas = {c: v for c, v in meas.items() if v != (0, 0)}
            # pass_times adds 24 bytes a pass (wall and CPU time, max; wall, min) to the two
            # Allreduces at the end of the run: bookkeeping, not the algorithm
            if "MPI_Allreduce" in meas:
                meas["MPI_Allreduce"] = (meas["MPI_Allreduce"][0], meas["MPI_Allreduce"][1] - 24)
            middle = mdl["passes"][1] if len(mdl["passes"]) > 2 else mdl["passes"][0]
            pred = model_calls(middle["coll"], None, P)
            what = "one pass before the last (run q minus run q-1): every call"
            w0, w1 = prev.get("wire") or {}, r.get("wire") or {}
            wire = {rk: (w1[rk]["msgs"] - w0.get(rk, {}).get("msgs", 0),
                         w1[rk]["bytes"] - w0.get(rk, {}).get("bytes", 0)) for rk in w1}
            bound = sum(t * wire_bytes(c, b, g) for c, b, g, t in groups(middle["coll"], P))
            msgs = sum(t * steps(c, b, g) for c, b, g, t in groups(middle["coll"], P))
            rows_wire.append((alg, P, wire, bound, msgs))
        else:
            meas = {c: v for c, v in measured_calls(r, True).items() if v != (0, 0)}
            pred = model_calls(mdl["passes"][0]["coll"], large)
            what = f"the whole run, calls of >= {large} bytes (40n: the n-sized sketches)"
        ok = meas == pred
        bad += not ok
        rows.append((alg, P, q, what, pred, meas, ok))
    for alg, P, q, what, pred, meas, ok in rows:
        fmt = lambda d: "; ".join(f"{c[4:]} {v[0]} x {v[1]} B" for c, v in sorted(d.items())) or "none"  # noqa: E731
        print(f"{alg:8} P={P} q={q} [{what}]\n   model    {fmt(pred)}\n   measured {fmt(meas)}  "
              f"{'OK' if ok else 'MISMATCH'}")
    print(f"\n{len(rows) - bad} of {len(rows)} agree")
    print("\nOn the wire, one pass before the last (Open MPI pml monitoring, run q minus run q-1): "
          "messages and bytes each rank sent, against the bandwidth-optimal bound of the model")
    for alg, P, wire, bound, msgs in rows_wire:
        if P == 1:
            continue
        per = ", ".join(f"rank {rk}: {m} msgs {b} B" for rk, (m, b) in sorted(wire.items()))
        print(f"  {alg:8} P={P}: {per}; model {msgs} msgs {bound:.0f} B per rank")
    return 0 if bad == 0 else 1


# ---- one node: ranks x threads ---------------------------------------------------------------

def node_split(m, n, l, s_bytes, P, T, node):
    """One pass of subspace iteration over the m x n rows one node holds, on P ranks of T
    compute threads each (P T = the node's cores), after the rules of src/panel.c and
    src/pass_lanes.c: panels of max(256 rows, 4 MiB) a thread within half the rank's --memory
    (two buffers), thread t's rows of each panel multiplied by X, then (a barrier) its columns
    of H = A^T Y over all the panel's rows, added into the rank's H in place (no sums of its
    own to fold); one reader thread a rank, on a core of its rank's; the ranks' co-range sums
    reduce-scattered through the node's memory at the pass's end."""
    n = int(n)
    row = s_bytes * n
    per_thread = max(PANEL_MIN_ROWS, PANEL_BYTES // row)
    rows = max(1, min(T * per_thread, node["memory"] // row // 2))
    panels = math.ceil(m / P / rows)                       # a rank's panels a pass
    compute = 4 * m * n * l / (P * T * node["flops"])
    read_cpu = m * row / (P * node["copy"])               # the reader threads' copies (or inflate)
    read_link = m * row / node["read"]
    comm = (P - 1) * 8 * n * l / node["mem_bw"] if P > 1 else 0.0
    mem = P * (4 * n * l + N_PROBES * n) * 8 + P * 2 * rows * row \
        + m * (l + N_PROBES) * 8
    return {"rows": rows, "rows_thread": rows / T, "panels": panels, "compute": compute,
            "read_cpu": read_cpu, "read_link": read_link, "comm": comm,
            "barriers": 2 * panels if T > 1 else 0,
            # the reader threads have no cores of their own when P T is the node's cores: a
            # rank's copies delay its compute (and, through the barriers, its other threads)
            "time": max(compute + read_cpu, read_link) + comm, "memory": mem}


def cmd_node(a):
    node = {"flops": a.gflops * 1e9, "mem_bw": a.mem_gbs * 1e9, "copy": a.copy_gbs * 1e9,
            "read": a.read_gbs * 1e9, "memory": int(a.memory_mb * 2 ** 20)}
    l = a.k + a.p
    print(f"one node of {a.cores} cores: A's rows on it {a.m:.0f} x {a.n:.0f}, {a.dtype_bytes} bytes an entry; "
          f"l = {l}; {a.gflops} GFLOP/s a core, memory {a.mem_gbs} GB/s, a reader thread copies "
          f"{a.copy_gbs} GB/s, the node reads {a.read_gbs} GB/s; --memory {a.memory_mb:.0f} MiB a rank")
    print(f"{'ranks x threads':>15} {'panel rows':>10} {'rows/thread':>11} {'compute s':>9} "
          f"{'reader s':>8} {'comm s':>7} {'pass s':>7} {'memory GB':>9}")
    for split in a.splits.split(","):
        P, T = (int(x) for x in split.split("x"))
        if P * T != a.cores:
            sys.exit(f"model.py node: {split} is {P * T} threads, not the node's {a.cores} cores")
        r = node_split(a.m, a.n, l, a.dtype_bytes, P, T, node)
        print(f"{split:>15} {r['rows']:10d} {r['rows_thread']:11.0f} {r['compute']:9.2f} "
              f"{r['read_cpu']:8.2f} {r['comm']:7.3f} {r['time']:7.2f} {r['memory'] / 1e9:9.2f}")


def sizes(parser, m, n):
    """The options every model command takes: A's shape and entry size, k, p, a core's rate."""
    parser.add_argument("--m", type=float, default=m)
    parser.add_argument("--n", type=float, default=n)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--p", type=int, default=10)
    parser.add_argument("--dtype-bytes", type=int, default=8)
    parser.add_argument("--gflops", type=float, default=30.0)
    return parser


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    pr = sizes(sub.add_parser("predict"), 1e7, 1e5)
    pr.add_argument("--q", type=int, default=2)
    pr.add_argument("--ranks", default="1,10,100,1000")
    pr.add_argument("--fs-gbs", type=float, default=100.0)
    pr.add_argument("--client-gbs", type=float, default=10.0)
    pr.add_argument("--node-gbs", type=float, default=12.5)
    pr.add_argument("--ranks-per-node", type=int, default=32)
    pr.add_argument("--latency-us", type=float, default=2.0)
    pr.add_argument("--grid-cols", default="1", help="subspace iteration also on pr x pc grids, pc from this list")
    nd = sizes(sub.add_parser("node"), 2e6, 1e4)
    nd.add_argument("--cores", type=int, default=64)
    nd.add_argument("--splits", default="1x64,8x8,64x1")
    nd.add_argument("--mem-gbs", type=float, default=200.0)
    nd.add_argument("--copy-gbs", type=float, default=5.0)
    nd.add_argument("--read-gbs", type=float, default=10.0)
    nd.add_argument("--memory-mb", type=float, default=512)
    ck = sub.add_parser("check")
    ck.add_argument("results")
    a = ap.parse_args()
    if a.cmd == "predict":
        cmd_predict(a)
        return 0
    if a.cmd == "node":
        cmd_node(a)
        return 0
    return cmd_check(a.results)


if __name__ == "__main__":
    sys.exit(main())
