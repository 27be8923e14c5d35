/* stats.c - summary statistics of latency samples (see stats.h). */
#include "harness/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bootstrap work budget, in resampled draws (n × resamples). One draw costs a few ns (a PRNG
 * half-word, a multiply and a counter increment), so 1.6e7 draws stay near 50 ms on the slow
 * machines this runs on. Above the budget the resample count is cut to budget / n, but never
 * below BOOTSTRAP_MIN_RESAMPLES: fewer draws make the 2.5% and 97.5% percentiles themselves too
 * noisy to report. Only for n > 80000 samples does the floor take the cost past the budget. */
#define BOOTSTRAP_BUDGET 16000000.0
#define BOOTSTRAP_MIN_RESAMPLES 200u

/* splitmix64: the bootstrap only needs a fast, well-mixed stream that a seed reproduces; a
 * local copy keeps stats.o free of other objects. */
static uint64_t stats_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Ascending, with NaN after every number so a stray NaN cannot break qsort's ordering. */
int stats_cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b);
    return (a > b) - (a < b);
}

double stats_quantile_sorted(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return NAN;
    if (!(q > 0.0)) /* also catches NaN q */
        return sorted[0];
    if (q >= 1.0)
        return sorted[n - 1];
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)h;
    if (lo >= n - 1)
        return sorted[n - 1];
    double frac = h - (double)lo;
    return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

void stats_sorted_copy(const double *x, size_t n, double *out)
{
    if (n == 0)
        return;
    memcpy(out, x, n * sizeof *out);
    qsort(out, n, sizeof *out, stats_cmp_double);
}

/* Median of one bootstrap resample of `sorted`. Because the source is already sorted, the
 * resample's order statistics are the source values at the resample's sorted indices, so a
 * counting pass over drawn indices replaces a sort: O(n) per resample, no comparisons. */
double stats_bootstrap_median(const double *sorted, size_t n, uint32_t *counts, uint64_t *rng)
{
    memset(counts, 0, n * sizeof *counts);
    /* two 32-bit draws per 64-bit output; the multiply-shift maps each onto [0, n) with a bias
     * below n / 2^32, far under the bootstrap's own sampling error */
    for (size_t i = 0; i < n; i += 2) {
        uint64_t r = stats_rng_next(rng);
        counts[(size_t)(((r & 0xFFFFFFFFull) * (uint64_t)n) >> 32)]++;
        if (i + 1 < n)
            counts[(size_t)(((r >> 32) * (uint64_t)n) >> 32)]++;
    }
    /* type-7 median: the order statistics at ranks (n-1)/2 and n/2 (0-based) */
    size_t want_lo = (n - 1) / 2, want_hi = n / 2;
    size_t seen = 0;
    double lo = sorted[n - 1], hi = sorted[n - 1];
    int have_lo = 0;
    for (size_t k = 0; k < n; k++) {
        seen += counts[k];
        if (!have_lo && seen > want_lo) {
            lo = sorted[k];
            have_lo = 1;
        }
        if (seen > want_hi) {
            hi = sorted[k];
            break;
        }
    }
    return 0.5 * (lo + hi);
}

int stats_summarize(const double *x, size_t n, unsigned resamples, uint64_t seed,
                    struct kb_stats *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0 || n > UINT32_MAX)
        return -1;

    unsigned draws = resamples;
    if (draws > 0 && (double)n * draws > BOOTSTRAP_BUDGET) {
        double fit = BOOTSTRAP_BUDGET / (double)n;
        draws = fit < BOOTSTRAP_MIN_RESAMPLES ? BOOTSTRAP_MIN_RESAMPLES : (unsigned)fit;
        if (draws > resamples)
            draws = resamples;
    }

    /* one scratch block: the sorted samples, a work area (deviations for the MAD, then the
     * resample counters) and the bootstrap medians */
    size_t work_bytes = n * (sizeof(double) > sizeof(uint32_t) ? sizeof(double) : sizeof(uint32_t));
    char *block = malloc(n * sizeof(double) + work_bytes + (size_t)draws * sizeof(double));
    if (!block)
        return -1;
    double *sorted = (double *)block;
    double *work = (double *)(block + n * sizeof(double));
    double *medians = (double *)(block + n * sizeof(double) + work_bytes);

    stats_sorted_copy(x, n, sorted);
    out->n = n;
    out->min = sorted[0];
    out->max = sorted[n - 1];
    out->median = stats_quantile_sorted(sorted, n, 0.5);
    out->p5 = stats_quantile_sorted(sorted, n, 0.05);
    out->p95 = stats_quantile_sorted(sorted, n, 0.95);

    /* two passes: the deviations from the exact mean keep the variance accurate when the
     * spread is tiny next to the mean, as it is for steady timings */
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += sorted[i];
    out->mean = sum / (double)n;
    if (n > 1) {
        double ss = 0.0;
        for (size_t i = 0; i < n; i++) {
            double d = sorted[i] - out->mean;
            ss += d * d;
        }
        out->stddev = sqrt(ss / (double)(n - 1));
    }

    for (size_t i = 0; i < n; i++)
        work[i] = fabs(sorted[i] - out->median);
    qsort(work, n, sizeof *work, stats_cmp_double);
    out->mad = stats_quantile_sorted(work, n, 0.5);

    double fence_lo, fence_hi;
    stats_outlier_fences(sorted, n, &fence_lo, &fence_hi);
    for (size_t i = 0; i < n; i++)
        out->outliers += sorted[i] < fence_lo || sorted[i] > fence_hi;

    if (n < STATS_MIN_CI_SAMPLES) {
        /* one or two samples bound nothing: no interval rather than one that looks exact */
        out->ci_lo = out->ci_hi = out->noise = NAN;
        free(block);
        return 0;
    }
    if (draws == 0) {
        /* no bootstrap asked for: the order-statistic interval is the cheap honest substitute */
        stats_median_ci_order(sorted, n, 0.95, &out->ci_lo, &out->ci_hi);
    } else {
        uint64_t rng = seed;
        uint32_t *counts = (uint32_t *)work;
        for (unsigned b = 0; b < draws; b++)
            medians[b] = stats_bootstrap_median(sorted, n, counts, &rng);
        qsort(medians, draws, sizeof *medians, stats_cmp_double);
        out->ci_lo = stats_quantile_sorted(medians, draws, 0.025);
        out->ci_hi = stats_quantile_sorted(medians, draws, 0.975);
    }
    out->noise = out->median != 0.0 ? (out->ci_hi - out->ci_lo) / 2.0 / out->median : 0.0;

    free(block);
    return 0;
}

void stats_outlier_fences(const double *sorted, size_t n, double *lo, double *hi)
{
    if (n == 0) {
        *lo = *hi = NAN;
        return;
    }
    double q1 = stats_quantile_sorted(sorted, n, 0.25), q3 = stats_quantile_sorted(sorted, n, 0.75);
    double iqr = fmax(q3 - q1, 0.01 * fabs(stats_quantile_sorted(sorted, n, 0.5)));
    *lo = q1 - 3.0 * iqr;
    *hi = q3 + 3.0 * iqr;
}

/* Normal CDF at the continuity-corrected count: P(Binom(n, 1/2) <= k) for large n. */
static double binom_half_cdf_normal(size_t n, size_t k)
{
    double z = ((double)k + 0.5 - 0.5 * (double)n) / (0.5 * sqrt((double)n));
    return 0.5 * erfc(-z / sqrt(2.0));
}

/* Largest j >= 1 with P(Binom(n, 1/2) < j) <= tail, or 0 when even j = 1 fails. */
static size_t order_stat_rank(size_t n, double tail)
{
    size_t j_max = (n + 1) / 2; /* the interval may shrink to the median, never invert */
    if (n <= 1000) {
        /* exact: walk the pmf upwards in log space (2^-n underflows past n = 1074, and the
         * ratio recurrence avoids a lgamma per term) */
        double log_pmf = -(double)n * log(2.0), cdf = 0.0;
        size_t j = 0;
        for (size_t k = 0; k < j_max; k++) {
            cdf += exp(log_pmf); /* cdf = P(B <= k) = P(B < k + 1) */
            if (cdf > tail)
                break;
            j = k + 1;
            log_pmf += log((double)(n - k)) - log((double)(k + 1));
        }
        return j;
    }
    /* large n: the normal approximation is monotone in j, so bisect on it */
    size_t lo = 0, hi = j_max; /* invariant: lo satisfies (or is 0), hi + 1 fails or is capped */
    if (binom_half_cdf_normal(n, j_max - 1) <= tail)
        return j_max;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (binom_half_cdf_normal(n, mid - 1) <= tail)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

void stats_median_ci_order(const double *sorted, size_t n, double level, double *lo, double *hi)
{
    if (n == 0) {
        *lo = *hi = NAN;
        return;
    }
    *lo = sorted[0];
    *hi = sorted[n - 1];
    if (n < 6 || !(level < 1.0))
        return;
    double tail = level > 0.0 ? (1.0 - level) / 2.0 : 0.5;
    size_t j = order_stat_rank(n, tail);
    if (j == 0)
        return; /* too few samples for this level: the whole range is the honest answer */
    *lo = sorted[j - 1];
    *hi = sorted[n - j];
}
