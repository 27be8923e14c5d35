/* moe_route_cuda.cu - the small CUDA kernels of the MoE layer (moe_cuda.h): top-k and gates,
 * the stable counting sort of the token-expert assignments, the row gather and the combine. */
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_cuda.h"
}

namespace {

/* One thread per token: insertion into a descending list of k (a strictly larger logit
 * displaces, so of equal logits the lower expert id stays ahead: the CPU and reference rule),
 * then the softmax over the chosen k, which is the softmax over all E renormalised. */
__global__ void topk_kernel(const float *__restrict__ logits, int ep, const float *__restrict__ bias, int tokens,
                            int experts, int k, int *__restrict__ ids, float *__restrict__ gates, int *counts)
{
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= tokens)
        return;
    int id[MOE_MAX_TOPK];
    float val[MOE_MAX_TOPK];
    int n = 0;
    const float *l = logits + (size_t)t * ep;
    for (int e = 0; e < experts; e++) {
        const float v = l[e] + bias[e];
        if (n == k && !(v > val[k - 1]))
            continue;
        int pos = n < k ? n++ : k - 1;
        while (pos > 0 && v > val[pos - 1]) {
            id[pos] = id[pos - 1];
            val[pos] = val[pos - 1];
            pos--;
        }
        id[pos] = e;
        val[pos] = v;
    }
    float sum = 0.f;
    for (int j = 0; j < k; j++)
        sum += expf(val[j] - val[0]);
    for (int j = 0; j < k; j++) {
        ids[(size_t)t * k + j] = id[j];
        gates[(size_t)t * k + j] = expf(val[j] - val[0]) / sum;
        if (counts)
            atomicAdd(&counts[id[j]], 1);
    }
}

/* Per chunk of CHUNK assignments: how many go to each expert, into counts[e][chunk]. */
__global__ void histogram_kernel(const int *__restrict__ ids, long n, int experts, int *__restrict__ counts)
{
    extern __shared__ int hist[];
    const int nchunks = gridDim.x;
    for (int e = threadIdx.x; e < experts; e += blockDim.x)
        hist[e] = 0;
    __syncthreads();
    const long a0 = (long)blockIdx.x * MOE_CUDA_SORT_CHUNK;
    const long a1 = a0 + MOE_CUDA_SORT_CHUNK < n ? a0 + MOE_CUDA_SORT_CHUNK : n;
    for (long a = a0 + threadIdx.x; a < a1; a += blockDim.x)
        atomicAdd(&hist[ids[a]], 1);
    __syncthreads();
    for (int e = threadIdx.x; e < experts; e += blockDim.x)
        counts[(size_t)e * nchunks + blockIdx.x] = hist[e];
}

/* One block: the exclusive scan of counts [E][nchunks] in expert-major order, in place, so
 * counts[e][c] becomes the first slot of chunk c's assignments to expert e; then offsets and
 * the row tiles of each expert for the grouped GEMM. */
__global__ void scan_kernel(int *counts, int experts, int nchunks, int *__restrict__ offsets,
                            int *__restrict__ mtile_start)
{
    __shared__ int warp_sum[32];
    __shared__ int total;
    const long len = (long)experts * nchunks;
    const int T = blockDim.x, lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const long seg = (len + T - 1) / T;
    const long b0 = threadIdx.x * seg, b1 = b0 + seg < len ? b0 + seg : len;
    int mine = 0;
    for (long i = b0; i < b1; i++)
        mine += counts[i];
    int incl = mine;
    for (int d = 1; d < 32; d *= 2) {
        int v = __shfl_up_sync(0xffffffffu, incl, d);
        if (lane >= d)
            incl += v;
    }
    if (lane == 31)
        warp_sum[warp] = incl;
    __syncthreads();
    if (warp == 0) {
        int w = lane < T / 32 ? warp_sum[lane] : 0, wi = w;
        for (int d = 1; d < 32; d *= 2) {
            int v = __shfl_up_sync(0xffffffffu, wi, d);
            if (lane >= d)
                wi += v;
        }
        warp_sum[lane] = wi - w; /* exclusive prefix of each warp */
    }
    __syncthreads();
    int run = warp_sum[warp] + incl - mine;
    for (long i = b0; i < b1; i++) {
        int c = counts[i];
        counts[i] = run;
        run += c;
    }
    if (threadIdx.x == T - 1) /* the last segment's end: every assignment before it */
        total = run;
    __syncthreads();
    if (threadIdx.x == 0) {
        int tiles = 0;
        mtile_start[0] = 0;
        for (int e = 0; e < experts; e++) {
            offsets[e] = counts[(size_t)e * nchunks];
            int end = e + 1 < experts ? counts[(size_t)(e + 1) * nchunks] : total;
            tiles += (end - offsets[e] + MOE_CUDA_BM - 1) / MOE_CUDA_BM;
            mtile_start[e + 1] = tiles;
        }
        offsets[experts] = total;
    }
}

/* One warp per chunk, walking its assignments in order 32 at a time: lanes with the same
 * expert find each other (match.any) and take consecutive slots in lane order after the
 * expert's cursor, so the scatter is stable. */
__global__ void scatter_kernel(const int *__restrict__ ids, long n, int experts, const int *__restrict__ base,
                               int *__restrict__ perm, int *__restrict__ slot_of)
{
    extern __shared__ int cursor[];
    const int nchunks = gridDim.x, lane = threadIdx.x;
    for (int e = lane; e < experts; e += 32)
        cursor[e] = base[(size_t)e * nchunks + blockIdx.x];
    __syncwarp();
    const long a0 = (long)blockIdx.x * MOE_CUDA_SORT_CHUNK;
    const long a1 = a0 + MOE_CUDA_SORT_CHUNK < n ? a0 + MOE_CUDA_SORT_CHUNK : n;
    for (long a_base = a0; a_base < a1; a_base += 32) {
        const long a = a_base + lane;
        const bool valid = a < a1;
        const int e = valid ? ids[a] : -1;
        const unsigned peers = __match_any_sync(0xffffffffu, e);
        const int rank = __popc(peers & ((1u << lane) - 1u));
        if (valid) {
            const int slot = cursor[e] + rank;
            perm[slot] = (int)a;
            slot_of[a] = slot;
        }
        __syncwarp();
        if (valid && lane == __ffs(peers) - 1)
            cursor[e] += __popc(peers);
        __syncwarp();
    }
}

/* One warp per row, 16 bytes per lane and step. */
__global__ void gather_kernel(const uint4 *__restrict__ x, int chunks, const int *__restrict__ perm, int k, long slots,
                              uint4 *__restrict__ xp)
{
    const long s = (long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (s >= slots)
        return;
    const uint4 *src = x + (size_t)(perm[s] / k) * chunks;
    uint4 *dst = xp + (size_t)s * chunks;
    for (int c = threadIdx.x % 32; c < chunks; c += 32)
        dst[c] = src[c];
}

/* One warp per token: 8 columns per lane and step, the k expert rows weighted and summed in
 * float32 (gather form: one writer per output row, no atomics). */
__global__ void combine_kernel(const uint4 *__restrict__ yp, const float *__restrict__ gates,
                               const int *__restrict__ slot_of, int tokens, int k, int chunks, float4 *__restrict__ y)
{
    const long t = (long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (t >= tokens)
        return;
    for (int c = threadIdx.x % 32; c < chunks; c += 32) {
        float acc[8] = { 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f };
        for (int j = 0; j < k; j++) {
            const float g = gates[t * k + j];
            const uint4 v = yp[(size_t)slot_of[t * k + j] * chunks + c];
            const uint32_t w[4] = { v.x, v.y, v.z, v.w };
#pragma unroll
            for (int q = 0; q < 4; q++) {
                acc[2 * q] += g * __uint_as_float(w[q] << 16);             /* low bf16 */
                acc[2 * q + 1] += g * __uint_as_float(w[q] & 0xffff0000u); /* high bf16 */
            }
        }
        y[(size_t)t * chunks * 2 + 2 * c] = make_float4(acc[0], acc[1], acc[2], acc[3]);
        y[(size_t)t * chunks * 2 + 2 * c + 1] = make_float4(acc[4], acc[5], acc[6], acc[7]);
    }
}

} // namespace

extern "C" int moe_cuda_topk_launch(const float *logits, int ep, const float *bias, int tokens, int experts, int top_k,
                                    int *ids, float *gates, int *counts, void *stream)
{
    if (top_k < 1 || top_k > MOE_MAX_TOPK || top_k > experts)
        return (int)cudaErrorInvalidValue;
    topk_kernel<<<(tokens + 127) / 128, 128, 0, (cudaStream_t)stream>>>(logits, ep, bias, tokens, experts, top_k, ids,
                                                                       gates, counts);
    return (int)cudaGetLastError();
}

extern "C" int moe_cuda_sort_launch(const int *ids, long assignments, int experts, int *chunk_counts, int *offsets,
                                    int *mtile_start, int *perm, int *slot_of, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    const long nchunks = (assignments + MOE_CUDA_SORT_CHUNK - 1) / MOE_CUDA_SORT_CHUNK;
    if (nchunks < 1 || nchunks > 0x7fffffffL)
        return (int)cudaErrorInvalidValue;
    const size_t shared = (size_t)experts * sizeof(int);
    histogram_kernel<<<(unsigned)nchunks, 256, shared, st>>>(ids, assignments, experts, chunk_counts);
    scan_kernel<<<1, 1024, 0, st>>>(chunk_counts, experts, (int)nchunks, offsets, mtile_start);
    scatter_kernel<<<(unsigned)nchunks, 32, shared, st>>>(ids, assignments, experts, chunk_counts, perm, slot_of);
    return (int)cudaGetLastError();
}

extern "C" int moe_cuda_gather_launch(const uint16_t *x, int hp, const int *perm, int top_k, long slots, uint16_t *xp,
                                      void *stream)
{
    if (hp % 8)
        return (int)cudaErrorInvalidValue;
    gather_kernel<<<(unsigned)((slots + 7) / 8), 256, 0, (cudaStream_t)stream>>>(
        (const uint4 *)x, hp / 8, perm, top_k, slots, (uint4 *)xp);
    return (int)cudaGetLastError();
}

extern "C" int moe_cuda_combine_launch(const uint16_t *yp, const float *gates, const int *slot_of, int tokens,
                                       int top_k, int hp, float *y, void *stream)
{
    if (hp % 8)
        return (int)cudaErrorInvalidValue;
    combine_kernel<<<(unsigned)((tokens + 7) / 8), 256, 0, (cudaStream_t)stream>>>(
        (const uint4 *)yp, gates, slot_of, tokens, top_k, hp / 8, (float4 *)y);
    return (int)cudaGetLastError();
}
