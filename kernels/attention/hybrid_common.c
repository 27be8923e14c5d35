/* hybrid_common.c - attention.hybrid's layer rule, layout, memory count and per-layer views
 * (hybrid_ops.h, hybrid.h). */
#include "kernels/attention/hybrid.h"

#include <string.h>

#include "kernels/attention/attention.h"
#include "kernels/attention/linear_ops.h"
#include "kernels/attention/softmax_ops.h"

int hybrid_ratio_linear_per_softmax(int ratio)
{
    switch (ratio) {
    case KB_RATIO_SOFTMAX: return 0;
    case KB_RATIO_1_1: return 1;
    case KB_RATIO_3_1: return 3;
    case KB_RATIO_6_1: return 6;
    case KB_RATIO_LINEAR: return -1;
    default: return -2;
    }
}

int hybrid_layer_is_softmax(int ratio, int l)
{
    int r = hybrid_ratio_linear_per_softmax(ratio);
    if (r < 0)
        return 0;
    return (l + 1) % (r + 1) == 0;
}

int hybrid_softmax_layers(int ratio, int layers)
{
    int n = 0;
    for (int l = 0; l < layers; l++)
        n += hybrid_layer_is_softmax(ratio, l);
    return n;
}

size_t hybrid_layer_rows(size_t rows, int d)
{
    size_t dd = d > 0 ? (size_t)d : 1;
    size_t r = rows + (ATTENTION_INPUT_PAD + dd - 1) / dd; /* 256 zero bytes at least */
    while ((r * dd) % 16 != 0)                              /* the next layer 64-byte aligned */
        r++;
    return r;
}

/* splitmix64's finaliser over the seed and the layer: distinct, well-mixed seeds per layer. */
uint64_t hybrid_layer_seed(uint64_t seed, int l)
{
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (uint64_t)(l + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double hybrid_kv_cache_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double kvh = s->kv_heads > 0 ? s->kv_heads : s->heads;
    return hybrid_softmax_layers(s->ratio, s->layers) * 2.0 * s->batch * kvh * (double)s->seq_len * s->head_dim *
           kb_dtype_size(t);
}

double hybrid_state_bytes(const struct kb_shape *s)
{
    double d = s->head_dim;
    int linear = s->layers - hybrid_softmax_layers(s->ratio, s->layers);
    /* attention.linear keeps S and its normaliser z; attention.gla only S */
    double per_head = s->linear_kind == KB_LINEAR_KIND_GLA ? d * d : d * d + d;
    return linear * 4.0 * s->batch * s->heads * per_head;
}

double hybrid_cache_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    return hybrid_kv_cache_bytes(s, t) + hybrid_state_bytes(s);
}

static size_t tokens_of(const struct kb_shape *s)
{
    return (size_t)s->seq_len + (s->decode ? 1 : 0);
}

size_t hybrid_q_rows(const struct kb_shape *s)
{
    return (size_t)s->batch * s->heads * tokens_of(s);
}

size_t hybrid_kv_rows(const struct kb_shape *s)
{
    return (size_t)s->batch * s->kv_heads * tokens_of(s);
}

size_t hybrid_o_rows(const struct kb_shape *s)
{
    return (size_t)s->batch * s->heads * (s->decode ? 1 : (size_t)s->seq_len);
}

size_t hybrid_decode_q_floats(const struct kb_shape *s)
{
    return attention_round16((size_t)s->batch * s->heads * s->head_dim + ATTENTION_INPUT_PAD);
}

void hybrid_layer_of(const struct kb_shape *s, uint64_t seed, int l, struct hybrid_layer *out)
{
    memset(out, 0, sizeof *out);
    out->softmax = hybrid_layer_is_softmax(s->ratio, l);
    out->seed = hybrid_layer_seed(seed, l);
    struct kb_shape *x = &out->shape;
    x->batch = s->batch;
    x->heads = s->heads;
    x->kv_heads = s->kv_heads;
    x->head_dim = s->head_dim;
    x->input = s->input;
    if (out->softmax) {
        out->op = &kb_op_attention_softmax;
        /* decode: the new token against its N + 1 keys (the cache and its own) */
        x->seq_len = (int)tokens_of(s);
        x->decode = s->decode;
        x->causal = 1;
    } else if (s->linear_kind == KB_LINEAR_KIND_GLA) {
        out->op = &kb_op_attention_gla; /* causal by definition; no decode (the operation refuses it) */
        x->seq_len = s->seq_len;
        x->chunk = HYBRID_LINEAR_CHUNK;
    } else {
        out->op = &kb_op_attention_linear;
        x->seq_len = s->seq_len; /* decode: attention.linear holds N + 1 tokens itself */
        x->decode = s->decode;
        x->causal = 1;
        x->chunk = HYBRID_LINEAR_CHUNK;
        x->feature = KB_FEATURE_ELU1;
        x->decay = 0;
    }
}

static void view_tensor(struct kb_operands *v, int i, const char *name, float *data, int64_t d0, int64_t d1,
                        int64_t d2, int64_t d3, int is_output, size_t bytes)
{
    struct kb_tensor *t = &v->tensor[i];
    t->name = name;
    t->dtype = KB_DTYPE_F32;
    t->ndim = 4;
    t->dims[0] = d0;
    t->dims[1] = d1;
    t->dims[2] = d2;
    t->dims[3] = d3;
    t->data = data;
    t->is_output = is_output;
    v->buffer[i] = data;
    v->bytes[i] = bytes;
}

void hybrid_layer_view(const struct kb_operands *io, const struct kb_shape *s, int l, const struct hybrid_layer *ly,
                       float *decode_q, struct kb_operands *view)
{
    memset(view, 0, sizeof *view);
    const size_t d = (size_t)s->head_dim, T = tokens_of(s);
    const size_t qstride = hybrid_layer_rows(hybrid_q_rows(s), s->head_dim) * d;
    const size_t kvstride = hybrid_layer_rows(hybrid_kv_rows(s), s->head_dim) * d;
    const size_t ostride = hybrid_layer_rows(hybrid_o_rows(s), s->head_dim) * d;
    float *q = (float *)io->buffer[KB_HYB_Q] + (size_t)l * qstride;
    float *k = (float *)io->buffer[KB_HYB_K] + (size_t)l * kvstride;
    float *v = (float *)io->buffer[KB_HYB_V] + (size_t)l * kvstride;
    float *o = (float *)io->buffer[KB_HYB_O] + (size_t)l * ostride;
    const int64_t B = s->batch, H = s->heads, Hkv = s->kv_heads, M = s->decode ? 1 : s->seq_len;
    view->count = 4;
    if (ly->softmax && s->decode) {
        /* the new token's query: row T - 1 of each head */
        for (size_t h = 0; h < (size_t)(B * H); h++)
            memcpy(decode_q + h * d, q + (h * T + T - 1) * d, d * sizeof *q);
        memset(decode_q + (size_t)(B * H) * d, 0, ATTENTION_INPUT_PAD * sizeof *q);
        view_tensor(view, 0, "q", decode_q, B, H, 1, (int64_t)d, 0, hybrid_decode_q_floats(s) * sizeof *q);
    } else {
        view_tensor(view, 0, "q", q, B, H, (int64_t)T, (int64_t)d, 0, qstride * sizeof *q);
    }
    view_tensor(view, 1, "k", k, B, Hkv, (int64_t)T, (int64_t)d, 0, kvstride * sizeof *k);
    view_tensor(view, 2, "v", v, B, Hkv, (int64_t)T, (int64_t)d, 0, kvstride * sizeof *v);
    int out = 3;
    if (ly->op == &kb_op_attention_gla) { /* its log-gates come before its output */
        float *g = (float *)io->buffer[KB_HYB_G] + (size_t)l * qstride;
        view_tensor(view, KB_GLA_G, "log_gates", g, B, H, (int64_t)T, (int64_t)d, 0, qstride * sizeof *g);
        out = KB_GLA_O;
        view->count = 5;
    }
    view_tensor(view, out, "o", o, B, H, M, (int64_t)d, 1, (size_t)(B * H * M) * d * sizeof *o);
    _Static_assert(KB_ATTN_Q == 0 && KB_ATTN_K == 1 && KB_ATTN_V == 2 && KB_ATTN_O == 3, "softmax operand order");
    _Static_assert(KB_LIN_Q == 0 && KB_LIN_K == 1 && KB_LIN_V == 2 && KB_LIN_O == 3, "linear operand order");
    _Static_assert(KB_GLA_Q == 0 && KB_GLA_K == 1 && KB_GLA_V == 2 && KB_GLA_G == 3 && KB_GLA_O == 4,
                   "gla operand order");
}
