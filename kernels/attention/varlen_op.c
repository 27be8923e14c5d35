/* varlen_op.c - the operations attention.varlen and attention.linear_varlen (varlen_ops.h):
 * shape rule, packed inputs, per-sequence float64 references (the padded operations' own
 * reference rows, run on the row's sequence), counts from the actual lengths. */
#include "kernels/attention/varlen_ops.h"
#include "kernels/attention/varlen.h"

#include <limits.h>
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

struct kb_shape varlen_sequence_shape(const struct kb_shape *s, int n)
{
    struct kb_shape one = *s;
    one.batch = 1;
    one.seq_len = n;
    one.lengths = 0;
    return one;
}

/* The shape of the packed tensors as qkv_operands sees them: one "sequence" of T tokens. */
static struct kb_shape packed_shape(const struct kb_shape *s, int64_t total)
{
    return varlen_sequence_shape(s, (int)total);
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
    struct kb_shape packed = packed_shape(s, total);
    if (total < 0 || qkv_operands_add(io, &packed, (int)total, t, seed, err, errlen) != KB_OK ||
        kb_operands_add(io, "cu_seqlens", KB_DTYPE_I32, 1, &batch_plus, 0, 0, err, errlen) != KB_VARLEN_CU ||
        qkv_operands_output(io, "o", &packed, (int)total, err, errlen) != KB_VARLEN_O) {
        free(cu);
        return KB_ERROR;
    }
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

/* Row r of the packed O ([H, T, d]): its sequence alone, as a batch of one, through the padded
 * operation's reference row. */
struct row_site {
    struct kb_shape one;    /* the sequence's shape: batch 1, one head, n_b tokens */
    const float *q, *k, *v; /* its head's rows */
    int i;                  /* the row within the sequence */
};

static struct row_site row_site(const struct kb_operands *io, const struct kb_shape *s, long r)
{
    const int32_t *cu = io->tensor[KB_VARLEN_CU].data;
    const int64_t total = cu[s->batch];
    const int d = s->head_dim, h = (int)(r / total), kvh = h / (s->heads / s->kv_heads);
    const int64_t t = r % total;
    const int b = varlen_sequence_of(cu, s->batch, t);
    struct row_site site;
    site.one = varlen_sequence_shape(s, cu[b + 1] - cu[b]);
    site.one.heads = site.one.kv_heads = 1;
    site.q = (const float *)io->tensor[KB_VARLEN_Q].data + ((size_t)h * total + cu[b]) * d;
    site.k = (const float *)io->tensor[KB_VARLEN_K].data + ((size_t)kvh * total + cu[b]) * d;
    site.v = (const float *)io->tensor[KB_VARLEN_V].data + ((size_t)kvh * total + cu[b]) * d;
    site.i = (int)(t - cu[b]);
    return site;
}

static void softmax_row(const void *ctx, const struct kb_shape *s, long r, double *out)
{
    struct row_site x = row_site(ctx, s, r);
    attention_reference_row(&x.one, x.q, x.k, x.v, 0, 0, x.i, out);
}

static void linear_row(const void *ctx, const struct kb_shape *s, long r, double *out)
{
    struct row_site x = row_site(ctx, s, r);
    linear_reference_row(&x.one, x.q, x.k, x.v, 0, 0, x.i, out);
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
    struct kb_shape packed = packed_shape(&s, total < 0 ? 0 : total);
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
    "packed head-major: q [1,H,T,d], k and v [1,H_kv,T,d], o [1,H,T,d] float32 (T = Σ n_b; sequence b of a head is "\
    "rows cu_seqlens[b]..cu_seqlens[b+1]), cu_seqlens [B+1] int32; 16-bit cases hold values rounded to the dtype"

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
