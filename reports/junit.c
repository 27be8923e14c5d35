/* junit.c - a comparison as JUnit XML (compare_report.h), the test-report format CI systems read.
 *
 * The layout is the Ant JUnit report as CI tools consume it (tests/fixtures/junit.xsd is the
 * schema the tests validate against): <testsuites> holding one <testsuite> with the runs as
 * <properties>, one <testcase> per compared case (classname kernel@impl, name the rest of the
 * case, time the candidate's median per call), and inside it <failure type="VERDICT"> for a
 * failing verdict or <skipped> for a case that was not compared. Text is escaped for XML 1.0,
 * whose character set excludes most control characters: those become U+FFFD, as do bytes
 * that are not UTF-8. */
#include "reports/compare_report.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "reports/reports.h"

static void xml_text(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int len = report_utf8_sequence((const char *)p);
        switch (*p) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&apos;", out); break;
        case '\t': case '\n': fputc(*p, out); break;
        default:
            if (*p < 0x20 || len == 0) {
                fputs("\xEF\xBF\xBD", out);
                break;
            }
            fwrite(p, 1, (size_t)len, out);
            p += len;
            continue;
        }
        p++;
    }
}

static void property(FILE *out, const char *name, const char *value)
{
    fprintf(out, "      <property name=\"%s\" value=\"", name);
    xml_text(out, value);
    fputs("\"/>\n", out);
}

/* Not compared, or inconclusive where --allow-inconclusive lets it pass: a skip, never a pass. */
static int skipped(const struct compare_result *r, enum compare_verdict v)
{
    return v == VERDICT_NEW || v == VERDICT_MISSING || v == VERDICT_STILL_FAILING || v == VERDICT_UNTIMED ||
           (v == VERDICT_INCONCLUSIVE && !compare_verdict_fails(v, &r->options));
}

int report_compare_junit(FILE *out, const struct compare_result *r)
{
    int n_fail = r->summary.failing, n_skip = 0;
    double total_time = 0;
    for (size_t i = 0; i < r->n; i++) {
        n_skip += skipped(r, r->cases[i].verdict);
        if (isfinite(r->cases[i].cand_median))
            total_time += r->cases[i].cand_median;
    }
    /* the candidate's start as the suite's timestamp, without the zone suffix the format lacks */
    char stamp[32];
    snprintf(stamp, sizeof stamp, "%.19s", r->cand.started);
    if (strlen(stamp) != 19) {
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", gmtime(&now));
    }
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
    fprintf(out, "<testsuites name=\"kbench compare\" tests=\"%zu\" failures=\"%d\" errors=\"0\" skipped=\"%d\" "
            "time=\"%.9f\">\n", r->n, n_fail, n_skip, total_time);
    fprintf(out, "  <testsuite name=\"kbench compare run %lld to run %lld\" tests=\"%zu\" failures=\"%d\" errors=\"0\" "
            "skipped=\"%d\" time=\"%.9f\" timestamp=\"%s\" hostname=\"", (long long)r->base.id, (long long)r->cand.id,
            r->n, n_fail, n_skip, total_time, stamp);
    xml_text(out, *r->cand.hostname ? r->cand.hostname : "unknown");
    fputs("\">\n    <properties>\n", out);
    char buf[64], outcome[200];
    property(out, "base.run", (snprintf(buf, sizeof buf, "%lld", (long long)r->base.id), buf));
    property(out, "base.uuid", r->base.uuid);
    property(out, "base.machine", r->base.machine);
    property(out, "candidate.run", (snprintf(buf, sizeof buf, "%lld", (long long)r->cand.id), buf));
    property(out, "candidate.uuid", r->cand.uuid);
    property(out, "candidate.machine", r->cand.machine);
    if (r->n_cand_runs > 1) {
        char runs[COMPARE_MAX_SHARDS * 21 + 1] = "";
        size_t used = 0;
        for (int i = 0; i < r->n_cand_runs && used < sizeof runs; i++)
            used += (size_t)snprintf(runs + used, sizeof runs - used, "%s%lld", i ? "," : "", (long long)r->cand_runs[i]);
        property(out, "candidate.runs", runs);
    }
    property(out, "alpha", (snprintf(buf, sizeof buf, "%g", r->options.alpha), buf));
    property(out, "threshold", (snprintf(buf, sizeof buf, "%g", r->options.threshold), buf));
    property(out, "allow_inconclusive", r->options.allow_inconclusive ? "true" : "false");
    report_compare_outcome(r, outcome, sizeof outcome);
    property(out, "outcome", outcome);
    if (r->summary.reconfirmed) {
        property(out, "confirmed", (snprintf(buf, sizeof buf, "%d", r->summary.confirmed), buf));
        property(out, "dissolved", (snprintf(buf, sizeof buf, "%d", r->summary.dissolved), buf));
    }
    fputs("    </properties>\n", out);
    for (size_t i = 0; i < r->n; i++) {
        const struct compare_case *c = &r->cases[i];
        char label[256], classname[128];
        compare_case_label(c, label, sizeof label);
        snprintf(classname, sizeof classname, "%s@%s", c->kernel, c->impl);
        const char *rest = label + strlen(classname);
        while (*rest == ' ')
            rest++;
        fputs("    <testcase classname=\"", out);
        xml_text(out, classname);
        fputs("\" name=\"", out);
        xml_text(out, rest);
        fprintf(out, "\" time=\"%.9f\"", isfinite(c->cand_median) ? c->cand_median : 0.0);
        char counters[1024] = "";
        if (report_compare_has_counters(c)) {
            memcpy(counters, "; counters: ", 13);
            compare_counters_line(c, counters + 12, sizeof counters - 12);
        }
        if (compare_verdict_fails(c->verdict, &r->options)) {
            fprintf(out, ">\n      <failure type=\"%s\" message=\"", compare_verdict_name(c->verdict));
            xml_text(out, c->reason);
            xml_text(out, counters);
            fputs("\">", out);
            xml_text(out, compare_verdict_name(c->verdict));
            fputs(": ", out);
            xml_text(out, c->reason);
            xml_text(out, counters);
            if (c->confirm != CONFIRM_NONE) {
                fputs("\nfirst measurement: ", out);
                xml_text(out, c->first_reason);
                fputs("\n", out);
                xml_text(out, c->note);
            }
            fputs("</failure>\n    </testcase>\n", out);
        } else if (skipped(r, c->verdict)) {
            fprintf(out, ">\n      <skipped message=\"%s: ", compare_verdict_name(c->verdict));
            xml_text(out, c->reason);
            fputs("\"/>\n    </testcase>\n", out);
        } else {
            fputs(">\n      <system-out>", out);
            xml_text(out, compare_verdict_name(c->verdict));
            fputs(": ", out);
            xml_text(out, c->reason);
            xml_text(out, counters);
            if (c->confirm != CONFIRM_NONE) { /* a dissolved alert: what the first measurement said */
                fputs("\nfirst measurement: ", out);
                xml_text(out, c->first_reason);
                fputs("\n", out);
                xml_text(out, c->note);
            }
            fputs("</system-out>\n    </testcase>\n", out);
        }
    }
    fputs("  </testsuite>\n</testsuites>\n", out);
    return ferror(out) ? -1 : 0;
}
