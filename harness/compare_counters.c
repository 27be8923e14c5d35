/* compare_counters.c - the counters that moved with a changed case (compare.h): which of the
 * hardware, OS and kernel counters stored for both sides changed by more than the time's own
 * yardstick, largest relative change first. */
#include "harness/compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct counters { struct kb_counter *v; int n, cap; };

/* The least relative change of a rusage figure that is listed (see moved_of_case). */
#define RUSAGE_FLOOR 0.25

static int collect_counter(const struct kb_counter *k, void *ctx)
{
    struct counters *c = ctx;
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 32;
        struct kb_counter *v = realloc(c->v, (size_t)cap * sizeof *v);
        if (!v)
            return 1;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = *k;
    return 0;
}

static double nz(double v) { return isnan(v) ? 0 : v; }

static int by_size(const void *a, const void *b)
{
    double x = fabs(((const struct compare_counter_change *)a)->change);
    double y = fabs(((const struct compare_counter_change *)b)->change);
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The rule in compare.h, for one case whose both sides are loaded. */
static int moved_of_case(struct compare_case *c, const struct counters *b, const struct counters *k)
{
    double floor = c->threshold, noise = nz(c->base_noise) + nz(c->cand_noise);
    if (noise > floor)
        floor = noise;
    c->moved = NULL;
    c->n_moved = 0;
    for (int i = 0; i < b->n; i++) {
        const struct kb_counter *x = &b->v[i];
        const struct kb_counter *y = NULL;
        for (int j = 0; j < k->n && !y; j++)
            if (strcmp(k->v[j].backend, x->backend) == 0 && strcmp(k->v[j].name, x->name) == 0)
                y = &k->v[j];
        if (!y || !isfinite(x->value) || !isfinite(y->value) || x->value == y->value)
            continue;
        double change = x->value != 0 ? y->value / x->value - 1 : (y->value > 0 ? INFINITY : -INFINITY);
        /* rusage covers the whole case (warm-up, sampling, verification), whose length follows the
         * sampling budget and the stopping rule more than the kernel: only a large change says
         * something about the kernel or the machine (a neighbour halving its CPU time) */
        double need = strcmp(x->backend, "rusage") == 0 && floor < RUSAGE_FLOOR ? RUSAGE_FLOOR : floor;
        if (!(fabs(change) > need))
            continue;
        /* a count that moved by one (a context switch, a page fault) is no signal whatever its ratio */
        if (strcmp(x->unit, "count") == 0 && fabs(y->value - x->value) < 2)
            continue;
        struct compare_counter_change *m = realloc(c->moved, (size_t)(c->n_moved + 1) * sizeof *m);
        if (!m)
            return -1;
        c->moved = m;
        m = &c->moved[c->n_moved++];
        memset(m, 0, sizeof *m);
        snprintf(m->backend, sizeof m->backend, "%s", x->backend);
        snprintf(m->name, sizeof m->name, "%s", x->name);
        snprintf(m->unit, sizeof m->unit, "%s", x->unit);
        m->base = x->value;
        m->cand = y->value;
        m->change = change;
    }
    if (c->n_moved > 1)
        qsort(c->moved, (size_t)c->n_moved, sizeof *c->moved, by_size);
    return 0;
}

int compare_counters_moved(struct store *s, struct compare_result *r, char *err, size_t errlen)
{
    for (size_t i = 0; i < r->n; i++) {
        struct compare_case *c = &r->cases[i];
        if (c->verdict != VERDICT_REGRESSED && c->verdict != VERDICT_IMPROVED && c->first_verdict != VERDICT_REGRESSED)
            continue;
        free(c->moved);
        c->moved = NULL;
        c->n_moved = 0;
        struct counters b = { 0 }, k = { 0 };
        int rc = store_list_counters(s, c->base_case, collect_counter, &b) != 0 ||
                 store_list_counters(s, c->cand_case, collect_counter, &k) != 0;
        if (rc)
            snprintf(err, errlen, "%s", *store_errmsg(s) ? store_errmsg(s) : "out of memory reading counters");
        else if (moved_of_case(c, &b, &k) != 0) {
            snprintf(err, errlen, "out of memory comparing counters");
            rc = 1;
        }
        c->counters_base = b.n;
        c->counters_cand = k.n;
        free(b.v);
        free(k.v);
        if (rc)
            return -1;
    }
    return 0;
}

/* "; PAPI counted nothing (no default PMU found)" where the candidate's PAPI could not count */
static void papi_note(const struct compare_case *c, char *buf, size_t len)
{
    buf[0] = '\0';
    if (strncmp(c->cand_papi, "unavailable", 11) != 0)
        return;
    const char *why = strchr(c->cand_papi, ':');
    snprintf(buf, len, "; PAPI could not count here (%.120s)", why ? why + 2 : c->cand_papi);
}

void compare_counters_line(const struct compare_case *c, char *buf, size_t len)
{
    size_t at = 0;
    char papi[160];
    papi_note(c, papi, sizeof papi);
    int w = snprintf(buf, len, "time %+.1f%%: ", 100 * (c->ratio - 1));
    if (w < 0 || (size_t)w >= len)
        return;
    at = (size_t)w;
    if (c->counters_base == 0 || c->counters_cand == 0) {
        snprintf(buf + at, len - at, "nothing was counted%s%s",
                 c->counters_base == 0 && c->counters_cand == 0 ? ""
                 : c->counters_base == 0                        ? " in the base run"
                                                                : " in the candidate run", papi);
        return;
    }
    if (c->n_moved == 0) {
        snprintf(buf + at, len - at, "no counter moved beyond the threshold and the noise (%d counted)%s",
                 c->counters_cand, papi);
        return;
    }
    for (int i = 0; i < c->n_moved && at < len; i++) {
        const struct compare_counter_change *m = &c->moved[i];
        char pct[64];
        if (isinf(m->change))
            snprintf(pct, sizeof pct, "%g -> %g", m->base, m->cand);
        else
            snprintf(pct, sizeof pct, "%+.1f%%", 100 * m->change);
        w = snprintf(buf + at, len - at, "%s%s %s %s", i ? ", " : "", m->backend, m->name, pct);
        if (w < 0)
            return;
        at += (size_t)w;
    }
    if (at < len)
        snprintf(buf + at, len - at, "%s", papi);
    else if (len > 4)
        memcpy(buf + len - 4, "...", 4); /* cut: say so rather than end mid-word silently */
}
