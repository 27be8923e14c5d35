/* reference.c - attention.reference@cpu.f64: the float64 definition of softmax attention.
 *
 * An implementation of attention.softmax (softmax_ops.h): its inputs are the operation's
 * float32 Q, K, V; every product, sum and exponential is computed in float64, and the output
 * [B,H,N,d] is kept in float64 (collect rounds it into the operation's float32 O). One row is
 * attention_reference_row: all scores of the row, their maximum, the sum of exponentials, then
 * the weighted sum of V. Its check recomputes sampled rows with a differently structured
 * formulation (one pass, online softmax, long double) against the float64 output, so the
 * definition every other kernel is checked against is itself checked by a second method. */
#include "kernels/attention/attention.h"
#include "kernels/attention/softmax_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/verify.h"

struct reference_state {
    double *o; /* [B,H,N,d] float64: collect rounds it into the operation's float32 O */
};

static size_t out_elems(const struct kb_shape *s)
{
    return (size_t)s->batch * s->heads * s->seq_len * s->head_dim;
}

/* Its own float64 output beyond the operands. */
static double reference_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return (double)(((out_elems(s) * sizeof(double)) + 63) & ~(size_t)63);
}

static int reference_setup(struct kb_case *c, char *err, size_t errlen)
{
    if (c->shape.decode) {
        snprintf(err, errlen, "attention.reference: decode not supported");
        return KB_UNSUPPORTED;
    }
    struct reference_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.reference: out of memory");
        return KB_ERROR;
    }
    st->o = attention_alloc(out_elems(&c->shape) * sizeof(double));
    if (!st->o) {
        snprintf(err, errlen, "attention.reference: out of memory for O (%zu doubles)", out_elems(&c->shape));
        free(st);
        return KB_ERROR;
    }
    c->state = st;
    return KB_OK;
}

static int reference_run(struct kb_case *c)
{
    struct reference_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const long rows = (long)s->batch * s->heads * s->seq_len;
    const int n = s->seq_len, d = s->head_dim;
    const float *q = kb_input(c, KB_ATTN_Q), *k = kb_input(c, KB_ATTN_K), *v = kb_input(c, KB_ATTN_V);
    /* Causal rows cost in proportion to their index: round-robin rows keep threads even. */
#pragma omp parallel for num_threads(c->threads) schedule(static, 1)
    for (long r = 0; r < rows; r++) {
        int i = (int)(r % n);
        int h = (int)((r / n) % s->heads);
        int b = (int)(r / ((long)n * s->heads));
        attention_reference_row(s, q, k, v, b, h, i, st->o + (size_t)r * d);
    }
    return KB_OK;
}

/* One pass over the keys with a running maximum, rescaling the running sum and output when
 * the maximum grows, accumulated in long double: nothing shared with the two-pass row. */
static void online_row(const struct kb_shape *s, const float *q, const float *k, const float *v, long r,
                       long double *acc)
{
    const int n = s->seq_len, d = s->head_dim, group = s->heads / s->kv_heads;
    const int i = (int)(r % n), h = (int)((r / n) % s->heads), b = (int)(r / ((long)n * s->heads));
    const float *qi = q + (size_t)r * d;
    const size_t kv_off = ((size_t)b * s->kv_heads + h / group) * n * d;
    const long double inv_sqrt_d = 1.0L / sqrtl((long double)d);
    const int keys = s->causal ? i + 1 : n;
    long double m = -INFINITY, l = 0;
    for (int c = 0; c < d; c++)
        acc[c] = 0;
    for (int j = 0; j < keys; j++) {
        const float *kj = k + kv_off + (size_t)j * d, *vj = v + kv_off + (size_t)j * d;
        long double dot = 0;
        for (int c = d - 1; c >= 0; c--)
            dot += (long double)qi[c] * kj[c];
        long double sj = dot * inv_sqrt_d;
        if (sj > m) {
            long double shrink = expl(m - sj);
            l *= shrink;
            for (int c = 0; c < d; c++)
                acc[c] *= shrink;
            m = sj;
        }
        long double p = expl(sj - m);
        l += p;
        for (int c = 0; c < d; c++)
            acc[c] += p * vj[c];
    }
    for (int c = 0; c < d; c++)
        acc[c] /= l;
}

/* The operation's O: the float64 output rounded to float32 (outside the timed region). */
static int reference_collect(struct kb_case *c)
{
    const struct reference_state *st = c->state;
    float *o = kb_output(c, KB_ATTN_O);
    const size_t n = out_elems(&c->shape);
    for (size_t i = 0; i < n; i++)
        o[i] = (float)st->o[i];
    return KB_OK;
}

/* The second method: the sampled rows of the float64 output against the one-pass long double
 * formulation, within float64's bound. It only withdraws the operation's verdict (which saw
 * the output rounded to float32); the errors stored stay the operation's. */
static int reference_check(const struct kb_case *c, struct kb_accuracy *acc)
{
    const struct reference_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const float *q = kb_input(c, KB_ATTN_Q), *k = kb_input(c, KB_ATTN_K), *v = kb_input(c, KB_ATTN_V);
    const long total = (long)s->batch * s->heads * s->seq_len;
    const int d = s->head_dim;
    long *rows = malloc(ATTENTION_VERIFY_ROWS * sizeof *rows);
    long double *check = malloc((size_t)ATTENTION_VERIFY_ROWS * d * sizeof *check);
    if (!rows || !check) {
        free(rows);
        free(check);
        acc->passed = 0;
        return KB_ERROR;
    }
    long nrows = verify_sample_rows(total, ATTENTION_VERIFY_ROWS, c->seed, rows);
#pragma omp parallel for num_threads(c->threads > 0 ? c->threads : 1) schedule(dynamic, 1)
    for (long t = 0; t < nrows; t++)
        online_row(s, q, k, v, rows[t], check + (size_t)t * d);

    struct verify_acc va;
    verify_begin(&va);
    for (long t = 0; t < nrows; t++)
        for (int j = 0; j < d; j++)
            verify_add(&va, st->o[(size_t)rows[t] * d + j], (double)check[(size_t)t * d + j]);
    struct kb_accuracy second;
    verify_finish(&va, verify_default_tolerance(KB_DTYPE_F64), &second);
    if (!second.passed)
        acc->passed = 0;
    free(rows);
    free(check);
    return KB_OK;
}

static int reference_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct reference_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    if (max < 1)
        return 0;
    out[0] = (struct kb_tensor){ .name = "o_f64", .dtype = KB_DTYPE_F64, .ndim = 4,
                                 .dims = { s->batch, s->heads, s->seq_len, s->head_dim },
                                 .data = st->o, .is_output = 1 };
    return 1;
}

static void reference_teardown(struct kb_case *c)
{
    struct reference_state *st = c->state;
    if (!st)
        return;
    free(st->o);
    free(st);
    c->state = NULL;
}

const struct kb_kernel kb_attention_reference = {
    .name = "attention.reference",
    .impl = "cpu.f64",
    .description = "softmax attention in float64, two passes per row (float32 inputs, float64 output)",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .is_reference = 1,
    .footprint = reference_footprint,
    .setup = reference_setup,
    .run = reference_run,
    .tensors = reference_tensors,
    .teardown = reference_teardown,
    .axes = KB_AXES_ATTENTION, /* no decode */
    .op = &kb_op_attention_softmax,
    .collect = reference_collect,
    .check = reference_check,
};
