/* cmd_fleet.c - `kbench fleet`: one row per machine of a database that gathers several machines'
 * nightlies (kbench import): each machine's newest run compared with its own baseline, the
 * newest earlier run with the baseline tag measured on that machine's fingerprint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cli.h"
#include "harness/compare.h"
#include "reports/compare_report.h"

enum { OPT_DB = 256, OPT_BASELINE, OPT_FORMAT };

static const struct cli_option options[] = {
    { "baseline", 0, OPT_BASELINE, "tag:NAME", CLI_TEXT, "the baseline tag each machine is compared with "
      "(tag:nightly-good)", NULL, 0 },
    { "format", 0, OPT_FORMAT, "F", CLI_CHOICE, "text or md (text)", "text md", 0 },
    CLI_COMPARE_OPTIONS,
    { "db", 0, OPT_DB, "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_exit exits[] = {
    { 0, "no machine's newest run fails against its baseline" },
    { 1, "a machine's newest run fails against its baseline" },
    { 2, "usage or input error" },
    { -1, NULL },
};

const struct cli_command cli_cmd_fleet = {
    .name = "fleet",
    .fn = cmd_fleet,
    .summary = "one row per machine: its newest run against its own baseline",
    .synopsis = "[--baseline tag:NAME] [--format text|md] [--db PATH]",
    .description =
        "For each machine (fingerprint) with runs in the database, compares its newest run with its own "
        "baseline: the newest earlier run on the same machine with the baseline tag (tag:nightly-good), "
        "as `kbench nightly` would have compared it. Runs made by confirmation and bisect (tagged confirm-* "
        "and bisect-*) are not a machine's newest run. A machine without an earlier baseline run is listed "
        "as such. Gather the machines' databases first with `kbench import`.",
    .options = options,
    .max_operands = 0,
    .exits = exits,
    .example = "kbench fleet --db fleet.db --format md",
};

static int has_tag(const char *tags, const char *tag)
{
    size_t n = strlen(tag);
    for (const char *p = tags; (p = strstr(p, tag)) != NULL; p += n)
        if ((p == tags || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return 1;
    return 0;
}

static int helper_run(const char *tags)
{
    return strncmp(tags, "confirm-", 8) == 0 || strstr(tags, ",confirm-") || strncmp(tags, "bisect-", 7) == 0 ||
           strstr(tags, ",bisect-");
}

int cmd_fleet(int argc, char **argv)
{
    const char *db = NULL, *baseline = "tag:nightly-good";
    int md = 0, opt, rc;
    struct compare_options o;
    struct cli_compare cc = { .n_threshold_for = 0 };
    compare_options_default(&o);
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_fleet, argc, argv);
    while ((opt = cli_next(&p)) != CLI_DONE) {
        switch (opt) {
        case OPT_DB: db = p.arg; break;
        case OPT_BASELINE: baseline = p.arg; break;
        case OPT_FORMAT: md = strcmp(p.arg, "md") == 0; break;
        case CLI_STOP: return p.status;
        default:
            if ((rc = cli_compare_option("fleet", opt, p.arg, &o, &cc)) != 0)
                return rc;
        }
    }
    if (strncmp(baseline, "tag:", 4) != 0 || !baseline[4])
        return cli_usage_error("fleet", "--baseline must be tag:NAME (got '%s')", baseline);
    if ((rc = cli_compare_finish("fleet", NULL, 0, &o, &cc)) != 0)
        return rc;
    struct store *st;
    if ((rc = cli_open_store("fleet", cli_db_path(db), STORE_READ, &st)) != 0)
        return rc;
    struct { struct run_row *v; size_t n; } rs;
    if (store_all_runs(st, &rs.v, &rs.n) != 0) {
        rc = cli_input_error("fleet", "%s", store_errmsg(st));
        store_close(st);
        return rc;
    }
    const char *tag = baseline + 4;
    if (md)
        printf("# kbench fleet: each machine against its own %s\n\n| machine | host | newest run | started | "
               "baseline run | cases | regressed | improved | inconclusive | newly failing | outcome |\n"
               "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n", baseline);
    else
        printf("%-16s %-16s %7s %-20s %8s %6s %9s %8s %12s %13s  %s\n", "machine", "host", "newest", "started",
               "baseline", "cases", "regressed", "improved", "inconclusive", "newly_failing", "outcome");
    int failing_machines = 0, machines = 0;
    /* runs come newest first: the first run seen of a machine is its newest */
    for (size_t i = 0; i < rs.n; i++) {
        const struct run_row *newest = &rs.v[i];
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(rs.v[k].machine, newest->machine) == 0 && !helper_run(rs.v[k].tag) &&
                   strcmp(rs.v[k].status, "complete") == 0;
        if (seen || helper_run(newest->tag) || strcmp(newest->status, "complete") != 0)
            continue;
        machines++;
        const struct run_row *base = NULL;
        for (size_t k = i + 1; k < rs.n && !base; k++)
            if (strcmp(rs.v[k].machine, newest->machine) == 0 && has_tag(rs.v[k].tag, tag))
                base = &rs.v[k];
        char outcome[240] = "no earlier baseline run on this machine", started[21];
        snprintf(started, sizeof started, "%.19s", newest->started);
        struct compare_result res = { 0 };
        int compared = 0;
        char err[1024];
        if (base) {
            if (compare_runs(st, base->id, newest->id, &o, &res, err, sizeof err) == 0) {
                compared = 1;
                report_compare_outcome(&res, outcome, sizeof outcome);
                failing_machines += res.summary.failing > 0 || res.summary.too_few_matched;
            } else {
                snprintf(outcome, sizeof outcome, "cannot compare: %.200s", err);
            }
        }
        char bid[24] = "-";
        if (base)
            snprintf(bid, sizeof bid, "%lld", (long long)base->id);
        const int *cnt = res.summary.count;
        if (md) {
            printf("| `%s` | %s | %lld | %s | %s | ", newest->machine, newest->hostname, (long long)newest->id, started, bid);
            if (compared)
                printf("%d | %d | %d | %d | %d | ", res.summary.total, cnt[VERDICT_REGRESSED], cnt[VERDICT_IMPROVED],
                       cnt[VERDICT_INCONCLUSIVE], cnt[VERDICT_NEWLY_FAILING]);
            else
                printf("%d | – | – | – | – | ", newest->cases);
            printf("%s |\n", outcome);
        } else if (compared) {
            printf("%-16s %-16.16s %7lld %-20s %8s %6d %9d %8d %12d %13d  %s\n", newest->machine, newest->hostname,
                   (long long)newest->id, started, bid, res.summary.total, cnt[VERDICT_REGRESSED],
                   cnt[VERDICT_IMPROVED], cnt[VERDICT_INCONCLUSIVE], cnt[VERDICT_NEWLY_FAILING], outcome);
        } else {
            printf("%-16s %-16.16s %7lld %-20s %8s %6d %9s %8s %12s %13s  %s\n", newest->machine, newest->hostname,
                   (long long)newest->id, started, bid, newest->cases, "-", "-", "-", "-", outcome);
        }
        compare_result_free(&res);
    }
    if (!md)
        printf("\n%d machine%s, %d failing\n", machines, machines == 1 ? "" : "s", failing_machines);
    free(rs.v);
    store_close(st);
    return failing_machines ? EXIT_FAILED : EXIT_OK;
}
