/* gemm_w4a8.h - what the implementations of quant.gemm_w4a8 share beyond the operation
 * (kernels/gemm/gemm_ops.h): the exact check. Not part of the public header. */
#ifndef KB_QUANT_GEMM_W4A8_H
#define KB_QUANT_GEMM_W4A8_H

#include "kernels/kernel.h"
#include "kernels/gemm/gemm_ops.h"

/* kb_kernel.check: on the rows the operation's verify samples, Y bit for bit against the scalar
 * emulation (exact int32 group sums, then float32 in group order; gemm_w4a8.c). */
int gemm_w4a8_check_exact(const struct kb_case *c, struct kb_accuracy *acc);

#endif
