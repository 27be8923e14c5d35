/* moe_common.c - what every moe.* kernel shares: shape checks, the catalogue's FLOP and byte
 * counts, input generation and weight packing, and the load statistics. */
#include "kernels/moe/moe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"
#include "kernels/moe/moe_gemm.h"

enum { SEED_X = 1, SEED_ROUTER = 2, SEED_W1 = 3, SEED_W3 = 4, SEED_W2 = 5 };

uint64_t moe_sub_seed(uint64_t seed, unsigned which)
{
    return seed ^ (0xD1B54A32D192ED03ull * which);
}

int moe_check_shape(const struct kb_shape *s, int need_ffn, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        size_t offset;
    } dims[] = {
        { "tokens", offsetof(struct kb_shape, tokens) },
        { "hidden", offsetof(struct kb_shape, hidden) },
        { "ffn", offsetof(struct kb_shape, ffn) },
        { "experts", offsetof(struct kb_shape, experts) },
        { "top_k", offsetof(struct kb_shape, top_k) },
    };
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        int v = *(const int *)((const char *)s + dims[i].offset);
        if (v < 1 && (need_ffn || dims[i].offset != offsetof(struct kb_shape, ffn))) {
            snprintf(err, errlen, "moe: %s = %d, must be at least 1", dims[i].name, v);
            return KB_UNSUPPORTED;
        }
    }
    if (s->top_k > s->experts || s->top_k > MOE_MAX_TOPK) {
        snprintf(err, errlen, "moe: top_k = %d, must be at most experts = %d and at most %d",
                 s->top_k, s->experts, MOE_MAX_TOPK);
        return KB_UNSUPPORTED;
    }
    if (s->routing < 0 || s->routing > KB_ROUTING_ONE) {
        snprintf(err, errlen, "moe: routing = %d is not uniform, zipf or one", s->routing);
        return KB_UNSUPPORTED;
    }
    /* every buffer indexed with size_t, slot indices in int */
    double biggest = (double)s->experts * s->hidden * (s->ffn + MOE_FC);
    double rows = (double)s->tokens * s->top_k;
    if (biggest > (double)(SIZE_MAX / 16) || rows * s->hidden > (double)(SIZE_MAX / 16) || rows >= 2147483647.0) {
        snprintf(err, errlen, "moe: the shape's buffers do not fit this machine's address space");
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

/* ---- counts ---------------------------------------------------------------------------------- */

static double active_experts(const struct kb_shape *s)
{
    double tk = (double)s->tokens * s->top_k;
    return tk < s->experts ? tk : s->experts;
}

double moe_router_flops(const struct kb_shape *s)
{
    return 2.0 * s->tokens * s->hidden * s->experts + 5.0 * s->tokens * s->experts;
}

double moe_router_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    return kb_dtype_size(t) * ((double)s->tokens * s->hidden + (double)s->hidden * s->experts) +
           8.0 * s->tokens * s->top_k;
}

double moe_dispatch_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double tk = (double)s->tokens * s->top_k;
    return kb_dtype_size(t) * ((double)s->tokens * s->hidden + tk * s->hidden) + 12.0 * tk;
}

double moe_combine_flops(const struct kb_shape *s)
{
    return 2.0 * s->tokens * s->top_k * s->hidden;
}

double moe_combine_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double tk = (double)s->tokens * s->top_k;
    return kb_dtype_size(t) * (tk * s->hidden + (double)s->tokens * s->hidden) + 8.0 * tk;
}

double moe_experts_flops(const struct kb_shape *s)
{
    double tk = (double)s->tokens * s->top_k;
    return 6.0 * tk * s->hidden * s->ffn + 4.0 * tk * s->ffn;
}

double moe_experts_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    double tk = (double)s->tokens * s->top_k;
    return kb_dtype_size(t) * (3.0 * s->hidden * s->ffn * active_experts(s) + 2.0 * tk * s->hidden);
}

double moe_layer_flops(const struct kb_shape *s)
{
    return moe_router_flops(s) + moe_experts_flops(s) + moe_combine_flops(s);
}

double moe_layer_bytes(const struct kb_shape *s, enum kb_dtype t)
{
    return kb_dtype_size(t) * (2.0 * s->tokens * s->hidden + (double)s->hidden * s->experts +
                               3.0 * s->hidden * s->ffn * active_experts(s));
}

/* ---- inputs ---------------------------------------------------------------------------------- */

void *moe_alloc(size_t bytes)
{
    if (bytes == 0 || bytes > SIZE_MAX - 64)
        return NULL;
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

static size_t round_up(size_t x, size_t to)
{
    return (x + to - 1) / to * to;
}

/* float32 → bf16 → float32, round to nearest even (NaN stays NaN) */
static float bf16_round(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        u |= 0x400000u;
    else
        u += 0x7fffu + ((u >> 16) & 1u);
    u &= 0xffff0000u;
    memcpy(&f, &u, sizeof f);
    return f;
}

void moe_round_bf16(float *v, size_t n)
{
    if (!v)
        return;
    long long nn = (long long)n;
#pragma omp parallel for schedule(static)
    for (long long i = 0; i < nn; i++)
        v[i] = bf16_round(v[i]);
}

void moe_generate(const struct kb_shape *s, enum kb_dtype t, uint64_t seed, float *x, float *wr, float *bias,
                  float *w1, float *w3, float *w2)
{
    const size_t h = (size_t)s->hidden, f = (size_t)s->ffn, E = (size_t)s->experts;
    const size_t w = E * h * f;
    const int bf16 = t == KB_DTYPE_BF16;
    if (x) {
        gen_fill_input_f32(x, (size_t)s->tokens, h, moe_sub_seed(seed, SEED_X), s->input);
        if (bf16)
            moe_round_bf16(x, (size_t)s->tokens * h);
    }
    if (wr && bias) {
        gen_router_f32(wr, bias, h, s->experts, s->top_k, moe_sub_seed(seed, SEED_ROUTER), s->routing);
        if (bf16)
            moe_round_bf16(wr, h * E); /* the bias stays float32 (added in float32) */
    }
    /* scaled so that x·W1 and h·W2 stay O(1): the layer's output is O(1) too */
    if (w1)
        gen_fill_normal_f32(w1, w, moe_sub_seed(seed, SEED_W1), 0.0, 1.0 / sqrt((double)h));
    if (w3)
        gen_fill_normal_f32(w3, w, moe_sub_seed(seed, SEED_W3), 0.0, 1.0 / sqrt((double)h));
    if (w2)
        gen_fill_normal_f32(w2, w, moe_sub_seed(seed, SEED_W2), 0.0, 1.0 / sqrt((double)f));
    if (bf16) {
        moe_round_bf16(w1, w);
        moe_round_bf16(w3, w);
        moe_round_bf16(w2, w);
    }
}

double moe_pack_bytes(const struct kb_shape *s, int what)
{
    double h = s->hidden, E = s->experts;
    double fpad = (double)round_up((size_t)s->ffn, MOE_NR), hpad = (double)round_up((size_t)s->hidden, MOE_NR);
    double epad = (double)round_up((size_t)s->experts, MOE_NR);
    double floats = 0;
    if (what & MOE_PACK_ROUTER)
        floats += epad * h;
    if (what & MOE_PACK_EXPERTS)
        floats += E * 2 * fpad * h + E * hpad * fpad;
    return 4.0 * floats + 64.0 * 3;
}

/* W1 and W3 of one expert into the chunk-interleaved panels described in moe.h. */
static void pack_w13(const float *w1, const float *w3, int h, int f, float *dst)
{
    for (int c0 = 0; c0 < f; c0 += MOE_FC) {
        int wc = f - c0 < MOE_FC ? f - c0 : MOE_FC;
        size_t panels = (size_t)(wc + MOE_NR - 1) / MOE_NR;
        moe_pack_b(w1 + c0, (size_t)f, h, wc, (size_t)h, dst);
        dst += panels * h * MOE_NR;
        moe_pack_b(w3 + c0, (size_t)f, h, wc, (size_t)h, dst);
        dst += panels * h * MOE_NR;
    }
}

int moe_pack(struct moe_inputs *in, const struct kb_shape *s, int what, char *err, size_t errlen)
{
    const size_t h = (size_t)s->hidden, f = (size_t)s->ffn, E = (size_t)s->experts;
    in->fpad = round_up(f, MOE_NR);
    in->hpad = round_up(h, MOE_NR);
    in->epad = round_up(E, MOE_NR);
    int bad = 0;
    if (what & MOE_PACK_ROUTER) {
        bad |= !(in->wrp = moe_alloc(in->epad * h * 4));
        if (!bad)
            moe_pack_b(in->wr, E, (int)h, (int)E, h, in->wrp);
    }
    if (!bad && (what & MOE_PACK_EXPERTS)) {
        bad |= !(in->w13p = moe_alloc(E * 2 * in->fpad * h * 4)) | !(in->w2p = moe_alloc(E * in->hpad * in->fpad * 4));
        long ne = bad ? 0 : (long)E;
#pragma omp parallel for schedule(dynamic, 1)
        for (long e = 0; e < ne; e++) {
            pack_w13(in->w1 + (size_t)e * h * f, in->w3 + (size_t)e * h * f, (int)h, (int)f,
                     in->w13p + (size_t)e * 2 * in->fpad * h);
            moe_pack_b(in->w2 + (size_t)e * f * h, h, (int)f, (int)h, in->fpad,
                       in->w2p + (size_t)e * in->hpad * in->fpad);
        }
    }
    if (bad) {
        snprintf(err, errlen, "moe: out of memory packing the weights (%.0f bytes)", moe_pack_bytes(s, what));
        moe_pack_free(in);
        return KB_ERROR;
    }
    return KB_OK;
}

void moe_pack_free(struct moe_inputs *in)
{
    free(in->w13p);
    free(in->w2p);
    free(in->wrp);
    in->w13p = in->w2p = in->wrp = NULL;
}

/* ---- routing bookkeeping --------------------------------------------------------------------- */

void moe_count_loads(const int *ids, long assignments, int experts, int *counts)
{
    for (int e = 0; e < experts; e++)
        counts[e] = 0;
    for (long a = 0; a < assignments; a++)
        counts[ids[a]]++;
}

void moe_counting_sort(const int *ids, long assignments, int experts, int *offsets, int *perm,
                       int *slot_of)
{
    for (int e = 0; e <= experts; e++)
        offsets[e] = 0;
    for (long a = 0; a < assignments; a++)
        offsets[ids[a] + 1]++;
    for (int e = 0; e < experts; e++)
        offsets[e + 1] += offsets[e];
    /* the scatter walks the assignments in order, offsets[e] serving as expert e's cursor:
     * stable, so each expert's rows stay in token order (deterministic, and kind to the
     * gather); afterwards offsets[e] holds the end of e, i.e. the start of e + 1 */
    for (long a = 0; a < assignments; a++) {
        int slot = offsets[ids[a]]++;
        perm[slot] = (int)a;
        slot_of[a] = (int)slot;
    }
    for (int e = experts; e > 0; e--)
        offsets[e] = offsets[e - 1];
    offsets[0] = 0;
}

long moe_verify_rows(long total, double row_flops)
{
    long rows = MOE_VERIFY_ROWS;
    if (row_flops > 0 && row_flops * rows > MOE_VERIFY_FLOPS)
        rows = (long)(MOE_VERIFY_FLOPS / row_flops);
    if (rows < MOE_VERIFY_MIN_ROWS)
        rows = MOE_VERIFY_MIN_ROWS;
    return rows < total ? rows : total;
}

int moe_put_counter(struct kb_counter *out, int n, int max, const char *name, double value, const char *unit)
{
    if (n >= max)
        return n;
    memset(&out[n], 0, sizeof out[n]);
    snprintf(out[n].name, sizeof out[n].name, "%s", name);
    snprintf(out[n].unit, sizeof out[n].unit, "%s", unit);
    out[n].value = value;
    return n + 1;
}

int moe_load_stats(const int *counts, int experts, struct kb_counter *out, int max)
{
    int mx = 0, mn = -1, active = 0;
    double sum = 0;
    for (int e = 0; e < experts; e++) {
        mx = counts[e] > mx ? counts[e] : mx;
        mn = mn < 0 || counts[e] < mn ? counts[e] : mn;
        active += counts[e] > 0;
        sum += (double)counts[e];
    }
    double mean = experts > 0 ? sum / experts : 0;
    int n = 0;
    n = moe_put_counter(out, n, max, "moe.load.max", (double)mx, "count");
    n = moe_put_counter(out, n, max, "moe.load.min", (double)(mn < 0 ? 0 : mn), "count");
    n = moe_put_counter(out, n, max, "moe.load.mean", mean, "count");
    n = moe_put_counter(out, n, max, "moe.load.imbalance", mean > 0 ? (double)mx / mean : 0, "ratio");
    n = moe_put_counter(out, n, max, "moe.load.active", (double)active, "count");
    /* each expert's load where all of them fit: a part of them would plot as a wrong distribution */
    if (experts <= 64 && n + experts <= max)
        for (int e = 0; e < experts; e++) {
            char name[32];
            snprintf(name, sizeof name, "moe.load.e%03d", e);
            n = moe_put_counter(out, n, max, name, (double)counts[e], "count");
        }
    return n;
}

int moe_case_stats(const struct kb_case *c, int counts_index, int with_ties, struct kb_counter *out, int max)
{
    const struct moe_op_state *st = moe_op_state_of(&c->io);
    const int *counts = counts_index >= 0 ? (const int *)kb_input(c, counts_index) : st ? st->counts : NULL;
    if (!counts)
        return 0;
    int n = moe_load_stats(counts, c->shape.experts, out, max);
    if (with_ties && st)
        n = moe_put_counter(out, n, max, "moe.route.near_ties", (double)st->near_ties, "count");
    return n;
}
