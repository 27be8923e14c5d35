/* verify.h - accumulating agreement between a kernel's output and a float64 reference.
 * Kernels compare element by element (on sampled rows when the full reference is too slow)
 * and get max abs error, relative L2 error and cosine similarity in one pass. It belongs with the
 * operations' definitions (their references and tolerances), so it is vocabulary beside kernel.h:
 * implementations use it without reaching into the harness. */
#ifndef KB_VERIFY_H
#define KB_VERIFY_H

#include "kernels/kernel.h"

struct verify_acc {
    double max_abs, err_sq, ref_sq, got_sq, dot;
    long count;
    int nonfinite; /* a NaN or Inf in the output */
};

void verify_begin(struct verify_acc *a);
void verify_add(struct verify_acc *a, double got, double ref);
/* Fills acc (rows_checked/rows_total are the caller's) and judges rel L2 against tolerance. */
void verify_finish(const struct verify_acc *a, double tolerance, struct kb_accuracy *acc);

/* Chooses up to max_rows distinct row indices in [0, total) (all of them when total <=
 * max_rows): always the first and last, the rest spread evenly with seeded jitter so no
 * region of the output goes unchecked. Ascending; returns the count written to rows. */
long verify_sample_rows(long total, long max_rows, uint64_t seed, long *rows);

/* Default tolerance on relative L2 error for a kernel computing in this dtype. */
double verify_default_tolerance(enum kb_dtype t);

#endif
