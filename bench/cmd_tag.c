/* cmd_tag.c - `kbench tag RUN NAME` and `kbench untag RUN NAME`: name a run by hand, e.g. the
 * baseline that `kbench compare tag:NAME ...` and `kbench nightly --baseline tag:NAME` resolve to
 * (the newest run with that tag measured on this machine). */
#include <stdio.h>
#include <string.h>

#include "bench/cli.h"
#include "reports/reports.h"

enum { OPT_DB = 256, OPT_MOVE };

static const struct cli_operand operands[] = {
    { "RUN", CLI_RUN, "a run id, a uuid or unique uuid prefix, 'latest' or 'tag:NAME'" },
    { "NAME", CLI_TEXT, "the tag: a non-empty name without ':' or ','" },
    { NULL, CLI_TEXT, NULL },
};

static const struct cli_option tag_options[] = {
    { "move", 0, OPT_MOVE, NULL, CLI_TEXT,
      "take the tag off every other run of the same machine first, so tag:NAME names this run "
      "even when a newer run has the tag", NULL, 0 },
    { "db", 0, OPT_DB, "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_option untag_options[] = {
    { "db", 0, OPT_DB, "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    CLI_END_OPTIONS,
};

const struct cli_command cli_cmd_tag = {
    .name = "tag",
    .fn = cmd_tag,
    .summary = "tag a run, e.g. to choose the baseline tag:NAME names",
    .synopsis = "[--move] [--db PATH] RUN NAME",
    .description =
        "Adds the tag NAME to a run. 'tag:NAME' then names the newest run with that tag measured on "
        "this machine, for 'kbench compare', 'kbench nightly --baseline' (tag:nightly-good by "
        "default), 'kbench show' and 'kbench export'; 'kbench runs --tag NAME' lists the runs that "
        "have it. A run may have several tags. To make an older run the baseline, use --move (or "
        "'kbench untag' the newer ones).",
    .options = tag_options,
    .operands = operands,
    .max_operands = 2,
    .example = "kbench tag --move 42 nightly-good",
};

const struct cli_command cli_cmd_untag = {
    .name = "untag",
    .fn = cmd_untag,
    .summary = "take a tag off a run",
    .synopsis = "[--db PATH] RUN NAME",
    .description = "Takes the tag NAME off a run; the run and its results stay.",
    .options = untag_options,
    .operands = operands,
    .max_operands = 2,
    .example = "kbench untag 42 nightly-good",
};

struct others {
    int64_t run_id;
    const char *machine, *tag;
    int64_t ids[256];
    int n;
    int64_t newer; /* the newest other run of the machine with the tag, if newer than run_id */
};

static int find_others(const struct run_row *r, void *ctx)
{
    struct others *o = ctx;
    if (r->id == o->run_id || strcmp(r->machine, o->machine) != 0 || !report_tags_include(r->tag, o->tag))
        return 0;
    if (r->id > o->run_id && !o->newer)
        o->newer = r->id;
    if (o->n < (int)(sizeof o->ids / sizeof o->ids[0]))
        o->ids[o->n++] = r->id;
    return 0;
}

static int tag_or_untag(const struct cli_command *cmd, int argc, char **argv, int untag)
{
    const char *db = NULL;
    int move = 0, c;
    struct cli_parser p;
    cli_parser_init(&p, cmd, argc, argv);
    while ((c = cli_next(&p)) != CLI_DONE) {
        switch (c) {
        case OPT_DB: db = p.arg; break;
        case OPT_MOVE: move = 1; break;
        case CLI_STOP: return p.status;
        }
    }
    if (p.n_operands < 2)
        return cli_usage_error(cmd->name, "expected a run and a tag name (kbench %s RUN NAME)", cmd->name);
    const char *ref = p.operands[0], *tag = p.operands[1];
    if (!untag && (!*tag || strpbrk(tag, ":,")))
        return cli_usage_error(cmd->name, "bad tag '%s': a tag is a non-empty name without ':' or ','", tag);

    struct store *s;
    int rc = cli_open_store(cmd->name, cli_db_path(db), STORE_WRITE, &s);
    if (rc != 0)
        return rc;
    struct run_row run;
    int64_t run_id = store_resolve_run(s, ref);
    if (run_id <= 0 || store_get_run(s, run_id, &run) != 0) {
        rc = cli_input_error(cmd->name, "%s", store_errmsg(s));
        goto out;
    }
    if (untag) {
        if (store_run_untag(s, run_id, tag) != 0)
            rc = cli_input_error(cmd->name, "%s", store_errmsg(s));
        else
            printf("run %lld: tag '%s' removed\n", (long long)run_id, tag);
        goto out;
    }
    struct others o = { .run_id = run_id, .machine = run.machine, .tag = tag };
    if (store_list_runs(s, 0, find_others, &o) != 0) {
        rc = cli_input_error(cmd->name, "%s", store_errmsg(s));
        goto out;
    }
    /* tagged first: a tag the store refuses (too long) leaves the other runs' tags alone */
    if (store_run_tag(s, run_id, tag) != 0) {
        rc = cli_input_error(cmd->name, "%s", store_errmsg(s));
        goto out;
    }
    for (int i = 0; move && i < o.n; i++)
        if (store_run_untag(s, o.ids[i], tag) != 0) {
            rc = cli_input_error(cmd->name, "%s", store_errmsg(s));
            goto out;
        }
    printf("run %lld: tagged '%s'", (long long)run_id, tag);
    if (move && o.n)
        printf(" (taken off %d other run%s of this machine)", o.n, o.n == 1 ? "" : "s");
    printf("\n");
    if (!move && o.newer)
        fprintf(stderr, "kbench tag: note: run %lld, newer and of the same machine, also has the tag '%s', so "
                "tag:%s still names it; 'kbench tag --move' takes the tag off the others\n",
                (long long)o.newer, tag, tag);
out:
    store_close(s);
    return rc;
}

int cmd_tag(int argc, char **argv)
{
    return tag_or_untag(&cli_cmd_tag, argc, argv, 0);
}

int cmd_untag(int argc, char **argv)
{
    return tag_or_untag(&cli_cmd_untag, argc, argv, 1);
}
