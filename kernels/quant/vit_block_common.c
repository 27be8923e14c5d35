/* vit_block_common.c - what the float and integer ViT blocks share (vit_block.h): shape, inputs
 * and weights, FLOP/byte counts and the float64 reference. */
#include "kernels/quant/vit_block.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"
#include "kernels/quant/ivit.h"

/* sub-seeds of the weights, after quant's A (the input) and B */
enum { VIT_SEED_WQ = 11, VIT_SEED_WK, VIT_SEED_WV, VIT_SEED_WO, VIT_SEED_W1, VIT_SEED_W2 };
/* variance of W_q, W_k entries × fan_in: scores' standard deviation (see vit_block.h) */
#define VIT_QK_VAR 3.0

int vit_dims_from(const char *kernel, const struct kb_shape *s, struct vit_dims *v, char *err, size_t errlen)
{
    *v = (struct vit_dims){ s->seq_len, s->hidden, s->heads, s->head_dim, s->ffn };
    if (v->t < 1 || v->d < 1 || v->h < 1 || v->dh < 1 || v->f < 1) {
        snprintf(err, errlen, "%s: seq, hidden, heads, head_dim and ffn must be at least 1", kernel);
        return KB_UNSUPPORTED;
    }
    if ((long)v->h * v->dh != v->d) {
        snprintf(err, errlen, "%s: hidden = %d is not heads × head_dim = %d × %d", kernel, v->d, v->h, v->dh);
        return KB_UNSUPPORTED;
    }
    /* I-LayerNorm's int32 sums, int32 GEMM accumulators (K·127² < 2^31), and sizes that index
     * with int */
    if (v->d > IVIT_LN_MAX_N || v->f > 131072 || v->t > 131072 || (double)v->t * v->f > 1e9 ||
        (double)v->h * v->t * v->t > 1e9) {
        snprintf(err, errlen, "%s: seq = %d, hidden = %d, ffn = %d too large (hidden ≤ %d, ffn and seq ≤ 131072)",
                 kernel, v->t, v->d, v->f, IVIT_LN_MAX_N);
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

void vit_weights_free(struct vit_weights *w)
{
    free(w->x);
    free(w->wqkv);
    free(w->wo);
    free(w->w1);
    free(w->w2);
    memset(w, 0, sizeof *w);
}

int vit_weights_new(struct vit_weights *w, const struct vit_dims *v, uint64_t seed, int input)
{
    const size_t t = (size_t)v->t, d = (size_t)v->d, f = (size_t)v->f;
    memset(w, 0, sizeof *w);
    w->x = quant_input_new(t, d, quant_sub_seed(seed, QUANT_SEED_A), input);
    w->wqkv = quant_alloc(3 * d * d * sizeof(float));
    w->wo = quant_alloc(d * d * sizeof(float));
    w->w1 = quant_alloc(f * d * sizeof(float));
    w->w2 = quant_alloc(d * f * sizeof(float));
    if (!w->x || !w->wqkv || !w->wo || !w->w1 || !w->w2) {
        vit_weights_free(w);
        return KB_ERROR;
    }
    const double sd = 1.0 / sqrt((double)d), sqk = sqrt(VIT_QK_VAR / (double)d);
    gen_fill_normal_f32(w->wqkv, d * d, quant_sub_seed(seed, VIT_SEED_WQ), 0, sqk);
    gen_fill_normal_f32(w->wqkv + d * d, d * d, quant_sub_seed(seed, VIT_SEED_WK), 0, sqk);
    gen_fill_normal_f32(w->wqkv + 2 * d * d, d * d, quant_sub_seed(seed, VIT_SEED_WV), 0, sd);
    gen_fill_normal_f32(w->wo, d * d, quant_sub_seed(seed, VIT_SEED_WO), 0, sd);
    gen_fill_normal_f32(w->w1, f * d, quant_sub_seed(seed, VIT_SEED_W1), 0, sd);
    gen_fill_normal_f32(w->w2, d * f, quant_sub_seed(seed, VIT_SEED_W2), 0, 1.0 / sqrt((double)f));
    return KB_OK;
}

double vit_block_flops(const struct kb_shape *s)
{
    const double t = s->seq_len, d = s->hidden, f = s->ffn;
    return 2 * t * d * (4 * d + 2 * f) + 4 * t * t * d;
}

double vit_block_bytes(const struct kb_shape *s, enum kb_dtype dt)
{
    const double t = s->seq_len, d = s->hidden, f = s->ffn;
    return (4 * d * d + 2 * d * f + 2 * t * d) * kb_dtype_size(dt);
}

/* ---- float64 reference ----------------------------------------------------------------------- */

static void layernorm_f64(const double *x, int n, double *y)
{
    double mean = 0, var = 0;
    for (int j = 0; j < n; j++)
        mean += x[j];
    mean /= n;
    for (int j = 0; j < n; j++)
        var += (x[j] - mean) * (x[j] - mean);
    var /= n;
    const double inv = 1.0 / sqrt(var + IVIT_LN_EPS);
    for (int j = 0; j < n; j++)
        y[j] = (x[j] - mean) * inv;
}

/* out[j] = Σ_p a[p]·W[j][p], j < n */
static void matvec_f64(const double *a, const float *w, int n, int k, double *out)
{
    for (int j = 0; j < n; j++) {
        const float *wr = w + (size_t)j * k;
        double s = 0;
        for (int p = 0; p < k; p++)
            s += a[p] * wr[p];
        out[j] = s;
    }
}

int vit_block_reference_rows(const struct vit_weights *w, const struct vit_dims *v, const long *rows, long nr,
                             double *out)
{
    const int t = v->t, d = v->d, f = v->f, dh = v->dh;
    const size_t kvn = (size_t)2 * d;
    double *kv = malloc((size_t)t * kvn * sizeof *kv); /* K and V of every token */
    double *row = malloc((size_t)(4 * d + f + t) * sizeof *row);
    if (!kv || !row) {
        free(kv);
        free(row);
        return KB_ERROR;
    }
    double *a = row, *q = a + d, *o = q + d, *h = o + d, *ff = h + d, *p = ff + f;
    for (int i = 0; i < t; i++) {
        for (int j = 0; j < d; j++)
            a[j] = w->x[(size_t)i * d + j];
        layernorm_f64(a, d, a);
        matvec_f64(a, w->wqkv + (size_t)d * d, 2 * d, d, kv + (size_t)i * kvn);
    }
    const double inv_sqrt = 1.0 / sqrt((double)dh);
    for (long r = 0; r < nr; r++) {
        const int i = (int)rows[r];
        for (int j = 0; j < d; j++)
            a[j] = w->x[(size_t)i * d + j];
        layernorm_f64(a, d, a);
        matvec_f64(a, w->wqkv, d, d, q);
        for (int hd = 0; hd < v->h; hd++) {
            const double *qh = q + (size_t)hd * dh;
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j < t; j++) {
                const double *kj = kv + (size_t)j * kvn + (size_t)hd * dh;
                double s = 0;
                for (int e = 0; e < dh; e++)
                    s += qh[e] * kj[e];
                p[j] = s * inv_sqrt;
                mx = fmax(mx, p[j]);
            }
            for (int j = 0; j < t; j++)
                sum += p[j] = exp(p[j] - mx);
            for (int e = 0; e < dh; e++)
                o[(size_t)hd * dh + e] = 0;
            for (int j = 0; j < t; j++) {
                const double *vj = kv + (size_t)j * kvn + d + (size_t)hd * dh;
                for (int e = 0; e < dh; e++)
                    o[(size_t)hd * dh + e] += p[j] / sum * vj[e];
            }
        }
        matvec_f64(o, w->wo, d, d, h);
        for (int j = 0; j < d; j++)
            h[j] += w->x[(size_t)i * d + j];
        layernorm_f64(h, d, a);
        matvec_f64(a, w->w1, f, d, ff);
        for (int j = 0; j < f; j++)
            ff[j] = 0.5 * ff[j] * (1.0 + erf(ff[j] / sqrt(2.0)));
        double *y = out + (size_t)r * d;
        matvec_f64(ff, w->w2, d, f, y);
        for (int j = 0; j < d; j++)
            y[j] += h[j];
    }
    free(kv);
    free(row);
    return KB_OK;
}
