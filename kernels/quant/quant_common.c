/* quant_common.c - what the quantization kernels share (see quant.h). */
#include "kernels/quant/quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/generate.h"
#include "kernels/quant/fp8.h"

uint64_t quant_sub_seed(uint64_t seed, unsigned which)
{
    return seed ^ (0x9E3779B97F4A7C15ull * which);
}

void *quant_alloc(size_t bytes)
{
    if (bytes == 0 || bytes > SIZE_MAX - 128)
        return NULL;
    return aligned_alloc(64, (bytes + 64 + 63) & ~(size_t)63);
}

int quant_check_shape(const char *kernel, const struct kb_shape *s, uint64_t axes, char *err, size_t errlen)
{
    static const enum kb_axis sizes[] = { KB_AXIS_M, KB_AXIS_N, KB_AXIS_K, KB_AXIS_GROUP };
    double elems = 1;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (!(axes & KB_AXIS_BIT(sizes[i])))
            continue;
        int v = kb_shape_get(s, sizes[i]);
        if (v < 1) {
            snprintf(err, errlen, "%s: %s = %d, must be at least 1", kernel, kb_axis_info(sizes[i])->key, v);
            return KB_UNSUPPORTED;
        }
        if (sizes[i] != KB_AXIS_GROUP)
            elems *= v;
    }
    if ((axes & KB_AXIS_BIT(KB_AXIS_GRANULARITY)) &&
        (s->granularity < KB_GRAN_TENSOR || s->granularity > KB_GRAN_GROUP)) {
        snprintf(err, errlen, "%s: granularity = %d is not tensor, channel or group", kernel, s->granularity);
        return KB_UNSUPPORTED;
    }
    /* int32 accumulation of int8·int8 products stays exact while K·127² < 2^31 */
    if ((axes & KB_AXIS_BIT(KB_AXIS_K)) && (axes & KB_AXIS_BIT(KB_AXIS_N)) && s->k > 131072) {
        snprintf(err, errlen, "%s: K = %d exceeds 131072, past which int32 accumulators may overflow", kernel, s->k);
        return KB_UNSUPPORTED;
    }
    if (elems > (double)(SIZE_MAX / 16) || elems > 1e13) {
        snprintf(err, errlen, "%s: %.3g elements do not fit this machine's address space", kernel, elems);
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

float *quant_input_new(size_t rows, size_t cols, uint64_t seed, int input)
{
    float *x = quant_alloc(rows * cols * sizeof(float));
    if (x)
        gen_fill_input_f32(x, rows, cols, seed, input);
    return x;
}

double quant_gemm_flops(const struct kb_shape *s)
{
    return 2.0 * s->m * (double)s->n * s->k;
}

/* ---- quantizer ------------------------------------------------------------------------------ */

double quant_qmax(enum kb_dtype t)
{
    switch (t) {
    case KB_DTYPE_I8: return 127;
    case KB_DTYPE_I4: return 7;
    case KB_DTYPE_FP8_E4M3: return 448;
    case KB_DTYPE_FP8_E5M2: return 57344;
    default: return 0;
    }
}

float quant_scale(float absmax, enum kb_dtype t)
{
    if (!(absmax > 0.0f) || !isfinite(absmax))
        return 1.0f;
    float s = (float)((double)absmax / quant_qmax(t));
    return s > 0.0f ? s : 1.0f; /* absmax/qmax below the smallest subnormal */
}

uint8_t quant_code(float x, float inv_scale, enum kb_dtype t)
{
    float v = x * inv_scale;
    switch (t) {
    case KB_DTYPE_FP8_E4M3: return fp8_encode(v, FP8_E4M3);
    case KB_DTYPE_FP8_E5M2: return fp8_encode(v, FP8_E5M2);
    default: {
        float q = (float)quant_qmax(t);
        v = v > q ? q : v < -q ? -q : v == v ? v : 0.0f; /* clamp first; NaN becomes 0 */
        return (uint8_t)(int8_t)nearbyintf(v); /* the default rounding mode: to nearest, ties to even */
    }
    }
}

float quant_decode(uint8_t code, enum kb_dtype t)
{
    switch (t) {
    case KB_DTYPE_FP8_E4M3: return fp8_decode(code, FP8_E4M3);
    case KB_DTYPE_FP8_E5M2: return fp8_decode(code, FP8_E5M2);
    default: return (float)(int8_t)code;
    }
}

int quant_scale_cols(const struct kb_shape *s)
{
    return s->granularity == KB_GRAN_GROUP && s->group < s->k ? s->group : s->k;
}

size_t quant_scale_count(const struct kb_shape *s)
{
    switch (s->granularity) {
    case KB_GRAN_TENSOR: return 1;
    case KB_GRAN_GROUP: return (size_t)s->m * (size_t)((s->k + quant_scale_cols(s) - 1) / quant_scale_cols(s));
    default: return (size_t)s->m;
    }
}

size_t quant_row_bytes(int k, enum kb_dtype t)
{
    return t == KB_DTYPE_I4 ? (size_t)(k + 1) / 2 : (size_t)k;
}

void quant_quantize_emulate(const float *x, const struct kb_shape *s, enum kb_dtype t, float *scales,
                            uint8_t *codes, float *deq)
{
    const int m = s->m, k = s->k, g = quant_scale_cols(s);
    const int groups = (k + g - 1) / g;
    const size_t rb = quant_row_bytes(k, t);
    float tensor_max = 0;
    if (s->granularity == KB_GRAN_TENSOR) {
        for (size_t i = 0; i < (size_t)m * k; i++)
            tensor_max = fmaxf(tensor_max, fabsf(x[i]));
        scales[0] = quant_scale(tensor_max, t);
    }
    for (int i = 0; i < m; i++) {
        const float *xr = x + (size_t)i * k;
        uint8_t *cr = codes + (size_t)i * rb;
        if (t == KB_DTYPE_I4)
            memset(cr, 0, rb);
        for (int gi = 0; gi < groups; gi++) {
            int j0 = gi * g, j1 = j0 + g < k ? j0 + g : k;
            float sc;
            if (s->granularity == KB_GRAN_TENSOR) {
                sc = scales[0];
            } else {
                float amax = 0;
                for (int j = j0; j < j1; j++)
                    amax = fmaxf(amax, fabsf(xr[j]));
                sc = quant_scale(amax, t);
                scales[(size_t)i * groups + gi] = sc;
            }
            const float inv = 1.0f / sc;
            for (int j = j0; j < j1; j++) {
                uint8_t c = quant_code(xr[j], inv, t);
                if (t == KB_DTYPE_I4)
                    quant_i4_put(cr, j, (int8_t)c);
                else
                    cr[j] = c;
                deq[(size_t)i * k + j] = quant_decode(c, t) * sc;
            }
        }
    }
}

/* ---- dyadic --------------------------------------------------------------------------------- */

struct quant_dyadic quant_dyadic_from(double scale)
{
    struct quant_dyadic d = { 0, 1 };
    if (!(scale > 0.0) || !isfinite(scale))
        return d;
    int e;
    double f = frexp(scale, &e); /* scale = f · 2^e, f in [0.5, 1) */
    /* b = f·2^31 rounded, in [2^30, 2^31]; c = 31 − e so that b / 2^c = scale */
    double b = nearbyint(ldexp(f, 31));
    int c = 31 - e;
    if (b >= 2147483648.0) {
        b /= 2;
        c -= 1;
    }
    /* c within [1, 62]: shifting an int64 further is undefined, and below 1 the rounding term
     * 2^(c−1) vanishes. Scales that need more are out of any sensible requantizer's range. */
    while (c > 62) {
        b = nearbyint(b / 2);
        c--;
    }
    if (c < 1) {
        d.b = INT32_MAX;
        d.c = 1;
        return d;
    }
    d.b = (int32_t)b;
    d.c = c;
    return d;
}

/* ---- tolerances ----------------------------------------------------------------------------- */

double quant_quantize_tolerance(enum kb_dtype t, int input)
{
    /* Bounds on ||deq − x|| / ||x|| for the worst granularity (tensor) of each format, about
     * twice what was measured (docs/kernels-quant.md has the table); outlier channels widen
     * per-tensor scales, so they get their own bound. */
    int outlier = input == KB_INPUT_OUTLIER;
    switch (t) {
    case KB_DTYPE_I8: return outlier ? 0.25 : 0.02;
    case KB_DTYPE_I4: return outlier ? 1.0 : 0.3;
    case KB_DTYPE_FP8_E4M3: return 0.06;
    case KB_DTYPE_FP8_E5M2: return 0.12;
    default: return 0;
    }
}
