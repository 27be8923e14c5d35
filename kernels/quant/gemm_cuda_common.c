/* gemm_cuda_common.c - what the quantized GEMMs on the GPU share (gemm_cuda.h): device operands
 * with input rotation and the FP8 capability check. */
#include "kernels/quant/gemm_cuda.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- device operands ------------------------------------------------------------------------ */

static int fail_cuda(cudaError_t e, const char *doing, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s (%s)", doing, cudaGetErrorString(e), cudaGetErrorName(e));
    return KB_ERROR;
}

void qgemm_operands_free(struct qgemm_operands *o)
{
    input_copies_free(&o->a);
    input_copies_free(&o->w);
    cudaFree(o->a.ptr[0]);
    cudaFree(o->w.ptr[0]);
    memset(o, 0, sizeof *o);
}

/* rows × k dense host bytes into a zeroed device matrix of rows_pad rows lda apart */
static cudaError_t upload_padded(void **dst, const void *src, int rows, int rows_pad, int k, size_t lda,
                                 cudaStream_t st)
{
    cudaError_t e = cudaMalloc(dst, (size_t)rows_pad * lda);
    if (e == cudaSuccess && (lda != (size_t)k || rows_pad != rows))
        e = cudaMemsetAsync(*dst, 0, (size_t)rows_pad * lda, st);
    if (e == cudaSuccess)
        e = cudaMemcpy2DAsync(*dst, lda, src, (size_t)k, (size_t)k, (size_t)rows, cudaMemcpyHostToDevice, st);
    return e;
}

int qgemm_operands_new(struct qgemm_operands *o, const void *a, const void *w, int m, int n, int k,
                       int copies_wanted, void *stream, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->m = m, o->n = n, o->k = k, o->lda = QGEMM_LDA(k);
    o->m_pad = (m + 15) / 16 * 16, o->n_pad = (n + 15) / 16 * 16;
    cudaStream_t st = (cudaStream_t)stream;
    const size_t a_bytes = (size_t)o->m_pad * o->lda, w_bytes = (size_t)o->n_pad * o->lda, bytes = a_bytes + w_bytes;
    int copies = copies_wanted < 1 ? 1 : copies_wanted > QGEMM_COPIES_MAX ? QGEMM_COPIES_MAX : copies_wanted;
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
        /* leave half of what is free to the output, the library's workspace and other cases */
        while (copies > 1 && (double)copies * (double)bytes > 0.5 * (double)free_b)
            copies--;
        if ((double)bytes > 0.8 * (double)free_b) {
            snprintf(err, errlen, "A and W need %.2f GiB of GPU memory, %.2f GiB free", (double)bytes / 1073741824.0,
                     (double)free_b / 1073741824.0);
            return KB_UNSUPPORTED;
        }
    }
    cudaError_t e = upload_padded(&o->a.ptr[0], a, m, o->m_pad, k, o->lda, st);
    if (e == cudaSuccess)
        e = upload_padded(&o->w.ptr[0], w, n, o->n_pad, k, o->lda, st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(st);
    if (e != cudaSuccess) {
        qgemm_operands_free(o);
        return fail_cuda(e, "uploading A and W", err, errlen);
    }
    /* the rotation's copies are made on the GPU from the uploads (fewer if memory runs short) */
    copies = input_copies_make(&o->a, o->a.ptr[0], a_bytes, copies, st);
    o->copies = input_copies_make(&o->w, o->w.ptr[0], w_bytes, copies, st);
    return KB_OK;
}

int qgemm_operands_pick(const struct qgemm_operands *o, int input_copy)
{
    return input_copy >= 0 && input_copy < o->copies ? input_copy : 0;
}

int qgemm_fp8_capable(int device, char *err, size_t errlen)
{
    struct cudaDeviceProp p;
    cudaError_t e = cudaGetDeviceProperties(&p, device);
    if (e != cudaSuccess) {
        fail_cuda(e, "cudaGetDeviceProperties", err, errlen);
        return 0;
    }
    if (p.major * 10 + p.minor < 89) {
        snprintf(err, errlen, "e4m3 tensor cores need compute capability 8.9 or later; %s is %d.%d", p.name, p.major,
                 p.minor);
        return 0;
    }
    return 1;
}
