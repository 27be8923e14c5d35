/* vit_block.h - one ViT encoder block (pre-LN), the I-ViT claim's unit of work:
 *
 *   a = LN(x);  [Q K V] = a·W_qkvᵀ;  per head: O_h = softmax(Q_h·K_hᵀ/√d_h)·V_h
 *   h = x + O·W_oᵀ;  y = h + GELU(LN(h)·W_1ᵀ)·W_2ᵀ
 *
 * at T tokens (seq), width D (hidden) = H heads × d_h (head_dim), MLP width F (ffn). LayerNorm
 * without affine (γ = 1, β = 0: a trained γ, β fold into the next projection) and no biases
 * (int32 adds into the accumulators in I-ViT; O(T·D) work beside O(T·D²)), so the float and
 * the integer blocks compute exactly the same function.
 *
 *   vit.block@cpu.f32   float32: cblas_sgemm projections and per-head products (portable
 *                       OpenMP loops without a CBLAS), float softmax / erf GELU / LayerNorm
 *   vit.block@cpu.int8  I-ViT integer-only: INT8 GEMMs with int32 accumulators and dyadic
 *                       requantization (quant.gemm_int8's packed GEMM), Shiftmax, ShiftGELU,
 *                       I-LayerNorm (ivit.c), residual adds in int32
 *
 * Both implement the operation vit.block (kb_op_vit_block, vit_block_op.c: inputs, float64
 * reference on sampled rows, counts). Weights come from the case seed, N(0, 1/fan_in), except
 * W_q and W_k at 3/fan_in: scores then have a standard deviation ≈ 3 and softmax is peaky as in
 * trained ViTs (the reason quant.ivit_shiftmax spreads its scores 3x); under N(0, 1) scores
 * nearly every probability of a 197-key row falls below Shiftmax's 1/127 step. The integer
 * block's own check compares its int8 output bit for bit with a scalar emulation. */
#ifndef KB_QUANT_VIT_BLOCK_H
#define KB_QUANT_VIT_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel.h"
#include "kernels/quant/quant.h"
#include "kernels/quant/quant_ops.h"

extern const struct kb_kernel kb_vit_block_f32;
extern const struct kb_kernel kb_vit_block_int8;

/* seq, hidden, heads, head_dim, ffn, input */
#define VIT_AXES (KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HIDDEN) | KB_AXIS_BIT(KB_AXIS_HEADS) | \
    KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_FFN) | KB_AXIS_BIT(KB_AXIS_INPUT))

/* Output rows compared with float64 (and with the integer emulation). */
#define VIT_VERIFY_ROWS 24
/* rel L2 bound of the float32 block against float64 */
#define VIT_F32_TOL 1e-4
/* rel L2 bounds of the integer block against float64 of the unquantized block: about twice
 * the measured error (docs/kernels-quant.md, "ViT block"). Outlier channels (x50-100) in the
 * input squeeze the per-tensor input scale, so most channels keep a few codes. */
#define VIT_INT8_TOL 0.1
#define VIT_INT8_TOL_OUTLIER 0.25

struct vit_dims {
    int t, d, h, dh, f; /* tokens, hidden, heads, head_dim, ffn */
};

/* The unquantized block: input and weights, row-major, W[out][in] (A·Wᵀ layout): a view of a
 * case's operands (quant_ops.h, KB_VIT_*), which the harness owns. */
struct vit_weights {
    const float *x;    /* [t][d] */
    const float *wqkv; /* [3d][d]: rows 0..d-1 Q, d..2d-1 K, 2d..3d-1 V; head j owns rows j·dh.. of each */
    const float *wo;   /* [d][d] */
    const float *w1;   /* [f][d] */
    const float *w2;   /* [d][f] */
};

/* Absolute maxima of the intermediates of one float pass: the integer block's calibration. */
struct vit_calib {
    float x, q, k, v, scores, attn, h, fc1, y;
};

/* Reads the axes; hidden must be heads × head_dim. KB_OK, or KB_UNSUPPORTED with a message. */
int vit_dims_from(const char *kernel, const struct kb_shape *s, struct vit_dims *v, char *err, size_t errlen);
/* The operands of a case of vit.block as the block's input and weights. */
struct vit_weights vit_weights_of(const struct kb_operands *io);

/* float64 rows `rows[0..nr)` of the block's output into out[nr][d]; KB_ERROR when out of memory. */
int vit_block_reference_rows(const struct vit_weights *w, const struct vit_dims *v, const long *rows, long nr,
                             double *out);

/* Tests: makes the case's (vit.block@cpu.int8, after setup) later runs use this GEMM path
 * ("avx512vnni", "avx2", "scalar", "scalar-u8"), re-packing its weights; -1 if not runnable. */
int vit_block_int8_use_path(struct kb_case *c, const char *name);

/* What a GPU version of the integer block needs from a set-up vit.block@cpu.int8 case (its
 * codes, dyadics and Shiftmax / ShiftGELU I_0, all fixed at setup) to run the same integer
 * pipeline, and where to put its output codes so the CPU kernel's collect and check (bit for bit
 * against vit_i8_emulate_rows) judge them. The pointers stay the case's. */
struct vit_i8_view {
    struct vit_dims v;
    const int8_t *x;                                  /* [t][d] input codes */
    const int8_t *wqkv, *wo, *w1, *w2;                /* [3d][d] [d][d] [f][d] [d][f] weight codes */
    const struct quant_dyadic *dy_qkv, *dy_o, *dy_1, *dy_2; /* per output column */
    struct quant_dyadic dy_sc, dy_pv, dy_xh, dy_hy;
    int32_t i0_sc, i0_f;
    int8_t *y;                                        /* [t][d] output codes (collect, check read them) */
};
/* Fills view from c (a vit.block@cpu.int8 case after setup); KB_ERROR when c has no state. */
int vit_block_int8_view(const struct kb_case *c, struct vit_i8_view *view);

/* ---- the float32 block (vit_block_f32.c), also the integer block's calibration pass --------- */
struct vit_f32_work {
    float *a, *qkv, *scores, *attn, *h, *ff, *y; /* [t][d] [t][3d] [h][t][t] [t][d] [t][d] [t][f] [t][d] */
    int owns_y;
};
/* y: where the output goes (a case's output operand), or NULL to allocate it with the rest. */
int vit_f32_work_new(struct vit_f32_work *wk, const struct vit_dims *v, float *y);
void vit_f32_work_free(struct vit_f32_work *wk);
/* One forward pass into wk->y; threads for the OpenMP loops (the BLAS threads are set by the
 * caller); calib non-NULL also records the intermediates' absolute maxima (slower). */
void vit_f32_forward(const struct vit_weights *w, const struct vit_dims *v, struct vit_f32_work *wk, int threads,
                     struct vit_calib *calib);

/* acc · S with S = b/2^c, rounded half up, as int32 without the int8 saturation: the residual
 * adds of the integer block line both operands up on the sum's scale this way. */
static inline int32_t vit_dyadic_i32(int32_t acc, struct quant_dyadic d)
{
    int64_t y = ((int64_t)acc * d.b + ((int64_t)1 << (d.c - 1))) >> d.c;
    return (int32_t)(y > INT32_MAX ? INT32_MAX : y < -INT32_MAX ? -INT32_MAX : y);
}
static inline int8_t vit_sat8(int32_t v)
{
    return (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
}

#endif
