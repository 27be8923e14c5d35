/* paged_kv.c - the paged KV cache of attention decode (paged_kv.h). */
#include "kernels/attention/paged_kv.h"

#include <math.h>
#include <string.h>

#include "datasets/generate.h"

void paged_kv_table_fill(int32_t *table, const struct kb_shape *s, uint64_t seed)
{
    const int64_t total = (int64_t)s->batch * paged_kv_pages(s);
    for (int64_t i = 0; i < total; i++)
        table[i] = (int32_t)i;
    struct kb_rng r;
    kb_rng_seed(&r, seed ^ 0x70616765ull); /* its own sub-seed: Q, K, V keep theirs */
    for (int64_t i = total - 1; i > 0; i--) {
        int64_t j = (int64_t)(kb_rng_next(&r) % (uint64_t)(i + 1));
        int32_t t = table[i];
        table[i] = table[j];
        table[j] = t;
    }
}

void paged_kv_scatter(float *dst, const float *src, const int32_t *table, const struct kb_shape *s)
{
    const int64_t pages = paged_kv_pages(s);
    const size_t d = (size_t)s->head_dim;
    for (int b = 0; b < s->batch; b++)
        for (int64_t p = 0; p < pages; p++) {
            const int64_t phys = table[(int64_t)b * pages + p];
            const int64_t t0 = p * s->page;
            const int rows = s->seq_len - t0 < s->page ? (int)(s->seq_len - t0) : s->page;
            for (int h = 0; h < s->kv_heads; h++) {
                const float *from = src + (((size_t)b * s->kv_heads + h) * (size_t)s->seq_len + (size_t)t0) * d;
                memcpy(dst + paged_kv_row(s, phys, h, 0), from, (size_t)rows * d * sizeof *from);
            }
        }
}

/* Key or value row t of (b, kvh), through the table when there is one. */
static const float *kv_row(const struct kb_shape *s, const float *x, const int32_t *table, int b, int kvh, int t)
{
    if (!table)
        return x + (((size_t)b * s->kv_heads + kvh) * (size_t)s->seq_len + (size_t)t) * (size_t)s->head_dim;
    const int64_t pages = paged_kv_pages(s);
    return x + paged_kv_row(s, table[(int64_t)b * pages + t / s->page], kvh, t % s->page);
}

void paged_kv_reference_row(const struct kb_shape *s, const float *q, const float *k, const float *v,
                            const int32_t *table, int b, int kvh, double *out)
{
    const int d = s->head_dim, n = s->seq_len;
    const double scale = 1.0 / sqrt((double)d);
    double mx = -INFINITY;
    for (int t = 0; t < n; t++) {
        const float *kt = kv_row(s, k, table, b, kvh, t);
        double acc = 0;
        for (int c = 0; c < d; c++)
            acc += (double)q[c] * (double)kt[c];
        if (acc * scale > mx)
            mx = acc * scale;
    }
    for (int c = 0; c < d; c++)
        out[c] = 0;
    /* the second pass recomputes the scores: N doubles per row would be 0.5 MiB at 64k */
    double sum = 0;
    for (int t = 0; t < n; t++) {
        const float *kt = kv_row(s, k, table, b, kvh, t), *vt = kv_row(s, v, table, b, kvh, t);
        double acc = 0;
        for (int c = 0; c < d; c++)
            acc += (double)q[c] * (double)kt[c];
        double p = exp(acc * scale - mx);
        sum += p;
        for (int c = 0; c < d; c++)
            out[c] += p * (double)vt[c];
    }
    for (int c = 0; c < d; c++)
        out[c] /= sum;
}
