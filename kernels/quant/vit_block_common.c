/* vit_block_common.c - what the operation vit.block and its float and integer implementations
 * share (vit_block.h): the shape, the view of the operands and the float64 reference. */
#include "kernels/quant/vit_block.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/quant/ivit.h"

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

struct vit_weights vit_weights_of(const struct kb_operands *io)
{
    return (struct vit_weights){ io->tensor[KB_VIT_X].data, io->tensor[KB_VIT_W_QKV].data,
                                 io->tensor[KB_VIT_W_O].data, io->tensor[KB_VIT_W_1].data,
                                 io->tensor[KB_VIT_W_2].data };
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
