/* decode_split.cu - the device code of attention.flash@cuda.decode: flash-decoding.
 *
 * The decode step reads the whole KV cache once for one query token per head, so it is bound
 * by memory bandwidth, and one CTA per (batch, head) cannot fill the GPU at small batch. The N
 * tokens of each (batch, KV head) are cut into `splits` ranges (decode_cuda_split); one CTA per
 * (split, batch, KV head, chunk of at most 8 query heads of the GQA group) walks its range:
 *   - a sub-warp of D/8 lanes owns one token at a time, each lane 8 channels (one 16-byte load
 *     of K and one of V), so a warp reads 32/(D/8) whole rows per step; U steps are loaded
 *     before any is used, so several rows per sub-warp are in flight;
 *   - the score of each query head of the group is the sub-warp's xor-shuffle sum, scaled to
 *     base 2 (log2(e)/√d); each sub-warp keeps per head a running max m, sum l and its lanes'
 *     slice of the unnormalised output (online softmax);
 *   - the CTA's sub-warps are merged through shared memory (rescaled to the CTA's max) into a
 *     partial (m, l, o) per query head and split, in float32.
 * A second kernel combines the splits of each (batch, head) by log-sum-exp: with M the largest
 * m_s, O = Σ 2^(m_s − M)·o_s / Σ 2^(m_s − M)·l_s, written in the case's dtype.
 * The combine is launched with programmatic dependent launch (pdl.cuh), so at batch 1, where
 * the whole step is some tens of microseconds, it does not add a launch gap after the split
 * kernel's tail.
 * Paged cache: logical token t of sequence b is row t % page of physical page
 * table[b][t / page] (pool [pages, H_kv, page, d], paged_kv.h); the lookup is per token, so
 * any page size works and pages need not be contiguous. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "kernels/gpu/pdl.cuh"

extern "C" {
#include "kernels/attention/decode_cuda.h"
}

namespace {

constexpr int kWarps = 4;
constexpr int kThreads = 32 * kWarps;

__device__ __forceinline__ void widen8(const uint4 &raw, float *f, const __half *)
{
    const __half2 *h = reinterpret_cast<const __half2 *>(&raw);
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 x = __half22float2(h[i]);
        f[2 * i] = x.x;
        f[2 * i + 1] = x.y;
    }
}

__device__ __forceinline__ void widen8(const uint4 &raw, float *f, const __nv_bfloat16 *)
{
    const __nv_bfloat162 *h = reinterpret_cast<const __nv_bfloat162 *>(&raw);
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 x = __bfloat1622float2(h[i]);
        f[2 * i] = x.x;
        f[2 * i + 1] = x.y;
    }
}

__device__ __forceinline__ void from_float(float x, __half *out) { *out = __float2half_rn(x); }
__device__ __forceinline__ void from_float(float x, __nv_bfloat16 *out) { *out = __float2bfloat16_rn(x); }

/* Element offset of token t's row of (b, kvh): contiguous [B, H_kv, N, D] or through the table. */
template <int D>
__device__ __forceinline__ size_t row_offset(int t, int b, int kvh, int kv_heads, int n, int page, int pages,
                                             const int32_t *table)
{
    if (!table)
        return (((size_t)b * kv_heads + kvh) * (size_t)n + (size_t)t) * D;
    const int phys = __ldg(table + (size_t)b * pages + t / page);
    return (((size_t)phys * kv_heads + kvh) * (size_t)page + (size_t)(t % page)) * D;
}

/* One CTA: tokens [split·chunk, min(N, (split+1)·chunk)) of one (batch, KV head), query heads
 * h0 .. h0 + nh − 1 (G >= nh, a power of two). grid: (B·H_kv·head_chunks, splits): the long
 * dimension in x, which has no 65535 limit. */
template <typename T, int D, int G>
__global__ void __launch_bounds__(kThreads) decode_split_kernel(
    const T *__restrict__ q, const T *__restrict__ k, const T *__restrict__ v, const int32_t *__restrict__ table,
    float *__restrict__ part_o, float *__restrict__ part_ml, int heads, int kv_heads, int n, int page, int pages,
    int chunk, int splits, int head_chunks, float scale_log2)
{
    constexpr int L = D / 8;           /* lanes per token: 8 channels (16 bytes) each */
    constexpr int SUBS = 32 / L;       /* tokens a warp reads per step */
    constexpr int NS = kWarps * SUBS;  /* sub-warps of the CTA */
    constexpr int U = G >= 8 ? 2 : 4;  /* steps loaded ahead (fewer where the group's registers are many) */
    __shared__ float sm_m[NS][G], sm_l[NS][G];
    __shared__ float sm_acc[NS][G][D];

    /* the combine may take the SMs this grid's last wave leaves idle; it waits for our end */
    kb_pdl::launch_dependents();
    const int split = blockIdx.y;
    const int hc = blockIdx.x % head_chunks, bk = blockIdx.x / head_chunks;
    const int b = bk / kv_heads, kvh = bk % kv_heads;
    const int group = heads / kv_heads;
    const int h0 = kvh * group + hc * G;
    const int nh = group - hc * G < G ? group - hc * G : G;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int sub = warp * SUBS + lane / L, sl = lane % L;

    float qr[G][8];
#pragma unroll
    for (int h = 0; h < G; h++) {
        if (h < nh) {
            uint4 raw = *reinterpret_cast<const uint4 *>(q + ((size_t)b * heads + h0 + h) * D + sl * 8);
            widen8(raw, qr[h], (const T *)nullptr);
        } else {
#pragma unroll
            for (int i = 0; i < 8; i++)
                qr[h][i] = 0.0f;
        }
    }
    float m[G], l[G], acc[G][8];
#pragma unroll
    for (int h = 0; h < G; h++) {
        m[h] = -INFINITY;
        l[h] = 0.0f;
#pragma unroll
        for (int i = 0; i < 8; i++)
            acc[h][i] = 0.0f;
    }

    const int t_begin = split * chunk;
    const int t_end = n - t_begin < chunk ? n : t_begin + chunk;
    /* the loop bound is the same for every thread, so the shuffles below see whole warps */
    for (int base = t_begin; base < t_end; base += NS * U) {
        uint4 kr[U], vr[U];
        bool ok[U];
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int t = base + u * NS + sub;
            ok[u] = t < t_end;
            kr[u] = make_uint4(0, 0, 0, 0);
            vr[u] = make_uint4(0, 0, 0, 0);
            if (ok[u]) {
                const size_t at = row_offset<D>(t, b, kvh, kv_heads, n, page, pages, table) + sl * 8;
                kr[u] = __ldg(reinterpret_cast<const uint4 *>(k + at));
                vr[u] = __ldg(reinterpret_cast<const uint4 *>(v + at));
            }
        }
        float s[U][G];
#pragma unroll
        for (int u = 0; u < U; u++) {
            float kf[8];
            widen8(kr[u], kf, (const T *)nullptr);
#pragma unroll
            for (int h = 0; h < G; h++) {
                float dot = 0.0f;
#pragma unroll
                for (int i = 0; i < 8; i++)
                    dot = fmaf(qr[h][i], kf[i], dot);
#pragma unroll
                for (int off = L / 2; off > 0; off /= 2)
                    dot += __shfl_xor_sync(0xffffffffu, dot, off);
                s[u][h] = ok[u] ? dot * scale_log2 : -INFINITY;
            }
        }
#pragma unroll
        for (int h = 0; h < G; h++) {
            float mx = m[h];
#pragma unroll
            for (int u = 0; u < U; u++)
                mx = fmaxf(mx, s[u][h]);
            /* a sub-warp that has seen no token yet keeps m = -inf: nothing to rescale */
            const float ref = mx == -INFINITY ? 0.0f : mx;
            const float alpha = exp2f(m[h] - ref);
            l[h] *= alpha;
#pragma unroll
            for (int i = 0; i < 8; i++)
                acc[h][i] *= alpha;
#pragma unroll
            for (int u = 0; u < U; u++) {
                const float p = exp2f(s[u][h] - ref); /* 0 for a token past the end */
                float vf[8];
                widen8(vr[u], vf, (const T *)nullptr);
                l[h] += p;
#pragma unroll
                for (int i = 0; i < 8; i++)
                    acc[h][i] = fmaf(p, vf[i], acc[h][i]);
            }
            m[h] = mx;
        }
    }

    /* every lane of a sub-warp holds the same m and l (the scores were shuffle-summed) */
#pragma unroll
    for (int h = 0; h < G; h++) {
        if (sl == 0) {
            sm_m[sub][h] = m[h];
            sm_l[sub][h] = l[h];
        }
#pragma unroll
        for (int i = 0; i < 8; i++)
            sm_acc[sub][h][sl * 8 + i] = acc[h][i];
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < nh * D; idx += kThreads) {
        const int h = idx / D, e = idx % D;
        float mx = -INFINITY;
        for (int w = 0; w < NS; w++)
            mx = fmaxf(mx, sm_m[w][h]);
        /* the split holds at least one token, so mx is finite */
        float sum = 0.0f, o = 0.0f;
        for (int w = 0; w < NS; w++) {
            const float scale = exp2f(sm_m[w][h] - mx); /* 0 for a sub-warp without tokens */
            sum += scale * sm_l[w][h];
            o += scale * sm_acc[w][h][e];
        }
        const size_t p = ((size_t)b * heads + h0 + h) * splits + split;
        part_o[p * D + e] = o;
        if (e == 0) {
            part_ml[2 * p] = mx;
            part_ml[2 * p + 1] = sum;
        }
    }
}

/* One CTA of COMBINE_THREADS per (batch, head): the splits' partials merged by log-sum-exp.
 * All threads first share the work over the splits (the largest max M, then each split's weight
 * 2^(m_s − M) into shared memory and the weighted sum of the l_s); then R = COMBINE_THREADS / D
 * groups of D threads each sum every R-th split's partial of channel e, several loads in flight,
 * and the groups' sums are added through shared memory. At batch 1 there are only B·H of these
 * CTAs: with one thread per channel walking all the splits the combine took 11-14 us of a
 * 61-us step on the H100; R groups cut that walk R-fold. */
constexpr int COMBINE_THREADS = 512;

template <typename T, int D>
__global__ void __launch_bounds__(COMBINE_THREADS) decode_combine_kernel(const float *__restrict__ part_o,
                                                                        const float *__restrict__ part_ml,
                                                                        T *__restrict__ o, int splits)
{
    constexpr int R = COMBINE_THREADS / D, WARPS = COMBINE_THREADS / 32;
    static_assert(R >= 1 && R * D == COMBINE_THREADS, "whole groups of D threads");
    __shared__ float weight[DECODE_CUDA_MAX_SPLITS];
    __shared__ float red[WARPS];
    __shared__ float group_sum[R][D];
    kb_pdl::wait(); /* launched early (PDL): the split kernel's partials are complete only now */
    const size_t row = blockIdx.x;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const float *ml = part_ml + row * splits * 2;
    float mx = -INFINITY;
    for (int s = tid; s < splits; s += COMBINE_THREADS)
        mx = fmaxf(mx, ml[2 * s]);
    for (int off = 16; off > 0; off /= 2)
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
    if (lane == 0)
        red[warp] = mx;
    __syncthreads();
    mx = red[0];
#pragma unroll
    for (int w = 1; w < WARPS; w++)
        mx = fmaxf(mx, red[w]);
    __syncthreads(); /* red is reused below */
    float sum = 0.0f;
    for (int s = tid; s < splits; s += COMBINE_THREADS) {
        const float w = exp2f(ml[2 * s] - mx);
        weight[s] = w;
        sum += w * ml[2 * s + 1];
    }
    for (int off = 16; off > 0; off /= 2)
        sum += __shfl_xor_sync(0xffffffffu, sum, off);
    if (lane == 0)
        red[warp] = sum;
    __syncthreads(); /* also publishes weight[] */
    sum = 0.0f;
#pragma unroll
    for (int w = 0; w < WARPS; w++)
        sum += red[w];
    const int e = tid % D, r = tid / D;
    const float *po = part_o + row * splits * D + e;
    float acc = 0.0f;
#pragma unroll 8
    for (int s = r; s < splits; s += R)
        acc = fmaf(weight[s], po[(size_t)s * D], acc);
    group_sum[r][e] = acc;
    __syncthreads();
    if (tid < D) {
        float total = 0.0f;
#pragma unroll
        for (int g = 0; g < R; g++)
            total += group_sum[g][tid];
        from_float(total / sum, o + row * D + tid);
    }
}

template <typename T, int D, int G>
cudaError_t launch_split(const struct decode_cuda_args *a, int head_chunks, cudaStream_t st)
{
    const int pages = a->page > 0 ? (a->n + a->page - 1) / a->page : 0;
    const float scale_log2 = (float)(1.4426950408889634 / sqrt((double)D));
    dim3 grid((unsigned)(a->batch * a->kv_heads * head_chunks), (unsigned)a->splits);
    decode_split_kernel<T, D, G><<<grid, kThreads, 0, st>>>(
        (const T *)a->q, (const T *)a->k, (const T *)a->v, a->page > 0 ? a->table : nullptr, a->part_o, a->part_ml,
        a->heads, a->kv_heads, a->n, a->page, pages, a->chunk, a->splits, head_chunks, scale_log2);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return e;
    /* PDL: the combine is launched while the split kernel's last wave runs, not after it */
    return kb_pdl::launch_pdl(decode_combine_kernel<T, D>, dim3((unsigned)(a->batch * a->heads)),
                              dim3(COMBINE_THREADS), 0, st,
                              a->part_o, a->part_ml, (T *)a->o, a->splits);
}

template <typename T, int D>
cudaError_t launch_d(const struct decode_cuda_args *a, cudaStream_t st)
{
    const int group = a->heads / a->kv_heads;
    const int g = group < DECODE_CUDA_MAX_GROUP ? group : DECODE_CUDA_MAX_GROUP;
    const int G = g <= 1 ? 1 : g <= 2 ? 2 : g <= 4 ? 4 : 8;
    const int head_chunks = decode_cuda_head_chunks(group); /* G < 8 only where the group fits one chunk */
    switch (G) {
    case 1: return launch_split<T, D, 1>(a, head_chunks, st);
    case 2: return launch_split<T, D, 2>(a, head_chunks, st);
    case 4: return launch_split<T, D, 4>(a, head_chunks, st);
    default: return launch_split<T, D, 8>(a, head_chunks, st);
    }
}

template <typename T>
cudaError_t launch_t(const struct decode_cuda_args *a, cudaStream_t st)
{
    switch (a->d) {
    case 64: return launch_d<T, 64>(a, st);
    case 128: return launch_d<T, 128>(a, st);
    case 256: return launch_d<T, 256>(a, st);
    default: return cudaErrorInvalidValue;
    }
}

} // namespace

extern "C" int decode_cuda_launch(const struct decode_cuda_args *a, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (a->dtype == KB_DTYPE_BF16)
        return (int)launch_t<__nv_bfloat16>(a, st);
    if (a->dtype == KB_DTYPE_F16)
        return (int)launch_t<__half>(a, st);
    return (int)cudaErrorInvalidValue;
}
