/* gemm_ref.c - see gemm_ref.h. */
#include "kernels/gemm/gemm_ref.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/verify.h"

void gemm_ref_row(const float *a, const float *w, int n, int k, int i, double *out)
{
    const float *ar = a + (size_t)i * k;
    for (int j = 0; j < n; j++) {
        const float *wr = w + (size_t)j * k;
        double s = 0;
        for (int p = 0; p < k; p++)
            s += (double)ar[p] * wr[p];
        out[j] = s;
    }
}

int gemm_check_shape(const char *what, const struct kb_shape *s, int int32_acc, char *err, size_t errlen)
{
    const int v[3] = { s->m, s->n, s->k };
    static const char *const key[3] = { "m", "n", "k" };
    for (int i = 0; i < 3; i++)
        if (v[i] < 1) {
            snprintf(err, errlen, "%s: %s = %d, must be at least 1", what, key[i], v[i]);
            return KB_UNSUPPORTED;
        }
    /* int32 accumulation of int8·int8 products stays exact while K·127² < 2^31 */
    if (int32_acc && s->k > 131072) {
        snprintf(err, errlen, "%s: K = %d exceeds 131072, past which int32 accumulators may overflow", what, s->k);
        return KB_UNSUPPORTED;
    }
    /* the bound quant.gemm_int8 always had (on M·N·K, so a reference of that many products) */
    double elems = (double)s->m * s->n * s->k;
    if (elems > (double)(SIZE_MAX / 16) || elems > 1e13) {
        snprintf(err, errlen, "%s: %.3g elements do not fit this machine's address space", what, elems);
        return KB_UNSUPPORTED;
    }
    return KB_OK;
}

long *gemm_sample_rows(const struct kb_shape *s, uint64_t seed, long *n)
{
    long *rows = malloc(GEMM_VERIFY_ROWS * sizeof *rows);
    *n = rows ? verify_sample_rows(s->m, GEMM_VERIFY_ROWS, seed, rows) : 0;
    return rows;
}

float gemm_absmax(const float *x, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmaxf(m, fabsf(x[i]));
    return m;
}
