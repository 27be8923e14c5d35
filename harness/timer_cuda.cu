/* timer_cuda.cu - the GPU timer (timer_gpu.h) through the CUDA runtime.
 *
 * Events are recorded on the same stream as the kernel's work, so the elapsed time is the GPU's
 * own, free of host scheduling. The cold-L2 flush is a memset of twice the L2 size enqueued
 * before the start event: it evicts the inputs but is not timed. A graph holds `calls` launches
 * so a replay pays one launch for many kernels. */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "harness/timer_gpu.h"
}

struct gpu_timer {
    int device;
    cudaStream_t stream;
    cudaEvent_t start, stop;
    void *flush;
    size_t flush_len;
    unsigned flush_round;
    double l2_bytes;
    /* what a sample runs */
    int (*run)(struct kb_case *);
    struct kb_case *c;
    int calls;
    cudaGraphExec_t graph;
};

static int cuda_fail(cudaError_t e, const char *doing, char *why, size_t whylen)
{
    snprintf(why, whylen, "%s: %s (%s)", doing, cudaGetErrorString(e), cudaGetErrorName(e));
    return -1;
}

extern "C" struct gpu_timer *gpu_timer_new(int device, int cold_l2, char *why, size_t whylen)
{
    struct gpu_timer *t = (struct gpu_timer *)calloc(1, sizeof *t);
    if (!t) {
        snprintf(why, whylen, "out of memory for the GPU timer");
        return NULL;
    }
    t->device = device;
    cudaError_t e = cudaSetDevice(device);
    int l2 = 0;
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device);
    if (e == cudaSuccess)
        e = cudaStreamCreateWithFlags(&t->stream, cudaStreamNonBlocking);
    if (e == cudaSuccess)
        e = cudaEventCreate(&t->start);
    if (e == cudaSuccess)
        e = cudaEventCreate(&t->stop);
    t->l2_bytes = l2;
    if (e == cudaSuccess && cold_l2) {
        t->flush_len = 2 * (size_t)(l2 > 0 ? l2 : 64 << 20);
        e = cudaMalloc(&t->flush, t->flush_len);
    }
    if (e != cudaSuccess) {
        char doing[32];
        snprintf(doing, sizeof doing, "cuda:%d", device);
        cuda_fail(e, doing, why, whylen);
        gpu_timer_free(t);
        return NULL;
    }
    return t;
}

extern "C" void gpu_timer_free(struct gpu_timer *t)
{
    if (!t)
        return;
    /* after a sticky fault these fail; there is nothing better to do than carry on */
    if (t->graph)
        cudaGraphExecDestroy(t->graph);
    if (t->flush)
        cudaFree(t->flush);
    if (t->start)
        cudaEventDestroy(t->start);
    if (t->stop)
        cudaEventDestroy(t->stop);
    if (t->stream)
        cudaStreamDestroy(t->stream);
    free(t);
}

extern "C" void *gpu_timer_stream(const struct gpu_timer *t) { return (void *)t->stream; }
extern "C" double gpu_timer_l2_bytes(const struct gpu_timer *t) { return t->l2_bytes; }

extern "C" int gpu_timer_sync(struct gpu_timer *t, char *why, size_t whylen)
{
    cudaError_t e = cudaStreamSynchronize(t->stream);
    if (e == cudaSuccess)
        e = cudaGetLastError();
    return e == cudaSuccess ? 0 : cuda_fail(e, "the kernel failed on the GPU", why, whylen);
}

extern "C" int gpu_timer_settle(struct gpu_timer *t, char *why, size_t whylen)
{
    (void)t;
    cudaError_t e = cudaDeviceSynchronize();
    if (e == cudaSuccess)
        e = cudaGetLastError();
    return e == cudaSuccess ? 0 : cuda_fail(e, "setup left a failed operation on the GPU", why, whylen);
}

/* One call of the kernel on the next copy of its inputs (kb_case.input_copy), where it keeps
 * several: back-to-back calls then never find their inputs already in L2. */
static int run_next(struct gpu_timer *t)
{
    struct kb_case *c = t->c;
    if (c->input_copies > 1)
        c->input_copy = (c->input_copy + 1) % c->input_copies;
    return t->run(c);
}

/* Captures `calls` calls into a graph; 0, or -1 when the kernel's work cannot be captured
 * (a synchronising call, work on another stream): the stream is left usable either way. */
static int capture(struct gpu_timer *t)
{
    cudaGraph_t g = NULL;
    if (cudaStreamBeginCapture(t->stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    int ok = 1;
    for (int i = 0; i < t->calls && ok; i++)
        ok = run_next(t) == KB_OK;
    cudaError_t e = cudaStreamEndCapture(t->stream, &g);
    if (ok && e == cudaSuccess && g)
        e = cudaGraphInstantiate(&t->graph, g, 0);
    if (g)
        cudaGraphDestroy(g);
    cudaGetLastError(); /* a failed capture leaves a non-sticky error behind */
    t->c->error[0] = '\0';
    if (!ok || e != cudaSuccess || !t->graph) {
        t->graph = NULL;
        return -1;
    }
    return 0;
}

extern "C" int gpu_timer_prepare(struct gpu_timer *t, int (*run)(struct kb_case *), struct kb_case *c,
                                 int calls, int use_graph, char *why, size_t whylen)
{
    if (t->graph) {
        cudaGraphExecDestroy(t->graph);
        t->graph = NULL;
    }
    t->run = run;
    t->c = c;
    t->calls = calls > 0 ? calls : 1;
    if (use_graph && capture(t) == 0) {
        /* the first replay uploads the graph: keep that out of the samples */
        cudaError_t e = cudaGraphLaunch(t->graph, t->stream);
        if (e != cudaSuccess)
            return cuda_fail(e, "graph launch", why, whylen);
        return gpu_timer_sync(t, why, whylen) == 0 ? 1 : -1;
    }
    return 0;
}

extern "C" int gpu_timer_sample(struct gpu_timer *t, double *seconds, char *why, size_t whylen)
{
    cudaError_t e = cudaSuccess;
    if (t->flush) /* different bytes each round, so no layer can skip the writes */
        e = cudaMemsetAsync(t->flush, (int)(++t->flush_round & 0xff), t->flush_len, t->stream);
    if (e == cudaSuccess)
        e = cudaEventRecord(t->start, t->stream);
    if (e != cudaSuccess)
        return cuda_fail(e, "event record", why, whylen);
    if (t->graph) {
        e = cudaGraphLaunch(t->graph, t->stream);
        if (e != cudaSuccess)
            return cuda_fail(e, "graph launch", why, whylen);
    } else {
        for (int i = 0; i < t->calls; i++)
            if (run_next(t) != KB_OK) {
                snprintf(why, whylen, "%s", *t->c->error ? t->c->error : "run failed");
                return -1;
            }
    }
    e = cudaEventRecord(t->stop, t->stream);
    if (e == cudaSuccess)
        e = cudaEventSynchronize(t->stop);
    if (e != cudaSuccess)
        return cuda_fail(e, "the kernel failed on the GPU", why, whylen);
    float ms = 0;
    e = cudaEventElapsedTime(&ms, t->start, t->stop);
    if (e != cudaSuccess)
        return cuda_fail(e, "event elapsed time", why, whylen);
    *seconds = ms * 1e-3 / t->calls;
    return 0;
}

extern "C" int gpu_timer_repeat(struct gpu_timer *t, int times, char *why, size_t whylen)
{
    for (int r = 0; r < times; r++) {
        if (t->graph) {
            cudaError_t e = cudaGraphLaunch(t->graph, t->stream);
            if (e != cudaSuccess)
                return cuda_fail(e, "graph launch", why, whylen);
            continue;
        }
        for (int i = 0; i < t->calls; i++)
            if (run_next(t) != KB_OK) {
                snprintf(why, whylen, "%s", *t->c->error ? t->c->error : "run failed");
                return -1;
            }
    }
    return gpu_timer_sync(t, why, whylen);
}

extern "C" int gpu_timer_calls(const struct gpu_timer *t) { return t->calls; }

extern "C" int gpu_timer_pci_bus_id(const struct gpu_timer *t, char *out, size_t len)
{
    return cudaDeviceGetPCIBusId(out, (int)len, t->device) == cudaSuccess ? 0 : -1;
}
