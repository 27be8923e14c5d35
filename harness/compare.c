/* compare.c - case-by-case comparison of two stored runs (see compare.h). */
#include "harness/compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/plan.h"
#include "harness/regress.h"
#include "harness/stats.h"

#define MAX_SUITE_GROUPS 64

static const char *const verdict_names[VERDICT_COUNT] = {
    "same", "regressed", "inconclusive", "improved", "new", "missing", "newly_failing", "still_failing", "fixed",
    "accuracy_drop", "untimed",
};

const char *compare_verdict_name(enum compare_verdict v)
{
    return (unsigned)v < VERDICT_COUNT ? verdict_names[v] : "?";
}

int compare_verdict_fails(enum compare_verdict v, const struct compare_options *o)
{
    if (v == VERDICT_INCONCLUSIVE)
        return !o->allow_inconclusive;
    return v == VERDICT_REGRESSED || v == VERDICT_NEWLY_FAILING || v == VERDICT_ACCURACY_DROP;
}

int compare_run_incomplete(const struct run_row *run)
{
    return strcmp(run->status, "complete") != 0;
}

void compare_matched_problem(const struct compare_result *r, char *buf, size_t len)
{
    if (!r->summary.too_few_matched)
        snprintf(buf, len, "%s", "");
    else if (r->summary.matched == 0)
        snprintf(buf, len, "no case in common");
    else
        snprintf(buf, len, "%d of %d case%s in both runs, under --min-matched %g", r->summary.matched,
                 r->summary.total, r->summary.total == 1 ? "" : "s", r->options.min_matched);
}

void compare_options_default(struct compare_options *o)
{
    memset(o, 0, sizeof *o);
    o->alpha = 0.01;
    o->threshold = 0.05;
    o->accuracy_slack = 0.1;
    o->resamples = 2000;
    o->min_matched = 0;
    o->seed = 0x6b62656e63686d70ull; /* any fixed value: verdicts must not change between calls */
}

static int push_override(struct compare_options *o, const char *pattern, double threshold, char *err,
                         size_t errlen)
{
    if (o->n_overrides == COMPARE_OVERRIDES_MAX) {
        snprintf(err, errlen, "more than %d threshold overrides", COMPARE_OVERRIDES_MAX);
        return -1;
    }
    if (strlen(pattern) >= sizeof o->overrides[0].pattern || !*pattern) {
        snprintf(err, errlen, "bad kernel pattern '%s' for a threshold", pattern);
        return -1;
    }
    struct compare_threshold *t = &o->overrides[o->n_overrides++];
    snprintf(t->pattern, sizeof t->pattern, "%s", pattern);
    t->threshold = threshold;
    return 0;
}

int compare_add_override(struct compare_options *o, const char *spec, char *err, size_t errlen)
{
    const char *eq = strrchr(spec, '=');
    char pattern[96], *end;
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof pattern) {
        snprintf(err, errlen, "bad threshold '%s' (expected KERNEL=FRACTION, e.g. attention.flash=0.08)", spec);
        return -1;
    }
    memcpy(pattern, spec, (size_t)(eq - spec));
    pattern[eq - spec] = '\0';
    double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || !(v > 0 && v < 10)) {
        snprintf(err, errlen, "bad threshold '%s' (expected a fraction above 0, e.g. 0.08 for 8%%)", eq + 1);
        return -1;
    }
    return push_override(o, pattern, v, err, errlen);
}

int compare_add_suite_thresholds(struct compare_options *o, const char *suite_path, char *err, size_t errlen)
{
    static struct plan_spec specs[MAX_SUITE_GROUPS];
    struct plan_spec base;
    plan_spec_default(&base);
    int n = plan_suite_load(suite_path, &base, specs, MAX_SUITE_GROUPS, NULL, 0, err, errlen);
    if (n < 0)
        return -1;
    for (int g = 0; g < n; g++) {
        if (!(specs[g].threshold > 0))
            continue;
        for (int k = 0; k < specs[g].n_kernels; k++)
            if (push_override(o, specs[g].kernels[k], specs[g].threshold, err, errlen) != 0)
                return -1;
    }
    return 0;
}

double compare_threshold_for(const struct compare_options *o, const char *kernel, const char *impl)
{
    struct kb_kernel k = { .name = kernel, .impl = impl };
    double t = o->threshold;
    for (int i = 0; i < o->n_overrides; i++)
        if (kb_kernel_matches(&k, o->overrides[i].pattern))
            t = o->overrides[i].threshold;
    return t;
}

void compare_case_label(const struct compare_case *c, char *buf, size_t len)
{
    char shape[96];
    plan_shape_string(&c->shape, shape, sizeof shape);
    snprintf(buf, len, "%s@%s %s %s %s t=%d%s", c->kernel, c->impl, c->device, c->dtype, shape, c->threads,
             c->cold_cache ? " cold" : "");
}

/* ---- loading ------------------------------------------------------------------------------------ */

struct rows { struct result_row *v; size_t n, cap; };

static int collect(const struct result_row *r, void *ctx)
{
    struct rows *rows = ctx;
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 64;
        struct result_row *v = realloc(rows->v, cap * sizeof *v);
        if (!v)
            return 1;
        rows->v = v;
        rows->cap = cap;
    }
    rows->v[rows->n++] = *r;
    return 0;
}

int compare_same_case(const struct result_row *a, const struct result_row *b)
{
    return strcmp(a->kernel, b->kernel) == 0 && strcmp(a->impl, b->impl) == 0 &&
           strcmp(a->device, b->device) == 0 && strcmp(a->dtype, b->dtype) == 0 &&
           memcmp(&a->shape, &b->shape, sizeof a->shape) == 0 && a->threads == b->threads && a->cold_cache == b->cold_cache;
}

static int same_identity(const struct compare_case *c, const struct result_row *r)
{
    struct result_row id = { .shape = c->shape, .threads = c->threads, .cold_cache = c->cold_cache };
    snprintf(id.kernel, sizeof id.kernel, "%s", c->kernel);
    snprintf(id.impl, sizeof id.impl, "%s", c->impl);
    snprintf(id.device, sizeof id.device, "%s", c->device);
    snprintf(id.dtype, sizeof id.dtype, "%s", c->dtype);
    return compare_same_case(&id, r);
}

static int is_failure(const char *status)
{
    return strcmp(status, "ok") != 0 && strcmp(status, "skipped") != 0;
}

static void fill_side(const struct result_row *r, int64_t *id, char *status, size_t *n, double *median,
                      double *noise, double *rel_err)
{
    *id = r->case_id;
    snprintf(status, 16, "%s", r->status);
    *n = r->stats.n;
    *median = strcmp(r->status, "ok") == 0 ? r->stats.median : NAN;
    *noise = r->stats.noise;
    *rel_err = r->verified ? r->rel_l2_err : NAN;
}

static void init_case(struct compare_case *c, const struct result_row *id)
{
    memset(c, 0, sizeof *c);
    snprintf(c->kernel, sizeof c->kernel, "%s", id->kernel);
    snprintf(c->impl, sizeof c->impl, "%s", id->impl);
    snprintf(c->device, sizeof c->device, "%s", id->device);
    snprintf(c->dtype, sizeof c->dtype, "%s", id->dtype);
    c->shape = id->shape;
    c->threads = id->threads;
    c->cold_cache = id->cold_cache;
    c->base_median = c->cand_median = c->base_noise = c->cand_noise = NAN;
    c->base_err = c->cand_err = c->tolerance = NAN;
    c->ratio = c->ratio_lo = c->ratio_hi = c->p_slower = c->p_faster = c->p_min = c->clock_ratio = NAN;
    c->base_min_samples = c->cand_min_samples = c->base_set_aside = c->cand_set_aside = -1;
}

/* ---- judging ------------------------------------------------------------------------------------ */

static double nz(double v) { return isnan(v) ? 0 : v; }

/* Fewer samples than this on a side and no interval is formed (shown n/a), so nothing is decided. */
#define MIN_SAMPLES_FOR_CI 3

/* The median of the products time × clock, or NaN when a sample's clock is unknown. */
static double clocked_median(const double *t, const double *mhz, size_t n)
{
    double *w = malloc(n * sizeof *w);
    if (!w)
        return NAN;
    double m = NAN;
    size_t i = 0;
    for (; i < n && mhz[i] > 0 && isfinite(mhz[i]); i++)
        w[i] = t[i] * mhz[i];
    if (i == n) {
        qsort(w, n, sizeof *w, stats_cmp_double);
        m = stats_quantile_sorted(w, n, 0.5);
    }
    free(w);
    return m;
}

/* Where both runs stored the SM clock of every sample: does the change survive normalising each
 * sample's time by its clock (time × clock: cycles, up to a constant)? A kernel that is slower
 * only because the clock dropped (throttling, a different power cap) does not. */
static void clock_note(struct compare_case *c, const double *bs, const double *bclk, size_t nb, const double *cs,
                       const double *cclk, size_t nc)
{
    double mb = clocked_median(bs, bclk, nb), mc = clocked_median(cs, cclk, nc);
    if (!(mb > 0) || !(mc > 0))
        return;
    c->clock_ratio = mc / mb;
    double change = c->ratio - 1, normalised = c->clock_ratio - 1;
    const char *verdict = "";
    int judged_change = c->verdict == VERDICT_REGRESSED || c->verdict == VERDICT_IMPROVED ||
                        (c->verdict == VERDICT_INCONCLUSIVE && fabs(change) > c->threshold);
    if (judged_change)
        verdict = (change > 0 ? normalised > c->threshold : -normalised > c->threshold)
                      ? ": the change survives clock normalisation"
                      : ": the change does not survive clock normalisation (the SM clock moved)";
    snprintf(c->note, sizeof c->note, "time x SM clock %+.1f%% (time %+.1f%%)%s", 100 * normalised, 100 * change,
             verdict);
}

/* A side that stopped short of the minimum its run asked for (e.g. its throttled samples were set
 * aside and no more could be taken) is not judged at all. */
static int short_of_minimum(struct compare_case *c)
{
    const char *side = NULL;
    size_t n = 0;
    long min = 0, aside = 0;
    if (c->base_min_samples > 0 && c->base_n < (size_t)c->base_min_samples) {
        side = "base";
        n = c->base_n, min = c->base_min_samples, aside = c->base_set_aside;
    } else if (c->cand_min_samples > 0 && c->cand_n < (size_t)c->cand_min_samples) {
        side = "candidate";
        n = c->cand_n, min = c->cand_min_samples, aside = c->cand_set_aside;
    }
    if (!side)
        return 0;
    c->verdict = VERDICT_INCONCLUSIVE;
    char why[64] = "";
    if (aside > 0)
        snprintf(why, sizeof why, " (%ld throttled sample%s set aside)", aside, aside == 1 ? "" : "s");
    snprintf(c->reason, sizeof c->reason, "the %s has %zu of its minimum %ld samples%s: not judged on too few",
             side, n, min, why);
    return 1;
}

/* The verdict from the samples: the rule in compare.h. */
static void decide(struct compare_case *c, const struct compare_options *o, size_t nb, size_t nc)
{
    double change = c->ratio - 1, noise = nz(c->base_noise) + nz(c->cand_noise);
    int have_ci = nb >= MIN_SAMPLES_FOR_CI && nc >= MIN_SAMPLES_FOR_CI;
    int test_can = c->p_min < o->alpha; /* can the U test reach alpha at all with these counts? */
    int slower = (test_can && c->p_slower < o->alpha) || (have_ci && c->ratio_lo - 1 > c->threshold);
    int faster = (test_can && c->p_faster < o->alpha) || (have_ci && 1 - c->ratio_hi > c->threshold);
    char ci[48] = "CI n/a";
    if (have_ci)
        snprintf(ci, sizeof ci, "CI %+.1f%%..%+.1f%%", 100 * (c->ratio_lo - 1), 100 * (c->ratio_hi - 1));
    if (change > c->threshold && change > noise && slower) {
        c->verdict = VERDICT_REGRESSED;
        snprintf(c->reason, sizeof c->reason, "%.1f%% slower (%s, p=%.2g): above the %.1f%% threshold "
                 "and the runs' noise (%.1f%%)", 100 * change, ci, c->p_slower, 100 * c->threshold, 100 * noise);
    } else if (-change > c->threshold && -change > noise && faster) {
        c->verdict = VERDICT_IMPROVED;
        snprintf(c->reason, sizeof c->reason, "%.1f%% faster (%s, p=%.2g)", -100 * change, ci, c->p_faster);
    } else if (change > c->threshold) {
        /* a slowdown beyond the threshold that nothing here can confirm or rule out (too few
         * samples for the test, or samples too noisy for it and the interval): failing it is
         * safer than passing it, and the way out is more or quieter samples, not a laxer gate */
        c->verdict = VERDICT_INCONCLUSIVE;
        if (test_can)
            snprintf(c->reason, sizeof c->reason, "%.1f%% slower, above the %.1f%% threshold, but not shown: "
                     "%s reaches below it and p=%.2g is not under %g (the runs' noise %.1f%%): measure more "
                     "or quieter samples", 100 * change, 100 * c->threshold, ci, c->p_slower, o->alpha, 100 * noise);
        else if (!have_ci)
            snprintf(c->reason, sizeof c->reason, "%.1f%% slower, above the %.1f%% threshold, but %zu and %zu "
                     "samples cannot decide it (3 a side at least): measure more samples", 100 * change,
                     100 * c->threshold, nb, nc);
        else
            snprintf(c->reason, sizeof c->reason, "%.1f%% slower, above the %.1f%% threshold, but not shown: "
                     "%s reaches below it, and with %zu and %zu samples the U test cannot reach p < %g "
                     "(smallest p %.2g): measure more samples", 100 * change, 100 * c->threshold, ci, nb, nc,
                     o->alpha, c->p_min);
    } else {
        c->verdict = VERDICT_SAME;
        /* only a change within the threshold or a speed-up reaches here */
        const char *why = fabs(change) <= c->threshold ? "within the threshold"
                          : -change <= noise            ? "faster, but within the runs' noise"
                                                        : "faster, but not shown to be";
        snprintf(c->reason, sizeof c->reason, "%+.1f%% (p slower=%.2g, faster=%.2g): %s", 100 * change, c->p_slower,
                 c->p_faster, why);
    }
}

int compare_judge_samples(struct compare_case *c, const struct compare_options *o, const double *bs, size_t nb,
                          const double *cs, size_t nc)
{
    struct mann_whitney mw;
    if (regress_mann_whitney(bs, nb, cs, nc, &mw) != 0 ||
        regress_ratio_ci(bs, nb, cs, nc, o->resamples, o->seed, 1 - o->alpha, &c->ratio, &c->ratio_lo,
                         &c->ratio_hi) != 0) {
        c->verdict = VERDICT_UNTIMED;
        snprintf(c->reason, sizeof c->reason, "samples unusable for the tests (empty, NaN or non-positive)");
        return -1;
    }
    if (nb < MIN_SAMPLES_FOR_CI || nc < MIN_SAMPLES_FOR_CI) /* no interval from fewer than 3 */
        c->ratio_lo = c->ratio_hi = NAN;
    c->p_slower = mw.p_greater;
    c->p_faster = mw.p_less;
    c->p_min = regress_mann_whitney_min_p(nb, nc);
    decide(c, o, nb, nc);
    return 0;
}

/* The timing verdict of a case timed in both runs. */
static int judge_timing(struct store *s, struct compare_case *c, const struct compare_options *o, char *err,
                        size_t errlen)
{
    double *bs = NULL, *cs = NULL, *bclk = NULL, *cclk = NULL;
    long nb = store_get_samples_clocked(s, c->base_case, &bs, &bclk);
    long nc = nb < 0 ? -1 : store_get_samples_clocked(s, c->cand_case, &cs, &cclk);
    int rc = -1;
    if (nb < 0 || nc < 0) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        goto out;
    }
    if (nb == 0 || nc == 0) {
        c->verdict = VERDICT_UNTIMED;
        snprintf(c->reason, sizeof c->reason, "no raw samples stored in the %s run", nb == 0 ? "base" : "candidate");
        rc = 0;
        goto out;
    }
    if (compare_judge_samples(c, o, bs, (size_t)nb, cs, (size_t)nc) != 0) {
        rc = 0;
        goto out;
    }
    short_of_minimum(c); /* a side short of its minimum is not judged: its verdict replaces decide's */
    clock_note(c, bs, bclk, (size_t)nb, cs, cclk, (size_t)nc);
    rc = 0;
out:
    free(bs);
    free(cs);
    free(bclk);
    free(cclk);
    return rc;
}

/* Accuracy first where it applies: a kernel that got less accurate has regressed whatever its
 * speed. The slack is a fraction of the tolerance, so it scales with what the kernel promises. */
static int accuracy_dropped(struct compare_case *c, const struct compare_options *o)
{
    if (isnan(c->base_err) || isnan(c->cand_err) || !(c->tolerance > 0))
        return 0;
    double grew = c->cand_err - c->base_err;
    if (!(grew > o->accuracy_slack * c->tolerance))
        return 0;
    snprintf(c->reason, sizeof c->reason, "relative L2 error %.3g -> %.3g: grew by %.0f%% of the tolerance %.3g",
             c->base_err, c->cand_err, 100 * grew / c->tolerance, c->tolerance);
    return 1;
}

static int judge(struct store *s, struct compare_case *c, const struct compare_options *o, char *err, size_t errlen)
{
    c->threshold = compare_threshold_for(o, c->kernel, c->impl);
    if (!c->base_case) {
        c->verdict = VERDICT_NEW;
        snprintf(c->reason, sizeof c->reason, "not in the base run (%s)", c->cand_status);
        return 0;
    }
    if (!c->cand_case) {
        c->verdict = VERDICT_MISSING;
        snprintf(c->reason, sizeof c->reason, "not in the candidate run");
        return 0;
    }
    int bf = is_failure(c->base_status), cf = is_failure(c->cand_status);
    if (cf) {
        c->verdict = bf ? VERDICT_STILL_FAILING : VERDICT_NEWLY_FAILING;
        snprintf(c->reason, sizeof c->reason, "%s%s%s", c->cand_status, *c->cand_error ? ": " : "", c->cand_error);
        return 0;
    }
    if (bf) {
        c->verdict = VERDICT_FIXED;
        snprintf(c->reason, sizeof c->reason, "%s in the base, %s now", c->base_status, c->cand_status);
        return 0;
    }
    if (accuracy_dropped(c, o)) {
        c->verdict = VERDICT_ACCURACY_DROP;
        return 0;
    }
    if (isnan(c->base_median) || isnan(c->cand_median)) {
        c->verdict = VERDICT_UNTIMED;
        snprintf(c->reason, sizeof c->reason, "%s in the base, %s in the candidate", c->base_status, c->cand_status);
        return 0;
    }
    struct case_sampling bsm, csm;
    if (store_get_case_sampling(s, c->base_case, &bsm) != 0 || store_get_case_sampling(s, c->cand_case, &csm) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        return -1;
    }
    c->base_min_samples = bsm.min_samples;
    c->base_set_aside = bsm.set_aside;
    c->cand_min_samples = csm.min_samples;
    c->cand_set_aside = csm.set_aside;
    return judge_timing(s, c, o, err, errlen);
}

int compare_runs(struct store *s, int64_t base, int64_t cand, const struct compare_options *o,
                 struct compare_result *out, char *err, size_t errlen)
{
    return compare_runs_union(s, base, &cand, 1, o, out, err, errlen);
}

int compare_runs_union(struct store *s, int64_t base, const int64_t *cands, int n_cands,
                       const struct compare_options *o, struct compare_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->options = *o;
    struct rows rb = { 0 }, rc_rows = { 0 };
    int rc = -1;
    if (n_cands < 1 || n_cands > COMPARE_MAX_SHARDS) {
        snprintf(err, errlen, "%d candidate runs (1 to %d can be compared as one)", n_cands, COMPARE_MAX_SHARDS);
        return -1;
    }
    int64_t cand = cands[0];
    if (store_get_run(s, base, &out->base) != 0 || store_get_run(s, cand, &out->cand) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        goto out;
    }
    snprintf(out->base_machine, sizeof out->base_machine, "%s", out->base.machine);
    snprintf(out->cand_machine, sizeof out->cand_machine, "%s", out->cand.machine);
    if (!o->cross_machine && strcmp(out->base.machine, out->cand.machine) != 0) {
        snprintf(err, errlen, "run %lld was measured on %s (machine %s) and run %lld on %s (machine %s): timings of "
                 "different machines are not comparable (--cross-machine compares them anyway)",
                 (long long)base, out->base.hostname, out->base.machine, (long long)cand, out->cand.hostname,
                 out->cand.machine);
        goto out;
    }
    for (int k = 0; k < n_cands; k++) {
        struct run_row other;
        for (int j = 0; j < k; j++)
            if (cands[j] == cands[k]) {
                snprintf(err, errlen, "run %lld is given twice as a candidate", (long long)cands[k]);
                goto out;
            }
        if (store_get_run(s, cands[k], &other) != 0) {
            snprintf(err, errlen, "%s", store_errmsg(s));
            goto out;
        }
        if (!o->cross_machine && strcmp(out->base.machine, other.machine) != 0) {
            snprintf(err, errlen, "candidate run %lld was measured on %s (machine %s), not on the base's machine %s "
                     "(--cross-machine compares them anyway)", (long long)cands[k], other.hostname, other.machine,
                     out->base.machine);
            goto out;
        }
        /* a shard that did not finish leaves the union incomplete: say so as for one run */
        if (compare_run_incomplete(&other) && !compare_run_incomplete(&out->cand))
            snprintf(out->cand.status, sizeof out->cand.status, "%s", other.status);
        out->cand_runs[out->n_cand_runs++] = cands[k];
        if (store_list_results(s, cands[k], collect, &rc_rows) != 0) {
            snprintf(err, errlen, "%s", store_errmsg(s));
            goto out;
        }
    }
    if (store_list_results(s, base, collect, &rb) != 0) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        goto out;
    }
    out->cases = calloc(rb.n + rc_rows.n + 1, sizeof *out->cases);
    char *used = calloc(rc_rows.n + 1, 1);
    if (!out->cases || !used) {
        free(used);
        snprintf(err, errlen, "out of memory comparing runs %lld and %lld", (long long)base, (long long)cand);
        goto out;
    }
    for (size_t i = 0; i < rb.n; i++) {
        const struct result_row *b = &rb.v[i];
        int dup = 0; /* a run holds a case once; should one appear twice, the first stands */
        for (size_t k = 0; k < out->n && !dup; k++)
            dup = same_identity(&out->cases[k], b);
        if (dup)
            continue;
        struct compare_case *c = &out->cases[out->n++];
        init_case(c, b);
        fill_side(b, &c->base_case, c->base_status, &c->base_n, &c->base_median, &c->base_noise, &c->base_err);
        c->tolerance = b->tolerance;
        for (size_t j = 0; j < rc_rows.n; j++) {
            if (used[j] || !compare_same_case(b, &rc_rows.v[j]))
                continue;
            used[j] = 1;
            const struct result_row *r = &rc_rows.v[j];
            fill_side(r, &c->cand_case, c->cand_status, &c->cand_n, &c->cand_median, &c->cand_noise, &c->cand_err);
            snprintf(c->cand_error, sizeof c->cand_error, "%s", r->error);
            snprintf(c->cand_papi, sizeof c->cand_papi, "%s", r->papi_status);
            if (r->tolerance > 0)
                c->tolerance = r->tolerance;
            break;
        }
    }
    for (size_t j = 0; j < rc_rows.n; j++) {
        if (used[j])
            continue;
        const struct result_row *r = &rc_rows.v[j];
        int dup = 0;
        for (size_t k = 0; k < j && !dup; k++)
            dup = compare_same_case(&rc_rows.v[k], r);
        if (dup)
            continue;
        struct compare_case *c = &out->cases[out->n++];
        init_case(c, r);
        fill_side(r, &c->cand_case, c->cand_status, &c->cand_n, &c->cand_median, &c->cand_noise, &c->cand_err);
        snprintf(c->cand_error, sizeof c->cand_error, "%s", r->error);
    }
    free(used);
    for (size_t i = 0; i < out->n; i++)
        if (judge(s, &out->cases[i], o, err, errlen) != 0)
            goto out;
    compare_summarize(out);
    if (compare_counters_moved(s, out, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    free(rb.v);
    free(rc_rows.v);
    if (rc != 0)
        compare_result_free(out);
    return rc;
}

void compare_summarize(struct compare_result *r)
{
    struct compare_summary *m = &r->summary;
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < r->n; i++) {
        const struct compare_case *c = &r->cases[i];
        m->total++;
        m->count[c->verdict]++;
        m->failing += compare_verdict_fails(c->verdict, &r->options);
        m->matched += c->base_case && c->cand_case;
        m->reconfirmed += c->confirm != CONFIRM_NONE;
        m->confirmed += c->confirm == CONFIRM_CONFIRMED;
        m->dissolved += c->confirm == CONFIRM_DISSOLVED;
    }
    /* runs that share no case (another suite, the wrong baseline) have tested nothing together:
     * an all-"new" comparison must not read as a pass */
    m->too_few_matched = m->matched == 0 || m->matched < r->options.min_matched * m->total;
}

const char *compare_confirm_name(enum compare_confirm c)
{
    switch (c) {
    case CONFIRM_CONFIRMED: return "confirmed";
    case CONFIRM_DISSOLVED: return "dissolved";
    case CONFIRM_UNDECIDED: return "undecided";
    case CONFIRM_FAILED: return "confirmation failed";
    default: return "";
    }
}

void compare_result_free(struct compare_result *r)
{
    for (size_t i = 0; r->cases && i < r->n; i++)
        free(r->cases[i].moved);
    free(r->cases);
    r->cases = NULL;
    r->n = 0;
}
