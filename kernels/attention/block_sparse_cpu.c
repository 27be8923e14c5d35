/* block_sparse_cpu.c - attention.block_sparse@cpu: MoBA-style mixture-of-block attention,
 * causal (the selection rule is in sparse.h).
 *
 * One run, all timed: pack K into panels; pool every block's mean query and mean key (float64);
 * choose each query block's top-k past key blocks (bsa_select); then per query block, in tiles
 * of FLASH_BR rows, walk the kept blocks and the own block with attention.flash@cpu's micro-
 * kernels and the online softmax of tile_cpu.c, each kept block masked to its own keys (blocks
 * need not be multiples of the 16-key panels) and the own block masked causally.
 *
 * verify checks the selection itself and the output: the reference chooses the blocks again its
 * own way (all candidate scores sorted with qsort, not a partial maximum) from means it pools
 * itself in the same token-then-channel order, so both make identical float64 choices; every
 * differing choice counts in exact_mismatches (exact_checked = query blocks × past blocks
 * considered) and fails the case. The output of sampled rows is then compared with the float64
 * attention over the reference's own choice of keys (f32 tolerance 1e-4). */
#include "kernels/attention/attention.h"
#include "kernels/attention/sparse.h"
#include "kernels/attention/tile_cpu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/verify.h"

struct bsa_state {
    struct attention_inputs in;
    float *o;         /* [B,H,N,d] */
    float *kpan;      /* per (b, kv head) ceil(N/16) panels [d][16] */
    size_t panels;
    int nb;           /* blocks per head */
    double *qmean;    /* [B,H,nb,d] */
    double *kmean;    /* [B,H_kv,nb,d] */
    int *keep;        /* [B,H,nb,topk]: the chosen past blocks, ascending */
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

static double bsa_footprint(const struct kb_shape *shape, enum kb_dtype t)
{
    (void)t;
    struct kb_shape s = *shape;
    if (s.kv_heads == 0)
        s.kv_heads = s.heads;
    if (s.block < 1)
        s.block = 1;
    double nb = bsa_blocks(&s), d = s.head_dim;
    double out = 4.0 * s.batch * s.heads * (double)s.seq_len * d;
    double kpan = 4.0 * s.batch * s.kv_heads * ((s.seq_len + 15) / 16) * 16.0 * d;
    double means = 8.0 * nb * d * s.batch * (s.heads + s.kv_heads);
    double keep = 4.0 * s.batch * s.heads * nb * (s.topk_blocks > 0 ? s.topk_blocks : 1);
    return attention_inputs_bytes(&s) + out + kpan + means + keep + 4.0 * (double)scratch_floats_of(&s, (int)nb);
}

static void bsa_teardown(struct kb_case *c)
{
    struct bsa_state *st = c->state;
    if (!st)
        return;
    attention_inputs_free(&st->in);
    free(st->o);
    free(st->kpan);
    free(st->qmean);
    free(st->kmean);
    free(st->keep);
    free(st->scratch);
    free(st);
    c->state = NULL;
}

static int bsa_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = attention_check_shape(&c->shape, err, errlen);
    if (rc == KB_OK)
        rc = bsa_check_shape(&c->shape, err, errlen);
    if (rc != KB_OK)
        return rc;
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
    if (attention_inputs_new(&st->in, &c->shape, c->seed, err, errlen) != KB_OK) {
        bsa_teardown(c);
        return KB_ERROR;
    }
    const struct kb_shape *s = &c->shape;
    const size_t d = (size_t)s->head_dim, bh = (size_t)s->batch * s->heads, bhkv = (size_t)s->batch * s->kv_heads;
    st->nb = bsa_blocks(s);
    st->nthreads = c->threads > 0 ? c->threads : 1;
    st->isa = flash_isa_best();
    st->panels = ((size_t)s->seq_len + FLASH_KP - 1) / FLASH_KP;
    st->scratch_floats = scratch_floats_of(s, st->nb);
    st->o = attention_alloc(bh * s->seq_len * d * sizeof(float));
    st->kpan = attention_alloc(bhkv * st->panels * d * FLASH_KP * sizeof(float));
    st->qmean = attention_alloc(bh * st->nb * d * sizeof(double));
    st->kmean = attention_alloc(bhkv * st->nb * d * sizeof(double));
    st->keep = attention_alloc(bh * st->nb * (size_t)s->topk_blocks * sizeof(int));
    st->scratch = attention_alloc((size_t)st->nthreads * st->scratch_floats * sizeof(float));
    if (!st->o || !st->kpan || !st->qmean || !st->kmean || !st->keep || !st->scratch) {
        snprintf(err, errlen, "attention.block_sparse: out of memory for O, packed K, block means and scratch");
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
    const float *v = st->in.v + kv_head * s->seq_len * d;
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
    tile_pack_q(st->in.q + (q_head * n + q0) * d, nrows, rows, d, qpack);
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
            tile_pack_k(st->in.k + (size_t)hk * n * d, n, d, st->kpan + (size_t)hk * st->panels * d * FLASH_KP);
            bsa_block_means(st->in.k + (size_t)hk * n * d, n, d, s->block, st->kmean + (size_t)hk * nb * d);
        }
#pragma omp for schedule(static)
        for (long h = 0; h < bh; h++)
            bsa_block_means(st->in.q + (size_t)h * n * d, n, d, s->block, st->qmean + (size_t)h * nb * d);
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

/* ---- verify ---------------------------------------------------------------------------------- */

struct ranked {
    double score;
    int block;
};

static int by_score_then_block(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return (a->block > b->block) - (a->block < b->block);
}

static int ascending(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    return (a > b) - (a < b);
}

/* The mean of tokens [t0, t1) of X [N][d] for channel c, as sparse.h defines it. */
static double pooled(const float *x, int d, int t0, int t1, int c)
{
    double sum = 0;
    for (int t = t0; t < t1; t++)
        sum += x[(size_t)t * d + c];
    return sum / (double)(t1 - t0);
}

/* The reference's choice for query block qb of one head: ascending into keep; returns count. */
static int reference_select(const struct kb_shape *s, const float *q, const float *k, int qb, struct ranked *cand,
                            double *qm, int *keep)
{
    const int n = s->seq_len, d = s->head_dim, blk = s->block;
    for (int c = 0; c < d; c++)
        qm[c] = pooled(q, d, qb * blk, (qb + 1) * blk < n ? (qb + 1) * blk : n, c);
    for (int kb = 0; kb < qb; kb++) {
        double acc = 0;
        for (int c = 0; c < d; c++)
            acc += qm[c] * pooled(k, d, kb * blk, kb * blk + blk, c);
        cand[kb] = (struct ranked){ acc, kb };
    }
    qsort(cand, (size_t)qb, sizeof *cand, by_score_then_block);
    int kept = s->topk_blocks < qb ? s->topk_blocks : qb;
    for (int i = 0; i < kept; i++)
        keep[i] = cand[i].block;
    qsort(keep, (size_t)kept, sizeof *keep, ascending);
    return kept;
}

static int bsa_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    const struct bsa_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const int n = s->seq_len, d = s->head_dim, nb = st->nb, blk = s->block;
    const long bh = (long)s->batch * s->heads, total = bh * n;
    memset(acc, 0, sizeof *acc);
    acc->rows_total = total;
    acc->rel_l2_err = INFINITY;
    int *ref_keep = malloc((size_t)bh * nb * (s->topk_blocks + 1) * sizeof *ref_keep);
    long *rows = malloc(ATTENTION_VERIFY_ROWS * sizeof *rows);
    double *ref = malloc((size_t)ATTENTION_VERIFY_ROWS * d * sizeof *ref);
    if (!ref_keep || !rows || !ref) {
        free(ref_keep);
        free(rows);
        free(ref);
        return KB_ERROR;
    }
    const int stride = s->topk_blocks + 1; /* [count, blocks...] per query block */
    long checked = 0, bad = 0;
#pragma omp parallel num_threads(st->nthreads) reduction(+ : checked, bad)
    {
        struct ranked *cand = malloc((size_t)nb * sizeof *cand);
        double *qm = malloc((size_t)d * sizeof *qm);
#pragma omp for schedule(dynamic, 4)
        for (long task = 0; task < bh * nb; task++) {
            long h = task / nb;
            int qb = (int)(task % nb);
            int *mine = ref_keep + (size_t)task * stride;
            if (!cand || !qm) { /* cannot check: count it as a mismatch rather than pass */
                mine[0] = 0;
                bad++;
                continue;
            }
            mine[0] = reference_select(s, st->in.q + (size_t)h * n * d, st->in.k + attention_kv_head(s, (size_t)h) * n * d, qb,
                                       cand, qm, mine + 1);
            const int *got = st->keep + (size_t)task * s->topk_blocks;
            for (int i = 0; i < mine[0]; i++)
                bad += got[i] != mine[1 + i];
            checked += qb;
        }
        free(cand);
        free(qm);
    }
    long nrows = verify_sample_rows(total, ATTENTION_VERIFY_ROWS, c->seed, rows);
#pragma omp parallel for num_threads(st->nthreads) schedule(dynamic, 1)
    for (long t = 0; t < nrows; t++) {
        long row = rows[t], head = row / n;
        int i = (int)(row % n), qb = i / blk;
        const int *mine = ref_keep + ((size_t)head * nb + qb) * stride;
        struct key_range *ranges = malloc((size_t)(mine[0] + 1) * sizeof *ranges);
        if (!ranges) { /* no reference for this row: NaN fails the comparison */
            for (int j = 0; j < d; j++)
                ref[(size_t)t * d + j] = NAN;
            continue;
        }
        for (int r = 0; r < mine[0]; r++)
            ranges[r] = (struct key_range){ mine[1 + r] * blk, mine[1 + r] * blk + blk };
        ranges[mine[0]] = (struct key_range){ qb * blk, i + 1 };
        size_t kvh = attention_kv_head(s, (size_t)head);
        attention_ranges_reference_row(st->in.q + (size_t)row * d, st->in.k + kvh * n * d, st->in.v + kvh * n * d, d,
                                       ranges, mine[0] + 1, ref + (size_t)t * d);
        free(ranges);
    }
    attention_compare_rows(st->o, rows, nrows, ref, d, verify_default_tolerance(KB_DTYPE_F32), total, acc);
    acc->exact_checked = checked;
    acc->exact_mismatches = bad;
    acc->passed = acc->passed && bad == 0;
    free(ref_keep);
    free(rows);
    free(ref);
    return KB_OK;
}

static int bsa_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct bsa_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    int n = attention_input_tensors(s, &st->in, out, max);
    if (n < max)
        out[n++] = (struct kb_tensor){ .name = "kept_blocks", .dtype = KB_DTYPE_I32, .ndim = 4,
                                       .dims = { s->batch, s->heads, st->nb, s->topk_blocks },
                                       .data = st->keep, .is_output = 1 };
    n = attention_output_tensor(s, st->o, out, n, max);
    return n;
}

const struct kb_kernel kb_attention_block_sparse_cpu = {
    .name = "attention.block_sparse",
    .impl = "cpu",
    .description = "MoBA-style causal block attention: own block + top-k past blocks by mean-q·mean-k, fused tiles, float32; "
                   "density = sum(min(k,qb)+1)/sum(qb+1) (bsa_density)",
    .family = KB_FAMILY_ATTENTION,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) |
            KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_BLOCK) |
            KB_AXIS_BIT(KB_AXIS_TOPK_BLOCKS) | KB_AXIS_BIT(KB_AXIS_INPUT),
    .flops = bsa_flops,
    .bytes = bsa_bytes,
    .footprint = bsa_footprint,
    .setup = bsa_setup,
    .run = bsa_run,
    .verify = bsa_verify,
    .tensors = bsa_tensors,
    .teardown = bsa_teardown,
};
