/* cmd_versus.c - `kbench versus`: two implementations inside one run, side by side with the
 * ratio of their medians and its confidence interval (reports/versus.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cli.h"
#include "reports/reports.h"
#include "reports/versus.h"

static const struct cli_option options[] = {
    { "db", 0, 'd', "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_operand operands[] = {
    { "RUN", CLI_RUN, "a run id, uuid (prefix), 'latest' or 'tag:NAME'" },
    { "A", CLI_KERNEL, "the first implementation: NAME or NAME@IMPL (shell patterns)" },
    { "B", CLI_KERNEL, "the second, compared with the first" },
    { NULL, CLI_TEXT, NULL },
};

const struct cli_command cli_cmd_versus = {
    .name = "versus",
    .fn = cmd_versus,
    .summary = "two implementations inside one run side by side: ratio of medians with its CI",
    .synopsis = "RUN A B [--db PATH]",
    .description =
        "Pairs each timed case of A with the case of B in the same run that measures the same problem "
        "(the same device, threads, cache state and value of every shape axis both kernels have; the "
        "dtype may differ) and prints both medians, the ratio median(B) / median(A) with its 95% "
        "percentile-bootstrap confidence interval from the two cases' raw samples, and a verdict: B "
        "faster (the interval wholly below 1), A faster (wholly above), no difference shown. Google "
        "Benchmark's compare.py calls this its filters mode; 'kbench compare' compares two runs.",
    .options = options,
    .operands = operands,
    .max_operands = 3,
    .example = "kbench versus latest moe.layer@cpu.unfused moe.layer@cpu.fused",
};

int cmd_versus(int argc, char **argv)
{
    const char *db = NULL;
    int c;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_versus, argc, argv);
    while ((c = cli_next(&p)) != CLI_DONE) {
        switch (c) {
        case 'd': db = p.arg; break;
        case CLI_STOP: return p.status;
        }
    }
    if (p.n_operands != 3)
        return cli_usage_error("versus", "expected RUN A B (e.g. latest quant.gemm_int8@cpu gemm.f32), got %d operand%s",
                               p.n_operands, p.n_operands == 1 ? "" : "s");
    const char *a = p.operands[1], *b = p.operands[2];
    if (!*a || !*b)
        return cli_usage_error("versus", "empty pattern for %s", *a ? "B" : "A");
    struct store *s;
    int rc = cli_open_store("versus", cli_db_path(db), STORE_READ, &s);
    if (rc != 0)
        return rc;
    int64_t run_id = store_resolve_run(s, p.operands[0]);
    struct result_row *rows = NULL;
    long n = run_id > 0 ? report_load_results(s, run_id, &rows) : -1;
    if (n < 0) {
        rc = cli_input_error("versus", "%s", store_errmsg(s));
        store_close(s);
        return rc;
    }
    int has_a = 0, has_b = 0;
    for (long i = 0; i < n; i++) {
        has_a |= report_row_matches(&rows[i], a);
        has_b |= report_row_matches(&rows[i], b);
    }
    struct versus_pair *v = NULL;
    char why[512];
    long np = -1;
    if (!has_a || !has_b)
        rc = cli_input_error("versus", "run %lld has no case of '%s'", (long long)run_id, has_a ? b : a);
    else if ((np = versus_pairs(s, rows, n, a, b, &v, why, sizeof why)) < 0)
        rc = cli_input_error("versus", "%s", why);
    else if (np == 0)
        rc = cli_input_error("versus", "run %lld has no timed case of '%s' and '%s' that measure the same problem",
                             (long long)run_id, a, b);
    else
        versus_table(stdout, v, np, a, b);
    free(v);
    free(rows);
    store_close(s);
    return rc;
}
