/* runner_gpu.c - the CUDA half of a case's process (runner_child.h): warm-up, the choice of
 * what one sample runs, event-timed adaptive sampling, then the energy pass (NVML) and the
 * kernel trace (CUPTI), each separate from timing so neither perturbs the samples. */
#include "harness/runner_child.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/cupti_metrics.h"
#include "harness/nvml.h"
#include "harness/python_plugin.h"
#include "harness/stats.h"
#include "harness/timer_gpu.h"

/* A CUDA-graph replay of short kernels lasts at least this many times the minimum sample
 * time, so the one launch it costs is small against it. */
#define GRAPH_SAMPLE_FACTOR 10.0
#define GRAPH_CALLS_MAX 10000
/* The per-call estimate before sampling: the fastest of PROBE_BURSTS bursts of PROBE_CALLS. */
#define PROBE_CALLS 8
#define PROBE_BURSTS 3
/* The energy counter advances in steps of milliseconds; measure over at least this long. */
#define ENERGY_WINDOW_S 0.25

static void gpu_fail(struct child_result *res, const char *when, const char *why)
{
    res->status = CASE_SETUP_FAILED;
    snprintf(res->error, sizeof res->error, "%s: %s", when, why);
}

static int take_gpu_sample(void *ctx, double *per_call, char *why, size_t whylen)
{
    return gpu_timer_sample(ctx, per_call, why, whylen);
}

static int read_nvml_clock(void *ctx, double *sm_mhz, double *max_mhz, unsigned long long *reasons)
{
    return nvml_probe_clock(ctx, sm_mhz, max_mhz, reasons);
}

void runner_sample_gpu(const struct plan_case *pc, const struct runner_options *o, struct kb_case *c,
                       struct gpu_timer *t, struct child_result *res, struct sample_series *out)
{
    const struct kb_kernel *k = pc->kernel;
    char why[256] = "";
    double t0 = runner_now();
    int warm = 0;
    do {
        if (k->run(c) != KB_OK || gpu_timer_sync(t, c->error, sizeof c->error) != 0) {
            gpu_fail(res, "run failed during warm-up", c->error);
            return;
        }
        warm++;
    } while (runner_now() - t0 < o->warmup_s);
    res->warmup_calls = warm;

    /* The time of one call, launches included, decides whether launches need hiding behind a
     * graph: the best of a few short bursts of direct launches (one lone launch can be slowed
     * by the host and would overstate it). */
    double per_call = INFINITY;
    if (gpu_timer_prepare(t, k->run, c, PROBE_CALLS, 0, why, sizeof why) < 0) {
        gpu_fail(res, "run failed during warm-up", why);
        return;
    }
    for (int i = 0; i < PROBE_BURSTS; i++) {
        double x = 0;
        if (gpu_timer_sample(t, &x, why, sizeof why) != 0) {
            gpu_fail(res, "run failed during warm-up", why);
            return;
        }
        per_call = fmin(per_call, x);
    }
    /* A Python implementation's calls pass through the interpreter (tens of microseconds of
     * dispatch each) while the GPU waits, so its direct launches time the host. It gets a graph
     * whenever its work can be captured, and its GPU time per call is measured from replays of
     * that graph; where capture fails (a synchronising call, an allocation) it is timed directly
     * and the cuda_graph_replay counter says so. */
    int python = python_plugin_owns(k), captured = 0;
    if (python && (captured = gpu_timer_prepare(t, k->run, c, 1, 1, why, sizeof why)) < 0) {
        gpu_fail(res, "run failed while preparing samples", why);
        return;
    }
    if (captured) {
        double replayed = INFINITY;
        for (int i = 0; i < PROBE_BURSTS; i++) {
            double x = 0;
            if (gpu_timer_sample(t, &x, why, sizeof why) != 0) {
                gpu_fail(res, "graph replay failed during warm-up", why);
                return;
            }
            replayed = fmin(replayed, x);
        }
        per_call = replayed;
    }
    /* Short kernels run as a graph of many calls per sample. A cold-cache case may too when
     * the kernel rotates its inputs (each call then reads a copy evicted since its last use);
     * otherwise it is one flushed call per sample (the graph of that one call for Python). A
     * Python implementation whose capture failed above is not captured again. */
    int calls = 1, want_graph = captured;
    int rotating = c->input_copies > 1;
    if ((!pc->cold_cache || rotating) && per_call < o->min_sample_s) {
        double target = GRAPH_SAMPLE_FACTOR * o->min_sample_s;
        calls = (int)fmin(GRAPH_CALLS_MAX, ceil(target / fmax(per_call, 1e-7)));
        want_graph = !python || captured;
    }
    /* the one-call graph captured above serves as it is */
    int graph = captured && calls == 1 ? 1 : gpu_timer_prepare(t, k->run, c, calls, want_graph, why, sizeof why);
    if (graph < 0) {
        gpu_fail(res, "run failed while preparing samples", why);
        return;
    }
    res->calls_per_sample = calls;
    counter_report_add(&res->counters, "harness", "cuda_graph_replay", graph == 1, "bool");
    if (rotating)
        counter_report_add(&res->counters, "harness", "input_copies", c->input_copies, "count");
    /* the SM clock after each sample marks those taken under throttling; without NVML the
     * samples' clocks are unknown and all of them count */
    char bus[32], nvml_why[256];
    struct nvml_probe *probe = NULL;
    if (gpu_timer_pci_bus_id(t, bus, sizeof bus) == 0)
        probe = nvml_probe_open(bus, nvml_why, sizeof nvml_why);
    struct runner_clock clock = { read_nvml_clock, probe };
    runner_adaptive_sampling(o, take_gpu_sample, t, probe ? &clock : NULL, res, out);
    nvml_probe_close(probe);
}

static double median_of(const double *x, size_t n)
{
    double *tmp = malloc(n * sizeof *tmp);
    if (!tmp || n == 0) {
        free(tmp);
        return NAN;
    }
    stats_sorted_copy(x, n, tmp);
    double m = stats_quantile_sorted(tmp, n, 0.5);
    free(tmp);
    return m;
}

/* Energy of one call: back-to-back repetitions of the prepared sample (graph replays for
 * short kernels, no cold flush) between two reads of the driver's energy counter. */
static void energy_pass(struct gpu_timer *t, double per_call, struct child_result *res)
{
    char bus[32], why[256] = "";
    if (gpu_timer_pci_bus_id(t, bus, sizeof bus) != 0) {
        snprintf(res->nvml_status, sizeof res->nvml_status, "unavailable: cannot read the GPU's PCI bus id");
        return;
    }
    struct nvml_probe *p = nvml_probe_open(bus, why, sizeof why);
    if (!p) {
        snprintf(res->nvml_status, sizeof res->nvml_status, "unavailable: %s", why);
        return;
    }
    int per_rep = gpu_timer_calls(t);
    double rep_s = fmax(per_call, 1e-7) * per_rep;
    int reps = (int)fmax(1.0, fmin(1e6, ceil(0.02 / rep_s))); /* about 20 ms between checks */
    struct nvml_mark a, b;
    if (nvml_probe_mark(p, &a) != 0) {
        snprintf(res->nvml_status, sizeof res->nvml_status, "unavailable: NVML reads nothing on this GPU");
        nvml_probe_close(p);
        return;
    }
    double calls = 0;
    do {
        if (gpu_timer_repeat(t, reps, why, sizeof why) != 0) {
            snprintf(res->nvml_status, sizeof res->nvml_status, "energy pass failed: %s", why);
            nvml_probe_close(p);
            return;
        }
        calls += (double)reps * per_rep;
    } while (runner_now() - a.t < ENERGY_WINDOW_S);
    nvml_probe_mark(p, &b);
    nvml_probe_report(p, &a, &b, calls, &res->counters);
    snprintf(res->nvml_status, sizeof res->nvml_status, a.have_energy ? "ok" : "ok (no energy counter on this GPU)");
    nvml_probe_close(p);
}

void runner_gpu_passes(const struct runner_options *o, struct kb_case *c, struct gpu_timer *t,
                       const double *samples, struct child_result *res)
{
    /* --no-counters: the timing alone, as for the PAPI pass on the CPU (verification sweeps of
     * hundreds of small cases would otherwise spend most of their time here) */
    if (runner_counters_off(o)) {
        snprintf(res->nvml_status, sizeof res->nvml_status, "not requested (--no-counters)");
        snprintf(res->gpu_trace.status, sizeof res->gpu_trace.status, "not requested (--no-counters)");
        snprintf(res->metrics_status, sizeof res->metrics_status, "not requested (--no-counters)");
        return;
    }
    double per_call = median_of(samples, res->n_samples);
    energy_pass(t, per_call, res);
    /* enough traced calls for a stable median of each launch; fewer when calls are long */
    if (cupti_trace_calls(t, c->kernel->run, c, per_call > 0.02 ? 3 : 11, &res->gpu_trace) == 0)
        counter_report_add(&res->counters, "harness", "traced_call_event_s", res->gpu_trace.event_s, "s");
    /* the range profiler replays one call per pass; last, since it may leave the GPU slower */
    if (runner_metrics_off(o))
        snprintf(res->metrics_status, sizeof res->metrics_status, "not requested (--no-metrics)");
    else
        cupti_metrics_collect(t, c->kernel->run, c, o->cupti_metrics, &res->counters, res->metrics_status,
                              sizeof res->metrics_status);
}
