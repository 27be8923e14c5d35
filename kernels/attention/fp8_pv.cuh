/* fp8_pv.cuh - SageAttention2's FP8 P·V for flash_ws.cuh's schedule (the P·V policy PvFp8):
 * P (after the softmax, in [0, 1]) times FP8_P_SCALE = 448 rounded to e4m3, V as e4m3 codes
 * with one float scale per (batch, KV head, channel) made by a pre-pass, and O += P·V on
 * wgmma m64n128k32 .f32.e4m3.e4m3 with P from registers (A) and V from shared memory (B).
 *
 * V transposed. An 8-bit wgmma B operand must be K-major: the pre-pass (int8_quant.cu) stores
 * V's codes as Vᵀ [B·H_kv][d = 128 channels][keys, padded to a multiple of 128], so a tile is
 * one TMA box of 128 channel rows × 128 key bytes, 128B-swizzled: exactly the layout of an
 * INT8 K tile (one 128-byte swizzle row of 128 channels), and the four k-steps of 32 keys are
 * 32 bytes apart in the row, as issue_qk's are (int8_wgmma.cuh).
 *
 * Keys permuted, so P needs no shuffle. The f32 accumulator of S (PTX ISA, wgmma D fragments,
 * m64nN) gives thread (warp w, g = lane/4, t4 = lane%4) of 32 keys 32kc.. (d[16kc..16kc+15]):
 *   row g:      keys 2t4, 2t4+1 (d[16kc], d[16kc+1]), 8+2t4, 9+2t4 (d[16kc+4], +5),
 *               16+2t4, 17+2t4 (d[16kc+8], +9), 24+2t4, 25+2t4 (d[16kc+12], +13);
 *   row g + 8:  the same keys in d[16kc+2], +3, +6, +7, +10, +11, +14, +15.
 * The 8-bit A fragment of m64nNk32 (PTX ISA, wgmma register fragments; CUTLASS's
 * ALayout_64x32) wants of thread (g, t4) four registers of four bytes, low byte first:
 *   a0..a3 row g, k = 4t4 + 0..3;     a4..a7 row g + 8, k = 4t4 + 0..3;
 *   a8..a11 row g, k = 16 + 4t4 + 0..3; a12..a15 row g + 8, k = 16 + 4t4 + 0..3.
 * Packing the thread's own values in order (register 0: d[16kc], d[16kc+1], d[16kc+4], +5;
 * register 1: +2, +3, +6, +7; register 2: +8, +9, +12, +13; register 3: +10, +11, +14, +15)
 * makes the wgmma's k position p = 16h + 4t + e (h < 2, t < 4, e < 4) hold key
 * int8_fp8_pv_key(p) = 16h + 8(e / 2) + 2t + e % 2 of the 32 (int8.h). A permutation of the
 * reduction index leaves P·V unchanged as long as V's row p holds that key too: the pre-pass
 * stores Vᵀ[c][32·grp + p] = code(V[32·grp + int8_fp8_pv_key(p)][c]), and the check's emulation
 * uses the same function.
 *
 * Two-level accumulation. Hopper's FP8 wgmma accumulates with fewer mantissa bits than f32
 * (SageAttention2, §4), so each tile's P·V goes to a fresh f32 accumulator (pv, first k-step
 * overwriting it) that is added into O in f32 with the online-softmax rescale, one FFMA an
 * element: O is kept one tile behind the softmax's maximum, O_j = α_{j−1}·O_{j−1} + pv_{j−1}
 * (pv of tile j − 1 is in units of m_{j−1}; O before it in those of m_{j−2}), which needs the
 * α of the tile before, where α·(O + pv) with the newest α needs an add and a multiply.
 *
 * Row sums from the tensor cores. l is the sum of the e4m3-rounded P · 448 that the P·V actually
 * multiplied: the wgmma is m64n136, V's tile followed by 8 rows of ones (flash_ws.cuh's V_ONES),
 * so pv[64..67] are this tile's row sums of rows g (64, 65) and g + 8 (66, 67), summed over the
 * whole row by the instruction (no quad shuffles), and accumulated like O. The softmax then
 * computes no row sums (SUMS_ROWS): 64 FADDs a tile a thread fewer, for 6% more P·V work on
 * tensor cores that the softmax leaves idle more than half the time. The output is
 * O · s_v[c] / l.
 *
 * The last key tile in 16 bits (map_v16 set: by default where causal or N <= 128, int8_cuda.c's
 * fp8_pv_last16). A row that attends to one or two keys outputs a V row, or the mean of two, and
 * e4m3's 3 mantissa bits then show undiluted: with outlier channels in V those few rows carry
 * most of a sample's norm, and the recipe alone missed its own bound at N = 77 (rel L2 0.051) and
 * N = 4099 causal (0.083; the sixth session's float64 decomposition: V's codes 0.047, P's 0.024
 * more). Those rows' keys all lie in their work tile's last key tile (causal: the diagonal one;
 * not causal: the ragged end), so that tile's P·V runs on f16 instead: P · 448 rounded to f16
 * (pack_p), V's f16 input tile (two [keys][64-channel] boxes loaded after K_0 on a barrier of
 * their own: flash_ws.cuh), wgmma m64n128k16 into pv with P's row sums beside it (the f16 values
 * it multiplied, summed over the quad), then divided by V's channel scales so that it adds into
 * O in O's units. One tile a work tile: at N = 8k, 1 of 64 P·Vs of a causal block on average, at
 * half the FP8 rate. Loaded with Q, as first written, it cost 5-10% on an H100; with its own
 * barrier it is not yet timed.
 * Include only from code built for sm_90a. */
#ifndef KB_FP8_PV_CUH
#define KB_FP8_PV_CUH

#include <stdint.h>

#include "kernels/attention/flash_wgmma.cuh"

namespace kb_fwgmma {

constexpr float FP8_P_SCALE = 448.f; /* P ≤ 1 to the top of e4m3's range */
static_assert(FP8_P_SCALE == 448.f, "PvFp8::P_LOG2 is log2 448");

/* Four floats as e4m3 (round to nearest even, saturating), x0 in the lowest byte. cvt's first
 * source goes to the upper byte of each pair. */
__device__ __forceinline__ uint32_t pack4_e4m3(float x0, float x1, float x2, float x3)
{
    return kb_wgmma::cvt_e4m3x4(x0, x1, x2, x3);
}

/* d (64×136, f32) (+)= A (64×32 e4m3, this thread's four registers) · B (32×136 e4m3, K-major
 * in shared memory: V's 128 channels, then the 8 rows of ones). */
__device__ __forceinline__ void wgmma_rs_e4m3_sums(float (&d)[68], const uint32_t (&a)[4], uint64_t desc_b, int accumulate)
{
    kb_wgmma::mma_m64n136k32_e4m3_rs(d, a, desc_b, accumulate);
}

/* flash_ws.cuh's P·V policy in FP8 (head_dim 128, output f16). vscale: the V channel scales
 * [B·H_kv][128]. */
struct PvFp8 {
    static constexpr int P_STEPS = BN / 32; /* k-steps of 32 keys */
    /* the scores policy's softmax makes P · 448 (the exponent shifted by log2 448), and l its sum */
    static constexpr float P_LOG2 = 8.807354922057604f;
    static constexpr bool SUMS_ROWS = true; /* l from the ones rows, not the softmax */
    struct PvRegs {
        float pv[68];       /* this tile's P·V, apart from O, and its row sums (64..67) */
        float sum[2];       /* l of rows g, g + 8, in O's units (one tile behind) */
        float alpha_old[2]; /* the α of the softmax before the last: O's rescale at the next add */
        const float *vs;    /* the channel scales of this (batch, KV head) */
        /* the last tile's P in f16 (issue_last_pv16): the wgmma reads these registers until
         * its group is waited for, so they live here, not in the issuing function */
        uint32_t p16[BN / 16][4];
    };
    const float *vscale;
    /* V's f16 input as 128-key × 64-channel boxes (fp8_pv_ws.cuh), or nullptr for the recipe
     * alone: every tile's P·V in e4m3 */
    const CUtensorMap *map_v16;
    static constexpr int LAST_V16_BYTES = 2 * 128 * 128; /* the f16 tile: two 16 KiB boxes */

    template <class R> __device__ __forceinline__ void begin_pv(R &r, int kvhead)
    {
        r.vs = vscale + (size_t)kvhead * D;
#pragma unroll
        for (int i = 0; i < 68; i++)
            r.pv[i] = 0.f;
        r.sum[0] = r.sum[1] = 0.f;
        r.alpha_old[0] = r.alpha_old[1] = 0.f; /* O is still zero at the first add */
    }
    /* P·448 (s, from the softmax) as e4m3 in the A fragments: the layout in the header comment */
    __device__ __forceinline__ void pack(const float (&s)[64], uint32_t (&pa)[P_STEPS][4])
    {
#pragma unroll
        for (int kc = 0; kc < P_STEPS; kc++) {
            const float *x = s + 16 * kc;
            pa[kc][0] = pack4_e4m3(x[0], x[1], x[4], x[5]);
            pa[kc][1] = pack4_e4m3(x[2], x[3], x[6], x[7]);
            pa[kc][2] = pack4_e4m3(x[8], x[9], x[12], x[13]);
            pa[kc][3] = pack4_e4m3(x[10], x[11], x[14], x[15]);
        }
    }
    /* pv = P·V of the tile vt (Vᵀ codes, one 128 × 128-byte box, the ones rows after it), one
     * committed group */
    template <class R>
    __device__ __forceinline__ void issue_pv(float (&)[64], R &r, const uint32_t (&pa)[P_STEPS][4], const uint16_t *vt)
    {
        const uint8_t *v8 = reinterpret_cast<const uint8_t *>(vt);
        pin(r.pv);
        wg_fence();
#pragma unroll
        for (int kc = 0; kc < P_STEPS; kc++)
            wgmma_rs_e4m3_sums(r.pv, pa[kc], smem_desc(v8 + 32 * kc, 16, 1024), kc > 0);
        wg_commit();
    }
    /* O = α_old·O + pv (the header comment), then α_old = alpha: the newest softmax's */
    template <class R> __device__ __forceinline__ void add_pv(float (&o)[64], R &r, const float (&alpha)[2])
    {
        add_last_pv(o, r);
        r.alpha_old[0] = alpha[0], r.alpha_old[1] = alpha[1];
    }
    template <class R> __device__ __forceinline__ void add_last_pv(float (&o)[64], R &r)
    {
        pin(r.pv);
#pragma unroll
        for (int dt = 0; dt < 16; dt++) {
            o[4 * dt] = fmaf(o[4 * dt], r.alpha_old[0], r.pv[4 * dt]);
            o[4 * dt + 1] = fmaf(o[4 * dt + 1], r.alpha_old[0], r.pv[4 * dt + 1]);
            o[4 * dt + 2] = fmaf(o[4 * dt + 2], r.alpha_old[1], r.pv[4 * dt + 2]);
            o[4 * dt + 3] = fmaf(o[4 * dt + 3], r.alpha_old[1], r.pv[4 * dt + 3]);
        }
        r.sum[0] = fmaf(r.sum[0], r.alpha_old[0], r.pv[64]);
        r.sum[1] = fmaf(r.sum[1], r.alpha_old[1], r.pv[66]);
    }
    /* The last tile's P·V on f16 (the header comment; in place of issue_pv): s is P · 448 of
     * the last tile (the softmax's, not overwritten since), v16 the tile's f16 V. pv gets the
     * product and the row sums of the rounded P it multiplied, one committed group. */
    template <class R> __device__ __forceinline__ void issue_last_pv16(R &r, const float (&s)[64], const uint16_t *v16)
    {
        uint32_t (&p16)[BN / 16][4] = r.p16;
        pack_p<false>(s, p16);
        float sa = 0.f, sb = 0.f; /* rows g and g + 8: the thread's columns, then the quad's */
#pragma unroll
        for (int kc = 0; kc < BN / 16; kc++) {
            const float2 x0 = __half22float2(*reinterpret_cast<const __half2 *>(&p16[kc][0]));
            const float2 x1 = __half22float2(*reinterpret_cast<const __half2 *>(&p16[kc][1]));
            const float2 x2 = __half22float2(*reinterpret_cast<const __half2 *>(&p16[kc][2]));
            const float2 x3 = __half22float2(*reinterpret_cast<const __half2 *>(&p16[kc][3]));
            sa += x0.x + x0.y + x2.x + x2.y;
            sb += x1.x + x1.y + x3.x + x3.y;
        }
        sa += __shfl_xor_sync(0xffffffffu, sa, 1);
        sa += __shfl_xor_sync(0xffffffffu, sa, 2);
        sb += __shfl_xor_sync(0xffffffffu, sb, 1);
        sb += __shfl_xor_sync(0xffffffffu, sb, 2);
#pragma unroll
        for (int i = 0; i < 64; i++)
            r.pv[i] = 0.f;
        r.pv[64] = r.pv[65] = sa;
        r.pv[66] = r.pv[67] = sb;
        kb_fwgmma::issue_pv<false>(*reinterpret_cast<float (*)[64]>(r.pv), p16, v16);
    }
    /* after that group is waited for: pv in V's real units to O's (÷ s_v[c]; a zero scale is an
     * all-zero channel, whose product is 0), then O = α_old·O + pv as add_last_pv */
    template <class R> __device__ __forceinline__ void add_last_pv16(float (&o)[64], R &r, int t4)
    {
        pin(r.pv);
        pin(*reinterpret_cast<int (*)[4 * BN / 16]>(r.p16)); /* read by the wgmma up to the wait before this */
#pragma unroll
        for (int dt = 0; dt < D / 8; dt++) {
            const int col = dt * 8 + 2 * t4;
            const float s0 = r.vs[col], s1 = r.vs[col + 1];
            const float i0 = s0 > 0.f ? 1.f / s0 : 0.f, i1 = s1 > 0.f ? 1.f / s1 : 0.f;
            r.pv[4 * dt] *= i0, r.pv[4 * dt + 1] *= i1;
            r.pv[4 * dt + 2] *= i0, r.pv[4 * dt + 3] *= i1;
        }
        add_last_pv(o, r);
    }
    /* O · s_v[c] / l as f16 (l: the sum of the rounded P · 448, from the P·V), rows below n */
    template <class R>
    __device__ __forceinline__ void store(const float (&o)[64], const float (&)[2], R &r, uint16_t *out, int row_a,
                                          int row_b, int n, int t4)
    {
        const float inv[2] = { 1.f / r.sum[0], 1.f / r.sum[1] };
#pragma unroll
        for (int dt = 0; dt < D / 8; dt++) {
            const int col = dt * 8 + 2 * t4;
            const float s0 = r.vs[col], s1 = r.vs[col + 1];
            if (row_a < n)
                *reinterpret_cast<uint32_t *>(out + (size_t)row_a * D + col) =
                    pack2<false>(o[4 * dt] * inv[0] * s0, o[4 * dt + 1] * inv[0] * s1);
            if (row_b < n)
                *reinterpret_cast<uint32_t *>(out + (size_t)row_b * D + col) =
                    pack2<false>(o[4 * dt + 2] * inv[1] * s0, o[4 * dt + 3] * inv[1] * s1);
        }
    }
};

} // namespace kb_fwgmma

#endif
