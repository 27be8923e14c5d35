/* verify.c - agreement between a kernel's output and the float64 reference (see verify.h). */
#include "kernels/verify.h"

#include <math.h>
#include <string.h>

#include "datasets/generate.h"

void verify_begin(struct verify_acc *a)
{
    memset(a, 0, sizeof *a);
}

void verify_add(struct verify_acc *a, double got, double ref)
{
    a->count++;
    /* A non-finite reference is as disqualifying as a non-finite output: nothing can be
     * compared against it. Either would also poison the sums, so it is only flagged. */
    if (!isfinite(got) || !isfinite(ref)) {
        a->nonfinite = 1;
        return;
    }
    double err = got - ref;
    if (fabs(err) > a->max_abs)
        a->max_abs = fabs(err);
    a->err_sq += err * err;
    a->ref_sq += ref * ref;
    a->got_sq += got * got;
    a->dot += got * ref;
}

void verify_finish(const struct verify_acc *a, double tolerance, struct kb_accuracy *acc)
{
    acc->tolerance = tolerance;
    if (a->nonfinite) {
        acc->max_abs_err = INFINITY;
        acc->rel_l2_err = INFINITY;
        acc->cosine = NAN;
        acc->passed = 0;
        return;
    }
    if (a->count == 0) {
        /* comparing nothing proves nothing: a verify that checked no element must not pass */
        acc->max_abs_err = 0.0;
        acc->rel_l2_err = NAN;
        acc->cosine = NAN;
        acc->passed = 0;
        return;
    }
    acc->max_abs_err = a->max_abs;
    /* an all-zero reference has no scale to be relative to: the absolute L2 error stands in */
    acc->rel_l2_err = a->ref_sq > 0.0 ? sqrt(a->err_sq / a->ref_sq) : sqrt(a->err_sq);
    if (a->got_sq == 0.0 && a->ref_sq == 0.0)
        acc->cosine = 1.0;
    else if (a->got_sq == 0.0 || a->ref_sq == 0.0)
        acc->cosine = 0.0;
    else /* the square roots taken apart keep the product of two large sums from overflowing */
        acc->cosine = a->dot / (sqrt(a->got_sq) * sqrt(a->ref_sq));
    acc->passed = isfinite(acc->rel_l2_err) && acc->rel_l2_err <= tolerance;
}

long verify_sample_rows(long total, long max_rows, uint64_t seed, long *rows)
{
    if (total <= 0 || max_rows <= 0)
        return 0;
    if (total <= max_rows) {
        for (long i = 0; i < total; i++)
            rows[i] = i;
        return total;
    }
    rows[0] = 0;
    if (max_rows == 1)
        return 1;
    rows[max_rows - 1] = total - 1;
    if (max_rows == 2)
        return 2;
    /* The interior rows [1, total - 2] are cut into max_rows - 2 consecutive strata of
     * near-equal size (the remainder spread over the first ones) and one row drawn from each:
     * evenly spread, strictly ascending and distinct by construction, and the jitter varies
     * with the seed so that a fixed stride cannot keep missing the same pattern. Because
     * total > max_rows, every stratum holds at least one row. */
    long strata = max_rows - 2, span = total - 2;
    long q = span / strata, r = span % strata;
    struct kb_rng rng;
    kb_rng_seed(&rng, seed);
    for (long k = 0; k < strata; k++) {
        long start = 1 + k * q + (k < r ? k : r);
        long size = q + (k < r ? 1 : 0);
        long pick = (long)(kb_rng_uniform(&rng) * (double)size);
        if (pick >= size) /* rounding of the product for huge strata */
            pick = size - 1;
        rows[k + 1] = start + pick;
    }
    return max_rows;
}

/* Tolerances on relative L2 error: the unit roundoff u of the type a kernel computes or stores
 * in, times an allowance for error growth through long reductions (softmax sums and dot
 * products over thousands of terms grow roughly like sqrt(K)·u, and blocked/online algorithms
 * reorder them).
 *   f64  u = 2^-53 ≈ 1.1e-16  → 1e-12 (≈ 1e4 u: the reference itself is only ~f64-exact)
 *   f32  u = 2^-24 ≈ 6.0e-8   → 1e-4  (≈ 1.7e3 u: K up to 64k keys, fast exp approximations)
 *   f16  u = 2^-11 ≈ 4.9e-4   → 5e-3  (≈ 10 u: inputs and output rounded, f32 accumulation)
 *   bf16 u = 2^-8  ≈ 3.9e-3   → 2e-2  (≈ 5 u: same, with a much coarser mantissa)
 *   i8   step 1/127 ≈ 7.9e-3 of the row's absmax → 5e-2 (≈ 6 steps: rounding of weights and
 *        activations compounds in the dot products)
 * Anything else (i32, unknown) gets 1e-3, a loose bound that still catches a wrong answer. */
double verify_default_tolerance(enum kb_dtype t)
{
    switch (t) {
    case KB_DTYPE_F64: return 1e-12;
    case KB_DTYPE_F32: return 1e-4;
    case KB_DTYPE_F16: return 5e-3;
    case KB_DTYPE_BF16: return 2e-2;
    case KB_DTYPE_I8: return 5e-2;
    default: return 1e-3;
    }
}
