/* cmd_tui.c - `kbench tui`: the interactive dashboard (tui/). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/cli.h"
#include "tui/tui.h"

static const struct cli_option options[] = {
    { "db", 0, 'd', "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB); only read, never changed", NULL, 0 },
    { "export-dir", 0, 'x', "DIR", CLI_DIR, "where e writes CSV, PNG and SVG files (the current directory)",
      NULL, 0 },
    CLI_END_OPTIONS,
};

const struct cli_command cli_cmd_tui = {
    .name = "tui",
    .fn = cmd_tui,
    .summary = "the interactive dashboard: runs, results, plots, compare, live",
    .synopsis = "[--db PATH] [--export-dir DIR]",
    .description =
        "The dashboard: runs (newest first), a run's results (sort, filter, group by kernel), a case's "
        "statistics, histogram, counters and machine, plots of latency or throughput against sequence "
        "length with each curve's scaling exponent and crossovers (through gnuplot), and two runs "
        "compared case by case. A run being written by another process shows up live. Press ? in the "
        "dashboard for every key.",
    .options = options,
    .max_operands = 0,
    .notes = "Needs a terminal of at least 80x24. NO_COLOR turns colours off. Plots need gnuplot "
             "($KBENCH_GNUPLOT, or gnuplot on PATH); without it the tables still work.",
    .example = "kbench tui --db results.db",
};

int cmd_tui(int argc, char **argv)
{
    struct tui_options o = { .poll_ms = 500 };
    const char *db = NULL;
    int c;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_tui, argc, argv);
    while ((c = cli_next(&p)) != CLI_DONE) {
        const char *optarg = p.arg;
        switch (c) {
        case 'd': db = optarg; break;
        case 'x': o.export_dir = optarg; break;
        case CLI_STOP: return p.status;
        }
    }
    o.db_path = cli_db_path(db);
    if (o.export_dir && access(o.export_dir, W_OK | X_OK) != 0)
        return cli_input_error("tui", "cannot write exports into %s: not a writable directory", o.export_dir);
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return cli_input_error("tui", "needs a terminal (standard input and output must be a tty); "
                                      "for text use 'kbench runs' and 'kbench show'");
    char err[600];
    int rc = tui_main(&o, err, sizeof err);
    if (rc != 0)
        return cli_input_error("tui", "%s", err);
    return EXIT_OK;
}
