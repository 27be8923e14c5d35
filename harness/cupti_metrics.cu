/* cupti_metrics.cu - GPU metrics through CUPTI's range profiler and profiler host API
 * (cupti_metrics.h). The host object turns metric names into a configuration image and raw
 * counter data into values; the range profiler collects one user range (one call of the case)
 * over as many replayed passes as the configuration needs. */
#include <cuda_runtime.h>
#include <cupti.h>
#include <cupti_profiler_host.h>
#include <cupti_profiler_target.h>
#include <cupti_range_profiler.h>
#include <cupti_target.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" {
#include "harness/cupti_metrics.h"
#include "harness/timer_gpu.h"
}

extern "C" const char cupti_default_metrics[] =
    "dram__bytes_read.sum,dram__bytes_write.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,"
    "gpu__compute_memory_throughput.avg.pct_of_peak_sustained_elapsed,"
    "sm__warps_active.avg.pct_of_peak_sustained_active,"
    "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,lts__t_sector_hit_rate.pct";

#define METRICS_MAX 32
#define PASSES_MAX 128

struct names {
    char buf[2048];
    const char *v[METRICS_MAX];
    int n;
};

/* Splits a comma-separated list in place; -1 when it has too many or empty names. */
static int split(const char *csv, struct names *l)
{
    memset(l, 0, sizeof *l);
    snprintf(l->buf, sizeof l->buf, "%s", csv);
    for (char *save = NULL, *tok = strtok_r(l->buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!*tok || l->n == METRICS_MAX)
            return -1;
        l->v[l->n++] = tok;
    }
    return l->n > 0 ? 0 : -1;
}

static const char *result_text(CUptiResult r)
{
    const char *s = NULL;
    cuptiGetResultString(r, &s);
    return s ? s : "unknown CUPTI error";
}

static int fail(CUptiResult r, const char *doing, char *why, size_t len)
{
    if (r == CUPTI_ERROR_INSUFFICIENT_PRIVILEGES)
        snprintf(why, len, "profiling not permitted (%s: %s; NVreg_RestrictProfilingToAdminUsers=1 needs root)", doing,
                 result_text(r));
    else
        snprintf(why, len, "%s: %s", doing, result_text(r));
    return -1;
}

static int profiler_init(int device, const char **chip, char *why, size_t len)
{
    CUpti_Profiler_Initialize_Params ip;
    memset(&ip, 0, sizeof ip);
    ip.structSize = CUpti_Profiler_Initialize_Params_STRUCT_SIZE;
    CUptiResult r = cuptiProfilerInitialize(&ip);
    if (r != CUPTI_SUCCESS)
        return fail(r, "cuptiProfilerInitialize", why, len);
    CUpti_Device_GetChipName_Params cp;
    memset(&cp, 0, sizeof cp);
    cp.structSize = CUpti_Device_GetChipName_Params_STRUCT_SIZE;
    cp.deviceIndex = (size_t)device;
    r = cuptiDeviceGetChipName(&cp);
    if (r != CUPTI_SUCCESS)
        return fail(r, "cuptiDeviceGetChipName", why, len);
    *chip = cp.pChipName;
    return 0;
}

static void profiler_deinit(void)
{
    CUpti_Profiler_DeInitialize_Params dp;
    memset(&dp, 0, sizeof dp);
    dp.structSize = CUpti_Profiler_DeInitialize_Params_STRUCT_SIZE;
    cuptiProfilerDeInitialize(&dp);
}

static CUpti_Profiler_Host_Object *host_open(const char *chip, const uint8_t *avail, char *why, size_t len)
{
    CUpti_Profiler_Host_Initialize_Params hp;
    memset(&hp, 0, sizeof hp);
    hp.structSize = CUpti_Profiler_Host_Initialize_Params_STRUCT_SIZE;
    hp.profilerType = CUPTI_PROFILER_TYPE_RANGE_PROFILER;
    hp.pChipName = chip;
    hp.pCounterAvailabilityImage = avail;
    CUptiResult r = cuptiProfilerHostInitialize(&hp);
    if (r != CUPTI_SUCCESS) {
        fail(r, "cuptiProfilerHostInitialize", why, len);
        return NULL;
    }
    return hp.pHostObject;
}

static void host_close(CUpti_Profiler_Host_Object *h)
{
    if (!h)
        return;
    CUpti_Profiler_Host_Deinitialize_Params dp;
    memset(&dp, 0, sizeof dp);
    dp.structSize = CUpti_Profiler_Host_Deinitialize_Params_STRUCT_SIZE;
    dp.pHostObject = h;
    cuptiProfilerHostDeinitialize(&dp);
}

static CUptiResult host_add(CUpti_Profiler_Host_Object *h, const char **names, int n)
{
    CUpti_Profiler_Host_ConfigAddMetrics_Params ap;
    memset(&ap, 0, sizeof ap);
    ap.structSize = CUpti_Profiler_Host_ConfigAddMetrics_Params_STRUCT_SIZE;
    ap.pHostObject = h;
    ap.ppMetricNames = names;
    ap.numMetrics = (size_t)n;
    return cuptiProfilerHostConfigAddMetrics(&ap);
}

/* 1 when this chip can collect the metric (a fresh host object, so one bad name cannot spoil
 * the configuration of the others). */
static int metric_known(const char *chip, const uint8_t *avail, const char *name)
{
    char why[128];
    CUpti_Profiler_Host_Object *h = host_open(chip, avail, why, sizeof why);
    if (!h)
        return 0;
    int ok = host_add(h, &name, 1) == CUPTI_SUCCESS;
    host_close(h);
    return ok;
}

static int edit_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 127 || lb > 127)
        return 1000;
    int prev[128], cur[128];
    for (int j = 0; j <= lb; j++)
        prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (size_t)(lb + 1));
    }
    return prev[lb];
}

/* "nearest: a, b, c" among the chip's base metrics, by edit distance to name's base part. */
static void near_matches(CUpti_Profiler_Host_Object *h, const char *name, char *out, size_t len)
{
    char base[128];
    snprintf(base, sizeof base, "%s", name);
    char *dot = strchr(base, '.');
    if (dot)
        *dot = '\0';
    const char *best[3] = { NULL, NULL, NULL };
    int bestd[3] = { 1 << 30, 1 << 30, 1 << 30 };
    const CUpti_MetricType types[] = { CUPTI_METRIC_TYPE_COUNTER, CUPTI_METRIC_TYPE_RATIO, CUPTI_METRIC_TYPE_THROUGHPUT };
    for (int t = 0; t < 3; t++) {
        CUpti_Profiler_Host_GetBaseMetrics_Params bp;
        memset(&bp, 0, sizeof bp);
        bp.structSize = CUpti_Profiler_Host_GetBaseMetrics_Params_STRUCT_SIZE;
        bp.pHostObject = h;
        bp.metricType = types[t];
        if (cuptiProfilerHostGetBaseMetrics(&bp) != CUPTI_SUCCESS)
            continue;
        for (size_t i = 0; i < bp.numMetrics; i++) {
            int d = edit_distance(base, bp.ppMetricNames[i]);
            for (int k = 0; k < 3; k++)
                if (d < bestd[k]) {
                    for (int m = 2; m > k; m--)
                        best[m] = best[m - 1], bestd[m] = bestd[m - 1];
                    best[k] = bp.ppMetricNames[i];
                    bestd[k] = d;
                    break;
                }
        }
    }
    if (!best[0]) {
        snprintf(out, len, "no metric list for this GPU");
        return;
    }
    snprintf(out, len, "nearest: %s%s%s%s%s (add a rollup such as .sum or .avg.pct_of_peak_sustained_elapsed)",
             best[0], best[1] ? ", " : "", best[1] ? best[1] : "", best[2] ? ", " : "", best[2] ? best[2] : "");
}

/* cuCtxGetCurrent through the runtime's driver entry points (no link-time libcuda). */
typedef int (*ctx_get_current_fn)(void **ctx);
static void *current_context(void)
{
    void *fn = NULL, *ctx = NULL;
    cudaDriverEntryPointQueryResult q;
#if CUDART_VERSION >= 12050
    if (cudaGetDriverEntryPointByVersion("cuCtxGetCurrent", &fn, 12000, cudaEnableDefault, &q) != cudaSuccess)
        return NULL;
#else
    if (cudaGetDriverEntryPoint("cuCtxGetCurrent", &fn, cudaEnableDefault, &q) != cudaSuccess)
        return NULL;
#endif
    if (!fn || ((ctx_get_current_fn)fn)(&ctx) != 0)
        return NULL;
    return ctx;
}

struct collection {
    CUpti_Profiler_Host_Object *host;
    CUpti_RangeProfiler_Object *rp;
    uint8_t *avail, *config, *data;
};

static void collection_free(struct collection *x)
{
    if (x->rp) {
        CUpti_RangeProfiler_Disable_Params dp;
        memset(&dp, 0, sizeof dp);
        dp.structSize = CUpti_RangeProfiler_Disable_Params_STRUCT_SIZE;
        dp.pRangeProfilerObject = x->rp;
        cuptiRangeProfilerDisable(&dp);
    }
    host_close(x->host);
    free(x->avail);
    free(x->config);
    free(x->data);
    profiler_deinit();
}

/* The whole collection; 0, or -1 with why. Metric values are appended to r. */
static int collect(struct collection *x, struct gpu_timer *t, int (*run)(struct kb_case *), struct kb_case *c,
                   const char *csv, struct kb_counter_report *r, char *why, size_t len, char *dropped, size_t dlen)
{
    const char *chip = NULL;
    if (profiler_init(c->device_index, &chip, why, len) != 0)
        return -1;
    CUpti_Profiler_GetCounterAvailability_Params av;
    memset(&av, 0, sizeof av);
    av.structSize = CUpti_Profiler_GetCounterAvailability_Params_STRUCT_SIZE;
    CUptiResult e = cuptiProfilerGetCounterAvailability(&av);
    if (e != CUPTI_SUCCESS)
        return fail(e, "cuptiProfilerGetCounterAvailability", why, len);
    x->avail = (uint8_t *)malloc(av.counterAvailabilityImageSize);
    av.pCounterAvailabilityImage = x->avail;
    if (!x->avail || (e = cuptiProfilerGetCounterAvailability(&av)) != CUPTI_SUCCESS)
        return fail(e, "cuptiProfilerGetCounterAvailability", why, len);

    struct names req, use;
    if (split(csv ? csv : cupti_default_metrics, &req) != 0) {
        snprintf(why, len, "bad metric list '%s'", csv ? csv : "");
        return -1;
    }
    memset(&use, 0, sizeof use);
    dropped[0] = '\0';
    for (int i = 0; i < req.n; i++) {
        if (!csv && !metric_known(chip, x->avail, req.v[i])) { /* the default set adapts to the chip */
            size_t used = strlen(dropped);
            snprintf(dropped + used, dlen - used, "%s%s", used ? ", " : "", req.v[i]);
            continue;
        }
        use.v[use.n++] = req.v[i];
    }
    if (use.n == 0) {
        snprintf(why, len, "none of the metrics exists on %s", chip);
        return -1;
    }
    if (!(x->host = host_open(chip, x->avail, why, len)))
        return -1;
    if ((e = host_add(x->host, use.v, use.n)) != CUPTI_SUCCESS)
        return fail(e, "cuptiProfilerHostConfigAddMetrics", why, len);
    CUpti_Profiler_Host_GetConfigImageSize_Params cs;
    memset(&cs, 0, sizeof cs);
    cs.structSize = CUpti_Profiler_Host_GetConfigImageSize_Params_STRUCT_SIZE;
    cs.pHostObject = x->host;
    if ((e = cuptiProfilerHostGetConfigImageSize(&cs)) != CUPTI_SUCCESS)
        return fail(e, "cuptiProfilerHostGetConfigImageSize", why, len);
    x->config = (uint8_t *)malloc(cs.configImageSize);
    CUpti_Profiler_Host_GetConfigImage_Params ci;
    memset(&ci, 0, sizeof ci);
    ci.structSize = CUpti_Profiler_Host_GetConfigImage_Params_STRUCT_SIZE;
    ci.pHostObject = x->host;
    ci.configImageSize = cs.configImageSize;
    ci.pConfigImage = x->config;
    if (!x->config || (e = cuptiProfilerHostGetConfigImage(&ci)) != CUPTI_SUCCESS)
        return fail(e, "cuptiProfilerHostGetConfigImage", why, len);

    CUpti_RangeProfiler_Enable_Params en;
    memset(&en, 0, sizeof en);
    en.structSize = CUpti_RangeProfiler_Enable_Params_STRUCT_SIZE;
    en.ctx = (CUcontext)current_context();
    if (!en.ctx) {
        snprintf(why, len, "no current CUDA context to profile");
        return -1;
    }
    if ((e = cuptiRangeProfilerEnable(&en)) != CUPTI_SUCCESS)
        return fail(e, "cuptiRangeProfilerEnable", why, len);
    x->rp = en.pRangeProfilerObject;

    CUpti_RangeProfiler_GetCounterDataSize_Params ds;
    memset(&ds, 0, sizeof ds);
    ds.structSize = CUpti_RangeProfiler_GetCounterDataSize_Params_STRUCT_SIZE;
    ds.pRangeProfilerObject = x->rp;
    ds.pMetricNames = use.v;
    ds.numMetrics = (size_t)use.n;
    ds.maxNumOfRanges = 1;
    ds.maxNumRangeTreeNodes = 1;
    if ((e = cuptiRangeProfilerGetCounterDataSize(&ds)) != CUPTI_SUCCESS)
        return fail(e, "cuptiRangeProfilerGetCounterDataSize", why, len);
    x->data = (uint8_t *)malloc(ds.counterDataSize);
    CUpti_RangeProfiler_CounterDataImage_Initialize_Params di;
    memset(&di, 0, sizeof di);
    di.structSize = CUpti_RangeProfiler_CounterDataImage_Initialize_Params_STRUCT_SIZE;
    di.pRangeProfilerObject = x->rp;
    di.counterDataSize = ds.counterDataSize;
    di.pCounterData = x->data;
    if (!x->data || (e = cuptiRangeProfilerCounterDataImageInitialize(&di)) != CUPTI_SUCCESS)
        return fail(e, "cuptiRangeProfilerCounterDataImageInitialize", why, len);

    CUpti_RangeProfiler_SetConfig_Params sc;
    memset(&sc, 0, sizeof sc);
    sc.structSize = CUpti_RangeProfiler_SetConfig_Params_STRUCT_SIZE;
    sc.pRangeProfilerObject = x->rp;
    sc.configSize = cs.configImageSize;
    sc.pConfig = x->config;
    sc.counterDataImageSize = ds.counterDataSize;
    sc.pCounterDataImage = x->data;
    sc.range = CUPTI_UserRange;
    sc.replayMode = CUPTI_UserReplay;
    sc.maxRangesPerPass = 1;
    sc.numNestingLevels = 1;
    sc.minNestingLevel = 1;
    sc.passIndex = 0;
    sc.targetNestingLevel = 1;
    if ((e = cuptiRangeProfilerSetConfig(&sc)) != CUPTI_SUCCESS)
        return fail(e, "cuptiRangeProfilerSetConfig", why, len);

    int all = 0;
    for (int pass = 0; pass < PASSES_MAX && !all; pass++) {
        CUpti_RangeProfiler_Start_Params st;
        memset(&st, 0, sizeof st);
        st.structSize = CUpti_RangeProfiler_Start_Params_STRUCT_SIZE;
        st.pRangeProfilerObject = x->rp;
        if ((e = cuptiRangeProfilerStart(&st)) != CUPTI_SUCCESS)
            return fail(e, "cuptiRangeProfilerStart", why, len);
        CUpti_RangeProfiler_PushRange_Params pu;
        memset(&pu, 0, sizeof pu);
        pu.structSize = CUpti_RangeProfiler_PushRange_Params_STRUCT_SIZE;
        pu.pRangeProfilerObject = x->rp;
        pu.pRangeName = "call";
        if ((e = cuptiRangeProfilerPushRange(&pu)) != CUPTI_SUCCESS)
            return fail(e, "cuptiRangeProfilerPushRange", why, len);
        char serr[200];
        if (run(c) != KB_OK || gpu_timer_sync(t, serr, sizeof serr) != 0) {
            snprintf(why, len, "a profiled call failed: %.150s", *c->error ? c->error : serr);
            return -1;
        }
        CUpti_RangeProfiler_PopRange_Params po;
        memset(&po, 0, sizeof po);
        po.structSize = CUpti_RangeProfiler_PopRange_Params_STRUCT_SIZE;
        po.pRangeProfilerObject = x->rp;
        if ((e = cuptiRangeProfilerPopRange(&po)) != CUPTI_SUCCESS)
            return fail(e, "cuptiRangeProfilerPopRange", why, len);
        CUpti_RangeProfiler_Stop_Params sp;
        memset(&sp, 0, sizeof sp);
        sp.structSize = CUpti_RangeProfiler_Stop_Params_STRUCT_SIZE;
        sp.pRangeProfilerObject = x->rp;
        if ((e = cuptiRangeProfilerStop(&sp)) != CUPTI_SUCCESS)
            return fail(e, "cuptiRangeProfilerStop", why, len);
        all = sp.isAllPassSubmitted;
    }
    if (!all) {
        snprintf(why, len, "the metrics need more than %d passes", PASSES_MAX);
        return -1;
    }
    CUpti_RangeProfiler_DecodeData_Params dd;
    memset(&dd, 0, sizeof dd);
    dd.structSize = CUpti_RangeProfiler_DecodeData_Params_STRUCT_SIZE;
    dd.pRangeProfilerObject = x->rp;
    if ((e = cuptiRangeProfilerDecodeData(&dd)) != CUPTI_SUCCESS)
        return fail(e, "cuptiRangeProfilerDecodeData", why, len);

    double values[METRICS_MAX];
    CUpti_Profiler_Host_EvaluateToGpuValues_Params ev;
    memset(&ev, 0, sizeof ev);
    ev.structSize = CUpti_Profiler_Host_EvaluateToGpuValues_Params_STRUCT_SIZE;
    ev.pHostObject = x->host;
    ev.pCounterDataImage = x->data;
    ev.counterDataImageSize = ds.counterDataSize;
    ev.rangeIndex = 0;
    ev.ppMetricNames = use.v;
    ev.numMetrics = (size_t)use.n;
    ev.pMetricValues = values;
    if ((e = cuptiProfilerHostEvaluateToGpuValues(&ev)) != CUPTI_SUCCESS)
        return fail(e, "cuptiProfilerHostEvaluateToGpuValues", why, len);
    for (int i = 0; i < use.n; i++) {
        CUpti_Profiler_Host_GetMetricProperties_Params mp;
        memset(&mp, 0, sizeof mp);
        mp.structSize = CUpti_Profiler_Host_GetMetricProperties_Params_STRUCT_SIZE;
        mp.pHostObject = x->host;
        mp.pMetricName = use.v[i];
        const char *unit = "";
        if (cuptiProfilerHostGetMetricProperties(&mp) == CUPTI_SUCCESS && mp.pDimUnit)
            unit = mp.pDimUnit;
        if (strstr(use.v[i], ".pct"))
            unit = "%";
        counter_report_add(r, "cupti", use.v[i], values[i], unit);
    }
    return 0;
}

extern "C" int cupti_metrics_collect(struct gpu_timer *t, int (*run)(struct kb_case *), struct kb_case *c,
                                     const char *metrics_csv, struct kb_counter_report *r, char *status, size_t len)
{
    struct collection x;
    memset(&x, 0, sizeof x);
    char why[256] = "", dropped[256] = "";
    int rc = collect(&x, t, run, c, metrics_csv, r, why, sizeof why, dropped, sizeof dropped);
    collection_free(&x);
    if (rc != 0)
        snprintf(status, len, "unavailable: %.200s", why);
    else if (*dropped)
        snprintf(status, len, "ok (this GPU lacks %.160s)", dropped);
    else
        snprintf(status, len, "ok");
    return rc;
}

/* In the child: the message for the first unknown name, or "" when all are known. */
static void validate_here(const char *csv, int device, char *msg, size_t len)
{
    const char *chip = NULL;
    struct names req;
    if (split(csv, &req) != 0) {
        snprintf(msg, len, "--metrics: bad list '%s' (comma-separated names, at most %d)", csv, METRICS_MAX);
        return;
    }
    char why[256];
    /* the profiler needs an initialised driver and a context on the device */
    cudaError_t ce = cudaSetDevice(device);
    if (ce == cudaSuccess)
        ce = cudaFree(0);
    if (ce != cudaSuccess) {
        snprintf(msg, len, "--metrics: cuda:%d: %s", device, cudaGetErrorString(ce));
        return;
    }
    if (profiler_init(device, &chip, why, sizeof why) != 0) {
        snprintf(msg, len, "--metrics: cannot list the metrics of cuda:%d: %s", device, why);
        return;
    }
    CUpti_Profiler_Host_Object *h = host_open(chip, NULL, why, sizeof why);
    if (!h) {
        snprintf(msg, len, "--metrics: %s", why);
        profiler_deinit();
        return;
    }
    for (int i = 0; i < req.n; i++) {
        if (metric_known(chip, NULL, req.v[i]))
            continue;
        char near[400];
        near_matches(h, req.v[i], near, sizeof near);
        snprintf(msg, len, "--metrics: unknown metric '%s' on %s; %s", req.v[i], chip, near);
        break;
    }
    host_close(h);
    profiler_deinit();
}

extern "C" int cupti_metrics_validate(const char *metrics_csv, int device, char *err, size_t errlen)
{
    if (!metrics_csv || !*metrics_csv)
        return 0;
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(err, errlen, "--metrics: pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "--metrics: fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        char msg[768] = "";
        validate_here(metrics_csv, device, msg, sizeof msg);
        ssize_t w = write(fds[1], msg, sizeof msg);
        _exit(w == (ssize_t)sizeof msg ? 0 : 1);
    }
    close(fds[1]);
    char msg[768];
    size_t got = 0;
    while (got < sizeof msg) {
        ssize_t n = read(fds[0], msg + got, sizeof msg - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got != sizeof msg) {
        snprintf(err, errlen, "--metrics: the process checking the metric names died");
        return -1;
    }
    msg[sizeof msg - 1] = '\0';
    if (*msg) {
        snprintf(err, errlen, "%s", msg);
        return -1;
    }
    return 0;
}
