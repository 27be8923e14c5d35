# torch_gemm.py - PyTorch's GEMMs as implementations of kbench's `gemm` operation
# (C = A·Wᵀ, kernels/gemm/gemm_ops.h), beside quant.gemm_int8, quant.gemm_fp8 and cuBLAS:
#
#     kbench run --plugin torch_gemm.py --kernels 'gemm*,quant.gemm_*' --dtype i8,e4m3 --m 8192 ...
#
#   gemm@cuda.torch-matmul     f16/bf16/f32: torch.matmul (cuBLAS underneath);
#   gemm@cuda.torch-int-mm     i8: torch._int_mm (int32 accumulation) and the requantization to
#                              int8 as PyTorch users write it, in the timed call;
#   gemm@cuda.torch-scaled-mm  e4m3: torch._scaled_mm with per-tensor scales, bf16 out.
import kbench


def _prepare(case):
    import torch
    torch.cuda.set_stream(torch.cuda.ExternalStream(case.stream))
    return torch


@kbench.implementation("gemm", name="gemm", impl="cuda.torch-matmul", device="cuda", dtypes=["f32", "f16", "bf16"],
                       description="torch.matmul(A, W.t()) into Y (cuBLAS through PyTorch)")
def torch_matmul(case):
    torch = _prepare(case)
    if case.dtype == "f32":
        torch.backends.cuda.matmul.allow_tf32 = False  # the operation's f32 is IEEE float32
    a, w, y = kbench.as_torch(case, "a"), kbench.as_torch(case, "w"), kbench.as_torch(case, "y")

    def run():
        torch.matmul(a, w.t(), out=y)

    return run


@kbench.implementation("gemm", name="gemm", impl="cuda.torch-int-mm", device="cuda", dtypes=["i8"],
                       description="torch._int_mm (int32 accumulate) + requantization to int8 (float epilogue)")
def torch_int_mm(case):
    torch = _prepare(case)
    s = case.shape
    if s["m"] <= 16 or s["k"] % 8 or s["n"] % 8:
        raise kbench.Unsupported("torch._int_mm needs M > 16 and K, N multiples of 8")
    a, w, y = kbench.as_torch(case, "a"), kbench.as_torch(case, "w"), kbench.as_torch(case, "y")
    scales = kbench.as_torch(case, "scales").float()
    # s_a * s_w[n] / s_y per output column, once (untimed)
    col = (kbench.as_torch(case, "w_scales").float() * scales[0] / scales[1]).view(1, -1)
    wt = w.t()

    def run():
        acc = torch._int_mm(a, wt)
        y.copy_(torch.clamp(torch.round(acc * col), -127, 127))

    return run


@kbench.implementation("gemm", name="gemm", impl="cuda.torch-scaled-mm", device="cuda", dtypes=["e4m3"],
                       description="torch._scaled_mm, e4m3 x e4m3, per-tensor scales, bf16 out")
def torch_scaled_mm(case):
    torch = _prepare(case)
    s = case.shape
    if s["k"] % 16 or s["n"] % 16:
        raise kbench.Unsupported("torch._scaled_mm needs K and N multiples of 16")
    a, w, y = kbench.as_torch(case, "a"), kbench.as_torch(case, "w"), kbench.as_torch(case, "y")
    scales = kbench.as_torch(case, "scales")
    sa = scales[0:1].float().reshape(())
    sw = kbench.as_torch(case, "w_scales")[0:1].float().reshape(())
    wt = w.t()

    def run():
        torch._scaled_mm(a, wt, scale_a=sa, scale_b=sw, out_dtype=torch.bfloat16, out=y)

    return run
