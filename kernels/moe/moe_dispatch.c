/* moe_dispatch.c - moe.dispatch@cpu (tokens permuted to expert-contiguous order by a stable
 * counting sort) and moe.combine@cpu (the gate-weighted sum back to token order), both straight
 * between the operations' operands (moe_ops.h). */
#include "kernels/moe/moe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void moe_dispatch_rows(const float *x, const struct kb_shape *s, const int *ids, int threads,
                       int *offsets, int *perm, int *slot_of, float *xp)
{
    const long slots = (long)s->tokens * s->top_k;
    const size_t h = (size_t)s->hidden;
    const int k = s->top_k;
    moe_counting_sort(ids, slots, s->experts, offsets, perm, slot_of);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long sl = 0; sl < slots; sl++)
        memcpy(xp + (size_t)sl * h, x + (size_t)(perm[sl] / k) * h, h * sizeof(float));
}

void moe_combine_rows(const float *yp, const float *gates, const int *slot_of, const struct kb_shape *s,
                      int threads, float *y)
{
    const long T = s->tokens;
    const size_t h = (size_t)s->hidden;
    const int k = s->top_k;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long t = 0; t < T; t++) {
        float *out = y + (size_t)t * h;
        const float g0 = gates[(size_t)t * k];
        const float *src = yp + (size_t)slot_of[(size_t)t * k] * h;
        for (size_t c = 0; c < h; c++)
            out[c] = g0 * src[c];
        for (int j = 1; j < k; j++) {
            const float g = gates[(size_t)t * k + j];
            src = yp + (size_t)slot_of[(size_t)t * k + j] * h;
            for (size_t c = 0; c < h; c++)
                out[c] += g * src[c];
        }
    }
}

/* ---- the kernels ------------------------------------------------------------------------------ */

struct dc_state {
    int threads;
};

static void dc_teardown(struct kb_case *c)
{
    free(c->state);
    c->state = NULL;
}

static int dc_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct dc_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "%s@%s: out of memory", c->kernel->name, c->kernel->impl);
        return KB_ERROR;
    }
    st->threads = c->threads > 0 ? c->threads : 1;
    c->state = st;
    return KB_OK;
}

/* the loads of the routing the operation's inputs came from */
static int dc_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    return moe_case_stats(c, -1, 0, out, max);
}

static int dispatch_run(struct kb_case *c)
{
    const struct dc_state *st = c->state;
    moe_dispatch_rows(kb_input(c, KB_MOE_DISPATCH_X), &c->shape, kb_input(c, KB_MOE_DISPATCH_IDS), st->threads,
                      kb_output(c, KB_MOE_DISPATCH_OFFSETS), kb_output(c, KB_MOE_DISPATCH_PERM),
                      kb_output(c, KB_MOE_DISPATCH_SLOT_OF), kb_output(c, KB_MOE_DISPATCH_XP));
    return KB_OK;
}

#define DC_AXES (KB_AXIS_BIT(KB_AXIS_TOKENS) | KB_AXIS_BIT(KB_AXIS_HIDDEN) | KB_AXIS_BIT(KB_AXIS_EXPERTS) | \
                 KB_AXIS_BIT(KB_AXIS_TOP_K) | KB_AXIS_BIT(KB_AXIS_ROUTING) | KB_AXIS_BIT(KB_AXIS_INPUT))

const struct kb_kernel kb_moe_dispatch_cpu = {
    .name = "moe.dispatch",
    .impl = "cpu",
    .description = "MoE dispatch: stable counting sort of token-expert pairs, rows gathered expert-contiguous",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = DC_AXES,
    .setup = dc_setup,
    .run = dispatch_run,
    .teardown = dc_teardown,
    .stats = dc_stats,
    .op = &kb_op_moe_dispatch,
};

static int combine_run(struct kb_case *c)
{
    const struct dc_state *st = c->state;
    moe_combine_rows(kb_input(c, KB_MOE_COMBINE_YP), kb_input(c, KB_MOE_COMBINE_GATES),
                     kb_input(c, KB_MOE_COMBINE_SLOT_OF), &c->shape, st->threads, kb_output(c, KB_MOE_COMBINE_Y));
    return KB_OK;
}

const struct kb_kernel kb_moe_combine_cpu = {
    .name = "moe.combine",
    .impl = "cpu",
    .description = "MoE combine: gate-weighted sum of each token's expert outputs back in token order (gather form)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = DC_AXES,
    .setup = dc_setup,
    .run = combine_run,
    .teardown = dc_teardown,
    .stats = dc_stats,
    .op = &kb_op_moe_combine,
};
