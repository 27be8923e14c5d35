/* ex2_fma.h - 2^x computed on the FMA pipe instead of MUFU, for softmaxes that MUFU's 16
 * exponentials a clock an SM throttle (the trick FlashAttention-4 uses on Blackwell): a kernel
 * sends a fixed share of its exponentials here and the rest to ex2.approx, so both pipes work.
 * Nine full-rate instructions (a clamp, three adds, four FFMAs, one shift-add) against one
 * MUFU issue that holds the pipe for 8 cycles a warp.
 *
 * x = j + f with j = round(x) (the 1.5·2²³ trick: adding it leaves j in the low mantissa bits,
 * two's complement, and subtracting it again gives j exactly), f in [−0.5, 0.5]; 2^f by a
 * degree-4 polynomial fitted for relative error (Lawson's iteration on Chebyshev nodes; at most
 * 2.9e-6 with f32 Horner, against ex2.approx.f32's 2⁻²²·⁵ ≈ 1.7e-7), then j added to its exponent
 * as an integer: (t's bits << 23) is j << 23 because 1.5·2²³'s own bits vanish in the shift.
 * x is clamped to −126 first, so the exponent never wraps (−∞, a masked score, gives 2⁻¹²⁶·p,
 * a denormal or the smallest normal, where ex2.approx.ftz gives 0: below anything a P rounds to).
 *
 * Plain C as well as CUDA, so tests/test_ex2_fma.c checks it on the host and the host emulation
 * (tests/cuda_emu) runs it as it is. */
#ifndef KB_EX2_FMA_H
#define KB_EX2_FMA_H

#include <math.h>

#ifdef __CUDACC__
#define KB_EX2_FMA_FN static __device__ __forceinline__
#define KB_EX2_AS_FLOAT(i) __int_as_float(i)
#define KB_EX2_AS_INT(f) __float_as_int(f)
#else
#include <string.h>
#define KB_EX2_FMA_FN static inline
static inline float kb_ex2_as_float(int i)
{
    float f;
    memcpy(&f, &i, sizeof f);
    return f;
}
static inline int kb_ex2_as_int(float f)
{
    int i;
    memcpy(&i, &f, sizeof i);
    return i;
}
#define KB_EX2_AS_FLOAT(i) kb_ex2_as_float(i)
#define KB_EX2_AS_INT(f) kb_ex2_as_int(f)
#endif

KB_EX2_FMA_FN float kb_ex2_fma(float x)
{
    x = fmaxf(x, -126.f);
    const float t = x + 12582912.f; /* round(x) in the low bits */
    const float f = x - (t - 12582912.f);
    float p = fmaf(0.00958285388f, f, 0.0559064336f);
    p = fmaf(p, f, 0.240240991f);
    p = fmaf(p, f, 0.693124175f);
    p = fmaf(p, f, 1.f);
    return KB_EX2_AS_FLOAT(KB_EX2_AS_INT(p) + (int)((unsigned)KB_EX2_AS_INT(t) << 23));
}

#endif
