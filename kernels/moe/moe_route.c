/* moe_route.c - the float32 router every moe.* CPU kernel uses (see moe.h): logits through the
 * packed GEMM, then top-k and renormalised gates per token. */
#include "kernels/moe/moe.h"

#include <math.h>

#include "kernels/moe/moe_gemm.h"

void moe_select_topk(const float *logits, int experts, int k, int *ids, float *gates)
{
    /* insertion into a descending list of k: a strictly larger value displaces, so of equal
     * logits the lower expert id (seen first) stays ahead, the rule the reference follows */
    int n = 0;
    for (int e = 0; e < experts; e++) {
        float v = logits[e];
        if (n == k && !(v > logits[ids[k - 1]]))
            continue;
        int pos = n < k ? n++ : k - 1;
        while (pos > 0 && v > logits[ids[pos - 1]]) {
            ids[pos] = ids[pos - 1];
            pos--;
        }
        ids[pos] = e;
    }
    /* softmax over all E renormalised over the chosen k is the softmax over the chosen k */
    float top = logits[ids[0]], sum = 0;
    for (int j = 0; j < k; j++) {
        gates[j] = expf(logits[ids[j]] - top);
        sum += gates[j];
    }
    for (int j = 0; j < k; j++)
        gates[j] /= sum;
}

void moe_route_range(const struct moe_inputs *in, const struct kb_shape *s, int t0, int t1,
                     float *logits, int *ids, float *gates, float *apack)
{
    if (t1 <= t0)
        return;
    const size_t h = (size_t)s->hidden, epad = in->epad;
    const int E = s->experts, k = s->top_k;
    struct moe_gemm g = {
        .m = t1 - t0, .n = E, .k = (int)h,
        .a = in->x + (size_t)t0 * h, .lda = h,
        .b = in->wrp, .b_panel_stride = h * MOE_NR,
        .c = logits + (size_t)t0 * epad, .ldc = epad,
    };
    moe_gemm_run(moe_gemm_best(), &g, apack);
    for (int t = t0; t < t1; t++) {
        float *l = logits + (size_t)t * epad;
        for (int e = 0; e < E; e++)
            l[e] += in->bias[e];
        moe_select_topk(l, E, k, ids + (size_t)t * k, gates + (size_t)t * k);
    }
}
