/* gla_op.c - the operation attention.gla (linear_ops.h): shape rule, inputs (Q, K, V and the
 * log-gates), float64 reference and counts, shared by every implementation (linear.h). */
#include "kernels/attention/linear_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention/linear.h"
#include "kernels/attention/qkv_operands.h"
#include "kernels/verify.h"

static int gla_op_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                         size_t errlen)
{
    int rc = gla_check_shape(s, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (qkv_operands_add(io, s, s->seq_len, t, seed, err, errlen) != KB_OK)
        return KB_ERROR;
    int64_t dims[4] = { s->batch, s->heads, s->seq_len, s->head_dim };
    if (kb_operands_add(io, "log_gates", KB_DTYPE_F32, 4, dims, 0, QKV_PAD_BYTES, err, errlen) != KB_GLA_G)
        return KB_ERROR;
    float *g = gla_gates_new(s, seed); /* the generator the kernels used, so the same bytes */
    if (!g) {
        snprintf(err, errlen, "attention.gla: out of memory for the gates");
        return KB_ERROR;
    }
    size_t n = kb_operands_elems(io, KB_GLA_G);
    memcpy(io->buffer[KB_GLA_G], g, n * sizeof *g);
    free(g);
    qkv_round_to(io->buffer[KB_GLA_G], n, t);
    if (qkv_operands_output(io, "o", s, s->seq_len, err, errlen) != KB_GLA_O)
        return KB_ERROR;
    return KB_OK;
}

static void gla_op_row(const void *ctx, const struct kb_shape *s, long r, double *out)
{
    const struct kb_operands *io = ctx;
    long head = r / s->seq_len;
    gla_reference_row(s, io->buffer[KB_GLA_Q], io->buffer[KB_GLA_K], io->buffer[KB_GLA_V], io->buffer[KB_GLA_G],
                      (int)(head / s->heads), (int)(head % s->heads), (int)(r % s->seq_len), out);
}

/* Sampled rows against the closed form in float64; float32 held to LINEAR_TOLERANCE_F32, the
 * 16-bit dtypes (inputs and gates already rounded) to their default bound. */
static int gla_op_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                         int threads, struct kb_accuracy *acc)
{
    double tol = t == KB_DTYPE_F32 ? LINEAR_TOLERANCE_F32 : verify_default_tolerance(t);
    return attention_verify_sampled(s, seed, io->buffer[KB_GLA_O], (long)s->batch * s->heads * s->seq_len, threads,
                                    gla_op_row, io, tol, acc);
}

static double gla_op_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double gates = 4.0 * s->batch * s->heads * (double)s->seq_len * s->head_dim + QKV_PAD_BYTES;
    /* the operands, the gate generator's copy while it draws, and verify's rows */
    return qkv_operands_bytes(s, s->seq_len, s->seq_len) + 2.0 * gates +
           8.0 * ATTENTION_VERIFY_ROWS * (2.0 * s->head_dim + 1.0);
}

const struct kb_operation kb_op_attention_gla = {
    .name = "attention.gla",
    .description = "gated linear attention: S_t = diag(α_t)S_{t−1} + k_tᵀv_t, o_t = (q_t/√d)S_t, data-dependent "
                   "per-channel decay, causal",
    .family = KB_FAMILY_ATTENTION,
    .axes = KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) |
            KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_CHUNK) |
            KB_AXIS_BIT(KB_AXIS_INPUT),
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .layout = "q [B,H,N,d], k and v [B,H_kv,N,d], log_gates [B,H,N,d] (log α < 0) float32 inputs (16-bit cases hold "
              "values rounded to the dtype); o [B,H,N,d] float32 output; row-major",
    .flops = gla_flops,
    .bytes = gla_bytes,
    .footprint = gla_op_footprint,
    .inputs = gla_op_inputs,
    .verify = gla_op_verify,
};
