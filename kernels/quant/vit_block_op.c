/* vit_block_op.c - the operation vit.block (quant_ops.h): one pre-LN ViT encoder block. Its
 * inputs (the block's input and weights, float32 from the case's seed, whatever precision an
 * implementation computes in), its float64 reference on sampled rows, its counts. */
#include "kernels/quant/quant_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "datasets/generate.h"
#include "kernels/quant/quant.h"
#include "kernels/quant/vit_block.h"
#include "kernels/verify.h"

/* sub-seeds of the weights, after quant's A (the input) and B */
enum { VIT_SEED_WQ = 11, VIT_SEED_WK, VIT_SEED_WV, VIT_SEED_WO, VIT_SEED_W1, VIT_SEED_W2 };
/* variance of W_q, W_k entries × fan_in: scores' standard deviation (see vit_block.h) */
#define VIT_QK_VAR 3.0

/* Catalogue-style counts: 2·T·D·(3D + D + 2F) for the projections + 4·T²·D for QKᵀ and PV. */
static double vit_block_flops(const struct kb_shape *s)
{
    const double t = s->seq_len, d = s->hidden, f = s->ffn;
    return 2 * t * d * (4 * d + 2 * f) + 4 * t * t * d;
}

/* Weights once and the input and output, in the dtype computed in: (4D² + 2DF + 2TD)·s. */
static double vit_block_bytes(const struct kb_shape *s, enum kb_dtype dt)
{
    const double t = s->seq_len, d = s->hidden, f = s->ffn;
    return (4 * d * d + 2 * d * f + 2 * t * d) * kb_dtype_size(dt);
}

static double vit_block_footprint(const struct kb_shape *s, enum kb_dtype dt)
{
    (void)dt;
    const double t = s->seq_len, d = s->hidden, f = s->ffn;
    /* the float32 operands; verify's K, V of every token in double and its sampled rows */
    return 4 * (4 * d * d + 2 * d * f) + 8 * t * d + 16 * t * d + 8 * (VIT_VERIFY_ROWS + 5) * (d + f + t) + 4096;
}

static int vit_block_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                            size_t errlen)
{
    (void)t;
    struct vit_dims v;
    int rc = vit_dims_from("vit.block", s, &v, err, errlen);
    if (rc != KB_OK)
        return rc;
    const int64_t td[2] = { v.t, v.d }, qkv[2] = { 3 * (int64_t)v.d, v.d }, dd[2] = { v.d, v.d },
                  fd[2] = { v.f, v.d }, df[2] = { v.d, v.f };
    if (kb_operands_add(io, "x", KB_DTYPE_F32, 2, td, 0, 64, err, errlen) != KB_VIT_X ||
        kb_operands_add(io, "w_qkv", KB_DTYPE_F32, 2, qkv, 0, 64, err, errlen) != KB_VIT_W_QKV ||
        kb_operands_add(io, "w_o", KB_DTYPE_F32, 2, dd, 0, 64, err, errlen) != KB_VIT_W_O ||
        kb_operands_add(io, "w_1", KB_DTYPE_F32, 2, fd, 0, 64, err, errlen) != KB_VIT_W_1 ||
        kb_operands_add(io, "w_2", KB_DTYPE_F32, 2, df, 0, 64, err, errlen) != KB_VIT_W_2 ||
        kb_operands_add(io, "y", KB_DTYPE_F32, 2, td, 1, 64, err, errlen) != KB_VIT_Y)
        return KB_ERROR;
    const size_t tt = (size_t)v.t, d = (size_t)v.d, f = (size_t)v.f;
    float *wqkv = io->buffer[KB_VIT_W_QKV];
    gen_fill_input_f32(io->buffer[KB_VIT_X], tt, d, quant_sub_seed(seed, QUANT_SEED_A), s->input);
    const double sd = 1.0 / sqrt((double)d), sqk = sqrt(VIT_QK_VAR / (double)d);
    gen_fill_normal_f32(wqkv, d * d, quant_sub_seed(seed, VIT_SEED_WQ), 0, sqk);
    gen_fill_normal_f32(wqkv + d * d, d * d, quant_sub_seed(seed, VIT_SEED_WK), 0, sqk);
    gen_fill_normal_f32(wqkv + 2 * d * d, d * d, quant_sub_seed(seed, VIT_SEED_WV), 0, sd);
    gen_fill_normal_f32(io->buffer[KB_VIT_W_O], d * d, quant_sub_seed(seed, VIT_SEED_WO), 0, sd);
    gen_fill_normal_f32(io->buffer[KB_VIT_W_1], f * d, quant_sub_seed(seed, VIT_SEED_W1), 0, sd);
    gen_fill_normal_f32(io->buffer[KB_VIT_W_2], d * f, quant_sub_seed(seed, VIT_SEED_W2), 0, 1.0 / sqrt((double)f));
    return KB_OK;
}

static int vit_block_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                            int threads, struct kb_accuracy *acc)
{
    (void)threads;
    struct vit_dims v;
    char err[160];
    if (vit_dims_from("vit.block", s, &v, err, sizeof err) != KB_OK)
        return KB_ERROR;
    const struct vit_weights w = vit_weights_of(io);
    const float *y = io->tensor[KB_VIT_Y].data;
    const int d = v.d;
    long rows[VIT_VERIFY_ROWS];
    long nr = verify_sample_rows(v.t, VIT_VERIFY_ROWS, seed, rows);
    double *ref = malloc((size_t)nr * d * sizeof *ref);
    if (!ref || vit_block_reference_rows(&w, &v, rows, nr, ref) != KB_OK) {
        free(ref);
        return KB_ERROR;
    }
    struct verify_acc va;
    verify_begin(&va);
    for (long r = 0; r < nr; r++)
        for (int j = 0; j < d; j++)
            verify_add(&va, y[(size_t)rows[r] * d + j], ref[(size_t)r * d + j]);
    double tol = t == KB_DTYPE_I8 ? (s->input == KB_INPUT_OUTLIER ? VIT_INT8_TOL_OUTLIER : VIT_INT8_TOL) : VIT_F32_TOL;
    verify_finish(&va, tol, acc);
    acc->rows_checked = nr;
    acc->rows_total = v.t;
    free(ref);
    return KB_OK;
}

const struct kb_operation kb_op_vit_block = {
    .name = "vit.block",
    .description = "one pre-LN ViT encoder block: LayerNorm, multi-head attention, residual, GELU MLP, residual",
    .family = KB_FAMILY_QUANT,
    .axes = VIT_AXES,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_I8),
    .layout = "row-major, f32 whatever the dtype computed in; x and y [tokens,d] (d = hidden), w_qkv [3d,d] "
              "(W_q, W_k, W_v stacked), w_o [d,d], w_1 [ffn,d], w_2 [d,ffn]; y = block(x) with A·Wᵀ products",
    .flops = vit_block_flops,
    .bytes = vit_block_bytes,
    .footprint = vit_block_footprint,
    .inputs = vit_block_inputs,
    .verify = vit_block_verify,
};
