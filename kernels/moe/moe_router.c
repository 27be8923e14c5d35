/* moe_router.c - moe.router@cpu: logits = x·W_r + b through the packed SIMD GEMM, top-k,
 * renormalised gates and tokens per expert, parallel over token blocks, straight into the
 * operation's outputs; and the routing helpers the other moe.* kernels share (moe.h). Its stats are the load per expert and the
 * imbalance (max/mean), so a report can draw the load histogram of each routing skew. */
#include "kernels/moe/moe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/moe/moe_gemm.h"

/* ---- shared routing helpers ------------------------------------------------------------------ */

double moe_routing_bytes(const struct kb_shape *s, int threads)
{
    double t = s->tokens, epad = (s->experts + MOE_NR - 1) / MOE_NR * MOE_NR;
    return 4.0 * (t * epad + (double)(threads > 0 ? threads : 1) * moe_gemm_scratch_floats()) + 64.0 * 2;
}

int moe_routing_new(struct moe_routing *r, const struct kb_shape *s, int threads, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->threads = threads > 0 ? threads : 1;
    size_t epad = ((size_t)s->experts + MOE_NR - 1) / MOE_NR * MOE_NR;
    r->logits = moe_alloc((size_t)s->tokens * epad * sizeof(float));
    r->apack = moe_alloc((size_t)r->threads * moe_gemm_scratch_floats() * sizeof(float));
    if (!r->logits || !r->apack) {
        snprintf(err, errlen, "moe: out of memory for the routing (%.0f bytes)", moe_routing_bytes(s, threads));
        moe_routing_free(r);
        return KB_ERROR;
    }
    return KB_OK;
}

void moe_routing_free(struct moe_routing *r)
{
    free(r->logits);
    free(r->apack);
    memset(r, 0, sizeof *r);
}

void moe_route_all(const struct moe_inputs *in, const struct kb_shape *s, struct moe_routing *r)
{
    const long T = s->tokens, blocks = (T + MOE_GEMM_MC - 1) / MOE_GEMM_MC;
#pragma omp parallel for schedule(dynamic, 1) num_threads(r->threads)
    for (long b = 0; b < blocks; b++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        long t0 = b * MOE_GEMM_MC, t1 = t0 + MOE_GEMM_MC < T ? t0 + MOE_GEMM_MC : T;
        moe_route_range(in, s, (int)t0, (int)t1, r->logits, r->ids, r->gates,
                        r->apack + (size_t)tid * moe_gemm_scratch_floats());
    }
    moe_count_loads(r->ids, T * s->top_k, s->experts, r->counts);
}

/* ---- the kernel ------------------------------------------------------------------------------ */

/* Starts with its struct moe_inputs (tests repack w_router through it after editing it). */
struct router_state {
    struct moe_inputs in; /* the operation's x, w_router, b_router and the packed W_r */
    struct moe_routing r; /* scratch; ids, gates, counts are the operation's outputs */
};

static double router_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return moe_pack_bytes(s, MOE_PACK_ROUTER) + moe_routing_bytes(s, 1);
}

static void router_teardown(struct kb_case *c)
{
    struct router_state *st = c->state;
    if (!st)
        return;
    moe_pack_free(&st->in);
    moe_routing_free(&st->r);
    free(st);
    c->state = NULL;
}

static int router_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct router_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "moe.router@cpu: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->in.x = kb_input(c, KB_MOE_ROUTER_X);
    st->in.wr = kb_input(c, KB_MOE_ROUTER_WR);
    st->in.bias = kb_input(c, KB_MOE_ROUTER_BIAS);
    if (moe_pack(&st->in, &c->shape, MOE_PACK_ROUTER, err, errlen) != KB_OK ||
        moe_routing_new(&st->r, &c->shape, c->threads, err, errlen) != KB_OK) {
        router_teardown(c);
        return KB_ERROR;
    }
    st->r.ids = kb_output(c, KB_MOE_ROUTER_IDS);
    st->r.gates = kb_output(c, KB_MOE_ROUTER_GATES);
    st->r.counts = kb_output(c, KB_MOE_ROUTER_COUNTS);
    return KB_OK;
}

static int router_run(struct kb_case *c)
{
    struct router_state *st = c->state;
    moe_route_all(&st->in, &c->shape, &st->r);
    return KB_OK;
}

static int router_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    return moe_case_stats(c, KB_MOE_ROUTER_COUNTS, 1, out, max);
}

const struct kb_kernel kb_moe_router_cpu = {
    .name = "moe.router",
    .impl = "cpu",
    .description = "MoE router: logits x·W_r + b (packed AVX2/scalar GEMM), top-k, renormalised gates, load per expert",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = KB_AXIS_BIT(KB_AXIS_TOKENS) | KB_AXIS_BIT(KB_AXIS_HIDDEN) | KB_AXIS_BIT(KB_AXIS_EXPERTS) |
            KB_AXIS_BIT(KB_AXIS_TOP_K) | KB_AXIS_BIT(KB_AXIS_ROUTING) | KB_AXIS_BIT(KB_AXIS_INPUT),
    .footprint = router_footprint,
    .setup = router_setup,
    .run = router_run,
    .teardown = router_teardown,
    .stats = router_stats,
    .op = &kb_op_moe_router,
};
