/* ssd_op.c - the operation attention.ssd (ssd_ops.h): shape rule, inputs, the float64
 * recurrent reference on sampled rows, counts; shared by every implementation. */
#include "kernels/attention/ssd_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"
#include "kernels/attention/attention.h"
#include "kernels/attention/qkv_operands.h"
#include "kernels/attention/ssd.h"
#include "kernels/verify.h"

/* Sub-seeds of the five inputs, distinct from the attention family's (1..4). */
enum { SEED_X = 11, SEED_DT, SEED_B, SEED_C };

static uint64_t sub_seed(uint64_t seed, int which)
{
    return seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)which);
}

static int add(struct kb_operands *io, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
               int output, int want, char *err, size_t errlen)
{
    int64_t dims[4] = { d0, d1, d2, d3 };
    int at = kb_operands_add(io, name, KB_DTYPE_F32, ndim, dims, output, QKV_PAD_BYTES, err, errlen);
    if (at >= 0 && at != want) {
        snprintf(err, errlen, "attention.ssd: operand %s at index %d, expected %d", name, at, want);
        return -1;
    }
    return at;
}

static int ssd_op_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                         size_t errlen)
{
    int rc = ssd_check_shape(s, err, errlen);
    if (rc != KB_OK)
        return rc;
    const int64_t B = s->batch, H = s->heads, G = s->kv_heads, T = ssd_tokens(s), P = s->head_dim, S = s->state;
    if (add(io, "x", 4, B, H, T, P, 0, KB_SSD_X, err, errlen) < 0 ||
        add(io, "dt", 3, B, H, T, 0, 0, KB_SSD_DT, err, errlen) < 0 ||
        add(io, "A", 1, H, 0, 0, 0, 0, KB_SSD_A, err, errlen) < 0 ||
        add(io, "b", 4, B, G, T, S, 0, KB_SSD_B, err, errlen) < 0 ||
        add(io, "c", 4, B, G, T, S, 0, KB_SSD_C, err, errlen) < 0 ||
        add(io, "y", 4, B, H, s->decode ? 1 : s->seq_len, P, 1, KB_SSD_Y, err, errlen) < 0)
        return KB_ERROR;
    float *x = io->buffer[KB_SSD_X], *dt = io->buffer[KB_SSD_DT], *A = io->buffer[KB_SSD_A];
    float *b = io->buffer[KB_SSD_B], *c = io->buffer[KB_SSD_C];
    size_t nx = kb_operands_elems(io, KB_SSD_X), ndt = kb_operands_elems(io, KB_SSD_DT);
    size_t nbc = kb_operands_elems(io, KB_SSD_B);
    gen_fill_input_f32(x, nx / (size_t)P, (size_t)P, sub_seed(seed, SEED_X), s->input);
    gen_fill_normal_f32(b, nbc, sub_seed(seed, SEED_B), 0.0, 1.0);
    gen_fill_normal_f32(c, nbc, sub_seed(seed, SEED_C), 0.0, 1.0);
    gen_fill_normal_f32(dt, ndt, sub_seed(seed, SEED_DT), SSD_DT_MEAN, SSD_DT_STD);
    for (size_t e = 0; e < ndt; e++) /* softplus, without overflow */
        dt[e] = (float)(dt[e] > 20 ? dt[e] : log1p(exp((double)dt[e])));
    for (int h = 0; h < s->heads; h++)
        A[h] = (float)ssd_A(h, s->heads);
    qkv_round_to(x, nx, t);
    qkv_round_to(b, nbc, t);
    qkv_round_to(c, nbc, t);
    return KB_OK;
}

/* Sampled output rows against the recurrence in float64, on `threads` threads: each head with a
 * sampled row is scanned once, forward up to its last sampled row and restarted past stretches
 * whose history weighs under 2^-80 (ssd_reference_rows; at 128k tokens the strongly decaying
 * heads then cost a few thousand steps per row, not N), or the whole sequence both ways when
 * bidirectional. */
static int ssd_op_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                         int threads, struct kb_accuracy *acc)
{
    const double tol = t == KB_DTYPE_F32 ? SSD_TOLERANCE_F32 : verify_default_tolerance(t);
    const int P = s->head_dim;
    const long per_head = s->decode ? 1 : s->seq_len;
    const long total = (long)s->batch * s->heads * per_head;
    const struct ssd_view v = ssd_view_of(io);
    memset(acc, 0, sizeof *acc);
    acc->rows_total = total;
    long *rows = malloc(ATTENTION_VERIFY_ROWS * sizeof *rows);
    long *starts = malloc((ATTENTION_VERIFY_ROWS + 1) * sizeof *starts);
    double *ref = malloc((size_t)ATTENTION_VERIFY_ROWS * P * sizeof *ref);
    if (!rows || !starts || !ref) {
        free(rows);
        free(starts);
        free(ref);
        acc->rel_l2_err = INFINITY;
        return KB_ERROR;
    }
    long nrows = verify_sample_rows(total, ATTENTION_VERIFY_ROWS, seed, rows), runs = 0;
    for (long r = 0; r < nrows; r++)
        if (r == 0 || rows[r] / per_head != rows[r - 1] / per_head)
            starts[runs++] = r;
    starts[runs] = nrows;
    int failed = 0;
#pragma omp parallel for num_threads(threads > 0 ? threads : 1) schedule(dynamic, 1) reduction(| : failed)
    for (long u = 0; u < runs; u++) {
        const long r0 = starts[u], r1 = starts[u + 1], head = rows[r0] / per_head;
        const int b = (int)(head / s->heads), h = (int)(head % s->heads);
        if (s->causal || s->decode) { /* forward only, restarted where the past weighs nothing */
            long *idx = malloc((size_t)(r1 - r0) * sizeof *idx);
            if (!idx) {
                failed = 1;
                continue;
            }
            for (long r = r0; r < r1; r++)
                idx[r - r0] = s->decode ? s->seq_len : rows[r] % per_head;
            if (ssd_reference_rows(s, &v, b, h, idx, (int)(r1 - r0), ref + (size_t)r0 * P) != 0)
                failed = 1;
            free(idx);
            continue;
        }
        /* bidirectional: both scans over the whole sequence */
        double *y = malloc((size_t)s->seq_len * P * sizeof *y);
        if (!y || ssd_reference_recurrent(s, &v, b, h, s->seq_len, y) != 0) {
            free(y);
            failed = 1;
            continue;
        }
        for (long r = r0; r < r1; r++)
            memcpy(ref + (size_t)r * P, y + (size_t)(rows[r] % per_head) * P, (size_t)P * sizeof *y);
        free(y);
    }
    if (failed) {
        free(rows);
        free(starts);
        free(ref);
        acc->rel_l2_err = INFINITY;
        return KB_ERROR;
    }
    attention_compare_rows(io->buffer[KB_SSD_Y], rows, nrows, ref, P, tol, total, acc);
    free(rows);
    free(starts);
    free(ref);
    return KB_OK;
}

static double ssd_op_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double B = s->batch, H = s->heads, G = s->kv_heads > 0 ? s->kv_heads : s->heads, T = s->seq_len + 1.0;
    double P = s->head_dim, S = s->state;
    double operands = 4.0 * (B * H * T * P * 2 + B * H * T + 2 * B * G * T * S) + 6.0 * QKV_PAD_BYTES;
    /* verify: one head's float64 rows per thread (a few threads) and its state */
    return operands + 4.0 * 8.0 * (T * P + S * P);
}

const struct kb_operation kb_op_attention_ssd = {
    .name = "attention.ssd",
    .description = "Mamba-2 state-space duality: h_t = exp(dt_t·A)h_{t−1} + dt_t·B_t x_tᵀ, y_t = C_tᵀh_t; "
                   "scalar decay per head, state S×P, causal or bidirectional, decode step",
    .family = KB_FAMILY_ATTENTION,
    .axes = KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) |
            KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_CAUSAL) |
            KB_AXIS_BIT(KB_AXIS_DECODE) | KB_AXIS_BIT(KB_AXIS_CHUNK) | KB_AXIS_BIT(KB_AXIS_INPUT) |
            KB_AXIS_BIT(KB_AXIS_STATE),
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .layout = "x [B,H,T,P], dt [B,H,T] (> 0), A [H] (< 0), b and c [B,G,T,S] float32 inputs (T = N, N+1 in decode; "
              "kv_heads = G groups; 16-bit cases hold x, b, c rounded to the dtype); y [B,H,N,P] float32 output "
              "([B,H,1,P] in decode); row-major",
    .flops = ssd_flops,
    .bytes = ssd_bytes,
    .footprint = ssd_op_footprint,
    .inputs = ssd_op_inputs,
    .verify = ssd_op_verify,
};
