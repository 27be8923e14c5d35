/* hybrid_cuda.c - attention.hybrid@cuda: the hybrid stack (hybrid_ops.h) made of
 * attention.flash@cuda.mma softmax layers (FlashAttention-2 on mma.sync) and
 * attention.linear@cuda.mma (or attention.gla@cuda.mma) linear layers (chunk-parallel, chunk
 * 64), enqueued one after the
 * other on the case's stream. f16/bf16, d = 64 or 128 (what both take). Prefill only: neither
 * layer implementation has a decode step on the GPU yet (attention.hybrid@cpu has one). Each
 * layer's Q, K, V stay on the device from setup on, as the layers' KV caches do in a model. */
#include "kernels/attention/hybrid.h"

#include "kernels/attention/attention.h"
#include "kernels/attention/gla_cuda.h"
#include "kernels/attention/linear_cuda.h"

_Static_assert(HYBRID_LINEAR_CHUNK == LINEAR_CUDA_CHUNK && HYBRID_LINEAR_CHUNK == GLA_CUDA_CHUNK,
               "the linear layers' chunk is the one the device code takes");

static const struct hybrid_impl hybrid_cuda_parts = {
    .name = "attention.hybrid@cuda",
    .softmax = &kb_attention_flash_cuda,
    .linear = &kb_attention_linear_cuda,
    .gla = &kb_attention_gla_cuda,
};

static int hybrid_cuda_setup(struct kb_case *c, char *err, size_t errlen)
{
    return hybrid_stack_setup(&hybrid_cuda_parts, c, err, errlen);
}

static double hybrid_cuda_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    return hybrid_stack_footprint(&hybrid_cuda_parts, s, t);
}

const struct kb_kernel kb_attention_hybrid_cuda = {
    .name = "attention.hybrid",
    .impl = "cuda",
    .description = "hybrid stack: attention.flash@cuda.mma softmax layers and attention.linear@cuda.mma (or "
                   "attention.gla@cuda.mma) layers at the ratio, f16/bf16, d = 64 or 128, prefill",
    .op = &kb_op_attention_hybrid,
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    /* no decode: the layers have none on the GPU */
    .axes = KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) |
            KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_INPUT) |
            KB_AXIS_BIT(KB_AXIS_LAYERS) | KB_AXIS_BIT(KB_AXIS_RATIO) | KB_AXIS_BIT(KB_AXIS_LINEAR_KIND),
    .footprint = hybrid_cuda_footprint,
    .setup = hybrid_cuda_setup,
    .run = hybrid_stack_run,
    .collect = hybrid_stack_collect,
    .teardown = hybrid_stack_teardown,
    .stats = hybrid_stack_stats,
};
