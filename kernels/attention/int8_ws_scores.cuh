/* int8_ws_scores.cuh - flash_ws.cuh's scores policy of INT8 codes, shared by the two INT8
 * kernels on the FlashAttention-3 schedule: attention.int8@cuda.wgmma-ws (int8_wgmma_ws.cu, f16
 * P·V) and attention.int8@cuda.wgmma-fp8 (int8_fp8_ws.cu, FP8 P·V), and the block scales it
 * shares with attention.flash@cuda.wgmma-fp8's e4m3 scores (BlockScaled). The P·V policy PV is its
 * base (flash_ws.cuh's PvHalf or fp8_pv.cuh's PvFp8); its per-thread state PV::PvRegs is the
 * base of Regs. int8_wgmma_ws.cu's header comment describes the arithmetic. Include only from
 * code built for sm_90a, after kernels/attention/int8.h. */
#ifndef KB_INT8_WS_SCORES_CUH
#define KB_INT8_WS_SCORES_CUH

#include <float.h>

#include "kernels/attention/flash_ws.cuh"
#include "kernels/attention/int8_wgmma.cuh"

namespace kb_fws {

static_assert(INT8_BLOCK == 64 && BM == 2 * INT8_BLOCK && BN == 2 * INT8_BLOCK,
              "a consumer's 64 rows are one Q block; a key tile is two K blocks");
static_assert(D == 128, "one INT8 row of Q or K is one 128-byte box row");

/* What the scores policies of block-scaled codes share (Scores8 here; ScoresE4M3 of
 * flash_fp8_ws.cu): one float scale per 64-token block of Q and of K, S = S_codes · s_q · s_k ·
 * log2(e)/√d; a consumer's 64 rows are one Q block (row0 / 64), a 128-key tile spans K blocks 2j
 * (its columns 0..63) and 2j + 1 (64..127; past the end when N <= 64·(2j + 1): its keys are
 * masked anyway). The P·V policy PV is the base.
 *
 * The scales are applied inside the softmax, not to S first: ready leaves the products of the
 * codes v as floats, and the base-2 logit of column block h is v·a_h with a_h = s_q·s_k·log2(e)/√d,
 * in the one FFMA per score that also subtracts the row maximum and adds the P·V policy's log2 of
 * P's scale (PV::P_LOG2: P·448 for e4m3 P comes out of the exponential, not a multiply). The
 * softmax sets these kernels' pace (the tensor pipe is 17-39% busy), so every instruction per
 * score it sheds counts: here a multiply by the scale and one by 448. (Folding the INT8 kernels'
 * exact s32 → f32 subtraction into the FFMA too was tried on the host emulation: the offset
 * 1.5·2²³·a_h, rounded to f32, moved P by up to 4e-4 and the output 7x further from the recipe.)
 * A scale of 0 (an all-zero block: its scores are exactly 0 whatever a is) becomes FLT_MIN, so a
 * masked key stays −∞ (−∞·0 would be NaN). */
template <class PV> struct BlockScaled : PV {
    static constexpr int NACC = D / 2;
    struct ScaleRegs : PV::PvRegs {
        float q_scale;       /* this consumer's Q block scale · log2(e)/√d (1 past the last block) */
        float ks0, ks1;      /* the scales of the K blocks of the tile in flight */
        const float *ks;     /* the K scales of this (batch, KV head) */
    };
    const float *qscale, *kscale; /* [B·H][qblocks], [B·H_kv][qblocks] */
    int qblocks;                  /* ceil(N / 64) */
    float qk_scale_log2;          /* log2(e)/√d */

    template <class R> __device__ __forceinline__ void begin(R &r, int row0, int qhead, int kvhead)
    {
        const int qblk = row0 / INT8_BLOCK; /* past the last block: rows past N, never stored */
        r.q_scale = qblk < qblocks ? qscale[(size_t)qhead * qblocks + qblk] * qk_scale_log2 : 1.f;
        r.ks = kscale + (size_t)kvhead * qblocks;
        PV::begin_pv(r, kvhead);
    }
    /* the scales of tile j's two K blocks, loaded when S_j is issued (under its wgmma) */
    template <class R> __device__ __forceinline__ void key_scales(R &r, int j)
    {
        r.ks0 = r.ks[2 * j];
        r.ks1 = 2 * j + 1 < qblocks ? r.ks[2 * j + 1] : 1.f;
    }
    /* flash_wgmma.cuh's softmax_exp_scaled with the block scales (the comment above): s holds
     * the products of the codes (masked keys −∞); s becomes P · 2^P_LOG2 */
    template <class R>
    __device__ __forceinline__ void softmax_scaled(float (&s)[64], R &r, float (&m)[2], float (&l)[2],
                                                   float (&alpha)[2])
    {
        softmax_exp_scaled<64, !PV::SUMS_ROWS>(s, m, l, fmaxf(r.q_scale * r.ks0, FLT_MIN),
                                               fmaxf(r.q_scale * r.ks1, FLT_MIN), PV::P_LOG2, alpha);
    }
};

template <class PV> struct Scores8 : BlockScaled<PV> {
    struct Regs : BlockScaled<PV>::ScaleRegs {
        int si[64]; /* S₈ in flight */
    };

    __device__ __forceinline__ void issue(float (&s)[64], Regs &r, const uint16_t *qw, const uint16_t *kt, int j)
    {
        this->key_scales(r, j);
        /* s holds the previous tile's P, already packed: its registers become S₈'s */
#pragma unroll
        for (int i = 0; i < 64; i++)
            r.si[i] = __float_as_int(s[i]);
        pin(r.si);
        issue_qk(r.si, reinterpret_cast<const uint8_t *>(qw), reinterpret_cast<const uint8_t *>(kt));
    }
    /* S₈ as floats, exactly (int8_wgmma.cuh's exact_s32_to_f32: an integer add and a float
     * subtraction, both on full-rate pipes, where I2F runs at 16 a clock an SM); scaled in the
     * softmax */
    __device__ __forceinline__ void ready(float (&s)[64], Regs &r, int)
    {
        pin(r.si);
#pragma unroll
        for (int i = 0; i < 64; i++)
            s[i] = exact_s32_to_f32(r.si[i]);
    }
    __device__ __forceinline__ void softmax(float (&s)[64], Regs &r, float (&m)[2], float (&l)[2], float (&alpha)[2])
    {
        this->softmax_scaled(s, r, m, l, alpha);
    }
};

} // namespace kb_fws

#endif
