# ratios.py - the peers table of issue 17 from one kbench database: every kbench kernel beside
# every peer for the same problem, as median time and the ratio baseline/this (>1: faster than
# the baseline peer). Baselines: cuDNN SDPA (softmax), fla (linear, GLA, Lightning), cuBLASLt
# (GEMMs, same dtype). Every run of the database, or one.   python3 ratios.py kbench.db [RUN_ID]
import sqlite3, sys
from collections import defaultdict

db = sqlite3.connect(sys.argv[1])
runs = [int(sys.argv[2])] if len(sys.argv) > 2 else [r[0] for r in db.execute("SELECT id FROM runs")]
cols = [r[1] for r in db.execute("PRAGMA table_info(cases)")]
axes = [c for c in ("batch", "heads", "seq_len", "head_dim", "causal", "decode", "decay", "chunk", "gemm_m",
                    "gemm_n", "gemm_k", "input_dist", "window_len", "tokens") if c in cols]
q = ("SELECT c.kernel, c.impl, c.dtype, c.status, s.median_s, s.flops_per_s, " + ", ".join("c." + a for a in axes) +
     " FROM cases c LEFT JOIN stats s ON s.case_id = c.id WHERE c.run_id IN (RUNS) AND c.device LIKE 'cuda%' ORDER BY c.run_id, c.seq_no")


def group_of(kernel, dtype):
    if kernel in ("attention.flash", "attention.sdpa", "attention.softmax", "attention.int8"):
        return "softmax"
    if kernel.startswith("gemm") or kernel.startswith("quant.gemm"):
        return "gemm " + dtype
    return kernel


BASE = {"softmax": "attention.sdpa@cuda.torch-cudnn", "attention.gla": "attention.gla@cuda.fla-chunk",
        "attention.lightning": "attention.lightning@cuda.fla-simple-gla", "attention.delta": "attention.delta@cuda.fla-chunk"}
groups = defaultdict(list)
for r in db.execute(q.replace("RUNS", ",".join("?" * len(runs))), runs):
    kernel, impl, dtype, status, med, fps = r[:6]
    shape = dict(zip(axes, r[6:]))
    if shape.get("decode") is None and "decode" in shape:
        shape["decode"] = 0  # kernels without a decode axis measure prefill
    g = group_of(kernel, dtype)
    key = (g,) + tuple((a, v) for a, v in shape.items() if v is not None and not (g.startswith("gemm") and a in ("batch", "heads")))
    groups[key].append((kernel + "@" + impl, dtype, status, med, fps))

print("| problem | implementation | dtype | median | TFLOP/s | x baseline |")
print("|---|---|---|---|---|---|")
for key, rows in groups.items():
    g = key[0]
    shape = dict(key[1:])
    base = BASE.get(g)
    if g == "attention.linear":
        base = "attention.linear@cuda.fla-simple-gla" if shape.get("decay") else "attention.linear@cuda.fla-chunk"
    if g.startswith("gemm"):
        base = "gemm.dense@cuda.cublaslt"
    bt = next((m for k, _, st, m, _ in rows if k == base and m), None)
    label = g + " " + " ".join("%s=%s" % (a, v) for a, v in shape.items() if a not in ("heads", "head_dim"))
    for k, dt, st, m, fps in rows:
        if not m:
            print("| %s | %s | %s | %s | | |" % (label, k, dt, st))
            continue
        ratio = "%.2fx" % (bt / m) if bt else ""
        if k == base:
            ratio = "baseline"
        t = "%.1f us" % (m * 1e6) if m < 1e-3 else "%.3f ms" % (m * 1e3)
        print("| %s | %s | %s | %s | %s | %s |" % (label, k, dt, t, "%.0f" % (fps / 1e12) if fps else "", ratio))
