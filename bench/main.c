/* main.c - the kbench command: a table of subcommands, each in its own file. */
#include <stdio.h>
#include <string.h>

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "bench/cli.h"
#include "kernels/cpu_features.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    /* measuring */
    { "run", cmd_run, "run a sweep (suite or axes), verify and time every case, store the results" },
    { "list", cmd_list, "list the kernels compiled in" },
    { "devices", cmd_devices, "show this machine's CPU and GPUs" },
    { "counters", cmd_counters, "show the hardware counters PAPI can read here" },
    { "calibrate", cmd_calibrate, "measure this machine's ceilings (FMA rates, bandwidth) and store them" },
    /* looking at results */
    { "runs", cmd_runs, "list the runs in the database" },
    { "show", cmd_show, "print the results of a run" },
    { "tui", cmd_tui, "the interactive dashboard: runs, results, plots, compare, live" },
    /* regressions */
    { "compare", cmd_compare, "compare two runs case by case: regressions, improvements, failures" },
    { "nightly", cmd_nightly, "run a suite, compare with the baseline, write reports, promote" },
    { "history", cmd_history, "a case's median across runs, with the runs where it changed" },
    { "scaling", cmd_scaling, "fit a kernel's time against N (exponent with its CI) and find crossovers" },
    /* sharing */
    { "report", cmd_report, "write plots (gnuplot), tables and an HTML/Markdown page for runs" },
    { "export", cmd_export, "write a run's results as CSV or JSON" },
    { "import", cmd_import, "merge the runs of other kbench databases into this one" },
    /* the papers */
    { "claims", cmd_claims, "check the papers' headline claims on this machine" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: kbench [--version] [--help] COMMAND [ARGS]\n\n"
                 "Benchmarks and profiles the kernels of efficient sequence models: every case is\n"
                 "verified against a float64 reference before it is timed, and stored in SQLite\n"
                 "(./kbench.db, or $KBENCH_DB, or --db PATH).\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'kbench COMMAND --help' describes a command.\n"
                 "Exit status: 0 ok, 1 a case failed verification (or a regression), 2 usage or input error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("kbench %s\n", PACKAGE_VERSION);
        return EXIT_OK;
    }
    /* A bad CPU feature mask would silently run other code paths than asked for: refuse it
     * before any command measures or reports anything. */
    char why[256];
    if (kb_cpu_features_init(why, sizeof why) != 0) {
        fprintf(stderr, "kbench: %s\n", why);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "kbench: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
