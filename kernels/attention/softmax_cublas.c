/* softmax_cublas.c - attention.softmax@cuda.cublas: the unfused library baseline. Per (batch,
 * head): S = Q·Kᵀ/√d in float32 by cublasGemmBatchedEx (f16/bf16 tensor cores), a softmax
 * kernel turning each row of S into 16-bit probabilities in place (softmax_rows.cu), then
 * O = P·V by a second batched GEMM. It moves the N×N score matrix through memory twice, which
 * is what fused flash attention avoids; causal cases still compute the full S (the mask is
 * applied in the softmax), as an unfused implementation does. GQA through the pointer arrays:
 * query head h reads key/value head h / (H / H_kv).
 * An implementation of attention.softmax (softmax_ops.h): setup copies the operation's Q, K, V
 * (f16 or bf16 values) to the GPU, collect copies O back; the operation's counts are the
 * compulsory ones (the score matrix's trips through memory are this implementation's cost). */
#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/softmax_ops.h"
#include "kernels/gpu/device_memory.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct softmax_cublas {
    struct attention_cuda a;
    cublasHandle_t blas;
    float *scores;            /* [B·H, N, N] float32; the probabilities overwrite it */
    const void **qp, **kp, **vp; /* device arrays of per-(b, h) pointers */
    void **sp, **pp, **op;
};

static void softmax_teardown(struct kb_case *c)
{
    struct softmax_cublas *x = c->state;
    if (!x)
        return;
    if (x->blas)
        cublasDestroy(x->blas);
    cudaFree(x->scores);
    cudaFree((void *)x->qp);
    attention_cuda_free(&x->a);
    free(x);
    c->state = NULL;
}

static int softmax_setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_shape *s = &c->shape;
    long bh = (long)s->batch * s->heads;
    double score_bytes = 4.0 * bh * (double)s->seq_len * s->seq_len;
    int rc = gpu_memory_fits(score_bytes, 0.85, "the score matrix", err, errlen);
    if (rc != KB_OK)
        return rc;
    struct softmax_cublas *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return KB_ERROR;
    }
    rc = attention_cuda_upload(&x->a, c, c->dtype, NULL, 0, err, errlen);
    if (rc != KB_OK) {
        free(x);
        return rc;
    }
    c->state = x;
    cudaStream_t st = (cudaStream_t)c->stream;
    cudaError_t e = cudaMalloc((void **)&x->scores, (size_t)score_bytes);
    /* one allocation for the six pointer arrays */
    void **host = NULL;
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&x->qp, 6 * (size_t)bh * sizeof(void *));
    if (e == cudaSuccess && !(host = malloc(6 * (size_t)bh * sizeof *host)))
        e = cudaErrorMemoryAllocation;
    if (e == cudaSuccess) {
        const size_t es = (size_t)kb_dtype_size(c->dtype), n = (size_t)s->seq_len, d = (size_t)s->head_dim;
        for (long i = 0; i < bh; i++) {
            long b = i / s->heads, h = i % s->heads, kvh = b * s->kv_heads + h / (s->heads / s->kv_heads);
            host[i] = (char *)x->a.q + (size_t)i * n * d * es;
            host[bh + i] = (char *)x->a.k + (size_t)kvh * n * d * es;
            host[2 * bh + i] = (char *)x->a.v + (size_t)kvh * n * d * es;
            host[3 * bh + i] = x->scores + (size_t)i * n * n; /* S, float32 */
            host[4 * bh + i] = x->scores + (size_t)i * n * n; /* P, 16-bit, row stride 2n */
            host[5 * bh + i] = (char *)x->a.o + (size_t)i * n * d * es;
        }
        e = cudaMemcpyAsync((void *)x->qp, host, 6 * (size_t)bh * sizeof *host, cudaMemcpyHostToDevice, st);
        if (e == cudaSuccess)
            e = cudaStreamSynchronize(st);
        x->kp = x->qp + bh;
        x->vp = x->qp + 2 * bh;
        x->sp = (void **)(x->qp + 3 * bh);
        x->pp = (void **)(x->qp + 4 * bh);
        x->op = (void **)(x->qp + 5 * bh);
    }
    free(host);
    if (e != cudaSuccess) {
        snprintf(err, errlen, "attention.softmax: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
        softmax_teardown(c);
        return KB_ERROR;
    }
    cublasStatus_t b = cublasCreate(&x->blas);
    if (b == CUBLAS_STATUS_SUCCESS)
        b = cublasSetStream(x->blas, st);
    if (b != CUBLAS_STATUS_SUCCESS) {
        snprintf(err, errlen, "cuBLAS: %s", cublasGetStatusString(b));
        softmax_teardown(c);
        return KB_ERROR;
    }
    return KB_OK;
}

static int softmax_run(struct kb_case *c)
{
    struct softmax_cublas *x = c->state;
    const struct kb_shape *s = &c->shape;
    const int n = s->seq_len, d = s->head_dim, bh = s->batch * s->heads;
    const cudaDataType_t t = c->dtype == KB_DTYPE_F16 ? CUDA_R_16F : CUDA_R_16BF;
    const float scale = (float)(1.0 / sqrt((double)d)), one = 1.0f, zero = 0.0f;
    /* row-major S[q][key] is column-major Sᵀ = op_T(K)·Q, ld n */
    cublasStatus_t b = cublasGemmBatchedEx(x->blas, CUBLAS_OP_T, CUBLAS_OP_N, n, n, d, &scale, x->kp, t, d,
                                           x->qp, t, d, &zero, x->sp, CUDA_R_32F, n, bh, CUBLAS_COMPUTE_32F,
                                           CUBLAS_GEMM_DEFAULT);
    if (b != CUBLAS_STATUS_SUCCESS) {
        snprintf(c->error, sizeof c->error, "cublasGemmBatchedEx (Q K^T): %s", cublasGetStatusString(b));
        return KB_ERROR;
    }
    int e = softmax_rows_launch(x->scores, (long)bh * n, n, s->causal, c->dtype, c->stream);
    if (e != 0) {
        snprintf(c->error, sizeof c->error, "softmax_rows: %s", cudaGetErrorString((cudaError_t)e));
        return KB_ERROR;
    }
    /* row-major O[q][c] is column-major Oᵀ = V(col-major d×n)·Pᵀ, P's rows 2n apart */
    b = cublasGemmBatchedEx(x->blas, CUBLAS_OP_N, CUBLAS_OP_N, d, n, n, &one, x->vp, t, d, (const void **)x->pp, t,
                            2 * n, &zero, x->op, t, d, bh, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (b != CUBLAS_STATUS_SUCCESS) {
        snprintf(c->error, sizeof c->error, "cublasGemmBatchedEx (P V): %s", cublasGetStatusString(b));
        return KB_ERROR;
    }
    return KB_OK;
}

static int softmax_collect(struct kb_case *c)
{
    struct softmax_cublas *x = c->state;
    return attention_cuda_collect_o(&x->a, c);
}

const struct kb_kernel kb_attention_softmax_cublas = {
    .name = "attention.softmax",
    .impl = "cuda.cublas",
    .description = "unfused: cuBLAS batched Q Kt (f32 scores), a softmax kernel, cuBLAS batched P V; f16/bf16, GQA",
    .device = KB_DEVICE_CUDA,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .setup = softmax_setup,
    .run = softmax_run,
    .teardown = softmax_teardown,
    .axes = KB_AXES_ATTENTION, /* no decode */
    .op = &kb_op_attention_softmax,
    .collect = softmax_collect,
};
