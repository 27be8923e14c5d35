/* naive_cuda.cu - the device code of the naive CUDA attention baselines (naive_cuda.h):
 * attention.window@cuda.naive and attention.linear@cuda.naive. Written the way a first CUDA
 * port of the scalar CPU loops would be, on purpose: every operand read from global memory
 * element by element in float32 arithmetic, no tensor cores, no shared-memory tiles of K or V.
 * The fast kernels they are measured against are flash_mma.cu (window) and linear_mma.cu. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>

extern "C" {
#include "kernels/attention/naive_cuda.h"
}

namespace {

constexpr int WINDOW_THREADS = 128; /* one block per query row */
constexpr int SCORE_TILE = 16;      /* linear scores: a 16×16 block of (i, j) elements */
constexpr int OUTPUT_THREADS_MAX = 256;

__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T> __device__ T from_float(float x);
template <> __device__ __half from_float<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

/* The whole block's maximum / sum of one value per thread; red holds one slot per warp and is
 * used by one reduction only (so no barrier is needed before it is written). */
__device__ float block_max(float x, float *red)
{
    for (int off = 16; off > 0; off /= 2)
        x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, off));
    if (threadIdx.x % 32 == 0)
        red[threadIdx.x / 32] = x;
    __syncthreads();
    float m = red[0];
    for (int w = 1; w < WINDOW_THREADS / 32; w++)
        m = fmaxf(m, red[w]);
    return m;
}

__device__ float block_sum(float x, float *red)
{
    for (int off = 16; off > 0; off /= 2)
        x += __shfl_xor_sync(0xffffffffu, x, off);
    if (threadIdx.x % 32 == 0)
        red[threadIdx.x / 32] = x;
    __syncthreads();
    float s = red[0];
    for (int w = 1; w < WINDOW_THREADS / 32; w++)
        s += red[w];
    return s;
}

/* The KV head query head (b, h) reads under GQA: b·H_kv + h / (H / H_kv). */
__device__ __forceinline__ long long kv_head_of(long long q_head, int heads, int kv_heads)
{
    return q_head / heads * kv_heads + (int)(q_head % heads) / (heads / kv_heads);
}

/* ---- attention.window@cuda.naive ----------------------------------------------------------- */

/* Block = query row `row` of [B·H·N]. Shared: the query [d] in float32, then the scores of its
 * keys j0 .. i (at most W). Thread t owns keys t, t + 128, ... in the score and exp loops (so
 * it rewrites only its own scores), and channels t, t + 128, ... in P·V. */
template <typename T>
__global__ void __launch_bounds__(WINDOW_THREADS)
    window_naive(const T *__restrict__ q, const T *__restrict__ k, const T *__restrict__ v, T *__restrict__ o,
                 int heads, int kv_heads, int n, int d, int w, float scale)
{
    extern __shared__ float smem[];
    __shared__ float red_max[WINDOW_THREADS / 32], red_sum[WINDOW_THREADS / 32];
    float *qs = smem, *score = smem + d;
    const long long row = blockIdx.x;
    const int i = (int)(row % n);
    const long long kv_head = kv_head_of(row / n, heads, kv_heads);
    const T *kh = k + kv_head * n * d, *vh = v + kv_head * n * d;
    const int j0 = i - w + 1 > 0 ? i - w + 1 : 0, keys = i + 1 - j0;

    for (int p = threadIdx.x; p < d; p += WINDOW_THREADS)
        qs[p] = to_float(q[row * d + p]);
    __syncthreads();

    float mx = -INFINITY;
    for (int j = threadIdx.x; j < keys; j += WINDOW_THREADS) {
        const T *kr = kh + (long long)(j0 + j) * d;
        float acc = 0.f;
        for (int p = 0; p < d; p++)
            acc += qs[p] * to_float(kr[p]);
        score[j] = acc * scale;
        mx = fmaxf(mx, score[j]);
    }
    mx = block_max(mx, red_max);

    float sum = 0.f;
    for (int j = threadIdx.x; j < keys; j += WINDOW_THREADS) {
        float e = expf(score[j] - mx);
        score[j] = e;
        sum += e;
    }
    sum = block_sum(sum, red_sum); /* its barrier also publishes every thread's exp scores */
    const float inv = 1.f / sum;    /* sum >= 1: the maximum's own term is exp(0) */

    for (int p = threadIdx.x; p < d; p += WINDOW_THREADS) {
        float acc = 0.f;
        for (int j = 0; j < keys; j++)
            acc += score[j] * to_float(vh[(long long)(j0 + j) * d + p]);
        o[row * d + p] = from_float<T>(acc * inv);
    }
}

/* ---- attention.linear@cuda.naive ----------------------------------------------------------- */

__device__ __forceinline__ float feature(float x, int relu)
{
    return relu ? fmaxf(x, 0.f) : (x > 0.f ? x + 1.f : expf(x));
}

/* Thread (j, i) of block (x, y, bh) writes A[bh][i][j]. threadIdx.x runs along j, so the
 * writes of a warp's half are contiguous. */
template <typename T>
__global__ void __launch_bounds__(SCORE_TILE *SCORE_TILE)
    linear_naive_scores(const T *__restrict__ q, const T *__restrict__ k, float *__restrict__ a,
                        const float *__restrict__ decay_pow, int heads, int kv_heads, int n, int d, int relu,
                        int causal, int decay)
{
    const int j = blockIdx.x * SCORE_TILE + threadIdx.x;
    const int i = blockIdx.y * SCORE_TILE + threadIdx.y;
    const long long bh = blockIdx.z;
    if (i >= n || j >= n)
        return;
    float *out = a + (bh * n + i) * (long long)n + j;
    if (causal && j > i) {
        *out = 0.f; /* the mask, materialised as the CPU naive kernel does */
        return;
    }
    const T *qr = q + (bh * n + i) * (long long)d;
    const T *kr = k + (kv_head_of(bh, heads, kv_heads) * n + j) * (long long)d;
    float acc = 0.f;
    for (int p = 0; p < d; p++)
        acc += feature(to_float(qr[p]), relu) * feature(to_float(kr[p]), relu);
    if (decay)
        acc *= decay_pow[(long long)(bh % heads) * n + (i - j)];
    *out = acc;
}

/* Block = row `row` of [B·H·N]: each thread walks the row's weights (the same values in the
 * same order in every thread, so every thread has the same normaliser) against its channel of
 * V. */
template <typename T>
__global__ void __launch_bounds__(OUTPUT_THREADS_MAX)
    linear_naive_outputs(const float *__restrict__ a, const T *__restrict__ v, T *__restrict__ o, int heads,
                         int kv_heads, int n, int d, int causal)
{
    const long long row = blockIdx.x;
    const int i = (int)(row % n);
    const float *ar = a + row * (long long)n;
    const T *vh = v + kv_head_of(row / n, heads, kv_heads) * n * (long long)d;
    const int last = causal ? i : n - 1;
    for (int p = threadIdx.x; p < d; p += blockDim.x) {
        float acc = 0.f, den = 0.f;
        for (int j = 0; j <= last; j++) {
            const float wgt = ar[j];
            den += wgt;
            acc += wgt * to_float(vh[(long long)j * d + p]);
        }
        o[row * d + p] = from_float<T>(den > 0.f ? acc / den : 0.f);
    }
}

template <typename T>
cudaError_t window_naive_launch_t(const struct kb_shape *s, const void *q, const void *k, const void *v, void *o,
                                  cudaStream_t stream)
{
    const long long rows = (long long)s->batch * s->heads * s->seq_len;
    if (rows > 0x7fffffffLL)
        return cudaErrorInvalidConfiguration;
    window_naive<T><<<(unsigned)rows, WINDOW_THREADS, window_naive_cuda_smem(s), stream>>>(
        (const T *)q, (const T *)k, (const T *)v, (T *)o, s->heads, s->kv_heads, s->seq_len, s->head_dim,
        s->window, 1.0f / sqrtf((float)s->head_dim));
    return cudaGetLastError();
}

template <typename T>
cudaError_t linear_naive_launch_t(const struct kb_shape *s, const void *q, const void *k, const void *v, void *o,
                                  float *a, const float *decay_pow, cudaStream_t stream)
{
    const long long rows = (long long)s->batch * s->heads * s->seq_len;
    const unsigned tiles = (unsigned)((s->seq_len + SCORE_TILE - 1) / SCORE_TILE);
    if (rows > 0x7fffffffLL || (long long)s->batch * s->heads > 65535 || tiles > 65535)
        return cudaErrorInvalidConfiguration;
    dim3 grid(tiles, tiles, (unsigned)(s->batch * s->heads)), block(SCORE_TILE, SCORE_TILE);
    linear_naive_scores<T><<<grid, block, 0, stream>>>((const T *)q, (const T *)k, a, decay_pow, s->heads,
                                                       s->kv_heads, s->seq_len, s->head_dim,
                                                       s->feature == KB_FEATURE_RELU, s->causal, s->decay);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return e;
    int threads = (s->head_dim + 31) / 32 * 32;
    threads = threads < OUTPUT_THREADS_MAX ? threads : OUTPUT_THREADS_MAX;
    linear_naive_outputs<T><<<(unsigned)rows, threads, 0, stream>>>(a, (const T *)v, (T *)o, s->heads, s->kv_heads,
                                                                    s->seq_len, s->head_dim, s->causal);
    return cudaGetLastError();
}

} // namespace

extern "C" size_t window_naive_cuda_smem(const struct kb_shape *s)
{
    const int keys = s->window < s->seq_len ? s->window : s->seq_len;
    return ((size_t)s->head_dim + (size_t)keys) * sizeof(float);
}

extern "C" int window_naive_cuda_prepare(size_t smem, enum kb_dtype t)
{
    if (t == KB_DTYPE_BF16)
        return (int)cudaFuncSetAttribute(window_naive<__nv_bfloat16>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         (int)smem);
    return (int)cudaFuncSetAttribute(window_naive<__half>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
}

extern "C" int window_naive_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                        const void *v, void *o, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (t == KB_DTYPE_BF16)
        return (int)window_naive_launch_t<__nv_bfloat16>(s, q, k, v, o, st);
    if (t == KB_DTYPE_F16)
        return (int)window_naive_launch_t<__half>(s, q, k, v, o, st);
    return (int)cudaErrorInvalidValue;
}

extern "C" int linear_naive_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                        const void *v, void *o, float *a, const float *decay_pow, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (t == KB_DTYPE_BF16)
        return (int)linear_naive_launch_t<__nv_bfloat16>(s, q, k, v, o, a, decay_pow, st);
    if (t == KB_DTYPE_F16)
        return (int)linear_naive_launch_t<__half>(s, q, k, v, o, a, decay_pow, st);
    return (int)cudaErrorInvalidValue;
}
