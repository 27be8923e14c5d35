/* moe_op.c - what the moe.* operations share: their state, operand allocation, the routing
 * their inputs derive from. */
#include "kernels/moe/moe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static void state_free(void *p)
{
    struct moe_op_state *st = p;
    if (!st)
        return;
    free(st->ids);
    free(st->perm);
    free(st->counts);
    free(st);
}

int moe_op_state_new(struct kb_operands *io, char *err, size_t errlen)
{
    io->state = calloc(1, sizeof(struct moe_op_state));
    io->free_state = state_free;
    if (!io->state) {
        snprintf(err, errlen, "moe: out of memory");
        return KB_ERROR;
    }
    return KB_OK;
}

int moe_op_add(struct kb_operands *io, const char *name, enum kb_dtype t, int ndim, int64_t d0, int64_t d1,
               int64_t d2, int is_output, char *err, size_t errlen)
{
    const int64_t dims[3] = { d0, d1, d2 };
    return kb_operands_add(io, name, t, ndim, dims, is_output, 0, err, errlen);
}

int moe_op_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int moe_op_check_dtype(enum kb_dtype t, char *err, size_t errlen)
{
    if (t == KB_DTYPE_F32 || t == KB_DTYPE_BF16)
        return KB_OK;
    snprintf(err, errlen, "moe: dtype %s not supported (f32 and bf16 only)", kb_dtype_name(t) ? kb_dtype_name(t) : "?");
    return KB_UNSUPPORTED;
}

double moe_ffn_tolerance(enum kb_dtype t)
{
    return t == KB_DTYPE_BF16 ? verify_default_tolerance(KB_DTYPE_BF16) : MOE_TOLERANCE;
}

double moe_op_route_bytes(const struct kb_shape *s)
{
    return 4.0 * ((double)s->tokens * s->hidden + 2.0 * s->hidden * (s->experts + MOE_NR) + s->experts) +
           moe_routing_bytes(s, moe_op_threads());
}

int moe_op_route(const struct kb_shape *s, enum kb_dtype t, uint64_t seed, const float *x, int *ids, float *gates,
                 int *counts, char *err, size_t errlen)
{
    const size_t h = (size_t)s->hidden, E = (size_t)s->experts, tk = (size_t)s->tokens * s->top_k;
    float *own_x = NULL, *wr = moe_alloc(h * E * sizeof(float)), *bias = moe_alloc(E * sizeof(float));
    float *own_gates = gates ? NULL : moe_alloc(tk * sizeof(float));
    if (!x)
        x = own_x = moe_alloc((size_t)s->tokens * h * sizeof(float));
    struct moe_inputs in = { .x = x, .wr = wr, .bias = bias };
    struct moe_routing r;
    memset(&r, 0, sizeof r);
    int rc = KB_ERROR;
    if (!x || !wr || !bias || (!gates && !own_gates)) {
        snprintf(err, errlen, "moe: out of memory deriving the routing (%.0f bytes)", moe_op_route_bytes(s));
        goto done;
    }
    if (own_x)
        moe_generate(s, t, seed, own_x, NULL, NULL, NULL, NULL, NULL);
    moe_generate(s, t, seed, NULL, wr, bias, NULL, NULL, NULL);
    if (moe_pack(&in, s, MOE_PACK_ROUTER, err, errlen) != KB_OK ||
        moe_routing_new(&r, s, moe_op_threads(), err, errlen) != KB_OK)
        goto done;
    r.ids = ids;
    r.gates = gates ? gates : own_gates;
    r.counts = counts;
    moe_route_all(&in, s, &r);
    rc = KB_OK;
done:
    moe_routing_free(&r);
    moe_pack_free(&in);
    free(own_x);
    free(own_gates);
    free(wr);
    free(bias);
    return rc;
}
