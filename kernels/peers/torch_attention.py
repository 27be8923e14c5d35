# torch_attention.py - PyTorch's scaled_dot_product_attention as implementations of
# attention.softmax, one per back end it has: FlashAttention-2 ("flash"), cuDNN ("cudnn"),
# memory-efficient ("efficient") and the unfused math path ("math"). kbench times them on its
# own CUDA stream and verifies them against its float64 reference, beside its own kernels:
#
#     kbench run --plugin torch_attention.py --kernels 'attention.*@cuda*' --dtype bf16 ...
#
# The operation's tensors are float32 (values already rounded to the case's dtype); setup
# converts them to the dtype once (untimed), run is one SDPA call, and collect writes the
# result into kbench's float32 output (untimed), as kbench's own CUDA kernels convert theirs.
import kbench

BACKENDS = {
    "flash": "FLASH_ATTENTION",
    "cudnn": "CUDNN_ATTENTION",
    "efficient": "EFFICIENT_ATTENTION",
    "math": "MATH",
}


def _sdpa(backend_name):
    def setup(case):
        import torch
        import torch.nn.functional as F
        from torch.nn.attention import SDPBackend, sdpa_kernel
        s = case.shape
        if s["decode"]:
            raise kbench.Unsupported("decode is not wired up for SDPA here")
        dtype = {"f16": torch.float16, "bf16": torch.bfloat16}[case.dtype]
        stream = torch.cuda.ExternalStream(case.stream)
        torch.cuda.set_stream(stream)
        q, k, v = (torch.as_tensor(case.inputs[n], device="cuda").to(dtype) for n in ("q", "k", "v"))
        o = torch.as_tensor(case.outputs["o"], device="cuda")
        causal = bool(s["causal"])
        gqa = s["heads"] != s["kv_heads"]
        backend = getattr(SDPBackend, BACKENDS[backend_name])
        out = [None]

        def call():
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=gqa)

        # a back end that cannot take this case raises here, untimed: the case is skipped
        with sdpa_kernel([backend]):
            try:
                out[0] = call()
            except RuntimeError as e:
                raise kbench.Unsupported("SDPA %s back end: %s" % (backend_name, str(e).split("\n")[0]))
        torch.cuda.synchronize()

        def run():
            with sdpa_kernel([backend]):
                out[0] = call()

        def collect():
            o.copy_(out[0])

        return run, collect

    setup.__name__ = "sdpa_" + backend_name
    return setup


for _name in BACKENDS:
    kbench.implementation("attention.softmax", name="attention.sdpa", impl="cuda.torch-" + _name, device="cuda",
                          dtypes=["f16", "bf16"],
                          description="PyTorch scaled_dot_product_attention, %s back end" % _name)(_sdpa(_name))
