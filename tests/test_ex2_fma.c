/* test_ex2_fma.c - kernels/gpu/ex2_fma.h, the 2^x that the GPU softmaxes may run on the FMA pipe
 * instead of MUFU: the same C function the CUDA kernels compile, checked on the host against
 * exp2 in double precision. Its bound, 3e-6 relative, is the fitted polynomial's (2.9e-6 in f32)
 * plus nothing: the rounding to j, the reduction x − j and the exponent shift are exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>

#include "kernels/gpu/ex2_fma.h"

static double rel_err(float x)
{
    const double want = exp2((double)x);
    return fabs((double)kb_ex2_fma(x) / want - 1.0);
}

/* every float step of [−8, 8] at 2^-12 and a coarser walk down to −125: the softmax's range
 * (arguments at most log2 448 ≈ 8.8 above a row's maximum) */
static void test_relative_error(void **state)
{
    (void)state;
    double worst = 0.0;
    float at = 0.f;
    for (int i = -8 * 4096; i <= 9 * 4096; i++) {
        const float x = (float)i / 4096.f;
        const double e = rel_err(x);
        if (e > worst)
            worst = e, at = x;
    }
    for (float x = -125.f; x < -8.f; x += 0.01171875f) {
        const double e = rel_err(x);
        if (e > worst)
            worst = e, at = x;
    }
    if (worst > 3e-6)
        fail_msg("relative error %.3g at x = %.9g, above 3e-6", worst, (double)at);
}

/* j + 0 needs no polynomial: 2^j exactly, negative exponents included (the shift of a
 * two's-complement j into the exponent field) */
static void test_integers_exact(void **state)
{
    (void)state;
    for (int j = -125; j <= 20; j++)
        if (kb_ex2_fma((float)j) != ldexpf(1.f, j))
            fail_msg("2^%d: %.9g, not %.9g", j, (double)kb_ex2_fma((float)j), (double)ldexpf(1.f, j));
}

/* a masked score (−∞) and arguments past the clamp give a non-negative value no larger than
 * 2^-125: never a negative number or NaN from a wrapped exponent */
static void test_masked_and_tiny(void **state)
{
    (void)state;
    const float xs[] = { -INFINITY, -FLT_MAX, -1e6f, -200.f, -126.5f, -126.f };
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        const float y = kb_ex2_fma(xs[i]);
        if (!(y >= 0.f && y <= ldexpf(1.f, -125)))
            fail_msg("2^%g gave %.9g", (double)xs[i], (double)y);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relative_error),
        cmocka_unit_test(test_integers_exact),
        cmocka_unit_test(test_masked_and_tiny),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
