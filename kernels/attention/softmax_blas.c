/* softmax_blas.c - attention.softmax@cpu.blas: unfused softmax attention through CBLAS, the
 * library baseline the fused kernels are measured against. Per (batch, head):
 *   S = Q·Kᵀ/√d      cblas_sgemm, the whole N×N score matrix
 *   P = softmax(S)   row by row (causal: keys after the query are masked before the softmax)
 *   O = P·V          cblas_sgemm
 * Heads run one after another and the library threads each product (openblas_set_num_threads
 * from the case's thread count), so S is N×N floats once — the footprint counts it, and
 * the harness refuses an N whose S does not fit. Causal scores are computed in full by the
 * library (it has no triangular GEMM), so the causal case does as much product work as the
 * non-causal one; its analytic FLOPs count only the useful lower triangle. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "kernels/attention/attention.h"

#ifdef HAVE_CBLAS

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/verify.h"

struct softmax_state {
    struct attention_inputs in;
    float *o; /* [B,H,N,d] */
    float *s; /* [N][N] scores, then probabilities, of the head being computed */
    int threads;
};

static double softmax_flops(const struct kb_shape *s)
{
    return attention_flops(s);
}

/* Compulsory traffic plus the N×N matrix written by the first product, read and written by
 * the softmax and read by the second: the catalogue's "naive adds ≥ 2·B·H·N²·s" at s = 4 (the
 * softmax's in-place pass adds two more). */
static double softmax_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double bh = (double)s->batch * s->heads, n = s->seq_len;
    return attention_min_bytes(s, t) + 4.0 * 4.0 * bh * n * n;
}

static double softmax_footprint(const struct kb_shape *shape, enum kb_dtype t)
{
    (void)t;
    struct kb_shape s = *shape;
    if (s.kv_heads == 0)
        s.kv_heads = s.heads;
    double n = s.seq_len;
    return attention_inputs_bytes(&s) + 4.0 * ((double)s.batch * s.heads * n * s.head_dim + n * n);
}

static void softmax_teardown(struct kb_case *c)
{
    struct softmax_state *st = c->state;
    if (!st)
        return;
    attention_inputs_free(&st->in);
    free(st->o);
    free(st->s);
    free(st);
    c->state = NULL;
}

static int softmax_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = attention_check_shape(&c->shape, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (c->dtype != KB_DTYPE_F32) {
        snprintf(err, errlen, "attention.softmax@cpu.blas: dtype %s not supported (f32 only: cblas_sgemm)",
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    const size_t n = (size_t)c->shape.seq_len;
    if ((double)n * n > (double)(SIZE_MAX / 8) || n > (size_t)INT32_MAX / n) {
        snprintf(err, errlen, "attention.softmax@cpu.blas: an N×N score matrix of N = %zu is beyond BLAS's int sizes", n);
        return KB_UNSUPPORTED;
    }
    struct softmax_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "attention.softmax@cpu.blas: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->threads = c->threads > 0 ? c->threads : 1;
    if (attention_inputs_new(&st->in, &c->shape, c->seed, err, errlen) != KB_OK) {
        softmax_teardown(c);
        return KB_ERROR;
    }
    const struct kb_shape *s = &c->shape;
    st->o = attention_alloc((size_t)s->batch * s->heads * n * s->head_dim * sizeof(float));
    st->s = attention_alloc(n * n * sizeof(float));
    if (!st->o || !st->s) {
        snprintf(err, errlen, "attention.softmax@cpu.blas: out of memory for O and the %zu×%zu score matrix", n, n);
        softmax_teardown(c);
        return KB_ERROR;
    }
#ifdef OPENBLAS_VERSION
    openblas_set_num_threads(st->threads);
#endif
    return KB_OK;
}

/* Row i of the scores: masked past `keys`, exponentiated against its maximum, normalised. */
static void softmax_row(float *row, int n, int keys)
{
    float mx = -INFINITY;
    for (int j = 0; j < keys; j++)
        mx = row[j] > mx ? row[j] : mx;
    float sum = 0;
    for (int j = 0; j < keys; j++) {
        row[j] = expf(row[j] - mx);
        sum += row[j];
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j < keys; j++)
        row[j] *= inv;
    for (int j = keys; j < n; j++)
        row[j] = 0;
}

static int softmax_run(struct kb_case *c)
{
    struct softmax_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    const int n = s->seq_len, d = s->head_dim, group = s->heads / s->kv_heads;
    const float scale = (float)(1.0 / sqrt((double)d));
    for (int b = 0; b < s->batch; b++)
        for (int h = 0; h < s->heads; h++) {
            const size_t qh = (size_t)b * s->heads + h, kh = (size_t)b * s->kv_heads + h / group;
            const float *q = st->in.q + qh * n * d;
            const float *k = st->in.k + kh * n * d, *v = st->in.v + kh * n * d;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, scale, q, d, k, d, 0.0f, st->s, n);
            for (int i = 0; i < n; i++)
                softmax_row(st->s + (size_t)i * n, n, s->causal ? i + 1 : n);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, st->s, n, v, d, 0.0f,
                        st->o + qh * n * d, d);
        }
    return KB_OK;
}

/* Row r of the [B, H, N, d] output: softmax attention in float64. */
static void softmax_reference_row(const void *ctx, const struct kb_shape *s, long r, double *out)
{
    const struct softmax_state *st = ctx;
    const long n = s->seq_len;
    attention_reference_row(s, st->in.q, st->in.k, st->in.v, (int)(r / (n * s->heads)), (int)((r / n) % s->heads),
                            (int)(r % n), out);
}

static int softmax_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    const struct softmax_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    return attention_verify_sampled(s, c->seed, st->o, (long)s->batch * s->heads * s->seq_len, st->threads,
                                    softmax_reference_row, st, verify_default_tolerance(KB_DTYPE_F32), acc);
}

static int softmax_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct softmax_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    int n = attention_input_tensors(s, &st->in, out, max);
    n = attention_output_tensor(s, st->o, out, n, max);
    return n;
}

const struct kb_kernel kb_attention_softmax_blas = {
    .name = "attention.softmax",
    .impl = "cpu.blas",
    .description = "unfused softmax attention: S = QKᵀ/√d and O = PV by cblas_sgemm (OpenBLAS), N×N scores materialised",
    .family = KB_FAMILY_ATTENTION,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .is_reference = 0,
    .flops = softmax_flops,
    .bytes = softmax_bytes,
    .footprint = softmax_footprint,
    .setup = softmax_setup,
    .run = softmax_run,
    .verify = softmax_verify,
    .tensors = softmax_tensors,
    .teardown = softmax_teardown,
};

#else
/* Built without CBLAS: the kernel is not registered (registry.c). */
typedef int softmax_blas_unused;
#endif
