/* int8_quant.cu - attention.int8@cuda.mma's pre-pass: K smoothed and Q, K quantized to INT8 on
 * the GPU, by exactly the arithmetic of int8_common.c (int8.h), so that verify can compare the
 * codes and scales bit for bit with the host emulation:
 *   mean   per (kv head, channel): the f16 K values summed in float64 per INT8_MEAN_CHUNK
 *          tokens in token order (one thread per chunk and channel: channel_partials), then
 *          those partial sums in chunk order, divided by N in float64 and rounded to float
 *          (one thread per channel: channel_mean). The order is the definition;
 *   block  per (head, 64 tokens): absmax = max |x − shift| (float, order-free), inv = 127/absmax
 *          (IEEE division), code = clamp(rint((x − shift)·inv), ±127) with round-half-even,
 *          scale = absmax/127. Every step is a single IEEE-rounded float operation, written
 *          with the _rn intrinsics so no FMA contraction can change a result.
 * Inputs are f16 [B,H(_kv),N,d]; codes [B,H(_kv),N,d] int8, scales [B,H(_kv),ceil(N/64)].
 * attention.int8@cuda.wgmma-fp8 adds V's e4m3 codes, transposed and permuted, with a scale per
 * channel (int8_cuda_quantize_v_fp8; int8.h defines them, int8_fp8_quantize_v emulates them). */
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "kernels/attention/attention_cuda.h"
#include "kernels/attention/int8.h"
}

namespace {

constexpr int QUANT_THREADS = 256;

/* partial[head][chunk][c]: grid (chunks, kv heads), one thread per channel (a warp reads a
 * token's contiguous channels). */
__global__ void channel_partials(const __half *__restrict__ k, double *__restrict__ partial, int n, int d)
{
    const int c = threadIdx.x, chunk = blockIdx.x, head = blockIdx.y, chunks = gridDim.x;
    if (c >= d)
        return;
    const int t0 = chunk * INT8_MEAN_CHUNK, t1 = min(n, t0 + INT8_MEAN_CHUNK);
    const __half *x = k + (size_t)head * n * d + c;
    double part = 0;
#pragma unroll 8
    for (int t = t0; t < t1; t++)
        part += (double)__half2float(x[(size_t)t * d]);
    partial[((size_t)head * chunks + chunk) * d + c] = part;
}

__global__ void channel_mean(const double *__restrict__ partial, float *__restrict__ mean, int n, int d, int chunks,
                             int channels)
{
    const int idx = blockIdx.x * blockDim.x + threadIdx.x; /* (kv head, channel) */
    if (idx >= channels)
        return;
    const double *p = partial + (size_t)(idx / d) * chunks * d + idx % d;
    double sum = 0;
    for (int j = 0; j < chunks; j++)
        sum += p[(size_t)j * d];
    mean[idx] = (float)(sum / n);
}

/* One block of INT8_BLOCK tokens of one head per thread block; 4 channels per thread step.
 * E4M3 (attention.flash@cuda.wgmma-fp8): the same block with 448 for 127 and e4m3 codes
 * (round to nearest even, saturating) for the clamped integers: int8.h's fp8_quantize_block. */
template <bool E4M3>
__global__ void __launch_bounds__(QUANT_THREADS)
quantize_blocks(const __half *__restrict__ x, const float *__restrict__ shift, int8_t *__restrict__ codes,
                float *__restrict__ scale, int n, int d, int blocks)
{
    const int blk = blockIdx.x, head = blockIdx.y, t0 = blk * INT8_BLOCK;
    const int rows = min(INT8_BLOCK, n - t0), quads = rows * d / 4;
    const size_t base = ((size_t)head * n + t0) * d;
    const float *sh = shift ? shift + (size_t)head * d : nullptr;
    const uint2 *src = reinterpret_cast<const uint2 *>(x + base); /* 4 halves */
    __shared__ float warp_max[QUANT_THREADS / 32];
    __shared__ float block_inv;

    float amax = 0.f;
    for (int i = threadIdx.x; i < quads; i += QUANT_THREADS) {
        uint2 raw = src[i];
        const __half *hv = reinterpret_cast<const __half *>(&raw);
        int c = (i * 4) % d;
#pragma unroll
        for (int e = 0; e < 4; e++)
            amax = fmaxf(amax, fabsf(__fsub_rn(__half2float(hv[e]), sh ? sh[c + e] : 0.f)));
    }
#pragma unroll
    for (int off = 16; off > 0; off /= 2)
        amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
    if (threadIdx.x % 32 == 0)
        warp_max[threadIdx.x / 32] = amax;
    __syncthreads();
    if (threadIdx.x == 0) {
        float m = 0.f;
        for (int w = 0; w < QUANT_THREADS / 32; w++)
            m = fmaxf(m, warp_max[w]);
        const float qmax = E4M3 ? INT8_FP8_MAX : 127.f;
        block_inv = m > 0.f ? __fdiv_rn(qmax, m) : 0.f;
        scale[(size_t)head * blocks + blk] = __fdiv_rn(m, qmax);
    }
    __syncthreads();
    const float inv = block_inv;
    uint32_t *dst = reinterpret_cast<uint32_t *>(codes + base);
    for (int i = threadIdx.x; i < quads; i += QUANT_THREADS) {
        uint2 raw = src[i];
        const __half *hv = reinterpret_cast<const __half *>(&raw);
        int c = (i * 4) % d;
        uint32_t word = 0;
#pragma unroll
        for (int e = 0; e < 4; e++) {
            float v = __fmul_rn(__fsub_rn(__half2float(hv[e]), sh ? sh[c + e] : 0.f), inv);
            if constexpr (E4M3) {
                word |= (uint32_t)__nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3) << (8 * e);
            } else {
                int r = min(127, max(-127, __float2int_rn(v)));
                word |= (uint32_t)(uint8_t)(int8_t)r << (8 * e);
            }
        }
        dst[i] = word;
    }
}

/* V for the FP8 P·V (int8.h): amax[head][c] = max |v| over the head's tokens, one thread per
 * channel and chunk of INT8_MEAN_CHUNK tokens (grid: chunks, KV heads), combined by atomicMax
 * on the bit patterns (non-negative floats order as unsigned integers; amax is zeroed first).
 * A maximum is order-free, so the result is the host's. */
__global__ void v_channel_absmax(const __half *__restrict__ v, unsigned *__restrict__ amax, int n, int d)
{
    const int c = threadIdx.x, chunk = blockIdx.x, head = blockIdx.y;
    if (c >= d)
        return;
    const int t0 = chunk * INT8_MEAN_CHUNK, t1 = min(n, t0 + INT8_MEAN_CHUNK);
    const __half *x = v + (size_t)head * n * d + c;
    float m = 0.f;
    for (int t = t0; t < t1; t++)
        m = fmaxf(m, fabsf(__half2float(x[(size_t)t * d])));
    atomicMax(amax + (size_t)head * d + c, __float_as_uint(m));
}

constexpr int VT_KEYS = 128, VT_D = 128, VT_THREADS = 256;

/* int8.h's int8_fp8_pv_key (a C function, host only), for the device; the launcher checks the
 * two agree. */
__host__ __device__ constexpr int pv_key(int p)
{
    return 16 * (p / 16) + 8 * ((p % 4) / 2) + 2 * ((p % 16) / 4) + p % 2;
}

/* One tile of VT_KEYS keys of one KV head (grid: tiles, KV heads) as transposed, permuted e4m3
 * codes vt [head][VT_D][keys] (keys = int8_fp8_v_keys(n)), with the channel scales from tile 0.
 * V's rows are staged in shared memory (rows padded so a warp's transposed reads spread over
 * banks); each thread then writes 32-bit words of 4 positions of one channel row. Every step
 * is one IEEE-rounded operation, as in int8_fp8_quantize_v. */
__global__ void __launch_bounds__(VT_THREADS)
v_encode_fp8(const __half *__restrict__ v, const unsigned *__restrict__ amax, uint8_t *__restrict__ vt,
             float *__restrict__ vscale, int n, int keys)
{
    constexpr int LD = VT_D + 2;
    __shared__ __half tile[VT_KEYS * LD];
    const int t0 = blockIdx.x * VT_KEYS, head = blockIdx.y;
    const __half *src = v + (size_t)head * n * VT_D;
    for (int i = threadIdx.x; i < VT_KEYS * VT_D; i += VT_THREADS) {
        const int t = i / VT_D, c = i % VT_D;
        tile[t * LD + c] = t0 + t < n ? src[(size_t)(t0 + t) * VT_D + c] : __float2half(0.f);
    }
    if (blockIdx.x == 0)
        for (int c = threadIdx.x; c < VT_D; c += VT_THREADS)
            vscale[(size_t)head * VT_D + c] = __fdiv_rn(__uint_as_float(amax[(size_t)head * VT_D + c]), INT8_FP8_MAX);
    __syncthreads();
    uint32_t *dst = reinterpret_cast<uint32_t *>(vt + (size_t)head * VT_D * keys + t0);
    for (int i = threadIdx.x; i < VT_D * (VT_KEYS / 4); i += VT_THREADS) {
        const int c = i / (VT_KEYS / 4), w = i % (VT_KEYS / 4);
        const float m = __uint_as_float(amax[(size_t)head * VT_D + c]);
        const float inv = m > 0.f ? __fdiv_rn(INT8_FP8_MAX, m) : 0.f;
        uint32_t word = 0;
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int p = 4 * w + e, t = p / 32 * 32 + pv_key(p % 32);
            const float x = __fmul_rn(__half2float(tile[t * LD + c]), inv);
            const uint32_t code = t0 + t < n ? (uint32_t)__nv_cvt_float_to_fp8(x, __NV_SATFINITE, __NV_E4M3) : 0u;
            word |= code << (8 * e);
        }
        dst[(size_t)c * (keys / 4) + w] = word;
    }
}

} // namespace

extern "C" int int8_cuda_quantize_v_fp8(const struct kb_shape *s, const void *v, unsigned *vmax, void *vt,
                                        float *vscale, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    const int n = s->seq_len, heads = s->batch * s->kv_heads, keys = int8_fp8_v_keys(n);
    if (s->head_dim != VT_D)
        return (int)cudaErrorInvalidValue;
    for (int p = 0; p < 32; p++)
        if (pv_key(p) != int8_fp8_pv_key(p))
            return (int)cudaErrorInvalidValue;
    cudaError_t e = cudaMemsetAsync(vmax, 0, (size_t)heads * VT_D * sizeof(unsigned), st);
    if (e != cudaSuccess)
        return (int)e;
    v_channel_absmax<<<dim3(int8_mean_chunks(n), heads), VT_D, 0, st>>>((const __half *)v, vmax, n, VT_D);
    v_encode_fp8<<<dim3(keys / VT_KEYS, heads), VT_THREADS, 0, st>>>((const __half *)v, vmax, (uint8_t *)vt, vscale, n,
                                                                     keys);
    return (int)cudaGetLastError();
}

namespace {

/* The pre-pass of both code formats: K's channel means, then Q's and K's blocks. */
template <bool E4M3>
int quantize_qk(const struct kb_shape *s, const void *q, const void *k, double *kpartial, float *kmean, void *q8,
                void *k8, float *qscale, float *kscale, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    const int n = s->seq_len, d = s->head_dim, blocks = (n + INT8_BLOCK - 1) / INT8_BLOCK;
    if (d % 4 != 0)
        return (int)cudaErrorInvalidValue;
    const int channels = s->batch * s->kv_heads * d, chunks = int8_mean_chunks(n);
    channel_partials<<<dim3(chunks, s->batch * s->kv_heads), (d + 31) / 32 * 32, 0, st>>>((const __half *)k, kpartial,
                                                                                         n, d);
    channel_mean<<<(channels + 127) / 128, 128, 0, st>>>(kpartial, kmean, n, d, chunks, channels);
    quantize_blocks<E4M3><<<dim3(blocks, s->batch * s->heads), QUANT_THREADS, 0, st>>>((const __half *)q, nullptr,
                                                                                       (int8_t *)q8, qscale, n, d,
                                                                                       blocks);
    quantize_blocks<E4M3><<<dim3(blocks, s->batch * s->kv_heads), QUANT_THREADS, 0, st>>>((const __half *)k, kmean,
                                                                                          (int8_t *)k8, kscale, n, d,
                                                                                          blocks);
    return (int)cudaGetLastError();
}

} // namespace

extern "C" int int8_cuda_quantize(const struct kb_shape *s, const void *q, const void *k, double *kpartial,
                                  float *kmean, void *q8, void *k8, float *qscale, float *kscale, void *stream)
{
    return quantize_qk<false>(s, q, k, kpartial, kmean, q8, k8, qscale, kscale, stream);
}

extern "C" int int8_cuda_quantize_e4m3(const struct kb_shape *s, const void *q, const void *k, double *kpartial,
                                       float *kmean, void *q8, void *k8, float *qscale, float *kscale, void *stream)
{
    return quantize_qk<true>(s, q, k, kpartial, kmean, q8, k8, qscale, kscale, stream);
}
