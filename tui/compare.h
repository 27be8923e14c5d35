/* compare.h - two runs case by case: matching and the verdict on each pair.
 *
 * The verdict is a placeholder rule until the regression test of `kbench compare`
 * (Mann-Whitney U, bootstrap) is available: compare_judge() is the one place to swap it in.
 */
#ifndef KB_TUI_COMPARE_H
#define KB_TUI_COMPARE_H

#include "harness/store.h"

enum compare_verdict {
    CMP_SAME,      /* no significant change */
    CMP_SLOWER,    /* a regression */
    CMP_FASTER,    /* an improvement */
    CMP_FAILED,    /* one side is not a timed ok case */
    CMP_ONLY_BASE, /* the case is missing from the candidate */
    CMP_ONLY_CAND  /* a new case */
};
const char *compare_verdict_name(enum compare_verdict v);

struct compare_row {
    struct result_row base, cand; /* valid per has_base / has_cand */
    int has_base, has_cand;
    double ratio; /* candidate median / baseline median; NaN when not both timed */
    enum compare_verdict verdict;
};

/* The same case in two runs: kernel, impl, device, dtype, shape, threads and cache agree. */
int compare_same_case(const struct result_row *a, const struct result_row *b);

/* The verdict on one pair, and the ratio of medians. Until the real test lands: slower when
 * the ratio exceeds 1.05 and the 95% CIs of the two medians do not overlap; faster by the
 * mirror rule; otherwise the same. */
enum compare_verdict compare_judge(const struct result_row *base, const struct result_row *cand, double *ratio);

/* Pairs the cases of two runs (candidate order, then baseline cases the candidate lacks),
 * malloc'd into *out; returns the count or -1 when memory runs out. */
long compare_match(const struct result_row *base, long nbase, const struct result_row *cand, long ncand,
                   struct compare_row **out);

struct compare_summary {
    long matched, slower, faster, same, failed, only_base, only_cand;
    double geomean_ratio; /* over the pairs with a ratio; NaN when none */
};
void compare_summarize(const struct compare_row *rows, long n, struct compare_summary *out);

#endif
