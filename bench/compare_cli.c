/* compare_cli.c - the options `kbench compare` and `kbench nightly` share (cli.h). */
#include <getopt.h>
#include <stdio.h>

#include "bench/cli.h"
#include "harness/compare.h"
#include "harness/plan.h"
#include "reports/compare_report.h"

int cli_compare_option(const char *cmd, int opt, const char *arg, struct compare_options *o, struct cli_compare *c)
{
    double d;
    long l;
    switch (opt) {
    case CLI_OPT_ALPHA:
        if (cli_parse_double(arg, 1e-12, 0.5, &d) != 0)
            return cli_usage_error(cmd, "bad --alpha '%s' (expected a probability in (0, 0.5])", arg);
        o->alpha = d;
        return 0;
    case CLI_OPT_THRESHOLD:
        if (cli_parse_double(arg, 1e-6, 10, &d) != 0)
            return cli_usage_error(cmd, "bad --threshold '%s' (expected a fraction such as 0.05 for 5%%)", arg);
        o->threshold = d;
        return 0;
    case CLI_OPT_THRESHOLD_FOR: {
        char err[256];
        struct compare_options probe;
        compare_options_default(&probe);
        if (compare_add_override(&probe, arg, err, sizeof err) != 0)
            return cli_usage_error(cmd, "%s", err);
        if (c->n_threshold_for == (int)(sizeof c->threshold_for / sizeof c->threshold_for[0]))
            return cli_usage_error(cmd, "too many --threshold-for options");
        c->threshold_for[c->n_threshold_for++] = arg;
        return 0;
    }
    case CLI_OPT_ACCURACY_SLACK:
        if (cli_parse_double(arg, 0, 1000, &d) != 0)
            return cli_usage_error(cmd, "bad --accuracy-slack '%s' (expected a fraction >= 0)", arg);
        o->accuracy_slack = d;
        return 0;
    case CLI_OPT_RESAMPLES:
        if (cli_parse_int(arg, 200, 1000000, &l) != 0)
            return cli_usage_error(cmd, "bad --resamples '%s' (expected an integer in [200, 1000000])", arg);
        o->resamples = (unsigned)l;
        return 0;
    case CLI_OPT_CROSS_MACHINE:
        o->cross_machine = 1;
        return 0;
    case CLI_OPT_ALLOW_INCONCLUSIVE:
        o->allow_inconclusive = 1;
        return 0;
    case CLI_OPT_MIN_MATCHED:
        if (cli_parse_double(arg, 0, 1, &d) != 0)
            return cli_usage_error(cmd, "bad --min-matched '%s' (expected a fraction in [0, 1], e.g. 0.9)", arg);
        o->min_matched = d;
        return 0;
    default:
        return 1;
    }
}

int cli_compare_finish(const char *cmd, const char *suite, int warn_only, struct compare_options *o,
                       const struct cli_compare *c)
{
    char err[768], path[1024];
    if (suite && *suite) {
        if (plan_suite_find(suite, path, sizeof path) != 0) {
            if (!warn_only)
                return cli_input_error(cmd, "no suite '%s' (looked for it as a file, in $KBENCH_SUITES, "
                                       "datasets/suites/ and the installed suites)", suite);
            fprintf(stderr, "kbench %s: note: suite '%s' not found here; its thresholds are not applied\n", cmd, suite);
        } else if (compare_add_suite_thresholds(o, path, err, sizeof err) != 0) {
            return cli_input_error(cmd, "%s", err);
        }
    }
    for (int i = 0; i < c->n_threshold_for; i++)
        if (compare_add_override(o, c->threshold_for[i], err, sizeof err) != 0)
            return cli_usage_error(cmd, "%s", err);
    return 0;
}

static void warn_line(const char *line, void *ctx)
{
    fprintf(stderr, "kbench %s: warning: %s\n", (const char *)ctx, line);
}

int cli_compare_verdict(const char *cmd, const struct compare_result *r, int report_on_terminal)
{
    /* the warnings go to stderr too: a report written to a file or piped into a tool must not be
     * the only place they are said (a text report on the terminal has just said them) */
    if (!report_on_terminal)
        report_compare_warnings(r, warn_line, (void *)cmd);
    if (r->summary.too_few_matched) {
        char why[200];
        compare_matched_problem(r, why, sizeof why);
        return cli_input_error(cmd, "%s between run %lld and run %lld: nothing to compare", why, (long long)r->base.id,
                               (long long)r->cand.id);
    }
    return r->summary.failing ? EXIT_FAILED : EXIT_OK;
}
