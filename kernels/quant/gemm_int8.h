/* gemm_int8.h - internals of quant.gemm_int8 shared by its driver (gemm_int8.c), its SIMD tiles
 * (gemm_int8_avx2.c, gemm_int8_avx512.c) and the tests. Not part of the kernel contract.
 *
 * The problem (the operation gemm at dtype i8, kernels/gemm/gemm_ops.h): Y[M,N] int8 =
 * requant(A[M,K] int8 · W[N,K]ᵀ int8), int32 accumulators, activations quantized per tensor
 * (scale s_a), weights per output channel (s_w[n]), output per tensor (s_y); column n is
 * requantized with the dyadic b_n / 2^c_n ≈ s_a·s_w[n] / s_y.
 *
 * Layouts of the optimized kernel:
 *   packed A [Mpad][K4] bytes   K4 = K rounded up to 4, Mpad = M rounded up to the tile rows;
 *                               the VNNI path stores a + 128 (unsigned), the others a itself
 *   packed W [N/nr panels][K4/4][nr][4] int8: for each group of four k, nr columns of four
 *                               bytes, which is one vector for dpbusd / maddubs
 *   colsum   [Npad] int32       Σ_k W[n][k], for the VNNI offset correction */
#ifndef KB_QUANT_GEMM_INT8_H
#define KB_QUANT_GEMM_INT8_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel.h"
#include "kernels/gemm/gemm_ops.h"
#include "kernels/quant/quant.h"
#include "kernels/cpu_features.h"

/* What each SIMD path needs (kernels/cpu_features.h decides whether it may run). */
#define GEMM_INT8_AVX512_NEEDS (KB_CPU_AVX512F | KB_CPU_AVX512BW | KB_CPU_AVX512VNNI)
#define GEMM_INT8_AVX2_NEEDS KB_CPU_AVX2

/* The exact check of every quant.gemm_int8 implementation (and of cuBLASLt's int32 output):
 * on the rows the operation's verify samples, Y against the scalar emulation (int64
 * accumulation, then the operation's dyadic requantization). Returns how many elements differ
 * by more than max_units (0: bit for bit), *checked how many were compared; -1 out of memory. */
long gemm_int8_emulation_diff(const struct kb_case *c, int max_units, long *checked);
/* kb_kernel.check: bit for bit; sets exact_checked / exact_mismatches, clears passed on any. */
int gemm_int8_check_exact(const struct kb_case *c, struct kb_accuracy *acc);

/* A SIMD path: one register tile of mr rows × nr columns over all K. */
struct gemm_int8_isa {
    const char *name; /* "avx512vnni", "avx2", "scalar" */
    int mr, nr;
    int offset_a;     /* 1: A is fed as a + 128, corrected by 128·colsum */
    /* acc[r][j] = Σ_{q<k4} Σ_{t<4} A[r][4q+t] · P[q][j][t] for r < mr, j < nr; A rows lda apart */
    void (*tile)(const uint8_t *a, size_t lda, const int8_t *panel, int k4, int32_t *acc);
};
extern const struct gemm_int8_isa gemm_int8_isa_scalar, gemm_int8_isa_avx2, gemm_int8_isa_avx512vnni;
/* "scalar-u8": the VNNI path's tile shape and offset arithmetic in portable C (tests only). */
extern const struct gemm_int8_isa gemm_int8_isa_scalar_u8;
/* The fastest path this CPU runs; by name, NULL when unknown or not runnable here. */
const struct gemm_int8_isa *gemm_int8_isa_best(void);
const struct gemm_int8_isa *gemm_int8_isa_by_name(const char *name);
/* Tests: makes the case's (quant.gemm_int8@cpu) later runs use this path; -1 if not runnable. */
int gemm_int8_cpu_use_path(struct kb_case *c, const char *name);

/* ---- the GEMM on packed operands, for composite kernels (vit_block_int8.c) ---------------------
 * GEMM_MR_MAX × GEMM_NR_MAX bounds every path's tile; size packed buffers with them. */
#define GEMM_MR_MAX 8
#define GEMM_NR_MAX 32

/* Row of A (k codes; NULL: a zero padding row) into its packed form, k4 = k rounded up to 4
 * bytes; offset: the VNNI path's a + 128 (isa->offset_a). */
void gemm_int8_pack_a_row(const int8_t *src, int k, size_t k4, int offset, uint8_t *dst);
/* Panel pn (columns pn·nr ..) of W[n][k] into dst ([k4/4][nr][4], zeros past n and k) and its
 * column sums into colsum[nr]. Element (j, p) of W is w[j·stride_n + p·stride_k], so a
 * transposed operand (the V of attention) packs without a copy. */
void gemm_int8_pack_w_panel(const int8_t *w, int n, int k, size_t stride_n, size_t stride_k, int nr, size_t k4,
                            int pn, int8_t *dst, int32_t *colsum);
/* Called per register tile with the exact int32 accumulators (the VNNI offset already
 * corrected): acc[r·ldacc + j] is output (i0 + r, j0 + j), r < rows, j < cols. */
typedef void (*gemm_int8_epilogue)(void *ctx, int i0, int rows, int j0, int cols, const int32_t *acc, int ldacc);
/* A[m, k]·W[n, k]ᵀ over packed A (rows padded to a multiple of isa->mr, k4 bytes apart) and
 * packed W panels (isa->nr wide), handing each tile to ep. worksharing = 1 splits the tasks with
 * an orphaned `omp for` (call it from every thread of a parallel region); 0 runs them all in the
 * calling thread (inside another worksharing loop). */
void gemm_int8_packed(const struct gemm_int8_isa *isa, const uint8_t *apk, int m, size_t k4, const int8_t *wpk,
                      const int32_t *colsum, int n, int worksharing, gemm_int8_epilogue ep, void *ctx);

#endif
