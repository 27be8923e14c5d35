/* cmd_devices.c - `kbench devices`: the CPU and the CUDA GPUs kbench can measure on. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/cli.h"
#include "harness/cpu.h"
#include "kernels/cpu_features.h"
#include "harness/gpu.h"
#include "harness/machine.h"

static void usage(void)
{
    printf("usage: kbench devices [--db PATH]\n\n"
           "Shows the devices kbench can measure on: the CPU (model, logical and physical cores,\n"
           "clock, caches, SIMD features and its float32 FMA peak per core and over all cores,\n"
           "with how the peak was derived), and every CUDA GPU (name, compute capability, SMs,\n"
           "memory, L2, clocks, driver and runtime versions), or why there are none (asked\n"
           "from one short-lived process, so kbench itself never initialises CUDA); then the\n"
           "ceilings 'kbench calibrate' measured on this machine, if the database has them.\n\n"
           "  --db PATH  database to read the ceilings from (./kbench.db, or $KBENCH_DB);\n"
           "             never created or changed\n\n"
           "example: kbench devices\n");
}

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

int cmd_devices(int argc, char **argv)
{
    static const struct option opts[] = {
        { "db", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    const char *db = NULL;
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(); return EXIT_OK;
        case 'd': db = optarg; break;
        case ':': return cli_usage_error("devices", "option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt && strncmp(argv[optind - 1], "--", 2) != 0)
                return cli_usage_error("devices", "unknown option '-%c'", optopt);
            return cli_usage_error("devices", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("devices", "unexpected argument '%s'", argv[optind]);
    print_cpu();
    print_gpus();
    print_ceilings(db);
    if (fflush(stdout) != 0)
        return cli_input_error("devices", "cannot write the output: %m");
    return EXIT_OK;
}
