/* linear_isa.h - the two vector primitives the linear-attention kernels are built from, in
 * AVX-512, AVX2+FMA and portable scalar versions chosen at run time (linear_isa.c). Internal to
 * the CPU kernels (linear_cpu.c, linear_naive.c, gla_cpu.c), not part of the kernel contract.
 *
 * Every heavy step of chunked linear attention is a small dense product on one chunk (φ(Q)·S,
 * φ(Q)·φ(K)ᵀ, P·V, φ(K)ᵀ·V), so one register-tiled C += A·B serves all of them (and
 * gemm_plus_lower two of them at once); the gated kernel also needs exponentials of whole rows. */
#ifndef KB_LINEAR_ISA_H
#define KB_LINEAR_ISA_H

#include <stddef.h>

#include "kernels/cpu_features.h"

/* What each SIMD path needs (kernels/cpu_features.h decides whether it may run). */
#define LINEAR_AVX512_NEEDS KB_CPU_AVX512F
#define LINEAR_AVX2_NEEDS (KB_CPU_AVX2 | KB_CPU_FMA)

/* Memory a product may bring into the cache while it runs: rows of row_bytes, stride bytes
 * apart (stride >= row_bytes), starting at first. */
struct linear_ahead {
    const void *first;
    size_t row_bytes, stride;
    int rows;
};

struct linear_isa {
    const char *name; /* "avx512", "avx2", "scalar" */
    /* C[m×n] += A[m×k]·B[k×n], all row-major with leading dimensions lda, ldb, ldc; any sizes
     * (no padding needed, nothing read or written outside the three matrices). */
    void (*gemm_acc)(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc);
    /* C_i = rowscale_i·(beta·C_i + A_i·B) for the m rows of C (rowscale NULL: 1; beta 0: C is
     * not read, so it may hold anything), same sizes and layout as gemm_acc; meanwhile the rows
     * of ahead (NULL: none) are brought into the cache, spread over the product's arithmetic
     * (the next chunk's rows: their memory latency then hides behind this product). The fetch
     * is a hint: paths without it do the product alone. */
    void (*gemm_ex)(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                    float beta, const float *rowscale, const struct linear_ahead *ahead);
    /* C_i = rowscale_i·(A_i·B + L_i·D) for the m rows of C (rowscale NULL: 1; C is not read):
     * gemm_ex's product plus a second whose L [m×m] is lower triangular (its entries above the
     * diagonal must hold 0: a path may read them) with D [m×n] (leading dimensions ldl, ldd),
     * in the same accumulators: the causal chunk's (φ(Q)·S + P·V) / den without storing C and
     * reading it back in between. stream: C is not read again soon (an output), so a path may
     * write it past the caches. ahead as gemm_ex. */
    void (*gemm_plus_lower)(int m, int n, int k, const float *a, int lda, const float *b, int ldb, const float *l,
                            int ldl, const float *d, int ldd, float *c, int ldc, const float *rowscale, int stream,
                            const struct linear_ahead *ahead);
    /* x[j] = exp(x[j]) for j < len, relative error below 2e-7 for x in [−87, 88]; inputs
     * outside are clamped to that range. */
    void (*vexp)(float *x, int len);
    /* y[e] = φ(x[e]) for e < len (enum kb_feature_map; elu+1 through this path's exp), in one
     * pass without branches on the data; x and y must not overlap. */
    void (*feature)(int feature, const float *x, float *y, size_t len);
    /* y[i·k + j] = φ(x[i·ldx + j]) for i < m, j < k (as feature), and dots[i] = y_i · z: φ(Q)
     * and the normaliser's φ(q_i)·z in one pass (the dots as row_dots would form them). */
    void (*feature_dot)(int feature, int m, int k, const float *x, int ldx, float *y, const float *z, float *dots);
    /* dst[j·ldd + i] = src[i·lds + j]·w[i] for i < rows, j < cols (w NULL: 1; the matrices must
     * not overlap): a transpose, its columns weighted on the way. */
    void (*transpose)(int rows, int cols, const float *src, int lds, float *dst, int ldd, const float *w);
    /* dst[j·ldd + i] = φ(src[i·lds + j]) for i < rows, j < cols (enum kb_feature_map, as
     * feature; the matrices must not overlap): the map and the transpose in one pass; with
     * colsum (not NULL), also colsum[j] += Σ_i φ(src[i·lds + j]) (the normaliser's Σ φ(k)). */
    void (*feature_transpose)(int feature, int rows, int cols, const float *src, int lds, float *dst, int ldd,
                              float *colsum);
    /* out[i] = a_i · x for the m rows a_i of length k. */
    void (*row_dots)(int m, int k, const float *a, int lda, const float *x, float *out);
    /* a_i[j] *= w_i[j] for i < m, j < n (ldw 0: the one row w for every row), then
     * sums[i] += Σ_j a_i[j] when sums is not NULL. */
    void (*mul_rowsum)(int m, int n, float *a, int lda, const float *w, int ldw, float *sums);
    /* a_i[j] *= s[i] for i < m, j < n. */
    void (*scale_rows)(int m, int n, float *a, int lda, const float *s);
};

extern const struct linear_isa linear_isa_scalar;
#if defined(__x86_64__)
extern const struct linear_isa linear_isa_avx2;
extern const struct linear_isa linear_isa_avx512;
#endif

/* feature_transpose through isa's feature and transpose, a block of rows at a time in a small
 * buffer (the paths without a fused form use it). */
void linear_feature_transpose_blocked(const struct linear_isa *isa, int feature, int rows, int cols, const float *src,
                                      int lds, float *dst, int ldd, float *colsum);

/* feature_dot through isa's feature and row_dots (the paths without a fused form). */
void linear_feature_dot_composed(const struct linear_isa *isa, int feature, int m, int k, const float *x, int ldx,
                                 float *y, const float *z, float *dots);

/* gemm_plus_lower through isa's gemm_ex (the paths without a fused form): C = A·B, then
 * C_i ← rowscale_i·(C_i + L_i·D) in row blocks of 6, each to the depth of its last row. */
void linear_gemm_plus_lower_composed(const struct linear_isa *isa, int m, int n, int k, const float *a, int lda,
                                     const float *b, int ldb, const float *l, int ldl, const float *d, int ldd,
                                     float *c, int ldc, const float *rowscale, const struct linear_ahead *ahead);

/* The fastest path this CPU runs. */
const struct linear_isa *linear_isa_best(void);
/* The path called name when this CPU can run it, else NULL (tests compare paths). */
const struct linear_isa *linear_isa_by_name(const char *name);

/* y[e] = φ(x[e]) for e < len (enum kb_feature_map), the exponential of elu+1 through isa's
 * vector exp; x and y must not overlap. */
void linear_feature_rows(const struct linear_isa *isa, int feature, const float *x, float *y, size_t len);

/* Make a set-up case of each kernel use the named path; 0, or -1 when this CPU cannot run it. */
struct kb_case;
int linear_cpu_use_path(struct kb_case *c, const char *name);
int linear_naive_use_path(struct kb_case *c, const char *name);
int gla_cpu_use_path(struct kb_case *c, const char *name);

#endif
