/* cmd_runs.c - `kbench runs`: the runs in a database, newest first. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "bench/cli.h"
#include "reports/reports.h"

#define DEFAULT_LIMIT 20

static void usage(void)
{
    printf("usage: kbench runs [--db PATH] [--limit N]\n\n"
           "Lists the runs in the database, newest first: id, start time (local, to the minute),\n"
           "host, tag, suite, cases done/planned, failures, status and the first 8 characters of\n"
           "the run's uuid. Any of id, uuid prefix, 'latest' or 'tag:NAME' names a run for\n"
           "'kbench show' and 'kbench export'.\n\n"
           "  --db PATH      database (./kbench.db, or $KBENCH_DB)\n"
           "  -n, --limit N  show the N newest runs (%d; 0: all)\n\n"
           "example: kbench runs --db nightly.db --limit 5\n",
           DEFAULT_LIMIT);
}

int cmd_runs(int argc, char **argv)
{
    static const struct option opts[] = {
        { "db", required_argument, NULL, 'd' },
        { "limit", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *db = NULL;
    long limit = DEFAULT_LIMIT;
    int c;
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'n':
            if (cli_parse_int(optarg, 0, 1000000000, &limit) != 0)
                return cli_usage_error("runs", "bad --limit '%s' (expected an integer >= 0)", optarg);
            break;
        case 'h': usage(); return EXIT_OK;
        case ':': return cli_usage_error("runs", "option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt && strncmp(argv[optind - 1], "--", 2) != 0)
                return cli_usage_error("runs", "unknown option '-%c'", optopt);
            return cli_usage_error("runs", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("runs", "unexpected argument '%s'", argv[optind]);

    struct store *s;
    int rc = cli_open_store("runs", cli_db_path(db), STORE_READ, &s);
    if (rc != 0)
        return rc;
    if (report_runs_table(stdout, s, (int)limit) != 0)
        rc = cli_input_error("runs", "%s", store_errmsg(s));
    store_close(s);
    if (rc == 0 && fflush(stdout) != 0)
        rc = cli_input_error("runs", "cannot write the output: %m");
    return rc;
}
