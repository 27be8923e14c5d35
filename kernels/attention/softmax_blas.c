/* softmax_blas.c - attention.softmax@cpu.blas: unfused softmax attention through CBLAS, the
 * library baseline the fused kernels are measured against. Per (batch, head):
 *   S = Q·Kᵀ/√d      cblas_sgemm, the whole N×N score matrix
 *   P = softmax(S)   row by row (causal: keys after the query are masked before the softmax)
 *   O = P·V          cblas_sgemm
 * Heads run one after another and the library threads each product (openblas_set_num_threads
 * from the case's thread count), so S is N×N floats once — the footprint counts it, and
 * the harness refuses an N whose S does not fit. Causal scores are computed in full by the
 * library (it has no triangular GEMM), so the causal case does as much product work as the
 * non-causal one; the operation's FLOPs count only the useful lower triangle, and its bytes
 * only the compulsory traffic (the N×N matrix's trips are this implementation's own cost).
 * An implementation of attention.softmax (softmax_ops.h): it reads the operation's Q, K, V and
 * writes its O in place. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "kernels/attention/attention.h"
#include "kernels/attention/softmax_ops.h"

#ifdef HAVE_CBLAS

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct softmax_state {
    float *s; /* [N][N] scores, then probabilities, of the head being computed */
    int threads;
};

/* Its workspace: the N×N matrix of one head. */
static double softmax_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return 4.0 * (double)s->seq_len * s->seq_len;
}

static void softmax_teardown(struct kb_case *c)
{
    struct softmax_state *st = c->state;
    if (!st)
        return;
    free(st->s);
    free(st);
    c->state = NULL;
}

static int softmax_setup(struct kb_case *c, char *err, size_t errlen)
{
    if (c->shape.decode) {
        snprintf(err, errlen, "attention.softmax@cpu.blas: decode not supported");
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
    st->s = attention_alloc(n * n * sizeof(float));
    if (!st->s) {
        snprintf(err, errlen, "attention.softmax@cpu.blas: out of memory for the %zu×%zu score matrix", n, n);
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
    const float *qa = kb_input(c, KB_ATTN_Q), *ka = kb_input(c, KB_ATTN_K), *va = kb_input(c, KB_ATTN_V);
    float *o = kb_output(c, KB_ATTN_O);
    for (int b = 0; b < s->batch; b++)
        for (int h = 0; h < s->heads; h++) {
            const size_t qh = (size_t)b * s->heads + h, kh = (size_t)b * s->kv_heads + h / group;
            const float *q = qa + qh * n * d;
            const float *k = ka + kh * n * d, *v = va + kh * n * d;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, d, scale, q, d, k, d, 0.0f, st->s, n);
            for (int i = 0; i < n; i++)
                softmax_row(st->s + (size_t)i * n, n, s->causal ? i + 1 : n);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, st->s, n, v, d, 0.0f,
                        o + qh * n * d, d);
        }
    return KB_OK;
}

const struct kb_kernel kb_attention_softmax_blas = {
    .name = "attention.softmax",
    .impl = "cpu.blas",
    .description = "unfused softmax attention: S = QKᵀ/√d and O = PV by cblas_sgemm (OpenBLAS), N×N scores materialised",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .is_reference = 0,
    .footprint = softmax_footprint,
    .setup = softmax_setup,
    .run = softmax_run,
    .teardown = softmax_teardown,
    .axes = KB_AXES_ATTENTION, /* no decode */
    .op = &kb_op_attention_softmax,
};

#else
/* Built without CBLAS: the kernel is not registered (registry.c). */
typedef int softmax_blas_unused;
#endif
