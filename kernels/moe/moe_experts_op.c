/* moe_experts_op.c - the operation moe.experts (moe_ops.h): its inputs (the dispatched rows of
 * the case's routing and the expert weights), counts and verdict. */
#include "kernels/moe/moe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- the operation ------------------------------------------------------------------------------ */

static double experts_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double T = s->tokens, h = s->hidden, E = s->experts, tk = T * s->top_k, w = E * h * s->ffn;
    long rows = moe_verify_rows((long)tk, 6.0 * s->hidden * s->ffn);
    /* operands; the routing (ids, perm, loads); its derivation (x, slot_of, the router:
     * transient); verify's reference rows */
    return 4.0 * (2.0 * tk * h + E + 1 + 3.0 * w) + 64.0 * 6 + 4.0 * (2.0 * tk + E) + 4.0 * (T * h + tk) +
           moe_op_route_bytes(s) + (double)rows * (8.0 * h + 8.0) + 8.0 * 2 * s->ffn * (double)moe_op_threads();
}

static int experts_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                          size_t errlen)
{
    int rc = moe_check_shape(s, 1, err, errlen);
    /* e4m3: the bf16 case's inputs (a bf16 model), quantized by the FP8 implementations */
    const enum kb_dtype gen = t == KB_DTYPE_FP8_E4M3 ? KB_DTYPE_BF16 : t;
    if (rc == KB_OK)
        rc = moe_op_check_dtype(gen, err, errlen);
    if (rc != KB_OK)
        return rc;
    const int64_t T = s->tokens, h = s->hidden, f = s->ffn, E = s->experts, k = s->top_k, slots = T * k;
    if (moe_op_state_new(io, err, errlen) != KB_OK ||
        moe_op_add(io, "xp", KB_DTYPE_F32, 2, slots, h, 0, 0, err, errlen) != KB_MOE_EXPERTS_XP ||
        moe_op_add(io, "offsets", KB_DTYPE_I32, 1, E + 1, 0, 0, 0, err, errlen) != KB_MOE_EXPERTS_OFFSETS ||
        moe_op_add(io, "w1", KB_DTYPE_F32, 3, E, h, f, 0, err, errlen) != KB_MOE_EXPERTS_W1 ||
        moe_op_add(io, "w3", KB_DTYPE_F32, 3, E, h, f, 0, err, errlen) != KB_MOE_EXPERTS_W3 ||
        moe_op_add(io, "w2", KB_DTYPE_F32, 3, E, f, h, 0, err, errlen) != KB_MOE_EXPERTS_W2 ||
        moe_op_add(io, "yp", KB_DTYPE_F32, 2, slots, h, 0, 1, err, errlen) != KB_MOE_EXPERTS_YP)
        return KB_ERROR;
    struct moe_op_state *st = moe_op_state_of(io);
    float *x = moe_alloc((size_t)T * h * sizeof(float));
    int *slot_of = malloc((size_t)slots * sizeof(int));
    st->ids = malloc((size_t)slots * sizeof(int));
    st->perm = malloc((size_t)slots * sizeof(int));
    st->counts = malloc((size_t)E * sizeof(int));
    rc = KB_ERROR;
    if (!x || !slot_of || !st->ids || !st->perm || !st->counts) {
        snprintf(err, errlen, "moe: out of memory deriving the routing");
    } else {
        moe_generate(s, gen, seed, x, NULL, NULL, io->buffer[KB_MOE_EXPERTS_W1], io->buffer[KB_MOE_EXPERTS_W3],
                     io->buffer[KB_MOE_EXPERTS_W2]);
        rc = moe_op_route(s, gen, seed, x, st->ids, NULL, st->counts, err, errlen);
    }
    /* the groups: the routing of the case's tokens, dispatched */
    if (rc == KB_OK)
        moe_dispatch_rows(x, s, st->ids, moe_op_threads(), io->buffer[KB_MOE_EXPERTS_OFFSETS], st->perm, slot_of,
                          io->buffer[KB_MOE_EXPERTS_XP]);
    free(x);
    free(slot_of);
    return rc;
}

static int experts_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                          int threads, struct kb_accuracy *acc)
{
    const struct moe_op_state *st = moe_op_state_of(io);
    const struct moe_inputs in = { .w1 = io->tensor[KB_MOE_EXPERTS_W1].data, .w3 = io->tensor[KB_MOE_EXPERTS_W3].data,
                                   .w2 = io->tensor[KB_MOE_EXPERTS_W2].data };
    return moe_verify_experts(&in, s, st->ids, st->perm, io->tensor[KB_MOE_EXPERTS_XP].data,
                              io->tensor[KB_MOE_EXPERTS_YP].data, seed, threads,
                              t == KB_DTYPE_FP8_E4M3 ? MOE_FP8_TOLERANCE : moe_ffn_tolerance(t), acc);
}

const struct kb_operation kb_op_moe_experts = {
    .name = "moe.experts",
    .description = "MoE experts: SwiGLU FFN of each expert over its group of expert-contiguous rows (a grouped GEMM)",
    .family = KB_FAMILY_MOE,
    .axes = KB_AXES_MOE,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_BF16) | KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3),
    .layout = "row-major; xp [tokens*top_k,hidden] in expert order, offsets [experts+1], w1 and w3 "
              "[experts,hidden,ffn], w2 [experts,ffn,hidden] in; yp [tokens*top_k,hidden] out; f32 (bf16 and e4m3 "
              "cases: inputs hold bf16 values, e4m3 ones are quantized by the implementation), offsets int32",
    .flops = moe_experts_flops,
    .bytes = moe_experts_bytes,
    .footprint = experts_footprint,
    .inputs = experts_inputs,
    .verify = experts_verify,
};
