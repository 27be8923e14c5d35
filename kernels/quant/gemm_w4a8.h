/* gemm_w4a8.h - what the implementations of quant.gemm_w4a8 share beyond the operation
 * (kernels/gemm/gemm_ops.h): the exact check. Not part of the public header. */
#ifndef KB_QUANT_GEMM_W4A8_H
#define KB_QUANT_GEMM_W4A8_H

#include "kernels/kernel.h"
#include "kernels/gemm/gemm_ops.h"

/* kb_kernel.check: on the rows the operation's verify samples, Y bit for bit against the scalar
 * emulation (exact int32 group sums, then float32 in group order; gemm_w4a8.c). */
int gemm_w4a8_check_exact(const struct kb_case *c, struct kb_accuracy *acc);

/* The path a set-up case of @cpu runs: "avx512vnni", "avx2" or "scalar" (tests). */
const char *gemm_w4a8_cpu_path(const struct kb_case *c);

/* ---- the AVX-512 VNNI path of @cpu at i8 (gemm_w4a8_vnni.c) -------------------------------- */
#include <stdint.h>
#include "kernels/cpu_features.h"

#define W4A8_VNNI_NEEDS (KB_CPU_AVX512F | KB_CPU_AVX512BW | KB_CPU_AVX512VNNI)
#define W4A8_VNNI_MR 8  /* rows of A per register tile */
#define W4A8_VNNI_NR 32 /* columns per weight panel */
/* One group of one 8 × 32 tile: a[r] points at row r's first activation of the group (8·steps
 * bytes readable; past the group's end they meet zero weights), wp at the group's packed steps
 * (128 bytes each), asum[r] = Σ of row r's activations in the group, sw the 32 columns' scales
 * of the group. facc[r·32 + j] += (float)P_g · sw[j]. */
void w4a8_vnni_group(const int8_t *const a[W4A8_VNNI_MR], int steps, const uint8_t *wp,
                     const int32_t asum[W4A8_VNNI_MR], const float *sw, float *facc);
/* The same on the same panels with 256-bit instructions: AVX-VNNI's vpdpbusd, or AVX2's
 * vpmaddubsw + vpmaddwd (bit for bit the same sums). */
#define W4A8_AVXVNNI_NEEDS (KB_CPU_AVX2 | KB_CPU_AVXVNNI)
#define W4A8_AVX2_NEEDS KB_CPU_AVX2
void w4a8_avxvnni_group(const int8_t *const a[W4A8_VNNI_MR], int steps, const uint8_t *wp,
                        const int32_t asum[W4A8_VNNI_MR], const float *sw, float *facc);
void w4a8_avx2_group(const int8_t *const a[W4A8_VNNI_MR], int steps, const uint8_t *wp,
                     const int32_t asum[W4A8_VNNI_MR], const float *sw, float *facc);

#endif
