/* moe_gemm.h - the float32 GEMM every moe.* CPU kernel is built on: C (+)= A·B with B in
 * pre-packed panels, A gathered through an optional row index while it is packed, and C
 * scattered through an optional row index with an optional per-row scale. The gather and the
 * scaled scatter are what let the fused layer read tokens straight from x and add
 * gate-weighted expert outputs straight into y, with no permuted copies.
 *
 * Blocking (BLIS order): column blocks of MOE_GEMM_NC, depth blocks of MOE_GEMM_KC, row blocks
 * of MOE_GEMM_MC packed into MOE_MR-row micro-panels, then a register tile of MOE_MR × MOE_NR
 * (6×16: AVX2+FMA with 12 accumulators, or portable scalar) per micro-panel and B panel.
 * Single-threaded: callers split the work (experts, column blocks, token ranges).
 */
#ifndef KB_MOE_GEMM_H
#define KB_MOE_GEMM_H

#include <stddef.h>

#include "kernels/moe/moe.h"
#include "kernels/cpu_features.h"

/* What the AVX2 path needs (kernels/cpu_features.h decides whether it may run). */
#define MOE_GEMM_AVX2_NEEDS (KB_CPU_AVX2 | KB_CPU_FMA)

#define MOE_MR 6
#define MOE_GEMM_KC 256
#define MOE_GEMM_MC 96  /* a multiple of MOE_MR */
#define MOE_GEMM_NC 256 /* a multiple of MOE_NR */

struct moe_gemm {
    int m, n, k;
    /* A [m,k]: row i at a + (a_rows ? a_rows[i] : i)·lda */
    const float *a;
    size_t lda;
    const int *a_rows;
    /* B [k,n]: panel p (columns p·NR..) at b + p·b_panel_stride, row r of it at + r·NR */
    const float *b;
    size_t b_panel_stride;
    /* C [m,n]: row i at c + (c_rows ? c_rows[i] : i)·ldc; C = A·B, or C += A·B when accumulate;
     * with c_scale, row i gets c_scale[i]·(A·B)[i] (always added: accumulate is implied) */
    float *c;
    size_t ldc;
    const int *c_rows;
    const float *c_scale;
    int accumulate;
};

/* The register tile: C rows crow[0..mr) at columns [0, nr) get (scale·)Σ_p ap[p][i]·bp[p][j]
 * over kc steps, stored or added. ap is [kc][MR], bp is [kc][NR] (panel rows). */
typedef void (*moe_microkernel)(int kc, const float *ap, const float *bp, float *const *crow,
                                int mr, int nr, const float *scale, int add);

struct moe_gemm_isa {
    const char *name; /* "avx2", "scalar" */
    moe_microkernel tile;
};
extern const struct moe_gemm_isa moe_gemm_scalar;
#if defined(__x86_64__)
extern const struct moe_gemm_isa moe_gemm_avx2;
#endif
/* The fastest path this CPU runs (AVX2+FMA where reported, else scalar). */
const struct moe_gemm_isa *moe_gemm_best(void);
/* The path called name when this CPU runs it, else NULL (tests compare paths). */
const struct moe_gemm_isa *moe_gemm_by_name(const char *name);

/* Runs g with apack scratch of moe_gemm_scratch_floats() floats (64-byte aligned). */
void moe_gemm_run(const struct moe_gemm_isa *isa, const struct moe_gemm *g, float *apack);

/* Packs B [k,n] (row-major, leading dimension ldb) into ceil(n/NR) panels of kpad rows each
 * (zeros past k and n), panel p at dst + p·kpad·NR. */
void moe_pack_b(const float *b, size_t ldb, int k, int n, size_t kpad, float *dst);

#endif
