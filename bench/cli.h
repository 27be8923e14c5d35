/* cli.h - the kbench command: subcommand table and the conventions every subcommand shares.
 *
 * Exit codes: 0 ok; 1 a case failed verification (or a regression); 2 usage or input error (bad
 * flag or value, malformed suite, unreadable or foreign database); 130 interrupted by SIGINT,
 * 143 by SIGTERM (128 + the signal, as shells report it).
 * Errors go to stderr as "kbench CMD: message", naming the offending value.
 * Machine-readable output goes to stdout; progress goes to stderr.
 */
#ifndef KB_CLI_H
#define KB_CLI_H

#include <stdio.h>
#include "harness/store.h"
#include "harness/progress.h"
#include "harness/sweep.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_SIGINT = 130, EXIT_SIGTERM = 143 };

/* ---- one description of each command (cli_parse.c parses by it; cli_doc.c writes --help, the man
 * page and the bash completion from it) ---- */

/* What a value is, so completion can offer candidates and the parser can refuse empty paths. */
enum cli_value {
    CLI_TEXT = 0,   /* free text: no completion */
    CLI_KERNEL,     /* a kernel name or pattern (kbench list) */
    CLI_PRESET,     /* a model preset (kbench list --presets) */
    CLI_FILE,       /* a file path (never empty) */
    CLI_DIR,        /* a folder path (never empty) */
    CLI_SUITE,      /* a suite name or .suite file (never empty) */
    CLI_DB,         /* a kbench database (never empty) */
    CLI_DEVICE,     /* cpu, cuda:N */
    CLI_RUN,        /* a run reference: id, uuid prefix, latest, tag:NAME */
    CLI_CHOICE,     /* one of the words in choices */
};

enum { CLI_HIDDEN = 1, /* parsed, but in no help: an alias */
       CLI_AXES = 2 }; /* placeholder: one option per shape axis (kernels/axes.c), id = this id + axis */

/* One option. A row with no name and a help text is a heading; the table ends with a zero row. */
struct cli_option {
    const char *name;      /* long name without "--" */
    int short_name;        /* 'o' for -o, or 0 */
    int id;                /* what cli_next returns for it (getopt's val) */
    const char *arg;       /* the value's name in help ("PATH"); NULL: a flag without a value */
    enum cli_value value;
    const char *help;      /* one sentence or a few; the default in parentheses */
    const char *choices;   /* CLI_CHOICE: the words, space-separated */
    unsigned flags;
};
#define CLI_HEADING(TEXT) { NULL, 0, 0, NULL, CLI_TEXT, TEXT, NULL, 0 }
#define CLI_END_OPTIONS { NULL, 0, 0, NULL, CLI_TEXT, NULL, NULL, 0 }

/* One operand (positional argument), for help and completion. */
struct cli_operand {
    const char *name;      /* "RUN", "FILE.db..." */
    enum cli_value value;
    const char *help;
};

struct cli_exit {
    int code;
    const char *meaning;
};

struct cli_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;       /* one line, for 'kbench --help' and the man page */
    const char *synopsis;      /* after "kbench NAME": "[OPTIONS] [RUN]"; a newline starts another form */
    const char *description;   /* paragraphs separated by a blank line; a line starting with two
                                * spaces is kept as written (tables, lists) */
    const struct cli_option *options;     /* ends with CLI_END_OPTIONS; -h/--help is added */
    const struct cli_operand *operands;   /* NULL or ends with { NULL } */
    int max_operands;          /* more is "unexpected argument"; -1: any number */
    const char *notes;         /* after the options, paragraphs like description; may be NULL */
    const struct cli_exit *exits; /* ends with { -1 }; NULL: 0 ok, 2 usage or input error */
    const char *example;
    /* NULL, or the long option meant by an unknown one (written to guess, returning 0), asked before
     * the nearest name by spelling: run maps mistyped axes and store columns to their options */
    int (*suggest)(const char *typed, char *guess, size_t len);
};

/* Every command, in the order 'kbench --help' lists them (main.c). */
extern const struct cli_command *const cli_commands[];
extern const size_t cli_command_count;
const struct cli_command *cli_find_command(const char *name);

/* Walks argv (argv[0] is the command's name) by the description. Options and operands may be mixed;
 * "--" ends the options. Long options may be abbreviated to a unique prefix. */
enum { CLI_DONE = -1, CLI_STOP = -2 };
#define CLI_MAX_OPERANDS 1024
struct cli_parser {
    const struct cli_command *cmd;
    int argc;
    char **argv;
    int next;              /* the argv index looked at next */
    int only_operands;     /* after "--" */
    const char *short_rest; /* the rest of a "-abc" cluster */
    const char *arg;       /* the value of the option just returned (NULL for a flag) */
    char spelled[64];      /* the option just returned as the user could write it: "--seq" or "-o" */
    const char *long_name; /* its long name ("seq") */
    int status;            /* after CLI_STOP: 0 help was printed, 2 an error was */
    int n_operands;
    char *operands[CLI_MAX_OPERANDS];
};
void cli_parser_init(struct cli_parser *p, const struct cli_command *cmd, int argc, char **argv);
/* The id of the next option (its value in p->arg), CLI_DONE when argv is used up (operands are then
 * in p->operands), or CLI_STOP after printing the help (p->status 0) or an error (p->status 2):
 * an unknown option (with the nearest known one), a missing value (blamed on the option that
 * lacks it, also when the next word is another option), an empty path, too many operands. */
int cli_next(struct cli_parser *p);

/* The closest of n words to `typed` within a small edit distance, or NULL ("did you mean"). */
const char *cli_nearest(const char *typed, const char *const *words, size_t n);

/* cli_doc.c: the help of a command; the man page and the bash completion of all of them. */
void cli_print_help(FILE *out, const struct cli_command *cmd);
void cli_print_main_help(FILE *out);
void cli_print_man(FILE *out, const char *version);
void cli_print_bash_completion(FILE *out);

/* Each subcommand: argv[0] is its name; options are parsed by its description (cli_next). */
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
int cmd_calibrate(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_scaling(int argc, char **argv);
int cmd_versus(int argc, char **argv);
int cmd_tui(int argc, char **argv);
int cmd_tag(int argc, char **argv);
int cmd_untag(int argc, char **argv);
int cmd_bisect(int argc, char **argv);
int cmd_fleet(int argc, char **argv);

/* The descriptions, one per command file. */
extern const struct cli_command cli_cmd_run, cli_cmd_list, cli_cmd_devices, cli_cmd_counters, cli_cmd_calibrate,
    cli_cmd_runs, cli_cmd_show, cli_cmd_tui, cli_cmd_compare, cli_cmd_nightly, cli_cmd_history, cli_cmd_scaling, cli_cmd_versus,
    cli_cmd_report, cli_cmd_export, cli_cmd_import, cli_cmd_claims, cli_cmd_tag, cli_cmd_untag, cli_cmd_bisect, cli_cmd_fleet;

/* Loads the plugins of $KBENCH_PLUGIN_PATH (harness/plugin.h): 0, or EXIT_USAGE after saying why
 * ("kbench CMD: ..."). `kbench run --plugin PATH` loads one more as its option is parsed. */
int cli_load_plugin_path(const char *cmd);

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

/* ---- sweeps (cli_sweep.c; cmd_run.c for the run options): run, claims and nightly measure through
 * sweep_run and show its events the same way ---- */

/* `kbench run`'s options, parsed (cmd_run.c). */
#define CLI_RUN_MAX_AXES 32
struct cli_run_args {
    const char *db, *suite, *tag, *dump, *counters, *resume;
    int shard_i, shard_n, dry_run, quiet, no_show, min_time_given, min_samples_given, min_samples_cap_given;
    struct sweep_axis axes[CLI_RUN_MAX_AXES];
    int n_axes;
    struct runner_options ro;
};
/* Parses run's arguments (argv[0] "run"): 0, -1 after --help was printed, or EXIT_USAGE after an
 * error ("kbench run: ..."). nightly hands its run options through it, so they mean the same. */
int cli_run_parse(int argc, char **argv, struct cli_run_args *out);
/* The same one option at a time, for a command that hands run options on (nightly): init, then
 * each option by its long name (0 or EXIT_USAGE after saying why), then the checks between them. */
void cli_run_args_init(struct cli_run_args *a);
int cli_run_option(const char *long_name, const char *value, struct cli_run_args *a);
int cli_run_check(struct cli_run_args *a);
/* The sweep those arguments ask for: suite (quick when neither a suite nor an axis is given),
 * axes, shard, tag and runner options; the rest of req is left as it is. */
void cli_run_request(const struct cli_run_args *a, struct sweep_request *req);
/* A new run as `kbench run` makes it (not --resume): plans the request of a (errors "kbench CMD: ..."),
 * prints the plan for --dry-run, else opens the database, measures with progress on stderr, prints
 * the results table unless no_show. argc/argv (after "run") are stored with the run so that
 * `kbench run --resume` can finish it. Returns run's exit status; *out (may be NULL) gets the
 * sweep's result, to release with sweep_result_free. */
int cli_run_sweep(const struct cli_run_args *a, int argc, char **argv, const char *cmd, struct sweep_result *out);
/* The arguments after "run" as a user can paste them: "kbench run --kernels 'attention.*'". */
void cli_run_cmdline(int argc, char **argv, char *buf, size_t len);

/* Prints a sweep's events on stderr as `kbench run` always has: the run line, warnings clear of
 * the progress display, progress (a bar on a terminal, a line per case when piped), store waits
 * and errors as "kbench CMD: ...". Pass cli_sweep_event and the printer as the request's
 * on_event and ctx. */
struct cli_sweep_printer {
    const char *cmd;      /* "run", "claims", "nightly": errors say "kbench CMD: ..." */
    const char *db_path;  /* named in the run line */
    int quiet;
    int cases_begun;      /* the progress display is up: warnings clear its line first */
    struct progress prog;
};
int cli_sweep_event(const struct sweep_event *ev, void *ctx);
/* "case ok: 1.2 ms ±0.4% 3.5 GFLOP/s (n=100)", or the error of a case that is not ok. */
void cli_case_summary(const struct case_record *r, char *buf, size_t len);
/* SIGINT and SIGTERM ask the sweep to stop (runner_request_stop); from before a run's row exists,
 * so a signal between its creation and the first case still marks it interrupted. */
void cli_catch_stop_signals(void);
/* The exit status of a sweep stopped by a signal: 128 + it (130 SIGINT, 143 SIGTERM). */
int cli_stop_status(void);

/* ---- options shared by compare and nightly (compare_cli.c) ---- */
struct compare_options;
/* Handles one of the compare options below (getopt_long's value in opt); returns 0, 1 when opt
 * is not one of them, or EXIT_USAGE after printing why the value is bad. */
enum { CLI_OPT_ALPHA = 1000, CLI_OPT_THRESHOLD, CLI_OPT_THRESHOLD_FOR, CLI_OPT_ACCURACY_SLACK,
       CLI_OPT_RESAMPLES, CLI_OPT_CROSS_MACHINE, CLI_OPT_ALLOW_INCONCLUSIVE, CLI_OPT_MIN_MATCHED };
/* Their rows in a command's option table (struct cli_option). */
#define CLI_COMPARE_OPTIONS                                                                        \
    { "alpha", 0, CLI_OPT_ALPHA, "P", CLI_TEXT,                                                   \
      "significance level of the Mann-Whitney U test; the ratio's CI, which decides where the "   \
      "test cannot reach P, is at level 1 - P (0.01)", NULL, 0 },                                 \
    { "threshold", 0, CLI_OPT_THRESHOLD, "FRAC", CLI_TEXT,                                        \
      "a slowdown must exceed this to regress (0.05 = 5%)", NULL, 0 },                            \
    { "threshold-for", 0, CLI_OPT_THRESHOLD_FOR, "K=F", CLI_TEXT,                                 \
      "threshold for kernels matching pattern K (repeatable; overrides the suite's "              \
      "`threshold = F` keys, which override --threshold)", NULL, 0 },                             \
    { "accuracy-slack", 0, CLI_OPT_ACCURACY_SLACK, "F", CLI_TEXT,                                 \
      "relative L2 error growth, as a fraction of the tolerance, that counts as an accuracy "     \
      "drop (0.1)", NULL, 0 },                                                                     \
    { "resamples", 0, CLI_OPT_RESAMPLES, "N", CLI_TEXT,                                           \
      "bootstrap resamples for the CI of the ratio (2000; fixed seed)", NULL, 0 },                \
    { "cross-machine", 0, CLI_OPT_CROSS_MACHINE, NULL, CLI_TEXT,                                  \
      "allow comparing runs of different machine fingerprints", NULL, 0 },                        \
    { "allow-inconclusive", 0, CLI_OPT_ALLOW_INCONCLUSIVE, NULL, CLI_TEXT,                        \
      "let inconclusive cases pass (a slowdown beyond the threshold that the samples cannot "     \
      "decide, a side short of its minimum samples)", NULL, 0 },                                  \
    { "min-matched", 0, CLI_OPT_MIN_MATCHED, "FRAC", CLI_TEXT,                                    \
      "fail (exit 2) unless this fraction of all cases is in both runs; with any value, two "     \
      "runs with no case in common fail (0)", NULL, 0 }
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

/* ---- confirmation, shared by compare --confirm and nightly (confirm_cli.c; harness/confirm.h) ---- */
enum { CLI_OPT_CONFIRM = 1100, CLI_OPT_NO_CONFIRM, CLI_OPT_BASELINE_BIN, CLI_OPT_BASELINE_PLUGIN,
       CLI_OPT_CONFIRM_ROUNDS };
#define CLI_CONFIRM_OPTIONS                                                                        \
    { "baseline-bin", 0, CLI_OPT_BASELINE_BIN, "PATH", CLI_FILE,                                  \
      "the baseline's kbench build: confirmation measures it and the candidate in turn", NULL, 0 }, \
    { "baseline-plugin", 0, CLI_OPT_BASELINE_PLUGIN, "PATH", CLI_FILE,                            \
      "the baseline's build of a plugin (repeatable): confirmation measures it with this kbench, " \
      "in turn with the candidate's", NULL, 0 },                                                   \
    { "confirm-rounds", 0, CLI_OPT_CONFIRM_ROUNDS, "N", CLI_TEXT,                                 \
      "re-measurements of each side when confirming (3)", NULL, 0 }
struct cli_confirm {
    int enabled;
    const char *baseline_bin;
    const char *baseline_plugins[16];
    int n_baseline_plugins;
    int rounds;
};
void cli_confirm_init(struct cli_confirm *c, int enabled);
/* Handles one of the confirm options: 0, 1 when opt is not one, or EXIT_USAGE after saying why. */
int cli_confirm_option(const char *cmd, int opt, const char *arg, struct cli_confirm *c);
/* Re-measures the flagged cases of r (harness/confirm.h) with this kbench and the baseline build
 * given, the candidate run's plugins and sampling options (or run_options: nightly's), progress
 * on stderr unless quiet. 0, or EXIT_USAGE after saying why. */
struct remeasure_words;
int cli_confirm_run(const char *cmd, const struct cli_confirm *c, const char *db_path, struct store *st,
                    struct compare_result *r, const struct remeasure_words *run_options, int quiet);
/* The sampling options among `kbench run` words (--max-time S, --min-samples N, ...), which a
 * re-measurement takes over. */
void cli_confirm_sampling_words(int argc, char *const *argv, struct remeasure_words *out);

#endif
