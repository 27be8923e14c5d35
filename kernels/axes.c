/* axes.c - the shape axes: names, columns, ranges and defaults of every field of kb_shape.
 * One table serves the planner (suite keys, defaults), the store (column names) and the
 * reports (shape strings), so an axis is added in one place. */
#include "kernels/kernel.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const feature_names[] = { NULL, "elu1", "relu" };
static const char *const granularity_names[] = { NULL, "tensor", "channel", "group" };
static const char *const routing_names[] = { NULL, "uniform", "zipf", "one" };
static const char *const input_names[] = { NULL, "normal", "uniform", "outlier" };
/* linear:softmax, as the hybrid-attention papers write their ratios */
static const char *const ratio_names[] = { NULL, "softmax", "1:1", "3:1", "6:1", "linear" };
static const char *const linear_kind_names[] = { NULL, "linear", "gla" };
static const char *const lengths_names[] = { NULL, "uniform", "longtail", "equal" };

#define INT_AXIS(k, col, lab, lo, hi, def, h) { k, col, lab, h, KB_AXIS_KIND_INT, lo, hi, def, NULL }
#define BOOL_AXIS(k, col, def, h) { k, col, NULL, h, KB_AXIS_KIND_BOOL, 0, 1, def, NULL }
#define ENUM_AXIS(k, col, lab, names, def, h) \
    { k, col, lab, h, KB_AXIS_KIND_ENUM, 1, (int)(sizeof names / sizeof names[0]) - 1, def, names }

static const struct kb_axis_info axes[KB_AXIS_COUNT] = {
    [KB_AXIS_BATCH] = INT_AXIS("batch", "batch", "b", 1, 1 << 16, 1, "sequences per batch"),
    [KB_AXIS_HEADS] = INT_AXIS("heads", "heads", "h", 1, 1 << 12, 8, "query heads"),
    [KB_AXIS_KV_HEADS] = INT_AXIS("kv_heads", "kv_heads", "kvh", 1, 1 << 12, 0,
                                  "key/value heads (GQA); unset: equal to heads"),
    [KB_AXIS_SEQ] = INT_AXIS("seq", "seq_len", "n", 1, 1 << 24, 1024, "sequence length N (the KV cache in decode)"),
    [KB_AXIS_HEAD_DIM] = INT_AXIS("head_dim", "head_dim", "d", 1, 1024, 64, "head dimension d"),
    [KB_AXIS_CAUSAL] = BOOL_AXIS("causal", "causal", 0, "causal mask (0 or 1)"),
    [KB_AXIS_DECODE] = BOOL_AXIS("decode", "decode", 0, "1: one new query against an N-token cache"),
    [KB_AXIS_WINDOW] = INT_AXIS("window", "window_len", "w", 1, 1 << 24, 256, "sliding-window width W"),
    [KB_AXIS_BLOCK] = INT_AXIS("block", "block_size", "blk", 1, 1 << 16, 64, "key block size (block-sparse)"),
    [KB_AXIS_TOPK_BLOCKS] = INT_AXIS("topk_blocks", "topk_blocks", "keep", 1, 1 << 16, 4,
                                     "key blocks kept per query block (block-sparse)"),
    [KB_AXIS_CHUNK] = INT_AXIS("chunk", "chunk", "chunk", 1, 1 << 16, 64, "chunk length (chunkwise linear attention)"),
    [KB_AXIS_FEATURE] = ENUM_AXIS("feature", "feature_map", NULL, feature_names, KB_FEATURE_ELU1,
                                  "linear-attention feature map"),
    [KB_AXIS_DECAY] = BOOL_AXIS("decay", "decay", 0, "1: per-head exponential decay"),
    [KB_AXIS_M] = INT_AXIS("m", "gemm_m", "M", 1, 1 << 24, 512, "GEMM rows M (tokens)"),
    [KB_AXIS_N] = INT_AXIS("n", "gemm_n", "N", 1, 1 << 24, 512, "GEMM columns N (output features)"),
    [KB_AXIS_K] = INT_AXIS("k", "gemm_k", "K", 1, 1 << 24, 512, "GEMM depth K (input features)"),
    [KB_AXIS_GROUP] = INT_AXIS("group", "group_size", "g", 1, 1 << 20, 128, "elements per quantization group"),
    [KB_AXIS_GRANULARITY] = ENUM_AXIS("granularity", "granularity", "scale", granularity_names, KB_GRAN_CHANNEL,
                                      "quantization scale: per tensor, per output channel or per group"),
    [KB_AXIS_TOKENS] = INT_AXIS("tokens", "tokens", "T", 1, 1 << 24, 256, "MoE tokens T"),
    [KB_AXIS_HIDDEN] = INT_AXIS("hidden", "hidden", "hid", 1, 1 << 20, 512, "model width h"),
    [KB_AXIS_FFN] = INT_AXIS("ffn", "ffn", "f", 1, 1 << 20, 1024, "expert FFN width f"),
    [KB_AXIS_EXPERTS] = INT_AXIS("experts", "experts", "E", 1, 1 << 16, 8, "experts E"),
    [KB_AXIS_TOP_K] = INT_AXIS("top_k", "top_k", "top", 1, 64, 2, "experts per token"), /* 64: MOE_MAX_TOPK (moe.h) */
    [KB_AXIS_ROUTING] = ENUM_AXIS("routing", "routing", "route", routing_names, KB_ROUTING_UNIFORM,
                                  "router skew (one: all tokens prefer one expert)"),
    [KB_AXIS_INPUT] = ENUM_AXIS("input", "input_dist", "input", input_names, KB_INPUT_NORMAL,
                                "input distribution (outlier: a few channels x50-x100)"),
    [KB_AXIS_PAGE] = INT_AXIS("page", "page_size", "page", 0, 1 << 16, 0,
                              "tokens per page of a paged KV cache (decode); 0: contiguous"),
    [KB_AXIS_LAYERS] = INT_AXIS("layers", "layers", "L", 1, 1024, 12, "attention layers of a hybrid stack"),
    [KB_AXIS_RATIO] = ENUM_AXIS("ratio", "ratio", "ratio", ratio_names, KB_RATIO_3_1,
                                "linear:softmax layers of a hybrid stack (softmax: all softmax, linear: all linear)"),
    [KB_AXIS_LINEAR_KIND] = ENUM_AXIS("linear_kind", "linear_kind", "linear", linear_kind_names, KB_LINEAR_KIND_LINEAR,
                                      "linear-family layers of a hybrid stack: attention.linear or attention.gla"),
    [KB_AXIS_STATE] = INT_AXIS("state", "state_size", "S", 1, 1024, 64, "SSM state size S per head (Mamba-2's d_state)"),
    [KB_AXIS_LENGTHS] = ENUM_AXIS("lengths", "length_mix", "lens", lengths_names, KB_LENGTHS_UNIFORM,
                                  "sequence-length mix of a packed batch (seq: the longest)"),
    [KB_AXIS_SPAN] = INT_AXIS("span", "span", "span", 1, 64, 1, "GPUs one case spans (multi-GPU implementations)"),
};

/* Field addresses in axis order: the struct is a sequence of ints in the same order. */
_Static_assert(sizeof(struct kb_shape) == KB_AXIS_COUNT * sizeof(int),
               "kb_shape must hold exactly one int per axis, in enum kb_axis order");
_Static_assert(offsetof(struct kb_shape, input) == KB_AXIS_INPUT * sizeof(int), "axis order");
_Static_assert(offsetof(struct kb_shape, m) == KB_AXIS_M * sizeof(int), "axis order");
_Static_assert(offsetof(struct kb_shape, state) == KB_AXIS_STATE * sizeof(int), "axis order");
_Static_assert(offsetof(struct kb_shape, tokens) == KB_AXIS_TOKENS * sizeof(int), "axis order");
_Static_assert(offsetof(struct kb_shape, page) == KB_AXIS_PAGE * sizeof(int), "axis order");
_Static_assert(offsetof(struct kb_shape, ratio) == KB_AXIS_RATIO * sizeof(int), "axis order");
_Static_assert(offsetof(struct kb_shape, linear_kind) == KB_AXIS_LINEAR_KIND * sizeof(int), "axis order");
_Static_assert(offsetof(struct kb_shape, lengths) == KB_AXIS_LENGTHS * sizeof(int), "axis order");

const struct kb_axis_info *kb_axis_info(enum kb_axis a)
{
    if ((int)a < 0 || a >= KB_AXIS_COUNT)
        return NULL;
    return &axes[a];
}

int kb_axis_by_key(const char *key)
{
    for (int a = 0; a < KB_AXIS_COUNT; a++)
        if (strcmp(axes[a].key, key) == 0)
            return a;
    return -1;
}

int kb_shape_get(const struct kb_shape *s, enum kb_axis a)
{
    return ((const int *)s)[a];
}

void kb_shape_set(struct kb_shape *s, enum kb_axis a, int value)
{
    ((int *)s)[a] = value;
}

const char *kb_axis_value_name(enum kb_axis a, int value)
{
    const struct kb_axis_info *ax = kb_axis_info(a);
    if (!ax || ax->kind != KB_AXIS_KIND_ENUM || value < 1 || value > ax->max)
        return NULL;
    return ax->names[value];
}

int kb_axis_value_parse(enum kb_axis a, const char *name)
{
    const struct kb_axis_info *ax = kb_axis_info(a);
    if (!ax || ax->kind != KB_AXIS_KIND_ENUM)
        return -1;
    for (int v = 1; v <= ax->max; v++)
        if (strcasecmp(ax->names[v], name) == 0)
            return v;
    return -1;
}

void kb_axis_values_string(enum kb_axis a, char *buf, size_t len)
{
    const struct kb_axis_info *ax = kb_axis_info(a);
    if (len)
        buf[0] = '\0';
    if (!ax)
        return;
    if (ax->kind == KB_AXIS_KIND_BOOL) {
        snprintf(buf, len, "0,1");
        return;
    }
    if (ax->kind == KB_AXIS_KIND_INT) {
        snprintf(buf, len, "%d..%d", ax->min, ax->max);
        return;
    }
    size_t used = 0;
    for (int v = 1; v <= ax->max; v++) {
        int w = snprintf(buf + used, used < len ? len - used : 0, "%s,", ax->names[v]);
        if (w < 0 || used + (size_t)w >= len)
            return;
        used += (size_t)w;
    }
    snprintf(buf + used, used < len ? len - used : 0, "all");
}

void kb_shape_string(const struct kb_shape *s, uint64_t mask, char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (int a = 0; a < KB_AXIS_COUNT; a++) {
        int v = kb_shape_get(s, (enum kb_axis)a);
        if (mask ? !(mask & KB_AXIS_BIT(a)) : v == 0)
            continue;
        const struct kb_axis_info *ax = &axes[a];
        char item[48];
        if (a == KB_AXIS_KV_HEADS && (v == 0 || v == s->heads))
            continue; /* MHA: kv heads say nothing new */
        if (a == KB_AXIS_INPUT && v == KB_INPUT_NORMAL)
            continue; /* the default distribution goes unsaid */
        if (a == KB_AXIS_PAGE && v == 0)
            continue; /* a contiguous cache goes unsaid */
        if (a == KB_AXIS_LINEAR_KIND && v == KB_LINEAR_KIND_LINEAR)
            continue; /* so do a hybrid stack's default linear layers */
        if (ax->kind == KB_AXIS_KIND_BOOL) {
            if (!v)
                continue;
            snprintf(item, sizeof item, "%s", ax->key);
        } else if (ax->kind == KB_AXIS_KIND_ENUM) {
            const char *name = kb_axis_value_name((enum kb_axis)a, v);
            if (!name)
                continue;
            if (ax->label)
                snprintf(item, sizeof item, "%s=%s", ax->label, name);
            else
                snprintf(item, sizeof item, "%s", name);
        } else {
            snprintf(item, sizeof item, "%s=%d", ax->label, v);
        }
        int w = snprintf(buf + used, used < len ? len - used : 0, "%s%s", used ? " " : "", item);
        if (w < 0 || used + (size_t)w >= len)
            break;
        used += (size_t)w;
    }
}
