/* cmd_runs.c - `kbench runs`: the runs in a database, newest first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cli.h"
#include "reports/json_writer.h"
#include "reports/reports.h"

#define DEFAULT_LIMIT 20

enum { OPT_DB = 256, OPT_LIMIT = 'n', OPT_TAG = 257, OPT_FORMAT };

static const struct cli_option options[] = {
    { "db", 0, OPT_DB, "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    { "limit", 'n', OPT_LIMIT, "N", CLI_TEXT, "show the N newest runs (20; 0: all)", NULL, 0 },
    { "tag", 0, OPT_TAG, "NAME", CLI_TEXT, "only the runs with this tag ('kbench tag' adds one)", NULL, 0 },
    { "format", 0, OPT_FORMAT, "FMT", CLI_CHOICE,
      "text or json (text): json is one array of runs, their tags an array", "text json", 0 },
    CLI_END_OPTIONS,
};

const struct cli_command cli_cmd_runs = {
    .name = "runs",
    .fn = cmd_runs,
    .summary = "list the runs in the database",
    .synopsis = "[--db PATH] [--limit N] [--tag NAME] [--format text|json]",
    .description =
        "Lists the runs in the database, newest first: id, start time (local, to the minute), host, "
        "tags, suite, cases done/planned, failures, status and the first 8 characters of the run's "
        "uuid. Any of id, uuid prefix, 'latest' or 'tag:NAME' names a run for 'kbench show' and "
        "'kbench export'.",
    .options = options,
    .max_operands = 0,
    .example = "kbench runs --db nightly.db --limit 5",
};

struct collect {
    const char *tag;
    long limit;
    struct run_row *rows;
    size_t n, cap;
    int oom;
};

static int collect(const struct run_row *r, void *ctx)
{
    struct collect *c = ctx;
    if (c->tag && !report_tags_include(r->tag, c->tag))
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        struct run_row *v = realloc(c->rows, cap * sizeof *v);
        if (!v) {
            c->oom = 1;
            return 1;
        }
        c->rows = v;
        c->cap = cap;
    }
    c->rows[c->n++] = *r;
    return c->limit > 0 && (long)c->n >= c->limit;
}

static void print_json(struct store *s, const struct run_row *rows, size_t n)
{
    struct jw w = { .out = stdout };
    jw_open(&w, '[', 0);
    for (size_t i = 0; i < n; i++) {
        const struct run_row *r = &rows[i];
        jw_open(&w, '{', 0);
        jw_run_fields(&w, s, r, 1);
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    fputc('\n', stdout);
}

int cmd_runs(int argc, char **argv)
{
    const char *db = NULL;
    int json = 0, c;
    struct collect col = { .limit = DEFAULT_LIMIT };
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_runs, argc, argv);
    while ((c = cli_next(&p)) != CLI_DONE) {
        switch (c) {
        case OPT_DB: db = p.arg; break;
        case OPT_LIMIT:
            if (cli_parse_int(p.arg, 0, 1000000000, &col.limit) != 0)
                return cli_usage_error("runs", "bad --limit '%s' (expected an integer >= 0)", p.arg);
            break;
        case OPT_TAG:
            if (!*p.arg || strpbrk(p.arg, ":,"))
                return cli_usage_error("runs", "bad --tag '%s': a tag is a non-empty name without ':' or ','", p.arg);
            col.tag = p.arg;
            break;
        case OPT_FORMAT:
            if (strcmp(p.arg, "json") != 0 && strcmp(p.arg, "text") != 0)
                return cli_usage_error("runs", "bad --format '%s' (expected text or json)", p.arg);
            json = strcmp(p.arg, "json") == 0;
            break;
        case CLI_STOP: return p.status;
        }
    }

    struct store *s;
    int rc = cli_open_store("runs", cli_db_path(db), STORE_READ, &s);
    if (rc != 0)
        return rc;
    /* with a tag the limit counts the matching runs, so the store lists them all */
    if (store_list_runs(s, col.tag ? 0 : (int)col.limit, collect, &col) != 0 || col.oom)
        rc = cli_input_error("runs", "%s", col.oom ? "out of memory" : store_errmsg(s));
    else if (json)
        print_json(s, col.rows, col.n);
    else if (col.tag && col.n == 0)
        printf("no run has the tag '%s'\n", col.tag);
    else if (report_runs_rows(stdout, s, col.rows, col.n) != 0)
        rc = cli_input_error("runs", "out of memory");
    free(col.rows);
    store_close(s);
    if (rc == 0 && fflush(stdout) != 0)
        rc = cli_input_error("runs", "cannot write the output: %m");
    return rc;
}
