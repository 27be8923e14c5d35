/* reference.c - attention.reference@cpu.f64: the float64 definition of softmax attention.
 *
 * Inputs are the family's float32 Q, K, V (so every kernel is compared on identical inputs);
 * every product, sum and exponential is computed in float64, and the output O [B,H,N,d] is
 * stored in float64. One row is attention_reference_row: all scores of the row, their maximum,
 * the sum of exponentials, then the weighted sum of V. Its own verify recomputes sampled rows
 * with a differently structured formulation (one pass, online softmax, long double), so the
 * definition every other kernel is checked against is itself checked by a second method. */
#include "kernels/attention/attention.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/verify.h"

struct reference_state {
    struct attention_inputs in;
    double *o;
};

static size_t out_elems(const struct kb_shape *s)
{
    return (size_t)s->batch * s->heads * s->seq_len * s->head_dim;
}

static double reference_flops(const struct kb_shape *s)
{
    return attention_flops(s);
}

/* Its own traffic is float32 inputs and a float64 output, but the byte count is the
 * family's compulsory traffic in the case's dtype, so its roofline is comparable. */
static double reference_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    return attention_min_bytes(s, t);
}

static double reference_footprint(const struct kb_shape *shape, enum kb_dtype t)
{
    (void)t;
    struct kb_shape s = *shape;
    if (s.kv_heads == 0)
        s.kv_heads = s.heads;
    return attention_inputs_bytes(&s) + (double)(((out_elems(&s) * sizeof(double)) + 63) & ~(size_t)63);
}

static int reference_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = attention_check_shape(&c->shape, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (c->dtype != KB_DTYPE_F32) {
        snprintf(err, errlen, "attention.reference: dtype %s not supported (its inputs are f32)",
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    struct reference_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.reference: out of memory");
        return KB_ERROR;
    }
    if (attention_inputs_new(&st->in, &c->shape, c->seed, err, errlen) != KB_OK) {
        free(st);
        return KB_ERROR;
    }
    st->o = attention_alloc(out_elems(&c->shape) * sizeof(double));
    if (!st->o) {
        snprintf(err, errlen, "attention.reference: out of memory for O (%zu doubles)", out_elems(&c->shape));
        attention_inputs_free(&st->in);
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
    /* Causal rows cost in proportion to their index: round-robin rows keep threads even. */
#pragma omp parallel for num_threads(c->threads) schedule(static, 1)
    for (long r = 0; r < rows; r++) {
        int i = (int)(r % n);
        int h = (int)((r / n) % s->heads);
        int b = (int)(r / ((long)n * s->heads));
        attention_reference_row(s, st->in.q, st->in.k, st->in.v, b, h, i, st->o + (size_t)r * d);
    }
    return KB_OK;
}

/* One pass over the keys with a running maximum, rescaling the running sum and output when
 * the maximum grows, accumulated in long double: nothing shared with the two-pass row. */
static void online_row(const struct kb_shape *s, const struct attention_inputs *in, long r,
                       long double *acc)
{
    const int n = s->seq_len, d = s->head_dim, group = s->heads / s->kv_heads;
    const int i = (int)(r % n), h = (int)((r / n) % s->heads), b = (int)(r / ((long)n * s->heads));
    const float *qi = in->q + (size_t)r * d;
    const size_t kv_off = ((size_t)b * s->kv_heads + h / group) * n * d;
    const long double inv_sqrt_d = 1.0L / sqrtl((long double)d);
    const int keys = s->causal ? i + 1 : n;
    long double m = -INFINITY, l = 0;
    for (int c = 0; c < d; c++)
        acc[c] = 0;
    for (int j = 0; j < keys; j++) {
        const float *kj = in->k + kv_off + (size_t)j * d, *vj = in->v + kv_off + (size_t)j * d;
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

static int reference_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    struct reference_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const long total = (long)s->batch * s->heads * s->seq_len;
    const int d = s->head_dim;
    long *rows = malloc(ATTENTION_VERIFY_ROWS * sizeof *rows);
    long double *check = malloc((size_t)ATTENTION_VERIFY_ROWS * d * sizeof *check);
    if (!rows || !check) {
        free(rows);
        free(check);
        memset(acc, 0, sizeof *acc);
        acc->rel_l2_err = INFINITY;
        acc->rows_total = total;
        return KB_ERROR;
    }
    long nrows = verify_sample_rows(total, ATTENTION_VERIFY_ROWS, c->seed, rows);
#pragma omp parallel for num_threads(c->threads) schedule(dynamic, 1)
    for (long t = 0; t < nrows; t++)
        online_row(s, &st->in, rows[t], check + (size_t)t * d);

    struct verify_acc va;
    verify_begin(&va);
    for (long t = 0; t < nrows; t++)
        for (int j = 0; j < d; j++)
            verify_add(&va, st->o[(size_t)rows[t] * d + j], (double)check[(size_t)t * d + j]);
    verify_finish(&va, verify_default_tolerance(KB_DTYPE_F64), acc);
    acc->rows_checked = nrows;
    acc->rows_total = total;
    free(rows);
    free(check);
    return KB_OK;
}

static int reference_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct reference_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    int n = attention_input_tensors(s, &st->in, out, max);
    if (n < max) {
        out[n++] = (struct kb_tensor){ .name = "o", .dtype = KB_DTYPE_F64, .ndim = 4,
                                       .dims = { s->batch, s->heads, s->seq_len, s->head_dim },
                                       .data = st->o, .is_output = 1 };
    }
    return n;
}

static void reference_teardown(struct kb_case *c)
{
    struct reference_state *st = c->state;
    if (!st)
        return;
    attention_inputs_free(&st->in);
    free(st->o);
    free(st);
    c->state = NULL;
}

const struct kb_kernel kb_attention_reference = {
    .name = "attention.reference",
    .impl = "cpu.f64",
    .description = "softmax attention in float64, two passes per row (float32 inputs, float64 output)",
    .family = KB_FAMILY_ATTENTION,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .is_reference = 1,
    .flops = reference_flops,
    .bytes = reference_bytes,
    .footprint = reference_footprint,
    .setup = reference_setup,
    .run = reference_run,
    .verify = reference_verify,
    .tensors = reference_tensors,
    .teardown = reference_teardown,
};
