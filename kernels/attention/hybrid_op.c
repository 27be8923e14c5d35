/* hybrid_op.c - the operation attention.hybrid (hybrid_ops.h): its shape rule, inputs (every
 * layer's Q, K, V), its verdict (each layer by its own operation's float64 reference) and its
 * counts (the layers' summed). */
#include "kernels/attention/hybrid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention/attention.h"
#include "kernels/attention/linear.h"
#include "kernels/attention/qkv_operands.h"

static int hybrid_check_shape(struct kb_shape *s, enum kb_dtype t, char *err, size_t errlen)
{
    int rc = attention_check_shape(s, err, errlen);
    if (rc != KB_OK)
        return rc;
    if (s->layers < 1 || s->layers > 1024) {
        snprintf(err, errlen, "attention.hybrid: layers = %d, must be 1..1024", s->layers);
        return KB_UNSUPPORTED;
    }
    if (hybrid_ratio_linear_per_softmax(s->ratio) < -1) {
        snprintf(err, errlen, "attention.hybrid: ratio %d is none of softmax, 1:1, 3:1, 6:1, linear", s->ratio);
        return KB_UNSUPPORTED;
    }
    if (s->decode != 0 && s->decode != 1) {
        snprintf(err, errlen, "attention.hybrid: decode = %d, must be 0 or 1", s->decode);
        return KB_UNSUPPORTED;
    }
    if (s->linear_kind != KB_LINEAR_KIND_LINEAR && s->linear_kind != KB_LINEAR_KIND_GLA) {
        snprintf(err, errlen, "attention.hybrid: linear_kind %d is neither linear nor gla", s->linear_kind);
        return KB_UNSUPPORTED;
    }
    if (s->linear_kind == KB_LINEAR_KIND_GLA && s->decode &&
        hybrid_softmax_layers(s->ratio, s->layers) < s->layers) {
        snprintf(err, errlen, "attention.hybrid: decode with gla layers (attention.gla has no decode step; "
                              "linear_kind linear has one)");
        return KB_UNSUPPORTED;
    }
    if (t != KB_DTYPE_F32 && t != KB_DTYPE_F16 && t != KB_DTYPE_BF16) {
        snprintf(err, errlen, "attention.hybrid: dtype %s not defined (f32, f16, bf16)",
                 kb_dtype_name(t) ? kb_dtype_name(t) : "?");
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

static int hybrid_inputs(struct kb_operands *io, struct kb_shape *s, enum kb_dtype t, uint64_t seed, char *err,
                         size_t errlen)
{
    int rc = hybrid_check_shape(s, t, err, errlen);
    if (rc != KB_OK)
        return rc;
    const int d = s->head_dim;
    const size_t qr = hybrid_layer_rows(hybrid_q_rows(s), d), kvr = hybrid_layer_rows(hybrid_kv_rows(s), d);
    const size_t orows = hybrid_layer_rows(hybrid_o_rows(s), d);
    const int64_t qdims[3] = { s->layers, (int64_t)qr, d }, kvdims[3] = { s->layers, (int64_t)kvr, d };
    const int64_t odims[3] = { s->layers, (int64_t)orows, d };
    if (kb_operands_add(io, "q", KB_DTYPE_F32, 3, qdims, 0, 0, err, errlen) != KB_HYB_Q ||
        kb_operands_add(io, "k", KB_DTYPE_F32, 3, kvdims, 0, 0, err, errlen) != KB_HYB_K ||
        kb_operands_add(io, "v", KB_DTYPE_F32, 3, kvdims, 0, 0, err, errlen) != KB_HYB_V ||
        kb_operands_add(io, "o", KB_DTYPE_F32, 3, odims, 1, 0, err, errlen) != KB_HYB_O)
        return KB_ERROR;
    const int gla = s->linear_kind == KB_LINEAR_KIND_GLA;
    if (gla && kb_operands_add(io, "log_gates", KB_DTYPE_F32, 3, qdims, 0, 0, err, errlen) != KB_HYB_G)
        return KB_ERROR;
    /* each layer drawn as attention.softmax / attention.linear draw T tokens from its seed */
    struct kb_shape drawn = *s;
    drawn.seq_len = s->seq_len + (s->decode ? 1 : 0);
    drawn.decode = 0;
    const size_t nq = hybrid_q_rows(s) * (size_t)d, nkv = hybrid_kv_rows(s) * (size_t)d;
    for (int l = 0; l < s->layers; l++) {
        float *q = (float *)io->buffer[KB_HYB_Q] + (size_t)l * qr * d;
        float *k = (float *)io->buffer[KB_HYB_K] + (size_t)l * kvr * d;
        float *v = (float *)io->buffer[KB_HYB_V] + (size_t)l * kvr * d;
        attention_inputs_fill(q, hybrid_q_rows(s), k, v, &drawn, hybrid_layer_seed(seed, l));
        qkv_round_to(q, nq, t);
        qkv_round_to(k, nkv, t);
        qkv_round_to(v, nkv, t);
        if (gla && !hybrid_layer_is_softmax(s->ratio, l)) {
            /* the gates attention.gla draws for this layer's seed (its generator, so the same bytes) */
            float *g = gla_gates_new(s, hybrid_layer_seed(seed, l));
            if (!g) {
                snprintf(err, errlen, "attention.hybrid: out of memory for the gates");
                return KB_ERROR;
            }
            float *dst = (float *)io->buffer[KB_HYB_G] + (size_t)l * qr * d;
            memcpy(dst, g, nq * sizeof *g);
            free(g);
            qkv_round_to(dst, nq, t);
        }
    }
    return KB_OK;
}

/* Folds one layer's verdict into the stack's: the worst layer (largest error against its
 * tolerance) gives the error and tolerance; every layer must pass. */
static void merge_accuracy(struct kb_accuracy *all, const struct kb_accuracy *one, int first)
{
    double worst = first ? -1 : all->rel_l2_err / all->tolerance;
    double this_one = one->rel_l2_err / one->tolerance;
    if (first) {
        *all = *one;
        return;
    }
    if (!(this_one <= worst)) { /* NaN counts as worse */
        all->rel_l2_err = one->rel_l2_err;
        all->tolerance = one->tolerance;
    }
    if (!(one->max_abs_err <= all->max_abs_err))
        all->max_abs_err = one->max_abs_err;
    if (!(one->cosine >= all->cosine))
        all->cosine = one->cosine;
    all->rows_checked += one->rows_checked;
    all->rows_total += one->rows_total;
    all->passed = all->passed && one->passed;
}

static int hybrid_verify(const struct kb_operands *io, const struct kb_shape *s, enum kb_dtype t, uint64_t seed,
                         int threads, struct kb_accuracy *acc)
{
    float *decode_q = s->decode ? attention_alloc(hybrid_decode_q_floats(s) * sizeof(float)) : NULL;
    if (s->decode && !decode_q) {
        *acc = (struct kb_accuracy){ .max_abs_err = INFINITY, .rel_l2_err = INFINITY, .tolerance = 1, .passed = 0 };
        return KB_ERROR;
    }
    int rc = KB_OK;
    for (int l = 0; l < s->layers && rc == KB_OK; l++) {
        struct hybrid_layer ly;
        struct kb_operands view;
        struct kb_accuracy one = { 0 };
        hybrid_layer_of(s, seed, l, &ly);
        hybrid_layer_view(io, s, l, &ly, decode_q, &view);
        rc = ly.op->verify(&view, &ly.shape, t, ly.seed, threads, &one);
        merge_accuracy(acc, &one, l == 0);
    }
    free(decode_q);
    return rc;
}

/* The shape with kv_heads filled, as the counts of the layer operations expect. */
static struct kb_shape completed(const struct kb_shape *shape)
{
    struct kb_shape s = *shape;
    if (s.kv_heads == 0)
        s.kv_heads = s.heads;
    return s;
}

static double hybrid_flops(const struct kb_shape *shape)
{
    struct kb_shape s = completed(shape);
    double sum = 0;
    for (int l = 0; l < s.layers; l++) {
        struct hybrid_layer ly;
        hybrid_layer_of(&s, 0, l, &ly);
        sum += ly.op->flops(&ly.shape);
    }
    return sum;
}

static double hybrid_bytes(const struct kb_shape *shape, enum kb_dtype t)
{
    struct kb_shape s = completed(shape);
    double sum = 0;
    for (int l = 0; l < s.layers; l++) {
        struct hybrid_layer ly;
        hybrid_layer_of(&s, 0, l, &ly);
        sum += ly.op->bytes(&ly.shape, t);
    }
    return sum;
}

/* The operands, verify's gathered decode queries and sampled rows with their references. */
static double hybrid_footprint(const struct kb_shape *shape, enum kb_dtype t)
{
    (void)t;
    struct kb_shape s = completed(shape);
    const int d = s.head_dim;
    double rows = (double)hybrid_layer_rows(hybrid_q_rows(&s), d) + 2.0 * hybrid_layer_rows(hybrid_kv_rows(&s), d) +
                  (double)hybrid_layer_rows(hybrid_o_rows(&s), d);
    if (s.linear_kind == KB_LINEAR_KIND_GLA) /* the gates, and the generator's copy while it draws */
        rows += 2.0 * hybrid_layer_rows(hybrid_q_rows(&s), d);
    return 4.0 * s.layers * rows * d + 4.0 * hybrid_decode_q_floats(&s) +
           8.0 * ATTENTION_VERIFY_ROWS * (3.0 * d + 2.0);
}

const struct kb_operation kb_op_attention_hybrid = {
    .name = "attention.hybrid",
    .description = "a stack of L causal attention layers, linear-family (attention.linear elu1, or attention.gla) "
                   "and softmax (attention.softmax) at a linear:softmax ratio, attention only; prefill or decode",
    .family = KB_FAMILY_ATTENTION,
    .axes = KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | KB_AXIS_BIT(KB_AXIS_KV_HEADS) |
            KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | KB_AXIS_BIT(KB_AXIS_DECODE) |
            KB_AXIS_BIT(KB_AXIS_INPUT) | KB_AXIS_BIT(KB_AXIS_LAYERS) | KB_AXIS_BIT(KB_AXIS_RATIO) |
            KB_AXIS_BIT(KB_AXIS_LINEAR_KIND),
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16),
    .layout = "per layer l (T = N, N + 1 in decode): q [B,H,T,d], k and v [B,H_kv,T,d] float32 rows, then zero rows "
              "(tensors [L, rows per layer, d]); o likewise, layer l's [B,H,N,d] ([B,H,1,d] in decode) first; "
              "log_gates (linear_kind gla) as q, each layer's [B,H,N,d] log α; "
              "16-bit cases hold values rounded to the dtype",
    .flops = hybrid_flops,
    .bytes = hybrid_bytes,
    .footprint = hybrid_footprint,
    .inputs = hybrid_inputs,
    .verify = hybrid_verify,
};
