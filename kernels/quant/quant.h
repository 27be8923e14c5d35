/* quant.h - the quantization family: the registered kernels and what they share (shape checks,
 * FLOP/byte formulas of the catalogue, inputs, the symmetric quantizer, INT4 packing and the
 * dyadic requantization of HAWQ-V3). Everything here is plain C that a CUDA implementation can
 * call to build the same inputs and the same scalar emulation. docs/kernels-quant.md is the
 * narrative; the tolerances below are the pass/fail bounds on relative L2 error. */
#ifndef KB_QUANT_H
#define KB_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel.h"
#include "kernels/cpu_features.h"

/* What the AVX2 paths of quantize, W4A8 and the I-ViT operators need (kernels/cpu_features.h
 * decides whether they may run). */
#define QUANT_AVX2_NEEDS KB_CPU_AVX2

extern const struct kb_kernel kb_quant_quantize_cpu;      /* quantize + dequantize, i8/i4/e4m3/e5m2 */
extern const struct kb_kernel kb_quant_gemm_int8_cpu;     /* W8A8, VNNI / AVX2 / scalar, dyadic requant */
extern const struct kb_kernel kb_quant_gemm_int8_naive;   /* the same arithmetic, one plain loop nest */
extern const struct kb_kernel kb_quant_gemm_w4a8_cpu;     /* INT4 weights, group scales, i8 or e4m3 acts */
extern const struct kb_kernel kb_quant_ivit_shiftmax_cpu; /* integer-only I-ViT ops ...            */
extern const struct kb_kernel kb_quant_ivit_shiftgelu_cpu;
extern const struct kb_kernel kb_quant_ivit_layernorm_cpu;
extern const struct kb_kernel kb_quant_ivit_shiftmax_f32; /* ... and their float32 counterparts */
extern const struct kb_kernel kb_quant_ivit_shiftgelu_f32;
extern const struct kb_kernel kb_quant_ivit_layernorm_f32;
#ifdef HAVE_CBLAS
extern const struct kb_kernel kb_gemm_f32_blas;           /* cblas_sgemm: the float32 baseline */
#endif

/* Axes of the GEMMs (m, n, k, input) and of the quantizer (+ group, granularity). */
#define QUANT_AXES_GEMM KB_AXES_GEMM
#define QUANT_AXES_W4A8 (KB_AXES_GEMM | KB_AXIS_BIT(KB_AXIS_GROUP))
#define QUANT_AXES_QUANTIZE (KB_AXIS_BIT(KB_AXIS_M) | KB_AXIS_BIT(KB_AXIS_K) | KB_AXIS_BIT(KB_AXIS_GROUP) | \
    KB_AXIS_BIT(KB_AXIS_GRANULARITY) | KB_AXIS_BIT(KB_AXIS_INPUT))
/* I-ViT ops work on an M×N matrix: m tokens (or score rows), n channels (or keys). */
#define QUANT_AXES_ROWS (KB_AXIS_BIT(KB_AXIS_M) | KB_AXIS_BIT(KB_AXIS_N) | KB_AXIS_BIT(KB_AXIS_INPUT))

/* Rows of the output the GEMM kernels check against float64 and the scalar emulation. */
#define QUANT_VERIFY_ROWS 64

/* ---- common (quant_common.c) --------------------------------------------------------------- */

/* Independent draws per tensor from one case seed. */
enum { QUANT_SEED_A = 1, QUANT_SEED_B = 2 };
uint64_t quant_sub_seed(uint64_t seed, unsigned which);
/* aligned_alloc(64) of bytes rounded up to 64, plus 64 spare bytes vector code may over-read;
 * NULL for 0 bytes or on failure. free() it. */
void *quant_alloc(size_t bytes);
/* The named axes (QUANT_AXES_*) positive and small enough; KB_OK or KB_UNSUPPORTED + message. */
int quant_check_shape(const char *kernel, const struct kb_shape *s, uint64_t axes, char *err, size_t errlen);
/* A rows×cols float32 matrix from the case's input distribution (datasets/generate.h). */
float *quant_input_new(size_t rows, size_t cols, uint64_t seed, int input);

/* Catalogue formulas: 2·M·N·K for the GEMMs; the quantizer's n·(s_in + s_q) + 4 per scale. */
double quant_gemm_flops(const struct kb_shape *s);

/* ---- the symmetric quantizer ---------------------------------------------------------------- */

/* The largest code magnitude: 127 (i8), 7 (i4), 448 (e4m3), 57344 (e5m2); 0 for others. Both
 * integer formats are symmetric ([-127, 127], [-7, 7]): -128 / -8 are never produced, which
 * the AVX2 GEMM relies on (see gemm_int8.c). */
double quant_qmax(enum kb_dtype t);
/* Scale of a block whose largest magnitude is absmax: absmax / qmax rounded to float32 (1 for
 * an all-zero block, so that dequantizing gives zeros). */
float quant_scale(float absmax, enum kb_dtype t);
/* The code of x at scale s: v = x · (1/s) in float32, then round to nearest even and clamp to
 * ±qmax (i8, i4: an integer in int8_t), or the FP8 encoding of v (e4m3, e5m2: the code byte).
 * This is the scalar emulation every quantizing kernel must match bit for bit. */
uint8_t quant_code(float x, float inv_scale, enum kb_dtype t);
/* The value of a code (i8, i4: the int8_t value as a byte; e4m3, e5m2: the FP8 code). */
float quant_decode(uint8_t code, enum kb_dtype t);
/* Elements that share one scale along K: K (tensor/channel: whole rows), or group. */
int quant_scale_cols(const struct kb_shape *s);
/* Scales of an M×K matrix: 1 (tensor), M (channel: one per row), M·ceil(K/group) (group). */
size_t quant_scale_count(const struct kb_shape *s);
/* Bytes of a row of codes: K (8-bit formats) or ceil(K/2) (i4, packed). */
size_t quant_row_bytes(int k, enum kb_dtype t);
/* INT4 packing: element j of a row lives in byte j/2, low nibble when j is even. */
static inline void quant_i4_put(uint8_t *row, int j, int v)
{
    uint8_t *p = row + j / 2;
    *p = (j & 1) ? (uint8_t)((*p & 0x0F) | ((v & 0x0F) << 4)) : (uint8_t)((*p & 0xF0) | (v & 0x0F));
}
static inline int quant_i4_get(const uint8_t *row, int j)
{
    int nib = (row[j / 2] >> ((j & 1) * 4)) & 0x0F;
    return nib >= 8 ? nib - 16 : nib;
}
/* The whole scalar emulation of quant.quantize: scales (abs-max per block), codes and the
 * dequantized matrix of x[M,K] at the shape's granularity. */
void quant_quantize_emulate(const float *x, const struct kb_shape *s, enum kb_dtype t, float *scales,
                            uint8_t *codes, float *deq);

/* ---- dyadic requantization (HAWQ-V3) --------------------------------------------------------- */

/* A real scale S > 0 as the dyadic number b / 2^c, b < 2^31: int32 accumulators times b fit
 * int64, and y = (acc·b + 2^(c−1)) >> c (arithmetic shift) is acc·S rounded half up — integer
 * multiply, add and shift only. */
struct quant_dyadic {
    int32_t b;
    int c;
};
struct quant_dyadic quant_dyadic_from(double scale);
static inline int8_t quant_dyadic_requant(int32_t acc, struct quant_dyadic d)
{
    int64_t y = ((int64_t)acc * d.b + ((int64_t)1 << (d.c - 1))) >> d.c;
    return (int8_t)(y > 127 ? 127 : y < -127 ? -127 : y);
}

/* ---- tolerances on relative L2 error against float64 of the unquantized inputs ------------- */
double quant_quantize_tolerance(enum kb_dtype t, int input);
#define QUANT_GEMM_INT8_TOL 0.05      /* normal/uniform; measured ≈ 0.012 */
#define QUANT_GEMM_INT8_TOL_OUTLIER 0.25
#define QUANT_GEMM_W4A8_TOL 0.25      /* i4 weights per group of 128: measured ≈ 0.12 */
#define QUANT_GEMM_W4A8_TOL_OUTLIER 0.5 /* outlier channels x50-100 amplify weight rounding: up to ≈ 0.3 */
#define QUANT_GEMM_F32_TOL 1e-5
#define QUANT_FP4_TOL 0.2            /* FP4 quantize round trip (fp4_op.c); measured: docs/kernels-quant.md */
#define QUANT_FP4_TOL_OUTLIER 0.3
#define QUANT_FP4_GEMM_TOL 0.35       /* measured 0.11-0.17 at K >= 333; 7 outputs of K = 33 reach 0.27 */
#define QUANT_FP4_GEMM_TOL_OUTLIER 0.5
#define QUANT_IVIT_TOL 0.15           /* Shiftmax margin above its int8 output floor (ivit.c) */

/* The GEMM kernels' SIMD path on this CPU: "avx512vnni", "avx2" or "scalar". */
const char *quant_gemm_int8_path(void);

#endif
