/* cmd_report.c - `kbench report`: plots, tables and an index page for one or more runs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cli.h"
#include "harness/machine.h"
#include "reports/report.h"

#define MAX_RUNS 16

static void usage(void)
{
    printf("usage: kbench report RUN [RUN...] --out DIR [--format png|svg|pdf] [--baseline-kernel K]\n"
           "                    [--size WxH] [--claims [--all-machines]] [--db PATH]\n"
           "       kbench report --claims --out DIR   (the paper-claims page alone)\n\n"
           "Writes a report folder through gnuplot: for each plot its data (NAME.dat), its script\n"
           "(NAME.gp; 'gnuplot NAME.gp' in the folder re-renders it) and the picture, plus index.md\n"
           "and a self-contained index.html with the plots, the machine, the runs and the tables.\n\n"
           "Plots of the first (primary) run, one per family where it has data:\n"
           "  latency_FAMILY     median time vs N, log-log, fitted exponent in the legend, crossovers\n"
           "  throughput_FAMILY  GFLOP/s vs N, with the compute ceilings\n"
           "  roofline           GFLOP/s vs arithmetic intensity under the ceilings of 'kbench\n"
           "                     calibrate' (nominal peak when the machine was never calibrated)\n"
           "  speedup_FAMILY     time of the baseline kernel / time, with --baseline-kernel\n"
           "  accuracy           relative error vs time, where a family has reduced-precision kernels\n"
           "  moe_load_*         tokens per expert, from counters named moe.load.<expert>\n"
           "and for each further run, ratio_runB_vs_runA: its times over the primary run's.\n\n"
           "  RUN                     a run id, uuid (prefix), 'latest' or 'tag:NAME'\n"
           "  -o, --out DIR           the report folder (created; files in it are replaced)\n"
           "  -f, --format FMT        png, svg or pdf (png); the page shows PNG copies of PDF plots\n"
           "  -b, --baseline-kernel K draw speed-ups against kernel K (e.g. attention.reference)\n"
           "  --size WxH              plot size in pixels (960x600)\n"
           "  --claims                also claims.md and claims.html: the stored verdicts of 'kbench\n"
           "                          claims' on this machine, one small plot per claim (paper vs here)\n"
           "  --all-machines          with --claims: every machine's newest verdicts\n"
           "  --db PATH               database (./kbench.db, or $KBENCH_DB)\n\n"
           "Needs gnuplot with the pngcairo/svg/pdfcairo terminal (Debian: gnuplot-nox); says so\n"
           "and exits 2 when it is missing.\n\n"
           "example: kbench report latest --out report --format svg --baseline-kernel attention.reference\n");
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        { "out", required_argument, NULL, 'o' },
        { "format", required_argument, NULL, 'f' },
        { "baseline-kernel", required_argument, NULL, 'b' },
        { "size", required_argument, NULL, 'S' },
        { "db", required_argument, NULL, 'd' },
        { "claims", no_argument, NULL, 'C' },
        { "all-machines", no_argument, NULL, 'A' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *db = NULL;
    struct report_options opt = { .format = "png", .width = 960, .height = 600 };
    int all_machines = 0;
    struct machine_info here;
    opterr = 0;
    optind = 0;
    int c;
    /* Options may come before or after the runs (GNU getopt permutes the operands). */
    while ((c = getopt_long(argc, argv, ":o:f:b:h", opts, NULL)) != -1) {
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
        case 'd': db = optarg; break;
        case 'C': opt.claims = 1; break;
        case 'A': all_machines = 1; break;
        case 'h': usage(); return EXIT_OK;
        case ':': return cli_usage_error("report", "option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt && strncmp(argv[optind - 1], "--", 2) != 0)
                return cli_usage_error("report", "unknown option '-%c'", optopt);
            return cli_usage_error("report", "unknown option '%s'", argv[optind - 1]);
        }
    }
    int nruns = argc - optind;
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
        ids[i] = store_resolve_run(s, argv[optind + i]);
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
