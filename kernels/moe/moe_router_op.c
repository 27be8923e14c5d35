/* moe_router_op.c - the operation moe.router (moe_ops.h): its inputs, counts and verdict; and
 * the routing verdict moe.layer shares. */
#include "kernels/moe/moe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long moe_verify_routing(const struct moe_inputs *in, const struct kb_shape *s, const int *ids,
                        const float *gates, const int *counts, uint64_t seed, int threads,
                        struct verify_acc *va, long *exact_checked, long *exact_mismatches, long *near_ties)
{
    const int k = s->top_k, E = s->experts;
    /* the counts: exact against the kernel's own ids (every token, it is cheap) */
    int *recount = malloc((size_t)E * sizeof *recount);
    if (!recount) {
        *exact_mismatches += 1;
        return 0;
    }
    long assigned = (long)s->tokens * k;
    int bad_id = 0;
    for (long a = 0; a < assigned; a++)
        bad_id |= ids[a] < 0 || ids[a] >= E;
    if (!bad_id)
        moe_count_loads(ids, assigned, E, recount);
    for (int e = 0; e < E; e++)
        *exact_mismatches += bad_id || recount[e] != counts[e];
    *exact_checked += E;
    free(recount);
    if (bad_id) /* the reference below would index out of range; the mismatches say enough */
        return 0;

    long total = s->tokens;
    long nrows = moe_verify_rows(total, 2.0 * s->hidden * E);
    long *rows = malloc((size_t)nrows * sizeof *rows);
    struct moe_ref_route *ref = malloc((size_t)nrows * sizeof *ref);
    if (!rows || !ref) {
        free(rows);
        free(ref);
        *exact_mismatches += 1;
        return 0;
    }
    nrows = verify_sample_rows(total, nrows, seed, rows);
#pragma omp parallel for schedule(dynamic, 4) num_threads(threads > 0 ? threads : 1)
    for (long i = 0; i < nrows; i++)
        moe_reference_route(in, s, (int)rows[i], ids + (size_t)rows[i] * k, &ref[i]);
    for (long i = 0; i < nrows; i++) {
        const int *got_ids = ids + (size_t)rows[i] * k;
        const float *g = gates + (size_t)rows[i] * k;
        *exact_checked += k;
        *exact_mismatches += ref[i].mismatches;
        *near_ties += ref[i].near_ties;
        /* gates matched by expert: a kernel expert the reference did not keep counts as 0 */
        for (int j = 0; j < k; j++) {
            double got = 0;
            for (int q = 0; q < k; q++)
                if (got_ids[q] == ref[i].ids[j])
                    got = g[q];
            verify_add(va, got, ref[i].gates[j]);
        }
    }
    free(rows);
    free(ref);
    return nrows;
}

/* ---- the operation ---------------------------------------------------------------------------- */

#define ROUTED_AXES (KB_AXIS_BIT(KB_AXIS_TOKENS) | KB_AXIS_BIT(KB_AXIS_HIDDEN) | KB_AXIS_BIT(KB_AXIS_EXPERTS) | \
                     KB_AXIS_BIT(KB_AXIS_TOP_K) | KB_AXIS_BIT(KB_AXIS_ROUTING) | KB_AXIS_BIT(KB_AXIS_INPUT))

static double router_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double T = s->tokens, h = s->hidden, E = s->experts, k = s->top_k;
    /* operands, then verify: the recount and the sampled tokens' reference routes */
    return 4.0 * (T * h + h * E + 2.0 * E + 2.0 * T * k) + 64.0 * 6 + 4.0 * E +
           (double)MOE_VERIFY_ROWS * (sizeof(long) + sizeof(struct moe_ref_route)) + 16.0 * E;
}

static int router_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                         size_t errlen)
{
    int rc = moe_check_shape(s, 0, err, errlen);
    if (rc == KB_OK)
        rc = moe_op_check_dtype(t, err, errlen);
    if (rc != KB_OK)
        return rc;
    const int64_t T = s->tokens, h = s->hidden, E = s->experts, k = s->top_k;
    if (moe_op_state_new(io, err, errlen) != KB_OK ||
        moe_op_add(io, "x", KB_DTYPE_F32, 2, T, h, 0, 0, err, errlen) != KB_MOE_ROUTER_X ||
        moe_op_add(io, "w_router", KB_DTYPE_F32, 2, h, E, 0, 0, err, errlen) != KB_MOE_ROUTER_WR ||
        moe_op_add(io, "b_router", KB_DTYPE_F32, 1, E, 0, 0, 0, err, errlen) != KB_MOE_ROUTER_BIAS ||
        moe_op_add(io, "ids", KB_DTYPE_I32, 2, T, k, 0, 1, err, errlen) != KB_MOE_ROUTER_IDS ||
        moe_op_add(io, "gates", KB_DTYPE_F32, 2, T, k, 0, 1, err, errlen) != KB_MOE_ROUTER_GATES ||
        moe_op_add(io, "counts", KB_DTYPE_I32, 1, E, 0, 0, 1, err, errlen) != KB_MOE_ROUTER_COUNTS)
        return KB_ERROR;
    moe_generate(s, t, seed, io->buffer[KB_MOE_ROUTER_X], io->buffer[KB_MOE_ROUTER_WR],
                 io->buffer[KB_MOE_ROUTER_BIAS], NULL, NULL, NULL);
    return KB_OK;
}

static int router_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                         int threads, struct kb_accuracy *acc)
{
    (void)t;
    struct moe_op_state *st = moe_op_state_of(io);
    const struct moe_inputs in = { .x = io->tensor[KB_MOE_ROUTER_X].data, .wr = io->tensor[KB_MOE_ROUTER_WR].data,
                                   .bias = io->tensor[KB_MOE_ROUTER_BIAS].data };
    struct verify_acc va;
    verify_begin(&va);
    memset(acc, 0, sizeof *acc);
    st->near_ties = 0;
    long rows = moe_verify_routing(&in, s, io->tensor[KB_MOE_ROUTER_IDS].data, io->tensor[KB_MOE_ROUTER_GATES].data,
                                   io->tensor[KB_MOE_ROUTER_COUNTS].data, seed, threads, &va, &acc->exact_checked,
                                   &acc->exact_mismatches, &st->near_ties);
    /* gates: float32 arithmetic on the same inputs in both dtypes */
    verify_finish(&va, MOE_TOLERANCE, acc);
    acc->passed = acc->passed && acc->exact_mismatches == 0;
    acc->rows_checked = rows;
    acc->rows_total = s->tokens;
    return KB_OK;
}

const struct kb_operation kb_op_moe_router = {
    .name = "moe.router",
    .description = "MoE router: logits x·W_r + b, top-k experts per token, renormalised gates, tokens per expert",
    .family = KB_FAMILY_MOE,
    .axes = ROUTED_AXES,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .layout = "row-major; x [tokens,hidden], w_router [hidden,experts], b_router [experts] in; ids and gates "
              "[tokens,top_k] (descending logit, ties to the lower id), counts [experts] out; float tensors f32 "
              "(bf16 cases: inputs hold bf16 values, the bias f32)",
    .flops = moe_router_flops,
    .bytes = moe_router_bytes,
    .footprint = router_footprint,
    .inputs = router_inputs,
    .verify = router_verify,
};
