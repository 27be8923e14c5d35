/* versus.c - two implementations of one run side by side (versus.h). */
#include "reports/versus.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness/stats.h"
#include "reports/report.h"
#include "reports/reports.h"

enum { RESAMPLES = 2000 };

static uint64_t axes_of(const struct result_row *r)
{
    const struct kb_kernel *k = kb_registry_find(r->kernel, r->impl);
    return k ? kb_kernel_axes(k) : ~r->null_axes;
}

/* The same problem: device, threads, cache, and every shape axis both kernels have. */
static int same_problem(const struct result_row *a, const struct result_row *b)
{
    uint64_t both = axes_of(a) & axes_of(b);
    for (int x = 0; x < KB_AXIS_COUNT; x++)
        if ((both & KB_AXIS_BIT(x)) &&
            kb_shape_get(&a->shape, (enum kb_axis)x) != kb_shape_get(&b->shape, (enum kb_axis)x))
            return 0;
    return strcmp(a->device, b->device) == 0 && a->threads == b->threads && a->cold_cache == b->cold_cache;
}

static int timed(const struct result_row *r)
{
    return strcmp(r->status, "ok") == 0 && r->stats.median > 0 && isfinite(r->stats.median);
}

/* The 95% percentile-bootstrap CI of median(B) / median(A) from the raw samples (a fixed seed:
 * the same run gives the same interval). */
static int ratio_ci(struct store *s, const struct versus_pair *p, double *lo, double *hi)
{
    *lo = *hi = NAN;
    double *xa = NULL, *xb = NULL;
    long na = store_get_samples(s, p->a->case_id, &xa), nb = store_get_samples(s, p->b->case_id, &xb);
    if (na < 0 || nb < 0) {
        free(xa);
        free(xb);
        return -1;
    }
    if (na >= 3 && nb >= 3) {
        double *r = malloc(sizeof *r * RESAMPLES);
        uint32_t *ca = calloc((size_t)na, sizeof *ca), *cb = calloc((size_t)nb, sizeof *cb);
        if (r && ca && cb) {
            qsort(xa, (size_t)na, sizeof *xa, stats_cmp_double);
            qsort(xb, (size_t)nb, sizeof *xb, stats_cmp_double);
            uint64_t rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)p->a->case_id ^ ((uint64_t)p->b->case_id << 32);
            for (int i = 0; i < RESAMPLES; i++)
                r[i] = stats_bootstrap_median(xb, (size_t)nb, cb, &rng) / stats_bootstrap_median(xa, (size_t)na, ca, &rng);
            qsort(r, RESAMPLES, sizeof *r, stats_cmp_double);
            *lo = stats_quantile_sorted(r, RESAMPLES, 0.025);
            *hi = stats_quantile_sorted(r, RESAMPLES, 0.975);
        }
        free(r);
        free(ca);
        free(cb);
    }
    free(xa);
    free(xb);
    return 0;
}

long versus_pairs(struct store *s, const struct result_row *rows, long n, const char *a, const char *b,
                  struct versus_pair **out, char *why, size_t whylen)
{
    *out = NULL;
    long np = 0;
    struct versus_pair *v = calloc((size_t)n + 1, sizeof *v);
    if (!v) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    for (long i = 0; i < n; i++) {
        /* a case both patterns match is B's: "moe.layer" against "moe.layer@cpu.fused" pairs the
         * other implementations with the fused one */
        if (!timed(&rows[i]) || !report_row_matches(&rows[i], a) || report_row_matches(&rows[i], b))
            continue;
        for (long j = 0; j < n; j++) {
            if (j == i || !timed(&rows[j]) || !report_row_matches(&rows[j], b) || !same_problem(&rows[i], &rows[j]))
                continue;
            struct versus_pair *p = &v[np];
            p->a = &rows[i];
            p->b = &rows[j];
            p->ratio = rows[j].stats.median / rows[i].stats.median;
            if (ratio_ci(s, p, &p->lo, &p->hi) != 0) {
                snprintf(why, whylen, "%s", store_errmsg(s));
                free(v);
                return -1;
            }
            np++;
            break; /* one partner per case of A: the first B that measures the same problem */
        }
    }
    *out = v;
    return np;
}

const char *versus_verdict(const struct versus_pair *p)
{
    if (!isfinite(p->lo) || !isfinite(p->hi))
        return "too few samples";
    if (p->hi < 1)
        return "B faster";
    if (p->lo > 1)
        return "A faster";
    return "no difference shown";
}

/* The row labels of pair p: A's and B's NAME@IMPL (B's dtype when it differs) and the shape. */
static void pair_labels(const struct versus_pair *p, char *an, size_t alen, char *bn, size_t blen, char *shape, size_t slen)
{
    const int other_dtype = strcmp(p->a->dtype, p->b->dtype) != 0;
    snprintf(an, alen, "%s@%s", p->a->kernel, p->a->impl);
    snprintf(bn, blen, "%s@%s%s%s", p->b->kernel, p->b->impl, other_dtype ? " " : "", other_dtype ? p->b->dtype : "");
    report_shape_text(p->a, shape, slen);
}

void versus_table(FILE *out, const struct versus_pair *p, long n, const char *a, const char *b)
{
    /* columns as wide as their longest label (peers' names run long: attention.sdpa@cuda.torch-cudnn) */
    int wa = 1, wb = 1, ws = 5;
    for (long i = 0; i < n; i++) {
        char an[96], bn[96], shape[192];
        pair_labels(&p[i], an, sizeof an, bn, sizeof bn, shape, sizeof shape);
        wa = (int)strlen(an) > wa ? (int)strlen(an) : wa;
        wb = (int)strlen(bn) > wb ? (int)strlen(bn) : wb;
        ws = (int)strlen(shape) > ws ? (int)strlen(shape) : ws;
    }
    fprintf(out, "A = %s, B = %s: ratio = median(B) / median(A), < 1 where B is faster; 95%% bootstrap CI\n", a, b);
    fprintf(out, "%-*s %-*s %-*s %10s %10s %7s %-15s %s\n", wa, "A", wb, "B", ws, "shape", "A median", "B median", "B/A",
            "95% CI", "verdict");
    double log_sum = 0;
    int logs = 0;
    for (long i = 0; i < n; i++) {
        char an[96], bn[96], shape[192], ma[32], mb[32], ci[48] = "-";
        pair_labels(&p[i], an, sizeof an, bn, sizeof bn, shape, sizeof shape);
        report_format_seconds(p[i].a->stats.median, ma, sizeof ma);
        report_format_seconds(p[i].b->stats.median, mb, sizeof mb);
        if (isfinite(p[i].lo))
            snprintf(ci, sizeof ci, "%.3f-%.3f", p[i].lo, p[i].hi);
        fprintf(out, "%-*s %-*s %-*s %10s %10s %7.3f %-15s %s\n", wa, an, wb, bn, ws, shape, ma, mb, p[i].ratio, ci,
                versus_verdict(&p[i]));
        if (p[i].ratio > 0) {
            log_sum += log(p[i].ratio);
            logs++;
        }
    }
    if (logs)
        fprintf(out, "geometric mean of B/A over %d pair%s: %.3f\n", logs, logs == 1 ? "" : "s", exp(log_sum / logs));
}
