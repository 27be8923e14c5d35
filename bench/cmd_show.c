/* cmd_show.c - `kbench show`: a run's header and its results table. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/cli.h"
#include "reports/json_writer.h"
#include "reports/reports.h"

enum { OPT_DB = 256, OPT_KERNEL, OPT_FORMAT };

static const struct cli_option options[] = {
    { "kernel", 'k', OPT_KERNEL, "PATTERN", CLI_KERNEL,
      "only the cases whose kernel matches this shell pattern (NAME or NAME@IMPL)", NULL, 0 },
    { "kernels", 0, OPT_KERNEL, "PATTERN", CLI_KERNEL, NULL, NULL, CLI_HIDDEN },
    { "format", 0, OPT_FORMAT, "FMT", CLI_CHOICE,
      "text or json (text): json is the run, its machine and its cases (statistics, accuracy, "
      "status; null where not measured)", "text json", 0 },
    { "db", 0, OPT_DB, "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_operand operands[] = {
    { "RUN", CLI_RUN, "a run id, a uuid or unique uuid prefix, 'latest' or 'tag:NAME' (latest)" },
    { NULL, CLI_TEXT, NULL },
};

const struct cli_command cli_cmd_show = {
    .name = "show",
    .fn = cmd_show,
    .summary = "print the results of a run",
    .synopsis = "[RUN] [--kernel PATTERN] [--format text|json] [--db PATH]",
    .description =
        "Prints a run: its uuid, start and finish times (UTC), status, host, the CPU it ran on and its "
        "command line, then one row per case (kernel, impl, device, dtype, shape, threads, median "
        "time, its 95% CI, GFLOP/s, GB/s, relative error, status), the errors of failed cases, and a "
        "summary line; for CUDA cases, each kernel a call launched (CUPTI), the NVML energy, power and "
        "clocks, each sample's SM clock and the samples taken under throttling, and the CUPTI metrics. "
        "A CI is n/a for fewer than 3 samples; '*' marks a case whose CI missed its noise target, "
        "and cases short of --min-samples are listed.",
    .options = options,
    .operands = operands,
    .max_operands = 1,
    .notes = "Colours the status on a terminal unless NO_COLOR is set.",
    .example = "kbench show tag:nightly --kernel 'attention.flash*' --db results.db",
};

static int print_plugin(const struct run_plugin *p, void *ctx)
{
    fprintf(ctx, "  plugin    %s (sha256 %s, %d kernel%s)\n", p->path, p->sha256, p->kernels, p->kernels == 1 ? "" : "s");
    return 0;
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
    fprintf(out, "  command   %s\n", r->cmdline);
    store_list_run_plugins(st, r->id, print_plugin, out);
    fputc('\n', out);
}

struct gpu_section {
    struct store *s;
    const char *pattern;
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

struct kernel_figures_ctx {
    struct backend_line b;
    const char *head;
    struct gpu_section *g;
    int n; /* figures of this case seen */
};
#define KERNEL_FIGURES_SHOWN 6 /* per case: a MoE router stores one per expert */

static int print_kernel_figure(const struct kb_counter *k, void *ctx)
{
    struct kernel_figures_ctx *kc = ctx;
    if (strcmp(k->backend, "kernel") != 0)
        return 0;
    if (kc->b.first) {
        if (!kc->g->shown++)
            printf("\nFigures the kernels stored beside their time (outside the timed region):\n");
        fputs(kc->head, stdout);
    }
    if (++kc->n > KERNEL_FIGURES_SHOWN)
        return 0;
    return print_backend_counter(k, &kc->b);
}

/* Each CUDA case's kernels as CUPTI saw them, and its NVML energy and clocks. */
static int print_gpu_case(const struct result_row *row, void *ctx)
{
    struct gpu_section *g = ctx;
    if (strncmp(row->device, "cuda", 4) != 0 || !report_row_matches(row, g->pattern))
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

/* What the kernels observed themselves (kb_kernel.stats, backend "kernel"), one line per case
 * that stored any: a MoE router's load, the quantization time attention.int8 keeps out of its
 * timed region. */
static int print_kernel_figures(const struct result_row *row, void *ctx)
{
    struct gpu_section *g = ctx;
    if (!report_row_matches(row, g->pattern))
        return 0;
    struct backend_line b = { "kernel", "kernel", 1 };
    /* the line is built only once a figure is found: print the case's name lazily */
    char head[384], shape[192];
    kb_shape_string(&row->shape, 0, shape, sizeof shape);
    snprintf(head, sizeof head, "  case %lld  %s@%s %s %s %s\n", (long long)row->case_id, row->kernel, row->impl,
             row->device, row->dtype, shape);
    struct kernel_figures_ctx kc = { b, head, g, 0 };
    if (store_list_counters(g->s, row->case_id, print_kernel_figure, &kc) != 0) {
        g->failed = 1;
        return 1;
    }
    if (kc.n > KERNEL_FIGURES_SHOWN)
        printf(", and %d more (kbench export --format json)", kc.n - KERNEL_FIGURES_SHOWN);
    if (!kc.b.first)
        putchar('\n');
    return 0;
}

/* A pattern that matches no case of the run is a mistake worth naming. */
struct pattern_probe {
    const char *pattern;
    int matched;
};

static int probe_pattern(const struct result_row *r, void *ctx)
{
    struct pattern_probe *p = ctx;
    p->matched = report_row_matches(r, p->pattern);
    return p->matched;
}

/* ---- --format json ---- */

struct json_cases {
    struct jw *w;
    const char *pattern;
    int shown;
};

static void json_number_or_null(struct jw *w, double v, int known)
{
    if (known)
        jw_number(w, v);
    else
        jw_null(w);
}

static int json_case(const struct result_row *r, void *ctx)
{
    struct json_cases *j = ctx;
    if (!report_row_matches(r, j->pattern))
        return 0;
    struct jw *w = j->w;
    j->shown++;
    char shape[192];
    kb_shape_string(&r->shape, 0, shape, sizeof shape);
    int timed = r->stats.n > 0;
    jw_open(w, '{', 0);
    jw_key(w, "case_id");
    jw_int(w, (long long)r->case_id);
    jw_key(w, "kernel");
    jw_string(w, r->kernel);
    jw_key(w, "impl");
    jw_string_or_null(w, r->impl);
    jw_key(w, "device");
    jw_string(w, r->device);
    jw_key(w, "dtype");
    jw_string(w, r->dtype);
    jw_key(w, "shape");
    jw_string_or_null(w, shape);
    jw_key(w, "threads");
    jw_int(w, r->threads);
    jw_key(w, "cold_cache");
    jw_bool(w, r->cold_cache);
    jw_key(w, "status");
    jw_string(w, r->status);
    jw_key(w, "n");
    jw_int(w, (long long)r->stats.n);
    jw_key(w, "median_s");
    json_number_or_null(w, r->stats.median, timed);
    /* no confidence interval can be formed from fewer than 3 samples */
    jw_key(w, "ci_lo_s");
    json_number_or_null(w, r->stats.ci_lo, r->stats.n >= 3);
    jw_key(w, "ci_hi_s");
    json_number_or_null(w, r->stats.ci_hi, r->stats.n >= 3);
    jw_key(w, "flops_per_s");
    json_number_or_null(w, r->flops_per_s, timed);
    jw_key(w, "bytes_per_s");
    json_number_or_null(w, r->bytes_per_s, timed);
    jw_key(w, "rel_l2_err");
    jw_number(w, r->rel_l2_err);
    jw_key(w, "passed");
    if (r->verified)
        jw_bool(w, r->passed);
    else
        jw_null(w);
    jw_key(w, "error");
    jw_string_or_null(w, r->error);
    jw_close(w, '}');
    return 0;
}

static int print_json(struct store *s, const struct run_row *r, const struct machine_info *m, const char *pattern)
{
    struct jw w = { .out = stdout };
    jw_open(&w, '{', 0);
    jw_key(&w, "run");
    jw_open(&w, '{', 0);
    jw_run_fields(&w, s, r, 0);
    jw_close(&w, '}');
    jw_key(&w, "machine");
    jw_open(&w, '{', 0);
    jw_key(&w, "fingerprint");
    jw_string(&w, m->fingerprint);
    jw_key(&w, "cpu_model");
    jw_string_or_null(&w, m->cpu_model);
    jw_key(&w, "logical_cpus");
    jw_int(&w, m->logical_cpus);
    jw_key(&w, "physical_cores");
    jw_int(&w, m->physical_cores);
    jw_key(&w, "simd");
    jw_string_or_null(&w, m->simd);
    jw_key(&w, "gpus");
    jw_string_or_null(&w, m->gpus);
    jw_close(&w, '}');
    jw_key(&w, "kernel_pattern");
    jw_string_or_null(&w, pattern);
    jw_key(&w, "results");
    jw_open(&w, '[', 0);
    struct json_cases j = { &w, pattern, 0 };
    int rc = store_list_results(s, r->id, json_case, &j);
    jw_close(&w, ']');
    jw_close(&w, '}');
    fputc('\n', stdout);
    return rc;
}

int cmd_show(int argc, char **argv)
{
    const char *db = NULL, *ref = NULL, *pattern = NULL;
    int json = 0, c;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_show, argc, argv);
    while ((c = cli_next(&p)) != CLI_DONE) {
        switch (c) {
        case OPT_DB: db = p.arg; break;
        case OPT_KERNEL: pattern = p.arg; break;
        case OPT_FORMAT:
            if (strcmp(p.arg, "json") != 0 && strcmp(p.arg, "text") != 0)
                return cli_usage_error("show", "bad --format '%s' (expected text or json)", p.arg);
            json = strcmp(p.arg, "json") == 0;
            break;
        case CLI_STOP: return p.status;
        }
    }
    ref = p.n_operands ? p.operands[0] : "latest";

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
    if (pattern) {
        struct pattern_probe probe = { pattern, 0 };
        if (store_list_results(s, run_id, probe_pattern, &probe) != 0) {
            rc = cli_input_error("show", "%s", store_errmsg(s));
            goto out;
        }
        if (!probe.matched) {
            rc = cli_input_error("show", "no case of run %lld has a kernel matching '%s' (patterns match NAME "
                                 "or NAME@IMPL)", (long long)run_id, pattern);
            goto out;
        }
    }
    if (json) {
        if (print_json(s, &run, &machine, pattern) != 0)
            rc = cli_input_error("show", "%s", store_errmsg(s));
        goto flush;
    }
    print_header(stdout, s, &run, &machine);
    if (report_results_table_matching(stdout, s, run_id, pattern) != 0) {
        rc = cli_input_error("show", "%s", store_errmsg(s));
        goto out;
    }
    struct gpu_section gs = { .s = s, .pattern = pattern };
    if (store_list_results(s, run_id, print_gpu_case, &gs) != 0 || gs.failed) {
        rc = cli_input_error("show", "%s", store_errmsg(s));
        goto out;
    }
    struct gpu_section ks = { .s = s, .pattern = pattern };
    if (store_list_results(s, run_id, print_kernel_figures, &ks) != 0 || ks.failed) {
        rc = cli_input_error("show", "%s", store_errmsg(s));
        goto out;
    }
flush:
    if (rc == 0 && fflush(stdout) != 0)
        rc = cli_input_error("show", "cannot write the output: %m");
out:
    store_close(s);
    return rc;
}
