/* window_op.c - the operation attention.window (sparse_ops.h): causal sliding-window attention,
 * query i sees keys max(0, i − W + 1) .. i. Shape rule, inputs, float64 reference and counts
 * (window_flops/window_bytes of sparse.h), the same for every implementation. */
#include "kernels/attention/sparse_ops.h"

#include "kernels/attention/qkv_operands.h"
#include "kernels/attention/sparse.h"
#include "kernels/verify.h"

static int window_op_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                            size_t errlen)
{
    int rc = attention_check_shape(s, err, errlen);
    if (rc == KB_OK)
        rc = window_check_shape(s, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (qkv_operands_add(io, s, s->seq_len, t, seed, err, errlen) != KB_OK ||
        qkv_operands_output(io, "o", s, s->seq_len, err, errlen) != KB_WIN_O)
        return KB_ERROR;
    return KB_OK;
}

/* Row `row` of the output: softmax attention over the W latest keys, in float64. */
static void window_op_row(const void *ctx, const struct kb_shape *s, long row, double *out)
{
    const struct kb_operands *io = ctx;
    const float *q = io->buffer[KB_WIN_Q], *k = io->buffer[KB_WIN_K], *v = io->buffer[KB_WIN_V];
    const int n = s->seq_len, d = s->head_dim, i = (int)(row % n);
    const size_t kv_head = attention_kv_head(s, (size_t)(row / n));
    struct key_range range = { window_first_key(i, s->window), i + 1 };
    attention_ranges_reference_row(q + (size_t)row * d, k + kv_head * n * d, v + kv_head * n * d, d, &range, 1, out);
}

/* Sampled rows against float64, the dtype's default bound (16-bit inputs already rounded, so
 * only a kernel's own rounding counts). */
static int window_op_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                            int threads, struct kb_accuracy *acc)
{
    return attention_verify_sampled(s, seed, io->buffer[KB_WIN_O], (long)s->batch * s->heads * s->seq_len, threads,
                                    window_op_row, io, verify_default_tolerance(t), acc);
}

static double window_op_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return qkv_operands_bytes(s, s->seq_len, s->seq_len) + 8.0 * ATTENTION_VERIFY_ROWS * (s->head_dim + 1.0);
}

const struct kb_operation kb_op_attention_window = {
    .name = "attention.window",
    .description = "causal sliding-window softmax attention: query i sees its W latest keys",
    .family = KB_FAMILY_ATTENTION,
    .axes = WINDOW_AXES,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .layout = "q [B,H,N,d], k and v [B,H_kv,N,d] float32 inputs (16-bit cases hold values rounded to the dtype); "
              "o [B,H,N,d] float32 output; row-major",
    .flops = window_flops,
    .bytes = window_bytes,
    .footprint = window_op_footprint,
    .inputs = window_op_inputs,
    .verify = window_op_verify,
};
