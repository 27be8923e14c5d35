/* moe_router.c - moe.router@cpu: logits = x·W_r + b through the packed SIMD GEMM, top-k,
 * renormalised gates and tokens per expert, parallel over token blocks; and the routing
 * helpers the other moe.* kernels share (moe.h). Its stats are the load per expert and the
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
    return 4.0 * (t * epad + 2.0 * t * s->top_k + s->experts +
                  (double)(threads > 0 ? threads : 1) * moe_gemm_scratch_floats()) + 64.0 * 5;
}

int moe_routing_new(struct moe_routing *r, const struct kb_shape *s, const struct moe_inputs *in,
                    int threads, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->threads = threads > 0 ? threads : 1;
    size_t tk = (size_t)s->tokens * s->top_k;
    r->logits = moe_alloc((size_t)s->tokens * in->epad * sizeof(float));
    r->ids = moe_alloc(tk * sizeof(int));
    r->gates = moe_alloc(tk * sizeof(float));
    r->counts = moe_alloc((size_t)s->experts * sizeof(int));
    r->apack = moe_alloc((size_t)r->threads * moe_gemm_scratch_floats() * sizeof(float));
    if (!r->logits || !r->ids || !r->gates || !r->counts || !r->apack) {
        snprintf(err, errlen, "moe: out of memory for the routing (%.0f bytes)", moe_routing_bytes(s, threads));
        moe_routing_free(r);
        return KB_ERROR;
    }
    return KB_OK;
}

void moe_routing_free(struct moe_routing *r)
{
    free(r->logits);
    free(r->ids);
    free(r->gates);
    free(r->counts);
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

long moe_verify_routing(const struct moe_inputs *in, const struct kb_shape *s,
                        const struct moe_routing *r, uint64_t seed, struct verify_acc *va,
                        long *exact_checked, long *exact_mismatches, long *near_ties)
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
        bad_id |= r->ids[a] < 0 || r->ids[a] >= E;
    if (!bad_id)
        moe_count_loads(r->ids, assigned, E, recount);
    for (int e = 0; e < E; e++)
        *exact_mismatches += bad_id || recount[e] != r->counts[e];
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
#pragma omp parallel for schedule(dynamic, 4) num_threads(r->threads)
    for (long i = 0; i < nrows; i++)
        moe_reference_route(in, s, (int)rows[i], r->ids + (size_t)rows[i] * k, &ref[i]);
    for (long i = 0; i < nrows; i++) {
        const int *ids = r->ids + (size_t)rows[i] * k;
        const float *g = r->gates + (size_t)rows[i] * k;
        *exact_checked += k;
        *exact_mismatches += ref[i].mismatches;
        *near_ties += ref[i].near_ties;
        /* gates matched by expert: a kernel expert the reference did not keep counts as 0 */
        for (int j = 0; j < k; j++) {
            double got = 0;
            for (int q = 0; q < k; q++)
                if (ids[q] == ref[i].ids[j])
                    got = g[q];
            verify_add(va, got, ref[i].gates[j]);
        }
    }
    free(rows);
    free(ref);
    return nrows;
}

/* ---- the kernel ------------------------------------------------------------------------------ */

struct router_state {
    struct moe_inputs in;
    struct moe_routing r;
    long near_ties; /* from the last verify: choices accepted through the tie window */
};

static double router_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    return moe_router_bytes(s, t);
}

static double router_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return moe_inputs_bytes(s, MOE_IN_X | MOE_IN_ROUTER) + moe_routing_bytes(s, 1);
}

static void router_teardown(struct kb_case *c)
{
    struct router_state *st = c->state;
    if (!st)
        return;
    moe_inputs_free(&st->in);
    moe_routing_free(&st->r);
    free(st);
    c->state = NULL;
}

/* The setup every moe kernel starts with: shape and dtype checks and a zeroed state. */
static int router_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = moe_check_shape(&c->shape, 0, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (c->dtype != KB_DTYPE_F32) {
        snprintf(err, errlen, "moe.router@cpu: dtype %s not supported (f32 only)",
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    struct router_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "moe.router@cpu: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    if (moe_inputs_new(&st->in, &c->shape, c->seed, MOE_IN_X | MOE_IN_ROUTER, err, errlen) != KB_OK ||
        moe_routing_new(&st->r, &c->shape, &st->in, c->threads, err, errlen) != KB_OK) {
        router_teardown(c);
        return KB_ERROR;
    }
    return KB_OK;
}

static int router_run(struct kb_case *c)
{
    struct router_state *st = c->state;
    moe_route_all(&st->in, &c->shape, &st->r);
    return KB_OK;
}

static int router_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    struct router_state *st = c->state;
    struct verify_acc va;
    verify_begin(&va);
    memset(acc, 0, sizeof *acc);
    st->near_ties = 0;
    long rows = moe_verify_routing(&st->in, &c->shape, &st->r, c->seed, &va, &acc->exact_checked,
                                   &acc->exact_mismatches, &st->near_ties);
    verify_finish(&va, MOE_TOLERANCE, acc);
    acc->passed = acc->passed && acc->exact_mismatches == 0;
    acc->rows_checked = rows;
    acc->rows_total = c->shape.tokens;
    return KB_OK;
}

static int router_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct router_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    struct kb_tensor t[] = {
        { "x", KB_DTYPE_F32, 2, { s->tokens, s->hidden }, st->in.x, 0 },
        { "w_router", KB_DTYPE_F32, 2, { s->hidden, s->experts }, st->in.wr, 0 },
        { "b_router", KB_DTYPE_F32, 1, { s->experts }, st->in.bias, 0 },
        { "ids", KB_DTYPE_I32, 2, { s->tokens, s->top_k }, st->r.ids, 1 },
        { "gates", KB_DTYPE_F32, 2, { s->tokens, s->top_k }, st->r.gates, 1 },
        { "counts", KB_DTYPE_I32, 1, { s->experts }, st->r.counts, 1 },
    };
    int n = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0] && n < max; i++)
        out[n++] = t[i];
    return n;
}

static int router_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    const struct router_state *st = c->state;
    int n = moe_load_stats(st->r.counts, c->shape.experts, out, max);
    if (n < max) {
        memset(&out[n], 0, sizeof out[n]);
        snprintf(out[n].name, sizeof out[n].name, "moe.route.near_ties");
        snprintf(out[n].unit, sizeof out[n].unit, "count");
        out[n++].value = (double)st->near_ties;
    }
    return n;
}

const struct kb_kernel kb_moe_router_cpu = {
    .name = "moe.router",
    .impl = "cpu",
    .description = "MoE router: logits x·W_r + b (packed AVX2/scalar GEMM), top-k, renormalised gates, load per expert",
    .family = KB_FAMILY_MOE,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = KB_AXIS_BIT(KB_AXIS_TOKENS) | KB_AXIS_BIT(KB_AXIS_HIDDEN) | KB_AXIS_BIT(KB_AXIS_EXPERTS) |
            KB_AXIS_BIT(KB_AXIS_TOP_K) | KB_AXIS_BIT(KB_AXIS_ROUTING) | KB_AXIS_BIT(KB_AXIS_INPUT),
    .flops = moe_router_flops,
    .bytes = router_bytes,
    .footprint = router_footprint,
    .setup = router_setup,
    .run = router_run,
    .verify = router_verify,
    .tensors = router_tensors,
    .teardown = router_teardown,
    .stats = router_stats,
};
