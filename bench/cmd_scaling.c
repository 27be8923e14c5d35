/* cmd_scaling.c - `kbench scaling`: how a kernel's time grows with N, and where it crosses another. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cli.h"
#include "reports/report.h"
#include "reports/reports.h"

static void print_crossings(const struct series *a, const struct series *b)
{
    double x[16];
    int b_after = 0;
    int k = scaling_crossovers(a->n, a->t, a->count, b->n, b->t, b->count, x, 16, &b_after);
    printf("  against %s\n", b->label);
    if (k == 0) {
        int shared = 0;
        for (int i = 0; i < a->count; i++)
            for (int j = 0; j < b->count; j++)
                shared += a->n[i] == b->n[j];
        if (shared)
            printf("    measured crossover: none in the measured range; %s is faster at every shared N\n",
                   b_after ? b->kernel : a->kernel);
        else
            printf("    measured crossover: none (no N measured for both)\n");
    } else {
        printf("    measured crossover%s: N ≈", k > 1 ? "s" : "");
        for (int i = 0; i < k && i < 16; i++)
            printf("%s %.0f", i ? "," : "", x[i]);
        printf("; %s is faster at the largest shared N\n", b_after ? b->kernel : a->kernel);
    }
    if (a->fitted && b->fitted) {
        double f;
        char text[128];
        scaling_crossover_text(&a->fit, &b->fit, text, sizeof text);
        switch (scaling_crossover_judge(&a->fit, &b->fit, &f)) {
        case SCALING_MEET_TOO_FEW:
            printf("    fitted lines: no crossover drawn from fits of fewer than %d points (%d and %d)\n",
                   SCALING_MIN_FIT_POINTS, a->fit.points, b->fit.points);
            break;
        case SCALING_MEET_NONE: printf("    fitted lines: do not meet between N = 1 and 1e12\n"); break;
        case SCALING_MEET_INSIDE:
        case SCALING_MEET_EXTRAPOLATED: printf("    fitted lines meet at N ≈ %s\n", text); break;
        }
    }
}

static const struct cli_option options[] = {
    { "kernel", 'k', 'k', "K", CLI_KERNEL, "the kernel to fit (e.g. attention.flash)", NULL, 0 },
    { "against", 'a', 'a', "K2", CLI_KERNEL, "the kernel to find crossovers with", NULL, 0 },
    { "db", 0, 'd', "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_operand operands[] = {
    { "RUN", CLI_RUN, "a run id, uuid (prefix), 'latest' or 'tag:NAME' (latest)" },
    { NULL, CLI_TEXT, NULL },
};

const struct cli_command cli_cmd_scaling = {
    .name = "scaling",
    .fn = cmd_scaling,
    .summary = "fit a kernel's time against N (exponent with its CI) and find crossovers",
    .synopsis = "[RUN] --kernel K [--against K2] [--db PATH]",
    .description =
        "Fits log t = log c + p log N to the median times of kernel K in a run, for each of its series "
        "(one per impl, device, dtype, shape, threads and cache state), and prints the scaling exponent "
        "p with its 95% confidence interval (Student's t) and R². Then, for each comparable series of "
        "K2 (or, without --against, of every other kernel of the same family): the measured crossovers "
        "(where the faster of the two changes between two measured lengths, interpolated in log N) and "
        "where the fitted lines meet.",
    .options = options,
    .operands = operands,
    .max_operands = 1,
    .example = "kbench scaling latest --kernel attention.flash --against attention.reference",
};

int cmd_scaling(int argc, char **argv)
{
    const char *db = NULL, *kernel = NULL, *against = NULL, *ref = NULL;
    int c;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_scaling, argc, argv);
    while ((c = cli_next(&p)) != CLI_DONE) {
        const char *optarg = p.arg;
        switch (c) {
        case 'k': kernel = optarg; break;
        case 'a': against = optarg; break;
        case 'd': db = optarg; break;
        case CLI_STOP: return p.status;
        }
    }
    ref = p.n_operands ? p.operands[0] : "latest";
    if (!kernel || !*kernel)
        return cli_usage_error("scaling", "no --kernel given (e.g. --kernel attention.flash)");

    struct store *s;
    int rc = cli_open_store("scaling", cli_db_path(db), STORE_READ, &s);
    if (rc != 0)
        return rc;
    int64_t run_id = store_resolve_run(s, ref);
    struct result_row *rows = NULL;
    long n = run_id > 0 ? report_load_results(s, run_id, &rows) : -1;
    if (n < 0) {
        rc = cli_input_error("scaling", "%s", store_errmsg(s));
        store_close(s);
        return rc;
    }
    struct series *v;
    long nv = report_series_build(rows, n, &v);
    int found = 0, found_against = 0;
    for (long i = 0; i < nv; i++) {
        found |= strcmp(v[i].kernel, kernel) == 0;
        found_against |= against && strcmp(v[i].kernel, against) == 0;
    }
    if (nv < 0) {
        rc = cli_input_error("scaling", "out of memory");
    } else if (!found) {
        rc = cli_input_error("scaling", "run %lld has no timed case of kernel '%s' with a sequence length",
                             (long long)run_id, kernel);
    } else if (against && !found_against) {
        rc = cli_input_error("scaling", "run %lld has no timed case of kernel '%s' (--against)", (long long)run_id,
                             against);
    } else {
        printf("run %lld: t = c * N^p fitted to median times (95%% CI of p)\n", (long long)run_id);
        for (long i = 0; i < nv; i++) {
            if (strcmp(v[i].kernel, kernel) != 0)
                continue;
            printf("%s\n", v[i].label);
            if (!v[i].fitted) {
                printf("  exponent: needs at least two lengths (has N = %.0f only)\n", v[i].n[0]);
            } else if (isnan(v[i].fit.exponent_lo)) {
                printf("  exponent p = %.3f (2 points: no confidence interval), N %.0f to %.0f\n", v[i].fit.exponent,
                       v[i].n[0], v[i].n[v[i].count - 1]);
            } else {
                printf("  exponent p = %.3f, 95%% CI [%.3f, %.3f], R² = %.4f, %d points, N %.0f to %.0f\n",
                       v[i].fit.exponent, v[i].fit.exponent_lo, v[i].fit.exponent_hi, v[i].fit.r2, v[i].fit.points,
                       v[i].n[0], v[i].n[v[i].count - 1]);
            }
            for (long j = 0; j < nv; j++) {
                if (j == i || !report_series_comparable(&v[i], &v[j]) || strcmp(v[j].kernel, kernel) == 0)
                    continue;
                if (against ? strcmp(v[j].kernel, against) != 0 : strcmp(v[j].family, v[i].family) != 0)
                    continue;
                print_crossings(&v[i], &v[j]);
            }
        }
    }
    if (nv >= 0)
        report_series_free(v, nv);
    free(rows);
    store_close(s);
    return rc;
}
