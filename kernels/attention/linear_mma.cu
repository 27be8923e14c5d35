/* linear_mma.cu - the device code of attention.linear@cuda.mma (the three passes are described
 * in linear_cuda.h; definitions in linear.h). mma.sync m16n8k16, f16/bf16 operands, float32
 * accumulation, sm_80 and later.
 *
 * Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k16", lane = 4·g + t4):
 *   A (16×16, row-major): a0a1 = (row g,   k 2t4, 2t4+1)   a2a3 = (row g+8, k 2t4..)
 *                         a4a5 = (row g,   k 8+2t4..)      a6a7 = (row g+8, k 8+2t4..)
 *   B (16×8, "col"):      b0b1 = (k 2t4, 2t4+1, col g)     b2b3 = (k 8+2t4.., col g)
 *   C/D (16×8, f32):      c0c1 = (row g, col 2t4, 2t4+1)   c2c3 = (row g+8, same cols)
 * ldmatrix.x4 loads four 8×8 16-bit matrices whose row addresses come from lanes 8i..8i+7; a
 * lane receives (row g, cols 2t4, 2t4+1) of each, or with .trans (rows 2t4, 2t4+1, col g).
 * So an operand stored with its k index along rows (V for P·V, the state S for φ(Q)·S, φ(K)
 * for φ(K)ᵀ·V where K's rows are the k index of the product) is read with .trans, and one
 * stored with k along columns (Q, K in Q·Kᵀ) without.
 *
 * Shared tiles are rows of D 16-bit values, XOR-swizzled in 16-byte chunks (chunk ch of row r
 * lives at chunk ch ^ (r & 7)) so the eight row addresses of an ldmatrix hit distinct banks.
 *
 * f16 range: the prefix state grows like √t over t tokens without decay (zero-mean values)
 * and z like t, so z stays float32 and S is stored times σ = 2^-⌊log2(t+1)/2⌋ (undone in the
 * float32 accumulator); the intra-chunk weights are scaled per row by 1/max before they are
 * rounded (undone in the normaliser), as flash attention does with its running maximum. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

extern "C" {
#include "kernels/attention/linear.h"
#include "kernels/attention/linear_cuda.h"
}

#include "kernels/attention/chunk_tiles.cuh"
#include "kernels/gpu/pdl.cuh"

namespace {

using namespace kb_ptx;
using namespace kb_chunk;

constexpr int CHUNK = LINEAR_CUDA_CHUNK;





/* log2 λ_h (linear.h: λ_h = 1 − 2^(−5 − 8h/H)), in double so λ^m stays accurate. */
__device__ __forceinline__ double log2_lambda(int h, int heads)
{
    return log2(1.0 - exp2(-5.0 - 8.0 * (double)h / (double)heads));
}

/* Where head h of sequence b lies, in 16-bit elements: dense [B, H(_kv), n, D] (cu null), or a
 * token-major packed ragged batch (attention.linear_varlen, cu = cu_seqlens: sequence b is
 * tokens cu[b] .. cu[b+1] of Q, O [total, H, D] and K, V [total, H_kv, D]). */
struct seq_rows {
    int n;              /* the sequence's tokens */
    size_t q_at, kv_at; /* its first element of Q/O and of K/V */
    size_t ldq, ldkv;   /* elements between rows */
};
__device__ __forceinline__ seq_rows rows_of(const int *cu, int n, int b, int h, int kh, int heads, int kv_heads,
                                            int d)
{
    if (!cu)
        return { n, ((size_t)b * heads + h) * (size_t)n * d, ((size_t)b * kv_heads + kh) * (size_t)n * d, (size_t)d,
                 (size_t)d };
    const int start = cu[b];
    const size_t ldq = (size_t)heads * d, ldkv = (size_t)kv_heads * d;
    return { cu[b + 1] - start, (size_t)start * ldq + (size_t)h * d, (size_t)start * ldkv + (size_t)kh * d, ldq,
             ldkv };
}

/* σ for a prefix of t tokens: 2^-⌊log2(t+1)/2⌋ (keeps the f16 state near 1). */
__device__ __forceinline__ float state_scale(int t)
{
    int e = (31 - __clz(t + 1)) / 2;
    return ldexpf(1.f, -e);
}

__device__ __forceinline__ float feature(int f, float x)
{
    if (f == KB_FEATURE_RELU)
        return fmaxf(x, 0.f);
    return x > 0.f ? x + 1.f : expf(x);
}


/* φ of rows [row0, row0 + ROWS) of a [n, D] matrix into a swizzled tile, row r multiplied by
 * 2^(log2_w·(ROWS−1−r)) (the decay weight of the chunk-state update; log2_w = 0: none); rows
 * past n are zero (not φ(0), which is 1 for elu1). */
template <int D, int ROWS, int THREADS, bool BF16>
__device__ __forceinline__ void load_phi(uint16_t *tile, const uint16_t *src, int row0, int n, int f, float log2_w,
                                         size_t ld = D)
{
    constexpr int CH = D / 8;
    for (int c = threadIdx.x; c < ROWS * CH; c += THREADS) {
        int r = c / CH, ch = c % CH, gr = row0 + r;
        uint4 out = make_uint4(0, 0, 0, 0);
        if (gr < n) {
            uint4 in = *reinterpret_cast<const uint4 *>(src + (size_t)gr * ld + ch * 8);
            float w = exp2f(log2_w * (float)(ROWS - 1 - r));
            uint32_t iw[4] = { in.x, in.y, in.z, in.w }, ow[4];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                float2 x = unpack2<BF16>(iw[i]);
                ow[i] = pack2<BF16>(feature(f, x.x) * w, feature(f, x.y) * w);
            }
            out = make_uint4(ow[0], ow[1], ow[2], ow[3]);
        }
        *reinterpret_cast<uint4 *>(tile + swz<D>(r, ch)) = out;
    }
}

/* ---- pass 1: each chunk's own state --------------------------------------------------------- */

/* Block (chunk c, head h, batch b), 4 warps. L = φ̃(K)ᵀ V with φ̃(k_j) = λ^(C−1−j) φ(k_j):
 * M = N = D (state rows p, columns e), K = C (the chunk's tokens). Warp w owns state rows
 * [16·MT·w, +16·MT). The A operand is φ̃(K)ᵀ, read transposed from the [C][D] tile. */
template <int D, bool BF16>
__global__ void __launch_bounds__(128) linear_local(const uint16_t *__restrict__ K, const uint16_t *__restrict__ V,
                                                     float *__restrict__ local, int n, int heads, int kv_heads, int nc,
                                                     int f, int decay, const int *cu)
{
    constexpr int C = CHUNK, THREADS = 128;
    kb_pdl::launch_dependents(); /* the scan may start its blocks; it waits for this grid's end */
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t *sK = reinterpret_cast<uint16_t *>(smem);
    uint16_t *sV = sK + C * D;
    const int c = blockIdx.x, h = blockIdx.y, b = blockIdx.z, kh = h / (heads / kv_heads);
    const seq_rows sr = rows_of(cu, n, b, h, kh, heads, kv_heads, D);
    n = sr.n;
    const size_t kvoff = sr.kv_at;
    const int t0 = c * C;
    if (t0 >= n) /* a packed sequence shorter than the longest: no chunk here */
        return;
    const float l2 = decay ? (float)log2_lambda(h, heads) : 0.f;

    load_tile<D, C, THREADS>(sV, V + kvoff, t0, n, sr.ldkv);
    cp_commit();
    load_phi<D, C, THREADS, BF16>(sK, K + kvoff, t0, n, f, l2, sr.ldkv);
    cp_wait<0>();
    __syncthreads();

    float *out = local + ((size_t)b * heads * nc + (size_t)h * nc + c) * (size_t)(D + 1) * D;
    /* z = Σ_j φ̃(k_j), from the same rounded values the tensor cores read */
    for (int p = threadIdx.x; p < D; p += THREADS) {
        float acc = 0.f;
        for (int j = 0; j < C; j++)
            acc += from16<BF16>(sK[swz_elem<D>(j, p)]);
        out[(size_t)D * D + p] = acc;
    }

    chunk_state_product<D, C, BF16>(sK, sV, out);
}

/* ---- pass 2: the scan over chunks, one thread per state element ----------------------------- */

template <bool BF16>
__global__ void __launch_bounds__(256) linear_scan(const float *__restrict__ local, uint16_t *__restrict__ prefix,
                                                    float *__restrict__ zprefix, int d, int nc, int n, int heads,
                                                    int causal, int decay, const int *cu)
{
    const int E = (d + 1) * d;
    const int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= E)
        return;
    kb_pdl::launch_dependents(); /* linear_out may start loading its Q, K and V */
    kb_pdl::wait();              /* for linear_local's states */
    const int h = blockIdx.y;
    const size_t bh = (size_t)blockIdx.z * heads + h;
    const float *src = local + bh * nc * (size_t)E + e;
    const bool is_z = e >= d * d;
    /* a packed sequence: its own length and chunks (the slots keep the longest's stride nc) */
    if (cu)
        n = cu[blockIdx.z + 1] - cu[blockIdx.z];
    const int ncs = (n + CHUNK - 1) / CHUNK;
    float run = 0.f;
    if (!causal) {
        /* every row sees the whole sequence: the total state, into slot 0 */
        for (int c = 0; c < ncs; c++)
            run += src[(size_t)c * E];
        if (is_z)
            zprefix[bh * nc * d + (e - d * d)] = run;
        else
            prefix[bh * nc * d * d + e] = to16<BF16>(run * state_scale(n));
        return;
    }
    const float lc = decay ? (float)exp2(log2_lambda(h, heads) * CHUNK) : 1.f;
    constexpr int U = 8; /* loads issued ahead of the dependent chain */
    int c = 0;
    for (; c < ncs; c += U) {
        float l[U];
#pragma unroll
        for (int u = 0; u < U; u++)
            l[u] = c + u < ncs ? src[(size_t)(c + u) * E] : 0.f;
#pragma unroll
        for (int u = 0; u < U; u++) {
            if (c + u < ncs) {
                size_t slot = bh * nc + c + u;
                if (is_z)
                    zprefix[slot * d + (e - d * d)] = run;
                else
                    prefix[slot * d * d + e] = to16<BF16>(run * state_scale((c + u) * CHUNK));
                run = lc * run + l[u];
            }
        }
    }
}

/* ---- pass 3: the outputs of each chunk ------------------------------------------------------ */

/* Block (chunk c, head h, batch b), C/16 warps, warp w owns the chunk's rows [16w, 16w+16). */
template <int D, bool CAUSAL, bool BF16>
__global__ void __launch_bounds__(CHUNK / 16 * 32) linear_out(const uint16_t *__restrict__ Q,
                                                              const uint16_t *__restrict__ K,
                                                              const uint16_t *__restrict__ V, uint16_t *__restrict__ O,
                                                              const uint16_t *__restrict__ prefix,
                                                              const float *__restrict__ zprefix, int n, int heads,
                                                              int kv_heads, int nc, int f, int decay, const int *cu)
{
    constexpr int C = CHUNK, W = C / 16, THREADS = 32 * W;
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t *sQ = reinterpret_cast<uint16_t *>(smem);
    uint16_t *sK = sQ + C * D, *sV = sK + C * D, *sS = sV + C * D;
    float *sZ = reinterpret_cast<float *>(sS + D * D);

    const int c = blockIdx.x, h = blockIdx.y, b = blockIdx.z, kh = h / (heads / kv_heads);
    const seq_rows sr = rows_of(cu, n, b, h, kh, heads, kv_heads, D);
    n = sr.n;
    const size_t qoff = sr.q_at, kvoff = sr.kv_at;
    const int t0 = c * C;
    if (t0 >= n) /* a packed sequence shorter than the longest: no chunk here */
        return;
    const size_t slot = ((size_t)b * heads + h) * nc + (CAUSAL ? c : 0);
    const float l2 = CAUSAL && decay ? (float)log2_lambda(h, heads) : 0.f;
    const float sigma = state_scale(CAUSAL ? t0 : n);

    /* the inputs first, while the scan may still be running; then its prefix state */
    if (CAUSAL)
        load_tile<D, C, THREADS>(sV, V + kvoff, t0, n, sr.ldkv);
    cp_commit();
    load_phi<D, C, THREADS, BF16>(sQ, Q + qoff, t0, n, f, 0.f, sr.ldq);
    if (CAUSAL)
        load_phi<D, C, THREADS, BF16>(sK, K + kvoff, t0, n, f, 0.f, sr.ldkv);
    kb_pdl::wait();
    load_tile<D, D, THREADS>(sS, prefix + slot * D * D, 0, D);
    cp_commit();
    for (int p = threadIdx.x; p < D; p += THREADS)
        sZ[p] = zprefix[slot * D + p];
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

    /* O = φ(Q)·(σS) and, causal, S_in = φ(Q)·φ(K)ᵀ over the keys at or left of the warp's rows */
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        uint32_t qa[4];
        ldsm_x4(qa, smem_u32(sQ + swz<D>(r0 + (lane % 8) + 8 * ((lane / 8) % 2), kk * 2 + lane / 16)));
        mma_rows_state<D, BF16>(o, qa, sS, kk, lane);
        if (CAUSAL) {
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
    }

    /* the inter-chunk normaliser φ(q_i)·z: each lane of a quad sums a quarter of the row */
    const int ia = r0 + g, ib = ia + 8; /* the chunk-local rows this lane holds */
    float den[2] = { 0.f, 0.f };
#pragma unroll 8
    for (int p = t4 * (D / 4); p < (t4 + 1) * (D / 4); p++) {
        den[0] += from16<BF16>(sQ[swz_elem<D>(ia, p)]) * sZ[p];
        den[1] += from16<BF16>(sQ[swz_elem<D>(ib, p)]) * sZ[p];
    }
#pragma unroll
    for (int i = 0; i < 2; i++) {
        den[i] += __shfl_xor_sync(0xffffffffu, den[i], 1);
        den[i] += __shfl_xor_sync(0xffffffffu, den[i], 2);
    }

    float scale[2]; /* what the accumulator rows are multiplied by from here on */
    if (CAUSAL) {
        /* weights (φ(Q)φ(K)ᵀ)_ij λ^(i−j), j <= i; row maxima and sums */
        float mx[2] = { 0.f, 0.f }, rs[2] = { 0.f, 0.f };
#pragma unroll
        for (int nt = 0; nt < C / 8; nt++) {
            if (nt / 2 > warp)
                break;
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int i = e < 2 ? ia : ib, j = nt * 8 + 2 * t4 + (e & 1);
                float w = j <= i ? s[nt][e] * exp2f(l2 * (float)(i - j)) : 0.f;
                s[nt][e] = w;
                mx[e / 2] = fmaxf(mx[e / 2], w);
                rs[e / 2] += w;
            }
        }
        float tau[2];
#pragma unroll
        for (int i = 0; i < 2; i++) {
            mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
            mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
            rs[i] += __shfl_xor_sync(0xffffffffu, rs[i], 1);
            rs[i] += __shfl_xor_sync(0xffffffffu, rs[i], 2);
            tau[i] = mx[i] > 0.f ? 1.f / mx[i] : 1.f;
            const float decay_in = exp2f(l2 * (float)((i ? ib : ia) + 1)); /* λ^(i+1) */
            den[i] = den[i] * decay_in + rs[i];
            scale[i] = tau[i];
            /* the inter part: undo σ, apply λ^(i+1), and join the intra part's scale τ */
            const float m = decay_in / sigma * tau[i];
#pragma unroll
            for (int dt = 0; dt < D / 8; dt++) {
                o[dt][2 * i] *= m;
                o[dt][2 * i + 1] *= m;
            }
        }
        /* O += (τ·W)·V */
        chunk_intra_pv<D, C, BF16>(o, s, tau, sV, warp, lane);
    } else {
        scale[0] = scale[1] = sigma; /* o holds σ·numerator */
    }

    uint16_t *out = O + qoff;
    float inv[2];
#pragma unroll
    for (int i = 0; i < 2; i++)
        inv[i] = den[i] > 0.f ? 1.f / (scale[i] * den[i]) : 0.f;
#pragma unroll
    for (int dt = 0; dt < D / 8; dt++) {
        int col = dt * 8 + 2 * t4;
        if (t0 + ia < n)
            *reinterpret_cast<uint32_t *>(out + (size_t)(t0 + ia) * sr.ldq + col) = pack2<BF16>(o[dt][0] * inv[0], o[dt][1] * inv[0]);
        if (t0 + ib < n)
            *reinterpret_cast<uint32_t *>(out + (size_t)(t0 + ib) * sr.ldq + col) = pack2<BF16>(o[dt][2] * inv[1], o[dt][3] * inv[1]);
    }
}


template <int D, bool BF16>
cudaError_t launch(const struct kb_shape *s, const void *q, const void *k, const void *v, void *o,
                   const struct linear_cuda_scratch *scr, cudaStream_t st, const int *cu)
{
    const int n = s->seq_len, nc = (n + CHUNK - 1) / CHUNK;
    const int f = s->feature, decay = s->decay;
    const uint16_t *Q = (const uint16_t *)q, *K = (const uint16_t *)k, *V = (const uint16_t *)v;
    dim3 chunks(nc, s->heads, s->batch);

    const size_t smem1 = (size_t)2 * CHUNK * D * sizeof(uint16_t);
    static bool set1;
    cudaError_t e = allow_smem(linear_local<D, BF16>, smem1, &set1);
    if (e != cudaSuccess)
        return e;
    linear_local<D, BF16><<<chunks, 128, smem1, st>>>(K, V, scr->local, n, s->heads, s->kv_heads, nc, f, decay, cu);
    if ((e = cudaGetLastError()) != cudaSuccess)
        return e;

    /* passes 2 and 3 each start while the one before drains (kernels/gpu/pdl.cuh) */
    const int E = (D + 1) * D;
    dim3 elems((E + 255) / 256, s->heads, s->batch);
    e = kb_pdl::launch_pdl(linear_scan<BF16>, elems, dim3(256), 0, st, scr->local, (uint16_t *)scr->prefix,
                           scr->zprefix, D, nc, n, s->heads, s->causal, decay, cu);
    if (e != cudaSuccess)
        return e;

    const size_t smem3 = ((size_t)3 * CHUNK * D + (size_t)D * D) * sizeof(uint16_t) + D * sizeof(float);
    const dim3 out_threads(CHUNK / 16 * 32);
    if (s->causal) {
        static bool set3;
        if ((e = allow_smem(linear_out<D, true, BF16>, smem3, &set3)) != cudaSuccess)
            return e;
        return kb_pdl::launch_pdl(linear_out<D, true, BF16>, chunks, out_threads, smem3, st, Q, K, V, (uint16_t *)o,
                                  (const uint16_t *)scr->prefix, (const float *)scr->zprefix, n, s->heads, s->kv_heads,
                                  nc, f, decay, cu);
    }
    static bool set3;
    if ((e = allow_smem(linear_out<D, false, BF16>, smem3, &set3)) != cudaSuccess)
        return e;
    return kb_pdl::launch_pdl(linear_out<D, false, BF16>, chunks, out_threads, smem3, st, Q, K, V, (uint16_t *)o,
                              (const uint16_t *)scr->prefix, (const float *)scr->zprefix, n, s->heads, s->kv_heads, nc,
                              f, decay, cu);
}

/* The padded launcher (cu null) and the packed one share the checks and the dispatch. */
static int launch_any(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, const void *v, void *o,
                      const struct linear_cuda_scratch *scratch, void *stream, const int *cu)
{
    cudaStream_t st = (cudaStream_t)stream;
    bool bf16 = t == KB_DTYPE_BF16;
    if ((t != KB_DTYPE_BF16 && t != KB_DTYPE_F16) || s->kv_heads < 1 || s->heads % s->kv_heads != 0 || s->decode ||
        s->chunk != CHUNK)
        return (int)cudaErrorInvalidValue;
    if (s->head_dim == 64)
        return (int)(bf16 ? launch<64, true>(s, q, k, v, o, scratch, st, cu)
                          : launch<64, false>(s, q, k, v, o, scratch, st, cu));
    if (s->head_dim == 128)
        return (int)(bf16 ? launch<128, true>(s, q, k, v, o, scratch, st, cu)
                          : launch<128, false>(s, q, k, v, o, scratch, st, cu));
    return (int)cudaErrorInvalidValue;
}

} // namespace

extern "C" int linear_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                  const void *v, void *o, const struct linear_cuda_scratch *scratch, void *stream)
{
    return launch_any(s, t, q, k, v, o, scratch, stream, nullptr);
}

extern "C" int linear_varlen_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                         const void *v, void *o, const struct linear_cuda_scratch *scratch,
                                         const int *cu_seqlens, void *stream)
{
    if (!cu_seqlens || s->decay)
        return (int)cudaErrorInvalidValue;
    return launch_any(s, t, q, k, v, o, scratch, stream, cu_seqlens);
}
