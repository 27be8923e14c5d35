/* screen_bisect.c - "Bisections": the measurements `kbench bisect` stores, as it goes (the
 * dashboard rereads the database when it changes). Each is a run tagged bisect-<commit> and
 * bisect-for-<BAD> (the bisection it belongs to), then bisect-good / bisect-bad / bisect-skipped
 * once judged and bisect-first-bad for the answer (harness/bisect.h); one row per run, newest
 * bisection first, with the commit, its verdict and its median. Enter shows the run's results. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/reports.h"
#include "tui/app.h"
#include "tui/table.h"

struct bisect_row {
    int64_t run_id;
    char bisection[13], commit[13], verdict[16], started[20];
    double median;
};

struct bisect_screen {
    struct bisect_row *rows;
    long n, cap;
    struct table table;
};

enum { COL_BISECTION, COL_COMMIT, COL_VERDICT, COL_MEDIAN, COL_RUN, COL_WHEN, COL_COUNT };

static const struct table_column columns[COL_COUNT] = {
    [COL_BISECTION] = { "bisection of", 13, 0, 1, 0 },
    [COL_COMMIT] = { "commit", 13, 0, 0, 0 },
    [COL_VERDICT] = { "verdict", 11, 0, 0, 0 },
    [COL_MEDIAN] = { "median", 10, 1, 0, 1 },
    [COL_RUN] = { "run", 6, 1, 2, 1 },
    [COL_WHEN] = { "measured", 20, 0, 3, 0 },
};

/* One tag of a comma-joined list into row: which bisection, which commit, what verdict. */
static void take_tag(struct bisect_row *r, const char *tag, size_t len)
{
    char t[64];
    snprintf(t, sizeof t, "%.*s", (int)(len < sizeof t ? len : sizeof t - 1), tag);
    if (strncmp(t, "bisect-for-", 11) == 0)
        snprintf(r->bisection, sizeof r->bisection, "%.12s", t + 11);
    else if (strcmp(t, "bisect-first-bad") == 0)
        snprintf(r->verdict, sizeof r->verdict, "FIRST BAD");
    else if ((strcmp(t, "bisect-good") == 0 || strcmp(t, "bisect-bad") == 0 || strcmp(t, "bisect-skipped") == 0) &&
             strcmp(r->verdict, "FIRST BAD") != 0)
        snprintf(r->verdict, sizeof r->verdict, "%s", t + 7);
    else if (strncmp(t, "bisect-", 7) == 0 && strspn(t + 7, "0123456789abcdef") == strlen(t + 7))
        snprintf(r->commit, sizeof r->commit, "%.12s", t + 7);
}

static int each_tag(const char *tag, void *ctx)
{
    take_tag(ctx, tag, strlen(tag));
    return 0;
}

static int first_median(const struct result_row *res, void *ctx)
{
    *(double *)ctx = strcmp(res->status, "ok") == 0 ? res->stats.median : NAN;
    return 1;
}

struct load { struct bisect_screen *s; struct app *a; };

static int collect(const struct run_row *run, void *ctx)
{
    struct load *l = ctx;
    struct bisect_screen *s = l->s;
    if (!strstr(run->tag, "bisect-for-"))
        return 0;
    if (s->n == s->cap) {
        long cap = s->cap ? 2 * s->cap : 32;
        struct bisect_row *v = realloc(s->rows, (size_t)cap * sizeof *v);
        if (!v)
            return 1;
        s->rows = v;
        s->cap = cap;
    }
    struct bisect_row *r = &s->rows[s->n++];
    memset(r, 0, sizeof *r);
    r->run_id = run->id;
    snprintf(r->verdict, sizeof r->verdict, "%s", strcmp(run->status, "running") == 0 ? "measuring" : "judging");
    snprintf(r->started, sizeof r->started, "%.10s %.8s", run->started, strlen(run->started) > 11 ? run->started + 11 : "");
    /* each tag on its own: run_row.tag joins them into a field that a bisection's tags outgrow */
    store_list_run_tags(l->a->store, run->id, each_tag, r);
    r->median = NAN;
    store_list_results(l->a->store, run->id, first_median, &r->median);
    return 0;
}

static int bisect_reload(struct app *a, void *st)
{
    struct bisect_screen *s = st;
    s->n = 0;
    struct load l = { s, a };
    if (store_list_runs(a->store, 0, collect, &l) != 0) {
        app_message(a, 1, "%s", store_errmsg(a->store));
        return -1;
    }
    return table_refresh(&s->table);
}

static long bisect_count(void *ctx) { return ((struct bisect_screen *)ctx)->n; }

static void bisect_cell(void *ctx, long i, int col, char *buf, size_t len)
{
    const struct bisect_row *r = &((struct bisect_screen *)ctx)->rows[i];
    switch (col) {
    case COL_BISECTION: snprintf(buf, len, "%s", r->bisection); break;
    case COL_COMMIT: snprintf(buf, len, "%s", *r->commit ? r->commit : "-"); break;
    case COL_VERDICT: snprintf(buf, len, "%s", r->verdict); break;
    case COL_MEDIAN:
        if (isnan(r->median))
            snprintf(buf, len, "-");
        else
            report_format_seconds(r->median, buf, len);
        break;
    case COL_RUN: snprintf(buf, len, "%" PRId64, r->run_id); break;
    case COL_WHEN: snprintf(buf, len, "%s", r->started); break;
    default: buf[0] = '\0';
    }
}

static double bisect_number(void *ctx, long i, int col)
{
    const struct bisect_row *r = &((struct bisect_screen *)ctx)->rows[i];
    return col == COL_MEDIAN ? r->median : col == COL_RUN ? (double)r->run_id : NAN;
}

static int64_t bisect_id(void *ctx, long i) { return ((struct bisect_screen *)ctx)->rows[i].run_id; }

static int bisect_style(void *ctx, long i, int col)
{
    const struct bisect_row *r = &((struct bisect_screen *)ctx)->rows[i];
    if (col != COL_VERDICT)
        return 0;
    return strcmp(r->verdict, "FIRST BAD") == 0 ? UI_BAD
           : strcmp(r->verdict, "bad") == 0     ? UI_WORSE
           : strcmp(r->verdict, "good") == 0    ? UI_OK
                                                : UI_DIM;
}

static void bisect_draw(struct app *a, void *st, WINDOW *w)
{
    struct bisect_screen *s = st;
    int width = getmaxx(w);
    char line[256];
    /* the newest bisection (runs come newest first): its answer, or how far it has got */
    const struct bisect_row *answer = NULL;
    long measured = 0;
    for (long i = 0; s->n && i < s->n; i++) {
        if (strcmp(s->rows[i].bisection, s->rows[0].bisection) != 0)
            continue;
        measured++;
        if (strcmp(s->rows[i].verdict, "FIRST BAD") == 0)
            answer = &s->rows[i];
    }
    if (s->n == 0)
        snprintf(line, sizeof line, "Bisections: none in this database");
    else if (answer)
        snprintf(line, sizeof line, "Bisection of %s: first bad commit %s (%ld measurement%s)", s->rows[0].bisection,
                 answer->commit, measured, measured == 1 ? "" : "s");
    else
        snprintf(line, sizeof line, "Bisection of %s: no answer yet, %ld commit%s measured", s->rows[0].bisection,
                 measured, measured == 1 ? "" : "s");
    wattrset(w, app_attr(a, UI_HEADER));
    ui_put(w, 0, 0, width, line);
    wattrset(w, A_NORMAL);
    if (s->n == 0) {
        mvwaddstr(w, 2, 2, "'kbench bisect GOOD BAD --case SPEC --build CMD --db <this file>' stores each");
        mvwaddstr(w, 3, 2, "commit it measures here, tagged with its verdict, as it goes.");
        return;
    }
    table_draw(&s->table, a, w, 2, getmaxy(w) - 2);
}

static int bisect_key(struct app *a, void *st, int ch)
{
    struct bisect_screen *s = st;
    int used = table_key(&s->table, ch, 0);
    long cur = table_current(&s->table);
    if (used == 2 && cur >= 0) {
        screen_results_open(a, s->rows[cur].run_id);
        return 1;
    }
    return used != 0;
}

static void bisect_export(struct app *a, void *st)
{
    app_export_table(a, &((struct bisect_screen *)st)->table, "kbench-bisect", "bisections");
}

static void bisect_destroy(void *st)
{
    struct bisect_screen *s = st;
    table_free(&s->table);
    free(s->rows);
    free(s);
}

static const struct screen_ops bisect_ops = {
    .name = "bisect",
    .keys = "Enter:results s/S:sort /:filter e:csv",
    .reload = bisect_reload,
    .draw = bisect_draw,
    .key = bisect_key,
    .export_view = bisect_export,
    .destroy = bisect_destroy,
};

int screen_bisect_open(struct app *a)
{
    struct bisect_screen *s = calloc(1, sizeof *s);
    if (!s) {
        app_message(a, 1, "out of memory");
        return -1;
    }
    struct table_source src = { s, bisect_count, bisect_cell, bisect_number, bisect_id, bisect_style };
    table_init(&s->table, columns, COL_COUNT, &src);
    return app_push(a, &bisect_ops, s);
}
