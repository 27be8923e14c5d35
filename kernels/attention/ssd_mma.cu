/* ssd_mma.cu - the device code of attention.ssd@cuda.mma: Mamba-2's chunked SSD (the passes are
 * described in ssd_cuda.h; definition in ssd_ops.h) on mma.sync m16n8k16 tensor cores, f16/bf16
 * operands, float32 accumulation, decays and chunk-local states; sm_80 and later.
 *
 * Chunks of CH = 64 tokens; per chunk the segment sums cum_i = A·Σ_{r≤i} dt_r (float32, ≤ 0,
 * one warp's scan) and every decay is exp of a difference that is ≤ 0: exp(cum_i − cum_j) for
 * j ≤ i, exp(cum_last − cum_j), exp(cum_i). The tiles are chunk_tiles.cuh's swizzled [rows][D]
 * 16-bit tiles and its fragment walks (lane = 4·g + t4; C/D fragment (row g, cols 2t4, 2t4+1),
 * (row g+8, same)): an operand with its k index along rows (X in W·X, the state H in C·H, B and
 * X in B̃ᵀ·X) is read with ldmatrix .trans, one with k along columns (C, and B in C·Bᵀ) without.
 *
 * 16-bit roundings beyond the inputs (which are exact): the in-chunk weights w_ij, the weighted
 * B̃ rows of the state product, and the state before each chunk (the scan's sum is float32,
 * rounded once as it is stored). All are O(1) in size here (|w| ≲ 30 with S = 128, states ≲ 10),
 * far inside f16's range, each a relative 2^-9 (bf16) or 2^-12 (f16) rounding.
 *
 * Token order: the bidirectional form's second pass walks logical token k = physical n − 1 − k
 * (tiles are loaded in that order), keeps j < i in the chunk and adds into y, as ssd_dev.cu. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "kernels/attention/ssd_cuda.h"
}

#include "kernels/attention/chunk_tiles.cuh"

namespace {

using namespace kb_ptx;
using namespace kb_chunk;

constexpr int CH = SSD_CUDA_CHUNK;
constexpr int THREADS = 128; /* four warps: 16 rows of the chunk each, or S/4 state rows each */
static_assert(CH == 64, "four warps of 16 rows cover one chunk");

/* The shape as the kernels need it: T tokens held per head (the operands' stride), n processed. */
struct Geo {
    int H, G, T, n, nc;
};

__device__ __forceinline__ int phys(int k, int n, int dir)
{
    return dir ? n - 1 - k : k;
}

/* Logical rows [row0, row0 + ROWS) of a [n, D] matrix (physical row phys(row, n, dir)) into a
 * swizzled tile; rows past n are zero (load_tile's pattern, with the backward order). */
template <int D, int ROWS>
__device__ __forceinline__ void load_rows(uint16_t *tile, const uint16_t *src, int row0, int n, int dir)
{
    constexpr int CPR = D / 8; /* 16-byte pieces a row */
    for (int c = threadIdx.x; c < ROWS * CPR; c += THREADS) {
        const int r = c / CPR, ch = c % CPR, gr = row0 + r;
        const bool ok = gr < n;
        cp_async16(smem_u32(tile + swz<D>(r, ch)), src + (size_t)(ok ? phys(gr, n, dir) : 0) * D + ch * 8, ok);
    }
}

/* dts[j] = dt of the chunk's token j (0 past n) and cum[j] = A·Σ_{r≤j} dt_r, by warp 0 (two
 * values a lane, an inclusive shuffle scan). Ends with a __syncthreads. */
__device__ __forceinline__ void chunk_segsum(const float *dt, float Ah, int k0, int n, int dir, float *dts, float *cum)
{
    if (threadIdx.x < CH)
        dts[threadIdx.x] = k0 + (int)threadIdx.x < n ? dt[phys(k0 + threadIdx.x, n, dir)] : 0.f;
    __syncthreads();
    if (threadIdx.x < 32) {
        const int l = threadIdx.x;
        const float v0 = dts[2 * l] * Ah, v1 = dts[2 * l + 1] * Ah;
        float s = v0 + v1;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            const float u = __shfl_up_sync(0xffffffffu, s, o);
            if (l >= o)
                s += u;
        }
        cum[2 * l + 1] = s;
        cum[2 * l] = s - v1;
    }
    __syncthreads();
}

/* ---- pass 1: each chunk's own state ---------------------------------------------------------- */

/* Block (chunk k, head h, batch b), 4 warps: L_k = Σ_j exp(cum_last − cum_j) dt_j B_jᵀ x_j (S×P,
 * float32) at local[(b·H + h)·nc + k], a_k = exp(cum_last) at decays[same]. */
template <int S, int P, bool BF16>
__global__ void __launch_bounds__(THREADS) ssd_mma_states(Geo d, const uint16_t *__restrict__ x,
                                                          const uint16_t *__restrict__ bm,
                                                          const float *__restrict__ dt,
                                                          const float *__restrict__ A, float *__restrict__ local,
                                                          float *__restrict__ decays, int dir)
{
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t *sB = reinterpret_cast<uint16_t *>(smem); /* [CH][S] */
    uint16_t *sX = sB + CH * S;                          /* [CH][P] */
    __shared__ float dts[CH], cum[CH], wts[CH];
    const int k = blockIdx.x, h = blockIdx.y, b = blockIdx.z, k0 = k * CH, n = d.n;
    const int g = h / (d.H / d.G);
    const size_t bh = (size_t)b * d.H + h;
    load_rows<S, CH>(sB, bm + ((size_t)b * d.G + g) * (size_t)d.T * S, k0, n, dir);
    load_rows<P, CH>(sX, x + bh * (size_t)d.T * P, k0, n, dir);
    cp_commit();
    chunk_segsum(dt + bh * (size_t)d.T, A[h], k0, n, dir, dts, cum);
    const float last = cum[CH - 1];
    if (threadIdx.x < CH)
        wts[threadIdx.x] = __expf(last - cum[threadIdx.x]) * dts[threadIdx.x];
    cp_wait<0>();
    __syncthreads();

    constexpr int MT = S / 64;
    float acc[MT][P / 8][4];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int i = 0; i < P / 8; i++)
            acc[mt][i][0] = acc[mt][i][1] = acc[mt][i][2] = acc[mt][i][3] = 0.f;
    chunk_state_mma_weighted<S, P, CH, BF16>(sB, sX, wts, acc);

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, gr = lane / 4, t4 = lane % 4;
    float *out = local + (bh * d.nc + k) * (size_t)S * P;
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int nt = 0; nt < P / 8; nt++) {
            const int row = warp * 16 * MT + mt * 16 + gr, col = nt * 8 + 2 * t4;
            *reinterpret_cast<float2 *>(out + (size_t)row * P + col) = make_float2(acc[mt][nt][0], acc[mt][nt][1]);
            *reinterpret_cast<float2 *>(out + (size_t)(row + 8) * P + col) =
                make_float2(acc[mt][nt][2], acc[mt][nt][3]);
        }
    if (threadIdx.x == 0)
        decays[bh * d.nc + k] = __expf(last);
}

/* ---- pass 2: the scan over chunks, one thread per pair of state elements --------------------- */

/* Grid (S·P/2/256, H, B): H_0 = 0, H_{k+1} = a_k H_k + L_k in float32; prefix[k] = H_k, the
 * state before chunk k, rounded to 16 bits ([S][P] row-major). */
template <bool BF16>
__global__ void __launch_bounds__(256) ssd_mma_scan(Geo d, const float *__restrict__ local,
                                                    const float *__restrict__ decays, uint16_t *__restrict__ prefix,
                                                    int pairs)
{
    const int e2 = blockIdx.x * blockDim.x + threadIdx.x;
    if (e2 >= pairs)
        return;
    const size_t bh = (size_t)blockIdx.z * d.H + blockIdx.y, nc = d.nc;
    const float2 *src = reinterpret_cast<const float2 *>(local + bh * nc * 2 * pairs) + e2;
    uint32_t *dst = reinterpret_cast<uint32_t *>(prefix + bh * nc * 2 * pairs) + e2;
    const float *dc = decays + bh * nc;
    float run0 = 0.f, run1 = 0.f;
    constexpr int U = 8; /* loads issued ahead of the dependent chain */
    for (int k = 0; k < d.nc; k += U) {
        float2 l[U];
        float a[U];
#pragma unroll
        for (int u = 0; u < U; u++) {
            l[u] = k + u < d.nc ? src[(size_t)(k + u) * pairs] : make_float2(0.f, 0.f);
            a[u] = k + u < d.nc ? dc[k + u] : 0.f;
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            if (k + u < d.nc) {
                dst[(size_t)(k + u) * pairs] = pack2<BF16>(run0, run1);
                run0 = fmaf(a[u], run0, l[u].x);
                run1 = fmaf(a[u], run1, l[u].y);
            }
        }
    }
}

/* ---- pass 3: the outputs ------------------------------------------------------------------- */

/* Block (chunk k, head h, batch b), 4 warps; warp w owns the chunk's rows [16w, 16w + 16). Row i
 * (lane rows ia = 16w + g, ib = ia + 8):
 *   y_i = exp(cum_i) C_i·H_k + Σ_{j≤i} (C_i·B_j) exp(cum_i − cum_j) dt_j x_j   (j < i backward)
 * C·H and C·Bᵀ share the A fragments of C; the weights are applied to the score fragments in
 * float32 and become the A fragments of W·X (chunk_intra_pv); key tiles right of the warp's rows
 * are skipped (all masked). */
template <int S, int P, bool BF16>
__global__ void __launch_bounds__(THREADS) ssd_mma_output(Geo d, const uint16_t *__restrict__ x,
                                                          const uint16_t *__restrict__ bm,
                                                          const uint16_t *__restrict__ cm,
                                                          const float *__restrict__ dt,
                                                          const float *__restrict__ A,
                                                          const uint16_t *__restrict__ prefix, float *__restrict__ y,
                                                          int dir)
{
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t *sC = reinterpret_cast<uint16_t *>(smem); /* [CH][S] */
    uint16_t *sB = sC + CH * S;                          /* [CH][S] */
    uint16_t *sX = sB + CH * S;                          /* [CH][P] */
    uint16_t *sH = sX + CH * P;                          /* [S][P] the state before the chunk */
    __shared__ float dts[CH], cum[CH];
    const int k = blockIdx.x, h = blockIdx.y, b = blockIdx.z, k0 = k * CH, n = d.n;
    const int g = h / (d.H / d.G);
    const size_t bh = (size_t)b * d.H + h, bcoff = ((size_t)b * d.G + g) * (size_t)d.T * S;
    load_rows<S, CH>(sC, cm + bcoff, k0, n, dir);
    load_rows<S, CH>(sB, bm + bcoff, k0, n, dir);
    load_rows<P, CH>(sX, x + bh * (size_t)d.T * P, k0, n, dir);
    load_tile<P, S, THREADS>(sH, prefix + (bh * d.nc + k) * (size_t)S * P, 0, S);
    cp_commit();
    chunk_segsum(dt + bh * (size_t)d.T, A[h], k0, n, dir, dts, cum);
    cp_wait<0>();
    __syncthreads();

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, gr = lane / 4, t4 = lane % 4;
    const int r0 = warp * 16, ia = r0 + gr, ib = ia + 8;
    float o[P / 8][4], s[CH / 8][4];
#pragma unroll
    for (int i = 0; i < P / 8; i++)
        o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
#pragma unroll
    for (int i = 0; i < CH / 8; i++)
        s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;

    /* o = C·H over all P columns; s = C·Bᵀ over the key tiles at or left of the warp's rows */
#pragma unroll
    for (int kk = 0; kk < S / 16; kk++) {
        uint32_t ca[4];
        ldsm_x4(ca, smem_u32(sC + swz<S>(r0 + (lane % 8) + 8 * ((lane / 8) % 2), kk * 2 + lane / 16)));
#pragma unroll
        for (int dp = 0; dp < P / 16; dp++) {
            uint32_t r[4];
            ldsm_x4_trans(r, smem_u32(sH + swz<P>(kk * 16 + (lane % 8) + 8 * ((lane / 8) % 2), dp * 2 + lane / 16)));
            mma_16816<BF16>(o[2 * dp], ca, r[0], r[1]);
            mma_16816<BF16>(o[2 * dp + 1], ca, r[2], r[3]);
        }
#pragma unroll
        for (int np = 0; np < CH / 16; np++) {
            if (np > warp)
                break;
            uint32_t r[4];
            ldsm_x4(r, smem_u32(sB + swz<S>(np * 16 + (lane % 8) + 8 * (lane / 16), kk * 2 + (lane / 8) % 2)));
            mma_16816<BF16>(s[2 * np], ca, r[0], r[1]);
            mma_16816<BF16>(s[2 * np + 1], ca, r[2], r[3]);
        }
    }

    /* the inter-chunk part decays by exp(cum_i) (≤ 1) */
    const float ea = __expf(cum[ia]), eb = __expf(cum[ib]);
#pragma unroll
    for (int i = 0; i < P / 8; i++) {
        o[i][0] *= ea;
        o[i][1] *= ea;
        o[i][2] *= eb;
        o[i][3] *= eb;
    }
    /* in-chunk weights w_ij = (C_i·B_j) exp(cum_i − cum_j) dt_j, j ≤ i (j < i backward), else 0 */
#pragma unroll
    for (int nt = 0; nt < CH / 8; nt++) {
        if (nt / 2 > warp)
            break;
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int i = e < 2 ? ia : ib, j = nt * 8 + 2 * t4 + (e & 1);
            const bool keep = dir ? j < i : j <= i;
            s[nt][e] = keep ? s[nt][e] * __expf(cum[i] - cum[j]) * dts[j] : 0.f;
        }
    }
    const float one[2] = { 1.f, 1.f };
    chunk_intra_pv<P, CH, BF16>(o, s, one, sX, warp, lane);

    float *yb = y + bh * (size_t)n * P;
#pragma unroll
    for (int half = 0; half < 2; half++) {
        const int i = half ? ib : ia;
        if (k0 + i >= n)
            continue;
        float *row = yb + (size_t)phys(k0 + i, n, dir) * P;
#pragma unroll
        for (int nt = 0; nt < P / 8; nt++) {
            float2 *cell = reinterpret_cast<float2 *>(row + nt * 8 + 2 * t4);
            float2 v = make_float2(o[nt][2 * half], o[nt][2 * half + 1]);
            if (dir) {
                const float2 old = *cell;
                v.x += old.x;
                v.y += old.y;
            }
            *cell = v;
        }
    }
}

template <int S, int P> constexpr size_t states_smem()
{
    return sizeof(uint16_t) * (size_t)CH * (S + P);
}
template <int S, int P> constexpr size_t output_smem()
{
    return sizeof(uint16_t) * ((size_t)CH * (2 * S + P) + (size_t)S * P);
}

template <int S, int P, bool BF16>
cudaError_t launch(const struct kb_shape *s, const struct ssd_cuda_args *a, cudaStream_t st)
{
    Geo d;
    d.H = s->heads;
    d.G = s->kv_heads > 0 ? s->kv_heads : s->heads;
    d.n = s->seq_len;
    d.T = s->seq_len + (s->decode ? 1 : 0);
    d.nc = (d.n + CH - 1) / CH;
    const uint16_t *x = (const uint16_t *)a->x, *b = (const uint16_t *)a->b, *c = (const uint16_t *)a->c;
    uint16_t *prefix = (uint16_t *)a->prefix;
    static bool set1, set3;
    cudaError_t e = allow_smem(ssd_mma_states<S, P, BF16>, states_smem<S, P>(), &set1);
    if (e == cudaSuccess)
        e = allow_smem(ssd_mma_output<S, P, BF16>, output_smem<S, P>(), &set3);
    if (e != cudaSuccess)
        return e;
    const dim3 chunks(d.nc, s->heads, s->batch), pairs((S * P / 2 + 255) / 256, s->heads, s->batch);
    for (int dir = 0; dir < (s->causal ? 1 : 2); dir++) {
        ssd_mma_states<S, P, BF16><<<chunks, THREADS, states_smem<S, P>(), st>>>(d, x, b, a->dt, a->A, a->states,
                                                                                 a->decays, dir);
        if ((e = cudaGetLastError()) != cudaSuccess)
            return e;
        ssd_mma_scan<BF16><<<pairs, 256, 0, st>>>(d, a->states, a->decays, prefix, S * P / 2);
        if ((e = cudaGetLastError()) != cudaSuccess)
            return e;
        ssd_mma_output<S, P, BF16><<<chunks, THREADS, output_smem<S, P>(), st>>>(d, x, b, c, a->dt, a->A, prefix,
                                                                                 a->y, dir);
        if ((e = cudaGetLastError()) != cudaSuccess)
            return e;
    }
    return cudaSuccess;
}

template <bool BF16> cudaError_t launch_sized(const struct kb_shape *s, const struct ssd_cuda_args *a, cudaStream_t st)
{
    if (s->state == 64 && s->head_dim == 64)
        return launch<64, 64, BF16>(s, a, st);
    if (s->state == 128 && s->head_dim == 64)
        return launch<128, 64, BF16>(s, a, st);
    if (s->state == 64 && s->head_dim == 128)
        return launch<64, 128, BF16>(s, a, st);
    if (s->state == 128 && s->head_dim == 128)
        return launch<128, 128, BF16>(s, a, st);
    return cudaErrorInvalidValue;
}

} // namespace

extern "C" int ssd_cuda_mma_launch(const struct kb_shape *s, enum kb_dtype t, const struct ssd_cuda_args *a,
                                   void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (s->decode || s->chunk != CH || s->seq_len < 1 || (long)s->batch > 65535 || s->heads > 65535)
        return (int)cudaErrorInvalidValue;
    if (t == KB_DTYPE_BF16)
        return (int)launch_sized<true>(s, a, st);
    if (t == KB_DTYPE_F16)
        return (int)launch_sized<false>(s, a, st);
    return (int)cudaErrorInvalidValue;
}
