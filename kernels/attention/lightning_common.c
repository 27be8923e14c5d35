/* lightning_common.c - attention.lightning's shape rule, counts and float64 references
 * (lightning.h), shared by every implementation. */
#include "kernels/attention/lightning.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention/linear.h"

double lightning_scale(int head_dim)
{
    return 1.0 / sqrt((double)head_dim);
}

int lightning_check_shape(struct kb_shape *s, int allow_unset_chunk, char *err, size_t errlen)
{
    int rc = attention_check_shape(s, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (s->chunk < (allow_unset_chunk ? 0 : 1)) {
        snprintf(err, errlen, "attention.lightning: chunk = %d, must be at least 1", s->chunk);
        return KB_UNSUPPORTED;
    }
    if (s->decode != 0 && s->decode != 1) {
        snprintf(err, errlen, "attention.lightning: decode = %d, must be 0 or 1", s->decode);
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

double lightning_flops(const struct kb_shape *s)
{
    double bh = (double)s->batch * s->heads, n = s->decode ? 1 : s->seq_len, d = s->head_dim;
    return bh * n * 4.0 * d * d;
}

double lightning_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    if (s->decode) {
        double bh = (double)s->batch * s->heads, d = s->head_dim;
        return bh * 8.0 * d * d + kb_dtype_size(t) * bh * 4.0 * d;
    }
    return attention_min_bytes(s, t);
}

static int kv_head_of(const struct kb_shape *s, int h)
{
    int hkv = s->kv_heads > 0 ? s->kv_heads : s->heads;
    return h / (s->heads / hkv);
}

void lightning_reference_rows(const struct kb_shape *s, const float *q, const float *k, const float *v, int b,
                              int h, const int *rows, int nrows, double *out)
{
    const int n = s->seq_len, d = s->head_dim, hkv = s->kv_heads > 0 ? s->kv_heads : s->heads;
    const int kh = kv_head_of(s, h);
    const float *qb = q + ((size_t)b * s->heads + h) * n * d;
    const float *kb = k + ((size_t)b * hkv + kh) * n * d;
    const float *vb = v + ((size_t)b * hkv + kh) * n * d;
    const double lambda = linear_decay_lambda(h, s->heads), log_lambda = log(lambda);
    const double scale = lightning_scale(d);
    /* keys older than `span` weigh less than 2^-80 of the newest */
    const long span = (long)(80.0 / -log2(lambda));
    memset(out, 0, (size_t)nrows * d * sizeof *out);
    int lo = n, hi = -1;
    for (int r = 0; r < nrows; r++) {
        int first = rows[r] - span > 0 ? (int)(rows[r] - span) : 0;
        lo = first < lo ? first : lo;
        hi = rows[r] > hi ? rows[r] : hi;
    }
    /* one walk over the keys serves every requested row */
    for (int j = lo; j <= hi; j++) {
        const float *kj = kb + (size_t)j * d, *vj = vb + (size_t)j * d;
        for (int r = 0; r < nrows; r++) {
            if (j > rows[r] || rows[r] - j > span)
                continue;
            const float *qi = qb + (size_t)rows[r] * d;
            double w = 0;
            for (int c = 0; c < d; c++)
                w += (double)qi[c] * (double)kj[c];
            w *= scale * exp(log_lambda * (double)(rows[r] - j));
            double *o = out + (size_t)r * d;
            for (int c = 0; c < d; c++)
                o[c] += w * (double)vj[c];
        }
    }
}

void lightning_reference_recurrent(const struct kb_shape *s, const float *q, const float *k, const float *v, int b,
                                   int h, double *out)
{
    const int n = s->seq_len, d = s->head_dim, hkv = s->kv_heads > 0 ? s->kv_heads : s->heads;
    const int kh = kv_head_of(s, h);
    const float *qb = q + ((size_t)b * s->heads + h) * n * d;
    const float *kb = k + ((size_t)b * hkv + kh) * n * d;
    const float *vb = v + ((size_t)b * hkv + kh) * n * d;
    const long double lambda = (long double)linear_decay_lambda(h, s->heads);
    const long double scale = 1.0L / sqrtl((long double)d);
    long double *st = calloc((size_t)d * d, sizeof *st);
    if (!st) {
        memset(out, 0, (size_t)n * d * sizeof *out);
        return;
    }
    for (int t = 0; t < n; t++) {
        const float *kt = kb + (size_t)t * d, *vt = vb + (size_t)t * d, *qt = qb + (size_t)t * d;
        /* S_t[p][c] = λ S_{t−1}[p][c] + k_t[p] v_t[c] */
        for (int p = 0; p < d; p++)
            for (int c = 0; c < d; c++)
                st[(size_t)p * d + c] = lambda * st[(size_t)p * d + c] + (long double)kt[p] * vt[c];
        /* o_t[c] = scale Σ_p q_t[p] S_t[p][c] */
        for (int c = 0; c < d; c++) {
            long double acc = 0;
            for (int p = 0; p < d; p++)
                acc += (long double)qt[p] * st[(size_t)p * d + c];
            out[(size_t)t * d + c] = (double)(scale * acc);
        }
    }
    free(st);
}
