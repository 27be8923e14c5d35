/* screen_results.c - one row per case of a run: sort, filter, group by kernel, mark series for
 * the plot (space, p), open a case (Enter). Re-read live while the run is being written. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/report.h"
#include "reports/reports.h"
#include "reports/roofline.h"
#include "tui/app.h"
#include "tui/format.h"
#include "tui/table.h"

struct results_screen {
    int64_t run_id;
    struct run_row run;
    struct machine_info machine;
    struct roofline roof; /* the run's, as the report and exports draw it (its CPU feature mask too) */
    struct result_row *rows;
    long n;
    struct table table;
    uint64_t varying;  /* the axes whose value differs between cases that have them */
    char same[256];    /* the axes every case that has them holds at one value, as text */
    int compact;       /* while drawing on a narrow panel: shape shows only the varying axes */
};

/* What differs between the run's cases and what they share, so a narrow panel can show the one
 * in the shape column and the other once above the table. */
static void find_varying(struct results_screen *s)
{
    struct kb_shape first;
    memset(&first, 0, sizeof first);
    uint64_t have = 0, vary = 0;
    for (long i = 0; i < s->n; i++) {
        const struct result_row *r = &s->rows[i];
        for (int a = 0; a < KB_AXIS_COUNT; a++) {
            uint64_t bit = KB_AXIS_BIT(a);
            int v = kb_shape_get(&r->shape, (enum kb_axis)a);
            /* 0 is "not used" for a size or an enumeration, a value only for a flag */
            if ((r->null_axes & bit) || (v == 0 && kb_axis_info((enum kb_axis)a)->kind != KB_AXIS_KIND_BOOL))
                continue;
            if (!(have & bit))
                kb_shape_set(&first, (enum kb_axis)a, v);
            else if (kb_shape_get(&first, (enum kb_axis)a) != v)
                vary |= bit;
            have |= bit;
        }
    }
    s->varying = vary;
    s->same[0] = '\0';
    if (have & ~vary)
        kb_shape_string(&first, have & ~vary, s->same, sizeof s->same);
}

enum { COL_KERNEL, COL_IMPL, COL_DEVICE, COL_DTYPE, COL_SHAPE, COL_SEQ, COL_MEDIAN, COL_CI, COL_THROUGHPUT,
       COL_ROOF, COL_ERR, COL_STATUS, COL_COUNT };

/* What tells cases apart (kernel, impl, dtype, the whole shape) is never dropped: at 80 columns
 * kernel, impl, type, shape, median, throughput, status, the spare columns going to kernel,
 * shape and impl in that order; wider terminals add +-CI, rel.err, roof%, N and device, then
 * widen kernel, shape and impl to their whole values. */
static const struct table_column columns[COL_COUNT] = {
    [COL_KERNEL] = { "kernel", 12, 0, 0, 0, 1 },
    [COL_IMPL] = { "impl", 8, 0, 0, 0, 3 },
    [COL_DEVICE] = { "device", 6, 0, 2, 0, 0 },
    [COL_DTYPE] = { "type", 4, 0, 0, 0, 0 },
    [COL_SHAPE] = { "shape", 13, 0, 0, 0, 2 },
    [COL_SEQ] = { "N", 6, 1, 3, 1, 0 },
    [COL_MEDIAN] = { "median", 8, 1, 0, 1, 0 },
    [COL_CI] = { "+-CI", 6, 1, 7, 1, 0 },
    [COL_THROUGHPUT] = { "throughput", 12, 1, 9, 1, 0 },
    [COL_ROOF] = { "roof%", 5, 1, 4, 1, 0 },
    [COL_ERR] = { "rel.err", 8, 1, 8, 1, 0 },
    [COL_STATUS] = { "status", 7, 0, 0, 0, 0 },
};

/* NULL (the kernel has no such axis) shows as '-', never as 0. */
static int has_seq(const struct result_row *r)
{
    return !(r->null_axes & KB_AXIS_BIT(KB_AXIS_SEQ)) && r->shape.seq_len > 0;
}

/* Achieved over the roofline bound of the case (reports/roofline.h), NaN where unknown. */
static double roof_fraction(const struct results_screen *s, const struct result_row *r)
{
    return isfinite(r->flops_per_s) ? roofline_fraction(&s->roof, r) : NAN;
}

static long results_count(void *ctx)
{
    return ((struct results_screen *)ctx)->n;
}

static void results_cell(void *ctx, long i, int col, char *buf, size_t len)
{
    struct results_screen *s = ctx;
    const struct result_row *r = &s->rows[i];
    double v;
    switch (col) {
    case COL_KERNEL: snprintf(buf, len, "%s", r->kernel); break;
    case COL_IMPL: snprintf(buf, len, "%s", r->impl); break;
    case COL_DEVICE: snprintf(buf, len, "%s", r->device); break;
    case COL_DTYPE: snprintf(buf, len, "%s", r->dtype); break;
    case COL_SHAPE:
        if (s->compact && (s->varying & ~r->null_axes))
            kb_shape_string(&r->shape, s->varying & ~r->null_axes, buf, len);
        else
            report_shape_text(r, buf, len);
        break;
    case COL_SEQ:
        if (has_seq(r))
            snprintf(buf, len, "%d", r->shape.seq_len);
        else
            snprintf(buf, len, "-");
        break;
    case COL_MEDIAN: fmt_seconds(r->stats.median, buf, len); break;
    case COL_CI:
        /* no interval from fewer than 3 samples; "*": the noise target was not met */
        if (r->stats.n > 0 && !report_has_ci(r))
            snprintf(buf, len, "n/a%s", report_noise_missed(r) ? "*" : "");
        else if (isfinite(r->stats.noise))
            snprintf(buf, len, "%.1f%%%s", 100 * r->stats.noise, report_noise_missed(r) ? "*" : "");
        else
            snprintf(buf, len, "-");
        break;
    case COL_THROUGHPUT: fmt_throughput(r, buf, len, &v); break;
    case COL_ROOF:
        if (roof_fraction(s, r) > 0)
            snprintf(buf, len, "%.0f%%", 100 * roof_fraction(s, r));
        else
            snprintf(buf, len, "-");
        break;
    case COL_ERR:
        if (isfinite(r->rel_l2_err))
            snprintf(buf, len, "%.1e", r->rel_l2_err);
        else
            snprintf(buf, len, "-");
        break;
    case COL_STATUS: snprintf(buf, len, "%s", r->status); break;
    default: buf[0] = '\0';
    }
}

static double results_number(void *ctx, long i, int col)
{
    struct results_screen *s = ctx;
    const struct result_row *r = &s->rows[i];
    char tmp[32];
    double v;
    switch (col) {
    case COL_SEQ: return has_seq(r) ? r->shape.seq_len : NAN;
    case COL_MEDIAN: return r->stats.median;
    case COL_CI: return report_has_ci(r) ? r->stats.noise : NAN;
    case COL_THROUGHPUT: fmt_throughput(r, tmp, sizeof tmp, &v); return v;
    case COL_ROOF: return roof_fraction(s, r) > 0 ? roof_fraction(s, r) : NAN;
    case COL_ERR: return r->rel_l2_err;
    default: return NAN;
    }
}

static int64_t results_id(void *ctx, long i)
{
    return ((struct results_screen *)ctx)->rows[i].case_id;
}

static int results_style(void *ctx, long i, int col)
{
    const struct result_row *r = &((struct results_screen *)ctx)->rows[i];
    if (col != COL_STATUS)
        return 0;
    if (strcmp(r->status, "ok") == 0)
        return UI_OK;
    if (strcmp(r->status, "skipped") == 0)
        return UI_DIM;
    return UI_BAD;
}

static int results_reload(struct app *a, void *st)
{
    struct results_screen *s = st;
    struct result_row *rows;
    if (store_get_run(a->store, s->run_id, &s->run) != 0 ||
        store_get_machine(a->store, s->run_id, &s->machine) != 0 ||
        roofline_load(a->store, s->run_id, &s->machine, &s->roof) != 0) {
        app_message(a, 1, "%s", store_errmsg(a->store));
        return -1;
    }
    long n = report_load_results(a->store, s->run_id, &rows);
    if (n < 0) {
        app_message(a, 1, "%s", store_errmsg(a->store));
        return -1;
    }
    free(s->rows);
    s->rows = rows;
    s->n = n;
    find_varying(s);
    return table_refresh(&s->table);
}

static void results_draw(struct app *a, void *st, WINDOW *w)
{
    struct results_screen *s = st;
    const struct run_row *r = &s->run;
    int width = getmaxx(w);
    char line[512];
    snprintf(line, sizeof line, "run %" PRId64 " %.8s  %s  %d/%d case%s, %d failed  %s%s%s", r->id, r->uuid, r->status,
             r->cases, r->planned_cases, r->planned_cases == 1 ? "" : "s", r->failures, r->hostname, *r->tag ? "  tag " : "", r->tag);
    wattrset(w, strcmp(r->status, "running") == 0 ? app_attr(a, UI_WARN) : A_NORMAL);
    ui_put(w, 0, 0, width, line);
    wattrset(w, A_NORMAL);
    int top = 1;
    if (strcmp(r->status, "running") == 0 && r->planned_cases > 0 && width > 20) {
        /* the progress of a run still being written */
        int bar = width - 12, done = (int)((long)bar * r->cases / r->planned_cases);
        mvwaddch(w, 1, 0, '[');
        for (int i = 0; i < bar; i++)
            waddch(w, i < done ? '#' : '.');
        wprintw(w, "] %3d%%", 100 * r->cases / r->planned_cases);
        top = 2;
    }
    /* narrow: the shape column shows what differs between cases, this line what they share */
    s->compact = width < 130 && s->varying && *s->same;
    if (s->compact) {
        char same[300], cut[300];
        snprintf(same, sizeof same, "every case: %s", s->same);
        fmt_cut_words(same, width, cut, sizeof cut);
        ui_put(w, top++, 0, width, cut);
    }
    table_draw(&s->table, a, w, top, getmaxy(w) - top);
    s->compact = 0; /* filters and CSV read the whole shape */
}

/* The series to plot: the marked cases, or when none is marked, one per distinct series. */
static void open_plot(struct app *a, struct results_screen *s)
{
    struct result_row keys[TABLE_MAX_MARKS];
    int n = 0;
    for (int m = 0; m < s->table.nmarks; m++)
        for (long i = 0; i < s->n; i++)
            if (s->rows[i].case_id == s->table.marks[m])
                keys[n++] = s->rows[i];
    if (n == 0) {
        long cur = table_current(&s->table);
        if (cur < 0) {
            app_message(a, 1, "no cases to plot");
            return;
        }
        keys[n++] = s->rows[cur];
        app_message(a, 0, "plotting the case under the cursor; mark up to %d with space to compare", TABLE_MAX_MARKS);
    }
    screen_plot_open(a, s->run_id, keys, n);
}

/* The marked cases, or the one under the cursor, measured again into a new run (measure.h). */
static void remeasure(struct app *a, struct results_screen *s)
{
    struct result_row keys[TABLE_MAX_MARKS];
    int n = 0;
    for (int m = 0; m < s->table.nmarks; m++)
        for (long i = 0; i < s->n; i++)
            if (s->rows[i].case_id == s->table.marks[m])
                keys[n++] = s->rows[i];
    long cur = table_current(&s->table);
    if (n == 0 && cur >= 0)
        keys[n++] = s->rows[cur];
    if (n == 0) {
        app_message(a, 1, "no case to measure again");
        return;
    }
    measure_cases(a, s->run_id, keys, n);
}

/* The implementations of the first two marked cases side by side over every problem both
 * measured in this run (`kbench versus`). */
static void versus(struct app *a, struct results_screen *s)
{
    const struct result_row *pick[2];
    int n = 0;
    for (int m = 0; m < s->table.nmarks && n < 2; m++)
        for (long i = 0; i < s->n; i++)
            if (s->rows[i].case_id == s->table.marks[m] &&
                (n == 0 || strcmp(pick[0]->kernel, s->rows[i].kernel) || strcmp(pick[0]->impl, s->rows[i].impl)))
                pick[n++] = &s->rows[i];
    if (n < 2) {
        app_message(a, 1, "mark a case of each of two implementations with space, then press v");
        return;
    }
    char pa[128], pb[128];
    snprintf(pa, sizeof pa, "%s@%s", pick[0]->kernel, pick[0]->impl);
    snprintf(pb, sizeof pb, "%s@%s", pick[1]->kernel, pick[1]->impl);
    screen_versus_open(a, s->run_id, pa, pb);
}

static int results_key(struct app *a, void *st, int ch)
{
    struct results_screen *s = st;
    int used = table_key(&s->table, ch, 1);
    long cur = table_current(&s->table);
    if (used == 2 && cur >= 0) {
        screen_detail_open(a, &s->rows[cur]);
        return 1;
    }
    if (used)
        return 1;
    if (ch == 'p') {
        open_plot(a, s);
        return 1;
    }
    if (ch == 'u') {
        s->table.nmarks = 0;
        return 1;
    }
    if (ch == 'M') {
        remeasure(a, s);
        return 1;
    }
    if (ch == 'v') {
        versus(a, s);
        return 1;
    }
    return 0;
}

static void results_export(struct app *a, void *st)
{
    struct results_screen *s = st;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "kbench-run%" PRId64 "-results", s->run_id);
    app_export_table(a, &s->table, prefix, "rows (as shown)");
}

static void results_destroy(void *st)
{
    struct results_screen *s = st;
    table_free(&s->table);
    free(s->rows);
    free(s);
}

static const struct screen_ops results_ops = {
    .name = "results",
    .keys = "Enter:detail space:mark p:plot v:versus M:measure again g:group s/S:sort /:filter e:csv",
    .reload = results_reload,
    .draw = results_draw,
    .key = results_key,
    .export_view = results_export,
    .destroy = results_destroy,
};

int screen_results_open(struct app *a, int64_t run_id)
{
    struct results_screen *s = calloc(1, sizeof *s);
    if (!s) {
        app_message(a, 1, "out of memory");
        return -1;
    }
    s->run_id = run_id;
    struct table_source src = { s, results_count, results_cell, results_number, results_id, results_style };
    table_init(&s->table, columns, COL_COUNT, &src);
    s->table.max_marks = TABLE_MAX_MARKS;
    s->table.group_col = COL_KERNEL;
    return app_push(a, &results_ops, s);
}
