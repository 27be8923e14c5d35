/* report.h - `kbench report`: plots through gnuplot, tables, and an index page for runs.
 *
 * A report folder holds, for each plot, NAME.dat (the numbers, whitespace-separated, one
 * block per line of the plot), NAME.gp (the gnuplot script that draws it; run `gnuplot
 * NAME.gp` in the folder to re-render) and the rendered NAME.png|svg|pdf; plus index.md and a
 * self-contained index.html (plots embedded as data URIs, tables, machine and runs).
 *
 * Plots (a family or kind with no data gets no plot, never an empty one):
 *   latency_FAMILY      median time vs N, log-log, one line per series, the fitted scaling
 *                       exponent in the legend, measured crossovers marked
 *   throughput_FAMILY   GFLOP/s vs N
 *   roofline            achieved FLOP/s vs arithmetic intensity under the machine's ceilings
 *   speedup_FAMILY      baseline time / time vs N (with --baseline-kernel)
 *   accuracy            relative L2 error vs time for reduced-precision and quantized kernels
 *   moe_load_KERNEL     tokens per expert, from counters named moe.load.<expert>
 *   ratio_RUN_vs_RUN    per matching case, time in a later run / time in the first run
 * The first run given is the primary one: the per-run plots are drawn from it, and each other
 * run is compared with it.
 */
#ifndef KB_REPORT_H
#define KB_REPORT_H

#include <stdio.h>
#include "harness/store.h"
#include "reports/axis.h"
#include "reports/roofline.h"
#include "reports/scaling.h"

/* ---- series: one line of a plot -------------------------------------------------------------- */

/* The timed (status ok) cases of a run that differ only in one shape axis, the series' x axis
 * (reports/axis.h): sequence length, tokens, experts, M, ...; ascending in it. */
struct series {
    char kernel[64], impl[32], device[16], dtype[8];
    char family[32];   /* the kernel name up to its first '.' */
    char label[192];   /* "attention.flash [cpu, f32] causal": what differs between the family's series */
    enum kb_axis axis; /* the swept axis: x */
    const struct result_row *proto; /* the first case: the values of the other axes */
    int count;
    const struct result_row **rows; /* count cases, ascending x */
    double *x, *t;     /* the swept axis's value and median seconds */
    int fitted;        /* fit holds a scaling fit t = c * x^p (at least 2 distinct x) */
    struct scaling_fit fit;
};

/* Groups rows into series (only ok cases with a median). x_axis >= 0 puts that axis on x for
 * every series (cases without it are left out); -1 picks, for each family, the axis its cases
 * sweep (report_swept_axis), and for the cases of the family that lack that axis the axis they
 * sweep. Labels name the dimensions that differ between series of the same family and axis.
 * Returns the count, or -1 out of memory. */
long report_series_build(const struct result_row *rows, long n, int x_axis, struct series **out);
/* The axes every series in v[0..n) with this family and axis holds at one value, as shape text
 * ("hid=512 f=1024 E=8 top=2 route=uniform"): what a plot's title says stays fixed. */
void report_series_fixed(const struct series *v, long n, const char *family, enum kb_axis axis, char *buf,
                         size_t len);
void report_series_free(struct series *v, long n);
/* 1 when two series share every dimension but kernel, impl, device and dtype: comparable
 * point by point (crossovers, speed-ups). */
int report_series_comparable(const struct series *a, const struct series *b);
/* 1 when two comparable series are alternatives for one job, so that where one overtakes the
 * other is worth marking: implementations of one kernel or of one operation (gemm.f32 and
 * quant.gemm_int8 both compute gemm); different kernels of the attention family (each computes
 * attention over the same Q, K, V); or different kernels doing the same useful work at the same
 * point (the W4A8 GEMM beside the INT8 one). Not a MoE router against its combine step. */
int report_series_alternatives(const struct series *a, const struct series *b);

/* ---- the report ------------------------------------------------------------------------------ */

struct report_run {
    struct run_row run;
    struct machine_info machine;
    struct roofline roof;
    struct result_row *rows;
    long n;
};

struct report_options {
    const char *out_dir;
    const char *format;          /* "png", "svg" or "pdf" */
    const char *baseline_kernel; /* NULL: no speed-up plots */
    int width, height;           /* pixels for png and svg (pdf: the same at 96 dpi) */
    int claims;                  /* also write claims.md/.html: the stored paper-claim verdicts */
    int x_axis;                  /* the axis on x of every plot (enum kb_axis); -1: each family's swept one */
    const char *claims_machine;  /* their machine's fingerprint; NULL: every machine */
};

/* One written plot, for the index. */
struct report_plot {
    char name[96];     /* file stem: latency_attention */
    char title[192];
    char caption[512]; /* what it shows, in a sentence */
    char image[128];   /* the rendered file the page shows (PNG for a PDF report) */
};

struct report {
    const struct report_options *opt;
    struct store *store;
    struct report_run *runs;
    int nruns;
    struct report_plot *plots;
    int nplots, cap;
    FILE *log;         /* progress and notes (stderr) */
    char notes[8][256];/* what was left out and why, shown on the page */
    int nnotes;
    struct claim_row *claims; /* with opt->claims: the newest verdict of each claim */
    int nclaims;
    int first_claim_plot;     /* plots[first_claim_plot..] are the claims' */
};

/* Writes the report of the runs into opt->out_dir (created if missing); with opt->claims also
 * the paper-claims page (claims.md, claims.html: one small plot per claim, the paper's figure
 * beside this machine's), and then the runs may be none. Returns 0, or -1 with
 * the reason in why (gnuplot missing or lacking the terminal, a folder that cannot be
 * written, a gnuplot error). */
int report_write(struct store *s, const int64_t *run_ids, int nruns, const struct report_options *opt, FILE *log,
                 char *why, size_t whylen);

/* report_plots.c: every plot of the report; -1 with why on a failure. */
int report_plots(struct report *r, char *why, size_t whylen);
/* report_page.c: index.md and index.html. */
int report_pages(struct report *r, char *why, size_t whylen);
/* report_plots.c: claim_ID, a bar of the paper's figure beside this machine's (with its CI). */
int report_claim_plots(struct report *r, char *why, size_t whylen);
/* report_page.c: claims.md and claims.html. */
int report_claims_page(struct report *r, char *why, size_t whylen);

/* Helpers shared by the report's files. */
void report_note(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* FILE for DIR/NAME opened for writing, or NULL with why. */
FILE *report_open(const struct report *r, const char *name, char *why, size_t whylen);
/* The case's full shape as text, every axis its kernel has: "b=1 h=8 n=512 d=64 causal w=256",
 * "T=512 hid=512 f=1024 E=8 top=2 route=uniform", "M=64 N=256 K=256". */
void report_shape_text(const struct result_row *row, char *out, size_t len);

#endif
