/* cmd_report.c - `kbench report`: plots, tables and an index page for one or more runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cli.h"
#include "harness/machine.h"
#include "reports/report.h"

#define MAX_RUNS 16

static const struct cli_option options[] = {
    { "out", 'o', 'o', "DIR", CLI_DIR, "the report folder (created; files in it are replaced)", NULL, 0 },
    { "format", 'f', 'f', "FMT", CLI_CHOICE, "png, svg or pdf (png); the page shows PNG copies of PDF plots",
      "png svg pdf", 0 },
    { "baseline-kernel", 'b', 'b', "K", CLI_KERNEL, "draw speed-ups against kernel K (e.g. attention.reference)",
      NULL, 0 },
    { "size", 0, 'S', "WxH", CLI_TEXT, "plot size in pixels (960x600)", NULL, 0 },
    { "x", 'x', 'x', "AXIS", CLI_CHOICE,
      "the axis on x of every plot (seq, tokens, experts, top_k, m, n, k, group, window, ...); default: for each "
      "family, the axis its cases sweep", REPORT_AXIS_CHOICES, 0 },
    { "claims", 0, 'C', NULL, CLI_TEXT,
      "also claims.md and claims.html: the stored verdicts of 'kbench claims' on this machine, one "
      "small plot per claim (paper vs here)", NULL, 0 },
    { "all-machines", 0, 'A', NULL, CLI_TEXT, "with --claims: every machine's newest verdicts", NULL, 0 },
    { "db", 0, 'd', "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_operand operands[] = {
    { "RUN", CLI_RUN, "a run id, uuid (prefix), 'latest' or 'tag:NAME'; the first is the primary run" },
    { NULL, CLI_TEXT, NULL },
};

const struct cli_command cli_cmd_report = {
    .name = "report",
    .fn = cmd_report,
    .summary = "write plots (gnuplot), tables and an HTML/Markdown page for runs",
    .synopsis = "RUN [RUN...] --out DIR [--format png|svg|pdf] [--baseline-kernel K] [--size WxH] [--x AXIS] "
                "[--claims [--all-machines]] [--db PATH]\n"
                "--claims --out DIR",
    .description =
        "Writes a report folder through gnuplot: for each plot its data (NAME.dat), its script (NAME.gp; "
        "'gnuplot NAME.gp' in the folder re-renders it) and the picture, plus index.md and a "
        "self-contained index.html with the plots, the machine, the runs and the tables. With --claims "
        "and no run, the paper-claims page alone.\n\n"
        "Plots of the first (primary) run, one per family where it has data, against the axis the family's "
        "cases sweep (sequence length N for attention, tokens T, experts E or top-k for MoE, M, N, K or the "
        "group size for GEMMs; --x chooses; a family whose kernels sweep different axes gets one plot per axis, "
        "named _by_AXIS):\n\n"
        "  latency_FAMILY     median time vs the swept axis, log-log, fitted exponent\n"
        "                     in the legend, crossovers\n"
        "  throughput_FAMILY  GFLOP/s vs the swept axis, with the compute ceilings\n"
        "  roofline           GFLOP/s vs arithmetic intensity under the ceilings of 'kbench\n"
        "                     calibrate' (nominal peak when the machine was never calibrated)\n"
        "  speedup_FAMILY     time of the baseline kernel / time, with --baseline-kernel\n"
        "  accuracy           relative error vs time, where a family has reduced-\n"
        "                     precision kernels\n"
        "  moe_load*          tokens per expert (counters moe.load.<expert>), one per\n"
        "                     distinct routing outcome\n\n"
        "and for each further run, ratio_runB_vs_runA: its times over the primary run's.",
    .options = options,
    .operands = operands,
    .max_operands = -1,
    .notes = "Needs gnuplot with the pngcairo/svg/pdfcairo terminal (Debian: gnuplot-nox); says so and exits 2 "
             "when it is missing.",
    .example = "kbench report latest --out report --format svg --baseline-kernel attention.reference",
};

int cmd_report(int argc, char **argv)
{
    const char *db = NULL;
    struct report_options opt = { .format = "png", .width = 960, .height = 600, .x_axis = -1 };
    int all_machines = 0;
    struct machine_info here;
    int c;
    /* Options may come before or after the runs (GNU getopt permutes the operands). */
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_report, argc, argv);
    while ((c = cli_next(&p)) != CLI_DONE) {
        const char *optarg = p.arg;
        switch (c) {
        case 'o':
            if (!*optarg)
                return cli_usage_error("report", "bad --out '' (expected a folder)");
            opt.out_dir = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "png") && strcmp(optarg, "svg") && strcmp(optarg, "pdf"))
                return cli_usage_error("report", "bad --format '%s' (expected png, svg or pdf)", optarg);
            opt.format = optarg;
            break;
        case 'b':
            if (!*optarg)
                return cli_usage_error("report", "bad --baseline-kernel '' (expected a kernel name)");
            opt.baseline_kernel = optarg;
            break;
        case 'S': {
            int w, h;
            char extra;
            if (sscanf(optarg, "%dx%d%c", &w, &h, &extra) != 2 || w < 200 || h < 150 || w > 8000 || h > 8000)
                return cli_usage_error("report", "bad --size '%s' (expected WxH, 200x150 to 8000x8000)", optarg);
            opt.width = w;
            opt.height = h;
            break;
        }
        case 'x':
            if ((opt.x_axis = report_axis_parse(optarg)) < 0) {
                char keys[512];
                report_axis_keys(keys, sizeof keys);
                return cli_usage_error("report", "bad --x '%s' (expected an axis: %s)", optarg, keys);
            }
            break;
        case 'd': db = optarg; break;
        case 'C': opt.claims = 1; break;
        case 'A': all_machines = 1; break;
        case CLI_STOP: return p.status;
        }
    }
    int nruns = p.n_operands;
    if (nruns == 0 && !opt.claims)
        return cli_usage_error("report", "no run given (a run id, uuid, 'latest' or 'tag:NAME'), nor --claims");
    if (opt.claims && !all_machines) {
        machine_info_read(&here);
        opt.claims_machine = here.fingerprint;
    }
    if (nruns > MAX_RUNS)
        return cli_usage_error("report", "%d runs given; at most %d", nruns, MAX_RUNS);
    if (!opt.out_dir)
        return cli_usage_error("report", "no --out folder given");

    struct store *s;
    int rc = cli_open_store("report", cli_db_path(db), STORE_READ, &s);
    if (rc != 0)
        return rc;
    int64_t ids[MAX_RUNS];
    for (int i = 0; i < nruns; i++) {
        ids[i] = store_resolve_run(s, p.operands[i]);
        if (ids[i] <= 0) {
            rc = cli_input_error("report", "%s", store_errmsg(s));
            store_close(s);
            return rc;
        }
    }
    char why[1024];
    if (report_write(s, ids, nruns, &opt, stderr, why, sizeof why) != 0)
        rc = cli_input_error("report", "%s", why);
    else
        printf("%s/%s\n", opt.out_dir, nruns ? "index.html" : "claims.html");
    store_close(s);
    return rc;
}
