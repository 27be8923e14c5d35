/* cmd_history.c - `kbench history --kernel K`: a case's median across runs, with the change
 * points (regress.h) that say where a step happened or a drift began. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cli.h"
#include "harness/compare.h"
#include "harness/machine.h"
#include "harness/plan.h"
#include "harness/regress.h"
#include "harness/stats.h"
#include "reports/reports.h"

enum { OPT_KERNEL = 256, OPT_SHAPE, OPT_DTYPE, OPT_DEVICE, OPT_THREADS, OPT_CACHE, OPT_MIN_CHANGE,
       OPT_ALL_MACHINES, OPT_DB, OPT_HELP };


/* -1 in a shape field or threads: any value. */
struct filter {
    const char *kernel, *dtype, *device;
    struct kb_shape shape;
    int threads, cold;
};

/* KEY=V items over the shape axes (kbench list --axes; enum axes take names: routing=zipf). */
static int parse_shape(const char *text, struct kb_shape *s)
{
    char buf[256];
    if (strlen(text) >= sizeof buf)
        return cli_usage_error("history", "--shape '%s' is too long", text);
    strcpy(buf, text);
    for (char *save = NULL, *item = strtok_r(buf, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
        char *eq = strchr(item, '=');
        if (!eq)
            return cli_usage_error("history", "bad --shape item '%s' (expected KEY=V)", item);
        *eq = '\0';
        int a = kb_axis_by_key(item);
        if (a < 0)
            return cli_usage_error("history", "unknown --shape key '%s' (see 'kbench list --axes')", item);
        long v;
        if (kb_axis_info((enum kb_axis)a)->kind == KB_AXIS_KIND_ENUM) {
            v = kb_axis_value_parse((enum kb_axis)a, eq + 1);
            if (v < 0)
                return cli_usage_error("history", "unknown %s '%s'", item, eq + 1);
        } else if (cli_parse_int(eq + 1, 0, 1 << 30, &v) != 0) {
            return cli_usage_error("history", "bad --shape item '%s=%s' (expected a number)", item, eq + 1);
        }
        kb_shape_set(s, (enum kb_axis)a, (int)v);
    }
    return 0;
}

static int dim_ok(int want, int got) { return want < 0 || want == got; }

static int matches(const struct filter *f, const struct result_row *r)
{
    struct kb_kernel k = { .name = r->kernel, .impl = r->impl };
    for (int a = 0; a < KB_AXIS_COUNT; a++)
        if (!dim_ok(kb_shape_get(&f->shape, (enum kb_axis)a), kb_shape_get(&r->shape, (enum kb_axis)a)))
            return 0;
    return kb_kernel_matches(&k, f->kernel) && (!f->dtype || strcmp(f->dtype, r->dtype) == 0) &&
           (!f->device || strcmp(f->device, r->device) == 0) && dim_ok(f->threads, r->threads) &&
           dim_ok(f->cold, r->cold_cache);
}

struct point { int64_t run; char started[32]; double median, noise; };
struct series {
    char label[256], machine[17], hostname[128];
    struct point *p;
    size_t n, cap;
};
struct history {
    const struct filter *f;
    const struct run_row *run;
    struct series *s;
    size_t n, cap;
    int oom;
};

static int add_point(const struct result_row *r, void *ctx)
{
    struct history *h = ctx;
    if (strcmp(r->status, "ok") != 0 || !matches(h->f, r) || !(r->stats.median > 0))
        return 0;
    struct compare_case id = { .shape = r->shape, .threads = r->threads, .cold_cache = r->cold_cache };
    snprintf(id.kernel, sizeof id.kernel, "%s", r->kernel);
    snprintf(id.impl, sizeof id.impl, "%s", r->impl);
    snprintf(id.device, sizeof id.device, "%s", r->device);
    snprintf(id.dtype, sizeof id.dtype, "%s", r->dtype);
    char label[256];
    compare_case_label(&id, label, sizeof label);
    struct series *s = NULL;
    for (size_t i = 0; i < h->n && !s; i++)
        if (strcmp(h->s[i].label, label) == 0 && strcmp(h->s[i].machine, h->run->machine) == 0)
            s = &h->s[i];
    if (!s) {
        if (h->n == h->cap) {
            size_t cap = h->cap ? 2 * h->cap : 16;
            struct series *v = realloc(h->s, cap * sizeof *v);
            if (!v)
                return h->oom = 1;
            h->s = v;
            h->cap = cap;
        }
        s = &h->s[h->n++];
        memset(s, 0, sizeof *s);
        snprintf(s->label, sizeof s->label, "%s", label);
        snprintf(s->machine, sizeof s->machine, "%s", h->run->machine);
        snprintf(s->hostname, sizeof s->hostname, "%s", h->run->hostname);
    }
    if (s->n && s->p[s->n - 1].run == h->run->id)
        return 0; /* one point per run */
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct point *v = realloc(s->p, cap * sizeof *v);
        if (!v)
            return h->oom = 1;
        s->p = v;
        s->cap = cap;
    }
    struct point *pt = &s->p[s->n++];
    pt->run = h->run->id;
    snprintf(pt->started, sizeof pt->started, "%s", h->run->started);
    pt->median = r->stats.median;
    pt->noise = report_has_ci(r) ? r->stats.noise : NAN; /* no CI from fewer than 3 samples */
    return 0;
}

/* Fewer runs than this leave too few run-to-run differences to estimate the noise from (one
 * difference is the change being judged; the segmentation needs at least two more). */
#define HISTORY_MIN_RUNS 4

static void print_series(const struct series *s, double min_change)
{
    double *x = malloc(s->n * sizeof *x);
    struct regress_segment *seg = malloc(s->n * sizeof *seg);
    if (!x || !seg) {
        free(x);
        free(seg);
        return;
    }
    for (size_t i = 0; i < s->n; i++)
        x[i] = s->p[i].median;
    printf("%s  on %s (%s): %zu run%s\n", s->label, s->hostname, s->machine, s->n, s->n == 1 ? "" : "s");
    printf("  %6s  %-24s %12s %8s %9s\n", "run", "started", "median", "±CI", "vs first");
    for (size_t i = 0; i < s->n; i++) {
        char med[32];
        report_format_seconds(x[i], med, sizeof med);
        char ci[16] = "n/a";
        if (isfinite(s->p[i].noise))
            snprintf(ci, sizeof ci, "%.1f%%", 100 * s->p[i].noise);
        printf("  %6lld  %-24s %12s %8s %+8.1f%%\n", (long long)s->p[i].run, s->p[i].started, med, ci,
               100 * (x[i] / x[0] - 1));
    }
    double sorted_mid;
    {
        double *tmp = malloc(s->n * sizeof *tmp);
        if (!tmp) {
            free(x);
            free(seg);
            return;
        }
        stats_sorted_copy(x, s->n, tmp);
        sorted_mid = stats_quantile_sorted(tmp, s->n, 0.5);
        free(tmp);
    }
    double sigma;
    /* the floor makes changes smaller than min_change (a quarter of it per noise unit, so a shift
     * of min_change is four noise units) count as noise */
    int k = s->n < HISTORY_MIN_RUNS ? -2 : regress_segments(x, s->n, min_change * sorted_mid / 4, seg, s->n, &sigma);
    if (k == -2) {
        /* The noise is estimated from run-to-run differences: with two runs the only difference
         * is the change itself, so "flat at the mean" would hide a 20% step. */
        char a[32], b[32];
        report_format_seconds(x[0], a, sizeof a);
        report_format_seconds(x[s->n - 1], b, sizeof b);
        printf("  too few runs to tell a change from noise (%zu; change points need at least %d): "
               "%s -> %s (%+.1f%%)\n", s->n, HISTORY_MIN_RUNS, a, b, 100 * (x[s->n - 1] / x[0] - 1));
    } else if (k < 0) {
        printf("  (no change-point search: unusable series)\n\n");
    } else if (k == 1 && !seg[0].trend) {
        char lvl[32], sg[32];
        report_format_seconds(seg[0].first, lvl, sizeof lvl);
        report_format_seconds(sigma, sg, sizeof sg);
        printf("  no change: flat at %s (run-to-run noise %s)\n", lvl, sg);
    } else {
        printf("  change points (run-to-run noise %.2f%%):\n", 100 * sigma / sorted_mid);
        for (int i = 0; i < k; i++) {
            const struct regress_segment *g = &seg[i];
            char a[32], b[32];
            if (i > 0) {
                const struct regress_segment *prev = &seg[i - 1];
                double jump = g->first - prev->last;
                if (fabs(jump) > 3 * sigma) {
                    report_format_seconds(prev->last, a, sizeof a);
                    report_format_seconds(g->first, b, sizeof b);
                    printf("    run %lld: step %+.1f%% (%s -> %s)\n", (long long)s->p[g->start].run,
                           100 * jump / prev->last, a, b);
                } else if (!g->trend) {
                    printf("    run %lld: drift ends\n", (long long)s->p[g->start].run);
                }
            }
            if (g->trend) {
                report_format_seconds(g->first, a, sizeof a);
                report_format_seconds(g->last, b, sizeof b);
                printf("    run %lld: drift begins, %+.2f%% per run over %zu runs to run %lld (%s -> %s)\n",
                       (long long)s->p[g->start].run, 100 * g->slope / g->first, g->end - g->start,
                       (long long)s->p[g->end - 1].run, a, b);
            }
        }
    }
    printf("\n");
    free(x);
    free(seg);
}

static const struct cli_option options[] = {
    { "kernel", 0, OPT_KERNEL, "K", CLI_KERNEL, "kernel name or pattern (name or name@impl)", NULL, 0 },
    { "kernels", 0, OPT_KERNEL, "K", CLI_KERNEL, NULL, NULL, CLI_HIDDEN },
    { "shape", 0, OPT_SHAPE, "KEY=V,...", CLI_TEXT,
      "shape axes, as in 'kbench list --axes' (e.g. seq=4096,head_dim=64)", NULL, 0 },
    { "dtype", 0, OPT_DTYPE, "T", CLI_CHOICE, "only cases of this dtype", "f32 f64 f16 bf16 i8 i4 e4m3 e5m2 mxfp4 nvfp4", 0 },
    { "device", 0, OPT_DEVICE, "D", CLI_DEVICE, "only cases of this device (cpu, cuda:N)", NULL, 0 },
    { "threads", 0, OPT_THREADS, "N", CLI_TEXT, "only cases with this many threads", NULL, 0 },
    { "cache", 0, OPT_CACHE, "hot|cold", CLI_CHOICE, "only hot- or cold-cache cases", "hot cold", 0 },
    { "min-change", 0, OPT_MIN_CHANGE, "FRAC", CLI_TEXT,
      "changes below this fraction of the level count as noise (0.01)", NULL, 0 },
    { "all-machines", 0, OPT_ALL_MACHINES, NULL, CLI_TEXT,
      "include runs of other machine fingerprints (each machine its own series)", NULL, 0 },
    { "db", 0, OPT_DB, "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_exit exits[] = {
    { 0, "printed" },
    { 2, "usage or input error (including no matching case)" },
    { -1, NULL },
};

const struct cli_command cli_cmd_history = {
    .name = "history",
    .fn = cmd_history,
    .summary = "a case's median across runs, with the runs where it changed",
    .synopsis = "--kernel K [--shape KEY=V,...] [OPTIONS]",
    .description =
        "Prints the median of each matching case across the runs of this machine, oldest first, and "
        "splits the series into flat stretches and drifts (an exact least-squares segmentation with a "
        "penalty per change, noise estimated from run-to-run differences). Each change point names the "
        "run where it began: a step (a jump between two runs) or a drift (a steady trend). With fewer "
        "than 4 runs it says so and prints only the change from the first run to the last.",
    .options = options,
    .max_operands = 0,
    .exits = exits,
    .example = "kbench history --kernel attention.flash --shape seq=4096,head_dim=64",
};

int cmd_history(int argc, char **argv)
{
    struct filter f = { .threads = -1, .cold = -1 };
    for (int a = 0; a < KB_AXIS_COUNT; a++)
        kb_shape_set(&f.shape, (enum kb_axis)a, -1); /* any value */
    const char *db = NULL;
    double min_change = 0.01;
    int all_machines = 0, opt, rc;
    long l;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_history, argc, argv);
    while ((opt = cli_next(&p)) != CLI_DONE) {
        const char *optarg = p.arg;
        switch (opt) {
        case OPT_KERNEL: f.kernel = optarg; break;
        case OPT_SHAPE:
            if ((rc = parse_shape(optarg, &f.shape)) != 0)
                return rc;
            break;
        case OPT_DTYPE: f.dtype = optarg; break;
        case OPT_DEVICE: f.device = optarg; break;
        case OPT_THREADS:
            if (cli_parse_int(optarg, 1, 1 << 20, &l) != 0)
                return cli_usage_error("history", "bad --threads '%s'", optarg);
            f.threads = (int)l;
            break;
        case OPT_CACHE:
            if (strcmp(optarg, "hot") != 0 && strcmp(optarg, "cold") != 0)
                return cli_usage_error("history", "bad --cache '%s' (hot or cold)", optarg);
            f.cold = strcmp(optarg, "cold") == 0;
            break;
        case OPT_MIN_CHANGE:
            if (cli_parse_double(optarg, 0, 1, &min_change) != 0)
                return cli_usage_error("history", "bad --min-change '%s' (a fraction in [0, 1])", optarg);
            break;
        case OPT_ALL_MACHINES: all_machines = 1; break;
        case OPT_DB: db = optarg; break;
        case CLI_STOP: return p.status;
        }
    }
    if (!f.kernel)
        return cli_usage_error("history", "--kernel is required");
    struct store *st;
    if ((rc = cli_open_store("history", cli_db_path(db), STORE_READ, &st)) != 0)
        return rc;
    struct machine_info here;
    machine_info_read(&here);
    struct { struct run_row *v; size_t n; } runs = { 0 };
    struct history h = { .f = &f };
    if (store_all_runs(st, &runs.v, &runs.n) != 0) {
        rc = cli_input_error("history", "%s", store_errmsg(st));
        goto out;
    }
    for (size_t i = runs.n; i-- > 0;) { /* oldest first */
        const struct run_row *r = &runs.v[i];
        if (strcmp(r->status, "running") == 0 || (!all_machines && strcmp(r->machine, here.fingerprint) != 0))
            continue;
        h.run = r;
        if (store_list_results(st, r->id, add_point, &h) != 0 || h.oom) {
            rc = cli_input_error("history", "%s", h.oom ? "out of memory" : store_errmsg(st));
            goto out;
        }
    }
    if (h.n == 0) {
        rc = cli_input_error("history", "no timed case of '%s' matches%s in %s", f.kernel,
                             all_machines ? "" : " on this machine (--all-machines looks at every machine)",
                             cli_db_path(db));
        goto out;
    }
    for (size_t i = 0; i < h.n; i++)
        print_series(&h.s[i], min_change);
    rc = EXIT_OK;
out:
    for (size_t i = 0; i < h.n; i++)
        free(h.s[i].p);
    free(h.s);
    free(runs.v);
    store_close(st);
    return rc;
}
