/* delta_op.c - the operation attention.delta (delta_ops.h): shape rule, inputs (Q, K, V, β and
 * the log-gates), the float64 recurrence as reference, and counts, shared by every
 * implementation (delta.h). */
#include "kernels/attention/delta.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"
#include "kernels/attention/attention.h"
#include "kernels/attention/qkv_operands.h"
#include "kernels/verify.h"

/* Sub-seeds distinct from Q, K, V (1, 2, 3) and GLA's gates (4). */
enum { SEED_BETA = 7, SEED_GATE = 8 };

/* The reference costs 6·T·d² float64 FLOPs a head: verify checks as many heads as fit this
 * budget (at least one), so a long case is judged in seconds. */
#define DELTA_VERIFY_FLOPS 3e9
/* ... and holds at most this many bytes of reference rows per thread (a head's N·d doubles) */
#define DELTA_VERIFY_MAX_HEADS 16

int delta_check_shape(struct kb_shape *s, char *err, size_t errlen)
{
    int rc = attention_check_shape(s, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (s->kv_heads != s->heads) {
        snprintf(err, errlen, "attention.delta: kv_heads = %d, must equal heads = %d (no grouped heads)", s->kv_heads,
                 s->heads);
        return KB_UNSUPPORTED;
    }
    if (s->chunk < 0 || s->chunk > DELTA_MAX_CHUNK) {
        snprintf(err, errlen, "attention.delta: chunk = %d, must be 1..%d (the in-chunk gate scaling must stay in "
                 "float range)", s->chunk, DELTA_MAX_CHUNK);
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

int delta_tokens(const struct kb_shape *s)
{
    return s->seq_len + (s->decode ? 1 : 0);
}

double delta_flops(const struct kb_shape *s)
{
    double per_token = (6.0 + (s->decay ? 1.0 : 0.0)) * (double)s->head_dim * s->head_dim + 8.0 * s->head_dim;
    return (double)s->batch * s->heads * (s->decode ? 1.0 : (double)s->seq_len) * per_token;
}

double delta_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double es = kb_dtype_size(t), heads = (double)s->batch * s->heads, d = s->head_dim;
    /* q, k, v in the dtype, β and the gate in float32, o in float32 */
    double per_token = 3.0 * d * es + 4.0 * d + 4.0 * (s->decay ? 2.0 : 1.0);
    if (s->decode)
        return heads * (per_token + 2.0 * 4.0 * d * d); /* the state read and written */
    return heads * (double)s->seq_len * per_token;
}

static void fill_scalars(float *x, size_t n, uint64_t seed, int sub)
{
    gen_fill_normal_f32(x, n, seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)sub), 0.0, 1.0);
}

static int delta_op_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                           size_t errlen)
{
    int rc = delta_check_shape(s, err, errlen);
    if (rc != KB_OK)
        return rc;
    const int tokens = delta_tokens(s);
    if (qkv_operands_add(io, s, tokens, t, seed, err, errlen) != KB_OK)
        return KB_ERROR;
    int64_t dims[3] = { s->batch, s->heads, tokens };
    if (kb_operands_add(io, "beta", KB_DTYPE_F32, 3, dims, 0, QKV_PAD_BYTES, err, errlen) != KB_DELTA_BETA ||
        kb_operands_add(io, "log_gate", KB_DTYPE_F32, 3, dims, 0, QKV_PAD_BYTES, err, errlen) != KB_DELTA_G)
        return KB_ERROR;
    const size_t per_head = (size_t)tokens, n = (size_t)s->batch * s->heads * per_head;
    float *beta = io->buffer[KB_DELTA_BETA], *g = io->buffer[KB_DELTA_G];
    fill_scalars(beta, n, seed, SEED_BETA);
    for (size_t e = 0; e < n; e++) {
        int h = (int)((e / per_head) % (size_t)s->heads);
        double bmax = (h & 1) ? 2.0 : 1.0;
        beta[e] = (float)(bmax / (1.0 + exp(-(double)beta[e])));
    }
    if (s->decay) {
        fill_scalars(g, n, seed, SEED_GATE);
        for (size_t e = 0; e < n; e++) {
            double x = g[e];
            double ls = x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x)); /* log sigmoid(x) */
            g[e] = (float)(ls / 16.0);
        }
    } /* else: zero, α = 1 */
    if (qkv_operands_output(io, "o", s, s->decode ? 1 : s->seq_len, err, errlen) != KB_DELTA_O)
        return KB_ERROR;
    return KB_OK;
}

static void normalised(const float *x, int d, double *out)
{
    double ss = 0;
    for (int i = 0; i < d; i++)
        ss += (double)x[i] * x[i];
    double r = ss > 0 ? 1.0 / sqrt(ss) : 0.0;
    for (int i = 0; i < d; i++)
        out[i] = x[i] * r;
}

int delta_reference_head(const struct kb_operands *io, const struct kb_shape *s, int b, int h, int first_row,
                         double *out)
{
    const int d = s->head_dim, tokens = delta_tokens(s);
    const size_t head = (size_t)b * s->heads + h;
    const float *q = (const float *)io->buffer[KB_DELTA_Q] + head * tokens * d;
    const float *k = (const float *)io->buffer[KB_DELTA_K] + head * tokens * d;
    const float *v = (const float *)io->buffer[KB_DELTA_V] + head * tokens * d;
    const float *beta = (const float *)io->buffer[KB_DELTA_BETA] + head * tokens;
    const float *g = (const float *)io->buffer[KB_DELTA_G] + head * tokens;
    double *S = calloc((size_t)d * d + 3 * (size_t)d, sizeof *S);
    if (!S)
        return -1;
    double *kn = S + (size_t)d * d, *qn = kn + d, *u = qn + d;
    const double scale = 1.0 / sqrt((double)d);
    for (int t = 0; t < tokens; t++) {
        const double alpha = s->decay ? exp((double)g[t]) : 1.0, bt = beta[t];
        normalised(k + (size_t)t * d, d, kn);
        /* u = β (v − α Sᵀk̂) */
        for (int j = 0; j < d; j++)
            u[j] = 0;
        for (int i = 0; i < d; i++) {
            const double *row = S + (size_t)i * d;
            for (int j = 0; j < d; j++)
                u[j] += row[j] * kn[i];
        }
        for (int j = 0; j < d; j++)
            u[j] = bt * ((double)v[(size_t)t * d + j] - alpha * u[j]);
        /* S = α S + k̂ uᵀ */
        for (int i = 0; i < d; i++) {
            double *row = S + (size_t)i * d;
            for (int j = 0; j < d; j++)
                row[j] = alpha * row[j] + kn[i] * u[j];
        }
        if (t < first_row)
            continue;
        normalised(q + (size_t)t * d, d, qn);
        double *o = out + (size_t)(t - first_row) * d;
        for (int j = 0; j < d; j++)
            o[j] = 0;
        for (int i = 0; i < d; i++) {
            const double *row = S + (size_t)i * d;
            for (int j = 0; j < d; j++)
                o[j] += row[j] * qn[i];
        }
        for (int j = 0; j < d; j++)
            o[j] *= scale;
    }
    free(S);
    return 0;
}

static void acc_merge(struct verify_acc *into, const struct verify_acc *a)
{
    if (a->max_abs > into->max_abs)
        into->max_abs = a->max_abs;
    into->err_sq += a->err_sq;
    into->ref_sq += a->ref_sq;
    into->got_sq += a->got_sq;
    into->dot += a->dot;
    into->count += a->count;
    into->nonfinite |= a->nonfinite;
}

/* Whole heads (every output row of each) against the float64 recurrence: as many heads as the
 * budget allows, chosen from the seed, always the first and the last. */
static int delta_op_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                           int threads, struct kb_accuracy *acc)
{
    const double tol = t == KB_DTYPE_F32 ? DELTA_TOLERANCE_F32 : verify_default_tolerance(t);
    const int d = s->head_dim, tokens = delta_tokens(s), first = s->decode ? s->seq_len : 0;
    const int rows = tokens - first;
    const long total_heads = (long)s->batch * s->heads;
    long want = (long)(DELTA_VERIFY_FLOPS / (6.0 * tokens * (double)d * d));
    if (want < 1)
        want = 1;
    if (want > DELTA_VERIFY_MAX_HEADS)
        want = DELTA_VERIFY_MAX_HEADS;
    long heads[DELTA_VERIFY_MAX_HEADS];
    long nheads = verify_sample_rows(total_heads, want, seed, heads);
    const float *got = io->buffer[KB_DELTA_O];
    struct verify_acc all;
    verify_begin(&all);
    int failed = 0, nt = threads;
#ifdef _OPENMP
    if (nt <= 0)
        nt = omp_get_max_threads();
#else
    (void)nt;
#endif
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (long i = 0; i < nheads; i++) {
        double *ref = malloc((size_t)rows * d * sizeof *ref);
        int bad = !ref || delta_reference_head(io, s, (int)(heads[i] / s->heads), (int)(heads[i] % s->heads), first,
                                               ref) != 0;
        struct verify_acc a;
        verify_begin(&a);
        if (!bad) {
            const float *o = got + (size_t)heads[i] * rows * d;
            for (size_t e = 0; e < (size_t)rows * d; e++)
                verify_add(&a, o[e], ref[e]);
        }
        free(ref);
#pragma omp critical(delta_verify)
        {
            failed |= bad;
            acc_merge(&all, &a);
        }
    }
    memset(acc, 0, sizeof *acc);
    acc->rows_total = total_heads * rows;
    if (failed) {
        acc->rel_l2_err = INFINITY;
        acc->max_abs_err = INFINITY;
        return KB_ERROR;
    }
    verify_finish(&all, tol, acc);
    acc->rows_checked = nheads * rows;
    acc->rows_total = total_heads * rows;
    return KB_OK;
}

static double delta_op_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    const int tokens = delta_tokens(s);
    double scalars = 2.0 * (4.0 * s->batch * s->heads * (double)tokens + QKV_PAD_BYTES);
    /* the operands and verify's reference rows of a head per thread (two counted) */
    double ref_rows = 2.0 * 8.0 * (s->decode ? 1.0 : (double)s->seq_len) * s->head_dim;
    return qkv_operands_bytes(s, tokens, s->decode ? 1 : s->seq_len) + scalars + ref_rows +
           8.0 * (double)s->head_dim * (s->head_dim + 3.0);
}

const struct kb_operation kb_op_attention_delta = {
    .name = "attention.delta",
    .description = "delta rule (DeltaNet; Gated DeltaNet with decay=1): S_t = α_t(I − β_t k̂_t k̂_tᵀ)S_{t−1} + "
                   "β_t k̂_t v_tᵀ, o_t = S_tᵀq̂_t/√d, β in [0,1] (even heads) and [0,2] (odd heads), causal, decode step",
    .family = KB_FAMILY_ATTENTION,
    .axes = KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_SEQ) |
            KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_CHUNK) | KB_AXIS_BIT(KB_AXIS_DECAY) |
            KB_AXIS_BIT(KB_AXIS_DECODE) | KB_AXIS_BIT(KB_AXIS_INPUT),
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .layout = "q, k, v [B,H,T,d] float32 (T = N, N + 1 in decode; 16-bit cases hold values rounded to the dtype; "
              "q and k not normalised), beta and log_gate [B,H,T] float32; o [B,H,N,d] float32 ([B,H,1,d] in "
              "decode: token N's row); row-major",
    .flops = delta_flops,
    .bytes = delta_bytes,
    .footprint = delta_op_footprint,
    .inputs = delta_op_inputs,
    .verify = delta_op_verify,
};
