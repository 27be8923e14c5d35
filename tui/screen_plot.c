/* screen_plot.c - latency or throughput against the axis the selected cases sweep (sequence
 * length, tokens, experts, top-k, M/N/K, group size, ...; 'x' picks another) for up to 8
 * series, log-log, drawn by gnuplot's text terminal sized to the panel; below it a legend with
 * each curve's fitted scaling exponent and the crossovers between curves (reports/scaling.h). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/axis.h"
#include "reports/gnuplot.h"
#include "reports/reports.h"
#include "reports/scaling.h"
#include "tui/app.h"
#include "tui/format.h"
#include "tui/gnuplot.h"
#include "tui/table.h"

enum { MAX_SERIES = TABLE_MAX_MARKS, MAX_CROSS = 4, MAX_AXES = 8 };

/* exported plots use the report's colour-blind-safe line colours (Okabe-Ito) */
static const char *const export_colours[MAX_SERIES] = {
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#8c564b",
};

/* gnuplot's colour names and the ANSI colours its text terminal maps them to */
static const struct { const char *name; short ansi; } palette[MAX_SERIES] = {
    { "red", COLOR_RED }, { "green", COLOR_GREEN }, { "blue", COLOR_BLUE }, { "magenta", COLOR_MAGENTA },
    { "cyan", COLOR_CYAN }, { "yellow", COLOR_YELLOW }, { "red", COLOR_RED }, { "green", COLOR_GREEN },
};

struct series {
    struct result_row key;
    char label[160];
    double *n, *t, *y; /* the swept axis's value, median seconds, plotted value */
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
    int axis;             /* the swept axis on x (enum kb_axis); -1 before the first load */
    int axes[MAX_AXES];   /* the axes the selection's series sweep, longest first ('x' cycles) */
    int naxes;
    int gflops;           /* throughput in GFLOP/s (some series count FLOPs), else GB/s */
    char fixed[192];      /* the axes every series holds at one value */
    int have_gnuplot;
    char why[512];
    long generation;      /* bumped by every reload */
    char *text;           /* gnuplot's output for: */
    int text_w, text_h, text_mode;
    long text_gen;
    char error[512];
};

static int same_series(const struct plot_screen *s, const struct result_row *a, const struct result_row *b)
{
    return report_same_except(a, b, (enum kb_axis)s->axis);
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

/* Labels say only what tells the series apart: the kernel, and each other field that differs;
 * the axes they share go in the title (fixed). */
static void make_labels(struct plot_screen *s)
{
    int differ_impl = 0, differ_dev = 0, differ_dtype = 0, differ_threads = 0, differ_cache = 0;
    uint64_t differ_axes = 0, have = 0;
    for (int i = 0; i < s->nseries; i++) {
        const struct result_row *a = &s->series[0].key, *b = &s->series[i].key;
        differ_impl |= strcmp(a->impl, b->impl) != 0;
        differ_dev |= strcmp(a->device, b->device) != 0;
        differ_dtype |= strcmp(a->dtype, b->dtype) != 0;
        for (int x = 0; x < KB_AXIS_COUNT; x++) {
            if (x == s->axis)
                continue;
            /* an axis one kernel lacks (NULL: moe.router has no FFN width) tells nothing apart */
            uint64_t bit = KB_AXIS_BIT(x);
            if (!(a->null_axes & bit) && !(b->null_axes & bit) &&
                kb_shape_get(&a->shape, (enum kb_axis)x) != kb_shape_get(&b->shape, (enum kb_axis)x))
                differ_axes |= bit;
            if (!(b->null_axes & bit) && kb_shape_get(&b->shape, (enum kb_axis)x))
                have |= bit;
        }
        differ_threads |= a->threads != b->threads;
        differ_cache |= a->cold_cache != b->cold_cache;
    }
    s->fixed[0] = '\0';
    if (s->nseries > 0) { /* each fixed axis's value from a series that has it */
        struct kb_shape merged = s->series[0].key.shape;
        for (int i = 1; i < s->nseries; i++)
            for (int x = 0; x < KB_AXIS_COUNT; x++)
                if (!kb_shape_get(&merged, (enum kb_axis)x))
                    kb_shape_set(&merged, (enum kb_axis)x, kb_shape_get(&s->series[i].key.shape, (enum kb_axis)x));
        if (have & ~differ_axes)
            kb_shape_string(&merged, have & ~differ_axes, s->fixed, sizeof s->fixed);
    }
    for (int i = 0; i < s->nseries; i++) {
        const struct result_row *k = &s->series[i].key;
        char shape[128] = "";
        if (differ_axes & ~k->null_axes)
            kb_shape_string(&k->shape, differ_axes & ~k->null_axes, shape, sizeof shape);
        char *l = s->series[i].label;
        size_t len = sizeof s->series[i].label;
        int u = snprintf(l, len, "%s", k->kernel);
        if (differ_impl && u < (int)len)
            u += snprintf(l + u, len - (size_t)u, " %s", k->impl);
        if (differ_dev && u < (int)len)
            u += snprintf(l + u, len - (size_t)u, " %s", k->device);
        if (differ_dtype && u < (int)len)
            u += snprintf(l + u, len - (size_t)u, " %s", k->dtype);
        if (*shape && u < (int)len)
            u += snprintf(l + u, len - (size_t)u, " %s", shape);
        if (differ_threads && u < (int)len)
            u += snprintf(l + u, len - (size_t)u, " t=%d", k->threads);
        if (differ_cache && u < (int)len)
            snprintf(l + u, len - (size_t)u, " %s", k->cold_cache ? "cold" : "hot");
    }
}

/* Sorts a series' cases ascending in the swept axis (insertion: a series is short). */
static void sort_by_axis(const struct result_row **rows, int count, enum kb_axis x)
{
    for (int i = 1; i < count; i++) {
        const struct result_row *r = rows[i];
        int v = kb_shape_get(&r->shape, x), j = i;
        while (j > 0 && kb_shape_get(&rows[j - 1]->shape, x) > v) {
            rows[j] = rows[j - 1];
            j--;
        }
        rows[j] = r;
    }
}

/* The axes the selection sweeps; keeps the current one where it still is one of them. */
static void choose_axis(struct plot_screen *s, const struct result_row *rows, long n)
{
    s->naxes = report_axes_through(s->keys, s->nkeys, rows, n, s->axes, MAX_AXES);
    for (int i = 0; i < s->naxes; i++)
        if (s->axes[i] == s->axis)
            return;
    if (s->naxes > 0) {
        s->axis = s->axes[0];
        return;
    }
    /* one point per series: x is the first axis the first case has */
    const struct result_row *first = s->nkeys ? &s->keys[0] : NULL;
    s->axis = first ? report_swept_axis(&first, 1) : -1;
    if (s->axis < 0)
        s->axis = KB_AXIS_SEQ;
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
    choose_axis(s, rows, n);
    enum kb_axis ax = (enum kb_axis)s->axis;
    /* one unit for the whole plot: GFLOP/s where any selected kernel counts FLOPs */
    s->gflops = 0;
    for (int k = 0; k < s->nkeys; k++)
        s->gflops |= s->keys[k].flops > 0;
    const struct result_row **pick = malloc(((size_t)n + 1) * sizeof *pick);
    if (!pick) {
        free(rows);
        app_message(a, 1, "out of memory");
        return -1;
    }
    for (int k = 0; k < s->nkeys; k++) {
        int dup = 0;
        for (int j = 0; j < s->nseries; j++)
            dup |= same_series(s, &s->series[j].key, &s->keys[k]);
        if (dup)
            continue;
        int count = 0;
        for (long i = 0; i < n; i++)
            if (same_series(s, &s->keys[k], &rows[i]) && strcmp(rows[i].status, "ok") == 0 &&
                isfinite(rows[i].stats.median) && rows[i].stats.median > 0 && kb_shape_get(&rows[i].shape, ax) > 0 &&
                (!s->throughput || (s->gflops ? rows[i].flops > 0 && rows[i].flops_per_s > 0
                                              : rows[i].bytes > 0 && rows[i].bytes_per_s > 0)))
                pick[count++] = &rows[i];
        sort_by_axis(pick, count, ax);
        struct series *se = &s->series[s->nseries++];
        memset(se, 0, sizeof *se);
        se->key = s->keys[k];
        se->n = malloc(((size_t)count + 1) * sizeof *se->n);
        se->t = malloc(((size_t)count + 1) * sizeof *se->t);
        se->y = malloc(((size_t)count + 1) * sizeof *se->y);
        if (!se->n || !se->t || !se->y)
            count = 0;
        for (int i = 0; i < count; i++) {
            se->n[i] = kb_shape_get(&pick[i]->shape, ax);
            se->t[i] = pick[i]->stats.median;
            double v = s->gflops ? pick[i]->flops_per_s : pick[i]->bytes_per_s;
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
    enum kb_axis ax = (enum kb_axis)s->axis;
    if (full) {
        char xlabel[128], title[256], q[600], qf[400], fixed[220];
        report_axis_label(ax, 1, xlabel, sizeof xlabel);
        gnuplot_quote(q, sizeof q, xlabel);
        fprintf(f, "set key below left Left reverse maxcols 1\nset grid lc rgb '#dddddd'\nset border 3\nset tics nomirror\n"
                   "set xlabel %s\nset ylabel '%s'\n", q,
                s->throughput ? (s->gflops ? "throughput (GFLOP/s, log scale)" : "throughput (GB/s, log scale)")
                              : "median time per call (us, log scale)");
        snprintf(title, sizeof title, "kbench run %" PRId64 ": %s vs %s %s", s->run_id,
                 s->throughput ? "throughput" : "median time per call", report_axis_title(ax), report_axis_symbol(ax));
        gnuplot_quote(q, sizeof q, title);
        snprintf(fixed, sizeof fixed, "fixed: %s", s->fixed);
        gnuplot_quote(qf, sizeof qf, fixed);
        if (*s->fixed)
            fprintf(f, "set title %s.\"\\n\".%s\n", q, qf);
        else
            fprintf(f, "set title %s\n", q);
    } else {
        fputs("set key off\n", f);
    }
    /* crossovers inside the measured range only, so no line leaves the frame; exported plots
     * name the two implementations */
    for (int i = 0; i < s->nseries; i++)
        for (int j = i + 1; j < s->nseries; j++) {
            double x[MAX_CROSS];
            int found = scaling_crossovers(s->series[i].n, s->series[i].t, s->series[i].count, s->series[j].n,
                                           s->series[j].t, s->series[j].count, x, MAX_CROSS, NULL);
            for (int c = 0; c < found && c < MAX_CROSS; c++) {
                if (!(x[c] >= lo && x[c] <= hi))
                    continue;
                fprintf(f, "set arrow from %g, graph 0 to %g, graph 1 nohead dashtype 2 lc rgb 'gray'\n", x[c], x[c]);
                if (full) {
                    char text[400], q[820];
                    snprintf(text, sizeof text, "%s@%s = %s@%s at %s ~ %.0f", s->series[i].key.kernel,
                             s->series[i].key.impl, s->series[j].key.kernel, s->series[j].key.impl,
                             report_axis_symbol(ax), x[c]);
                    gnuplot_quote(q, sizeof q, text);
                    fprintf(f, "set label %s at %g, graph 0.03 rotate by 90 left offset -0.6,0 font ',8' tc rgb '#aa3333'\n",
                            q, x[c]);
                }
            }
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
        fprintf(f, "%s$s%d using 1:2 with linespoints lw 2 lc rgb '%s'", first ? "" : ", ", i,
                full ? export_colours[i] : palette[i].name);
        if (full) {
            char title[200];
            if (s->series[i].fitted)
                snprintf(title, sizeof title, "%s (t ~ %s^%.2f)", s->series[i].label, report_axis_symbol(ax),
                         s->series[i].fit.exponent);
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
    if (first) /* never reached: plot_draw and export say "nothing to draw" instead */
        fputs("1 notitle", f);
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
    char line[512], num[64], head[160];
    const char *sym = report_axis_symbol((enum kb_axis)s->axis);
    /* the label column takes what the fit columns leave, and a label that does not fit is cut
     * at a space with '~', never mid-value */
    int lw = width - 3 - 46;
    lw = lw < 16 ? 16 : lw > 90 ? 90 : lw;
    wattrset(w, app_attr(a, UI_HEADER));
    snprintf(head, sizeof head, "   %-*s %-34s %6s", lw, "series", "", "points");
    char expo[64];
    snprintf(expo, sizeof expo, "exponent p (t ~ %s^p), 95%% CI", sym);
    memcpy(head + 3 + lw + 1, expo, strlen(expo));
    ui_put(w, y + used++, 0, width, head);
    wattrset(w, A_NORMAL);
    for (int i = 0; i < s->nseries && used < max_lines; i++) {
        const struct series *se = &s->series[i];
        wattrset(w, a->colour ? COLOR_PAIR(UI_ANSI0 + palette[i].ansi) | A_BOLD : A_BOLD);
        mvwprintw(w, y + used, 0, " %c ", 'A' + i);
        wattrset(w, A_NORMAL);
        char label[160];
        fmt_cut_words(se->label, lw, label, sizeof label);
        if (se->fitted && isfinite(se->fit.exponent_lo))
            snprintf(line, sizeof line, "%-*s p = %.2f [%.2f, %.2f] R2 %.3f  %6d", lw, label, se->fit.exponent,
                     se->fit.exponent_lo, se->fit.exponent_hi, se->fit.r2, se->count);
        else if (se->fitted)
            snprintf(line, sizeof line, "%-*s p = %.2f (2 points: no CI)      %6d", lw, label, se->fit.exponent,
                     se->count);
        else
            snprintf(line, sizeof line, "%-*s too few points to fit          %6d", lw, label, se->count);
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
                u += snprintf(line + u, sizeof line - (size_t)u, "cross at %s =", sym);
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
                snprintf(line + u, sizeof line - (size_t)u, "; fits meet at %s = %s%s", sym, num,
                         kind == SCALING_MEET_EXTRAPOLATED ? " (extrapolated)" : "");
            }
            ui_put(w, y + used++, 0, width, line);
        }
}

static void plot_draw(struct app *a, void *st, WINDOW *w)
{
    struct plot_screen *s = st;
    int width = getmaxx(w), height = getmaxy(w);
    char line[512];
    enum kb_axis ax = (enum kb_axis)s->axis;
    snprintf(line, sizeof line, "%s vs %s %s (%s), log-log  run %" PRId64 "%s%s  t:%s%s",
             s->throughput ? (s->gflops ? "GFLOP/s" : "GB/s") : "median time (us)", report_axis_title(ax),
             report_axis_symbol(ax), report_axis_unit(ax), s->run_id, *s->fixed ? "  fixed: " : "", s->fixed,
             s->throughput ? "latency" : "throughput", s->naxes > 1 ? "  x:axis" : "");
    char cut[512];
    fmt_cut_words(line, width, cut, sizeof cut);
    ui_put(w, 0, 0, width, cut);
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
    int points = 0;
    for (int i = 0; i < s->nseries; i++)
        points += s->series[i].count;
    if (!points) {
        char why[256];
        snprintf(why, sizeof why, "nothing to draw: no timed case of the selection has %s %s%s",
                 report_axis_title(ax), report_axis_symbol(ax), s->throughput ? " and a throughput" : "");
        wattrset(w, app_attr(a, UI_WARN));
        ui_put(w, 2, 2, width - 2, why);
        wattrset(w, A_NORMAL);
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
    if (ch == 'x' && s->naxes > 1) {
        int next = 0;
        for (int i = 0; i < s->naxes; i++)
            if (s->axes[i] == s->axis)
                next = (i + 1) % s->naxes;
        s->axis = s->axes[next];
        plot_reload(a, s);
        app_message(a, 0, "x axis: %s %s", report_axis_title((enum kb_axis)s->axis),
                    report_axis_symbol((enum kb_axis)s->axis));
        return 1;
    }
    return 0;
}

static int export_one(struct app *a, struct plot_screen *s, const char *ext, const char *terminal, char *path,
                      size_t len)
{
    int points = 0;
    for (int i = 0; i < s->nseries; i++)
        points += s->series[i].count;
    if (!points) {
        app_message(a, 1, "nothing to export: no timed case of the selection has %s",
                    report_axis_title((enum kb_axis)s->axis));
        return -1;
    }
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
    if (strcmp(ext, "svg") == 0) {
        enum kb_axis ax = (enum kb_axis)s->axis;
        char title[256];
        snprintf(title, sizeof title, "kbench run %" PRId64 ": %s vs %s %s", s->run_id,
                 s->throughput ? "throughput" : "median time per call", report_axis_title(ax), report_axis_symbol(ax));
        if (gnuplot_svg_title(path, title, err, sizeof err) != 0) {
            app_message(a, 1, "%s", err);
            return -1;
        }
    }
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
    .keys = "t:latency/throughput x:axis e:png+svg",
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
    s->axis = -1;
    s->nkeys = nkeys < MAX_SERIES ? nkeys : MAX_SERIES;
    memcpy(s->keys, keys, (size_t)s->nkeys * sizeof *keys);
    /* one check when the screen opens: gnuplot runs and has the text terminal the panel needs */
    char why[400];
    s->have_gnuplot = gnuplot_check_terminal("dumb", why, sizeof why) == 0;
    if (!s->have_gnuplot)
        snprintf(s->why, sizeof s->why, "%s: no plot; the legend's fits and the tables work without it", why);
    return app_push(a, &plot_ops, s);
}
