/* softmax_rows.cu - the softmax of attention.softmax@cuda.cublas (attention_cuda.h): one block
 * per row of float32 scores; a pass for the row's maximum and sum (online, one read), then a
 * pass writing exp(s − max)/sum in 16-bit over the row's own first half. The second pass moves
 * through the row in chunks of blockDim·4 with a barrier between reading a chunk and writing
 * it: the bytes a chunk's probabilities land on hold scores already read. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>

extern "C" {
#include "kernels/attention/attention_cuda.h"
}

namespace {

constexpr int THREADS = 256, PER_THREAD = 4;

__device__ __forceinline__ void combine(float &m, float &l, float m2, float l2)
{
    float mx = fmaxf(m, m2);
    if (mx == -INFINITY)
        return;
    l = l * __expf(m - mx) + l2 * __expf(m2 - mx);
    m = mx;
}

template <typename T> __device__ T from_float(float x);
template <> __device__ __half from_float<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

template <typename T> __global__ void __launch_bounds__(THREADS) softmax_rows(float *s, int n, int causal)
{
    __shared__ float red_m[THREADS / 32], red_l[THREADS / 32];
    __shared__ float row_m, row_inv;
    const long r = blockIdx.x;
    float *row = s + r * (long)n;
    const int keys = causal ? (int)(r % n) + 1 : n;

    float m = -INFINITY, l = 0.f;
    for (int j = threadIdx.x; j < keys; j += THREADS) {
        float x = row[j];
        if (x > m) {
            l = l * __expf(m - x) + 1.f;
            m = x;
        } else {
            l += __expf(x - m);
        }
    }
    for (int off = 16; off > 0; off /= 2)
        combine(m, l, __shfl_xor_sync(0xffffffffu, m, off), __shfl_xor_sync(0xffffffffu, l, off));
    if (threadIdx.x % 32 == 0) {
        red_m[threadIdx.x / 32] = m;
        red_l[threadIdx.x / 32] = l;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        float bm = red_m[0], bl = red_l[0];
        for (int w = 1; w < THREADS / 32; w++)
            combine(bm, bl, red_m[w], red_l[w]);
        row_m = bm;
        row_inv = 1.f / bl;
    }
    __syncthreads();
    const float mx = row_m, inv = row_inv;
    T *p = reinterpret_cast<T *>(row);
    for (int c0 = 0; c0 < n; c0 += THREADS * PER_THREAD) {
        float v[PER_THREAD];
#pragma unroll
        for (int i = 0; i < PER_THREAD; i++) {
            int j = c0 + i * THREADS + threadIdx.x;
            v[i] = j < keys ? __expf(row[j] - mx) * inv : 0.f;
        }
        __syncthreads(); /* every score of this chunk is read before any probability lands */
#pragma unroll
        for (int i = 0; i < PER_THREAD; i++) {
            int j = c0 + i * THREADS + threadIdx.x;
            if (j < n)
                p[j] = from_float<T>(v[i]);
        }
        __syncthreads();
    }
}

} // namespace

extern "C" int softmax_rows_launch(float *s, long rows, int n, int causal, enum kb_dtype t, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (rows <= 0 || rows > 0x7fffffffL)
        return (int)cudaErrorInvalidValue;
    if (t == KB_DTYPE_F16)
        softmax_rows<__half><<<(unsigned)rows, THREADS, 0, st>>>(s, n, causal);
    else if (t == KB_DTYPE_BF16)
        softmax_rows<__nv_bfloat16><<<(unsigned)rows, THREADS, 0, st>>>(s, n, causal);
    else
        return (int)cudaErrorInvalidValue;
    return (int)cudaGetLastError();
}
