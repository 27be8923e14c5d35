/* varlen_op.c - the operations attention.varlen and attention.linear_varlen (varlen_ops.h):
 * shape rule, packed inputs, per-sequence float64 references (the padded operations' own
 * reference rows, run on the row's sequence), counts from the actual lengths. */
#include "kernels/attention/varlen_ops.h"
#include "kernels/attention/varlen.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"
#include "kernels/attention/attention.h"
#include "kernels/attention/linear.h"
#include "kernels/attention/qkv_operands.h"
#include "kernels/verify.h"

int64_t varlen_cu_seqlens(const struct kb_shape *s, int32_t *cu, char *err, size_t errlen)
{
    int *len = malloc((size_t)s->batch * sizeof *len);
    if (!len) {
        snprintf(err, errlen, "attention.varlen: out of memory for %d lengths", s->batch);
        return -1;
    }
    int64_t total = gen_seq_lengths(len, s->batch, s->seq_len, s->lengths, VARLEN_LENGTHS_SEED);
    if (total > INT_MAX / 2) { /* kernels count packed rows in int */
        snprintf(err, errlen, "attention.varlen: %lld packed tokens, at most %d", (long long)total, INT_MAX / 2);
        free(len);
        return -1;
    }
    cu[0] = 0;
    for (int b = 0; b < s->batch; b++)
        cu[b + 1] = cu[b] + len[b];
    free(len);
    return total;
}

int varlen_sequence_of(const int32_t *cu, int batch, int64_t t)
{
    int lo = 0, hi = batch - 1; /* the last b with cu[b] <= t */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (cu[mid] <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

struct varlen_operands varlen_operands_of(struct kb_case *c)
{
    struct varlen_operands in;
    in.q = kb_input(c, KB_VARLEN_Q);
    in.k = kb_input(c, KB_VARLEN_K);
    in.v = kb_input(c, KB_VARLEN_V);
    in.cu = kb_input(c, KB_VARLEN_CU);
    in.o = kb_output(c, KB_VARLEN_O);
    in.total = in.cu[c->shape.batch];
    return in;
}

struct kb_shape varlen_sequence_shape(const struct kb_shape *s, int n)
{
    struct kb_shape one = *s;
    one.batch = 1;
    one.seq_len = n;
    one.lengths = 0;
    return one;
}

/* The packed tensors as qkv_operands draws them: T "sequences" of one token each, so its
 * [B, H, N, d] is [T, H, 1, d], token-major (the dims are then told as [T, H, d]). */
static struct kb_shape token_major_shape(const struct kb_shape *s, int64_t total)
{
    struct kb_shape t = varlen_sequence_shape(s, 1);
    t.batch = (int)total;
    return t;
}

/* Tensor i told as [T, H(_kv), d]. */
static void three_dims(struct kb_operands *io, int i)
{
    struct kb_tensor *x = &io->tensor[i];
    int64_t t = x->dims[0], h = x->dims[1], d = x->dims[3];
    x->ndim = 3;
    x->dims[0] = t;
    x->dims[1] = h;
    x->dims[2] = d;
    x->dims[3] = 0;
}

/* The per-sequence lengths of a shape, or NULL (no memory, a total past int). */
static int32_t *cu_of(const struct kb_shape *s, int64_t *total)
{
    char err[128];
    int32_t *cu = malloc(((size_t)s->batch + 1) * sizeof *cu);
    *total = cu ? varlen_cu_seqlens(s, cu, err, sizeof err) : -1;
    if (*total < 0) {
        free(cu);
        return NULL;
    }
    return cu;
}

static int check_shape(struct kb_shape *s, int linear, char *err, size_t errlen)
{
    const char *name = linear ? "attention.linear_varlen" : "attention.varlen";
    int rc = linear ? linear_check_shape(s, err, errlen) : attention_check_shape(s, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (s->lengths < KB_LENGTHS_UNIFORM || s->lengths > KB_LENGTHS_EQUAL) {
        snprintf(err, errlen, "%s: lengths = %d, must be uniform, longtail or equal", name, s->lengths);
        return KB_UNSUPPORTED;
    }
    if (s->decode || (linear && s->decay)) {
        snprintf(err, errlen, "%s: no %s (packed prefill only)", name, s->decode ? "decode" : "decay");
        return KB_UNSUPPORTED;
    }
    if ((double)s->batch * s->seq_len > INT_MAX / 2) {
        snprintf(err, errlen, "%s: batch x seq = %.0f tokens, at most %d", name, (double)s->batch * s->seq_len,
                 INT_MAX / 2);
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

static int inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, int linear, char *err,
                  size_t errlen)
{
    int rc = check_shape(s, linear, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (t != KB_DTYPE_F32 && t != KB_DTYPE_F16 && t != KB_DTYPE_BF16) {
        snprintf(err, errlen, "%s: dtype %s not defined (f32, f16, bf16)",
                 linear ? "attention.linear_varlen" : "attention.varlen", kb_dtype_name(t) ? kb_dtype_name(t) : "?");
        return KB_UNSUPPORTED;
    }
    int64_t batch_plus = (int64_t)s->batch + 1;
    int32_t *cu = malloc((size_t)batch_plus * sizeof *cu);
    int64_t total = cu ? varlen_cu_seqlens(s, cu, err, errlen) : -1;
    if (!cu)
        snprintf(err, errlen, "attention.varlen: out of memory");
    struct kb_shape tokens = token_major_shape(s, total < 0 ? 0 : total);
    if (total < 0 || qkv_operands_add(io, &tokens, 1, t, seed, err, errlen) != KB_OK ||
        kb_operands_add(io, "cu_seqlens", KB_DTYPE_I32, 1, &batch_plus, 0, 0, err, errlen) != KB_VARLEN_CU ||
        qkv_operands_output(io, "o", &tokens, 1, err, errlen) != KB_VARLEN_O) {
        free(cu);
        return KB_ERROR;
    }
    for (int i = KB_VARLEN_Q; i <= KB_VARLEN_V; i++)
        three_dims(io, i);
    three_dims(io, KB_VARLEN_O);
    memcpy(io->buffer[KB_VARLEN_CU], cu, (size_t)batch_plus * sizeof *cu);
    free(cu);
    return KB_OK;
}

static int softmax_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                          size_t errlen)
{
    return inputs(io, s, t, seed, 0, err, errlen);
}

static int linear_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                         size_t errlen)
{
    return inputs(io, s, t, seed, 1, err, errlen);
}

/* Row r of the packed O ([T, H, d]: r = t·H + h): its sequence alone, as a batch of one with
 * one head, its rows gathered into head-major copies, through the padded operation's
 * reference row. */
typedef void (*padded_row_fn)(const struct kb_shape *s, const float *q, const float *k, const float *v, int b, int h,
                              int i, double *out);

static void varlen_row(const struct kb_operands *io, const struct kb_shape *s, long r, padded_row_fn row,
                       double *out)
{
    const int32_t *cu = io->tensor[KB_VARLEN_CU].data;
    const int d = s->head_dim, h = (int)(r % s->heads), kvh = h / (s->heads / s->kv_heads);
    const int64_t t = r / s->heads;
    const int b = varlen_sequence_of(cu, s->batch, t), n = cu[b + 1] - cu[b], i = (int)(t - cu[b]);
    struct kb_shape one = varlen_sequence_shape(s, n);
    one.heads = one.kv_heads = 1;
    /* q: only row i is read; k, v: rows 0..n of the sequence's KV head */
    float *mem = malloc((size_t)3 * n * d * sizeof *mem);
    if (!mem) {
        for (int c = 0; c < d; c++)
            out[c] = NAN; /* judged as a failure, never a pass */
        return;
    }
    float *q = mem, *k = mem + (size_t)n * d, *v = mem + (size_t)2 * n * d;
    const float *Q = io->tensor[KB_VARLEN_Q].data, *K = io->tensor[KB_VARLEN_K].data, *V = io->tensor[KB_VARLEN_V].data;
    memcpy(q + (size_t)i * d, Q + ((size_t)t * s->heads + h) * d, (size_t)d * sizeof *q);
    for (int j = 0; j < n; j++) {
        size_t src = ((size_t)(cu[b] + j) * s->kv_heads + kvh) * d;
        memcpy(k + (size_t)j * d, K + src, (size_t)d * sizeof *k);
        memcpy(v + (size_t)j * d, V + src, (size_t)d * sizeof *v);
    }
    row(&one, q, k, v, 0, 0, i, out);
    free(mem);
}

static void softmax_row(const void *ctx, const struct kb_shape *s, long r, double *out)
{
    varlen_row(ctx, s, r, attention_reference_row, out);
}

static void linear_row(const void *ctx, const struct kb_shape *s, long r, double *out)
{
    varlen_row(ctx, s, r, linear_reference_row, out);
}

static long output_rows(const struct kb_operands *io, const struct kb_shape *s)
{
    const int32_t *cu = io->tensor[KB_VARLEN_CU].data;
    return (long)s->heads * cu[s->batch];
}

static int softmax_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                          int threads, struct kb_accuracy *acc)
{
    return attention_verify_sampled(s, seed, io->tensor[KB_VARLEN_O].data, output_rows(io, s), threads, softmax_row,
                                    io, verify_default_tolerance(t), acc);
}

static int linear_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                         int threads, struct kb_accuracy *acc)
{
    double tol = t == KB_DTYPE_F32 ? LINEAR_TOLERANCE_F32 : verify_default_tolerance(t);
    return attention_verify_sampled(s, seed, io->tensor[KB_VARLEN_O].data, output_rows(io, s), threads, linear_row,
                                    io, tol, acc);
}

/* Σ_b of the padded count of sequence b alone. */
static double sum_over_sequences(const struct kb_shape *s, double (*count)(const struct kb_shape *))
{
    int64_t total;
    int32_t *cu = cu_of(s, &total);
    if (!cu)
        return 0;
    double sum = 0;
    for (int b = 0; b < s->batch; b++) {
        struct kb_shape one = varlen_sequence_shape(s, cu[b + 1] - cu[b]);
        sum += count(&one);
    }
    free(cu);
    return sum;
}

static double softmax_flops(const struct kb_shape *s)
{
    return sum_over_sequences(s, attention_flops);
}

static double linear_flops_varlen(const struct kb_shape *s)
{
    return sum_over_sequences(s, linear_flops);
}

/* Q, K, V, O once (linear in the lengths, so the packed shape's count) and cu_seqlens. */
static double varlen_bytes(const struct kb_shape *shape, enum kb_dtype t)
{
    struct kb_shape s = *shape;
    if (s.kv_heads == 0)
        s.kv_heads = s.heads;
    int64_t total;
    int32_t *cu = cu_of(&s, &total);
    free(cu);
    struct kb_shape packed = varlen_sequence_shape(&s, total < 0 ? 0 : (int)total);
    return attention_min_bytes(&packed, t) + 4.0 * (s.batch + 1.0);
}

/* The operands at the longest possible packing (batch · N tokens: a bound without running the
 * generator), cu_seqlens, and verify's rows. */
static double varlen_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double kvh = s->kv_heads > 0 ? s->kv_heads : s->heads, tokens = (double)s->batch * s->seq_len;
    return 4.0 * s->head_dim * tokens * (2.0 * s->heads + 2.0 * kvh) + 4.0 * QKV_PAD_BYTES + 4.0 * (s->batch + 1.0) +
           64.0 + (double)ATTENTION_VERIFY_ROWS * (8.0 * s->head_dim + 8.0);
}

#define VARLEN_AXES (KB_AXES_ATTENTION | KB_AXIS_BIT(KB_AXIS_LENGTHS))
#define VARLEN_DTYPES (KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16))
#define VARLEN_LAYOUT_TAIL                                                                                          \
    "packed token-major as FlashAttention's varlen API: q [T,H,d], k and v [T,H_kv,d], o [T,H,d] float32 "        \
    "(T = Σ n_b; sequence b is tokens cu_seqlens[b]..cu_seqlens[b+1]), cu_seqlens [B+1] int32; 16-bit cases hold "\
    "values rounded to the dtype"

const struct kb_operation kb_op_attention_varlen = {
    .name = "attention.varlen",
    .description = "softmax attention over a packed ragged batch (cu_seqlens): each sequence attends only to "
                   "itself, causal or not, GQA; length mixes uniform, longtail, equal",
    .family = KB_FAMILY_ATTENTION,
    .axes = VARLEN_AXES,
    .dtypes = VARLEN_DTYPES,
    .layout = VARLEN_LAYOUT_TAIL,
    .flops = softmax_flops,
    .bytes = varlen_bytes,
    .footprint = varlen_footprint,
    .inputs = softmax_inputs,
    .verify = softmax_verify,
};

const struct kb_operation kb_op_attention_linear_varlen = {
    .name = "attention.linear_varlen",
    .description = "feature-map linear attention over a packed ragged batch (cu_seqlens): a fresh state per "
                   "sequence, causal or not; length mixes uniform, longtail, equal",
    .family = KB_FAMILY_ATTENTION,
    .axes = VARLEN_AXES | KB_AXIS_BIT(KB_AXIS_FEATURE) | KB_AXIS_BIT(KB_AXIS_CHUNK),
    .dtypes = VARLEN_DTYPES,
    .layout = VARLEN_LAYOUT_TAIL,
    .flops = linear_flops_varlen,
    .bytes = varlen_bytes,
    .footprint = varlen_footprint,
    .inputs = linear_inputs,
    .verify = linear_verify,
};
