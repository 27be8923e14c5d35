/* cmd_import.c - `kbench import FILE...`: merge other kbench databases into this one. */
#include <stdio.h>

#include "bench/cli.h"
#include "harness/import.h"

enum { OPT_DB = 256 };

static const struct cli_option options[] = {
    { "db", 0, OPT_DB, "PATH", CLI_DB, "the database to merge into (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_operand operands[] = {
    { "FILE.db...", CLI_DB, "the kbench databases to merge in, each in one transaction" },
    { NULL, CLI_TEXT, NULL },
};

static const struct cli_exit exits[] = {
    { 0, "imported" },
    { 2, "usage or input error (the file is named)" },
    { -1, NULL },
};

const struct cli_command cli_cmd_import = {
    .name = "import",
    .fn = cmd_import,
    .summary = "merge the runs of other kbench databases into this one",
    .synopsis = "FILE.db... [--db PATH]",
    .description =
        "Merges the runs of other kbench databases into this one (./kbench.db, $KBENCH_DB or --db), each "
        "file in one transaction. Runs are keyed by uuid, so importing a file twice adds nothing; machines "
        "are matched by fingerprint; each new run arrives with all its cases, samples, statistics, "
        "counters, accuracy and tags. A file that is not a kbench database, is corrupt, or was written by "
        "a newer kbench is refused and nothing is changed.\n\n"
        "Shards of one suite measured on several machines (kbench run --shard I/N, e.g. a Slurm job array) "
        "come together this way: kbench import shard-*.db --db all.db",
    .options = options,
    .operands = operands,
    .max_operands = -1,
    .exits = exits,
};

int cmd_import(int argc, char **argv)
{
    const char *db = NULL;
    int opt;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_import, argc, argv);
    while ((opt = cli_next(&p)) != CLI_DONE) {
        switch (opt) {
        case OPT_DB: db = p.arg; break;
        case CLI_STOP: return p.status;
        }
    }
    if (p.n_operands == 0)
        return cli_usage_error("import", "no database to import");
    const char *target = cli_db_path(db);
    for (int i = 0; i < p.n_operands; i++) {
        const char *file = p.operands[i];
        struct import_counts c;
        char err[1024];
        if (import_database(target, file, &c, err, sizeof err) != 0)
            return cli_input_error("import", "%s", err);
        printf("%s: %d run%s imported (%ld case%s, %ld sample%s), %d already present; %d machine%s and %d tag%s added\n",
               file, c.runs_added, c.runs_added == 1 ? "" : "s", c.cases, c.cases == 1 ? "" : "s", c.samples,
               c.samples == 1 ? "" : "s", c.runs_present,
               c.machines_added, c.machines_added == 1 ? "" : "s", c.tags_added, c.tags_added == 1 ? "" : "s");
    }
    return EXIT_OK;
}
