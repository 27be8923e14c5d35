/* screen_plot.c - latency or throughput against sequence length for up to 8 series, log-log,
 * drawn by gnuplot's text terminal sized to the panel; below it a legend with each curve's
 * fitted scaling exponent and the crossovers between curves (reports/scaling.h). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/compare.h"
#include "reports/gnuplot.h"
#include "reports/reports.h"
#include "reports/scaling.h"
#include "tui/app.h"
#include "tui/format.h"
#include "tui/gnuplot.h"
#include "tui/table.h"

enum { MAX_SERIES = TABLE_MAX_MARKS, MAX_CROSS = 4 };

/* gnuplot's colour names and the ANSI colours its text terminal maps them to */
static const struct { const char *name; short ansi; } palette[MAX_SERIES] = {
    { "red", COLOR_RED }, { "green", COLOR_GREEN }, { "blue", COLOR_BLUE }, { "magenta", COLOR_MAGENTA },
    { "cyan", COLOR_CYAN }, { "yellow", COLOR_YELLOW }, { "red", COLOR_RED }, { "green", COLOR_GREEN },
};

struct series {
    struct result_row key;
    char label[128];
    double *n, *t, *y; /* sequence length, median seconds, plotted value */
    int count;
    struct scaling_fit fit;
    int fitted;
};

struct plot_screen {
    int64_t run_id;
    struct result_row keys[MAX_SERIES];
    int nkeys;
    struct series series[MAX_SERIES];
    int nseries;
    int throughput;       /* 0: latency */
    int have_gnuplot;
    char why[512];
    long generation;      /* bumped by every reload */
    char *text;           /* gnuplot's output for: */
    int text_w, text_h, text_mode;
    long text_gen;
    char error[512];
};

static int same_series(const struct result_row *a, const struct result_row *b)
{
    struct result_row t = *b;
    t.shape.seq_len = a->shape.seq_len;
    return compare_same_case(a, &t);
}

static void free_series(struct plot_screen *s)
{
    for (int i = 0; i < s->nseries; i++) {
        free(s->series[i].n);
        free(s->series[i].t);
        free(s->series[i].y);
    }
    s->nseries = 0;
}

static int by_seq(const void *pa, const void *pb)
{
    const struct result_row *a = *(const struct result_row *const *)pa, *b = *(const struct result_row *const *)pb;
    return (a->shape.seq_len > b->shape.seq_len) - (a->shape.seq_len < b->shape.seq_len);
}

/* Labels say only what tells the series apart: the kernel, and each other field that differs. */
static void make_labels(struct plot_screen *s)
{
    int differ_impl = 0, differ_dev = 0, differ_dtype = 0, differ_shape = 0, differ_threads = 0, differ_cache = 0;
    for (int i = 1; i < s->nseries; i++) {
        const struct result_row *a = &s->series[0].key, *b = &s->series[i].key;
        differ_impl |= strcmp(a->impl, b->impl) != 0;
        differ_dev |= strcmp(a->device, b->device) != 0;
        differ_dtype |= strcmp(a->dtype, b->dtype) != 0;
        struct kb_shape sa = a->shape, sb = b->shape;
        sa.seq_len = sb.seq_len = 0;
        differ_shape |= memcmp(&sa, &sb, sizeof sa) != 0;
        differ_threads |= a->threads != b->threads;
        differ_cache |= a->cold_cache != b->cold_cache;
    }
    for (int i = 0; i < s->nseries; i++) {
        const struct result_row *k = &s->series[i].key;
        char shape[64];
        fmt_shape(&k->shape, shape, sizeof shape);
        char *l = s->series[i].label;
        size_t len = sizeof s->series[i].label;
        int u = snprintf(l, len, "%s", k->kernel);
        if (differ_impl && u < (int)len)
            u += snprintf(l + u, len - (size_t)u, " %s", k->impl);
        if (differ_dev && u < (int)len)
            u += snprintf(l + u, len - (size_t)u, " %s", k->device);
        if (differ_dtype && u < (int)len)
            u += snprintf(l + u, len - (size_t)u, " %s", k->dtype);
        if (differ_shape && u < (int)len)
            u += snprintf(l + u, len - (size_t)u, " %s", shape);
        if (differ_threads && u < (int)len)
            u += snprintf(l + u, len - (size_t)u, " t=%d", k->threads);
        if (differ_cache && u < (int)len)
            snprintf(l + u, len - (size_t)u, " %s", k->cold_cache ? "cold" : "hot");
    }
}

static int plot_reload(struct app *a, void *st)
{
    struct plot_screen *s = st;
    struct result_row *rows;
    long n = report_load_results(a->store, s->run_id, &rows);
    if (n < 0) {
        app_message(a, 1, "%s", store_errmsg(a->store));
        return -1;
    }
    free_series(s);
    const struct result_row **pick = malloc(((size_t)n + 1) * sizeof *pick);
    if (!pick) {
        free(rows);
        app_message(a, 1, "out of memory");
        return -1;
    }
    for (int k = 0; k < s->nkeys; k++) {
        int dup = 0;
        for (int j = 0; j < s->nseries; j++)
            dup |= same_series(&s->series[j].key, &s->keys[k]);
        if (dup)
            continue;
        int count = 0;
        for (long i = 0; i < n; i++)
            if (same_series(&s->keys[k], &rows[i]) && strcmp(rows[i].status, "ok") == 0 &&
                isfinite(rows[i].stats.median) && rows[i].stats.median > 0 && rows[i].shape.seq_len > 0)
                pick[count++] = &rows[i];
        qsort(pick, (size_t)count, sizeof *pick, by_seq);
        struct series *se = &s->series[s->nseries++];
        memset(se, 0, sizeof *se);
        se->key = s->keys[k];
        se->n = malloc(((size_t)count + 1) * sizeof *se->n);
        se->t = malloc(((size_t)count + 1) * sizeof *se->t);
        se->y = malloc(((size_t)count + 1) * sizeof *se->y);
        if (!se->n || !se->t || !se->y)
            count = 0;
        for (int i = 0; i < count; i++) {
            double v;
            char tmp[32];
            se->n[i] = pick[i]->shape.seq_len;
            se->t[i] = pick[i]->stats.median;
            fmt_throughput(pick[i], tmp, sizeof tmp, &v);
            se->y[i] = s->throughput ? v / 1e9 : pick[i]->stats.median * 1e6;
        }
        se->count = count;
        se->fitted = scaling_fit(se->n, se->t, count, &se->fit) == 0;
    }
    free(pick);
    free(rows);
    make_labels(s);
    s->generation++;
    return 0;
}

/* The sweep's own lengths as the x tics when there are few of them (a log axis over less than a
 * decade otherwise gets one tic or none). */
static void write_xtics(FILE *f, const struct plot_screen *s)
{
    double seen[12];
    int n = 0;
    for (int i = 0; i < s->nseries; i++)
        for (int j = 0; j < s->series[i].count; j++) {
            int known = 0;
            for (int k = 0; k < n; k++)
                known |= seen[k] == s->series[i].n[j];
            if (known)
                continue;
            if (n == 10)
                return; /* many lengths: gnuplot's own tics */
            seen[n++] = s->series[i].n[j];
        }
    if (n == 0)
        return;
    fputs("set xtics (", f);
    for (int k = 0; k < n; k++)
        fprintf(f, "%s%g", k ? ", " : "", seen[k]);
    fputs(")\n", f);
}

/* The plot as a gnuplot script: terminal line given; crossovers drawn as vertical lines. */
static char *make_script(const struct plot_screen *s, const char *terminal, const char *output, int full)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "%s\n", terminal);
    if (output) {
        char quoted[2 * 4096 + 3];
        gnuplot_quote(quoted, sizeof quoted, output);
        fprintf(f, "set output %s\n", quoted);
    }
    double lo = INFINITY, hi = 0;
    for (int i = 0; i < s->nseries; i++)
        for (int j = 0; j < s->series[i].count; j++) {
            lo = fmin(lo, s->series[i].n[j]);
            hi = fmax(hi, s->series[i].n[j]);
        }
    double ylo = INFINITY, yhi = 0;
    for (int i = 0; i < s->nseries; i++)
        for (int j = 0; j < s->series[i].count; j++) {
            ylo = fmin(ylo, s->series[i].y[j]);
            yhi = fmax(yhi, s->series[i].y[j]);
        }
    fputs("set logscale xy\nset format x '%g'\nset format y '%g'\n", f);
    /* tight ranges: autoscaling a log axis widens it to whole decades, wasting most of a
     * small panel */
    if (hi > lo)
        fprintf(f, "set xrange [%g:%g]\n", lo / 1.15, hi * 1.15);
    if (yhi > ylo && ylo > 0)
        fprintf(f, "set yrange [%g:%g]\n", ylo / 1.6, yhi * 1.6);
    write_xtics(f, s);
    if (full) {
        fprintf(f, "set key top left\nset grid\nset xlabel 'sequence length N'\nset ylabel '%s'\n",
                s->throughput ? "throughput (GFLOP/s, or GB/s)" : "median latency (us)");
        fprintf(f, "set title 'kbench run %" PRId64 "'\n", s->run_id);
    } else {
        fputs("set key off\n", f);
    }
    for (int i = 0; i < s->nseries; i++)
        for (int j = i + 1; j < s->nseries; j++) {
            double x[MAX_CROSS];
            int found = scaling_crossovers(s->series[i].n, s->series[i].t, s->series[i].count, s->series[j].n,
                                           s->series[j].t, s->series[j].count, x, MAX_CROSS, NULL);
            for (int c = 0; c < found && c < MAX_CROSS; c++)
                fprintf(f, "set arrow from %g, graph 0 to %g, graph 1 nohead dashtype 2 lc rgb 'gray'\n", x[c], x[c]);
        }
    for (int i = 0; i < s->nseries; i++) {
        fprintf(f, "$s%d << EOD\n", i);
        for (int j = 0; j < s->series[i].count; j++)
            fprintf(f, "%.9g %.9g\n", s->series[i].n[j], s->series[i].y[j]);
        fputs("EOD\n", f);
    }
    fputs("plot ", f);
    int first = 1;
    for (int i = 0; i < s->nseries; i++) {
        if (s->series[i].count == 0)
            continue;
        fprintf(f, "%s$s%d using 1:2 with linespoints lw 2 lc rgb '%s'", first ? "" : ", ", i, palette[i].name);
        if (full) {
            char title[200];
            if (s->series[i].fitted)
                snprintf(title, sizeof title, "%s (p = %.2f)", s->series[i].label, s->series[i].fit.exponent);
            else
                snprintf(title, sizeof title, "%s", s->series[i].label);
            char quoted[2 * sizeof title + 3];
            gnuplot_quote(quoted, sizeof quoted, title);
            fprintf(f, " pt 7 title %s", quoted);
        } else {
            fprintf(f, " pt '%c'", 'A' + i);
        }
        first = 0;
    }
    if (first) /* nothing to draw: an empty frame rather than an error */
        fputs("NaN notitle", f);
    fputc('\n', f);
    fclose(f);
    return buf;
}

/* The legend and crossover lines under the plot. */
static int legend_lines(const struct plot_screen *s)
{
    int pairs = s->nseries * (s->nseries - 1) / 2;
    return s->nseries + pairs + 1;
}

static void draw_legend(struct app *a, struct plot_screen *s, WINDOW *w, int y, int max_lines)
{
    int width = getmaxx(w), used = 0;
    char line[512], num[64];
    wattrset(w, app_attr(a, UI_HEADER));
    ui_put(w, y + used++, 0, width, "   series                          exponent p (time ~ N^p), 95% CI     points");
    wattrset(w, A_NORMAL);
    for (int i = 0; i < s->nseries && used < max_lines; i++) {
        const struct series *se = &s->series[i];
        wattrset(w, a->colour ? COLOR_PAIR(UI_ANSI0 + palette[i].ansi) | A_BOLD : A_BOLD);
        mvwprintw(w, y + used, 0, " %c ", 'A' + i);
        wattrset(w, A_NORMAL);
        if (se->fitted && isfinite(se->fit.exponent_lo))
            snprintf(line, sizeof line, "%-31.31s p = %.2f [%.2f, %.2f] R2 %.3f  %6d", se->label, se->fit.exponent,
                     se->fit.exponent_lo, se->fit.exponent_hi, se->fit.r2, se->count);
        else if (se->fitted)
            snprintf(line, sizeof line, "%-31.31s p = %.2f (2 points: no CI)     %6d", se->label, se->fit.exponent,
                     se->count);
        else
            snprintf(line, sizeof line, "%-31.31s too few points to fit         %6d", se->label, se->count);
        ui_put(w, y + used++, 3, width - 3, line);
    }
    for (int i = 0; i < s->nseries; i++)
        for (int j = i + 1; j < s->nseries && used < max_lines; j++) {
            const struct series *p = &s->series[i], *q = &s->series[j];
            double x[MAX_CROSS];
            int b_after = 0;
            int found = scaling_crossovers(p->n, p->t, p->count, q->n, q->t, q->count, x, MAX_CROSS, &b_after);
            int u = snprintf(line, sizeof line, " %c/%c: ", 'A' + i, 'A' + j);
            if (found > 0) {
                u += snprintf(line + u, sizeof line - (size_t)u, "cross at N =");
                for (int c = 0; c < found && c < MAX_CROSS; c++)
                    u += snprintf(line + u, sizeof line - (size_t)u, "%s %.0f", c ? "," : "", x[c]);
                u += snprintf(line + u, sizeof line - (size_t)u, " (measured), %c faster above", b_after ? 'A' + j : 'A' + i);
            } else if (p->count > 0 && q->count > 0) {
                u += snprintf(line + u, sizeof line - (size_t)u, "no crossover measured, %c faster throughout",
                              b_after ? 'A' + j : 'A' + i);
            } else {
                u += snprintf(line + u, sizeof line - (size_t)u, "no common points");
            }
            double meet = NAN; /* none from 2-point fits; "extrapolated" outside the measured lengths */
            enum scaling_meet kind = p->fitted && q->fitted ? scaling_crossover_judge(&p->fit, &q->fit, &meet)
                                                             : SCALING_MEET_NONE;
            if (isfinite(meet)) {
                snprintf(num, sizeof num, "%.4g", meet);
                snprintf(line + u, sizeof line - (size_t)u, "; fits meet at N = %s%s", num,
                         kind == SCALING_MEET_EXTRAPOLATED ? " (extrapolated)" : "");
            }
            ui_put(w, y + used++, 0, width, line);
        }
}

static void plot_draw(struct app *a, void *st, WINDOW *w)
{
    struct plot_screen *s = st;
    int width = getmaxx(w), height = getmaxy(w);
    char line[256];
    snprintf(line, sizeof line, "%s against sequence length N, log-log  (run %" PRId64 ")  t: %s",
             s->throughput ? "throughput (GFLOP/s or GB/s)" : "median latency (us)", s->run_id,
             s->throughput ? "latency" : "throughput");
    ui_put(w, 0, 0, width, line);
    int legend = legend_lines(s);
    if (legend > height / 2)
        legend = height / 2;
    int plot_h = height - 1 - legend;
    draw_legend(a, s, w, height - legend, legend);
    if (!s->have_gnuplot) {
        wattrset(w, app_attr(a, UI_WARN));
        ui_put(w, 2, 2, width - 2, s->why);
        wattrset(w, A_NORMAL);
        return;
    }
    if (plot_h < 5) {
        ui_put(w, 2, 2, width - 2, "(the terminal is too small for the plot)");
        return;
    }
    if (!s->text || s->text_w != width || s->text_h != plot_h || s->text_mode != s->throughput ||
        s->text_gen != s->generation) {
        char terminal[128];
        snprintf(terminal, sizeof terminal, "set terminal dumb size %d,%d noenhanced%s", width, plot_h,
                 a->colour ? " ansi" : " mono");
        char *script = make_script(s, terminal, NULL, 0);
        free(s->text);
        s->text = NULL;
        s->error[0] = '\0';
        if (!script || gnuplot_run(script, &s->text, s->error, sizeof s->error) != 0) {
            if (!script)
                snprintf(s->error, sizeof s->error, "out of memory");
        }
        free(script);
        s->text_w = width;
        s->text_h = plot_h;
        s->text_mode = s->throughput;
        s->text_gen = s->generation;
    }
    if (s->text)
        gnuplot_draw_text(a, w, 1, 0, plot_h, width, s->text);
    else {
        wattrset(w, app_attr(a, UI_BAD));
        ui_put(w, 2, 2, width - 2, s->error);
        wattrset(w, A_NORMAL);
    }
}

static int plot_key(struct app *a, void *st, int ch)
{
    struct plot_screen *s = st;
    if (ch == 't') {
        s->throughput = !s->throughput;
        plot_reload(a, s);
        return 1;
    }
    return 0;
}

static int export_one(struct app *a, struct plot_screen *s, const char *ext, const char *terminal, char *path,
                      size_t len)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "kbench-run%" PRId64 "-%s", s->run_id, s->throughput ? "throughput" : "latency");
    FILE *f = app_export_file(a, prefix, ext, path, len);
    if (!f)
        return -1;
    fclose(f); /* the name is ours; gnuplot writes the file */
    char *script = make_script(s, terminal, path, 1);
    char err[512];
    if (!script || gnuplot_run(script, NULL, err, sizeof err) != 0) {
        app_message(a, 1, "%s: %s", path, script ? err : "out of memory");
        free(script);
        return -1;
    }
    free(script);
    return 0;
}

static void plot_export(struct app *a, void *st)
{
    struct plot_screen *s = st;
    if (!s->have_gnuplot) {
        app_message(a, 1, "%s", s->why);
        return;
    }
    char png[4096], svg[4096];
    if (export_one(a, s, "png",
                   "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) { set terminal pngcairo size 1200,800 noenhanced } "
                   "else { set terminal png size 1200,800 noenhanced }",
                   png, sizeof png) != 0 ||
        export_one(a, s, "svg", "set terminal svg size 1200,800 noenhanced", svg, sizeof svg) != 0)
        return;
    app_message(a, 0, "exported the plot to %s and %s", png, svg);
}

static void plot_destroy(void *st)
{
    struct plot_screen *s = st;
    free_series(s);
    free(s->text);
    free(s);
}

static const struct screen_ops plot_ops = {
    .name = "plot",
    .keys = "t:latency/throughput e:png+svg",
    .reload = plot_reload,
    .draw = plot_draw,
    .key = plot_key,
    .export_view = plot_export,
    .destroy = plot_destroy,
};

int screen_plot_open(struct app *a, int64_t run_id, const struct result_row *keys, int nkeys)
{
    struct plot_screen *s = calloc(1, sizeof *s);
    if (!s) {
        app_message(a, 1, "out of memory");
        return -1;
    }
    s->run_id = run_id;
    s->nkeys = nkeys < MAX_SERIES ? nkeys : MAX_SERIES;
    memcpy(s->keys, keys, (size_t)s->nkeys * sizeof *keys);
    /* one check when the screen opens: gnuplot runs and has the text terminal the panel needs */
    char why[400];
    s->have_gnuplot = gnuplot_check_terminal("dumb", why, sizeof why) == 0;
    if (!s->have_gnuplot)
        snprintf(s->why, sizeof s->why, "%s: no plot; the legend's fits and the tables work without it", why);
    return app_push(a, &plot_ops, s);
}
