/* quant_cuda.h - what the CUDA quantization kernels share, and the launchers of their device code
 * (quantize_dev.cu, gemm_w4a8_mma.cu, ivit_dev.cu).
 *
 * Each CUDA kernel keeps an "inner" case of its CPU counterpart (same name, impl "cpu" or
 * "cpu.f32"), set up from the same shape, dtype and seed: that case draws the inputs exactly as
 * the CPU kernel does and owns the host output buffers. The CUDA kernel uploads the inner case's
 * inputs, computes on the GPU, and at verify copies its outputs into the inner case's output
 * buffers and calls the CPU kernel's own verify: the same float64 reference, the same tolerance
 * and the same bit-for-bit comparison with the scalar emulation, on the GPU's results.
 */
#ifndef KB_QUANT_CUDA_H
#define KB_QUANT_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel.h"

extern const struct kb_kernel kb_quant_quantize_cuda;
extern const struct kb_kernel kb_quant_gemm_w4a8_cuda;
extern const struct kb_kernel kb_quant_ivit_shiftmax_cuda;
extern const struct kb_kernel kb_quant_ivit_shiftgelu_cuda;
extern const struct kb_kernel kb_quant_ivit_layernorm_cuda;
extern const struct kb_kernel kb_quant_ivit_shiftmax_cuda_f32;
extern const struct kb_kernel kb_quant_ivit_shiftgelu_cuda_f32;
extern const struct kb_kernel kb_quant_ivit_layernorm_cuda_f32;
extern const struct kb_kernel kb_quant_fp4_quantize_cuda;    /* fp4_cuda.c */
extern const struct kb_kernel kb_quant_fp4_gemm_cuda;
extern const struct kb_kernel kb_quant_fp4_gemm_cuda_native; /* refuses: no FP4 tensor cores before sm_100 */

/* ---- host side (quant_cuda.c) --------------------------------------------------------------- */

/* Sets up *inner as a case of cpu_kernel with outer's shape, dtype and seed (one thread, no
 * stream). Returns the CPU setup's code; its message goes to err. */
int quant_cuda_inner_setup(const struct kb_case *outer, const struct kb_kernel *cpu_kernel,
                           struct kb_case *inner, char *err, size_t errlen);
void quant_cuda_inner_teardown(struct kb_case *inner);
/* The buffer of the inner case's tensor with this name (its dims into t), or NULL. */
void *quant_cuda_tensor(const struct kb_case *inner, const char *name, struct kb_tensor *t);
/* Writes "doing: CUDA error text (name)" into err; returns KB_ERROR. */
int quant_cuda_fail(int cuda_error, const char *doing, char *err, size_t errlen);

/* ---- device code: extern "C" launchers, each returns a cudaError_t (0 = success) ------------ */

/* quant.quantize: x [m,k] float32 → codes (rows of quant_row_bytes(k, t) bytes), scales and
 * the dequantized matrix, at the shape's granularity; `scratch` holds 4 bytes (the per-tensor
 * abs-max). Bit for bit quant_quantize_emulate. */
int quant_quantize_launch(const float *x, const struct kb_shape *s, enum kb_dtype t, uint8_t *codes,
                          float *scales, float *deq, unsigned *scratch, void *stream);

/* quant.gemm_w4a8, i8 activations: y[m,n] = Σ_g (float)P_g·s_w[n][g] (in group order) · s_a.
 * a [mp, kp] int8, w [np, kp/2] packed int4, s_w [np, groups] with zero padding (mp, np
 * multiples of W4A8_TILE, kp of W4A8_TILE_K); group a multiple of 32 or >= k. */
#define W4A8_TILE 128
#define W4A8_TILE_K 64
int quant_w4a8_launch(const int8_t *a, const uint8_t *w, const float *s_w, float s_a, float *y, int m, int n,
                      int k, int kp, int group, int groups, void *stream);

/* quant.ivit_*: op 0 Shiftmax, 1 ShiftGELU, 2 I-LayerNorm on int8 rows [m,n] (i0 = round(1/S));
 * the float32 counterparts (softmax, GELU, LayerNorm) with ivit_f32_launch. */
int quant_ivit_launch(int op, const int8_t *x, int8_t *y, int m, int n, int32_t i0, void *stream);
int quant_ivit_f32_launch(int op, const float *x, float *y, int m, int n, void *stream);

/* quant.fp4_quantize (fp4_dev.cu): x [m,k] into packed codes (rows of ceil(k/2) bytes), block
 * scale codes [m, ceil(k/block)], *tensor_scale and deq [m,k], bit for bit fp4_quantize_emulate;
 * scratch: 4 bytes (NVFP4's tensor abs-max). */
int fp4_quantize_launch(const float *x, int m, int k, int nvfp4, uint8_t *codes, uint8_t *scales,
                        float *tensor_scale, float *deq, unsigned *scratch, void *stream);
/* quant.fp4_gemm: y [m,n] = out_scale · Σ_k dequant(a)·dequant(w) with the operation's packed
 * layouts (a [m, ceil(k/2)] bytes, as [m, nb], w [n, ceil(k/2)], ws [n, nb]). */
int fp4_gemm_launch(const uint8_t *a, const uint8_t *as, const uint8_t *w, const uint8_t *ws, float out_scale,
                    float *y, int m, int n, int k, int nvfp4, void *stream);

#endif
