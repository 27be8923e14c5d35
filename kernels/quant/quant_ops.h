/* quant_ops.h - the quantization operations that are not GEMMs: the symmetric quantizer, I-ViT's
 * three row operators and the ViT encoder block. Each is defined once in kbench (quantize_op.c,
 * ivit_op.c, vit_block_op.c under kernels/quant): its inputs from the case's seed, its float64
 * reference and tolerance, its FLOP and byte counts. An implementation reads the inputs and
 * writes the outputs at the indices below (all tensors row-major, 64-byte aligned; the harness
 * allocates and frees them).
 */
#ifndef KB_QUANT_OPS_H
#define KB_QUANT_OPS_H

#include "kernels/kernel.h"

/* ---- quant.quantize: symmetric quantize + dequantize of an M×K float32 matrix ----------------
 *
 * Axes m, k, group, granularity, input; dtypes i8, i4, e4m3, e5m2 (the code format).
 * One scale per tensor, per row (granularity channel) or per `group` consecutive elements of a
 * row (granularity group; the last group of a row may be short; group >= K is per row). Each
 * block's scale is S = (float)(absmax / qmax) with qmax 127 (i8), 7 (i4), 448 (e4m3), 57344
 * (e5m2), and 1 for an all-zero block or one whose absmax/qmax underflows to 0. A code is
 * v = x · (1/S), both float32 operations rounded to nearest: i8 and i4 clamp v to ±qmax (NaN
 * gives 0) and round to nearest even (so -128 / -8 never appear); e4m3 and e5m2 take the OCP
 * FP8 encoding of v, rounded to nearest even and saturating at ±qmax. dequantized = decode(code)
 * · S in float32. The definition is exact: verify compares codes and scales bit for bit with a
 * scalar emulation, and the dequantized matrix with x (relative L2 within the format's bound:
 * i8 0.02 (outlier input 0.25), i4 0.3 (1.0), e4m3 0.06, e5m2 0.12).
 */
enum {
    KB_QUANTIZE_X,      /* in:  f32 [M,K], drawn from the case's input distribution */
    KB_QUANTIZE_CODES,  /* out: dtype [M,K'], K' = K for the 8-bit formats (one byte a code); i4
                         *      K' = 2·ceil(K/2): rows padded to whole bytes, ceil(K/2) bytes a row,
                         *      element j of a row in byte j/2, low nibble when j is even, two's
                         *      complement (a padding nibble is 0) */
    KB_QUANTIZE_SCALES, /* out: f32 [1] (tensor), [M] (channel), [M, ceil(K/group)] flattened (group) */
    KB_QUANTIZE_DEQ,    /* out: f32 [M,K], "dequantized" */
};
extern const struct kb_operation kb_op_quant_quantize;

/* ---- quant.ivit_shiftmax, quant.ivit_shiftgelu, quant.ivit_layernorm -------------------------
 *
 * A row operator on an M×N matrix (M rows: attention-score rows or tokens; N: keys or channels):
 * softmax along each row, GELU 0.5·x·(1 + erf(x/√2)) element-wise, LayerNorm (no affine) along
 * each row, ε = KB_IVIT_LAYERNORM_EPS. Axes m, n, input; dtypes f32 and i8.
 *
 * The inputs of both dtypes come from one float32 matrix X (the case's input distribution; for
 * Shiftmax scaled by 3, so that softmax is as peaky as trained ViT attention). An f32 case takes
 * X itself; an i8 case takes X quantized per tensor exactly as quant.quantize (i8, tensor) does:
 * S = absmax(X) / 127, codes I = RNE(X · (1/S)), and the operation is applied to S·I (the
 * dequantized input, what the codes stand for). Same (shape, seed): the i8 codes are the
 * quantization of the f32 case's input.
 *
 * An i8 case's output is int8 codes on a fixed scale: Shiftmax's probabilities on 1/127 (codes
 * 0..127), GELU on the input's S, LayerNorm on KB_IVIT_LAYERNORM_OUT_SCALE (±7.9 then saturates).
 *
 * Verification, every row, against float64 of the exact function of the input values (f32: X;
 * i8: S·I): relative L2 error within 1e-5 for f32. For i8 the bound is the error of the float64
 * result rounded to the output grid (no int8 output does better) plus a margin for the
 * approximation: 0.15 (softmax), 0.06 (GELU), 0.03 (LayerNorm).
 */
enum {
    KB_IVIT_X,       /* in:  dtype [M,N]: f32 values, or i8 codes of S·I */
    KB_IVIT_X_SCALE, /* in:  f32 [1]: S of the i8 codes; 1 in an f32 case (the values are X) */
    KB_IVIT_Y,       /* out: dtype [M,N]: f32 values, or i8 codes on the operator's output scale */
};
#define KB_IVIT_LAYERNORM_EPS 1e-5
#define KB_IVIT_LAYERNORM_OUT_SCALE 0.0625 /* 2^-4 */
#define KB_IVIT_SHIFTMAX_OUT_SCALE (1.0 / 127)
extern const struct kb_operation kb_op_quant_ivit_shiftmax;
extern const struct kb_operation kb_op_quant_ivit_shiftgelu;
extern const struct kb_operation kb_op_quant_ivit_layernorm;

/* ---- vit.block: one pre-LN ViT encoder block ------------------------------------------------
 *
 *   a = LN(x);  [Q K V] = a·W_qkvᵀ;  per head h: O_h = softmax(Q_h·K_hᵀ/√d_h)·V_h
 *   h = x + O·W_oᵀ;  y = h + GELU(LN(h)·W_1ᵀ)·W_2ᵀ
 *
 * T tokens (axis seq), width D (hidden) = H (heads) × d_h (head_dim), MLP width F (ffn); axis
 * input chooses x's distribution. LayerNorm without affine (ε 1e-5), no biases, GELU with erf.
 * Weights N(0, 1/fan_in) except W_q and W_k at 3/fan_in (peaky softmax, as in trained ViTs).
 * Dtypes f32 and i8 (the precision an implementation computes in: an i8 one quantizes the
 * weights and activations itself, at setup); the operands are float32 in both.
 * Verification on up to 24 sampled rows against float64 of the block: relative L2 within 1e-4
 * (f32), 0.1 (i8; 0.25 with outlier input).
 */
enum {
    KB_VIT_X,     /* in:  f32 [T,D] */
    KB_VIT_W_QKV, /* in:  f32 [3D,D]: rows 0..D-1 W_q, D..2D-1 W_k, 2D..3D-1 W_v (head j owns rows
                   *      j·d_h .. j·d_h+d_h-1 of each) */
    KB_VIT_W_O,   /* in:  f32 [D,D] */
    KB_VIT_W_1,   /* in:  f32 [F,D] */
    KB_VIT_W_2,   /* in:  f32 [D,F] */
    KB_VIT_Y,     /* out: f32 [T,D] */
};
extern const struct kb_operation kb_op_vit_block;

/* ---- quant.fp4_quantize: block-scaled FP4 quantize + dequantize of an M×K float32 matrix -----
 *
 * Axes m, k, input; dtype = the format: mxfp4 (E2M1, an E8M0 scale per 32 elements of a row,
 * OCP MX v1.0) or nvfp4 (E2M1, an E4M3 scale per 16 and a float32 per tensor, NVIDIA). Blocks run
 * along K; the last block of a row may be short. Scale choice, rounding (nearest, ties to even,
 * saturating at ±6) and the non-finite and zero blocks as kernels/quant/fp4.h defines them.
 * Verified bit for bit (codes, block scales, the tensor scale) against fp4_quantize_emulate, and
 * the dequantized matrix against float64 x: relative L2 within 0.2 (outlier input 0.3).
 * Implementations may report accuracy stats (fp4.rmse_rel, fp4.max_err_rel, fp4.sqnr_db).
 */
enum {
    KB_FP4Q_X,            /* in:  f32 [M,K] */
    KB_FP4Q_CODES,        /* out: dtype [M, 2·ceil(K/2)]: ceil(K/2) bytes a row, element j in byte
                           *      j/2, low nibble when j is even (a padding nibble is 0) */
    KB_FP4Q_SCALES,       /* out: [M, ceil(K/block)] one byte each: e8m0 (mxfp4) or e4m3 (nvfp4) */
    KB_FP4Q_TENSOR_SCALE, /* out: f32 [1]: s_t (nvfp4), 1 (mxfp4) */
    KB_FP4Q_DEQ,          /* out: f32 [M,K] */
};
extern const struct kb_operation kb_op_quant_fp4_quantize;

/* ---- quant.fp4_gemm: Y = dequant(A) · dequant(W)ᵀ with FP4 operands, float32 out ---------------
 *
 * Axes m, n, k, input; dtype mxfp4 or nvfp4. A (the case's input distribution) and W (normal) are
 * drawn as float32 and quantized along K by fp4_quantize_emulate; the kernel reads the packed
 * codes and scales (an emulated GEMM: no FP4 arithmetic is assumed) and accumulates in float32:
 *   Y[i][n] = s_tA·s_tW · Σ_k (E2M1(A[i][k])·s_A[i][k/b]) · (E2M1(W[n][k])·s_W[n][k/b])
 * Verified on 64 sampled rows twice: every element against the float64 GEMM of the dequantized
 * values within float32 accumulation error, |y - ref| <= 2(K+4)·2^-24·Σ_k|a_k w_k| (counted as
 * exact_checked / exact_mismatches), and the rows against the float64 GEMM of the unquantized
 * draws (the accuracy recorded: relative L2 within 0.35, outlier input 0.5).
 * FLOPs 2·M·N·K; bytes (M + N)·(K/2 + K/b) + 8 + 4·M·N.
 */
enum {
    KB_FP4G_A,             /* in:  dtype [M, 2·ceil(K/2)] packed codes */
    KB_FP4G_A_SCALES,      /* in:  [M, ceil(K/b)] e8m0 / e4m3 */
    KB_FP4G_W,             /* in:  dtype [N, 2·ceil(K/2)] */
    KB_FP4G_W_SCALES,      /* in:  [N, ceil(K/b)] */
    KB_FP4G_TENSOR_SCALES, /* in:  f32 [2]: s_tA, s_tW (1, 1 for mxfp4) */
    KB_FP4G_Y,             /* out: f32 [M,N] */
    KB_FP4G_A_F32,         /* in:  f32 [M,K]: the unquantized A */
    KB_FP4G_W_F32,         /* in:  f32 [N,K]: the unquantized W */
};
extern const struct kb_operation kb_op_quant_fp4_gemm;

#endif
