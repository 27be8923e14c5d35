/* linear_op.c - the operation attention.linear (linear_ops.h): its shape rule, inputs, float64
 * reference and counts, shared by every implementation (definitions in linear.h). */
#include "kernels/attention/linear_ops.h"

#include <stdio.h>

#include "kernels/attention/linear.h"
#include "kernels/attention/qkv_operands.h"
#include "kernels/verify.h"

/* Checks the shape as linear_check_shape does, except that chunk 0 is accepted: the chunk is a
 * parameter of the chunked algorithms (@cpu, @cuda.mma refuse 0), not of the definition, and
 * the implementations without chunks (@cpu.naive, @cuda.naive) leave it unset. */
static int linear_op_shape(struct kb_shape *s, char *err, size_t errlen)
{
    struct kb_shape checked = *s;
    if (checked.chunk == 0)
        checked.chunk = 1;
    int rc = linear_check_shape(&checked, err, errlen);
    s->kv_heads = checked.kv_heads;
    return rc;
}

static int linear_op_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                            size_t errlen)
{
    int rc = linear_op_shape(s, err, errlen);
    if (rc != KB_OK)
        return rc;
    return linear_decode_operands_add(io, s, t, seed, err, errlen);
}

/* Row N of the causal definition over N + 1 tokens in decode; the sampled rows otherwise. A
 * float32 case is held to LINEAR_TOLERANCE_F32, a 16-bit one (inputs already rounded) to the
 * dtype's default bound. */
static int linear_op_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                            int threads, struct kb_accuracy *acc)
{
    struct attention_inputs in = qkv_operands_view(io);
    double tol = t == KB_DTYPE_F32 ? LINEAR_TOLERANCE_F32 : verify_default_tolerance(t);
    return linear_verify_output_tol(s, &in, io->buffer[KB_LIN_O], seed, threads, tol, acc);
}

const struct kb_operation kb_op_attention_linear = {
    .name = "attention.linear",
    .description = "feature-map linear attention φ(Q)(φ(K)ᵀV) / φ(Q)(φ(K)ᵀ1): non-causal, causal with optional "
                   "per-head decay, decode step",
    .family = KB_FAMILY_ATTENTION,
    .axes = KB_AXES_ATTENTION | KB_AXIS_BIT(KB_AXIS_CHUNK) | KB_AXIS_BIT(KB_AXIS_FEATURE) |
            KB_AXIS_BIT(KB_AXIS_DECAY) | KB_AXIS_BIT(KB_AXIS_DECODE),
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .layout = "q [B,H,T,d], k and v [B,H_kv,T,d] float32 inputs (T = N, N + 1 in decode; 16-bit cases hold values "
              "rounded to the dtype); o [B,H,N,d] float32 output ([B,H,1,d] in decode: token N's row); row-major",
    .flops = linear_flops,
    .bytes = linear_bytes,
    .footprint = linear_decode_op_footprint,
    .inputs = linear_op_inputs,
    .verify = linear_op_verify,
};
