/* flash_mma.cu - the device code of attention.flash@cuda.mma: FlashAttention-2's forward pass
 * on tensor cores through mma.sync (m16n8k16, f16/bf16 in, f32 accumulate), sm_80 and later.
 *
 * A block of W warps owns 16·W query rows of one (batch, head); each warp owns 16 rows and keeps
 * their Q fragments, output accumulator, running maximum and running sum in registers. The
 * block walks the key tiles of 64 keys (only those at or left of the diagonal when causal):
 *   S = Q·Kᵀ      (ldmatrix from K rows: Kᵀ is the column-major B operand as stored)
 *   P = 2^(S·log2(e)/√d − m), with the causal and ragged-end masks, m and l updated online
 *   O = α·O + P·V (P stays in registers: the S accumulator is already the A operand's layout;
 *                  V via ldmatrix.trans)
 * K and V tiles are double-buffered in shared memory with cp.async, so the next tile loads
 * while this one computes; rows are XOR-swizzled in 16-byte chunks so ldmatrix is free of bank
 * conflicts. Causal blocks run heaviest (longest row range) first. GQA: query head h reads
 * key/value head h / (H / H_kv).
 *
 * The same kernel, by template parameter (so attention.flash's instantiations compile exactly
 * as before), also runs
 *   attention.window@cuda.mma  WINDOW: causal, and query i sees keys i − W + 1 .. i only: the
 *                              key-tile loop starts at the first tile the block's first row
 *                              reaches, and tiles at the window's lower edge are masked too;
 *   attention.block_sparse@cuda.mma
 *                              BLOCKS: causal, a block of BM = 64 query rows is one MoBA query
 *                              block, and the key-tile loop walks a list instead of a range:
 *                              the block's kept past blocks (64 keys each, ascending, chosen
 *                              by block_sparse_select.cu), then its own block, masked causally;
 *   attention.int8@cuda.mma    QK8: Q and K are INT8 codes (int8_quant.cu) with one float scale
 *                              per 64 tokens; S = Q₈·K₈ᵀ on mma.sync m16n8k32 s8·s8→s32, then
 *                              dequantized by s_q·s_k; softmax in f32; P and V in f16.
 * INT8 rows of d bytes are handled as rows of d/2 16-bit elements: the tiles, cp.async copies,
 * swizzle and ldmatrix addressing are the f16 ones, because ldmatrix hands each lane 4
 * consecutive bytes of a row, which is the s8 A/B fragment layout of m16n8k32 (PTX ISA,
 * "Matrix Fragments for mma.m16n8k32", .s8):
 *   A 16×32 (row): a0 = row g, bytes 4·t..4·t+3; a1 = row g+8, same bytes; a2, a3 = the same
 *                  rows, bytes 16 + 4·t..; (g = lane / 4, t = lane % 4)
 *   B 32×8 (col):  b0 = column (key) g, k-bytes 4·t..4·t+3; b1 = k-bytes 16 + 4·t..
 *   C/D 16×8 s32:  c0, c1 = row g, columns 2·t, 2·t+1; c2, c3 = row g+8 (the f32 layout of
 *                  m16n8k16, so the softmax code is shared).
 * One k-step of 32 channels is two 16-byte chunks, as one k-step of 16 f16 channels is. */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

extern "C" {
#include "kernels/attention/attention_cuda.h"
}

#include "kernels/gpu/ptx.cuh"

namespace {

using namespace kb_ptx;

constexpr int BN = 64; /* keys per tile */

/* Index of the first 16-bit element of (row, 16-byte chunk ch) in a tile of D-wide rows,
 * swizzled so that the 8 rows one ldmatrix phase reads hit 8 different 16-byte bank groups.
 * Rows of 8 or more chunks XOR the chunk with row % 8; rows of 4 chunks (64 bytes: two rows per
 * 128-byte bank line) with (row / 2) % 4, which gives rows 0..7 the groups
 * {c, 4 + c, c^1, 4 + (c^1), ...}: all different. */
template <int D> __device__ __forceinline__ int swz(int row, int ch)
{
    static_assert(D / 8 == 4 || D / 8 >= 8, "rows of 4 or at least 8 chunks");
    return row * D + ((ch ^ (D / 8 >= 8 ? row & 7 : (row >> 1) & 3)) << 3);
}

/* Copies rows [row0, row0 + ROWS) of an [N, D] matrix whose rows lie ld elements apart (D when
 * dense; H·D in a token-major packed batch) into a swizzled tile; rows past N are 0. */
template <int D, int ROWS, int THREADS>
__device__ __forceinline__ void load_tile(uint16_t *tile, const uint16_t *src, int row0, int n, size_t ld)
{
    constexpr int CH = D / 8;
#pragma unroll
    for (int c = threadIdx.x; c < ROWS * CH; c += THREADS) {
        int r = c / CH, ch = c % CH, gr = row0 + r;
        bool ok = gr < n;
        cp_async16(smem_u32(tile + swz<D>(r, ch)), src + (size_t)(ok ? gr : 0) * ld + ch * 8, ok);
    }
}

/* What one launch reads. Q and K hold D 16-bit elements per row, or with QK8 d int8 codes
 * (seen as D/2 16-bit elements); V and O always D 16-bit elements. */
struct fwd_params {
    const uint16_t *q, *k, *v;
    uint16_t *o;
    int n, heads, kv_heads;
    float scale_log2; /* log2(e)/√d */
    int window;       /* WINDOW: keys per query */
    const float *qscale, *kscale; /* QK8: [B·H][qblocks], [B·H_kv][qblocks] */
    int qblocks;      /* QK8: blocks of 64 tokens per head */
    const int *kept;  /* BLOCKS: [B·H][qblocks][topk] kept past blocks, ascending */
    int topk;         /* BLOCKS: entries per query block of kept */
    /* packed ragged batches (attention.varlen): when set, sequence b = blockIdx.z is tokens
     * cu_seqlens[b] .. cu_seqlens[b+1] of token-major Q, O [total, H, D] and K, V [total, H_kv, D] */
    const int *cu_seqlens;
};

template <int D, int W, int MT, bool CAUSAL, bool BF16, bool WINDOW, bool QK8, bool BLOCKS>
__global__ void __launch_bounds__(W * 32) flash_fwd(const fwd_params p)
{
    static_assert(!WINDOW || CAUSAL, "a sliding window is causal");
    static_assert(!BLOCKS || (CAUSAL && !WINDOW && !QK8 && 16 * MT * W == BN),
                  "block-sparse: causal, one 64-row query block per CTA, one 64-key tile per key block");
    static_assert(!QK8 || !BF16, "the INT8 kernel's P, V and O are f16");
    constexpr int BM = 16 * MT * W, THREADS = 32 * W;
    constexpr int DK = QK8 ? D / 2 : D; /* 16-bit elements per row of the Q and K tiles */
    /* QK8: a K tile is one K quantization block, and a warp's rows lie in one Q block */
    static_assert(!QK8 || (BN == 64 && 64 % (16 * MT) == 0 && BM % 64 == 0), "tiles inside quantization blocks");
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t *sQ = reinterpret_cast<uint16_t *>(smem);
    uint16_t *sK = sQ + BM * DK; /* two stages */
    uint16_t *sV = sK + 2 * BN * DK;

    int n = p.n;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int g = lane / 4, t4 = lane % 4;
    const int qb = CAUSAL ? (int)gridDim.x - 1 - (int)blockIdx.x : (int)blockIdx.x;
    const int h = blockIdx.y, b = blockIdx.z, kh = h / (p.heads / p.kv_heads);
    const size_t qhead = (size_t)b * p.heads + h, kvhead = (size_t)b * p.kv_heads + kh;
    /* this head's first row and the distance between its rows (in 16-bit elements): dense
     * [B, H(_kv), n, D], or a token-major packed batch [total, H(_kv), D] */
    size_t q_at = qhead * (size_t)n * DK, k_at = kvhead * (size_t)n * DK, v_at = kvhead * (size_t)n * D;
    size_t ldq = DK, ldk = DK, ldv = D, ldo = D;
    if (p.cu_seqlens) { /* (never with QK8: DK = D) */
        const int start = p.cu_seqlens[b];
        n = p.cu_seqlens[b + 1] - start;
        ldq = ldo = (size_t)p.heads * D;
        ldk = ldv = (size_t)p.kv_heads * D;
        q_at = (size_t)start * ldq + (size_t)h * D;
        k_at = v_at = (size_t)start * ldk + (size_t)kh * D;
    }
    const uint16_t *q = p.q + q_at, *k = p.k + k_at;
    const uint16_t *v = p.v + v_at;
    /* warp w owns rows [q0 + 16·MT·w, +16·MT): m-tile mt is rows wrow0 + 16·mt + (g, g + 8) */
    const int q0 = qb * BM, wrow0 = q0 + warp * 16 * MT;
    if (q0 >= n) /* a packed sequence shorter than the longest: the whole block has no row */
        return;

    int n_tiles = (n + BN - 1) / BN;
    if (CAUSAL)
        n_tiles = min(n_tiles, (q0 + BM - 1) / BN + 1);
    /* BLOCKS: tile j of the loop is key tile tile_of(j): the kept blocks, then the own block */
    const int *kept = BLOCKS ? p.kept + (qhead * p.qblocks + qb) * p.topk : nullptr;
    const int nkept = BLOCKS ? min(p.topk, qb) : 0;
    if (BLOCKS)
        n_tiles = nkept + 1;
    auto tile_of = [&](int j) { return BLOCKS ? (j < nkept ? __ldg(kept + j) : qb) : j; };
    /* WINDOW: the block's first row sees keys from q0 − W + 1 on; earlier tiles are no one's */
    const int j0 = WINDOW ? max(0, q0 - p.window + 1) / BN : 0;
    float q_scale = 0.f; /* QK8: the warp's Q block scale times log2(e)/√d */
    if (QK8) {
        int blk = wrow0 / 64;
        q_scale = blk < p.qblocks ? p.qscale[qhead * p.qblocks + blk] * p.scale_log2 : 0.f;
    }
    /* the softmax works on S·log2(e)/√d; QK8 applies that factor when it dequantizes */
    const float s_log2 = QK8 ? 1.f : p.scale_log2;

    load_tile<DK, BM, THREADS>(sQ, q, q0, n, ldq);
    load_tile<DK, BN, THREADS>(sK, k, tile_of(j0) * BN, n, ldk);
    load_tile<D, BN, THREADS>(sV, v, tile_of(j0) * BN, n, ldv);
    cp_commit();

    float o[MT][D / 8][4];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int i = 0; i < D / 8; i++)
            o[mt][i][0] = o[mt][i][1] = o[mt][i][2] = o[mt][i][3] = 0.f;
    float m[MT][2], l[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
        m[mt][0] = m[mt][1] = -INFINITY, l[mt][0] = l[mt][1] = 0.f;

    for (int j = j0; j < n_tiles; j++) {
        const int st = (j - j0) & 1;
        if (j + 1 < n_tiles) {
            load_tile<DK, BN, THREADS>(sK + (st ^ 1) * BN * DK, k, tile_of(j + 1) * BN, n, ldk);
            load_tile<D, BN, THREADS>(sV + (st ^ 1) * BN * D, v, tile_of(j + 1) * BN, n, ldv);
            cp_commit();
            cp_wait<1>();
        } else {
            cp_wait<0>();
        }
        __syncthreads();
        const uint16_t *kt = sK + st * BN * DK, *vt = sV + st * BN * D;
        const int k0 = tile_of(j) * BN; /* a kept past block needs no mask: all its keys precede the rows */

        /* S = Q·Kᵀ: each K fragment serves all MT m-tiles of the warp. One k-step is 16 f16
         * channels (m16n8k16) or 32 INT8 channels (m16n8k32): two 16-byte chunks either way. */
        float s[MT][BN / 8][4];
        if (QK8) {
            int si[MT][BN / 8][4];
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
#pragma unroll
                for (int i = 0; i < BN / 8; i++)
                    si[mt][i][0] = si[mt][i][1] = si[mt][i][2] = si[mt][i][3] = 0;
#pragma unroll
            for (int kk = 0; kk < DK / 16; kk++) {
                uint32_t qa[MT][4];
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    int r = warp * 16 * MT + mt * 16 + (lane % 8) + 8 * ((lane / 8) % 2);
                    ldsm_x4(qa[mt], smem_u32(sQ + swz<DK>(r, kk * 2 + lane / 16)));
                }
#pragma unroll
                for (int np = 0; np < BN / 16; np++) {
                    uint32_t r[4];
                    int kr = np * 16 + (lane % 8) + 8 * (lane / 16);
                    ldsm_x4(r, smem_u32(kt + swz<DK>(kr, kk * 2 + (lane / 8) % 2)));
#pragma unroll
                    for (int mt = 0; mt < MT; mt++) {
                        mma_s8(si[mt][2 * np], qa[mt], r[0], r[1]);
                        mma_s8(si[mt][2 * np + 1], qa[mt], r[2], r[3]);
                    }
                }
            }
            /* dequantize: the tile is K block j, one scale for all its keys */
            const float deq = q_scale * p.kscale[kvhead * p.qblocks + j];
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
#pragma unroll
                for (int i = 0; i < BN / 8; i++)
#pragma unroll
                    for (int e = 0; e < 4; e++)
                        s[mt][i][e] = (float)si[mt][i][e] * deq;
        } else {
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
#pragma unroll
                for (int i = 0; i < BN / 8; i++)
                    s[mt][i][0] = s[mt][i][1] = s[mt][i][2] = s[mt][i][3] = 0.f;
#pragma unroll
            for (int kk = 0; kk < D / 16; kk++) {
                uint32_t qa[MT][4];
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    int r = warp * 16 * MT + mt * 16 + (lane % 8) + 8 * ((lane / 8) % 2);
                    ldsm_x4(qa[mt], smem_u32(sQ + swz<D>(r, kk * 2 + lane / 16)));
                }
#pragma unroll
                for (int np = 0; np < BN / 16; np++) {
                    uint32_t r[4];
                    int kr = np * 16 + (lane % 8) + 8 * (lane / 16);
                    ldsm_x4(r, smem_u32(kt + swz<D>(kr, kk * 2 + (lane / 8) % 2)));
#pragma unroll
                    for (int mt = 0; mt < MT; mt++) {
                        mma_16816<BF16>(s[mt][2 * np], qa[mt], r[0], r[1]);
                        mma_16816<BF16>(s[mt][2 * np + 1], qa[mt], r[2], r[3]);
                    }
                }
            }
        }

        uint32_t pa[MT][BN / 16][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
            const int row_a = wrow0 + mt * 16 + g, row_b = row_a + 8;
            /* WINDOW: the m-tile's last row sees keys from wrow0 + 16·mt + 15 − W + 1 on */
            if (k0 + BN > n || (CAUSAL && k0 + BN - 1 > wrow0 + mt * 16) ||
                (WINDOW && k0 < wrow0 + mt * 16 + 16 - p.window)) {
#pragma unroll
                for (int nt = 0; nt < BN / 8; nt++)
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        int key = k0 + nt * 8 + 2 * t4 + (e & 1), row = e < 2 ? row_a : row_b;
                        if (key >= n || (CAUSAL && key > row) || (WINDOW && key <= row - p.window))
                            s[mt][nt][e] = -INFINITY;
                    }
            }
            /* online softmax: rows g and g + 8, shared by the 4 lanes of a quad */
            float tmax[2] = { -INFINITY, -INFINITY };
#pragma unroll
            for (int nt = 0; nt < BN / 8; nt++) {
                tmax[0] = fmaxf(tmax[0], fmaxf(s[mt][nt][0], s[mt][nt][1]));
                tmax[1] = fmaxf(tmax[1], fmaxf(s[mt][nt][2], s[mt][nt][3]));
            }
            float msub[2], alpha[2], rs[2] = { 0.f, 0.f };
#pragma unroll
            for (int i = 0; i < 2; i++) {
                tmax[i] = fmaxf(tmax[i], __shfl_xor_sync(0xffffffffu, tmax[i], 1));
                tmax[i] = fmaxf(tmax[i], __shfl_xor_sync(0xffffffffu, tmax[i], 2));
                float mnew = fmaxf(m[mt][i], tmax[i] * s_log2);
                msub[i] = mnew == -INFINITY ? 0.f : mnew; /* a row with nothing seen yet */
                alpha[i] = ex2(m[mt][i] - msub[i]);
                m[mt][i] = mnew;
            }
#pragma unroll
            for (int nt = 0; nt < BN / 8; nt++) {
                s[mt][nt][0] = ex2(fmaf(s[mt][nt][0], s_log2, -msub[0]));
                s[mt][nt][1] = ex2(fmaf(s[mt][nt][1], s_log2, -msub[0]));
                s[mt][nt][2] = ex2(fmaf(s[mt][nt][2], s_log2, -msub[1]));
                s[mt][nt][3] = ex2(fmaf(s[mt][nt][3], s_log2, -msub[1]));
                rs[0] += s[mt][nt][0] + s[mt][nt][1];
                rs[1] += s[mt][nt][2] + s[mt][nt][3];
            }
            l[mt][0] = l[mt][0] * alpha[0] + rs[0];
            l[mt][1] = l[mt][1] * alpha[1] + rs[1];
#pragma unroll
            for (int dt = 0; dt < D / 8; dt++) {
                o[mt][dt][0] *= alpha[0];
                o[mt][dt][1] *= alpha[0];
                o[mt][dt][2] *= alpha[1];
                o[mt][dt][3] *= alpha[1];
            }
            /* the S accumulator of two n-tiles is the A operand of one k-step of P·V */
#pragma unroll
            for (int kc = 0; kc < BN / 16; kc++) {
                pa[mt][kc][0] = pack2<BF16>(s[mt][2 * kc][0], s[mt][2 * kc][1]);
                pa[mt][kc][1] = pack2<BF16>(s[mt][2 * kc][2], s[mt][2 * kc][3]);
                pa[mt][kc][2] = pack2<BF16>(s[mt][2 * kc + 1][0], s[mt][2 * kc + 1][1]);
                pa[mt][kc][3] = pack2<BF16>(s[mt][2 * kc + 1][2], s[mt][2 * kc + 1][3]);
            }
        }

        /* O += P·V: each V fragment serves all MT m-tiles */
#pragma unroll
        for (int kc = 0; kc < BN / 16; kc++) {
#pragma unroll
            for (int dp = 0; dp < D / 16; dp++) {
                uint32_t r[4];
                int vr = kc * 16 + (lane % 8) + 8 * ((lane / 8) % 2);
                ldsm_x4_trans(r, smem_u32(vt + swz<D>(vr, dp * 2 + lane / 16)));
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    mma_16816<BF16>(o[mt][2 * dp], pa[mt][kc], r[0], r[1]);
                    mma_16816<BF16>(o[mt][2 * dp + 1], pa[mt][kc], r[2], r[3]);
                }
            }
        }
        __syncthreads(); /* the stage read here is the one the next iteration refills */
    }

    uint16_t *out = p.o + (p.cu_seqlens ? q_at : qhead * (size_t)n * D);
#pragma unroll
    for (int mt = 0; mt < MT; mt++) {
        float inv[2];
#pragma unroll
        for (int i = 0; i < 2; i++) {
            float li = l[mt][i];
            li += __shfl_xor_sync(0xffffffffu, li, 1);
            li += __shfl_xor_sync(0xffffffffu, li, 2);
            inv[i] = 1.f / li;
        }
        const int row_a = wrow0 + mt * 16 + g, row_b = row_a + 8;
#pragma unroll
        for (int dt = 0; dt < D / 8; dt++) {
            int col = dt * 8 + 2 * t4;
            if (row_a < n)
                *reinterpret_cast<uint32_t *>(out + (size_t)row_a * ldo + col) =
                    pack2<BF16>(o[mt][dt][0] * inv[0], o[mt][dt][1] * inv[0]);
            if (row_b < n)
                *reinterpret_cast<uint32_t *>(out + (size_t)row_b * ldo + col) =
                    pack2<BF16>(o[mt][dt][2] * inv[1], o[mt][dt][3] * inv[1]);
        }
    }
}

template <int D, int W, int MT, bool CAUSAL, bool BF16, bool WINDOW = false, bool QK8 = false, bool BLOCKS = false>
cudaError_t launch(const struct kb_shape *s, fwd_params p, cudaStream_t st)
{
    constexpr int BM = 16 * MT * W, DK = QK8 ? D / 2 : D;
    const size_t smem = (size_t)(BM + 2 * BN) * DK * sizeof(uint16_t) + (size_t)2 * BN * D * sizeof(uint16_t);
    static bool attribute_set; /* once per instantiation and process */
    if (!attribute_set) {
        cudaError_t e = cudaFuncSetAttribute(flash_fwd<D, W, MT, CAUSAL, BF16, WINDOW, QK8, BLOCKS>,
                                             cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
        if (e != cudaSuccess)
            return e;
        attribute_set = true;
    }
    dim3 grid((s->seq_len + BM - 1) / BM, s->heads, s->batch);
    p.n = s->seq_len;
    p.heads = s->heads;
    p.kv_heads = s->kv_heads;
    p.scale_log2 = (float)(1.4426950408889634 / sqrt((double)D));
    flash_fwd<D, W, MT, CAUSAL, BF16, WINDOW, QK8, BLOCKS><<<grid, W * 32, smem, st>>>(p);
    return cudaGetLastError();
}

template <int D, int W, int MT>
cudaError_t dispatch(const struct kb_shape *s, bool bf16, const fwd_params &p, cudaStream_t st)
{
    if (s->causal)
        return bf16 ? launch<D, W, MT, true, true>(s, p, st) : launch<D, W, MT, true, false>(s, p, st);
    return bf16 ? launch<D, W, MT, false, true>(s, p, st) : launch<D, W, MT, false, false>(s, p, st);
}

fwd_params params(const void *q, const void *k, const void *v, void *o)
{
    fwd_params p = {};
    p.q = (const uint16_t *)q;
    p.k = (const uint16_t *)k;
    p.v = (const uint16_t *)v;
    p.o = (uint16_t *)o;
    return p;
}

} // namespace

extern "C" int flash_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                 const void *v, void *o, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    bool bf16 = t == KB_DTYPE_BF16;
    if ((t != KB_DTYPE_BF16 && t != KB_DTYPE_F16) || s->heads % s->kv_heads != 0)
        return (int)cudaErrorInvalidValue;
    /* KBENCH_FLASH_TILE=1: one 16-row m-tile per warp (the first version), for comparison */
    static int one_tile = -1;
    if (one_tile < 0) {
        const char *e = getenv("KBENCH_FLASH_TILE");
        one_tile = e && atoi(e) == 1;
    }
    fwd_params p = params(q, k, v, o);
    if (s->head_dim == 64)
        return (int)(one_tile ? dispatch<64, 4, 1>(s, bf16, p, st) : dispatch<64, 4, 2>(s, bf16, p, st));
    if (s->head_dim == 128)
        return (int)(one_tile ? dispatch<128, 4, 1>(s, bf16, p, st) : dispatch<128, 4, 2>(s, bf16, p, st));
    return (int)cudaErrorInvalidValue;
}

extern "C" int window_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                  const void *v, void *o, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    bool bf16 = t == KB_DTYPE_BF16;
    if ((t != KB_DTYPE_BF16 && t != KB_DTYPE_F16) || s->heads % s->kv_heads != 0 || s->window < 1)
        return (int)cudaErrorInvalidValue;
    fwd_params p = params(q, k, v, o);
    p.window = s->window;
    if (s->head_dim == 64)
        return (int)(bf16 ? launch<64, 4, 2, true, true, true>(s, p, st) : launch<64, 4, 2, true, false, true>(s, p, st));
    if (s->head_dim == 128)
        return (int)(bf16 ? launch<128, 4, 2, true, true, true>(s, p, st)
                          : launch<128, 4, 2, true, false, true>(s, p, st));
    return (int)cudaErrorInvalidValue;
}

extern "C" int int8_cuda_attend(const struct kb_shape *s, const void *q8, const void *k8, const float *qscale,
                                const float *kscale, const void *v, void *o, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    if (s->heads % s->kv_heads != 0)
        return (int)cudaErrorInvalidValue;
    fwd_params p = params(q8, k8, v, o);
    p.qscale = qscale;
    p.kscale = kscale;
    p.qblocks = (s->seq_len + 63) / 64;
    if (s->head_dim == 64)
        return (int)(s->causal ? launch<64, 4, 2, true, false, false, true>(s, p, st)
                               : launch<64, 4, 2, false, false, false, true>(s, p, st));
    if (s->head_dim == 128)
        return (int)(s->causal ? launch<128, 4, 2, true, false, false, true>(s, p, st)
                               : launch<128, 4, 2, false, false, false, true>(s, p, st));
    return (int)cudaErrorInvalidValue;
}

extern "C" int block_sparse_cuda_attend(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                        const void *v, const int *kept, void *o, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    bool bf16 = t == KB_DTYPE_BF16;
    if ((t != KB_DTYPE_BF16 && t != KB_DTYPE_F16) || s->heads % s->kv_heads != 0 || s->block != BN)
        return (int)cudaErrorInvalidValue;
    fwd_params p = params(q, k, v, o);
    p.kept = kept;
    p.topk = s->topk_blocks;
    p.qblocks = (s->seq_len + BN - 1) / BN;
    /* 4 warps of one 16-row m-tile: BM = 64 rows, one query block */
    if (s->head_dim == 64)
        return (int)(bf16 ? launch<64, 4, 1, true, true, false, false, true>(s, p, st)
                          : launch<64, 4, 1, true, false, false, false, true>(s, p, st));
    if (s->head_dim == 128)
        return (int)(bf16 ? launch<128, 4, 1, true, true, false, false, true>(s, p, st)
                          : launch<128, 4, 1, true, false, false, false, true>(s, p, st));
    return (int)cudaErrorInvalidValue;
}

/* attention.varlen@cuda.mma: the flash kernel over a packed ragged batch, one grid z-slice per
 * sequence (s->batch sequences, s->seq_len the longest; blocks past a sequence's end exit). */
extern "C" int varlen_cuda_launch(const struct kb_shape *s, enum kb_dtype t, const void *q, const void *k,
                                  const void *v, void *o, const int *cu_seqlens, void *stream)
{
    cudaStream_t st = (cudaStream_t)stream;
    bool bf16 = t == KB_DTYPE_BF16;
    if ((t != KB_DTYPE_BF16 && t != KB_DTYPE_F16) || s->heads % s->kv_heads != 0 || !cu_seqlens)
        return (int)cudaErrorInvalidValue;
    fwd_params p = params(q, k, v, o);
    p.cu_seqlens = cu_seqlens;
    if (s->head_dim == 64)
        return (int)dispatch<64, 4, 2>(s, bf16, p, st);
    if (s->head_dim == 128)
        return (int)dispatch<128, 4, 2>(s, bf16, p, st);
    return (int)cudaErrorInvalidValue;
}
