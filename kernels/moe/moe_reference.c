/* moe_reference.c - the float64 definition of routing and of one expert's FFN (see moe.h). */
#include "kernels/moe/moe.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Descending top-k of v[0..n) into ids; of equal values the lower index first. */
static void topk_f64(const double *v, int n, int k, int *ids)
{
    int cnt = 0;
    for (int e = 0; e < n; e++) {
        if (cnt == k && !(v[e] > v[ids[k - 1]]))
            continue;
        int pos = cnt < k ? cnt++ : k - 1;
        while (pos > 0 && v[e] > v[ids[pos - 1]]) {
            ids[pos] = ids[pos - 1];
            pos--;
        }
        ids[pos] = e;
    }
}

void moe_reference_route(const struct moe_inputs *in, const struct kb_shape *s, int t,
                         const int *kernel_ids, struct moe_ref_route *out)
{
    const int E = s->experts, k = s->top_k;
    const size_t h = (size_t)s->hidden;
    memset(out, 0, sizeof *out);
    double *l = calloc((size_t)E, sizeof *l), *mag = calloc((size_t)E, sizeof *mag);
    if (!l || !mag) {
        free(l);
        free(mag);
        out->mismatches = k; /* cannot judge: never a silent pass */
        return;
    }
    const float *x = in->x + (size_t)t * h;
    for (size_t i = 0; i < h; i++) {
        const double xi = x[i];
        const float *w = in->wr + i * (size_t)E;
        for (int e = 0; e < E; e++) {
            double p = xi * (double)w[e];
            l[e] += p;
            mag[e] += fabs(p);
        }
    }
    for (int e = 0; e < E; e++) {
        l[e] += in->bias[e];
        mag[e] += fabs((double)in->bias[e]);
    }
    int ref_ids[MOE_MAX_TOPK];
    topk_f64(l, E, k, ref_ids);
    const double root_h = sqrt((double)h);
    const int kth = ref_ids[k - 1];
    int use_kernel = kernel_ids != NULL;
    for (int j = 0; kernel_ids && j < k; j++) {
        int id = kernel_ids[j];
        int dup = 0;
        for (int i = 0; i < j; i++)
            dup |= kernel_ids[i] == id;
        if (id < 0 || id >= E || dup) {
            out->mismatches++;
            continue;
        }
        int in_ref = 0;
        for (int i = 0; i < k; i++)
            in_ref |= ref_ids[i] == id;
        if (in_ref)
            continue;
        double tol = 32.0 * FLT_EPSILON * root_h * fmax(mag[id], mag[kth]);
        if (l[id] >= l[kth] - tol)
            out->near_ties++;
        else
            out->mismatches++;
    }
    if (out->mismatches)
        use_kernel = 0;
    double top = -INFINITY, sum = 0;
    for (int j = 0; j < k; j++) {
        out->ids[j] = use_kernel ? kernel_ids[j] : ref_ids[j];
        top = fmax(top, l[out->ids[j]]);
    }
    for (int j = 0; j < k; j++) {
        out->gates[j] = exp(l[out->ids[j]] - top);
        sum += out->gates[j];
    }
    for (int j = 0; j < k; j++)
        out->gates[j] /= sum;
    free(l);
    free(mag);
}

void moe_reference_expert_row(const struct moe_inputs *in, const struct kb_shape *s, int e,
                              const float *x, double *out)
{
    const size_t h = (size_t)s->hidden, f = (size_t)s->ffn;
    const float *w1 = in->w1 + (size_t)e * h * f, *w3 = in->w3 + (size_t)e * h * f;
    const float *w2 = in->w2 + (size_t)e * f * h;
    double *g = calloc(2 * f, sizeof *g);
    for (size_t c = 0; c < h; c++)
        out[c] = g ? 0.0 : NAN; /* without memory: a NaN the verdict cannot miss */
    if (!g)
        return;
    double *u = g + f;
    for (size_t i = 0; i < h; i++) {
        const double xi = x[i];
        const float *r1 = w1 + i * f, *r3 = w3 + i * f;
        for (size_t j = 0; j < f; j++) {
            g[j] += xi * (double)r1[j];
            u[j] += xi * (double)r3[j];
        }
    }
    for (size_t j = 0; j < f; j++) {
        double act = g[j] / (1.0 + exp(-g[j])) * u[j]; /* silu(g)·u */
        const float *r2 = w2 + j * h;
        for (size_t c = 0; c < h; c++)
            out[c] += act * (double)r2[c];
    }
    free(g);
}
