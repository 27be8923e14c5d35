/* gemm_cuda.h - what the quantized GEMMs on the GPU share: their device operands and the
 * launchers of the tensor-core kernels (gemm_mma.cu, gemm_wgmma.cu). Used by
 * quant.gemm_int8@cuda.mma, quant.gemm_fp8@cuda.mma (gemm_cuda.c) and the cuBLASLt baseline
 * gemm.dense@cuda.cublaslt (kernels/gemm/gemm_cublaslt.c), so that ours and the library's read
 * the very same operands: the operation gemm's (kernels/gemm/gemm_ops.h) at i8 and e4m3.
 *
 * The problem: Y[M,N] = A[M,K] · W[N,K]ᵀ, A and W row-major 8-bit codes (W output-feature-major,
 * as in a linear layer).
 *
 * Device layout: A and W rows are QGEMM_LDA(K) bytes apart, K rounded up to 16 with zero bytes,
 * and each matrix has its row count rounded up to 16 with zero rows. cp.async copies and
 * cuBLASLt's IMMA/FP8 kernels need 16-byte aligned rows, and cuBLASLt's FP8 kernels dimensions
 * in multiples of 16; zeros add nothing to a dot product (our kernels still stop at M, N and K;
 * cuBLASLt multiplies the padded matrices and verify reads the M×N corner). At sizes that are
 * multiples of 16 (all benchmark sizes) this is the plain dense layout. */
#ifndef KB_QUANT_GEMM_CUDA_H
#define KB_QUANT_GEMM_CUDA_H

#include "kernels/gpu/input_copies.h"
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernel.h"
#include "kernels/quant/quant.h"

extern const struct kb_kernel kb_quant_gemm_int8_cuda; /* W8A8, int32 accumulate, dyadic requant (mma.sync s8) */
extern const struct kb_kernel kb_quant_gemm_fp8_cuda;  /* e4m3 × e4m3, f32 accumulate, bf16 out (mma.sync e4m3) */
extern const struct kb_kernel kb_quant_gemm_int8_wgmma; /* the same on Hopper wgmma + TMA (sm_90a builds) */
extern const struct kb_kernel kb_quant_gemm_fp8_wgmma;

#define QGEMM_LDA(k) ((((size_t)(k)) + 15) / 16 * 16)
/* Input copies at most (kb_case.input_copies_wanted is capped here). */
#define QGEMM_COPIES_MAX 8

/* A and W codes on the GPU, in `copies` rotating copies (kb_case input rotation). */
struct qgemm_operands {
    int m, n, k;
    int m_pad, n_pad; /* rows allocated: m and n rounded up to 16 */
    size_t lda;       /* QGEMM_LDA(k) */
    int copies;
    struct input_copies a, w; /* a.ptr[0], w.ptr[0]: the uploads; the rest device copies of them */
};
/* Uploads host codes a[M,K] and w[N,K] (dense) into padded device rows, copies_wanted copies
 * (at least 1, at most QGEMM_COPIES_MAX, fewer when GPU memory is short). Synchronises. */
int qgemm_operands_new(struct qgemm_operands *o, const void *a, const void *w, int m, int n, int k,
                       int copies_wanted, void *stream, char *err, size_t errlen);
void qgemm_operands_free(struct qgemm_operands *o);
/* The copy a run reads: c->input_copy when it is one of ours, else the first. */
int qgemm_operands_pick(const struct qgemm_operands *o, int input_copy);

/* 1 when device `device` runs e4m3 tensor-core instructions (compute capability 8.9 or later);
 * otherwise 0 with the reason in err. */
int qgemm_fp8_capable(int device, char *err, size_t errlen);

/* ---- device code (gemm_mma.cu; extern "C") ---------------------------------------------------
 * Each enqueues on stream and returns a cudaError_t (0 = success). */

/* Once per process before the first launch (raises the kernels' dynamic shared memory limit). */
int qgemm_cuda_prepare(void);
/* Y[M,N] int8 = sat8((acc·b[n] + 2^(c[n]−1)) >> c[n]), acc = Σ_k A[i][k]·W[n][k] in int32. */
int qgemm_int8_launch(const void *a, const void *w, int m, int n, size_t lda, const int32_t *dy_b,
                      const int32_t *dy_c, int8_t *y, void *stream);
/* Y[M,N] bf16 = (float)(scale · acc), acc = Σ_k Â[i][k]·Ŵ[n][k] in float32 (e4m3 inputs). */
int qgemm_fp8_launch(const void *a, const void *w, int m, int n, size_t lda, float scale, void *y, void *stream);

/* ---- Hopper device code (gemm_wgmma.cu, built for sm_90a only: HAVE_SM90A) -------------------
 * quant.gemm_int8@cuda.wgmma and quant.gemm_fp8@cuda.wgmma: the same products and epilogues on
 * wgmma.mma_async with TMA loads. TMA reads A and W through tensor maps (CUtensorMap, 128 opaque
 * bytes each) encoded on the host once per operand copy at setup, so run() only launches. */
struct qgemm_tma {
    uint64_t a[16], w[16]; /* the CUtensorMap of A and of W (gemm_wgmma.cu copies them out) */
};
/* Once per process before the first launch (raises the kernels' dynamic shared memory limit). */
int qgemm_wgmma_prepare(void);
/* The tensor maps of device matrices a [m, lda] and w [n, lda] (bytes; lda a multiple of 16).
 * KB_OK, or KB_UNSUPPORTED / KB_ERROR with the reason in err. Host only; no GPU work. */
int qgemm_wgmma_tma_new(struct qgemm_tma *t, const void *a, const void *w, int m, int n, size_t lda, char *err,
                        size_t errlen);
/* As qgemm_int8_launch and qgemm_fp8_launch, reading A and W through t. */
int qgemm_int8_wgmma_launch(const struct qgemm_tma *t, int m, int n, size_t lda, const int32_t *dy_b,
                            const int32_t *dy_c, int8_t *y, void *stream);
int qgemm_fp8_wgmma_launch(const struct qgemm_tma *t, int m, int n, size_t lda, float scale, void *y, void *stream);

#endif
