/* screen_compare.c - two runs case by case through the regression test of `kbench compare`
 * (harness/compare.h): per case the ratio of medians with its confidence interval, the U test's
 * p-value and the verdict, coloured; the counts and the outcome at the top; the cursor's case
 * named with the reason for its verdict and the counters that moved at the bottom. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/compare.h"
#include "harness/plan.h"
#include "reports/compare_report.h"
#include "reports/reports.h"
#include "tui/app.h"
#include "tui/format.h"
#include "tui/table.h"

struct compare_screen {
    int64_t base_id, cand_id;
    struct compare_result result;
    int loaded;
    int machines_differ; /* compared anyway: the ratios then compare machines, not code */
    char suite_note[160]; /* the candidate's suite thresholds: applied, or why not */
    double geomean;      /* geometric mean of the ratios; NaN when none */
    int measured_again;  /* the candidate measured some of the baseline's cases again: the rest
                          * (missing from it by design) are left out of the rows */
    size_t left_out;
    struct table table;
};

enum { COL_KERNEL, COL_IMPL, COL_DTYPE, COL_SHAPE, COL_SEQ, COL_BASE, COL_CAND, COL_RATIO, COL_CI, COL_P, COL_VERDICT,
       COL_COUNT };

/* At 80 columns: the whole kernel name, impl, ratio, its CI, p and verdict (the bottom line names
 * the cursor's case in full); wider: the shape (whole where it has room), N, both medians. */
static const struct table_column columns[COL_COUNT] = {
    [COL_KERNEL] = { "kernel", 12, 0, 0, 0, 1 },
    [COL_IMPL] = { "impl", 8, 0, 0, 0, 3 },
    [COL_DTYPE] = { "dtype", 5, 0, 2, 0, 0 },
    [COL_SHAPE] = { "shape", 12, 0, 6, 0, 2 },
    [COL_SEQ] = { "N", 6, 1, 1, 1, 0 },
    [COL_BASE] = { "baseline", 9, 1, 4, 1 },
    [COL_CAND] = { "candidate", 9, 1, 5, 1 },
    [COL_RATIO] = { "ratio", 6, 1, 0, 1 },
    [COL_CI] = { "ratio CI", 11, 1, 0, 1 },
    [COL_P] = { "p", 6, 1, 0, 1 }, /* "<0.001", "0.0012": %.2g never needs more */
    [COL_VERDICT] = { "verdict", 13, 0, 0, 0 },
};

static int compare_open(struct app *a, int64_t baseline, int64_t candidate, int measured_again);

/* The verdict as the dashboard writes it: compare's name, in words ("newly failing"). */
static void verdict_words(enum compare_verdict v, char *buf, size_t len)
{
    snprintf(buf, len, "%s", compare_verdict_name(v));
    for (char *c = buf; *c; c++)
        if (*c == '_')
            *c = ' ';
}

/* The one-sided p-value in the direction the ratio moved. */
static double p_value(const struct compare_case *c)
{
    return !isfinite(c->ratio) ? NAN : c->ratio > 1 ? c->p_slower : c->p_faster;
}

static const struct compare_case *row_case(void *ctx, long i)
{
    return &((struct compare_screen *)ctx)->result.cases[i];
}

static long compare_count(void *ctx)
{
    return (long)((struct compare_screen *)ctx)->result.n;
}

static void compare_cell(void *ctx, long i, int col, char *buf, size_t len)
{
    const struct compare_case *c = row_case(ctx, i);
    switch (col) {
    case COL_KERNEL: snprintf(buf, len, "%s", c->kernel); break;
    case COL_IMPL: snprintf(buf, len, "%s", c->impl); break;
    case COL_DTYPE: snprintf(buf, len, "%s", c->dtype); break;
    case COL_SHAPE: kb_shape_string(&c->shape, 0, buf, len); break; /* every axis the case has */
    case COL_SEQ: /* a case without a sequence length (MoE, GEMM) shows '-', never 0 */
        if (c->shape.seq_len > 0)
            snprintf(buf, len, "%d", c->shape.seq_len);
        else
            snprintf(buf, len, "-");
        break;
    case COL_BASE: fmt_seconds(c->base_median, buf, len); break;
    case COL_CAND: fmt_seconds(c->cand_median, buf, len); break;
    case COL_RATIO:
        if (isfinite(c->ratio))
            snprintf(buf, len, "%.3f", c->ratio);
        else
            snprintf(buf, len, "-");
        break;
    case COL_CI:
        if (isfinite(c->ratio_lo) && isfinite(c->ratio_hi))
            snprintf(buf, len, "%.3g-%.3g", c->ratio_lo, c->ratio_hi);
        else
            snprintf(buf, len, isfinite(c->ratio) ? "n/a" : "-"); /* n/a: under 3 samples a side */
        break;
    case COL_P: {
        double p = p_value(c);
        if (isfinite(p) && p < 0.001) /* "1.1e-10" would not fit the column: cut, it would lie */
            snprintf(buf, len, "<0.001");
        else if (isfinite(p))
            snprintf(buf, len, "%.2g", p);
        else
            snprintf(buf, len, "-");
        break;
    }
    case COL_VERDICT: verdict_words(c->verdict, buf, len); break;
    default: buf[0] = '\0';
    }
}

static double compare_number(void *ctx, long i, int col)
{
    const struct compare_case *c = row_case(ctx, i);
    switch (col) {
    case COL_SEQ: return c->shape.seq_len > 0 ? c->shape.seq_len : NAN;
    case COL_BASE: return c->base_median;
    case COL_CAND: return c->cand_median;
    case COL_RATIO: return c->ratio;
    case COL_CI: return c->ratio_lo;
    case COL_P: return p_value(c);
    default: return NAN;
    }
}

static int64_t compare_id(void *ctx, long i)
{
    const struct compare_case *c = row_case(ctx, i);
    return c->cand_case ? c->cand_case : -c->base_case;
}

static int verdict_pair(enum compare_verdict v)
{
    switch (v) {
    case VERDICT_REGRESSED: case VERDICT_ACCURACY_DROP: return UI_WORSE;
    case VERDICT_INCONCLUSIVE: return UI_WARN;
    case VERDICT_NEWLY_FAILING: case VERDICT_STILL_FAILING: return UI_BAD;
    case VERDICT_IMPROVED: return UI_BETTER;
    case VERDICT_FIXED: return UI_OK;
    case VERDICT_NEW: case VERDICT_MISSING: case VERDICT_UNTIMED: return UI_DIM;
    default: return 0;
    }
}

static int compare_style(void *ctx, long i, int col)
{
    if (col != COL_VERDICT && col != COL_RATIO && col != COL_CI)
        return 0;
    return verdict_pair(row_case(ctx, i)->verdict);
}

static int compare_reload(struct app *a, void *st)
{
    struct compare_screen *s = st;
    struct run_row base, cand;
    if (store_get_run(a->store, s->base_id, &base) != 0 || store_get_run(a->store, s->cand_id, &cand) != 0) {
        app_message(a, 1, "%s", store_errmsg(a->store));
        return -1;
    }
    struct compare_options o;
    compare_options_default(&o);
    /* `kbench compare` refuses runs of two machines unless asked; the dashboard is for looking,
     * so it compares them and says so in the header */
    s->machines_differ = strcmp(base.machine, cand.machine) != 0;
    o.cross_machine = s->machines_differ;
    /* as `kbench compare BASE CAND` does: the candidate run's suite sets per-kernel thresholds */
    char path[1024], err[512];
    s->suite_note[0] = '\0';
    if (*cand.suite && plan_suite_find(cand.suite, path, sizeof path) != 0)
        snprintf(s->suite_note, sizeof s->suite_note, "suite '%s' not found here: default thresholds", cand.suite);
    else if (*cand.suite && compare_add_suite_thresholds(&o, path, err, sizeof err) != 0)
        snprintf(s->suite_note, sizeof s->suite_note, "%s: default thresholds", err);
    struct compare_result r;
    if (compare_runs(a->store, s->base_id, s->cand_id, &o, &r, err, sizeof err) != 0) {
        app_message(a, 1, "%s", err);
        return -1;
    }
    s->left_out = 0;
    if (s->measured_again) {
        size_t kept = 0;
        for (size_t i = 0; i < r.n; i++)
            if (r.cases[i].verdict != VERDICT_MISSING)
                r.cases[kept++] = r.cases[i];
        s->left_out = r.n - kept;
        r.n = kept;
    }
    if (s->loaded)
        compare_result_free(&s->result);
    s->result = r;
    s->loaded = 1;
    double log_sum = 0;
    int ratios = 0;
    for (size_t i = 0; i < r.n; i++)
        if (isfinite(r.cases[i].ratio) && r.cases[i].ratio > 0) {
            log_sum += log(r.cases[i].ratio);
            ratios++;
        }
    s->geomean = ratios ? exp(log_sum / ratios) : NAN;
    return table_refresh(&s->table);
}

/* Writes text at the cursor in attr only when all of it fits before the right edge. */
static void put_whole(WINDOW *w, attr_t attr, const char *text)
{
    if ((int)strlen(text) > getmaxx(w) - getcurx(w))
        return;
    wattrset(w, attr);
    waddstr(w, text);
    wattrset(w, A_NORMAL);
}

/* Writes text at the cursor in attr, cut at the window's right edge. */
static void put_part(WINDOW *w, attr_t attr, const char *text)
{
    int room = getmaxx(w) - getcurx(w);
    if (room <= 0)
        return;
    wattrset(w, attr);
    waddnstr(w, text, room);
    wattrset(w, A_NORMAL);
}

/* Writes text from the cursor over at most lines rows (from y), the rows after the first
 * indented: each broken after a ", " or "; " (between two counters) or else a space, the last cut
 * with a '~' where the rest does not fit. The line lists the largest change first, so what a
 * small terminal leaves out is the least of it. */
static void put_wrapped(WINDOW *w, int y, int lines, const char *text)
{
    char cut[1024];
    for (int i = 0; i < lines && *text; i++) {
        if (i)
            wmove(w, y + i, 2);
        int room = getmaxx(w) - getcurx(w);
        if (room <= 0)
            return;
        int n = (int)strlen(text);
        if (n <= room) {
            put_part(w, A_NORMAL, text);
            return;
        }
        if (i == lines - 1) {
            fmt_cut_words(text, room, cut, sizeof cut);
            put_part(w, A_NORMAL, cut);
            return;
        }
        int at = 0; /* the length of this row: through the last separator that fits */
        for (int j = 1; j < room; j++)
            if ((text[j - 1] == ',' || text[j - 1] == ';') && text[j] == ' ')
                at = j;
        if (at == 0)
            for (int j = room; j > 0; j--)
                if (text[j] == ' ') {
                    at = j;
                    break;
                }
        if (at == 0)
            at = room; /* one word wider than the row: cut it */
        waddnstr(w, text, at);
        text += at;
        while (*text == ' ')
            text++;
    }
}

static void put_count(struct app *a, WINDOW *w, int n, enum compare_verdict v, const char *sep)
{
    char words[32], text[48];
    verdict_words(v, words, sizeof words);
    snprintf(text, sizeof text, "%d %s", n, words);
    put_part(w, A_NORMAL, sep);
    int pair = verdict_pair(v);
    put_part(w, n > 0 && pair && pair != UI_DIM ? app_attr(a, (enum ui_pair)pair) : A_NORMAL, text);
}

static void compare_draw(struct app *a, void *st, WINDOW *w)
{
    struct compare_screen *s = st;
    const struct compare_result *r = &s->result;
    int width = getmaxx(w), height = getmaxy(w);
    char line[512];

    /* the runs and the outcome */
    snprintf(line, sizeof line, "baseline run %" PRId64 "%s%s  vs  candidate run %" PRId64 "%s%s  ", s->base_id,
             *r->base.tag ? " " : "", r->base.tag, s->cand_id, *r->cand.tag ? " " : "", r->cand.tag);
    wmove(w, 0, 0);
    put_part(w, A_NORMAL, line);
    report_compare_outcome(r, line, sizeof line);
    put_part(w, app_attr(a, r->summary.failing || r->summary.too_few_matched ? UI_WORSE : UI_OK), line);
    if (isfinite(s->geomean)) {
        snprintf(line, sizeof line, "  geomean ratio %.3f", s->geomean);
        put_whole(w, A_NORMAL, line);
    }
    if (s->machines_differ) {
        snprintf(line, sizeof line, "  machines differ: %s vs %s", r->base.hostname, r->cand.hostname);
        put_part(w, app_attr(a, UI_WARN), line);
    }
    if (compare_run_incomplete(&r->base) || compare_run_incomplete(&r->cand)) {
        snprintf(line, sizeof line, "  %s run %s", compare_run_incomplete(&r->cand) ? "candidate" : "baseline",
                 compare_run_incomplete(&r->cand) ? r->cand.status : r->base.status);
        put_part(w, app_attr(a, UI_WARN), line);
    }
    if (*s->suite_note) {
        snprintf(line, sizeof line, "  %s", s->suite_note);
        put_part(w, app_attr(a, UI_WARN), line);
    }

    /* the counts: the six the issue names always, the rarer ones (inconclusive among them) when they occur */
    wmove(w, 1, 0);
    static const enum compare_verdict always[] = { VERDICT_REGRESSED, VERDICT_IMPROVED, VERDICT_SAME,
                                                   VERDICT_NEW, VERDICT_MISSING, VERDICT_NEWLY_FAILING };
    /* inconclusive first: where it fails the comparison the outcome on the line above names it too,
     * so a narrow terminal that cuts this line still shows it */
    static const enum compare_verdict rare[] = { VERDICT_INCONCLUSIVE, VERDICT_ACCURACY_DROP, VERDICT_STILL_FAILING,
                                                 VERDICT_FIXED, VERDICT_UNTIMED };
    for (size_t i = 0; i < sizeof always / sizeof always[0]; i++) {
        if (always[i] == VERDICT_MISSING && s->measured_again) { /* missing by design: said plainly */
            snprintf(line, sizeof line, ", %zu not measured again (left out)", s->left_out);
            put_part(w, A_NORMAL, line);
            continue;
        }
        put_count(a, w, r->summary.count[always[i]], always[i], i ? ", " : "");
    }
    for (size_t i = 0; i < sizeof rare / sizeof rare[0]; i++)
        if (r->summary.count[rare[i]])
            put_count(a, w, r->summary.count[rare[i]], rare[i], ", ");

    /* the table, then the cursor's case, why it got its verdict and, where it changed, the
     * counters that moved (the line `kbench compare` prints, from the same compare_counters_line):
     * a fixed number of lines (the counters one to four, more on a taller terminal), so the table
     * does not jump as the cursor moves */
    int detail = height >= 40 ? 6 : height >= 20 ? 4 : height >= 9 ? 3 : height >= 8 ? 2 : 0;
    table_draw(&s->table, a, w, 2, height - 2 - detail);
    long cur = table_current(&s->table);
    if (detail && cur >= 0) {
        const struct compare_case *c = &r->cases[cur];
        char label[300], words[32];
        int top = height - detail;
        compare_case_label(c, label, sizeof label);
        verdict_words(c->verdict, words, sizeof words);
        wattrset(w, app_attr(a, UI_HEADER));
        ui_put(w, top, 0, width, label);
        wmove(w, top + 1, 0);
        int pair = verdict_pair(c->verdict);
        put_part(w, pair ? app_attr(a, (enum ui_pair)pair) : A_BOLD, words);
        snprintf(line, sizeof line, ": %s%s%s", c->reason, *c->note ? "; " : "", c->note);
        put_part(w, A_NORMAL, line);
        if (detail > 2 && report_compare_has_counters(c)) {
            char counters[1024];
            compare_counters_line(c, counters, sizeof counters);
            wmove(w, top + 2, 0);
            put_part(w, A_BOLD, "counters: ");
            put_wrapped(w, top + 2, detail - 2, counters);
        }
    }
}

static int compare_key(struct app *a, void *st, int ch)
{
    struct compare_screen *s = st;
    int used = table_key(&s->table, ch, 0);
    long cur = table_current(&s->table);
    if (used == 2 && cur >= 0) { /* the case's detail as the candidate ran it (the base's, when missing) */
        const struct compare_case *c = &s->result.cases[cur];
        int64_t run = c->cand_case ? s->cand_id : s->base_id, id = c->cand_case ? c->cand_case : c->base_case;
        struct result_row *rows;
        long n = report_load_results(a->store, run, &rows);
        if (n < 0) {
            app_message(a, 1, "%s", store_errmsg(a->store));
            return 1;
        }
        long i = 0;
        while (i < n && rows[i].case_id != id)
            i++;
        if (i < n)
            screen_detail_open(a, &rows[i]);
        else
            app_message(a, 1, "case %" PRId64 " is no longer in run %" PRId64, id, run);
        free(rows);
        return 1;
    }
    return used != 0;
}

static void compare_export(struct app *a, void *st)
{
    struct compare_screen *s = st;
    char prefix[96];
    snprintf(prefix, sizeof prefix, "kbench-compare-%" PRId64 "-%" PRId64, s->base_id, s->cand_id);
    app_export_table(a, &s->table, prefix, "rows");
}

static void compare_destroy(void *st)
{
    struct compare_screen *s = st;
    table_free(&s->table);
    if (s->loaded)
        compare_result_free(&s->result);
    free(s);
}

static const struct screen_ops compare_ops = {
    .name = "compare",
    .keys = "Enter:case s/S:sort /:filter g:group e:csv",
    .reload = compare_reload,
    .draw = compare_draw,
    .key = compare_key,
    .export_view = compare_export,
    .destroy = compare_destroy,
};

int screen_compare_open_measured(struct app *a, int64_t baseline, int64_t candidate)
{
    return compare_open(a, baseline, candidate, 1);
}

int screen_compare_open(struct app *a, int64_t baseline, int64_t candidate)
{
    return compare_open(a, baseline, candidate, 0);
}

static int compare_open(struct app *a, int64_t baseline, int64_t candidate, int measured_again)
{
    struct compare_screen *s = calloc(1, sizeof *s);
    if (!s) {
        app_message(a, 1, "out of memory");
        return -1;
    }
    s->base_id = baseline;
    s->cand_id = candidate;
    s->measured_again = measured_again;
    s->geomean = NAN;
    struct table_source src = { s, compare_count, compare_cell, compare_number, compare_id, compare_style };
    table_init(&s->table, columns, COL_COUNT, &src);
    s->table.group_col = COL_KERNEL;
    return app_push(a, &compare_ops, s);
}
