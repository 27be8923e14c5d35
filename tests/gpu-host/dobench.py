# triton's do_bench of the same calls kbench's peers make (kernels/peers/torch_attention.py,
# torch_gemm.py), for the kbench-vs-do_bench comparison of issue 17. do_bench empties the L2
# before every call and reports the mean; compare it with `kbench run --cache cold`.
#     python3 dobench.py 4096,16384 out.json
import json, sys, torch, triton
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

rows = []


def bench(name, fn):
    fn()
    mean = triton.testing.do_bench(fn, warmup=50, rep=300)
    med = triton.testing.do_bench(fn, warmup=10, rep=300, return_mode="median")
    rows.append({"what": name, "mean_us": mean * 1000, "median_us": med * 1000})
    print("dobench %-40s mean %9.1f us  median %9.1f us" % (name, mean * 1000, med * 1000), flush=True)


for n in [int(x) for x in sys.argv[1].split(",")]:
    for causal in (0, 1):
        q, k, v = (torch.randn(1, 16, n, 128, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        o = torch.empty_like(q)
        for be, bn in ((SDPBackend.FLASH_ATTENTION, "torch-flash"), (SDPBackend.CUDNN_ATTENTION, "torch-cudnn")):
            def f(q=q, k=k, v=v, causal=causal, be=be):
                with sdpa_kernel([be]):
                    o.copy_(F.scaled_dot_product_attention(q, k, v, is_causal=bool(causal)))
            bench("sdpa@%s n=%d causal=%d" % (bn, n, causal), f)

m = 8192
a = torch.randn(m, m, device="cuda", dtype=torch.bfloat16)
w = torch.randn(m, m, device="cuda", dtype=torch.bfloat16)
y = torch.empty(m, m, device="cuda", dtype=torch.bfloat16)
bench("gemm@torch-matmul bf16 8192", lambda: torch.matmul(a, w.t(), out=y))
a8, w8 = a.to(torch.float8_e4m3fn), w.to(torch.float8_e4m3fn)
one = torch.ones((), device="cuda")
bench("gemm@torch-scaled-mm e4m3 8192",
      lambda: torch._scaled_mm(a8, w8.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16, out=y))
ai = torch.randint(-127, 127, (m, m), device="cuda", dtype=torch.int8)
wi = torch.randint(-127, 127, (m, m), device="cuda", dtype=torch.int8)
yi = torch.empty(m, m, device="cuda", dtype=torch.int8)
col = torch.rand(1, m, device="cuda") * 1e-4
bench("gemm@torch-int-mm i8 8192",
      lambda: yi.copy_(torch.clamp(torch.round(torch._int_mm(ai, wi.t()) * col), -127, 127)))
json.dump(rows, open(sys.argv[2], "w"), indent=1)
