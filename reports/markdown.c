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

static void md_table(FILE *out, const struct compare_result *r, const char *title, int (*want)(enum compare_verdict))
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += (size_t)want(r->cases[i].verdict);
    if (!n)
        return;
    fprintf(out, "\n## %s (%zu)\n\n", title, n);
    fputs("| verdict | case | base | candidate | change | CI of change | p | threshold | why |\n"
          "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n", out);
    for (size_t i = 0; i < r->n; i++) {
        const struct compare_case *c = &r->cases[i];
        if (!want(c->verdict))
            continue;
        char label[256];
        compare_case_label(c, label, sizeof label);
        fprintf(out, "| %s%s%s | `", compare_verdict_fails(c->verdict) ? "**" : "", compare_verdict_name(c->verdict),
                compare_verdict_fails(c->verdict) ? "**" : "");
        md_cell(out, label);
        fputs("` | ", out);
        md_seconds(out, c->base_median);
        fputs(" | ", out);
        md_seconds(out, c->cand_median);
        if (isnan(c->ratio))
            fputs(" | – | – | – ", out);
        else
            fprintf(out, " | %+.1f%% | %+.1f%% … %+.1f%% | %.2g ", 100 * (c->ratio - 1), 100 * (c->ratio_lo - 1),
                    100 * (c->ratio_hi - 1), c->ratio >= 1 ? c->p_slower : c->p_faster);
        fprintf(out, "| %.1f%% | ", 100 * c->threshold);
        md_cell(out, c->reason);
        fputs(" |\n", out);
    }
}

static int is_failing(enum compare_verdict v) { return compare_verdict_fails(v); }
static int is_improved(enum compare_verdict v) { return v == VERDICT_IMPROVED || v == VERDICT_FIXED; }
static int is_other(enum compare_verdict v)
{
    return v == VERDICT_NEW || v == VERDICT_MISSING || v == VERDICT_STILL_FAILING || v == VERDICT_UNTIMED;
}
static int is_same(enum compare_verdict v) { return v == VERDICT_SAME; }

int report_compare_markdown(FILE *out, const struct compare_result *r)
{
    char outcome[160];
    report_compare_outcome(r, outcome, sizeof outcome);
    fprintf(out, "# kbench compare: run %lld → run %lld: %s\n\n", (long long)r->base.id, (long long)r->cand.id,
            outcome);
    fputs("| | run | uuid | started | status | tags | machine |\n| --- | ---: | --- | --- | --- | --- | --- |\n", out);
    md_run(out, "base", &r->base);
    md_run(out, "candidate", &r->cand);
    fprintf(out, "\n%d cases:", r->summary.total);
    for (int v = 0; v < VERDICT_COUNT; v++)
        if (r->summary.count[v])
            fprintf(out, " %d %s,", r->summary.count[v], compare_verdict_name((enum compare_verdict)v));
    fprintf(out, " %d failing.\n\nA case regresses when its slowdown is significant (Mann-Whitney U, p < %g), "
            "larger than its threshold (%.1f%% by default) and larger than the noise of both runs. "
            "Changes are candidate/base ratios of medians with a %g%% bootstrap interval.\n",
            r->summary.failing, r->options.alpha, 100 * r->options.threshold, 100 * (1 - r->options.alpha));
    md_table(out, r, "Failing", is_failing);
    md_table(out, r, "Improved or fixed", is_improved);
    md_table(out, r, "Not compared", is_other);
    md_table(out, r, "Unchanged", is_same);
    return ferror(out) ? -1 : 0;
}
