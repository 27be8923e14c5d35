/* cmd_counters.c - `kbench counters`: what PAPI can count on this machine. */
#include <getopt.h>
#include <stdio.h>

#include "bench/cli.h"
#include "harness/counters.h"

int cmd_counters(int argc, char **argv)
{
    static const struct option opts[] = {
        { "native", no_argument, NULL, 'n' },
        { "check", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int native = 0, c;
    const char *check = NULL;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'n': native = 1; break;
        case 'c': check = optarg; break;
        case 'h':
            printf("usage: kbench counters [--native] [--check EV1,EV2]\n\n"
                   "Shows PAPI's version and components, the preset events this machine can count,\n"
                   "and (--native) the native event names. Where PAPI finds no PMU (virtual machines),\n"
                   "it says why; kbench then records counters as unavailable and carries on.\n\n"
                   "  --native         also list native events of the enabled components\n"
                   "  --check LIST     validate an event list as 'kbench run --counters' would\n\n"
                   "Exit status: 0 when something can be counted, 1 when nothing can, 2 usage error.\n"
                   "example: kbench counters --check PAPI_TOT_CYC,PAPI_L1_DCM\n");
            return EXIT_OK;
        default:
            return cli_usage_error("counters", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("counters", "unexpected argument '%s'", argv[optind]);
    if (check) {
        char err[512];
        if (counters_validate(check, err, sizeof err) != 0)
            return cli_input_error("counters", "%s", err);
        printf("%s: every name is known to PAPI\n", check);
        return EXIT_OK;
    }
    return counters_print_available(stdout, native) == 0 ? EXIT_OK : EXIT_FAILED;
}
