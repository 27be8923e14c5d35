/* sweep.c - plan, store, measure, store, finish; or resume (sweep.h). */
#include "harness/sweep.h"
#include "harness/plugin.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/cpu.h"
#include "harness/cupti_metrics.h"
#include "harness/gpu.h"
#include "harness/machine.h"
#include "harness/runner_checks.h"
#include "kernels/cpu_features.h"

#define SWEEP_MAX_GROUPS 64

void sweep_request_init(struct sweep_request *req)
{
    memset(req, 0, sizeof *req);
    runner_options_default(&req->ro);
}

void sweep_case_label(const struct plan_case *c, char *buf, size_t len)
{
    char shape[96];
    plan_shape_string(&c->shape, shape, sizeof shape);
    snprintf(buf, len, "%s@%s %s %s %s t=%d%s", c->kernel->name, c->kernel->impl, c->device,
             kb_dtype_name(c->dtype), shape, c->threads, c->cold_cache ? " cold" : "");
}

__attribute__((format(printf, 3, 4)))
static int fail(struct sweep_result *res, enum sweep_error_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
    res->error_kind = kind;
    return -1;
}

/* A GPU named in the sweep must exist here: better a clear refusal now than a sweep of failures.
 * A sweep that spans GPUs (--span) is the exception: its cases say, one by one, how many GPUs
 * they need and are stored skipped where this machine has fewer (the runner checks), so a
 * suite written for an 8-GPU node still runs, and records, everything else. Span counts GPUs:
 * on the CPU it is the user's error. */
static int check_devices(const struct plan_spec *specs, int n, struct sweep_result *res)
{
    int gpus = -2;
    char why[256] = "";
    for (int g = 0; g < n; g++)
        for (int d = 0; d < specs[g].n_devices; d++) {
            const char *dev = specs[g].devices[d];
            int spans = specs[g].axis[KB_AXIS_SPAN].n > 0;
            if (spans && strncmp(dev, "cuda:", 5) != 0)
                return fail(res, SWEEP_ERR_USAGE, "span counts GPUs per case: device %s cannot span; "
                            "use --devices cuda:N%s%s%s", dev, *specs[g].group ? " (suite group [" : "",
                            specs[g].group, *specs[g].group ? "])" : "");
            if (strncmp(dev, "cuda:", 5) != 0 || spans)
                continue;
            if (gpus == -2)
                gpus = gpu_count(why, sizeof why);
            if (gpus < 0)
                return fail(res, SWEEP_ERR_INPUT, "device %s is not available: %s", dev, why);
            if (atoi(dev + 5) >= gpus)
                return fail(res, SWEEP_ERR_INPUT, "device %s is not available: this machine has %d CUDA device%s",
                            dev, gpus, gpus == 1 ? "" : "s");
        }
    return 0;
}

/* CUPTI metric names are checked against the first GPU of the plan before anything runs. */
static int check_metrics(const struct runner_options *ro, const struct plan *plan, struct sweep_result *res)
{
    const char *csv = ro->cupti_metrics;
    if (!csv || !*csv)
        return 0;
    for (size_t i = 0; i < plan->n; i++) {
        if (strncmp(plan->cases[i].device, "cuda:", 5) != 0)
            continue;
        char err[768];
        if (cupti_metrics_validate(csv, atoi(plan->cases[i].device + 5), err, sizeof err) != 0)
            return fail(res, SWEEP_ERR_USAGE, "%s", err);
        return 0;
    }
    return 0;
}

/* The request's groups: its suite's (from a file or from text), or one of the defaults. */
static int load_groups(const struct sweep_request *req, struct plan_spec *specs, struct sweep_result *res)
{
    struct plan_spec base;
    plan_spec_default(&base);
    char err[768];
    int n;
    if (req->suite_text) {
        FILE *f = fmemopen((void *)req->suite_text, strlen(req->suite_text), "r");
        if (!f)
            return fail(res, SWEEP_ERR_INPUT, "cannot read the suite text: %s", strerror(errno));
        const char *label = req->suite_label ? req->suite_label : "suite";
        n = plan_suite_parse(f, label, &base, specs, SWEEP_MAX_GROUPS, res->suite_name, sizeof res->suite_name,
                             err, sizeof err);
        fclose(f);
        if (n < 0)
            return fail(res, SWEEP_ERR_INPUT, "%s", err);
        if (!*res->suite_name)
            snprintf(res->suite_name, sizeof res->suite_name, "%s", label);
    } else if (req->suite) {
        char path[1024];
        if (plan_suite_find(req->suite, path, sizeof path) != 0)
            return fail(res, SWEEP_ERR_INPUT, "no suite '%s' (looked for it as a file, in $KBENCH_SUITES, "
                        "datasets/suites/ and the installed suites)", req->suite);
        n = plan_suite_load(path, &base, specs, SWEEP_MAX_GROUPS, res->suite_name, sizeof res->suite_name, err,
                            sizeof err);
        if (n < 0)
            return fail(res, SWEEP_ERR_INPUT, "%s", err);
        if (!*res->suite_name)
            snprintf(res->suite_name, sizeof res->suite_name, "%s", req->suite);
    } else {
        specs[0] = base;
        n = 1;
    }
    return n;
}

int sweep_plan(const struct sweep_request *req, struct plan *plan, struct sweep_result *res)
{
    static struct plan_spec specs[SWEEP_MAX_GROUPS];
    int n = load_groups(req, specs, res);
    if (n < 0)
        return -1;
    char err[768];
    for (int g = 0; g < n; g++)
        for (int a = 0; a < req->n_axes; a++)
            if (plan_spec_set(&specs[g], req->axes[a].key, req->axes[a].value, err, sizeof err) != 0)
                return fail(res, SWEEP_ERR_USAGE, "%s", err);
    if (check_devices(specs, n, res) != 0)
        return -1;
    if (plan_build(specs, n, plan, err, sizeof err) != 0)
        return fail(res, SWEEP_ERR_USAGE, "%s", err);
    if (req->shard_n > 1)
        plan_shard(plan, req->shard_i, req->shard_n);
    if (req->resume_run_id > 0)
        return 0; /* the run's own plan, checked when it began */
    if (check_metrics(&req->ro, plan, res) != 0)
        return -1;
    /* a dry run refuses what the run would refuse, so it plans exactly what the run would */
    if (plan->n == 0)
        return fail(res, SWEEP_ERR_INPUT, "the sweep has no cases (no kernel supports the chosen dtypes and "
                    "devices%s)", req->shard_n > 1 ? ", or this shard is empty" : "");
    return 0;
}

/* ---- events ---- */

static int emit(const struct sweep_request *req, struct sweep_event ev)
{
    return req->on_event ? req->on_event(&ev, req->ctx) : 0;
}

struct warn_ctx {
    const struct sweep_request *req;
    int64_t run_id;
};

static void warn_event(void *ctx, const char *line)
{
    struct warn_ctx *w = ctx;
    emit(w->req, (struct sweep_event){ .kind = SWEEP_EV_WARNING, .run_id = w->run_id, .text = line });
}

/* Before the first case: what would make every case's numbers less trustworthy. */
static void warn_before_run(const struct sweep_request *req, int64_t run_id, const struct plan *plan)
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
    int others = store_live_runs(req->store, host, run_id, pids, 8);
    struct warn_ctx w = { req, run_id };
    runner_warn_run(max_threads, others > 0 ? others : 0, pids, warn_event, &w);
}

/* ---- measuring ---- */

static int add_outcome(struct sweep_result *res, const struct plan_case *pc, const struct case_record *rec,
                       int64_t case_id)
{
    struct sweep_outcome *v = realloc(res->cases, (res->n_cases + 1) * sizeof *v);
    if (!v)
        return -1;
    res->cases = v;
    struct sweep_outcome *o = &v[res->n_cases++];
    memset(o, 0, sizeof *o);
    o->pc = *pc;
    o->status = rec->status;
    snprintf(o->error, sizeof o->error, "%s", rec->error);
    o->case_id = case_id;
    o->stats = rec->stats;
    if (rec->status == CASE_OK)
        res->n_ok++;
    else if (rec->status == CASE_SKIPPED)
        res->n_skipped++;
    else
        res->n_failed++;
    return 0;
}

/* Another writer may hold the database for a while (a long transaction, a backup): wait for it,
 * saying so, rather than drop a measured case. Returns the case id or -1. */
static int64_t store_case_waiting(const struct sweep_request *req, int64_t run_id, const struct case_record *rec)
{
    int64_t stored;
    for (int tries = 1; (stored = store_case_insert(req->store, run_id, rec)) < 0 && store_busy(req->store) &&
                        tries < 30 && !runner_stop_requested(); tries++) {
        char text[768];
        snprintf(text, sizeof text, "%s; waiting for the lock (%d s so far)", store_errmsg(req->store), tries * 10);
        emit(req, (struct sweep_event){ .kind = SWEEP_EV_WAIT, .run_id = run_id, .text = text });
    }
    return stored;
}

static void harness_failed(const struct sweep_request *req, struct sweep_result *res, const char *why)
{
    snprintf(res->error, sizeof res->error, "%s", why);
    res->error_kind = SWEEP_ERR_INPUT;
    res->store_failed = 1;
    emit(req, (struct sweep_event){ .kind = SWEEP_EV_ERROR, .run_id = res->run_id, .text = res->error });
}

/* Measures every case of plan into the run, one transaction each, and finishes the run. */
static void execute(const struct sweep_request *req, const struct plan *plan, struct sweep_result *res)
{
    int64_t run_id = res->run_id;
    warn_before_run(req, run_id, plan);
    emit(req, (struct sweep_event){ .kind = SWEEP_EV_CASES, .run_id = run_id, .total = plan->n });
    int stop = 0;
    size_t i;
    for (i = 0; i < plan->n && !stop && !runner_stop_requested(); i++) {
        const struct plan_case *pc = &plan->cases[i];
        struct case_record rec;
        char label[256];
        sweep_case_label(pc, label, sizeof label); /* one label before and after: rec keeps pc's identity */
        struct sweep_event ev = { .kind = SWEEP_EV_CASE_START, .run_id = run_id, .index = i, .total = plan->n,
                                  .pc = pc, .label = label };
        emit(req, ev);
        if (runner_run_case(pc, &req->ro, &rec) != 0) {
            char why[300];
            snprintf(why, sizeof why, "cannot start a case process: %s", strerror(errno));
            harness_failed(req, res, why);
            break;
        }
        if (rec.status == CASE_INTERRUPTED) {
            case_record_release(&rec);
            break; /* a case cut short is not a result: it is not stored */
        }
        int64_t case_id = store_case_waiting(req, run_id, &rec);
        if (case_id < 0) {
            harness_failed(req, res, store_errmsg(req->store));
            case_record_release(&rec);
            break;
        }
        if (add_outcome(res, pc, &rec, case_id) != 0) {
            harness_failed(req, res, "out of memory");
            case_record_release(&rec);
            break;
        }
        struct warn_ctx w = { req, run_id };
        runner_warn_case(label, &rec, warn_event, &w);
        ev.kind = SWEEP_EV_CASE_DONE;
        ev.rec = &rec;
        stop = emit(req, ev) != 0;
        case_record_release(&rec);
    }
    runner_close_workers(); /* the warm GPU case processes end with the sweep */
    emit(req, (struct sweep_event){ .kind = SWEEP_EV_END, .run_id = run_id, .total = plan->n });
    res->interrupted = runner_stop_requested() || (stop && i < plan->n);
    res->run_status = res->store_failed ? "failed" : res->interrupted ? "interrupted" : "complete";
    if (store_run_finish(req->store, run_id, res->run_status) != 0)
        emit(req, (struct sweep_event){ .kind = SWEEP_EV_ERROR, .run_id = run_id, .text = store_errmsg(req->store) });
}

/* ---- the CPU feature mask (KBENCH_CPU_FEATURES) ---- */

/* The mask in effect, as a run records it (schema v11): mask "" when it hides nothing this CPU
 * has, so the run is measured against the machine's own peak. */
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
static void say_cpu_mask(const struct sweep_request *req, int64_t run_id, const struct run_cpu_mask *m)
{
    if (!*m->mask)
        return;
    const char *path = kb_cpu_has(KB_CPU_AVX512F | KB_CPU_FMA) ? "avx512"
                       : kb_cpu_has(KB_CPU_AVX2 | KB_CPU_FMA) ? "avx2" : "scalar";
    char text[256];
    snprintf(text, sizeof text, "CPU features masked by %s=%s: kernels run their %s paths; roofline against the %s peak",
             KB_CPU_FEATURES_ENV, m->mask, path, path);
    emit(req, (struct sweep_event){ .kind = SWEEP_EV_WARNING, .run_id = run_id, .text = text });
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
static int check_resume_mask(struct store *st, int64_t run_id, const struct run_cpu_mask *here, struct sweep_result *res)
{
    struct run_cpu_mask there;
    store_get_run_cpu_mask(st, run_id, &there);
    if (strcmp(there.features, here->features) == 0)
        return 0;
    char was[160], now[160];
    describe_cpu_mask(&there, was, sizeof was);
    describe_cpu_mask(here, now, sizeof now);
    return fail(res, SWEEP_ERR_USAGE, "run %lld was measured %s, this process runs %s: resume it with the features "
                "it started with", (long long)run_id, was, now);
}

/* ---- a new run ---- */

static int begin_run(const struct sweep_request *req, const struct plan *plan, const struct run_cpu_mask *mask,
                     struct sweep_result *res)
{
    struct machine_info mi;
    machine_info_read(&mi);
    struct run_info ri = { .cmdline = req->cmdline, .suite = *res->suite_name ? res->suite_name : NULL,
                           .tag = req->tag, .kbench_version = mi.kbench_version, .compiler = mi.compiler,
                           .git_commit = mi.git_commit, .build_flags = mi.build_flags, .cpu_mask = mask,
                           .planned_cases = (int)plan->n, .papi_version = mi.papi_version,
                           .argc = req->argc, .argv = req->argv, .no_resume = req->no_resume };
    /* the plugins loaded in this process, stored with the run (provenance: path and sha256) */
    size_t np = plugin_count();
    struct run_plugin *plugins = np ? calloc(np, sizeof *plugins) : NULL;
    if (np && !plugins)
        return fail(res, SWEEP_ERR_INPUT, "out of memory");
    for (size_t i = 0; i < np; i++) {
        const struct plugin_info *p = plugin_get(i);
        snprintf(plugins[i].path, sizeof plugins[i].path, "%s", p->path);
        memcpy(plugins[i].sha256, p->sha256, sizeof plugins[i].sha256);
        plugins[i].kernels = p->kernels;
    }
    ri.plugins = plugins;
    ri.n_plugins = (int)np;
    int64_t machine_id = store_machine_upsert(req->store, &mi);
    int64_t run_id = machine_id > 0 ? store_run_begin(req->store, machine_id, &ri) : -1;
    free(plugins);
    if (run_id <= 0)
        return fail(res, SWEEP_ERR_INPUT, "%s", store_errmsg(req->store));
    res->run_id = run_id;
    memcpy(res->uuid, ri.uuid, sizeof res->uuid);
    return 0;
}

/* ---- resuming ---- */

struct stored_cases {
    struct result_row *v;
    long n, cap;
};

static int collect_row(const struct result_row *r, void *ctx)
{
    struct stored_cases *s = ctx;
    if (s->n == s->cap) {
        long cap = s->cap ? s->cap * 2 : 64;
        struct result_row *v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v)
            return 1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = *r;
    return 0;
}

/* 1 when the run already stored this case (the same identity the planner de-duplicates on). */
static int case_stored(const struct plan_case *c, const struct stored_cases *s)
{
    for (long i = 0; i < s->n; i++) {
        const struct result_row *r = &s->v[i];
        if (strcmp(r->kernel, c->kernel->name) == 0 && strcmp(r->impl, c->kernel->impl) == 0 &&
            strcmp(r->device, c->device) == 0 && strcmp(r->dtype, kb_dtype_name(c->dtype)) == 0 &&
            memcmp(&r->shape, &c->shape, sizeof r->shape) == 0 && r->threads == c->threads &&
            r->cold_cache == c->cold_cache)
            return 1;
    }
    return 0;
}

/* The run can be resumed here: it exists, is not complete (else already_complete), has its
 * arguments, and was measured on this machine. */
static int check_resumable(const struct sweep_request *req, const struct run_cpu_mask *mask, struct sweep_result *res)
{
    struct run_row run;
    struct machine_info here, there;
    int64_t id = req->resume_run_id;
    if (store_get_run(req->store, id, &run) != 0)
        return fail(res, SWEEP_ERR_INPUT, "%s", store_errmsg(req->store));
    if (strcmp(run.status, "complete") == 0) {
        res->already_complete = 1;
        res->run_id = id;
        memcpy(res->uuid, run.uuid, sizeof res->uuid);
        return 0;
    }
    if (store_run_resumable(req->store, id) != 0 || store_get_machine(req->store, id, &there) != 0)
        return fail(res, SWEEP_ERR_INPUT, "%s", store_errmsg(req->store));
    machine_info_read(&here);
    if (strcmp(here.fingerprint, there.fingerprint) != 0)
        return fail(res, SWEEP_ERR_INPUT, "run %lld was measured on %s (machine %s), not this machine (%s): "
                    "resume it there", (long long)id, there.hostname, there.fingerprint, here.fingerprint);
    if (check_resume_mask(req->store, id, mask, res) != 0)
        return -1;
    memcpy(res->uuid, run.uuid, sizeof res->uuid);
    return 0;
}

/* Keeps in plan only the cases the run has not stored; returns how many it had, or -1. */
static long drop_stored(const struct sweep_request *req, struct plan *plan, struct sweep_result *res)
{
    struct stored_cases s = { 0 };
    if (store_list_results(req->store, req->resume_run_id, collect_row, &s) != 0) {
        free(s.v);
        return fail(res, SWEEP_ERR_INPUT, "%s", store_errmsg(req->store));
    }
    size_t kept = 0;
    for (size_t i = 0; i < plan->n; i++)
        if (!case_stored(&plan->cases[i], &s))
            plan->cases[kept++] = plan->cases[i];
    plan->n = kept;
    free(s.v);
    return s.n;
}

/* ---- the call ---- */

static int copy_plan(const struct plan *from, struct plan *to)
{
    memset(to, 0, sizeof *to);
    if (from->n == 0)
        return 0;
    to->cases = malloc(from->n * sizeof *to->cases);
    if (!to->cases)
        return -1;
    memcpy(to->cases, from->cases, from->n * sizeof *to->cases);
    to->n = to->cap = from->n;
    return 0;
}

int sweep_run(const struct sweep_request *req, struct sweep_result *res)
{
    memset(res, 0, sizeof *res);
    res->stored_before = -1;
    struct plan plan = { 0 };
    if (!req->store && (req->resume_run_id > 0 || !req->plan_only))
        return fail(res, SWEEP_ERR_INPUT, "no database to store the sweep in");
    struct run_cpu_mask mask;
    read_cpu_mask(&mask);
    /* a resume is checked before it is planned: a run that cannot be resumed is not worth it */
    if (req->resume_run_id > 0) {
        if (check_resumable(req, &mask, res) != 0)
            return -1;
        if (res->already_complete)
            return 0;
    }
    if (req->plan) {
        if (copy_plan(req->plan, &plan) != 0)
            return fail(res, SWEEP_ERR_INPUT, "out of memory");
        if (req->plan_suite)
            snprintf(res->suite_name, sizeof res->suite_name, "%s", req->plan_suite);
    } else if (sweep_plan(req, &plan, res) != 0) {
        plan_free(&plan);
        return -1;
    }
    if (req->resume_run_id > 0) {
        res->stored_before = drop_stored(req, &plan, res);
        if (res->stored_before < 0) {
            plan_free(&plan);
            return -1;
        }
    }
    res->planned = plan.n;
    if (req->plan_only) {
        res->plan = plan;
        return 0;
    }
    if (req->resume_run_id > 0) {
        /* reopened only now: a refused resume leaves the run as it was */
        int argc;
        char **argv;
        if (store_run_reopen(req->store, req->resume_run_id, &argc, &argv) != 0) {
            plan_free(&plan);
            return fail(res, SWEEP_ERR_INPUT, "%s", store_errmsg(req->store));
        }
        store_free_argv(argv);
        res->run_id = req->resume_run_id;
    } else if (begin_run(req, &plan, &mask, res) != 0) {
        plan_free(&plan);
        return -1;
    }
    emit(req, (struct sweep_event){ .kind = SWEEP_EV_BEGIN, .run_id = res->run_id, .uuid = res->uuid,
                                    .total = plan.n, .stored = res->stored_before });
    say_cpu_mask(req, res->run_id, &mask);
    execute(req, &plan, res);
    plan_free(&plan);
    return 0;
}

void sweep_result_free(struct sweep_result *res)
{
    free(res->cases);
    res->cases = NULL;
    res->n_cases = 0;
    plan_free(&res->plan);
}
