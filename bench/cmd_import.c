/* cmd_import.c - `kbench import FILE...`: merge other kbench databases into this one. */
#include <getopt.h>
#include <stdio.h>

#include "bench/cli.h"
#include "harness/import.h"

static void usage(void)
{
    printf(
"usage: kbench import FILE.db... [--db PATH]\n\n"
"Merges the runs of other kbench databases into this one (./kbench.db, $KBENCH_DB or --db),\n"
"each file in one transaction. Runs are keyed by uuid, so importing a file twice adds nothing;\n"
"machines are matched by fingerprint; each new run arrives with all its cases, samples,\n"
"statistics, counters, accuracy and tags. A file that is not a kbench database, is corrupt, or\n"
"was written by a newer kbench is refused and nothing is changed.\n\n"
"Shards of one suite measured on several machines (kbench run --shard I/N, e.g. a Slurm job\n"
"array) come together this way: kbench import shard-*.db --db all.db\n\n"
"Exit status: 0 imported, 2 usage or input error (the file is named).\n");
}

enum { OPT_DB = 256, OPT_HELP };

static const struct option options[] = {
    { "db", required_argument, NULL, OPT_DB },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

int cmd_import(int argc, char **argv)
{
    const char *db = NULL;
    int opt;
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        switch (opt) {
        case OPT_DB: db = optarg; break;
        case OPT_HELP: usage(); return EXIT_OK;
        case ':': return cli_usage_error("import", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("import", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind == argc)
        return cli_usage_error("import", "no database to import");
    const char *target = cli_db_path(db);
    for (int i = optind; i < argc; i++) {
        struct import_counts c;
        char err[1024];
        if (import_database(target, argv[i], &c, err, sizeof err) != 0)
            return cli_input_error("import", "%s", err);
        printf("%s: %d run%s imported (%ld case%s, %ld sample%s), %d already present; %d machine%s and %d tag%s added\n",
               argv[i], c.runs_added, c.runs_added == 1 ? "" : "s", c.cases, c.cases == 1 ? "" : "s", c.samples,
               c.samples == 1 ? "" : "s", c.runs_present,
               c.machines_added, c.machines_added == 1 ? "" : "s", c.tags_added, c.tags_added == 1 ? "" : "s");
    }
    return EXIT_OK;
}
