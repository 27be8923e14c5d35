/* calibrate_cuda.c - a GPU's ceilings (calibrate.h): device-to-device copy bandwidth, and the
 * dense GEMM rate cuBLAS reaches per dtype (f16 and bf16 on tensor cores with float32
 * accumulation, f32 without TF32, INT8 with int32 accumulation). Built when cuBLAS is found;
 * calibrate_cuda_none.c stands in otherwise.
 *
 * Each figure is the best of `repeats` measurements, each timing back-to-back work with CUDA
 * events for at least `seconds`. Buffers are zeroed, not random: the GEMM rate of cuBLAS does
 * not depend on the values, and zeroing is cheap next to filling 8192² matrices. */
#include "harness/calibrate.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <string.h>

#define GEMM_N 8192 /* large enough that every dtype runs at its steady rate on an H100 */

static int emit(ceiling_fn fn, void *ctx, int index, const char *name, double value, const char *unit,
                const char *method)
{
    struct ceiling c;
    memset(&c, 0, sizeof c);
    snprintf(c.device, sizeof c.device, "cuda:%d", index);
    snprintf(c.name, sizeof c.name, "%s", name);
    c.value = value;
    snprintf(c.unit, sizeof c.unit, "%s", unit);
    snprintf(c.method, sizeof c.method, "%s", method);
    return fn(&c, ctx);
}

/* Seconds per call of `work`, repeated until `seconds` have passed, best of `repeats`. */
typedef int (*work_fn)(void *arg);
static double best_time(work_fn work, void *arg, const struct calibrate_options *opt, cudaEvent_t a, cudaEvent_t b)
{
    double best = 0;
    if (work(arg) != 0 || cudaDeviceSynchronize() != cudaSuccess) /* warm-up */
        return -1;
    for (int r = 0; r < opt->repeats; r++) {
        long calls = 0;
        float ms = 0;
        cudaEventRecord(a, 0);
        do {
            for (int i = 0; i < 4; i++, calls++)
                if (work(arg) != 0)
                    return -1;
            cudaEventRecord(b, 0);
            cudaEventSynchronize(b);
            cudaEventElapsedTime(&ms, a, b);
        } while (ms * 1e-3 < opt->seconds);
        double per = ms * 1e-3 / (double)calls;
        if (best == 0 || per < best)
            best = per;
    }
    return best;
}

struct copy_arg { void *dst, *src; size_t bytes; };
static int copy_work(void *p)
{
    struct copy_arg *c = p;
    return cudaMemcpyAsync(c->dst, c->src, c->bytes, cudaMemcpyDeviceToDevice, 0) == cudaSuccess ? 0 : -1;
}

struct gemm_arg {
    cublasHandle_t h;
    cudaDataType_t ab, c;
    cublasComputeType_t compute;
    void *a, *b, *out;
    int n;
    int integer; /* alpha/beta as int32 */
};
static int gemm_work(void *p)
{
    struct gemm_arg *g = p;
    float one = 1, zero = 0;
    int ione = 1, izero = 0;
    const void *alpha = g->integer ? (const void *)&ione : (const void *)&one;
    const void *beta = g->integer ? (const void *)&izero : (const void *)&zero;
    /* A transposed: the layout cuBLAS's INT8 path requires, and as fast as any for the others */
    return cublasGemmEx(g->h, CUBLAS_OP_T, CUBLAS_OP_N, g->n, g->n, g->n, alpha, g->a, g->ab, g->n, g->b, g->ab,
                        g->n, beta, g->out, g->c, g->n, g->compute, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS
               ? 0 : -1;
}

int calibrate_cuda(int index, const struct calibrate_options *opt, ceiling_fn fn, void *ctx, char *why, size_t whylen)
{
    cudaError_t e = cudaSetDevice(index);
    if (e != cudaSuccess) {
        snprintf(why, whylen, "cuda:%d: %s", index, cudaGetErrorString(e));
        return -1;
    }
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    int rc = -1;
    void *x = NULL, *y = NULL, *z = NULL;
    cublasHandle_t h = NULL;
    /* copy bandwidth: 1 GiB each way, far beyond the L2; read + write bytes count */
    size_t bytes = (size_t)1 << 30;
    if (cudaMalloc(&x, bytes) != cudaSuccess || cudaMalloc(&y, bytes) != cudaSuccess) {
        snprintf(why, whylen, "cuda:%d: cannot allocate 2 GiB for the copy test", index);
        goto out;
    }
    cudaMemset(x, 0, bytes);
    struct copy_arg ca = { y, x, bytes };
    double t = best_time(copy_work, &ca, opt, a, b);
    if (t <= 0) {
        snprintf(why, whylen, "cuda:%d: device-to-device copy failed", index);
        goto out;
    }
    if (emit(fn, ctx, index, "copy_bw", 2.0 * (double)bytes / t, "B/s",
             "cudaMemcpyAsync device to device, 1 GiB, read + write bytes, best of repeats") != 0)
        goto out_ok;
    cudaFree(x);
    cudaFree(y);
    x = y = NULL;

    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) {
        snprintf(why, whylen, "cuda:%d: cublasCreate failed", index);
        goto out;
    }
    cublasSetMathMode(h, CUBLAS_DEFAULT_MATH); /* f32 stays f32: no TF32 */
    size_t n = GEMM_N, elems = n * n;
    if (cudaMalloc(&x, elems * 4) != cudaSuccess || cudaMalloc(&y, elems * 4) != cudaSuccess ||
        cudaMalloc(&z, elems * 4) != cudaSuccess) {
        snprintf(why, whylen, "cuda:%d: cannot allocate the GEMM operands", index);
        goto out;
    }
    cudaMemset(x, 0, elems * 4);
    cudaMemset(y, 0, elems * 4);
    const struct {
        const char *name, *method;
        cudaDataType_t ab, c;
        cublasComputeType_t compute;
        int integer;
    } kinds[] = {
        { "flops_f16", "cublasGemmEx 8192^3, f16 in/out, f32 accumulate (tensor cores)", CUDA_R_16F, CUDA_R_16F,
          CUBLAS_COMPUTE_32F, 0 },
        { "flops_bf16", "cublasGemmEx 8192^3, bf16 in/out, f32 accumulate (tensor cores)", CUDA_R_16BF, CUDA_R_16BF,
          CUBLAS_COMPUTE_32F, 0 },
        { "flops_f32", "cublasGemmEx 8192^3, f32, no TF32", CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, 0 },
        { "flops_i8", "cublasGemmEx 8192^3, int8 in, int32 accumulate and out (tensor cores)", CUDA_R_8I, CUDA_R_32I,
          CUBLAS_COMPUTE_32I, 1 },
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        struct gemm_arg g = { h, kinds[k].ab, kinds[k].c, kinds[k].compute, x, y, z, (int)n, kinds[k].integer };
        t = best_time(gemm_work, &g, opt, a, b);
        if (t <= 0) {
            /* a dtype this GPU or cuBLAS does not run is left out, the others still count */
            fprintf(stderr, "kbench calibrate: cuda:%d: %s not measured (cublasGemmEx refused it)\n", index,
                    kinds[k].name);
            continue;
        }
        if (emit(fn, ctx, index, kinds[k].name, 2.0 * (double)n * n * n / t, kinds[k].integer ? "OP/s" : "FLOP/s",
                 kinds[k].method) != 0)
            break;
    }
out_ok:
    rc = 0;
out:
    if (h)
        cublasDestroy(h);
    cudaFree(x);
    cudaFree(y);
    cudaFree(z);
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return rc;
}
