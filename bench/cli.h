/* cli.h - the kbench command: subcommand table and the conventions every subcommand shares.
 *
 * Exit codes: 0 ok; 1 a case failed verification (or, later, a regression); 2 usage or input
 * error (bad flag or value, malformed suite, unreadable or foreign database).
 * Errors go to stderr as "kbench CMD: message", naming the offending value.
 * Machine-readable output goes to stdout; progress goes to stderr.
 */
#ifndef KB_CLI_H
#define KB_CLI_H

#include <stdio.h>
#include "harness/store.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* Each subcommand: argv[0] is its name; options are parsed with getopt_long. */
int cmd_run(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_counters(int argc, char **argv);
int cmd_runs(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_claims(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_nightly(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_import(int argc, char **argv);
/* cmd_run, also giving the id of the run it started (untouched when none started). */
int cmd_run_into(int argc, char **argv, int64_t *run_id);
int cmd_calibrate(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_scaling(int argc, char **argv);
int cmd_tui(int argc, char **argv);

/* The database to use: the --db value if given, else $KBENCH_DB, else ./kbench.db. */
const char *cli_db_path(const char *flag_value);

/* Prints "kbench CMD: <message>" and "Try 'kbench CMD --help'." to stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "kbench CMD: <message>" to stderr; returns EXIT_USAGE (input errors: files, databases). */
int cli_input_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Opens the store or prints why not; returns 0 or EXIT_USAGE. A read of a database that does
 * not exist is an error naming the path (it is never created by a read). */
int cli_open_store(const char *cmd, const char *path, enum store_mode mode, struct store **out);

/* Parses a positive number ("2", "0.5", "1e-3"), or returns -1. */
int cli_parse_double(const char *text, double min, double max, double *out);
int cli_parse_int(const char *text, long min, long max, long *out);

/* ---- options shared by compare and nightly (compare_cli.c) ---- */
struct compare_options;
/* Handles one of the compare options below (getopt_long's value in opt); returns 0, 1 when opt
 * is not one of them, or EXIT_USAGE after printing why the value is bad. */
enum { CLI_OPT_ALPHA = 1000, CLI_OPT_THRESHOLD, CLI_OPT_THRESHOLD_FOR, CLI_OPT_ACCURACY_SLACK,
       CLI_OPT_RESAMPLES, CLI_OPT_CROSS_MACHINE, CLI_OPT_ALLOW_INCONCLUSIVE, CLI_OPT_MIN_MATCHED };
#define CLI_COMPARE_OPTIONS                                                                        \
    { "alpha", required_argument, NULL, CLI_OPT_ALPHA },                                           \
    { "threshold", required_argument, NULL, CLI_OPT_THRESHOLD },                                   \
    { "threshold-for", required_argument, NULL, CLI_OPT_THRESHOLD_FOR },                           \
    { "accuracy-slack", required_argument, NULL, CLI_OPT_ACCURACY_SLACK },                         \
    { "resamples", required_argument, NULL, CLI_OPT_RESAMPLES },                                   \
    { "cross-machine", no_argument, NULL, CLI_OPT_CROSS_MACHINE },                                 \
    { "allow-inconclusive", no_argument, NULL, CLI_OPT_ALLOW_INCONCLUSIVE },                       \
    { "min-matched", required_argument, NULL, CLI_OPT_MIN_MATCHED }
#define CLI_COMPARE_HELP                                                                           \
"  --alpha P            significance level of the Mann-Whitney U test; the ratio's CI, which\n" \
"                       decides where the test cannot reach P, is at level 1 - P (0.01)\n"      \
"  --threshold FRAC     a slowdown must exceed this to regress (0.05 = 5%%)\n"                   \
"  --threshold-for K=F  threshold for kernels matching pattern K (repeatable; overrides the\n"   \
"                       suite's `threshold = F` keys, which override --threshold)\n"             \
"  --accuracy-slack F   relative L2 error growth, as a fraction of the tolerance, that counts\n" \
"                       as an accuracy drop (0.1)\n"                                               \
"  --resamples N        bootstrap resamples for the CI of the ratio (2000; fixed seed)\n"        \
"  --cross-machine      allow comparing runs of different machine fingerprints\n"                \
"  --allow-inconclusive let inconclusive cases pass (a slowdown beyond the threshold that the\n"  \
"                       samples cannot decide, a side short of its minimum samples)\n"           \
"  --min-matched FRAC   fail (exit 2) unless this fraction of all cases is in both runs; with\n"  \
"                       any value, two runs with no case in common fail (0)\n"
/* Collects --threshold-for values until cli_compare_finish applies them after the suite's. */
struct cli_compare {
    const char *threshold_for[64];
    int n_threshold_for;
};
int cli_compare_option(const char *cmd, int opt, const char *arg, struct compare_options *o, struct cli_compare *c);
/* Adds the thresholds of suite (a name or path; NULL: none) then the --threshold-for values. A
 * suite that cannot be found is only a warning when warn_only (a run's recorded suite name). */
int cli_compare_finish(const char *cmd, const char *suite, int warn_only, struct compare_options *o,
                       const struct cli_compare *c);
struct compare_result;
/* The exit status of a comparison, after its warnings on stderr (unless report_on_terminal: a
 * text report on the terminal carries them): EXIT_USAGE (with the error) when the runs have no
 * case in common or fewer than --min-matched; EXIT_FAILED when a case fails; EXIT_OK. */
int cli_compare_verdict(const char *cmd, const struct compare_result *r, int report_on_terminal);

#endif
