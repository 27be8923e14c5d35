/* gla_mma.cu - the device code of attention.gla@cuda.mma (the three passes are described in
 * gla_cuda.h; definition in linear.h). mma.sync m16n8k16, f16/bf16 operands, float32
 * accumulation and float32 gate arithmetic, sm_80 and later.
 *
 * Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k16", lane = 4·g + t4):
 *   A (16×16, row-major): a0a1 = (row g,   k 2t4, 2t4+1)   a2a3 = (row g+8, k 2t4..)
 *                         a4a5 = (row g,   k 8+2t4..)      a6a7 = (row g+8, k 8+2t4..)
 *   B (16×8, "col"):      b0b1 = (k 2t4, 2t4+1, col g)     b2b3 = (k 8+2t4.., col g)
 *   C/D (16×8, f32):      c0c1 = (row g, col 2t4, 2t4+1)   c2c3 = (row g+8, same cols)
 * ldmatrix.x4 loads four 8×8 16-bit matrices whose row addresses come from lanes 8i..8i+7; a
 * lane receives (row g, cols 2t4, 2t4+1) of each, or with .trans (rows 2t4, 2t4+1, col g).
 * Shared tiles are rows of D 16-bit values, XOR-swizzled in 16-byte chunks (chunk ch of row r
 * lives at chunk ch ^ (r & 7)) so the eight row addresses of an ldmatrix hit distinct banks.
 *
 * The gates in 16 bits. attention.gla@cpu scales keys by exp(−B_j), which grows through the
 * chunk (up to e^5 or so at chunk 64): harmless in float32, but a key with outlier channels
 * times that could leave f16's range. So the intra-chunk product is referred to the start of
 * each 16-row tile instead: with R_w = B at row 16w (a per-channel vector),
 *   q̂_i = (q_i/√d) ⊙ exp(B_i − R_{w(i)})   (≤ |q|/√d)
 *   k̂_j = k_j ⊙ exp(R_{w(j)} − B_j)         (grows over 16 tokens only)
 * and the weight of key j in tile m on row i in tile w ≥ m is
 *   q̂_i · diag(exp(R_w − R_m)) · k̂_j  =  Σ_p (q_ip/√d) k_jp exp(B_ip − B_jp),
 * exactly the CPU kernel's q̃·k̃ᵀ, with every factor at most 1 except k̂'s 16-token growth.
 * The per-channel factor exp(R_w − R_m) (1 on the diagonal tile) and the inter-chunk one
 * exp(R_w) (giving q̃ = q̂ ⊙ exp(R_w) = (q/√d) ⊙ exp(B)) are applied to the A fragment of q̂ in
 * float32 and rounded again. The state update uses k_j ⊙ exp(B_{C−1} − B_j) ≤ |k|, its
 * exponent the suffix sum of the gates. The intra weights are scaled per row by 1/max|w|
 * before they are rounded for P·V (undone in float32 at the end), as linear_mma.cu does. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

extern "C" {
#include "kernels/attention/gla_cuda.h"
}

#include "kernels/attention/chunk_tiles.cuh"

namespace {

using namespace kb_ptx;
using namespace kb_chunk;

constexpr int CHUNK = GLA_CUDA_CHUNK;
constexpr int TILES = CHUNK / 16;   /* 16-row tiles of a chunk: one warp each in pass 3 */
constexpr int THREADS = 32 * TILES; /* 128: passes 1 and 3 */
static_assert(CHUNK % 16 == 0, "chunk must be a multiple of the mma's 16 rows");
/* The prefix state is stored times this (undone in the float32 accumulator): with outlier
 * inputs (a key-channel bias of up to 100 against value channels of up to 100·N(0,1)) a state
 * element reaches ~1e5, past f16's 65504; 2^-8 keeps it inside, and an element small enough to
 * go subnormal (< 0.016) changes an O(1) output by under 1e-5. Exact in both formats. */
constexpr float STATE_SCALE = 1.f / 256.f;






/* An A fragment (see above) with its channels k = kb + {0, 1, 8, 9} (kb = 16·kk + 2t4)
 * multiplied by f[0..3], in float32, rounded again. Registers 0 and 1 hold channels kb, kb+1
 * (rows g and g+8), registers 2 and 3 channels kb+8, kb+9. */
template <bool BF16> __device__ __forceinline__ void scale_a(uint32_t (&out)[4], const uint32_t (&in)[4], const float (&f)[4])
{
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 x = unpack2<BF16>(in[i]);
        int h = i >= 2 ? 2 : 0;
        out[i] = pack2<BF16>(x.x * f[h], x.y * f[h + 1]);
    }
}

/* ---- pass 1: each chunk's own state and decay ----------------------------------------------- */

/* Block (chunk c, query head h, batch b), 4 warps. L = K̄ᵀ V with k̄_j = k_j ⊙ exp(B_{C−1} − B_j):
 * M = N = D (state rows p, columns e), K = C (the chunk's tokens). Warp w owns state rows
 * [16·MT·w, +16·MT). The A operand is K̄ᵀ, read transposed from the [C][D] tile. */
template <int D, bool BF16>
__global__ void __launch_bounds__(THREADS) gla_local(const uint16_t *__restrict__ K, const uint16_t *__restrict__ V,
                                                     const uint16_t *__restrict__ G, float *__restrict__ local, int n,
                                                     int heads, int kv_heads, int nc)
{
    constexpr int C = CHUNK, MT = D / 64;
    static_assert(MT * 64 == D && THREADS == 128, "4 warps of 16·MT state rows cover D");
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t *sK = reinterpret_cast<uint16_t *>(smem);
    uint16_t *sV = sK + C * D, *sG = sV + C * D;
    const int c = blockIdx.x, h = blockIdx.y, b = blockIdx.z, kh = h / (heads / kv_heads);
    const size_t qoff = ((size_t)b * heads + h) * (size_t)n * D;
    const size_t kvoff = ((size_t)b * kv_heads + kh) * (size_t)n * D;
    const int t0 = c * C;

    load_tile<D, C, THREADS>(sK, K + kvoff, t0, n);
    load_tile<D, C, THREADS>(sV, V + kvoff, t0, n);
    load_tile<D, C, THREADS>(sG, G + qoff, t0, n);
    cp_commit();
    cp_wait<0>();
    __syncthreads();

    float *out = local + (((size_t)b * heads + h) * nc + c) * (size_t)(D + 1) * D;
    /* k̄_j in place, one thread per channel walking the tokens backwards: the exponent
     * B_{C−1} − B_j is the suffix sum Σ_{t>j} G_t (≤ 0). Rows past n have G = 0 and k = 0, so
     * a partial chunk's decay is that of its last real token. */
    for (int p = threadIdx.x; p < D; p += THREADS) {
        float suffix = 0.f;
        for (int j = C - 1; j >= 0; j--) {
            const int at = swz_elem<D>(j, p);
            sK[at] = to16<BF16>(from16<BF16>(sK[at]) * expf(suffix));
            suffix += from16<BF16>(sG[at]);
        }
        out[(size_t)D * D + p] = expf(suffix); /* a_c = exp(B_{C−1}) */
    }
    __syncthreads();

    chunk_state_product<D, C, BF16>(sK, sV, out);
}

/* ---- pass 2: the scan over chunks, one thread per state element ----------------------------- */

/* P_0 = 0, P_{c+1} = a_c[p]·P_c + L_c[p][e]; P_c (the state before chunk c) stored in 16 bits
 * times STATE_SCALE. The state stays near the size of ~10 tokens' keys times values: every
 * channel decays by about e^-0.05 per token (mean log-gate), e^-3 per chunk of 64. */
template <bool BF16>
__global__ void __launch_bounds__(256) gla_scan(const float *__restrict__ local, uint16_t *__restrict__ prefix, int d,
                                                int nc, int heads)
{
    const int E = d * d, stride = (d + 1) * d;
    const int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= E)
        return;
    const size_t bh = (size_t)blockIdx.z * heads + blockIdx.y;
    const float *src = local + bh * nc * (size_t)stride;
    const int p = e / d;
    float run = 0.f;
    constexpr int U = 8; /* loads issued ahead of the dependent chain */
    for (int c = 0; c < nc; c += U) {
        float l[U], a[U];
#pragma unroll
        for (int u = 0; u < U; u++) {
            const bool ok = c + u < nc;
            l[u] = ok ? src[(size_t)(c + u) * stride + e] : 0.f;
            a[u] = ok ? src[(size_t)(c + u) * stride + E + p] : 0.f;
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            if (c + u < nc) {
                prefix[(bh * nc + c + u) * E + e] = to16<BF16>(run * STATE_SCALE);
                run = fmaf(a[u], run, l[u]);
            }
        }
    }
}

/* ---- pass 3: the outputs of each chunk ------------------------------------------------------ */

/* Block (chunk c, query head h, batch b), TILES warps; warp w owns the chunk's rows
 * [16w, 16w+16) and the key tiles m ≤ w. */
template <int D, bool BF16>
__global__ void __launch_bounds__(THREADS) gla_out(const uint16_t *__restrict__ Q, const uint16_t *__restrict__ K,
                                                   const uint16_t *__restrict__ V, const uint16_t *__restrict__ G,
                                                   uint16_t *__restrict__ O, const uint16_t *__restrict__ prefix, int n,
                                                   int heads, int kv_heads, int nc)
{
    constexpr int C = CHUNK;
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t *sQ = reinterpret_cast<uint16_t *>(smem);
    uint16_t *sK = sQ + C * D, *sV = sK + C * D, *sG = sV + C * D, *sS = sG + C * D;
    float *sR = reinterpret_cast<float *>(sS + D * D); /* [TILES][D]: R_w = B at row 16w */

    const int c = blockIdx.x, h = blockIdx.y, b = blockIdx.z, kh = h / (heads / kv_heads);
    const size_t qoff = ((size_t)b * heads + h) * (size_t)n * D;
    const size_t kvoff = ((size_t)b * kv_heads + kh) * (size_t)n * D;
    const int t0 = c * C;
    const size_t slot = ((size_t)b * heads + h) * nc + c;

    load_tile<D, D, THREADS>(sS, prefix + slot * D * D, 0, D);
    load_tile<D, C, THREADS>(sQ, Q + qoff, t0, n);
    load_tile<D, C, THREADS>(sK, K + kvoff, t0, n);
    load_tile<D, C, THREADS>(sV, V + kvoff, t0, n);
    load_tile<D, C, THREADS>(sG, G + qoff, t0, n);
    cp_commit();
    cp_wait<0>();
    __syncthreads();

    /* q̂ and k̂ in place: 2·D work items (q or k of channel p), each walking the chunk forwards
     * with its own running B (the same float32 sums on both sides). */
    const float scale = (float)(1.0 / sqrt((double)D));
    for (int item = threadIdx.x; item < 2 * D; item += THREADS) {
        const int p = item % D;
        const bool is_k = item >= D;
        uint16_t *tile = is_k ? sK : sQ;
        float B = 0.f, R = 0.f;
        for (int i = 0; i < C; i++) {
            const int at = swz_elem<D>(i, p);
            B += from16<BF16>(sG[at]);
            if (i % 16 == 0) {
                R = B;
                if (!is_k)
                    sR[(i / 16) * D + p] = B;
            }
            const float x = from16<BF16>(tile[at]);
            tile[at] = to16<BF16>(is_k ? x * expf(R - B) : x * scale * expf(B - R));
        }
    }
    __syncthreads();

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t4 = lane % 4;
    const int r0 = warp * 16;
    const float *Rw = sR + warp * D;
    float o[D / 8][4], s[C / 8][4];
#pragma unroll
    for (int i = 0; i < D / 8; i++)
        o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
#pragma unroll
    for (int i = 0; i < C / 8; i++)
        s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;

    /* O = q̃·(STATE_SCALE·P_c) and S_in = q̂ diag(exp(R_w − R_m)) k̂ᵀ over the key tiles m ≤ w */
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        uint32_t qa[4];
        /* matrix i = lane/8: rows r0 + 8·(i%2) + lane%8, channels 16·kk + 8·(i/2) */
        ldsm_x4(qa, smem_u32(sQ + swz<D>(r0 + (lane % 8) + 8 * ((lane / 8) % 2), kk * 2 + lane / 16)));
        const int kb = kk * 16 + 2 * t4;
        const int ch[4] = { kb, kb + 1, kb + 8, kb + 9 };
        float f[4];
#pragma unroll
        for (int u = 0; u < 4; u++)
            f[u] = expf(Rw[ch[u]]);
        uint32_t qi[4];
        scale_a<BF16>(qi, qa, f); /* q̃ = q̂ ⊙ exp(R_w) */
        mma_rows_state<D, BF16>(o, qi, sS, kk, lane);
#pragma unroll
        for (int m = 0; m < TILES; m++) {
            if (m > warp)
                break;
            uint32_t qf[4];
            if (m == warp) {
#pragma unroll
                for (int u = 0; u < 4; u++)
                    qf[u] = qa[u];
            } else {
#pragma unroll
                for (int u = 0; u < 4; u++)
                    f[u] = expf(Rw[ch[u]] - sR[m * D + ch[u]]);
                scale_a<BF16>(qf, qa, f);
            }
            /* matrix i: keys 16m + 8·(i/2) + lane%8, channels 16·kk + 8·(i%2) */
            uint32_t r[4];
            ldsm_x4(r, smem_u32(sK + swz<D>(m * 16 + (lane % 8) + 8 * (lane / 16), kk * 2 + (lane / 8) % 2)));
            mma_16816<BF16>(s[2 * m], qf, r[0], r[1]);
            mma_16816<BF16>(s[2 * m + 1], qf, r[2], r[3]);
        }
    }

    /* mask to j ≤ i; each row's largest |weight| */
    const int ia = r0 + g, ib = ia + 8; /* the chunk-local rows this lane holds */
    float mx[2] = { 0.f, 0.f };
#pragma unroll
    for (int nt = 0; nt < C / 8; nt++) {
        if (nt / 2 > warp)
            break;
#pragma unroll
        for (int e = 0; e < 4; e++) {
            int i = e < 2 ? ia : ib, j = nt * 8 + 2 * t4 + (e & 1);
            float w = j <= i ? s[nt][e] : 0.f;
            s[nt][e] = w;
            mx[e / 2] = fmaxf(mx[e / 2], fabsf(w));
        }
    }
    float tau[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
        mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
        mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
        tau[i] = mx[i] > 0.f ? 1.f / mx[i] : 1.f;
        const float m = tau[i] / STATE_SCALE; /* the inter part: undo the state's scale, join τ */
#pragma unroll
        for (int dt = 0; dt < D / 8; dt++) {
            o[dt][2 * i] *= m;
            o[dt][2 * i + 1] *= m;
        }
    }
    /* O += (τ·W)·V */
    chunk_intra_pv<D, C, BF16>(o, s, tau, sV, warp, lane);

    uint16_t *out = O + qoff;
    const float inv[2] = { 1.f / tau[0], 1.f / tau[1] };
#pragma unroll
    for (int dt = 0; dt < D / 8; dt++) {
        int col = dt * 8 + 2 * t4;
        if (t0 + ia < n)
            *reinterpret_cast<uint32_t *>(out + (size_t)(t0 + ia) * D + col) = pack2<BF16>(o[dt][0] * inv[0], o[dt][1] * inv[0]);
        if (t0 + ib < n)
            *reinterpret_cast<uint32_t *>(out + (size_t)(t0 + ib) * D + col) = pack2<BF16>(o[dt][2] * inv[1], o[dt][3] * inv[1]);
    }
}


template <int D, bool BF16>
cudaError_t launch(const struct kb_shape *s, const void *q, const void *k, const void *v, const void *g, void *o,
                   const struct gla_cuda_scratch *scr, cudaStream_t st)
{
    const int n = s->seq_len, nc = (n + CHUNK - 1) / CHUNK;
    const uint16_t *Q = (const uint16_t *)q, *K = (const uint16_t *)k, *V = (const uint16_t *)v;
    const uint16_t *G = (const uint16_t *)g;
    dim3 chunks(nc, s->heads, s->batch);

    const size_t smem1 = (size_t)3 * CHUNK * D * sizeof(uint16_t);
    static bool set1;
    cudaError_t e = allow_smem(gla_local<D, BF16>, smem1, &set1);
    if (e != cudaSuccess)
        return e;
    gla_local<D, BF16><<<chunks, THREADS, smem1, st>>>(K, V, G, scr->local, n, s->heads, s->kv_heads, nc);
    if ((e = cudaGetLastError()) != cudaSuccess)
        return e;

    dim3 elems((D * D + 255) / 256, s->heads, s->batch);
    gla_scan<BF16><<<elems, 256, 0, st>>>(scr->local, (uint16_t *)scr->prefix, D, nc, s->heads);
    if ((e = cudaGetLastError()) != cudaSuccess)
        return e;

    const size_t smem3 = ((size_t)4 * CHUNK * D + (size_t)D * D) * sizeof(uint16_t) + (size_t)TILES * D * sizeof(float);
    static bool set3;
    if ((e = allow_smem(gla_out<D, BF16>, smem3, &set3)) != cudaSuccess)
        return e;
    gla_out<D, BF16><<<chunks, THREADS, smem3, st>>>(Q, K, V, G, (uint16_t *)o, (const uint16_t *)scr->prefix, n,
                                                     s->heads, s->kv_heads, nc);
    return cudaGetLastError();
}

} // namespace

extern "C" int gla_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k, const void *v,
                               const void *g, void *o, const struct gla_cuda_scratch *scratch, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    bool bf16 = t == KB_DTYPE_BF16;
    if ((t != KB_DTYPE_BF16 && t != KB_DTYPE_F16) || s->kv_heads < 1 || s->heads % s->kv_heads != 0 ||
        s->chunk != CHUNK || s->seq_len < 1)
        return (int)cudaErrorInvalidValue;
    if (s->head_dim == 64)
        return (int)(bf16 ? launch<64, true>(s, q, k, v, g, o, scratch, st) : launch<64, false>(s, q, k, v, g, o, scratch, st));
    if (s->head_dim == 128)
        return (int)(bf16 ? launch<128, true>(s, q, k, v, g, o, scratch, st)
                          : launch<128, false>(s, q, k, v, g, o, scratch, st));
    return (int)cudaErrorInvalidValue;
}
