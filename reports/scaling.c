/* scaling.c - log-log least squares and crossovers (scaling.h). */
#include "reports/scaling.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

double scaling_t95(int df)
{
    /* Exact quantiles for small df, where the normal approximation is poor. */
    static const double table[] = {
        0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    };
    if (df < 1)
        return NAN;
    if (df <= 30)
        return table[df];
    /* Cornish-Fisher expansion of t around the normal quantile: error < 1e-3 for df > 30. */
    double z = 1.959964, z3 = z * z * z, z5 = z3 * z * z;
    return z + (z3 + z) / (4.0 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96.0 * df * df);
}

int scaling_fit(const double *n, const double *t, int count, struct scaling_fit *out)
{
    double sx = 0, sy = 0, lo = INFINITY, hi = 0;
    int m = 0;
    for (int i = 0; i < count; i++) {
        if (!(n[i] > 0) || !(t[i] > 0) || !isfinite(n[i]) || !isfinite(t[i]))
            continue;
        lo = fmin(lo, n[i]);
        hi = fmax(hi, n[i]);
        sx += log(n[i]);
        sy += log(t[i]);
        m++;
    }
    if (m < 2)
        return -1;
    double mx = sx / m, my = sy / m, sxx = 0, sxy = 0, syy = 0;
    for (int i = 0; i < count; i++) {
        if (!(n[i] > 0) || !(t[i] > 0) || !isfinite(n[i]) || !isfinite(t[i]))
            continue;
        double dx = log(n[i]) - mx, dy = log(t[i]) - my;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if (sxx <= 0)
        return -1; /* every point at one N: no slope */
    out->points = m;
    out->n_lo = lo;
    out->n_hi = hi;
    out->exponent = sxy / sxx;
    out->log_coef = my - out->exponent * mx;
    double sse = syy - out->exponent * sxy;
    if (sse < 0)
        sse = 0; /* rounding on a perfect fit */
    out->r2 = syy > 0 ? 1.0 - sse / syy : 1.0;
    if (m >= 3) {
        double se = sqrt(sse / (m - 2) / sxx);
        double h = scaling_t95(m - 2) * se;
        out->exponent_lo = out->exponent - h;
        out->exponent_hi = out->exponent + h;
    } else {
        out->exponent_lo = out->exponent_hi = NAN;
    }
    return 0;
}

double scaling_predict(const struct scaling_fit *f, double n)
{
    return exp(f->log_coef + f->exponent * log(n));
}

double scaling_crossover_fit(const struct scaling_fit *a, const struct scaling_fit *b)
{
    double dp = a->exponent - b->exponent;
    if (fabs(dp) < 1e-9)
        return NAN;
    double logn = (b->log_coef - a->log_coef) / dp;
    if (!(logn >= 0) || logn > log(1e12))
        return NAN;
    return exp(logn);
}

enum scaling_meet scaling_crossover_judge(const struct scaling_fit *a, const struct scaling_fit *b, double *n)
{
    *n = NAN;
    if (a->points < SCALING_MIN_FIT_POINTS || b->points < SCALING_MIN_FIT_POINTS)
        return SCALING_MEET_TOO_FEW;
    double x = scaling_crossover_fit(a, b);
    if (isnan(x))
        return SCALING_MEET_NONE;
    *n = x;
    double lo = fmax(a->n_lo, b->n_lo), hi = fmin(a->n_hi, b->n_hi);
    return x >= lo && x <= hi ? SCALING_MEET_INSIDE : SCALING_MEET_EXTRAPOLATED;
}

void scaling_crossover_text(const struct scaling_fit *a, const struct scaling_fit *b, char *buf, unsigned long len)
{
    double x;
    switch (scaling_crossover_judge(a, b, &x)) {
    case SCALING_MEET_TOO_FEW:
        snprintf(buf, len, "none (%d-point fit)", a->points < b->points ? a->points : b->points);
        break;
    case SCALING_MEET_NONE: snprintf(buf, len, "none"); break;
    case SCALING_MEET_INSIDE: snprintf(buf, len, "%.0f", x); break;
    case SCALING_MEET_EXTRAPOLATED:
        snprintf(buf, len, "%.0f (extrapolated; measured %.0f to %.0f)", x, fmax(a->n_lo, b->n_lo),
                 fmin(a->n_hi, b->n_hi));
        break;
    }
}

/* The time of a series at exactly N, or NaN when the series has no point there. */
static double time_at(const double *n, const double *t, int count, double at)
{
    for (int i = 0; i < count; i++)
        if (n[i] == at && t[i] > 0 && isfinite(t[i]))
            return t[i];
    return NAN;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int scaling_crossovers(const double *n_a, const double *t_a, int count_a,
                       const double *n_b, const double *t_b, int count_b,
                       double *out, int max, int *b_faster_after)
{
    if (b_faster_after)
        *b_faster_after = 0;
    if (count_a <= 0 || count_b <= 0)
        return 0;
    /* The shared N values, ascending. */
    double *shared = malloc(sizeof *shared * (size_t)count_a);
    if (!shared)
        return 0;
    int ns = 0;
    for (int i = 0; i < count_a; i++) {
        if (!(n_a[i] > 0) || isnan(time_at(n_b, t_b, count_b, n_a[i])) || !(t_a[i] > 0))
            continue;
        int dup = 0;
        for (int j = 0; j < ns; j++)
            dup |= shared[j] == n_a[i];
        if (!dup)
            shared[ns++] = n_a[i];
    }
    qsort(shared, (size_t)ns, sizeof *shared, cmp_double);
    int found = 0;
    double prev_n = 0, prev_r = 0;
    for (int i = 0; i < ns; i++) {
        /* r > 0: b slower than a at this N. */
        double r = log(time_at(n_b, t_b, count_b, shared[i]) / time_at(n_a, t_a, count_a, shared[i]));
        if ((prev_r > 0 && r < 0) || (prev_r < 0 && r > 0)) {
            /* Linear in log N between the two points where the ratio changes sign. */
            double f = prev_r / (prev_r - r);
            double x = exp(log(prev_n) + f * (log(shared[i]) - log(prev_n)));
            if (found < max)
                out[found] = x;
            found++;
        }
        if (r != 0) { /* a tie decides nothing: interpolate between its neighbours */
            prev_n = shared[i];
            prev_r = r;
        }
        if (i == ns - 1 && b_faster_after)
            *b_faster_after = r < 0;
    }
    free(shared);
    return found;
}
