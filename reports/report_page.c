/* report_page.c - index.md and a self-contained index.html for a report (report.h).
 *
 * Both pages are written by the same code through a small document writer with a Markdown
 * and an HTML back end, so they always say the same things. The HTML page embeds each plot
 * as a base64 data URI and its style sheet inline: it can be mailed or attached on its own.
 */
#include "reports/report.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "reports/reports.h"

enum doc_kind { DOC_MD, DOC_HTML };

struct doc {
    FILE *f;
    enum doc_kind kind;
    const struct report *r;
    int ncols;
};

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void md_text(FILE *f, const char *s, int in_table)
{
    for (; *s; s++) {
        if (*s == '|' && in_table)
            fputs("\\|", f);
        else if (*s == '\n')
            fputc(' ', f);
        else if (strchr("*_`[]<>", *s))
            fprintf(f, "\\%c", *s);
        else
            fputc(*s, f);
    }
}

static void doc_text(struct doc *d, const char *s, int in_table)
{
    if (d->kind == DOC_HTML)
        html_text(d->f, s);
    else
        md_text(d->f, s, in_table);
}

static void doc_heading(struct doc *d, int level, const char *text)
{
    if (d->kind == DOC_HTML) {
        fprintf(d->f, "<h%d>", level);
        html_text(d->f, text);
        fprintf(d->f, "</h%d>\n", level);
    } else {
        fprintf(d->f, "\n%.*s ", level, "######");
        md_text(d->f, text, 0);
        fputs("\n\n", d->f);
    }
}

static void doc_para(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void doc_para(struct doc *d, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fputs(d->kind == DOC_HTML ? "<p>" : "", d->f);
    doc_text(d, buf, 0);
    fputs(d->kind == DOC_HTML ? "</p>\n" : "\n\n", d->f);
}

static void doc_table(struct doc *d, const char *const *head, int n, const char *align)
{
    d->ncols = n;
    if (d->kind == DOC_HTML) {
        fputs("<table>\n<tr>", d->f);
        for (int i = 0; i < n; i++) {
            fputs("<th>", d->f);
            html_text(d->f, head[i]);
            fputs("</th>", d->f);
        }
        fputs("</tr>\n", d->f);
    } else {
        fputs("|", d->f);
        for (int i = 0; i < n; i++) {
            fputc(' ', d->f);
            md_text(d->f, head[i], 1);
            fputs(" |", d->f);
        }
        fputs("\n|", d->f);
        for (int i = 0; i < n; i++)
            fputs(align[i] == 'r' ? " ---: |" : " --- |", d->f);
        fputc('\n', d->f);
    }
}

static void doc_row(struct doc *d, const char *const *cells, const char *align)
{
    if (d->kind == DOC_HTML) {
        fputs("<tr>", d->f);
        for (int i = 0; i < d->ncols; i++) {
            fputs(align[i] == 'r' ? "<td class=\"r\">" : "<td>", d->f);
            html_text(d->f, cells[i]);
            fputs("</td>", d->f);
        }
        fputs("</tr>\n", d->f);
    } else {
        fputs("|", d->f);
        for (int i = 0; i < d->ncols; i++) {
            fputc(' ', d->f);
            md_text(d->f, cells[i], 1);
            fputs(" |", d->f);
        }
        fputc('\n', d->f);
    }
}

static void doc_table_end(struct doc *d)
{
    fputs(d->kind == DOC_HTML ? "</table>\n" : "\n", d->f);
}

/* ---- images ----------------------------------------------------------------------------------- */

static void base64_file(FILE *out, FILE *in)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char b[3];
    size_t got;
    while ((got = fread(b, 1, 3, in)) > 0) {
        unsigned v = (unsigned)b[0] << 16 | (got > 1 ? (unsigned)b[1] << 8 : 0) | (got > 2 ? b[2] : 0);
        fputc(tab[v >> 18 & 63], out);
        fputc(tab[v >> 12 & 63], out);
        fputc(got > 1 ? tab[v >> 6 & 63] : '=', out);
        fputc(got > 2 ? tab[v & 63] : '=', out);
    }
}

static int doc_image(struct doc *d, const struct report_plot *p, char *why, size_t whylen)
{
    const char *fmt = d->r->opt->format;
    if (d->kind == DOC_MD) {
        fprintf(d->f, "![%s](%s)\n\n", p->title, p->image);
        md_text(d->f, p->caption, 0);
        fprintf(d->f, " Data: [%s.dat](%s.dat), script: [%s.gp](%s.gp)", p->name, p->name, p->name, p->name);
        if (strcmp(fmt, "pdf") == 0)
            fprintf(d->f, ", PDF: [%s.pdf](%s.pdf)", p->name, p->name);
        fputs(".\n\n", d->f);
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", d->r->opt->out_dir, p->image);
    FILE *in = fopen(path, "rb");
    if (!in) {
        snprintf(why, whylen, "cannot read the plot '%s' gnuplot wrote", path);
        return -1;
    }
    const char *mime = strstr(p->image, ".svg") ? "image/svg+xml" : "image/png";
    fprintf(d->f, "<figure id=\"%s\">\n<img alt=\"", p->name);
    html_text(d->f, p->title);
    fprintf(d->f, "\" src=\"data:%s;base64,", mime);
    base64_file(d->f, in);
    fclose(in);
    fputs("\">\n<figcaption>", d->f);
    html_text(d->f, p->caption);
    fprintf(d->f, " Data: <a href=\"%s.dat\">%s.dat</a>, script: <a href=\"%s.gp\">%s.gp</a>", p->name, p->name,
            p->name, p->name);
    if (strcmp(fmt, "pdf") == 0)
        fprintf(d->f, ", PDF: <a href=\"%s.pdf\">%s.pdf</a>", p->name, p->name);
    fputs(".</figcaption>\n</figure>\n", d->f);
    return 0;
}

/* ---- sections --------------------------------------------------------------------------------- */

/* v with `decimals` decimals and a suffix, or "-" when not finite (not measured). */
static void fmt_num(char *out, size_t len, double v, int decimals, const char *suffix)
{
    if (isfinite(v))
        snprintf(out, len, "%.*f%s", decimals, v, suffix);
    else
        snprintf(out, len, "-");
}

static void section_runs(struct doc *d)
{
    const struct report *r = d->r;
    static const char *const head[] = { "run", "uuid", "started (UTC)", "status", "suite / tag", "cases", "failed",
                                        "kbench", "command" };
    doc_heading(d, 2, "Runs");
    doc_table(d, head, 9, "lllllrrll");
    for (int i = 0; i < r->nruns; i++) {
        const struct run_row *x = &r->runs[i].run;
        char id[32], st[64], cases[32], failed[32];
        snprintf(id, sizeof id, "%lld%s", (long long)x->id, i == 0 ? " (primary)" : "");
        snprintf(st, sizeof st, "%s / %s", *x->suite ? x->suite : "-", *x->tag ? x->tag : "-");
        snprintf(cases, sizeof cases, "%d of %d", x->cases, x->planned_cases);
        snprintf(failed, sizeof failed, "%d", x->failures);
        const char *cells[] = { id, x->uuid, x->started, x->status, st, cases, failed, x->kbench_version, x->cmdline };
        doc_row(d, cells, "lllllrrll");
    }
    doc_table_end(d);
}

static void bytes_text(char *out, size_t len, long long b)
{
    if (b <= 0)
        snprintf(out, len, "?");
    else if (b >= 1LL << 30)
        snprintf(out, len, "%.1f GiB", (double)b / (1 << 30));
    else if (b >= 1 << 20)
        snprintf(out, len, "%.0f MiB", (double)b / (1 << 20));
    else
        snprintf(out, len, "%.0f KiB", (double)b / 1024);
}

static void section_machine(struct doc *d, const struct report_run *run)
{
    const struct machine_info *m = &run->machine;
    char heading[256];
    snprintf(heading, sizeof heading, "Machine of run %lld: %s (%s)", (long long)run->run.id, m->hostname,
             m->fingerprint);
    doc_heading(d, 2, heading);
    static const char *const head[] = { "property", "value" };
    doc_table(d, head, 2, "ll");
    char buf[512], l1[32], l2[32], l3[32], mem[32];
    bytes_text(l1, sizeof l1, m->l1d_bytes);
    bytes_text(l2, sizeof l2, m->l2_bytes);
    bytes_text(l3, sizeof l3, m->l3_bytes);
    bytes_text(mem, sizeof mem, m->mem_bytes);
#define ROW(k, v) do { const char *c_[] = { k, v }; doc_row(d, c_, "ll"); } while (0)
    ROW("CPU", m->cpu_model);
    snprintf(buf, sizeof buf, "%d logical, %d physical", m->logical_cpus, m->physical_cores);
    ROW("cores", buf);
    fmt_num(buf, sizeof buf, m->cpu_mhz > 0 ? m->cpu_mhz : NAN, 0, " MHz (nominal)");
    ROW("clock", buf);
    snprintf(buf, sizeof buf, "L1d %s, L2 %s, L3 %s", l1, l2, l3);
    ROW("caches", buf);
    ROW("memory", mem);
    ROW("SIMD", *m->simd ? m->simd : "-");
    ROW("GPUs", *m->gpus ? m->gpus : "none");
    ROW("OS", m->os);
    ROW("compiler", m->compiler);
    ROW("PAPI", *m->papi_version ? m->papi_version : "-");
    fmt_num(buf, sizeof buf, m->peak_f32_core > 0 ? m->peak_f32_core * 1e-9 : NAN, 1, " GFLOP/s per core (clock x FLOP/cycle)");
    ROW("nominal f32 peak", buf);
    const struct run_cpu_mask *mask = &run->roof.mask;
    if (*mask->mask) {
        /* the run's kernels (and its roof) had only the masked features */
        char peak[64];
        fmt_num(peak, sizeof peak, mask->peak_f32_core > 0 ? mask->peak_f32_core * 1e-9 : NAN, 1, " GFLOP/s per core");
        snprintf(buf, sizeof buf, "KBENCH_CPU_FEATURES=%s (%s): nominal f32 peak %s, the run's roof", mask->mask,
                 *mask->features ? mask->features : "no SIMD", peak);
        ROW("run masked to", buf);
    }
#undef ROW
    doc_table_end(d);

    const struct roofline *roof = &run->roof;
    if (roof->count == 0) {
        doc_para(d, "Ceilings: this machine was never calibrated (kbench calibrate), so the roofline uses the nominal "
                    "per-core peak above and no memory roof.");
        return;
    }
    static const char *const chead[] = { "device", "ceiling", "value", "measured (UTC)", "how" };
    doc_para(d, "Measured ceilings (kbench calibrate; the newest of each):");
    doc_table(d, chead, 5, "llrll");
    for (int i = 0; i < roof->count; i++) {
        const struct ceiling *c = &roof->ceilings[i];
        char v[64];
        snprintf(v, sizeof v, "%.2f G%s", c->value * 1e-9, c->unit);
        const char *cells[] = { c->device, c->name, v, c->measured_at, c->method };
        doc_row(d, cells, "llrll");
    }
    doc_table_end(d);
}

static void section_scaling(struct doc *d, struct series *v, long nv)
{
    if (nv == 0)
        return;
    doc_heading(d, 2, "Scaling along the swept axis");
    doc_para(d, "Least-squares fit of log t = log c + p log x per series, x the axis the series sweeps (sequence "
                "length N, MoE tokens T, GEMM rows M, ...); p is the scaling exponent (about 2 for softmax attention "
                "against N, 1 for linear attention) with its 95%% confidence interval (Student's t).");
    static const char *const head[] = { "series", "swept axis", "points", "range", "exponent p", "95% CI", "R²" };
    doc_table(d, head, 7, "llrrrrr");
    for (long i = 0; i < nv; i++) {
        if (!v[i].fitted)
            continue;
        char pts[16], range[48], p[32], ci[48], r2[32], axis[96];
        snprintf(axis, sizeof axis, "%s %s", report_axis_title(v[i].axis), report_axis_symbol(v[i].axis));
        snprintf(pts, sizeof pts, "%d", v[i].fit.points);
        snprintf(range, sizeof range, "%.0f to %.0f", v[i].x[0], v[i].x[v[i].count - 1]);
        snprintf(p, sizeof p, "%.3f", v[i].fit.exponent);
        if (isnan(v[i].fit.exponent_lo))
            snprintf(ci, sizeof ci, "- (2 points)");
        else
            snprintf(ci, sizeof ci, "%.3f to %.3f", v[i].fit.exponent_lo, v[i].fit.exponent_hi);
        snprintf(r2, sizeof r2, "%.4f", v[i].fit.r2);
        const char *cells[] = { v[i].label, axis, pts, range, p, ci, r2 };
        doc_row(d, cells, "llrrrrr");
    }
    doc_table_end(d);

    static const char *const xhead[] = { "series A", "series B", "measured crossover", "fitted crossover",
                                         "faster at the largest shared value" };
    int any = 0;
    for (long i = 0; i < nv; i++)
        for (long j = i + 1; j < nv; j++) {
            if (strcmp(v[i].family, v[j].family) || !report_series_alternatives(&v[i], &v[j]) ||
                (!strcmp(v[i].kernel, v[j].kernel) && !strcmp(v[i].impl, v[j].impl) && !strcmp(v[i].dtype, v[j].dtype)))
                continue;
            double x[8];
            int b_after = 0;
            int k = scaling_crossovers(v[i].x, v[i].t, v[i].count, v[j].x, v[j].t, v[j].count, x, 8, &b_after);
            if (!any) {
                doc_para(d, "Crossovers between comparable series (same swept axis, the same other axes, threads and "
                            "cache state), as values of the swept axis: measured where the ratio of their times "
                            "changes sign between two measured values (interpolated in log x), and where their fitted "
                            "lines meet (none from a fit of fewer than 3 "
                            "points; one outside the lengths both measured is marked extrapolated).");
                doc_table(d, xhead, 5, "llrrl");
                any = 1;
            }
            char measured[160] = "none in the measured range", fitted[96], faster[200];
            size_t u = 0;
            for (int c = 0; c < k && c < 8; c++)
                u += (size_t)snprintf(measured + u, sizeof measured - u, "%s%s ≈ %.0f", c ? ", " : "",
                                      report_axis_symbol(v[i].axis), x[c]);
            if (v[i].fitted && v[j].fitted)
                scaling_crossover_text(&v[i].fit, &v[j].fit, fitted, sizeof fitted);
            else
                snprintf(fitted, sizeof fitted, "-");
            snprintf(faster, sizeof faster, "%s", b_after ? v[j].label : v[i].label);
            const char *cells[] = { v[i].label, v[j].label, measured, fitted, faster };
            doc_row(d, cells, "llrrl");
        }
    if (any)
        doc_table_end(d);
}

static void section_results(struct doc *d, const struct report_run *run)
{
    char heading[96];
    snprintf(heading, sizeof heading, "Results of run %lld", (long long)run->run.id);
    doc_heading(d, 2, heading);
    char src[512];
    roofline_describe(&run->roof, src, sizeof src);
    doc_para(d, "Times are per call; the CI is the 95%% bootstrap interval of the median. %% of roof: achieved "
                "FLOP/s over min(compute, intensity × bandwidth) for the case's dtype and threads (%s).", src);
    static const char *const head[] = { "kernel", "impl", "device", "dtype", "shape", "threads", "median",
                                        "95% CI", "GFLOP/s", "GB/s", "% of roof", "rel. L2 error", "status" };
    const char *align = "lllllrrrrrrrl";
    doc_table(d, head, 13, align);
    for (long i = 0; i < run->n; i++) {
        const struct result_row *x = &run->rows[i];
        char shape[96], thr[16], med[32] = "-", ci[64] = "-", gf[32], gb[32], pct[32], err[32], lo[32], hi[32];
        report_shape_text(x, shape, sizeof shape);
        snprintf(thr, sizeof thr, "%d", x->threads);
        if (x->stats.median > 0) {
            report_format_seconds(x->stats.median, med, sizeof med);
            if (!report_has_ci(x)) {
                snprintf(ci, sizeof ci, "n/a (n=%zu)", x->stats.n); /* fewer than 3 samples: no interval */
            } else if (isfinite(x->stats.ci_lo)) {
                report_format_seconds(x->stats.ci_lo, lo, sizeof lo);
                report_format_seconds(x->stats.ci_hi, hi, sizeof hi);
                snprintf(ci, sizeof ci, "%s to %s", lo, hi);
            }
        }
        fmt_num(gf, sizeof gf, x->flops_per_s > 0 ? x->flops_per_s * 1e-9 : NAN, 2, "");
        fmt_num(gb, sizeof gb, x->bytes_per_s > 0 ? x->bytes_per_s * 1e-9 : NAN, 2, "");
        fmt_num(pct, sizeof pct, roofline_fraction(&run->roof, x) * 100, 0, "%");
        if (isfinite(x->rel_l2_err))
            snprintf(err, sizeof err, "%.2e", x->rel_l2_err);
        else
            snprintf(err, sizeof err, "-");
        char status[600], note[256];
        report_sampling_note(x, note, sizeof note);
        snprintf(status, sizeof status, "%s%s%s%s%s%s", x->status, *x->error ? ": " : "", x->error, *note ? " (" : "",
                 note, *note ? ")" : "");
        const char *cells[] = { x->kernel, x->impl, x->device, x->dtype, shape, thr, med, ci, gf, gb, pct, err, status };
        doc_row(d, cells, align);
    }
    doc_table_end(d);
}

static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
static const char html_style[] =
    "</title>\n<style>\n"
    "body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1200px;"
    " padding: 0 1em; color: #222; background: #fff; }\n"
    "h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }\n"
    "table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.85em; }\n"
    "th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }\n"
    "th { background: #f0f0f0; } td.r { text-align: right; font-variant-numeric: tabular-nums; }\n"
    "figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }\n"
    "figcaption { font-size: 0.9em; color: #444; max-width: 60em; }\n"
    "</style>\n</head>\n<body>\n";

static int write_doc(struct doc *d, struct series *v, long nv, char *why, size_t whylen)
{
    const struct report *r = d->r;
    char title[256];
    size_t u = (size_t)snprintf(title, sizeof title, "kbench report: run %lld", (long long)r->runs[0].run.id);
    for (int i = 1; i < r->nruns && u < sizeof title; i++)
        u += (size_t)snprintf(title + u, sizeof title - u, "%s%lld", i == 1 ? " compared with run " : ", ",
                              (long long)r->runs[i].run.id);
    if (d->kind == DOC_HTML) {
        fputs(html_head, d->f);
        html_text(d->f, title);
        fputs(html_style, d->f);
        fputs("<h1>", d->f);
        html_text(d->f, title);
        fputs("</h1>\n", d->f);
    } else {
        fputs("# ", d->f);
        md_text(d->f, title, 0);
        fputs("\n\n", d->f);
    }
    const struct run_row *p = &r->runs[0].run;
    doc_para(d, "Run %lld started %s on %s (%s): %d case%s, %d failed. Every case was verified against a float64 "
                "reference before it was timed.%s", (long long)p->id, p->started, p->hostname,
             r->runs[0].machine.cpu_model, p->cases, p->cases == 1 ? "" : "s", p->failures,
             r->nplots ? " Plots were drawn by gnuplot; each has its data file and script in this folder." : "");
    section_runs(d);
    section_machine(d, &r->runs[0]);
    for (int i = 1; i < r->nruns; i++)
        if (strcmp(r->runs[i].machine.fingerprint, r->runs[0].machine.fingerprint) != 0)
            section_machine(d, &r->runs[i]);
    if (r->nplots) {
        doc_heading(d, 2, "Plots");
        for (int i = 0; i < r->nplots; i++) {
            doc_heading(d, 3, r->plots[i].title);
            if (doc_image(d, &r->plots[i], why, whylen) != 0)
                return -1;
        }
    }
    section_scaling(d, v, nv);
    for (int i = 0; i < r->nruns; i++)
        section_results(d, &r->runs[i]);
    if (r->nnotes) {
        doc_heading(d, 2, "Notes");
        for (int i = 0; i < r->nnotes; i++)
            doc_para(d, "%s", r->notes[i]);
    }
    if (d->kind == DOC_HTML)
        fputs("</body>\n</html>\n", d->f);
    return 0;
}

int report_pages(struct report *r, char *why, size_t whylen)
{
    struct series *v;
    long nv = report_series_build(r->runs[0].rows, r->runs[0].n, r->opt->x_axis, &v);
    if (nv < 0) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    int rc = 0;
    static const char *const names[] = { "index.md", "index.html" };
    for (int k = 0; k < 2 && rc == 0; k++) {
        FILE *f = report_open(r, names[k], why, whylen);
        if (!f) {
            rc = -1;
            break;
        }
        struct doc d = { .f = f, .kind = k ? DOC_HTML : DOC_MD, .r = r };
        rc = write_doc(&d, v, nv, why, whylen);
        if ((ferror(f) | (fclose(f) != 0)) && rc == 0) {
            snprintf(why, whylen, "cannot write %s/%s", r->opt->out_dir, names[k]);
            rc = -1;
        }
        if (rc == 0 && r->log)
            fprintf(r->log, "wrote %s/%s\n", r->opt->out_dir, names[k]);
    }
    report_series_free(v, nv);
    return rc;
}

/* ---- paper claims ------------------------------------------------------------------------------ */

static int write_claims_doc(struct doc *d, char *why, size_t whylen)
{
    const struct report *r = d->r;
    const char *title = "Paper claims on this machine";
    if (d->kind == DOC_HTML) {
        fputs(html_head, d->f);
        html_text(d->f, title);
        fputs(html_style, d->f);
        fputs("<h1>", d->f);
        html_text(d->f, title);
        fputs("</h1>\n", d->f);
    } else {
        fprintf(d->f, "# %s\n\n", title);
    }
    doc_para(d, "The headline claims of the papers behind kbench's kernels, each measured by `kbench claims` "
                "(the newest verdict of each claim%s). A verdict says whether the paper's figure holds on this "
                "machine; the paper's hardware is named beside it, and most papers measured on GPUs.",
             r->opt->claims_machine ? " on this machine" : " on each machine");
    static const char *const head[] = { "claim", "paper says", "paper's figure and hardware", "here", "verdict", "why",
                                        "machine" };
    doc_table(d, head, 7, "lllllll");
    for (int i = 0; i < r->nclaims; i++) {
        const struct claim_row *c = &r->claims[i];
        char figure[256], quote[600];
        snprintf(figure, sizeof figure, "%.4g (%s) on %s", c->paper_value, c->metric, *c->hardware ? c->hardware : "?");
        snprintf(quote, sizeof quote, "\"%s\" (%s)", c->quote, c->paper);
        const char *cells[] = { c->claim_id, quote, figure, *c->measured_text ? c->measured_text : "-", c->verdict,
                                c->reason, c->hostname };
        doc_row(d, cells, "lllllll");
    }
    doc_table_end(d);
    doc_heading(d, 2, "Paper against here, one plot per claim");
    for (int i = r->first_claim_plot; i < r->nplots; i++) {
        doc_heading(d, 3, r->plots[i].title);
        if (doc_image(d, &r->plots[i], why, whylen) != 0)
            return -1;
    }
    if (d->kind == DOC_HTML)
        fputs("</body>\n</html>\n", d->f);
    return 0;
}

int report_claims_page(struct report *r, char *why, size_t whylen)
{
    static const char *const names[] = { "claims.md", "claims.html" };
    for (int k = 0; k < 2; k++) {
        FILE *f = report_open(r, names[k], why, whylen);
        if (!f)
            return -1;
        struct doc d = { .f = f, .kind = k ? DOC_HTML : DOC_MD, .r = r };
        int rc = write_claims_doc(&d, why, whylen);
        if ((ferror(f) | (fclose(f) != 0)) && rc == 0) {
            snprintf(why, whylen, "cannot write %s/%s", r->opt->out_dir, names[k]);
            rc = -1;
        }
        if (rc != 0)
            return -1;
        if (r->log)
            fprintf(r->log, "wrote %s/%s\n", r->opt->out_dir, names[k]);
    }
    return 0;
}
