/* gemm_cublas.c - gemm.dense@cuda.cublas: C[M,N] = A[M,K]·W[N,K]ᵀ through cublasGemmEx, f16 and
 * bf16 with float32 accumulation (tensor cores), f32 in full float32 (no TF32).
 *
 * Inputs come from the case's input distribution, are rounded to the dtype on the GPU, and the
 * host keeps the rounded values; verify compares GEMM_VERIFY_POINTS sampled elements of C with
 * float64 dot products over those values (the whole output would cost a CPU GEMM). */
#include "kernels/gemm/gemm.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"
#include "kernels/verify.h"
#include "kernels/attention/attention_cuda.h"
#include "kernels/gpu/input_copies.h"
#include "kernels/gpu/device_memory.h"

#define GEMM_VERIFY_POINTS 4096

struct gemm_state {
    float *a, *w;         /* host, rounded to dtype */
    void *da, *dw, *dc;   /* device, in dtype */
    struct input_copies a_copies, w_copies; /* rotated in cold-cache runs */
    cublasHandle_t blas;
};

double gemm_flops(const struct kb_shape *s) { return 2.0 * s->m * (double)s->n * s->k; }

double gemm_min_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    return kb_dtype_size(t) * ((double)s->m * s->k + (double)s->n * s->k + (double)s->m * s->n);
}

static cudaDataType_t cuda_type(enum kb_dtype t)
{
    return t == KB_DTYPE_F16 ? CUDA_R_16F : t == KB_DTYPE_BF16 ? CUDA_R_16BF : CUDA_R_32F;
}

static int fail_cuda(cudaError_t e, const char *doing, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s (%s)", doing, cudaGetErrorString(e), cudaGetErrorName(e));
    return KB_ERROR;
}

/* Device copy of host x (float32) in dtype t; x is replaced by the rounded values. */
static int to_device(float *x, size_t n, enum kb_dtype t, void **dst, cudaStream_t st, char *err, size_t errlen)
{
    cudaError_t e = cudaMalloc(dst, n * (size_t)kb_dtype_size(t));
    if (e != cudaSuccess)
        return fail_cuda(e, "cudaMalloc", err, errlen);
    if (t == KB_DTYPE_F32) {
        e = cudaMemcpyAsync(*dst, x, n * sizeof *x, cudaMemcpyHostToDevice, st);
    } else {
        float *tmp = NULL;
        e = cudaMalloc((void **)&tmp, n * sizeof *tmp);
        if (e == cudaSuccess)
            e = cudaMemcpyAsync(tmp, x, n * sizeof *x, cudaMemcpyHostToDevice, st);
        if (e == cudaSuccess)
            e = (cudaError_t)attention_cuda_round(tmp, *dst, n, t, st);
        if (e == cudaSuccess)
            e = cudaMemcpyAsync(x, tmp, n * sizeof *x, cudaMemcpyDeviceToHost, st);
        if (e == cudaSuccess)
            e = cudaStreamSynchronize(st);
        cudaFree(tmp);
    }
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    return e == cudaSuccess ? KB_OK : fail_cuda(e, "uploading the inputs", err, errlen);
}

static void gemm_teardown(struct kb_case *c)
{
    struct gemm_state *g = c->state;
    if (!g)
        return;
    if (g->blas)
        cublasDestroy(g->blas);
    input_copies_free(&g->a_copies);
    input_copies_free(&g->w_copies);
    cudaFree(g->da);
    cudaFree(g->dw);
    cudaFree(g->dc);
    free(g->a);
    free(g->w);
    free(g);
    c->state = NULL;
}

static int gemm_setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    if (s->m < 1 || s->n < 1 || s->k < 1) {
        snprintf(err, errlen, "gemm: M, N and K must be at least 1 (M=%d N=%d K=%d)", s->m, s->n, s->k);
        return KB_UNSUPPORTED;
    }
    size_t mk = (size_t)s->m * s->k, nk = (size_t)s->n * s->k, mn = (size_t)s->m * s->n;
    double need = kb_dtype_size(c->dtype) * (double)(mk + nk + mn) + 4.0 * (double)(mk > nk ? mk : nk);
    int fits = gpu_memory_fits(need, 0.9, "gemm.dense@cuda.cublas", err, errlen);
    if (fits != KB_OK)
        return fits;
    struct gemm_state *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    c->state = g;
    g->a = malloc(mk * sizeof *g->a);
    g->w = malloc(nk * sizeof *g->w);
    if (!g->a || !g->w) {
        snprintf(err, errlen, "gemm: out of host memory for A and W");
        gemm_teardown(c);
        return KB_ERROR;
    }
    gen_fill_input_f32(g->a, (size_t)s->m, (size_t)s->k, c->seed ^ 0xA, s->input);
    gen_fill_input_f32(g->w, (size_t)s->n, (size_t)s->k, c->seed ^ 0xB, KB_INPUT_NORMAL);
    cudaStream_t st = (cudaStream_t)c->stream;
    int rc = to_device(g->a, mk, c->dtype, &g->da, st, err, errlen);
    if (rc == KB_OK)
        rc = to_device(g->w, nk, c->dtype, &g->dw, st, err, errlen);
    if (rc == KB_OK) {
        cudaError_t e = cudaMalloc(&g->dc, mn * (size_t)kb_dtype_size(c->dtype));
        if (e == cudaSuccess) /* poisoned: NaN in every float format */
            e = cudaMemsetAsync(g->dc, 0xFF, mn * (size_t)kb_dtype_size(c->dtype), st);
        if (e != cudaSuccess)
            rc = fail_cuda(e, "allocating C", err, errlen);
    }
    if (rc == KB_OK && c->input_copies_wanted > 1) {
        size_t es = (size_t)kb_dtype_size(c->dtype);
        int na = input_copies_make(&g->a_copies, g->da, mk * es, c->input_copies_wanted, st);
        int nw = input_copies_make(&g->w_copies, g->dw, nk * es, na, st);
        c->input_copies = nw < na ? nw : na;
    }
    if (rc == KB_OK) {
        cublasStatus_t b = cublasCreate(&g->blas);
        if (b == CUBLAS_STATUS_SUCCESS)
            b = cublasSetStream(g->blas, st);
        if (b == CUBLAS_STATUS_SUCCESS && c->dtype == KB_DTYPE_F32) /* float32 means float32: no TF32 */
            b = cublasSetMathMode(g->blas, CUBLAS_PEDANTIC_MATH);
        if (b != CUBLAS_STATUS_SUCCESS) {
            snprintf(err, errlen, "cuBLAS: %s", cublasGetStatusString(b));
            rc = KB_ERROR;
        }
    }
    if (rc != KB_OK)
        gemm_teardown(c);
    return rc;
}

static int gemm_run(struct kb_case *c)
{
    struct gemm_state *g = c->state;
    const struct kb_shape *s = &c->shape;
    const float one = 1.0f, zero = 0.0f;
    cudaDataType_t t = cuda_type(c->dtype);
    const void *a = g->da, *w = g->dw;
    if (c->input_copies > 1) {
        a = input_copies_get(&g->a_copies, c->input_copy);
        w = input_copies_get(&g->w_copies, c->input_copy);
    }
    /* row-major C[M,N] = A·Wᵀ is column-major Cᵀ[N,M] = op_T(W)·A */
    cublasStatus_t b = cublasGemmEx(g->blas, CUBLAS_OP_T, CUBLAS_OP_N, s->n, s->m, s->k, &one, w, t, s->k,
                                    a, t, s->k, &zero, g->dc, t, s->n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (b != CUBLAS_STATUS_SUCCESS) {
        snprintf(c->error, sizeof c->error, "cublasGemmEx: %s", cublasGetStatusString(b));
        return KB_ERROR;
    }
    return KB_OK;
}

static int gemm_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    struct gemm_state *g = c->state;
    const struct kb_shape *s = &c->shape;
    size_t mn = (size_t)s->m * s->n;
    memset(acc, 0, sizeof *acc);
    acc->rel_l2_err = INFINITY;
    acc->rows_total = s->m;
    float *out = malloc(mn * sizeof *out), *dout = NULL;
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaSuccess;
    if (c->dtype == KB_DTYPE_F32) {
        e = cudaMemcpyAsync(out, g->dc, mn * sizeof *out, cudaMemcpyDeviceToHost, st);
    } else {
        e = cudaMalloc((void **)&dout, mn * sizeof *dout);
        if (e == cudaSuccess)
            e = (cudaError_t)attention_cuda_widen(g->dc, dout, mn, c->dtype, st);
        if (e == cudaSuccess && out)
            e = cudaMemcpyAsync(out, dout, mn * sizeof *out, cudaMemcpyDeviceToHost, st);
    }
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    cudaFree(dout);
    if (!out || e != cudaSuccess) {
        free(out);
        return KB_ERROR;
    }
    /* the first and last elements, then seeded random ones */
    struct kb_rng r;
    kb_rng_seed(&r, c->seed);
    long points = mn < GEMM_VERIFY_POINTS ? (long)mn : GEMM_VERIFY_POINTS;
    struct verify_acc va;
    verify_begin(&va);
    for (long p = 0; p < points; p++) {
        size_t idx = p == 0 ? 0 : p == 1 ? mn - 1 : (size_t)(kb_rng_next(&r) % mn);
        if ((size_t)points == mn)
            idx = (size_t)p;
        size_t i = idx / (size_t)s->n, j = idx % (size_t)s->n;
        const float *ar = g->a + i * (size_t)s->k, *wr = g->w + j * (size_t)s->k;
        double ref = 0;
        for (int kk = 0; kk < s->k; kk++)
            ref += (double)ar[kk] * (double)wr[kk];
        verify_add(&va, out[idx], ref);
    }
    verify_finish(&va, verify_default_tolerance(c->dtype), acc);
    acc->rows_checked = points; /* elements, here */
    acc->rows_total = (long)mn;
    free(out);
    return KB_OK;
}

const struct kb_kernel kb_gemm_cublas = {
    .name = "gemm.dense",
    .impl = "cuda.cublas",
    .description = "C = A Wt through cublasGemmEx: f16/bf16 on tensor cores (f32 accumulate), f32 without TF32",
    .family = KB_FAMILY_QUANT,
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = KB_AXES_GEMM,
    .flops = gemm_flops,
    .bytes = gemm_min_bytes,
    .setup = gemm_setup,
    .run = gemm_run,
    .verify = gemm_verify,
    .teardown = gemm_teardown,
};
