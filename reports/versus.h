/* versus.h - two implementations inside one run, side by side: Google Benchmark's compare.py
 * "filters" mode. Each case of A is paired with the case of B that measures the same problem
 * (the same device, threads, cache state, and the same value of every shape axis both kernels
 * have; the dtype may differ, so an INT8 GEMM stands beside the float32 one), and the pair gets
 * the ratio of medians B / A with a 95% percentile-bootstrap confidence interval drawn from the
 * two cases' raw samples.
 */
#ifndef KB_REPORT_VERSUS_H
#define KB_REPORT_VERSUS_H

#include <stdio.h>

#include "harness/store.h"

struct versus_pair {
    const struct result_row *a, *b;
    double ratio;       /* median(B) / median(A): < 1, B is faster */
    double lo, hi;      /* its 95% CI; NaN with fewer than 3 samples on a side */
};

/* Pairs the timed cases of rows[0..n) matching pattern a (NAME or NAME@IMPL, shell patterns)
 * with those matching b. malloc's *out (free() it); returns the number of pairs, or -1 with the
 * reason in store_errmsg(s) (samples unreadable) or why (out of memory). */
long versus_pairs(struct store *s, const struct result_row *rows, long n, const char *a, const char *b,
                  struct versus_pair **out, char *why, size_t whylen);

/* What a pair shows: "B faster" (the CI wholly below 1), "A faster" (wholly above), "no
 * difference shown" (the CI holds 1), "too few samples" (no CI). */
const char *versus_verdict(const struct versus_pair *p);

/* The pairs as an aligned table: shape, median of A, of B, B/A with its CI, the verdict; then
 * the geometric mean of the ratios. */
void versus_table(FILE *out, const struct versus_pair *p, long n, const char *a, const char *b);

#endif
