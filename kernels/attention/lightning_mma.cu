/* lightning_mma.cu - the device code of attention.lightning@cuda.mma (the three passes are
 * described in lightning_cuda.h; definition in lightning.h). mma.sync m16n8k16, f16/bf16
 * operands, float32 accumulation, sm_80 and later (programmatic dependent launch on sm_90).
 *
 * Fragment layouts and the swizzled [rows][D] shared tiles are those of linear_mma.cu and
 * chunk_tiles.cuh (lane = 4·g + t4; C/D fragment (row g, cols 2t4, 2t4+1), (row g+8, same)):
 * an operand stored with its k index along rows (V for P·V, the state S for Q·S, K for Kᵀ·V)
 * is read with ldmatrix .trans, one stored with k along columns (Q, K in Q·Kᵀ) without.
 *
 * 16-bit range: a chunk's local state is stored times 1/C (a sum of C products kept near one
 * product's size; undone in the scan's float32 sum) and the prefix state times σ_c = 2^-⌊log2(cC+1)/2⌋ (power of two, exact;
 * undone in the float32 accumulator) so f16 keeps room at long N; the in-chunk weights are
 * scaled per row by τ = 1/max|w| before they are rounded (undone at the store), as
 * attention.linear@cuda.mma does. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

extern "C" {
#include "kernels/attention/lightning.h"
#include "kernels/attention/lightning_cuda.h"
}

#include "kernels/attention/chunk_tiles.cuh"
#include "kernels/gpu/pdl.cuh"

namespace {

using namespace kb_ptx;
using namespace kb_chunk;

/* log2 λ_h, λ_h = 1 − 2^(−5 − 8h/H) (linear_decay_lambda), in double so λ^m stays accurate. */
__device__ __forceinline__ double log2_lambda(int h, int heads)
{
    return log2(1.0 - exp2(-5.0 - 8.0 * (double)h / (double)heads));
}

/* σ for a prefix of t tokens: 2^-⌊log2(t+1)/2⌋. */
__device__ __forceinline__ float state_scale(int t)
{
    int e = (31 - __clz(t + 1)) / 2;
    return ldexpf(1.f, -e);
}

/* Rows [row0, row0 + ROWS) of a [n, D] matrix into a swizzled tile, row r multiplied by
 * 2^(log2_w·(ROWS−1−r)) = λ^(C−1−r) (the decay of key r to the chunk's last position); rows
 * past n are zero. */
template <int D, int ROWS, int THREADS, bool BF16>
__device__ __forceinline__ void load_decayed(uint16_t *tile, const uint16_t *src, int row0, int n, float log2_w)
{
    constexpr int CH = D / 8;
    for (int c = threadIdx.x; c < ROWS * CH; c += THREADS) {
        int r = c / CH, ch = c % CH, gr = row0 + r;
        uint4 out = make_uint4(0, 0, 0, 0);
        if (gr < n) {
            uint4 in = *reinterpret_cast<const uint4 *>(src + (size_t)gr * D + ch * 8);
            float w = exp2f(log2_w * (float)(ROWS - 1 - r));
            uint32_t iw[4] = { in.x, in.y, in.z, in.w }, ow[4];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                float2 x = unpack2<BF16>(iw[i]);
                ow[i] = pack2<BF16>(x.x * w, x.y * w);
            }
            out = make_uint4(ow[0], ow[1], ow[2], ow[3]);
        }
        *reinterpret_cast<uint4 *>(tile + swz<D>(r, ch)) = out;
    }
}

/* ---- pass 1: each chunk's own state --------------------------------------------------------- */

/* Block (chunk c, head h, batch b), 4 warps: L_c = K̃ᵀ V with k̃_j = λ^(C−1−j) k_j, j the chunk's
 * tokens (rows past N are zero), stored in 16 bits times 1/C at local[(b·H + h)·nc + c]. */
template <int D, int C, bool BF16>
__global__ void __launch_bounds__(128) lightning_local(const uint16_t *__restrict__ K, const uint16_t *__restrict__ V,
                                                        uint16_t *__restrict__ local, int n, int heads, int kv_heads,
                                                        int nc)
{
    constexpr int THREADS = 128;
    kb_pdl::launch_dependents(); /* the scan may start its blocks; it waits for this grid's end */
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t *sK = reinterpret_cast<uint16_t *>(smem);
    uint16_t *sV = sK + C * D;
    const int c = blockIdx.x, h = blockIdx.y, b = blockIdx.z, kh = h / (heads / kv_heads);
    const size_t kvoff = ((size_t)b * kv_heads + kh) * (size_t)n * D;
    const int t0 = c * C;

    load_tile<D, C, THREADS>(sV, V + kvoff, t0, n);
    cp_commit();
    load_decayed<D, C, THREADS, BF16>(sK, K + kvoff, t0, n, (float)log2_lambda(h, heads));
    cp_wait<0>();
    __syncthreads();

    const size_t slot = ((size_t)b * heads + h) * nc + c;
    chunk_state_product16<D, C, BF16>(sK, sV, 1.f / C, local + slot * D * D);
}

/* ---- pass 2: the scan over chunks, one thread per pair of state elements -------------------- */

/* Grid (D·D/2/256, H, B): thread e2 owns elements 2·e2, 2·e2 + 1 of every chunk state of head
 * (b, h): P_0 = 0, P_{c+1} = λ^C P_c + L_c in float32 (L_c read as C times its stored value);
 * prefix[c] = σ_c P_c in 16 bits. */
template <int D, int C, bool BF16>
__global__ void __launch_bounds__(256) lightning_scan(const uint16_t *__restrict__ local, uint16_t *__restrict__ prefix,
                                                       int nc, int heads)
{
    constexpr int PAIRS = D * D / 2; /* uint32 words per state */
    const int e2 = blockIdx.x * blockDim.x + threadIdx.x;
    kb_pdl::launch_dependents(); /* lightning_out may start loading its Q, K and V */
    kb_pdl::wait();              /* for lightning_local's states */
    if (e2 >= PAIRS)
        return;
    const int h = blockIdx.y;
    const size_t bh = (size_t)blockIdx.z * heads + h;
    const uint32_t *src = reinterpret_cast<const uint32_t *>(local + bh * nc * D * D) + e2;
    uint32_t *dst = reinterpret_cast<uint32_t *>(prefix + bh * nc * D * D) + e2;
    const float lc = (float)exp2(log2_lambda(h, heads) * C); /* λ^C */
    float run0 = 0.f, run1 = 0.f;
    constexpr int U = 8; /* loads issued ahead of the dependent chain */
    for (int c = 0; c < nc; c += U) {
        uint32_t l[U];
#pragma unroll
        for (int u = 0; u < U; u++)
            l[u] = c + u < nc ? src[(size_t)(c + u) * PAIRS] : 0u;
#pragma unroll
        for (int u = 0; u < U; u++) {
            if (c + u < nc) {
                const float sigma = state_scale((c + u) * C);
                dst[(size_t)(c + u) * PAIRS] = pack2<BF16>(run0 * sigma, run1 * sigma);
                const float2 x = unpack2<BF16>(l[u]);
                run0 = lc * run0 + (float)C * x.x;
                run1 = lc * run1 + (float)C * x.y;
            }
        }
    }
}

/* ---- pass 3: the outputs of each chunk ------------------------------------------------------ */

/* Block (chunk c, head h, batch b), C/16 warps; warp w owns the chunk's rows [16w, 16w + 16).
 * Row i of the chunk (local index, token t0 + i):
 *   o_i = scale · ( λ^(i+1) q_i·P_c  +  Σ_{j≤i} λ^(i−j) (q_i·k_j) v_j ) */
template <int D, int C, bool BF16>
__global__ void __launch_bounds__(C / 16 * 32) lightning_out(const uint16_t *__restrict__ Q,
                                                             const uint16_t *__restrict__ K,
                                                             const uint16_t *__restrict__ V, uint16_t *__restrict__ O,
                                                             const uint16_t *__restrict__ prefix, int n, int heads,
                                                             int kv_heads, int nc)
{
    constexpr int W = C / 16, THREADS = 32 * W;
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t *sQ = reinterpret_cast<uint16_t *>(smem);
    uint16_t *sK = sQ + C * D, *sV = sK + C * D, *sS = sV + C * D;

    const int c = blockIdx.x, h = blockIdx.y, b = blockIdx.z, kh = h / (heads / kv_heads);
    const size_t qoff = ((size_t)b * heads + h) * (size_t)n * D;
    const size_t kvoff = ((size_t)b * kv_heads + kh) * (size_t)n * D;
    const int t0 = c * C;
    const size_t slot = ((size_t)b * heads + h) * nc + c;
    const float l2 = (float)log2_lambda(h, heads);
    const float sigma = state_scale(t0);
    const float qk_scale = rsqrtf((float)D);

    /* the inputs first, while the scan may still be running; then its prefix state */
    load_tile<D, C, THREADS>(sQ, Q + qoff, t0, n);
    load_tile<D, C, THREADS>(sK, K + kvoff, t0, n);
    load_tile<D, C, THREADS>(sV, V + kvoff, t0, n);
    cp_commit();
    kb_pdl::wait();
    load_tile<D, D, THREADS>(sS, prefix + slot * D * D, 0, D);
    cp_commit();
    cp_wait<0>();
    __syncthreads();

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t4 = lane % 4;
    const int r0 = warp * 16;
    float o[D / 8][4], s[C / 8][4];
#pragma unroll
    for (int i = 0; i < D / 8; i++)
        o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
#pragma unroll
    for (int i = 0; i < C / 8; i++)
        s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;

    /* o = Q·(σP_c) over all D columns; s = Q·Kᵀ over the key tiles at or left of the warp's rows */
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        uint32_t qa[4];
        ldsm_x4(qa, smem_u32(sQ + swz<D>(r0 + (lane % 8) + 8 * ((lane / 8) % 2), kk * 2 + lane / 16)));
#pragma unroll
        for (int dp = 0; dp < D / 16; dp++) {
            uint32_t r[4];
            ldsm_x4_trans(r, smem_u32(sS + swz<D>(kk * 16 + (lane % 8) + 8 * ((lane / 8) % 2), dp * 2 + lane / 16)));
            mma_16816<BF16>(o[2 * dp], qa, r[0], r[1]);
            mma_16816<BF16>(o[2 * dp + 1], qa, r[2], r[3]);
        }
#pragma unroll
        for (int np = 0; np < C / 16; np++) {
            if (np > warp)
                break;
            uint32_t r[4];
            ldsm_x4(r, smem_u32(sK + swz<D>(np * 16 + (lane % 8) + 8 * (lane / 16), kk * 2 + (lane / 8) % 2)));
            mma_16816<BF16>(s[2 * np], qa, r[0], r[1]);
            mma_16816<BF16>(s[2 * np + 1], qa, r[2], r[3]);
        }
    }

    /* in-chunk weights w_ij = (q_i·k_j) λ^(i−j) for j ≤ i, 0 above; each row's max |w| */
    const int ia = r0 + g, ib = ia + 8; /* the chunk-local rows this lane holds */
    float mx[2] = { 0.f, 0.f };
#pragma unroll
    for (int nt = 0; nt < C / 8; nt++) {
        if (nt / 2 > warp)
            break;
#pragma unroll
        for (int e = 0; e < 4; e++) {
            int i = e < 2 ? ia : ib, j = nt * 8 + 2 * t4 + (e & 1);
            float w = j <= i ? s[nt][e] * exp2f(l2 * (float)(i - j)) : 0.f;
            s[nt][e] = w;
            mx[e / 2] = fmaxf(mx[e / 2], fabsf(w));
        }
    }
    float tau[2], out_scale[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
        mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
        mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
        tau[i] = mx[i] > 0.f ? 1.f / mx[i] : 1.f;
        out_scale[i] = qk_scale / tau[i];
        /* the inter part: undo σ, apply λ^(i+1), and join the intra part's scale τ */
        const float m = exp2f(l2 * (float)((i ? ib : ia) + 1)) / sigma * tau[i];
#pragma unroll
        for (int dt = 0; dt < D / 8; dt++) {
            o[dt][2 * i] *= m;
            o[dt][2 * i + 1] *= m;
        }
    }
    /* o += (τ·W)·V */
    chunk_intra_pv<D, C, BF16>(o, s, tau, sV, warp, lane);

    uint16_t *out = O + qoff;
#pragma unroll
    for (int dt = 0; dt < D / 8; dt++) {
        int col = dt * 8 + 2 * t4;
        if (t0 + ia < n)
            *reinterpret_cast<uint32_t *>(out + (size_t)(t0 + ia) * D + col) =
                pack2<BF16>(o[dt][0] * out_scale[0], o[dt][1] * out_scale[0]);
        if (t0 + ib < n)
            *reinterpret_cast<uint32_t *>(out + (size_t)(t0 + ib) * D + col) =
                pack2<BF16>(o[dt][2] * out_scale[1], o[dt][3] * out_scale[1]);
    }
}

template <int D, int C, bool BF16>
cudaError_t launch(const struct kb_shape *s, const void *q, const void *k, const void *v, void *o,
                   const struct lightning_cuda_scratch *scr, cudaStream_t st)
{
    const int n = s->seq_len, nc = (n + C - 1) / C;
    const uint16_t *Q = (const uint16_t *)q, *K = (const uint16_t *)k, *V = (const uint16_t *)v;
    uint16_t *local = (uint16_t *)scr->local, *prefix = (uint16_t *)scr->prefix;
    const dim3 chunks(nc, s->heads, s->batch);

    const size_t smem1 = (size_t)2 * C * D * sizeof(uint16_t);
    static bool set1;
    cudaError_t e = allow_smem(lightning_local<D, C, BF16>, smem1, &set1);
    if (e != cudaSuccess)
        return e;
    lightning_local<D, C, BF16><<<chunks, 128, smem1, st>>>(K, V, local, n, s->heads, s->kv_heads, nc);
    if ((e = cudaGetLastError()) != cudaSuccess)
        return e;

    /* passes 2 and 3 each start while the one before drains (kernels/gpu/pdl.cuh) */
    const dim3 pairs((D * D / 2 + 255) / 256, s->heads, s->batch);
    e = kb_pdl::launch_pdl(lightning_scan<D, C, BF16>, pairs, dim3(256), 0, st, (const uint16_t *)local, prefix, nc,
                           s->heads);
    if (e != cudaSuccess)
        return e;

    const size_t smem3 = ((size_t)3 * C * D + (size_t)D * D) * sizeof(uint16_t);
    static bool set3;
    if ((e = allow_smem(lightning_out<D, C, BF16>, smem3, &set3)) != cudaSuccess)
        return e;
    return kb_pdl::launch_pdl(lightning_out<D, C, BF16>, chunks, dim3(C / 16 * 32), smem3, st, Q, K, V,
                              (uint16_t *)o, (const uint16_t *)prefix, n, s->heads, s->kv_heads, nc);
}

template <int D, bool BF16>
cudaError_t launch_chunk(const struct kb_shape *s, const void *q, const void *k, const void *v, void *o,
                         const struct lightning_cuda_scratch *scr, cudaStream_t st)
{
    if (s->chunk == 64)
        return launch<D, 64, BF16>(s, q, k, v, o, scr, st);
    return launch<D, 128, BF16>(s, q, k, v, o, scr, st);
}

} // namespace

extern "C" int lightning_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                     const void *v, void *o, const struct lightning_cuda_scratch *scratch,
                                     void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    bool bf16 = t == KB_DTYPE_BF16;
    if ((t != KB_DTYPE_BF16 && t != KB_DTYPE_F16) || s->kv_heads < 1 || s->heads % s->kv_heads != 0 || s->decode ||
        (s->chunk != 64 && s->chunk != 128) || s->seq_len < 1)
        return (int)cudaErrorInvalidValue;
    if (s->head_dim == 64)
        return (int)(bf16 ? launch_chunk<64, true>(s, q, k, v, o, scratch, st)
                          : launch_chunk<64, false>(s, q, k, v, o, scratch, st));
    if (s->head_dim == 128)
        return (int)(bf16 ? launch_chunk<128, true>(s, q, k, v, o, scratch, st)
                          : launch_chunk<128, false>(s, q, k, v, o, scratch, st));
    return (int)cudaErrorInvalidValue;
}
