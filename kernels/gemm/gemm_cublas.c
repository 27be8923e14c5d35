/* gemm_cublas.c - gemm.dense@cuda.cublas: the operation gemm (kernels/gemm/gemm_ops.h) at f32,
 * f16 and bf16 through cublasGemmEx, C[M,N] = A[M,K]·W[N,K]ᵀ: f16 and bf16 with float32
 * accumulation (tensor cores), f32 in full float32 (no TF32).
 *
 * The operation makes the inputs in the dtype (f16/bf16 already rounded on the host) and judges
 * Y; setup uploads them as they are (with input rotation), collect copies C back into Y. */
#include "kernels/gemm/gemm.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/gemm/gemm_ops.h"
#include "kernels/gpu/input_copies.h"
#include "kernels/gpu/device_memory.h"

struct gemm_state {
    void *da, *dw, *dc;   /* device, in dtype */
    struct input_copies a_copies, w_copies; /* rotated in cold-cache runs */
    cublasHandle_t blas;
};

static cudaDataType_t cuda_type(enum kb_dtype t)
{
    return t == KB_DTYPE_F16 ? CUDA_R_16F : t == KB_DTYPE_BF16 ? CUDA_R_16BF : CUDA_R_32F;
}

static int fail_cuda(cudaError_t e, const char *doing, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s (%s)", doing, cudaGetErrorString(e), cudaGetErrorName(e));
    return KB_ERROR;
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
    free(g);
    c->state = NULL;
}

static int gemm_setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    const size_t es = (size_t)kb_dtype_size(c->dtype);
    const size_t mk = (size_t)s->m * s->k * es, nk = (size_t)s->n * s->k * es, mn = (size_t)s->m * s->n * es;
    int fits = gpu_memory_fits((double)(mk + nk + mn), 0.9, "gemm.dense@cuda.cublas", err, errlen);
    if (fits != KB_OK)
        return fits;
    struct gemm_state *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    c->state = g;
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaMalloc(&g->da, mk);
    if (e == cudaSuccess)
        e = cudaMalloc(&g->dw, nk);
    if (e == cudaSuccess)
        e = cudaMalloc(&g->dc, mn);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(g->da, kb_input(c, KB_GEMM_A), mk, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(g->dw, kb_input(c, KB_GEMM_W), nk, cudaMemcpyHostToDevice, st);
    if (e == cudaSuccess) /* poisoned: NaN in every float format */
        e = cudaMemsetAsync(g->dc, 0xFF, mn, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    int rc = e == cudaSuccess ? KB_OK : fail_cuda(e, "uploading the inputs", err, errlen);
    if (rc == KB_OK && c->input_copies_wanted > 1) {
        int na = input_copies_make(&g->a_copies, g->da, mk, c->input_copies_wanted, st);
        int nw = input_copies_make(&g->w_copies, g->dw, nk, na, st);
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

/* C, in the dtype, is the operation's Y as it is */
static int gemm_collect(struct kb_case *c)
{
    struct gemm_state *g = c->state;
    const size_t bytes = (size_t)c->shape.m * c->shape.n * (size_t)kb_dtype_size(c->dtype);
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaStreamSynchronize(st);
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(kb_output(c, KB_GEMM_Y), g->dc, bytes, cudaMemcpyDeviceToHost, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    if (e != cudaSuccess) {
        snprintf(c->error, sizeof c->error, "copying C back: %s", cudaGetErrorString(e));
        return KB_ERROR;
    }
    return KB_OK;
}

const struct kb_kernel kb_gemm_cublas = {
    .name = "gemm.dense",
    .impl = "cuda.cublas",
    .description = "C = A Wt through cublasGemmEx: f16/bf16 on tensor cores (f32 accumulate), f32 without TF32",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .axes = KB_AXES_GEMM,
    .op = &kb_op_gemm,
    .setup = gemm_setup,
    .run = gemm_run,
    .collect = gemm_collect,
    .teardown = gemm_teardown,
};
