/* qkv_operands.c - Q, K, V operands of the linear and sparse attention operations (see
 * qkv_operands.h). */
#include "kernels/attention/qkv_operands.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "datasets/generate.h"
#include "kernels/attention/sparse.h"

static float round_f16(float x)
{
    if (!isfinite(x) || x == 0)
        return x;
    int e;
    frexp(x, &e); /* |x| = m·2^e, m in [0.5, 1): 11 significant bits put the ulp at 2^(e − 11) */
    int ulp = e - 11 < -24 ? -24 : e - 11; /* below 2^-14 the subnormals' fixed ulp 2^-24 */
    double r = ldexp(nearbyint(ldexp((double)x, -ulp)), ulp); /* default mode: ties to even */
    return fabs(r) > 65504.0 ? copysignf(INFINITY, x) : (float)r;
}

void qkv_round_to(float *x, size_t n, enum kb_dtype t)
{
    if (t == KB_DTYPE_F16) {
        for (size_t i = 0; i < n; i++)
            x[i] = round_f16(x[i]);
    } else if (t == KB_DTYPE_BF16) {
        for (size_t i = 0; i < n; i++)
            x[i] = bf16_to_f32(bf16_from_f32(x[i]));
    }
}

double qkv_operands_bytes(const struct kb_shape *s, int tokens, int rows)
{
    double kvh = s->kv_heads > 0 ? s->kv_heads : s->heads, bd = (double)s->batch * s->head_dim;
    return 4.0 * bd * ((double)tokens * (s->heads + 2.0 * kvh) + (double)rows * s->heads) + 4.0 * QKV_PAD_BYTES;
}

/* The family's draw (attention_common.c's attention_inputs_new, made in place so no second copy
 * of the inputs exists while they are drawn; tests/test_attention_linear.c checks the bytes are
 * the same): a sub-seed per tensor, rows of head_dim channels; on outlier inputs Q and K are
 * drawn normal and K gets the shared per-channel offsets SageAttention measured in real models
 * (sign alternating with the channel), V the generator's scaled outlier channels. */
enum { SEED_Q = 1, SEED_K = 2, SEED_V = 3 };

static void draw(float *x, size_t elems, size_t d, int which, int input, uint64_t seed)
{
    uint64_t sub = seed ^ (0x9E3779B97F4A7C15ull * (unsigned)which);
    int outlier = input == KB_INPUT_OUTLIER;
    gen_fill_input_f32(x, elems / d, d, sub, outlier && which != SEED_V ? KB_INPUT_NORMAL : input);
    if (outlier && which == SEED_K) {
        size_t idx[256];
        float scale[256];
        int count = gen_outlier_channels(d, sub, idx, scale, 256);
        for (size_t r = 0; r < elems / d; r++)
            for (int i = 0; i < count; i++)
                x[r * d + idx[i]] += (idx[i] & 1) ? -scale[i] : scale[i];
    }
}

int qkv_operands_add(struct kb_operands *io, const struct kb_shape *s, int tokens, enum kb_dtype t, uint64_t seed,
                     char *err, size_t errlen)
{
    const int kvh = s->kv_heads > 0 ? s->kv_heads : s->heads;
    static const char *const names[3] = { "q", "k", "v" };
    for (int i = 0; i < 3; i++) {
        int64_t dims[4] = { s->batch, i == 0 ? s->heads : kvh, tokens, s->head_dim };
        int at = kb_operands_add(io, names[i], KB_DTYPE_F32, 4, dims, 0, QKV_PAD_BYTES, err, errlen);
        if (at != i) {
            if (at >= 0)
                snprintf(err, errlen, "attention: Q, K, V must be the first operands");
            return KB_ERROR;
        }
        size_t n = kb_operands_elems(io, at);
        draw(io->buffer[at], n, (size_t)s->head_dim, SEED_Q + i, s->input, seed);
        qkv_round_to(io->buffer[at], n, t);
    }
    return KB_OK;
}

int qkv_operands_output(struct kb_operands *io, const char *name, const struct kb_shape *s, int rows, char *err,
                        size_t errlen)
{
    int64_t dims[4] = { s->batch, s->heads, rows, s->head_dim };
    return kb_operands_add(io, name, KB_DTYPE_F32, 4, dims, 1, QKV_PAD_BYTES, err, errlen);
}

struct attention_inputs qkv_operands_view(const struct kb_operands *io)
{
    return (struct attention_inputs){ .q = io->buffer[0], .k = io->buffer[1], .v = io->buffer[2] };
}
