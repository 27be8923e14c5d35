/* attention_convert.cu - float32 <-> f16/bf16 on the GPU, for the CUDA attention kernels'
 * inputs and outputs (attention_cuda.h). */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

extern "C" {
#include "kernels/attention/attention_cuda.h"
}

template <typename T> __device__ T from_float(float x);
template <> __device__ __half from_float<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
__device__ float to_float(__half x) { return __half2float(x); }
__device__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T> __global__ void round_kernel(float *src, T *dst, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        T v = from_float<T>(src[i]);
        dst[i] = v;
        src[i] = to_float(v);
    }
}

template <typename T> __global__ void widen_kernel(const T *src, float *dst, size_t n)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dst[i] = to_float(src[i]);
}

static unsigned blocks_for(size_t n)
{
    size_t b = (n + 255) / 256;
    return (unsigned)(b > 65535 ? 65535 : b < 1 ? 1 : b);
}

extern "C" int attention_cuda_round(float *d_src, void *d_dst, size_t n, enum kb_dtype t, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (t == KB_DTYPE_F16)
        round_kernel<<<blocks_for(n), 256, 0, st>>>(d_src, (__half *)d_dst, n);
    else if (t == KB_DTYPE_BF16)
        round_kernel<<<blocks_for(n), 256, 0, st>>>(d_src, (__nv_bfloat16 *)d_dst, n);
    else
        return (int)cudaErrorInvalidValue;
    return (int)cudaGetLastError();
}

extern "C" int attention_cuda_widen(const void *d_src, float *d_dst, size_t n, enum kb_dtype t, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (t == KB_DTYPE_F16)
        widen_kernel<<<blocks_for(n), 256, 0, st>>>((const __half *)d_src, d_dst, n);
    else if (t == KB_DTYPE_BF16)
        widen_kernel<<<blocks_for(n), 256, 0, st>>>((const __nv_bfloat16 *)d_src, d_dst, n);
    else
        return (int)cudaErrorInvalidValue;
    return (int)cudaGetLastError();
}
