/* bisect.c - the first commit that made a case slower (bisect.h). */
#define _POSIX_C_SOURCE 200809L
#include "harness/bisect.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness/stats.h"

const char *bisect_state_name(enum bisect_state s)
{
    switch (s) {
    case BISECT_GOOD: return "good";
    case BISECT_BAD: return "bad";
    case BISECT_SKIPPED_BUILD: return "skipped (build)";
    case BISECT_SKIPPED_MEASURE: return "skipped (measurement)";
    default: return "untested";
    }
}

/* ---- git -------------------------------------------------------------------------------------- */

/* Runs git with args in dir; its output (stdout and stderr) in a malloc'd string. Returns the
 * exit status, or -1. */
static int git(const char *workdir, const char *dir, char *const *args, char **output)
{
    char *argv[16];
    int n = 0;
    argv[n++] = "git";
    argv[n++] = "-C";
    argv[n++] = (char *)dir;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char log[4096], tail[2];
    snprintf(log, sizeof log, "%s/git.out", workdir);
    unlink(log);
    int rc = remeasure_spawn(argv, NULL, log, tail, 0);
    *output = NULL;
    FILE *f = fopen(log, "r");
    if (f) {
        size_t cap = 4096, len = 0, got;
        char *buf = malloc(cap);
        while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
            len += got;
            if (len + 1 == cap) {
                char *b = realloc(buf, cap *= 2);
                if (!b) {
                    free(buf);
                    buf = NULL;
                    break;
                }
                buf = b;
            }
        }
        if (buf)
            buf[len] = '\0';
        *output = buf;
        fclose(f);
    }
    if (!*output)
        *output = calloc(1, 1);
    return rc;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

static int resolve(const struct bisect_options *o, const char *rev, char sha[41], struct bisect_result *r)
{
    char spec[300], *out;
    snprintf(spec, sizeof spec, "%s^{commit}", rev);
    char *args[] = { "rev-parse", "--verify", "--quiet", spec, NULL };
    int rc = git(o->workdir, o->repo, args, &out);
    chomp(out);
    if (rc != 0 || strlen(out) != 40) {
        snprintf(r->error, sizeof r->error, "'%s' is not a commit of the repository %s", rev, o->repo);
        free(out);
        return -1;
    }
    memcpy(sha, out, 41);
    free(out);
    return 0;
}

/* GOOD, then GOOD..BAD along first parents, oldest first. */
static int list_commits(const struct bisect_options *o, struct bisect_result *r)
{
    char good[41], bad[41];
    char *out;
    char *probe[] = { "rev-parse", "--git-dir", NULL };
    if (git(o->workdir, o->repo, probe, &out) != 0) {
        snprintf(r->error, sizeof r->error, "%s is not a git repository", o->repo);
        free(out);
        return -1;
    }
    free(out);
    if (resolve(o, o->good, good, r) != 0 || resolve(o, o->bad, bad, r) != 0)
        return -1;
    char *anc[] = { "merge-base", "--is-ancestor", good, bad, NULL };
    if (git(o->workdir, o->repo, anc, &out) != 0 || strcmp(good, bad) == 0) {
        snprintf(r->error, sizeof r->error, "GOOD (%s) is not an ancestor of BAD (%s): nothing lies between them",
                 o->good, o->bad);
        free(out);
        return -1;
    }
    free(out);
    char range[100];
    snprintf(range, sizeof range, "%s..%s", good, bad);
    char *logargs[] = { "log", "--first-parent", "--reverse", "--format=%H %s", range, NULL };
    if (git(o->workdir, o->repo, logargs, &out) != 0) {
        snprintf(r->error, sizeof r->error, "git log %s failed: %.300s", range, out);
        free(out);
        return -1;
    }
    size_t lines = 1;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    r->commits = calloc(lines + 1, sizeof *r->commits);
    if (!r->commits) {
        free(out);
        snprintf(r->error, sizeof r->error, "out of memory");
        return -1;
    }
    struct bisect_commit *c = &r->commits[r->n++];
    memcpy(c->sha, good, 41);
    char *subj[] = { "log", "-1", "--format=%s", good, NULL };
    char *s;
    git(o->workdir, o->repo, subj, &s);
    chomp(s);
    snprintf(c->subject, sizeof c->subject, "%s", s);
    free(s);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        if (strlen(line) < 40)
            continue;
        c = &r->commits[r->n++];
        memcpy(c->sha, line, 40);
        c->sha[40] = '\0';
        snprintf(c->subject, sizeof c->subject, "%s", line[40] ? line + 41 : "");
    }
    free(out);
    for (size_t i = 0; i < r->n; i++)
        r->commits[i].median = r->commits[i].ci_lo = r->commits[i].ci_hi = NAN;
    if (r->n < 2 || strcmp(r->commits[r->n - 1].sha, bad) != 0) {
        snprintf(r->error, sizeof r->error, "BAD (%s) is not on the first-parent line from GOOD (%s)", o->bad, o->good);
        return -1;
    }
    return 0;
}

/* ---- one commit ------------------------------------------------------------------------------- */

static void event(const struct bisect_options *o, enum bisect_event_kind k, const struct bisect_result *r, size_t i)
{
    if (!o->on_event)
        return;
    struct bisect_event ev = { k, &r->commits[i], i, r->n };
    o->on_event(&ev, o->ctx);
}

/* The verdict as tags on the commit's last run, so that `kbench runs`, `kbench show` and the
 * dashboard's runs screen (which rereads the database as it changes) show the bisection as it goes:
 * bisect-for-<BAD> groups one bisection's runs, bisect-good / bisect-bad / bisect-skipped say how
 * each commit came out, bisect-first-bad marks the answer. Tagging is best effort: a database that
 * cannot take the tag loses only this view, not the measurement. */
static void tag_run(const struct bisect_options *o, const struct bisect_result *r, int64_t run, const char *what)
{
    if (run <= 0)
        return;
    struct store *s;
    char err[256], group[64];
    if (store_open(o->db_path, STORE_WRITE, &s, err, sizeof err) != 0)
        return;
    snprintf(group, sizeof group, "bisect-for-%.12s", r->commits[r->n - 1].sha);
    store_run_tag(s, run, group);
    if (what)
        store_run_tag(s, run, what);
    store_close(s);
}

static const char *state_tag(enum bisect_state st)
{
    switch (st) {
    case BISECT_GOOD: return "bisect-good";
    case BISECT_BAD: return "bisect-bad";
    case BISECT_SKIPPED_BUILD:
    case BISECT_SKIPPED_MEASURE: return "bisect-skipped";
    default: return NULL;
    }
}

static int pool(struct bisect_commit *c, const double *x, long n, unsigned resamples, uint64_t seed)
{
    double *v = realloc(c->samples, (c->n + (size_t)n) * sizeof *v);
    if (!v)
        return -1;
    memcpy(v + c->n, x, (size_t)n * sizeof *v);
    c->samples = v;
    c->n += (size_t)n;
    struct kb_stats st;
    if (stats_summarize(c->samples, c->n, resamples, seed, &st) == 0) {
        c->median = st.median;
        c->ci_lo = st.ci_lo;
        c->ci_hi = st.ci_hi;
    }
    return 0;
}

/* Checks out, builds and keeps the product of commit i: 0 with its path in product, or 1 after
 * marking it skipped. */
static int build(const struct bisect_options *o, struct bisect_result *r, size_t i, char *product, size_t plen)
{
    struct bisect_commit *c = &r->commits[i];
    char src[4096], *out;
    snprintf(src, sizeof src, "%s/src", o->workdir);
    char *co[] = { "checkout", "--quiet", "--force", c->sha, NULL };
    if (git(o->workdir, src, co, &out) != 0) {
        c->state = BISECT_SKIPPED_BUILD;
        chomp(out);
        snprintf(c->note, sizeof c->note, "git checkout failed: %.250s", out);
        free(out);
        return 1;
    }
    free(out);
    const char *made = o->plugin ? o->plugin : o->bin;
    char made_path[4096];
    snprintf(made_path, sizeof made_path, "%s/%s", src, made);
    unlink(made_path); /* a failed build must not leave the last commit's product to be measured */
    event(o, BISECT_EV_BUILD, r, i);
    FILE *lf = fopen(o->log_path, "a");
    if (lf) {
        fprintf(lf, "==== %s %s: %s\n", c->sha, c->subject, o->build);
        fclose(lf);
    }
    char *argv[] = { "sh", "-c", (char *)o->build, NULL };
    char tail[512];
    int rc = remeasure_spawn(argv, src, o->log_path, tail, sizeof tail);
    r->builds++;
    struct stat sb;
    if (rc != 0 || stat(made_path, &sb) != 0) {
        c->state = BISECT_SKIPPED_BUILD;
        chomp(tail);
        const char *last = strrchr(tail, '\n');
        last = last ? last + 1 : tail;
        if (rc != 0)
            snprintf(c->note, sizeof c->note, "the build failed (exit %d): %.200s", rc, last);
        else
            snprintf(c->note, sizeof c->note, "the build made no %s", made);
        return 1;
    }
    /* copied aside under the commit's name: each measurement loads its own build */
    snprintf(product, plen, "%s/builds/%.12s-%s", o->workdir, c->sha, strrchr(made, '/') ? strrchr(made, '/') + 1 : made);
    char *cp[] = { "cp", made_path, product, NULL };
    if (remeasure_spawn(cp, NULL, NULL, tail, sizeof tail) != 0) {
        c->state = BISECT_SKIPPED_BUILD;
        snprintf(c->note, sizeof c->note, "cannot copy the build's %s aside: %.200s", made, tail);
        return 1;
    }
    return 0;
}

/* Measures commit i (built as product) once more into its pool: 0, 1 when skipped, -1 error. */
static int measure(const struct bisect_options *o, struct bisect_result *r, size_t i, const char *product)
{
    struct bisect_commit *c = &r->commits[i];
    const char *plugins[1] = { product };
    struct remeasure_build b = { .label = c->sha };
    if (o->plugin) {
        b.bin = o->self_bin;
        b.plugins = plugins;
        b.n_plugins = 1;
    } else {
        b.bin = product;
    }
    char tag[64], err[768];
    snprintf(tag, sizeof tag, "bisect-%.12s", c->sha);
    event(o, BISECT_EV_MEASURE, r, i);
    /* opened for each measurement, and only to read: the measuring process writes it */
    struct store *s = NULL;
    if (store_open(o->db_path, STORE_READ, &s, err, sizeof err) != 0) {
        snprintf(r->error, sizeof r->error, "%.700s", err);
        return -1;
    }
    struct remeasure_result m = { 0 };
    int rc = remeasure(&b, o->db_path, tag, o->case_words, o->run_options, s, &m, err, sizeof err);
    r->measurements++;
    if (rc != 0) {
        c->state = BISECT_SKIPPED_MEASURE;
        snprintf(c->note, sizeof c->note, "%.300s", err);
        store_close(s);
        return 1;
    }
    c->run_id = m.run_id;
    int ret = 0;
    if (m.n_cases != 1) { /* a bisection follows one case: a spec that plans several is the user's to fix */
        snprintf(r->error, sizeof r->error, "the case given plans %d cases (run %lld): name exactly one, e.g. "
                 "kernel@impl and every axis that varies", m.n_cases, (long long)m.run_id);
        ret = -1;
    } else if (strcmp(m.status, "ok") != 0) {
        c->state = BISECT_SKIPPED_MEASURE;
        snprintf(c->note, sizeof c->note, "the case is %s in run %lld%s%.250s", m.status, (long long)m.run_id,
                 *m.error ? ": " : "", m.error);
        ret = 1;
    } else if (pool(c, m.samples, m.n, o->compare.resamples, o->compare.seed) != 0) {
        snprintf(r->error, sizeof r->error, "out of memory");
        ret = -1;
    }
    remeasure_result_free(&m);
    store_close(s);
    return ret;
}

/* ---- judging ---------------------------------------------------------------------------------- */

static void judge(const struct bisect_options *o, const struct bisect_commit *base, const struct bisect_commit *cand,
                  struct compare_case *out)
{
    memset(out, 0, sizeof *out);
    out->threshold = compare_threshold_for(&o->compare, "", "");
    out->base_n = base->n;
    out->cand_n = cand->n;
    out->base_median = base->median;
    out->cand_median = cand->median;
    out->base_noise = base->median > 0 ? (base->ci_hi - base->ci_lo) / 2 / base->median : NAN;
    out->cand_noise = cand->median > 0 ? (cand->ci_hi - cand->ci_lo) / 2 / cand->median : NAN;
    compare_judge_samples(out, &o->compare, base->samples, base->n, cand->samples, cand->n);
}

/* Good or bad, measuring once more when neither can be shown. 0, or -1 (memory). */
static int classify(const struct bisect_options *o, struct bisect_result *r, size_t i, const char *product)
{
    struct bisect_commit *g = &r->commits[0], *b = &r->commits[r->n - 1], *c = &r->commits[i];
    for (int attempt = 0; attempt < 2; attempt++) {
        struct compare_case vs_good, vs_bad;
        judge(o, g, c, &vs_good);
        judge(o, c, b, &vs_bad);
        int bad = vs_good.verdict == VERDICT_REGRESSED, good = vs_bad.verdict == VERDICT_REGRESSED;
        if (bad != good) {
            c->state = bad ? BISECT_BAD : BISECT_GOOD;
            if (good)
                snprintf(c->note, sizeof c->note, "BAD is %.280s", vs_bad.reason);
            else
                snprintf(c->note, sizeof c->note, "vs GOOD: %.280s", vs_good.reason);
            return 0;
        }
        if (attempt == 0) {
            int m = measure(o, r, i, product);
            if (m < 0)
                return -1;
            if (m > 0)
                return 0;
        }
    }
    /* still neither: the nearer side, on the log of the medians */
    double to_good = fabs(log(c->median / g->median)), to_bad = fabs(log(c->median / b->median));
    c->state = to_good <= to_bad ? BISECT_GOOD : BISECT_BAD;
    snprintf(c->note, sizeof c->note, "close call: neither side could be shown after %zu samples; its median is "
             "nearer %s's", c->n, to_good <= to_bad ? "GOOD" : "BAD");
    return 0;
}

/* Builds, measures and classifies commit i: 0 (tested or skipped), -1 error. */
static int test_commit(const struct bisect_options *o, struct bisect_result *r, size_t i, int endpoint)
{
    char product[4200];
    if (build(o, r, i, product, sizeof product) != 0) {
        event(o, BISECT_EV_TESTED, r, i);
        return 0;
    }
    int m = measure(o, r, i, product);
    if (m == 0 && endpoint && i == r->n - 1) { /* BAD: measured, then judged against GOOD below */
        event(o, BISECT_EV_TESTED, r, i);
        return 0;
    }
    if (m == 0 && !endpoint && classify(o, r, i, product) != 0)
        return -1;
    if (m == 0 && endpoint)
        r->commits[i].state = i == 0 ? BISECT_GOOD : BISECT_BAD;
    tag_run(o, r, r->commits[i].run_id, state_tag(r->commits[i].state));
    event(o, BISECT_EV_TESTED, r, i);
    return m < 0 ? -1 : 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int skipped(const struct bisect_commit *c)
{
    return c->state == BISECT_SKIPPED_BUILD || c->state == BISECT_SKIPPED_MEASURE;
}

int bisect_run(const struct bisect_options *o, struct bisect_result *r)
{
    memset(r, 0, sizeof *r);
    r->first_bad = r->last_good = -1;
    double t0 = now_s();
    char path[4096], *out;
    snprintf(path, sizeof path, "%s/builds", o->workdir);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        snprintf(r->error, sizeof r->error, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    if (list_commits(o, r) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/src", o->workdir);
    char *clone[] = { "clone", "--quiet", "--no-checkout", (char *)o->repo, path, NULL };
    if (git(o->workdir, ".", clone, &out) != 0) {
        chomp(out);
        snprintf(r->error, sizeof r->error, "cannot clone %s: %.300s", o->repo, out);
        free(out);
        return -1;
    }
    free(out);
    int rc = 1;
    /* the endpoints: BAD must be shown slower than GOOD */
    if (test_commit(o, r, 0, 1) != 0 || test_commit(o, r, r->n - 1, 1) != 0) {
        rc = -1;
        goto done;
    }
    struct bisect_commit *g = &r->commits[0], *b = &r->commits[r->n - 1];
    if (skipped(g) || skipped(b)) {
        const struct bisect_commit *x = skipped(g) ? g : b;
        snprintf(r->error, sizeof r->error, "%s (%.12s) cannot be measured: %.300s", skipped(g) ? "GOOD" : "BAD", x->sha,
                 x->note);
        goto done;
    }
    judge(o, g, b, &r->evidence);
    if (r->evidence.verdict != VERDICT_REGRESSED) {
        snprintf(r->error, sizeof r->error, "BAD is not shown slower than GOOD (%s: %.300s): nothing to bisect",
                 compare_verdict_name(r->evidence.verdict), r->evidence.reason);
        b->state = BISECT_UNTESTED;
        goto done;
    }
    b->state = BISECT_BAD;
    tag_run(o, r, b->run_id, "bisect-bad");
    snprintf(b->note, sizeof b->note, "vs GOOD: %.300s", r->evidence.reason);
    size_t lo = 0, hi = r->n - 1;
    while (hi - lo > 1) {
        /* the middle, or the untested commit nearest to it (as git bisect skip) */
        size_t mid = lo + (hi - lo) / 2, pick = 0;
        for (size_t d = 0; d < hi - lo && !pick; d++) {
            if (mid + d < hi && r->commits[mid + d].state == BISECT_UNTESTED)
                pick = mid + d;
            else if (mid - d > lo && r->commits[mid - d].state == BISECT_UNTESTED)
                pick = mid - d;
        }
        if (!pick)
            break; /* everything between is skipped */
        if (test_commit(o, r, pick, 0) != 0) {
            rc = -1;
            goto done;
        }
        if (r->commits[pick].state == BISECT_GOOD)
            lo = pick;
        else if (r->commits[pick].state == BISECT_BAD)
            hi = pick;
    }
    r->last_good = (long)lo;
    r->first_bad = (long)hi;
    r->ambiguous = hi - lo > 1;
    judge(o, &r->commits[lo], &r->commits[hi], &r->evidence);
    if (!r->ambiguous)
        tag_run(o, r, r->commits[hi].run_id, "bisect-first-bad");
    rc = 0;
done:
    r->seconds = now_s() - t0;
    return rc;
}

void bisect_result_free(struct bisect_result *r)
{
    for (size_t i = 0; r->commits && i < r->n; i++)
        free(r->commits[i].samples);
    free(r->commits);
    r->commits = NULL;
    r->n = 0;
}
