/* varlen_cpu.c - attention.varlen@cpu.flash: softmax attention over a packed ragged batch
 * (varlen_ops.h) on attention.flash@cpu's tiles (flash_cpu_block), float32.
 *
 * Each (sequence, head) is the padded kernel's head with its own offset and length. The inputs
 * are token-major ([T, H, d]): K of every (sequence, KV head) is packed straight from its rows
 * (H_kv·d floats apart) into panels of whole key blocks, V is copied head-major ([H_kv, T, d],
 * the contiguous rows the P·V micro-kernels stream; a pass over V, part of the timed run like
 * the packing of K), and each work item, one query block of FLASH_BR rows of one (sequence,
 * head), runs flash_cpu_block on its sequence's rows, reading Q and writing O H·d floats apart.
 *
 * Balance. A query block of sequence b costs its rows times the keys it sees (n_b, or up to its
 * last row when causal), so in a long-tail mix one long sequence can hold most of the work.
 * Threading over sequences then leaves the other threads idle while one finishes it; here the
 * items are sorted by cost, heaviest first, and taken dynamically one at a time (longest
 * processing time first: every thread ends within about one item of the others).
 * KBENCH_VARLEN_SCHEDULE=sequence threads over whole sequences instead (each thread takes one
 * sequence at a time, all its heads and blocks), the naive split, for comparison
 * (docs/performance.md). The kernel counter varlen.work_max_over_mean says how evenly the
 * last run split the work. */
#include "kernels/attention/varlen.h"
#include "kernels/attention/varlen_ops.h"
#include "kernels/attention/attention.h"
#include "kernels/attention/flash_cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct varlen_item {
    int b, h, qb;
    double cost;
};

struct varlen_cpu {
    struct varlen_operands in; /* the case's Q, K, V, O, cu_seqlens and T */
    size_t *pan_off;      /* [B + 1]: panels before sequence b (per KV head) */
    float *kpan;          /* [H_kv][pan_off[B]][d][FLASH_KP] */
    float *vhead;         /* [H_kv][T][d] V head-major, then ATTENTION_INPUT_PAD zeros */
    struct varlen_item *items;
    long nitems;
    int by_sequence;      /* KBENCH_VARLEN_SCHEDULE=sequence */
    int nthreads;
    double *thread_work;  /* [nthreads · 8] (a cache line each): the last run's work per thread */
    float *scratch_mem;
    struct flash_scratch *scratch;
    const struct flash_isa *isa;
};

static size_t panels_of(int n)
{
    return (size_t)(n + FLASH_BC - 1) / FLASH_BC * (FLASH_BC / FLASH_KP);
}

/* The cost of a query block: its rows times the keys they see. */
static double block_cost(const struct kb_shape *s, int n, int qb)
{
    const int q0 = qb * FLASH_BR, rows = n - q0 < FLASH_BR ? n - q0 : FLASH_BR;
    return (double)rows * (s->causal ? q0 + rows : n);
}

/* heaviest first; ties in packed order, so the order is the same on every run */
static int by_cost_desc(const void *a, const void *b)
{
    const struct varlen_item *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost < y->cost ? 1 : -1;
    if (x->b != y->b)
        return x->b < y->b ? -1 : 1;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    return x->qb < y->qb ? -1 : x->qb > y->qb;
}

static void varlen_cpu_teardown(struct kb_case *c)
{
    struct varlen_cpu *st = c->state;
    if (!st)
        return;
    free(st->pan_off);
    free(st->kpan);
    free(st->vhead);
    free(st->items);
    free(st->thread_work);
    free(st->scratch_mem);
    free(st->scratch);
    free(st);
    c->state = NULL;
}

/* Packed K at the longest packing (batch · N tokens), the work list and one thread's scratch. */
static double varlen_cpu_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double kvh = s->kv_heads > 0 ? s->kv_heads : s->heads, d = s->head_dim;
    double panels = (double)s->batch * panels_of(s->seq_len);
    double items = (double)s->heads * s->batch * ((s->seq_len + FLASH_BR - 1) / FLASH_BR);
    return 4.0 * kvh * panels * d * FLASH_KP + 4.0 * kvh * s->batch * s->seq_len * d +
           items * sizeof(struct varlen_item) +
           4.0 * (double)flash_scratch_floats(s->head_dim);
}

static int varlen_cpu_setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    struct varlen_cpu *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.varlen@cpu.flash: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->in = varlen_operands_of(c);
    st->isa = flash_isa_best();
    st->nthreads = c->threads > 0 ? c->threads : 1;
    const char *mode = getenv("KBENCH_VARLEN_SCHEDULE");
    st->by_sequence = mode && strcmp(mode, "sequence") == 0;

    st->pan_off = malloc(((size_t)s->batch + 1) * sizeof *st->pan_off);
    long nitems = 0;
    if (st->pan_off) {
        st->pan_off[0] = 0;
        for (int b = 0; b < s->batch; b++) {
            int n = st->in.cu[b + 1] - st->in.cu[b];
            st->pan_off[b + 1] = st->pan_off[b] + panels_of(n);
            nitems += (long)s->heads * ((n + FLASH_BR - 1) / FLASH_BR);
        }
    }
    const size_t d = (size_t)s->head_dim, scratch = flash_scratch_floats(s->head_dim);
    st->items = malloc((size_t)(nitems > 0 ? nitems : 1) * sizeof *st->items);
    st->kpan = st->pan_off ? attention_alloc((size_t)s->kv_heads * (st->pan_off[s->batch] + 1) * d * FLASH_KP *
                                             sizeof(float))
                           : NULL;
    const size_t vfloats = (size_t)s->kv_heads * (size_t)st->in.total * d;
    st->vhead = attention_alloc((vfloats + ATTENTION_INPUT_PAD) * sizeof(float));
    st->scratch_mem = attention_alloc((size_t)st->nthreads * scratch * sizeof(float));
    st->scratch = calloc((size_t)st->nthreads, sizeof *st->scratch);
    st->thread_work = calloc((size_t)st->nthreads * 8, sizeof *st->thread_work);
    if (!st->pan_off || !st->items || !st->kpan || !st->vhead || !st->scratch_mem || !st->scratch ||
        !st->thread_work) {
        snprintf(err, errlen, "attention.varlen@cpu.flash: out of memory for packed K, %ld work items and scratch",
                 nitems);
        varlen_cpu_teardown(c);
        return KB_ERROR;
    }
    memset(st->vhead + vfloats, 0, ATTENTION_INPUT_PAD * sizeof(float)); /* pv may read past the last row */
    for (int t = 0; t < st->nthreads; t++)
        flash_scratch_bind(&st->scratch[t], st->scratch_mem + (size_t)t * scratch, s->head_dim);
    for (int b = 0; b < s->batch; b++) {
        const int n = st->in.cu[b + 1] - st->in.cu[b];
        for (int h = 0; h < s->heads; h++)
            for (int qb = 0; qb * FLASH_BR < n; qb++) {
                st->items[st->nitems++] = (struct varlen_item){ b, h, qb, block_cost(s, n, qb) };
            }
    }
    qsort(st->items, (size_t)st->nitems, sizeof *st->items, by_cost_desc);
    return KB_OK;
}

/* Query block qb of head h of sequence b. */
static void varlen_block(const struct varlen_cpu *st, const struct kb_shape *s, int b, int h, int qb,
                         struct flash_scratch *w)
{
    const int d = s->head_dim, n = st->in.cu[b + 1] - st->in.cu[b], q0 = qb * FLASH_BR;
    const int kvh = h / (s->heads / s->kv_heads);
    const size_t ld = (size_t)s->heads * d; /* Q and O: token-major rows */
    const size_t qat = ((size_t)(st->in.cu[b] + q0) * s->heads + h) * d;
    const float *kpan = st->kpan + ((size_t)kvh * st->pan_off[s->batch] + st->pan_off[b]) * d * FLASH_KP;
    const float *v = st->vhead + ((size_t)kvh * st->in.total + st->in.cu[b]) * d;
    flash_cpu_block(st->isa, st->in.q + qat, ld, n - q0 < FLASH_BR ? n - q0 : FLASH_BR, q0, kpan, v, n, d, s->causal,
                    st->in.o + qat, ld, w);
}

static int varlen_cpu_run(struct kb_case *c)
{
    struct varlen_cpu *st = c->state;
    const struct kb_shape *s = &c->shape;
    const int d = s->head_dim;
    const long seq_heads = (long)s->kv_heads * s->batch;
#pragma omp parallel num_threads(st->nthreads)
    {
        const int tid = attention_thread();
        struct flash_scratch *w = &st->scratch[tid];
        double work = 0;
        /* K of each (KV head, sequence) into its panels, V into its head-major copy */
        const size_t ldkv = (size_t)s->kv_heads * d;
#pragma omp for schedule(dynamic, 1)
        for (long i = 0; i < seq_heads; i++) {
            const int kvh = (int)(i / s->batch), b = (int)(i % s->batch), n = st->in.cu[b + 1] - st->in.cu[b];
            const size_t first = (size_t)st->in.cu[b] * ldkv + (size_t)kvh * d;
            float *dst = st->kpan + ((size_t)kvh * st->pan_off[s->batch] + st->pan_off[b]) * d * FLASH_KP;
            for (size_t pn = 0; pn < st->pan_off[b + 1] - st->pan_off[b]; pn++)
                flash_pack_k_panel(st->in.k + first, ldkv, n, d, pn, dst + pn * d * FLASH_KP);
            float *vh = st->vhead + ((size_t)kvh * st->in.total + st->in.cu[b]) * d;
            varlen_rows_gather(vh, st->in.v + first, ldkv, n, d);
        }
        /* (the loop's barrier: every panel is packed before any block reads it) */
        if (st->by_sequence) {
#pragma omp for schedule(dynamic, 1)
            for (int b = 0; b < s->batch; b++) {
                const int n = st->in.cu[b + 1] - st->in.cu[b];
                for (int h = 0; h < s->heads; h++)
                    for (int qb = 0; qb * FLASH_BR < n; qb++) {
                        varlen_block(st, s, b, h, qb, w);
                        work += block_cost(s, n, qb);
                    }
            }
        } else {
#pragma omp for schedule(dynamic, 1)
            for (long i = 0; i < st->nitems; i++) {
                varlen_block(st, s, st->items[i].b, st->items[i].h, st->items[i].qb, w);
                work += st->items[i].cost;
            }
        }
        st->thread_work[(size_t)tid * 8] = work;
    }
    return KB_OK;
}

/* How evenly the last run spread the work (query rows times keys) over the threads: the
 * busiest thread's share against the mean, 1 when even; the run takes about this times the
 * time a perfect split would. */
static int varlen_cpu_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    const struct varlen_cpu *st = c->state;
    if (!st || max < 1)
        return 0;
    double sum = 0, most = 0;
    for (int t = 0; t < st->nthreads; t++) {
        double w = st->thread_work[(size_t)t * 8];
        sum += w;
        most = w > most ? w : most;
    }
    if (sum <= 0)
        return 0;
    snprintf(out[0].name, sizeof out[0].name, "varlen.work_max_over_mean");
    out[0].value = most / (sum / st->nthreads);
    snprintf(out[0].unit, sizeof out[0].unit, "ratio");
    return 1;
}

const struct kb_kernel kb_attention_varlen_cpu = {
    .name = "attention.varlen",
    .impl = "cpu.flash",
    .description = "packed ragged batch on attention.flash@cpu's tiles: query blocks of every (sequence, head) "
                   "taken heaviest first, float32 (AVX-512/AVX2/scalar chosen at run time)",
    .op = &kb_op_attention_varlen,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .footprint = varlen_cpu_footprint,
    .setup = varlen_cpu_setup,
    .run = varlen_cpu_run,
    .teardown = varlen_cpu_teardown,
    .stats = varlen_cpu_stats,
};
