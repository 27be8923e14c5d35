/* gemm_ops.h - the GEMM operations: what every GEMM implementation, built in or a plugin's,
 * computes, with the index and layout of each of its tensors. Part of <kbench/kbench.h>.
 *
 * ---- gemm: C = A·Wᵀ ------------------------------------------------------------------------
 * One operation for every dtype, because every kernel computing a GEMM computes this one:
 * quant.gemm_int8 (i8), quant.gemm_fp8 (e4m3), gemm.f32 (f32), gemm.dense@cuda.cublas
 * (f32 f16 bf16) and gemm.dense@cuda.cublaslt (i8 e4m3) read the same bytes at the same
 * (shape, dtype, seed), are judged by the same float64 reference and report the same FLOPs and
 * bytes. (Kernel names stay what users type; an implementation implements one operation for
 * all its dtypes, which is why the library baselines sit here rather than in an operation per
 * dtype.) Axes m, n, k, input.
 *
 * Every dtype follows one formula over the real values a = code·s_a, w[n] = code·s_w[n]:
 *     Y[i][n] = out( s_a·s_w[n]/s_y · Σ_k A[i][k]·W[n][k] )
 * where per dtype (A and W are generated as float32, activations from the case's `input`
 * distribution, weights normal, then stored in the dtype):
 *   f32       A, W float32; scales 1; Y float32.
 *   f16 bf16  A, W the float32 draws rounded to the dtype (nearest even); scales 1; Y in the
 *             dtype (float32 accumulation expected). The draws use their own sub-seeds (those
 *             gemm.dense@cuda.cublas always used, so stored runs stay comparable).
 *             Float dtypes: tolerance verify_default_tolerance(dtype) (1e-4, 5e-3, 2e-2).
 *   i8        W8A8 (HAWQ-V3): A int8 codes per tensor (s_a), W per output channel (s_w[n]),
 *             symmetric (codes in ±127); int32 accumulation; Y int8 = the accumulator times
 *             s_a·s_w[n]/s_y (s_y: the largest |y| of a float64 calibration sample maps to 127)
 *             rounded and saturated to ±127. The reference requantization is the dyadic one of
 *             KB_GEMM_REQUANT: y = sat((acc·b_n + 2^(c_n−1)) >> c_n), b_n/2^c_n ≈ s_a·s_w[n]/s_y;
 *             an implementation may round its own way (a float epilogue) and says how close it
 *             stays in its own check. Verified as Y·s_y against float64 over the unquantized
 *             inputs (KB_GEMM_A_F32, KB_GEMM_W_F32): tolerance 0.05, 0.25 for outlier inputs.
 *   e4m3      A and W OCP e4m3 codes, one scale each (s_a, s_w[n] all equal); float32
 *             accumulation; Y bfloat16 (s_y = 1). Verified against float64 over the decoded
 *             codes times s_a·s_w: tolerance 1e-2.
 * Verification samples the output: float dtypes and e4m3 4096 elements (the first, the last,
 * then seeded random ones), i8 64 rows (the first, the last, seeded jitter in between).
 * FLOPs 2·M·N·K; bytes s·(M·K + N·K) + s_y·M·N (+ 4·(M + N) scale bytes for i8), s the dtype's
 * size and s_y the output's (bf16 for e4m3). */
#ifndef KB_GEMM_OPS_H
#define KB_GEMM_OPS_H

#include "kernels/kernel.h"

extern const struct kb_operation kb_op_gemm;

/* The tensors of a gemm case (kb_input / kb_output indices). Row-major, dense (rows K or N
 * elements apart), 64-byte aligned. */
enum {
    KB_GEMM_A,        /* input [M,K]: the dtype (i8 and e4m3: codes) */
    KB_GEMM_W,        /* input [N,K]: the weight, output-feature-major (row n is output channel n) */
    KB_GEMM_W_SCALES, /* input f32 [N]: s_w[n] (i8 per channel; e4m3 the tensor's, repeated; else 1) */
    KB_GEMM_SCALES,   /* input f32 [2]: s_a, s_y (i8; e4m3: s_a, 1; float dtypes: 1, 1) */
    KB_GEMM_REQUANT,  /* input i32 [2,N]: row 0 b_n, row 1 c_n, the dyadic b_n/2^c_n of s_a·s_w[n]/s_y */
    KB_GEMM_Y,        /* output [M,N]: f32/f16/bf16 as the dtype, i8 int8, e4m3 bf16 */
    KB_GEMM_A_F32,    /* input f32 [M,K], i8 only: the unquantized activations the codes stand for */
    KB_GEMM_W_F32     /* input f32 [N,K], i8 only: the unquantized weights (what the reference multiplies) */
};

/* ---- quant.gemm_w4a8: INT4 weights × INT8 or FP8 activations, float32 out -------------------
 * FireQ-style W4A8. Axes m, n, k, group, input; dtype = the activations' format (i8 or e4m3).
 *   W: the float32 draw (normal) quantized to int4 per group of g = min(group, K) consecutive k
 *      of a row (symmetric, codes in ±7, scale absmax/7), packed two per byte, low nibble first,
 *      each row padded to whole bytes.
 *   A: the float32 draw (the case's `input` distribution) quantized per tensor to int8 (±127)
 *      or e4m3.
 *   Y[i][n] = s_a · Σ_groups s_w[n][g] · Σ_{k∈g} A[i][k]·W[n][k]   (float32 out)
 * Verified against float64 over the unquantized inputs (KB_W4A8_A_F32, KB_W4A8_W_F32) on 64
 * sampled rows: tolerance 0.25, 0.5 for outlier inputs (int4 weights cost that much).
 * FLOPs 2·M·N·K; bytes M·K + N·K/2 + 4·N·ceil(K/g) + 4·M·N. */
extern const struct kb_operation kb_op_quant_gemm_w4a8;

enum {
    KB_W4A8_A,        /* input [M,K]: i8 or e4m3 codes (the dtype) */
    KB_W4A8_W,        /* input i4 [N, K rounded up to even]: ceil(K/2) bytes per row */
    KB_W4A8_W_SCALES, /* input f32 [N, ceil(K/g)]: the scale of each group of each row */
    KB_W4A8_A_SCALE,  /* input f32 [1]: s_a */
    KB_W4A8_Y,        /* output f32 [M,N] */
    KB_W4A8_A_F32,    /* input f32 [M,K]: the unquantized activations */
    KB_W4A8_W_F32     /* input f32 [N,K]: the unquantized weights */
};

#endif
