/* block_sparse_select.cu - attention.block_sparse@cuda.mma's block selection (MoBA): the same
 * choice, bit for bit, as the operation's float64 definition (sparse_ops.h), which verify
 * compares exactly. Two kernels:
 *   block_means     one thread per (head, block, channel) sums the block's tokens in ascending
 *                   order in float64 and divides by their count (Q and K alike);
 *   select_blocks   one CTA per (query head, 8 query blocks): the scores mean_q·mean_k of every
 *                   past block, channels summed in ascending order with __dmul_rn/__dadd_rn
 *                   (no fused multiply-add, which the C11 reference does not use either; each
 *                   K mean is read once for the 8 query blocks), then per query block (one warp
 *                   each) top-k by repeated maximum, ties to the lower block, written ascending.
 * With qb <= topk past blocks every one is kept, without scores. The scores of a group need
 * 8·nb·9 bytes of shared memory: up to nb ~ 3000 blocks (N ~ 190k at block 64) on an H100. */
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

/* grid (nb, heads of x), block d threads: the mean of channel c over the block's tokens, at
 * means[(head·nb + blk)·d + c], or with TRANSPOSED at means[(head·d + c)·nb + blk] (so that
 * threads reading consecutive blocks of one channel read consecutive addresses). */
template <typename T, bool TRANSPOSED>
__global__ void block_means(const T *__restrict__ x, double *__restrict__ means, int n, int d, int block)
{
    const int blk = blockIdx.x, nb = gridDim.x, c = threadIdx.x;
    const size_t head = blockIdx.y;
    const int t0 = blk * block, t1 = min(n, t0 + block);
    const T *row = x + (head * (size_t)n + (size_t)t0) * d + c;
    double sum = 0.0;
    /* unrolled so several loads are in flight; the additions stay in token order */
#pragma unroll 8
    for (int t = t0; t < t1; t++, row += d)
        sum = __dadd_rn(sum, widen(*row));
    const double mean = sum / (double)(t1 - t0);
    if (TRANSPOSED)
        means[(head * d + c) * nb + blk] = mean;
    else
        means[(head * nb + blk) * d + c] = mean;
}

/* The better of two candidates: the higher score, or the lower block on a tie; block -1 is none. */
__device__ __forceinline__ void better(double &score, int &block, double s2, int b2)
{
    if (b2 >= 0 && (block < 0 || s2 > score || (s2 == score && b2 < block))) {
        score = s2;
        block = b2;
    }
}

/* One CTA per (query head, QG consecutive query blocks): grid (ceil(nb / QG), B·H).
 * Scores: thread kb computes mean_q(qb)·mean_k(kb) for the QG query blocks at once, reading each
 * channel of mean_k(kb) once (kmean_t is channel-major, so a warp's loads are contiguous), in
 * ascending channel order with __dmul_rn/__dadd_rn. Selection: warp w takes query blocks w,
 * w + 4, ... of the group, top-k by repeated maximum with warp shuffles only, and writes the kept
 * blocks ascending (a ballot per 32 blocks). Dynamic shared memory: QG·nb doubles (scores),
 * QG·nb bytes (chosen flags), QG·d doubles (the group's mean queries). */
template <int QG>
__global__ void __launch_bounds__(kSelectThreads) select_blocks(const double *__restrict__ qmean,
                                                                const double *__restrict__ kmean_t,
                                                                int *__restrict__ kept, int nb, int heads,
                                                                int kv_heads, int d, int topk)
{
    extern __shared__ __align__(16) unsigned char smem[];
    double *score = reinterpret_cast<double *>(smem);         /* [QG][nb] */
    double *qm = score + (size_t)QG * nb;                      /* [QG][d] */
    unsigned char *chosen = reinterpret_cast<unsigned char *>(qm + (size_t)QG * d); /* [QG][nb] */
    const int qb0 = blockIdx.x * QG, ng = min(QG, nb - qb0);
    const size_t qhead = blockIdx.y;
    const size_t kvhead = (qhead / heads) * kv_heads + (qhead % heads) / (heads / kv_heads);
    for (int i = threadIdx.x; i < ng * d; i += kSelectThreads)
        qm[i] = qmean[(qhead * nb + qb0) * d + i];
    for (int i = threadIdx.x; i < QG * nb; i += kSelectThreads)
        chosen[i] = 0;
    __syncthreads();
    /* past blocks of the group's last query block: the others use a prefix of them */
    const int past = qb0 + ng - 1;
    const double *km = kmean_t + kvhead * (size_t)d * nb;
    for (int kb = threadIdx.x; kb < past; kb += kSelectThreads) {
        double acc[QG];
#pragma unroll
        for (int g = 0; g < QG; g++)
            acc[g] = 0.0;
        for (int c = 0; c < d; c++) {
            const double k = km[(size_t)c * nb + kb];
#pragma unroll
            for (int g = 0; g < QG; g++)
                acc[g] = __dadd_rn(acc[g], __dmul_rn(qm[g * d + c], k));
        }
#pragma unroll
        for (int g = 0; g < QG; g++)
            score[(size_t)g * nb + kb] = acc[g];
    }
    __syncthreads();
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    for (int g = warp; g < ng; g += kSelectThreads / 32) {
        const int qb = qb0 + g, k = min(topk, qb);
        int *out = kept + (qhead * nb + qb) * topk;
        const double *sc = score + (size_t)g * nb;
        unsigned char *ch = chosen + (size_t)g * nb;
        if (k == qb) { /* every past block fits */
            for (int i = lane; i < qb; i += 32)
                out[i] = i;
            continue;
        }
        for (int i = 0; i < k; i++) {
            double best_s = 0.0;
            int best_b = -1;
            for (int kb = lane; kb < qb; kb += 32)
                if (!ch[kb])
                    better(best_s, best_b, sc[kb], kb);
            for (int off = 16; off > 0; off /= 2)
                better(best_s, best_b, __shfl_xor_sync(0xffffffffu, best_s, off),
                       __shfl_xor_sync(0xffffffffu, best_b, off));
            if (lane == 0)
                ch[best_b] = 1; /* every lane holds the same best */
            __syncwarp();
        }
        /* ascending block order, so the attention walks K and V forward */
        int written = 0;
        for (int base = 0; base < qb; base += 32) {
            const int kb = base + lane;
            const unsigned mask = __ballot_sync(0xffffffffu, kb < qb && ch[kb]);
            if (kb < qb && ch[kb])
                out[written + __popc(mask & ((1u << lane) - 1u))] = kb;
            written += __popc(mask);
        }
    }
}

template <typename T>
cudaError_t select_t(const struct kb_shape *s, const void *q, const void *k, double *qmean, double *kmean, int *kept,
                     cudaStream_t st)
{
    constexpr int QG = 8;
    const int n = s->seq_len, d = s->head_dim, nb = (n + s->block - 1) / s->block;
    block_means<T, false><<<dim3((unsigned)nb, (unsigned)(s->batch * s->heads)), (unsigned)d, 0, st>>>(
        (const T *)q, qmean, n, d, s->block);
    block_means<T, true><<<dim3((unsigned)nb, (unsigned)(s->batch * s->kv_heads)), (unsigned)d, 0, st>>>(
        (const T *)k, kmean, n, d, s->block);
    const size_t smem = (size_t)QG * nb * (sizeof(double) + 1) + (size_t)QG * d * sizeof(double);
    static size_t smem_set; /* the largest dynamic size allowed so far (per process) */
    if (smem > 48 * 1024 && smem > smem_set) {
        cudaError_t e = cudaFuncSetAttribute(select_blocks<QG>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
        if (e != cudaSuccess)
            return e;
        smem_set = smem;
    }
    select_blocks<QG><<<dim3((unsigned)((nb + QG - 1) / QG), (unsigned)(s->batch * s->heads)), kSelectThreads, smem,
                        st>>>(qmean, kmean, kept, nb, s->heads, s->kv_heads, d, s->topk_blocks);
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
