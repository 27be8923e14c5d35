/* runner.c - one case, isolated: fork a child that measures, read its result through a pipe,
 * enforce the time limit, and turn a death or a hang into the case's status. */
#include "harness/runner.h"
#include "harness/runner_child.h"
#include "harness/gpu.h"
#include "harness/python_plugin.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

static volatile sig_atomic_t stop_requested;

void runner_request_stop(void) { stop_requested = 1; }
int runner_stop_requested(void) { return stop_requested != 0; }

void runner_options_default(struct runner_options *o)
{
    memset(o, 0, sizeof *o);
    o->noise_target = 0.01;
    o->min_time_s = 0.02;
    o->max_time_s = 1.0;
    o->min_samples = 10;
    o->max_samples = 100000;
    o->min_sample_s = 20e-6;
    o->warmup_s = 0.01;
    o->timeout_s = 60.0;
    o->setup_timeout_s = 0;
    o->ready_fd = -1;
    o->papi_events = NULL;
    o->dump_dir = NULL;
    o->isolate = 1;
    o->reuse_process = RUNNER_PROCESS_AUTO;
    o->min_samples_cap_s = 10.0;
    o->throttle_fraction = 0.75;
    o->include_throttled = 0;
}

double runner_setup_allowance(const struct plan_case *pc, const struct runner_options *o)
{
    if (o->setup_timeout_s > 0)
        return o->setup_timeout_s;
    return python_plugin_owns(pc->kernel) ? RUNNER_PYTHON_SETUP_S : 0;
}

/* MemAvailable from /proc/meminfo, in bytes; -1 when unknown. */
/* CUDA devices visible here (0 when none or without CUDA), asked once per process. */
static int runner_gpu_count(void)
{
    static int known = -1;
    if (known < 0) {
        char why[256];
        int n = gpu_count(why, sizeof why);
        known = n > 0 ? n : 0;
    }
    return known;
}

static double available_memory(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return -1;
    char line[256];
    double kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024.0;
}

static void fill_from_child(struct case_record *rec, const struct child_result *res, struct sample_series *samples)
{
    rec->status = (enum case_status)res->status;
    snprintf(rec->error, sizeof rec->error, "%s", res->error);
    rec->verified = res->verified;
    rec->accuracy = res->accuracy;
    rec->calls_per_sample = res->calls_per_sample;
    rec->warmup_calls = res->warmup_calls;
    rec->counters = res->counters;
    rec->gpu_trace = res->gpu_trace;
    snprintf(rec->nvml_status, sizeof rec->nvml_status, "%s", res->nvml_status);
    snprintf(rec->metrics_status, sizeof rec->metrics_status, "%s", res->metrics_status);
    rec->samples = samples->seconds;
    rec->sm_clock_mhz = samples->sm_clock_mhz;
    rec->throttled = samples->throttled;
    rec->n_samples = res->n_samples;
    rec->stop = (enum sampling_stop)res->stop;
    snprintf(rec->throttle_reason, sizeof rec->throttle_reason, "%s", res->throttle_reason);
    memset(samples, 0, sizeof *samples); /* the record owns them now */
}

/* Waits for data on fd: 0 readable, 1 at the deadline, 2 on a stop request. */
static int wait_readable(int fd, double deadline)
{
    for (;;) {
        if (stop_requested)
            return 2;
        double left = deadline - runner_now();
        if (left <= 0)
            return 1;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int ms = left > 0.1 ? 100 : (int)(left * 1000) + 1;
        int pr = poll(&p, 1, ms);
        if (pr > 0)
            return 0;
    }
}

/* Reads exactly len bytes into buf: 0, 1 timeout, 2 stop, -1 when the pipe closed early. */
static int read_exact(int fd, double deadline, void *buf, size_t len)
{
    size_t have = 0;
    while (have < len) {
        int w = wait_readable(fd, deadline);
        if (w != 0)
            return w;
        ssize_t r = read(fd, (char *)buf + have, len - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
    return 0;
}

/* Reads len bytes into a fresh buffer: as read_exact, and -1 out of memory. */
static int read_block(int fd, double deadline, void **out, size_t len)
{
    *out = malloc(len ? len : 1);
    if (!*out)
        return -1;
    int rc = read_exact(fd, deadline, *out, len);
    if (rc != 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* Reads the child's message until EOF, the deadline, or a stop request. Returns 0 when the whole
 * message arrived, 1 on timeout, 2 on stop, -1 when the pipe closed early (the child died). */
static int read_result(int fd, double deadline, struct child_result *res, struct sample_series *samples)
{
    memset(samples, 0, sizeof *samples);
    int rc = read_exact(fd, deadline, res, sizeof *res);
    size_t n = res->n_samples;
    if (rc != 0 || n == 0)
        return rc;
    rc = read_block(fd, deadline, (void **)&samples->seconds, n * sizeof *samples->seconds);
    if (rc == 0 && res->has_clocks) {
        rc = read_block(fd, deadline, (void **)&samples->sm_clock_mhz, n * sizeof *samples->sm_clock_mhz);
        if (rc == 0)
            rc = read_block(fd, deadline, (void **)&samples->throttled, n * sizeof *samples->throttled);
    }
    if (rc != 0)
        sample_series_free(samples);
    samples->n = rc == 0 ? n : 0;
    return rc;
}

static void describe_death(int wstatus, struct case_record *rec)
{
    if (WIFSIGNALED(wstatus)) {
        int sig = WTERMSIG(wstatus);
        rec->status = CASE_CRASHED;
        snprintf(rec->error, sizeof rec->error, "killed by signal %d (%s)%s", sig, strsignal(sig),
                 sig == SIGKILL ? ": possibly the out-of-memory killer" : "");
    } else if (WIFEXITED(wstatus)) {
        rec->status = CASE_CRASHED;
        snprintf(rec->error, sizeof rec->error, "the case process exited with status %d before reporting",
                 WEXITSTATUS(wstatus));
    }
}

void runner_summarize(struct case_record *rec, int include_throttled, uint64_t seed)
{
    rec->set_aside = 0;
    rec->noise_met = 0;
    if (rec->status != CASE_OK || rec->n_samples == 0)
        return;
    const double *x = rec->samples;
    double *kept = NULL;
    size_t n = rec->n_samples;
    if (rec->throttled && !include_throttled) {
        kept = malloc(n * sizeof *kept);
        if (kept) {
            size_t k = 0;
            for (size_t i = 0; i < rec->n_samples; i++)
                if (rec->throttled[i] != 1)
                    kept[k++] = rec->samples[i];
            rec->set_aside = n - k;
            x = kept;
            n = k;
        }
    }
    if (n > 0)
        stats_summarize(x, n, 2000, seed, &rec->stats);
    else /* every sample throttled: nothing to judge */
        rec->stats = (struct kb_stats){ .median = NAN, .mean = NAN, .stddev = NAN, .min = NAN, .max = NAN,
                                        .p5 = NAN, .p95 = NAN, .mad = NAN, .ci_lo = NAN, .ci_hi = NAN,
                                        .noise = NAN };
    rec->noise_met = isfinite(rec->stats.noise) && rec->stats.noise <= rec->noise_target;
    free(kept);
}

static void compute_stats(const struct plan_case *pc, const struct runner_options *o, struct case_record *rec)
{
    const struct kb_kernel *k = pc->kernel;
    rec->flops = kb_kernel_flops(k, &rec->shape);
    rec->bytes = kb_kernel_bytes(k, &rec->shape, pc->dtype);
    rec->min_samples = o->min_samples;
    rec->noise_target = o->noise_target;
    runner_summarize(rec, o->include_throttled, pc->seed);
}

int runner_run_case(const struct plan_case *pc, const struct runner_options *o, struct case_record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->kernel = pc->kernel;
    snprintf(rec->device, sizeof rec->device, "%s", pc->device);
    rec->dtype = pc->dtype;
    rec->shape = pc->shape;
    if (rec->shape.kv_heads == 0)
        rec->shape.kv_heads = rec->shape.heads;
    rec->threads = pc->threads;
    rec->cold_cache = pc->cold_cache;
    rec->seed = pc->seed;
    double t0 = runner_now();

    /* A case spanning more GPUs than this machine has cannot be tested here: stored skipped,
     * with the count it needs, never a crash (a suite written for an 8-GPU node runs anywhere). */
    if (pc->kernel->device == KB_DEVICE_CUDA) {
        int first = strncmp(pc->device, "cuda:", 5) == 0 ? atoi(pc->device + 5) : 0;
        int span = kb_kernel_axes(pc->kernel) & KB_AXIS_BIT(KB_AXIS_SPAN) && rec->shape.span > 0 ? rec->shape.span : 1;
        int gpus = runner_gpu_count();
        if (first + span > gpus) {
            rec->status = CASE_SKIPPED;
            snprintf(rec->error, sizeof rec->error, "cannot be tested here: needs %d GPU%s (cuda:%d..cuda:%d), "
                     "this machine has %d", first + span, first + span == 1 ? "" : "s", first, first + span - 1,
                     gpus);
            compute_stats(pc, o, rec);
            return 0;
        }
    }
    /* Refuse before allocating: a shape that cannot fit would only summon the OOM killer. */
    if (pc->kernel->device == KB_DEVICE_CPU) {
        double need = kb_kernel_footprint(pc->kernel, &rec->shape, pc->dtype), avail = available_memory();
        if (avail > 0 && need > 0.9 * avail) {
            rec->status = CASE_SKIPPED;
            snprintf(rec->error, sizeof rec->error, "needs %.2f GiB, %.2f GiB free", need / 1073741824.0,
                     avail / 1073741824.0);
            compute_stats(pc, o, rec);
            return 0;
        }
    }

    struct child_result res;
    struct sample_series samples = { 0 };
    if (!o->isolate) {
        runner_measure(pc, o, &res, &samples);
        fill_from_child(rec, &res, &samples);
        rec->wall_s = runner_now() - t0;
        compute_stats(pc, o, rec);
        return 0;
    }

    double allowance = runner_setup_allowance(pc, o);
    int warm = runner_worker_wanted(pc, o);
    pid_t pid;
    int fd;
    if (warm) {
        if (runner_worker_send(pc, o, allowance, &pid, &fd) != 0)
            return -1;
    } else {
        int fds[2];
        if (pipe(fds) != 0)
            return -1;
        fflush(NULL);
        pid = fork();
        if (pid < 0) {
            close(fds[0]);
            close(fds[1]);
            return -1;
        }
        if (pid == 0) {
            close(fds[0]);
            runner_close_inherited_workers();
            runner_child_prepare();
            struct runner_options co = *o;
            co.ready_fd = allowance > 0 ? fds[1] : -1;
            runner_measure(pc, &co, &res, &samples);
            runner_signal_ready(&co, &res); /* it failed before: the result follows at once */
            _exit(runner_write_result(fds[1], &res, &samples) != 0 ? 3 : 0);
        }
        close(fds[1]);
        fd = fds[0];
    }
    /* With a setup allowance, setup and verification have that long, and the timeout counts
     * from the moment the case says it is ready. */
    double deadline = t0 + o->timeout_s;
    int got = 0, in_setup = 0;
    if (allowance > 0) {
        char ready;
        got = read_exact(fd, t0 + allowance, &ready, 1);
        in_setup = got == 1;
        deadline = runner_now() + o->timeout_s;
    }
    if (got == 0)
        got = read_result(fd, deadline, &res, &samples);
    int wstatus = 0;
    if (!warm) {
        close(fd);
        if (got != 0)
            kill(pid, SIGKILL);
        while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
            ;
    } else if (got == -1) {
        runner_worker_dead(pid, &wstatus); /* it died in the case: its status says how */
    } else if (got != 0 || res.process_retires) {
        runner_worker_done(pid, got != 0);
    }
    rec->wall_s = runner_now() - t0;
    if (got == 0) {
        fill_from_child(rec, &res, &samples);
    } else {
        sample_series_free(&samples);
        if (got == 2) {
            rec->status = CASE_INTERRUPTED;
            snprintf(rec->error, sizeof rec->error, "interrupted: the run was stopped while this case ran");
        } else if (got == 1) {
            rec->status = CASE_TIMEOUT;
            if (in_setup)
                snprintf(rec->error, sizeof rec->error, "killed at its setup time limit of %g s (setup and "
                         "verification; --setup-timeout)", allowance);
            else
                snprintf(rec->error, sizeof rec->error, "killed at its time limit of %.0f s", o->timeout_s);
        } else {
            describe_death(wstatus, rec);
        }
    }
    compute_stats(pc, o, rec);
    return 0;
}
