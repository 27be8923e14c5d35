/* gemm.h - dense GEMM library baselines, implementations of the operation gemm
 * (kernels/gemm/gemm_ops.h): C[M,N] = A[M,K] · W[N,K]ᵀ (row-major A and W, the weight stored
 * output-feature-major as in a linear layer), the yardstick the quantized GEMMs and the
 * measured matrix ceiling are read against. */
#ifndef KB_GEMM_H
#define KB_GEMM_H

#include "kernels/kernel.h"

extern const struct kb_kernel kb_gemm_cublas; /* cuBLAS, f32/f16/bf16 (CUDA builds with cuBLAS) */
extern const struct kb_kernel kb_gemm_cublaslt; /* cuBLASLt, i8/e4m3 (CUDA builds with cuBLASLt) */

#endif
