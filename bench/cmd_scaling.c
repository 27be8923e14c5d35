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
    const char *sym = report_axis_symbol(a->axis);
    int k = scaling_crossovers(a->x, a->t, a->count, b->x, b->t, b->count, x, 16, &b_after);
    char an[128], bn[128];
    snprintf(an, sizeof an, "%s@%s", a->kernel, a->impl);
    snprintf(bn, sizeof bn, "%s@%s", b->kernel, b->impl);
    printf("  against %s\n", b->label);
    if (k == 0) {
        int shared = 0;
        for (int i = 0; i < a->count; i++)
            for (int j = 0; j < b->count; j++)
                shared += a->x[i] == b->x[j];
        if (shared)
            printf("    measured crossover: none in the measured range; %s is faster at every shared %s\n",
                   b_after ? bn : an, sym);
        else
            printf("    measured crossover: none (no %s measured for both)\n", sym);
    } else {
        printf("    measured crossover%s: %s ≈", k > 1 ? "s" : "", sym);
        for (int i = 0; i < k && i < 16; i++)
            printf("%s %.0f", i ? "," : "", x[i]);
        printf("; %s is faster at the largest shared %s\n", b_after ? bn : an, sym);
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
        case SCALING_MEET_NONE: printf("    fitted lines: do not meet between %s = 1 and 1e12\n", sym); break;
        case SCALING_MEET_INSIDE:
        case SCALING_MEET_EXTRAPOLATED: printf("    fitted lines meet at %s ≈ %s\n", sym, text); break;
        }
    }
}

static const struct cli_option options[] = {
    { "kernel", 'k', 'k', "K", CLI_KERNEL, "the kernel to fit (e.g. attention.flash)", NULL, 0 },
    { "against", 'a', 'a', "K2", CLI_KERNEL, "the kernel to find crossovers with", NULL, 0 },
    { "x", 'x', 'x', "AXIS", CLI_CHOICE,
      "the axis to fit along (seq, tokens, experts, top_k, m, n, k, group, window, ...); default: the axis the "
      "kernel's cases sweep", REPORT_AXIS_CHOICES, 0 },
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
    .summary = "fit a kernel's time against the axis it sweeps (exponent with its CI) and find crossovers",
    .synopsis = "[RUN] --kernel K [--against K2] [--x AXIS] [--db PATH]",
    .description =
        "Fits log t = log c + p log x to the median times of kernel K in a run, x the axis its cases sweep "
        "(sequence length N for attention, tokens T, experts E or top-k for MoE, M, N, K or the group size "
        "for GEMMs; --x chooses), for each of its series (one per impl, device, dtype, the other axes, "
        "threads and cache state), and prints the scaling exponent p with its 95% confidence interval "
        "(Student's t) and R². Then, for each comparable series of K2 (or, without --against, of K's other "
        "implementations and of every other kernel of the same family that is an alternative to K: any attention kernel, or one doing "
        "the same useful FLOPs, as the float32 GEMM beside an INT8 one): the measured crossovers (where "
        "the faster of the two changes "
        "between two measured values, interpolated in log x) and where the fitted lines meet.",
    .options = options,
    .operands = operands,
    .max_operands = 1,
    .example = "kbench scaling latest --kernel attention.flash --against attention.reference",
};

int cmd_scaling(int argc, char **argv)
{
    const char *db = NULL, *kernel = NULL, *against = NULL, *ref = NULL;
    int c, x_axis = -1;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_scaling, argc, argv);
    while ((c = cli_next(&p)) != CLI_DONE) {
        const char *optarg = p.arg;
        switch (c) {
        case 'k': kernel = optarg; break;
        case 'a': against = optarg; break;
        case 'x':
            if ((x_axis = report_axis_parse(optarg)) < 0) {
                char keys[512];
                report_axis_keys(keys, sizeof keys);
                return cli_usage_error("scaling", "bad --x '%s' (expected an axis: %s)", optarg, keys);
            }
            break;
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
    long nv = report_series_build(rows, n, x_axis, &v);
    int found = 0, found_against = 0;
    for (long i = 0; i < nv; i++) {
        found |= strcmp(v[i].kernel, kernel) == 0;
        found_against |= against && strcmp(v[i].kernel, against) == 0;
    }
    if (nv < 0) {
        rc = cli_input_error("scaling", "out of memory");
    } else if (!found) {
        if (x_axis >= 0)
            rc = cli_input_error("scaling", "run %lld has no timed case of kernel '%s' with the axis %s (--x)",
                                 (long long)run_id, kernel, kb_axis_info((enum kb_axis)x_axis)->key);
        else
            rc = cli_input_error("scaling", "run %lld has no timed case of kernel '%s'", (long long)run_id, kernel);
    } else if (against && !found_against) {
        rc = cli_input_error("scaling", "run %lld has no timed case of kernel '%s' (--against)", (long long)run_id,
                             against);
    } else {
        printf("run %lld: t = c * x^p fitted to median times (95%% CI of p), x the swept axis\n", (long long)run_id);
        for (long i = 0; i < nv; i++) {
            if (strcmp(v[i].kernel, kernel) != 0)
                continue;
            const char *sym = report_axis_symbol(v[i].axis);
            printf("%s  along %s %s (%s)\n", v[i].label, report_axis_title(v[i].axis), sym, report_axis_unit(v[i].axis));
            if (!v[i].fitted) {
                printf("  exponent: needs at least two values of %s (has %s = %.0f only)\n", sym, sym, v[i].x[0]);
            } else if (isnan(v[i].fit.exponent_lo)) {
                printf("  exponent p = %.3f (2 points: no confidence interval), %s %.0f to %.0f\n", v[i].fit.exponent,
                       sym, v[i].x[0], v[i].x[v[i].count - 1]);
            } else {
                printf("  exponent p = %.3f, 95%% CI [%.3f, %.3f], R² = %.4f, %d points, %s %.0f to %.0f\n",
                       v[i].fit.exponent, v[i].fit.exponent_lo, v[i].fit.exponent_hi, v[i].fit.r2, v[i].fit.points,
                       sym, v[i].x[0], v[i].x[v[i].count - 1]);
            }
            for (long j = 0; j < nv; j++) {
                if (j == i || !report_series_comparable(&v[i], &v[j]))
                    continue;
                /* without --against: K's other implementations and the family's alternatives to K,
                 * not every step beside it (a MoE router is no alternative to its combine) */
                if (against ? strcmp(v[j].kernel, against) != 0
                            : strcmp(v[j].family, v[i].family) != 0 || !report_series_alternatives(&v[i], &v[j]))
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
