/* regress.c - rank test, bootstrap ratio of medians, change points (see regress.h). */
#include "harness/regress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/stats.h"

/* The exact null distribution is used up to this size of each sample (and without ties); above
 * it the normal approximation is within a few per cent of the exact p at the levels used. */
#define EXACT_MAX 50
/* Change-point penalties, in units of ln(n) added to the squared residuals / noise²: per new
 * segment, and more for a slope. Higher than BIC's 2 because the noise is estimated from the
 * series itself (an estimate 25% low from 25 runs doubles every residual term): with these,
 * under 5% of noise-only series of 25 runs show a change (tests/test_regress.c). */
#define PENALTY_SEGMENT 4.0
#define PENALTY_SLOPE 3.0
/* Bootstrap work budget in drawn values (resamples × (n_base + n_cand)), as in stats.c. */
#define BOOTSTRAP_BUDGET 16000000.0
#define BOOTSTRAP_MIN_RESAMPLES 200u

/* ---- Mann-Whitney U ----------------------------------------------------------------------------- */

struct tagged { double v; int from_cand; };

static int cmp_tagged(const void *pa, const void *pb)
{
    double a = ((const struct tagged *)pa)->v, b = ((const struct tagged *)pb)->v;
    return (a > b) - (a < b);
}

/* Number of arrangements of m + n distinct values giving each U: the coefficients of the
 * Gaussian binomial [m+n choose m](q) = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i). Multiplying by
 * (1 - q^k) and dividing by (1 - q^i) are each one pass over the coefficients. Doubles hold the
 * counts (at most C(100, 50) ~ 1e29) to 16 digits, far beyond what a p-value needs. */
static double *u_distribution(size_t m, size_t n)
{
    size_t top = m * n;
    double *c = calloc(top + 1, sizeof *c);
    if (!c)
        return NULL;
    c[0] = 1.0;
    for (size_t i = 1; i <= m; i++) {
        size_t k = n + i;
        for (size_t u = top; u >= k; u--) /* × (1 - q^k), highest power first */
            c[u] -= c[u - k];
        for (size_t u = i; u <= top; u++) /* ÷ (1 - q^i): a running sum with stride i */
            c[u] += c[u - i];
    }
    return c;
}

/* P(U >= u) under the null, exactly. */
static double exact_upper_tail(size_t m_cand, size_t n_base, double u)
{
    double *c = u_distribution(m_cand, n_base);
    if (!c)
        return NAN;
    double total = 0, tail = 0;
    for (size_t k = 0; k <= m_cand * n_base; k++) {
        total += c[k];
        if ((double)k >= u - 1e-9)
            tail += c[k];
    }
    free(c);
    return tail / total;
}

int regress_mann_whitney(const double *base, size_t n_base, const double *cand, size_t n_cand,
                         struct mann_whitney *out)
{
    if (n_base == 0 || n_cand == 0)
        return -1;
    size_t n = n_base + n_cand;
    struct tagged *all = malloc(n * sizeof *all);
    if (!all)
        return -1;
    for (size_t i = 0; i < n_base; i++) {
        if (isnan(base[i]))
            goto bad;
        all[i] = (struct tagged){ base[i], 0 };
    }
    for (size_t i = 0; i < n_cand; i++) {
        if (isnan(cand[i]))
            goto bad;
        all[n_base + i] = (struct tagged){ cand[i], 1 };
    }
    qsort(all, n, sizeof *all, cmp_tagged);

    /* mid-ranks over runs of equal values; the tie term sum(t^3 - t) shrinks the variance */
    double rank_sum_cand = 0, tie_term = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        size_t in_cand = 0;
        while (j < n && all[j].v == all[i].v)
            in_cand += (size_t)all[j++].from_cand;
        double t = (double)(j - i), mid_rank = (double)(i + j + 1) / 2.0; /* ranks i+1 .. j */
        rank_sum_cand += mid_rank * (double)in_cand;
        tie_term += t * t * t - t;
        i = j;
    }
    free(all);

    double m = (double)n_cand, nb = (double)n_base, N = (double)n;
    double u = rank_sum_cand - m * (m + 1) / 2.0;
    memset(out, 0, sizeof *out);
    out->u = u;
    if (tie_term == 0 && n_base <= EXACT_MAX && n_cand <= EXACT_MAX) {
        out->exact = 1;
        out->p_greater = exact_upper_tail(n_cand, n_base, u);
        /* the null distribution is symmetric: P(U <= u) = P(U >= m·n − u) */
        out->p_less = exact_upper_tail(n_cand, n_base, m * nb - u);
        if (isnan(out->p_greater) || isnan(out->p_less))
            return -1;
    } else {
        double mean = m * nb / 2.0;
        double var = m * nb / 12.0 * ((N + 1) - tie_term / (N * (N - 1)));
        if (!(var > 0)) { /* every value equal: no evidence either way */
            out->p_greater = out->p_less = 1.0;
        } else {
            double sd = sqrt(var);
            out->p_greater = 0.5 * erfc((u - mean - 0.5) / sd / M_SQRT2);
            out->p_less = 0.5 * erfc((mean - u - 0.5) / sd / M_SQRT2);
        }
    }
    if (out->p_greater > 1)
        out->p_greater = 1;
    if (out->p_less > 1)
        out->p_less = 1;
    double two = 2 * fmin(out->p_greater, out->p_less);
    out->p_two_sided = two > 1 ? 1 : two;
    return 0;
bad:
    free(all);
    return -1;
}

double regress_mann_whitney_min_p(size_t n_base, size_t n_cand)
{
    if (n_base == 0 || n_cand == 0)
        return 1.0;
    double n = (double)n_base, m = (double)n_cand; /* log C(n + m, n) through lgamma: no overflow */
    return exp(lgamma(n + 1) + lgamma(m + 1) - lgamma(n + m + 1));
}

/* ---- bootstrap ratio of medians ----------------------------------------------------------------- */

int regress_ratio_ci(const double *base, size_t n_base, const double *cand, size_t n_cand,
                     unsigned resamples, uint64_t seed, double level,
                     double *ratio, double *lo, double *hi)
{
    if (n_base == 0 || n_cand == 0 || !(level > 0 && level < 1))
        return -1;
    double *sb = malloc(n_base * sizeof *sb), *sc = malloc(n_cand * sizeof *sc);
    size_t most = n_base > n_cand ? n_base : n_cand;
    uint32_t *counts = malloc(most * sizeof *counts);
    double *ratios = NULL;
    int rc = -1;
    if (!sb || !sc || !counts)
        goto out;
    stats_sorted_copy(base, n_base, sb);
    stats_sorted_copy(cand, n_cand, sc);
    double mb = stats_quantile_sorted(sb, n_base, 0.5), mc = stats_quantile_sorted(sc, n_cand, 0.5);
    if (!(mb > 0) || !(mc > 0))
        goto out;
    *ratio = mc / mb;
    double budget = BOOTSTRAP_BUDGET / (double)(n_base + n_cand);
    unsigned r = resamples;
    if ((double)r > budget)
        r = budget < BOOTSTRAP_MIN_RESAMPLES ? BOOTSTRAP_MIN_RESAMPLES : (unsigned)budget;
    if (r < BOOTSTRAP_MIN_RESAMPLES)
        r = BOOTSTRAP_MIN_RESAMPLES;
    if (!(ratios = malloc(r * sizeof *ratios)))
        goto out;
    uint64_t rng = seed;
    for (unsigned i = 0; i < r; i++) {
        double b = stats_bootstrap_median(sb, n_base, counts, &rng);
        double c = stats_bootstrap_median(sc, n_cand, counts, &rng);
        ratios[i] = c / b;
    }
    qsort(ratios, r, sizeof *ratios, stats_cmp_double);
    *lo = stats_quantile_sorted(ratios, r, (1 - level) / 2);
    *hi = stats_quantile_sorted(ratios, r, 1 - (1 - level) / 2);
    rc = 0;
out:
    free(sb);
    free(sc);
    free(counts);
    free(ratios);
    return rc;
}

/* ---- change points ------------------------------------------------------------------------------ */

/* Prefix sums that give any segment's flat and linear least-squares fit in O(1). */
struct prefix { double *s1, *s2, *st, *stt, *sxt; };

static double seg_sum(const double *p, size_t i, size_t j) { return p[j] - p[i]; }

/* Residual sum of squares of x[i..j) about its mean, or about its least-squares line. */
static double flat_sse(const struct prefix *p, size_t i, size_t j, double *level)
{
    double L = (double)(j - i), s1 = seg_sum(p->s1, i, j), s2 = seg_sum(p->s2, i, j);
    *level = s1 / L;
    double sse = s2 - s1 * s1 / L;
    return sse > 0 ? sse : 0;
}

static double line_sse(const struct prefix *p, size_t i, size_t j, double *intercept, double *slope)
{
    double L = (double)(j - i);
    double s1 = seg_sum(p->s1, i, j), s2 = seg_sum(p->s2, i, j);
    double st = seg_sum(p->st, i, j), stt = seg_sum(p->stt, i, j), sxt = seg_sum(p->sxt, i, j);
    double yy = s2 - s1 * s1 / L, tt = stt - st * st / L, ty = sxt - st * s1 / L;
    *slope = tt > 0 ? ty / tt : 0;
    *intercept = (s1 - *slope * st) / L; /* value at t = 0 (absolute index) */
    double sse = yy - (tt > 0 ? ty * ty / tt : 0);
    return sse > 0 ? sse : 0;
}

/* Noise of the series: the MAD of successive differences about their median, scaled to a normal
 * standard deviation (1.4826) and by 1/sqrt(2) because a difference carries two noises. A step
 * is one outlying difference and a drift shifts all differences alike: neither inflates it. */
static double robust_sigma(const double *x, size_t n)
{
    if (n < 3)
        return 0;
    size_t m = n - 1;
    double *d = malloc(m * sizeof *d);
    if (!d)
        return NAN;
    for (size_t i = 0; i < m; i++)
        d[i] = x[i + 1] - x[i];
    qsort(d, m, sizeof *d, stats_cmp_double);
    double med = stats_quantile_sorted(d, m, 0.5);
    for (size_t i = 0; i < m; i++)
        d[i] = fabs(d[i] - med);
    qsort(d, m, sizeof *d, stats_cmp_double);
    double mad = stats_quantile_sorted(d, m, 0.5);
    free(d);
    return 1.4826 * mad / M_SQRT2;
}

/* The least-cost partition of the whole series (dynamic programming over every cut): best[j] is
 * the cost of x[0..j), from[j] and kind[j] where its last segment starts and what it is. Also the
 * residual sum of squares of that partition and its number of fitted parameters. */
static void partition(const struct prefix *p, size_t n, double var, double *best, size_t *from, int *kind,
                      double *sse, int *params)
{
    double ln = log((double)(n > 2 ? n : 2));
    double pen_segment = PENALTY_SEGMENT * ln, pen_slope = PENALTY_SLOPE * ln;
    best[0] = -pen_segment; /* the first segment is not a change */
    for (size_t j = 1; j <= n; j++) {
        best[j] = INFINITY;
        for (size_t i = 0; i < j; i++) {
            size_t len = j - i;
            int whole = i == 0 && j == n;
            if (!isfinite(best[i]))
                continue;
            double a, b;
            if (len >= 2 || whole) {
                double c = best[i] + flat_sse(p, i, j, &a) / var + pen_segment;
                if (c < best[j]) { best[j] = c; from[j] = i; kind[j] = 0; }
            }
            if (len >= 3) {
                double c = best[i] + line_sse(p, i, j, &a, &b) / var + pen_segment + pen_slope;
                if (c < best[j]) { best[j] = c; from[j] = i; kind[j] = 1; }
            }
        }
    }
    *sse = 0;
    *params = 0;
    if (!isfinite(best[n]))
        return;
    for (size_t j = n; j > 0; j = from[j]) {
        double a, b;
        *sse += kind[j] ? line_sse(p, from[j], j, &a, &b) : flat_sse(p, from[j], j, &a);
        *params += 1 + kind[j];
    }
}

int regress_segments(const double *x, size_t n, double min_sigma, struct regress_segment *out, size_t max,
                     double *sigma_out)
{
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return -1;
    double sigma = robust_sigma(x, n);
    if (isnan(sigma))
        return -1;
    if (!(sigma >= min_sigma))
        sigma = min_sigma;
    if (!(sigma > 0)) { /* a perfectly constant series and no floor: any change is real */
        double scale = 0;
        for (size_t i = 0; i < n; i++)
            scale += fabs(x[i]) / (double)n;
        sigma = scale > 0 ? 1e-12 * scale : 1.0;
    }

    struct prefix p;
    double *buf = calloc(5 * (n + 1), sizeof *buf);
    double *best = malloc((n + 1) * sizeof *best);
    size_t *from = malloc((n + 1) * sizeof *from);
    int *kind = malloc((n + 1) * sizeof *kind);
    int rc = -1;
    if (!buf || !best || !from || !kind)
        goto out;
    p.s1 = buf; p.s2 = buf + (n + 1); p.st = buf + 2 * (n + 1); p.stt = buf + 3 * (n + 1); p.sxt = buf + 4 * (n + 1);
    for (size_t i = 0; i < n; i++) {
        double t = (double)i;
        p.s1[i + 1] = p.s1[i] + x[i];
        p.s2[i + 1] = p.s2[i] + x[i] * x[i];
        p.st[i + 1] = p.st[i] + t;
        p.stt[i + 1] = p.stt[i] + t * t;
        p.sxt[i + 1] = p.sxt[i] + x[i] * t;
    }
    /* Segment with the robust noise; if the chosen model's own residuals say the noise is larger
     * (the MAD of few differences can come out low), segment again with that: a split that only
     * fitted noise does not survive the honest noise level, a real step or drift does. */
    for (int pass = 0; pass < 4; pass++) {
        double sse;
        int params;
        partition(&p, n, sigma * sigma, best, from, kind, &sse, &params);
        if (!isfinite(best[n]) || n <= (size_t)params + 1)
            break;
        double resid = sqrt(sse / (double)(n - (size_t)params));
        if (!(resid > 1.05 * sigma))
            break;
        sigma = resid;
    }
    if (sigma_out)
        *sigma_out = sigma;
    if (!isfinite(best[n]))
        goto out;
    /* walk back from the end, then reverse into order */
    size_t count = 0;
    for (size_t j = n; j > 0; j = from[j])
        count++;
    size_t k = count;
    for (size_t j = n; j > 0; j = from[j]) {
        k--;
        if (k >= max)
            continue;
        struct regress_segment sgm = { .start = from[j], .end = j, .trend = kind[j] };
        if (kind[j]) {
            double a, b;
            line_sse(&p, from[j], j, &a, &b);
            sgm.slope = b;
            sgm.first = a + b * (double)from[j];
            sgm.last = a + b * (double)(j - 1);
        } else {
            double level;
            flat_sse(&p, from[j], j, &level);
            sgm.first = sgm.last = level;
        }
        out[k] = sgm;
    }
    rc = (int)count;
out:
    free(buf);
    free(best);
    free(from);
    free(kind);
    return rc;
}
