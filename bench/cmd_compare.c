/* cmd_compare.c - `kbench compare BASE CAND`: case-by-case verdicts of two runs (compare.h), as
 * text, markdown, JSON or JUnit XML; exit 1 on a regression, an inconclusive case, a newly failing
 * case or an accuracy drop, 2 when the runs have no case in common. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/cli.h"
#include "harness/compare.h"
#include "harness/machine.h"
#include "reports/compare_report.h"

enum { OPT_FORMAT = 256, OPT_DB, OPT_SUITE };

static const struct cli_option options[] = {
    { "format", 0, OPT_FORMAT, "F", CLI_CHOICE, "text, md, json or junit (text)", "text md json junit", 0 },
    { "output", 'o', 'o', "FILE", CLI_FILE, "write there instead of stdout", NULL, 0 },
    { "suite", 0, OPT_SUITE, "NAME|FILE", CLI_SUITE,
      "take per-group thresholds from this suite (default: the candidate run's)", NULL, 0 },
    CLI_COMPARE_OPTIONS,
    CLI_HEADING("Confirmation"),
    { "confirm", 0, CLI_OPT_CONFIRM, NULL, CLI_TEXT,
      "measure each case that would fail on a slowdown again (with the baseline build in turn, where given) and "
      "fail only on slowdowns that survive; the re-measurements are stored as runs tagged confirm-CAND-base and "
      "confirm-CAND-candidate", NULL, 0 },
    CLI_CONFIRM_OPTIONS,
    { "db", 0, OPT_DB, "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_operand operands[] = {
    { "BASE", CLI_RUN, "the run compared against: an id, a uuid or its first 4+ digits, 'latest', or "
      "tag:NAME (the newest run with that tag measured on this machine)" },
    { "CANDIDATE", CLI_RUN, "the run judged, named the same ways; several: their union is judged as one run "
      "(the shards of one sweep, from kbench run --shard on several machines)" },
    { NULL, CLI_TEXT, NULL },
};

static const struct cli_exit exits[] = {
    { 0, "no regression" },
    { 1, "a regression, inconclusive case (without --allow-inconclusive), newly failing case or accuracy drop" },
    { 2, "usage or input error (unknown run, runs of different machines without --cross-machine, runs with "
         "no case in common or fewer in common than --min-matched: the report is still written)" },
    { -1, NULL },
};

const struct cli_command cli_cmd_compare = {
    .name = "compare",
    .fn = cmd_compare,
    .summary = "compare two runs case by case: regressions, improvements, failures",
    .synopsis = "BASE CANDIDATE [CANDIDATE...] [OPTIONS]",
    .description =
        "Compares two runs case by case (matched by kernel, impl, device, dtype, shape, threads and cache).\n\n"
        "A case regresses when its slowdown is shown (one-sided Mann-Whitney U on the raw samples, p < alpha; "
        "where the samples are too few for the test ever to reach alpha, e.g. 3 and 4, the (1 - alpha) "
        "bootstrap CI of the ratio of medians lying wholly above 1 + threshold), larger than its threshold, "
        "and larger than the noise of both runs (the half-widths of their medians' CIs). A slowdown beyond "
        "the threshold that the samples cannot decide either way, or a case short of the minimum samples its "
        "run asked for, is inconclusive: it fails unless --allow-inconclusive. A change within the threshold "
        "is same. Also reported: improvements, new and missing cases, newly failing cases, accuracy drops; a "
        "warning for a run that did not complete. Several CANDIDATE runs are judged as one, their union: the "
        "shards of one sweep (kbench run --shard I/N), gathered by kbench import.\n\n"
        "With --confirm, each case that would fail on a slowdown (regressed, or inconclusive) is measured again "
        "before it is reported: with --baseline-bin (or --baseline-plugin) the baseline build and this one in turn, "
        "round after round, and judged against each other; else this build alone, judged against the base run. "
        "Only a slowdown that survives fails (confirmed); one that does not is reported as dissolved.",
    .options = options,
    .operands = operands,
    .max_operands = -1,
    .exits = exits,
    .example = "kbench compare tag:nightly-good latest --format md -o compare.md",
};

int cmd_compare(int argc, char **argv)
{
    const char *db = NULL, *output = NULL, *suite = NULL;
    enum compare_format fmt = COMPARE_TEXT;
    struct compare_options o;
    struct cli_compare cc = { .n_threshold_for = 0 };
    struct cli_confirm conf;
    cli_confirm_init(&conf, 0);
    compare_options_default(&o);
    int opt, rc;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_compare, argc, argv);
    while ((opt = cli_next(&p)) != CLI_DONE) {
        const char *optarg = p.arg;
        switch (opt) {
        case OPT_FORMAT:
            if (compare_format_parse(optarg, &fmt) != 0)
                return cli_usage_error("compare", "bad --format '%s' (expected text, md, json or junit)", optarg);
            break;
        case 'o': output = optarg; break;
        case OPT_DB: db = optarg; break;
        case OPT_SUITE: suite = optarg; break;
        case CLI_STOP: return p.status;
        default:
            if ((rc = cli_confirm_option("compare", opt, optarg, &conf)) == 1)
                rc = cli_compare_option("compare", opt, optarg, &o, &cc);
            if (rc != 0)
                return rc;
        }
    }
    if ((conf.baseline_bin || conf.n_baseline_plugins) && !conf.enabled)
        return cli_usage_error("compare", "--baseline-bin and --baseline-plugin are for --confirm");
    if (p.n_operands < 2)
        return cli_usage_error("compare", "expected two runs, BASE and CANDIDATE (got %d argument%s)",
                               p.n_operands, p.n_operands == 1 ? "" : "s");
    if (p.n_operands - 1 > COMPARE_MAX_SHARDS)
        return cli_usage_error("compare", "at most %d candidate runs", COMPARE_MAX_SHARDS);
    struct store *st;
    if ((rc = cli_open_store("compare", cli_db_path(db), STORE_READ, &st)) != 0)
        return rc;
    struct machine_info here;
    machine_info_read(&here);
    const char *fp = o.cross_machine ? NULL : here.fingerprint;
    struct compare_result res = { 0 };
    FILE *out = stdout;
    int64_t base = store_resolve_run_on(st, p.operands[0], fp), cands[COMPARE_MAX_SHARDS];
    int64_t cand = base > 0 ? store_resolve_run_on(st, p.operands[1], fp) : -1;
    for (int i = 1; i < p.n_operands && cand > 0; i++)
        if ((cands[i - 1] = store_resolve_run_on(st, p.operands[i], fp)) <= 0)
            cand = -1;
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
    if (compare_runs_union(st, base, cands, p.n_operands - 1, &o, &res, err, sizeof err) != 0) {
        rc = cli_input_error("compare", "%s", err);
        goto out;
    }
    if ((rc = cli_confirm_run("compare", &conf, cli_db_path(db), st, &res, NULL, 0)) != 0)
        goto out;
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
