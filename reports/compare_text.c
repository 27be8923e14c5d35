/* compare_text.c - a comparison as a terminal table and as JSON (compare_report.h), and what every
 * format states: the outcome line, the warnings, which cases list their counters. */
#include "reports/compare_report.h"

#include <math.h>
#include <string.h>

#include "reports/reports.h"

void report_compare_outcome(const struct compare_result *r, char *buf, size_t len)
{
    const struct compare_summary *s = &r->summary;
    char matched[160];
    compare_matched_problem(r, matched, sizeof matched);
    if (s->failing == 0 && !*matched) {
        if (s->count[VERDICT_INCONCLUSIVE]) /* allowed, but never hidden */
            snprintf(buf, len, "PASS (%d inconclusive allowed)", s->count[VERDICT_INCONCLUSIVE]);
        else
            snprintf(buf, len, "PASS");
        return;
    }
    size_t used = (size_t)snprintf(buf, len, "FAIL (");
    static const enum compare_verdict failing[] = { VERDICT_REGRESSED, VERDICT_INCONCLUSIVE, VERDICT_NEWLY_FAILING,
                                                    VERDICT_ACCURACY_DROP };
    int first = 1;
    if (*matched && used < len) {
        used += (size_t)snprintf(buf + used, len - used, "%s", matched);
        first = 0;
    }
    for (size_t i = 0; i < sizeof failing / sizeof failing[0] && used < len; i++) {
        int n = s->count[failing[i]];
        if (!n || !compare_verdict_fails(failing[i], &r->options))
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%s%d %s", first ? "" : ", ", n,
                                 compare_verdict_name(failing[i]));
        first = 0;
    }
    if (used < len)
        snprintf(buf + used, len - used, ")");
}

void report_compare_warnings(const struct compare_result *r, void (*fn)(const char *line, void *ctx), void *ctx)
{
    char line[320];
    const struct run_row *runs[2] = { &r->base, &r->cand };
    const char *what[2] = { "base", "candidate" };
    for (int i = 0; i < 2; i++)
        if (compare_run_incomplete(runs[i])) {
            snprintf(line, sizeof line, "the %s run %lld is %s: cases it did not reach read as %s, not as removed",
                     what[i], (long long)runs[i]->id, *runs[i]->status ? runs[i]->status : "unfinished",
                     i ? "missing" : "new");
            fn(line, ctx);
        }
    compare_matched_problem(r, line, sizeof line);
    if (*line) {
        char full[400];
        snprintf(full, sizeof full, "%s: these runs test nothing together, so the comparison fails", line);
        fn(full, ctx);
    }
}

static void run_line(FILE *out, const char *what, const struct run_row *run)
{
    fprintf(out, "%-9s run %lld  %s  %s  %s%s%s  on %s (%s)\n", what, (long long)run->id, run->uuid, run->started,
            run->status, *run->tag ? "  tags: " : "", run->tag, run->hostname, run->machine);
}

static void format_or_dash(double seconds, char *buf, size_t len)
{
    if (isnan(seconds))
        snprintf(buf, len, "-");
    else
        report_format_seconds(seconds, buf, len);
}

static void text_warning(const char *line, void *ctx)
{
    fprintf((FILE *)ctx, "warning: %s\n", line);
}

int report_compare_text(FILE *out, const struct compare_result *r)
{
    run_line(out, "base", &r->base);
    run_line(out, "candidate", &r->cand);
    if (r->n_cand_runs > 1) {
        fprintf(out, "%-9s the union of %d runs (one sweep's shards):", "", r->n_cand_runs);
        for (int i = 0; i < r->n_cand_runs; i++)
            fprintf(out, " %lld", (long long)r->cand_runs[i]);
        fputc('\n', out);
    }
    report_compare_warnings(r, text_warning, out);
    fprintf(out, "regression: p < %g (or, where the samples are too few for that, the %g%% CI of the change above "
            "the threshold), slower by more than the threshold (%.1f%% unless overridden) and the runs' noise;\n"
            "inconclusive: slower by more than the threshold but undecidable from the samples%s\n\n",
            r->options.alpha, 100 * (1 - r->options.alpha), 100 * r->options.threshold,
            r->options.allow_inconclusive ? " (allowed: --allow-inconclusive)" : " (fails unless --allow-inconclusive)");
    fprintf(out, "%-14s %-58s %10s %10s %8s %17s %9s\n", "verdict", "case", "base", "candidate", "change",
            "CI of change", "p");
    for (size_t i = 0; i < r->n; i++) {
        const struct compare_case *c = &r->cases[i];
        char label[256], b[32], k[32], change[16] = "-", ci[40] = "-", p[16] = "-";
        compare_case_label(c, label, sizeof label);
        format_or_dash(c->base_median, b, sizeof b);
        format_or_dash(c->cand_median, k, sizeof k);
        if (!isnan(c->ratio)) {
            snprintf(change, sizeof change, "%+.1f%%", 100 * (c->ratio - 1));
            if (isnan(c->ratio_lo)) /* fewer than 3 samples a side: no interval */
                snprintf(ci, sizeof ci, "n/a");
            else
                snprintf(ci, sizeof ci, "%+.1f..%+.1f%%", 100 * (c->ratio_lo - 1), 100 * (c->ratio_hi - 1));
            snprintf(p, sizeof p, "%.2g", c->ratio >= 1 ? c->p_slower : c->p_faster);
        }
        fprintf(out, "%-14s %-58s %10s %10s %8s %17s %9s\n", compare_verdict_name(c->verdict), label, b, k, change,
                ci, p);
        if (compare_verdict_fails(c->verdict, &r->options) || c->verdict == VERDICT_STILL_FAILING ||
            c->verdict == VERDICT_INCONCLUSIVE || c->confirm != CONFIRM_NONE)
            fprintf(out, "%14s   %s\n", "", c->reason);
        if (c->confirm != CONFIRM_NONE)
            fprintf(out, "%14s   first measurement: %s\n", "", c->first_reason);
        if (*c->note)
            fprintf(out, "%14s   %s\n", "", c->note);
        if (report_compare_has_counters(c)) {
            char line[1024];
            compare_counters_line(c, line, sizeof line);
            fprintf(out, "%14s   counters: %s\n", "", line);
        }
    }
    char outcome[200];
    report_compare_outcome(r, outcome, sizeof outcome);
    fprintf(out, "\n%d case%s", r->summary.total, r->summary.total == 1 ? "" : "s");
    const char *sep = ": ";
    for (int v = 0; v < VERDICT_COUNT; v++)
        if (r->summary.count[v]) {
            fprintf(out, "%s%d %s", sep, r->summary.count[v], compare_verdict_name((enum compare_verdict)v));
            sep = ", ";
        }
    fprintf(out, " -> %s\n", outcome);
    if (r->summary.reconfirmed)
        fprintf(out, "alerts measured again: %d confirmed, %d dissolved, %d undecided or not confirmed\n",
                r->summary.confirmed, r->summary.dissolved,
                r->summary.reconfirmed - r->summary.confirmed - r->summary.dissolved);
    return ferror(out) ? -1 : 0;
}

int report_compare_has_counters(const struct compare_case *c)
{
    return (c->verdict == VERDICT_REGRESSED || c->verdict == VERDICT_IMPROVED) && !isnan(c->ratio);
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int len = report_utf8_sequence((const char *)p);
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else if (len == 0) { /* not UTF-8: U+FFFD, so every parser accepts the file */
            fputs("\\ufffd", out);
            p++;
            continue;
        } else {
            fwrite(p, 1, (size_t)len, out);
            p += len;
            continue;
        }
        p++;
    }
    fputc('"', out);
}

static void json_number(FILE *out, double v)
{
    if (isfinite(v))
        fprintf(out, "%.17g", v);
    else
        fputs("null", out);
}

static void json_dim(FILE *out, int v)
{
    if (v > 0)
        fprintf(out, "%d", v);
    else
        fputs("null", out);
}

static void json_run(FILE *out, const struct run_row *run)
{
    fprintf(out, "{\"id\": %lld, \"uuid\": ", (long long)run->id);
    json_string(out, run->uuid);
    fputs(", \"started\": ", out);
    json_string(out, run->started);
    fputs(", \"status\": ", out);
    json_string(out, run->status);
    fputs(", \"tags\": ", out);
    json_string(out, run->tag);
    fputs(", \"hostname\": ", out);
    json_string(out, run->hostname);
    fputs(", \"machine\": ", out);
    json_string(out, run->machine);
    fputs("}", out);
}

struct json_list { FILE *out; int n; };

static void json_warning(const char *line, void *ctx)
{
    struct json_list *l = ctx;
    if (l->n++)
        fputs(", ", l->out);
    json_string(l->out, line);
}

/* "confirmation": null, or what re-measuring the case made of it */
static void json_confirmation(FILE *out, const struct compare_case *c)
{
    fputs(", \"confirmation\": ", out);
    if (c->confirm == CONFIRM_NONE) {
        fputs("null", out);
        return;
    }
    fputs("{\"outcome\": ", out);
    json_string(out, compare_confirm_name(c->confirm));
    fputs(", \"first_verdict\": ", out);
    json_string(out, compare_verdict_name(c->first_verdict));
    fputs(", \"first_reason\": ", out);
    json_string(out, c->first_reason);
    fprintf(out, ", \"rounds\": %d, \"interleaved\": %s, \"base_run\": ", c->confirm_rounds,
            c->confirm_interleaved ? "true" : "false");
    if (c->confirm_base_run > 0)
        fprintf(out, "%lld", (long long)c->confirm_base_run);
    else
        fputs("null", out);
    fputs(", \"candidate_run\": ", out);
    if (c->confirm_cand_run > 0)
        fprintf(out, "%lld", (long long)c->confirm_cand_run);
    else
        fputs("null", out);
    fputs("}", out);
}

/* "counters": null for a case whose time did not change, else what was counted and what moved */
static void json_counters(FILE *out, const struct compare_case *c)
{
    fputs(", \"counters\": ", out);
    if (!report_compare_has_counters(c)) {
        fputs("null", out);
        return;
    }
    char line[1024];
    compare_counters_line(c, line, sizeof line);
    fprintf(out, "{\"base_counted\": %d, \"candidate_counted\": %d, \"summary\": ", c->counters_base,
            c->counters_cand);
    json_string(out, line);
    fputs(", \"moved\": [", out);
    for (int i = 0; i < c->n_moved; i++) {
        const struct compare_counter_change *m = &c->moved[i];
        fputs(i ? ", {\"backend\": " : "{\"backend\": ", out);
        json_string(out, m->backend);
        fputs(", \"name\": ", out);
        json_string(out, m->name);
        fputs(", \"unit\": ", out);
        json_string(out, m->unit);
        fputs(", \"base\": ", out);
        json_number(out, m->base);
        fputs(", \"candidate\": ", out);
        json_number(out, m->cand);
        fputs(", \"change\": ", out);
        json_number(out, m->change); /* null: from zero */
        fputs("}", out);
    }
    fputs("]}", out);
}

int report_compare_json(FILE *out, const struct compare_result *r)
{
    char outcome[200];
    report_compare_outcome(r, outcome, sizeof outcome);
    fputs("{\n  \"base\": ", out);
    json_run(out, &r->base);
    fputs(",\n  \"candidate\": ", out);
    json_run(out, &r->cand);
    fputs(",\n  \"candidate_runs\": [", out);
    for (int i = 0; i < r->n_cand_runs; i++)
        fprintf(out, "%s%lld", i ? ", " : "", (long long)r->cand_runs[i]);
    fputs("]", out);
    fprintf(out, ",\n  \"options\": {\"alpha\": %g, \"threshold\": %g, \"accuracy_slack\": %g, \"resamples\": %u, "
            "\"cross_machine\": %s, \"allow_inconclusive\": %s, \"min_matched\": %g, \"thresholds\": [",
            r->options.alpha, r->options.threshold, r->options.accuracy_slack, r->options.resamples,
            r->options.cross_machine ? "true" : "false", r->options.allow_inconclusive ? "true" : "false",
            r->options.min_matched);
    for (int i = 0; i < r->options.n_overrides; i++) {
        fputs(i ? ", {\"kernels\": " : "{\"kernels\": ", out);
        json_string(out, r->options.overrides[i].pattern);
        fprintf(out, ", \"threshold\": %g}", r->options.overrides[i].threshold);
    }
    fputs("]},\n  \"warnings\": [", out);
    struct json_list warnings = { out, 0 };
    report_compare_warnings(r, json_warning, &warnings);
    fputs("],\n  \"summary\": {", out);
    fprintf(out, "\"cases\": %d, \"failing\": %d, \"matched\": %d, \"too_few_matched\": %s", r->summary.total,
            r->summary.failing, r->summary.matched, r->summary.too_few_matched ? "true" : "false");
    fprintf(out, ", \"remeasured\": %d, \"confirmed\": %d, \"dissolved\": %d", r->summary.reconfirmed,
            r->summary.confirmed, r->summary.dissolved);
    for (int v = 0; v < VERDICT_COUNT; v++)
        fprintf(out, ", \"%s\": %d", compare_verdict_name((enum compare_verdict)v), r->summary.count[v]);
    fputs(", \"outcome\": ", out);
    json_string(out, outcome);
    fputs("},\n  \"cases\": [", out);
    for (size_t i = 0; i < r->n; i++) {
        const struct compare_case *c = &r->cases[i];
        fputs(i ? ",\n    {" : "\n    {", out);
        fputs("\"verdict\": ", out);
        json_string(out, compare_verdict_name(c->verdict));
        fputs(", \"kernel\": ", out);
        json_string(out, c->kernel);
        fputs(", \"impl\": ", out);
        json_string(out, c->impl);
        fputs(", \"device\": ", out);
        json_string(out, c->device);
        fputs(", \"dtype\": ", out);
        json_string(out, c->dtype);
        fputs(", \"batch\": ", out);
        json_dim(out, c->shape.batch);
        fputs(", \"heads\": ", out);
        json_dim(out, c->shape.heads);
        fputs(", \"kv_heads\": ", out);
        json_dim(out, c->shape.kv_heads);
        fputs(", \"seq_len\": ", out);
        json_dim(out, c->shape.seq_len);
        fputs(", \"head_dim\": ", out);
        json_dim(out, c->shape.head_dim);
        fprintf(out, ", \"causal\": %s, \"threads\": %d, \"cold_cache\": %s", c->shape.causal ? "true" : "false",
                c->threads, c->cold_cache ? "true" : "false");
        fprintf(out, ", \"base_case_id\": %lld, \"candidate_case_id\": %lld", (long long)c->base_case,
                (long long)c->cand_case);
        fputs(", \"base_status\": ", out);
        json_string(out, c->base_status);
        fputs(", \"candidate_status\": ", out);
        json_string(out, c->cand_status);
        const struct { const char *key; double v; } nums[] = {
            { "base_median_s", c->base_median }, { "candidate_median_s", c->cand_median },
            { "base_noise", c->base_noise }, { "candidate_noise", c->cand_noise },
            { "ratio", c->ratio }, { "ratio_ci_lo", c->ratio_lo }, { "ratio_ci_hi", c->ratio_hi },
            { "p_slower", c->p_slower }, { "p_faster", c->p_faster }, { "p_min", c->p_min },
            { "threshold", c->threshold }, { "clock_normalised_ratio", c->clock_ratio },
            { "base_rel_l2_err", c->base_err }, { "candidate_rel_l2_err", c->cand_err },
            { "tolerance", c->tolerance },
        };
        for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) {
            fprintf(out, ", \"%s\": ", nums[k].key);
            json_number(out, nums[k].v);
        }
        fprintf(out, ", \"base_samples\": %zu, \"candidate_samples\": %zu", c->base_n, c->cand_n);
        const struct { const char *key; long v; } counts[] = {
            { "base_min_samples", c->base_min_samples }, { "candidate_min_samples", c->cand_min_samples },
            { "base_set_aside", c->base_set_aside }, { "candidate_set_aside", c->cand_set_aside },
        };
        for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) /* -1: unknown (an older database) */
            if (counts[k].v >= 0)
                fprintf(out, ", \"%s\": %ld", counts[k].key, counts[k].v);
            else
                fprintf(out, ", \"%s\": null", counts[k].key);
        fprintf(out, ", \"fails\": %s, \"reason\": ", compare_verdict_fails(c->verdict, &r->options) ? "true" : "false");
        json_string(out, c->reason);
        fputs(", \"note\": ", out);
        if (*c->note)
            json_string(out, c->note);
        else
            fputs("null", out);
        json_confirmation(out, c);
        json_counters(out, c);
        fputs("}", out);
    }
    fputs("\n  ]\n}\n", out);
    return ferror(out) ? -1 : 0;
}
