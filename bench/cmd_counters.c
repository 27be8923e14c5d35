/* cmd_counters.c - `kbench counters`: what PAPI can count on this machine. */
#include <stdio.h>

#include "bench/cli.h"
#include "harness/counters.h"

enum { OPT_NATIVE = 256, OPT_CHECK };

static const struct cli_option options[] = {
    { "native", 0, OPT_NATIVE, NULL, CLI_TEXT, "also list native events of the enabled components", NULL, 0 },
    { "check", 0, OPT_CHECK, "LIST", CLI_TEXT, "validate an event list as 'kbench run --counters' would", NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_exit exits[] = {
    { 0, "something can be counted (or --check: every name is known)" },
    { 1, "nothing can be counted" },
    { 2, "usage error, or an unknown event in --check" },
    { -1, NULL },
};

const struct cli_command cli_cmd_counters = {
    .name = "counters",
    .fn = cmd_counters,
    .summary = "show the hardware counters PAPI can read here",
    .synopsis = "[--native] [--check EV1,EV2]",
    .description =
        "Shows PAPI's version and components, the preset events this machine can count, and (--native) "
        "the native event names. Where PAPI finds no PMU (virtual machines), it says why; kbench then "
        "records counters as unavailable and carries on.",
    .options = options,
    .max_operands = 0,
    .exits = exits,
    .example = "kbench counters --check PAPI_TOT_CYC,PAPI_L1_DCM",
};

int cmd_counters(int argc, char **argv)
{
    int native = 0, c;
    const char *check = NULL;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_counters, argc, argv);
    while ((c = cli_next(&p)) != CLI_DONE) {
        switch (c) {
        case OPT_NATIVE: native = 1; break;
        case OPT_CHECK: check = p.arg; break;
        case CLI_STOP: return p.status;
        }
    }
    if (check) {
        char err[512];
        if (counters_validate(check, err, sizeof err) != 0)
            return cli_input_error("counters", "%s", err);
        printf("%s: every name is known to PAPI\n", check);
        return EXIT_OK;
    }
    return counters_print_available(stdout, native) == 0 ? EXIT_OK : EXIT_FAILED;
}
