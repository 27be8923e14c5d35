/* gemm_f32_blas.c - gemm.f32@cpu.blas: the operation gemm at f32 (kernels/gemm/gemm_ops.h),
 * C[M,N] = A[M,K] · W[N,K]ᵀ through cblas_sgemm (OpenBLAS): the float baseline quant.gemm_int8
 * and quant.gemm_w4a8 are compared with, on the same shapes and the same float inputs (the
 * operation draws them with the same generators and sub-seeds). Threads: OpenBLAS's own pool,
 * set to the case's thread count. Compiled only with a CBLAS (HAVE_CBLAS). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "kernels/quant/quant.h"

#ifdef HAVE_CBLAS

#include <cblas.h>

#include "kernels/gemm/gemm_ops.h"

static int gemm_f32_setup(struct kb_case *c, char *err, size_t errlen)
{
    (void)err, (void)errlen; /* the operation checked the shape; nothing to allocate */
#ifdef OPENBLAS_VERSION
    openblas_set_num_threads(c->threads > 0 ? c->threads : 1);
#else
    (void)c;
#endif
    return KB_OK;
}

static int gemm_f32_run(struct kb_case *c)
{
    const struct kb_shape *s = &c->shape;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->m, s->n, s->k, 1.0f, kb_input(c, KB_GEMM_A), s->k,
                kb_input(c, KB_GEMM_W), s->k, 0.0f, kb_output(c, KB_GEMM_Y), s->n);
    return KB_OK;
}

static void gemm_f32_teardown(struct kb_case *c)
{
    (void)c;
}

const struct kb_kernel kb_gemm_f32_blas = {
    .name = "gemm.f32",
    .impl = "cpu.blas",
    .description = "float32 GEMM A·Wᵀ through cblas_sgemm (OpenBLAS): the baseline of the quantized GEMMs",
    .device = KB_DEVICE_CPU,
    .dtypes = KB_DTYPE_BIT(KB_DTYPE_F32),
    .axes = QUANT_AXES_GEMM,
    .op = &kb_op_gemm,
    .setup = gemm_f32_setup,
    .run = gemm_f32_run,
    .teardown = gemm_f32_teardown,
};

#endif /* HAVE_CBLAS */
