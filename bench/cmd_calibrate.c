/* cmd_calibrate.c - `kbench calibrate`: measure this machine's ceilings and store them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cli.h"
#include "harness/calibrate.h"
#include "harness/gpu.h"
#include "harness/machine.h"

static void usage(void)
{
    printf("usage: kbench calibrate [--devices LIST] [--seconds S] [--db PATH] [--no-store]\n\n"
           "Measures the rates this machine's results are judged against, and stores them with\n"
           "the machine so reports draw the roofline from them (shown by 'kbench devices'):\n"
           "  cpu      f32 FMA rate on one core and on all cores (register-only FMA chains, the\n"
           "           widest SIMD the CPU has), INT8 dot-product rate where the CPU has VNNI,\n"
           "           and memory bandwidth (STREAM triad over arrays 4x the LLC), 1 and all threads\n"
           "  cuda:N   copy bandwidth and tensor-core rates per dtype, where kbench was built\n"
           "           with GPU calibration\n"
           "Each figure is the best of 3 timed repeats. Run it on an idle machine.\n\n"
           "  --devices LIST  comma-separated: cpu, cuda:N (default: cpu and every visible GPU)\n"
           "  --seconds S     time per repeat (0.2); smaller is quicker and noisier\n"
           "  --no-store      measure and print only\n"
           "  --db PATH       database (./kbench.db, or $KBENCH_DB)\n\n"
           "Exit status: 0 every device measured, 2 a bad or missing device (the others are\n"
           "still measured and stored).\n\n"
           "example: kbench calibrate --devices cpu,cuda:0\n");
}

struct sink {
    struct store *store;
    int64_t machine_id;
    int failed;
    int header_printed;
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
    if (k->store && store_ceiling_add(k->store, k->machine_id, c) != 0) {
        fprintf(stderr, "kbench calibrate: %s\n", store_errmsg(k->store));
        k->failed = 1;
        return 1;
    }
    return 0;
}

int cmd_calibrate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "devices", required_argument, NULL, 'D' },
        { "seconds", required_argument, NULL, 's' },
        { "no-store", no_argument, NULL, 'n' },
        { "db", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *db = NULL, *devices = NULL;
    int store_it = 1;
    struct calibrate_options opt = { 0 };
    opterr = 0;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (c) {
        case 'D':
            if (!*optarg)
                return cli_usage_error("calibrate", "bad --devices '' (expected cpu, cuda:N, comma-separated)");
            devices = optarg;
            break;
        case 's':
            if (cli_parse_double(optarg, 0.001, 60, &opt.seconds) != 0)
                return cli_usage_error("calibrate", "bad --seconds '%s' (expected 0.001 to 60)", optarg);
            break;
        case 'n': store_it = 0; break;
        case 'd': db = optarg; break;
        case 'h': usage(); return EXIT_OK;
        case ':': return cli_usage_error("calibrate", "option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt && strncmp(argv[optind - 1], "--", 2) != 0)
                return cli_usage_error("calibrate", "unknown option '-%c'", optopt);
            return cli_usage_error("calibrate", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("calibrate", "unexpected argument '%s'", argv[optind]);

    /* The device list: given, or the CPU and every GPU visible. */
    char list[1024];
    if (devices) {
        snprintf(list, sizeof list, "%s", devices);
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
