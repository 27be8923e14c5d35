/* cmd_export.c - `kbench export`: a run's cases as CSV or JSON, to stdout or a file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/cli.h"
#include "reports/reports.h"

/* Writes into path.tmp and renames it over path once everything is on disk, so a reader never
 * sees half a file and a failed export leaves any earlier file in place. */
static int export_to_file(struct store *s, int64_t run_id, enum export_format fmt, enum export_table table,
                          const char *path)
{
    size_t len = strlen(path) + 5;
    char *tmp = malloc(len);
    if (!tmp)
        return cli_input_error("export", "out of memory");
    snprintf(tmp, len, "%s.tmp", path);
    int rc = 0;
    FILE *f = fopen(tmp, "w");
    if (!f) {
        rc = cli_input_error("export", "cannot create '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (report_export_table(f, s, run_id, fmt, table) != 0) {
        rc = cli_input_error("export", "%s", store_errmsg(s));
        fclose(f);
        unlink(tmp);
        goto out;
    }
    int failed = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
    int saved = errno;
    if (fclose(f) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    if (failed) {
        rc = cli_input_error("export", "cannot write '%s': %s", tmp, strerror(saved));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        rc = cli_input_error("export", "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        unlink(tmp);
    }
out:
    free(tmp);
    return rc;
}

static const struct cli_option options[] = {
    { "format", 'f', 'f', "FMT", CLI_CHOICE, "csv or json (csv)", "csv json", 0 },
    { "table", 't', 't', "T", CLI_CHOICE,
      "for CSV: cases (one row per case, the default), counters (one row per counter of each case) or "
      "environment (section, key, value, unit rows: run, software, machine, measured ceilings)",
      "cases counters environment", 0 },
    { "output", 'o', 'o', "FILE", CLI_FILE,
      "write FILE instead of stdout (-: stdout); it appears whole or not at all (written to FILE.tmp, "
      "then renamed)", NULL, 0 },
    { "db", 0, 'd', "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_operand operands[] = {
    { "RUN", CLI_RUN, "a run id, a uuid or unique uuid prefix, 'latest' or 'tag:NAME' (latest)" },
    { NULL, CLI_TEXT, NULL },
};

const struct cli_command cli_cmd_export = {
    .name = "export",
    .fn = cmd_export,
    .summary = "write a run's results as CSV or JSON",
    .synopsis = "[RUN] [--format csv|json] [--table cases|counters|environment] [--db PATH] [-o FILE]",
    .description =
        "Writes every case of a run with its statistics and accuracy. CSV (RFC 4180, CRLF line ends) has "
        "one row per case under a header row; JSON also carries the machine, each case's counters and its "
        "raw samples. Columns: docs/export.md; the JSON document follows the JSON Schema in "
        "docs/export-schema.json.",
    .options = options,
    .operands = operands,
    .max_operands = 1,
    .example = "kbench export tag:nightly --format json -o nightly.json",
};

int cmd_export(int argc, char **argv)
{
    const char *db = NULL, *ref = NULL, *output = NULL;
    enum export_format fmt = EXPORT_CSV;
    enum export_table table = EXPORT_CASES;
    int table_given = 0;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_export, argc, argv);
    int c;
    while ((c = cli_next(&p)) != CLI_DONE) {
        const char *optarg = p.arg;
        switch (c) {
        case 'f':
            if (strcmp(optarg, "csv") == 0)
                fmt = EXPORT_CSV;
            else if (strcmp(optarg, "json") == 0)
                fmt = EXPORT_JSON;
            else
                return cli_usage_error("export", "bad --format '%s' (expected csv or json)", optarg);
            break;
        case 'o':
            if (!*optarg)
                return cli_usage_error("export", "bad --output '' (expected a file name, or - for stdout)");
            output = optarg;
            break;
        case 't':
            if (strcmp(optarg, "cases") == 0)
                table = EXPORT_CASES;
            else if (strcmp(optarg, "counters") == 0)
                table = EXPORT_COUNTERS;
            else if (strcmp(optarg, "environment") == 0)
                table = EXPORT_ENVIRONMENT;
            else
                return cli_usage_error("export", "bad --table '%s' (expected cases, counters or environment)", optarg);
            table_given = 1;
            break;
        case 'd': db = optarg; break;
        case CLI_STOP: return p.status;
        }
    }
    if (p.n_operands)
        ref = p.operands[0];
    if (!ref)
        ref = "latest";
    if (table_given && fmt == EXPORT_JSON)
        return cli_usage_error("export", "--table is for CSV; the JSON document holds every table");
    if (output && strcmp(output, "-") == 0)
        output = NULL;

    struct store *s;
    int rc = cli_open_store("export", cli_db_path(db), STORE_READ, &s);
    if (rc != 0)
        return rc;
    int64_t run_id = store_resolve_run(s, ref);
    if (run_id <= 0) {
        rc = cli_input_error("export", "%s", store_errmsg(s));
    } else if (output) {
        rc = export_to_file(s, run_id, fmt, table, output);
    } else if (report_export_table(stdout, s, run_id, fmt, table) != 0) {
        rc = cli_input_error("export", "%s", store_errmsg(s));
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        rc = cli_input_error("export", "cannot write to stdout: %s", strerror(errno));
    }
    store_close(s);
    return rc;
}
