/* cmd_show.c - `kbench show`: a run's header and its results table. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "bench/cli.h"
#include "reports/reports.h"

static void usage(void)
{
    printf("usage: kbench show [RUN] [--db PATH]\n\n"
           "Prints a run: its uuid, start and finish times (UTC), status, host, the CPU it ran\n"
           "on and its command line, then one row per case (kernel, impl, device, dtype, shape,\n"
           "threads, median time, its 95%% CI, GFLOP/s, GB/s, relative error, status), the\n"
           "errors of failed cases, and a summary line; for CUDA cases, each kernel a call launched\n"
           "(CUPTI), the NVML energy, power and clocks, each sample's SM clock and the samples taken\n"
           "under throttling, and the CUPTI metrics. A CI is n/a for fewer than 3 samples; '*' marks\n"
           "a case whose CI missed its noise target, and cases short of --min-samples are listed.\n\n"
           "  RUN          a run id, a uuid or unique uuid prefix, 'latest' or 'tag:NAME' (latest)\n"
           "  --db PATH    database (./kbench.db, or $KBENCH_DB)\n\n"
           "Colours the status on a terminal unless NO_COLOR is set.\n\n"
           "example: kbench show tag:nightly --db results.db\n");
}

static void print_header(FILE *out, struct store *st, const struct run_row *r, const struct machine_info *m)
{
    char commit[64], flags[512];
    store_get_run_build(st, r->id, commit, sizeof commit, flags, sizeof flags);
    fprintf(out, "run %lld  %s\n", (long long)r->id, r->uuid);
    fprintf(out, "  started   %s\n", r->started);
    fprintf(out, "  finished  %s\n", *r->finished ? r->finished : "-");
    fprintf(out, "  status    %s, %d of %d case%s, %d failed\n", r->status, r->cases, r->planned_cases,
            r->planned_cases == 1 ? "" : "s", r->failures);
    fprintf(out, "  host      %s (machine %s)\n", r->hostname, r->machine);
    fprintf(out, "  cpu       %s, %d logical cpus, %d cores", m->cpu_model, m->logical_cpus, m->physical_cores);
    if (*m->simd)
        fprintf(out, ", %s", m->simd);
    fputc('\n', out);
    struct run_cpu_mask mask;
    store_get_run_cpu_mask(st, r->id, &mask);
    if (*mask.mask) {
        /* the machine line shows the hardware; the run's kernels and roofline had only these */
        fprintf(out, "  masked    KBENCH_CPU_FEATURES=%s: %s", mask.mask, *mask.features ? mask.features : "no SIMD");
        if (mask.peak_f32_core > 0)
            fprintf(out, ", f32 peak %.4g GFLOP/s per core (the roofline's)", mask.peak_f32_core * 1e-9);
        fputc('\n', out);
    }
    if (*m->gpus)
        fprintf(out, "  gpus      %s\n", m->gpus);
    if (*r->suite || *r->tag)
        fprintf(out, "  suite     %s   tag %s\n", *r->suite ? r->suite : "-", *r->tag ? r->tag : "-");
    fprintf(out, "  kbench    %s, commit %s, %s\n", r->kbench_version, *commit ? commit : "not recorded",
            *m->compiler ? m->compiler : "compiler not recorded");
    if (*flags)
        fprintf(out, "  build     %s\n", flags);
    fprintf(out, "  command   %s\n\n", r->cmdline);
}

struct gpu_section {
    struct store *s;
    int shown;
    int failed;
};

struct backend_line {
    const char *backend, *label;
    int first;
};

/* Appends the case's counters of one backend to a "      nvml   a 1, b 2" line. */
static int print_backend_counter(const struct kb_counter *k, void *ctx)
{
    struct backend_line *b = ctx;
    if (strcmp(k->backend, b->backend) != 0)
        return 0;
    const char *sep = b->first ? "" : ", ";
    if (b->first)
        printf("      %-6s ", b->label);
    if (strcmp(k->unit, "J") == 0)
        printf("%s%s %.4g mJ", sep, k->name, k->value * 1e3);
    else if (strcmp(k->unit, "bitmask") == 0)
        printf("%s%s 0x%llx", sep, k->name, (unsigned long long)k->value);
    else
        printf("%s%s %.4g %s", sep, k->name, k->value, k->unit);
    b->first = 0;
    return 0;
}

/* Each CUDA case's kernels as CUPTI saw them, and its NVML energy and clocks. */
static int print_gpu_case(const struct result_row *row, void *ctx)
{
    struct gpu_section *g = ctx;
    if (strncmp(row->device, "cuda", 4) != 0)
        return 0;
    struct gpu_trace t;
    struct sample_clock_summary clk;
    if (store_list_gpu_kernels(g->s, row->case_id, &t) != 0 || store_sample_clocks(g->s, row->case_id, &clk) != 0) {
        g->failed = 1;
        return 1;
    }
    if (!*t.status && t.n == 0 && clk.with_clock == 0)
        return 0;
    if (!g->shown++)
        printf("\nGPU kernels per call (CUPTI activity, median over the traced calls) and energy (NVML):\n");
    printf("  case %lld  %s@%s %s %s n=%d d=%d%s\n", (long long)row->case_id, row->kernel, row->impl, row->device,
           row->dtype, row->shape.seq_len, row->shape.head_dim, row->shape.causal ? " causal" : "");
    for (int i = 0; i < t.n; i++) {
        const struct gpu_kernel_launch *k = &t.k[i];
        printf("    %-.70s\n      grid %dx%dx%d  block %dx%dx%d  %d regs  smem %d+%d B  %.4g us\n", k->name,
               k->grid[0], k->grid[1], k->grid[2], k->block[0], k->block[1], k->block[2], k->registers,
               k->static_shared, k->dynamic_shared, k->duration_s * 1e6);
    }
    if (strcmp(t.status, "ok") != 0)
        printf("      cupti  %s\n", *t.status ? t.status : "not traced");
    /* the SM clock after each sample (NVML): throttled samples are kept out of the statistics */
    if (clk.with_clock > 0) {
        printf("      clock  SM %.0f MHz median (%.0f to %.0f) over %ld samples", clk.median_mhz, clk.min_mhz,
               clk.max_mhz, clk.with_clock);
        if (clk.throttled > 0)
            printf(", %ld throttled (%s)%s", clk.throttled, *row->throttle_reason ? row->throttle_reason : "low SM clock",
                   row->set_aside > 0 ? ", set aside" : ", counted (--include-throttled)");
        putchar('\n');
    }
    static const char *const backends[][2] = { { "nvml", "nvml" }, { "cupti", "cupti" } };
    for (int i = 0; i < 2; i++) {
        struct backend_line b = { backends[i][0], backends[i][1], 1 };
        if (store_list_counters(g->s, row->case_id, print_backend_counter, &b) != 0) {
            g->failed = 1;
            return 1;
        }
        if (!b.first)
            putchar('\n');
    }
    return 0;
}

int cmd_show(int argc, char **argv)
{
    static const struct option opts[] = {
        { "db", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *db = NULL, *ref = NULL;
    opterr = 0;
    optind = 0;
    for (;;) {
        int before = optind;
        int c = getopt_long(argc, argv, "+:h", opts, NULL);
        if (c == -1) {
            if (optind >= argc)
                break;
            int after_dashes = optind > before && strcmp(argv[optind - 1], "--") == 0;
            /* "+" stops at the first operand; take it and go on, so options may follow it. */
            if (ref)
                return cli_usage_error("show", "unexpected argument '%s' (one run at a time)", argv[optind]);
            ref = argv[optind++];
            if (after_dashes && optind < argc)
                return cli_usage_error("show", "unexpected argument '%s' (one run at a time)", argv[optind]);
            if (after_dashes)
                break;
            continue;
        }
        switch (c) {
        case 'd': db = optarg; break;
        case 'h': usage(); return EXIT_OK;
        case ':': return cli_usage_error("show", "option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt && strncmp(argv[optind - 1], "--", 2) != 0)
                return cli_usage_error("show", "unknown option '-%c'", optopt);
            return cli_usage_error("show", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!ref)
        ref = "latest";

    struct store *s;
    int rc = cli_open_store("show", cli_db_path(db), STORE_READ, &s);
    if (rc != 0)
        return rc;
    struct run_row run;
    struct machine_info machine;
    int64_t run_id = store_resolve_run(s, ref);
    if (run_id <= 0 || store_get_run(s, run_id, &run) != 0 || store_get_machine(s, run_id, &machine) != 0) {
        rc = cli_input_error("show", "%s", store_errmsg(s));
        goto out;
    }
    print_header(stdout, s, &run, &machine);
    if (report_results_table(stdout, s, run_id) != 0) {
        rc = cli_input_error("show", "%s", store_errmsg(s));
        goto out;
    }
    struct gpu_section gs = { .s = s };
    if (store_list_results(s, run_id, print_gpu_case, &gs) != 0 || gs.failed) {
        rc = cli_input_error("show", "%s", store_errmsg(s));
        goto out;
    }
    if (fflush(stdout) != 0)
        rc = cli_input_error("show", "cannot write the output: %m");
out:
    store_close(s);
    return rc;
}
