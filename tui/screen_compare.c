/* screen_compare.c - two runs case by case: the ratio of medians and a verdict per case,
 * regressions and improvements coloured, the counts at the top. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/reports.h"
#include "tui/app.h"
#include "tui/compare.h"
#include "tui/format.h"
#include "tui/table.h"

struct compare_screen {
    int64_t base_id, cand_id;
    struct run_row base_run, cand_run;
    struct compare_row *rows;
    long n;
    struct compare_summary sum;
    struct table table;
};

enum { COL_KERNEL, COL_IMPL, COL_DTYPE, COL_SHAPE, COL_SEQ, COL_BASE, COL_CAND, COL_RATIO, COL_VERDICT, COL_COUNT };

static const struct table_column columns[COL_COUNT] = {
    [COL_KERNEL] = { "kernel", 20, 0, 0, 0 },
    [COL_IMPL] = { "impl", 8, 0, 5, 0 },
    [COL_DTYPE] = { "dtype", 5, 0, 4, 0 },
    [COL_SHAPE] = { "shape", 18, 0, 3, 0 },
    [COL_SEQ] = { "N", 6, 1, 0, 1 },
    [COL_BASE] = { "baseline", 9, 1, 0, 1 },
    [COL_CAND] = { "candidate", 9, 1, 0, 1 },
    [COL_RATIO] = { "ratio", 7, 1, 0, 1 },
    [COL_VERDICT] = { "verdict", 7, 0, 0, 0 },
};

static const struct result_row *either(const struct compare_row *r)
{
    return r->has_cand ? &r->cand : &r->base;
}

static long compare_count(void *ctx)
{
    return ((struct compare_screen *)ctx)->n;
}

static void compare_cell(void *ctx, long i, int col, char *buf, size_t len)
{
    const struct compare_row *r = &((struct compare_screen *)ctx)->rows[i];
    const struct result_row *c = either(r);
    switch (col) {
    case COL_KERNEL: snprintf(buf, len, "%s", c->kernel); break;
    case COL_IMPL: snprintf(buf, len, "%s", c->impl); break;
    case COL_DTYPE: snprintf(buf, len, "%s", c->dtype); break;
    case COL_SHAPE: fmt_shape(&c->shape, buf, len); break;
    case COL_SEQ: snprintf(buf, len, "%d", c->shape.seq_len); break;
    case COL_BASE: fmt_seconds(r->has_base ? r->base.stats.median : NAN, buf, len); break;
    case COL_CAND: fmt_seconds(r->has_cand ? r->cand.stats.median : NAN, buf, len); break;
    case COL_RATIO:
        if (isfinite(r->ratio))
            snprintf(buf, len, "%.3f", r->ratio);
        else
            snprintf(buf, len, "-");
        break;
    case COL_VERDICT: snprintf(buf, len, "%s", compare_verdict_name(r->verdict)); break;
    default: buf[0] = '\0';
    }
}

static double compare_number(void *ctx, long i, int col)
{
    const struct compare_row *r = &((struct compare_screen *)ctx)->rows[i];
    switch (col) {
    case COL_SEQ: return either(r)->shape.seq_len;
    case COL_BASE: return r->has_base ? r->base.stats.median : NAN;
    case COL_CAND: return r->has_cand ? r->cand.stats.median : NAN;
    case COL_RATIO: return r->ratio;
    default: return NAN;
    }
}

static int64_t compare_id(void *ctx, long i)
{
    const struct compare_row *r = &((struct compare_screen *)ctx)->rows[i];
    return r->has_cand ? r->cand.case_id : -r->base.case_id;
}

static int compare_style(void *ctx, long i, int col)
{
    const struct compare_row *r = &((struct compare_screen *)ctx)->rows[i];
    if (col != COL_VERDICT && col != COL_RATIO)
        return 0;
    switch (r->verdict) {
    case CMP_SLOWER: return UI_WORSE;
    case CMP_FASTER: return UI_BETTER;
    case CMP_FAILED: return UI_BAD;
    case CMP_SAME: return 0;
    default: return UI_DIM;
    }
}

static int compare_reload(struct app *a, void *st)
{
    struct compare_screen *s = st;
    struct result_row *base = NULL, *cand = NULL;
    long nb = -1, nc = -1;
    if (store_get_run(a->store, s->base_id, &s->base_run) == 0 && store_get_run(a->store, s->cand_id, &s->cand_run) == 0 &&
        (nb = report_load_results(a->store, s->base_id, &base)) >= 0)
        nc = report_load_results(a->store, s->cand_id, &cand);
    if (nb < 0 || nc < 0) {
        free(base);
        app_message(a, 1, "%s", store_errmsg(a->store));
        return -1;
    }
    struct compare_row *rows;
    long n = compare_match(base, nb, cand, nc, &rows);
    free(base);
    free(cand);
    if (n < 0) {
        app_message(a, 1, "out of memory comparing runs %" PRId64 " and %" PRId64, s->base_id, s->cand_id);
        return -1;
    }
    free(s->rows);
    s->rows = rows;
    s->n = n;
    compare_summarize(rows, n, &s->sum);
    return table_refresh(&s->table);
}

static void put_count(struct app *a, WINDOW *w, long n, const char *what, enum ui_pair pair)
{
    wattrset(w, n > 0 ? app_attr(a, pair) : A_NORMAL);
    wprintw(w, "%ld %s", n, what);
    wattrset(w, A_NORMAL);
}

static void compare_draw(struct app *a, void *st, WINDOW *w)
{
    struct compare_screen *s = st;
    char line[512];
    snprintf(line, sizeof line, "baseline run %" PRId64 "%s%s  vs  candidate run %" PRId64 "%s%s", s->base_id,
             *s->base_run.tag ? " " : "", s->base_run.tag, s->cand_id, *s->cand_run.tag ? " " : "", s->cand_run.tag);
    ui_put(w, 0, 0, getmaxx(w), line);
    wmove(w, 1, 0);
    wprintw(w, "%ld matched: ", s->sum.matched);
    put_count(a, w, s->sum.slower, "slower", UI_WORSE);
    waddstr(w, ", ");
    put_count(a, w, s->sum.faster, "faster", UI_BETTER);
    wprintw(w, ", %ld same, ", s->sum.same);
    put_count(a, w, s->sum.failed, "failed", UI_BAD);
    if (s->sum.only_cand || s->sum.only_base)
        wprintw(w, "; %ld new, %ld gone", s->sum.only_cand, s->sum.only_base);
    if (isfinite(s->sum.geomean_ratio))
        wprintw(w, "; geomean %.3f", s->sum.geomean_ratio);
    table_draw(&s->table, a, w, 2, getmaxy(w) - 2);
}

static int compare_key(struct app *a, void *st, int ch)
{
    struct compare_screen *s = st;
    int used = table_key(&s->table, ch, 0);
    long cur = table_current(&s->table);
    if (used == 2 && cur >= 0) {
        screen_detail_open(a, either(&s->rows[cur]));
        return 1;
    }
    return used != 0;
}

static void compare_export(struct app *a, void *st)
{
    struct compare_screen *s = st;
    char path[4096], prefix[96];
    snprintf(prefix, sizeof prefix, "kbench-compare-%" PRId64 "-%" PRId64, s->base_id, s->cand_id);
    FILE *f = app_export_file(a, prefix, "csv", path, sizeof path);
    if (!f)
        return;
    int rc = table_write_csv(&s->table, f);
    if (fclose(f) != 0 || rc != 0)
        app_message(a, 1, "could not write all of %s", path);
    else
        app_message(a, 0, "exported %ld rows to %s", s->table.nview, path);
}

static void compare_destroy(void *st)
{
    struct compare_screen *s = st;
    table_free(&s->table);
    free(s->rows);
    free(s);
}

static const struct screen_ops compare_ops = {
    .name = "compare",
    .keys = "Enter:detail s/S:sort /:filter e:csv",
    .reload = compare_reload,
    .draw = compare_draw,
    .key = compare_key,
    .export_view = compare_export,
    .destroy = compare_destroy,
};

int screen_compare_open(struct app *a, int64_t baseline, int64_t candidate)
{
    struct compare_screen *s = calloc(1, sizeof *s);
    if (!s) {
        app_message(a, 1, "out of memory");
        return -1;
    }
    s->base_id = baseline;
    s->cand_id = candidate;
    struct table_source src = { s, compare_count, compare_cell, compare_number, compare_id, compare_style };
    table_init(&s->table, columns, COL_COUNT, &src);
    s->table.group_col = COL_KERNEL;
    return app_push(a, &compare_ops, s);
}
