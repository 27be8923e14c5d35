/* cmd_export.c - `kbench export`: a run's cases as CSV or JSON, to stdout or a file. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/cli.h"
#include "reports/reports.h"

static void usage(void)
{
    printf("usage: kbench export [RUN] [--format csv|json] [--table cases|counters|environment]\n"
           "                    [--db PATH] [-o FILE]\n\n"
           "Writes every case of a run with its statistics and accuracy. CSV (RFC 4180, CRLF\n"
           "line ends) has one row per case under a header row; JSON also carries the machine,\n"
           "each case's counters and its raw samples. Columns: docs/export.md; the JSON document\n"
           "follows the JSON Schema in docs/export-schema.json.\n\n"
           "  RUN               a run id, a uuid or unique uuid prefix, 'latest' or 'tag:NAME' (latest)\n"
           "  -f, --format FMT  csv or json (csv)\n"
           "  -t, --table T     for CSV: cases (one row per case, the default), counters (one\n"
           "                    row per counter of each case) or environment (section, key,\n"
           "                    value, unit rows: run, software, machine, measured ceilings)\n"
           "  -o, --output FILE write FILE instead of stdout; it appears whole or not at all\n"
           "                    (written to FILE.tmp, then renamed)\n"
           "  --db PATH         database (./kbench.db, or $KBENCH_DB)\n\n"
           "example: kbench export tag:nightly --format json -o nightly.json\n");
}

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

int cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { "table", required_argument, NULL, 't' },
        { "db", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *db = NULL, *ref = NULL, *output = NULL;
    enum export_format fmt = EXPORT_CSV;
    enum export_table table = EXPORT_CASES;
    int table_given = 0;
    opterr = 0;
    optind = 0;
    for (;;) {
        int before = optind;
        int c = getopt_long(argc, argv, "+:f:o:t:h", opts, NULL);
        if (c == -1) {
            if (optind >= argc)
                break;
            int after_dashes = optind > before && strcmp(argv[optind - 1], "--") == 0;
            /* "+" stops at the first operand; take it and go on, so options may follow it. */
            if (ref)
                return cli_usage_error("export", "unexpected argument '%s' (one run at a time)", argv[optind]);
            ref = argv[optind++];
            if (after_dashes && optind < argc)
                return cli_usage_error("export", "unexpected argument '%s' (one run at a time)", argv[optind]);
            if (after_dashes)
                break;
            continue;
        }
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
        case 'h': usage(); return EXIT_OK;
        case ':': return cli_usage_error("export", "option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt && strncmp(argv[optind - 1], "--", 2) != 0)
                return cli_usage_error("export", "unknown option '-%c'", optopt);
            return cli_usage_error("export", "unknown option '%s'", argv[optind - 1]);
        }
    }
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
