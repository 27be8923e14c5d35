/* cmd_tui.c - `kbench tui`: the interactive dashboard (tui/). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/cli.h"
#include "tui/tui.h"

static void usage(void)
{
    printf("usage: kbench tui [--db PATH] [--export-dir DIR]\n\n"
           "The dashboard: runs (newest first), a run's results (sort, filter, group by kernel),\n"
           "a case's statistics, histogram, counters and machine, plots of latency or throughput\n"
           "against sequence length with each curve's scaling exponent and crossovers (through\n"
           "gnuplot), and two runs compared case by case. A run being written by another process\n"
           "shows up live. Press ? in the dashboard for every key.\n\n"
           "  --db PATH         database (./kbench.db, or $KBENCH_DB); only read, never changed\n"
           "  --export-dir DIR  where e writes CSV, PNG and SVG files (the current directory)\n\n"
           "Needs a terminal of at least 80x24. NO_COLOR turns colours off. Plots need gnuplot\n"
           "($KBENCH_GNUPLOT, or gnuplot on PATH); without it the tables still work.\n\n"
           "example: kbench tui --db results.db\n");
}

int cmd_tui(int argc, char **argv)
{
    static const struct option opts[] = {
        { "db", required_argument, NULL, 'd' },
        { "export-dir", required_argument, NULL, 'x' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct tui_options o = { .poll_ms = 500 };
    const char *db = NULL;
    opterr = 0;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'x': o.export_dir = optarg; break;
        case 'h': usage(); return EXIT_OK;
        case ':': return cli_usage_error("tui", "option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt && strncmp(argv[optind - 1], "--", 2) != 0)
                return cli_usage_error("tui", "unknown option '-%c'", optopt);
            return cli_usage_error("tui", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("tui", "unexpected argument '%s'", argv[optind]);
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
