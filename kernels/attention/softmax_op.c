/* softmax_op.c - the operation attention.softmax (softmax_ops.h): its inputs, its float64
 * reference on sampled rows, its counts. Every softmax attention implementation (flash, the
 * unfused library baselines, the INT8 ones, the float64 reference itself) is judged here.
 *
 * The inputs are those the kernels drew themselves before operations existed
 * (attention_inputs_fill: the same sub-seeds and distributions; decode's Q is the draw of
 * decode_query_new), so stored results stay comparable. The 16-bit dtypes round them as the
 * kernels did: bf16 as attention.flash@cpu did (bf16_from_f32), f16 as the CUDA kernels'
 * __float2half_rn did on the GPU, and i8 to f16 as attention.int8@cuda.* did (its CPU
 * implementation quantized from the float32 draws; it now quantizes from the same f16 values,
 * so both INT8 implementations and the reference see one set of inputs). */
#include "kernels/attention/softmax_ops.h"
#include "kernels/attention/attention.h"
#include "kernels/attention/paged_kv.h"
#include "kernels/attention/sparse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/verify.h"

_Static_assert(KB_ATTN_INPUT_PAD == ATTENTION_INPUT_PAD, "the public padding is the family's");

/* Rows of Q and O: one per query token, or in decode one per (batch, head). */
static long query_rows(const struct kb_shape *s)
{
    return (long)s->batch * s->heads * (s->decode ? 1 : s->seq_len);
}

static double softmax_flops(const struct kb_shape *s)
{
    return s->decode ? decode_flops(s) : attention_flops(s);
}

/* An INT8 or FP8 attention reads half-precision inputs and writes a half-precision output: its
 * compulsory traffic is f16's (as attention.int8 counted before). */
static double softmax_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    enum kb_dtype stored = t == KB_DTYPE_I8 || t == KB_DTYPE_FP8_E4M3 ? KB_DTYPE_F16 : t;
    if (!s->decode)
        return attention_min_bytes(s, stored);
    /* decode reads the cache once (K and V of N tokens per KV head), Q, and writes O; a paged
     * cache adds its block table (int32 per page), never the unused tail of a last page */
    double table = s->page > 0 ? 4.0 * s->batch * (double)paged_kv_pages(s) : 0;
    return decode_bytes(s, stored) + table;
}

/* Q, K, V with their padding and O, all float32, and what verify allocates (rows and their
 * float64 reference). */
static double softmax_footprint(const struct kb_shape *shape, enum kb_dtype t)
{
    (void)t;
    struct kb_shape s = *shape;
    if (s.kv_heads == 0)
        s.kv_heads = s.heads;
    double d = s.head_dim, q = (double)query_rows(&s) * d;
    double kv = (double)s.batch * s.kv_heads * s.seq_len * d;
    double pad = 2.0 * ATTENTION_INPUT_PAD + 16; /* padding plus rounding to 64 bytes */
    if (s.decode && s.page > 0) {
        /* the pool (whole pages) and its table, beside the contiguous draw inputs() scatters */
        double pages = (double)s.batch * paged_kv_pages(&s);
        kv += pages * s.kv_heads * s.page * d + pages;
    }
    return 4.0 * (2.0 * q + 2.0 * kv + 3.0 * pad) + (double)ATTENTION_VERIFY_ROWS * (8.0 * d + 8.0);
}

/* x rounded to the nearest f16 value (ties to even), as __float2half_rn: 11 significant bits
 * down to 2^-14, then a fixed step of 2^-24 (subnormals); overflow to infinity. */
static float round_f16(float x)
{
    float a = fabsf(x);
    if (!isfinite(x) || a == 0.0f)
        return x;
    if (a >= 65520.0f) /* halfway past 65504, the largest f16 */
        return copysignf(INFINITY, x);
    int e;
    frexpf(a, &e); /* a in [2^(e-1), 2^e) */
    int lsb = (e - 1 < -14 ? -14 : e - 1) - 10;
    float step = ldexpf(1.0f, lsb);
    return copysignf(nearbyintf(a / step) * step, x); /* exact scalings; nearbyintf ties to even */
}

static void round_inputs(float *x, size_t n, enum kb_dtype t)
{
    if (t == KB_DTYPE_BF16)
        for (size_t i = 0; i < n; i++)
            x[i] = bf16_to_f32(bf16_from_f32(x[i]));
    else if (t == KB_DTYPE_F16 || t == KB_DTYPE_I8 || t == KB_DTYPE_FP8_E4M3)
        for (size_t i = 0; i < n; i++)
            x[i] = round_f16(x[i]);
}

/* A paged cache (page > 0): K and V drawn contiguous as above (the same values a contiguous
 * case of this seed holds) become the pools [B·P, H_kv, page, d] (paged_kv.h), scattered
 * through a shuffled block table, appended as tensor KB_ATTN_BLOCK_TABLE [B, P] int32. */
static int page_the_cache(struct kb_operands *io, const struct kb_shape *s, uint64_t seed, char *err, size_t errlen)
{
    const int64_t pages = paged_kv_pages(s);
    const int64_t tdims[2] = { s->batch, pages };
    if (kb_operands_add(io, "block_table", KB_DTYPE_I32, 2, tdims, 0, 0, err, errlen) != KB_ATTN_BLOCK_TABLE)
        return KB_ERROR;
    int32_t *table = io->buffer[KB_ATTN_BLOCK_TABLE];
    paged_kv_table_fill(table, s, seed);
    const int64_t pool[4] = { s->batch * pages, s->kv_heads, s->page, s->head_dim };
    const size_t pad = ATTENTION_INPUT_PAD * sizeof(float);
    for (int i = KB_ATTN_K; i <= KB_ATTN_V; i++) {
        /* a second operand list holds the pool while the contiguous draw is still needed */
        struct kb_operands tmp = { 0 };
        if (kb_operands_add(&tmp, io->tensor[i].name, KB_DTYPE_F32, 4, pool, 0, pad, err, errlen) != 0) {
            kb_operands_free(&tmp);
            return KB_ERROR;
        }
        paged_kv_scatter(tmp.buffer[0], io->buffer[i], table, s);
        free(io->buffer[i]); /* kb_operands_add's buffers are freed with free() */
        io->buffer[i] = tmp.buffer[0];
        io->bytes[i] = tmp.bytes[0];
        io->tensor[i] = tmp.tensor[0];
        tmp.count = 0; /* the buffer moved to io */
    }
    return KB_OK;
}

static int softmax_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                          size_t errlen)
{
    int rc = attention_check_shape(s, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (s->decode != 0 && s->decode != 1) {
        snprintf(err, errlen, "attention.softmax: decode = %d, must be 0 or 1", s->decode);
        return KB_UNSUPPORTED;
    }
    if (s->page < 0 || (s->page > 0 && !s->decode)) {
        snprintf(err, errlen, "attention.softmax: page = %d; a paged KV cache (page > 0) needs decode = 1", s->page);
        return KB_UNSUPPORTED;
    }
    if (t != KB_DTYPE_F32 && t != KB_DTYPE_F16 && t != KB_DTYPE_BF16 && t != KB_DTYPE_I8 && t != KB_DTYPE_FP8_E4M3) {
        snprintf(err, errlen, "attention.softmax: dtype %s not defined (f32, f16, bf16, i8, e4m3)",
                 kb_dtype_name(t) ? kb_dtype_name(t) : "?");
        return KB_UNSUPPORTED;
    }
    const int64_t nq = s->decode ? 1 : s->seq_len;
    const int64_t qdims[4] = { s->batch, s->heads, nq, s->head_dim };
    const int64_t kvdims[4] = { s->batch, s->kv_heads, s->seq_len, s->head_dim };
    const size_t pad = ATTENTION_INPUT_PAD * sizeof(float);
    if (kb_operands_add(io, "q", KB_DTYPE_F32, 4, qdims, 0, pad, err, errlen) != KB_ATTN_Q ||
        kb_operands_add(io, "k", KB_DTYPE_F32, 4, kvdims, 0, pad, err, errlen) != KB_ATTN_K ||
        kb_operands_add(io, "v", KB_DTYPE_F32, 4, kvdims, 0, pad, err, errlen) != KB_ATTN_V ||
        kb_operands_add(io, "o", KB_DTYPE_F32, 4, qdims, 1, 0, err, errlen) != KB_ATTN_O)
        return KB_ERROR;
    float *q = io->buffer[KB_ATTN_Q], *k = io->buffer[KB_ATTN_K], *v = io->buffer[KB_ATTN_V];
    attention_inputs_fill(q, (size_t)query_rows(s), k, v, s, seed);
    round_inputs(q, kb_operands_elems(io, KB_ATTN_Q), t);
    round_inputs(k, kb_operands_elems(io, KB_ATTN_K), t);
    round_inputs(v, kb_operands_elems(io, KB_ATTN_V), t);
    return s->page > 0 ? page_the_cache(io, s, seed, err, errlen) : KB_OK;
}

/* Row r of O in float64: in decode, query head r % H of batch r / H against all N keys; in
 * prefill, row r of [B, H, N, d]. */
static void softmax_row(const void *ctx, const struct kb_shape *s, long r, double *out)
{
    const struct kb_operands *io = ctx;
    const float *q = io->tensor[KB_ATTN_Q].data, *k = io->tensor[KB_ATTN_K].data, *v = io->tensor[KB_ATTN_V].data;
    const int d = s->head_dim, n = s->seq_len;
    if (s->decode && s->page > 0) {
        size_t kvh = attention_kv_head(s, (size_t)r); /* counted over batch x KV heads */
        paged_kv_reference_row(s, q + (size_t)r * d, k, v, io->tensor[KB_ATTN_BLOCK_TABLE].data,
                               (int)(kvh / (size_t)s->kv_heads), (int)(kvh % (size_t)s->kv_heads), out);
        return;
    }
    if (s->decode) {
        size_t kvh = attention_kv_head(s, (size_t)r);
        struct key_range all = { 0, n };
        attention_ranges_reference_row(q + (size_t)r * d, k + kvh * n * d, v + kvh * n * d, d, &all, 1, out);
        return;
    }
    attention_reference_row(s, q, k, v, (int)(r / ((long)n * s->heads)), (int)((r / n) % s->heads), (int)(r % n),
                            out);
}

/* e4m3 attention (Q, K, P and V each rounded to 3 mantissa bits, unit roundoff 2^-4): four
 * independent relative errors of rms ~2^-4/√3 each, which the output's relative L2 adds up to
 * about 0.05 on random inputs (a host simulation of the recipe: 0.034-0.055 at N = 77..4099);
 * the bound leaves twice that. i8 (INT8 Q·Kᵀ, f16 P and V) keeps verify_default_tolerance's. */
#define SOFTMAX_E4M3_TOLERANCE 0.1

static int softmax_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                          int threads, struct kb_accuracy *acc)
{
    const double tol = t == KB_DTYPE_FP8_E4M3 ? SOFTMAX_E4M3_TOLERANCE : verify_default_tolerance(t);
    return attention_verify_sampled(s, seed, io->tensor[KB_ATTN_O].data, query_rows(s), threads, softmax_row, io, tol,
                                    acc);
}

const struct kb_operation kb_op_attention_softmax = {
    .name = "attention.softmax",
    .description = "softmax attention O = softmax(QKᵀ/√d)V, causal or not, GQA, prefill or decode",
    .family = KB_FAMILY_ATTENTION,
    .axes = KB_AXES_ATTENTION | KB_AXIS_BIT(KB_AXIS_DECODE) | KB_AXIS_BIT(KB_AXIS_PAGE),
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16) |
              KB_DTYPE_BIT(KB_DTYPE_I8) | KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3),
    .layout = "row-major float32; Q [B,H,N,d], K and V [B,H_kv,N,d], O [B,H,N,d] (decode: Q and O have N = 1); "
              "query head h reads KV head h/(H/H_kv); scores scaled by 1/sqrt(d); f16/bf16 cases hold values "
              "rounded to that type, i8 and e4m3 cases f16 values (the kernel quantizes them); decode with page > 0: K and V are pools [B*P,H_kv,page,d] "
              "(P = ceil(N/page) pages per sequence) read through block_table [B,P] int32 (a shuffle)",
    .flops = softmax_flops,
    .bytes = softmax_bytes,
    .footprint = softmax_footprint,
    .inputs = softmax_inputs,
    .verify = softmax_verify,
};
