/* varlen_linear_cpu.c - attention.linear_varlen@cpu: feature-map linear attention over a packed
 * ragged batch (varlen_ops.h) on attention.linear@cpu's per-head passes (linear_cpu.h),
 * float32: each (sequence, head) is a head of the padded kernel with its own offset and length
 * and a state that starts at zero. The inputs are token-major ([T, H, d]); the passes read and
 * write the head's rows in place through their row strides (H·d, H_kv·d): copying them into
 * contiguous rows first cost as much time as the products at d = 128. The work of a (sequence, head) grows linearly with
 * its length, so the items are taken longest first, dynamically (a long-tail mix's long
 * sequences start early instead of last). */
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
    struct linear_item *order; /* [B·H] (sequence, head) items, longest sequence first */
    float *ones;         /* [chunk + 1] the decay table without decay */
    int nthreads;
    size_t scratch_floats; /* the passes' scratch */
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
    return (double)s->batch * s->heads * sizeof(struct linear_item) +
           4.0 * (chunk + 1.0 + (double)linear_cpu_scratch_floats(chunk, (size_t)s->head_dim));
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
    const size_t items = (size_t)s->batch * s->heads;
    st->order = malloc(items * sizeof *st->order);
    st->ones = malloc(((size_t)st->chunk + 1) * sizeof *st->ones);
    st->scratch_mem = attention_alloc((size_t)st->nthreads * st->scratch_floats * sizeof(float));
    if (!st->order || !st->ones || !st->scratch_mem) {
        snprintf(err, errlen, "attention.linear_varlen@cpu: out of memory for %d threads' scratch", st->nthreads);
        teardown(c);
        return KB_ERROR;
    }
    for (int m = 0; m <= st->chunk; m++)
        st->ones[m] = 1.0f;
    for (size_t i = 0; i < items; i++) {
        const int b = (int)(i % (size_t)s->batch);
        st->order[i] = (struct linear_item){ b, (int)(i / (size_t)s->batch), st->in.cu[b + 1] - st->in.cu[b] };
    }
    qsort(st->order, items, sizeof *st->order, longer_first);
    return KB_OK;
}

static int run(struct kb_case *c)
{
    struct linear_varlen_cpu *st = c->state;
    const struct kb_shape *s = &c->shape;
    const int d = s->head_dim;
    const long items = (long)s->batch * s->heads;
#pragma omp parallel for num_threads(st->nthreads) schedule(dynamic, 1)
    for (long i = 0; i < items; i++) {
        const int b = st->order[i].b, h = st->order[i].h, n = st->order[i].n;
        const int kvh = h / (s->heads / s->kv_heads);
        float *mem = st->scratch_mem + (size_t)attention_thread() * st->scratch_floats;
        struct linear_scratch w = linear_cpu_scratch_bind(mem, (size_t)st->chunk, (size_t)d);
        /* the sequence's rows of this head, in place in the packed tensors */
        const size_t ldq = (size_t)s->heads * d, ldkv = (size_t)s->kv_heads * d;
        const float *q = st->in.q + (size_t)st->in.cu[b] * ldq + (size_t)h * d;
        const float *k = st->in.k + (size_t)st->in.cu[b] * ldkv + (size_t)kvh * d;
        const float *v = st->in.v + (size_t)st->in.cu[b] * ldkv + (size_t)kvh * d;
        float *o = st->in.o + (size_t)st->in.cu[b] * ldq + (size_t)h * d;
        struct head_view hv = { .q = q, .k = k, .v = v, .dec = st->ones, .feature = s->feature, .d = d,
                                .chunk = st->chunk, .ldq = (int)ldq, .ldkv = (int)ldkv, .ldo = (int)ldq };
        if (s->causal)
            linear_cpu_causal_head(st->isa, &hv, n, 0, o, &w);
        else
            linear_cpu_noncausal_head(st->isa, &hv, n, o, &w);
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
