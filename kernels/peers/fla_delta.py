# fla_delta.py - the Triton delta-rule kernels of flash-linear-attention (fla, `pip install
# fla-core`) as implementations of kbench's attention.delta (DeltaNet, Gated DeltaNet),
# measured and verified beside kbench's own kernels:
#
#     kbench run --plugin fla_delta.py --kernels 'attention.delta*' --dtype bf16 ...
#
# Each computes kbench's definition (kernels/attention/delta_ops.h), or refuses the cases it
# would get wrong:
#   attention.delta@cuda.fla-chunk        DeltaNet (decay 0): fla's chunk_delta_rule;
#   attention.delta@cuda.fla-gated-chunk  fla's chunk_gated_delta_rule with kbench's log-gates
#                                         (all zero for decay 0, so it runs both variants).
# Both L2-normalise q and k inside the call (use_qk_l2norm_in_kernel=True), as the definition
# asks, with fla's default scale 1/sqrt(d). beta goes in as given (up to 2 on odd heads: fla's
# chunked kernels take any beta; its allow_neg_eigval only doubles a sigmoid it applies
# itself), in the dtype of q as fla's layers pass it, so beta is rounded to f16/bf16 here
# while the reference uses the float32 value: a relative error of 2^-9 (bf16) per beta, far
# inside the dtype's bound. Decode is refused: the chunked kernels take whole sequences.
# kbench's [B, H, N, d] tensors are laid out [B, N, H, d] (fla's order) once in setup; the
# output is laid back in collect. Both are untimed, as kbench's own kernels' conversions are.
import kbench


def _common(case):
    import torch
    s = case.shape
    if s.get("decode"):
        raise kbench.Unsupported("decode: fla's chunked delta-rule kernels take whole sequences")
    if s.get("chunk") not in (None, 0, 64):
        raise kbench.Unsupported("fla's delta-rule kernels run with chunk 64 here (kbench's chunk axis: %s)"
                                 % s.get("chunk"))
    dtype = {"f16": torch.float16, "bf16": torch.bfloat16}[case.dtype]
    torch.cuda.set_stream(torch.cuda.ExternalStream(case.stream))

    def load(name, to):
        # [B, H, N, ...] -> [B, N, H, ...]
        t = torch.as_tensor(case.inputs[name], device="cuda")
        return t.transpose(1, 2).contiguous().to(to)

    q, k, v = load("q", dtype), load("k", dtype), load("v", dtype)
    beta = load("beta", dtype)
    o = torch.as_tensor(case.outputs["o"], device="cuda")
    return torch, s, load, q, k, v, beta, o


@kbench.implementation("attention.delta", name="attention.delta", impl="cuda.fla-chunk", device="cuda",
                       dtypes=["f16", "bf16"],
                       description="fla chunk_delta_rule (Triton), DeltaNet, q/k L2-normalised in the kernel")
def fla_delta(case):
    from fla.ops.delta_rule import chunk_delta_rule
    torch, s, load, q, k, v, beta, o = _common(case)
    if s.get("decay"):
        raise kbench.Unsupported("chunk_delta_rule has no gate: decay 1 is attention.delta@cuda.fla-gated-chunk's")
    out = [None]

    def run():
        out[0], _ = chunk_delta_rule(q, k, v, beta, use_qk_l2norm_in_kernel=True)

    def collect():
        o.copy_(out[0].transpose(1, 2))

    return run, collect


@kbench.implementation("attention.delta", name="attention.delta", impl="cuda.fla-gated-chunk", device="cuda",
                       dtypes=["f16", "bf16"],
                       description="fla chunk_gated_delta_rule (Triton), Gated DeltaNet with kbench's float32 "
                                   "log-gates, q/k L2-normalised in the kernel")
def fla_gated_delta(case):
    from fla.ops.gated_delta_rule import chunk_gated_delta_rule
    torch, s, load, q, k, v, beta, o = _common(case)
    g = load("log_gate", torch.float32)  # [B, N, H], log alpha (zero for decay 0)
    out = [None]

    def run():
        out[0], _ = chunk_gated_delta_rule(q, k, v, g, beta, use_qk_l2norm_in_kernel=True)

    def collect():
        o.copy_(out[0].transpose(1, 2))

    return run, collect
