/* moe_dispatch_op.c - the operations moe.dispatch and moe.combine (moe_ops.h): their inputs
 * (the float32 router's routing of the case's tokens, the one moe.layer makes), counts and
 * verdicts. */
#include "kernels/moe/moe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"

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

/* ---- the operations ----------------------------------------------------------------------------- */

#define ROUTED_AXES (KB_AXIS_BIT(KB_AXIS_TOKENS) | KB_AXIS_BIT(KB_AXIS_HIDDEN) | KB_AXIS_BIT(KB_AXIS_EXPERTS) | \
                     KB_AXIS_BIT(KB_AXIS_TOP_K) | KB_AXIS_BIT(KB_AXIS_ROUTING) | KB_AXIS_BIT(KB_AXIS_INPUT))

static double zero_flops(const struct kb_shape *s)
{
    (void)s;
    return 0.0;
}

static double dispatch_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double T = s->tokens, h = s->hidden, E = s->experts, tk = T * s->top_k;
    /* operands, the routing's loads, its derivation (transient), verify's stable sort */
    return 4.0 * (T * h + tk + E + 1 + 2.0 * tk + tk * h) + 64.0 * 6 + 4.0 * E + moe_op_route_bytes(s) +
           4.0 * tk + 8.0 * MOE_VERIFY_ROWS;
}

static int dispatch_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                           size_t errlen)
{
    int rc = moe_check_shape(s, 0, err, errlen);
    if (rc == KB_OK)
        rc = moe_op_check_dtype(t, err, errlen);
    if (rc != KB_OK)
        return rc;
    const int64_t T = s->tokens, h = s->hidden, E = s->experts, k = s->top_k, slots = T * k;
    if (moe_op_state_new(io, err, errlen) != KB_OK ||
        moe_op_add(io, "x", KB_DTYPE_F32, 2, T, h, 0, 0, err, errlen) != KB_MOE_DISPATCH_X ||
        moe_op_add(io, "ids", KB_DTYPE_I32, 2, T, k, 0, 0, err, errlen) != KB_MOE_DISPATCH_IDS ||
        moe_op_add(io, "offsets", KB_DTYPE_I32, 1, E + 1, 0, 0, 1, err, errlen) != KB_MOE_DISPATCH_OFFSETS ||
        moe_op_add(io, "perm", KB_DTYPE_I32, 1, slots, 0, 0, 1, err, errlen) != KB_MOE_DISPATCH_PERM ||
        moe_op_add(io, "slot_of", KB_DTYPE_I32, 1, slots, 0, 0, 1, err, errlen) != KB_MOE_DISPATCH_SLOT_OF ||
        moe_op_add(io, "xp", KB_DTYPE_F32, 2, slots, h, 0, 1, err, errlen) != KB_MOE_DISPATCH_XP)
        return KB_ERROR;
    struct moe_op_state *st = moe_op_state_of(io);
    if (!(st->counts = malloc((size_t)E * sizeof(int)))) {
        snprintf(err, errlen, "moe: out of memory");
        return KB_ERROR;
    }
    moe_generate(s, t, seed, io->buffer[KB_MOE_DISPATCH_X], NULL, NULL, NULL, NULL, NULL);
    return moe_op_route(s, t, seed, io->buffer[KB_MOE_DISPATCH_X], io->buffer[KB_MOE_DISPATCH_IDS], NULL, st->counts,
                        err, errlen);
}

static int dispatch_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                           int threads, struct kb_accuracy *acc)
{
    (void)t;
    (void)threads;
    return moe_verify_dispatch(s, io->tensor[KB_MOE_DISPATCH_X].data, io->tensor[KB_MOE_DISPATCH_IDS].data,
                               io->tensor[KB_MOE_DISPATCH_OFFSETS].data, io->tensor[KB_MOE_DISPATCH_PERM].data,
                               io->tensor[KB_MOE_DISPATCH_SLOT_OF].data, io->tensor[KB_MOE_DISPATCH_XP].data, seed,
                               acc);
}

const struct kb_operation kb_op_moe_dispatch = {
    .name = "moe.dispatch",
    .description = "MoE dispatch: stable counting sort of the token-expert pairs by expert, rows gathered expert-contiguous",
    .family = KB_FAMILY_MOE,
    .axes = ROUTED_AXES,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .layout = "row-major; x [tokens,hidden] and ids [tokens,top_k] in; offsets [experts+1], perm and slot_of "
              "[tokens*top_k], xp [tokens*top_k,hidden] (expert order, stable) out; x and xp f32 (bf16 cases: "
              "bf16 values), the rest int32",
    .flops = zero_flops,
    .bytes = moe_dispatch_bytes,
    .footprint = dispatch_footprint,
    .inputs = dispatch_inputs,
    .verify = dispatch_verify,
};

static double combine_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double T = s->tokens, h = s->hidden, E = s->experts, tk = T * s->top_k;
    /* operands, the routing (ids, loads) and its sort (transient), verify's row of doubles */
    return 4.0 * (tk * h + 2.0 * tk + T * h) + 64.0 * 4 + 4.0 * (tk + E) + moe_op_route_bytes(s) +
           4.0 * (E + 1 + 2.0 * tk) + 8.0 * (E + 1 + h + MOE_VERIFY_ROWS);
}

static int combine_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                          size_t errlen)
{
    int rc = moe_check_shape(s, 0, err, errlen);
    if (rc == KB_OK)
        rc = moe_op_check_dtype(t, err, errlen);
    if (rc != KB_OK)
        return rc;
    const int64_t T = s->tokens, h = s->hidden, E = s->experts, k = s->top_k, slots = T * k;
    if (moe_op_state_new(io, err, errlen) != KB_OK ||
        moe_op_add(io, "yp", KB_DTYPE_F32, 2, slots, h, 0, 0, err, errlen) != KB_MOE_COMBINE_YP ||
        moe_op_add(io, "gates", KB_DTYPE_F32, 2, T, k, 0, 0, err, errlen) != KB_MOE_COMBINE_GATES ||
        moe_op_add(io, "slot_of", KB_DTYPE_I32, 1, slots, 0, 0, 0, err, errlen) != KB_MOE_COMBINE_SLOT_OF ||
        moe_op_add(io, "y", KB_DTYPE_F32, 2, T, h, 0, 1, err, errlen) != KB_MOE_COMBINE_Y)
        return KB_ERROR;
    struct moe_op_state *st = moe_op_state_of(io);
    int *offsets = malloc(((size_t)E + 1) * sizeof(int)), *perm = malloc((size_t)slots * sizeof(int));
    st->ids = malloc((size_t)slots * sizeof(int));
    st->counts = malloc((size_t)E * sizeof(int));
    rc = KB_ERROR;
    if (!offsets || !perm || !st->ids || !st->counts)
        snprintf(err, errlen, "moe: out of memory");
    else
        rc = moe_op_route(s, t, seed, NULL, st->ids, io->buffer[KB_MOE_COMBINE_GATES], st->counts, err, errlen);
    if (rc == KB_OK) {
        moe_counting_sort(st->ids, (long)slots, s->experts, offsets, perm, io->buffer[KB_MOE_COMBINE_SLOT_OF]);
        float *yp = io->buffer[KB_MOE_COMBINE_YP];
        gen_fill_normal_f32(yp, (size_t)slots * h, moe_sub_seed(seed, MOE_SEED_YP), 0.0, 1.0);
        if (t == KB_DTYPE_BF16)
            moe_round_bf16(yp, (size_t)slots * h);
    }
    free(offsets);
    free(perm);
    return rc;
}

static int combine_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                          int threads, struct kb_accuracy *acc)
{
    (void)t;
    (void)threads;
    /* float32 sums of exactly representable values in both dtypes */
    return moe_verify_combine(s, moe_op_state_of(io)->ids, io->tensor[KB_MOE_COMBINE_GATES].data,
                              io->tensor[KB_MOE_COMBINE_YP].data, io->tensor[KB_MOE_COMBINE_Y].data, seed,
                              MOE_TOLERANCE, acc);
}

const struct kb_operation kb_op_moe_combine = {
    .name = "moe.combine",
    .description = "MoE combine: gate-weighted sum of each token's expert outputs back in token order",
    .family = KB_FAMILY_MOE,
    .axes = ROUTED_AXES,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .layout = "row-major; yp [tokens*top_k,hidden] (expert order), gates [tokens,top_k], slot_of [tokens*top_k] "
              "in; y [tokens,hidden] out; f32 (bf16 cases: yp holds bf16 values), slot_of int32",
    .flops = moe_combine_flops,
    .bytes = moe_combine_bytes,
    .footprint = combine_footprint,
    .inputs = combine_inputs,
    .verify = combine_verify,
};
