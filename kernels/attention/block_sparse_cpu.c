/* block_sparse_cpu.c - attention.block_sparse@cpu: MoBA-style mixture-of-block attention,
 * causal (the selection rule is in sparse.h).
 *
 * One run, all timed: pack K into panels; pool every block's mean query and mean key (float64);
 * choose each query block's top-k past key blocks (bsa_select); then per query block, in tiles
 * of FLASH_BR rows, walk the kept blocks and the own block with attention.flash@cpu's micro-
 * kernels and the online softmax of tile_cpu.c, each kept block masked to its own keys (blocks
 * need not be multiples of the 16-key panels) and the own block masked causally.
 *
 * The choice goes into the operation's "kept_blocks" output, which its verification compares
 * exactly with its own (block_sparse_op.c) before the sampled output rows. */
#include "kernels/attention/attention.h"
#include "kernels/attention/sparse.h"
#include "kernels/attention/sparse_ops.h"
#include "kernels/attention/tile_cpu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

struct bsa_state {
    const float *q, *k, *v; /* the case's operands (not owned) */
    float *o;         /* [B,H,N,d], the case's */
    float *kpan;      /* per (b, kv head) ceil(N/16) panels [d][16] */
    size_t panels;
    int nb;           /* blocks per head */
    double *qmean;    /* [B,H,nb,d] */
    double *kmean;    /* [B,H_kv,nb,d] */
    int *keep;        /* [B,H,nb,topk]: the chosen past blocks, ascending (the case's kept_blocks) */
    float *scratch;   /* per thread: qpack + tile + selection scores */
    size_t scratch_floats;
    int nthreads;
    const struct flash_isa *isa;
};

static size_t scratch_floats_of(const struct kb_shape *s, int nb)
{
    return attention_round16((size_t)FLASH_BR * s->head_dim) + attention_round16(tile_scratch_floats(FLASH_BR, s->head_dim)) +
           2 * attention_round16((size_t)nb);
}

/* The workspace beyond the operands: packed K, the block means and one thread's scratch. */
static double bsa_footprint(const struct kb_shape *shape, enum kb_dtype t)
{
    (void)t;
    struct kb_shape s = *shape;
    if (s.kv_heads == 0)
        s.kv_heads = s.heads;
    if (s.block < 1)
        s.block = 1;
    double nb = bsa_blocks(&s), d = s.head_dim;
    double kpan = 4.0 * s.batch * s.kv_heads * ((s.seq_len + 15) / 16) * 16.0 * d;
    double means = 8.0 * nb * d * s.batch * (s.heads + s.kv_heads);
    return kpan + means + 4.0 * (double)scratch_floats_of(&s, (int)nb);
}

static void bsa_teardown(struct kb_case *c)
{
    struct bsa_state *st = c->state;
    if (!st)
        return;
    free(st->kpan);
    free(st->qmean);
    free(st->kmean);
    free(st->scratch);
    free(st);
    c->state = NULL;
}

static int bsa_setup(struct kb_case *c, char *err, size_t errlen)
{
    if (c->dtype != KB_DTYPE_F32) {
        snprintf(err, errlen, "attention.block_sparse: dtype %s not supported (f32 only)",
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    struct bsa_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.block_sparse: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->q = kb_input(c, KB_BSA_Q);
    st->k = kb_input(c, KB_BSA_K);
    st->v = kb_input(c, KB_BSA_V);
    st->o = kb_output(c, KB_BSA_O);
    st->keep = kb_output(c, KB_BSA_KEPT);
    const struct kb_shape *s = &c->shape;
    const size_t d = (size_t)s->head_dim, bh = (size_t)s->batch * s->heads, bhkv = (size_t)s->batch * s->kv_heads;
    st->nb = bsa_blocks(s);
    st->nthreads = c->threads > 0 ? c->threads : 1;
    st->isa = flash_isa_best();
    st->panels = ((size_t)s->seq_len + FLASH_KP - 1) / FLASH_KP;
    st->scratch_floats = scratch_floats_of(s, st->nb);
    st->kpan = attention_alloc(bhkv * st->panels * d * FLASH_KP * sizeof(float));
    st->qmean = attention_alloc(bh * st->nb * d * sizeof(double));
    st->kmean = attention_alloc(bhkv * st->nb * d * sizeof(double));
    st->scratch = attention_alloc((size_t)st->nthreads * st->scratch_floats * sizeof(float));
    if (!st->kpan || !st->qmean || !st->kmean || !st->scratch) {
        snprintf(err, errlen, "attention.block_sparse: out of memory for packed K, block means and scratch");
        bsa_teardown(c);
        return KB_ERROR;
    }
    return KB_OK;
}

/* ---- run ------------------------------------------------------------------------------------- */

/* Keys [a, b) for the real rows of the tile (clipped causally at each row's own token). */
static void attend_range(const struct bsa_state *st, const struct kb_shape *s, struct tile *t, const float *qpack,
                         int q0, int nrows, size_t kv_head, int a, int b)
{
    const int d = s->head_dim;
    for (int r = 0; r < t->rows; r++) {
        t->lo[r] = r < nrows ? a : 0;
        t->hi[r] = r < nrows ? (q0 + r + 1 < b ? q0 + r + 1 : b) : 0;
    }
    const float *kpan = st->kpan + kv_head * st->panels * d * FLASH_KP;
    const float *v = st->v + kv_head * s->seq_len * d;
    const int end = b < q0 + nrows ? b : q0 + nrows; /* no row sees past its own token */
    for (int k0 = a / FLASH_KP * FLASH_KP; k0 < end; k0 += FLASH_BC) {
        const int keys = end - k0 < FLASH_BC ? end - k0 : FLASH_BC;
        st->isa->scores(qpack, d, kpan + (size_t)(k0 / FLASH_KP) * d * FLASH_KP, (keys + FLASH_KP - 1) / FLASH_KP,
                        t->rows, t->s);
        tile_update(t, k0, keys, v + (size_t)k0 * d);
    }
}

static void bsa_tile(const struct bsa_state *st, const struct kb_shape *s, size_t q_head, int qb, int sub,
                     float *scratch)
{
    const int n = s->seq_len, d = s->head_dim, blk = s->block;
    const size_t kv_head = attention_kv_head(s, q_head);
    const int q0 = qb * blk + sub * FLASH_BR;
    const int block_end = (qb + 1) * blk < n ? (qb + 1) * blk : n;
    const int nrows = block_end - q0 < FLASH_BR ? block_end - q0 : FLASH_BR;
    const int rows = (nrows + FLASH_MR - 1) / FLASH_MR * FLASH_MR;
    float *qpack = scratch;
    struct tile t;
    tile_bind(&t, st->isa, d, FLASH_BR, scratch + attention_round16((size_t)FLASH_BR * d));
    tile_pack_q(st->q + (q_head * n + q0) * d, nrows, rows, d, qpack);
    tile_begin(&t, rows);
    const int *keep = st->keep + (q_head * st->nb + qb) * (size_t)s->topk_blocks;
    for (int i = 0, kept = bsa_kept_past(s, qb); i < kept; i++)
        attend_range(st, s, &t, qpack, q0, nrows, kv_head, keep[i] * blk, keep[i] * blk + blk);
    attend_range(st, s, &t, qpack, q0, nrows, kv_head, qb * blk, block_end);
    tile_finish(&t, nrows, st->o + (q_head * n + q0) * d);
}

static int bsa_run(struct kb_case *c)
{
    struct bsa_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const int n = s->seq_len, d = s->head_dim, nb = st->nb;
    const long bh = (long)s->batch * s->heads, bhkv = (long)s->batch * s->kv_heads;
    const int subs = (s->block + FLASH_BR - 1) / FLASH_BR; /* tiles per query block (at most) */
    const long tasks = bh * nb * subs;
#pragma omp parallel num_threads(st->nthreads)
    {
        float *mine = st->scratch + (size_t)attention_thread() * st->scratch_floats;
#pragma omp for schedule(static)
        for (long hk = 0; hk < bhkv; hk++) {
            tile_pack_k(st->k + (size_t)hk * n * d, n, d, st->kpan + (size_t)hk * st->panels * d * FLASH_KP);
            bsa_block_means(st->k + (size_t)hk * n * d, n, d, s->block, st->kmean + (size_t)hk * nb * d);
        }
#pragma omp for schedule(static)
        for (long h = 0; h < bh; h++)
            bsa_block_means(st->q + (size_t)h * n * d, n, d, s->block, st->qmean + (size_t)h * nb * d);
        double *score = (double *)(void *)(mine + st->scratch_floats - 2 * attention_round16((size_t)nb));
#pragma omp for schedule(static)
        for (long task = 0; task < bh * nb; task++) {
            long h = task / nb;
            int qb = (int)(task % nb);
            bsa_select(st->qmean + (size_t)task * d, st->kmean + attention_kv_head(s, (size_t)h) * nb * d, d, qb,
                       s->topk_blocks, score, st->keep + (size_t)task * s->topk_blocks);
        }
#pragma omp for schedule(dynamic, 1)
        for (long task = 0; task < tasks; task++) {
            long head = task / ((long)nb * subs), rest = task % ((long)nb * subs);
            int qb = (int)(rest / subs), sub = (int)(rest % subs);
            if (qb * s->block + sub * FLASH_BR < ((qb + 1) * s->block < n ? (qb + 1) * s->block : n))
                bsa_tile(st, s, (size_t)head, qb, sub, mine);
        }
    }
    return KB_OK;
}

const struct kb_kernel kb_attention_block_sparse_cpu = {
    .name = "attention.block_sparse",
    .impl = "cpu",
    .description = "MoBA-style causal block attention: own block + top-k past blocks by mean-q·mean-k, fused tiles, float32; "
                   "density = sum(min(k,qb)+1)/sum(qb+1) (bsa_density)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) |
            KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_BLOCK) |
            KB_AXIS_BIT(KB_AXIS_TOPK_BLOCKS) | KB_AXIS_BIT(KB_AXIS_INPUT),
    .footprint = bsa_footprint,
    .setup = bsa_setup,
    .run = bsa_run,
    .teardown = bsa_teardown,
    .op = &kb_op_attention_block_sparse,
};
