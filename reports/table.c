/* table.c - aligned text tables for people: the runs list and a run's results. */
#include "reports/reports.h"

#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness/record.h"
#include "harness/stats.h"

#define CELL_MAX 160

void report_format_seconds(double s, char *buf, size_t len)
{
    static const struct { double scale; const char *unit; } units[] = {
        { 1e9, "ns" }, { 1e6, "us" }, { 1e3, "ms" }, { 1, "s" },
    };
    if (!buf || len == 0)
        return;
    if (!isfinite(s)) {
        snprintf(buf, len, "-");
        return;
    }
    if (s == 0) {
        snprintf(buf, len, "0 s");
        return;
    }
    double mag = fabs(s);
    size_t u = 0;
    /* The unit whose value, once rounded to three significant digits, stays below 1000: 999.7 ns
     * is printed as "1.00 us", not "1000 ns". */
    while (u + 1 < sizeof units / sizeof units[0] && mag * units[u].scale >= 999.5)
        u++;
    double v = s * units[u].scale, av = fabs(v);
    int decimals = av >= 99.95 ? 0 : av >= 9.995 ? 1 : 2;
    snprintf(buf, len, "%.*f %s", decimals, v, units[u].unit);
}

/* A growable array of fixed-size rows, filled by the store's callbacks. */
struct row_vec {
    void *v;
    size_t n, cap, size;
    int oom;
};

static int row_vec_push(struct row_vec *vec, const void *row)
{
    if (vec->n == vec->cap) {
        size_t cap = vec->cap ? vec->cap * 2 : 32;
        void *v = realloc(vec->v, cap * vec->size);
        if (!v) {
            vec->oom = 1;
            return 1;
        }
        vec->v = v;
        vec->cap = cap;
    }
    memcpy((char *)vec->v + vec->n++ * vec->size, row, vec->size);
    return 0;
}

static int collect_result(const struct result_row *r, void *ctx) { return row_vec_push(ctx, r); }
static int collect_run(const struct run_row *r, void *ctx) { return row_vec_push(ctx, r); }

long report_load_results(struct store *s, int64_t run_id, struct result_row **rows)
{
    struct row_vec vec = { .size = sizeof(struct result_row) };
    *rows = NULL;
    /* Collected first, so that writers may query the store again for each case (counters,
     * samples) without nesting statements inside the listing. */
    if (store_list_results(s, run_id, collect_result, &vec) != 0 || vec.oom) {
        free(vec.v);
        return -1;
    }
    *rows = vec.v;
    return (long)vec.n;
}

/* ---- a generic aligned table ---------------------------------------------------------------- */

enum colour { COLOUR_NONE, COLOUR_GREEN, COLOUR_RED };

struct table {
    int ncols;
    const char *const *head;
    const char *align;      /* 'l' or 'r' per column */
    char (*cells)[CELL_MAX];
    enum colour *colour;    /* per row: applied to the last column */
    size_t rows, cap;
};

/* Columns are measured in characters, not bytes, so "±" in a header does not shift a column. */
static size_t display_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

/* Control characters from the database would move the cursor or start an escape sequence on
 * the reader's terminal; they are shown as '?'. */
static void set_cell(char *dst, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < CELL_MAX; i++)
        dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? '?' : src[i];
    dst[i] = '\0';
}

static int table_add(struct table *t, const char *const *cells, enum colour colour)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        char (*c)[CELL_MAX] = realloc(t->cells, cap * (size_t)t->ncols * sizeof *c);
        if (!c)
            return -1;
        t->cells = c;
        enum colour *col = realloc(t->colour, cap * sizeof *col);
        if (!col)
            return -1;
        t->colour = col;
        t->cap = cap;
    }
    for (int i = 0; i < t->ncols; i++)
        set_cell(t->cells[t->rows * (size_t)t->ncols + (size_t)i], cells[i] ? cells[i] : "");
    t->colour[t->rows++] = colour;
    return 0;
}

static void table_free(struct table *t)
{
    free(t->cells);
    free(t->colour);
}

static void pad(FILE *out, size_t n)
{
    while (n--)
        fputc(' ', out);
}

static void print_cell(FILE *out, const char *text, size_t width, char align, int last)
{
    size_t w = display_width(text);
    size_t gap = width > w ? width - w : 0;
    if (align == 'r')
        pad(out, gap);
    fputs(text, out);
    if (align != 'r' && !last)
        pad(out, gap);
}

static void table_print(FILE *out, const struct table *t, int use_colour)
{
    size_t width[32] = { 0 };
    for (int c = 0; c < t->ncols; c++) {
        width[c] = display_width(t->head[c]);
        for (size_t r = 0; r < t->rows; r++) {
            size_t w = display_width(t->cells[r * (size_t)t->ncols + (size_t)c]);
            if (w > width[c])
                width[c] = w;
        }
    }
    for (int c = 0; c < t->ncols; c++) {
        if (c)
            fputs("  ", out);
        print_cell(out, t->head[c], width[c], t->align[c], c == t->ncols - 1);
    }
    fputc('\n', out);
    for (size_t r = 0; r < t->rows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *text = t->cells[r * (size_t)t->ncols + (size_t)c];
            int last = c == t->ncols - 1;
            if (c)
                fputs("  ", out);
            /* Only the last column is coloured, so the escape codes never sit inside padding
             * that later columns are aligned against. */
            if (last && use_colour && t->colour[r] != COLOUR_NONE) {
                fputs(t->colour[r] == COLOUR_GREEN ? "\033[32m" : "\033[31m", out);
                print_cell(out, text, width[c], t->align[c], last);
                fputs("\033[0m", out);
            } else {
                print_cell(out, text, width[c], t->align[c], last);
            }
        }
        fputc('\n', out);
    }
}

static int want_colour(FILE *out)
{
    const char *no_colour = getenv("NO_COLOR");
    if (no_colour && *no_colour)
        return 0;
    int fd = fileno(out);
    return fd >= 0 && isatty(fd);
}

/* ---- the runs list --------------------------------------------------------------------------- */

/* "2024-05-01T12:34:56Z" (UTC) as local time to the minute; text it cannot read is shown as
 * stored, trimmed. */
static void format_started(const char *iso, char *buf, size_t len)
{
    struct tm tm = { 0 };
    char sep;
    if (sscanf(iso, "%4d-%2d-%2d%c%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &sep,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 7 && (sep == 'T' || sep == ' ')) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        time_t t = timegm(&tm);
        struct tm local;
        if (t != (time_t)-1 && localtime_r(&t, &local) && strftime(buf, len, "%Y-%m-%d %H:%M", &local))
            return;
    }
    snprintf(buf, len, "%.16s", iso);
    char *t = strchr(buf, 'T');
    if (t)
        *t = ' ';
}


int report_runs_table(FILE *out, struct store *s, int limit)
{
    struct row_vec runs = { .size = sizeof(struct run_row) };
    if (store_list_runs(s, limit, collect_run, &runs) != 0 || runs.oom) {
        free(runs.v);
        return -1;
    }
    int rc = report_runs_rows(out, s, runs.v, runs.n);
    free(runs.v);
    return rc;
}

int report_runs_rows(FILE *out, struct store *s, const struct run_row *rows, size_t n)
{
    static const char *const head[] = { "id", "started", "host", "tag", "suite", "cases",
                                        "failures", "status", "uuid", "commit" };
    if (n == 0) {
        fprintf(out, "no runs in this database\n");
        return 0;
    }
    struct table t = { .ncols = 10, .head = head, .align = "rllllrrlll" };
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct run_row *r = &rows[i];
        char id[24], started[40], cases[32], failures[16], uuid[9], commit[64], flags[8];
        snprintf(id, sizeof id, "%lld", (long long)r->id);
        format_started(r->started, started, sizeof started);
        snprintf(cases, sizeof cases, "%d/%d", r->cases, r->planned_cases);
        snprintf(failures, sizeof failures, "%d", r->failures);
        snprintf(uuid, sizeof uuid, "%.8s", r->uuid);
        store_get_run_build(s, r->id, commit, sizeof commit, flags, sizeof flags); /* the source that measured */
        const char *cells[] = { id, started, r->hostname, *r->tag ? r->tag : "-",
                                *r->suite ? r->suite : "-", cases, failures, r->status, uuid,
                                *commit ? commit : "-" };
        rc = table_add(&t, cells, COLOUR_NONE);
    }
    if (rc == 0)
        table_print(out, &t, 0);
    table_free(&t);
    return rc;
}

/* ---- a run's results --------------------------------------------------------------------------- */

/* "1x8x8 N=4096 d=128 causal": batch x heads x kv-heads, then length and head size, then the
 * other axes the case has ("w=256", "relu"); other families as kb_shape_string writes them. */
static void compact_shape(const struct result_row *r, char *buf, size_t len)
{
    const struct kb_shape *s = &r->shape;
    const char *cold = r->cold_cache ? " cold" : "";
    if (s->batch == 0 || s->seq_len == 0 || s->heads == 0) {
        char rest[160];
        kb_shape_string(s, 0, rest, sizeof rest);
        snprintf(buf, len, "%s%s", *rest ? rest : "-", cold);
        return;
    }
    struct kb_shape extra = *s;
    extra.batch = extra.heads = extra.kv_heads = extra.seq_len = extra.head_dim = extra.causal = 0;
    char rest[160];
    kb_shape_string(&extra, 0, rest, sizeof rest);
    snprintf(buf, len, "%dx%dx%d N=%d d=%d%s%s%s%s", s->batch, s->heads, s->kv_heads ? s->kv_heads : s->heads,
             s->seq_len, s->head_dim, s->causal ? " causal" : "", *rest ? " " : "", rest, cold);
}

/* Throughput with three significant digits and no exponent ("1234", "56.7", "0.123"). */
static void format_rate(double per_s, char *buf, size_t len)
{
    double g = per_s * 1e-9;
    if (!isfinite(g) || g <= 0)
        snprintf(buf, len, "-");
    else if (g >= 99.95)
        snprintf(buf, len, "%.0f", g);
    else if (g >= 9.995)
        snprintf(buf, len, "%.1f", g);
    else if (g >= 0.9995)
        snprintf(buf, len, "%.2f", g);
    else if (g >= 0.0005)
        snprintf(buf, len, "%.3f", g);
    else
        snprintf(buf, len, "%.1e", g);
}

int report_has_ci(const struct result_row *r)
{
    return r->stats.n >= STATS_MIN_CI_SAMPLES && isfinite(r->stats.median);
}

void report_format_ci(const struct result_row *r, char *buf, size_t len)
{
    const struct kb_stats *st = &r->stats;
    if (st->n == 0 || !isfinite(st->median)) {
        snprintf(buf, len, "-");
        return;
    }
    double rel = NAN;
    if (report_has_ci(r)) {
        if (isfinite(st->ci_lo) && isfinite(st->ci_hi) && st->median > 0)
            rel = (st->ci_hi - st->ci_lo) / 2 / st->median;
        else if (isfinite(st->noise))
            rel = st->noise;
    }
    if (isfinite(rel))
        snprintf(buf, len, "±%.1f%%", rel * 100);
    else
        snprintf(buf, len, "n/a");
}

int report_noise_missed(const struct result_row *r)
{
    return r->stats.n > 0 && r->noise_met == 0;
}

int report_min_missed(const struct result_row *r)
{
    return r->min_samples > 0 && r->stats.n < (size_t)r->min_samples && strcmp(r->status, "ok") == 0;
}

void report_sampling_note(const struct result_row *r, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    if (report_noise_missed(r) && used < len) {
        if (isfinite(r->noise_target))
            used += (size_t)snprintf(buf + used, len - used, "noise target ±%.1f%% not met", 100 * r->noise_target);
        else
            used += (size_t)snprintf(buf + used, len - used, "noise target not met");
    }
    if (report_min_missed(r) && used < len)
        used += (size_t)snprintf(buf + used, len - used, "%s%zu of %d samples%s%s%s", used ? "; " : "", r->stats.n,
                                 r->min_samples, *r->stop_reason ? " (stopped by " : "", r->stop_reason,
                                 *r->stop_reason ? ")" : "");
    if (r->set_aside > 0 && used < len)
        snprintf(buf + used, len - used, "%s%d throttled sample%s set aside%s%s%s", used ? "; " : "", r->set_aside,
                 r->set_aside == 1 ? "" : "s", *r->throttle_reason ? " (" : "", r->throttle_reason,
                 *r->throttle_reason ? ")" : "");
}

/* The CI cell of the results table: the CI, and "*" where the noise target was not met. */
static void format_ci(const struct result_row *r, char *buf, size_t len)
{
    char ci[32];
    report_format_ci(r, ci, sizeof ci);
    snprintf(buf, len, "%s%s", ci, report_noise_missed(r) ? "*" : "");
}

/* Tallies by status for the summary line; a name this build does not know counts as other. */
struct tally {
    int n[CASE_STATUS_COUNT];
    int other;
};

static void print_failure(FILE *out, const struct result_row *r)
{
    char shape[96], line[CELL_MAX * 3];
    compact_shape(r, shape, sizeof shape);
    if (*r->error)
        snprintf(line, sizeof line, "%s", r->error);
    else if (isfinite(r->rel_l2_err) && isfinite(r->tolerance))
        snprintf(line, sizeof line, "rel.err %.2e above tolerance %.2e", r->rel_l2_err, r->tolerance);
    else
        snprintf(line, sizeof line, "no error text recorded");
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    /* Runner messages often start with the status already ("crashed: killed by signal 11"). */
    size_t sl = strlen(r->status);
    int has_status = strncmp(line, r->status, sl) == 0 && line[sl] == ':';
    fprintf(out, "  case %lld %s@%s %s %s %s t=%d: %s%s%s\n", (long long)r->case_id, r->kernel, r->impl,
            r->device, r->dtype, shape, r->threads, has_status ? "" : r->status, has_status ? "" : ": ", line);
}

int report_results_table(FILE *out, struct store *s, int64_t run_id)
{
    return report_results_table_matching(out, s, run_id, NULL);
}

int report_tags_include(const char *tags, const char *tag)
{
    size_t len = strlen(tag);
    for (const char *p = tags; *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && strncmp(p, tag, len) == 0)
            return 1;
        p += n + (p[n] != '\0');
    }
    return 0;
}

/* 1 when a stored case's kernel matches a pattern as 'kbench run --kernels' reads it. */
int report_row_matches(const struct result_row *r, const char *pattern)
{
    if (!pattern || fnmatch(pattern, r->kernel, 0) == 0)
        return 1;
    char full[128];
    snprintf(full, sizeof full, "%s@%s", r->kernel, r->impl);
    return fnmatch(pattern, full, 0) == 0;
}

int report_results_table_matching(FILE *out, struct store *s, int64_t run_id, const char *pattern)
{
    static const char *const head[] = { "kernel", "impl", "device", "dtype", "shape", "thr", "median",
                                        "±CI", "GFLOP/s", "GB/s", "rel.err", "status" };
    struct result_row *rows;
    long n = report_load_results(s, run_id, &rows);
    if (n < 0)
        return -1;
    long kept = 0;
    for (long i = 0; i < n; i++)
        if (report_row_matches(&rows[i], pattern))
            rows[kept++] = rows[i];
    n = kept;
    struct table t = { .ncols = 12, .head = head, .align = "lllllrrrrrrl" };
    struct tally tally = { { 0 }, 0 };
    int rc = 0, any_failed = 0, noise_missed = 0, noted = 0;
    for (long i = 0; i < n && rc == 0; i++) {
        const struct result_row *r = &rows[i];
        char shape[96], thr[16], median[32], ci[32], gflops[32], gbs[32], relerr[32];
        compact_shape(r, shape, sizeof shape);
        snprintf(thr, sizeof thr, "%d", r->threads);
        report_format_seconds(r->stats.median, median, sizeof median);
        format_ci(r, ci, sizeof ci);
        format_rate(r->flops_per_s, gflops, sizeof gflops);
        format_rate(r->bytes_per_s, gbs, sizeof gbs);
        if (isfinite(r->rel_l2_err))
            snprintf(relerr, sizeof relerr, "%.1e", r->rel_l2_err);
        else
            snprintf(relerr, sizeof relerr, "-");
        enum case_status st;
        enum colour colour = COLOUR_NONE;
        if (case_status_parse(r->status, &st) == 0) {
            tally.n[st]++;
            if (st == CASE_OK)
                colour = COLOUR_GREEN;
            else if (st != CASE_SKIPPED)
                colour = COLOUR_RED;
            if (st != CASE_OK && st != CASE_SKIPPED)
                any_failed = 1;
        } else {
            tally.other++;
        }
        noise_missed += report_noise_missed(r);
        noted += report_min_missed(r) || r->set_aside > 0;
        const char *cells[] = { r->kernel, r->impl, r->device, r->dtype, shape, thr, median, ci,
                                gflops, gbs, relerr, r->status };
        rc = table_add(&t, cells, colour);
    }
    if (rc == 0) {
        if (n > 0)
            table_print(out, &t, want_colour(out));
        if (noise_missed)
            fprintf(out, "\n* noise target not met (%d case%s): more time (--max-time) or a quieter machine "
                    "narrows the CI\n", noise_missed, noise_missed == 1 ? "" : "s");
        if (noted) {
            fputs("\nsampling fell short:\n", out);
            for (long i = 0; i < n; i++) {
                char shape[96], note[256];
                if (!report_min_missed(&rows[i]) && rows[i].set_aside <= 0)
                    continue;
                compact_shape(&rows[i], shape, sizeof shape);
                report_sampling_note(&rows[i], note, sizeof note);
                fprintf(out, "  case %lld %s@%s %s %s %s t=%d: %s\n", (long long)rows[i].case_id, rows[i].kernel,
                        rows[i].impl, rows[i].device, rows[i].dtype, shape, rows[i].threads, note);
            }
        }
        if (any_failed) {
            fputs("\nfailed cases:\n", out);
            for (long i = 0; i < n; i++) {
                enum case_status st;
                if (case_status_parse(rows[i].status, &st) == 0 && st != CASE_OK && st != CASE_SKIPPED)
                    print_failure(out, &rows[i]);
            }
        }
        /* a skip is this machine's limit (memory, a GPU feature, a shape one kernel lacks): say which */
        if (tally.n[CASE_SKIPPED]) {
            fputs("\nskipped cases:\n", out);
            for (long i = 0; i < n; i++)
                if (strcmp(rows[i].status, "skipped") == 0)
                    print_failure(out, &rows[i]);
        }
        fprintf(out, "%s%ld case%s: %d ok, %d failed verification, %d crashed, %d timed out, %d skipped",
                n > 0 ? "\n" : "", n, n == 1 ? "" : "s", tally.n[CASE_OK], tally.n[CASE_VERIFY_FAILED], tally.n[CASE_CRASHED],
                tally.n[CASE_TIMEOUT], tally.n[CASE_SKIPPED]);
        if (tally.n[CASE_SETUP_FAILED])
            fprintf(out, ", %d setup failed", tally.n[CASE_SETUP_FAILED]);
        if (tally.n[CASE_INTERRUPTED])
            fprintf(out, ", %d interrupted", tally.n[CASE_INTERRUPTED]);
        if (tally.other)
            fprintf(out, ", %d other", tally.other);
        fputc('\n', out);
    }
    table_free(&t);
    free(rows);
    return rc;
}
