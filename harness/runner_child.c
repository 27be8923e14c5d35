/* runner_child.c - what happens inside a case's process: setup, verify, dump, warm-up,
 * adaptive sampling (hot or cold cache), and a separate PAPI counting pass. */
#include "harness/runner_child.h"
#include "harness/case.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "harness/cpu.h"
#include "harness/npy.h"
#include "harness/nvml.h"
#include "harness/stats.h"
#include "harness/timer_gpu.h"
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

double runner_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The case's failure message: the kernel's own words when it left any. */
static void fail_run(struct child_result *res, const struct kb_case *c, const char *when)
{
    res->status = CASE_SETUP_FAILED;
    if (c->error[0])
        snprintf(res->error, sizeof res->error, "%s: %s", when, c->error);
    else
        snprintf(res->error, sizeof res->error, "%s", when);
}

/* Evicts the caches by writing a buffer twice the size of the last-level cache, so the next
 * sample starts cold. Runs outside the timed region. The sum is returned so the compiler
 * cannot drop the reads. */
static unsigned long flush_caches(unsigned char *buf, size_t len, unsigned round)
{
    unsigned long sum = 0;
    for (size_t i = 0; i < len; i += 64) {
        buf[i] = (unsigned char)(buf[i] + round);
        sum += buf[i];
    }
    return sum;
}

static void fail(struct child_result *res, enum case_status st, const char *message)
{
    res->status = st;
    snprintf(res->error, sizeof res->error, "%s", message);
}

static int mkdir_p(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return (mkdir(tmp, 0777) != 0 && errno != EEXIST) ? -1 : 0;
}

/* How a family's tensors are laid out, for the manifest: each dump says its own (every tensor's
 * name, dtype, role and dims are listed beside it under "tensors"). */
static const char *dump_layout(enum kb_family f)
{
    switch (f) {
    case KB_FAMILY_ATTENTION:
        return "row-major; Q [B,H,N,d], K and V [B,H_kv,N,d], O [B,H,N,d] (decode: Q and O have N = 1); "
               "softmax kernels scale by 1/sqrt(d)";
    case KB_FAMILY_QUANT:
        return "row-major; GEMMs: activations a [M,K], weights w [N,K], output y (c for gemm.f32) = a w^T [M,N], "
               "weight scales per output channel [N] or per group [N,K/group], int4 weights packed two to a byte "
               "(w_int4 [N,K/2]), a_f32 and w_f32 the values the integers stand for; quant.quantize: x [M,K] in, "
               "codes, scales and the dequantized [M,K] out; vit.block: x and y [tokens,d], w_qkv [3d,d], "
               "w_o [d,d], w_1 [f,d], w_2 [d,f]";
    case KB_FAMILY_MOE:
        return "row-major; x and y [tokens,hidden]; router w_router [hidden,experts], b_router [experts]; ids and "
               "gates [tokens,top_k]; dispatched rows xp and yp [tokens*top_k,hidden] in expert order, with perm "
               "and slot_of [tokens*top_k], counts [experts] and offsets [experts+1]; SwiGLU experts w1 and w3 "
               "[experts,hidden,ffn], w2 [experts,ffn,hidden]";
    case KB_FAMILY_SELFTEST:
        break;
    }
    return "row-major; each tensor's dims are listed under tensors";
}

/* Writes every tensor of the case as .npy plus a manifest.json describing the case. */
static int dump_case(const struct plan_case *pc, const struct kb_case *c, const struct kb_accuracy *acc,
                     const char *dir_root, char *err, size_t errlen)
{
    const struct kb_kernel *k = pc->kernel;
    struct kb_tensor t[KB_TENSORS_MAX];
    int n = kb_case_tensors(c, t, KB_TENSORS_MAX);
    if (n < 0) {
        snprintf(err, errlen, "kernel %s@%s cannot dump its tensors", k->name, k->impl);
        return -1;
    }
    char dir[1024], shape[256];
    const struct kb_shape *s = &pc->shape;
    uint64_t axes = kb_kernel_axes(k);
    /* every axis the kernel sweeps is in the name, so no two cases share a folder */
    kb_shape_string(s, axes, shape, sizeof shape);
    for (char *ch = shape; *ch; ch++)
        if (*ch == ' ')
            *ch = '-';
    snprintf(dir, sizeof dir, "%s/%s@%s-%s-%s-%s-t%d%s", dir_root, k->name, k->impl, pc->device,
             kb_dtype_name(pc->dtype), shape, pc->threads, pc->cold_cache ? "-cold" : "");
    if (mkdir_p(dir) != 0) {
        snprintf(err, errlen, "cannot create dump directory %s: %s", dir, strerror(errno));
        return -1;
    }
    char path[1280];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    FILE *m = fopen(path, "w");
    if (!m) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(m, "{\n  \"kernel\": \"%s\",\n  \"impl\": \"%s\",\n  \"family\": \"%s\",\n  \"device\": \"%s\",\n"
            "  \"dtype\": \"%s\",\n", k->name, k->impl, kb_family_name(kb_kernel_family(k)), pc->device, kb_dtype_name(pc->dtype));
    fprintf(m, "  \"shape\": {");
    int first = 1;
    for (int a = 0; a < KB_AXIS_COUNT; a++) {
        if (!(axes & KB_AXIS_BIT(a)))
            continue;
        const struct kb_axis_info *ax = kb_axis_info((enum kb_axis)a);
        int v = kb_shape_get(s, (enum kb_axis)a);
        fprintf(m, "%s\"%s\": ", first ? "" : ", ", ax->column);
        if (ax->kind == KB_AXIS_KIND_ENUM)
            fprintf(m, "\"%s\"", v ? kb_axis_value_name((enum kb_axis)a, v) : "");
        else if (ax->kind == KB_AXIS_KIND_BOOL)
            fprintf(m, "%s", v ? "true" : "false");
        else
            fprintf(m, "%d", v);
        first = 0;
    }
    fprintf(m, "},\n");
    fprintf(m, "  \"seed\": %llu,\n  \"threads\": %d,\n", (unsigned long long)pc->seed, pc->threads);
    fprintf(m, "  \"layout\": \"%s\",\n", k->op && k->op->layout ? k->op->layout : dump_layout(kb_kernel_family(k)));
    fprintf(m, "  \"accuracy\": {\"max_abs_err\": %.9g, \"rel_l2_err\": %.9g, \"cosine\": %.12g, "
            "\"rows_checked\": %ld, \"rows_total\": %ld},\n", acc->max_abs_err, acc->rel_l2_err,
            acc->cosine, acc->rows_checked, acc->rows_total);
    fprintf(m, "  \"tensors\": [\n");
    int rc = 0;
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s.npy", dir, t[i].name);
        if (npy_write(path, &t[i]) != 0) {
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
            rc = -1;
            break;
        }
        fprintf(m, "    {\"name\": \"%s\", \"file\": \"%s.npy\", \"dtype\": \"%s\", \"role\": \"%s\", \"shape\": [",
                t[i].name, t[i].name, kb_dtype_name(t[i].dtype), t[i].is_output ? "output" : "input");
        for (int d = 0; d < t[i].ndim; d++)
            fprintf(m, "%s%lld", d ? ", " : "", (long long)t[i].dims[d]);
        fprintf(m, "]}%s\n", i + 1 < n ? "," : "");
    }
    fprintf(m, "  ]\n}\n");
    if (fclose(m) != 0 && rc == 0) {
        snprintf(err, errlen, "cannot write manifest in %s", dir);
        rc = -1;
    }
    return rc;
}

/* 1 when the median's order-statistic CI is within the noise target. */
static int precise_enough(const double *x, size_t n, double target, double *scratch)
{
    stats_sorted_copy(x, n, scratch);
    double med = stats_quantile_sorted(scratch, n, 0.5), lo, hi;
    stats_median_ci_order(scratch, n, 0.95, &lo, &hi);
    return med > 0 && (hi - lo) / 2.0 / med <= target;
}

/* The CPU's sample: the flush (cold mode, untimed), then `batch` calls on the host clock. */
struct cpu_sampler {
    const struct kb_kernel *k;
    struct kb_case *c;
    int batch;
    unsigned char *flush;
    size_t flush_len;
    unsigned round;
    volatile unsigned long sink;
};

static int cpu_take(void *ctx, double *per_call, char *why, size_t whylen)
{
    struct cpu_sampler *s = ctx;
    if (s->flush)
        s->sink += flush_caches(s->flush, s->flush_len, s->round++);
    double a = runner_now();
    for (int i = 0; i < s->batch; i++)
        if (s->k->run(s->c) != KB_OK) {
            snprintf(why, whylen, "%s", s->c->error);
            return -1;
        }
    double b = runner_now();
    *per_call = (b - a) / s->batch;
    return 0;
}

void sample_series_free(struct sample_series *s)
{
    free(s->seconds);
    free(s->sm_clock_mhz);
    free(s->throttled);
    memset(s, 0, sizeof *s);
}

int runner_sample_throttled(double sm_mhz, double max_mhz, double fraction)
{
    if (!(sm_mhz > 0) || !(max_mhz > 0) || !(fraction > 0))
        return -1;
    return sm_mhz < fraction * max_mhz;
}

/* Grows the series to hold cap samples; 0, or -1 out of memory (the old arrays stay valid). */
static int series_reserve(struct sample_series *s, double **good, size_t cap, int clocks)
{
    double *x = realloc(s->seconds, cap * sizeof *x);
    if (x)
        s->seconds = x;
    double *g = realloc(*good, cap * sizeof *g);
    if (g)
        *good = g;
    if (!x || !g)
        return -1;
    if (!clocks)
        return 0;
    double *m = realloc(s->sm_clock_mhz, cap * sizeof *m);
    if (m)
        s->sm_clock_mhz = m;
    signed char *t = realloc(s->throttled, cap * sizeof *t);
    if (t)
        s->throttled = t;
    return m && t ? 0 : -1;
}

/* NVML reasons that say why a clock is low; "idle" and "applications clocks" describe a clock
 * the user or an idle GPU chose, not a slowdown. */
#define THROTTLE_SLOWDOWN_MASK (~0x3ull)
/* A pause after a throttled sample, so a re-sample does not find the GPU as hot (nvbench's). */
#define THROTTLE_RECOVERY_S 0.05

static void pause_for(double seconds)
{
    struct timespec ts = { (time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* When the budget that grows for the minimum of samples ends: the cap after sampling began, but
 * never later than the timeout's share since the case began (nor earlier than max_time). */
static double minimum_deadline(const struct runner_options *o, double start, double case_start)
{
    double end = start + fmax(o->max_time_s, o->min_samples_cap_s);
    if (case_start > 0 && o->timeout_s > 0)
        end = fmin(end, case_start + RUNNER_SAMPLING_TIMEOUT_SHARE * o->timeout_s);
    return fmax(end, start + o->max_time_s);
}

void runner_adaptive_sampling(const struct runner_options *o, runner_take_fn take, void *ctx,
                              const struct runner_clock *clock, struct child_result *res,
                              struct sample_series *out)
{
    memset(out, 0, sizeof *out);
    int clocks = clock && clock->read;
    size_t cap = 1024, n = 0, good = 0;
    double *g = NULL, *scratch = NULL;
    unsigned long long reasons_seen = 0;
    if (series_reserve(out, &g, cap, clocks) != 0 || !(scratch = malloc(cap * sizeof *scratch))) {
        fail(res, CASE_SETUP_FAILED, "out of memory for samples");
        goto out;
    }
    size_t min_good = o->min_samples > 0 ? (size_t)o->min_samples : 1;
    size_t next_check = min_good;
    double start = runner_now(), minimum_end = minimum_deadline(o, start, res->case_start);
    for (;;) {
        char why[200] = "";
        double per_call = 0;
        if (take(ctx, &per_call, why, sizeof why) != 0) {
            res->status = CASE_SETUP_FAILED;
            snprintf(res->error, sizeof res->error, "run failed while sampling%s%s", *why ? ": " : "", why);
            goto out;
        }
        if (n == cap) {
            cap *= 2;
            double *ns = realloc(scratch, cap * sizeof *ns);
            if (ns)
                scratch = ns;
            if (!ns || series_reserve(out, &g, cap, clocks) != 0) {
                fail(res, CASE_SETUP_FAILED, "out of memory for samples");
                goto out;
            }
        }
        out->seconds[n] = per_call;
        int throttled = 0;
        if (clocks) {
            double mhz = NAN, max_mhz = 0;
            unsigned long long reasons = 0;
            int known = clock->read(clock->ctx, &mhz, &max_mhz, &reasons) == 0;
            out->sm_clock_mhz[n] = known && mhz > 0 ? mhz : NAN;
            out->throttled[n] = (signed char)(known ? runner_sample_throttled(mhz, max_mhz, o->throttle_fraction) : -1);
            throttled = out->throttled[n] == 1;
            if (throttled)
                reasons_seen |= reasons & THROTTLE_SLOWDOWN_MASK;
        }
        n++;
        int counts = !throttled || o->include_throttled;
        if (counts)
            g[good++] = per_call;
        else
            pause_for(THROTTLE_RECOVERY_S);
        double now = runner_now(), elapsed = now - start;
        if (good >= (size_t)o->max_samples) {
            res->stop = STOP_MAX_SAMPLES;
            break;
        }
        if (elapsed >= o->max_time_s && good >= min_good) {
            res->stop = STOP_MAX_TIME;
            break;
        }
        if (now >= minimum_end) {
            res->stop = good >= min_good ? STOP_MAX_TIME : STOP_MIN_SAMPLES_CAP;
            break;
        }
        /* The stopping rule sorts the samples, so it runs at growing intervals. */
        if (counts && good >= next_check && elapsed >= o->min_time_s) {
            if (precise_enough(g, good, o->noise_target, scratch)) {
                res->stop = STOP_NOISE;
                break;
            }
            next_check = good + (good / 8 > 4 ? good / 8 : 4);
        }
    }
    if (reasons_seen)
        nvml_throttle_reason_names(reasons_seen, res->throttle_reason, sizeof res->throttle_reason);
    else if (clocks && n > good)
        snprintf(res->throttle_reason, sizeof res->throttle_reason, "low sm clock");
    res->has_clocks = clocks;
    res->n_samples = n;
    out->n = n;
    free(g);
    free(scratch);
    return;
out:
    sample_series_free(out);
    free(g);
    free(scratch);
}

static void sample(const struct plan_case *pc, const struct runner_options *o, struct kb_case *c,
                   struct child_result *res, struct sample_series *out)
{
    const struct kb_kernel *k = pc->kernel;
    /* warm-up: at least one call, and an estimate of the per-call time */
    double t0 = runner_now(), t = t0;
    int warm = 0;
    do {
        if (k->run(c) != KB_OK) {
            fail_run(res, c, "run failed during warm-up");
            return;
        }
        warm++;
        t = runner_now();
    } while (t - t0 < o->warmup_s);
    res->warmup_calls = warm;
    double per_call = (t - t0) / warm;

    /* Short kernels are batched so the clock's own cost stays small against a sample; in cold
     * mode every call must start cold, so there is no batching. */
    struct cpu_sampler s = { .k = k, .c = c, .batch = 1 };
    if (!pc->cold_cache && per_call < o->min_sample_s)
        s.batch = (int)fmin(1e6, ceil(o->min_sample_s / fmax(per_call, 1e-9)));
    res->calls_per_sample = s.batch;

    if (pc->cold_cache) {
        struct cpu_info ci;
        cpu_info_read(&ci);
        s.flush_len = 2 * cpu_llc_bytes(&ci);
        s.flush = malloc(s.flush_len);
        if (!s.flush) {
            fail(res, CASE_SETUP_FAILED, "cannot allocate the cache-flush buffer");
            return;
        }
        memset(s.flush, 1, s.flush_len);
    }
    runner_adaptive_sampling(o, cpu_take, &s, NULL, res, out);
    free(s.flush);
}

static void count_events(const struct runner_options *o, struct kb_case *c,
                         struct child_result *res)
{
    struct kb_counter_report *r = &res->counters;
    if (runner_counters_off(o)) {
        snprintf(r->papi_status, sizeof r->papi_status, "not requested (--no-counters)");
        return;
    }
    char why[256];
    struct papi_session *ps = papi_session_open(o->papi_events, why, sizeof why);
    if (!ps) {
        snprintf(r->papi_status, sizeof r->papi_status, "unavailable: %s", why);
        return;
    }
    /* enough calls to last about the minimum sampling time, so counts are not all start-up */
    int calls = 1;
    if (papi_session_start(ps) == 0) {
        double t0 = runner_now();
        do {
            c->kernel->run(c);
        } while (runner_now() - t0 < o->min_time_s && ++calls < 1000000);
        papi_session_stop(ps, calls, r);
    } else {
        snprintf(r->papi_status, sizeof r->papi_status, "unavailable: PAPI_start failed");
    }
    papi_session_close(ps);
}

#define KERNEL_STATS_RESERVE 48
/* The kernel's own observations of its verified run (kb_kernel.stats), as "kernel" counters. */
static void kernel_stats(const struct kb_case *c, struct kb_counter_report *r)
{
    if (!c->kernel->stats)
        return;
    /* the rusage and PAPI figures come after these: leave them their room */
    int room = KB_COUNTERS_MAX - KERNEL_STATS_RESERVE - r->n;
    if (room <= 0)
        return;
    struct kb_counter *out = calloc((size_t)room, sizeof *out);
    if (!out)
        return;
    int n = c->kernel->stats(c, out, room);
    for (int i = 0; i < n && i < room; i++)
        counter_report_add(r, "kernel", out[i].name, out[i].value, out[i].unit[0] ? out[i].unit : "count");
    free(out);
}

/* Copies of the inputs a cold-cache GPU case rotates through: enough that the bytes read
 * between two uses of one copy are twice the L2, so none is still cached (1: no rotation, for
 * hot runs and for inputs larger than L2, which the flush before each sample already evicts). */
static int cold_input_copies(const struct plan_case *pc, double l2_bytes)
{
    const struct kb_kernel *k = pc->kernel;
    double bytes = kb_kernel_bytes(k, &pc->shape, pc->dtype);
    if (!pc->cold_cache || !(bytes > 0) || l2_bytes <= 0)
        return 1;
    if (!(bytes > 0) || bytes >= l2_bytes)
        return 1;
    /* at most KB_INPUT_COPIES_MAX: tiny inputs then rotate through fewer, their calls partly
     * warm (a graph of them still beats one launch-bound call per sample) */
    return (int)fmin(KB_INPUT_COPIES_MAX, ceil(2.0 * l2_bytes / bytes));
}

void runner_signal_ready(const struct runner_options *o, struct child_result *res)
{
    if (o->ready_fd < 0 || res->ready_sent)
        return;
    const char ready = 'R';
    ssize_t w;
    do
        w = write(o->ready_fd, &ready, 1);
    while (w < 0 && errno == EINTR);
    res->ready_sent = 1;
    res->case_start = runner_now(); /* the sampling's share of the timeout counts from here */
}

void runner_measure(const struct plan_case *pc, const struct runner_options *o,
                    struct child_result *res, struct sample_series *samples)
{
    const struct kb_kernel *k = pc->kernel;
    memset(res, 0, sizeof *res);
    memset(samples, 0, sizeof *samples);
    res->case_start = runner_now();
    struct kb_case c = { .kernel = k, .shape = pc->shape, .dtype = pc->dtype, .threads = pc->threads,
                         .seed = pc->seed };
    if (strncmp(pc->device, "cuda:", 5) == 0)
        c.device_index = atoi(pc->device + 5);
    if (c.shape.kv_heads == 0)
        c.shape.kv_heads = c.shape.heads;

    char err[256] = "";
    struct gpu_timer *gt = NULL;
    if (k->device == KB_DEVICE_CUDA) {
        gt = gpu_timer_new(c.device_index, pc->cold_cache, err, sizeof err);
        if (!gt) {
            fail(res, CASE_SETUP_FAILED, err);
            return;
        }
        c.stream = gpu_timer_stream(gt);
        c.input_copies_wanted = cold_input_copies(pc, gpu_timer_l2_bytes(gt));
    }
    int rc = kb_case_begin(&c, err, sizeof err);
    if (rc != KB_OK) {
        fail(res, rc == KB_UNSUPPORTED ? CASE_SKIPPED : CASE_SETUP_FAILED, *err ? err : "setup failed");
        gpu_timer_free(gt);
        return;
    }
    /* what setup left on other streams (a plain cudaMemcpy's DMA) lands before the first run */
    if (gt && gpu_timer_settle(gt, err, sizeof err) != 0) {
        fail(res, CASE_SETUP_FAILED, err);
        goto out;
    }
    struct rusage_mark ru;
    rusage_mark_now(&ru);
    /* Verify before anything is timed: a wrong answer is a failure, never a fast result. */
    if (k->run(&c) != KB_OK || (gt && gpu_timer_sync(gt, c.error, sizeof c.error) != 0)) {
        fail_run(res, &c, "first run failed");
        goto out;
    }
    if (kb_case_verify(&c, &res->accuracy) != KB_OK && c.error[0]) {
        fail_run(res, &c, "its results could not be read back");
        goto out;
    }
    res->verified = 1;
    runner_signal_ready(o, res);
    kernel_stats(&c, &res->counters);
    if (o->dump_dir && dump_case(pc, &c, &res->accuracy, o->dump_dir, err, sizeof err) != 0) {
        fail(res, CASE_SETUP_FAILED, err);
        goto out;
    }
    if (!res->accuracy.passed) {
        res->status = CASE_VERIFY_FAILED;
        snprintf(res->error, sizeof res->error,
                 "wrong answer: relative L2 error %.3g exceeds tolerance %.3g (max abs error %.3g, cosine %.6f, %ld of %ld rows checked)",
                 res->accuracy.rel_l2_err, res->accuracy.tolerance, res->accuracy.max_abs_err,
                 res->accuracy.cosine, res->accuracy.rows_checked, res->accuracy.rows_total);
        goto out;
    }
    if (gt)
        runner_sample_gpu(pc, o, &c, gt, res, samples);
    else
        sample(pc, o, &c, res, samples);
    if (res->status != CASE_OK)
        goto out;
    rusage_report_since(&ru, &res->counters);
    if (gt)
        runner_gpu_passes(o, &c, gt, samples->seconds, res);
    else
        count_events(o, &c, res);
out:
    kb_case_end(&c);
    gpu_timer_free(gt);
}

void runner_child_prepare(void)
{
#ifdef HAVE_SYS_PRCTL_H
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the harness */
#endif
    const int fatal[] = { SIGINT, SIGTERM, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        signal(fatal[i], SIG_DFL);
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int runner_write_result(int fd, const struct child_result *res, const struct sample_series *samples)
{
    size_t n = res->n_samples;
    if (write_all(fd, res, sizeof *res) != 0)
        return -1;
    if (n && write_all(fd, samples->seconds, n * sizeof *samples->seconds) != 0)
        return -1;
    if (n && res->has_clocks &&
        (write_all(fd, samples->sm_clock_mhz, n * sizeof *samples->sm_clock_mhz) != 0 ||
         write_all(fd, samples->throttled, n * sizeof *samples->throttled) != 0))
        return -1;
    return 0;
}
