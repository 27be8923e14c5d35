/* cmd_calibrate.c - `kbench calibrate`: measure this machine's ceilings and store them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cli.h"
#include "harness/calibrate.h"
#include "harness/gpu.h"
#include "harness/machine.h"
#include "harness/plan.h"
#include "kernels/cpu_features.h"

struct sink {
    struct store *store;
    int64_t machine_id;
    int failed;
    int header_printed;
    int mask_said; /* the note that masked CPU rates are not stored, once */
};

/* The number right-aligned and the unit padded, so that the method column lines up whatever
 * the unit ("GFLOP/s", "GOP/s", "GB/s"). */
static void print_value(double v, const char *unit)
{
    char scaled[24];
    if (v >= 1e12)
        snprintf(scaled, sizeof scaled, "T%s", unit), v *= 1e-12;
    else if (v >= 1e9)
        snprintf(scaled, sizeof scaled, "G%s", unit), v *= 1e-9;
    else
        snprintf(scaled, sizeof scaled, "M%s", unit), v *= 1e-6;
    printf("%10.2f %-8s", v, scaled);
}

static int take(const struct ceiling *c, void *ctx)
{
    struct sink *k = ctx;
    if (!k->header_printed) {
        printf("%-8s %-15s %10s %-8s  %s\n", "device", "ceiling", "value", "unit", "method");
        k->header_printed = 1;
    }
    printf("%-8s %-15s ", c->device, c->name);
    print_value(c->value, c->unit);
    printf("  %s\n", c->method);
    fflush(stdout);
    /* A machine's ceilings are its whole hardware's: masked runs scale them by the nominal peaks'
     * ratio, so a rate measured under KBENCH_CPU_FEATURES is printed, never stored (it would be
     * scaled a second time). */
    if (k->store && strcmp(c->device, "cpu") == 0 && kb_cpu_masked()) {
        if (!k->mask_said)
            fprintf(stderr, "kbench calibrate: CPU features masked by %s: the CPU's rates are printed, not "
                    "stored (a machine's ceilings are its whole hardware's; runs under a mask scale them)\n",
                    KB_CPU_FEATURES_ENV);
        k->mask_said = 1;
        return 0;
    }
    if (k->store && store_ceiling_add(k->store, k->machine_id, c) != 0) {
        fprintf(stderr, "kbench calibrate: %s\n", store_errmsg(k->store));
        k->failed = 1;
        return 1;
    }
    return 0;
}

static const struct cli_option options[] = {
    { "devices", 0, 'D', "LIST", CLI_DEVICE, "comma-separated: cpu, cuda:N (default: cpu and every visible GPU)",
      NULL, 0 },
    { "span", 0, 'S', "LIST", CLI_TEXT,
      "GPUs per measurement (2,4,8): all-reduce and all-to-all bandwidth through NCCL over cuda:N.. for "
      "each span, instead of the single-device ceilings (default device cuda:0)", NULL, 0 },
    { "seconds", 0, 's', "S", CLI_TEXT, "time per repeat (0.2); smaller is quicker and noisier", NULL, 0 },
    { "no-store", 0, 'n', NULL, CLI_TEXT, "measure and print only", NULL, 0 },
    { "db", 0, 'd', "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    CLI_END_OPTIONS,
};

static const struct cli_exit exits[] = {
    { 0, "every device measured" },
    { 2, "a bad or missing device (the others are still measured and stored), or a usage error" },
    { -1, NULL },
};

const struct cli_command cli_cmd_calibrate = {
    .name = "calibrate",
    .fn = cmd_calibrate,
    .summary = "measure this machine's ceilings (FMA rates, bandwidth) and store them",
    .synopsis = "[--devices LIST] [--span LIST] [--seconds S] [--db PATH] [--no-store]",
    .description =
        "Measures the rates this machine's results are judged against, and stores them with the machine "
        "so reports draw the roofline from them (shown by 'kbench devices'):\n\n"
        "  cpu      f32 FMA rate on one core and on all cores (register-only FMA chains, the\n"
        "           widest SIMD the CPU has), INT8 dot-product rate where the CPU has VNNI,\n"
        "           and memory bandwidth (STREAM triad over arrays 4x the LLC), 1 and all threads\n"
        "  cuda:N   copy bandwidth and tensor-core rates per dtype, where kbench was built\n"
        "           with GPU calibration\n"
        "  --span   all-reduce and all-to-all bandwidth of N GPUs from each cuda:N through NCCL,\n"
        "           algbw and busbw as nccl-tests defines them, stored as allreduce_busbw_span2,\n"
        "           alltoall_algbw_span8, ... (busbw from span 2); NVLink multicast stays off\n\n"
        "Each figure is the best of 3 timed repeats. Run it on an idle machine.",
    .options = options,
    .max_operands = 0,
    .exits = exits,
    .example = "kbench calibrate --devices cpu,cuda:0",
};

int cmd_calibrate(int argc, char **argv)
{
    const char *db = NULL, *devices = NULL;
    int store_it = 1;
    struct calibrate_options opt = { 0 };
    struct int_axis spans = { 0 };
    int c;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_calibrate, argc, argv);
    while ((c = cli_next(&p)) != CLI_DONE) {
        const char *optarg = p.arg;
        switch (c) {
        case 'D':
            if (!*optarg)
                return cli_usage_error("calibrate", "bad --devices '' (expected cpu, cuda:N, comma-separated)");
            devices = optarg;
            break;
        case 'S': {
            char err[256];
            if (plan_parse_int_axis(optarg, 1, 64, &spans, err, sizeof err) != 0)
                return cli_usage_error("calibrate", "bad --span '%s': %s", optarg, err);
            break;
        }
        case 's':
            if (cli_parse_double(optarg, 0.001, 60, &opt.seconds) != 0)
                return cli_usage_error("calibrate", "bad --seconds '%s' (expected 0.001 to 60)", optarg);
            break;
        case 'n': store_it = 0; break;
        case 'd': db = optarg; break;
        case CLI_STOP: return p.status;
        }
    }

    /* The device list: given, or the CPU and every GPU visible. */
    char list[1024];
    if (devices) {
        snprintf(list, sizeof list, "%s", devices);
    } else if (spans.n > 0) {
        snprintf(list, sizeof list, "cuda:0");
    } else {
        char why[256];
        int n = gpu_count(why, sizeof why);
        size_t used = (size_t)snprintf(list, sizeof list, "cpu");
        for (int i = 0; i < n && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, ",cuda:%d", i);
    }
    /* Check every name before measuring anything, so a typo costs no time. */
    char check[1024];
    snprintf(check, sizeof check, "%s", list);
    for (char *save = NULL, *d = strtok_r(check, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
        int ok = strcmp(d, "cpu") == 0;
        if (strncmp(d, "cuda:", 5) == 0) {
            char *end;
            long idx = strtol(d + 5, &end, 10);
            ok = d[5] && !*end && idx >= 0 && idx <= 1024;
        }
        if (!ok)
            return cli_usage_error("calibrate", "bad device '%s' in --devices (expected cpu or cuda:N)", d);
        if (spans.n > 0 && strncmp(d, "cuda:", 5) != 0)
            return cli_usage_error("calibrate", "--span counts GPUs: device '%s' cannot span (use cuda:N)", d);
    }

    struct sink sink = { 0 };
    if (store_it) {
        int rc = cli_open_store("calibrate", cli_db_path(db), STORE_WRITE, &sink.store);
        if (rc != 0)
            return rc;
        struct machine_info m;
        machine_info_read(&m);
        sink.machine_id = store_machine_upsert(sink.store, &m);
        if (sink.machine_id <= 0) {
            rc = cli_input_error("calibrate", "%s", store_errmsg(sink.store));
            store_close(sink.store);
            return rc;
        }
    }
    int status = EXIT_OK;
    for (char *save = NULL, *d = strtok_r(list, ",", &save); d && !sink.failed; d = strtok_r(NULL, ",", &save)) {
        char why[512] = "";
        if (spans.n > 0) {
            for (int i = 0; i < spans.n && !sink.failed; i++) {
                fprintf(stderr, "calibrating %d GPU%s from %s ...\n", spans.v[i], spans.v[i] == 1 ? "" : "s", d);
                if (calibrate_span(atoi(d + 5), spans.v[i], &opt, take, &sink, why, sizeof why) != 0) {
                    fprintf(stderr, "kbench calibrate: %s\n", why);
                    status = EXIT_USAGE;
                }
            }
            continue;
        }
        fprintf(stderr, "calibrating %s ...\n", d);
        if (calibrate_device(d, &opt, take, &sink, why, sizeof why) != 0) {
            fprintf(stderr, "kbench calibrate: %s\n", why);
            status = EXIT_USAGE;
        }
    }
    if (sink.failed)
        status = EXIT_USAGE;
    if (sink.store) {
        if (status == EXIT_OK || !sink.failed)
            fprintf(stderr, "stored in %s (see 'kbench devices')\n", cli_db_path(db));
        store_close(sink.store);
    }
    return status;
}
