/* hybrid_cpu.c - attention.hybrid@cpu: the hybrid stack (hybrid_ops.h) made of
 * attention.flash@cpu softmax layers and attention.linear@cpu (or attention.gla@cpu) linear
 * layers (chunk 64), run one after the other, each with the case's threads. float32 (the linear
 * implementations' only dtype); prefill and decode (linear layers; gla has no decode). */
#include "kernels/attention/hybrid.h"

#include "kernels/attention/attention.h"
#include "kernels/attention/linear.h"

static const struct hybrid_impl hybrid_cpu_parts = {
    .name = "attention.hybrid@cpu",
    .softmax = &kb_attention_flash_cpu,
    .linear = &kb_attention_linear_cpu,
    .gla = &kb_attention_gla_cpu,
};

static int hybrid_cpu_setup(struct kb_case *c, char *err, size_t errlen)
{
    return hybrid_stack_setup(&hybrid_cpu_parts, c, err, errlen);
}

static double hybrid_cpu_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    return hybrid_stack_footprint(&hybrid_cpu_parts, s, t);
}

const struct kb_kernel kb_attention_hybrid_cpu = {
    .name = "attention.hybrid",
    .impl = "cpu",
    .description = "hybrid stack: attention.flash@cpu softmax layers and attention.linear@cpu (or attention.gla@cpu) "
                   "layers at the ratio, float32, prefill or decode",
    .op = &kb_op_attention_hybrid,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .footprint = hybrid_cpu_footprint,
    .setup = hybrid_cpu_setup,
    .run = hybrid_stack_run,
    .collect = hybrid_stack_collect,
    .teardown = hybrid_stack_teardown,
    .stats = hybrid_stack_stats,
};
