/* moe_dispatch.c - moe.dispatch@cpu (tokens permuted to expert-contiguous order by a stable
 * counting sort) and moe.combine@cpu (the gate-weighted sum back to token order). Both are
 * data movement: their inputs' routing is computed at setup by the float32 router, the same
 * routing moe.layer makes. */
#include "kernels/moe/moe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"

enum { SEED_YP = 6 };

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

/* ---- shared state ---------------------------------------------------------------------------- */

struct dc_state {
    struct moe_inputs in;
    struct moe_routing r;
    int *offsets, *perm, *slot_of;
    float *xp; /* dispatch: the output [T·k, h] */
    float *yp; /* combine: the input [T·k, h] */
    float *y;  /* combine: the output [T, h] */
    int threads;
};

static double slots_of(const struct kb_shape *s)
{
    return (double)s->tokens * s->top_k;
}

static double dc_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return moe_inputs_bytes(s, MOE_IN_X | MOE_IN_ROUTER) + moe_routing_bytes(s, 1) +
           4.0 * (s->experts + 1 + 2 * slots_of(s) + slots_of(s) * s->hidden + (double)s->tokens * s->hidden) +
           64.0 * 6;
}

static void dc_teardown(struct kb_case *c)
{
    struct dc_state *st = c->state;
    if (!st)
        return;
    moe_inputs_free(&st->in);
    moe_routing_free(&st->r);
    free(st->offsets);
    free(st->perm);
    free(st->slot_of);
    free(st->xp);
    free(st->yp);
    free(st->y);
    free(st);
    c->state = NULL;
}

/* Inputs, routing (computed now, untimed) and the buffers of one of the two kernels. */
static int dc_setup(struct kb_case *c, int combine, char *err, size_t errlen)
{
    const char *who = combine ? "moe.combine@cpu" : "moe.dispatch@cpu";
    int rc = moe_check_shape(&c->shape, 0, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (c->dtype != KB_DTYPE_F32) {
        snprintf(err, errlen, "%s: dtype %s not supported (f32 only)", who,
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    struct dc_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "%s: out of memory", who);
        return KB_ERROR;
    }
    c->state = st;
    st->threads = c->threads > 0 ? c->threads : 1;
    const struct kb_shape *s = &c->shape;
    const size_t slots = (size_t)s->tokens * s->top_k, h = (size_t)s->hidden;
    if (moe_inputs_new(&st->in, s, c->seed, MOE_IN_X | MOE_IN_ROUTER, err, errlen) != KB_OK ||
        moe_routing_new(&st->r, s, &st->in, st->threads, err, errlen) != KB_OK) {
        dc_teardown(c);
        return KB_ERROR;
    }
    st->offsets = moe_alloc(((size_t)s->experts + 1) * sizeof(int));
    st->perm = moe_alloc(slots * sizeof(int));
    st->slot_of = moe_alloc(slots * sizeof(int));
    if (combine) {
        st->yp = moe_alloc(slots * h * sizeof(float));
        st->y = moe_alloc((size_t)s->tokens * h * sizeof(float));
    } else {
        st->xp = moe_alloc(slots * h * sizeof(float));
    }
    if (!st->offsets || !st->perm || !st->slot_of || (combine ? !st->yp || !st->y : !st->xp)) {
        snprintf(err, errlen, "%s: out of memory (%.0f bytes)", who, dc_footprint(s, c->dtype));
        dc_teardown(c);
        return KB_ERROR;
    }
    moe_route_all(&st->in, s, &st->r);
    if (combine) {
        moe_counting_sort(st->r.ids, (long)slots, s->experts, st->offsets, st->perm, st->slot_of);
        gen_fill_normal_f32(st->yp, slots * h, moe_sub_seed(c->seed, SEED_YP), 0.0, 1.0);
    }
    return KB_OK;
}

static int dc_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    const struct dc_state *st = c->state;
    return moe_load_stats(st->r.counts, c->shape.experts, out, max);
}

/* ---- moe.dispatch ---------------------------------------------------------------------------- */

static int dispatch_setup(struct kb_case *c, char *err, size_t errlen)
{
    return dc_setup(c, 0, err, errlen);
}

static int dispatch_run(struct kb_case *c)
{
    struct dc_state *st = c->state;
    moe_dispatch_rows(st->in.x, &c->shape, st->r.ids, st->threads, st->offsets, st->perm, st->slot_of, st->xp);
    return KB_OK;
}

static double dispatch_flops(const struct kb_shape *s)
{
    (void)s;
    return 0.0;
}

/* Exact: offsets against a histogram, perm against a stable sort done the slow, obvious way
 * (expert by expert, assignments in order), slot_of as perm's inverse, and sampled rows of xp
 * bit for bit against x. The rows also go through verify_acc, so a wrong row shows as a
 * relative error too. */
int moe_verify_dispatch(const struct kb_shape *s, const float *x, const int *ids, const int *offsets,
                        const int *perm, const int *slot_of, const float *xp, uint64_t seed,
                        struct kb_accuracy *acc)
{
    const long slots = (long)s->tokens * s->top_k;
    const size_t h = (size_t)s->hidden;
    const int E = s->experts, k = s->top_k;
    memset(acc, 0, sizeof *acc);
    struct verify_acc va;
    verify_begin(&va);
    long mism = 0, checked = 0;
    int *ref_perm = malloc((size_t)slots * sizeof *ref_perm);
    long *rows = malloc(MOE_VERIFY_ROWS * sizeof *rows);
    if (!ref_perm || !rows) {
        free(ref_perm);
        free(rows);
        acc->exact_checked = 1;
        acc->exact_mismatches = 1;
        acc->rel_l2_err = INFINITY;
        return KB_ERROR;
    }
    long n = 0;
    for (int e = 0; e < E; e++) {
        checked++;
        mism += offsets[e] != n;
        for (long a = 0; a < slots; a++)
            if (ids[a] == e)
                ref_perm[n++] = (int)a;
    }
    checked++;
    mism += offsets[E] != n;
    for (long sl = 0; sl < slots; sl++) {
        checked += 2;
        mism += perm[sl] != ref_perm[sl];
        mism += slot_of[ref_perm[sl]] != sl;
    }
    long nrows = verify_sample_rows(slots, MOE_VERIFY_ROWS, seed, rows);
    for (long i = 0; i < nrows; i++) {
        const float *got = xp + (size_t)rows[i] * h;
        const float *want = x + (size_t)(ref_perm[rows[i]] / k) * h;
        for (size_t j = 0; j < h; j++) {
            checked++;
            mism += memcmp(&got[j], &want[j], sizeof(float)) != 0;
            verify_add(&va, got[j], want[j]);
        }
    }
    verify_finish(&va, MOE_TOLERANCE, acc);
    acc->exact_checked = checked;
    acc->exact_mismatches = mism;
    acc->passed = acc->passed && mism == 0;
    acc->rows_checked = nrows;
    acc->rows_total = slots;
    free(ref_perm);
    free(rows);
    return KB_OK;
}

static int dispatch_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    const struct dc_state *st = c->state;
    return moe_verify_dispatch(&c->shape, st->in.x, st->r.ids, st->offsets, st->perm, st->slot_of, st->xp,
                               c->seed, acc);
}

static int dispatch_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct dc_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const int64_t slots = (int64_t)s->tokens * s->top_k;
    struct kb_tensor t[] = {
        { "x", KB_DTYPE_F32, 2, { s->tokens, s->hidden }, st->in.x, 0 },
        { "ids", KB_DTYPE_I32, 2, { s->tokens, s->top_k }, st->r.ids, 0 },
        { "offsets", KB_DTYPE_I32, 1, { s->experts + 1 }, st->offsets, 1 },
        { "perm", KB_DTYPE_I32, 1, { slots }, st->perm, 1 },
        { "slot_of", KB_DTYPE_I32, 1, { slots }, st->slot_of, 1 },
        { "xp", KB_DTYPE_F32, 2, { slots, s->hidden }, st->xp, 1 },
    };
    int n = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0] && n < max; i++)
        out[n++] = t[i];
    return n;
}

#define DC_AXES (KB_AXIS_BIT(KB_AXIS_TOKENS) | KB_AXIS_BIT(KB_AXIS_HIDDEN) | KB_AXIS_BIT(KB_AXIS_EXPERTS) | \
                 KB_AXIS_BIT(KB_AXIS_TOP_K) | KB_AXIS_BIT(KB_AXIS_ROUTING) | KB_AXIS_BIT(KB_AXIS_INPUT))

const struct kb_kernel kb_moe_dispatch_cpu = {
    .name = "moe.dispatch",
    .impl = "cpu",
    .description = "MoE dispatch: stable counting sort of token-expert pairs, rows gathered expert-contiguous",
    .family = KB_FAMILY_MOE,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = DC_AXES,
    .flops = dispatch_flops,
    .bytes = moe_dispatch_bytes,
    .footprint = dc_footprint,
    .setup = dispatch_setup,
    .run = dispatch_run,
    .verify = dispatch_verify,
    .tensors = dispatch_tensors,
    .teardown = dc_teardown,
    .stats = dc_stats,
};

/* ---- moe.combine ----------------------------------------------------------------------------- */

static int combine_setup(struct kb_case *c, char *err, size_t errlen)
{
    return dc_setup(c, 1, err, errlen);
}

static int combine_run(struct kb_case *c)
{
    struct dc_state *st = c->state;
    moe_combine_rows(st->yp, st->r.gates, st->slot_of, &c->shape, st->threads, st->y);
    return KB_OK;
}

/* Sampled tokens in float64. The slots come from an independent recomputation of the stable
 * order (the rank of (t, j) among the pairs of its expert), not from the kernel's slot_of. */
int moe_verify_combine(const struct kb_shape *s, const int *ids, const float *gates, const float *yp,
                       const float *y, uint64_t seed, double tolerance, struct kb_accuracy *acc)
{
    const size_t h = (size_t)s->hidden;
    const int k = s->top_k, E = s->experts;
    const long slots = (long)s->tokens * k;
    memset(acc, 0, sizeof *acc);
    long *rows = malloc(MOE_VERIFY_ROWS * sizeof *rows);
    long *start = calloc((size_t)E + 1, sizeof *start);
    double *ref = malloc(h * sizeof *ref);
    if (!rows || !start || !ref) {
        free(rows);
        free(start);
        free(ref);
        acc->rel_l2_err = INFINITY;
        return KB_ERROR;
    }
    for (long a = 0; a < slots; a++)
        start[ids[a] + 1]++;
    for (int e = 0; e < E; e++)
        start[e + 1] += start[e];
    struct verify_acc va;
    verify_begin(&va);
    long nrows = verify_sample_rows(s->tokens, MOE_VERIFY_ROWS, seed, rows);
    for (long i = 0; i < nrows; i++) {
        const long t = rows[i];
        for (size_t j = 0; j < h; j++)
            ref[j] = 0;
        for (int q = 0; q < k; q++) {
            const long a = t * k + q;
            const int e = ids[a];
            long rank = 0;
            for (long b = 0; b < a; b++)
                rank += ids[b] == e;
            const float *src = yp + (size_t)(start[e] + rank) * h;
            const double g = gates[a];
            for (size_t j = 0; j < h; j++)
                ref[j] += g * (double)src[j];
        }
        for (size_t j = 0; j < h; j++)
            verify_add(&va, y[(size_t)t * h + j], ref[j]);
    }
    verify_finish(&va, tolerance, acc);
    acc->rows_checked = nrows;
    acc->rows_total = s->tokens;
    free(rows);
    free(start);
    free(ref);
    return KB_OK;
}

static int combine_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    const struct dc_state *st = c->state;
    return moe_verify_combine(&c->shape, st->r.ids, st->r.gates, st->yp, st->y, c->seed, MOE_TOLERANCE, acc);
}

static int combine_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct dc_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const int64_t slots = (int64_t)s->tokens * s->top_k;
    struct kb_tensor t[] = {
        { "yp", KB_DTYPE_F32, 2, { slots, s->hidden }, st->yp, 0 },
        { "gates", KB_DTYPE_F32, 2, { s->tokens, s->top_k }, st->r.gates, 0 },
        { "slot_of", KB_DTYPE_I32, 1, { slots }, st->slot_of, 0 },
        { "y", KB_DTYPE_F32, 2, { s->tokens, s->hidden }, st->y, 1 },
    };
    int n = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0] && n < max; i++)
        out[n++] = t[i];
    return n;
}

const struct kb_kernel kb_moe_combine_cpu = {
    .name = "moe.combine",
    .impl = "cpu",
    .description = "MoE combine: gate-weighted sum of each token's expert outputs back in token order (gather form)",
    .family = KB_FAMILY_MOE,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = DC_AXES,
    .flops = moe_combine_flops,
    .bytes = moe_combine_bytes,
    .footprint = dc_footprint,
    .setup = combine_setup,
    .run = combine_run,
    .verify = combine_verify,
    .tensors = combine_tensors,
    .teardown = dc_teardown,
    .stats = dc_stats,
};
