/* cmd_run.c - `kbench run`: plan a sweep, measure every case in isolation, store each case as it
 * finishes, print the results. */
#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "bench/cli.h"
#include "harness/cpu.h"
#include "harness/gpu.h"
#include "harness/cupti_metrics.h"
#include "harness/machine.h"
#include "harness/plan.h"
#include "harness/progress.h"
#include "harness/runner.h"
#include "harness/runner_checks.h"
#include "reports/reports.h"
#include "kernels/cpu_features.h"

#define MAX_GROUPS 64
#define MAX_AXIS_FLAGS 32

struct axis_flag { const char *key; const char *value; };

enum {
    OPT_SUITE = 256, OPT_KERNELS, OPT_DEVICES, OPT_DTYPE, OPT_PRESET, OPT_THREADS, OPT_CACHE, OPT_NOISE, OPT_MAX_TIME, OPT_MIN_TIME,
    OPT_MIN_SAMPLES, OPT_MAX_SAMPLES, OPT_WARMUP, OPT_MIN_SAMPLE_TIME, OPT_TIMEOUT, OPT_COUNTERS,
    OPT_NO_COUNTERS, OPT_DB, OPT_TAG, OPT_SHARD, OPT_DUMP, OPT_DRY_RUN, OPT_QUIET, OPT_NO_SHOW,
    OPT_NO_ISOLATE, OPT_RESUME,
    OPT_METRICS, OPT_NO_METRICS, OPT_MIN_SAMPLES_CAP, OPT_THROTTLE_THRESHOLD, OPT_INCLUDE_THROTTLED,
    OPT_AXIS_BASE = 1024, /* + enum kb_axis: one option per shape axis, built at run time */
};

static const struct cli_option options[] = {
    { "suite", 0, OPT_SUITE, "NAME|FILE", CLI_SUITE,
      "run a suite: a name (quick, standard, nightly, ...) or a .suite file; axes given with it "
      "override the suite's values", NULL, 0 },
    CLI_HEADING("axes (a value is N, a list N,M,..., a geometric range LO:HI:xF, or LO:HI:+STEP; 4k = 4096)"),
    { "kernels", 0, OPT_KERNELS, "PATTERNS", CLI_KERNEL, "shell patterns over name or name@impl (attention.*)",
      NULL, 0 },
    { "kernel", 0, OPT_KERNELS, "PATTERNS", CLI_KERNEL, NULL, NULL, CLI_HIDDEN },
    { "devices", 0, OPT_DEVICES, "LIST", CLI_DEVICE, "cpu, cuda:N (cpu)", NULL, 0 },
    { "dtype", 0, OPT_DTYPE, "LIST", CLI_CHOICE,
      "f32, f64, f16, bf16, i8, i4, e4m3, e5m2 (default: f32, or the kernel's own dtype where it has "
      "no f32: bf16 on tensor cores, i8)", "f32 f64 f16 bf16 i8 i4 e4m3 e5m2", 0 },
    { "preset", 0, OPT_PRESET, "NAME", CLI_PRESET,
      "a model's shapes (llama3-8b, mixtral-8x7b, vit-b16, ...; see 'kbench list --presets')", NULL, 0 },
    { "threads", 0, OPT_THREADS, "LIST", CLI_TEXT, "worker threads of CPU kernels (1)", NULL, 0 },
    { "cache", 0, OPT_CACHE, "LIST", CLI_CHOICE,
      "hot, cold or both (a list like every axis): cold flushes the last-level cache before each "
      "sample (hot)", "hot cold both", 0 },
    CLI_HEADING("shape axes (defaults: B=1 H=8 N=512:2048:x2 d=64 non-causal; a kernel sweeps only its own "
                "axes; an axis not given takes the value 'kbench list --axes' shows)"),
    { NULL, 0, OPT_AXIS_BASE, "LIST", CLI_TEXT, NULL, NULL, CLI_AXES },
    CLI_HEADING("measurement"),
    { "noise", 0, OPT_NOISE, "FRAC", CLI_TEXT,
      "stop sampling when the median's 95% CI half-width is within FRAC (0.01)", NULL, 0 },
    { "max-time", 0, OPT_MAX_TIME, "S", CLI_TEXT, "per-case sampling budget in seconds (1)", NULL, 0 },
    { "min-time", 0, OPT_MIN_TIME, "S", CLI_TEXT, "sample at least this long (0.02)", NULL, 0 },
    { "min-samples", 0, OPT_MIN_SAMPLES, "N", CLI_TEXT,
      "take at least N samples (10): the budget grows past --max-time for them, up to --min-samples-cap", NULL, 0 },
    { "min-samples-cap", 0, OPT_MIN_SAMPLES_CAP, "S", CLI_TEXT,
      "seconds of sampling the minimum may take (10; and 3/4 of --timeout), after which the case is kept "
      "and marked 'min-samples-cap'", NULL, 0 },
    { "max-samples", 0, OPT_MAX_SAMPLES, "N", CLI_TEXT,
      "take at most N samples (100000); given alone, a smaller N also lowers the default minimum", NULL, 0 },
    { "throttle-threshold", 0, OPT_THROTTLE_THRESHOLD, "FRAC", CLI_TEXT,
      "GPU samples below FRAC of the maximum SM clock are throttled (0.75)", NULL, 0 },
    { "include-throttled", 0, OPT_INCLUDE_THROTTLED, NULL, CLI_TEXT,
      "count throttled GPU samples in the statistics (default: set aside and re-sampled)", NULL, 0 },
    { "warmup", 0, OPT_WARMUP, "S", CLI_TEXT, "warm-up time before sampling (0.01)", NULL, 0 },
    { "min-sample-time", 0, OPT_MIN_SAMPLE_TIME, "S", CLI_TEXT,
      "batch calls of short kernels into samples of at least S (20e-6; 0: never)", NULL, 0 },
    { "timeout", 0, OPT_TIMEOUT, "S", CLI_TEXT, "kill a case after S seconds (60)", NULL, 0 },
    { "counters", 0, OPT_COUNTERS, "LIST", CLI_TEXT,
      "PAPI events to count (presets or native names; default set otherwise)", NULL, 0 },
    { "no-counters", 0, OPT_NO_COUNTERS, NULL, CLI_TEXT,
      "skip the PAPI pass (GPU cases: the NVML energy pass, the CUPTI trace and metrics)", NULL, 0 },
    { "metrics", 0, OPT_METRICS, "LIST", CLI_TEXT,
      "CUPTI metrics of GPU cases, collected in a replayed pass of their own (default: DRAM bytes, "
      "SM/memory throughput, occupancy, tensor pipe, L2 hits)", NULL, 0 },
    { "no-metrics", 0, OPT_NO_METRICS, NULL, CLI_TEXT, "skip the GPU metrics pass", NULL, 0 },
    CLI_HEADING("other"),
    { "db", 0, OPT_DB, "PATH", CLI_DB, "database (./kbench.db, or $KBENCH_DB)", NULL, 0 },
    { "tag", 0, OPT_TAG, "NAME", CLI_TEXT, "tag the run (later: 'kbench show tag:NAME'; 'kbench tag' adds one)",
      NULL, 0 },
    { "shard", 0, OPT_SHARD, "I/N", CLI_TEXT, "run only shard I of N of the planned cases (stable split)", NULL, 0 },
    { "dump", 0, OPT_DUMP, "DIR", CLI_DIR,
      "write each case's inputs and outputs as NumPy .npy files + manifest.json", NULL, 0 },
    { "dry-run", 0, OPT_DRY_RUN, NULL, CLI_TEXT, "print the planned cases and exit", NULL, 0 },
    { "quiet", 0, OPT_QUIET, NULL, CLI_TEXT, "no progress", NULL, 0 },
    { "no-show", 0, OPT_NO_SHOW, NULL, CLI_TEXT, "do not print the results table", NULL, 0 },
    { "no-isolate", 0, OPT_NO_ISOLATE, NULL, CLI_TEXT, "run cases in this process (debugging; a crash ends the run)",
      NULL, 0 },
    { "resume", 0, OPT_RESUME, "RUN", CLI_RUN,
      "finish an interrupted run: plan it again from its stored arguments and run only the cases it "
      "has not stored (same machine only)", NULL, 0 },
    CLI_END_OPTIONS,
};

static int suggest_axis(const char *typed, char *guess, size_t len);

static const struct cli_exit exits[] = {
    { 0, "all cases ok" },
    { 1, "a case failed verification or crashed" },
    { 2, "usage or input error" },
    { 130, "interrupted by SIGINT (finished cases are kept; the run is marked interrupted)" },
    { 143, "terminated by SIGTERM (likewise)" },
    { -1, NULL },
};

const struct cli_command cli_cmd_run = {
    .name = "run",
    .fn = cmd_run,
    .summary = "run a sweep (suite or axes), verify and time every case, store the results",
    .synopsis = "[--suite NAME|FILE] [AXES...] [OPTIONS]",
    .description =
        "Plans a sweep, verifies every case against its float64 reference, times the ones that pass, "
        "and stores everything in the database, one transaction per case. Without --suite or axes it "
        "runs the 'quick' suite. Axes given with --suite override the suite's values.",
    .options = options,
    .max_operands = 0,
    .exits = exits,
    .suggest = suggest_axis,
    .example = "kbench run --kernels 'attention.*' --seq 512:8192:x2 --dtype f32 --threads 1,2",
};

/* The axis key plan_spec_set understands for each axis option. */
static const char *axis_key(int opt)
{
    if (opt >= OPT_AXIS_BASE && opt < OPT_AXIS_BASE + KB_AXIS_COUNT)
        return kb_axis_info((enum kb_axis)(opt - OPT_AXIS_BASE))->key;
    switch (opt) {
    case OPT_KERNELS: return "kernels";
    case OPT_DEVICES: return "devices";
    case OPT_DTYPE: return "dtype";
    case OPT_PRESET: return "preset";
    case OPT_THREADS: return "threads";
    case OPT_CACHE: return "cache";
    default: return NULL;
    }
}

/* The signal that stopped the run: the exit status is 128 + it, as a shell reports a killed
 * process (130 for SIGINT, 143 for SIGTERM), so a batch system sees which one ended it. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    if (!stop_signal)
        stop_signal = sig;
    runner_request_stop();
}

/* From before the run's row exists: a signal between its creation and the first case must still
 * mark the run interrupted rather than leave it "running" with no process behind it. */
static void catch_stop_signals(void)
{
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Appends one argument as a POSIX shell word: as it is when it holds only safe characters, else in
 * single quotes (a ' inside becomes '\''), so that 'attention.*' is not globbed when pasted. */
static size_t append_shell_word(char *buf, size_t len, size_t used, const char *arg)
{
    int safe = *arg != '\0';
    for (const char *c = arg; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("-_./:,=+@%", *c))
            safe = 0;
    if (used < len)
        used += (size_t)snprintf(buf + used, len - used, safe ? " %s" : " '", arg);
    if (safe)
        return used;
    for (const char *c = arg; *c && used < len; c++)
        used += (size_t)snprintf(buf + used, len - used, *c == '\'' ? "'\\''" : "%c", *c);
    if (used < len)
        used += (size_t)snprintf(buf + used, len - used, "'");
    return used;
}

/* The command as a user can paste it: "kbench run --kernels 'attention.*' --seq 4k". */
static void join_cmdline(int argc, char **argv, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "kbench run");
    for (int i = 0; i < argc && used < len; i++)
        used = append_shell_word(buf, len, used, argv[i]);
}

static void case_label(const struct plan_case *c, char *buf, size_t len)
{
    char shape[96];
    plan_shape_string(&c->shape, shape, sizeof shape);
    snprintf(buf, len, "%s@%s %s %s %s t=%d%s", c->kernel->name, c->kernel->impl, c->device,
             kb_dtype_name(c->dtype), shape, c->threads, c->cold_cache ? " cold" : "");
}

static void case_summary(const struct case_record *r, char *buf, size_t len)
{
    if (r->status != CASE_OK) {
        snprintf(buf, len, "%s", r->error);
        return;
    }
    /* unmeasured values read "-" as in the results table; no CI from fewer than 3 samples */
    char med[32], ci[32], rate[32];
    report_format_seconds(r->stats.median, med, sizeof med);
    if (r->stats.n < 3)
        snprintf(ci, sizeof ci, "n/a");
    else if (isfinite(r->stats.noise))
        snprintf(ci, sizeof ci, "%.1f%%", r->stats.noise * 100);
    else
        snprintf(ci, sizeof ci, "-");
    double gflops = r->flops / r->stats.median * 1e-9;
    if (isfinite(gflops) && gflops > 0)
        snprintf(rate, sizeof rate, "%.2f", gflops);
    else
        snprintf(rate, sizeof rate, "-");
    snprintf(buf, len, "%s ±%s %s GFLOP/s (n=%zu)", med, ci, rate, r->stats.n);
}

struct run_config {
    const char *db, *suite, *tag, *dump, *counters, *resume;
    int shard_i, shard_n, dry_run, quiet, no_show, min_time_given, min_samples_given, min_samples_cap_given;
    struct axis_flag axes[MAX_AXIS_FLAGS];
    int n_axes;
    struct runner_options ro;
};

/* A refused number: out of range (saying the range) when it is a number, else not a number. */
static int number_error(const char *option, const char *text, double lo, double hi, int integer)
{
    char *end;
    double v = strtod(text, &end);
    if (*text && *end == '\0' && !isnan(v) && (!integer || strspn(text, "+-0123456789") == strlen(text)))
        return cli_usage_error("run", "--%s %s is out of range [%.15g, %.15g]", option, text, lo, hi);
    return cli_usage_error("run", "bad --%s '%s' (expected %s in [%.15g, %.15g])", option, text,
                           integer ? "an integer" : "a number", lo, hi);
}

/* The option meant by an unknown one that is a mistyped axis ("--seqlen", "--seq-len",
 * "--kvheads", "--kv_heads"): the axis the planner would take (plan_suggest_key: keys and store
 * columns), as an option name; the parser asks this before its own nearest-name guess. */
static int suggest_axis(const char *typed, char *guess, size_t len)
{
    char key[64];
    if (snprintf(key, sizeof key, "%s", typed) >= (int)sizeof key)
        return -1;
    for (char *c = key; *c; c++)
        if (*c == '-')
            *c = '_';
    /* "--kv_heads": the suite key itself, spelt with '_' */
    if (kb_axis_by_key(key) >= 0)
        snprintf(guess, len, "%s", key);
    else if (plan_suggest_key(key, guess, len) != 0)
        return -1;
    for (char *c = guess; *c; c++)
        if (*c == '_')
            *c = '-';
    return 0;
}

static int parse_args(int argc, char **argv, struct run_config *cfg)
{
    runner_options_default(&cfg->ro);
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_run, argc, argv);
    int opt;
    while ((opt = cli_next(&p)) != CLI_DONE) {
        const char *optarg = p.arg;
        double d;
        long l;
        if (axis_key(opt)) {
            if (cfg->n_axes == MAX_AXIS_FLAGS)
                return cli_usage_error("run", "too many axis options");
            cfg->axes[cfg->n_axes++] = (struct axis_flag){ axis_key(opt), optarg };
            continue;
        }
        switch (opt) {
        case OPT_SUITE: cfg->suite = optarg; break;
        case OPT_DB: cfg->db = optarg; break;
        case OPT_TAG:
            if (!*optarg || strchr(optarg, ':') || strchr(optarg, ','))
                return cli_usage_error("run", "bad --tag '%s': a tag is a non-empty name without ':' or ','", optarg);
            cfg->tag = optarg;
            break;
        case OPT_DUMP: cfg->dump = optarg; cfg->ro.dump_dir = optarg; break;
        case OPT_DRY_RUN: cfg->dry_run = 1; break;
        case OPT_QUIET: cfg->quiet = 1; break;
        case OPT_NO_SHOW: cfg->no_show = 1; break;
        case OPT_NO_ISOLATE: cfg->ro.isolate = 0; break;
        case OPT_RESUME: cfg->resume = optarg; break;
        case OPT_COUNTERS: cfg->counters = optarg; cfg->ro.papi_events = optarg; break;
        case OPT_NO_COUNTERS: cfg->ro.papi_events = ""; break;
        case OPT_METRICS: cfg->ro.cupti_metrics = optarg; break;
        case OPT_NO_METRICS: cfg->ro.cupti_metrics = ""; break;
        case OPT_INCLUDE_THROTTLED: cfg->ro.include_throttled = 1; break;
        case OPT_SHARD: {
            char tail;
            if (sscanf(optarg, "%d/%d%c", &cfg->shard_i, &cfg->shard_n, &tail) != 2 || cfg->shard_n < 1 ||
                cfg->shard_i < 1 || cfg->shard_i > cfg->shard_n)
                return cli_usage_error("run", "bad --shard '%s' (expected I/N with 1 <= I <= N)", optarg);
            break;
        }
#define DOUBLE_OPT(OPT, FIELD, LO, HI, NAME)                                                           \
        case OPT:                                                                                      \
            if (cli_parse_double(optarg, LO, HI, &d) != 0)                                             \
                return number_error(NAME, optarg, LO, HI, 0);                                          \
            cfg->ro.FIELD = d;                                                                         \
            break;
        DOUBLE_OPT(OPT_NOISE, noise_target, 1e-5, 1.0, "noise")
        DOUBLE_OPT(OPT_MAX_TIME, max_time_s, 1e-4, 86400, "max-time")
        case OPT_MIN_TIME:
            if (cli_parse_double(optarg, 0, 86400, &d) != 0)
                return number_error("min-time", optarg, 0, 86400, 0);
            cfg->ro.min_time_s = d;
            cfg->min_time_given = 1;
            break;
        DOUBLE_OPT(OPT_WARMUP, warmup_s, 0, 3600, "warmup")
        DOUBLE_OPT(OPT_MIN_SAMPLE_TIME, min_sample_s, 0, 1, "min-sample-time")
        DOUBLE_OPT(OPT_TIMEOUT, timeout_s, 0.1, 86400, "timeout")
        DOUBLE_OPT(OPT_THROTTLE_THRESHOLD, throttle_fraction, 0.01, 1.0, "throttle-threshold")
        case OPT_MIN_SAMPLES_CAP:
            if (cli_parse_double(optarg, 0, 86400, &d) != 0)
                return cli_usage_error("run", "bad --min-samples-cap '%s' (expected seconds in [0, 86400])", optarg);
            cfg->ro.min_samples_cap_s = d;
            cfg->min_samples_cap_given = 1;
            break;
#undef DOUBLE_OPT
        case OPT_MIN_SAMPLES:
            if (cli_parse_int(optarg, 1, 100000000, &l) != 0)
                return number_error("min-samples", optarg, 1, 100000000, 1);
            cfg->ro.min_samples = (int)l;
            cfg->min_samples_given = 1;
            break;
        case OPT_MAX_SAMPLES:
            if (cli_parse_int(optarg, 1, 100000000, &l) != 0)
                return number_error("max-samples", optarg, 1, 100000000, 1);
            cfg->ro.max_samples = (int)l;
            break;
        case CLI_STOP: return p.status == EXIT_OK ? -1 : p.status;
        }
    }
    /* --max-samples alone below the default minimum lowers the minimum with it (as --max-time does
     * --min-time): the user asked for at most N samples, and gets at most N */
    if (!cfg->min_samples_given && cfg->ro.min_samples > cfg->ro.max_samples)
        cfg->ro.min_samples = cfg->ro.max_samples;
    if (cfg->ro.min_samples > cfg->ro.max_samples)
        return cli_usage_error("run", "--min-samples %d is above --max-samples %d", cfg->ro.min_samples,
                               cfg->ro.max_samples);
    /* a short --max-time alone lowers the default minimum with it */
    if (!cfg->min_time_given && cfg->ro.min_time_s > cfg->ro.max_time_s)
        cfg->ro.min_time_s = cfg->ro.max_time_s;
    if (cfg->ro.min_time_s > cfg->ro.max_time_s)
        return cli_usage_error("run", "--min-time %g is above --max-time %g", cfg->ro.min_time_s,
                               cfg->ro.max_time_s);
    /* the cap keeps a case's samples; the timeout kills the case and loses them: the cap must
     * come first (the runner also stops at 3/4 of the timeout, for setup and the counting pass) */
    if (cfg->min_samples_cap_given && cfg->ro.min_samples_cap_s >= cfg->ro.timeout_s)
        return cli_usage_error("run", "--min-samples-cap %g is not below --timeout %g (the timeout would kill "
                               "the case and lose its samples)", cfg->ro.min_samples_cap_s, cfg->ro.timeout_s);
    return 0;
}

/* A GPU named in the sweep must exist here: better a clear refusal now than a sweep of failures. */
static int check_devices(const struct plan_spec *specs, int n)
{
    int gpus = -2;
    char why[256] = "";
    for (int g = 0; g < n; g++)
        for (int d = 0; d < specs[g].n_devices; d++) {
            const char *dev = specs[g].devices[d];
            if (strncmp(dev, "cuda:", 5) != 0)
                continue;
            if (gpus == -2)
                gpus = gpu_count(why, sizeof why);
            if (gpus < 0)
                return cli_input_error("run", "device %s is not available: %s", dev, why);
            if (atoi(dev + 5) >= gpus)
                return cli_input_error("run", "device %s is not available: this machine has %d CUDA device%s",
                                       dev, gpus, gpus == 1 ? "" : "s");
        }
    return 0;
}

/* --metrics names are checked against the first GPU of the plan before anything runs. */
static int check_metrics(const struct run_config *cfg, const struct plan *plan)
{
    const char *csv = cfg->ro.cupti_metrics;
    if (!csv || !*csv)
        return 0;
    for (size_t i = 0; i < plan->n; i++) {
        if (strncmp(plan->cases[i].device, "cuda:", 5) != 0)
            continue;
        char err[768];
        if (cupti_metrics_validate(csv, atoi(plan->cases[i].device + 5), err, sizeof err) != 0)
            return cli_usage_error("run", "%s", err);
        return 0;
    }
    return 0;
}

/* Suite groups (or one default spec) with the command line's axes applied on top. */
static int build_plan(struct run_config *cfg, struct plan *plan, char *suite_name, size_t namelen)
{
    static struct plan_spec specs[MAX_GROUPS];
    struct plan_spec base;
    plan_spec_default(&base);
    int n = 1;
    char err[768];
    const char *suite = cfg->suite;
    if (!suite && cfg->n_axes == 0)
        suite = "quick";
    if (suite) {
        char path[1024];
        if (plan_suite_find(suite, path, sizeof path) != 0)
            return cli_input_error("run", "no suite '%s' (looked for it as a file, in $KBENCH_SUITES, "
                                   "datasets/suites/ and the installed suites)", suite);
        n = plan_suite_load(path, &base, specs, MAX_GROUPS, suite_name, namelen, err, sizeof err);
        if (n < 0)
            return cli_input_error("run", "%s", err);
        if (!*suite_name)
            snprintf(suite_name, namelen, "%s", suite);
    } else {
        specs[0] = base;
    }
    for (int g = 0; g < n; g++)
        for (int a = 0; a < cfg->n_axes; a++)
            if (plan_spec_set(&specs[g], cfg->axes[a].key, cfg->axes[a].value, err, sizeof err) != 0)
                return cli_usage_error("run", "%s", err);
    int rc = check_devices(specs, n);
    if (rc != 0)
        return rc;
    if (plan_build(specs, n, plan, err, sizeof err) != 0)
        return cli_usage_error("run", "%s", err);
    if (cfg->shard_n > 1)
        plan_shard(plan, cfg->shard_i, cfg->shard_n);
    return 0;
}

static void print_plan(const struct plan *plan)
{
    for (size_t i = 0; i < plan->n; i++) {
        char label[256];
        case_label(&plan->cases[i], label, sizeof label);
        printf("%4zu  %s\n", i + 1, label);
    }
    printf("%zu case%s\n", plan->n, plan->n == 1 ? "" : "s");
}

/* 1 when the run already stored this case (the same identity the planner de-duplicates on). */
static int case_stored(const struct plan_case *c, const struct result_row *rows, long n)
{
    for (long i = 0; i < n; i++) {
        const struct result_row *r = &rows[i];
        if (strcmp(r->kernel, c->kernel->name) == 0 && strcmp(r->impl, c->kernel->impl) == 0 &&
            strcmp(r->device, c->device) == 0 && strcmp(r->dtype, kb_dtype_name(c->dtype)) == 0 &&
            memcmp(&r->shape, &c->shape, sizeof r->shape) == 0 && r->threads == c->threads &&
            r->cold_cache == c->cold_cache)
            return 1;
    }
    return 0;
}

/* A warning line to stderr, clear of the progress bar (which the next case redraws). */
static void warn_line(void *ctx, const char *line)
{
    const struct progress *prog = ctx;
    fprintf(stderr, "%s%s\n", prog && prog->tty && !prog->quiet ? "\r\033[K" : "", line);
}

/* Before the first case: what would make every case's numbers less trustworthy. */
static void warn_before_run(struct store *st, int64_t run_id, const struct plan *plan)
{
    int max_threads = 1;
    for (size_t i = 0; i < plan->n; i++)
        if (plan->cases[i].kernel->device == KB_DEVICE_CPU && plan->cases[i].threads > max_threads)
            max_threads = plan->cases[i].threads;
    char host[256] = "";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    long pids[8];
    int others = store_live_runs(st, host, run_id, pids, 8);
    runner_warn_run(max_threads, others > 0 ? others : 0, pids, warn_line, NULL);
}

/* Measures every planned case into run_id, one transaction each; returns the exit status. */
static int execute(struct store *st, int64_t run_id, const struct plan *plan, struct run_config *cfg)
{
    catch_stop_signals();

    warn_before_run(st, run_id, plan);
    struct progress prog;
    progress_begin(&prog, stderr, plan->n, cfg->quiet);
    int any_failed = 0, store_failed = 0;
    for (size_t i = 0; i < plan->n && !runner_stop_requested(); i++) {
        struct case_record rec;
        char label[256], summary[300];
        const struct plan_case *pc = &plan->cases[i];
        case_label(pc, label, sizeof label);  /* one label before and after: the record keeps pc's identity */
        progress_case_start(&prog, label);
        if (runner_run_case(pc, &cfg->ro, &rec) != 0) {
            fprintf(stderr, "kbench run: cannot start a case process: %m\n");
            store_failed = 1;
            break;
        }
        if (rec.status == CASE_INTERRUPTED) {
            case_record_release(&rec);
            break;   /* a case cut short is not a result: it is not stored */
        }
        /* Another writer may hold the database for a while (a long transaction, a backup):
         * wait for it, saying so, rather than drop a measured case. */
        int64_t stored;
        for (int tries = 1; (stored = store_case_insert(st, run_id, &rec)) < 0 && store_busy(st) &&
                            tries < 30 && !runner_stop_requested(); tries++)
            fprintf(stderr, "kbench run: %s; waiting for the lock (%d s so far)\n", store_errmsg(st), tries * 10);
        if (stored < 0) {
            fprintf(stderr, "kbench run: %s\n", store_errmsg(st));
            case_record_release(&rec);
            store_failed = 1;
            break;
        }
        if (rec.status != CASE_OK && rec.status != CASE_SKIPPED)
            any_failed = 1;
        runner_warn_case(label, &rec, warn_line, &prog);
        case_summary(&rec, summary, sizeof summary);
        progress_case_done(&prog, label, case_status_name(rec.status), summary);
        case_record_release(&rec);
    }
    progress_end(&prog);
    int interrupted = runner_stop_requested();
    const char *final = store_failed ? "failed" : interrupted ? "interrupted" : "complete";
    if (store_run_finish(st, run_id, final) != 0)
        fprintf(stderr, "kbench run: %s\n", store_errmsg(st));
    if (!cfg->no_show && !store_failed)
        report_results_table(stdout, st, run_id);
    if (interrupted)
        fprintf(stderr, "interrupted: run %lld marked interrupted; finished cases are stored "
                "(kbench run --resume %lld finishes it)\n", (long long)run_id, (long long)run_id);
    return store_failed ? EXIT_USAGE : interrupted ? (stop_signal == SIGTERM ? EXIT_SIGTERM : EXIT_SIGINT)
         : any_failed ? EXIT_FAILED : EXIT_OK;
}

/* One option as given: its code (aliases share one) and value (NULL for a flag). */
struct given_option { int code; const char *name; const char *value; };

/* The options of an argument list, in order; returns how many (at most max). */
static int collect_options(int argc, char **argv, struct given_option *out, int max)
{
    /* both lists have been parsed whole before (this invocation's, and the run's when it began) */
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_run, argc, argv);
    int n = 0, opt;
    while ((opt = cli_next(&p)) >= 0 && n < max)
        out[n++] = (struct given_option){ opt, p.long_name, p.arg };
    return n;
}

/* Options that only steer this invocation, not what the run measures. */
static int invocation_only(int code)
{
    return code == OPT_RESUME || code == OPT_DB || code == OPT_QUIET || code == OPT_NO_SHOW ||
           code == OPT_DRY_RUN || code == OPT_NO_ISOLATE;
}

/* The options given with --resume that the run was not planned with (a value of its own, or one
 * it did not set), as "--max-time 0.5, --seq 64"; "" when there are none. Giving the run's own
 * options again (the recorded command line with --resume appended) changes nothing. */
static void changed_options(int argc, char **argv, int nargs, char **stored_argv, char *buf, size_t len)
{
    struct given_option given[256], stored[256];
    int ng = collect_options(argc, argv, given, 256);
    int ns = collect_options(nargs, stored_argv, stored, 256);
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < ng; i++) {
        if (invocation_only(given[i].code))
            continue;
        int same = 0;
        for (int j = 0; j < ns && !same; j++)
            same = stored[j].code == given[i].code &&
                   (given[i].value ? stored[j].value && strcmp(stored[j].value, given[i].value) == 0 : !stored[j].value);
        if (same || used >= len)
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%s--%s%s%s", used ? ", " : "", given[i].name,
                                 given[i].value ? " " : "", given[i].value ? given[i].value : "");
    }
}

/* The KBENCH_CPU_FEATURES mask in effect, as a run records it (schema v11): mask "" when it hides
 * nothing this CPU has, so the run is measured against the machine's own peak. */
static void read_cpu_mask(struct run_cpu_mask *out)
{
    memset(out, 0, sizeof *out);
    if (!kb_cpu_masked())
        return;
    struct cpu_info ci;
    cpu_info_read(&ci);
    const char *env = getenv(KB_CPU_FEATURES_ENV);
    snprintf(out->mask, sizeof out->mask, "%s", env && *env ? env : "(set in-process)");
    snprintf(out->features, sizeof out->features, "%s", ci.simd);
    out->peak_f32_core = cpu_peak_f32_per_core(&ci);
}

/* Said once as a run starts: a masked run is slower by design, and its roofline says so. */
static void say_cpu_mask(const struct run_cpu_mask *m)
{
    if (!*m->mask)
        return;
    const char *path = kb_cpu_has(KB_CPU_AVX512F | KB_CPU_FMA) ? "avx512"
                       : kb_cpu_has(KB_CPU_AVX2 | KB_CPU_FMA) ? "avx2" : "scalar";
    fprintf(stderr, "CPU features masked by %s=%s: kernels run their %s paths; roofline against the %s peak\n",
            KB_CPU_FEATURES_ENV, m->mask, path, path);
}

/* "under KBENCH_CPU_FEATURES=avx2 (avx2 fma avxvnni)", or "without a CPU feature mask". */
static void describe_cpu_mask(const struct run_cpu_mask *m, char *out, size_t len)
{
    if (*m->mask)
        snprintf(out, len, "under %s=%s (%s)", KB_CPU_FEATURES_ENV, m->mask, m->features);
    else
        snprintf(out, len, "without a CPU feature mask");
}

/* A resumed run keeps the features it started with: cases measured on two paths are not one run. */
static int check_resume_mask(struct store *st, int64_t run_id, const struct run_cpu_mask *here)
{
    struct run_cpu_mask there;
    store_get_run_cpu_mask(st, run_id, &there);
    if (strcmp(there.features, here->features) == 0)
        return 0;
    char was[160], now[160];
    describe_cpu_mask(&there, was, sizeof was);
    describe_cpu_mask(here, now, sizeof now);
    return cli_usage_error("run", "run %lld was measured %s, this process runs %s: resume it with the features "
                           "it started with", (long long)run_id, was, now);
}

/* --resume RUN: the same plan from the run's stored arguments, minus the cases it has. Options
 * that would change what the run measures are refused (the run keeps its own, so that its cases
 * stay comparable); --dry-run lists the cases still to run. */
static int resume(struct run_config *cfg, int argc, char **argv)
{
    const char *db_path = cli_db_path(cfg->db);
    struct store *st;
    int rc = cli_open_store("run", db_path, cfg->dry_run ? STORE_READ : STORE_WRITE, &st);
    if (rc != 0)
        return rc;
    struct plan plan = { 0 };
    char **args = NULL;
    int nargs = 0;
    struct result_row *rows = NULL;
    struct run_row run;
    int64_t run_id = store_resolve_run(st, cfg->resume);
    struct machine_info here, there;
    if (run_id < 0 || store_get_run(st, run_id, &run) != 0) {
        rc = cli_input_error("run", "%s", store_errmsg(st));
        goto out;
    }
    if (store_run_args(st, run_id, &nargs, &args) != 0) {
        rc = cli_input_error("run", "%s", store_errmsg(st));
        goto out;
    }
    /* the stored arguments, re-read as they were first given; this invocation's output options win */
    char *argv2[256];
    if (nargs > 254) {
        rc = cli_input_error("run", "run %lld has too many stored arguments", (long long)run_id);
        goto out;
    }
    argv2[0] = "run";
    for (int i = 0; i < nargs; i++)
        argv2[i + 1] = args[i];
    argv2[nargs + 1] = NULL;
    char changed[1024];
    changed_options(argc, argv, nargs + 1, argv2, changed, sizeof changed);
    if (*changed && nargs > 0) {
        rc = cli_usage_error("run", "run %lld was not planned with %s: --resume keeps the run's own options "
                             "(its command: %s); start a new run to change them", (long long)run_id, changed,
                             run.cmdline);
        goto out;
    }
    if (strcmp(run.status, "complete") == 0) {
        /* nothing left to do is not an error: a script may resume whatever it finds */
        fprintf(stderr, "run %lld is complete (%d of %d case%s stored): nothing to resume\n", (long long)run_id,
                run.cases, run.planned_cases, run.planned_cases == 1 ? "" : "s");
        rc = EXIT_OK;
        goto out;
    }
    if (store_run_resumable(st, run_id) != 0 || store_get_machine(st, run_id, &there) != 0) {
        rc = cli_input_error("run", "%s", store_errmsg(st));
        goto out;
    }
    machine_info_read(&here);
    if (strcmp(here.fingerprint, there.fingerprint) != 0) {
        rc = cli_input_error("run", "run %lld was measured on %s (machine %s), not this machine (%s): "
                             "resume it there", (long long)run_id, there.hostname, there.fingerprint,
                             here.fingerprint);
        goto out;
    }
    struct run_cpu_mask mask;
    read_cpu_mask(&mask);
    if ((rc = check_resume_mask(st, run_id, &mask)) != 0)
        goto out;
    struct run_config stored;
    memset(&stored, 0, sizeof stored);
    if ((rc = parse_args(nargs + 1, argv2, &stored)) != 0) {
        rc = rc < 0 ? EXIT_USAGE : rc;
        goto out;
    }
    stored.quiet = cfg->quiet;
    stored.no_show = cfg->no_show;
    if (!cfg->ro.isolate)
        stored.ro.isolate = 0;
    char suite_name[64] = "";
    if ((rc = build_plan(&stored, &plan, suite_name, sizeof suite_name)) != 0)
        goto out;
    long n_rows = report_load_results(st, run_id, &rows);
    if (n_rows < 0) {
        rc = cli_input_error("run", "%s", store_errmsg(st));
        goto out;
    }
    size_t kept = 0;
    for (size_t i = 0; i < plan.n; i++)
        if (!case_stored(&plan.cases[i], rows, n_rows))
            plan.cases[kept++] = plan.cases[i];
    plan.n = kept;
    if (cfg->dry_run) {
        print_plan(&plan);
        goto out;
    }
    /* reopened only now: a refused resume leaves the run as it was */
    store_free_argv(args);
    args = NULL;
    catch_stop_signals();
    if (store_run_reopen(st, run_id, &nargs, &args) != 0) {
        rc = cli_input_error("run", "%s", store_errmsg(st));
        goto out;
    }
    fprintf(stderr, "run %lld: %ld case%s stored, %zu to go, into %s\n", (long long)run_id, n_rows,
            n_rows == 1 ? "" : "s", kept, db_path);
    say_cpu_mask(&mask);
    rc = execute(st, run_id, &plan, &stored);
out:
    free(rows);
    store_free_argv(args);
    plan_free(&plan);
    store_close(st);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    return cmd_run_into(argc, argv, NULL);
}

int cmd_run_into(int argc, char **argv, int64_t *run_id_out)
{
    struct run_config cfg;
    memset(&cfg, 0, sizeof cfg);
    int rc = parse_args(argc, argv, &cfg);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    if (cfg.resume)
        return resume(&cfg, argc, argv);
    char err[512];
    if (cfg.counters && counters_validate(cfg.counters, err, sizeof err) != 0)
        return cli_usage_error("run", "bad --counters: %s", err);

    struct plan plan = { 0 };
    char suite_name[64] = "";
    if ((rc = build_plan(&cfg, &plan, suite_name, sizeof suite_name)) != 0 || (rc = check_metrics(&cfg, &plan)) != 0)
        goto out_plan;
    /* a dry run refuses what the run would refuse, so it plans exactly what the run would */
    if (plan.n == 0) {
        rc = cli_input_error("run", "the sweep has no cases (no kernel supports the chosen dtypes and devices%s)",
                             cfg.shard_n > 1 ? ", or this shard is empty" : "");
        goto out_plan;
    }
    if (cfg.dry_run) {
        print_plan(&plan);
        goto out_plan;
    }

    const char *db_path = cli_db_path(cfg.db);
    struct store *st;
    if ((rc = cli_open_store("run", db_path, STORE_WRITE, &st)) != 0)
        goto out_plan;
    struct machine_info mi;
    machine_info_read(&mi);
    char cmdline[1024];
    join_cmdline(argc - 1, argv + 1, cmdline, sizeof cmdline);
    struct run_cpu_mask mask;
    read_cpu_mask(&mask);
    struct run_info ri = { .cmdline = cmdline, .suite = *suite_name ? suite_name : NULL, .tag = cfg.tag,
                           .kbench_version = mi.kbench_version, .compiler = mi.compiler,
                           .git_commit = mi.git_commit, .build_flags = mi.build_flags, .cpu_mask = &mask,
                           .planned_cases = (int)plan.n, .papi_version = mi.papi_version,
                           .argc = argc - 1, .argv = argv + 1 };
    catch_stop_signals();
    int64_t machine_id = store_machine_upsert(st, &mi);
    int64_t run_id = machine_id > 0 ? store_run_begin(st, machine_id, &ri) : -1;
    if (run_id <= 0) {
        rc = cli_input_error("run", "%s", store_errmsg(st));
        goto out_store;
    }
    fprintf(stderr, "run %lld (%s): %zu case%s into %s\n", (long long)run_id, ri.uuid, plan.n,
            plan.n == 1 ? "" : "s", db_path);
    say_cpu_mask(&mask);
    if (run_id_out)
        *run_id_out = run_id;
    rc = execute(st, run_id, &plan, &cfg);
out_store:
    store_close(st);
out_plan:
    plan_free(&plan);
    return rc;
}
