/* screen_runs.c - the first screen: the runs in the database, newest first. Enter opens a
 * run's results; m marks runs and c compares two of them; C opens the paper claims. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tui/app.h"
#include "tui/table.h"

struct runs_screen {
    struct run_row *rows;
    long n, cap;
    struct table table;
};

enum { COL_ID, COL_STARTED, COL_HOST, COL_TAG, COL_SUITE, COL_CASES, COL_FAIL, COL_STATUS, COL_COUNT };

static const struct table_column columns[COL_COUNT] = {
    [COL_ID] = { "id", 4, 1, 0, 1 },
    [COL_STARTED] = { "started (UTC)", 16, 0, 0, 0 },
    [COL_HOST] = { "host", 12, 0, 3, 0 },
    [COL_TAG] = { "tag", 10, 0, 4, 0 },
    [COL_SUITE] = { "suite", 8, 0, 2, 0 },
    [COL_CASES] = { "cases", 9, 1, 0, 1 },
    [COL_FAIL] = { "fail", 4, 1, 0, 1 },
    [COL_STATUS] = { "status", 11, 0, 0, 0 },
};

static long runs_count(void *ctx)
{
    return ((struct runs_screen *)ctx)->n;
}

static void runs_cell(void *ctx, long i, int col, char *buf, size_t len)
{
    const struct run_row *r = &((struct runs_screen *)ctx)->rows[i];
    switch (col) {
    case COL_ID: snprintf(buf, len, "%" PRId64, r->id); break;
    case COL_STARTED: /* 2024-05-01T12:34:56.789Z -> 2024-05-01 12:34 */
        snprintf(buf, len, "%.10s %.5s", r->started, strlen(r->started) > 11 ? r->started + 11 : "");
        break;
    case COL_HOST: snprintf(buf, len, "%s", r->hostname); break;
    case COL_TAG: snprintf(buf, len, "%s", *r->tag ? r->tag : "-"); break;
    case COL_SUITE: snprintf(buf, len, "%s", *r->suite ? r->suite : "-"); break;
    case COL_CASES:
        if (r->planned_cases > 0 && r->cases != r->planned_cases)
            snprintf(buf, len, "%d/%d", r->cases, r->planned_cases);
        else
            snprintf(buf, len, "%d", r->cases);
        break;
    case COL_FAIL: snprintf(buf, len, "%d", r->failures); break;
    case COL_STATUS: snprintf(buf, len, "%s", r->status); break;
    default: buf[0] = '\0';
    }
}

static double runs_number(void *ctx, long i, int col)
{
    const struct run_row *r = &((struct runs_screen *)ctx)->rows[i];
    switch (col) {
    case COL_ID: return (double)r->id;
    case COL_CASES: return r->cases;
    case COL_FAIL: return r->failures;
    default: return NAN;
    }
}

static int64_t runs_id(void *ctx, long i)
{
    return ((struct runs_screen *)ctx)->rows[i].id;
}

static int runs_style(void *ctx, long i, int col)
{
    const struct run_row *r = &((struct runs_screen *)ctx)->rows[i];
    if (col == COL_FAIL && r->failures > 0)
        return UI_BAD;
    if (col != COL_STATUS)
        return 0;
    if (strcmp(r->status, "complete") == 0)
        return UI_OK;
    if (strcmp(r->status, "running") == 0 || strcmp(r->status, "interrupted") == 0)
        return UI_WARN;
    return UI_BAD;
}

static int collect_run(const struct run_row *r, void *ctx)
{
    struct runs_screen *s = ctx;
    if (s->n == s->cap) {
        long cap = s->cap ? s->cap * 2 : 64;
        struct run_row *rows = realloc(s->rows, (size_t)cap * sizeof *rows);
        if (!rows)
            return 1;
        s->rows = rows;
        s->cap = cap;
    }
    s->rows[s->n++] = *r;
    return 0;
}

static int runs_reload(struct app *a, void *st)
{
    struct runs_screen *s = st;
    s->n = 0;
    if (store_list_runs(a->store, 0, collect_run, s) != 0) {
        app_message(a, 1, "%s", store_errmsg(a->store));
        return -1;
    }
    return table_refresh(&s->table);
}

static void runs_draw(struct app *a, void *st, WINDOW *w)
{
    struct runs_screen *s = st;
    int running = 0;
    for (long i = 0; i < s->n; i++)
        running += strcmp(s->rows[i].status, "running") == 0;
    char line[256];
    int used = snprintf(line, sizeof line, "%ld run%s", s->n, s->n == 1 ? "" : "s");
    if (running)
        used += snprintf(line + used, sizeof line - (size_t)used, ", %d running", running);
    if (s->table.nmarks > 0) {
        used += snprintf(line + used, sizeof line - (size_t)used, "   marked for compare:");
        for (int i = 0; i < s->table.nmarks; i++)
            used += snprintf(line + used, sizeof line - (size_t)used, " %" PRId64, s->table.marks[i]);
    }
    ui_put(w, 0, 0, getmaxx(w), line);
    if (s->n == 0) {
        mvwaddstr(w, 2, 2, "No runs in this database yet.");
        mvwaddstr(w, 3, 2, "Start one with 'kbench run --db <this file>': it will appear here as it runs.");
        return;
    }
    table_draw(&s->table, a, w, 1, getmaxy(w) - 1);
}

static int runs_key(struct app *a, void *st, int ch)
{
    struct runs_screen *s = st;
    int used = table_key(&s->table, ch, 0);
    long cur = table_current(&s->table);
    if (used == 2 && cur >= 0) {
        screen_results_open(a, s->rows[cur].id);
        return 1;
    }
    if (used)
        return 1;
    if ((ch == 'm' || ch == ' ') && cur >= 0) {
        table_toggle_mark(&s->table, s->rows[cur].id);
        return 1;
    }
    if (ch == 'C') {
        screen_claims_open(a);
        return 1;
    }
    if (ch == 'B') {
        screen_bisect_open(a);
        return 1;
    }
    if (ch == 'R' && cur >= 0) {
        measure_repeat(a, s->rows[cur].id);
        return 1;
    }
    if (ch == 'U' && cur >= 0) {
        measure_resume(a, s->rows[cur].id);
        return 1;
    }
    if (ch == 'c') {
        int64_t pick[2];
        int n = 0;
        for (int i = 0; i < s->table.nmarks && n < 2; i++)
            pick[n++] = s->table.marks[i];
        if (n == 1 && cur >= 0 && s->rows[cur].id != pick[0]) /* one mark: it and the cursor's run */
            pick[n++] = s->rows[cur].id;
        if (n < 2) {
            app_message(a, 1, "mark two runs with m (or one, and put the cursor on the other), then press c");
            return 1;
        }
        /* the older run is the baseline */
        int64_t base = pick[0] < pick[1] ? pick[0] : pick[1], cand = pick[0] < pick[1] ? pick[1] : pick[0];
        screen_compare_open(a, base, cand);
        return 1;
    }
    return 0;
}

static void runs_export(struct app *a, void *st)
{
    struct runs_screen *s = st;
    app_export_table(a, &s->table, "kbench-runs", "runs");
}

static void runs_destroy(void *st)
{
    struct runs_screen *s = st;
    table_free(&s->table);
    free(s->rows);
    free(s);
}

static const struct screen_ops runs_ops = {
    .name = "runs",
    .keys = "Enter:results m:mark c:compare R:repeat U:resume C:claims B:bisect s/S:sort /:filter e:csv",
    .reload = runs_reload,
    .draw = runs_draw,
    .key = runs_key,
    .export_view = runs_export,
    .destroy = runs_destroy,
};

int screen_runs_open(struct app *a)
{
    struct runs_screen *s = calloc(1, sizeof *s);
    if (!s) {
        app_message(a, 1, "out of memory");
        return -1;
    }
    struct table_source src = { s, runs_count, runs_cell, runs_number, runs_id, runs_style };
    table_init(&s->table, columns, COL_COUNT, &src);
    s->table.max_marks = 2;
    return app_push(a, &runs_ops, s);
}
