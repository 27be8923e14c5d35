/* screen_detail.c - everything stored about one case: statistics, a histogram of the raw
 * samples, counters with units, accuracy, GPU launches, the machine and software, and the
 * error of a failed case. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/reports.h"
#include "tui/app.h"
#include "tui/format.h"
#include "tui/pager.h"

struct detail_screen {
    struct result_row row;
    struct pager text;
    int width; /* the width the histogram was laid out for */
};

static void add_seconds(struct pager *p, const char *label, double v)
{
    char buf[32];
    fmt_seconds(v, buf, sizeof buf);
    pager_add(p, 0, "  %-22s %s", label, buf);
}

/* A text histogram of the samples: bins of equal width between min and max. */
static void add_histogram(struct pager *p, const double *x, long n, int width)
{
    if (n <= 0) {
        pager_add(p, UI_DIM, "  no samples (the case was not timed)");
        return;
    }
    double lo = x[0], hi = x[0];
    for (long i = 1; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    int bins = (int)sqrt((double)n);
    bins = bins < 4 ? 4 : bins > 16 ? 16 : bins;
    if (hi <= lo)
        bins = 1;
    long count[16] = { 0 }, most = 0;
    for (long i = 0; i < n; i++) {
        int b = bins == 1 ? 0 : (int)((x[i] - lo) / (hi - lo) * bins);
        b = b >= bins ? bins - 1 : b;
        most = ++count[b] > most ? count[b] : most;
    }
    int bar_max = width - 34;
    bar_max = bar_max < 10 ? 10 : bar_max > 60 ? 60 : bar_max;
    for (int b = 0; b < bins; b++) {
        char from[32], to[32], bar[64];
        fmt_seconds(lo + (hi - lo) * b / bins, from, sizeof from);
        fmt_seconds(lo + (hi - lo) * (b + 1) / bins, to, sizeof to);
        int len = (int)(count[b] * bar_max / (most ? most : 1));
        if (count[b] > 0 && len == 0)
            len = 1;
        memset(bar, '#', (size_t)len);
        bar[len] = '\0';
        pager_add(p, 0, "  %9s - %-9s |%s %ld", from, to, bar, count[b]);
    }
}

struct counter_ctx {
    struct pager *p;
    int n;
};

static int add_counter(const struct kb_counter *c, void *ctx)
{
    struct counter_ctx *cc = ctx;
    char value[48];
    if (fabs(c->value) >= 1e6 || (c->value != 0 && fabs(c->value) < 1e-3))
        snprintf(value, sizeof value, "%.4g", c->value);
    else
        snprintf(value, sizeof value, "%.6g", c->value);
    pager_add(cc->p, 0, "  %-8s %-24s %14s %s", c->backend, c->name, value, c->unit);
    cc->n++;
    return 0;
}

static int build(struct app *a, struct detail_screen *s, int width)
{
    const struct result_row *r = &s->row;
    struct pager *p = &s->text;
    pager_clear(p);
    s->width = width;
    char shape[160], buf[64], buf2[64];

    pager_add(p, UI_HEADER, "Case %" PRId64 " of run %" PRId64, r->case_id, r->run_id);
    pager_add(p, 0, "  %-22s %s (%s) on %s, %s", "kernel", r->kernel, r->impl, r->device, r->dtype);
    kb_shape_string(&r->shape, 0, shape, sizeof shape);
    pager_add(p, 0, "  %-22s %s", "shape", shape);
    pager_add(p, 0, "  %-22s %d, %s cache", "threads", r->threads, r->cold_cache ? "cold" : "hot");
    /* a skip is this machine's limit, not a failure: its reason reads as one */
    int skipped = strcmp(r->status, "skipped") == 0;
    pager_add(p, strcmp(r->status, "ok") == 0 ? UI_OK : skipped ? UI_WARN : UI_BAD, "  %-22s %s", "status", r->status);
    if (r->error[0])
        pager_add(p, skipped ? UI_WARN : UI_BAD, "  %-22s %s", skipped ? "reason" : "error", r->error);

    pager_add(p, 0, "%s", "");
    pager_add(p, UI_HEADER, "Statistics (seconds per call)");
    if (r->stats.n == 0 && r->set_aside > 0) {
        pager_add(p, UI_BAD, "  no sample counts: all %d were taken under GPU throttling (%s)", r->set_aside,
                  *r->throttle_reason ? r->throttle_reason : "low SM clock");
    } else if (r->stats.n == 0) {
        pager_add(p, UI_DIM, "  not timed (only verified, passing cases are timed)");
    } else {
        /* the sampling's promises share the lines they qualify, so the histogram stays on the
         * first screen */
        char asked[96] = "", aside[96] = "", target[64] = "";
        if (report_min_missed(r))
            snprintf(asked, sizeof asked, " of %d asked (stopped by %s)", r->min_samples,
                     *r->stop_reason ? r->stop_reason : "?");
        if (r->set_aside > 0)
            snprintf(aside, sizeof aside, ", %d throttled set aside (%s)", r->set_aside,
                     *r->throttle_reason ? r->throttle_reason : "low SM clock");
        pager_add(p, report_min_missed(r) || r->set_aside > 0 ? UI_BAD : 0, "  %-22s %zu%s, %d call%s each%s",
                  "samples", r->stats.n, asked, r->calls_per_sample, r->calls_per_sample == 1 ? "" : "s", aside);
        add_seconds(p, "median", r->stats.median);
        if (isfinite(r->noise_target) && r->noise_met >= 0)
            snprintf(target, sizeof target, "; target %.2g%%%s", 100 * r->noise_target,
                     r->noise_met ? "" : ", not met");
        if (report_has_ci(r)) {
            fmt_seconds(r->stats.ci_lo, buf, sizeof buf);
            fmt_seconds(r->stats.ci_hi, buf2, sizeof buf2);
            pager_add(p, report_noise_missed(r) ? UI_BAD : 0, "  %-22s %s .. %s (+-%.2f%%%s)", "95% CI of the median",
                      buf, buf2, 100 * r->stats.noise, target);
        } else {
            pager_add(p, UI_DIM, "  %-22s n/a: fewer than 3 samples%s", "95% CI of the median", target);
        }
        add_seconds(p, "mean", r->stats.mean);
        add_seconds(p, "stddev", r->stats.stddev);
        add_seconds(p, "min", r->stats.min);
        add_seconds(p, "p5", r->stats.p5);
        add_seconds(p, "p95", r->stats.p95);
        add_seconds(p, "max", r->stats.max);
        add_seconds(p, "MAD", r->stats.mad);
        fmt_si(r->flops, "FLOP", buf, sizeof buf);
        fmt_si(r->bytes, "B", buf2, sizeof buf2);
        pager_add(p, 0, "  %-22s %s, %s", "per call", buf, buf2);
        fmt_si(r->flops_per_s, "FLOP/s", buf, sizeof buf);
        fmt_si(r->bytes_per_s, "B/s", buf2, sizeof buf2);
        pager_add(p, 0, "  %-22s %s, %s", "throughput", buf, buf2);
    }

    double *samples = NULL;
    long n = store_get_samples(a->store, r->case_id, &samples);
    if (n < 0) {
        app_message(a, 1, "%s", store_errmsg(a->store));
        return -1;
    }
    pager_add(p, 0, "%s", "");
    pager_add(p, UI_HEADER, "Histogram of the %ld raw samples", n);
    add_histogram(p, samples, n, width);
    free(samples);

    pager_add(p, 0, "%s", "");
    pager_add(p, UI_HEADER, "Counters");
    pager_add(p, 0, "  %-22s %s", "PAPI", r->papi_status[0] ? r->papi_status : "-");
    struct counter_ctx cc = { p, 0 };
    if (store_list_counters(a->store, r->case_id, add_counter, &cc) != 0) {
        app_message(a, 1, "%s", store_errmsg(a->store));
        return -1;
    }
    if (cc.n == 0)
        pager_add(p, UI_DIM, "  no counters stored for this case");

    pager_add(p, 0, "%s", "");
    pager_add(p, UI_HEADER, "Accuracy (against the float64 reference)");
    if (!r->verified) {
        pager_add(p, UI_DIM, "  not verified");
    } else {
        pager_add(p, 0, "  %-22s %.3e", "max abs error", r->max_abs_err);
        pager_add(p, 0, "  %-22s %.3e (tolerance %.1e)", "relative L2 error", r->rel_l2_err, r->tolerance);
        pager_add(p, 0, "  %-22s %.9f", "cosine similarity", r->cosine);
        pager_add(p, r->passed ? UI_OK : UI_BAD, "  %-22s %s", "verdict", r->passed ? "passed" : "FAILED");
    }

    pager_add(p, 0, "%s", "");
    pager_add(p, UI_HEADER, "GPU kernels launched");
    if (strncmp(r->device, "cuda", 4) != 0) {
        pager_add(p, UI_DIM, "  none: a %s case", r->device);
    } else {
        struct gpu_trace t;
        if (store_list_gpu_kernels(a->store, r->case_id, &t) != 0) {
            app_message(a, 1, "%s", store_errmsg(a->store));
            return -1;
        }
        if (t.n == 0)
            pager_add(p, UI_DIM, "  not recorded: %s", *t.status ? t.status : "this database has no CUPTI records");
        for (int i = 0; i < t.n; i++) {
            const struct gpu_kernel_launch *k = &t.k[i];
            pager_add(p, 0, "  %.76s", k->name);
            pager_add(p, UI_DIM, "    grid %dx%dx%d  block %dx%dx%d  %d regs  smem %d+%d B  %.4g us", k->grid[0],
                      k->grid[1], k->grid[2], k->block[0], k->block[1], k->block[2], k->registers, k->static_shared,
                      k->dynamic_shared, k->duration_s * 1e6);
        }
        if (t.launches_per_call > t.n)
            pager_add(p, UI_DIM, "  ... %d launches per call, the first %d shown", t.launches_per_call, t.n);
    }

    struct machine_info m;
    if (store_get_machine(a->store, r->run_id, &m) != 0) {
        app_message(a, 1, "%s", store_errmsg(a->store));
        return -1;
    }
    pager_add(p, 0, "%s", "");
    pager_add(p, UI_HEADER, "Environment");
    pager_add(p, 0, "  %-22s %s (machine %s)", "host", m.hostname, m.fingerprint);
    pager_add(p, 0, "  %-22s %s", "cpu", m.cpu_model);
    pager_add(p, 0, "  %-22s %d logical, %d physical%s", "cpus", m.logical_cpus, m.physical_cores,
              m.cpu_mhz > 0 ? "" : ", clock unknown");
    if (m.cpu_mhz > 0)
        pager_add(p, 0, "  %-22s %.0f MHz", "clock", m.cpu_mhz);
    fmt_si((double)m.mem_bytes, "B", buf, sizeof buf);
    pager_add(p, 0, "  %-22s %s", "memory", buf);
    pager_add(p, 0, "  %-22s %s", "simd", m.simd[0] ? m.simd : "-");
    pager_add(p, 0, "  %-22s L1d %lld KiB, L2 %lld KiB, L3 %lld KiB", "caches", m.l1d_bytes / 1024, m.l2_bytes / 1024,
              m.l3_bytes / 1024);
    fmt_si(m.peak_f32_core, "FLOP/s", buf, sizeof buf);
    pager_add(p, 0, "  %-22s %s", "f32 peak, one core", m.peak_f32_core > 0 ? buf : "unknown");
    struct run_cpu_mask mask;
    store_get_run_cpu_mask(a->store, r->run_id, &mask);
    if (*mask.mask) {
        /* the run's roof is this peak, not the machine's */
        fmt_si(mask.peak_f32_core, "FLOP/s", buf, sizeof buf);
        pager_add(p, 0, "  %-22s KBENCH_CPU_FEATURES=%s (%s), f32 peak one core %s", "masked", mask.mask,
                  mask.features, mask.peak_f32_core > 0 ? buf : "unknown");
    }
    pager_add(p, 0, "  %-22s %s", "os", m.os);
    pager_add(p, 0, "  %-22s %s", "gpus", m.gpus[0] ? m.gpus : "none");
    pager_add(p, 0, "  %-22s %s", "compiler", m.compiler);
    pager_add(p, 0, "  %-22s %s", "kbench", m.kbench_version);
    pager_add(p, 0, "  %-22s %s", "PAPI", m.papi_version[0] ? m.papi_version : "-");
    return 0;
}

static int detail_reload(struct app *a, void *st)
{
    struct detail_screen *s = st;
    long top = s->text.top;
    int rc = build(a, s, s->width > 0 ? s->width : COLS);
    s->text.top = top;
    return rc;
}

static void detail_draw(struct app *a, void *st, WINDOW *w)
{
    struct detail_screen *s = st;
    if (getmaxx(w) != s->width) /* the histogram's bars follow the width */
        detail_reload(a, s);
    pager_draw(&s->text, a, w, 0, getmaxy(w));
}

static int detail_key(struct app *a, void *st, int ch)
{
    (void)a;
    return pager_key(&((struct detail_screen *)st)->text, ch);
}

static void detail_export(struct app *a, void *st)
{
    struct detail_screen *s = st;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "kbench-case%" PRId64, s->row.case_id);
    app_export_pager(a, &s->text, prefix, "the detail");
}

static void detail_destroy(void *st)
{
    struct detail_screen *s = st;
    pager_clear(&s->text);
    free(s);
}

static const struct screen_ops detail_ops = {
    .name = "detail",
    .keys = "Up/Down/PgUp/PgDn:scroll e:text",
    .reload = detail_reload,
    .draw = detail_draw,
    .key = detail_key,
    .export_view = detail_export,
    .destroy = detail_destroy,
};

int screen_detail_open(struct app *a, const struct result_row *r)
{
    struct detail_screen *s = calloc(1, sizeof *s);
    if (!s) {
        app_message(a, 1, "out of memory");
        return -1;
    }
    s->row = *r;
    return app_push(a, &detail_ops, s);
}
