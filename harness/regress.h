/* regress.h - the statistics behind regression verdicts: a rank test on raw samples, a bootstrap
 * confidence interval of the ratio of two medians, and change points in a series of medians.
 *
 * Pure functions over arrays: no store, no I/O. compare.h applies them to stored runs; the
 * history command applies the change-point search to a kernel's medians across runs.
 */
#ifndef KB_REGRESS_H
#define KB_REGRESS_H

#include <stddef.h>
#include <stdint.h>

/* Mann-Whitney U test of "candidate" against "base" (two independent samples). */
struct mann_whitney {
    double u;            /* U of the candidate: pairs (b, c) with c > b, ties counting one half */
    double p_greater;    /* one-sided p: candidate tends to be larger (slower, for latencies) */
    double p_less;       /* one-sided p: candidate tends to be smaller (faster) */
    double p_two_sided;  /* 2 × the smaller one-sided p, at most 1 */
    int exact;           /* 1: the exact null distribution (no ties, both samples <= 50);
                          * 0: normal approximation with tie and continuity corrections */
};

/* Returns 0, or -1 when a sample is empty, holds a NaN, or memory runs out. */
int regress_mann_whitney(const double *base, size_t n_base, const double *cand, size_t n_cand,
                         struct mann_whitney *out);

/* The smallest one-sided p the test can give for these sample sizes: every candidate sample on
 * one side of every base sample, 1 / C(n_base + n_cand, n_base) (ties only raise it). When it is
 * not below alpha, no data can make the test significant: 3 vs 4 samples give 1/35 = 0.029. */
double regress_mann_whitney_min_p(size_t n_base, size_t n_cand);

/* Bootstrap CI of median(cand) / median(base): both samples resampled independently, `resamples`
 * times (cut for very large samples to bound the work, never below 200), from a splitmix64
 * stream seeded by `seed`, so the same inputs and seed give the same interval. level is the
 * two-sided coverage (0.99). Returns 0, or -1 when a sample is empty or a median is not > 0. */
int regress_ratio_ci(const double *base, size_t n_base, const double *cand, size_t n_cand,
                     unsigned resamples, uint64_t seed, double level,
                     double *ratio, double *lo, double *hi);

/* One piece of a series as the change-point search fitted it: a flat level, or a linear trend
 * (a drift). Indices are into the series; end is exclusive. */
struct regress_segment {
    size_t start, end;
    int trend;             /* 0 flat, 1 a linear drift */
    double first, last;    /* the fitted values at start and at end - 1 */
    double slope;          /* per step; 0 for a flat segment */
};

/* Splits a series into flat and drifting segments: the partition that minimises the squared
 * residuals (in units of the noise) plus a penalty of 4·ln(n) per new segment and 3·ln(n) more
 * for a slope, found exactly by dynamic programming over all partitions. A flat segment spans at
 * least 2 points and a drift at least 3, so one odd run never makes a change on its own.
 * The noise is estimated robustly from successive differences (MAD, which a step or a steady
 * drift does not inflate), raised to the chosen model's residual standard deviation when that is
 * larger (and the search repeated), and never taken below min_sigma (same units as x): a series
 * that varies less than that is treated as varying that much.
 * Writes up to max segments and returns how many the series has (<= n), or -1 (n == 0, NaN,
 * memory). *sigma receives the noise used (may be NULL). */
int regress_segments(const double *x, size_t n, double min_sigma, struct regress_segment *out, size_t max,
                     double *sigma);

#endif
