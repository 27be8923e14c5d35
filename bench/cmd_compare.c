/* cmd_compare.c - `kbench compare BASE CAND`: case-by-case verdicts of two runs (compare.h), as
 * text, markdown, JSON or JUnit XML; exit 1 on a regression, an inconclusive case, a newly failing
 * case or an accuracy drop, 2 when the runs have no case in common. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/cli.h"
#include "harness/compare.h"
#include "harness/machine.h"
#include "reports/compare_report.h"

static void usage(void)
{
    printf(
"usage: kbench compare BASE CANDIDATE [OPTIONS]\n\n"
"Compares two runs case by case (matched by kernel, impl, device, dtype, shape, threads and\n"
"cache). A run is an id, a uuid or its first 4+ digits, 'latest', or tag:NAME: the newest run\n"
"with that tag measured on this machine.\n\n"
"A case regresses when its slowdown is shown (one-sided Mann-Whitney U on the raw samples,\n"
"p < alpha; where the samples are too few for the test ever to reach alpha, e.g. 3 and 4, the\n"
"(1 - alpha) bootstrap CI of the ratio of medians lying wholly above 1 + threshold), larger than\n"
"its threshold, and larger than the noise of both runs (the half-widths of their medians' CIs).\n"
"A slowdown beyond the threshold that the samples cannot decide either way, or a case short of\n"
"the minimum samples its run asked for, is inconclusive: it fails unless --allow-inconclusive.\n"
"A change within the threshold is same. Also reported: improvements, new and missing cases,\n"
"newly failing cases, accuracy drops; a warning for a run that did not complete.\n\n"
"options:\n"
"  --format F           text, md, json or junit (text)\n"
"  -o, --output FILE    write there instead of stdout\n"
"  --suite NAME|FILE    take per-group thresholds from this suite (default: the candidate run's)\n"
CLI_COMPARE_HELP
"  --db PATH            database (./kbench.db, or $KBENCH_DB)\n\n"
"Exit status: 0 no regression, 1 a regression, inconclusive case (without\n"
"--allow-inconclusive), newly failing case or accuracy drop, 2 usage or input error (unknown\n"
"run, runs of different machines without --cross-machine, runs with no case in common or\n"
"fewer in common than --min-matched: the report is still written).\n\n"
"example: kbench compare tag:nightly-good latest --format md -o compare.md\n");
}

enum { OPT_FORMAT = 256, OPT_DB, OPT_SUITE, OPT_HELP };

static const struct option options[] = {
    { "format", required_argument, NULL, OPT_FORMAT },
    { "output", required_argument, NULL, 'o' },
    { "db", required_argument, NULL, OPT_DB },
    { "suite", required_argument, NULL, OPT_SUITE },
    { "help", no_argument, NULL, OPT_HELP },
    CLI_COMPARE_OPTIONS,
    { NULL, 0, NULL, 0 },
};

int cmd_compare(int argc, char **argv)
{
    const char *db = NULL, *output = NULL, *suite = NULL;
    enum compare_format fmt = COMPARE_TEXT;
    struct compare_options o;
    struct cli_compare cc = { .n_threshold_for = 0 };
    compare_options_default(&o);
    int opt, rc;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":o:", options, NULL)) != -1) {
        switch (opt) {
        case OPT_FORMAT:
            if (compare_format_parse(optarg, &fmt) != 0)
                return cli_usage_error("compare", "bad --format '%s' (expected text, md, json or junit)", optarg);
            break;
        case 'o': output = optarg; break;
        case OPT_DB: db = optarg; break;
        case OPT_SUITE: suite = optarg; break;
        case OPT_HELP: usage(); return EXIT_OK;
        case ':': return cli_usage_error("compare", "option '%s' needs a value", argv[optind - 1]);
        case '?': return cli_usage_error("compare", "unknown option '%s'", argv[optind - 1]);
        default:
            if ((rc = cli_compare_option("compare", opt, optarg, &o, &cc)) != 0)
                return rc;
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("compare", "expected two runs, BASE and CANDIDATE (got %d argument%s)",
                               argc - optind, argc - optind == 1 ? "" : "s");
    struct store *st;
    if ((rc = cli_open_store("compare", cli_db_path(db), STORE_READ, &st)) != 0)
        return rc;
    struct machine_info here;
    machine_info_read(&here);
    const char *fp = o.cross_machine ? NULL : here.fingerprint;
    struct compare_result res = { 0 };
    FILE *out = stdout;
    int64_t base = store_resolve_run_on(st, argv[optind], fp);
    int64_t cand = base > 0 ? store_resolve_run_on(st, argv[optind + 1], fp) : -1;
    if (base <= 0 || cand <= 0) {
        rc = cli_input_error("compare", "%s", store_errmsg(st));
        goto out;
    }
    struct run_row cand_row;
    if (store_get_run(st, cand, &cand_row) != 0) {
        rc = cli_input_error("compare", "%s", store_errmsg(st));
        goto out;
    }
    if ((rc = cli_compare_finish("compare", suite ? suite : cand_row.suite, suite == NULL, &o, &cc)) != 0)
        goto out;
    char err[1024];
    if (compare_runs(st, base, cand, &o, &res, err, sizeof err) != 0) {
        rc = cli_input_error("compare", "%s", err);
        goto out;
    }
    if (output && !(out = fopen(output, "w"))) {
        rc = cli_input_error("compare", "cannot write %s: %m", output);
        out = stdout;
        goto out;
    }
    if (report_compare(out, &res, fmt) != 0 || (out != stdout && fclose(out) != 0)) {
        out = stdout;
        rc = cli_input_error("compare", "cannot write %s", output ? output : "standard output");
        goto out;
    }
    out = stdout;
    rc = cli_compare_verdict("compare", &res, !output && fmt == COMPARE_TEXT && isatty(STDOUT_FILENO));
out:
    if (out != stdout)
        fclose(out);
    compare_result_free(&res);
    store_close(st);
    return rc;
}
