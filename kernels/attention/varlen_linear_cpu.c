/* varlen_linear_cpu.c - attention.linear_varlen@cpu: feature-map linear attention over a packed
 * ragged batch (varlen_ops.h) on attention.linear@cpu's per-head passes (linear_cpu.h),
 * float32: each (sequence, head) is a head of the padded kernel with its own offset and length
 * and a state that starts at zero. The inputs are token-major ([T, H, d]); the passes read and
 * write the head's rows in place through their row strides (H·d, H_kv·d): copying them into
 * contiguous rows first cost as much time as the products at d = 128. The work of a (sequence, head) grows linearly with
 * its length, so the items are taken longest first, dynamically (a long-tail mix's long
 * sequences start early instead of last).
 *
 * Where there are sequences enough to share out (one thread, or two sequences or more a
 * thread), an item is a whole sequence whose heads go chunk by chunk together, each with its own
 * state: a chunk's rows of every head, which share the packed tensors' pages, are then read
 * while they are in the cache (head by head, the hardware prefetcher's lines of the other heads
 * had left the cache by the time those heads came); else an item is one (sequence, head).
 *
 * The outputs go out with streaming stores (head_view.stream_out): nothing here reads them
 * again, and a packed batch worth timing is larger than the caches, so an ordinary store would
 * first read each line from memory. */
#include "kernels/attention/varlen.h"
#include "kernels/attention/varlen_ops.h"
#include "kernels/attention/attention.h"
#include "kernels/attention/linear.h"
#include "kernels/attention/linear_cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct linear_varlen_cpu {
    struct varlen_operands in; /* the case's Q, K, V, O, cu_seqlens and T */
    int chunk;
    struct linear_item *order; /* [items] (sequence, head) items, or sequences (h = -1: all its heads),
                                  longest sequence first */
    long items;
    float *ones;         /* [chunk + 1] the decay table without decay */
    int nthreads;
    size_t scratch_floats; /* the passes' scratch, one head's */
    int heads_per_item;    /* H (an item is a sequence) or 1 */
    float *scratch_mem;
    const struct linear_isa *isa;
};

/* A (sequence, head) item and its sequence's length, the sort key. */
struct linear_item {
    int b, h, n;
};

/* longest first; ties in packed order, so the order is the same on every run */
static int longer_first(const void *a, const void *b)
{
    const struct linear_item *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    if (x->b != y->b)
        return x->b < y->b ? -1 : 1;
    return x->h < y->h ? -1 : x->h > y->h;
}

static void teardown(struct kb_case *c)
{
    struct linear_varlen_cpu *st = c->state;
    if (!st)
        return;
    free(st->order);
    free(st->ones);
    free(st->scratch_mem);
    free(st);
    c->state = NULL;
}

static double footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    size_t chunk = (size_t)(s->chunk > 0 ? s->chunk : 1);
    /* one thread's scratch: a scratch per head when the heads go together */
    return (double)s->batch * s->heads * sizeof(struct linear_item) +
           4.0 * (chunk + 1.0 + (double)s->heads * (double)linear_cpu_scratch_floats(chunk, (size_t)s->head_dim));
}

static int setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    if (s->chunk < 1) {
        snprintf(err, errlen, "attention.linear_varlen@cpu: chunk = %d, must be at least 1", s->chunk);
        return KB_UNSUPPORTED;
    }
    struct linear_varlen_cpu *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.linear_varlen@cpu: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->in = varlen_operands_of(c);
    st->chunk = s->chunk < s->seq_len ? s->chunk : s->seq_len;
    st->isa = linear_isa_best();
    st->nthreads = c->threads > 0 ? c->threads : 1;
    st->scratch_floats = linear_cpu_scratch_floats((size_t)st->chunk, (size_t)s->head_dim);
    st->heads_per_item = st->nthreads == 1 || s->batch >= 2 * st->nthreads ? s->heads : 1;
    const size_t items = (size_t)s->batch * (size_t)(s->heads / st->heads_per_item);
    st->items = (long)items;
    st->order = malloc(items * sizeof *st->order);
    st->ones = malloc(((size_t)st->chunk + 1) * sizeof *st->ones);
    st->scratch_mem =
        attention_alloc((size_t)st->nthreads * (size_t)st->heads_per_item * st->scratch_floats * sizeof(float));
    if (!st->order || !st->ones || !st->scratch_mem) {
        snprintf(err, errlen, "attention.linear_varlen@cpu: out of memory for %d threads' scratch", st->nthreads);
        teardown(c);
        return KB_ERROR;
    }
    for (int m = 0; m <= st->chunk; m++)
        st->ones[m] = 1.0f;
    for (size_t i = 0; i < items; i++) {
        const int b = (int)(i % (size_t)s->batch), h = st->heads_per_item > 1 ? -1 : (int)(i / (size_t)s->batch);
        st->order[i] = (struct linear_item){ b, h, st->in.cu[b + 1] - st->in.cu[b] };
    }
    qsort(st->order, items, sizeof *st->order, longer_first);
    return KB_OK;
}

/* Head h of sequence b: its rows in place in the packed tensors. */
static struct head_view head_of(const struct linear_varlen_cpu *st, const struct kb_shape *s, int b, int h, float **o)
{
    const int d = s->head_dim, kvh = h / (s->heads / s->kv_heads);
    const size_t ldq = (size_t)s->heads * d, ldkv = (size_t)s->kv_heads * d;
    *o = st->in.o + (size_t)st->in.cu[b] * ldq + (size_t)h * d;
    return (struct head_view){ .q = st->in.q + (size_t)st->in.cu[b] * ldq + (size_t)h * d,
                               .k = st->in.k + (size_t)st->in.cu[b] * ldkv + (size_t)kvh * d,
                               .v = st->in.v + (size_t)st->in.cu[b] * ldkv + (size_t)kvh * d,
                               .dec = st->ones, .feature = s->feature, .d = d, .chunk = st->chunk,
                               .ldq = (int)ldq, .ldkv = (int)ldkv, .ldo = (int)ldq, .stream_out = 1 };
}

static int run(struct kb_case *c)
{
    struct linear_varlen_cpu *st = c->state;
    const struct kb_shape *s = &c->shape;
    const int d = s->head_dim;
#pragma omp parallel for num_threads(st->nthreads) schedule(dynamic, 1)
    for (long i = 0; i < st->items; i++) {
        const int b = st->order[i].b, n = st->order[i].n;
        const int h0 = st->order[i].h < 0 ? 0 : st->order[i].h, nh = st->order[i].h < 0 ? s->heads : 1;
        float *mem = st->scratch_mem + (size_t)attention_thread() * (size_t)st->heads_per_item * st->scratch_floats;
        if (!s->causal) {
            struct linear_scratch w = linear_cpu_scratch_bind(mem, (size_t)st->chunk, (size_t)d);
            for (int h = h0; h < h0 + nh; h++) {
                float *o;
                struct head_view hv = head_of(st, s, b, h, &o);
                linear_cpu_noncausal_head(st->isa, &hv, n, o, &w);
            }
            continue;
        }
        /* the heads chunk by chunk, each with its own scratch and state */
        for (int h = h0; h < h0 + nh; h++) {
            float *o;
            const struct head_view hv = head_of(st, s, b, h, &o);
            const struct linear_scratch w =
                linear_cpu_scratch_bind(mem + (size_t)(h - h0) * st->scratch_floats, (size_t)st->chunk, (size_t)d);
            linear_cpu_causal_begin(&hv, 0, 1, &w);
        }
        /* each chunk fetches the rows of the one that runs after it (the next head's at the same
         * t0, or the first head's next chunk), so they arrive one chunk ahead, not one per head */
        for (int t0 = 0; t0 < n; t0 += st->chunk)
            for (int h = h0; h < h0 + nh; h++) {
                float *o, *no;
                const struct head_view hv = head_of(st, s, b, h, &o);
                const int last = h + 1 == h0 + nh;
                int t1 = last ? t0 + st->chunk : t0;
                struct head_view nx = head_of(st, s, b, last ? h0 : h + 1, &no);
                int cn = n - t1 < st->chunk ? (n - t1 > 0 ? n - t1 : 0) : st->chunk;
                if (cn == 0 && st->nthreads == 1 && i + 1 < st->items) {
                    /* the sequence's last chunk: one thread takes the items in order, so the
                     * next item's first chunk is the one that runs next */
                    const struct linear_item *ni = &st->order[i + 1];
                    nx = head_of(st, s, ni->b, ni->h < 0 ? 0 : ni->h, &no);
                    t1 = 0;
                    cn = ni->n < st->chunk ? ni->n : st->chunk;
                }
                const struct linear_scratch w = linear_cpu_scratch_bind(mem + (size_t)(h - h0) * st->scratch_floats,
                                                                        (size_t)st->chunk, (size_t)d);
                linear_cpu_causal_chunk_then(st->isa, &hv, n, t0, 0, o, &w, &nx, t1, cn);
            }
    }
    return KB_OK;
}

const struct kb_kernel kb_attention_linear_varlen_cpu = {
    .name = "attention.linear_varlen",
    .impl = "cpu",
    .description = "packed ragged batch on attention.linear@cpu's chunked passes, a fresh state per sequence, "
                   "longest sequences first, float32 (AVX-512/AVX2/scalar chosen at run time)",
    .op = &kb_op_attention_linear_varlen,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .footprint = footprint,
    .setup = setup,
    .run = run,
    .teardown = teardown,
};
