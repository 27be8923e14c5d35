/* moe_layer.c - moe.layer: the whole MoE layer (router → dispatch → experts → combine, moe.h) in
 * two CPU implementations over the same packed GEMM, so the difference is the fusion alone.
 *
 * cpu.unfused: the four steps one after another over the whole batch, each a parallel pass
 *   with its result materialised: logits and ids, the permuted copy xp [T·k,h], the gate/up
 *   products gu [T·k,2f], the activations [T·k,f], the expert outputs yp [T·k,h], then y.
 *
 * cpu.fused: per block of BT tokens, route the block, then for each (expert, ffn chunk of
 *   MOE_FC columns) with tokens in the block: [G|U] = x[rows]·[W1|W3]_chunk with the rows
 *   gathered from x while A is packed (no xp), silu(G)⊙U in a tile that stays in L2 (no gu, no
 *   activation buffer), and y[rows] += gate · tile·W2_chunk scattered straight into the output
 *   (no yp, no combine pass). Threads share a block and take (expert, chunk) items; as items of
 *   different experts write the same token rows, each thread accumulates into its own BT×h
 *   slice and the slices are summed once per block (with one thread: straight into y).
 *   BT is chosen so that an expert gets about 128 of the block's tokens on average
 *   (BT = 128·E/k, within [64, 1024]): every block streams all the expert weights once, so a
 *   small BT would make the layer weight-bandwidth-bound; 128 rows per weight panel keep the
 *   micro-kernel compute-bound.
 *
 * What fusion saves on a CPU is memory traffic of intermediates (about 4·T·k·(2h + 3f) bytes
 * written and read back) and three fork/join passes; what it costs is re-reading the weights
 * once per token block instead of once per layer (T/BT times). Which wins depends on T, h, f:
 * see docs/performance.md. */
#include "kernels/moe/moe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/moe/moe_gemm.h"

#define FUSED_ROWS_PER_EXPERT 128
#define FUSED_BT_MIN 64
#define FUSED_BT_MAX 1024

struct layer_state {
    struct moe_inputs in; /* the operation's inputs, and the weights packed */
    struct moe_routing r; /* scratch; ids, gates and counts are the operation's outputs */
    float *y;             /* [T,h]: the operation's output */
    int threads;
    int fused;
    /* unfused */
    int *offsets, *perm, *slot_of;
    float *xp, *gu, *hb, *yp;
    /* fused */
    int bt;
    int *blk_off;     /* [E+1] */
    int *blk_rows;    /* [BT·k] token index of each (expert-ordered) pair of the block */
    int *blk_local;   /* [BT·k] the same, relative to the block start */
    float *blk_gate;  /* [BT·k] */
    int *items;       /* [E·chunks] (expert, chunk) pairs with work, e·chunks + c */
    int nitems;
    float *tiles;     /* per thread: gu tile [BT][2·MOE_FC] then act tile [BT][MOE_FC] */
    float *ybuf;      /* per thread [BT][h] when threads > 1 */
};

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int fused_block_tokens(const struct kb_shape *s)
{
    long bt = (long)FUSED_ROWS_PER_EXPERT * s->experts / s->top_k;
    bt = (bt + 15) / 16 * 16;
    bt = bt < FUSED_BT_MIN ? FUSED_BT_MIN : bt > FUSED_BT_MAX ? FUSED_BT_MAX : bt;
    return (int)(bt < s->tokens ? bt : s->tokens);
}

static double layer_footprint_common(const struct kb_shape *s)
{
    return moe_pack_bytes(s, MOE_PACK_ROUTER | MOE_PACK_EXPERTS) + moe_routing_bytes(s, 1);
}

static double unfused_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double slots = (double)s->tokens * s->top_k, fpad = (s->ffn + MOE_NR - 1) / MOE_NR * MOE_NR;
    return layer_footprint_common(s) + 4.0 * (s->experts + 1 + 2 * slots + slots * (2.0 * s->hidden + 3.0 * fpad));
}

/* One thread's share (the descriptor has no thread count; each further thread adds its own
 * tiles and, from the second on, a BT×h accumulation slice). */
static double fused_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double bt = fused_block_tokens(s), chunks = (s->ffn + MOE_FC - 1) / MOE_FC;
    return layer_footprint_common(s) + 4.0 * (s->experts + 1 + 3 * bt * s->top_k + s->experts * chunks +
                                              bt * 3.0 * MOE_FC + bt * s->hidden);
}

static void layer_teardown(struct kb_case *c)
{
    struct layer_state *st = c->state;
    if (!st)
        return;
    moe_pack_free(&st->in);
    moe_routing_free(&st->r);
    void *bufs[] = { st->offsets, st->perm, st->slot_of, st->xp, st->gu, st->hb, st->yp,
                     st->blk_off, st->blk_rows, st->blk_local, st->blk_gate, st->items, st->tiles, st->ybuf };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    free(st);
    c->state = NULL;
}

static int layer_setup(struct kb_case *c, int fused, char *err, size_t errlen)
{
    const char *who = fused ? "moe.layer@cpu.fused" : "moe.layer@cpu.unfused";
    struct layer_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "%s: out of memory", who);
        return KB_ERROR;
    }
    c->state = st;
    st->fused = fused;
    st->threads = c->threads > 0 ? c->threads : 1;
    const struct kb_shape *s = &c->shape;
    st->in.x = kb_input(c, KB_MOE_LAYER_X);
    st->in.wr = kb_input(c, KB_MOE_LAYER_WR);
    st->in.bias = kb_input(c, KB_MOE_LAYER_BIAS);
    st->in.w1 = kb_input(c, KB_MOE_LAYER_W1);
    st->in.w3 = kb_input(c, KB_MOE_LAYER_W3);
    st->in.w2 = kb_input(c, KB_MOE_LAYER_W2);
    if (moe_pack(&st->in, s, MOE_PACK_ROUTER | MOE_PACK_EXPERTS, err, errlen) != KB_OK ||
        moe_routing_new(&st->r, s, st->threads, err, errlen) != KB_OK) {
        layer_teardown(c);
        return KB_ERROR;
    }
    st->r.ids = kb_output(c, KB_MOE_LAYER_IDS);
    st->r.gates = kb_output(c, KB_MOE_LAYER_GATES);
    st->r.counts = kb_output(c, KB_MOE_LAYER_COUNTS);
    st->y = kb_output(c, KB_MOE_LAYER_Y);
    const size_t slots = (size_t)s->tokens * s->top_k, h = (size_t)s->hidden, fpad = st->in.fpad;
    const size_t E = (size_t)s->experts;
    int bad = 0;
    if (!fused) {
        bad |= !(st->offsets = moe_alloc((E + 1) * sizeof(int))) | !(st->perm = moe_alloc(slots * sizeof(int))) |
               !(st->slot_of = moe_alloc(slots * sizeof(int))) | !(st->xp = moe_alloc(slots * h * sizeof(float))) |
               !(st->yp = moe_alloc(slots * h * sizeof(float))) |
               !(st->gu = moe_alloc(slots * 2 * fpad * sizeof(float))) | !(st->hb = moe_alloc(slots * fpad * sizeof(float)));
    } else {
        st->bt = fused_block_tokens(s);
        const size_t bk = (size_t)st->bt * s->top_k, chunks = (s->ffn + MOE_FC - 1) / MOE_FC;
        bad |= !(st->blk_off = moe_alloc((E + 1) * sizeof(int))) | !(st->blk_rows = moe_alloc(bk * sizeof(int))) |
               !(st->blk_local = moe_alloc(bk * sizeof(int))) | !(st->blk_gate = moe_alloc(bk * sizeof(float))) |
               !(st->items = moe_alloc(E * chunks * sizeof(int))) |
               !(st->tiles = moe_alloc((size_t)st->threads * st->bt * 3 * MOE_FC * sizeof(float)));
        if (st->threads > 1)
            bad |= !(st->ybuf = moe_alloc((size_t)st->threads * st->bt * h * sizeof(float)));
    }
    if (bad) {
        snprintf(err, errlen, "%s: out of memory (%.0f bytes)", who,
                 fused ? fused_footprint(s, c->dtype) : unfused_footprint(s, c->dtype));
        layer_teardown(c);
        return KB_ERROR;
    }
    return KB_OK;
}

static int unfused_setup(struct kb_case *c, char *err, size_t errlen)
{
    return layer_setup(c, 0, err, errlen);
}

static int fused_setup(struct kb_case *c, char *err, size_t errlen)
{
    return layer_setup(c, 1, err, errlen);
}

/* ---- run ------------------------------------------------------------------------------------- */

static int unfused_run(struct kb_case *c)
{
    struct layer_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    moe_route_all(&st->in, s, &st->r);
    moe_dispatch_rows(st->in.x, s, st->r.ids, st->threads, st->offsets, st->perm, st->slot_of, st->xp);
    moe_experts_forward(&st->in, s, st->offsets, st->xp, st->gu, st->hb, st->yp, st->threads, st->r.apack);
    moe_combine_rows(st->yp, st->r.gates, st->slot_of, s, st->threads, st->y);
    return KB_OK;
}

/* The block's pairs in expert order (a counting sort of at most BT·k entries), and the
 * (expert, chunk) items that have work. */
static void fused_plan_block(struct layer_state *st, const struct kb_shape *s, int t0, int t1)
{
    const int E = s->experts, k = s->top_k;
    const int chunks = (s->ffn + MOE_FC - 1) / MOE_FC;
    int *off = st->blk_off;
    for (int e = 0; e <= E; e++)
        off[e] = 0;
    for (long a = (long)t0 * k; a < (long)t1 * k; a++)
        off[st->r.ids[a] + 1]++;
    for (int e = 0; e < E; e++)
        off[e + 1] += off[e];
    for (long a = (long)t0 * k; a < (long)t1 * k; a++) {
        int pos = off[st->r.ids[a]]++;
        st->blk_rows[pos] = (int)(a / k);
        st->blk_local[pos] = (int)(a / k) - t0;
        st->blk_gate[pos] = st->r.gates[a];
    }
    for (int e = E; e > 0; e--)
        off[e] = off[e - 1];
    off[0] = 0;
    st->nitems = 0;
    for (int e = 0; e < E; e++)
        if (off[e + 1] > off[e])
            for (int ch = 0; ch < chunks; ch++)
                st->items[st->nitems++] = e * chunks + ch;
}

static void fused_item(const struct layer_state *st, const struct kb_shape *s, int item, float *tiles,
                       float *acc, const struct moe_gemm_isa *isa, float *ap)
{
    const int chunks = (s->ffn + MOE_FC - 1) / MOE_FC;
    const int e = item / chunks, c0 = (item % chunks) * MOE_FC;
    const int wc = s->ffn - c0 < MOE_FC ? s->ffn - c0 : MOE_FC;
    const int wcp = (wc + MOE_NR - 1) / MOE_NR * MOE_NR;
    const int m = st->blk_off[e + 1] - st->blk_off[e];
    const size_t h = (size_t)s->hidden, fpad = st->in.fpad;
    float *gu = tiles, *act = tiles + (size_t)st->bt * 2 * MOE_FC;
    struct moe_gemm g1 = {
        .m = m, .n = 2 * wcp, .k = (int)h,
        .a = st->in.x, .lda = h, .a_rows = st->blk_rows + st->blk_off[e],
        .b = st->in.w13p + (size_t)e * 2 * fpad * h + (size_t)(2 * c0 / MOE_NR) * h * MOE_NR,
        .b_panel_stride = h * MOE_NR,
        .c = gu, .ldc = 2 * MOE_FC,
    };
    moe_gemm_run(isa, &g1, ap);
    for (int i = 0; i < m; i++) {
        const float *gg = gu + (size_t)i * 2 * MOE_FC, *uu = gg + wcp;
        float *out = act + (size_t)i * MOE_FC;
        for (int j = 0; j < wcp; j++)
            out[j] = gg[j] / (1.0f + expf(-gg[j])) * uu[j];
    }
    struct moe_gemm g2 = {
        .m = m, .n = (int)h, .k = wcp,
        .a = act, .lda = MOE_FC,
        .b = st->in.w2p + (size_t)e * st->in.hpad * fpad + (size_t)c0 * MOE_NR,
        .b_panel_stride = fpad * MOE_NR,
        .c = acc, .ldc = h,
        .c_rows = (st->threads > 1 ? st->blk_local : st->blk_rows) + st->blk_off[e],
        .c_scale = st->blk_gate + st->blk_off[e],
        .accumulate = 1,
    };
    moe_gemm_run(isa, &g2, ap);
}

static int fused_run(struct kb_case *c)
{
    struct layer_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const int T = s->tokens, bt = st->bt, nt = st->threads;
    const size_t h = (size_t)s->hidden, scratch = moe_gemm_scratch_floats();
    const struct moe_gemm_isa *isa = moe_gemm_best();

#pragma omp parallel num_threads(nt)
    {
        const int tid = thread_id();
        float *ap = st->r.apack + (size_t)tid * scratch;
        float *tiles = st->tiles + (size_t)tid * bt * 3 * MOE_FC;
        float *mine = nt > 1 ? st->ybuf + (size_t)tid * bt * h : st->y;
        for (int t0 = 0; t0 < T; t0 += bt) {
            const int t1 = t0 + bt < T ? t0 + bt : T;
#pragma omp for schedule(dynamic, 1)
            for (int sb = t0; sb < t1; sb += MOE_GEMM_MC)
                moe_route_range(&st->in, s, sb, sb + MOE_GEMM_MC < t1 ? sb + MOE_GEMM_MC : t1, st->r.logits,
                                st->r.ids, st->r.gates, ap);
#pragma omp single
            {
                fused_plan_block(st, s, t0, t1);
                if (nt == 1)
                    memset(st->y + (size_t)t0 * h, 0, (size_t)(t1 - t0) * h * sizeof(float));
            }
            if (nt > 1) /* this thread's slice only: no other thread touches it */
                memset(mine, 0, (size_t)(t1 - t0) * h * sizeof(float));
#pragma omp for schedule(dynamic, 1)
            for (int it = 0; it < st->nitems; it++)
                fused_item(st, s, st->items[it], tiles, mine, isa, ap);
            if (nt > 1) {
#pragma omp for schedule(static)
                for (int l = 0; l < t1 - t0; l++) {
                    float *out = st->y + (size_t)(t0 + l) * h;
                    memcpy(out, st->ybuf + (size_t)l * h, h * sizeof(float));
                    for (int q = 1; q < nt; q++) {
                        const float *src = st->ybuf + ((size_t)q * bt + l) * h;
                        for (size_t j = 0; j < h; j++)
                            out[j] += src[j];
                    }
                }
            }
        }
    }
    moe_count_loads(st->r.ids, (long)T * s->top_k, s->experts, st->r.counts);
    return KB_OK;
}

/* ---- stats ------------------------------------------------------------------------------------- */

static int layer_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    const struct layer_state *st = c->state;
    int n = moe_case_stats(c, KB_MOE_LAYER_COUNTS, 1, out, max);
    if (st->fused)
        n = moe_put_counter(out, n, max, "moe.fused.block_tokens", st->bt, "count");
    return n;
}

const struct kb_kernel kb_moe_layer_unfused = {
    .name = "moe.layer",
    .impl = "cpu.unfused",
    .description = "MoE layer, unfused: router, dispatch, grouped SwiGLU experts, combine; intermediates materialised",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .footprint = unfused_footprint,
    .setup = unfused_setup,
    .run = unfused_run,
    .teardown = layer_teardown,
    .stats = layer_stats,
    .op = &kb_op_moe_layer,
};

const struct kb_kernel kb_moe_layer_fused = {
    .name = "moe.layer",
    .impl = "cpu.fused",
    .description = "MoE layer, fused per token block: gathered rows, SwiGLU in cache, gate-weighted scatter into y",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .footprint = fused_footprint,
    .setup = fused_setup,
    .run = fused_run,
    .teardown = layer_teardown,
    .stats = layer_stats,
    .op = &kb_op_moe_layer,
};
