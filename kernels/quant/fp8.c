/* fp8.c - float32 <-> OCP FP8 (e4m3, e5m2), bit-exact (see fp8.h).
 *
 * Encoding works on the float32 bit pattern with integers only, so it cannot be changed by the
 * floating-point environment or the compiler: the input is sig·2^(e−23) (sig the 24-bit
 * significand); the target's quantum at that magnitude is 2^(max(e, emin) − M); dividing is a
 * right shift of sig, rounded to nearest even on the bits shifted out. The rounded count n of
 * quanta turns into the code as ((max(e, emin) − emin) << M) + n: a normal n carries its
 * hidden bit into the exponent field, and a mantissa that rounds up to 2^(M+1) carries into the
 * next binade by the same addition. */
#include "kernels/quant/fp8.h"

#include <math.h>
#include <string.h>

struct fp8_params {
    int mbits;        /* M */
    int bias;
    uint8_t max_code; /* code of the largest finite magnitude */
    uint8_t nan_code;
    int has_inf;      /* e5m2: exponent field all ones, mantissa 0 */
};

static const struct fp8_params params[] = {
    [FP8_E4M3] = { .mbits = 3, .bias = 7, .max_code = 0x7E, .nan_code = 0x7F, .has_inf = 0 },
    [FP8_E5M2] = { .mbits = 2, .bias = 15, .max_code = 0x7B, .nan_code = 0x7F, .has_inf = 1 },
};

float fp8_max(enum fp8_format f)
{
    return f == FP8_E4M3 ? 448.0f : 57344.0f;
}

uint8_t fp8_encode(float x, enum fp8_format f)
{
    const struct fp8_params *p = &params[f];
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    const uint8_t sign = (uint8_t)((bits >> 24) & 0x80);
    const uint32_t biased = (bits >> 23) & 0xFF, frac = bits & 0x7FFFFF;
    if (biased == 0xFF && frac != 0)
        return p->nan_code | sign;
    float a = fabsf(x);
    if (a > fp8_max(f)) /* also inf; values in (max, max + half a quantum] round to max anyway */
        return p->max_code | sign;
    if (biased == 0 && frac == 0)
        return sign;
    /* a = sig · 2^(e − 23) with sig < 2^24 */
    int e = biased ? (int)biased - 127 : -126;
    uint32_t sig = biased ? frac | 0x800000u : frac;
    const int emin = 1 - p->bias;
    const int qe = (e > emin ? e : emin) - p->mbits; /* log2 of the quantum */
    const int shift = qe - (e - 23);                 /* >= 23 − M > 0 */
    uint32_t n;
    if (shift >= 32) {
        n = 0; /* below a quarter of the smallest subnormal: rounds to zero */
    } else {
        n = sig >> shift;
        uint32_t rest = sig & ((1u << shift) - 1), half = 1u << (shift - 1);
        /* branch-free: the rounding direction is data, and random data mispredicts */
        n += (uint32_t)(rest > half) | ((uint32_t)(rest == half) & n & 1u);
    }
    uint32_t code = ((uint32_t)((e > emin ? e : emin) - emin) << p->mbits) + n;
    if (code > p->max_code)
        code = p->max_code;
    return (uint8_t)code | sign;
}

float fp8_decode(uint8_t code, enum fp8_format f)
{
    const struct fp8_params *p = &params[f];
    const int ebits = 7 - p->mbits;
    const int efield = (code >> p->mbits) & ((1 << ebits) - 1);
    const int mfield = code & ((1 << p->mbits) - 1);
    const float sign = (code & 0x80) ? -1.0f : 1.0f;
    if (efield == (1 << ebits) - 1) {
        if (p->has_inf)
            return mfield == 0 ? sign * INFINITY : NAN;
        if (mfield == (1 << p->mbits) - 1)
            return NAN;
    }
    if (efield == 0) /* subnormal: m · 2^(emin − M), a power of two times a small integer */
        return sign * (float)mfield * (f == FP8_E4M3 ? 0x1p-9f : 0x1p-16f);
    /* normal: the float32 with the same exponent and the mantissa bits moved to the top */
    uint32_t bits = ((uint32_t)(code & 0x80) << 24) | ((uint32_t)(efield - p->bias + 127) << 23) |
                    ((uint32_t)mfield << (23 - p->mbits));
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}
