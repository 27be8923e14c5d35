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

#endif
