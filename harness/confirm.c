/* confirm.c - flagged cases measured again before an alert (confirm.h). */
#include "harness/confirm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/stats.h"

void confirm_options_default(struct confirm_options *o)
{
    memset(o, 0, sizeof *o);
    o->rounds = 3;
    o->candidate.label = "candidate";
    o->baseline.label = "baseline";
}

int confirm_wanted(const struct compare_case *c, const struct compare_options *o)
{
    return (c->verdict == VERDICT_REGRESSED || c->verdict == VERDICT_INCONCLUSIVE) &&
           compare_verdict_fails(c->verdict, o) && c->base_case && c->cand_case;
}

struct pool { double *v; size_t n; };

static int pool_add(struct pool *p, const double *x, long n)
{
    if (n <= 0)
        return 0;
    double *v = realloc(p->v, (p->n + (size_t)n) * sizeof *v);
    if (!v)
        return -1;
    memcpy(v + p->n, x, (size_t)n * sizeof *v);
    p->v = v;
    p->n += (size_t)n;
    return 0;
}

static void say(const struct confirm_options *o, const char *label, int round, int rounds, const char *side)
{
    if (!o->progress)
        return;
    char line[512];
    snprintf(line, sizeof line, "confirming %s: round %d of %d, %s", label, round, rounds, side);
    o->progress(line, o->ctx);
}

/* One re-measurement of one side into its pool; 0, or -1 with why in why. */
static int measure_side(struct store *s, const struct confirm_options *o, const struct remeasure_build *b,
                        const char *tag, const struct remeasure_words *words, struct pool *into, int64_t *run,
                        char *why, size_t whylen)
{
    struct remeasure_result m;
    if (remeasure(b, o->db_path, tag, words, o->run_options, s, &m, why, whylen) != 0)
        return -1;
    *run = m.run_id;
    int rc = 0;
    if (strcmp(m.status, "ok") != 0) {
        snprintf(why, whylen, "the %s re-measurement (run %lld) is %s%s%s", b->label, (long long)m.run_id, m.status,
                 *m.error ? ": " : "", m.error);
        rc = -1;
    } else if (pool_add(into, m.samples, m.n) != 0) {
        snprintf(why, whylen, "out of memory");
        rc = -1;
    }
    remeasure_result_free(&m);
    return rc;
}

static double pooled_noise(const struct pool *p, const struct compare_options *o)
{
    struct kb_stats st;
    if (p->n == 0 || stats_summarize(p->v, p->n, o->resamples, o->seed, &st) != 0)
        return NAN;
    return st.noise;
}

static double pooled_median(const struct pool *p)
{
    double *s = malloc(p->n * sizeof *s);
    if (!s || p->n == 0) {
        free(s);
        return NAN;
    }
    stats_sorted_copy(p->v, p->n, s);
    double m = stats_quantile_sorted(s, p->n, 0.5);
    free(s);
    return m;
}

/* Re-measures one case and sets its confirm outcome. -1 only for memory. */
static int confirm_case(struct store *s, struct compare_result *r, struct compare_case *c,
                        const struct confirm_options *o)
{
    char label[200], why[768] = "", tag_b[64], tag_c[64];
    compare_case_label(c, label, sizeof label);
    snprintf(tag_b, sizeof tag_b, "confirm-%lld-base", (long long)r->cand.id);
    snprintf(tag_c, sizeof tag_c, "confirm-%lld-candidate", (long long)r->cand.id);
    struct remeasure_words words;
    remeasure_words_init(&words);
    int interleave = o->baseline.bin != NULL;
    struct pool pb = { 0 }, pc = { 0 };
    int failed = remeasure_case_words(c, &words) != 0;
    if (failed)
        snprintf(why, sizeof why, "the case's options do not fit in a command line");
    int rounds = o->rounds > 0 ? o->rounds : 1, done = 0;
    for (int k = 0; k < rounds && !failed; k++) {
        /* alternate the order (B C, C B, ...): a drift of the machine falls on both sides alike */
        for (int half = 0; half < 2 && !failed; half++) {
            int cand_side = interleave ? (k % 2 == 0) == (half == 1) : 1;
            if (!interleave && half == 1)
                break;
            say(o, label, k + 1, rounds, cand_side ? "candidate" : "baseline");
            failed = cand_side ? measure_side(s, o, &o->candidate, tag_c, &words, &pc, &c->confirm_cand_run, why,
                                              sizeof why)
                               : measure_side(s, o, &o->baseline, tag_b, &words, &pb, &c->confirm_base_run, why,
                                              sizeof why);
        }
        done += !failed;
    }
    if (!failed && !interleave) {
        double *bs = NULL;
        long nb = store_get_samples(s, c->base_case, &bs);
        if (nb <= 0 || pool_add(&pb, bs, nb) != 0) {
            snprintf(why, sizeof why, "the base run's samples cannot be read: %s", store_errmsg(s));
            failed = 1;
        }
        free(bs);
    }
    c->first_verdict = c->verdict;
    snprintf(c->first_reason, sizeof c->first_reason, "%s", c->reason);
    c->confirm_rounds = done;
    c->confirm_interleaved = interleave;
    if (failed) {
        c->confirm = CONFIRM_FAILED;
        snprintf(c->note, sizeof c->note, "not confirmed: %.150s", why);
        free(pb.v);
        free(pc.v);
        return 0;
    }
    struct compare_case again = *c;
    again.moved = NULL;
    again.base_noise = pooled_noise(&pb, &r->options);
    again.cand_noise = pooled_noise(&pc, &r->options);
    int unusable = compare_judge_samples(&again, &r->options, pb.v, pb.n, pc.v, pc.n) != 0;
    const char *against = interleave ? "baseline build re-measured alongside" : "against the base run's samples";
    char evidence[200];
    snprintf(evidence, sizeof evidence, "re-measured %d round%s (%zu vs %zu samples, %s)", done, done == 1 ? "" : "s",
             pb.n, pc.n, against);
    if (unusable) {
        c->confirm = CONFIRM_FAILED;
        snprintf(c->note, sizeof c->note, "not confirmed: the re-measured samples are unusable");
    } else {
        c->ratio = again.ratio;
        c->ratio_lo = again.ratio_lo;
        c->ratio_hi = again.ratio_hi;
        c->p_slower = again.p_slower;
        c->p_faster = again.p_faster;
        c->p_min = again.p_min;
        c->base_noise = again.base_noise;
        c->cand_noise = again.cand_noise;
        c->base_median = pooled_median(&pb);
        c->cand_median = pooled_median(&pc);
        c->base_n = pb.n;
        c->cand_n = pc.n;
        if (again.verdict == VERDICT_REGRESSED) {
            c->confirm = CONFIRM_CONFIRMED;
            c->verdict = VERDICT_REGRESSED;
        } else if (again.verdict == VERDICT_INCONCLUSIVE) {
            c->confirm = CONFIRM_UNDECIDED;
            c->verdict = VERDICT_INCONCLUSIVE;
        } else {
            c->confirm = CONFIRM_DISSOLVED;
            c->verdict = VERDICT_SAME;
        }
        snprintf(c->reason, sizeof c->reason, "%s: %.200s", compare_confirm_name(c->confirm), again.reason);
        snprintf(c->note, sizeof c->note, "%s", evidence);
    }
    free(pb.v);
    free(pc.v);
    return 0;
}

int confirm_flagged(struct store *s, struct compare_result *r, const struct confirm_options *o, char *err,
                    size_t errlen)
{
    for (size_t i = 0; i < r->n; i++) {
        struct compare_case *c = &r->cases[i];
        if (!confirm_wanted(c, &r->options))
            continue;
        if (confirm_case(s, r, c, o) != 0) {
            snprintf(err, errlen, "out of memory confirming the comparison");
            return -1;
        }
    }
    compare_summarize(r);
    return compare_counters_moved(s, r, err, errlen);
}
