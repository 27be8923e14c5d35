/* flash_wgmma.cuh - what the two Hopper flash kernels share (flash_wgmma.cu: f16/bf16 Q·Kᵀ;
 * int8_wgmma.cu: INT8 Q·Kᵀ): the block shape, the 128B-swizzled 16-bit tiles and their cp.async
 * loads, the m64n128k16 wgmma calls (and m64n64k16 for the P·V of d = 64 and m64n256k16 for that
 * of d = 256, flash_wgmma_ws.cu, whose S of 64-key tiles the masks and softmax also take;
 * the instructions themselves are kernels/gpu/wgmma_mma.cuh's), and everything after S: the
 * masks, the online softmax, O = α·O + P·V with P from registers and V from shared memory, and
 * the output store.
 * One definition, so the INT8 kernel's P·V path is the f16 flash kernel's by construction.
 *
 * Shared-memory layout (see flash_wgmma.cu): a tile of R rows × 128 16-bit columns is two column
 * blocks of 64 (128 bytes a row); in each, row r's 16-byte chunk c sits at chunk c ^ (r % 8) — the
 * 128B-swizzle canonical layout of the wgmma descriptors, every block 1024-byte aligned.
 * Accumulator of a warpgroup (PTX ISA, wgmma D fragments, m64nN, 32-bit, f32 and s32 alike):
 * warp w holds rows 16w + lane/4 (+8); d[4j], d[4j+1] are row lane/4, columns 8j + 2(lane%4) +
 * {0, 1}; d[4j+2], d[4j+3] the same columns of row lane/4 + 8.
 * Include only from code built for sm_90a. */
#ifndef KB_FLASH_WGMMA_CUH
#define KB_FLASH_WGMMA_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math.h>
#include <stdint.h>

#include "kernels/gpu/ex2_fma.h"
#include "kernels/gpu/ptx.cuh"
#include "kernels/gpu/wgmma.cuh"
#include "kernels/gpu/wgmma_mma.cuh"

/* The share of the softmax's exponentials computed on the FMA pipe (kernels/gpu/ex2_fma.h):
 * every KB_EX2_FMA_EVERY-th 8-column block of a thread's scores, 0 for none (all on MUFU), e.g.
 * make NVCCFLAGS='-O3 -std=c++17 -DKB_EX2_FMA_EVERY=4' for a quarter. */
#ifndef KB_EX2_FMA_EVERY
#define KB_EX2_FMA_EVERY 0
#endif

namespace kb_fwgmma {

/* 2^x of a score in 8-column block nt: on the FMA pipe for every KB_EX2_FMA_EVERY-th block */
__device__ __forceinline__ float ex2_score(float x, int nt)
{
    if (KB_EX2_FMA_EVERY > 0 && nt % (KB_EX2_FMA_EVERY > 0 ? KB_EX2_FMA_EVERY : 1) == 0)
        return kb_ex2_fma(x);
    return kb_ptx::ex2(x);
}

using namespace kb_ptx;

constexpr int D = 128;      /* head_dim */
constexpr int BM = 128;     /* query rows per block: two warpgroups of 64 */
constexpr int BN = 128;     /* keys per tile */
constexpr int THREADS = 256;

/* Element offset of (row, col) in a 128-column 16-bit tile of R rows, 128B-swizzled. */
template <int R> __device__ __forceinline__ int sw128(int row, int col)
{
    return (col / 64) * R * 64 + row * 64 + ((((col % 64) / 8) ^ (row % 8)) << 3) + col % 8;
}

/* Rows [row0, row0 + R) of a [n, 128] 16-bit matrix into a swizzled tile; rows past n are zero. */
template <int R> __device__ __forceinline__ void load_tile(uint16_t *tile, const uint16_t *src, int row0, int n)
{
#pragma unroll
    for (int c = threadIdx.x; c < R * (D / 8); c += THREADS) {
        int r = c / (D / 8), ch = c % (D / 8), gr = row0 + r;
        bool ok = gr < n;
        cp_async16(smem_u32(tile + sw128<R>(r, ch * 8)), src + (size_t)(ok ? gr : 0) * D + ch * 8, ok);
    }
}

__device__ __forceinline__ uint64_t smem_desc(const void *p, uint32_t lbo, uint32_t sbo)
{
    return kb_wgmma::desc_sw128(smem_u32(p), lbo, sbo);
}

using kb_wgmma::fence_proxy_async; /* cp.async writes through the generic proxy, wgmma reads through the async one */
__device__ __forceinline__ void wg_fence() { kb_wgmma::fence(); }
__device__ __forceinline__ void wg_commit() { kb_wgmma::commit(); }
__device__ __forceinline__ void wg_wait_all() { kb_wgmma::wait<0>(); }

using kb_wgmma::pin; /* the accumulators held where wgmma writes them behind the compiler's back */

/* d (64×128, f32) (+)= A·B with A and B described in shared memory. */
template <bool BF16> __device__ __forceinline__ void wgmma_ss(float (&d)[64], uint64_t desc_a, uint64_t desc_b, int accumulate)
{
    kb_wgmma::mma_m64n128k16_ss<BF16>(d, desc_a, desc_b, accumulate);
}

/* d (64×128, f32) += A·B with A (this thread's 4 registers of the 64×16 A fragment) and B
 * (16×128, MN-major) in shared memory. */
template <bool BF16> __device__ __forceinline__ void wgmma_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t desc_b, int accumulate)
{
    kb_wgmma::mma_m64n128k16_rs<BF16>(d, a, desc_b, accumulate);
}

/* d (64×64, f32) += A·B, A from registers as in wgmma_rs, B (16×64, MN-major) in shared memory. */
template <bool BF16> __device__ __forceinline__ void wgmma_rs_n64(float (&d)[32], const uint32_t (&a)[4], uint64_t desc_b, int accumulate)
{
    kb_wgmma::mma_m64n64k16_rs<BF16>(d, a, desc_b, accumulate);
}

/* The functions below take a score tile of any key width: s is this thread's NS accumulators
 * of a 64-row × 2·NS-key tile (NS = 64 for the 128-key tiles above; flash_wgmma_ws.cu's
 * head_dim 256 uses 64-key tiles, NS = 32), P then NS / 8 k-steps of 16 keys. */

/* Keys past n, and with CAUSAL keys past the row, get −inf. wrow0: the warp's first row; row_a,
 * row_b: this thread's two rows (wrow0 + lane/4, +8); k0: the tile's first key. */
template <bool CAUSAL, int NS>
__device__ __forceinline__ void mask_tile(float (&s)[NS], int k0, int n, int wrow0, int row_a, int row_b, int t4)
{
    constexpr int KN = 2 * NS; /* keys in the tile */
    if (k0 + KN > n || (CAUSAL && k0 + KN - 1 > wrow0)) {
#pragma unroll
        for (int nt = 0; nt < KN / 8; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int key = k0 + nt * 8 + 2 * t4 + (e & 1), row = e < 2 ? row_a : row_b;
                if (key >= n || (CAUSAL && key > row))
                    s[4 * nt + e] = -INFINITY;
            }
    }
}

/* One tile of the online softmax, without touching O: the masked scores s (times their scale
 * they are the base-2 logits: scale_lo for the first half of the tile's columns, accumulators
 * 0..NS/2 − 1, scale_hi for the rest, both > 0; the block-scaled kernels' two K blocks,
 * int8_ws_scores.cuh, and one scale twice elsewhere), the running maximum m and sum l of rows
 * lane/4 and lane/4 + 8 (shared by the 4 lanes of a quad). s becomes P · 2^p_log2 with
 * P = 2^(s·scale − m) (p_log2: the P·V policy's scale of P, folded into the exponent), l is
 * updated with it, and alpha is what O must be multiplied by (rescale_o) before P·V is added.
 * ROW_SUM false leaves l alone: the P·V sums the rows itself (fp8_pv.cuh's ones rows of V), and
 * the FADDs of the row sums, a fifth of the softmax's instructions, go.
 * Split from the rest so a kernel can run it while the previous tile's P·V is still writing O
 * (flash_wgmma_ws.cu). */
template <int NS, bool ROW_SUM = true, bool LAZY = false>
__device__ __forceinline__ void softmax_exp_scaled(float (&s)[NS], float (&m)[2], float (&l)[2], float scale_lo,
                                                   float scale_hi, float p_log2, float (&alpha)[2], float lazy = 0.f)
{
    /* the raw maxima of each row (i: rows g, g + 8) in each half; scaled before they meet,
     * which for one scale is the maximum scaled (rounding is monotonic) */
    float t_lo[2] = { -INFINITY, -INFINITY }, t_hi[2] = { -INFINITY, -INFINITY };
#pragma unroll
    for (int nt = 0; nt < NS / 4; nt++) {
        float(&t)[2] = nt < NS / 8 ? t_lo : t_hi;
        t[0] = fmaxf(t[0], fmaxf(s[4 * nt], s[4 * nt + 1]));
        t[1] = fmaxf(t[1], fmaxf(s[4 * nt + 2], s[4 * nt + 3]));
    }
    float c[2], rs[2] = { 0.f, 0.f }, tmax[2];
#pragma unroll
    for (int i = 0; i < 2; i++) {
        tmax[i] = fmaxf(t_lo[i] * scale_lo, t_hi[i] * scale_hi);
        tmax[i] = fmaxf(tmax[i], __shfl_xor_sync(0xffffffffu, tmax[i], 1));
        tmax[i] = fmaxf(tmax[i], __shfl_xor_sync(0xffffffffu, tmax[i], 2));
    }
    /* LAZY: where no row of the warp's tile exceeds its running maximum by more than `lazy`
     * (base-2 units), the maxima stay: α = 1 and O needs no rescale (add_pv skips it for the
     * warp), P then up to 2^lazy (FlashAttention-4's conditional rescale). lazy = 0 keeps every
     * value the exact update gives: a maximum that did not grow is kept by both. 16-bit P only:
     * the FP8 P·V's P must stay within e4m3's range. */
    if (LAZY && __all_sync(0xffffffffu, tmax[0] <= m[0] + lazy && tmax[1] <= m[1] + lazy)) {
#pragma unroll
        for (int i = 0; i < 2; i++) {
            alpha[i] = 1.f;
            c[i] = p_log2 - (m[i] == -INFINITY ? 0.f : m[i]);
        }
    } else {
#pragma unroll
        for (int i = 0; i < 2; i++) {
            const float mnew = fmaxf(m[i], tmax[i]);
            const float msub = mnew == -INFINITY ? 0.f : mnew; /* a row with nothing seen yet */
            alpha[i] = ex2(m[i] - msub);
            m[i] = mnew;
            c[i] = p_log2 - msub;
        }
    }
#pragma unroll
    for (int nt = 0; nt < NS / 4; nt++) {
        const float a = nt < NS / 8 ? scale_lo : scale_hi;
        s[4 * nt] = ex2_score(fmaf(s[4 * nt], a, c[0]), nt);
        s[4 * nt + 1] = ex2_score(fmaf(s[4 * nt + 1], a, c[0]), nt);
        s[4 * nt + 2] = ex2_score(fmaf(s[4 * nt + 2], a, c[1]), nt);
        s[4 * nt + 3] = ex2_score(fmaf(s[4 * nt + 3], a, c[1]), nt);
        if (ROW_SUM) {
            rs[0] += s[4 * nt] + s[4 * nt + 1];
            rs[1] += s[4 * nt + 2] + s[4 * nt + 3];
        }
    }
    if (ROW_SUM) {
        l[0] = l[0] * alpha[0] + rs[0];
        l[1] = l[1] * alpha[1] + rs[1];
    }
}

/* softmax_exp_scaled with one scale, scale_log2 (> 0), over the whole tile, and P itself */
template <int NS>
__device__ __forceinline__ void softmax_exp(float (&s)[NS], float (&m)[2], float (&l)[2], float scale_log2,
                                            float (&alpha)[2])
{
    softmax_exp_scaled(s, m, l, scale_log2, scale_log2, 0.f, alpha);
}

/* O *= alpha, per row (this thread's rows lane/4 and lane/4 + 8). NACC: O's accumulators a
 * thread, head_dim / 2 (64 for d = 128, 32 for d = 64). rescale_o_needed: whether any row of
 * the warp has α ≠ 1 (else the multiplies change nothing). */
__device__ __forceinline__ bool rescale_o_needed(const float (&alpha)[2])
{
    return __any_sync(0xffffffffu, alpha[0] != 1.f || alpha[1] != 1.f);
}
template <int NACC> __device__ __forceinline__ void rescale_o(float (&o)[NACC], const float (&alpha)[2])
{
#pragma unroll
    for (int dt = 0; dt < NACC / 4; dt++) {
        o[4 * dt] *= alpha[0];
        o[4 * dt + 1] *= alpha[0];
        o[4 * dt + 2] *= alpha[1];
        o[4 * dt + 3] *= alpha[1];
    }
}

/* P (the S accumulator after softmax_exp) in the A-fragment layout of P·V: 16 keys (two
 * 8-column blocks) per k-step, rounded to the input type. */
template <bool BF16, int NS> __device__ __forceinline__ void pack_p(const float (&s)[NS], uint32_t (&pa)[NS / 8][4])
{
#pragma unroll
    for (int kc = 0; kc < NS / 8; kc++) {
        pa[kc][0] = pack2<BF16>(s[8 * kc], s[8 * kc + 1]);
        pa[kc][1] = pack2<BF16>(s[8 * kc + 2], s[8 * kc + 3]);
        pa[kc][2] = pack2<BF16>(s[8 * kc + 4], s[8 * kc + 5]);
        pa[kc][3] = pack2<BF16>(s[8 * kc + 6], s[8 * kc + 7]);
    }
}

/* One tile of the online softmax (softmax_exp), O rescaled by α, and P in pa, the A fragments
 * of the 8 k-steps of P·V. */
template <bool BF16>
__device__ __forceinline__ void softmax_p(float (&s)[64], float (&o)[64], float (&m)[2], float (&l)[2],
                                          float scale_log2, uint32_t (&pa)[BN / 16][4])
{
    float alpha[2];
    softmax_exp(s, m, l, scale_log2, alpha);
    rescale_o(o, alpha);
    pack_p<BF16>(s, pa);
}

/* Issues O += P·V (vt: the tile's V, 16·KS keys × head_dim, MN-major, head_dim = 2·NACC = 256,
 * 128 or 64; KS: P's k-steps) as one committed group; the caller waits for it. V is head_dim / 64
 * column blocks of 16·KS rows, the leading offset from one to the next (unused with d = 64). */
template <bool BF16, int NACC, int KS>
__device__ __forceinline__ void issue_pv(float (&o)[NACC], const uint32_t (&pa)[KS][4], const uint16_t *vt)
{
    static_assert(NACC == 128 || NACC == 64 || NACC == 32, "head_dim 256, 128 or 64");
    constexpr uint32_t block_bytes = KS * 16 * 128; /* one column block of the V tile */
    pin(o);
    wg_fence();
#pragma unroll
    for (int kc = 0; kc < KS; kc++) {
        if constexpr (NACC == 128)
            kb_wgmma::mma_m64n256k16_rs<BF16>(o, pa[kc], smem_desc(vt + kc * 16 * 64, block_bytes, 1024), 1);
        else if constexpr (NACC == 64)
            wgmma_rs<BF16>(o, pa[kc], smem_desc(vt + kc * 16 * 64, block_bytes, 1024), 1);
        else
            wgmma_rs_n64<BF16>(o, pa[kc], smem_desc(vt + kc * 16 * 64, block_bytes, 1024), 1);
    }
    wg_commit();
}

/* The online softmax of one tile, then O = α·O + P·V, waited for. */
template <bool BF16>
__device__ __forceinline__ void softmax_pv(float (&s)[64], float (&o)[64], float (&m)[2], float (&l)[2],
                                           float scale_log2, const uint16_t *vt)
{
    uint32_t pa[BN / 16][4];
    softmax_p<BF16>(s, o, m, l, scale_log2, pa);
    issue_pv<BF16>(o, pa, vt);
    wg_wait_all();
    pin(o);
}

/* 1 / l of this thread's rows lane/4 and lane/4 + 8: each of a quad's four lanes holds a part of
 * its rows' sums. */
__device__ __forceinline__ void row_inverse_sums(const float (&l)[2], float (&inv)[2])
{
#pragma unroll
    for (int i = 0; i < 2; i++) {
        float li = l[i];
        li += __shfl_xor_sync(0xffffffffu, li, 1);
        li += __shfl_xor_sync(0xffffffffu, li, 2);
        inv[i] = 1.f / li;
    }
}

/* O / l of this thread's rows row_a, row_b (those below n) into out ([n, head_dim], 16-bit;
 * head_dim = 2·NACC). */
template <bool BF16, int NACC>
__device__ __forceinline__ void store_o(const float (&o)[NACC], const float (&l)[2], uint16_t *out, int row_a, int row_b,
                                        int n, int t4)
{
    constexpr int DH = 2 * NACC;
    float inv[2];
    row_inverse_sums(l, inv);
#pragma unroll
    for (int dt = 0; dt < DH / 8; dt++) {
        int col = dt * 8 + 2 * t4;
        if (row_a < n)
            *reinterpret_cast<uint32_t *>(out + (size_t)row_a * DH + col) = pack2<BF16>(o[4 * dt] * inv[0], o[4 * dt + 1] * inv[0]);
        if (row_b < n)
            *reinterpret_cast<uint32_t *>(out + (size_t)row_b * DH + col) =
                pack2<BF16>(o[4 * dt + 2] * inv[1], o[4 * dt + 3] * inv[1]);
    }
}

/* The same rows as 16-bit into shared memory for a TMA store (kb_tma::store_3d): dst the 128-byte
 * row of the warp's first row (row_a's, whose index in its 8-row swizzle atom is `lane / 4`; row_b
 * is 8 rows on, in the next atom), the DH / 64 column boxes box_bytes apart, each row's 16-byte
 * chunk j at j ^ (row % 8): the 128B swizzle the tensor map reads back. A quad writes 16 bytes of
 * each of 8 rows in one instruction, the rows' chunks in 8 different bank groups. */
template <bool BF16, int NACC>
__device__ __forceinline__ void stage_o_sw128(const float (&o)[NACC], const float (&l)[2], unsigned char *dst,
                                              int box_bytes, int g, int t4)
{
    constexpr int DH = 2 * NACC;
    float inv[2];
    row_inverse_sums(l, inv);
    unsigned char *const row = dst + g * 128 + 4 * t4;
#pragma unroll
    for (int dt = 0; dt < DH / 8; dt++) {
        unsigned char *const at = row + (dt / 8) * box_bytes + (((dt % 8) ^ g) << 4);
        *reinterpret_cast<uint32_t *>(at) = pack2<BF16>(o[4 * dt] * inv[0], o[4 * dt + 1] * inv[0]);
        *reinterpret_cast<uint32_t *>(at + 8 * 128) = pack2<BF16>(o[4 * dt + 2] * inv[1], o[4 * dt + 3] * inv[1]);
    }
}

} // namespace kb_fwgmma

#endif
