/* cmd_claims.c - `kbench claims`: do the papers' headline claims hold on this machine?
 *
 * Each claim (datasets/claims/NAME.claim, reports/claims.h) names a candidate and a baseline
 * kernel, a sweep and a metric. For each, this command reuses a recent run of that sweep on this
 * machine (tagged claim-ID) or runs it through the sweep API (harness/sweep.h: an ordinary tagged,
 * inspectable run, whose failure comes back as data), judges the result, stores the verdict in
 * the claims table and prints the table.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "bench/cli.h"
#include "harness/gpu.h"
#include "harness/machine.h"
#include "reports/claims.h"
#include "reports/reports.h"

struct options {
    const char *only, *devices, *db, *dir, *format;
    int fresh, list, show, all_machines;
    double max_age_days;
};

static int selected(const struct options *o, const struct claim *c, int index)
{
    if (!o->only)
        return 1;
    char list[512];
    snprintf(list, sizeof list, "%s", o->only);
    for (char *save, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        long n = strtol(tok, &end, 10);
        if ((*end == '\0' && n == index + 1) || strcmp(tok, c->id) == 0)
            return 1;
    }
    return 0;
}

/* Seconds since an ISO 8601 UTC time as the store writes it. */
static double age_s(const char *iso)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm))
        return INFINITY;
    return difftime(time(NULL), timegm(&tm));
}

struct reuse { const char *tag, *machine; double max_age; int64_t found; };

static int find_reusable(const struct run_row *r, void *ctx)
{
    struct reuse *u = ctx;
    char tags[80];
    snprintf(tags, sizeof tags, ",%s,", r->tag);
    char want[80];
    snprintf(want, sizeof want, ",%s,", u->tag);
    if (strcmp(r->status, "complete") == 0 && strcmp(r->machine, u->machine) == 0 && strstr(tags, want) &&
        age_s(r->started) <= u->max_age) {
        u->found = r->id;
        return 1;
    }
    return 0;
}

/* Runs the claim's sweep as an ordinary tagged run (progress on stderr, as `kbench run` shows it);
 * returns the run id, 0 when the run could not be made (the sweep's own reason in why), or -130
 * when interrupted. */
static int64_t run_sweep(const struct options *o, const char *db, const struct claim *c, char *why, size_t whylen)
{
    char tag[80], cmdline[256];
    snprintf(tag, sizeof tag, "claim-%s", c->id);
    snprintf(cmdline, sizeof cmdline, "kbench claims --only %s%s%s", c->id, o->devices ? " --devices " : "",
             o->devices ? o->devices : "");
    struct cli_run_args ra;
    cli_run_args_init(&ra);
    if (!isnan(c->max_time))
        ra.ro.max_time_s = c->max_time;
    if (cli_run_check(&ra) != 0) { /* a short budget lowers the default minimum with it, as in run */
        snprintf(why, whylen, "its sweep could not run: max_time %g", c->max_time);
        return 0;
    }
    struct sweep_axis devices = { "devices", o->devices };
    struct sweep_request req;
    sweep_request_init(&req);
    const char *file = strrchr(c->path, '/');
    static char suite[sizeof c->suite];
    claim_suite_on_devices(c, o->devices, suite, sizeof suite);
    req.suite_text = suite;
    req.suite_label = file ? file + 1 : c->path; /* the run's suite: the claim's file */
    req.axes = &devices;
    req.n_axes = o->devices ? 1 : 0;
    req.ro = ra.ro;
    req.tag = tag;
    req.cmdline = cmdline;
    req.no_resume = 1; /* its suite is the claim's: `kbench claims` runs it again, not `kbench run --resume` */
    fprintf(stderr, "kbench claims: %s: running its sweep\n", c->id);
    char err[512];
    if (store_open(db, STORE_WRITE, &req.store, err, sizeof err) != 0) {
        snprintf(why, whylen, "its sweep could not run: %s", err);
        return 0;
    }
    struct cli_sweep_printer printer = { .cmd = "claims", .db_path = db };
    req.on_event = cli_sweep_event;
    req.ctx = &printer;
    struct sweep_result res;
    int64_t id = 0;
    if (sweep_run(&req, &res) != 0 || res.store_failed)
        snprintf(why, whylen, "its sweep could not run: %s", res.error);
    else if (res.interrupted)
        id = -130;
    else
        id = res.run_id;
    if (res.interrupted)
        fprintf(stderr, "interrupted: run %lld marked interrupted; finished cases are stored\n", (long long)res.run_id);
    sweep_result_free(&res);
    store_close(req.store);
    return id;
}

struct rows { struct result_row *v; long n, cap; };

static int collect(const struct result_row *r, void *ctx)
{
    struct rows *rows = ctx;
    if (rows->n == rows->cap) {
        long cap = rows->cap ? rows->cap * 2 : 64;
        struct result_row *nv = realloc(rows->v, sizeof *nv * (size_t)cap);
        if (!nv)
            return 1;
        rows->v = nv;
        rows->cap = cap;
    }
    rows->v[rows->n++] = *r;
    return 0;
}

static void print_row(const struct options *o, const struct claim_row *r, int first, int last)
{
    if (strcmp(o->format, "json") == 0) {
        char measured[32];
        if (isfinite(r->measured))
            snprintf(measured, sizeof measured, "%.6g", r->measured);
        else
            snprintf(measured, sizeof measured, "null");
        /* ids, verdicts, metrics and texts written by kbench hold no quotes or backslashes */
        printf("%s{\"claim\": \"%s\", \"verdict\": \"%s\", \"metric\": \"%s\", \"paper_value\": %.6g, "
               "\"measured\": %s, \"measured_text\": \"%s\", \"paper_hardware\": \"%s\", \"machine\": \"%s\", "
               "\"run_id\": %lld}%s\n",
               first ? "[\n  " : "  ", r->claim_id, r->verdict, r->metric, r->paper_value, measured,
               r->measured_text, r->hardware, r->hostname, (long long)r->run_id, last ? "\n]" : ",");
        return;
    }
    if (strcmp(o->format, "md") == 0) {
        if (first)
            printf("| claim | paper says | paper's hardware | here | verdict | why |\n|---|---|---|---|---|---|\n");
        printf("| %s | \"%s\" (%s %.4g) | %s | %s | **%s** | %s |\n", r->claim_id, r->quote, r->metric, r->paper_value,
               r->hardware, *r->measured_text ? r->measured_text : "-", r->verdict, r->reason);
        return;
    }
    /* text: one table row per claim, the quote and the reason beneath it */
    if (first)
        printf("%-30s %-24s %-40s %s\n", "claim", "paper (metric)", "here", "verdict");
    char paper[64];
    snprintf(paper, sizeof paper, "%.4g (%s)", r->paper_value, r->metric);
    printf("%-30s %-24s %-40s %s\n", r->claim_id, paper, *r->measured_text ? r->measured_text : "-", r->verdict);
    printf("    \"%.150s%s\"\n    paper: %s, on %s\n    here: %s; %s\n", r->quote, strlen(r->quote) > 150 ? "..." : "",
           r->paper, *r->hardware ? r->hardware : "?", r->hostname, r->reason);
    if (last)
        printf("\n");
}

struct printer {
    const struct options *o;
    int count, total;
    char (*ids)[64]; /* NULL: every claim */
    int n_ids;
};

static int wanted(const struct printer *p, const struct claim_row *r)
{
    for (int i = 0; i < p->n_ids; i++)
        if (strcmp(p->ids[i], r->claim_id) == 0)
            return 1;
    return p->ids == NULL;
}

static int print_stored(const struct claim_row *r, void *ctx)
{
    struct printer *p = ctx;
    if (!wanted(p, r))
        return 0;
    p->count++;
    print_row(p->o, r, p->count == 1, p->count == p->total);
    return 0;
}

static int count_stored(const struct claim_row *r, void *ctx)
{
    struct printer *p = ctx;
    p->total += wanted(p, r);
    return 0;
}

static int show_stored(const struct options *o, const char *db, char (*ids)[64], int n_ids)
{
    struct store *st;
    if (cli_open_store("claims", db, STORE_READ, &st) != 0)
        return EXIT_USAGE;
    struct machine_info here;
    machine_info_read(&here);
    const char *machine = o->all_machines ? NULL : here.fingerprint;
    struct printer p = { o, 0, 0, ids, n_ids };
    int rc = store_list_claims(st, machine, count_stored, &p);
    if (rc == 0)
        rc = store_list_claims(st, machine, print_stored, &p);
    if (rc != 0)
        fprintf(stderr, "kbench claims: %s\n", store_errmsg(st));
    else if (p.total == 0)
        fprintf(stderr, "kbench claims: no verdicts stored%s; run 'kbench claims'\n", machine ? " for this machine" : "");
    store_close(st);
    return rc ? EXIT_USAGE : EXIT_OK;
}

enum { OPT_ONLY = 256, OPT_DEVICES, OPT_FRESH, OPT_MAX_AGE, OPT_CLAIMS, OPT_FORMAT, OPT_LIST, OPT_SHOW,
       OPT_ALL, OPT_DB };

static const struct cli_option options[] = {
    { "only", 0, OPT_ONLY, "IDS", CLI_TEXT, "claim ids or numbers (1 = the first file by name), comma-separated",
      NULL, 0 },
    { "devices", 0, OPT_DEVICES, "LIST", CLI_DEVICE, "devices to run on (cpu)", NULL, 0 },
    { "fresh", 0, OPT_FRESH, NULL, CLI_TEXT, "always run the sweeps again", NULL, 0 },
    { "max-age", 0, OPT_MAX_AGE, "DAYS", CLI_TEXT, "reuse runs at most this old (7)", NULL, 0 },
    { "claims", 0, OPT_CLAIMS, "DIR", CLI_DIR,
      "the claim files (datasets/claims, $KBENCH_CLAIMS, or the installed ones)", NULL, 0 },
    { "format", 0, OPT_FORMAT, "F", CLI_CHOICE, "text (default), md or json", "text md json", 0 },
    { "list", 0, OPT_LIST, NULL, CLI_TEXT, "list the claims and exit", NULL, 0 },
    { "show", 0, OPT_SHOW, NULL, CLI_TEXT,
      "print the stored verdicts without running (this machine; --all-machines)", NULL, 0 },
    { "all-machines", 0, OPT_ALL, NULL, CLI_TEXT, "with --show: every machine's verdicts", NULL, 0 },
    { "db", 0, OPT_DB, "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_exit exits[] = {
    { 0, "done (whatever the verdicts)" },
    { 2, "usage or input error" },
    { 130, "interrupted" },
    { -1, NULL },
};

const struct cli_command cli_cmd_claims = {
    .name = "claims",
    .fn = cmd_claims,
    .summary = "check the papers' headline claims on this machine",
    .synopsis = "[--only IDS] [--devices LIST] [--fresh] [--max-age DAYS] [--db PATH]\n--list | --show [--all-machines]",
    .description =
        "Checks the headline claims of the papers behind kbench's kernels on this machine. For each claim "
        "it reuses a complete run of the claim's sweep from this machine younger than --max-age (tagged "
        "claim-ID), or runs the sweep ('kbench run', progress on stderr), then prints: the claim, the "
        "paper's figure and hardware, this machine's figure with its confidence interval, and a verdict: "
        "holds, partly, does not hold here, or cannot be tested here (and why). Verdicts are stored in the "
        "database's claims table.",
    .options = options,
    .max_operands = 0,
    .notes = "Adding a claim is a text file in datasets/claims (see README, 'Paper claims').",
    .exits = exits,
};

int cmd_claims(int argc, char **argv)
{
    struct options o = { .format = "text", .max_age_days = 7 };
    int opt;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_claims, argc, argv);
    while ((opt = cli_next(&p)) != CLI_DONE) {
        const char *optarg = p.arg;
        switch (opt) {
        case OPT_ONLY: o.only = optarg; break;
        case OPT_DEVICES: o.devices = optarg; break;
        case OPT_FRESH: o.fresh = 1; break;
        case OPT_MAX_AGE:
            if (cli_parse_double(optarg, 0, 1e6, &o.max_age_days) != 0)
                return cli_usage_error("claims", "bad --max-age '%s' (days, a number >= 0)", optarg);
            break;
        case OPT_CLAIMS: o.dir = optarg; break;
        case OPT_FORMAT:
            if (strcmp(optarg, "text") && strcmp(optarg, "md") && strcmp(optarg, "json"))
                return cli_usage_error("claims", "bad --format '%s' (expected text, md or json)", optarg);
            o.format = optarg;
            break;
        case OPT_LIST: o.list = 1; break;
        case OPT_SHOW: o.show = 1; break;
        case OPT_ALL: o.all_machines = 1; break;
        case OPT_DB: o.db = optarg; break;
        case CLI_STOP: return p.status;
        }
    }
    const char *db = cli_db_path(o.db);
    if (o.show)
        return show_stored(&o, db, NULL, 0);

    char dir[1024], err[1024];
    if (o.dir)
        snprintf(dir, sizeof dir, "%s", o.dir);
    else if (claims_find_dir(dir, sizeof dir) != 0)
        return cli_input_error("claims", "no claims directory found (datasets/claims; set $KBENCH_CLAIMS or --claims DIR)");
    struct claim *claims;
    int n = claims_load_dir(dir, &claims, err, sizeof err);
    if (n < 0)
        return cli_input_error("claims", "%s", err);
    if (o.list) {
        for (int i = 0; i < n; i++) {
            char missing[256];
            claim_missing_kernels(&claims[i], missing, sizeof missing);
            printf("%2d  %-28s %-9s %s\n    \"%s\"%s%s\n", i + 1, claims[i].id, claim_metric_name(claims[i].metric),
                   claims[i].paper, claims[i].quote, *missing ? "\n    needs kernels not in this build: " : "", missing);
        }
        free(claims);
        return EXIT_OK;
    }
    int any = 0;
    for (int i = 0; i < n; i++)
        any |= selected(&o, &claims[i], i);
    if (!any) {
        free(claims);
        return cli_usage_error("claims", "--only '%s' names no claim (see 'kbench claims --list')", o.only);
    }

    struct machine_info here;
    machine_info_read(&here);
    char (*ids)[64] = calloc((size_t)n, sizeof *ids);
    int n_ids = 0, rc = ids ? EXIT_OK : cli_input_error("claims", "out of memory");
    for (int i = 0; i < n && rc == EXIT_OK; i++) {
        const struct claim *c = &claims[i];
        if (!selected(&o, c, i))
            continue;
        snprintf(ids[n_ids++], sizeof ids[0], "%s", c->id);
        struct claim_result res;
        char missing[256], why[512] = "";
        int64_t run_id = 0;
        claim_missing_kernels(c, missing, sizeof missing);
        if (!*missing) {
            /* a claim whose kernels exist, but not for the devices asked for, is not run */
            claim_missing_on_devices(c, o.devices, why, sizeof why);
            if (*why) {
                char tmp[512];
                snprintf(tmp, sizeof tmp, "no kernel %s", why);
                snprintf(why, sizeof why, "%s", tmp);
            }
        }
        /* a claim made on several GPUs (gpus = 8) says so: with fewer here it is not run */
        int gpus_here = -1;
        if (!*missing && !*why && c->gpus > 0) {
            char reason[256];
            gpus_here = gpu_count(reason, sizeof reason);
            if (gpus_here < 0)
                gpus_here = 0;
            if (gpus_here < c->gpus)
                snprintf(why, sizeof why, "needs %d GPUs (the paper's setting), this machine has %d", c->gpus,
                         gpus_here);
        }
        if (!*missing && !*why) {
            /* a run made on this machine recently enough answers without running again */
            if (!o.fresh) {
                struct store *st;
                if (access(db, F_OK) == 0 && store_open(db, STORE_READ, &st, err, sizeof err) == 0) {
                    char tag[80];
                    snprintf(tag, sizeof tag, "claim-%s", c->id);
                    struct reuse u = { tag, here.fingerprint, o.max_age_days * 86400.0, 0 };
                    store_list_runs(st, 0, find_reusable, &u);
                    run_id = u.found;
                    store_close(st);
                    if (run_id)
                        fprintf(stderr, "kbench claims: %s: reusing run %lld\n", c->id, (long long)run_id);
                }
            }
            if (!run_id) {
                cli_catch_stop_signals(); /* Ctrl-C ends the sweep cleanly: its run is marked interrupted */
                run_id = run_sweep(&o, db, c, why, sizeof why);
                if (run_id == -130) {
                    rc = 130;
                    break;
                }
            }
        }
        struct rows rows = { 0 };
        struct store *st;
        if (cli_open_store("claims", db, STORE_WRITE, &st) != 0) {
            rc = EXIT_USAGE;
            break;
        }
        if (run_id > 0 && store_list_results(st, run_id, collect, &rows) != 0)
            snprintf(why, sizeof why, "cannot read run %lld: %s", (long long)run_id, store_errmsg(st));
        if (*why && !*missing) {
            memset(&res, 0, sizeof res);
            res.verdict = CLAIM_UNTESTABLE;
            res.measured = res.ci_lo = res.ci_hi = NAN;
            snprintf(res.reason, sizeof res.reason, "%s", why);
        } else {
            claim_evaluate(c, rows.v, rows.n, &res);
            if (c->gpus > 0) {
                size_t u = strlen(res.reason);
                snprintf(res.reason + u, sizeof res.reason - u, " (on %d GPU%s)", gpus_here, gpus_here == 1 ? "" : "s");
            }
        }
        free(rows.v);
        struct claim_row row;
        memset(&row, 0, sizeof row);
        snprintf(row.claim_id, sizeof row.claim_id, "%s", c->id);
        row.run_id = run_id > 0 ? run_id : 0;
        snprintf(row.paper, sizeof row.paper, "%s", c->paper);
        snprintf(row.quote, sizeof row.quote, "%s", c->quote);
        snprintf(row.hardware, sizeof row.hardware, "%s", c->hardware);
        snprintf(row.metric, sizeof row.metric, "%s", claim_metric_name(c->metric));
        row.paper_value = c->paper_value;
        row.measured = res.measured;
        row.ci_lo = res.ci_lo;
        row.ci_hi = res.ci_hi;
        snprintf(row.measured_text, sizeof row.measured_text, "%s", res.measured_text);
        snprintf(row.verdict, sizeof row.verdict, "%s", claim_verdict_name(res.verdict));
        snprintf(row.reason, sizeof row.reason, "%s", res.reason);
        snprintf(row.hostname, sizeof row.hostname, "%s", here.hostname);
        int64_t mid = store_machine_upsert(st, &here);
        if (mid <= 0 || store_claim_insert(st, mid, &row) <= 0) {
            fprintf(stderr, "kbench claims: %s\n", store_errmsg(st));
            rc = EXIT_USAGE;
        }
        store_close(st);
    }
    free(claims);
    /* the table: this machine's newest verdict of each claim judged now */
    if (rc == EXIT_OK)
        rc = show_stored(&o, db, ids, n_ids);
    free(ids);
    return rc;
}
