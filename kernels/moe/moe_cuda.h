/* moe_cuda.h - the launchers of the CUDA mixture-of-experts kernels (device code in
 * moe_gemm_mma.cu and moe_route_cuda.cu; the descriptors are in moe_cuda.c).
 *
 * Device layouts. Every row length is padded to a multiple of 8 elements (16 bytes, the unit of
 * cp.async and of the vector loads) with zeros, so any h, f and E work:
 *   hp, fp, ep   h, f, E rounded up to 8
 *   x   [T][hp]        bf16 tokens
 *   wr  [hp][ep]       bf16 router weights (K rows of N), bias [E] float32
 *   w13 [E][hp][2·fp]  bf16 W1 and W3 interleaved by 8 columns: column 16q + r is W1's column
 *                      8q + r and column 16q + 8 + r is W3's, so the gate and up values of one
 *                      activation land in the same thread's mma accumulator (SwiGLU epilogue)
 *   w2  [E][fp][hp]    bf16
 *   xp, yp [T·k][hp], hb [T·k][fp]  bf16 intermediates; y [T][hp] float32 output
 * All launchers enqueue on `stream` and return a cudaError_t (0: success).
 */
#ifndef KB_MOE_CUDA_H
#define KB_MOE_CUDA_H

#include <stdint.h>

#include "kernels/kernel.h"

/* The grouped GEMM's tile: BM rows of a group by BN columns. */
#define MOE_CUDA_BM 128
#define MOE_CUDA_BN 128
/* Assignments per block of the counting sort's histogram and scatter. */
#define MOE_CUDA_SORT_CHUNK 1024

/* The epilogues of the grouped GEMM. */
enum moe_cuda_epilogue {
    MOE_EPI_F32 = 0,     /* c float [rows][ldc] = acc (router logits) */
    MOE_EPI_BF16 = 1,    /* c bf16 [rows][ldc] = acc (yp of the unfused experts) */
    MOE_EPI_SWIGLU = 2,  /* c bf16 [rows][ldc] column j = silu(acc[16q+r])·acc[16q+8+r], j = 8q+r */
    MOE_EPI_SCATTER = 3, /* c float [T][ldc]: row c_index[s]/c_div += c_scale[c_index[s]]·acc (atomic) */
    MOE_EPI_SWIGLU_FP8 = 4, /* MOE_EPI_SWIGLU's h quantized as moe_fp8_quantize_launch would quantize
                             * its bf16 c (the FP8 GEMM's 256-column tile only); c too where not NULL */
};

/* One grouped GEMM: for each group g (an expert), rows s in [group_off[g], group_off[g+1]):
 * C[s] = A[s]·B_g with B_g = b + g·b_group_stride, [k][ldb] bf16, n columns used.
 * A row s is a + src·lda with src = a_index ? a_index[s] / a_div : s (the gather of the fused
 * layer: no permuted copy). mtile_start[g] is the number of BM-row tiles of the groups before g
 * (device, groups + 1 entries); the grid covers every (group, column tile, row tile) with
 * max_mtiles ≥ mtile_start[groups], so the routing can stay on the device (no host sync). */
struct moe_cuda_gemm {
    const uint16_t *a;
    long lda;
    const int *a_index;
    int a_div;
    const uint16_t *b;
    long b_group_stride;
    long ldb;
    int n, k;
    const int *group_off;
    const int *mtile_start;
    int groups;
    int max_mtiles;
    enum moe_cuda_epilogue epilogue;
    void *c;
    long ldc;
    const int *c_index;
    int c_div;
    const float *c_scale;
};
int moe_cuda_gemm_launch(const struct moe_cuda_gemm *g, void *stream);

/* Router: logits [T][ep] float32 (bias not yet added) → per token the top_k experts (descending,
 * ties to the lower id), renormalised gates, and counts[e] += 1 per choice when counts is given
 * (zeroed by the caller). */
int moe_cuda_topk_launch(const float *logits, int ep, const float *bias, int tokens, int experts, int top_k,
                         int *ids, float *gates, int *counts, void *stream);

/* Dispatch: the stable counting sort of the T·k assignments by expert: a histogram per chunk
 * (chunk_counts [E][nchunks]), one scan (offsets [E+1], mtile_start [E+1] in BM-row tiles),
 * and the scatter (perm, slot_of). Four kernels; chunk_counts holds E·ceil(T·k/CHUNK) ints. */
int moe_cuda_sort_launch(const int *ids, long assignments, int experts, int *chunk_counts, int *offsets,
                         int *mtile_start, int *perm, int *slot_of, void *stream);
/* xp[s] = x[perm[s] / k] (rows of hp bf16). */
int moe_cuda_gather_launch(const uint16_t *x, int hp, const int *perm, int top_k, long slots, uint16_t *xp,
                           void *stream);
/* y[t] = Σ_j gates[t·k+j] · yp[slot_of[t·k+j]] (float32 [T][hp] from bf16 rows). */
int moe_cuda_combine_launch(const uint16_t *yp, const float *gates, const int *slot_of, int tokens, int top_k,
                            int hp, float *y, void *stream);

/* ---- Hopper (moe_gemm_wgmma.cu, built for sm_90a only: HAVE_SM90A) ----------------------------
 * The same grouped GEMM on wgmma.mma_async m64n256k16 bf16 with TMA loads, 128 × 256 tiles.
 * TMA and wgmma want both operands K-major, so these kernels take the weights transposed:
 *   w13t [E][2·fp][hp]  row n is column n of w13 above (the same 8-column W1/W3 interleave)
 *   w2t  [E][hp][fp]    row j is column j of w2
 * A is read without a gather (TMA has none on Hopper): A row s is row s of the A map. The
 * tensor maps are encoded once per buffer (the pointers stay fixed) into opaque CUtensorMaps. */
#define MOE_WG_BN 256
struct moe_wg_map {
    uint64_t bytes[16]; /* one CUtensorMap (moe_gemm_wgmma.cu copies it out and back) */
};
/* Raises the kernels' shared-memory limit; a cudaError_t. */
int moe_wg_prepare(void);
/* The map of a row-major bf16 [rows][cols] matrix (cols a multiple of 8) as the A operand
 * (box_rows MOE_CUDA_BM) or the B operand (half of MOE_WG_BN: a tile's B is two boxes) of
 * moe_wg_gemm_launch. A kb status, the reason in err. */
int moe_wg_map_new(struct moe_wg_map *map, const uint16_t *ptr, long rows, int cols, int b_operand, char *err,
                   size_t errlen);
/* One grouped GEMM: for each group g, rows s in [group_off[g], group_off[g+1]) of the A map
 * ([rows][k]), C[s] = A[s] · B_gᵀ where B_g is rows [g·n, g·n + n) of the B map ([groups·n][k]).
 * Epilogues MOE_EPI_BF16, MOE_EPI_SWIGLU (n a multiple of 16) and MOE_EPI_SCATTER, as
 * moe_cuda_gemm (ldc, c_index, c_div, c_scale likewise); max_mtiles as there. */
struct moe_wg_gemm {
    const struct moe_wg_map *a, *b;
    int n, k;
    const int *group_off;
    const int *mtile_start;
    int groups;
    int max_mtiles;
    enum moe_cuda_epilogue epilogue;
    void *c;
    long ldc;
    const int *c_index;
    int c_div;
    const float *c_scale;
};
int moe_wg_gemm_launch(const struct moe_wg_gemm *g, void *stream);
/* Whether the launches are persistent (KBENCH_MOE_WG_PERSISTENT: 1 unless 0), and the blocks of
 * a cluster (KBENCH_MOE_WG_CLUSTER: 2 unless 1): the counters moe_wg.persistent, moe_wg.cluster. */
int moe_wg_persistent(void);
int moe_wg_cluster(void);

/* ---- Hopper FP8 (moe_fp8_wgmma.cu, sm_90a only): moe.experts@cuda.wgmma-fp8 -------------------
 * DeepSeek-V3's block-scaled FP8: e4m3 activations with a float scale per row per 128 columns,
 * e4m3 weights with a float scale per 128 × 128 block, wgmma .e4m3 with each 128-wide k-block's
 * partial sum promoted into f32 accumulators scaled by scale_a · scale_b. Layouts (k-major as the
 * bf16 kernels'; k and n multiples of MOE_FP8_BLOCK):
 *   A  e4m3 [rows][k], scales a_scale [k/128][a_scale_ld] (k-block major: row s of block kb at
 *      kb · a_scale_ld + s)
 *   B  e4m3 [groups · n][k] (group g's rows g·n .. g·n + n − 1, as moe_wg_gemm's B map),
 *      scales b_scale [groups · n / 128][k / 128] */
#define MOE_FP8_BLOCK 128
/* Raises the kernels' shared-memory limit; a cudaError_t. */
int moe_fp8_prepare(void);
/* The map of a row-major e4m3 [rows][cols] matrix (cols a multiple of 128), as A or B. A kb
 * status, the reason in err. */
int moe_fp8_map_new(struct moe_wg_map *map, const uint8_t *ptr, long rows, int cols, char *err, size_t errlen);
/* The store map of a GEMM's output, row-major [rows][cols] of elem_bytes (2: bf16 c of
 * MOE_EPI_BF16; 1: the codes q of MOE_EPI_SWIGLU_FP8), for moe_fp8_gemm's c_map. A kb status,
 * the reason in err. */
int moe_fp8_store_map_new(struct moe_wg_map *map, void *ptr, long rows, int cols, int elem_bytes, char *err,
                          size_t errlen);
/* One grouped FP8 GEMM (moe_wg_gemm's grouping and tiles; 128 × 128 tiles): epilogues
 * MOE_EPI_SWIGLU (c bf16: gate and up 8-column blocks pair inside a tile), MOE_EPI_BF16 and
 * MOE_EPI_SWIGLU_FP8: h's e4m3 codes q [rows][ldc] and scales q_scale [ldc/128][q_scale_ld],
 * bit for bit what moe_fp8_quantize_launch makes of MOE_EPI_SWIGLU's c (each 256-column tile's
 * 128 h columns are one block of a row, so its scale needs no other tile), and that c as well
 * where c is not NULL; it needs moe_fp8_fused_quant(n). */
struct moe_fp8_gemm {
    const struct moe_wg_map *a, *b;
    const float *a_scale, *b_scale;
    long a_scale_ld;
    int n, k;
    const int *group_off;
    const int *mtile_start;
    int groups;
    int max_mtiles;
    enum moe_cuda_epilogue epilogue;
    void *c;
    long ldc;
    uint8_t *q;
    float *q_scale;
    long q_scale_ld;
    /* moe_fp8_store_map_new's map of c (MOE_EPI_BF16) or q (MOE_EPI_SWIGLU_FP8), every row of it,
     * for the staged epilogues' TMA stores (moe_fp8_tma_store); NULL: none */
    const struct moe_wg_map *c_map;
};
int moe_fp8_gemm_launch(const struct moe_fp8_gemm *g, void *stream);
/* The columns of the output tile moe_fp8_gemm_launch uses for n: 256 where n % 256 == 0 unless
 * KBENCH_MOE_FP8_TILE=128 asks for the narrow tile, else 128. */
int moe_fp8_tile_columns(int n);
/* 1 where the GEMMs' two consumer warpgroups take turns to issue their products (the default),
 * 0 where KBENCH_MOE_FP8_TURNS=0 turns that off. */
int moe_fp8_turns(void);
/* The k-tile of each output tile from which the turns run (KBENCH_MOE_FP8_TURNS_FROM, 0-64; 0 by
 * default, and where there are no turns), each consumer issuing when ready before it. */
int moe_fp8_turns_from(void);
/* 1 where the GEMMs run a block an SM, each looping over output tiles (the default), 0 where
 * KBENCH_MOE_FP8_PERSISTENT=0 asks for a block per tile. */
int moe_fp8_persistent(void);
/* 1 where the up GEMM of n (= 2·ffn) columns quantizes h in its epilogue (MOE_EPI_SWIGLU_FP8:
 * the default where n takes the 256-column tile), 0 where it cannot or KBENCH_MOE_FP8_FUSED_QUANT=0
 * keeps the separate quantizer. */
int moe_fp8_fused_quant(int n);
/* The blocks of a cluster moe_fp8_gemm_launch uses for n: 2 (two blocks sharing each B tile) with
 * KBENCH_MOE_FP8_CLUSTER=2 where n takes the wide tile, else 1. */
int moe_fp8_cluster(int n);
/* 1 where the GEMM of n columns loads its A fragments into registers once a k-tile (the RS
 * wgmma; KBENCH_MOE_FP8_A_REGS=1, the wide tile in blocks of their own), else 0. */
int moe_fp8_a_regs(int n);
/* 1 where the GEMMs' scale warp copies each stage's block scales by cp.async, the stage's
 * arrival made when they land (the default), 0 where KBENCH_MOE_FP8_SCALES_ASYNC=0 has it load
 * them into registers and store them. */
int moe_fp8_scales_async(void);
/* 1 where the down GEMM (MOE_EPI_BF16, ldc bf16 a row) stores its tiles through shared memory in
 * 16-byte row segments (the default where ldc is a multiple of 8), 0 where it stores from the
 * accumulators (KBENCH_MOE_FP8_STAGED_STORE=0). */
int moe_fp8_staged_store(long ldc);
/* 1 where the up GEMM of n columns quantizes h in its epilogue (moe_fp8_fused_quant) and stores
 * its codes through shared memory in 16-byte row pieces (the default), 0 where it stores them two
 * bytes at a time from the accumulators (KBENCH_MOE_FP8_STAGED_STORE=0 or =down) or has no codes. */
int moe_fp8_staged_codes(int n);
/* 1 where the staged epilogues send a warp's rows by a TMA store through moe_fp8_gemm's c_map
 * (the default; a group's last rows still by the warp's own stores), 0 where
 * KBENCH_MOE_FP8_TMA_STORE=0 has the warp's lanes store them. */
int moe_fp8_tma_store(void);
/* The activations' pre-pass: x bf16 [rows][ld] (ld a multiple of 128) → q e4m3 [rows][ld] and
 * scale [ld/128][rows] = amax/448 of each row's 128-column block; codes e4m3(x · 448/amax). */
int moe_fp8_quantize_launch(const uint16_t *x, long ld, int rows, uint8_t *q, float *scale, void *stream);

#endif
