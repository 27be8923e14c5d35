/* fp4.c - E2M1, E8M0 and the MXFP4 / NVFP4 block quantizers in scalar C: the definition the
 * kernels of quant.fp4_quantize and quant.fp4_gemm are compared with bit for bit (fp4.h). */
#include "kernels/quant/fp4.h"

#include <math.h>
#include <string.h>

#include "kernels/quant/fp8.h"

const float fp4_e2m1_value[16] = { 0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  3.0f,  4.0f,  6.0f,
                                   -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f };

/* E2M1's largest exponent: 6 = 1.5 · 2^2 */
#define E2M1_EMAX 2

int fp4_block(enum kb_dtype t)
{
    return t == KB_DTYPE_NVFP4 ? 16 : 32;
}

static float float_from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* 2^e as a float32 for e in [-149, 127] (subnormal below -126) */
static float pow2f(int e)
{
    return e >= -126 ? float_from_bits((uint32_t)(e + 127) << 23) : float_from_bits(1u << (e + 149));
}

float fp4_e8m0_value(uint8_t code)
{
    return code == 0xFF ? NAN : pow2f((int)code - 127);
}

uint8_t fp4_mx_scale_code(float amax)
{
    if (!isfinite(amax))
        return 0xFF;
    uint32_t bits;
    memcpy(&bits, &amax, sizeof bits);
    bits &= 0x7FFFFFFF;
    if (bits == 0)
        return 0; /* amax 0: log2 is -inf, the clamp gives -127 */
    /* floor(log2(amax)) read off the bits: the exponent of a normal float, the top set bit of a
     * subnormal's fraction */
    const uint32_t biased = bits >> 23;
    int e = biased ? (int)biased - 127 : (31 - __builtin_clz(bits)) - 149;
    int shared = e - E2M1_EMAX;
    if (shared < -127)
        shared = -127;
    return (uint8_t)(shared + 127); /* e <= 127, so shared <= 125: never 0xFF */
}

float fp4_nv_tensor_scale(float amax)
{
    float s = amax / (6.0f * 448.0f);
    return isfinite(s) && s > 0 ? s : 1.0f;
}

uint8_t fp4_nv_scale_code(float amax, float s_t)
{
    if (!isfinite(amax))
        return 0x7F;
    return fp8_encode(amax / 6.0f / s_t, FP8_E4M3); /* saturates at 448 */
}

float fp4_scale_value(uint8_t code, enum kb_dtype t)
{
    return t == KB_DTYPE_NVFP4 ? fp8_decode(code, FP8_E4M3) : fp4_e8m0_value(code);
}

float fp4_finite_absmax(const float *x, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > m && a <= 3.4028235e38f) /* NaN and inf compare false */
            m = a;
    }
    return m;
}

uint8_t fp4_quantize_block(const float *x, int n, enum kb_dtype t, float s_t, uint8_t *row, int j0, float *deq)
{
    float amax = 0;
    int finite = 1;
    for (int j = 0; j < n; j++) {
        finite &= isfinite(x[j]) != 0;
        amax = fmaxf(amax, fabsf(x[j]));
    }
    const int nv = t == KB_DTYPE_NVFP4;
    const uint8_t sc = !finite ? (nv ? 0x7F : 0xFF) : nv ? fp4_nv_scale_code(amax, s_t) : fp4_mx_scale_code(amax);
    const float sv = fp4_scale_value(sc, t);
    /* MX: v = x · 2^-e, exact (1/X is a normal float32 for every shared exponent <= 125);
     * NV: v = x / (s_b · s_t) */
    const float inv_x = nv ? 0 : pow2f(127 - (int)sc);
    const float denom = nv ? sv * s_t : 0;
    for (int j = 0; j < n; j++) {
        unsigned code = 0;
        if (finite && sv != 0)
            code = fp4_e2m1_encode(nv ? x[j] / denom : x[j] * inv_x);
        fp4_put(row, j0 + j, code);
        if (deq)
            deq[j] = nv ? fp4_e2m1_value[code] * sv * s_t : fp4_e2m1_value[code] * sv;
    }
    return sc;
}

void fp4_quantize_emulate(const float *x, int m, int k, enum kb_dtype t, uint8_t *codes, uint8_t *scales,
                          float *tensor_scale, float *deq)
{
    const int b = fp4_block(t), nb = fp4_blocks(k, t);
    const size_t rb = fp4_row_bytes(k);
    const float s_t = t == KB_DTYPE_NVFP4 ? fp4_nv_tensor_scale(fp4_finite_absmax(x, (size_t)m * k)) : 1.0f;
    *tensor_scale = s_t;
    for (int i = 0; i < m; i++) {
        uint8_t *row = codes + (size_t)i * rb;
        memset(row, 0, rb);
        for (int bi = 0; bi < nb; bi++) {
            int j0 = bi * b, n = j0 + b <= k ? b : k - j0;
            const float *xb = x + (size_t)i * k + j0;
            scales[(size_t)i * nb + bi] = fp4_quantize_block(xb, n, t, s_t, row, j0, deq ? deq + (size_t)i * k + j0 : NULL);
        }
    }
}
