/* ex2_fma.cuh - 2^x computed on the FMA pipe instead of MUFU, for softmaxes that MUFU's 16
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
 * Plain float code: the host emulation (tests/cuda_emu) runs it as it is. */
#ifndef KB_EX2_FMA_CUH
#define KB_EX2_FMA_CUH

namespace kb_ex2 {

__device__ __forceinline__ float ex2_fma(float x)
{
    x = fmaxf(x, -126.f);
    const float t = x + 12582912.f; /* round(x) in the low bits */
    const float f = x - (t - 12582912.f);
    float p = fmaf(0.00958285388f, f, 0.0559064336f);
    p = fmaf(p, f, 0.240240991f);
    p = fmaf(p, f, 0.693124175f);
    p = fmaf(p, f, 1.f);
    return __int_as_float(__float_as_int(p) + (int)((unsigned)__float_as_int(t) << 23));
}

} // namespace kb_ex2

#endif
