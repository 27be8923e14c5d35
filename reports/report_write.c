/* report_write.c - report_write (reports.h): the output folder, the runs and claims loaded, then
 * the plots (report_plots.c) and the pages (report_page.c) written from them. */
#include "reports/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "reports/gnuplot.h"
#include "reports/reports.h"

/* mkdir -p */
static int make_dir(const char *path, char *why, size_t whylen)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                snprintf(why, whylen, "cannot create the folder '%s': %s", buf, strerror(errno));
                return -1;
            }
            *p = saved;
            if (!saved)
                break;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, whylen, "'%s' is not a folder", path);
        return -1;
    }
    return 0;
}

/* ---- the report ------------------------------------------------------------------------------- */

static const char *terminal_of(const char *format)
{
    if (strcmp(format, "png") == 0)
        return "pngcairo";
    if (strcmp(format, "svg") == 0)
        return "svg";
    return "pdfcairo";
}

static int collect_claim(const struct claim_row *c, void *ctx)
{
    struct report *r = ctx;
    struct claim_row *grown = realloc(r->claims, sizeof *grown * (size_t)(r->nclaims + 1));
    if (!grown)
        return 1;
    r->claims = grown;
    r->claims[r->nclaims++] = *c;
    return 0;
}

static int load_claims(struct store *s, struct report *r, char *why, size_t whylen)
{
    if (store_list_claims(s, r->opt->claims_machine, collect_claim, r) != 0) {
        snprintf(why, whylen, "%s", store_errmsg(s));
        return -1;
    }
    if (r->nclaims == 0) {
        snprintf(why, whylen, "no paper-claim verdicts stored%s; run 'kbench claims' first",
                 r->opt->claims_machine ? " for this machine" : "");
        return -1;
    }
    return 0;
}

int report_write(struct store *s, const int64_t *run_ids, int nruns, const struct report_options *opt, FILE *log,
                 char *why, size_t whylen)
{
    if (gnuplot_check_terminal(terminal_of(opt->format), why, whylen) != 0)
        return -1;
    /* A PDF report's page shows PNG copies of the plots (a browser cannot inline a PDF). */
    if (strcmp(opt->format, "pdf") == 0 && gnuplot_check_terminal("pngcairo", why, whylen) != 0)
        return -1;
    if (make_dir(opt->out_dir, why, whylen) != 0)
        return -1;
    struct report r = { .opt = opt, .store = s, .nruns = nruns, .log = log };
    r.runs = calloc((size_t)nruns, sizeof *r.runs);
    if (!r.runs) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    int rc = 0;
    if (opt->claims && load_claims(s, &r, why, whylen) != 0)
        rc = -1;
    for (int i = 0; i < nruns && rc == 0; i++) {
        struct report_run *run = &r.runs[i];
        if (store_get_run(s, run_ids[i], &run->run) != 0 || store_get_machine(s, run_ids[i], &run->machine) != 0 ||
            roofline_load(s, run_ids[i], &run->machine, &run->roof) != 0 ||
            (run->n = report_load_results(s, run_ids[i], &run->rows)) < 0) {
            snprintf(why, whylen, "%s", store_errmsg(s));
            rc = -1;
        }
    }
    if (rc == 0 && nruns > 0)
        rc = report_plots(&r, why, whylen);
    if (rc == 0 && nruns > 0)
        rc = report_pages(&r, why, whylen);
    if (rc == 0 && opt->claims)
        rc = report_claim_plots(&r, why, whylen);
    if (rc == 0 && opt->claims)
        rc = report_claims_page(&r, why, whylen);
    free(r.claims);
    for (int i = 0; i < nruns; i++)
        free(r.runs[i].rows);
    free(r.runs);
    free(r.plots);
    return rc;
}
