/* moe_cuda_host.h - host-side helpers of the CUDA mixture-of-experts kernels (moe_cuda.c on one
 * GPU, moe_ep.c over a span): the padded row lengths, bf16 conversion and device buffers.
 * Private to the family. */
#ifndef KB_MOE_CUDA_HOST_H
#define KB_MOE_CUDA_HOST_H

#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/gpu/device_memory.h"

/* v rounded up to a multiple of 8 (the padded h, f and E of moe_cuda.h's layouts). */
static inline int moe_round8(int v) { return (v + 7) / 8 * 8; }

/* float32 → bf16, round to nearest even (NaN stays NaN); exact for the operations' bf16 inputs */
static inline uint16_t moe_bf16_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* A device buffer of `bytes` (16 when 0) into *pp, poisoned with 0xFF (a NaN in float32 and
 * bf16, -1 as an int) so anything a kernel fails to write fails verify. */
static inline cudaError_t moe_dev_alloc(void *pp, size_t bytes)
{
    void **p = pp;
    cudaError_t e = cudaMalloc(p, bytes ? bytes : 16);
    if (e == cudaSuccess)
        e = cudaMemset(*p, 0xFF, bytes ? bytes : 16);
    return e;
}

/* A device copy of `bytes` host bytes into *pp (16 bytes allocated, nothing copied, when 0). */
static inline cudaError_t moe_dev_copy(void *pp, const void *src, size_t bytes)
{
    void **p = pp;
    cudaError_t e = cudaMalloc(p, bytes ? bytes : 16);
    if (e == cudaSuccess && bytes)
        e = (cudaError_t)gpu_copy_to_device(*p, src, bytes);
    return e;
}

#endif
