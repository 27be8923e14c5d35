/* vit_block_f32.c - vit.block@cpu.f32: the ViT block (vit_block.h) in float32, the "FP model"
 * of the I-ViT claim. Every product is one cblas_sgemm (OpenBLAS, its threads set to the
 * case's); heads run one after another, each a Q_h·K_hᵀ and a P_h·V_h product read in place
 * from the QKV matrix (strided, no copies); the residual adds ride on sgemm's β = 1. Softmax,
 * GELU (erf) and LayerNorm are ivit.c's float rows, OpenMP over rows. Without a CBLAS the
 * products are OpenMP loops vectorized with `omp simd`. It reads the operation's operands in
 * place and writes the block's output straight into the case's y. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "kernels/quant/vit_block.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_CBLAS
#include <cblas.h>
#endif

#include "kernels/quant/ivit.h"

/* C[m,n] = α·A[m,k]·W[n,k]ᵀ + β·C */
static void sgemm_nt(int m, int n, int k, float alpha, const float *a, int lda, const float *w, int ldw,
                     float beta, float *c, int ldc, int threads)
{
#ifdef HAVE_CBLAS
    (void)threads;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, alpha, a, lda, w, ldw, beta, c, ldc);
#else
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            const float *ar = a + (size_t)i * lda, *wr = w + (size_t)j * ldw;
            float s = 0;
#pragma omp simd reduction(+ : s)
            for (int p = 0; p < k; p++)
                s += ar[p] * wr[p];
            float *cr = c + (size_t)i * ldc + j;
            *cr = alpha * s + (beta != 0 ? beta * *cr : 0);
        }
#endif
}

/* C[m,n] = A[m,k]·B[k,n] (β = 0) */
static void sgemm_nn(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                     int threads)
{
#ifdef HAVE_CBLAS
    (void)threads;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
#else
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int i = 0; i < m; i++) {
        float *cr = c + (size_t)i * ldc;
        for (int j = 0; j < n; j++)
            cr[j] = 0;
        for (int p = 0; p < k; p++) {
            const float av = a[(size_t)i * lda + p], *br = b + (size_t)p * ldb;
#pragma omp simd
            for (int j = 0; j < n; j++)
                cr[j] += av * br[j];
        }
    }
#endif
}

static float absmax(const float *x, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmaxf(m, fabsf(x[i]));
    return m;
}

/* absmax of an m×n block with row stride ld */
static float absmax2(const float *x, int m, int n, size_t ld)
{
    float mx = 0;
    for (int i = 0; i < m; i++)
        mx = fmaxf(mx, absmax(x + (size_t)i * ld, (size_t)n));
    return mx;
}

int vit_f32_work_new(struct vit_f32_work *wk, const struct vit_dims *v, float *y)
{
    const size_t t = (size_t)v->t, d = (size_t)v->d;
    memset(wk, 0, sizeof *wk);
    wk->owns_y = y == NULL;
    wk->a = quant_alloc(t * d * sizeof(float));
    wk->qkv = quant_alloc(3 * t * d * sizeof(float));
    wk->scores = quant_alloc((size_t)v->h * t * t * sizeof(float));
    wk->attn = quant_alloc(t * d * sizeof(float));
    wk->h = quant_alloc(t * d * sizeof(float));
    wk->ff = quant_alloc(t * (size_t)v->f * sizeof(float));
    wk->y = y ? y : quant_alloc(t * d * sizeof(float));
    if (!wk->a || !wk->qkv || !wk->scores || !wk->attn || !wk->h || !wk->ff || !wk->y) {
        vit_f32_work_free(wk);
        return KB_ERROR;
    }
    return KB_OK;
}

void vit_f32_work_free(struct vit_f32_work *wk)
{
    free(wk->a);
    free(wk->qkv);
    free(wk->scores);
    free(wk->attn);
    free(wk->h);
    free(wk->ff);
    if (wk->owns_y)
        free(wk->y);
    memset(wk, 0, sizeof *wk);
}

/* With OpenBLAS (a pthread pool) the row loops stay in the calling thread: libgomp's workers
 * spin for a while after each parallel region, and on a machine with as many cores as threads
 * they then compete with OpenBLAS's workers for the cores (measured on 2 cores: 105 ms at 2
 * threads, no faster than 1, against 68 ms with the row loops serial). */
#ifdef HAVE_CBLAS
#define ROWS_PARALLEL 0
#else
#define ROWS_PARALLEL 1
#endif

void vit_f32_forward(const struct vit_weights *w, const struct vit_dims *v, struct vit_f32_work *wk, int threads,
                     struct vit_calib *calib)
{
    const int t = v->t, d = v->d, dh = v->dh, f = v->f, d3 = 3 * v->d;
    const size_t td = (size_t)t * d, tt = (size_t)t * t;
#pragma omp parallel for num_threads(threads) schedule(static) if (ROWS_PARALLEL)
    for (int i = 0; i < t; i++)
        ivit_layernorm_row_f32(w->x + (size_t)i * d, d, wk->a + (size_t)i * d);
    sgemm_nt(t, d3, d, 1.0f, wk->a, d, w->wqkv, d, 0.0f, wk->qkv, d3, threads);
    const float inv_sqrt = 1.0f / sqrtf((float)dh);
    for (int hd = 0; hd < v->h; hd++)
        sgemm_nt(t, t, dh, inv_sqrt, wk->qkv + (size_t)hd * dh, d3, wk->qkv + d + (size_t)hd * dh, d3, 0.0f,
                 wk->scores + hd * tt, t, threads);
    if (calib) {
        calib->x = absmax(w->x, td);
        calib->q = absmax2(wk->qkv, t, d, (size_t)d3);
        calib->k = absmax2(wk->qkv + d, t, d, (size_t)d3);
        calib->v = absmax2(wk->qkv + 2 * d, t, d, (size_t)d3);
        calib->scores = absmax(wk->scores, (size_t)v->h * tt);
    }
#pragma omp parallel for num_threads(threads) schedule(static) if (ROWS_PARALLEL)
    for (long r = 0; r < (long)v->h * t; r++)
        ivit_softmax_row_f32(wk->scores + (size_t)r * t, t, wk->scores + (size_t)r * t);
    for (int hd = 0; hd < v->h; hd++)
        sgemm_nn(t, dh, t, wk->scores + hd * tt, t, wk->qkv + 2 * d + (size_t)hd * dh, d3, wk->attn + (size_t)hd * dh,
                 d, threads);
    memcpy(wk->h, w->x, td * sizeof(float));
    sgemm_nt(t, d, d, 1.0f, wk->attn, d, w->wo, d, 1.0f, wk->h, d, threads);
#pragma omp parallel for num_threads(threads) schedule(static) if (ROWS_PARALLEL)
    for (int i = 0; i < t; i++)
        ivit_layernorm_row_f32(wk->h + (size_t)i * d, d, wk->a + (size_t)i * d);
    sgemm_nt(t, f, d, 1.0f, wk->a, d, w->w1, d, 0.0f, wk->ff, f, threads);
    if (calib) {
        calib->attn = absmax(wk->attn, td);
        calib->h = absmax(wk->h, td);
        calib->fc1 = absmax(wk->ff, (size_t)t * f);
    }
#pragma omp parallel for num_threads(threads) schedule(static) if (ROWS_PARALLEL)
    for (int i = 0; i < t; i++)
        ivit_gelu_row_f32(wk->ff + (size_t)i * f, f, wk->ff + (size_t)i * f);
    memcpy(wk->y, wk->h, td * sizeof(float));
    sgemm_nt(t, d, f, 1.0f, wk->ff, f, w->w2, f, 1.0f, wk->y, d, threads);
    if (calib)
        calib->y = absmax(wk->y, td);
}

/* ---- vit.block@cpu.f32 ------------------------------------------------------------------------ */

struct vit_f32_state {
    struct vit_dims v;
    struct vit_weights w; /* the case's operands */
    struct vit_f32_work wk; /* its y: the case's output */
    int threads;
};

static double vit_f32_footprint(const struct kb_shape *s, enum kb_dtype dt)
{
    (void)dt;
    const double t = s->seq_len, d = s->hidden, f = s->ffn, h = s->heads;
    /* the work buffers but y (the operation's output) */
    return 4 * t * (6 * d + f + h * t) + 4096;
}

static void vit_f32_teardown(struct kb_case *c)
{
    struct vit_f32_state *st = c->state;
    if (!st)
        return;
    vit_f32_work_free(&st->wk);
    free(st);
    c->state = NULL;
}

static int vit_f32_setup(struct kb_case *c, char *err, size_t errlen)
{
    struct vit_dims v;
    int rc = vit_dims_from("vit.block@cpu.f32", &c->shape, &v, err, errlen);
    if (rc != KB_OK)
        return rc;
    struct vit_f32_state *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "vit.block@cpu.f32: out of memory");
        return KB_ERROR;
    }
    c->state = st;
    st->v = v;
    st->threads = c->threads > 0 ? c->threads : 1;
    st->w = vit_weights_of(&c->io);
    if (vit_f32_work_new(&st->wk, &v, kb_output(c, KB_VIT_Y)) != KB_OK) {
        snprintf(err, errlen, "vit.block@cpu.f32: out of memory (%.0f bytes)", vit_f32_footprint(&c->shape, c->dtype));
        vit_f32_teardown(c);
        return KB_ERROR;
    }
#ifdef OPENBLAS_VERSION
    openblas_set_num_threads(st->threads);
#endif
    return KB_OK;
}

static int vit_f32_run(struct kb_case *c)
{
    struct vit_f32_state *st = c->state;
    vit_f32_forward(&st->w, &st->v, &st->wk, st->threads, NULL);
    return KB_OK;
}

const struct kb_kernel kb_vit_block_f32 = {
    .name = "vit.block",
    .impl = "cpu.f32",
    .description = "ViT encoder block in float32 (cblas_sgemm, softmax, erf GELU, LayerNorm): I-ViT's FP baseline",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .footprint = vit_f32_footprint,
    .setup = vit_f32_setup,
    .run = vit_f32_run,
    .teardown = vit_f32_teardown,
    .axes = VIT_AXES,
    .op = &kb_op_vit_block,
};
