/* delta_mma.cu - the device code of attention.delta@cuda.mma: the WY/UT chunked delta rule
 * (delta_cuda.h) on mma.sync m16n8k16 tensor cores, f16/bf16 operands, float32 accumulation,
 * sm_80 and later. Definition: delta_ops.h; the same math on the CPU: delta_cpu_body.h.
 *
 * Per chunk of C = 64 tokens, γ the in-chunk inclusive prefix sum of the log-gates (0 when
 * decay = 0), k̂, q̂ the L2-normalised keys and queries:
 *   L = strictly-lower(diag(β)(K̂K̂ᵀ ⊙ Γ)),  Γ_ij = e^{γ_i − γ_j},  T = (I + L)⁻¹
 *   W = T diag(βe^γ) K̂,  U = T diag(β) V,  K̃ = diag(e^{γ_last − γ}) K̂
 *   V' = U − W S,  S ← e^{γ_last} S + K̃ᵀ V'                (S the state before the chunk)
 *   O = (diag(e^γ) Q̂ S + (Q̂K̂ᵀ ⊙ Γ ⊙ causal) V') / √d
 * in three kernels:
 *   delta_mma_prep  (chunk, head):       T by forward substitution in float32, W, U, K̃, γ
 *   delta_mma_state (DV value channels, head), chunk after chunk: V' and S; the 16-bit state
 *                    before each chunk and V' stored for the next pass; the next chunk's W,
 *                    U, K̃ load (cp.async) while this one computes. DV = DELTA_MMA_VS(d):
 *                    16 at d = 128, 32 at d = 64 (the most blocks: faster on the H100 at
 *                    batch 1), or the 32 or 64 KBENCH_DELTA_VS names
 *   delta_mma_out   (chunk, head):       O, written in the inputs' 16-bit dtype (as fla's kernels
 *                    write theirs: a float32 O was a third more of this pass's traffic); V'
 *                    loaded into S's shared memory once Q̂ S is done, so three blocks fit an SM
 * Only the state pass is sequential: per chunk a 64×DV×d product (W S) and a d×DV×64 one
 * (K̃ᵀ V') a block, on tensor cores.
 *
 * Fragment layouts and swizzled tiles are those of chunk_tiles.cuh and linear_mma.cu (lane =
 * 4g + t4; A: a0 (row g, k 2t4..+1), a1 (row g+8), a2 (row g, k 8+2t4..), a3 (row g+8, k 8+..);
 * C/D: (row g, cols 2t4, 2t4+1), (row g+8, same)). An operand stored with its k index along
 * rows (V, V', K̂ as the right factor of T·K̂, the state S, K̃ in K̃ᵀV') is read with ldmatrix
 * .trans; one with k along columns (Q̂, K̂ in Q̂K̂ᵀ and K̂K̂ᵀ, W in W·S) without.
 *
 * Precision: T stays float32 (shared memory) and is rounded to 16 bits only as the A operand of
 * T·V and T·K̂ (with β, βe^γ folded in first); the state is a float32 accumulator in registers,
 * rounded to 16 bits only as the B operand of W·S and as the stored chunk state. Every e^x
 * taken has x ≤ 0 (differences of γ in the causal direction), so no scaling is needed. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

extern "C" {
#include "kernels/attention/delta_cuda.h"
}

#include "kernels/attention/chunk_tiles.cuh"

namespace {

using namespace kb_ptx;
using namespace kb_chunk;

constexpr int C = DELTA_CUDA_CHUNK;
constexpr int LDT = C + 8;       /* floats per row of T in shared memory (float2 reads of a quad's
                                    8 rows fall in distinct banks per half-warp) */
static_assert(C == 64, "the gate scan gives each lane of one warp two tokens; 4 warps of 16 rows");
static_assert(DELTA_MMA_VS(64) == 32 && DELTA_MMA_VS(128) == 16,
              "launch_state below is compiled for these default widths");

__device__ __forceinline__ float warp_sum(float x)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}

/* Each row of a swizzled [C][D] tile times 1/‖row‖ (0 for a zero row), in float32 from its
 * 16-bit values and rounded back, a warp per row. Every lane reads and writes only its own
 * elements, so the caller's barriers before and after are the only ones needed. */
template <int D, int THREADS, bool BF16> __device__ __forceinline__ void normalise_rows(uint16_t *tile)
{
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    for (int r = warp; r < C; r += THREADS / 32) {
        float x[D / 32];
        float ss = 0.f;
#pragma unroll
        for (int m = 0; m < D / 32; m++) {
            x[m] = from16<BF16>(tile[swz_elem<D>(r, lane + 32 * m)]);
            ss += x[m] * x[m];
        }
        ss = warp_sum(ss);
        const float inv = ss > 0.f ? rsqrtf(ss) : 0.f;
#pragma unroll
        for (int m = 0; m < D / 32; m++)
            tile[swz_elem<D>(r, lane + 32 * m)] = to16<BF16>(x[m] * inv);
    }
}

/* The chunk's β (0 at and past c) and γ (inclusive prefix sums of the log-gates; the gate of a
 * token at or past c is 0, so γ stays γ_last there) into sB, sGam [C]. One warp scans, two tokens
 * a lane. Ends synchronised. */
__device__ __forceinline__ void load_gates(const float *__restrict__ bh, const float *__restrict__ gh, int t0, int c,
                                           float *sB, float *sGam)
{
    const int tid = threadIdx.x, lane = tid % 32;
    if (tid < 32) {
        const int i0 = 2 * lane, i1 = i0 + 1;
        sB[i0] = i0 < c ? bh[t0 + i0] : 0.f;
        sB[i1] = i1 < c ? bh[t0 + i1] : 0.f;
        const float a = i0 < c ? gh[t0 + i0] : 0.f, b = a + (i1 < c ? gh[t0 + i1] : 0.f);
        float run = b;
#pragma unroll
        for (int o = 1; o < 32; o <<= 1) {
            const float up = __shfl_up_sync(0xffffffffu, run, o);
            if (lane >= o)
                run += up;
        }
        const float before = run - b;
        sGam[i0] = before + a;
        sGam[i1] = before + b;
    }
    __syncthreads();
}

/* s[nt] += (rows 16·warp.. of sA)·(rows of sB)ᵀ over the key tiles np ≤ warp (the rest of a
 * causal chunk is masked): the Q·Kᵀ step of linear_out, both tiles [C][D] swizzled. */
template <int D, bool BF16>
__device__ __forceinline__ void lower_scores(const uint16_t *sA, const uint16_t *sB, float (&s)[C / 8][4], int warp,
                                             int lane)
{
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        uint32_t qa[4];
        ldsm_x4(qa, smem_u32(sA + swz<D>(warp * 16 + (lane % 8) + 8 * ((lane / 8) % 2), kk * 2 + lane / 16)));
#pragma unroll
        for (int np = 0; np < C / 16; np++) {
            if (np > warp)
                break;
            uint32_t r[4];
            ldsm_x4(r, smem_u32(sB + swz<D>(np * 16 + (lane % 8) + 8 * (lane / 16), kk * 2 + (lane / 8) % 2)));
            mma_16816<BF16>(s[2 * np], qa, r[0], r[1]);
            mma_16816<BF16>(s[2 * np + 1], qa, r[2], r[3]);
        }
    }
}

/* ---- pass 1: T, W, U, K̃ and γ of each chunk ------------------------------------------------- */

template <int D> constexpr size_t prep_smem_bytes()
{
    return (size_t)2 * C * D * sizeof(uint16_t) + (size_t)2 * C * LDT * sizeof(float) + 2 * C * sizeof(float);
}

/* o = (rows 16·warp.. of T·diag(f))·sX over the key tiles kc ≤ warp (T is lower triangular):
 * the A fragments are built from float32 T and f, rounded to 16 bits once; sX [C][D] is read
 * .trans (k = its rows), as chunk_intra_pv reads V. */
template <int D, bool BF16>
__device__ __forceinline__ void t_times(const float *sT, const float *f, const uint16_t *sX, float (&o)[D / 8][4],
                                        int warp, int lane)
{
    const int g = lane / 4, t4 = lane % 4, ia = warp * 16 + g, ib = ia + 8;
#pragma unroll
    for (int i = 0; i < D / 8; i++)
        o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
#pragma unroll
    for (int kc = 0; kc < C / 16; kc++) {
        if (kc > warp)
            break;
        const int j = kc * 16 + 2 * t4; /* a0/a1 columns j, j + 1; a2/a3 columns j + 8, j + 9 */
        const float2 ta0 = *reinterpret_cast<const float2 *>(sT + ia * LDT + j);
        const float2 tb0 = *reinterpret_cast<const float2 *>(sT + ib * LDT + j);
        const float2 ta8 = *reinterpret_cast<const float2 *>(sT + ia * LDT + j + 8);
        const float2 tb8 = *reinterpret_cast<const float2 *>(sT + ib * LDT + j + 8);
        const float f0 = f[j], f1 = f[j + 1], f8 = f[j + 8], f9 = f[j + 9];
        uint32_t pa[4];
        pa[0] = pack2<BF16>(ta0.x * f0, ta0.y * f1);
        pa[1] = pack2<BF16>(tb0.x * f0, tb0.y * f1);
        pa[2] = pack2<BF16>(ta8.x * f8, ta8.y * f9);
        pa[3] = pack2<BF16>(tb8.x * f8, tb8.y * f9);
#pragma unroll
        for (int dp = 0; dp < D / 16; dp++) {
            uint32_t r[4];
            ldsm_x4_trans(r, smem_u32(sX + swz<D>(kc * 16 + (lane % 8) + 8 * ((lane / 8) % 2), dp * 2 + lane / 16)));
            mma_16816<BF16>(o[2 * dp], pa, r[0], r[1]);
            mma_16816<BF16>(o[2 * dp + 1], pa, r[2], r[3]);
        }
    }
}

/* The warp's 16 rows of a C/D-layout [16][D] accumulator, rounded to 16 bits, into rows
 * row0 + 16·warp.. of a [·][D] matrix in global memory. */
template <int D, bool BF16>
__device__ __forceinline__ void store_rows16(const float (&o)[D / 8][4], uint16_t *dst, int warp, int lane)
{
    const int g = lane / 4, t4 = lane % 4, ia = warp * 16 + g, ib = ia + 8;
#pragma unroll
    for (int dt = 0; dt < D / 8; dt++) {
        const int col = dt * 8 + 2 * t4;
        *reinterpret_cast<uint32_t *>(dst + (size_t)ia * D + col) = pack2<BF16>(o[dt][0], o[dt][1]);
        *reinterpret_cast<uint32_t *>(dst + (size_t)ib * D + col) = pack2<BF16>(o[dt][2], o[dt][3]);
    }
}

/* Block (chunk, head), 4 warps; warp w owns the chunk's rows [16w, 16w + 16) in the GEMMs.
 * Writes every one of the chunk's C rows of W, U, K̃ (rows past N zero) and γ. */
template <int D, bool BF16>
__global__ void __launch_bounds__(128) delta_mma_prep(const uint16_t *__restrict__ K, const uint16_t *__restrict__ V,
                                                      const float *__restrict__ beta, const float *__restrict__ g,
                                                      uint16_t *__restrict__ Wg, uint16_t *__restrict__ Ug,
                                                      uint16_t *__restrict__ Ktg, float *__restrict__ gamg,
                                                      int tokens, int n)
{
    constexpr int THREADS = 128;
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t *sK = reinterpret_cast<uint16_t *>(smem), *sV = sK + C * D;
    float *sL = reinterpret_cast<float *>(sV + C * D), *sT = sL + C * LDT, *sB = sT + C * LDT, *sGam = sB + C;
    const int chunk = blockIdx.x, nch = gridDim.x, t0 = chunk * C, c = min(C, n - t0);
    const size_t head = blockIdx.y, in_at = head * (size_t)tokens * D, rows_at = (head * nch + chunk) * (size_t)C;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g4 = lane / 4, t4 = lane % 4;

    load_tile<D, C, THREADS>(sK, K + in_at, t0, n);
    load_tile<D, C, THREADS>(sV, V + in_at, t0, n);
    cp_commit();
    load_gates(beta + head * tokens, g + head * tokens, t0, c, sB, sGam);
    cp_wait<0>();
    __syncthreads();
    normalise_rows<D, THREADS, BF16>(sK);
    __syncthreads();

    /* L = strictly-lower(diag(β)(K̂K̂ᵀ ⊙ Γ)) into sL (entries on and above the diagonal are
     * never read) */
    {
        float s[C / 8][4];
#pragma unroll
        for (int i = 0; i < C / 8; i++)
            s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
        lower_scores<D, BF16>(sK, sK, s, warp, lane);
        const int ia = warp * 16 + g4, ib = ia + 8;
#pragma unroll
        for (int nt = 0; nt < C / 8; nt++) {
            if (nt / 2 > warp)
                break;
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int i = e < 2 ? ia : ib, j = nt * 8 + 2 * t4 + (e & 1);
                sL[i * LDT + j] = j < i ? sB[i] * __expf(sGam[i] - sGam[j]) * s[nt][e] : 0.f;
            }
        }
    }
    __syncthreads();

    /* T = (I + L)⁻¹ column by column: T_im = δ_im − Σ_{j<i} L_ij T_jm. A column depends only on
     * itself, so thread m (warps 0, 1) walks column m in registers with no barrier; all threads
     * of a warp read the same L_ij (a broadcast). */
    if (threadIdx.x < C) {
        const int m = threadIdx.x;
        float t[C];
#pragma unroll
        for (int i = 0; i < C; i++) {
            float a0 = i == m ? 1.f : 0.f, a1 = 0.f;
            const float *li = sL + i * LDT;
#pragma unroll
            for (int j = 0; j + 1 < i; j += 2) {
                a0 -= li[j] * t[j];
                a1 -= li[j + 1] * t[j + 1];
            }
            if (i & 1)
                a0 -= li[i - 1] * t[i - 1];
            t[i] = a0 + a1;
        }
#pragma unroll
        for (int i = 0; i < C; i++)
            sT[i * LDT + m] = t[i];
    }
    /* the factors folded into T's columns: β (for U) in sL's first row, βe^γ (for W) in its
     * second (L is no longer needed once every column of T is done) */
    __syncthreads();
    float *fu = sL, *fw = sL + LDT;
    if (threadIdx.x < C) {
        const int j = threadIdx.x;
        fu[j] = sB[j];
        fw[j] = sB[j] * __expf(sGam[j]);
    }
    __syncthreads();

    float o[D / 8][4];
    t_times<D, BF16>(sT, fu, sV, o, warp, lane); /* U = T diag(β) V */
    store_rows16<D, BF16>(o, Ug + rows_at * D, warp, lane);
    t_times<D, BF16>(sT, fw, sK, o, warp, lane); /* W = T diag(βe^γ) K̂ */
    store_rows16<D, BF16>(o, Wg + rows_at * D, warp, lane);

    /* K̃ = diag(e^{γ_last − γ}) K̂, 16 bytes a thread at a time; and γ */
    const float glast = sGam[C - 1]; /* = γ at token c − 1: the gates past c are 0 */
    for (int e = threadIdx.x; e < C * (D / 8); e += THREADS) {
        const int r = e / (D / 8), ch = e % (D / 8);
        const float w = __expf(glast - sGam[r]);
        const uint4 x = *reinterpret_cast<const uint4 *>(sK + swz<D>(r, ch));
        const uint32_t iw[4] = { x.x, x.y, x.z, x.w };
        uint32_t ow[4];
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const float2 f = unpack2<BF16>(iw[i]);
            ow[i] = pack2<BF16>(f.x * w, f.y * w);
        }
        *reinterpret_cast<uint4 *>(Ktg + (rows_at + r) * D + ch * 8) = make_uint4(ow[0], ow[1], ow[2], ow[3]);
    }
    if (threadIdx.x < C)
        gamg[rows_at + threadIdx.x] = sGam[threadIdx.x];
}

/* ---- pass 2: the state, chunk after chunk ------------------------------------------------- */

constexpr int STATE_THREADS = 256; /* 8 warps */

template <int D, int DV> __host__ __device__ constexpr size_t state_stage_elems() { return (size_t)2 * C * D + (size_t)C * DV; } /* W, K̃, U */
/* ST: stages of W, K̃, U tiles in the ring, ST − 1 chunks ahead in flight. Two: this chunk and
 * the next. Three and four were measured on an H100 (batch 1, 16 heads, d 128, 16k: 513, 504
 * and 500 us at 2, 3 and 4 stages) and taken out again: these loads are not what holds a chunk
 * to its ~2 us (fla's: 1.2). The ring below is written for any ST. */
constexpr int STATE_STAGES = 2;
template <int D, int DV, int ST = STATE_STAGES> constexpr size_t state_smem_bytes()
{
    return (ST * state_stage_elems<D, DV>() + (size_t)D * DV + (size_t)C * DV) * sizeof(uint16_t);
}

/* Block (value channels j0 = DV·blockIdx.x .., head blockIdx.y), 8 warps, DV = 64, 32 or 16. The
 * state slice S [D][DV] is a float32 accumulator: warp w owns rows p0 = 16·(w % (D/16)) .. + 15
 * and the DV/CS columns from c0 (CS = 128/D column splits: 1 at d = 128, 2 at d = 64; NT = DV/8/CS
 * n-tiles of 8, even, as the ldmatrix pairs need). V' = U − W S (64 × DV) is split 4 row tiles ×
 * 2 column halves: warp w rows 16·(w % 4), the VW = DV/2 columns from VW·(w / 4) (DV = 16: 4
 * row tiles of all 16 columns, warps 0-3).
 * Per chunk: S → 16 bits (the stored chunk state and sS); V' (stored, and in sVn); then
 * S ← e^{γ_last} S + K̃ᵀ V'. */
template <int D, int DV, int ST, bool BF16>
__global__ void __launch_bounds__(STATE_THREADS) delta_mma_state(const uint16_t *__restrict__ Wg,
                                                                 const uint16_t *__restrict__ Ug,
                                                                 const uint16_t *__restrict__ Ktg,
                                                                 const float *__restrict__ gamg,
                                                                 uint16_t *__restrict__ Vng, uint16_t *__restrict__ Sg,
                                                                 float *__restrict__ state_out, int n, int nch)
{
    /* DV = 16 (d = 128 only): V' is 64 × 16, one 16-column tile per row tile, so warps 0-3
     * compute it and 4-7 wait at the barrier */
    constexpr int THREADS = STATE_THREADS, RT = D / 16, CS = 8 / RT, NT = DV / 8 / CS, VW = DV == 16 ? 16 : DV / 2;
    static_assert(DV == 64 || DV == 32 || (DV == 16 && D == 128), "value-channel blocks of 64, 32 or (d = 128) 16");
    static_assert(ST >= 2 && ST <= 4, "two to four stages (cp_wait below)");
    static_assert(NT % 2 == 0 && VW % 16 == 0, "whole ldmatrix x4 pairs of n-tiles");
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t *stages = reinterpret_cast<uint16_t *>(smem); /* stage s: W [C][D], K̃ [C][D], U [C][DV] */
    uint16_t *sS = stages + ST * state_stage_elems<D, DV>(), *sVn = sS + D * DV;
    const int j0 = blockIdx.x * DV;
    const size_t head = blockIdx.y, rows_at = head * (size_t)nch * C;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g4 = lane / 4, t4 = lane % 4;
    const int p0 = 16 * (warp % RT), c0 = (DV / CS) * (warp / RT); /* this warp's part of S */
    const int v_r0 = 16 * (warp % 4), v_c0 = VW * (warp / 4);       /* ... and of V' */
    const bool v_warp = DV != 16 || warp < 4;                         /* computes a part of V' */
    const int rows = nch * C;                                         /* rows of W, U, K̃, V' a head */

    float s[NT][4];
#pragma unroll
    for (int i = 0; i < NT; i++)
        s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;

    auto load_stage = [&](int ch) {
        uint16_t *st = stages + (size_t)(ch % ST) * state_stage_elems<D, DV>();
        load_tile<D, C, THREADS>(st, Wg + rows_at * D, ch * C, rows);
        load_tile<D, C, THREADS>(st + C * D, Ktg + rows_at * D, ch * C, rows);
        load_tile<DV, C, THREADS>(st + 2 * C * D, Ug + rows_at * D + j0, ch * C, rows, D);
        cp_commit();
    };
    for (int ch = 0; ch < ST - 1 && ch < nch; ch++)
        load_stage(ch);
    /* γ_last of a chunk, read one chunk ahead: read where it is used, after a barrier, its
     * global-memory latency stood in the chain of every chunk */
    auto gamma_last = [&](int ch) { return gamg[rows_at + (size_t)ch * C + min(C, n - ch * C) - 1]; };
    float gam_next = gamma_last(0);
    for (int ch = 0; ch < nch; ch++) {
        const float gam_this = gam_next;
        if (ch + 1 < nch)
            gam_next = gamma_last(ch + 1);
        const uint16_t *sW = stages + (size_t)(ch % ST) * state_stage_elems<D, DV>(), *sKt = sW + C * D,
                       *sU = sW + 2 * C * D;
        /* the state before this chunk, 16 bits: into sS (read by the last chunk's W·S, which the
         * barrier at the end of its iteration closed) and out for the output pass */
        uint16_t *snap = Sg + (head * nch + ch) * (size_t)D * D;
#pragma unroll
        for (int nt = 0; nt < NT; nt++) {
            const int col = c0 + nt * 8 + 2 * t4;
#pragma unroll
            for (int half = 0; half < 2; half++) {
                const int p = p0 + g4 + 8 * half;
                const uint32_t x = pack2<BF16>(s[nt][2 * half], s[nt][2 * half + 1]);
                *reinterpret_cast<uint32_t *>(sS + swz_elem<DV>(p, col)) = x;
                *reinterpret_cast<uint32_t *>(snap + (size_t)p * D + j0 + col) = x;
            }
        }
        /* chunk ch + ST − 1's tiles into the stage of chunk ch − 1 (its last readers finished
         * before the barrier that ended the previous iteration); then wait for chunk ch's group,
         * the oldest in flight: the `ahead` groups committed after it may stay in flight */
        if (ch + ST - 1 < nch)
            load_stage(ch + ST - 1);
        const int ahead = min(ch + ST - 1, nch - 1) - ch;
        if (ahead >= 3)
            cp_wait<3>();
        else if (ahead == 2)
            cp_wait<2>();
        else if (ahead == 1)
            cp_wait<1>();
        else
            cp_wait<0>();
        __syncthreads();

        /* V' = U − W S over this warp's 16 × VW */
        if (v_warp) {
            float a[VW / 8][4];
#pragma unroll
            for (int i = 0; i < VW / 8; i++)
                a[i][0] = a[i][1] = a[i][2] = a[i][3] = 0.f;
#pragma unroll
            for (int kk = 0; kk < D / 16; kk++) {
                uint32_t wa[4];
                ldsm_x4(wa, smem_u32(sW + swz<D>(v_r0 + (lane % 8) + 8 * ((lane / 8) % 2), kk * 2 + lane / 16)));
#pragma unroll
                for (int dp = 0; dp < VW / 16; dp++) {
                    uint32_t r[4];
                    ldsm_x4_trans(r, smem_u32(sS + swz<DV>(kk * 16 + (lane % 8) + 8 * ((lane / 8) % 2),
                                                          v_c0 / 8 + dp * 2 + lane / 16)));
                    mma_16816<BF16>(a[2 * dp], wa, r[0], r[1]);
                    mma_16816<BF16>(a[2 * dp + 1], wa, r[2], r[3]);
                }
            }
            uint16_t *vout = Vng + (rows_at + (size_t)ch * C) * D + j0;
#pragma unroll
            for (int nt = 0; nt < VW / 8; nt++) {
                const int col = v_c0 + nt * 8 + 2 * t4;
#pragma unroll
                for (int half = 0; half < 2; half++) {
                    const int r = v_r0 + g4 + 8 * half;
                    const float2 u = unpack2<BF16>(*reinterpret_cast<const uint32_t *>(sU + swz_elem<DV>(r, col)));
                    const uint32_t x = pack2<BF16>(u.x - a[nt][2 * half], u.y - a[nt][2 * half + 1]);
                    *reinterpret_cast<uint32_t *>(sVn + swz_elem<DV>(r, col)) = x;
                    *reinterpret_cast<uint32_t *>(vout + (size_t)r * D + col) = x;
                }
            }
        }
        __syncthreads();

        /* S ← e^{γ_last} S + K̃ᵀ V' (K̃ᵀ read .trans from the [C][D] tile, as chunk_state_mma) */
        {
            const float decay = __expf(gam_this);
#pragma unroll
            for (int nt = 0; nt < NT; nt++)
#pragma unroll
                for (int e = 0; e < 4; e++)
                    s[nt][e] *= decay;
#pragma unroll
            for (int kc = 0; kc < C / 16; kc++) {
                uint32_t a[4];
                const int j = kc * 16 + 8 * (lane / 16) + lane % 8;
                ldsm_x4_trans(a, smem_u32(sKt + swz<D>(j, p0 / 8 + (lane / 8) % 2)));
#pragma unroll
                for (int dp = 0; dp < NT / 2; dp++) {
                    uint32_t r[4];
                    ldsm_x4_trans(r, smem_u32(sVn + swz<DV>(kc * 16 + (lane % 8) + 8 * ((lane / 8) % 2),
                                                           c0 / 8 + dp * 2 + lane / 16)));
                    mma_16816<BF16>(s[2 * dp], a, r[0], r[1]);
                    mma_16816<BF16>(s[2 * dp + 1], a, r[2], r[3]);
                }
            }
        }
        __syncthreads(); /* sS, sVn and this stage free for the next chunk */
    }
    if (state_out) {
#pragma unroll
        for (int nt = 0; nt < NT; nt++) {
            const int col = c0 + nt * 8 + 2 * t4;
#pragma unroll
            for (int half = 0; half < 2; half++) {
                const int p = p0 + g4 + 8 * half;
                *reinterpret_cast<float2 *>(state_out + (head * D + p) * D + j0 + col) =
                    make_float2(s[nt][2 * half], s[nt][2 * half + 1]);
            }
        }
    }
}

/* ---- pass 3: the outputs of each chunk ------------------------------------------------------ */

/* DO: the output channels a block computes, D or 64 (KBENCH_DELTA_OUT=split: two blocks a chunk
 * at d = 128, each with half of S and V'; both compute the chunk's Q̂K̂ᵀ). V' [C][DO] is loaded
 * into S's [D][DO] space (D >= C) once Q̂ S is done, so at d = 128 a block takes 64 KiB and three
 * fit an SM (two did at 80 KiB, with S and V' side by side) */
template <int D, int DO = D> constexpr size_t out_smem_bytes()
{
    static_assert(D >= C, "V' fits in S's space");
    return ((size_t)2 * C * D + (size_t)D * DO) * sizeof(uint16_t) + C * sizeof(float);
}

/* Block (chunk, head, channel slice z: output channels [DO·z, DO·z + DO)), 4 warps, warp w owns
 * the chunk's rows [16w, 16w + 16): o = e^{γ_i} q̂_i S + Σ_{j≤i} e^{γ_i − γ_j}(q̂_i·k̂_j) v'_j,
 * times 1/√d, in float32, written in 16 bits. */
template <int D, int DO, bool BF16>
__global__ void __launch_bounds__(128) delta_mma_out(const uint16_t *__restrict__ Q, const uint16_t *__restrict__ K,
                                                     const uint16_t *__restrict__ Vng, const uint16_t *__restrict__ Sg,
                                                     const float *__restrict__ gamg, uint16_t *__restrict__ O,
                                                     int tokens, int n)
{
    static_assert(DO == D || (DO == 64 && D % 64 == 0), "a block's output channels: all, or 64");
    constexpr int THREADS = 128;
    extern __shared__ __align__(128) unsigned char smem[];
    /* sS holds S [D][DO] until Q̂ S is done, then V' [C][DO] */
    uint16_t *sQ = reinterpret_cast<uint16_t *>(smem), *sK = sQ + C * D, *sS = sK + C * D, *sV = sS;
    float *sGam = reinterpret_cast<float *>(sS + D * DO);
    const int chunk = blockIdx.x, nch = gridDim.x, t0 = chunk * C, j0 = DO * blockIdx.z;
    const size_t head = blockIdx.y, in_at = head * (size_t)tokens * D, rows_at = (head * nch + chunk) * (size_t)C;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g4 = lane / 4, t4 = lane % 4;

    /* load groups in the order they are used: Q̂ S runs while K is in flight, Q̂K̂ᵀ while V' is;
     * S and V' are this block's columns of the [D][D] state and the [C][D] V' (rows D apart) */
    load_tile<D, C, THREADS>(sQ, Q + in_at, t0, n);
    load_tile<DO, D, THREADS>(sS, Sg + (head * nch + chunk) * (size_t)D * D + j0, 0, D, D);
    cp_commit();
    load_tile<D, C, THREADS>(sK, K + in_at, t0, n);
    cp_commit();
    if (threadIdx.x < C)
        sGam[threadIdx.x] = gamg[rows_at + threadIdx.x];
    cp_wait<1>();
    __syncthreads();
    normalise_rows<D, THREADS, BF16>(sQ);
    __syncthreads();

    float o[DO / 8][4], s[C / 8][4];
#pragma unroll
    for (int i = 0; i < DO / 8; i++)
        o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
#pragma unroll
    for (int i = 0; i < C / 8; i++)
        s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.f;
    /* o = Q̂ S (S [D][DO], k = its rows: .trans), as linear_out */
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        uint32_t qa[4];
        ldsm_x4(qa, smem_u32(sQ + swz<D>(warp * 16 + (lane % 8) + 8 * ((lane / 8) % 2), kk * 2 + lane / 16)));
        mma_rows_state<DO, BF16>(o, qa, sS, kk, lane);
    }
    __syncthreads(); /* every warp is done with S: V' into its space */
    load_tile<DO, C, THREADS>(sV, Vng + rows_at * D + j0, 0, C, D);
    cp_commit();
    cp_wait<1>();
    __syncthreads();
    normalise_rows<D, THREADS, BF16>(sK);
    __syncthreads();
    lower_scores<D, BF16>(sQ, sK, s, warp, lane);

    const int ia = warp * 16 + g4, ib = ia + 8;
    /* the causal, gated in-chunk weights; the inter-chunk part times e^{γ_i} */
#pragma unroll
    for (int nt = 0; nt < C / 8; nt++) {
        if (nt / 2 > warp)
            break;
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int i = e < 2 ? ia : ib, j = nt * 8 + 2 * t4 + (e & 1);
            s[nt][e] = j <= i ? s[nt][e] * __expf(sGam[i] - sGam[j]) : 0.f;
        }
    }
    const float ea = __expf(sGam[ia]), eb = __expf(sGam[ib]);
#pragma unroll
    for (int dt = 0; dt < DO / 8; dt++) {
        o[dt][0] *= ea;
        o[dt][1] *= ea;
        o[dt][2] *= eb;
        o[dt][3] *= eb;
    }
    const float one[2] = { 1.f, 1.f }; /* |q̂·k̂| ≤ 1: no per-row range scaling needed */
    cp_wait<0>();
    __syncthreads();
    chunk_intra_pv<DO, C, BF16>(o, s, one, sV, warp, lane);

    const float scale = rsqrtf((float)D);
    uint16_t *out = O + head * (size_t)n * D + j0;
#pragma unroll
    for (int dt = 0; dt < DO / 8; dt++) {
        const int col = dt * 8 + 2 * t4;
        if (t0 + ia < n)
            *reinterpret_cast<uint32_t *>(out + (size_t)(t0 + ia) * D + col) =
                pack2<BF16>(o[dt][0] * scale, o[dt][1] * scale);
        if (t0 + ib < n)
            *reinterpret_cast<uint32_t *>(out + (size_t)(t0 + ib) * D + col) =
                pack2<BF16>(o[dt][2] * scale, o[dt][3] * scale);
    }
}

/* ---- host side ----------------------------------------------------------------------------- */

template <int D, bool BF16> cudaError_t allow_all()
{
    static bool p, s, s32, s16, o, o64;
    cudaError_t e = allow_smem(delta_mma_prep<D, BF16>, prep_smem_bytes<D>(), &p);
    if (e == cudaSuccess)
        e = allow_smem(delta_mma_state<D, 64, STATE_STAGES, BF16>, state_smem_bytes<D, 64>(), &s);
    if (e == cudaSuccess)
        e = allow_smem(delta_mma_state<D, 32, STATE_STAGES, BF16>, state_smem_bytes<D, 32>(), &s32);
    if constexpr (D == 128)
        if (e == cudaSuccess)
            e = allow_smem(delta_mma_state<D, 16, STATE_STAGES, BF16>, state_smem_bytes<D, 16>(), &s16);
    if (e == cudaSuccess)
        e = allow_smem(delta_mma_out<D, D, BF16>, out_smem_bytes<D>(), &o);
    if (e == cudaSuccess && D > 64)
        e = allow_smem(delta_mma_out<D, 64, BF16>, out_smem_bytes<D, 64>(), &o64);
    return e;
}

template <int D, int DV, bool BF16>
void launch_state_as(const uint16_t *W, const uint16_t *U, const uint16_t *Kt, const float *gam, uint16_t *Vn,
                     uint16_t *S, float *state_out, int n, int nch, unsigned bh, cudaStream_t st)
{
    delta_mma_state<D, DV, STATE_STAGES, BF16><<<dim3(D / DV, bh), STATE_THREADS, state_smem_bytes<D, DV>(), st>>>(
        W, U, Kt, gam, Vn, S, state_out, n, nch);
}

/* The state pass at vs value channels a block: 32 or 64; 16 at d = 128. */
template <int D, bool BF16>
void launch_state(int vs, const uint16_t *W, const uint16_t *U, const uint16_t *Kt, const float *gam, uint16_t *Vn,
                  uint16_t *S, float *state_out, int n, int nch, unsigned bh, cudaStream_t st)
{
    if constexpr (D == 128)
        if (vs == 16) {
            launch_state_as<D, 16, BF16>(W, U, Kt, gam, Vn, S, state_out, n, nch, bh, st);
            return;
        }
    if (vs == 64)
        launch_state_as<D, 64, BF16>(W, U, Kt, gam, Vn, S, state_out, n, nch, bh, st);
    else
        launch_state_as<D, 32, BF16>(W, U, Kt, gam, Vn, S, state_out, n, nch, bh, st);
}

template <int D, bool BF16> cudaError_t launch(const delta_cuda_args *a, cudaStream_t st)
{
    cudaError_t e = allow_all<D, BF16>();
    if (e != cudaSuccess)
        return e;
    const int n = a->end, nch = (n + C - 1) / C;
    const uint16_t *q = (const uint16_t *)a->q, *k = (const uint16_t *)a->k, *v = (const uint16_t *)a->v;
    const size_t rows = (size_t)a->bh * nch * C * D; /* 16-bit elements of W, U, K̃ or V' */
    uint16_t *W = (uint16_t *)a->scratch_l, *U = W + rows;
    uint16_t *Kt = (uint16_t *)a->scratch_p, *Vn = Kt + rows;
    uint16_t *S = (uint16_t *)a->scratch_s;
    float *gam = a->scratch_u;
    delta_mma_prep<D, BF16><<<dim3((unsigned)nch, (unsigned)a->bh), 128, prep_smem_bytes<D>(), st>>>(
        k, v, a->beta, a->g, W, U, Kt, gam, a->tokens, n);
    launch_state<D, BF16>(a->state_channels ? a->state_channels : DELTA_MMA_VS(D), W, U, Kt, gam, Vn, S, a->state_out, n,
                          nch, (unsigned)a->bh, st);
    if (a->o16 && a->out_split && D > 64)
        delta_mma_out<D, 64, BF16><<<dim3((unsigned)nch, (unsigned)a->bh, D / 64), 128, out_smem_bytes<D, 64>(), st>>>(
            q, k, Vn, S, gam, (uint16_t *)a->o16, a->tokens, n);
    else if (a->o16)
        delta_mma_out<D, D, BF16><<<dim3((unsigned)nch, (unsigned)a->bh), 128, out_smem_bytes<D>(), st>>>(
            q, k, Vn, S, gam, (uint16_t *)a->o16, a->tokens, n);
    return cudaGetLastError();
}

template <bool BF16> cudaError_t launch_d(const delta_cuda_args *a, cudaStream_t st)
{
    return a->d == 64 ? launch<64, BF16>(a, st) : launch<128, BF16>(a, st);
}

} // namespace

extern "C" int delta_cuda_mma_launch(const struct delta_cuda_args *a, void *stream)
{
    if (a->begin != 0 || a->state_in || (a->d != 64 && a->d != 128) || a->end < 1 ||
        (a->state_channels != 0 && a->state_channels != 16 && a->state_channels != 32 && a->state_channels != 64) ||
        (a->state_channels == 16 && a->d != 128))
        return (int)cudaErrorInvalidValue;
    return (int)(a->bf16 ? launch_d<true>(a, (cudaStream_t)stream) : launch_d<false>(a, (cudaStream_t)stream));
}

extern "C" void delta_cuda_mma_scratch_floats(int bh, int n, int d, size_t out[4])
{
    const size_t nch = (size_t)(n + C - 1) / C, rows16 = (size_t)bh * nch * C * d; /* 16-bit elements */
    out[0] = rows16;                         /* W and U, 16 bits each */
    out[1] = rows16;                         /* K̃ and V' */
    out[2] = (size_t)bh * nch * d * d / 2;   /* the 16-bit state before each chunk */
    out[3] = (size_t)bh * nch * C;           /* γ */
}

extern "C" int delta_cuda_mma_prepare(int bf16, int d)
{
    if (d != 64 && d != 128)
        return (int)cudaErrorInvalidValue;
    if (bf16)
        return (int)(d == 64 ? allow_all<64, true>() : allow_all<128, true>());
    return (int)(d == 64 ? allow_all<64, false>() : allow_all<128, false>());
}
