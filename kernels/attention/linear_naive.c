/* linear_naive.c - attention.linear@cpu.naive: linear attention in its masked-quadratic form,
 * the baseline Lightning Attention (Scaling TransNormer) is measured against:
 *     A = (φ(Q)·φ(K)ᵀ) ⊙ D,   D_is = λ^(i−s)[s ≤ i] (causal) or 1,   O = A·V / A·1
 * The whole N×N matrix A of a head is materialised (the "left product" a causal linear
 * attention needs when it avoids a cumulative sum), so time and memory grow as N². Same
 * definition, inputs, SIMD products (linear_isa.h) and threads over (batch, head) as
 * attention.linear@cpu, so "chunked vs naive" compares the algorithms, not the code quality.
 * No chunk axis: it has no chunks. */
#include "kernels/attention/attention.h"
#include "kernels/attention/linear.h"
#include "kernels/attention/linear_isa.h"
#include "kernels/attention/linear_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

struct naive_state {
    struct attention_inputs in; /* the case's Q, K, V (not owned) */
    float *o;           /* the case's output [B,H,N,d] (not owned) */
    float *decay_pow;   /* [H][N]: λ_h^m */
    int nthreads;
    size_t scratch_floats;
    float *scratch_mem; /* per thread: φ(Q) [N][d], φ(K)ᵀ [d][N], A [N][N], den [N] */
    const struct linear_isa *isa;
};

static size_t scratch_floats_of(size_t n, size_t d)
{
    return 2 * attention_round16(n * d) + attention_round16(n * n) + attention_round16(n);
}

/* The workspace beyond the operands: the decay table and the threads' N×N scratch. */
static double naive_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    double n = s->seq_len, d = s->head_dim, h = s->heads;
    /* one thread's scratch (the N×N matrix dominates); each further thread adds as much */
    return 4.0 * (h * n + (double)scratch_floats_of((size_t)n, (size_t)d));
}

static void naive_teardown(struct kb_case *c)
{
    struct naive_state *st = c->state;
    if (!st)
        return;
    free(st->decay_pow);
    free(st->scratch_mem);
    free(st);
    c->state = NULL;
}

static int naive_setup(struct kb_case *c, char *err, size_t errlen)
{
    /* the operation checked the shape; decode is not an axis of this kernel (it stays 0) */
    if (c->shape.decode) {
        snprintf(err, errlen, "attention.linear@cpu.naive: no decode step (attention.linear@cpu has one)");
        return KB_UNSUPPORTED;
    }
    if (c->dtype != KB_DTYPE_F32) {
        snprintf(err, errlen, "attention.linear@cpu.naive: dtype %s not supported (f32 only)",
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    const struct kb_shape *s = &c->shape;
    const size_t n = (size_t)s->seq_len, d = (size_t)s->head_dim;
    if ((double)n * n > (double)(SIZE_MAX / 8)) {
        snprintf(err, errlen, "attention.linear@cpu.naive: an N×N matrix of N = %zu does not fit the address space", n);
        return KB_UNSUPPORTED;
    }
    struct naive_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.linear@cpu.naive: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->nthreads = c->threads > 0 ? c->threads : 1;
    st->isa = linear_isa_best();
    st->scratch_floats = scratch_floats_of(n, d);
    /* the kernel only reads Q, K, V; attention_inputs is the family's (non-const) view */
    st->in = (struct attention_inputs){ .q = (float *)kb_input(c, KB_LIN_Q), .k = (float *)kb_input(c, KB_LIN_K),
                                        .v = (float *)kb_input(c, KB_LIN_V) };
    st->o = kb_output(c, KB_LIN_O);
    st->decay_pow = attention_alloc((size_t)s->heads * n * sizeof(float));
    st->scratch_mem = attention_alloc((size_t)st->nthreads * st->scratch_floats * sizeof(float));
    if (!st->decay_pow || !st->scratch_mem) {
        snprintf(err, errlen, "attention.linear@cpu.naive: out of memory (%d threads × %.0f bytes of N×N scratch)",
                 st->nthreads, 4.0 * (double)st->scratch_floats);
        naive_teardown(c);
        return KB_ERROR;
    }
    for (int h = 0; h < s->heads; h++) {
        double lambda = s->decay ? linear_decay_lambda(h, s->heads) : 1.0;
        for (size_t m = 0; m < n; m++)
            st->decay_pow[(size_t)h * n + m] = (float)pow(lambda, (double)m);
    }
    return KB_OK;
}

int linear_naive_use_path(struct kb_case *c, const char *name)
{
    const struct linear_isa *isa = linear_isa_by_name(name);
    struct naive_state *st = c->state;
    if (!isa || !st)
        return -1;
    st->isa = isa;
    return 0;
}

static void naive_head(const struct naive_state *st, const struct kb_shape *s, int b, int h, float *scratch)
{
    const int n = s->seq_len, d = s->head_dim, kvh = h / (s->heads / s->kv_heads);
    const float *q = st->in.q + ((size_t)b * s->heads + h) * n * d;
    const float *k = st->in.k + ((size_t)b * s->kv_heads + kvh) * n * d;
    const float *v = st->in.v + ((size_t)b * s->kv_heads + kvh) * n * d;
    const float *dec = st->decay_pow + (size_t)h * n;
    float *o = st->o + ((size_t)b * s->heads + h) * n * d;
    float *fq = scratch, *fkt = fq + attention_round16((size_t)n * d), *a = fkt + attention_round16((size_t)n * d);
    float *den = a + attention_round16((size_t)n * n);

    linear_feature_rows(st->isa, s->feature, k, fq, (size_t)n * d); /* φ(K), then transposed */
    for (int j = 0; j < n; j++)
        for (int p = 0; p < d; p++)
            fkt[(size_t)p * n + j] = fq[(size_t)j * d + p];
    linear_feature_rows(st->isa, s->feature, q, fq, (size_t)n * d);
    memset(a, 0, (size_t)n * n * sizeof(float));
    st->isa->gemm_acc(n, n, d, fq, d, fkt, n, a, n);
    for (int i = 0; i < n; i++) {
        float *ai = a + (size_t)i * n, sum = 0;
        const int last = s->causal ? i : n - 1;
        for (int j = 0; j <= last; j++) {
            if (s->decay)
                ai[j] *= dec[i - j];
            sum += ai[j];
        }
        for (int j = last + 1; j < n; j++)
            ai[j] = 0;
        den[i] = sum;
    }
    memset(o, 0, (size_t)n * d * sizeof(float));
    st->isa->gemm_acc(n, d, n, a, n, v, d, o, d);
    for (int i = 0; i < n; i++) {
        const float inv = den[i] > 0 ? 1.0f / den[i] : 0.0f;
        for (int p = 0; p < d; p++)
            o[(size_t)i * d + p] *= inv;
    }
}

static int naive_run(struct kb_case *c)
{
    struct naive_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const long heads = (long)s->batch * s->heads;
#pragma omp parallel for num_threads(st->nthreads) schedule(static)
    for (long t = 0; t < heads; t++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        naive_head(st, s, (int)(t / s->heads), (int)(t % s->heads),
                   st->scratch_mem + (size_t)tid * st->scratch_floats);
    }
    return KB_OK;
}

const struct kb_kernel kb_attention_linear_naive = {
    .name = "attention.linear",
    .impl = "cpu.naive",
    .description = "linear attention, masked-quadratic form ((φ(Q)φ(K)ᵀ)⊙D)V with the N×N matrix materialised: the naive baseline",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .is_reference = 0,
    .axes = KB_AXES_ATTENTION | KB_AXIS_BIT(KB_AXIS_FEATURE) | KB_AXIS_BIT(KB_AXIS_DECAY),
    .footprint = naive_footprint,
    .setup = naive_setup,
    .run = naive_run,
    .teardown = naive_teardown,
    .op = &kb_op_attention_linear, /* credited the operation's FLOPs, not the N×N form's work */
};
