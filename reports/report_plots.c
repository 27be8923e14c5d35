/* report_plots.c - each plot of a report as NAME.dat + NAME.gp, rendered by gnuplot (report.h).
 *
 * Every script starts with the same block choosing the terminal from the variable `fmt`
 * (default: the report's format), so `gnuplot -e 'fmt="svg"' NAME.gp` re-renders a plot in
 * another format. Text is set in gnuplot's noenhanced mode: kernel names print as they are.
 */
#include "reports/report.h"
#include "reports/reports.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "reports/axis.h"
#include "reports/gnuplot.h"

#define MAX_SERIES_LINES 24 /* more lines than this would make an unreadable legend */

struct plot {
    struct report *r;
    char name[96];
    FILE *dat, *gp;
    FILE *cmd;  /* the plot command, collected apart so definitions can go before it */
    char *cmd_text;
    size_t cmd_len;
    int blocks; /* data blocks written (gnuplot `index`) */
};

static int plot_begin(struct report *r, struct plot *p, const char *name, const char *title, const char *xlabel,
                      const char *ylabel, char *why, size_t whylen)
{
    memset(p, 0, sizeof *p);
    p->r = r;
    snprintf(p->name, sizeof p->name, "%s", name);
    /* Names come from kernel names: keep them to characters safe in file names and URLs. */
    for (char *c = p->name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
              *c == '-'))
            *c = '_';
    char file[128];
    snprintf(file, sizeof file, "%s.dat", p->name);
    if (!(p->dat = report_open(r, file, why, whylen)))
        return -1;
    snprintf(file, sizeof file, "%s.gp", p->name);
    if (!(p->gp = report_open(r, file, why, whylen))) {
        fclose(p->dat);
        return -1;
    }
    if (!(p->cmd = open_memstream(&p->cmd_text, &p->cmd_len))) {
        fclose(p->dat);
        fclose(p->gp);
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    const struct report_options *o = r->opt;
    char qt[512], qx[256], qy[256];
    gnuplot_quote(qt, sizeof qt, title);
    gnuplot_quote(qx, sizeof qx, xlabel);
    gnuplot_quote(qy, sizeof qy, ylabel);
    fprintf(p->dat, "# kbench report: %s\n# %s\n", p->name, title);
    fprintf(p->gp,
            "# kbench report: %s - %s\n"
            "# Draws %s.dat. Re-render in this folder: gnuplot %s.gp\n"
            "# (another format: gnuplot -e 'fmt=\"svg\"' %s.gp; png, svg and pdf are known)\n"
            "if (!exists(\"fmt\")) fmt = \"%s\"\n"
            "if (fmt eq \"png\") { set terminal pngcairo size %d,%d noenhanced font \"DejaVu Sans,10\" background rgb \"white\" }\n"
            "if (fmt eq \"svg\") { set terminal svg size %d,%d noenhanced font \"DejaVu Sans,11\" background rgb \"white\" }\n"
            "if (fmt eq \"pdf\") { set terminal pdfcairo size %.2fin,%.2fin noenhanced font \"DejaVu Sans,9\" }\n"
            "set output \"%s.\".fmt\n"
            "set encoding utf8\n"
            "set title %s\n"
            "set xlabel %s\n"
            "set ylabel %s\n"
            "set grid xtics ytics mxtics mytics lc rgb \"#dddddd\"\n"
            "set key below left vertical Left reverse maxcols 1 noautotitle samplen 3 font \",9\"\n"
            "set border 3\nset tics nomirror\n"
            "# colour-blind-safe line colours (Okabe-Ito, then Tableau), none pale on white\n"
            "set linetype 1 lc rgb \"#0072b2\" lw 1.5\nset linetype 2 lc rgb \"#d55e00\" lw 1.5\n"
            "set linetype 3 lc rgb \"#009e73\" lw 1.5\nset linetype 4 lc rgb \"#cc79a7\" lw 1.5\n"
            "set linetype 5 lc rgb \"#e69f00\" lw 1.5\nset linetype 6 lc rgb \"#56b4e9\" lw 1.5\n"
            "set linetype 7 lc rgb \"#000000\" lw 1.5\nset linetype 8 lc rgb \"#8c564b\" lw 1.5\n"
            "set linetype 9 lc rgb \"#7f7f7f\" lw 1.5\nset linetype 10 lc rgb \"#bcbd22\" lw 1.5\n"
            "set linetype cycle 10\n",
            p->name, title, p->name, p->name, p->name, o->format, o->width, o->height, o->width, o->height,
            o->width / 96.0, o->height / 96.0, p->name, qt, qx, qy);
    return 0;
}

/* Starts data block number p->blocks, headed by a comment naming it. */
static int block_begin(struct plot *p, const char *label, const char *columns)
{
    if (p->blocks)
        fputs("\n\n", p->dat);
    fprintf(p->dat, "# [%d] %s\n# %s\n", p->blocks, label, columns);
    return p->blocks++;
}

/* Drops a plot that turned out to have nothing to draw. */
static void plot_abandon(struct plot *p)
{
    fclose(p->dat);
    fclose(p->gp);
    fclose(p->cmd);
    free(p->cmd_text);
}

static int plot_end(struct plot *p, const char *title, const char *caption, char *why, size_t whylen)
{
    fclose(p->cmd);
    if (p->cmd_text)
        fprintf(p->gp, "%s\n", p->cmd_text);
    free(p->cmd_text);
    int bad = ferror(p->dat) || ferror(p->gp);
    bad |= fclose(p->dat) != 0;
    bad |= fclose(p->gp) != 0;
    if (bad) {
        snprintf(why, whylen, "cannot write %s/%s.dat or .gp", p->r->opt->out_dir, p->name);
        return -1;
    }
    char script[128];
    snprintf(script, sizeof script, "%s.gp", p->name);
    if (gnuplot_render(p->r->opt->out_dir, script, why, whylen) != 0)
        return -1;
    struct report *r = p->r;
    if (strcmp(r->opt->format, "svg") == 0) {
        char svg[4096];
        snprintf(svg, sizeof svg, "%s/%s.svg", r->opt->out_dir, p->name);
        if (gnuplot_svg_title(svg, title, why, whylen) != 0)
            return -1;
    }
    const char *shown = r->opt->format;
    if (strcmp(shown, "pdf") == 0) {
        /* The page shows a PNG of the same script. */
        if (gnuplot_render_fmt(r->opt->out_dir, "png", script, why, whylen) != 0)
            return -1;
        shown = "png";
    }
    if (r->nplots == r->cap) {
        int cap = r->cap ? r->cap * 2 : 16;
        struct report_plot *grown = realloc(r->plots, sizeof *grown * (size_t)cap);
        if (!grown) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        r->plots = grown;
        r->cap = cap;
    }
    struct report_plot *rp = &r->plots[r->nplots++];
    snprintf(rp->name, sizeof rp->name, "%s", p->name);
    snprintf(rp->title, sizeof rp->title, "%s", title);
    snprintf(rp->caption, sizeof rp->caption, "%s", caption);
    snprintf(rp->image, sizeof rp->image, "%s.%s", p->name, shown);
    if (r->log)
        fprintf(r->log, "wrote %s/%s.%s (+ .dat, .gp)\n", r->opt->out_dir, p->name, r->opt->format);
    return 0;
}

/* The plot command is written in pieces: "plot A, B, C". */
static void plot_item(struct plot *p, int *items, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void plot_item(struct plot *p, int *items, const char *fmt, ...)
{
    fputs(*items ? ", \\\n     " : "plot ", p->cmd);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->cmd, fmt, ap);
    va_end(ap);
    (*items)++;
}

static void time_unit(double max_s, double *scale, const char **unit)
{
    if (max_s >= 1) {
        *scale = 1;
        *unit = "s";
    } else if (max_s >= 1e-3) {
        *scale = 1e3;
        *unit = "ms";
    } else {
        *scale = 1e6;
        *unit = "µs";
    }
}

static int plotted_family(const char *family)
{
    return strcmp(family, "selftest") != 0;
}

static void fit_text(const struct series *s, char *out, size_t len)
{
    const char *x = report_axis_symbol(s->axis);
    if (!s->fitted)
        snprintf(out, len, "one %s: no fit", x);
    else if (isnan(s->fit.exponent_lo))
        snprintf(out, len, "t ~ %s^%.2f (2 points, no CI)", x, s->fit.exponent);
    else
        snprintf(out, len, "t ~ %s^%.2f [%.2f, %.2f]", x, s->fit.exponent, s->fit.exponent_lo, s->fit.exponent_hi);
}

/* A series drawn on the plot of this family and axis. */
static int in_plot(const struct series *s, const char *family, enum kb_axis axis)
{
    return strcmp(s->family, family) == 0 && s->axis == axis;
}

/* The plot's file stem: KIND_FAMILY, and _by_AXIS where the family's series sweep several axes
 * (each axis its own plot). */
static void plot_name(char *buf, size_t len, const char *kind, const char *family, enum kb_axis axis,
                      const struct series *v, long nv)
{
    int other = 0;
    for (long i = 0; i < nv; i++)
        other |= strcmp(v[i].family, family) == 0 && v[i].axis != axis;
    if (other)
        snprintf(buf, len, "%s_%s_by_%s", kind, family, kb_axis_info(axis)->key);
    else
        snprintf(buf, len, "%s_%s", kind, family);
}

/* Replaces the title by two lines: the title, and a second line (what stays fixed across the
 * plot's series, or where its numbers come from); "" keeps the one line. */
static void plot_subtitle(struct plot *p, const char *title, const char *second)
{
    if (!*second)
        return;
    char qt[512], qs[512], sub[400];
    snprintf(sub, sizeof sub, "%s", second);
    gnuplot_quote(qt, sizeof qt, title);
    gnuplot_quote(qs, sizeof qs, sub);
    fprintf(p->gp, "set title %s.\"\\n\".%s\n", qt, qs);
}

/* "moe.layer@cpu.fused", with the dtype where the two series differ in it: a crossover names
 * the implementations that cross. */
static void series_name(const struct series *s, const struct series *other, char *buf, size_t len)
{
    if (strcmp(s->dtype, other->dtype) != 0)
        snprintf(buf, len, "%s@%s %s", s->kernel, s->impl, s->dtype);
    else
        snprintf(buf, len, "%s@%s", s->kernel, s->impl);
}

/* Where point labels have been placed, in fractions of a log-log plot's frame: a label that
 * would overprint one already placed is left out (points of one intensity or time stack). */
struct label_room {
    double lx0, lx1, ly0, ly1; /* log10 of the axes' ends */
    double placed[2 * 64];
    int n;
};

/* The frame from the data's ranges, widened to whole decades on y as gnuplot's autoscale does. */
static void label_room_init(struct label_room *lr, double xlo, double xhi, double ylo, double yhi)
{
    lr->n = 0;
    lr->lx0 = log10(xlo);
    lr->lx1 = log10(xhi) > lr->lx0 ? log10(xhi) : lr->lx0 + 1;
    lr->ly0 = floor(log10(ylo));
    lr->ly1 = ceil(log10(yhi)) > lr->ly0 ? ceil(log10(yhi)) : lr->ly0 + 1;
}

/* 1 (and the place taken) when a label at (x, y) clears every label placed so far. */
static int label_room_take(struct label_room *lr, double x, double y)
{
    double fx = (log10(x) - lr->lx0) / (lr->lx1 - lr->lx0), fy = (log10(y) - lr->ly0) / (lr->ly1 - lr->ly0);
    if (lr->n == 64)
        return 0;
    for (int k = 0; k < lr->n; k++)
        if (fabs(lr->placed[2 * k] - fx) < 0.07 && fabs(lr->placed[2 * k + 1] - fy) < 0.05)
            return 0;
    lr->placed[2 * lr->n] = fx;
    lr->placed[2 * lr->n + 1] = fy;
    lr->n++;
    return 1;
}

/* ---- latency and throughput per family --------------------------------------------------------- */

static int latency_plot(struct report *r, const char *family, enum kb_axis axis, struct series *v, long nv,
                        char *why, size_t whylen)
{
    double max_t = 0;
    int lines = 0;
    for (long i = 0; i < nv; i++)
        if (in_plot(&v[i], family, axis))
            for (int j = 0; j < v[i].count; j++)
                if (v[i].t[j] > max_t)
                    max_t = v[i].t[j];
    double scale;
    const char *unit;
    time_unit(max_t, &scale, &unit);
    char name[96], title[192], ylabel[96], xlabel[128], fixed[256];
    plot_name(name, sizeof name, "latency", family, axis, v, nv);
    snprintf(title, sizeof title, "%s: median time per call vs %s %s (run %lld)", family, report_axis_title(axis),
             report_axis_symbol(axis), (long long)r->runs[0].run.id);
    snprintf(ylabel, sizeof ylabel, "median time per call (%s, log scale)", unit);
    report_axis_label(axis, 1, xlabel, sizeof xlabel);
    report_series_fixed(v, nv, family, axis, fixed, sizeof fixed);
    char fixed_line[300] = "";
    if (*fixed)
        snprintf(fixed_line, sizeof fixed_line, "fixed: %s", fixed);
    struct plot p;
    if (plot_begin(r, &p, name, title, xlabel, ylabel, why, whylen) != 0)
        return -1;
    plot_subtitle(&p, title, fixed_line);
    const char *sym = report_axis_symbol(axis);
    fprintf(p.gp, "set logscale x 2\nset logscale y 10\nset format x \"%%g\"\nset format y \"%%g\"\n"
                  "set offsets graph 0.03, graph 0.03, 0, 0\n"
                  "# dashed: the least-squares fit t = c * %s^p (p and its 95%% CI in the legend)\n", sym);
    int items = 0, marked = 0;
    char body[8192] = "";
    size_t bu = 0;
    double xlo = INFINITY, xhi = 0;
    for (long i = 0; i < nv && lines < MAX_SERIES_LINES; i++) {
        struct series *s = &v[i];
        if (!in_plot(s, family, axis))
            continue;
        char columns[64];
        snprintf(columns, sizeof columns, "%s  median_s  ci_lo_s  ci_hi_s", kb_axis_info(axis)->key);
        int b = block_begin(&p, s->label, columns);
        for (int j = 0; j < s->count; j++) {
            const struct kb_stats *st = &s->rows[j]->stats;
            int ci = report_has_ci(s->rows[j]) && isfinite(st->ci_lo) && isfinite(st->ci_hi); /* none for n < 3 */
            fprintf(p.dat, "%.0f %.9g %.9g %.9g\n", s->x[j], st->median, ci ? st->ci_lo : st->median,
                    ci ? st->ci_hi : st->median);
            xlo = fmin(xlo, s->x[j]);
            xhi = fmax(xhi, s->x[j]);
        }
        char fit[96], text[320], key[384];
        fit_text(s, fit, sizeof fit);
        snprintf(text, sizeof text, "%s  %s", s->label, fit);
        gnuplot_quote(key, sizeof key, text);
        lines++;
        plot_item(&p, &items, "\"%s.dat\" index %d using 1:($2*%g):($3*%g):($4*%g) with yerrorlines lt %d pt 7 ps 0.6 title %s",
                  p.name, b, scale, scale, scale, lines, key);
        if (s->fitted && bu < sizeof body)
            bu += (size_t)snprintf(body + bu, sizeof body - bu, "fit%d(x) = %.9g * x**%.6g\n", lines,
                                   exp(s->fit.log_coef) * scale, s->fit.exponent);
        if (s->fitted)
            plot_item(&p, &items, "fit%d(x) with lines lt %d dt 2 lw 1 notitle", lines, lines);
    }
    /* Crossovers: where one series of the plot overtakes another comparable one; the line is
     * drawn only inside the measured range, so it never leaves the frame. */
    for (long i = 0; i < nv; i++)
        for (long j = i + 1; j < nv; j++) {
            if (!in_plot(&v[i], family, axis) || !in_plot(&v[j], family, axis) ||
                !report_series_alternatives(&v[i], &v[j]))
                continue;
            double x[4];
            int k = scaling_crossovers(v[i].x, v[i].t, v[i].count, v[j].x, v[j].t, v[j].count, x, 4, NULL);
            for (int c = 0; c < k && c < 4 && marked < 8; c++) {
                if (!(x[c] >= xlo && x[c] <= xhi))
                    continue;
                char a[128], b[128], text[300], q[340];
                series_name(&v[i], &v[j], a, sizeof a);
                series_name(&v[j], &v[i], b, sizeof b);
                /* the axes that tell this pair from the plot's other pairs (route=zipf) */
                const char *dims = strstr(v[i].label, "] ");
                snprintf(text, sizeof text, "%s = %s at %s ≈ %.0f%s%s%s", a, b, sym, x[c], dims ? " (" : "",
                         dims ? dims + 2 : "", dims ? ")" : "");
                gnuplot_quote(q, sizeof q, text);
                fprintf(p.gp,
                        "set arrow from %.6g, graph 0 to %.6g, graph 1 nohead dt 3 lc rgb \"#aa3333\"\n"
                        "set label %s at %.6g, graph 0.03 rotate by 90 left offset -0.6,0 font \",8\" tc rgb \"#aa3333\"\n",
                        x[c], x[c], q, x[c]);
                marked++;
            }
        }
    fputs(body, p.gp);
    char caption[640];
    snprintf(caption, sizeof caption,
             "Median time per call against %s %s, both axes logarithmic; bars are the 95%% bootstrap CI of the "
             "median. Dashed lines are least-squares fits t = c·%s^p; the legend gives p with its 95%% CI. "
             "Red dotted lines mark measured crossovers between alternatives for one job (%d).%s%s", report_axis_title(axis), sym, sym, marked,
             *fixed ? " Fixed: " : "", fixed);
    return plot_end(&p, title, caption, why, whylen);
}

static int throughput_plot(struct report *r, const char *family, enum kb_axis axis, struct series *v, long nv,
                           char *why, size_t whylen)
{
    int any = 0;
    for (long i = 0; i < nv; i++)
        if (in_plot(&v[i], family, axis) && v[i].proto->flops_per_s > 0)
            any = 1;
    if (!any)
        return 0;
    char name[96], title[192], xlabel[128], fixed[256];
    plot_name(name, sizeof name, "throughput", family, axis, v, nv);
    snprintf(title, sizeof title, "%s: throughput vs %s %s (run %lld)", family, report_axis_title(axis),
             report_axis_symbol(axis), (long long)r->runs[0].run.id);
    report_axis_label(axis, 1, xlabel, sizeof xlabel);
    report_series_fixed(v, nv, family, axis, fixed, sizeof fixed);
    char fixed_line[300] = "";
    if (*fixed)
        snprintf(fixed_line, sizeof fixed_line, "fixed: %s", fixed);
    struct plot p;
    if (plot_begin(r, &p, name, title, xlabel, "GFLOP/s (10^9 useful FLOP per second)", why, whylen) != 0)
        return -1;
    plot_subtitle(&p, title, fixed_line);
    /* The y range holds the data and every ceiling line, so no ceiling falls off the top; unless
     * the data stay under a third of the ceiling, when drawing it would flatten every curve onto
     * the axis: then the ceiling is named at the top instead, with how far below it the cases are. */
    double data_top = 0, ceiling_top = 0;
    for (long i = 0; i < nv; i++)
        for (int j = 0; j < v[i].count; j++)
            if (in_plot(&v[i], family, axis) && v[i].rows[j]->flops_per_s > data_top)
                data_top = v[i].rows[j]->flops_per_s;
    for (long i = 0; i < nv; i++) {
        double c = !in_plot(&v[i], family, axis)
                       ? 0
                       : roofline_compute(&r->runs[0].roof, v[i].device, v[i].dtype, v[i].proto->threads);
        if (c > ceiling_top)
            ceiling_top = c;
    }
    int ceilings_shown = !(data_top < ceiling_top / 3);
    double top = ceilings_shown ? fmax(data_top, ceiling_top) : data_top;
    fprintf(p.gp, "set logscale x 2\nset format x \"%%g\"\nset yrange [0:%.6g]\nset offsets graph 0.03, graph 0.03, 0, 0\n",
            top * 1.12e-9);
    /* The compute ceilings the series run under, as horizontal lines. */
    const struct roofline *roof = &r->runs[0].roof;
    double drawn[8];
    int ndrawn = 0, items = 0, lines = 0;
    for (long i = 0; i < nv; i++) {
        if (!in_plot(&v[i], family, axis))
            continue;
        double c = roofline_compute(roof, v[i].device, v[i].dtype, v[i].proto->threads);
        int seen = !(c > 0);
        for (int k = 0; k < ndrawn; k++)
            seen |= drawn[k] == c;
        if (seen || ndrawn == 8)
            continue;
        char text[200], q[240];
        snprintf(text, sizeof text, "%s ceiling, %d thread%s (%s): %.1f GFLOP/s%s", v[i].dtype, v[i].proto->threads,
                 v[i].proto->threads == 1 ? "" : "s", roof->measured ? "measured" : "nominal", c * 1e-9,
                 ceilings_shown ? "" : " - above the plot");
        gnuplot_quote(q, sizeof q, text);
        if (ceilings_shown)
            fprintf(p.gp, "set arrow from graph 0, first %.6g to graph 1, first %.6g nohead dt 4 lc rgb \"#777777\"\n"
                          "set label %s at graph 0.02, first %.6g offset 0,0.6 font \",8\" tc rgb \"#555555\"\n",
                    c * 1e-9, c * 1e-9, q, c * 1e-9);
        else
            fprintf(p.gp, "set label %s at graph 0.02, graph %.2f font \",8\" tc rgb \"#555555\"\n", q,
                    0.97 - 0.04 * ndrawn);
        drawn[ndrawn++] = c;
    }
    for (long i = 0; i < nv && lines < MAX_SERIES_LINES; i++) {
        struct series *s = &v[i];
        if (!in_plot(s, family, axis) || !(s->proto->flops_per_s > 0))
            continue;
        char columns[64];
        snprintf(columns, sizeof columns, "%s  gflops", kb_axis_info(axis)->key);
        int b = block_begin(&p, s->label, columns);
        for (int j = 0; j < s->count; j++)
            if (s->rows[j]->flops_per_s > 0)
                fprintf(p.dat, "%.0f %.6g\n", s->x[j], s->rows[j]->flops_per_s * 1e-9);
        char key[256];
        gnuplot_quote(key, sizeof key, s->label);
        lines++;
        plot_item(&p, &items, "\"%s.dat\" index %d using 1:2 with linespoints lt %d pt 7 ps 0.6 title %s", p.name, b,
                  lines, key);
    }
    char caption[640];
    snprintf(caption, sizeof caption,
             "Useful floating-point work per second (the kernel's analytic FLOP count over its median time) against "
             "%s %s. %s%s%s", report_axis_title(axis), report_axis_symbol(axis),
             ceilings_shown ? "Grey dashed lines: the compute ceiling for the dtype and thread count."
                            : "The compute ceilings, named at the top, lie more than 3x above every case: the y axis "
                              "ends near the cases so their differences stay visible.",
             *fixed ? " Fixed: " : "", fixed);
    return plot_end(&p, title, caption, why, whylen);
}

/* ---- roofline ---------------------------------------------------------------------------------- */

/* One roof of the roofline plot: a device, dtype and thread count with a compute ceiling. */
struct roof_line {
    char device[16], dtype[8];
    int threads;
    double compute, bandwidth; /* FLOP/s, bytes/s (NaN: unknown) */
};

/* The roofs the plotted series run under, one per distinct (compute, bandwidth) pair. */
static int collect_roofs(const struct roofline *roof, const struct series *v, long nv, struct roof_line *out, int max)
{
    int n = 0;
    for (long i = 0; i < nv; i++) {
        if (!plotted_family(v[i].family) || !(v[i].proto->flops > 0 && v[i].proto->bytes > 0))
            continue;
        int t = v[i].proto->threads;
        double c = roofline_compute(roof, v[i].device, v[i].dtype, t), bw = roofline_bandwidth(roof, v[i].device, t);
        if (!(c > 0))
            continue;
        int seen = 0;
        for (int k = 0; k < n; k++)
            seen |= out[k].compute == c && (out[k].bandwidth == bw || (isnan(bw) && isnan(out[k].bandwidth)));
        if (seen || n == max)
            continue;
        snprintf(out[n].device, sizeof out[n].device, "%s", v[i].device);
        snprintf(out[n].dtype, sizeof out[n].dtype, "%s", v[i].dtype);
        out[n].threads = t;
        out[n].compute = c;
        out[n].bandwidth = bw;
        n++;
    }
    return n;
}

/* Lays out a legend of `entries` titles (the longest `longest` characters) below the plot so
 * that it can never overprint the x label. gnuplot anchors a below-plot key at the foot of the
 * canvas when the bottom margin is set, so a margin of the key's rows plus the tic labels, the x
 * label and a gap keeps the label above the key. The rows must be known here, not left to gnuplot,
 * which picks its own number of columns from its own estimate of the titles' widths: one column
 * ("maxcols 1") where that is all that fits across the canvas or the rows take at most half of
 * it, else "maxrows R" (gnuplot never draws more rows than that and spreads the rest over columns,
 * evenly filled here, and narrowed by a fifth of the longest title since gnuplot's estimate of a
 * title's width is about that much too wide). Written as "set key ..." and "set bmargin B" with
 * B = rows + 4; tests/report.sh checks that B >= rows + 2. */
static void key_below(FILE *gp, int entries, int longest, int width_px, int height_px)
{
    /* 17 px is above the line height and 7 px above the mean character width of the png (10 pt),
     * svg (11 px) and pdf (9 pt) fonts; a column also holds the line sample and a gap */
    const int lines = height_px / 17, col_px = longest * 7 + 60;
    int fit_cols = (width_px - 80) / col_px, half_rows = lines / 2 - 4, most_rows = lines - 10;
    fit_cols = fit_cols < 1 ? 1 : fit_cols;
    half_rows = half_rows < 3 ? 3 : half_rows;
    most_rows = most_rows < 3 ? 3 : most_rows;
    int cols = (entries + half_rows - 1) / half_rows;
    cols = cols > fit_cols ? fit_cols : cols;
    cols = cols < 1 ? 1 : cols;
    int rows = (entries + cols - 1) / cols;
    if (rows > most_rows) { /* too many for the canvas: clip columns at the right, never the plot */
        cols = (entries + most_rows - 1) / most_rows;
        rows = (entries + cols - 1) / cols;
    }
    char layout[64];
    if (cols == 1)
        snprintf(layout, sizeof layout, "maxcols 1");
    else
        snprintf(layout, sizeof layout, "maxrows %d width %d", rows, -(longest / 5));
    fprintf(gp, "# legend: %d entries, at most %d rows (%d column%s), anchored at the foot of the canvas; the\n"
                "# bottom margin holds its rows, the tic labels, the x label and a gap, so the x label stays clear\n"
                "set key below left vertical Left reverse %s noautotitle samplen 3 font \",9\"\n"
                "set bmargin %d\n",
            entries, rows, cols, cols == 1 ? "" : "s", layout, rows + 4);
}

static int roofline_plot(struct report *r, struct series *v, long nv, char *why, size_t whylen)
{
    double lo = INFINITY, hi = 0;
    int points = 0;
    for (long i = 0; i < nv; i++)
        for (int j = 0; j < v[i].count; j++) {
            const struct result_row *x = v[i].rows[j];
            if (plotted_family(v[i].family) && x->flops > 0 && x->bytes > 0 && x->flops_per_s > 0) {
                double ai = x->flops / x->bytes;
                lo = ai < lo ? ai : lo;
                hi = ai > hi ? ai : hi;
                points++;
            }
        }
    if (!(hi > 0))
        return 0;
    const struct report_run *run = &r->runs[0];
    const struct roofline *roof = &run->roof;
    char title[192];
    snprintf(title, sizeof title, "Roofline: achieved FLOP/s vs arithmetic intensity (run %lld)", (long long)run->run.id);
    struct plot p;
    if (plot_begin(r, &p, "roofline", title, "arithmetic intensity (FLOP per byte of minimal traffic, log scale)",
                   "achieved GFLOP/s (log scale)", why, whylen) != 0)
        return -1;
    struct roof_line roofs[8];
    int nroofs = collect_roofs(roof, v, nv, roofs, 8);
    char defs[4096] = "";
    size_t ru = 0;
    for (int k = 0; k < nroofs; k++) {
        double c = roofs[k].compute, bw = roofs[k].bandwidth;
        if (bw > 0) {
            double ridge = c / bw; /* extend the x range to show where the bandwidth roof meets compute */
            lo = ridge < lo ? ridge : lo;
            hi = ridge > hi ? ridge : hi;
            ru += (size_t)snprintf(defs + ru, sizeof defs - ru, "roof%d(x) = (x * %.6g < %.6g) ? x * %.6g : %.6g\n",
                                   k, bw * 1e-9, c * 1e-9, bw * 1e-9, c * 1e-9);
        } else {
            ru += (size_t)snprintf(defs + ru, sizeof defs - ru, "roof%d(x) = %.6g\n", k, c * 1e-9);
        }
    }
    fprintf(p.gp, "set logscale xy 10\nset format x \"%%g\"\nset format y \"%%g\"\nset xrange [%.6g:%.6g]\nset samples 400\n%s",
            lo / 3, hi * 3, defs);
    int items = 0, lines = 0, entries = 0, longest = 0; /* legend titles, for its layout */
    for (int k = 0; k < nroofs; k++) {
        const struct roof_line *f = &roofs[k];
        char text[256], q[300];
        if (f->bandwidth > 0)
            snprintf(text, sizeof text, "roof, %s %s, %d thread%s: %.1f GFLOP/s, %.1f GB/s (%s)", f->device, f->dtype,
                     f->threads, f->threads == 1 ? "" : "s", f->compute * 1e-9, f->bandwidth * 1e-9,
                     roof->measured ? "measured" : "nominal");
        else
            snprintf(text, sizeof text, "compute roof, %s %s, %d thread%s: %.1f GFLOP/s (bandwidth not measured)",
                     f->device, f->dtype, f->threads, f->threads == 1 ? "" : "s", f->compute * 1e-9);
        gnuplot_quote(q, sizeof q, text);
        entries++;
        longest = (int)fmax(longest, (double)strlen(text));
        plot_item(&p, &items, "roof%d(x) with lines lw 2 dt %d lc rgb \"#444444\" title %s", k, k + 1, q);
    }
    /* Each point labelled by its swept axis's value where the label has room: a label that
     * would overprint one already placed is left empty (series of constant intensity stack). */
    double ylo = INFINITY, yhi = 0;
    for (long i = 0; i < nv; i++)
        for (int j = 0; j < v[i].count; j++)
            if (v[i].rows[j]->flops_per_s > 0) {
                ylo = fmin(ylo, v[i].rows[j]->flops_per_s * 1e-9);
                yhi = fmax(yhi, v[i].rows[j]->flops_per_s * 1e-9);
            }
    for (int k = 0; k < nroofs; k++)
        yhi = fmax(yhi, roofs[k].compute * 1e-9);
    struct label_room lr;
    label_room_init(&lr, lo / 3, hi * 3, ylo, yhi);
    int labelled = points <= 120;
    for (long i = 0; i < nv && lines < MAX_SERIES_LINES; i++) {
        struct series *s = &v[i];
        if (!plotted_family(s->family) || !(s->proto->flops > 0 && s->proto->bytes > 0))
            continue;
        int b = block_begin(&p, s->label, "intensity_flop_per_byte  gflops  x  fraction_of_roof  point_label");
        for (int j = 0; j < s->count; j++) {
            const struct result_row *x = s->rows[j];
            if (!(x->flops > 0 && x->bytes > 0 && x->flops_per_s > 0))
                continue;
            double ai = x->flops / x->bytes, gf = x->flops_per_s * 1e-9;
            int room = labelled && label_room_take(&lr, ai, gf);
            char text[48] = "";
            if (room)
                snprintf(text, sizeof text, "%s=%.0f", report_axis_symbol(s->axis), s->x[j]);
            fprintf(p.dat, "%.6g %.6g %.0f %.4g \"%s\"\n", ai, gf, s->x[j], roofline_fraction(roof, x), text);
        }
        char key[256];
        gnuplot_quote(key, sizeof key, s->label);
        lines++;
        entries++;
        longest = (int)fmax(longest, (double)strlen(s->label));
        plot_item(&p, &items, "\"%s.dat\" index %d using 1:2 with points lt %d pt 7 ps 0.8 title %s", p.name, b, lines,
                  key);
        if (labelled)
            plot_item(&p, &items, "\"%s.dat\" index %d using 1:2:5 with labels offset 0,0.8 font \",7\" tc lt %d notitle",
                      p.name, b, lines);
    }
    key_below(p.gp, entries, longest, r->opt->width, r->opt->height);
    char caption[1024], src[512];
    roofline_describe(roof, src, sizeof src);
    snprintf(caption, sizeof caption,
             "Each point is one case: its analytic FLOPs over its minimal bytes (x) against the FLOP/s it reached (y)%s "
             "(where the label has room). "
             "Lines are the roofs min(compute, intensity × bandwidth) for each device, dtype and thread count in the "
             "run; %s.", labelled ? ", labelled by the value of the axis its series sweeps" : "", src);
    return plot_end(&p, title, caption, why, whylen);
}

/* ---- speed-up against a baseline kernel ---------------------------------------------------------- */

static int speedup_plot(struct report *r, const char *family, enum kb_axis axis, struct series *v, long nv, char *why,
                        size_t whylen)
{
    const char *base = r->opt->baseline_kernel;
    int pairs = 0;
    for (long i = 0; i < nv; i++)
        for (long j = 0; j < nv; j++)
            pairs += in_plot(&v[i], family, axis) && strcmp(v[j].kernel, base) == 0 &&
                     strcmp(v[i].kernel, base) != 0 && report_series_comparable(&v[i], &v[j]);
    if (!pairs)
        return 0;
    char name[96], title[192], xlabel[128];
    plot_name(name, sizeof name, "speedup", family, axis, v, nv);
    report_axis_label(axis, 1, xlabel, sizeof xlabel);
    snprintf(title, sizeof title, "%s: speed-up over %s (run %lld)", family, base, (long long)r->runs[0].run.id);
    struct plot p;
    char ylabel[160];
    snprintf(ylabel, sizeof ylabel, "speed-up: time of %s / time (log scale; > 1 is faster)", base);
    if (plot_begin(r, &p, name, title, xlabel, ylabel, why, whylen) != 0)
        return -1;
    fprintf(p.gp, "set logscale x 2\nset logscale y 10\nset format x \"%%g\"\nset format y \"%%g\"\n"
                  "set offsets graph 0.03, graph 0.03, 0, 0\n"
                  "set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb \"#444444\"\n");
    int items = 0, lines = 0;
    for (long i = 0; i < nv; i++)
        for (long j = 0; j < nv && lines < MAX_SERIES_LINES; j++) {
            if (!in_plot(&v[i], family, axis) || strcmp(v[j].kernel, base) || !strcmp(v[i].kernel, base) ||
                !report_series_comparable(&v[i], &v[j]))
                continue;
            int b = block_begin(&p, v[i].label, "x  speedup  baseline_s  time_s"), points = 0;
            for (int a = 0; a < v[i].count; a++)
                for (int c = 0; c < v[j].count; c++)
                    if (v[i].x[a] == v[j].x[c]) {
                        fprintf(p.dat, "%.0f %.6g %.9g %.9g\n", v[i].x[a], v[j].t[c] / v[i].t[a], v[j].t[c], v[i].t[a]);
                        points++;
                    }
            if (!points)
                fprintf(p.dat, "# no shared %s\n", report_axis_symbol(axis));
            char key[256];
            gnuplot_quote(key, sizeof key, v[i].label);
            lines++;
            plot_item(&p, &items, "\"%s.dat\" index %d using 1:2 with linespoints lt %d pt 7 ps 0.6 title %s", p.name, b,
                      lines, key);
        }
    char caption[512];
    snprintf(caption, sizeof caption,
             "How many times faster each kernel is than %s with the same shape, threads and cache state, at each "
             "%s %s both measured.", base, report_axis_title(axis), report_axis_symbol(axis));
    return plot_end(&p, title, caption, why, whylen);
}

/* ---- accuracy against speed --------------------------------------------------------------------- */

static int reduced_precision(const struct series *s)
{
    /* by dtype: the quant family's float counterparts (gemm.f32, the I-ViT f32 kernels) are the
     * full-precision reference points of its trade-off */
    return strcmp(s->dtype, "f32") != 0 && strcmp(s->dtype, "f64") != 0;
}

static int accuracy_plot(struct report *r, struct series *v, long nv, char *why, size_t whylen)
{
    /* Families with a reduced-precision or quantized series; their full-precision series are
     * drawn too, as the reference points of the trade-off. */
    int any = 0;
    for (long i = 0; i < nv; i++)
        any |= plotted_family(v[i].family) && reduced_precision(&v[i]);
    if (!any)
        return 0;
    double max_t = 0;
    int points_all = 0;
    for (long i = 0; i < nv; i++)
        for (int j = 0; j < v[i].count; j++) {
            max_t = fmax(max_t, v[i].t[j]);
            points_all++;
        }
    double scale;
    const char *unit;
    time_unit(max_t, &scale, &unit);
    char title[192], xlabel[96];
    snprintf(title, sizeof title, "Accuracy vs speed (run %lld)", (long long)r->runs[0].run.id);
    snprintf(xlabel, sizeof xlabel, "median time per call (%s, log scale)", unit);
    struct plot p;
    if (plot_begin(r, &p, "accuracy", title, xlabel, "relative L2 error against the float64 reference (log scale)",
                   why, whylen) != 0)
        return -1;
    fprintf(p.gp, "set logscale xy 10\nset format x \"%%g\"\nset format y \"%%.0e\"\nset offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05\n");
    int items = 0, lines = 0, labelled = points_all <= 120;
    /* the frame the labels are placed in: the times (offsets 5% each side) and the errors */
    double tlo = INFINITY, thi = 0, elo = INFINITY, ehi = 0;
    for (long i = 0; i < nv; i++)
        for (int j = 0; j < v[i].count; j++) {
            const struct result_row *x = v[i].rows[j];
            if (x->verified && x->rel_l2_err > 0 && isfinite(x->rel_l2_err)) {
                tlo = fmin(tlo, x->stats.median);
                thi = fmax(thi, x->stats.median);
                elo = fmin(elo, x->rel_l2_err);
                ehi = fmax(ehi, x->rel_l2_err);
            }
        }
    struct label_room lr;
    label_room_init(&lr, tlo > 0 ? tlo / 1.4 : 1e-9, thi > 0 ? thi * 1.4 : 1, elo > 0 ? elo : 1e-9, ehi > 0 ? ehi : 1);
    for (long i = 0; i < nv && lines < MAX_SERIES_LINES; i++) {
        int family_has = 0;
        for (long j = 0; j < nv; j++)
            family_has |= strcmp(v[j].family, v[i].family) == 0 && reduced_precision(&v[j]);
        if (!family_has || !plotted_family(v[i].family))
            continue;
        int b = block_begin(&p, v[i].label, "median  rel_l2_err  x  point_label"), points = 0;
        for (int j = 0; j < v[i].count; j++) {
            const struct result_row *x = v[i].rows[j];
            if (x->verified && x->rel_l2_err > 0 && isfinite(x->rel_l2_err)) {
                char text[48] = "";
                if (labelled && label_room_take(&lr, x->stats.median, x->rel_l2_err))
                    snprintf(text, sizeof text, "%s=%.0f", report_axis_symbol(v[i].axis), v[i].x[j]);
                fprintf(p.dat, "%.9g %.6g %.0f \"%s\"\n", x->stats.median * scale, x->rel_l2_err, v[i].x[j], text);
                points++;
            }
        }
        if (!points) {
            fprintf(p.dat, "# no verified points with a non-zero error\n");
            continue;
        }
        char key[256];
        gnuplot_quote(key, sizeof key, v[i].label);
        lines++;
        plot_item(&p, &items, "\"%s.dat\" index %d using 1:2 with linespoints lt %d pt %d ps 0.8 title %s", p.name, b,
                  lines, reduced_precision(&v[i]) ? 5 : 7, key);
        if (labelled)
            plot_item(&p, &items, "\"%s.dat\" index %d using 1:2:4 with labels offset 0,0.8 font \",7\" tc lt %d notitle",
                      p.name, b, lines);
    }
    if (!items) {
        plot_abandon(&p);
        report_note(r, "accuracy plot left out: no reduced-precision case had a measurable error");
        return 0;
    }
    return plot_end(&p, title,
                    "Each point is one case: its median time (x) and its relative L2 error against the float64 "
                    "reference (y), labelled by the value of the axis its series sweeps. Squares are reduced-precision "
                    "or quantized kernels, circles full precision; down and to the left is better.", why, whylen);
}

/* ---- MoE expert load ----------------------------------------------------------------------------- */

/* The per-expert load counters of a case, moe.load.e000, e001, ...; the summary counters
 * beside them (moe.load.max, .mean, .imbalance, ...) are not experts. */
struct moe_counters {
    char names[256][16];
    double values[256];
    int n;
};

static int take_moe(const struct kb_counter *k, void *ctx)
{
    struct moe_counters *m = ctx;
    const char *e = k->name + 9;
    if (strncmp(k->name, "moe.load.e", 10) != 0 || strspn(e + 1, "0123456789") != strlen(e + 1) || !e[1] ||
        m->n == 256)
        return 0;
    snprintf(m->names[m->n], sizeof m->names[0], "%s", e);
    m->values[m->n++] = k->value;
    return 0;
}

#define MAX_LOAD_PLOTS 8

/* One histogram per distinct routing outcome: the kernels of one MoE layer see the same router
 * output, so their identical loads are drawn once, naming every kernel that had it. */
struct load_plot {
    struct moe_counters m;
    const struct result_row *row; /* the first case with this load */
    char kernels[256];
};

static int moe_plots(struct report *r, struct series *v, long nv, char *why, size_t whylen)
{
    struct load_plot *lp = calloc(MAX_LOAD_PLOTS, sizeof *lp);
    if (!lp) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    int np = 0, dropped = 0, rc = 0;
    struct moe_counters m;
    for (long i = 0; i < nv; i++) {
        /* The largest case of each series: the load at the far end of its sweep. */
        const struct result_row *x = v[i].rows[v[i].count - 1];
        m.n = 0;
        if (store_list_counters(r->store, x->case_id, take_moe, &m) != 0) {
            snprintf(why, whylen, "%s", store_errmsg(r->store));
            free(lp);
            return -1;
        }
        if (m.n == 0)
            continue;
        int k = 0;
        while (k < np && !(lp[k].m.n == m.n && memcmp(lp[k].m.values, m.values, sizeof m.values[0] * (size_t)m.n) == 0 &&
                           lp[k].row->shape.tokens == x->shape.tokens))
            k++;
        if (k == np) {
            if (np == MAX_LOAD_PLOTS) {
                dropped++;
                continue;
            }
            lp[np].m = m;
            lp[np].row = x;
            np++;
        }
        size_t u = strlen(lp[k].kernels);
        snprintf(lp[k].kernels + u, sizeof lp[k].kernels - u, "%s%s@%s", u ? ", " : "", x->kernel, x->impl);
    }
    for (int k = 0; k < np && rc == 0; k++) {
        const struct moe_counters *c = &lp[k].m;
        const struct result_row *x = lp[k].row;
        char name[96], title[256], shape[192];
        snprintf(name, sizeof name, np == 1 ? "moe_load" : "moe_load_%d", k + 1);
        report_shape_text(x, shape, sizeof shape);
        snprintf(title, sizeof title, "Expert load: tokens per expert, %s (run %lld)", shape,
                 (long long)r->runs[0].run.id);
        struct plot p;
        if ((rc = plot_begin(r, &p, name, title, "expert (counter moe.load.<expert>)", "tokens routed to the expert", why,
                             whylen)) != 0)
            break;
        char kernels[300];
        snprintf(kernels, sizeof kernels, "measured in %s", lp[k].kernels);
        plot_subtitle(&p, title, kernels);
        double total = 0, max = 0;
        block_begin(&p, "tokens per expert", "index  tokens  expert");
        for (int e = 0; e < c->n; e++) {
            fprintf(p.dat, "%d %.6g \"%s\"\n", e, c->values[e], c->names[e]);
            total += c->values[e];
            max = c->values[e] > max ? c->values[e] : max;
        }
        fprintf(p.gp, "set style fill solid 0.7 border -1\nset boxwidth 0.8\nset yrange [0:*]\nset xrange [-0.7:%d.7]\n"
                      "set key off\nset grid noxtics\n%s",
                c->n - 1, c->n > 24 ? "set xtics 0, 4\n" : "");
        if (total > 0)
            fprintf(p.gp, "set arrow from graph 0, first %.6g to graph 1, first %.6g nohead dt 2 lc rgb \"#d55e00\"\n"
                          "set label \"uniform share: %.4g tokens\" at graph 0.99, first %.6g right offset 0,0.6 tc rgb \"#d55e00\"\n",
                    total / c->n, total / c->n, total / c->n, total / c->n);
        fprintf(p.cmd, "plot \"%s.dat\" index 0 using 1:2%s with boxes lc rgb \"#0072b2\"", p.name,
                c->n <= 24 ? ":xtic(3)" : "");
        char caption[640];
        snprintf(caption, sizeof caption,
                 "Tokens (token-expert assignments, top-k per token) routed to each expert in the case %s, from the "
                 "stored moe.load.<expert> counters (%d experts, %.0f assignments; the busiest expert took %.2f× the "
                 "uniform share). Measured in %s.", shape, c->n, total, total > 0 ? max / (total / c->n) : 0,
                 lp[k].kernels);
        rc = plot_end(&p, title, caption, why, whylen);
    }
    if (rc == 0 && dropped)
        report_note(r, "%d further expert-load histograms left out (at most %d are drawn)", dropped, MAX_LOAD_PLOTS);
    free(lp);
    return rc;
}

/* ---- memory a case keeps (hybrid attention stacks) ---------------------------------------------- */

/* The counter a kernel reports for the memory its computation keeps (attention.hybrid: KV caches
 * plus linear states, hybrid_ops.h). */
#define MEMORY_COUNTER "hybrid.cache_bytes"

struct memory_take {
    double bytes; /* NAN until found */
};

static int take_memory(const struct kb_counter *k, void *ctx)
{
    struct memory_take *m = ctx;
    if (strcmp(k->name, MEMORY_COUNTER) == 0)
        m->bytes = k->value;
    return 0;
}

/* One line per series that reports MEMORY_COUNTER: bytes kept against its swept axis (a sweep
 * over seq and ratio draws one line per ratio). */
static int memory_plot(struct report *r, struct series *v, long nv, char *why, size_t whylen)
{
    struct plot p;
    int begun = 0, lines = 0, items = 0;
    enum kb_axis axis = KB_AXIS_SEQ;
    for (long i = 0; i < nv && lines < MAX_SERIES_LINES; i++) {
        struct series *s = &v[i];
        double *bytes = malloc((size_t)s->count * sizeof *bytes);
        if (!bytes) {
            snprintf(why, whylen, "out of memory");
            if (begun)
                plot_abandon(&p);
            return -1;
        }
        int found = 0;
        for (int j = 0; j < s->count; j++) {
            struct memory_take m = { NAN };
            if (store_list_counters(r->store, s->rows[j]->case_id, take_memory, &m) != 0) {
                snprintf(why, whylen, "%s", store_errmsg(r->store));
                free(bytes);
                if (begun)
                    plot_abandon(&p);
                return -1;
            }
            bytes[j] = m.bytes;
            found += isfinite(m.bytes);
            if (j == 0 && !found)
                break; /* a kernel without the counter: one query per series, not per case */
        }
        if (!found || (begun && s->axis != axis)) {
            free(bytes);
            continue;
        }
        if (!begun) {
            axis = s->axis;
            char title[192], xlabel[128];
            snprintf(title, sizeof title, "Memory kept (KV caches + linear states) vs %s %s (run %lld)",
                     report_axis_title(axis), report_axis_symbol(axis), (long long)r->runs[0].run.id);
            report_axis_label(axis, 1, xlabel, sizeof xlabel);
            if (plot_begin(r, &p, "memory_hybrid", title, xlabel, "bytes kept (MiB, log scale)", why, whylen) != 0) {
                free(bytes);
                return -1;
            }
            fprintf(p.gp, "set logscale x 2\nset logscale y 10\nset format x \"%%g\"\nset format y \"%%g\"\n"
                          "set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05\n");
            begun = 1;
        }
        char columns[64], key[256];
        snprintf(columns, sizeof columns, "%s  bytes", kb_axis_info(axis)->key);
        int b = block_begin(&p, s->label, columns);
        for (int j = 0; j < s->count; j++)
            if (isfinite(bytes[j]) && bytes[j] > 0)
                fprintf(p.dat, "%.0f %.9g\n", s->x[j], bytes[j]);
        free(bytes);
        gnuplot_quote(key, sizeof key, s->label);
        lines++;
        plot_item(&p, &items, "\"%s.dat\" index %d using 1:($2/1048576) with linespoints lt %d pt 7 ps 0.6 title %s",
                  p.name, b, lines, key);
    }
    if (!begun)
        return 0;
    char title[192];
    snprintf(title, sizeof title, "Memory kept (KV caches + linear states) vs %s %s (run %lld)",
             report_axis_title(axis), report_axis_symbol(axis), (long long)r->runs[0].run.id);
    return plot_end(&p, title,
                    "Bytes a hybrid attention stack keeps for its context, from the stored counter " MEMORY_COUNTER
                    ": 2·B·H_kv·N·d·s per softmax layer (its KV cache) plus 4·B·H·(d²+d) per linear layer (its "
                    "float32 state), one line per series (per ratio in a sweep over ratios).",
                    why, whylen);
}

/* ---- two runs ------------------------------------------------------------------------------------ */

static int ratio_plot(struct report *r, int other, struct series *base, long nb, char *why, size_t whylen)
{
    struct series *v;
    long nv = report_series_build(r->runs[other].rows, r->runs[other].n, r->opt->x_axis, &v);
    if (nv < 0) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    long long a = r->runs[0].run.id, b = r->runs[other].run.id;
    char name[96], title[192];
    snprintf(name, sizeof name, "ratio_run%lld_vs_run%lld", b, a);
    int matched = 0;
    double log_sum = 0;
    struct plot p;
    int opened = 0, items = 0, lines = 0, rc = 0;
    for (long i = 0; i < nb && lines < MAX_SERIES_LINES; i++)
        for (long j = 0; j < nv; j++) {
            if (strcmp(base[i].kernel, v[j].kernel) || strcmp(base[i].impl, v[j].impl) ||
                strcmp(base[i].device, v[j].device) || strcmp(base[i].dtype, v[j].dtype) ||
                base[i].axis != v[j].axis || !report_series_comparable(&base[i], &v[j]))
                continue;
            int shared = 0;
            for (int x = 0; x < base[i].count; x++)
                for (int y = 0; y < v[j].count; y++)
                    shared += base[i].x[x] == v[j].x[y];
            if (!shared)
                continue;
            if (!opened) {
                snprintf(title, sizeof title, "Run %lld against run %lld: ratio of median times", b, a);
                /* the x axis of the first pair; series along other axes are drawn against their own
                 * values, which the data file's block headers name */
                char xlabel[128];
                report_axis_label(base[i].axis, 1, xlabel, sizeof xlabel);
                if (plot_begin(r, &p, name, title, xlabel,
                               "time in the later run / time in the first (log scale; < 1 is faster)", why, whylen) != 0) {
                    report_series_free(v, nv);
                    return -1;
                }
                fprintf(p.gp, "set logscale x 2\nset logscale y 2\nset format x \"%%g\"\nset format y \"%%g\"\n"
                              "set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05\n"
                              "set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb \"#444444\"\n");
                opened = 1;
            }
            int blk = block_begin(&p, base[i].label, "x  ratio  first_s  later_s");
            for (int x = 0; x < base[i].count; x++)
                for (int y = 0; y < v[j].count; y++)
                    if (base[i].x[x] == v[j].x[y]) {
                        double q = v[j].t[y] / base[i].t[x];
                        fprintf(p.dat, "%.0f %.6g %.9g %.9g\n", base[i].x[x], q, base[i].t[x], v[j].t[y]);
                        log_sum += log(q);
                        matched++;
                    }
            char key[256];
            gnuplot_quote(key, sizeof key, base[i].label);
            lines++;
            plot_item(&p, &items, "\"%s.dat\" index %d using 1:2 with linespoints lt %d pt 7 ps 0.6 title %s", p.name,
                      blk, lines, key);
        }
    report_series_free(v, nv);
    if (!opened) {
        report_note(r, "no ratio chart of run %lld against run %lld: they share no case", b, a);
        return 0;
    }
    char caption[512];
    snprintf(caption, sizeof caption,
             "For each case measured in both runs (same kernel, implementation, device, dtype, shape, threads), "
             "the median time in run %lld divided by that in run %lld; %d case%s, geometric mean %.3f.", b, a, matched,
             matched == 1 ? "" : "s",
             exp(log_sum / matched));
    rc = plot_end(&p, title, caption, why, whylen);
    return rc;
}

/* ---- all of them --------------------------------------------------------------------------------- */

int report_plots(struct report *r, char *why, size_t whylen)
{
    struct series *v;
    long nv = report_series_build(r->runs[0].rows, r->runs[0].n, r->opt->x_axis, &v);
    if (nv < 0) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    int rc = 0;
    if (nv == 0 && r->opt->x_axis >= 0)
        report_note(r, "run %lld has no timed case with the axis %s (--x): no plots of it", (long long)r->runs[0].run.id,
                    kb_axis_info((enum kb_axis)r->opt->x_axis)->key);
    else if (nv == 0)
        report_note(r, "run %lld has no timed case: no plots of it", (long long)r->runs[0].run.id);
    /* Families, and the axes each family's series sweep, in order of first appearance. */
    for (long i = 0; i < nv && rc == 0; i++) {
        int first = plotted_family(v[i].family);
        for (long j = 0; j < i; j++)
            first &= !in_plot(&v[j], v[i].family, v[i].axis);
        if (!first)
            continue;
        rc = latency_plot(r, v[i].family, v[i].axis, v, nv, why, whylen);
        if (rc == 0)
            rc = throughput_plot(r, v[i].family, v[i].axis, v, nv, why, whylen);
        if (rc == 0 && r->opt->baseline_kernel)
            rc = speedup_plot(r, v[i].family, v[i].axis, v, nv, why, whylen);
    }
    if (rc == 0)
        rc = roofline_plot(r, v, nv, why, whylen);
    if (rc == 0)
        rc = accuracy_plot(r, v, nv, why, whylen);
    if (rc == 0)
        rc = moe_plots(r, v, nv, why, whylen);
    if (rc == 0)
        rc = memory_plot(r, v, nv, why, whylen);
    if (rc == 0 && r->opt->baseline_kernel) {
        int found = 0;
        for (long i = 0; i < nv; i++)
            found |= strcmp(v[i].kernel, r->opt->baseline_kernel) == 0;
        if (!found)
            report_note(r, "no speed-up plot: the baseline kernel %s has no timed case in run %lld",
                        r->opt->baseline_kernel, (long long)r->runs[0].run.id);
    }
    for (int k = 1; k < r->nruns && rc == 0; k++)
        rc = ratio_plot(r, k, v, nv, why, whylen);
    report_series_free(v, nv);
    return rc;
}

/* ---- paper claims ------------------------------------------------------------------------------ */

static const char *claim_axis_label(const char *metric)
{
    if (strcmp(metric, "speedup") == 0)
        return "speed-up over the baseline (x)";
    if (strcmp(metric, "crossover") == 0)
        return "sequence length N where the candidate overtakes";
    if (strcmp(metric, "flat") == 0)
        return "spread of the time per token (0 = flat)";
    if (strcmp(metric, "exponent") == 0)
        return "scaling exponent p (time ~ N^p)";
    return "cosine similarity to float64";
}

int report_claim_plots(struct report *r, char *why, size_t whylen)
{
    /* small multiples: half the report's plot size */
    struct report_options small = *r->opt;
    small.width = r->opt->width / 2 > 360 ? r->opt->width / 2 : 360;
    small.height = r->opt->height / 2 > 260 ? r->opt->height / 2 : 260;
    const struct report_options *saved = r->opt;
    r->opt = &small;
    r->first_claim_plot = r->nplots;
    int rc = 0;
    for (int i = 0; i < r->nclaims && rc == 0; i++) {
        const struct claim_row *c = &r->claims[i];
        char name[96], title[192], caption[512];
        snprintf(name, sizeof name, "claim_%s", c->claim_id);
        snprintf(title, sizeof title, "%s: %s", c->claim_id, c->verdict);
        struct plot p;
        if ((rc = plot_begin(r, &p, name, title, "", claim_axis_label(c->metric), why, whylen)) != 0)
            break;
        int measured = isfinite(c->measured);
        fprintf(p.dat, "# who value ci_lo ci_hi\n\"paper\" %.9g %.9g %.9g\n", c->paper_value, c->paper_value,
                c->paper_value);
        if (measured)
            fprintf(p.dat, "\"here\" %.9g %.9g %.9g\n", c->measured, isfinite(c->ci_lo) ? c->ci_lo : c->measured,
                    isfinite(c->ci_hi) ? c->ci_hi : c->measured);
        fprintf(p.gp, "set key off\nset style fill solid 0.6 border -1\nset boxwidth 0.5\n"
                      "set xrange [-0.6:1.6]\nset yrange [0:*]\nset xtics (\"paper\" 0, \"here\" 1)\n");
        if (!measured)
            fprintf(p.gp, "set label 1 \"not measured here\" at 1, graph 0.5 center\n");
        int items = 0;
        plot_item(&p, &items, "\"%s.dat\" using 0:2 with boxes lc rgb \"#0072b2\"", p.name);
        if (measured)
            plot_item(&p, &items, "\"%s.dat\" using 0:2:3:4 with yerrorbars lc rgb \"#000000\" pt 0", p.name);
        snprintf(caption, sizeof caption, "%s. The paper: %.4g (%s, on %s); here: %s. Verdict: %s - %s.",
                 c->quote, c->paper_value, c->metric, *c->hardware ? c->hardware : "?",
                 *c->measured_text ? c->measured_text : "not measured", c->verdict, c->reason);
        rc = plot_end(&p, title, caption, why, whylen);
    }
    r->opt = saved;
    return rc;
}
