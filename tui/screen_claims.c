/* screen_claims.c - "Paper claims on this machine": the newest verdict of each paper claim that
 * `kbench claims` stored (the claims table, issue 9), one row per claim, coloured by verdict;
 * Enter shows the whole claim (quote, paper, figures, reason). `a` shows every machine's. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/machine.h"
#include "reports/claims.h"
#include "tui/app.h"
#include "tui/pager.h"
#include "tui/table.h"

struct claims_screen {
    struct claim_row *rows;
    long n, cap;
    long elsewhere;      /* with no verdict here: how many other machines have */
    int all_machines;
    char here[17], hostname[128];
    int verdicts[4];     /* per enum claim_verdict, of the rows shown */
    struct table table;
};

enum { COL_ID, COL_PAPER, COL_HARDWARE, COL_HERE, COL_VERDICT, COL_METRIC, COL_HOST, COL_WHEN, COL_RUN, COL_COUNT };

/* At 80 columns: claim, the paper's figure and hardware, this machine's figure, verdict. */
static const struct table_column columns[COL_COUNT] = {
    [COL_ID] = { "claim", 22, 0, 0, 0 },
    [COL_PAPER] = { "paper", 9, 0, 0, 0 },
    [COL_HARDWARE] = { "on", 10, 0, 5, 0 },
    [COL_HERE] = { "here", 16, 0, 0, 0 },
    [COL_VERDICT] = { "verdict", 16, 0, 0, 0 },
    [COL_METRIC] = { "metric", 9, 0, 2, 0 },
    [COL_HOST] = { "host", 12, 0, 4, 0 },
    [COL_WHEN] = { "evaluated", 16, 0, 1, 0 },
    [COL_RUN] = { "run", 5, 1, 3, 1 },
};

/* The stored verdict (reports/claims.c's names) as its enum; -1 for a name it does not know. */
static int verdict_of(const struct claim_row *r)
{
    for (int v = CLAIM_HOLDS; v <= CLAIM_UNTESTABLE; v++)
        if (strcmp(r->verdict, claim_verdict_name((enum claim_verdict)v)) == 0)
            return v;
    return -1;
}

static int verdict_pair(int v)
{
    switch (v) {
    case CLAIM_HOLDS: return UI_OK;
    case CLAIM_PARTLY: return UI_WARN;
    case CLAIM_FAILS: return UI_BAD;
    case CLAIM_UNTESTABLE: return UI_DIM;
    default: return 0;
    }
}

/* The paper's figure in the metric's own terms: "2x", "N=4096", "spread 0", "p=1", "cos 0.999". */
static void paper_figure(const struct claim_row *r, char *buf, size_t len)
{
    if (!isfinite(r->paper_value))
        snprintf(buf, len, "-");
    else if (strcmp(r->metric, "speedup") == 0)
        snprintf(buf, len, "%.3gx", r->paper_value);
    else if (strcmp(r->metric, "crossover") == 0)
        snprintf(buf, len, "N=%.0f", r->paper_value);
    else if (strcmp(r->metric, "flat") == 0)
        snprintf(buf, len, "spread %.3g", r->paper_value);
    else if (strcmp(r->metric, "exponent") == 0)
        snprintf(buf, len, "p=%.3g", r->paper_value);
    else if (strcmp(r->metric, "accuracy") == 0)
        snprintf(buf, len, "cos %.4g", r->paper_value);
    else
        snprintf(buf, len, "%.4g %s", r->paper_value, r->metric);
}

static long claims_count(void *ctx)
{
    return ((struct claims_screen *)ctx)->n;
}

static void claims_cell(void *ctx, long i, int col, char *buf, size_t len)
{
    const struct claim_row *r = &((struct claims_screen *)ctx)->rows[i];
    switch (col) {
    case COL_ID: snprintf(buf, len, "%s", r->claim_id); break;
    case COL_PAPER: paper_figure(r, buf, len); break;
    case COL_HARDWARE: snprintf(buf, len, "%s", *r->hardware ? r->hardware : "-"); break;
    case COL_HERE: snprintf(buf, len, "%s", *r->measured_text ? r->measured_text : "-"); break;
    case COL_VERDICT: { /* the screen is about here: "does not hold here" says it twice */
        size_t n = strlen(r->verdict);
        if (n > 5 && strcmp(r->verdict + n - 5, " here") == 0)
            n -= 5;
        snprintf(buf, len, "%.*s", (int)n, r->verdict);
        break;
    }
    case COL_METRIC: snprintf(buf, len, "%s", r->metric); break;
    case COL_HOST: snprintf(buf, len, "%s", r->hostname); break;
    case COL_WHEN: snprintf(buf, len, "%.10s %.5s", r->evaluated, strlen(r->evaluated) > 11 ? r->evaluated + 11 : ""); break;
    case COL_RUN:
        if (r->run_id > 0)
            snprintf(buf, len, "%" PRId64, r->run_id);
        else
            snprintf(buf, len, "-");
        break;
    default: buf[0] = '\0';
    }
}

static double claims_number(void *ctx, long i, int col)
{
    const struct claim_row *r = &((struct claims_screen *)ctx)->rows[i];
    return col == COL_RUN && r->run_id > 0 ? (double)r->run_id : NAN;
}

static int64_t claims_id(void *ctx, long i)
{
    return ((struct claims_screen *)ctx)->rows[i].id;
}

static int claims_style(void *ctx, long i, int col)
{
    if (col != COL_VERDICT && col != COL_HERE)
        return 0;
    return verdict_pair(verdict_of(&((struct claims_screen *)ctx)->rows[i]));
}

static int collect_claim(const struct claim_row *r, void *ctx)
{
    struct claims_screen *s = ctx;
    if (s->n == s->cap) {
        long cap = s->cap ? s->cap * 2 : 16;
        struct claim_row *rows = realloc(s->rows, (size_t)cap * sizeof *rows);
        if (!rows)
            return 1;
        s->rows = rows;
        s->cap = cap;
    }
    s->rows[s->n++] = *r;
    return 0;
}

static int count_claim(const struct claim_row *r, void *ctx)
{
    (void)r;
    ((struct claims_screen *)ctx)->elsewhere++;
    return 0;
}

static int claims_reload(struct app *a, void *st)
{
    struct claims_screen *s = st;
    s->n = 0;
    s->elsewhere = 0;
    memset(s->verdicts, 0, sizeof s->verdicts);
    const char *machine = s->all_machines ? NULL : s->here;
    if (store_list_claims(a->store, machine, collect_claim, s) != 0 ||
        (s->n == 0 && machine && store_list_claims(a->store, NULL, count_claim, s) != 0)) {
        app_message(a, 1, "%s", store_errmsg(a->store));
        return -1;
    }
    for (long i = 0; i < s->n; i++) {
        int v = verdict_of(&s->rows[i]);
        if (v >= 0)
            s->verdicts[v]++;
    }
    return table_refresh(&s->table);
}

static void claims_draw(struct app *a, void *st, WINDOW *w)
{
    struct claims_screen *s = st;
    int width = getmaxx(w);
    char line[512];
    if (s->all_machines)
        snprintf(line, sizeof line, "Paper claims on every machine: %ld verdict%s", s->n, s->n == 1 ? "" : "s");
    else
        snprintf(line, sizeof line, "Paper claims on this machine (%s): %ld claim%s", s->hostname, s->n,
                 s->n == 1 ? "" : "s");
    wattrset(w, app_attr(a, UI_HEADER));
    ui_put(w, 0, 0, width, line);
    wattrset(w, A_NORMAL);
    if (s->n == 0) {
        mvwaddstr(w, 2, 2, s->all_machines ? "No paper claims are stored in this database."
                                           : "No paper claims are stored for this machine.");
        mvwaddstr(w, 3, 2, "Run 'kbench claims --db <this file>' to check the papers' claims here:");
        mvwaddstr(w, 4, 2, "it runs each claim's sweep and stores its verdict, which then shows here.");
        if (s->elsewhere > 0)
            mvwprintw(w, 6, 2, "%ld verdict%s from other machines: press a to see every machine's.", s->elsewhere,
                      s->elsewhere == 1 ? "" : "s");
        return;
    }
    /* the tally, each verdict in its colour */
    wmove(w, 1, 0);
    for (int v = CLAIM_HOLDS; v <= CLAIM_UNTESTABLE; v++) {
        snprintf(line, sizeof line, "%s%d %s", v == CLAIM_HOLDS ? "" : ", ", s->verdicts[v],
                 claim_verdict_name((enum claim_verdict)v));
        int room = width - getcurx(w);
        if (room <= 0)
            break;
        wattrset(w, s->verdicts[v] ? app_attr(a, (enum ui_pair)verdict_pair(v)) : A_NORMAL);
        waddnstr(w, line, room);
    }
    wattrset(w, A_NORMAL);
    table_draw(&s->table, a, w, 2, getmaxy(w) - 2);
}

/* ---- one claim in full (Enter) ------------------------------------------------------------------ */

struct claim_screen {
    struct claim_row row;
    struct pager text;
    int width; /* the width the text was wrapped to */
};

/* Adds text as lines of at most width columns, broken at spaces: the first after lead (an
 * indent, or a label), the rest under it. */
static void add_wrapped(struct pager *p, int pair, const char *lead, const char *text, int width)
{
    int room = width - (int)strlen(lead);
    if (room < 20)
        room = 20;
    const char *indent = lead;
    while (*text) {
        int n = (int)strlen(text);
        if (n > room) {
            n = room;
            while (n > 0 && text[n] != ' ')
                n--;
            if (n == 0)
                n = room; /* one long word: cut it */
        }
        pager_add(p, pair, "%*s%.*s", indent == lead ? 0 : (int)strlen(lead), indent, n, text);
        indent = "";
        text += n;
        while (*text == ' ')
            text++;
    }
}

static void claim_build(struct claim_screen *s, int width)
{
    const struct claim_row *r = &s->row;
    struct pager *p = &s->text;
    char buf[128];
    pager_clear(p);
    s->width = width;
    pager_add(p, UI_HEADER, "Claim %s", r->claim_id);
    add_wrapped(p, 0, "  ", r->paper, width);
    pager_add(p, 0, "%s", "");
    pager_add(p, UI_HEADER, "The paper says");
    char quoted[600];
    snprintf(quoted, sizeof quoted, "\"%s\"", r->quote);
    add_wrapped(p, 0, "  ", quoted, width);
    paper_figure(r, buf, sizeof buf);
    pager_add(p, 0, "  %-10s %s (%s)", "figure", buf, r->metric);
    add_wrapped(p, 0, "  hardware   ", *r->hardware ? r->hardware : "(not said)", width);
    pager_add(p, 0, "%s", "");
    pager_add(p, UI_HEADER, "This machine (%s)", r->hostname);
    pager_add(p, 0, "  %-10s %s", "measured", *r->measured_text ? r->measured_text : "-");
    if (isfinite(r->measured) && isfinite(r->ci_lo) && isfinite(r->ci_hi))
        pager_add(p, 0, "  %-10s %.4g, 95%% CI %.4g .. %.4g", "value", r->measured, r->ci_lo, r->ci_hi);
    pager_add(p, verdict_pair(verdict_of(r)), "  %-10s %s", "verdict", r->verdict);
    add_wrapped(p, 0, "  because    ", *r->reason ? r->reason : "-", width);
    pager_add(p, 0, "%s", "");
    if (r->run_id > 0)
        pager_add(p, UI_DIM, "  evaluated %s from run %" PRId64, r->evaluated, r->run_id);
    else
        pager_add(p, UI_DIM, "  evaluated %s; nothing was run", r->evaluated);
}

static void claim_draw(struct app *a, void *st, WINDOW *w)
{
    struct claim_screen *s = st;
    if (s->width != getmaxx(w))
        claim_build(s, getmaxx(w));
    pager_draw(&s->text, a, w, 0, getmaxy(w));
}

static int claim_key(struct app *a, void *st, int ch)
{
    (void)a;
    return pager_key(&((struct claim_screen *)st)->text, ch);
}

static void claim_export(struct app *a, void *st)
{
    struct claim_screen *s = st;
    char prefix[96];
    snprintf(prefix, sizeof prefix, "kbench-claim-%s", s->row.claim_id);
    app_export_pager(a, &s->text, prefix, "the claim");
}

static void claim_destroy(void *st)
{
    struct claim_screen *s = st;
    pager_clear(&s->text);
    free(s);
}

static const struct screen_ops claim_ops = {
    .name = "claim",
    .keys = "Up/Down:scroll e:text",
    .draw = claim_draw,
    .key = claim_key,
    .export_view = claim_export,
    .destroy = claim_destroy,
};

static int claim_open(struct app *a, const struct claim_row *r)
{
    struct claim_screen *s = calloc(1, sizeof *s);
    if (!s) {
        app_message(a, 1, "out of memory");
        return -1;
    }
    s->row = *r;
    s->width = -1;
    return app_push(a, &claim_ops, s);
}

/* ---- the list ------------------------------------------------------------------------------------ */

static int claims_key(struct app *a, void *st, int ch)
{
    struct claims_screen *s = st;
    int used = table_key(&s->table, ch, 0);
    long cur = table_current(&s->table);
    if (used == 2 && cur >= 0) {
        claim_open(a, &s->rows[cur]);
        return 1;
    }
    if (used)
        return 1;
    if (ch == 'a') {
        s->all_machines = !s->all_machines;
        if (claims_reload(a, s) == 0)
            app_message(a, 0, "%s", s->all_machines ? "every machine's verdicts" : "this machine's verdicts");
        return 1;
    }
    return 0;
}

static void claims_export(struct app *a, void *st)
{
    struct claims_screen *s = st;
    app_export_table(a, &s->table, "kbench-claims", "claims");
}

static void claims_destroy(void *st)
{
    struct claims_screen *s = st;
    table_free(&s->table);
    free(s->rows);
    free(s);
}

static const struct screen_ops claims_ops = {
    .name = "claims",
    .keys = "Enter:claim a:all machines s/S:sort /:filter e:csv",
    .reload = claims_reload,
    .draw = claims_draw,
    .key = claims_key,
    .export_view = claims_export,
    .destroy = claims_destroy,
};

int screen_claims_open(struct app *a)
{
    struct claims_screen *s = calloc(1, sizeof *s);
    if (!s) {
        app_message(a, 1, "out of memory");
        return -1;
    }
    /* "this machine" is the one `kbench claims` would store verdicts for: the same fingerprint */
    struct machine_info here;
    machine_info_read(&here);
    snprintf(s->here, sizeof s->here, "%s", here.fingerprint);
    snprintf(s->hostname, sizeof s->hostname, "%s", here.hostname);
    struct table_source src = { s, claims_count, claims_cell, claims_number, claims_id, claims_style };
    table_init(&s->table, columns, COL_COUNT, &src);
    return app_push(a, &claims_ops, s);
}
