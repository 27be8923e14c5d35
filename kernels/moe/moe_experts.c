/* moe_experts.c - moe.experts@cpu: SwiGLU expert FFNs over the variable-size groups of an
 * expert-contiguous batch (a grouped GEMM). Each group is one GEMM against the expert's
 * pre-packed weights (moe_gemm.h: AVX2 or scalar tile, chosen at run time); the parallel tasks
 * are (expert, column block) pairs, so a hot expert (Zipf, all-to-one routing) is still spread
 * over every thread rather than left to one. */
#include "kernels/moe/moe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/moe/moe_gemm.h"

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

void moe_experts_forward(const struct moe_inputs *in, const struct kb_shape *s, const int *offsets,
                         const float *xp, float *gu, float *hb, float *yp, int threads, float *apack)
{
    const int E = s->experts;
    const size_t h = (size_t)s->hidden, fpad = in->fpad, ldgu = 2 * fpad;
    const long cb13 = (long)((ldgu + MOE_GEMM_NC - 1) / MOE_GEMM_NC);
    const long cb2 = (long)((h + MOE_GEMM_NC - 1) / MOE_GEMM_NC);
    const long slots = (long)s->tokens * s->top_k;
    const struct moe_gemm_isa *isa = moe_gemm_best();
    const size_t scratch = moe_gemm_scratch_floats();

#pragma omp parallel num_threads(threads)
    {
        float *ap = apack + (size_t)thread_id() * scratch;
#pragma omp for schedule(dynamic, 1)
        for (long task = 0; task < (long)E * cb13; task++) {
            const int e = (int)(task / cb13);
            const int jc = (int)(task % cb13) * MOE_GEMM_NC;
            const int m = offsets[e + 1] - offsets[e];
            if (m == 0)
                continue;
            struct moe_gemm g = {
                .m = m, .n = (int)(ldgu - (size_t)jc < MOE_GEMM_NC ? ldgu - (size_t)jc : MOE_GEMM_NC),
                .k = (int)h,
                .a = xp + (size_t)offsets[e] * h, .lda = h,
                .b = in->w13p + (size_t)e * ldgu * h + (size_t)(jc / MOE_NR) * h * MOE_NR,
                .b_panel_stride = h * MOE_NR,
                .c = gu + (size_t)offsets[e] * ldgu + jc, .ldc = ldgu,
            };
            moe_gemm_run(isa, &g, ap);
        }
        /* silu(G)·U per chunk: chunk c0 sits at columns [2·c0, 2·c0 + 2·wcp) of gu */
#pragma omp for schedule(static)
        for (long r = 0; r < slots; r++) {
            const float *row = gu + (size_t)r * ldgu;
            float *out = hb + (size_t)r * fpad;
            for (size_t c0 = 0; c0 < fpad; c0 += MOE_FC) {
                const size_t wcp = fpad - c0 < MOE_FC ? fpad - c0 : MOE_FC;
                const float *gg = row + 2 * c0, *uu = gg + wcp;
                for (size_t j = 0; j < wcp; j++)
                    out[c0 + j] = gg[j] / (1.0f + expf(-gg[j])) * uu[j];
            }
        }
#pragma omp for schedule(dynamic, 1)
        for (long task = 0; task < (long)E * cb2; task++) {
            const int e = (int)(task / cb2);
            const int jc = (int)(task % cb2) * MOE_GEMM_NC;
            const int m = offsets[e + 1] - offsets[e];
            if (m == 0)
                continue;
            struct moe_gemm g = {
                .m = m, .n = (int)(h - (size_t)jc < MOE_GEMM_NC ? h - (size_t)jc : MOE_GEMM_NC),
                .k = (int)fpad,
                .a = hb + (size_t)offsets[e] * fpad, .lda = fpad,
                .b = in->w2p + (size_t)e * in->hpad * fpad + (size_t)(jc / MOE_NR) * fpad * MOE_NR,
                .b_panel_stride = fpad * MOE_NR,
                .c = yp + (size_t)offsets[e] * h + jc, .ldc = h,
            };
            moe_gemm_run(isa, &g, ap);
        }
    }
}

/* ---- the kernel ------------------------------------------------------------------------------ */

struct experts_state {
    struct moe_inputs in; /* the operation's weights, packed */
    float *gu, *hb, *apack;
    int threads;
};

static double experts_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double slots = (double)s->tokens * s->top_k, fpad = (s->ffn + MOE_NR - 1) / MOE_NR * MOE_NR;
    return moe_pack_bytes(s, MOE_PACK_EXPERTS) + 4.0 * slots * 3.0 * fpad +
           4.0 * (double)moe_gemm_scratch_floats() + 64.0 * 3;
}

static void experts_teardown(struct kb_case *c)
{
    struct experts_state *st = c->state;
    if (!st)
        return;
    moe_pack_free(&st->in);
    free(st->gu);
    free(st->hb);
    free(st->apack);
    free(st);
    c->state = NULL;
}

static int experts_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct experts_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "moe.experts@cpu: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->threads = c->threads > 0 ? c->threads : 1;
    const struct kb_shape *s = &c->shape;
    st->in.w1 = kb_input(c, KB_MOE_EXPERTS_W1);
    st->in.w3 = kb_input(c, KB_MOE_EXPERTS_W3);
    st->in.w2 = kb_input(c, KB_MOE_EXPERTS_W2);
    if (moe_pack(&st->in, s, MOE_PACK_EXPERTS, err, errlen) != KB_OK) {
        experts_teardown(c);
        return KB_ERROR;
    }
    const size_t slots = (size_t)s->tokens * s->top_k, fpad = st->in.fpad;
    st->gu = moe_alloc(slots * 2 * fpad * sizeof(float));
    st->hb = moe_alloc(slots * fpad * sizeof(float));
    st->apack = moe_alloc((size_t)st->threads * moe_gemm_scratch_floats() * sizeof(float));
    if (!st->gu || !st->hb || !st->apack) {
        snprintf(err, errlen, "moe.experts@cpu: out of memory (%.0f bytes)", experts_footprint(s, c->dtype));
        experts_teardown(c);
        return KB_ERROR;
    }
    return KB_OK;
}

static int experts_run(struct kb_case *c)
{
    struct experts_state *st = c->state;
    moe_experts_forward(&st->in, &c->shape, kb_input(c, KB_MOE_EXPERTS_OFFSETS), kb_input(c, KB_MOE_EXPERTS_XP),
                        st->gu, st->hb, kb_output(c, KB_MOE_EXPERTS_YP), st->threads, st->apack);
    return KB_OK;
}

/* the loads of the routing the operation's rows came from */
static int experts_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    return moe_case_stats(c, -1, 0, out, max);
}

const struct kb_kernel kb_moe_experts_cpu = {
    .name = "moe.experts",
    .impl = "cpu",
    .description = "MoE experts: SwiGLU FFNs over variable-size expert groups, grouped packed GEMM (AVX2/scalar), OpenMP",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .footprint = experts_footprint,
    .setup = experts_setup,
    .run = experts_run,
    .teardown = experts_teardown,
    .stats = experts_stats,
    .op = &kb_op_moe_experts,
};
