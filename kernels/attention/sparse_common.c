/* sparse_common.c - see sparse.h: the counts, the block selection and the float64 references of
 * window, block-sparse and decode attention, shared by every implementation of them. */
#include "kernels/attention/sparse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"

void attention_ranges_reference_row(const float *q, const float *k, const float *v, int d,
                                    const struct key_range *ranges, int nranges, double *out)
{
    const double scale = 1.0 / sqrt((double)d);
    double mx = -INFINITY;
    for (int r = 0; r < nranges; r++)
        for (int j = ranges[r].lo; j < ranges[r].hi; j++) {
            double acc = 0;
            for (int c = 0; c < d; c++)
                acc += (double)q[c] * (double)k[(size_t)j * d + c];
            if (acc * scale > mx)
                mx = acc * scale;
        }
    for (int c = 0; c < d; c++)
        out[c] = 0;
    if (mx == -INFINITY)
        return;
    /* The second pass recomputes the scores rather than storing them: windows and selections
     * are short enough that memory, not time, is what a reference should not spend. */
    double sum = 0;
    for (int r = 0; r < nranges; r++)
        for (int j = ranges[r].lo; j < ranges[r].hi; j++) {
            double acc = 0;
            for (int c = 0; c < d; c++)
                acc += (double)q[c] * (double)k[(size_t)j * d + c];
            double p = exp(acc * scale - mx);
            sum += p;
            for (int c = 0; c < d; c++)
                out[c] += p * (double)v[(size_t)j * d + c];
        }
    for (int c = 0; c < d; c++)
        out[c] /= sum;
}

/* ---- window ---------------------------------------------------------------------------------- */

double window_pairs(int n, int w)
{
    double nn = n, ww = w;
    if (n <= w)
        return nn * (nn + 1.0) / 2.0;
    return ww * (ww + 1.0) / 2.0 + (nn - ww) * ww;
}

double window_flops(const struct kb_shape *s)
{
    return 4.0 * s->batch * s->heads * (double)s->head_dim * window_pairs(s->seq_len, s->window);
}

double window_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    return attention_min_bytes(s, t);
}

int window_check_shape(const struct kb_shape *s, char *err, size_t errlen)
{
    if (s->window < 1) {
        snprintf(err, errlen, "attention.window: window = %d, must be at least 1", s->window);
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

/* ---- block sparse ---------------------------------------------------------------------------- */

int bsa_blocks(const struct kb_shape *s)
{
    return (s->seq_len + s->block - 1) / s->block;
}

int bsa_kept_past(const struct kb_shape *s, int qb)
{
    return s->topk_blocks < qb ? s->topk_blocks : qb;
}

/* Keys of query block qb's own block seen by its rows, summed over the rows: causal triangle. */
static double own_block_pairs(const struct kb_shape *s, int qb)
{
    double rows = s->seq_len - (double)qb * s->block;
    if (rows > s->block)
        rows = s->block;
    return rows * (rows + 1.0) / 2.0;
}

static double block_rows(const struct kb_shape *s, int qb)
{
    double rows = s->seq_len - (double)qb * s->block;
    return rows > s->block ? s->block : rows;
}

double bsa_pairs(const struct kb_shape *s)
{
    /* kept past blocks are always whole: only the last block can be short, and it is nobody's
     * past block */
    double pairs = 0;
    for (int qb = 0, nb = bsa_blocks(s); qb < nb; qb++)
        pairs += block_rows(s, qb) * bsa_kept_past(s, qb) * (double)s->block + own_block_pairs(s, qb);
    return pairs;
}

double bsa_density(const struct kb_shape *s)
{
    double kept = 0, causal = 0;
    for (int qb = 0, nb = bsa_blocks(s); qb < nb; qb++) {
        kept += bsa_kept_past(s, qb) + 1.0;
        causal += qb + 1.0;
    }
    return kept / causal;
}

double bsa_flops(const struct kb_shape *s)
{
    double bh = (double)s->batch * s->heads, d = s->head_dim, nb = bsa_blocks(s);
    double attend = 4.0 * bh * d * bsa_pairs(s);
    double estimate = 2.0 * bh * d * nb * (nb - 1.0) / 2.0;
    double pooling = (double)s->batch * s->seq_len * d * (s->heads + (s->kv_heads > 0 ? s->kv_heads : s->heads));
    return attend + estimate + pooling;
}

double bsa_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double kept_keys = 0;
    for (int qb = 0, nb = bsa_blocks(s); qb < nb; qb++)
        kept_keys += bsa_kept_past(s, qb) * (double)s->block + block_rows(s, qb);
    double bh = (double)s->batch * s->heads, d = s->head_dim;
    return kb_dtype_size(t) * (2.0 * bh * s->seq_len * d + 2.0 * bh * d * kept_keys);
}

int bsa_check_shape(const struct kb_shape *s, char *err, size_t errlen)
{
    if (s->block < 1 || s->topk_blocks < 1) {
        snprintf(err, errlen, "attention.block_sparse: block = %d and topk_blocks = %d must both be at least 1",
                 s->block, s->topk_blocks);
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

void bsa_block_means(const float *x, int n, int d, int block, double *means)
{
    for (int b0 = 0, nb = 0; b0 < n; b0 += block, nb++) {
        double *m = means + (size_t)nb * d;
        int end = b0 + block < n ? b0 + block : n;
        for (int c = 0; c < d; c++)
            m[c] = 0;
        for (int t = b0; t < end; t++)
            for (int c = 0; c < d; c++)
                m[c] += x[(size_t)t * d + c];
        for (int c = 0; c < d; c++)
            m[c] /= (double)(end - b0);
    }
}

void bsa_select(const double *qmean, const double *kmeans, int d, int qb, int topk, double *score,
                int *keep)
{
    int kept = topk < qb ? topk : qb;
    if (kept == qb) { /* everything in the past fits */
        for (int i = 0; i < qb; i++)
            keep[i] = i;
        return;
    }
    /* repeated maximum over the unchosen blocks: O(qb·topk), no allocation */
    for (int kb = 0; kb < qb; kb++) {
        double acc = 0;
        for (int c = 0; c < d; c++)
            acc += qmean[c] * kmeans[(size_t)kb * d + c];
        score[kb] = acc;
    }
    for (int i = 0; i < kept; i++) {
        int best = -1;
        for (int kb = 0; kb < qb; kb++)
            if (score[kb] != -INFINITY && (best < 0 || score[kb] > score[best]))
                best = kb;
        keep[i] = best;
        score[best] = -INFINITY;
    }
    /* ascending block order, so the kernel walks K and V forward */
    for (int i = 1; i < kept; i++)
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
            int t = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = t;
        }
}

/* ---- decode ---------------------------------------------------------------------------------- */

double decode_flops(const struct kb_shape *s)
{
    return 4.0 * s->batch * s->heads * (double)s->seq_len * s->head_dim;
}

double decode_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double d = s->head_dim;
    return kb_dtype_size(t) * (2.0 * s->batch * s->heads * d + 2.0 * s->batch * (s->kv_heads > 0 ? s->kv_heads : s->heads) * (double)s->seq_len * d);
}

float *decode_query_new(const struct kb_shape *s, uint64_t seed)
{
    size_t elems = (size_t)s->batch * s->heads * s->head_dim;
    float *q = attention_alloc((elems + ATTENTION_INPUT_PAD) * sizeof(float));
    if (!q)
        return NULL;
    /* the same sub-seed rule and distribution as attention_common.c gives Q (SEED_Q = 1; the
     * outlier case has its outliers in K, Q stays normal) */
    gen_fill_input_f32(q, (size_t)s->batch * s->heads, (size_t)s->head_dim, seed ^ 0x9E3779B97F4A7C15ull,
                       s->input == KB_INPUT_OUTLIER ? KB_INPUT_NORMAL : s->input);
    memset(q + elems, 0, ATTENTION_INPUT_PAD * sizeof(float));
    return q;
}

/* ---- bf16 ------------------------------------------------------------------------------------ */

uint16_t bf16_from_f32(float x)
{
    union { float f; uint32_t u; } v = { .f = x };
    if (isnan(x))
        return (uint16_t)((v.u >> 16) | 0x40); /* quiet */
    uint32_t lsb = (v.u >> 16) & 1u;
    return (uint16_t)((v.u + 0x7FFFu + lsb) >> 16);
}
