/* main.c - the kbench command: the list of subcommands, each described and implemented in its own
 * file (bench/cmd_*.c); help, the man page and the completion script come from those descriptions. */
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

const struct cli_command *const cli_commands[] = {
    /* measuring */
    &cli_cmd_run, &cli_cmd_list, &cli_cmd_devices, &cli_cmd_counters, &cli_cmd_calibrate,
    /* looking at results */
    &cli_cmd_runs, &cli_cmd_show, &cli_cmd_tui,
    /* regressions */
    &cli_cmd_compare, &cli_cmd_nightly, &cli_cmd_bisect, &cli_cmd_fleet, &cli_cmd_history, &cli_cmd_scaling,
    &cli_cmd_versus, &cli_cmd_tag, &cli_cmd_untag,
    /* sharing */
    &cli_cmd_report, &cli_cmd_export, &cli_cmd_import,
    /* the papers */
    &cli_cmd_claims,
};
const size_t cli_command_count = sizeof cli_commands / sizeof cli_commands[0];

const struct cli_command *cli_find_command(const char *name)
{
    for (size_t i = 0; i < cli_command_count; i++)
        if (strcmp(name, cli_commands[i]->name) == 0)
            return cli_commands[i];
    return NULL;
}

/* "kbench: unknown command 'rn'; did you mean 'run'?" */
static int unknown_command(const char *name)
{
    const char *names[64];
    size_t n = 0;
    for (size_t i = 0; i < cli_command_count && n < 62; i++)
        names[n++] = cli_commands[i]->name;
    names[n++] = "help";
    names[n++] = "version";
    const char *near = cli_nearest(name, names, n);
    if (near)
        fprintf(stderr, "kbench: unknown command '%s'; did you mean '%s'?\n", name, near);
    else
        fprintf(stderr, "kbench: unknown command '%s'\n", name);
    fprintf(stderr, "Try 'kbench --help' for the list of commands.\n");
    return EXIT_USAGE;
}

/* kbench help [COMMAND | --man | --bash-completion] */
static int help(int argc, char **argv)
{
    if (argc < 2) {
        cli_print_main_help(stdout);
        return EXIT_OK;
    }
    if (argc > 2) {
        fprintf(stderr, "kbench help: one command at a time (got '%s' after '%s')\n", argv[2], argv[1]);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--man") == 0) {
        cli_print_man(stdout, PACKAGE_VERSION);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (strcmp(argv[1], "--bash-completion") == 0) {
        cli_print_bash_completion(stdout);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_USAGE;
    }
    const struct cli_command *c = cli_find_command(argv[1]);
    if (!c)
        return unknown_command(argv[1]);
    cli_print_help(stdout, c);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_print_main_help(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)
        return help(argc - 1, argv + 1);
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
    const struct cli_command *c = cli_find_command(argv[1]);
    if (!c) {
        if (argv[1][0] == '-') {
            fprintf(stderr, "kbench: unknown option '%s' (options follow the command: kbench COMMAND --help)\n", argv[1]);
            return EXIT_USAGE;
        }
        return unknown_command(argv[1]);
    }
    return c->fn(argc - 1, argv + 1);
}
