# do_bench of the same calls the peers make, for the kbench-vs-do_bench comparison (issue 17).
import json, sys, torch, triton
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
rows = []
def bench(name, fn):
    ms = triton.testing.do_bench(fn, warmup=50, rep=300)
    rows.append({"what": name, "us": ms * 1000})
    print(name, "%.1f us" % (ms * 1000), flush=True)
for n in [int(x) for x in sys.argv[1].split(",")]:
    for causal in (0, 1):
        q, k, v = (torch.randn(1, 16, n, 128, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        for be, bn in ((SDPBackend.FLASH_ATTENTION, "flash"), (SDPBackend.CUDNN_ATTENTION, "cudnn")):
            def f(q=q, k=k, v=v, causal=causal, be=be):
                with sdpa_kernel([be]):
                    return F.scaled_dot_product_attention(q, k, v, is_causal=bool(causal))
            try:
                bench("sdpa-%s n=%d causal=%d" % (bn, n, causal), f)
            except Exception as e:
                print("sdpa-%s n=%d: %s" % (bn, n, str(e).split("\n")[0]))
json.dump(rows, open(sys.argv[2], "w"), indent=1)
