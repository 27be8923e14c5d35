/* cmd_devices.c - `kbench devices`: the CPU and the CUDA GPUs kbench can measure on. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/cli.h"
#include "harness/cpu.h"
#include "kernels/cpu_features.h"
#include "harness/gpu.h"
#include "harness/machine.h"
#include "reports/json_writer.h"

static void format_bytes(double b, char *buf, size_t len)
{
    if (b <= 0)
        snprintf(buf, len, "?");
    else if (b >= 1024.0 * 1024 * 1024)
        snprintf(buf, len, "%.1f GiB", b / (1024.0 * 1024 * 1024));
    else if (b >= 1024.0 * 1024)
        snprintf(buf, len, "%.4g MiB", b / (1024.0 * 1024));
    else
        snprintf(buf, len, "%.4g KiB", b / 1024.0);
}

/* CUDA encodes versions as 1000 * major + 10 * minor: 12040 is 12.4. */
static void format_cuda_version(int v, char *buf, size_t len)
{
    if (v <= 0)
        snprintf(buf, len, "?");
    else
        snprintf(buf, len, "%d.%d", v / 1000, (v % 1000) / 10);
}

static void print_cpu(void)
{
    struct cpu_info ci;
    cpu_info_read(&ci);
    char l1[32], l2[32], l3[32];
    format_bytes((double)ci.l1d_bytes, l1, sizeof l1);
    format_bytes((double)ci.l2_bytes, l2, sizeof l2);
    format_bytes((double)ci.l3_bytes, l3, sizeof l3);
    printf("cpu      %s\n", *ci.model ? ci.model : "unknown model");
    printf("  cores    %d logical, %d physical\n", ci.logical_cpus, ci.physical_cores);
    if (ci.mhz > 0)
        printf("  clock    %.0f MHz\n", ci.mhz);
    else
        printf("  clock    unknown\n");
    printf("  caches   L1d %s, L2 %s, L3 %s\n", l1, l2, l3);
    if (ci.features_masked) {
        const char *mask = getenv(KB_CPU_FEATURES_ENV);
        printf("  simd     %s (masked by %s=%s; the CPU has %s)\n", *ci.simd ? ci.simd : "none: scalar paths",
               KB_CPU_FEATURES_ENV, mask ? mask : "", *ci.simd_detected ? ci.simd_detected : "none");
    } else {
        printf("  simd     %s\n", *ci.simd ? ci.simd : "none detected");
    }
    double per_core = cpu_peak_f32_per_core(&ci);
    /* SMT siblings share a core's FMA units, so the machine's peak counts physical cores. */
    int cores = ci.physical_cores > 0 ? ci.physical_cores : ci.logical_cpus;
    const char *method = ci.peak_method && *ci.peak_method ? ci.peak_method : "method not recorded";
    if (per_core > 0)
        printf("  f32 FMA  %.1f GFLOP/s per core, %.1f GFLOP/s on %d cores\n", per_core * 1e-9,
               per_core * cores * 1e-9, cores);
    else
        printf("  f32 FMA  unknown: the clock is unknown (%.0f FLOP/cycle per core)\n", ci.f32_flops_per_cycle);
    printf("  method   %s\n", method);
}

static void print_gpus(void)
{
    char why[256] = "";
    static struct gpu_info all[GPU_LIST_MAX];
    int n = gpu_list(all, GPU_LIST_MAX, why, sizeof why);
    if (n <= 0) {
        printf("cuda     no CUDA devices: %s\n", n < 0 && *why ? why : "none visible");
        return;
    }
    for (int i = 0; i < n && i < GPU_LIST_MAX; i++) {
        const struct gpu_info *g = &all[i];
        char mem[32], l2[32], smem[32], drv[16], rt[16];
        format_bytes(g->mem_bytes, mem, sizeof mem);
        format_bytes(g->l2_bytes, l2, sizeof l2);
        format_bytes(g->smem_per_block, smem, sizeof smem);
        format_cuda_version(g->driver_version, drv, sizeof drv);
        format_cuda_version(g->runtime_version, rt, sizeof rt);
        printf("cuda:%d   %s\n", g->index, g->name);
        printf("  arch     sm_%d%d (compute capability %d.%d), %d SMs\n", g->cc_major, g->cc_minor, g->cc_major,
               g->cc_minor, g->sms);
        printf("  memory   %s (%d-bit bus), L2 %s, shared memory %s per block\n", mem, g->mem_bus_bits, l2, smem);
        printf("  clocks   SM %.0f MHz, memory %.0f MHz (maximum)\n", g->sm_clock_mhz, g->mem_clock_mhz);
        printf("  driver   %s (CUDA %s), runtime %s\n", *g->driver ? g->driver : "version unknown (no NVML)", drv, rt);
    }
    if (n > GPU_LIST_MAX)
        printf("(and %d more CUDA devices not shown)\n", n - GPU_LIST_MAX);
}

static int print_ceiling(const struct ceiling *c, void *ctx)
{
    int *count = ctx;
    if ((*count)++ == 0)
        printf("ceilings (measured by kbench calibrate; the roofline uses these)\n");
    double v = c->value;
    const char *prefix = v >= 1e12 ? "T" : v >= 1e9 ? "G" : "M";
    double scale = v >= 1e12 ? 1e-12 : v >= 1e9 ? 1e-9 : 1e-6;
    printf("  %-7s %-15s %9.2f %s%-7s %s\n", c->device, c->name, v * scale, prefix, c->unit, c->measured_at);
    return 0;
}

/* The stored ceilings of this machine; a missing database is not an error here. */
static void print_ceilings(const char *db)
{
    const char *path = cli_db_path(db);
    if (access(path, F_OK) != 0) {
        printf("ceilings not measured (no database %s; run 'kbench calibrate')\n", path);
        return;
    }
    struct store *s;
    char err[512];
    if (store_open(path, STORE_READ, &s, err, sizeof err) != 0) {
        printf("ceilings unknown: %s\n", err);
        return;
    }
    struct machine_info m;
    machine_info_read(&m);
    int count = 0;
    if (store_list_ceilings(s, m.fingerprint, print_ceiling, &count) != 0)
        printf("ceilings unknown: %s\n", store_errmsg(s));
    else if (count == 0)
        printf("ceilings not measured on this machine (run 'kbench calibrate'); the roofline uses the nominal peak\n");
    store_close(s);
}

/* ---- --format json ---- */

static int json_ceiling(const struct ceiling *c, void *ctx)
{
    jw_ceiling(ctx, c);
    return 0;
}

/* The same facts as the text, as one object: cpu, gpus (with gpus_note saying why there are
 * none), ceilings (with ceilings_note when they could not be read). */
static void print_json(const char *db)
{
    struct jw w = { .out = stdout };
    struct cpu_info ci;
    cpu_info_read(&ci);
    jw_open(&w, '{', 0);
    jw_key(&w, "cpu");
    jw_open(&w, '{', 0);
    jw_key(&w, "model");
    jw_string_or_null(&w, ci.model);
    jw_key(&w, "logical_cpus");
    jw_int(&w, ci.logical_cpus);
    jw_key(&w, "physical_cores");
    jw_int(&w, ci.physical_cores);
    jw_key(&w, "mhz");
    jw_number(&w, ci.mhz > 0 ? ci.mhz : NAN);
    jw_key(&w, "l1d_bytes");
    jw_int(&w, (long long)ci.l1d_bytes);
    jw_key(&w, "l2_bytes");
    jw_int(&w, (long long)ci.l2_bytes);
    jw_key(&w, "l3_bytes");
    jw_int(&w, (long long)ci.l3_bytes);
    jw_key(&w, "simd");
    jw_string_or_null(&w, ci.simd);
    double per_core = cpu_peak_f32_per_core(&ci);
    int cores = ci.physical_cores > 0 ? ci.physical_cores : ci.logical_cpus;
    jw_key(&w, "f32_flops_per_cycle");
    jw_number(&w, ci.f32_flops_per_cycle);
    jw_key(&w, "f32_peak_per_core");
    jw_number(&w, per_core > 0 ? per_core : NAN);
    jw_key(&w, "f32_peak");
    jw_number(&w, per_core > 0 ? per_core * cores : NAN);
    jw_key(&w, "peak_method");
    jw_string_or_null(&w, ci.peak_method);
    jw_close(&w, '}');

    char why[256] = "";
    static struct gpu_info all[GPU_LIST_MAX];
    int n = gpu_list(all, GPU_LIST_MAX, why, sizeof why);
    jw_key(&w, "gpus");
    jw_open(&w, '[', 0);
    for (int i = 0; i < n && i < GPU_LIST_MAX; i++) {
        const struct gpu_info *g = &all[i];
        char dev[16];
        snprintf(dev, sizeof dev, "cuda:%d", g->index);
        jw_open(&w, '{', 0);
        jw_key(&w, "device");
        jw_string(&w, dev);
        jw_key(&w, "name");
        jw_string(&w, g->name);
        jw_key(&w, "compute_capability");
        char cc[16];
        snprintf(cc, sizeof cc, "%d.%d", g->cc_major, g->cc_minor);
        jw_string(&w, cc);
        jw_key(&w, "sms");
        jw_int(&w, g->sms);
        jw_key(&w, "mem_bytes");
        jw_int(&w, (long long)g->mem_bytes);
        jw_key(&w, "l2_bytes");
        jw_int(&w, (long long)g->l2_bytes);
        jw_key(&w, "smem_per_block");
        jw_int(&w, (long long)g->smem_per_block);
        jw_key(&w, "mem_bus_bits");
        jw_int(&w, g->mem_bus_bits);
        jw_key(&w, "sm_clock_mhz");
        jw_number(&w, g->sm_clock_mhz);
        jw_key(&w, "mem_clock_mhz");
        jw_number(&w, g->mem_clock_mhz);
        jw_key(&w, "driver");
        jw_string_or_null(&w, g->driver);
        jw_key(&w, "driver_cuda_version");
        jw_int(&w, g->driver_version);
        jw_key(&w, "runtime_version");
        jw_int(&w, g->runtime_version);
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    jw_key(&w, "gpus_note");
    if (n <= 0)
        jw_string(&w, n < 0 && *why ? why : "none visible");
    else
        jw_null(&w);

    jw_key(&w, "ceilings");
    jw_open(&w, '[', 0);
    const char *path = cli_db_path(db), *note = NULL;
    char err[512] = "";
    struct store *st = NULL;
    if (access(path, F_OK) != 0) {
        note = "no database";
    } else if (store_open(path, STORE_READ, &st, err, sizeof err) != 0) {
        note = err;
    } else {
        struct machine_info m;
        machine_info_read(&m);
        if (store_list_ceilings(st, m.fingerprint, json_ceiling, &w) != 0) {
            snprintf(err, sizeof err, "%s", store_errmsg(st));
            note = err;
        }
        store_close(st);
    }
    jw_close(&w, ']');
    jw_key(&w, "ceilings_note");
    jw_string_or_null(&w, note);
    jw_close(&w, '}');
    fputc('\n', stdout);
}

enum { OPT_DB = 256, OPT_FORMAT };

static const struct cli_option options[] = {
    { "db", 0, OPT_DB, "PATH", CLI_DB,
      "database to read the ceilings from (./kbench.db, or $KBENCH_DB); never created or changed", NULL, 0 },
    { "format", 0, OPT_FORMAT, "FMT", CLI_CHOICE, "text or json (text)", "text json", 0 },
    CLI_END_OPTIONS,
};

const struct cli_command cli_cmd_devices = {
    .name = "devices",
    .fn = cmd_devices,
    .summary = "show this machine's CPU and GPUs",
    .synopsis = "[--db PATH] [--format text|json]",
    .description =
        "Shows the devices kbench can measure on: the CPU (model, logical and physical cores, clock, "
        "caches, SIMD features and its float32 FMA peak per core and over all cores, with how the peak "
        "was derived), and every CUDA GPU (name, compute capability, SMs, memory, L2, clocks, driver "
        "and runtime versions), or why there are none (asked from one short-lived process, so kbench "
        "itself never initialises CUDA); then the ceilings 'kbench calibrate' measured on this "
        "machine, if the database has them.",
    .options = options,
    .max_operands = 0,
    .example = "kbench devices --format json",
};

int cmd_devices(int argc, char **argv)
{
    const char *db = NULL;
    int json = 0, c;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_devices, argc, argv);
    while ((c = cli_next(&p)) != CLI_DONE) {
        switch (c) {
        case OPT_DB: db = p.arg; break;
        case OPT_FORMAT:
            if (strcmp(p.arg, "json") != 0 && strcmp(p.arg, "text") != 0)
                return cli_usage_error("devices", "bad --format '%s' (expected text or json)", p.arg);
            json = strcmp(p.arg, "json") == 0;
            break;
        case CLI_STOP: return p.status;
        }
    }
    if (json) {
        print_json(db);
    } else {
        print_cpu();
        print_gpus();
        print_ceilings(db);
    }
    if (fflush(stdout) != 0)
        return cli_input_error("devices", "cannot write the output: %m");
    return EXIT_OK;
}
