/* screen_help.c - every key of the dashboard (`?`). */
#include <stdlib.h>

#include "tui/app.h"
#include "tui/pager.h"

struct help_screen {
    struct pager text;
};

static const char *const help_lines[] = {
    "#Everywhere",
    "  ?  F1            this help",
    "  q  Esc  Left  h  back to the previous screen; on the runs screen, quit",
    "  Q                quit from any screen",
    "  Up Down  k j     move; PgUp PgDn (^B ^F) a page; Home End (G) first, last",
    "  mouse            click a row to select it, double-click to open it",
    "  e                export the view: tables to CSV, the plot to PNG and SVG",
    "  ^L               redraw the screen",
    "#Tables (runs, results, compare, claims)",
    "  s                sort by the next column (numbers: biggest first)",
    "  S                reverse the sort order (s after the last column: unsorted)",
    "  /                filter: type text; rows containing it in any column stay;",
    "                   Enter keeps the filter, Esc clears it",
    "#Runs",
    "  Enter            the run's results",
    "  m  space         mark a run for compare (two; a third replaces the oldest)",
    "  c                compare the two marked runs (the older is the baseline);",
    "                   with one mark: the marked run and the cursor's run",
    "  C                paper claims on this machine (kbench claims' verdicts)",
    "  B                bisections (kbench bisect's measurements, as it goes)",
    "  R                repeat the run: every case it stored, measured again into a",
    "                   new run tagged repeat; the comparison opens when it is done",
    "  U                resume an interrupted run: the cases it planned and did not",
    "                   store (as kbench run --resume)",
    "#Results",
    "  Enter            the case: statistics, histogram, counters, accuracy, machine",
    "  space            mark a case for the plot (up to 8); u clears the marks",
    "  g                group rows by kernel",
    "  p                plot the marked cases' series against the axis they sweep",
    "                   (sequence length, tokens, experts, M, ...; a series: same",
    "                   kernel, impl, device, dtype and other axes)",
    "  v                the first two marked cases' implementations side by side:",
    "                   every problem both measured, B/A with its 95% CI (kbench versus)",
    "  M                measure the marked cases (or the cursor's) again now: a new",
    "                   run tagged remeasure, beside the old one when it is done",
    "#Plot",
    "  t                toggle latency (median) / throughput",
    "  x                the next axis the marked series sweep, on x",
    "  e                write the plot as PNG and SVG (through gnuplot)",
    "  The legend gives each curve's scaling exponent p (time ~ N^p, 95% CI) and",
    "  where curves cross: measured between points, and where the fits meet.",
    "#Compare (the regression test of kbench compare: same options, same verdicts)",
    "  ratio = candidate median / baseline median, with its 99% bootstrap CI; p is",
    "  the one-sided Mann-Whitney U p-value in the direction of the change. Cases",
    "  match by kernel, impl, device, dtype, every shape axis, threads and cache.",
    "  regressed: p < 0.01 (with too few samples for that: the CI above the",
    "  threshold), over the threshold (5%, or the candidate run's suite's) and",
    "  beyond both runs' noise; inconclusive (fails): slower than the threshold",
    "  but undecidable from the samples, or short of its minimum samples;",
    "  improved: the mirror image; else same. Also: new, missing, newly failing,",
    "  still failing, fixed, accuracy drop (error grew > 10% of the tolerance),",
    "  untimed. The top line: PASS or FAIL and the counts; the bottom lines: the",
    "  cursor's case, the reason for its verdict and, for a regressed or improved",
    "  case, the counters that moved (as kbench compare lists them).",
    "  Enter            the case's detail (the candidate's; the base's if missing)",
    "  g                group rows by kernel",
    "#Claims (C on the runs screen)",
    "  One row per paper claim that kbench claims judged on this machine: the",
    "  paper's figure and hardware, this machine's figure, and the verdict: holds,",
    "  partly, does not hold (here), cannot be tested (here). None stored: run",
    "  'kbench claims --db <this file>'.",
    "  Enter            the claim in full: quote, paper, figures, the reason",
    "  a                every machine's verdicts / this machine's",
    "#Detail",
    "  Up Down PgUp PgDn scroll",
    "#Measuring (M, R, U)",
    "  The harness measures in a process of its own; the status line shows the",
    "  case being measured, and the runs and results screens fill in as cases are",
    "  stored. ^C stops the measurement (not the dashboard): the case being",
    "  measured is dropped, the run keeps the others and is marked interrupted.",
    "#Live",
    "  The database is polled twice a second; when another process commits (a run",
    "  in progress), the screen re-reads it and the title line says when.",
    "#Colours",
    "  NO_COLOR set in the environment turns colours off.",
};

static void help_draw(struct app *a, void *st, WINDOW *w)
{
    struct help_screen *s = st;
    pager_draw(&s->text, a, w, 0, getmaxy(w));
}

static int help_key(struct app *a, void *st, int ch)
{
    (void)a;
    return pager_key(&((struct help_screen *)st)->text, ch);
}

static void help_destroy(void *st)
{
    struct help_screen *s = st;
    pager_clear(&s->text);
    free(s);
}

static const struct screen_ops help_ops = {
    .name = "help",
    .keys = "Up/Down:scroll",
    .draw = help_draw,
    .key = help_key,
    .destroy = help_destroy,
};

int screen_help_open(struct app *a)
{
    struct help_screen *s = calloc(1, sizeof *s);
    if (!s) {
        app_message(a, 1, "out of memory");
        return -1;
    }
    pager_add(&s->text, UI_HEADER, "kbench tui: keys");
    for (size_t i = 0; i < sizeof help_lines / sizeof help_lines[0]; i++) {
        const char *l = help_lines[i];
        if (l[0] == '#')
            pager_add(&s->text, UI_HEADER, "%s", l + 1);
        else
            pager_add(&s->text, 0, "%s", l);
    }
    return app_push(a, &help_ops, s);
}
