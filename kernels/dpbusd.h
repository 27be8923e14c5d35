/* dpbusd.h - vpdpbusd that accumulates in place, for the VNNI micro-kernels (x86-64 only).
 *
 * acc += Σ_{t<4} a.u8[4i+t] · b.s8[4i+t] per int32 lane: the intrinsics' instruction, written
 * as asm because GCC 12 treats the builtin's accumulator as a fresh result and copies every
 * accumulator of a register tile twice per loop trip (two register moves per vpdpbusd; in a
 * 24-accumulator tile, spills). The asm ties the accumulator to its register; b may be a
 * memory operand (the packed panel the tile streams). Not part of the kernel contract. */
#ifndef KB_DPBUSD_H
#define KB_DPBUSD_H

#if defined(__x86_64__)
#include <immintrin.h>

/* AVX-512 VNNI, zmm0-31 */
__attribute__((target("avx512f,avx512vnni"))) static inline __m512i kb_dpbusd512(__m512i acc, __m512i a, __m512i b)
{
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a), "vm"(b));
    return acc;
}

/* AVX-VNNI (VEX-encoded, ymm0-15) */
__attribute__((target("avx2,avxvnni"))) static inline __m256i kb_dpbusd256(__m256i acc, __m256i a, __m256i b)
{
    __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(a), "xm"(b));
    return acc;
}
#endif

#endif
