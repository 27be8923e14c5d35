/* moe_layer_op.c - the operation moe.layer (moe_ops.h): its inputs, counts and verdict. */
#include "kernels/moe/moe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The routing (ids exact with the near-tie rule, gates, counts) and, on sampled tokens, the
 * output against a float64 evaluation of the token's experts (the kernel's experts when its
 * choice was accepted). Both must be within MOE_TOLERANCE, and no choice wrong. */
int moe_verify_layer(const struct moe_inputs *in, const struct kb_shape *s, const int *ids, const float *gates,
                     const int *counts, const float *y, uint64_t seed, int threads, double tolerance,
                     struct kb_accuracy *acc, long *near_ties)
{
    const size_t h = (size_t)s->hidden;
    const int k = s->top_k;
    memset(acc, 0, sizeof *acc);
    struct verify_acc route_acc, va;
    verify_begin(&route_acc);
    verify_begin(&va);
    *near_ties = 0;
    moe_verify_routing(in, s, ids, gates, counts, seed, threads, &route_acc, &acc->exact_checked,
                       &acc->exact_mismatches, near_ties);
    struct kb_accuracy route_verdict;
    verify_finish(&route_acc, MOE_TOLERANCE, &route_verdict);

    long nrows = moe_verify_rows(s->tokens, 6.0 * k * s->hidden * s->ffn + 2.0 * s->hidden * s->experts);
    long *rows = malloc((size_t)nrows * sizeof *rows);
    double *ref = malloc((size_t)nrows * h * sizeof *ref);
    double *part = malloc((size_t)nrows * h * sizeof *part);
    if (!rows || !ref || !part || acc->exact_mismatches) {
        /* a wrong routing already fails the case; its ids may not even be valid indices */
        free(rows);
        free(ref);
        free(part);
        acc->rel_l2_err = acc->exact_mismatches ? route_verdict.rel_l2_err : INFINITY;
        acc->tolerance = tolerance;
        acc->passed = 0;
        return KB_OK;
    }
    nrows = verify_sample_rows(s->tokens, nrows, seed ^ 0x6c61796572ull, rows);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long i = 0; i < nrows; i++) {
        const int t = (int)rows[i];
        struct moe_ref_route rr;
        moe_reference_route(in, s, t, ids + (size_t)t * k, &rr);
        double *out = ref + (size_t)i * h, *tmp = part + (size_t)i * h;
        for (size_t j = 0; j < h; j++)
            out[j] = 0;
        for (int q = 0; q < k; q++) {
            moe_reference_expert_row(in, s, rr.ids[q], in->x + (size_t)t * h, tmp);
            for (size_t j = 0; j < h; j++)
                out[j] += rr.gates[q] * tmp[j];
        }
    }
    for (long i = 0; i < nrows; i++)
        for (size_t j = 0; j < h; j++)
            verify_add(&va, y[(size_t)rows[i] * h + j], ref[(size_t)i * h + j]);
    verify_finish(&va, tolerance, acc);
    acc->passed = acc->passed && route_verdict.passed && acc->exact_mismatches == 0;
    acc->rows_checked = nrows;
    acc->rows_total = s->tokens;
    free(rows);
    free(ref);
    free(part);
    return KB_OK;
}

/* ---- the operation ------------------------------------------------------------------------------ */

static double layer_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double T = s->tokens, h = s->hidden, E = s->experts, tk = T * s->top_k, w = E * h * s->ffn;
    long rows = moe_verify_rows(s->tokens, 6.0 * s->top_k * s->hidden * s->ffn + 2.0 * s->hidden * s->experts);
    /* operands, then verify: the routing's (moe_router_op.c) and the sampled tokens' rows */
    return 4.0 * (2.0 * T * h + h * E + 2.0 * E + 3.0 * w + 2.0 * tk) + 64.0 * 10 + 4.0 * E +
           (double)MOE_VERIFY_ROWS * (sizeof(long) + sizeof(struct moe_ref_route)) + (double)rows * (16.0 * h + 8.0) +
           8.0 * 2 * s->ffn * (double)moe_op_threads();
}

static int layer_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                        size_t errlen)
{
    int rc = moe_check_shape(s, 1, err, errlen);
    if (rc == KB_OK)
        rc = moe_op_check_dtype(t, err, errlen);
    if (rc != KB_OK)
        return rc;
    const int64_t T = s->tokens, h = s->hidden, f = s->ffn, E = s->experts, k = s->top_k;
    if (moe_op_state_new(io, err, errlen) != KB_OK ||
        moe_op_add(io, "x", KB_DTYPE_F32, 2, T, h, 0, 0, err, errlen) != KB_MOE_LAYER_X ||
        moe_op_add(io, "w_router", KB_DTYPE_F32, 2, h, E, 0, 0, err, errlen) != KB_MOE_LAYER_WR ||
        moe_op_add(io, "b_router", KB_DTYPE_F32, 1, E, 0, 0, 0, err, errlen) != KB_MOE_LAYER_BIAS ||
        moe_op_add(io, "w1", KB_DTYPE_F32, 3, E, h, f, 0, err, errlen) != KB_MOE_LAYER_W1 ||
        moe_op_add(io, "w3", KB_DTYPE_F32, 3, E, h, f, 0, err, errlen) != KB_MOE_LAYER_W3 ||
        moe_op_add(io, "w2", KB_DTYPE_F32, 3, E, f, h, 0, err, errlen) != KB_MOE_LAYER_W2 ||
        moe_op_add(io, "ids", KB_DTYPE_I32, 2, T, k, 0, 1, err, errlen) != KB_MOE_LAYER_IDS ||
        moe_op_add(io, "gates", KB_DTYPE_F32, 2, T, k, 0, 1, err, errlen) != KB_MOE_LAYER_GATES ||
        moe_op_add(io, "counts", KB_DTYPE_I32, 1, E, 0, 0, 1, err, errlen) != KB_MOE_LAYER_COUNTS ||
        moe_op_add(io, "y", KB_DTYPE_F32, 2, T, h, 0, 1, err, errlen) != KB_MOE_LAYER_Y)
        return KB_ERROR;
    moe_generate(s, t, seed, io->buffer[KB_MOE_LAYER_X], io->buffer[KB_MOE_LAYER_WR], io->buffer[KB_MOE_LAYER_BIAS],
                 io->buffer[KB_MOE_LAYER_W1], io->buffer[KB_MOE_LAYER_W3], io->buffer[KB_MOE_LAYER_W2]);
    return KB_OK;
}

static int layer_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                        int threads, struct kb_accuracy *acc)
{
    const struct moe_inputs in = {
        .x = io->tensor[KB_MOE_LAYER_X].data, .wr = io->tensor[KB_MOE_LAYER_WR].data,
        .bias = io->tensor[KB_MOE_LAYER_BIAS].data, .w1 = io->tensor[KB_MOE_LAYER_W1].data,
        .w3 = io->tensor[KB_MOE_LAYER_W3].data, .w2 = io->tensor[KB_MOE_LAYER_W2].data,
    };
    return moe_verify_layer(&in, s, io->tensor[KB_MOE_LAYER_IDS].data, io->tensor[KB_MOE_LAYER_GATES].data,
                            io->tensor[KB_MOE_LAYER_COUNTS].data, io->tensor[KB_MOE_LAYER_Y].data, seed, threads,
                            moe_ffn_tolerance(t), acc, &moe_op_state_of(io)->near_ties);
}

const struct kb_operation kb_op_moe_layer = {
    .name = "moe.layer",
    .description = "MoE layer: router, dispatch, SwiGLU experts and combine; the routing is an output too",
    .family = KB_FAMILY_MOE,
    .axes = KB_AXES_MOE,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .layout = "row-major; x [tokens,hidden], w_router [hidden,experts], b_router [experts], w1 and w3 "
              "[experts,hidden,ffn], w2 [experts,ffn,hidden] in; ids and gates [tokens,top_k], counts [experts], "
              "y [tokens,hidden] out; f32 (bf16 cases: inputs but b_router hold bf16 values), ids and counts int32",
    .flops = moe_layer_flops,
    .bytes = moe_layer_bytes,
    .footprint = layer_footprint,
    .inputs = layer_inputs,
    .verify = layer_verify,
};
