/* test_qgemm_cuda.c - the host side of the quantized GEMMs on the GPU, which runs without one:
 * the padded device row stride, and that every CUDA GEMM is an implementation of the operation
 * whose inputs and verdict tests/test_gemm_op.c checks (so a GPU run is judged exactly as those
 * tests judge a result computed the kernels' way): gemm at the dtypes it takes, handing its
 * results back through collect, the integer ones also checked bit for bit (or, cuBLASLt's float
 * epilogue, within a unit) by their own check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/gemm_ops.h"
#include "kernels/quant/gemm_cuda.h"
#include "kernels/quant/gemm_int8.h"
#include "kernels/quant/gemm_w4a8.h"
#include "kernels/quant/quant_cuda.h"

static void lda(void **state)
{
    (void)state;
    assert_int_equal(QGEMM_LDA(129), 144);
    assert_int_equal(QGEMM_LDA(8192), 8192);
    assert_int_equal(QGEMM_LDA(1), 16);
}

static void implements(const struct kb_kernel *k, const struct kb_operation *op, unsigned dtypes,
                       int (*check)(const struct kb_case *, struct kb_accuracy *))
{
    assert_ptr_equal(k->op, op);
    assert_int_equal(k->dtypes, dtypes);
    assert_true((op->dtypes & dtypes) == dtypes);
    assert_non_null(k->collect); /* the results come back from the device */
    if (check)
        assert_ptr_equal(k->check, check);
}

static void cuda_gemms_implement_the_operations(void **state)
{
    (void)state;
    const unsigned i8 = KB_DTYPE_BIT(KB_DTYPE_I8), e4m3 = KB_DTYPE_BIT(KB_DTYPE_FP8_E4M3);
    implements(&kb_quant_gemm_int8_cuda, &kb_op_gemm, i8, gemm_int8_check_exact);
    implements(&kb_quant_gemm_fp8_cuda, &kb_op_gemm, e4m3, NULL);
    assert_null(kb_quant_gemm_fp8_cuda.check); /* float32 sums: no bit-exact emulation */
    implements(&kb_quant_gemm_w4a8_cuda, &kb_op_quant_gemm_w4a8, i8, gemm_w4a8_check_exact);
#ifdef HAVE_SM90A
    implements(&kb_quant_gemm_int8_wgmma, &kb_op_gemm, i8, gemm_int8_check_exact);
    implements(&kb_quant_gemm_fp8_wgmma, &kb_op_gemm, e4m3, NULL);
#endif
#ifdef HAVE_CUBLAS
    implements(&kb_gemm_cublas, &kb_op_gemm,
               KB_DTYPE_BIT(KB_DTYPE_F32) | KB_DTYPE_BIT(KB_DTYPE_F16) | KB_DTYPE_BIT(KB_DTYPE_BF16), NULL);
#endif
#ifdef HAVE_CUBLASLT
    implements(&kb_gemm_cublaslt, &kb_op_gemm, i8 | e4m3, NULL);
    assert_non_null(kb_gemm_cublaslt.check);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lda),
        cmocka_unit_test(cuda_gemms_implement_the_operations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
