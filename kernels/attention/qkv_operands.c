/* qkv_operands.c - Q, K, V operands of the linear and sparse attention operations (see
 * qkv_operands.h). */
#include "kernels/attention/qkv_operands.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

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

int qkv_operands_add(struct kb_operands *io, const struct kb_shape *s, int tokens, enum kb_dtype t, uint64_t seed,
                     char *err, size_t errlen)
{
    struct kb_shape in_shape = *s;
    in_shape.seq_len = tokens;
    if (in_shape.kv_heads == 0)
        in_shape.kv_heads = in_shape.heads;
    /* the family's own generator, then copied: the bytes stay exactly the ones kernels drew
     * for themselves (and any later change to the generator applies here too) */
    struct attention_inputs in = { 0 };
    if (attention_inputs_new(&in, &in_shape, seed, err, errlen) != KB_OK)
        return KB_ERROR;
    static const char *const names[3] = { "q", "k", "v" };
    const float *src[3] = { in.q, in.k, in.v };
    for (int i = 0; i < 3; i++) {
        int64_t dims[4] = { s->batch, i == 0 ? s->heads : in_shape.kv_heads, tokens, s->head_dim };
        int at = kb_operands_add(io, names[i], KB_DTYPE_F32, 4, dims, 0, QKV_PAD_BYTES, err, errlen);
        if (at < 0) {
            attention_inputs_free(&in);
            return KB_ERROR;
        }
        size_t n = kb_operands_elems(io, at);
        memcpy(io->buffer[at], src[i], n * sizeof(float));
        qkv_round_to(io->buffer[at], n, t);
    }
    attention_inputs_free(&in);
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
