/* int8_ws_scores.cuh - flash_ws.cuh's scores policy of INT8 codes, shared by the two INT8
 * kernels on the FlashAttention-3 schedule: attention.int8@cuda.wgmma-ws (int8_wgmma_ws.cu, f16
 * P·V) and attention.int8@cuda.wgmma-fp8 (int8_fp8_ws.cu, FP8 P·V), and the block scales it
 * shares with attention.flash@cuda.wgmma-fp8's e4m3 scores (BlockScaled). The P·V policy PV is its
 * base (flash_ws.cuh's PvHalf or fp8_pv.cuh's PvFp8); its per-thread state PV::PvRegs is the
 * base of Regs. int8_wgmma_ws.cu's header comment describes the arithmetic. Include only from
 * code built for sm_90a, after kernels/attention/int8.h. */
#ifndef KB_INT8_WS_SCORES_CUH
#define KB_INT8_WS_SCORES_CUH

#include "kernels/attention/flash_ws.cuh"
#include "kernels/attention/int8_wgmma.cuh"

namespace kb_fws {

static_assert(INT8_BLOCK == 64 && BM == 2 * INT8_BLOCK && BN == 2 * INT8_BLOCK,
              "a consumer's 64 rows are one Q block; a key tile is two K blocks");
static_assert(D == 128, "one INT8 row of Q or K is one 128-byte box row");

/* What the scores policies of block-scaled codes share (Scores8 here; ScoresE4M3 of
 * flash_fp8_ws.cu): one float scale per 64-token block of Q and of K, S = S_codes · s_q · s_k ·
 * log2(e)/√d; a consumer's 64 rows are one Q block (row0 / 64), a 128-key tile spans K blocks 2j
 * (its columns 0..63) and 2j + 1 (64..127; past the end when N <= 64·(2j + 1): scale 0, its
 * keys are masked anyway). The P·V policy PV is the base. */
template <class PV> struct BlockScaled : PV {
    static constexpr int NACC = D / 2;
    struct ScaleRegs : PV::PvRegs {
        float q_scale;       /* this consumer's Q block scale · log2(e)/√d */
        float ks0, ks1;      /* the scales of the K blocks of the tile in flight */
        const float *ks;     /* the K scales of this (batch, KV head) */
    };
    const float *qscale, *kscale; /* [B·H][qblocks], [B·H_kv][qblocks] */
    int qblocks;                  /* ceil(N / 64) */
    float qk_scale_log2;          /* log2(e)/√d */
    float scale_log2;             /* 1: the scores leave ready in base-2 units */

    template <class R> __device__ __forceinline__ void begin(R &r, int row0, int qhead, int kvhead)
    {
        const int qblk = row0 / INT8_BLOCK; /* past the last block: rows past N, never stored */
        r.q_scale = qblk < qblocks ? qscale[(size_t)qhead * qblocks + qblk] * qk_scale_log2 : 0.f;
        r.ks = kscale + (size_t)kvhead * qblocks;
        PV::begin_pv(r, kvhead);
    }
    /* the scales of tile j's two K blocks, loaded when S_j is issued (under its wgmma) */
    template <class R> __device__ __forceinline__ void key_scales(R &r, int j)
    {
        r.ks0 = r.ks[2 * j];
        r.ks1 = 2 * j + 1 < qblocks ? r.ks[2 * j + 1] : 0.f;
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
    __device__ __forceinline__ void ready(float (&s)[64], Regs &r, int)
    {
        pin(r.si);
        dequantize(s, r.si, r.q_scale * r.ks0, r.q_scale * r.ks1);
    }
};

} // namespace kb_fws

#endif
