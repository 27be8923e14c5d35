/* cli_parse.c - walks a command's arguments by its description (struct cli_command): the one
 * place that decides what an option is, so every command gets -h, "did you mean", and the same
 * messages for a missing value or an unknown option. */
#include "bench/cli.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/kernel.h"

/* The shape-axis options of a CLI_AXES placeholder: "--kv-heads" for the axis key "kv_heads". */
static char axis_names[KB_AXIS_COUNT][32];

static const char *axis_option_name(int axis)
{
    if (!axis_names[axis][0]) {
        snprintf(axis_names[axis], sizeof axis_names[axis], "%s", kb_axis_info((enum kb_axis)axis)->key);
        for (char *c = axis_names[axis]; *c; c++)
            if (*c == '_')
                *c = '-';
    }
    return axis_names[axis];
}

/* One option as the parser sees it, with CLI_AXES expanded. */
struct flat_option {
    const char *name;
    int short_name, id, takes_value;
    enum cli_value value;
};

/* Calls fn for every option of cmd (axes expanded, headings skipped) until it returns non-zero. */
static int each_option(const struct cli_command *cmd, int (*fn)(const struct flat_option *, void *), void *ctx)
{
    static const struct cli_option help = { "help", 'h', 0, NULL, CLI_TEXT, NULL, NULL, 0 };
    for (const struct cli_option *o = cmd->options; o && (o->name || o->help || o->flags); o++) {
        if (o->flags & CLI_AXES) {
            for (int a = 0; a < KB_AXIS_COUNT; a++) {
                struct flat_option f = { axis_option_name(a), 0, o->id + a, 1, CLI_TEXT };
                int rc = fn(&f, ctx);
                if (rc)
                    return rc;
            }
            continue;
        }
        if (!o->name)
            continue;
        struct flat_option f = { o->name, o->short_name, o->id, o->arg != NULL, o->value };
        int rc = fn(&f, ctx);
        if (rc)
            return rc;
    }
    struct flat_option f = { help.name, help.short_name, CLI_STOP, 0, CLI_TEXT };
    return fn(&f, ctx);
}

/* ---- edit distance ------------------------------------------------------------------------- */

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions), capped inputs. */
static int edit_distance(const char *a, const char *b)
{
    enum { MAX = 64 };
    size_t n = strlen(a), m = strlen(b);
    if (n >= MAX || m >= MAX)
        return MAX;
    int d[MAX][MAX];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

const char *cli_nearest(const char *typed, const char *const *words, size_t n)
{
    /* one slip in a short word, two in a longer one: beyond that a guess misleads more than helps */
    size_t len = strlen(typed);
    int limit = len <= 2 ? 1 : len <= 5 ? 2 : 3;
    const char *best = NULL;
    int best_d = limit + 1;
    for (size_t i = 0; i < n; i++) {
        int d = edit_distance(typed, words[i]);
        if (d < best_d) {
            best_d = d;
            best = words[i];
        }
    }
    return best;
}

/* ---- looking options up -------------------------------------------------------------------- */

struct lookup {
    const char *name;     /* the long name typed, without "--" and "=value" */
    size_t len;
    int short_name;
    struct flat_option found;
    int exact, prefixes;  /* how many long names start with what was typed */
    char candidates[256]; /* the prefix matches, for "ambiguous" */
};

static int match_long(const struct flat_option *f, void *ctx)
{
    struct lookup *l = ctx;
    if (strlen(f->name) == l->len && strncmp(f->name, l->name, l->len) == 0) {
        l->found = *f;
        l->exact = 1;
        return 1;
    }
    if (strncmp(f->name, l->name, l->len) == 0) {
        /* two spellings of one option (an alias) are one option */
        if (l->prefixes && l->found.id == f->id)
            return 0;
        if (l->prefixes++ == 0)
            l->found = *f;
        size_t used = strlen(l->candidates);
        snprintf(l->candidates + used, sizeof l->candidates - used, "%s--%s", used ? ", " : "", f->name);
    }
    return 0;
}

static int match_short(const struct flat_option *f, void *ctx)
{
    struct lookup *l = ctx;
    if (f->short_name && f->short_name == l->short_name) {
        l->found = *f;
        l->exact = 1;
        return 1;
    }
    return 0;
}

struct names {
    const char *v[256];
    size_t n;
};

static int collect_name(const struct flat_option *f, void *ctx)
{
    struct names *n = ctx;
    if (n->n < sizeof n->v / sizeof n->v[0])
        n->v[n->n++] = f->name;
    return 0;
}

/* 1 when word is an option of this command as the user would type one: "--x..." or "-c" with c one
 * of its short options (so "-1" stays a value). */
static int looks_like_option(const struct cli_command *cmd, const char *word)
{
    if (word[0] != '-' || word[1] == '\0')
        return 0;
    if (word[1] == '-')
        return word[2] != '\0';
    struct lookup l = { .short_name = (unsigned char)word[1] };
    return each_option(cmd, match_short, &l) == 1;
}

void cli_parser_init(struct cli_parser *p, const struct cli_command *cmd, int argc, char **argv)
{
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->argc = argc;
    p->argv = argv;
    p->next = 1;
}

static int stop(struct cli_parser *p, int status)
{
    p->status = status;
    return CLI_STOP;
}

/* The option found: take its value (from "=value", the rest of a short cluster, or the next word). */
static int take(struct cli_parser *p, const struct flat_option *f, const char *inline_value, int has_inline)
{
    const char *cmd = p->cmd->name;
    if (f->id == CLI_STOP) {
        cli_print_help(stdout, p->cmd);
        return stop(p, EXIT_OK);
    }
    p->long_name = f->name;
    p->arg = NULL;
    if (!f->takes_value) {
        if (has_inline)
            return stop(p, cli_usage_error(cmd, "option '%s' takes no value (got '%s')", p->spelled, inline_value));
        return f->id;
    }
    if (has_inline) {
        p->arg = inline_value;
    } else if (p->next >= p->argc) {
        return stop(p, cli_usage_error(cmd, "option '%s' needs a value", p->spelled));
    } else if (looks_like_option(p->cmd, p->argv[p->next])) {
        /* "--seq --max-time 0.05": the value of --seq is missing, not "--max-time" a bad one */
        return stop(p, cli_usage_error(cmd, "option '%s' needs a value (the next argument, '%s', is an option)",
                                       p->spelled, p->argv[p->next]));
    } else {
        p->arg = p->argv[p->next++];
    }
    if (!*p->arg && (f->value == CLI_DB || f->value == CLI_FILE || f->value == CLI_DIR || f->value == CLI_SUITE))
        return stop(p, cli_usage_error(cmd, "bad %s '': expected a %s", p->spelled,
                                       f->value == CLI_DB ? "database path" : f->value == CLI_DIR ? "folder"
                                       : f->value == CLI_SUITE ? "suite name or file" : "file name"));
    return f->id;
}

static int long_option(struct cli_parser *p, const char *word)
{
    const char *name = word + 2, *eq = strchr(name, '=');
    struct lookup l = { .name = name, .len = eq ? (size_t)(eq - name) : strlen(name) };
    each_option(p->cmd, match_long, &l);
    snprintf(p->spelled, sizeof p->spelled, "--%.*s", (int)l.len, name);
    if (l.exact || l.prefixes == 1) {
        snprintf(p->spelled, sizeof p->spelled, "--%s", l.found.name);
        return take(p, &l.found, eq ? eq + 1 : NULL, eq != NULL);
    }
    if (l.prefixes > 1)
        return stop(p, cli_usage_error(p->cmd->name, "option '%s' is ambiguous: %s", p->spelled, l.candidates));
    struct names all = { .n = 0 };
    each_option(p->cmd, collect_name, &all);
    char typed[64], guess[64];
    snprintf(typed, sizeof typed, "%.*s", (int)l.len, name);
    const char *near = cli_nearest(typed, all.v, all.n);
    if (p->cmd->suggest && p->cmd->suggest(typed, guess, sizeof guess) == 0)
        near = guess;
    if (near)
        return stop(p, cli_usage_error(p->cmd->name, "unknown option '%s' (did you mean --%s?)", p->spelled, near));
    return stop(p, cli_usage_error(p->cmd->name, "unknown option '%s'", p->spelled));
}

static int short_option(struct cli_parser *p)
{
    int c = (unsigned char)*p->short_rest++;
    struct lookup l = { .short_name = c };
    snprintf(p->spelled, sizeof p->spelled, "-%c", c);
    if (each_option(p->cmd, match_short, &l) != 1)
        return stop(p, cli_usage_error(p->cmd->name, "unknown option '-%c'", c));
    if (!l.found.takes_value)
        return take(p, &l.found, NULL, 0);
    /* "-ofile" is "-o file" */
    const char *rest = p->short_rest;
    p->short_rest = NULL;
    return take(p, &l.found, *rest ? rest : NULL, *rest != '\0');
}

int cli_next(struct cli_parser *p)
{
    if (p->short_rest && *p->short_rest)
        return short_option(p);
    p->short_rest = NULL;
    while (p->next < p->argc) {
        char *word = p->argv[p->next++];
        if (!p->only_operands && strcmp(word, "--") == 0) {
            p->only_operands = 1;
            continue;
        }
        if (p->only_operands || word[0] != '-' || word[1] == '\0') {
            if ((p->cmd->max_operands >= 0 && p->n_operands >= p->cmd->max_operands) ||
                p->n_operands == CLI_MAX_OPERANDS) {
                if (p->cmd->max_operands == 1)
                    return stop(p, cli_usage_error(p->cmd->name, "unexpected argument '%s' (%s takes one %s)",
                                                   word, p->cmd->name,
                                                   p->cmd->operands && p->cmd->operands[0].name
                                                       ? p->cmd->operands[0].name : "argument"));
                return stop(p, cli_usage_error(p->cmd->name, "unexpected argument '%s'", word));
            }
            p->operands[p->n_operands++] = word;
            continue;
        }
        if (word[1] == '-')
            return long_option(p, word);
        p->short_rest = word + 1;
        return short_option(p);
    }
    return CLI_DONE;
}
