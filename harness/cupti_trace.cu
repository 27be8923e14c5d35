/* cupti_trace.cu - kernel activity records through CUPTI (cupti_trace.h).
 *
 * CUPTI hands records over in buffers it asks for and returns through two callbacks; the
 * callbacks are process-wide, so the records gathered land in one file-scope collection. A
 * case's process traces once, so that is the only state kept between calls. */
#include <cuda_runtime.h>
#include <cupti.h>
#include <cxxabi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "harness/cupti_trace.h"
#include "harness/timer_gpu.h"
}

/* The kernel record layout of the CUPTI this was built with (the newest version is emitted). */
#if CUPTI_API_VERSION >= 130000
typedef CUpti_ActivityKernel10 kernel_record;
#else
typedef CUpti_ActivityKernel9 kernel_record;
#endif

#define TRACE_RECORDS_MAX 4096
#define TRACE_BUFFER_BYTES (4u << 20)

struct raw_launch {
    unsigned long long start, end;
    struct gpu_kernel_launch k;
};

static struct raw_launch *collected; /* TRACE_RECORDS_MAX entries while tracing */
static int n_collected, n_dropped;

static void CUPTIAPI buffer_requested(uint8_t **buffer, size_t *size, size_t *max_records)
{
    *buffer = (uint8_t *)aligned_alloc(8, TRACE_BUFFER_BYTES);
    *size = *buffer ? TRACE_BUFFER_BYTES : 0;
    *max_records = 0;
}

static void demangle(const char *mangled, char *out, size_t len)
{
    int st = -1;
    char *d = abi::__cxa_demangle(mangled, NULL, NULL, &st);
    snprintf(out, len, "%s", st == 0 && d ? d : mangled);
    free(d);
}

static void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream, uint8_t *buffer, size_t size, size_t valid)
{
    (void)ctx;
    (void)stream;
    (void)size;
    CUpti_Activity *rec = NULL;
    while (cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) {
        if (rec->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL && rec->kind != CUPTI_ACTIVITY_KIND_KERNEL)
            continue;
        if (!collected || n_collected >= TRACE_RECORDS_MAX) {
            n_dropped++;
            continue;
        }
        const kernel_record *kr = (const kernel_record *)rec;
        struct raw_launch *r = &collected[n_collected++];
        r->start = kr->start;
        r->end = kr->end;
        demangle(kr->name ? kr->name : "?", r->k.name, sizeof r->k.name);
        r->k.grid[0] = kr->gridX, r->k.grid[1] = kr->gridY, r->k.grid[2] = kr->gridZ;
        r->k.block[0] = kr->blockX, r->k.block[1] = kr->blockY, r->k.block[2] = kr->blockZ;
        r->k.registers = kr->registersPerThread;
        r->k.static_shared = kr->staticSharedMemory;
        r->k.dynamic_shared = kr->dynamicSharedMemory;
        r->k.duration_s = (double)(kr->end - kr->start) * 1e-9;
    }
    free(buffer);
}

static int by_start(const void *a, const void *b)
{
    const struct raw_launch *x = (const struct raw_launch *)a, *y = (const struct raw_launch *)b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cupti_failed(CUptiResult r, const char *doing, struct gpu_trace *out)
{
    const char *s = NULL;
    cuptiGetResultString(r, &s);
    snprintf(out->status, sizeof out->status, "%s: %s", doing, s ? s : "unknown CUPTI error");
    return -1;
}

/* Launch i of every call lines up when each call launches the same kernels: position i's
 * duration is the median over calls. */
static void summarize(int calls, struct gpu_trace *out)
{
    qsort(collected, (size_t)n_collected, sizeof *collected, by_start);
    int per_call = n_collected / calls;
    out->launches_per_call = per_call;
    out->n = per_call < GPU_TRACE_MAX ? per_call : GPU_TRACE_MAX;
    double *d = (double *)malloc((size_t)calls * sizeof *d);
    for (int i = 0; i < out->n; i++) {
        out->k[i] = collected[i].k;
        if (!d)
            continue;
        for (int j = 0; j < calls; j++)
            d[j] = collected[(size_t)j * per_call + i].k.duration_s;
        qsort(d, (size_t)calls, sizeof *d, by_value);
        out->k[i].duration_s = calls % 2 ? d[calls / 2] : 0.5 * (d[calls / 2 - 1] + d[calls / 2]);
    }
    free(d);
}

extern "C" int cupti_trace_calls(struct gpu_timer *t, int (*run)(struct kb_case *), struct kb_case *c, int calls,
                                 struct gpu_trace *out)
{
    memset(out, 0, sizeof *out);
    char why[256];
    double *ev = NULL;
    if (calls < 1)
        calls = 1;
    collected = (struct raw_launch *)calloc(TRACE_RECORDS_MAX, sizeof *collected);
    if (!collected) {
        snprintf(out->status, sizeof out->status, "out of memory for the kernel trace");
        return -1;
    }
    n_collected = n_dropped = 0;
    int rc = -1;
    CUptiResult r = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed);
    if (r != CUPTI_SUCCESS) {
        cupti_failed(r, "cuptiActivityRegisterCallbacks", out);
        goto done;
    }
    r = cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
    if (r != CUPTI_SUCCESS) {
        cupti_failed(r, "cuptiActivityEnable", out);
        goto done;
    }
    /* each traced call is also timed with events, so the two clocks see the very same calls */
    ev = (double *)calloc((size_t)calls, sizeof *ev);
    if (!ev || gpu_timer_prepare(t, run, c, 1, 0, why, sizeof why) != 0)
        snprintf(out->status, sizeof out->status, "cannot time the traced calls: %.150s", ev ? why : "out of memory");
    for (int i = 0; i < calls && !*out->status; i++)
        if (gpu_timer_sample(t, &ev[i], why, sizeof why) != 0)
            snprintf(out->status, sizeof out->status, "a traced call failed: %.160s", why);
    if (!*out->status) {
        qsort(ev, (size_t)calls, sizeof *ev, by_value);
        out->event_s = calls % 2 ? ev[calls / 2] : 0.5 * (ev[calls / 2 - 1] + ev[calls / 2]);
    }
    if (!*out->status && gpu_timer_sync(t, why, sizeof why) != 0)
        snprintf(out->status, sizeof out->status, "%.180s", why);
    cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
    cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
    if (*out->status)
        goto done;
    out->calls = calls;
    if (n_collected == 0) {
        snprintf(out->status, sizeof out->status, "no kernel activity recorded (%d dropped)", n_dropped);
        goto done;
    }
    summarize(calls, out);
    if (n_collected % calls != 0 || n_dropped)
        snprintf(out->status, sizeof out->status, "partial: %d launches over %d calls (%d dropped), not the same each call",
                 n_collected, calls, n_dropped);
    else
        snprintf(out->status, sizeof out->status, "ok");
    rc = 0;
done:
    free(ev);
    free(collected);
    collected = NULL;
    return rc;
}
