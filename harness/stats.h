/* stats.h - summary statistics of latency samples.
 *
 * Quantiles use linear interpolation between order statistics (Hyndman & Fan type 7, the
 * default of R and NumPy), so results can be checked against either tool.
 */
#ifndef KB_STATS_H
#define KB_STATS_H

#include <stddef.h>
#include <stdint.h>

struct kb_stats {
    size_t n;
    double median, mean, stddev; /* stddev: sample (n - 1) */
    double min, max, p5, p95;
    double mad;                  /* median absolute deviation, unscaled */
    double ci_lo, ci_hi;         /* 95% percentile-bootstrap CI of the median; NaN for n < 3 */
    double noise;                /* (ci_hi - ci_lo) / 2 / median: relative half-width; NaN for n < 3 */
    size_t outliers;             /* samples beyond Tukey's far-out fences (stats_outlier_fences) */
};

/* No confidence interval is formed from fewer samples than this: with one or two the "interval"
 * is the samples themselves, which says nothing about where the median lies. */
#define STATS_MIN_CI_SAMPLES 3

/* Quantile q in [0,1] of an ascending array of n > 0 values (type 7). */
double stats_quantile_sorted(const double *sorted, size_t n, double q);

/* Sorts a copy of x ascending into out (n values). */
void stats_sorted_copy(const double *x, size_t n, double *out);
/* qsort comparator for doubles, ascending. */
int stats_cmp_double(const void *a, const void *b);
/* The median of one bootstrap resample of an ascending array of n values, drawn with the
 * splitmix64 stream in *rng; counts is scratch for n counters. */
double stats_bootstrap_median(const double *sorted, size_t n, uint32_t *counts, uint64_t *rng);

/* Tukey's far-out fences of an ascending array: [Q1 - 3 IQR, Q3 + 3 IQR], the IQR taken as at least
 * 1% of the median so a timer's coarse steps (many equal samples, IQR 0) do not make every other
 * sample an outlier. */
void stats_outlier_fences(const double *sorted, size_t n, double *lo, double *hi);

/* Everything in struct kb_stats from n samples (ci_lo, ci_hi and noise NaN for n < 3); the bootstrap uses `resamples` draws seeded
 * by seed (deterministic). Returns 0, or -1 when n == 0 or memory runs out. */
int stats_summarize(const double *x, size_t n, unsigned resamples, uint64_t seed,
                    struct kb_stats *out);

/* Distribution-free confidence interval of the median from order statistics (binomial),
 * at the given level (0.95): cheap enough to call after every sample in the stopping rule.
 * sorted must be ascending; for n < 6 the interval is [min, max]. */
void stats_median_ci_order(const double *sorted, size_t n, double level, double *lo, double *hi);

#endif
