/* block_sparse_select.cu - attention.block_sparse@cuda.mma's block selection (MoBA): the same
 * choice, bit for bit, as the operation's float64 definition (sparse_ops.h), which verify
 * compares exactly. Two kernels:
 *   block_means     one thread per (head, block, channel) sums the block's tokens in ascending
 *                   order in float64 and divides by their count (Q and K alike);
 *   select_blocks   one CTA per (query head, query block): the scores mean_q·mean_k of every
 *                   past block, channels summed in ascending order with __dmul_rn/__dadd_rn
 *                   (no fused multiply-add, which the C11 reference does not use either), then
 *                   top-k by repeated maximum, ties to the lower block, written ascending.
 * With qb <= topk past blocks every one is kept, without scores. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

extern "C" {
#include "kernels/attention/attention_cuda.h"
}

namespace {

constexpr int kSelectThreads = 128;

__device__ __forceinline__ double widen(__half x) { return (double)__half2float(x); }
__device__ __forceinline__ double widen(__nv_bfloat16 x) { return (double)__bfloat162float(x); }

/* grid (nb, heads of x), block d threads: means[(head·nb + blk)·d + c]. */
template <typename T>
__global__ void block_means(const T *__restrict__ x, double *__restrict__ means, int n, int d, int block)
{
    const int blk = blockIdx.x, nb = gridDim.x, c = threadIdx.x;
    const size_t head = blockIdx.y;
    const int t0 = blk * block, t1 = min(n, t0 + block);
    const T *row = x + (head * (size_t)n + (size_t)t0) * d + c;
    double sum = 0.0;
    for (int t = t0; t < t1; t++, row += d)
        sum = __dadd_rn(sum, widen(*row));
    means[(head * nb + blk) * d + c] = sum / (double)(t1 - t0);
}

/* The better of two candidates: the higher score, or the lower block on a tie; block -1 is none. */
__device__ __forceinline__ void better(double &score, int &block, double s2, int b2)
{
    if (b2 >= 0 && (block < 0 || s2 > score || (s2 == score && b2 < block))) {
        score = s2;
        block = b2;
    }
}

/* grid (nb, B·H), dynamic shared memory: nb doubles (scores), nb bytes (chosen flags). */
__global__ void __launch_bounds__(kSelectThreads) select_blocks(const double *__restrict__ qmean,
                                                                const double *__restrict__ kmean,
                                                                int *__restrict__ kept, int heads, int kv_heads,
                                                                int d, int topk)
{
    extern __shared__ __align__(16) unsigned char smem[];
    const int qb = blockIdx.x, nb = gridDim.x;
    const size_t qhead = blockIdx.y;
    const size_t kvhead = (qhead / heads) * kv_heads + (qhead % heads) / (heads / kv_heads);
    int *out = kept + (qhead * nb + qb) * topk;
    const int k = min(topk, qb);
    if (k == qb) { /* every past block fits */
        for (int i = threadIdx.x; i < qb; i += kSelectThreads)
            out[i] = i;
        return;
    }
    double *score = reinterpret_cast<double *>(smem);
    unsigned char *chosen = smem + (size_t)nb * sizeof(double);
    __shared__ double red_score[kSelectThreads / 32];
    __shared__ int red_block[kSelectThreads / 32];
    const double *qm = qmean + (qhead * nb + qb) * d;
    for (int kb = threadIdx.x; kb < qb; kb += kSelectThreads) {
        const double *km = kmean + (kvhead * nb + kb) * d;
        double acc = 0.0;
        for (int c = 0; c < d; c++)
            acc = __dadd_rn(acc, __dmul_rn(qm[c], km[c]));
        score[kb] = acc;
        chosen[kb] = 0;
    }
    __syncthreads();
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    for (int i = 0; i < k; i++) {
        double best_s = 0.0;
        int best_b = -1;
        for (int kb = threadIdx.x; kb < qb; kb += kSelectThreads)
            if (!chosen[kb])
                better(best_s, best_b, score[kb], kb);
        for (int off = 16; off > 0; off /= 2)
            better(best_s, best_b, __shfl_xor_sync(0xffffffffu, best_s, off),
                   __shfl_xor_sync(0xffffffffu, best_b, off));
        if (lane == 0) {
            red_score[warp] = best_s;
            red_block[warp] = best_b;
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            for (int w = 1; w < kSelectThreads / 32; w++)
                better(best_s, best_b, red_score[w], red_block[w]);
            chosen[best_b] = 1;
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) /* ascending block order, so the attention walks K and V forward */
        for (int kb = 0, j = 0; kb < qb; kb++)
            if (chosen[kb])
                out[j++] = kb;
}

template <typename T>
cudaError_t select_t(const struct kb_shape *s, const void *q, const void *k, double *qmean, double *kmean, int *kept,
                     cudaStream_t st)
{
    const int n = s->seq_len, d = s->head_dim, nb = (n + s->block - 1) / s->block;
    block_means<T><<<dim3((unsigned)nb, (unsigned)(s->batch * s->heads)), (unsigned)d, 0, st>>>(
        (const T *)q, qmean, n, d, s->block);
    block_means<T><<<dim3((unsigned)nb, (unsigned)(s->batch * s->kv_heads)), (unsigned)d, 0, st>>>(
        (const T *)k, kmean, n, d, s->block);
    const size_t smem = (size_t)nb * (sizeof(double) + 1);
    if (smem > 48 * 1024) {
        cudaError_t e = cudaFuncSetAttribute(select_blocks, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
        if (e != cudaSuccess)
            return e;
    }
    select_blocks<<<dim3((unsigned)nb, (unsigned)(s->batch * s->heads)), kSelectThreads, smem, st>>>(
        qmean, kmean, kept, s->heads, s->kv_heads, d, s->topk_blocks);
    return cudaGetLastError();
}

} // namespace

extern "C" int block_sparse_cuda_select(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                        double *qmean, double *kmean, int *kept, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (t == KB_DTYPE_BF16)
        return (int)select_t<__nv_bfloat16>(s, q, k, qmean, kmean, kept, st);
    if (t == KB_DTYPE_F16)
        return (int)select_t<__half>(s, q, k, qmean, kmean, kept, st);
    return (int)cudaErrorInvalidValue;
}
