/* fp8.h - bit-exact software conversion between float32 and the OCP 8-bit floating-point
 * formats (OCP "8-bit Floating Point Specification (OFP8)", rev. 1.0):
 *
 *   e4m3  1 sign, 4 exponent (bias 7), 3 mantissa bits. No infinities; S.1111.111 is NaN, so
 *         the largest finite value is S.1111.110 = ±448. Subnormals down to 2^-9.
 *   e5m2  1 sign, 5 exponent (bias 15), 2 mantissa bits, IEEE-like: S.11111.00 = ±inf,
 *         S.11111.{01,10,11} NaN. Largest finite ±57344, subnormals down to 2^-16.
 *
 * Encoding rounds to nearest, ties to even, and saturates ("satfinite"): every finite value
 * whose magnitude exceeds the largest finite one, and ±inf, becomes ±max. That is what a
 * quantizer wants (the scale already maps the tensor's abs-max to max; anything past it is
 * clipped, never turned into inf). NaN encodes to the format's canonical NaN (0x7F), -0 to 0x80.
 * Decoding is exact: every FP8 value is a float32. */
#ifndef KB_QUANT_FP8_H
#define KB_QUANT_FP8_H

#include <stdint.h>

enum fp8_format { FP8_E4M3, FP8_E5M2 };

uint8_t fp8_encode(float x, enum fp8_format f);
float fp8_decode(uint8_t code, enum fp8_format f);
/* The largest finite magnitude: 448 (e4m3) or 57344 (e5m2). */
float fp8_max(enum fp8_format f);

#endif
