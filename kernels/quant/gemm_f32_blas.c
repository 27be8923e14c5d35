/* gemm_f32_blas.c - gemm.f32@cpu.blas: C[M,N] = A[M,K] · W[N,K]ᵀ in float32 through
 * cblas_sgemm (OpenBLAS): the float baseline quant.gemm_int8 and quant.gemm_w4a8 are compared
 * with, on the same shapes and the same float inputs (same generators and sub-seeds).
 * Threads: OpenBLAS's own pool, set to the case's thread count. Verified against float64 on
 * sampled rows. Compiled only with a CBLAS (HAVE_CBLAS). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "kernels/quant/quant.h"

#ifdef HAVE_CBLAS

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "datasets/generate.h"
#include "kernels/verify.h"
#include "kernels/quant/gemm_int8.h"

struct gemm_f32_state {
    float *a, *w, *c;
};

static double gemm_f32_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    (void)t;
    return 4.0 * ((double)s->m * s->k + (double)s->n * s->k + (double)s->m * s->n);
}

static double gemm_f32_footprint(const struct kb_shape *s, enum kb_dtype t)
{
    return gemm_f32_bytes(s, t);
}

static void gemm_f32_teardown(struct kb_case *c)
{
    struct gemm_f32_state *st = c->state;
    if (!st)
        return;
    free(st->a);
    free(st->w);
    free(st->c);
    free(st);
    c->state = NULL;
}

static int gemm_f32_setup(struct kb_case *c, char *err, size_t errlen)
{
    int rc = quant_check_shape("gemm.f32", &c->shape, QUANT_AXES_GEMM, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (c->dtype != KB_DTYPE_F32) {
        snprintf(err, errlen, "gemm.f32: dtype %s not supported (f32 only)",
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    struct gemm_f32_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "gemm.f32: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    const size_t m = (size_t)c->shape.m, n = (size_t)c->shape.n, k = (size_t)c->shape.k;
    st->a = quant_input_new(m, k, quant_sub_seed(c->seed, QUANT_SEED_A), c->shape.input);
    st->w = quant_input_new(n, k, quant_sub_seed(c->seed, QUANT_SEED_B), KB_INPUT_NORMAL);
    st->c = quant_alloc(m * n * sizeof(float));
    if (!st->a || !st->w || !st->c) {
        snprintf(err, errlen, "gemm.f32: out of memory (%.0f bytes)", gemm_f32_footprint(&c->shape, c->dtype));
        gemm_f32_teardown(c);
        return KB_ERROR;
    }
#ifdef OPENBLAS_VERSION
    openblas_set_num_threads(c->threads > 0 ? c->threads : 1);
#endif
    return KB_OK;
}

static int gemm_f32_run(struct kb_case *c)
{
    struct gemm_f32_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->m, s->n, s->k, 1.0f, st->a, s->k, st->w, s->k,
                0.0f, st->c, s->n);
    return KB_OK;
}

static int gemm_f32_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    const struct gemm_f32_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    long *rows = malloc(QUANT_VERIFY_ROWS * sizeof *rows);
    double *ref = malloc((size_t)s->n * sizeof *ref);
    if (!rows || !ref) {
        free(rows);
        free(ref);
        return KB_ERROR;
    }
    long nr = verify_sample_rows(s->m, QUANT_VERIFY_ROWS, c->seed, rows);
    struct verify_acc va;
    verify_begin(&va);
    for (long r = 0; r < nr; r++) {
        gemm_f64_row(st->a, st->w, s->n, s->k, (int)rows[r], ref);
        for (int j = 0; j < s->n; j++)
            verify_add(&va, st->c[(size_t)rows[r] * s->n + j], ref[j]);
    }
    /* float32 accumulation over K terms: error grows like √K·u; 1e-5 holds to K ≈ 10^5 */
    verify_finish(&va, QUANT_GEMM_F32_TOL, acc);
    acc->rows_checked = nr;
    acc->rows_total = s->m;
    free(rows);
    free(ref);
    return KB_OK;
}

static int gemm_f32_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct gemm_f32_state *st = c->state;
    const struct kb_shape *s = &c->shape;
    struct kb_tensor t[] = {
        { "a", KB_DTYPE_F32, 2, { s->m, s->k }, st->a, 0 },
        { "w", KB_DTYPE_F32, 2, { s->n, s->k }, st->w, 0 },
        { "c", KB_DTYPE_F32, 2, { s->m, s->n }, st->c, 1 },
    };
    int n = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0] && n < max; i++)
        out[n++] = t[i];
    return n;
}

const struct kb_kernel kb_gemm_f32_blas = {
    .name = "gemm.f32",
    .impl = "cpu.blas",
    .description = "float32 GEMM A·Wᵀ through cblas_sgemm (OpenBLAS): the baseline of the quantized GEMMs",
    .family = KB_FAMILY_QUANT,
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = QUANT_AXES_GEMM,
    .flops = quant_gemm_flops,
    .bytes = gemm_f32_bytes,
    .footprint = gemm_f32_footprint,
    .setup = gemm_f32_setup,
    .run = gemm_f32_run,
    .verify = gemm_f32_verify,
    .tensors = gemm_f32_tensors,
    .teardown = gemm_f32_teardown,
};

#endif /* HAVE_CBLAS */
