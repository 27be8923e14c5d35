/* claims.c - claim files and verdicts (claims.h). */
#include "reports/claims.h"

#include <ctype.h>
#include <dirent.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/kvfile.h"
#include "harness/plan.h"
#include "harness/plugin.h"
#include "kernels/kernel.h"
#include "reports/scaling.h"

static const char *const metric_names[] = { "speedup", "crossover", "flat", "exponent", "accuracy" };

const char *claim_metric_name(enum claim_metric m)
{
    return (unsigned)m < sizeof metric_names / sizeof metric_names[0] ? metric_names[m] : "?";
}

const char *claim_verdict_name(enum claim_verdict v)
{
    switch (v) {
    case CLAIM_HOLDS: return "holds";
    case CLAIM_PARTLY: return "partly";
    case CLAIM_FAILS: return "does not hold here";
    case CLAIM_UNTESTABLE: return "cannot be tested here";
    }
    return "?";
}

static void matching_patterns(const char *patterns, char *out, size_t len);

/* ---- parsing ---------------------------------------------------------------------------------- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

enum section { SEC_TOP, SEC_RUN, SEC_CANDIDATE, SEC_BASELINE };

/* Appends "key = value\n" to one of the suite parts. */
static int append(char *buf, size_t len, const char *key, const char *value)
{
    size_t used = strlen(buf);
    int w = snprintf(buf + used, len - used, "%s = %s\n", key, value);
    return w < 0 || (size_t)w >= len - used ? -1 : 0;
}

static int parse_number(const char *v, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

/* Sets one top-level key; returns 0, -1 for a bad value, -2 for an unknown key. */
static int set_meta(struct claim *c, const char *key, const char *value, char *err, size_t errlen)
{
    struct { const char *key; char *dst; size_t len; } texts[] = {
        { "id", c->id, sizeof c->id },           { "paper", c->paper, sizeof c->paper },
        { "quote", c->quote, sizeof c->quote },  { "hardware", c->hardware, sizeof c->hardware },
        { "note", c->note, sizeof c->note },     { "candidate", c->candidate, sizeof c->candidate },
        { "baseline", c->baseline, sizeof c->baseline }, { "plugins", c->plugins, sizeof c->plugins },
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (strcmp(key, texts[i].key) != 0)
            continue;
        if (strlen(value) >= texts[i].len) {
            snprintf(err, errlen, "%s is longer than %zu characters", key, texts[i].len - 1);
            return -1;
        }
        strcpy(texts[i].dst, value);
        return 0;
    }
    if (strcmp(key, "metric") == 0) {
        for (size_t m = 0; m < sizeof metric_names / sizeof metric_names[0]; m++)
            if (strcmp(value, metric_names[m]) == 0) {
                c->metric = (enum claim_metric)m;
                return 0;
            }
        snprintf(err, errlen, "unknown metric '%s' (expected speedup, crossover, flat, exponent or accuracy)", value);
        return -1;
    }
    struct { const char *key; double *dst; double min; } nums[] = {
        { "paper_value", &c->paper_value, -1e300 }, { "tolerance", &c->tolerance, 0 },
        { "min_cosine", &c->min_cosine, -1 },       { "memory_ratio", &c->memory_ratio, 0 },
        { "max_time", &c->max_time, 1e-6 },
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (strcmp(key, nums[i].key) != 0)
            continue;
        if (parse_number(value, nums[i].dst) != 0 || *nums[i].dst < nums[i].min) {
            snprintf(err, errlen, "bad %s '%s' (expected a number%s)", key, value,
                     nums[i].min >= 0 ? " >= 0" : "");
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "gpus") == 0) {
        double d;
        if (parse_number(value, &d) != 0 || d < 1 || d > 1024 || d != floor(d)) {
            snprintf(err, errlen, "bad gpus '%s' (expected a whole number of GPUs, 1 to 1024)", value);
            return -1;
        }
        c->gpus = (int)d;
        return 0;
    }
    if (strcmp(key, "at_size") == 0) {
        double d;
        if (parse_number(value, &d) != 0 || d < 1 || d != floor(d)) {
            snprintf(err, errlen, "bad at_size '%s' (expected a positive integer)", value);
            return -1;
        }
        c->at_size = (long)d;
        return 0;
    }
    snprintf(err, errlen, "unknown key '%s' (expected id, paper, quote, hardware, note, metric, candidate, "
             "baseline, plugins, paper_value, tolerance, min_cosine, memory_ratio, at_size, max_time, gpus, or a "
             "[run], [candidate] or [baseline] section of axes)", key);
    return -2;
}

int claim_load(const char *path, struct claim *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open claim '%s': %m", path);
        return -1;
    }
    struct claim c;
    memset(&c, 0, sizeof c);
    c.metric = CLAIM_SPEEDUP;
    c.paper_value = NAN;
    c.tolerance = NAN;
    c.min_cosine = c.memory_ratio = c.max_time = NAN;
    snprintf(c.path, sizeof c.path, "%s", path);
    char run[1024] = "", cand[1024] = "", base[1024] = "";
    struct plan_spec scratch;
    plan_spec_default(&scratch);
    enum section sec = SEC_TOP;
    struct kv_reader rd;
    struct kv_line kv;
    int rc = -1, got;
    kv_open(&rd, f, path);
    while ((got = kv_next(&rd, &kv, err, errlen)) == 1) {
        char sub[512];
        if (kv.is_section) {
            static const char *const names[] = { "run", "candidate", "baseline" };
            size_t k = 0;
            while (k < 3 && strcmp(kv.section, names[k]) != 0)
                k++;
            if (k == 3) {
                kv_error(&rd, 0, err, errlen, "unknown section '[%s]' (expected [run], [candidate] or [baseline])",
                         kv.section);
                goto done;
            }
            sec = (enum section)(k + 1);
            continue;
        }
        if (sec == SEC_TOP) {
            int r = set_meta(&c, kv.key, kv.value, sub, sizeof sub);
            if (r != 0) {
                kv_error(&rd, r == -2 ? kv.key_col : kv.value_col, err, errlen, "%s", sub);
                goto done;
            }
            continue;
        }
        if (strcmp(kv.key, "kernels") == 0) {
            kv_error(&rd, kv.key_col, err, errlen, "'kernels' comes from candidate and baseline, not from a section");
            goto done;
        }
        /* Axes are checked here, so a bad one is reported against the claim file's line. */
        int r = plan_spec_set(&scratch, kv.key, kv.value, sub, sizeof sub);
        if (r != 0) {
            kv_error(&rd, r == -2 ? kv.key_col : kv.value_col, err, errlen, "%s", sub);
            goto done;
        }
        char *dst = sec == SEC_RUN ? run : sec == SEC_CANDIDATE ? cand : base;
        if (append(dst, sizeof run, kv.key, kv.value) != 0) {
            kv_error(&rd, 0, err, errlen, "section too long");
            goto done;
        }
    }
    if (got < 0)
        goto done;
    const char *need = !*c.id ? "id" : !*c.paper ? "paper" : !*c.quote ? "quote" : !*c.candidate ? "candidate"
                     : isnan(c.paper_value) ? "paper_value" : NULL;
    if (!need && (c.metric == CLAIM_SPEEDUP || c.metric == CLAIM_CROSSOVER) && !*c.baseline)
        need = "baseline";
    if (need) {
        snprintf(err, errlen, "%s: missing '%s'", path, need);
        goto done;
    }
    if (isnan(c.tolerance)) /* defaults: 10% on ratios and spreads, 0.1 on exponents, none on cosines */
        c.tolerance = c.metric == CLAIM_ACCURACY ? 0.0 : 0.10;
    /* A peer named as a side comes from a plugin: loaded now, so the sweep below finds its
     * kernels; one that cannot load here (no Python, no GPU packages) leaves them missing, and
     * the claim says it cannot be judged here rather than failing to load. */
    if (*c.plugins) {
        char list[sizeof c.plugins];
        snprintf(list, sizeof list, "%s", c.plugins);
        for (char *save = NULL, *p = strtok_r(list, ", ", &save); p && !*c.plugin_error; p = strtok_r(NULL, ", ", &save))
            if (plugin_load(p, c.plugin_error, sizeof c.plugin_error) != 0 && !*c.plugin_error)
                snprintf(c.plugin_error, sizeof c.plugin_error, "%s could not be loaded", p);
    }
    /* The sweep names only the alternatives this build has ("attention.linear@cuda*" means
     * nothing without CUDA, and `kbench run` refuses a pattern that matches no kernel). */
    char cand_k[96], base_k[96];
    matching_patterns(c.candidate, cand_k, sizeof cand_k);
    matching_patterns(c.baseline, base_k, sizeof base_k);
    snprintf(c.suite, sizeof c.suite, "name = claim-%s\n%s[candidate]\nkernels = %s\n%s", c.id, run,
             *cand_k ? cand_k : c.candidate, cand);
    if (*c.baseline) {
        size_t used = strlen(c.suite);
        snprintf(c.suite + used, sizeof c.suite - used, "[baseline]\nkernels = %s\n%s", *base_k ? base_k : c.baseline,
                 base);
    }
    *out = c;
    rc = 0;
done:
    kv_close(&rd);
    fclose(f);
    return rc;
}

static int cmp_claim(const void *a, const void *b)
{
    return strcmp(((const struct claim *)a)->path, ((const struct claim *)b)->path);
}

int claims_load_dir(const char *dir, struct claim **out, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot open claims directory '%s': %m", dir);
        return -1;
    }
    struct claim *v = NULL;
    int n = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 7 || strcmp(e->d_name + len - 6, ".claim") != 0)
            continue;
        struct claim *nv = realloc(v, sizeof *v * (size_t)(n + 1));
        if (!nv) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        v = nv;
        char path[768];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (claim_load(path, &v[n], err, errlen) != 0) {
            rc = -1;
            break;
        }
        for (int i = 0; i < n; i++)
            if (strcmp(v[i].id, v[n].id) == 0) {
                snprintf(err, errlen, "%s: id '%s' is also the id of %s", path, v[n].id, v[i].path);
                rc = -1;
            }
        if (rc)
            break;
        n++;
    }
    closedir(d);
    if (rc) {
        free(v);
        return -1;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_claim);
    *out = v;
    return n;
}

int claims_find_dir(char *path, size_t len)
{
    const char *candidates[] = {
        getenv("KBENCH_CLAIMS"), "datasets/claims",
#ifdef KB_SRCDIR
        KB_SRCDIR "/datasets/claims",
#endif
#ifdef KB_DATADIR
        KB_DATADIR "/claims",
#endif
    };
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        if (!candidates[i] || !*candidates[i])
            continue;
        DIR *d = opendir(candidates[i]);
        if (d) {
            closedir(d);
            snprintf(path, len, "%s", candidates[i]);
            return 0;
        }
    }
    return -1;
}

/* The alternatives of a comma list of patterns that match a kernel of this build. */
static void matching_patterns(const char *patterns, char *out, size_t len)
{
    size_t nk, used = 0;
    const struct kb_kernel *const *all = kb_registry_all(&nk);
    char list[96];
    snprintf(list, sizeof list, "%s", patterns);
    out[0] = '\0';
    for (char *save, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = trim(tok);
        int found = 0;
        for (size_t i = 0; i < nk && !found; i++)
            found = kb_kernel_matches(all[i], tok);
        if (found) {
            int w = snprintf(out + used, len > used ? len - used : 0, "%s%s", used ? "," : "", tok);
            if (w > 0)
                used += (size_t)w;
        }
    }
}

/* A side is missing when none of its alternatives names a kernel of this build. */
void claim_missing_kernels(const struct claim *c, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    const char *sides[] = { c->candidate, c->baseline };
    for (int p = 0; p < 2; p++) {
        char found[96];
        matching_patterns(sides[p], found, sizeof found);
        if (!*found && *sides[p]) {
            int w = snprintf(buf + used, len > used ? len - used : 0, "%s%s", used ? ", " : "", sides[p]);
            if (w > 0)
                used += (size_t)w;
        }
    }
    if (used && *c->plugin_error)
        snprintf(buf + used, len > used ? len - used : 0, " (%s)", c->plugin_error);
}

void claim_missing_on_devices(const struct claim *c, const char *devices, char *buf, size_t len)
{
    int want_cpu = !devices || strstr(devices, "cpu") != NULL;
    int want_cuda = devices && strstr(devices, "cuda") != NULL;
    size_t nk, used = 0;
    const struct kb_kernel *const *all = kb_registry_all(&nk);
    const char *sides[] = { c->candidate, c->baseline };
    buf[0] = '\0';
    for (int p = 0; p < 2; p++) {
        if (!*sides[p])
            continue;
        int found = 0;
        char list[96];
        snprintf(list, sizeof list, "%s", sides[p]);
        for (char *save, *tok = strtok_r(list, ",", &save); tok && !found; tok = strtok_r(NULL, ",", &save)) {
            tok = trim(tok);
            for (size_t i = 0; i < nk && !found; i++)
                found = kb_kernel_matches(all[i], tok) &&
                        ((want_cpu && all[i]->device == KB_DEVICE_CPU) || (want_cuda && all[i]->device == KB_DEVICE_CUDA));
        }
        if (!found) {
            int w = snprintf(buf + used, len > used ? len - used : 0, "%s%s (no implementation for %s)", used ? ", " : "",
                             sides[p], devices ? devices : "cpu");
            if (w > 0)
                used += (size_t)w;
        }
    }
}

/* 1 when the pattern names a kernel that runs on the devices ("cpu" when NULL). */
static int pattern_on_devices(const char *pattern, const char *devices)
{
    const int want_cpu = !devices || strstr(devices, "cpu") != NULL;
    const int want_cuda = devices && strstr(devices, "cuda") != NULL;
    size_t nk;
    const struct kb_kernel *const *all = kb_registry_all(&nk);
    for (size_t i = 0; i < nk; i++)
        if (kb_kernel_matches(all[i], pattern) &&
            ((want_cpu && all[i]->device == KB_DEVICE_CPU) || (want_cuda && all[i]->device == KB_DEVICE_CUDA)))
            return 1;
    return 0;
}

void claim_suite_on_devices(const struct claim *c, const char *devices, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (const char *line = c->suite; *line;) {
        const size_t n = strcspn(line, "\n");
        char text[sizeof c->suite];
        snprintf(text, sizeof text, "%.*s", (int)n, line);
        line += n + (line[n] == '\n');
        static const char key[] = "kernels = ";
        if (strncmp(text, key, sizeof key - 1) == 0) {
            /* the alternatives with a kernel on these devices; all of them when none has */
            char kept[sizeof c->suite] = "", list[sizeof c->suite];
            size_t k = 0;
            snprintf(list, sizeof list, "%s", text + sizeof key - 1);
            for (char *save, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                tok = trim(tok);
                if (pattern_on_devices(tok, devices))
                    k += (size_t)snprintf(kept + k, k < sizeof kept ? sizeof kept - k : 0, "%s%s", k ? "," : "", tok);
            }
            if (*kept)
                snprintf(text, sizeof text, "%s%s", key, kept);
        }
        int w = snprintf(out + used, used < len ? len - used : 0, "%s\n", text);
        if (w > 0)
            used += (size_t)w;
    }
}

/* ---- evaluation -------------------------------------------------------------------------------- */

static int row_matches(const struct result_row *r, const char *patterns)
{
    char full[128], list[96];
    snprintf(full, sizeof full, "%s@%s", r->kernel, r->impl);
    snprintf(list, sizeof list, "%s", patterns);
    for (char *save, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = trim(tok);
        if (fnmatch(tok, r->kernel, 0) == 0 || fnmatch(tok, full, 0) == 0)
            return 1;
    }
    return 0;
}

/* The size a claim sweeps: sequence length, else GEMM rows, else MoE tokens. */
static long row_size(const struct result_row *r)
{
    return r->shape.seq_len ? r->shape.seq_len : r->shape.m ? r->shape.m : r->shape.tokens;
}

/* Two cases of different kernels measure the same problem when every axis both use agrees. */
static int same_problem(const struct result_row *a, const struct result_row *b)
{
    for (int i = 0; i < KB_AXIS_COUNT; i++) {
        int x = kb_shape_get(&a->shape, (enum kb_axis)i), y = kb_shape_get(&b->shape, (enum kb_axis)i);
        if (x && y && x != y)
            return 0;
    }
    return strcmp(a->device, b->device) == 0;
}

static int is_ok(const struct result_row *r)
{
    return strcmp(r->status, "ok") == 0 && r->stats.median > 0;
}

/* Collects the rows of one side; *failed gets the first failure for the reason text. */
static int side_rows(const struct result_row *rows, long n, const char *pattern, const struct result_row **out,
                     int max, const struct result_row **failed)
{
    int k = 0;
    *failed = NULL;
    for (long i = 0; i < n; i++) {
        if (!row_matches(&rows[i], pattern))
            continue;
        if (!is_ok(&rows[i])) {
            if (!*failed)
                *failed = &rows[i];
            continue;
        }
        if (k < max)
            out[k++] = &rows[i];
    }
    return k;
}

static int same_series(const struct result_row *a, const struct result_row *b)
{
    return strcmp(a->kernel, b->kernel) == 0 && strcmp(a->impl, b->impl) == 0 && strcmp(a->device, b->device) == 0 &&
           strcmp(a->dtype, b->dtype) == 0;
}

/* Whether rows[i] is the first row of its series (implementation, device, dtype) in run order. */
static int first_of_series(const struct result_row *const *rows, int i)
{
    for (int j = 0; j < i; j++)
        if (same_series(rows[i], rows[j]))
            return 0;
    return 1;
}

static int on_device(const struct result_row *r, const char *device)
{
    return !device || strcmp(r->device, device) == 0;
}

/* How many series rows hold (on `device`, when not NULL). */
static int series_count(const struct result_row *const *rows, int n, const char *device)
{
    int count = 0;
    for (int i = 0; i < n; i++)
        count += on_device(rows[i], device) && first_of_series(rows, i);
    return count;
}

/* The curve metrics (crossover, flat, exponent) read one series: one implementation on one
 * device in one dtype. Where a side's pattern matched several (attention.linear@cuda* also
 * catches a quadratic naive twin; --devices cpu,cuda:0 runs both devices), the series with the
 * most measured sizes is kept, the first of equals in run order; `device`, when not NULL,
 * restricts the choice to that device. Compacts rows in place; returns the count kept. */
static int one_series(const struct result_row **rows, int n, const char *device)
{
    int best = -1, best_count = 0;
    for (int i = 0; i < n; i++) {
        if (!on_device(rows[i], device) || !first_of_series(rows, i))
            continue;
        int count = 0;
        for (int j = i; j < n; j++)
            count += same_series(rows[i], rows[j]);
        if (count > best_count)
            best = i, best_count = count;
    }
    if (best < 0)
        return 0;
    const struct result_row *pick = rows[best];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (same_series(rows[i], pick))
            rows[k++] = rows[i];
    return k;
}

/* Names the series a curve metric read when its pattern matched more than one. */
static void name_series(struct claim_result *out, const struct result_row *r, int series)
{
    if (series < 2)
        return;
    size_t used = strlen(out->reason);
    snprintf(out->reason + used, sizeof out->reason - used, "; from %s@%s on %s %s (%d series matched)", r->kernel,
             r->impl, r->device, r->dtype, series);
}

static void untestable(struct claim_result *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void untestable(struct claim_result *out, const char *fmt, ...)
{
    out->verdict = CLAIM_UNTESTABLE;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
}

#define MAX_POINTS 256

void claim_evaluate(const struct claim *c, const struct result_row *rows, long n_rows, struct claim_result *out)
{
    memset(out, 0, sizeof *out);
    out->measured = out->ci_lo = out->ci_hi = NAN;
    char missing[256];
    claim_missing_kernels(c, missing, sizeof missing);
    if (*missing) {
        untestable(out, "no kernel %s in this build", missing);
        return;
    }
    const struct result_row *cand[MAX_POINTS], *base[MAX_POINTS], *cfail, *bfail;
    int nc = side_rows(rows, n_rows, c->candidate, cand, MAX_POINTS, &cfail);
    int nb = *c->baseline ? side_rows(rows, n_rows, c->baseline, base, MAX_POINTS, &bfail) : 0;
    if (nc == 0) {
        char why[320];
        snprintf(why, sizeof why, "%s %s", cfail ? cfail->status : "not run", cfail && *cfail->error ? cfail->error : "");
        untestable(out, "the candidate has no measured case (%s)", why);
        return;
    }
    if (*c->baseline && nb == 0 && (c->metric == CLAIM_SPEEDUP || c->metric == CLAIM_CROSSOVER)) {
        char why[320];
        snprintf(why, sizeof why, "%s %s", bfail ? bfail->status : "not run", bfail && *bfail->error ? bfail->error : "");
        untestable(out, "the baseline has no measured case (%s)", why);
        return;
    }
    double lowest_cos = INFINITY;
    for (int i = 0; i < nc; i++)
        if (isfinite(cand[i]->cosine) && cand[i]->cosine < lowest_cos)
            lowest_cos = cand[i]->cosine;
    double tol = c->tolerance;
    switch (c->metric) {
    case CLAIM_SPEEDUP: {
        /* At at_size, else at the largest size both ran on the same problem: the fastest
         * candidate against the fastest baseline of its problem, so that where a pattern matched
         * several implementations (flash on mma.sync and on wgmma) each side is its best. */
        long size = c->at_size;
        for (int i = 0; i < nc && !c->at_size; i++)
            for (int j = 0; j < nb; j++)
                if (row_size(cand[i]) == row_size(base[j]) && same_problem(cand[i], base[j]) && row_size(cand[i]) > size)
                    size = row_size(cand[i]);
        const struct result_row *pc = NULL, *pb = NULL;
        for (int i = 0; i < nc; i++)
            for (int j = 0; j < nb; j++)
                if (row_size(cand[i]) == size && row_size(base[j]) == size && same_problem(cand[i], base[j]) &&
                    (!pc || cand[i]->stats.median < pc->stats.median))
                    pc = cand[i];
        for (int j = 0; pc && j < nb; j++)
            if (row_size(base[j]) == size && same_problem(pc, base[j]) && (!pb || base[j]->stats.median < pb->stats.median))
                pb = base[j];
        if (!pc) {
            untestable(out, "candidate and baseline share no measured size%s", c->at_size ? " at the claim's at_size" : "");
            return;
        }
        double r = pb->stats.median / pc->stats.median;
        out->measured = r;
        out->ci_lo = pb->stats.ci_lo / pc->stats.ci_hi;
        out->ci_hi = pb->stats.ci_hi / pc->stats.ci_lo;
        /* A case too slow for three samples in its budget has no real interval: assume the
         * +-5% that repeated single runs of one case differ by on a busy machine. */
        int few = pb->stats.n < 3 || pc->stats.n < 3;
        if (few) {
            out->ci_lo = fmin(out->ci_lo, r / 1.05);
            out->ci_hi = fmax(out->ci_hi, r * 1.05);
        }
        snprintf(out->measured_text, sizeof out->measured_text, "%.2fx (%.2f-%.2f%s) at %ld", r, out->ci_lo,
                 out->ci_hi, few ? ", +-5% assumed" : "", row_size(pc));
        double need = c->paper_value * (1.0 - tol);
        if (out->ci_lo >= need || r >= need) {
            out->verdict = CLAIM_HOLDS;
            snprintf(out->reason, sizeof out->reason, "%.2fx against the paper's %.3gx", r, c->paper_value);
        } else if (out->ci_lo > 1.0) {
            out->verdict = CLAIM_PARTLY;
            snprintf(out->reason, sizeof out->reason, "faster (%.2fx) but short of the paper's %.3gx", r, c->paper_value);
        } else {
            out->verdict = CLAIM_FAILS;
            snprintf(out->reason, sizeof out->reason, "%s (%.2fx; the paper: %.3gx)",
                     out->ci_hi < 1.0 ? "the candidate is slower" : "no significant speed-up", r, c->paper_value);
        }
        if (series_count(cand, nc, NULL) > 1 || series_count(base, nb, NULL) > 1) {
            size_t used = strlen(out->reason);
            snprintf(out->reason + used, sizeof out->reason - used, "; %s@%s against %s@%s", pc->kernel, pc->impl,
                     pb->kernel, pb->impl);
        }
        if (!isnan(c->memory_ratio)) {
            const struct kb_kernel *kc = kb_registry_find(pc->kernel, pc->impl);
            const struct kb_kernel *kb = kb_registry_find(pb->kernel, pb->impl);
            enum kb_dtype dt;
            /* the whole footprint: the operation's operands plus the implementation's own */
            double fb = 0, fc = 0;
            if (kc && kb && kb_dtype_parse(pc->dtype, &dt) == 0) {
                fb = kb_kernel_footprint(kb, &pb->shape, dt);
                fc = kb_kernel_footprint(kc, &pc->shape, dt);
            }
            if (fb > 0 && fc > 0) {
                double m = fb / fc;
                size_t used = strlen(out->reason);
                snprintf(out->reason + used, sizeof out->reason - used, "; memory %.2fx less (paper: %.3gx)", m,
                         c->memory_ratio);
                if (m < c->memory_ratio * (1.0 - tol) && out->verdict == CLAIM_HOLDS)
                    out->verdict = CLAIM_PARTLY;
                if (m >= c->memory_ratio * (1.0 - tol) && out->verdict == CLAIM_FAILS)
                    out->verdict = CLAIM_PARTLY;
            }
        }
        break;
    }
    case CLAIM_CROSSOVER: {
        double na[MAX_POINTS], ta[MAX_POINTS], nbv[MAX_POINTS], tbv[MAX_POINTS];
        const int series_c = series_count(cand, nc, NULL);
        nc = one_series(cand, nc, NULL);
        const int series_b = series_count(base, nb, cand[0]->device);
        nb = one_series(base, nb, cand[0]->device);
        if (nb == 0) {
            untestable(out, "the baseline has no measured case on %s", cand[0]->device);
            return;
        }
        for (int i = 0; i < nb; i++) {
            nbv[i] = (double)row_size(base[i]);
            tbv[i] = base[i]->stats.median;
        }
        for (int i = 0; i < nc; i++) {
            na[i] = (double)row_size(cand[i]);
            ta[i] = cand[i]->stats.median;
        }
        double x[8];
        int after = 0;
        /* b = candidate: "b faster after" is the candidate overtaking the baseline */
        int k = scaling_crossovers(nbv, tbv, nb, na, ta, nc, x, 8, &after);
        struct scaling_fit fc, fb;
        double predicted = NAN;
        if (scaling_fit(na, ta, nc, &fc) == 0 && scaling_fit(nbv, tbv, nb, &fb) == 0)
            predicted = scaling_crossover_fit(&fb, &fc);
        double smallest = INFINITY;
        for (int i = 0; i < nc; i++)
            smallest = fmin(smallest, na[i]);
        if (k > 0 && after) {
            out->measured = x[k - 1];
            snprintf(out->measured_text, sizeof out->measured_text, "N = %.0f (measured)", x[k - 1]);
        } else if (k == 0 && after) {
            out->measured = smallest; /* faster at every shared size: the crossover lies below the sweep */
            snprintf(out->measured_text, sizeof out->measured_text, "N <= %.0f (faster at every size)", smallest);
        } else if (isfinite(predicted) && fc.exponent < fb.exponent) {
            out->measured = predicted;
            snprintf(out->measured_text, sizeof out->measured_text, "N ~ %.0f (extrapolated from the fits)", predicted);
        } else {
            out->verdict = CLAIM_FAILS;
            snprintf(out->measured_text, sizeof out->measured_text, "none");
            snprintf(out->reason, sizeof out->reason, "the candidate is never faster in the sweep, nor on course to be");
            name_series(out, cand[0], series_c);
            name_series(out, base[0], series_b);
            break;
        }
        int measured = k > 0 || (k == 0 && after);
        if (out->measured <= c->paper_value * (1.0 + tol) && measured) {
            out->verdict = CLAIM_HOLDS;
            snprintf(out->reason, sizeof out->reason, "faster from N = %.0f (the paper: %.0f)", out->measured, c->paper_value);
        } else {
            out->verdict = CLAIM_PARTLY;
            snprintf(out->reason, sizeof out->reason, "%s at N = %.0f, later than the paper's %.0f",
                     measured ? "overtakes" : "would overtake", out->measured, c->paper_value);
        }
        name_series(out, cand[0], series_c);
        name_series(out, base[0], series_b);
        break;
    }
    case CLAIM_FLAT: {
        double lo = INFINITY, hi = 0, n[MAX_POINTS], t[MAX_POINTS];
        long nlo = 0, nhi = 0;
        const int series = series_count(cand, nc, NULL);
        nc = one_series(cand, nc, NULL);
        for (int i = 0; i < nc; i++) {
            double per = cand[i]->stats.median / (double)row_size(cand[i]);
            n[i] = (double)row_size(cand[i]);
            t[i] = cand[i]->stats.median;
            if (per < lo)
                lo = per;
            if (per > hi)
                hi = per;
            nlo = nlo ? (n[i] < nlo ? (long)n[i] : nlo) : (long)n[i];
            nhi = n[i] > nhi ? (long)n[i] : nhi;
        }
        if (nc < 3) {
            untestable(out, "the candidate ran at fewer than 3 sizes");
            return;
        }
        struct scaling_fit f;
        scaling_fit(n, t, nc, &f);
        out->measured = hi / lo - 1.0;
        out->ci_lo = f.exponent_lo;
        out->ci_hi = f.exponent_hi;
        snprintf(out->measured_text, sizeof out->measured_text, "time/token varies %.0f%% over N=%ld..%ld (exponent %.2f)",
                 100 * out->measured, nlo, nhi, f.exponent);
        out->verdict = out->measured <= tol ? CLAIM_HOLDS : out->measured <= 3 * tol ? CLAIM_PARTLY : CLAIM_FAILS;
        snprintf(out->reason, sizeof out->reason, "time per token within %.0f%% %s (exponent %.2f, 95%% CI %.2f-%.2f)",
                 100 * out->measured, out->verdict == CLAIM_HOLDS ? "across the sweep" : "- not flat", f.exponent,
                 f.exponent_lo, f.exponent_hi);
        name_series(out, cand[0], series);
        break;
    }
    case CLAIM_EXPONENT: {
        double n[MAX_POINTS], t[MAX_POINTS];
        const int series = series_count(cand, nc, NULL);
        nc = one_series(cand, nc, NULL);
        for (int i = 0; i < nc; i++) {
            n[i] = (double)row_size(cand[i]);
            t[i] = cand[i]->stats.median;
        }
        struct scaling_fit f;
        if (scaling_fit(n, t, nc, &f) != 0) {
            untestable(out, "the candidate ran at fewer than 2 sizes");
            return;
        }
        out->measured = f.exponent;
        out->ci_lo = f.exponent_lo;
        out->ci_hi = f.exponent_hi;
        snprintf(out->measured_text, sizeof out->measured_text, "%.2f (%.2f-%.2f)", f.exponent, f.exponent_lo, f.exponent_hi);
        int inside = (f.exponent_lo <= c->paper_value && c->paper_value <= f.exponent_hi) ||
                     fabs(f.exponent - c->paper_value) <= tol;
        out->verdict = inside ? CLAIM_HOLDS : fabs(f.exponent - c->paper_value) <= 3 * tol ? CLAIM_PARTLY : CLAIM_FAILS;
        snprintf(out->reason, sizeof out->reason, "fitted exponent %.2f against the paper's %.3g", f.exponent, c->paper_value);
        name_series(out, cand[0], series);
        break;
    }
    case CLAIM_ACCURACY:
        if (!isfinite(lowest_cos)) {
            untestable(out, "the candidate reported no accuracy figures");
            return;
        }
        out->measured = lowest_cos;
        snprintf(out->measured_text, sizeof out->measured_text, "cosine >= %.5f", lowest_cos);
        out->verdict = lowest_cos >= c->paper_value - tol ? CLAIM_HOLDS : CLAIM_FAILS;
        snprintf(out->reason, sizeof out->reason, "lowest cosine similarity %.5f against the bound %.5g", lowest_cos,
                 c->paper_value);
        return;
    }
    /* a speed claim that needs an accuracy bound: speed alone is only part of it */
    if (!isnan(c->min_cosine) && out->verdict == CLAIM_HOLDS && !(lowest_cos >= c->min_cosine)) {
        out->verdict = CLAIM_PARTLY;
        size_t used = strlen(out->reason);
        snprintf(out->reason + used, sizeof out->reason - used, "; but cosine %.5f < %.5g", lowest_cos, c->min_cosine);
    } else if (!isnan(c->min_cosine) && isfinite(lowest_cos)) {
        size_t used = strlen(out->reason);
        snprintf(out->reason + used, sizeof out->reason - used, "; cosine %.5f", lowest_cos);
    }
}
