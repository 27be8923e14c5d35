/* cmd_run.c - `kbench run`: its options become a sweep request (harness/sweep.h), which plans the
 * sweep, measures every case in isolation and stores each as it finishes; this prints the results. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "bench/cli.h"
#include "harness/machine.h"
#include "harness/plugin.h"
#include "harness/sweep.h"
#include "reports/reports.h"

enum {
    OPT_SUITE = 256, OPT_KERNELS, OPT_DEVICES, OPT_DTYPE, OPT_PRESET, OPT_THREADS, OPT_CACHE, OPT_NOISE, OPT_MAX_TIME, OPT_MIN_TIME,
    OPT_MIN_SAMPLES, OPT_MAX_SAMPLES, OPT_WARMUP, OPT_MIN_SAMPLE_TIME, OPT_TIMEOUT, OPT_SETUP_TIMEOUT, OPT_COUNTERS,
    OPT_NO_COUNTERS, OPT_DB, OPT_TAG, OPT_SHARD, OPT_DUMP, OPT_DRY_RUN, OPT_QUIET, OPT_NO_SHOW,
    OPT_NO_ISOLATE, OPT_PROCESS, OPT_RESUME, OPT_PLUGIN,
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
      "f32, f64, f16, bf16, i8, i4, e4m3, e5m2, mxfp4, nvfp4 (default: f32, or the kernel's own dtype where it has "
      "no f32: bf16 on tensor cores, i8)", "f32 f64 f16 bf16 i8 i4 e4m3 e5m2 mxfp4 nvfp4", 0 },
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
    { "setup-timeout", 0, OPT_SETUP_TIMEOUT, "S", CLI_TEXT,
      "give setup and verification (the first call, where a JIT compiles) S seconds before --timeout starts "
      "(0, the default: inside --timeout for C kernels, 300 s for Python implementations)", NULL, 0 },
    { "counters", 0, OPT_COUNTERS, "LIST", CLI_TEXT,
      "PAPI events to count (presets or native names; default set otherwise)", NULL, 0 },
    { "no-counters", 0, OPT_NO_COUNTERS, NULL, CLI_TEXT,
      "skip the PAPI pass (GPU cases: the NVML energy pass, the CUPTI trace and metrics)", NULL, 0 },
    { "metrics", 0, OPT_METRICS, "LIST", CLI_TEXT,
      "CUPTI metrics of GPU cases, collected in a replayed pass of their own (default: DRAM bytes, "
      "SM/memory throughput, occupancy, tensor pipe, L2 hits)", NULL, 0 },
    { "no-metrics", 0, OPT_NO_METRICS, NULL, CLI_TEXT, "skip the GPU metrics pass", NULL, 0 },
    CLI_HEADING("other"),
    { "plugin", 0, OPT_PLUGIN, "PATH", CLI_FILE,
      "load kernels from a shared object built against <kbench/kbench.h> (repeatable; also every *.so in the "
      "folders of $KBENCH_PLUGIN_PATH); its path and sha256 are stored with the run (docs/plugins.md)", NULL, 0 },
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
    { "process", 0, OPT_PROCESS, "MODE", CLI_CHOICE,
      "fresh: a new process for every case; warm: cases share a process that a case which fails, "
      "hangs, crashes or keeps device memory takes down with it; auto (default): warm for GPU "
      "cases (a CUDA context and a Python peer's imports cost seconds), fresh for CPU ones",
      "auto fresh warm", 0 },
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

void cli_run_cmdline(int argc, char **argv, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "kbench run");
    for (int i = 0; i < argc && used < len; i++)
        used = append_shell_word(buf, len, used, argv[i]);
}

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

/* One option of run (its id from the option table) into cfg: 0, or EXIT_USAGE after saying why. */
static int run_option(int opt, const char *optarg, struct cli_run_args *cfg)
{
    double d;
    long l;
    if (axis_key(opt)) {
        if (cfg->n_axes == CLI_RUN_MAX_AXES)
            return cli_usage_error("run", "too many axis options");
        cfg->axes[cfg->n_axes++] = (struct sweep_axis){ axis_key(opt), optarg };
        return 0;
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
    case OPT_PROCESS:
        if (strcmp(optarg, "fresh") == 0)
            cfg->ro.reuse_process = RUNNER_PROCESS_FRESH;
        else if (strcmp(optarg, "auto") == 0)
            cfg->ro.reuse_process = RUNNER_PROCESS_AUTO;
        else if (strcmp(optarg, "warm") == 0)
            cfg->ro.reuse_process = RUNNER_PROCESS_WARM;
        else
            return cli_usage_error("run", "bad --process '%s': fresh, warm or auto", optarg);
        break;
    case OPT_RESUME: cfg->resume = optarg; break;
    case OPT_PLUGIN: {
        /* loaded as soon as it is named, before planning: its kernels must be in the registry
         * for --kernels to match them, and before any case is forked */
        char err[1536];
        if (plugin_load(optarg, err, sizeof err) != 0)
            return cli_input_error("run", "%s", err);
        break;
    }
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
    case OPT:                                                                                          \
        if (cli_parse_double(optarg, LO, HI, &d) != 0)                                                 \
            return number_error(NAME, optarg, LO, HI, 0);                                              \
        cfg->ro.FIELD = d;                                                                             \
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
    DOUBLE_OPT(OPT_SETUP_TIMEOUT, setup_timeout_s, 0, 86400, "setup-timeout")
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
    }
    return 0;
}

void cli_run_args_init(struct cli_run_args *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    runner_options_default(&cfg->ro);
}

int cli_run_option(const char *name, const char *value, struct cli_run_args *cfg)
{
    for (const struct cli_option *o = cli_cmd_run.options; o->name || o->help || o->flags; o++)
        if (o->name && strcmp(o->name, name) == 0)
            return run_option(o->id, value, cfg);
    return cli_usage_error("run", "no option --%s", name);
}

int cli_load_plugin_path(const char *cmd)
{
    char err[1536];
    if (plugin_load_path_env(err, sizeof err) != 0)
        return cli_input_error(cmd, "%s", err);
    return 0;
}

int cli_run_parse(int argc, char **argv, struct cli_run_args *cfg)
{
    cli_run_args_init(cfg);
    int env_rc = cli_load_plugin_path("run");
    if (env_rc != 0)
        return env_rc;
    struct cli_parser p;
    cli_parser_init(&p, &cli_cmd_run, argc, argv);
    int opt, rc;
    while ((opt = cli_next(&p)) != CLI_DONE) {
        if (opt == CLI_STOP)
            return p.status == EXIT_OK ? -1 : p.status;
        if ((rc = run_option(opt, p.arg, cfg)) != 0)
            return rc;
    }
    return cli_run_check(cfg);
}

int cli_run_check(struct cli_run_args *cfg)
{
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
           code == OPT_DRY_RUN || code == OPT_NO_ISOLATE ||
           code == OPT_PROCESS;
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

void cli_run_request(const struct cli_run_args *a, struct sweep_request *req)
{
    req->suite = a->suite ? a->suite : a->n_axes == 0 ? "quick" : NULL;
    req->axes = a->axes;
    req->n_axes = a->n_axes;
    req->shard_i = a->shard_i;
    req->shard_n = a->shard_n;
    req->tag = a->tag;
    req->ro = a->ro;
}

static void print_plan(const struct plan *plan)
{
    for (size_t i = 0; i < plan->n; i++) {
        char label[256];
        sweep_case_label(&plan->cases[i], label, sizeof label);
        printf("%4zu  %s\n", i + 1, label);
    }
    printf("%zu case%s\n", plan->n, plan->n == 1 ? "" : "s");
}

/* A sweep that could not start, said as run says it: a request error with the hint to --help. */
static int sweep_error(const char *cmd, const struct sweep_result *res)
{
    if (res->error_kind == SWEEP_ERR_USAGE)
        return cli_usage_error(cmd, "%s", res->error);
    return cli_input_error(cmd, "%s", res->error);
}

/* Runs the request into the open store and prints what the sweep came to; the exit status. The
 * result goes to *out when given (the caller frees it). */
static int measure(struct sweep_request *req, const struct cli_run_args *a, const char *cmd, const char *db_path,
                   struct sweep_result *out)
{
    struct cli_sweep_printer printer = { .cmd = cmd, .db_path = db_path, .quiet = a->quiet };
    req->on_event = cli_sweep_event;
    req->ctx = &printer;
    struct sweep_result res;
    int rc;
    if (sweep_run(req, &res) != 0) {
        rc = sweep_error(cmd, &res);
    } else {
        if (!a->no_show && !res.store_failed)
            report_results_table(stdout, req->store, res.run_id);
        if (res.interrupted)
            fprintf(stderr, "interrupted: run %lld marked interrupted; finished cases are stored "
                    "(kbench run --resume %lld finishes it)\n", (long long)res.run_id, (long long)res.run_id);
        rc = res.store_failed ? EXIT_USAGE : res.interrupted ? cli_stop_status() : res.n_failed ? EXIT_FAILED : EXIT_OK;
    }
    if (out)
        *out = res;
    else
        sweep_result_free(&res);
    return rc;
}

/* --resume RUN: the same plan from the run's stored arguments, minus the cases it has. Options
 * that would change what the run measures are refused (the run keeps its own, so that its cases
 * stay comparable); --dry-run lists the cases still to run. */
static int resume(struct cli_run_args *cfg, int argc, char **argv)
{
    const char *db_path = cli_db_path(cfg->db);
    struct store *st;
    int rc = cli_open_store("run", db_path, cfg->dry_run ? STORE_READ : STORE_WRITE, &st);
    if (rc != 0)
        return rc;
    char **args = NULL;
    int nargs = 0;
    struct run_row run;
    int64_t run_id = store_resolve_run(st, cfg->resume);
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
    struct cli_run_args stored;
    if ((rc = cli_run_parse(nargs + 1, argv2, &stored)) != 0) {
        rc = rc < 0 ? EXIT_USAGE : rc;
        goto out;
    }
    stored.quiet = cfg->quiet;
    stored.no_show = cfg->no_show;
    if (!cfg->ro.isolate)
        stored.ro.isolate = 0;
    stored.ro.reuse_process = cfg->ro.reuse_process;
    struct sweep_request req;
    sweep_request_init(&req);
    cli_run_request(&stored, &req);
    req.store = st;
    req.resume_run_id = run_id;
    if (cfg->dry_run) {
        struct sweep_result res;
        req.plan_only = 1;
        if (sweep_run(&req, &res) != 0)
            rc = sweep_error("run", &res);
        else
            print_plan(&res.plan);
        sweep_result_free(&res);
        goto out;
    }
    cli_catch_stop_signals();
    rc = measure(&req, &stored, "run", db_path, NULL);
out:
    store_free_argv(args);
    store_close(st);
    return rc;
}

int cli_run_sweep(const struct cli_run_args *cfg, int argc, char **argv, const char *cmd, struct sweep_result *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    char err[512];
    if (cfg->counters && counters_validate(cfg->counters, err, sizeof err) != 0)
        return cli_usage_error(cmd, "bad --counters: %s", err);
    /* planned before the database is opened: a sweep that cannot be planned creates no file */
    struct sweep_request req;
    sweep_request_init(&req);
    cli_run_request(cfg, &req);
    struct plan plan = { 0 };
    struct sweep_result planned;
    memset(&planned, 0, sizeof planned);
    int rc = 0;
    if (sweep_plan(&req, &plan, &planned) != 0) {
        rc = sweep_error(cmd, &planned);
        goto out_plan;
    }
    if (cfg->dry_run) {
        print_plan(&plan);
        goto out_plan;
    }
    const char *db_path = cli_db_path(cfg->db);
    struct store *st;
    if ((rc = cli_open_store(cmd, db_path, STORE_WRITE, &st)) != 0)
        goto out_plan;
    char cmdline[1024];
    cli_run_cmdline(argc, argv, cmdline, sizeof cmdline);
    req.plan = &plan;
    req.plan_suite = *planned.suite_name ? planned.suite_name : NULL;
    req.store = st;
    req.cmdline = cmdline;
    req.argc = argc;
    req.argv = argv;
    cli_catch_stop_signals();
    rc = measure(&req, cfg, cmd, db_path, out);
    store_close(st);
out_plan:
    plan_free(&plan);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    struct cli_run_args cfg;
    int rc = cli_run_parse(argc, argv, &cfg);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    if (cfg.resume)
        return resume(&cfg, argc, argv);
    return cli_run_sweep(&cfg, argc - 1, argv + 1, "run", NULL);
}
