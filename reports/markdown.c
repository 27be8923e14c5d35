/* markdown.c - a comparison as a markdown page (compare_report.h): the outcome first, then the
 * cases that need a person's attention, then every case. Table cells escape '|' so a kernel or
 * error text cannot break a row. */
#include "reports/compare_report.h"

#include <math.h>
#include <string.h>

#include "reports/reports.h"

static void md_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', out);
        else
            fputc(*s, out);
    }
}

static void md_seconds(FILE *out, double s)
{
    char buf[32];
    if (isnan(s))
        fputs("–", out);
    else {
        report_format_seconds(s, buf, sizeof buf);
        fputs(buf, out);
    }
}

static void md_run(FILE *out, const char *what, const struct run_row *run)
{
    fprintf(out, "| %s | %lld | `%s` | %s | %s | ", what, (long long)run->id, run->uuid, run->started, run->status);
    md_cell(out, run->tag);
    fputs(" | ", out);
    md_cell(out, run->hostname);
    fprintf(out, " (`%s`) |\n", run->machine);
}

static void md_table(FILE *out, const struct compare_result *r, const char *title,
                     int (*want)(const struct compare_result *, enum compare_verdict))
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += (size_t)want(r, r->cases[i].verdict);
    if (!n)
        return;
    fprintf(out, "\n## %s (%zu)\n\n", title, n);
    fputs("| verdict | case | base | candidate | change | CI of change | p | threshold | why |\n"
          "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n", out);
    for (size_t i = 0; i < r->n; i++) {
        const struct compare_case *c = &r->cases[i];
        if (!want(r, c->verdict))
            continue;
        char label[256];
        compare_case_label(c, label, sizeof label);
        const char *bold = compare_verdict_fails(c->verdict, &r->options) ? "**" : "";
        fprintf(out, "| %s%s%s | `", bold, compare_verdict_name(c->verdict), bold);
        md_cell(out, label);
        fputs("` | ", out);
        md_seconds(out, c->base_median);
        fputs(" | ", out);
        md_seconds(out, c->cand_median);
        if (isnan(c->ratio))
            fputs(" | – | – | – ", out);
        else if (isnan(c->ratio_lo)) /* fewer than 3 samples a side: no interval */
            fprintf(out, " | %+.1f%% | n/a | %.2g ", 100 * (c->ratio - 1), c->ratio >= 1 ? c->p_slower : c->p_faster);
        else
            fprintf(out, " | %+.1f%% | %+.1f%% … %+.1f%% | %.2g ", 100 * (c->ratio - 1), 100 * (c->ratio_lo - 1),
                    100 * (c->ratio_hi - 1), c->ratio >= 1 ? c->p_slower : c->p_faster);
        fprintf(out, "| %.1f%% | ", 100 * c->threshold);
        md_cell(out, c->reason);
        if (*c->note) {
            fputs("; ", out);
            md_cell(out, c->note);
        }
        if (report_compare_has_counters(c)) {
            char line[1024];
            compare_counters_line(c, line, sizeof line);
            fputs("; counters: ", out);
            md_cell(out, line);
        }
        fputs(" |\n", out);
    }
}

/* The alerts measured again before they were raised: which stood and which went away. */
static void md_confirmation(FILE *out, const struct compare_result *r)
{
    if (!r->summary.reconfirmed)
        return;
    fprintf(out, "\n## Alerts measured again (%d): %d confirmed, %d dissolved\n\n", r->summary.reconfirmed,
            r->summary.confirmed, r->summary.dissolved);
    fputs("| outcome | case | first measurement | measured again |\n| --- | --- | --- | --- |\n", out);
    for (size_t i = 0; i < r->n; i++) {
        const struct compare_case *c = &r->cases[i];
        if (c->confirm == CONFIRM_NONE)
            continue;
        char label[256];
        compare_case_label(c, label, sizeof label);
        const char *bold = c->confirm == CONFIRM_DISSOLVED ? "" : "**";
        fprintf(out, "| %s%s%s | `", bold, compare_confirm_name(c->confirm), bold);
        md_cell(out, label);
        fputs("` | ", out);
        md_cell(out, compare_verdict_name(c->first_verdict));
        fputs(": ", out);
        md_cell(out, c->first_reason);
        fputs(" | ", out);
        md_cell(out, c->reason);
        fputs("; ", out);
        md_cell(out, c->note);
        fputs(" |\n", out);
    }
}

static int is_failing(const struct compare_result *r, enum compare_verdict v)
{
    return compare_verdict_fails(v, &r->options);
}
static int is_allowed(const struct compare_result *r, enum compare_verdict v)
{
    return v == VERDICT_INCONCLUSIVE && !compare_verdict_fails(v, &r->options);
}
static int is_improved(const struct compare_result *r, enum compare_verdict v)
{
    (void)r;
    return v == VERDICT_IMPROVED || v == VERDICT_FIXED;
}
static int is_other(const struct compare_result *r, enum compare_verdict v)
{
    (void)r;
    return v == VERDICT_NEW || v == VERDICT_MISSING || v == VERDICT_STILL_FAILING || v == VERDICT_UNTIMED;
}
static int is_same(const struct compare_result *r, enum compare_verdict v)
{
    (void)r;
    return v == VERDICT_SAME;
}

static void md_warning(const char *line, void *ctx)
{
    FILE *out = ctx;
    fputs("> **Warning:** ", out);
    md_cell(out, line);
    fputs("\n\n", out);
}

int report_compare_markdown(FILE *out, const struct compare_result *r)
{
    char outcome[200];
    report_compare_outcome(r, outcome, sizeof outcome);
    fprintf(out, "# kbench compare: run %lld → run %lld: %s\n\n", (long long)r->base.id, (long long)r->cand.id,
            outcome);
    report_compare_warnings(r, md_warning, out);
    fputs("| | run | uuid | started | status | tags | machine |\n| --- | ---: | --- | --- | --- | --- | --- |\n", out);
    md_run(out, "base", &r->base);
    md_run(out, "candidate", &r->cand);
    if (r->n_cand_runs > 1) {
        fprintf(out, "\nThe candidate is the union of %d runs (one sweep's shards):", r->n_cand_runs);
        for (int i = 0; i < r->n_cand_runs; i++)
            fprintf(out, "%s %lld", i ? "," : "", (long long)r->cand_runs[i]);
        fputs(".\n", out);
    }
    fprintf(out, "\n%d case%s:", r->summary.total, r->summary.total == 1 ? "" : "s");
    for (int v = 0; v < VERDICT_COUNT; v++)
        if (r->summary.count[v])
            fprintf(out, " %d %s,", r->summary.count[v], compare_verdict_name((enum compare_verdict)v));
    fprintf(out, " %d failing.\n\nA case regresses when its slowdown is shown (Mann-Whitney U, p < %g; where the "
            "samples are too few for the test to reach that, the %g%% interval of the change lies above the "
            "threshold), larger than its threshold (%.1f%% by default) and larger than the noise of both runs. "
            "A slowdown beyond the threshold that the samples cannot decide, or a case short of its minimum "
            "samples, is inconclusive%s. Changes are candidate/base ratios of medians with a %g%% bootstrap "
            "interval (n/a under 3 samples).\n",
            r->summary.failing, r->options.alpha, 100 * (1 - r->options.alpha), 100 * r->options.threshold,
            r->options.allow_inconclusive ? " (allowed here by --allow-inconclusive)" : " and fails",
            100 * (1 - r->options.alpha));
    md_confirmation(out, r);
    md_table(out, r, "Failing", is_failing);
    md_table(out, r, "Inconclusive, allowed", is_allowed);
    md_table(out, r, "Improved or fixed", is_improved);
    md_table(out, r, "Not compared", is_other);
    md_table(out, r, "Unchanged", is_same);
    return ferror(out) ? -1 : 0;
}
