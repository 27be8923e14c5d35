/* block_sparse_op.c - the operation attention.block_sparse (sparse_ops.h): MoBA-style causal
 * mixture of block attention. The block selection is part of what is computed, so the
 * operation defines it too: inputs() makes its own float64 choice for every query block (kept
 * in io->state) in a way of its own (every candidate scored, then sorted with qsort, where an
 * implementation may take a partial maximum) from means it pools itself in the defined
 * token-then-channel order, so any implementation that follows the definition makes identical
 * choices; verify counts every differing choice in exact_mismatches (exact_checked = query
 * blocks × past blocks considered), which fails the case, and compares sampled output rows with
 * float64 attention over the operation's own choice of keys. */
#include "kernels/attention/sparse_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention/qkv_operands.h"
#include "kernels/attention/sparse.h"
#include "kernels/verify.h"

/* The operation's choice: per (batch, head, query block) a count then the kept past blocks,
 * ascending: [B·H·nb][1 + topk]. */
struct bsa_choice {
    int nb, stride;
    int keep[];
};

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

/* The mean of tokens [t0, t1) of X [N][d] for channel c, as sparse_ops.h defines it. */
static double pooled(const float *x, int d, int t0, int t1, int c)
{
    double sum = 0;
    for (int t = t0; t < t1; t++)
        sum += x[(size_t)t * d + c];
    return sum / (double)(t1 - t0);
}

/* The choice for query block qb of one head: ascending into keep; returns the count. */
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

static int choose(struct kb_operands *io, const struct kb_shape *s, char *err, size_t errlen)
{
    const int n = s->seq_len, d = s->head_dim, nb = bsa_blocks(s), stride = s->topk_blocks + 1;
    const long bh = (long)s->batch * s->heads;
    struct bsa_choice *ch = malloc(sizeof *ch + (size_t)bh * nb * stride * sizeof(int));
    if (!ch) {
        snprintf(err, errlen, "attention.block_sparse: out of memory for the block selection");
        return KB_ERROR;
    }
    ch->nb = nb;
    ch->stride = stride;
    io->state = ch; /* freed with io (free_state NULL: free) */
    const float *q = io->buffer[KB_BSA_Q], *k = io->buffer[KB_BSA_K];
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        struct ranked *cand = malloc((size_t)nb * sizeof *cand);
        double *qm = malloc((size_t)d * sizeof *qm);
        failed = !cand || !qm;
#pragma omp for schedule(dynamic, 4)
        for (long task = 0; task < bh * nb; task++) {
            int *mine = ch->keep + (size_t)task * stride;
            long h = task / nb;
            mine[0] = 0;
            if (cand && qm)
                mine[0] = reference_select(s, q + (size_t)h * n * d, k + attention_kv_head(s, (size_t)h) * n * d,
                                           (int)(task % nb), cand, qm, mine + 1);
        }
        free(cand);
        free(qm);
    }
    if (failed) {
        snprintf(err, errlen, "attention.block_sparse: out of memory choosing the blocks");
        return KB_ERROR;
    }
    return KB_OK;
}

static int bsa_op_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                         size_t errlen)
{
    int rc = attention_check_shape(s, err, errlen);
    if (rc == KB_OK)
        rc = bsa_check_shape(s, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (qkv_operands_add(io, s, s->seq_len, t, seed, err, errlen) != KB_OK ||
        qkv_operands_output(io, "o", s, s->seq_len, err, errlen) != KB_BSA_O)
        return KB_ERROR;
    int64_t dims[4] = { s->batch, s->heads, bsa_blocks(s), s->topk_blocks };
    if (kb_operands_add(io, "kept_blocks", KB_DTYPE_I32, 4, dims, 1, QKV_PAD_BYTES, err, errlen) != KB_BSA_KEPT)
        return KB_ERROR;
    return choose(io, s, err, errlen);
}

static int bsa_op_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype dtype, uint64_t seed,
                         int threads, struct kb_accuracy *acc)
{
    const struct bsa_choice *ch = io->state;
    const int n = s->seq_len, d = s->head_dim, nb = ch->nb, blk = s->block, stride = ch->stride;
    const long bh = (long)s->batch * s->heads, total = bh * n;
    const float *q = io->buffer[KB_BSA_Q], *k = io->buffer[KB_BSA_K], *v = io->buffer[KB_BSA_V];
    const int *got_all = io->buffer[KB_BSA_KEPT];
    memset(acc, 0, sizeof *acc);
    acc->rows_total = total;
    acc->rel_l2_err = INFINITY;
    long *rows = malloc(ATTENTION_VERIFY_ROWS * sizeof *rows);
    double *ref = malloc((size_t)ATTENTION_VERIFY_ROWS * d * sizeof *ref);
    if (!rows || !ref) {
        free(rows);
        free(ref);
        return KB_ERROR;
    }
    long checked = 0, bad = 0;
    for (long task = 0; task < bh * nb; task++) {
        const int *mine = ch->keep + (size_t)task * stride, *got = got_all + (size_t)task * s->topk_blocks;
        for (int i = 0; i < mine[0]; i++)
            bad += got[i] != mine[1 + i];
        checked += task % nb;
    }
    long nrows = verify_sample_rows(total, ATTENTION_VERIFY_ROWS, seed, rows);
#pragma omp parallel for num_threads(threads > 0 ? threads : 1) schedule(dynamic, 1)
    for (long t = 0; t < nrows; t++) {
        long row = rows[t], head = row / n;
        int i = (int)(row % n), qb = i / blk;
        const int *mine = ch->keep + ((size_t)head * nb + qb) * stride;
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
        attention_ranges_reference_row(q + (size_t)row * d, k + kvh * n * d, v + kvh * n * d, d, ranges, mine[0] + 1,
                                       ref + (size_t)t * d);
        free(ranges);
    }
    attention_compare_rows(io->buffer[KB_BSA_O], rows, nrows, ref, d, verify_default_tolerance(dtype), total, acc);
    acc->exact_checked = checked;
    acc->exact_mismatches = bad;
    acc->passed = acc->passed && bad == 0;
    free(rows);
    free(ref);
    return KB_OK;
}

static double bsa_op_footprint(const struct kb_shape *shape, enum kb_dtype t)
{
    (void)t;
    struct kb_shape s = *shape;
    if (s.block < 1)
        s.block = 1;
    double nb = bsa_blocks(&s), topk = s.topk_blocks > 0 ? s.topk_blocks : 1;
    double kept = 4.0 * s.batch * s.heads * nb * topk, choice = 4.0 * s.batch * s.heads * nb * (topk + 1);
    return qkv_operands_bytes(&s, s.seq_len, s.seq_len) + kept + choice +
           8.0 * ATTENTION_VERIFY_ROWS * (s.head_dim + 1.0);
}

const struct kb_operation kb_op_attention_block_sparse = {
    .name = "attention.block_sparse",
    .description = "MoBA-style causal block attention: each query block attends to its own block and the top-k past "
                   "blocks by mean-q·mean-k",
    .family = KB_FAMILY_ATTENTION,
    .axes = KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) |
            KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_BLOCK) |
            KB_AXIS_BIT(KB_AXIS_TOPK_BLOCKS) | KB_AXIS_BIT(KB_AXIS_INPUT),
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .layout = "q [B,H,N,d], k and v [B,H_kv,N,d] float32 inputs (f16/bf16 cases: values rounded to that type); o [B,H,N,d] float32 and kept_blocks "
              "[B,H,ceil(N/block),topk_blocks] int32 (each query block's kept past blocks, ascending; entries past "
              "min(topk, block index) unused) outputs; row-major",
    .flops = bsa_flops,
    .bytes = bsa_bytes,
    .footprint = bsa_op_footprint,
    .inputs = bsa_op_inputs,
    .verify = bsa_op_verify,
};
