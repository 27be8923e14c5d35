/* linear_isa.c - the portable scalar primitives of the linear-attention kernels and the choice
 * of the fastest path the CPU reports (see linear_isa.h). */
#include "kernels/attention/linear_isa.h"

#include <math.h>
#include <string.h>

#include "kernels/kernel.h"
#include "kernels/cpu_features.h"

static void gemm_acc_scalar(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                            float *c, int ldc)
{
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        const float *ai = a + (size_t)i * lda;
        for (int p = 0; p < k; p++) {
            const float x = ai[p];
            const float *bp = b + (size_t)p * ldb;
            for (int j = 0; j < n; j++)
                ci[j] += x * bp[j];
        }
    }
}

static void vexp_scalar(float *x, int len)
{
    for (int j = 0; j < len; j++) {
        float t = x[j] < -87.0f ? -87.0f : (x[j] > 88.0f ? 88.0f : x[j]);
        x[j] = expf(t);
    }
}

const struct linear_isa linear_isa_scalar = {
    .name = "scalar",
    .gemm_acc = gemm_acc_scalar,
    .vexp = vexp_scalar,
};

static int runs_here(const struct linear_isa *isa)
{
#if defined(__x86_64__)
    if (isa == &linear_isa_avx512)
        return kb_cpu_has(LINEAR_AVX512_NEEDS);
    if (isa == &linear_isa_avx2)
        return kb_cpu_has(LINEAR_AVX2_NEEDS);
#endif
    return isa == &linear_isa_scalar;
}

static const struct linear_isa *const by_preference[] = {
#if defined(__x86_64__)
    &linear_isa_avx512,
    &linear_isa_avx2,
#endif
    &linear_isa_scalar,
};

const struct linear_isa *linear_isa_best(void)
{
    for (size_t i = 0; i < sizeof by_preference / sizeof by_preference[0]; i++)
        if (runs_here(by_preference[i]))
            return by_preference[i];
    return &linear_isa_scalar;
}

const struct linear_isa *linear_isa_by_name(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof by_preference / sizeof by_preference[0]; i++)
        if (strcmp(by_preference[i]->name, name) == 0)
            return runs_here(by_preference[i]) ? by_preference[i] : NULL;
    return NULL;
}

void linear_feature_rows(const struct linear_isa *isa, int feature, const float *x, float *y, size_t len)
{
    if (feature == KB_FEATURE_RELU) {
        for (size_t e = 0; e < len; e++)
            y[e] = x[e] > 0 ? x[e] : 0;
        return;
    }
    /* elu(x) + 1: x + 1 above zero, e^x at or below (the exponential taken of min(x, 0) so the
     * vector pass never sees large arguments) */
    for (size_t e = 0; e < len; e++)
        y[e] = x[e] < 0 ? x[e] : 0;
    for (size_t e = 0; e < len; e += 1 << 20) {
        size_t part = len - e < (size_t)1 << 20 ? len - e : (size_t)1 << 20;
        isa->vexp(y + e, (int)part);
    }
    for (size_t e = 0; e < len; e++)
        if (x[e] > 0)
            y[e] = x[e] + 1.0f;
}
