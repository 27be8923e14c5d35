/* compare.c - matching two runs' cases and judging each pair (see compare.h). */
#include "tui/compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *compare_verdict_name(enum compare_verdict v)
{
    switch (v) {
    case CMP_SAME: return "same";
    case CMP_SLOWER: return "SLOWER";
    case CMP_FASTER: return "faster";
    case CMP_FAILED: return "failed";
    case CMP_ONLY_BASE: return "gone";
    case CMP_ONLY_CAND: return "new";
    }
    return "?";
}

int compare_same_case(const struct result_row *a, const struct result_row *b)
{
    return strcmp(a->kernel, b->kernel) == 0 && strcmp(a->impl, b->impl) == 0 && strcmp(a->device, b->device) == 0 &&
           strcmp(a->dtype, b->dtype) == 0 && memcmp(&a->shape, &b->shape, sizeof a->shape) == 0 &&
           a->threads == b->threads && a->cold_cache == b->cold_cache;
}

static int timed(const struct result_row *r)
{
    return strcmp(r->status, "ok") == 0 && isfinite(r->stats.median) && r->stats.median > 0;
}

enum compare_verdict compare_judge(const struct result_row *base, const struct result_row *cand, double *ratio)
{
    *ratio = NAN;
    if (!timed(base) || !timed(cand))
        return CMP_FAILED;
    *ratio = cand->stats.median / base->stats.median;
    const double threshold = 1.05;
    if (*ratio > threshold && cand->stats.ci_lo > base->stats.ci_hi)
        return CMP_SLOWER;
    if (*ratio < 1 / threshold && cand->stats.ci_hi < base->stats.ci_lo)
        return CMP_FASTER;
    return CMP_SAME;
}

long compare_match(const struct result_row *base, long nbase, const struct result_row *cand, long ncand,
                   struct compare_row **out)
{
    *out = NULL;
    struct compare_row *rows = calloc((size_t)(nbase + ncand) + 1, sizeof *rows);
    char *used = calloc((size_t)nbase + 1, 1);
    if (!rows || !used) {
        free(rows);
        free(used);
        return -1;
    }
    long n = 0;
    for (long c = 0; c < ncand; c++) {
        struct compare_row *r = &rows[n++];
        r->cand = cand[c];
        r->has_cand = 1;
        r->ratio = NAN;
        r->verdict = CMP_ONLY_CAND;
        for (long b = 0; b < nbase; b++)
            if (!used[b] && compare_same_case(&base[b], &cand[c])) {
                used[b] = 1;
                r->base = base[b];
                r->has_base = 1;
                r->verdict = compare_judge(&r->base, &r->cand, &r->ratio);
                break;
            }
    }
    for (long b = 0; b < nbase; b++)
        if (!used[b]) {
            struct compare_row *r = &rows[n++];
            r->base = base[b];
            r->has_base = 1;
            r->ratio = NAN;
            r->verdict = CMP_ONLY_BASE;
        }
    free(used);
    *out = rows;
    return n;
}

void compare_summarize(const struct compare_row *rows, long n, struct compare_summary *out)
{
    memset(out, 0, sizeof *out);
    double log_sum = 0;
    long ratios = 0;
    for (long i = 0; i < n; i++) {
        const struct compare_row *r = &rows[i];
        out->matched += r->has_base && r->has_cand;
        switch (r->verdict) {
        case CMP_SAME: out->same++; break;
        case CMP_SLOWER: out->slower++; break;
        case CMP_FASTER: out->faster++; break;
        case CMP_FAILED: out->failed++; break;
        case CMP_ONLY_BASE: out->only_base++; break;
        case CMP_ONLY_CAND: out->only_cand++; break;
        }
        if (isfinite(r->ratio) && r->ratio > 0) {
            log_sum += log(r->ratio);
            ratios++;
        }
    }
    out->geomean_ratio = ratios ? exp(log_sum / ratios) : NAN;
}
