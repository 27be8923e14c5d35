# flash_attn_attention.py - the FlashAttention packages (`pip install flash-attn`, and
# FlashAttention-3's `flash_attn_interface` on Hopper) as implementations of attention.softmax,
# where they are importable; elsewhere their cases are skipped, saying which package is missing.
#
#     kbench run --plugin flash_attn_attention.py --kernels 'attention.flash@cuda*,attention.fa*' ...
#
# kbench's [B, H, N, d] tensors are laid out [B, N, H, d] (the packages' order) in setup; the
# output is laid back in collect; both untimed, as for kbench's own kernels.
import kbench


def _setup(case, module, function):
    import importlib
    import torch
    fn = getattr(importlib.import_module(module), function)
    s = case.shape
    if s["decode"]:
        raise kbench.Unsupported("decode is not wired up for %s here" % module)
    dtype = {"f16": torch.float16, "bf16": torch.bfloat16}[case.dtype]
    torch.cuda.set_stream(torch.cuda.ExternalStream(case.stream))
    q, k, v = (kbench.as_torch(case, n).transpose(1, 2).contiguous().to(dtype) for n in ("q", "k", "v"))
    o = kbench.as_torch(case, "o")
    causal = bool(s["causal"])
    out = [None]

    def run():
        r = fn(q, k, v, causal=causal)
        out[0] = r[0] if isinstance(r, tuple) else r  # FA3 returns (out, lse)

    def collect():
        o.copy_(out[0].transpose(1, 2))

    return run, collect


@kbench.implementation("attention.softmax", name="attention.fa2", impl="cuda.flash-attn", device="cuda",
                       dtypes=["f16", "bf16"], description="FlashAttention-2 package: flash_attn.flash_attn_func")
def fa2(case):
    return _setup(case, "flash_attn", "flash_attn_func")


@kbench.implementation("attention.softmax", name="attention.fa3", impl="cuda.flash-attn-3", device="cuda",
                       dtypes=["f16", "bf16"], description="FlashAttention-3 (Hopper): flash_attn_interface.flash_attn_func")
def fa3(case):
    return _setup(case, "flash_attn_interface", "flash_attn_func")
