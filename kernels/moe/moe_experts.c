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
    struct moe_inputs in;
    struct moe_routing r;
    int *offsets, *perm, *slot_of;
    float *xp, *gu, *hb, *yp;
    int threads;
};

static double experts_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double slots = (double)s->tokens * s->top_k, fpad = (s->ffn + MOE_NR - 1) / MOE_NR * MOE_NR;
    return moe_inputs_bytes(s, MOE_IN_X | MOE_IN_ROUTER | MOE_IN_EXPERTS) + moe_routing_bytes(s, 1) +
           4.0 * (s->experts + 1 + 2 * slots + slots * (2.0 * s->hidden + 3.0 * fpad)) + 64.0 * 8;
}

static void experts_teardown(struct kb_case *c)
{
    struct experts_state *st = c->state;
    if (!st)
        return;
    moe_inputs_free(&st->in);
    moe_routing_free(&st->r);
    free(st->offsets);
    free(st->perm);
    free(st->slot_of);
    free(st->xp);
    free(st->gu);
    free(st->hb);
    free(st->yp);
    free(st);
    c->state = NULL;
}

static int experts_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = moe_check_shape(&c->shape, 1, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (c->dtype != KB_DTYPE_F32) {
        snprintf(err, errlen, "moe.experts@cpu: dtype %s not supported (f32 only)",
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    struct experts_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "moe.experts@cpu: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->threads = c->threads > 0 ? c->threads : 1;
    const struct kb_shape *s = &c->shape;
    if (moe_inputs_new(&st->in, s, c->seed, MOE_IN_X | MOE_IN_ROUTER | MOE_IN_EXPERTS, err, errlen) != KB_OK ||
        moe_routing_new(&st->r, s, &st->in, st->threads, err, errlen) != KB_OK) {
        experts_teardown(c);
        return KB_ERROR;
    }
    const size_t slots = (size_t)s->tokens * s->top_k, h = (size_t)s->hidden, fpad = st->in.fpad;
    st->offsets = moe_alloc(((size_t)s->experts + 1) * sizeof(int));
    st->perm = moe_alloc(slots * sizeof(int));
    st->slot_of = moe_alloc(slots * sizeof(int));
    st->xp = moe_alloc(slots * h * sizeof(float));
    st->yp = moe_alloc(slots * h * sizeof(float));
    st->gu = moe_alloc(slots * 2 * fpad * sizeof(float));
    st->hb = moe_alloc(slots * fpad * sizeof(float));
    if (!st->offsets || !st->perm || !st->slot_of || !st->xp || !st->yp || !st->gu || !st->hb) {
        snprintf(err, errlen, "moe.experts@cpu: out of memory (%.0f bytes)", experts_footprint(s, c->dtype));
        experts_teardown(c);
        return KB_ERROR;
    }
    /* the groups: the routing of the case's tokens, dispatched (untimed) */
    moe_route_all(&st->in, s, &st->r);
    moe_dispatch_rows(st->in.x, s, st->r.ids, st->threads, st->offsets, st->perm, st->slot_of, st->xp);
    return KB_OK;
}

static int experts_run(struct kb_case *c)
{
    struct experts_state *st = c->state;
    moe_experts_forward(&st->in, &c->shape, st->offsets, st->xp, st->gu, st->hb, st->yp, st->threads,
                        st->r.apack);
    return KB_OK;
}

/* Sampled slots, each row against the float64 FFN of its expert (taken from the routing ids
 * through perm, so a row computed with another expert's weights is caught). */
int moe_verify_experts(const struct moe_inputs *in, const struct kb_shape *s, const int *ids, const int *perm,
                       const float *xp, const float *yp, uint64_t seed, int threads, double tolerance,
                       struct kb_accuracy *acc)
{
    const size_t h = (size_t)s->hidden;
    const long slots = (long)s->tokens * s->top_k;
    memset(acc, 0, sizeof *acc);
    long nrows = moe_verify_rows(slots, 6.0 * s->hidden * s->ffn);
    long *rows = malloc((size_t)nrows * sizeof *rows);
    double *ref = malloc((size_t)nrows * h * sizeof *ref);
    if (!rows || !ref) {
        free(rows);
        free(ref);
        acc->rel_l2_err = INFINITY;
        return KB_ERROR;
    }
    nrows = verify_sample_rows(slots, nrows, seed, rows);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long i = 0; i < nrows; i++) {
        const int e = ids[perm[rows[i]]];
        moe_reference_expert_row(in, s, e, xp + (size_t)rows[i] * h, ref + (size_t)i * h);
    }
    struct verify_acc va;
    verify_begin(&va);
    for (long i = 0; i < nrows; i++) {
        for (size_t j = 0; j < h; j++)
            verify_add(&va, yp[(size_t)rows[i] * h + j], ref[(size_t)i * h + j]);
    }
    verify_finish(&va, tolerance, acc);
    acc->rows_checked = nrows;
    acc->rows_total = slots;
    free(rows);
    free(ref);
    return KB_OK;
}

static int experts_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    const struct experts_state *st = c->state;
    return moe_verify_experts(&st->in, &c->shape, st->r.ids, st->perm, st->xp, st->yp, c->seed, st->threads,
                              MOE_TOLERANCE, acc);
}

static int experts_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct experts_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const int64_t slots = (int64_t)s->tokens * s->top_k;
    struct kb_tensor t[] = {
        { "xp", KB_DTYPE_F32, 2, { slots, s->hidden }, st->xp, 0 },
        { "offsets", KB_DTYPE_I32, 1, { s->experts + 1 }, st->offsets, 0 },
        { "w1", KB_DTYPE_F32, 3, { s->experts, s->hidden, s->ffn }, st->in.w1, 0 },
        { "w3", KB_DTYPE_F32, 3, { s->experts, s->hidden, s->ffn }, st->in.w3, 0 },
        { "w2", KB_DTYPE_F32, 3, { s->experts, s->ffn, s->hidden }, st->in.w2, 0 },
        { "yp", KB_DTYPE_F32, 2, { slots, s->hidden }, st->yp, 1 },
    };
    int n = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0] && n < max; i++)
        out[n++] = t[i];
    return n;
}

static int experts_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    const struct experts_state *st = c->state;
    return moe_load_stats(st->r.counts, c->shape.experts, out, max);
}

const struct kb_kernel kb_moe_experts_cpu = {
    .name = "moe.experts",
    .impl = "cpu",
    .description = "MoE experts: SwiGLU FFNs over variable-size expert groups, grouped packed GEMM (AVX2/scalar), OpenMP",
    .family = KB_FAMILY_MOE,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .flops = moe_experts_flops,
    .bytes = moe_experts_bytes,
    .footprint = experts_footprint,
    .setup = experts_setup,
    .run = experts_run,
    .verify = experts_verify,
    .tensors = experts_tensors,
    .teardown = experts_teardown,
    .stats = experts_stats,
};
