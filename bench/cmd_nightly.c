/* cmd_nightly.c - `kbench nightly`: run a suite, compare it with the baseline measured on this
 * machine, write markdown and JUnit reports, and promote a clean run to the baseline tag. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/cli.h"
#include "harness/compare.h"
#include "harness/confirm.h"
#include "harness/machine.h"
#include "reports/compare_report.h"

#define MAX_PASS 32

enum { OPT_SUITE = 256, OPT_BASELINE, OPT_PROMOTE, OPT_REPORT, OPT_FORMAT, OPT_DB, OPT_PASS_ARG,
       OPT_PASS_FLAG };


static int write_report(const char *dir, const char *name, const struct compare_result *r,
                        enum compare_format fmt, const char *no_baseline)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return cli_input_error("nightly", "cannot write %s: %m", path);
    int bad;
    if (r) {
        bad = report_compare(f, r, fmt);
    } else if (fmt == COMPARE_JUNIT) { /* nothing compared: an empty, valid report */
        fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"kbench compare\" tests=\"0\" "
              "failures=\"0\" errors=\"0\" skipped=\"0\" time=\"0\"/>\n", f);
        bad = 0;
    } else if (fmt == COMPARE_JSON) {
        fprintf(f, "{\"baseline\": null, \"note\": \"%s\"}\n", no_baseline);
        bad = 0;
    } else {
        fprintf(f, "# kbench nightly: no baseline\n\n%s\n", no_baseline);
        bad = 0;
    }
    if (fclose(f) != 0 || bad)
        return cli_input_error("nightly", "cannot write %s", path);
    return 0;
}

/* The baseline: resolved on this machine (any machine with --cross-machine). Returns the run id,
 * 0 when a tag names no run anywhere yet (the first night), or -EXIT_USAGE after saying why. */
static int64_t find_baseline(struct store *st, const char *ref, const struct compare_options *o,
                             const struct machine_info *here)
{
    int64_t any = store_resolve_run_on(st, ref, NULL);
    if (any < 0) {
        if (strncmp(ref, "tag:", 4) == 0 && strstr(store_errmsg(st), "no run tagged"))
            return 0;
        cli_input_error("nightly", "%s", store_errmsg(st));
        return -EXIT_USAGE;
    }
    if (o->cross_machine)
        return any;
    int64_t mine = store_resolve_run_on(st, ref, here->fingerprint);
    if (mine < 0) {
        cli_input_error("nightly", "%s; compare across machines with --cross-machine", store_errmsg(st));
        return -EXIT_USAGE;
    }
    struct run_row r;
    if (store_get_run(st, mine, &r) != 0) {
        cli_input_error("nightly", "%s", store_errmsg(st));
        return -EXIT_USAGE;
    }
    if (strcmp(r.machine, here->fingerprint) != 0) {
        cli_input_error("nightly", "baseline run %lld was measured on %s (machine %s), not this machine (%s): "
                        "timings of different machines are not comparable (--cross-machine compares them anyway)",
                        (long long)mine, r.hostname, r.machine, here->fingerprint);
        return -EXIT_USAGE;
    }
    return mine;
}

static const struct cli_option options[] = {
    { "suite", 0, OPT_SUITE, "NAME|FILE", CLI_SUITE, "the suite to run (nightly); its `threshold` keys apply",
      NULL, 0 },
    { "baseline", 0, OPT_BASELINE, "REF", CLI_RUN,
      "tag:NAME, a run id or uuid (tag:nightly-good); 'kbench tag' chooses one by hand", NULL, 0 },
    { "promote", 0, OPT_PROMOTE, NULL, CLI_TEXT, "tag a clean run with the baseline's tag (REF must be tag:NAME)",
      NULL, 0 },
    { "report", 0, OPT_REPORT, "DIR", CLI_DIR, "write the reports there (created if need be)", NULL, 0 },
    { "format", 0, OPT_FORMAT, "F", CLI_CHOICE, "what to print: text, md, json or junit (text)",
      "text md json junit", 0 },
    CLI_COMPARE_OPTIONS,
    CLI_HEADING("Confirmation"),
    { "no-confirm", 0, CLI_OPT_NO_CONFIRM, NULL, CLI_TEXT,
      "alert on the first measurement: do not measure the flagged cases again", NULL, 0 },
    CLI_CONFIRM_OPTIONS,
    { "db", 0, OPT_DB, "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    CLI_HEADING("passed to kbench run"),
    { "devices", 0, OPT_PASS_ARG, "LIST", CLI_DEVICE, "cpu, cuda:N: where the suite's groups name none", NULL, 0 },
    { "max-time", 0, OPT_PASS_ARG, "S", CLI_TEXT, "per-case sampling budget in seconds", NULL, 0 },
    { "min-time", 0, OPT_PASS_ARG, "S", CLI_TEXT, "sample at least this long", NULL, 0 },
    { "min-sample-time", 0, OPT_PASS_ARG, "S", CLI_TEXT, "time one sample at least this long", NULL, 0 },
    { "warmup", 0, OPT_PASS_ARG, "S", CLI_TEXT, "warm-up time before sampling", NULL, 0 },
    { "noise", 0, OPT_PASS_ARG, "F", CLI_TEXT, "noise target of the median's CI", NULL, 0 },
    { "timeout", 0, OPT_PASS_ARG, "S", CLI_TEXT, "kill a case after S seconds", NULL, 0 },
    { "plugin", 0, OPT_PASS_ARG, "PATH", CLI_FILE,
      "load kernels from a plugin, as kbench run --plugin (repeatable; $KBENCH_PLUGIN_PATH's are loaded too)", NULL, 0 },
    { "min-samples", 0, OPT_PASS_ARG, "N", CLI_TEXT, "take at least N samples (10)", NULL, 0 },
    { "min-samples-cap", 0, OPT_PASS_ARG, "S", CLI_TEXT, "seconds of sampling the minimum may take (10)", NULL, 0 },
    { "max-samples", 0, OPT_PASS_ARG, "N", CLI_TEXT, "take at most N samples", NULL, 0 },
    { "throttle-threshold", 0, OPT_PASS_ARG, "FRAC", CLI_TEXT,
      "GPU samples below FRAC of the maximum SM clock are throttled (0.75)", NULL, 0 },
    { "include-throttled", 0, OPT_PASS_FLAG, NULL, CLI_TEXT, "count throttled GPU samples in the statistics", NULL, 0 },
    { "no-counters", 0, OPT_PASS_FLAG, NULL, CLI_TEXT, "skip the PAPI pass", NULL, 0 },
    { "quiet", 0, OPT_PASS_FLAG, NULL, CLI_TEXT, "no progress", NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_exit exits[] = {
    { 0, "clean" },
    { 1, "a regression, inconclusive case, newly failing case or accuracy drop (or a failed case without a "
         "baseline)" },
    { 2, "usage or input error (including a baseline of another machine, or one with no case in common with "
         "the run: reports are still written)" },
    { -1, NULL },
};

const struct cli_command cli_cmd_nightly = {
    .name = "nightly",
    .fn = cmd_nightly,
    .summary = "run a suite, compare with the baseline, write reports, promote",
    .synopsis = "[--suite NAME] [--baseline REF] [--promote] [--report DIR] [OPTIONS]",
    .description =
        "Runs the suite (default 'nightly'), compares the new run with the baseline (default "
        "tag:nightly-good: the newest run with that tag measured on this machine) as `kbench compare` "
        "does, prints the verdicts, and writes DIR/compare.md, DIR/junit.xml and DIR/compare.json. A "
        "baseline from another machine fingerprint is refused unless --cross-machine. With --promote a "
        "clean run (every case ok, nothing regressed) gets the baseline's tag, so tomorrow compares "
        "against it. Without any baseline yet, the run is reported alone (and promoted when clean).\n\n"
        "Before alerting, each case that would fail on a slowdown is measured again (as `kbench compare "
        "--confirm`): with --baseline-bin or --baseline-plugin the baseline build and this one in turn, else "
        "this one against the baseline run. Only slowdowns that survive fail the night; the reports say which "
        "alerts were confirmed and which dissolved, and the re-measurements are stored as runs tagged "
        "confirm-RUN-base and confirm-RUN-candidate. --no-confirm alerts on the first measurement.",
    .options = options,
    .max_operands = 0,
    .notes = "The verdicts are compare's: a slowdown beyond the threshold that the samples cannot decide, or a "
             "case short of its minimum samples, is inconclusive and fails unless --allow-inconclusive.",
    .exits = exits,
    .example = "kbench nightly --promote --report /var/www/kbench/$(date +%F)",
};

int cmd_nightly(int argc, char **argv)
{
    const char *suite = "nightly", *baseline = "tag:nightly-good", *report_dir = NULL, *db = NULL;
    int promote = 0, rc;
    enum compare_format fmt = COMPARE_TEXT;
    struct compare_options o;
    struct cli_compare cc = { .n_threshold_for = 0 };
    struct cli_confirm conf;
    cli_confirm_init(&conf, 1);
    compare_options_default(&o);
    /* the run options, parsed as run parses them; and as words, stored with the run so that
     * `kbench run --resume` can finish an interrupted night */
    struct cli_run_args ra;
    cli_run_args_init(&ra);
    if ((rc = cli_load_plugin_path("nightly")) != 0)
        return rc;
    char *pass[MAX_PASS];
    char pass_names[MAX_PASS][32];
    int n_pass = 0, opt;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_nightly, argc, argv);
    while ((opt = cli_next(&p)) != CLI_DONE) {
        const char *optarg = p.arg;
        switch (opt) {
        case OPT_SUITE: suite = optarg; break;
        case OPT_BASELINE: baseline = optarg; break;
        case OPT_PROMOTE: promote = 1; break;
        case OPT_REPORT: report_dir = optarg; break;
        case OPT_DB: db = optarg; break;
        case OPT_FORMAT:
            if (compare_format_parse(optarg, &fmt) != 0)
                return cli_usage_error("nightly", "bad --format '%s' (expected text, md, json or junit)", optarg);
            break;
        case CLI_STOP: return p.status;
        case OPT_PASS_ARG:
        case OPT_PASS_FLAG:
            if (n_pass + 2 > MAX_PASS)
                return cli_usage_error("nightly", "too many options for kbench run");
            if ((rc = cli_run_option(p.long_name, p.arg, &ra)) != 0)
                return rc;
            snprintf(pass_names[n_pass], sizeof pass_names[n_pass], "--%s", p.long_name);
            pass[n_pass] = pass_names[n_pass];
            n_pass++;
            if (opt == OPT_PASS_ARG)
                pass[n_pass++] = (char *)p.arg;
            break;
        default:
            if ((rc = cli_confirm_option("nightly", opt, optarg, &conf)) == 1)
                rc = cli_compare_option("nightly", opt, optarg, &o, &cc);
            if (rc != 0)
                return rc;
        }
    }
    if ((rc = cli_run_check(&ra)) != 0)
        return rc;
    if (promote && (strncmp(baseline, "tag:", 4) != 0 || !baseline[4] || strchr(baseline + 4, ':')))
        return cli_usage_error("nightly", "--promote needs the baseline as tag:NAME (got '%s')", baseline);
    if ((rc = cli_compare_finish("nightly", suite, 0, &o, &cc)) != 0)
        return rc;
    if (report_dir && mkdir(report_dir, 0777) != 0 && errno != EEXIST)
        return cli_input_error("nightly", "cannot create the report directory %s: %m", report_dir);

    /* the baseline is checked before hours of measuring, not after */
    const char *db_path = cli_db_path(db);
    struct store *st;
    if ((rc = cli_open_store("nightly", db_path, STORE_WRITE, &st)) != 0)
        return rc;
    struct machine_info here;
    machine_info_read(&here);
    int64_t base = find_baseline(st, baseline, &o, &here);
    store_close(st);
    if (base < 0)
        return (int)-base;

    /* the run measures through the sweep API (cli_run_sweep); these words are only what it stores
     * as its arguments, the `kbench run` options that plan the same sweep again on --resume */
    char *run_argv[MAX_PASS + 8];
    int run_argc = 0;
    run_argv[run_argc++] = "--suite";
    run_argv[run_argc++] = (char *)suite;
    run_argv[run_argc++] = "--db";
    run_argv[run_argc++] = (char *)db_path;
    run_argv[run_argc++] = "--no-show";
    for (int i = 0; i < n_pass; i++)
        run_argv[run_argc++] = pass[i];
    run_argv[run_argc] = NULL;
    ra.suite = suite;
    ra.db = db_path;
    ra.no_show = 1;
    struct sweep_result run;
    int run_rc = cli_run_sweep(&ra, run_argc, run_argv, "nightly", &run);
    int64_t cand = run.run_id;
    int incomplete = cand <= 0 || run.interrupted || run.store_failed;
    sweep_result_free(&run);
    if (incomplete) {
        fprintf(stderr, "kbench nightly: the run did not complete (exit %d); nothing compared\n", run_rc);
        return run_rc ? run_rc : EXIT_USAGE;
    }

    if ((rc = cli_open_store("nightly", db_path, STORE_WRITE, &st)) != 0)
        return rc;
    struct compare_result res = { 0 };
    int failing, verdict_rc = EXIT_OK;
    char err[1024], note[256];
    snprintf(note, sizeof note, "No run is tagged '%s' yet: run %lld is reported alone.", baseline + 4,
             (long long)cand);
    if (base > 0) {
        if (compare_runs(st, base, cand, &o, &res, err, sizeof err) != 0) {
            rc = cli_input_error("nightly", "%s", err);
            goto out;
        }
        /* confirm before alerting: the flagged cases are measured again, sampled as the run was */
        struct remeasure_words sampling;
        remeasure_words_init(&sampling);
        cli_confirm_sampling_words(n_pass, pass, &sampling);
        if ((rc = cli_confirm_run("nightly", &conf, db_path, st, &res, &sampling, ra.quiet)) != 0)
            goto out;
        if (report_compare(stdout, &res, fmt) != 0) {
            rc = cli_input_error("nightly", "cannot write standard output");
            goto out;
        }
        verdict_rc = cli_compare_verdict("nightly", &res, fmt == COMPARE_TEXT && isatty(STDOUT_FILENO));
        failing = verdict_rc != EXIT_OK;
    } else {
        printf("%s\n", note);
        failing = run_rc != EXIT_OK;
    }
    if (report_dir) {
        const struct compare_result *r = base > 0 ? &res : NULL;
        if ((rc = write_report(report_dir, "compare.md", r, COMPARE_MARKDOWN, note)) != 0 ||
            (rc = write_report(report_dir, "junit.xml", r, COMPARE_JUNIT, note)) != 0 ||
            (rc = write_report(report_dir, "compare.json", r, COMPARE_JSON, note)) != 0)
            goto out;
        fprintf(stderr, "reports: %s/compare.md, junit.xml, compare.json\n", report_dir);
    }
    /* promote only a run that is clean in every sense: nothing regressed and every case ok */
    if (promote) {
        if (failing || run_rc != EXIT_OK) {
            fprintf(stderr, "kbench nightly: run %lld is not promoted to '%s': %s\n", (long long)cand,
                    baseline + 4, failing ? "it has regressions, inconclusive cases or failures" : "a case failed");
        } else if (store_run_tag(st, cand, baseline + 4) != 0) {
            rc = cli_input_error("nightly", "%s", store_errmsg(st));
            goto out;
        } else {
            fprintf(stderr, "run %lld promoted: it is now %s\n", (long long)cand, baseline);
        }
    }
    rc = verdict_rc == EXIT_USAGE                        ? EXIT_USAGE /* no case in common with the baseline */
         : failing || (base == 0 && run_rc != EXIT_OK) ? EXIT_FAILED
                                                       : EXIT_OK;
out:
    compare_result_free(&res);
    store_close(st);
    return rc;
}
