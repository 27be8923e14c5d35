# fla_attention.py - the Triton kernels of flash-linear-attention (fla, `pip install fla-core`)
# as implementations of kbench's linear-attention operations, measured and verified beside
# kbench's own kernels:
#
#     kbench run --plugin fla_attention.py --kernels 'attention.linear*,attention.gla*,attention.lightning*' ...
#
# Each computes exactly kbench's definition (kernels/attention/linear_ops.h), or is not
# registered for the cases it would get wrong:
#   attention.linear@cuda.fla-chunk        causal, no decay: fla's chunk_linear_attn
#                                          (normalize=True), the feature map applied in run;
#   attention.linear@cuda.fla-simple-gla   causal with per-head decay: fla's chunk_simple_gla
#                                          has no normaliser, so it runs twice (numerator, and
#                                          the normaliser as a one-column V) and divides;
#   attention.gla@cuda.fla-chunk           fla's chunk_gla with kbench's log gates;
#   attention.lightning@cuda.fla-simple-gla        fla's chunk_simple_gla in one call: it computes
#                                                  exactly attention.lightning (un-normalised, causal,
#                                                  per-head decay as a per-step log gate g = log λ_h,
#                                                  scale 1/√d);
#   attention.lightning@cuda.fla-simple-gla-gamma  the same kernel given the decay as its
#                                                  data-independent per-head g_gamma [H] instead.
# kbench's [B, H, N, d] tensors are laid out [B, N, H, d] (fla's order) once in setup; the
# output is laid back in collect. Both are untimed, as kbench's own kernels' conversions are.
import kbench


def _common(case):
    import torch
    s = case.shape
    if s.get("decode"):
        raise kbench.Unsupported("decode: fla's chunked kernels take whole sequences")
    dtype = {"f16": torch.float16, "bf16": torch.bfloat16}[case.dtype]
    torch.cuda.set_stream(torch.cuda.ExternalStream(case.stream))
    group = s["heads"] // s["kv_heads"]

    def load(name, repeat):
        t = torch.as_tensor(case.inputs[name], device="cuda")
        if repeat and group > 1:
            t = t.repeat_interleave(group, dim=1)
        return t.transpose(1, 2).contiguous().to(dtype)

    o = torch.as_tensor(case.outputs["o"], device="cuda")
    return torch, s, load, o


def _log_decay(torch, h):
    """kbench's per-head decay, lambda_h = 1 - 2^(-5 - 8h/H), as fla's log gate (float32 [H])."""
    lam = 1.0 - torch.pow(2.0, -5.0 - 8.0 * torch.arange(h, device="cuda", dtype=torch.float32) / h)
    return torch.log(lam)


def _feature(torch, s):
    import torch.nn.functional as F
    if s["feature"] == "relu":
        return torch.relu
    return lambda x: F.elu(x) + 1


@kbench.implementation("attention.linear", name="attention.linear", impl="cuda.fla-chunk", device="cuda",
                       dtypes=["f16", "bf16"],
                       description="fla chunk_linear_attn (Triton), causal, normalised; the feature map in the timed call")
def fla_linear(case):
    from fla.ops.linear_attn import chunk_linear_attn
    torch, s, load, o = _common(case)
    if not s["causal"] or s["decay"]:
        raise kbench.Unsupported("fla's chunk_linear_attn is causal without decay")
    q, k, v = load("q", False), load("k", True), load("v", True)
    phi = _feature(torch, s)
    out = [None]

    def run():
        out[0], _ = chunk_linear_attn(phi(q), phi(k), v, normalize=True)

    def collect():
        o.copy_(out[0].transpose(1, 2))

    return run, collect


@kbench.implementation("attention.linear", name="attention.linear", impl="cuda.fla-simple-gla", device="cuda",
                       dtypes=["f16", "bf16"],
                       description="fla chunk_simple_gla (Triton) twice, numerator and normaliser: causal with per-head decay")
def fla_decayed(case):
    from fla.ops.simple_gla import chunk_simple_gla
    torch, s, load, o = _common(case)
    if not s["causal"] or not s["decay"]:
        raise kbench.Unsupported("this composition computes the causal decayed form only")
    q, k, v = load("q", False), load("k", True), load("v", True)
    b, n, h, d = q.shape
    # kbench's per-head decay as fla's per-step log gate
    g = _log_decay(torch, h).view(1, 1, h).expand(b, n, h).contiguous()
    ones = torch.ones(b, n, h, 16, device="cuda", dtype=q.dtype)  # fla wants a V width of 16 or more
    phi = _feature(torch, s)
    out = [None]

    def run():
        fq, fk = phi(q), phi(k)
        num, _ = chunk_simple_gla(fq, fk, v, g=g, scale=1.0)
        den, _ = chunk_simple_gla(fq, fk, ones, g=g, scale=1.0)
        den = den[..., :1]
        out[0] = num / torch.where(den == 0, torch.ones_like(den), den)

    def collect():
        o.copy_(out[0].transpose(1, 2))

    return run, collect


@kbench.implementation("attention.gla", name="attention.gla", impl="cuda.fla-chunk", device="cuda",
                       dtypes=["f16", "bf16"], description="fla chunk_gla (Triton), per-channel log gates")
def fla_gla(case):
    from fla.ops.gla import chunk_gla
    torch, s, load, o = _common(case)
    q, k, v = load("q", False), load("k", True), load("v", True)
    g = torch.as_tensor(case.inputs["log_gates"], device="cuda").transpose(1, 2).contiguous().float()
    scale = s["head_dim"] ** -0.5
    out = [None]

    def run():
        out[0], _ = chunk_gla(q, k, v, g, scale=scale)

    def collect():
        o.copy_(out[0].transpose(1, 2))

    return run, collect


def _lightning(case, per_step):
    from fla.ops.simple_gla import chunk_simple_gla
    torch, s, load, o = _common(case)
    q, k, v = load("q", False), load("k", True), load("v", True)
    b, n, h, d = q.shape
    log_lam = _log_decay(torch, h)
    scale = d ** -0.5
    out = [None]
    if per_step:
        g = log_lam.view(1, 1, h).expand(b, n, h).contiguous()

        def run():
            out[0], _ = chunk_simple_gla(q, k, v, g=g, scale=scale)
    else:
        def run():
            out[0], _ = chunk_simple_gla(q, k, v, g_gamma=log_lam, scale=scale)

    def collect():
        o.copy_(out[0].transpose(1, 2))

    return run, collect


@kbench.implementation("attention.lightning", name="attention.lightning", impl="cuda.fla-simple-gla", device="cuda",
                       dtypes=["f16", "bf16"],
                       description="fla chunk_simple_gla (Triton), one call, per-step log gate g = log λ_h: the "
                                   "un-normalised decayed form exactly")
def fla_lightning(case):
    return _lightning(case, per_step=True)


@kbench.implementation("attention.lightning", name="attention.lightning", impl="cuda.fla-simple-gla-gamma",
                       device="cuda", dtypes=["f16", "bf16"],
                       description="fla chunk_simple_gla (Triton), one call, the decay as its per-head g_gamma")
def fla_lightning_gamma(case):
    return _lightning(case, per_step=False)
