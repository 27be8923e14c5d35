/* calibrate_nccl.c - `kbench calibrate --span`: the all-reduce and all-to-all bandwidth of a
 * span of GPUs through NCCL, stored as ceilings of its first GPU named per span
 * (allreduce_busbw_span2, alltoall_algbw_span8, ...).
 *
 * The two figures are nccl-tests' (its PERFORMANCE.md), for S bytes per rank and time t:
 *   algbw = S / t
 *   busbw = algbw · 2(n-1)/n for all-reduce (each rank sends and receives that share twice:
 *           reduce-scatter then all-gather), algbw · (n-1)/n for all-to-all (the share that
 *           leaves the rank)
 * busbw is the figure to hold against the links' bandwidth whatever n is; at span 1 it is 0,
 * so only algbw (a copy within the GPU) is stored there. The all-to-all is grouped
 * ncclSend/ncclRecv of S/n bytes to each peer (what moe.layer@cuda.ep does, unevenly).
 * One process drives the span (ncclCommInitAll), NVLink multicast off. */
#include "harness/calibrate.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#ifdef HAVE_NCCL
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes" /* ncclGroupStart() without (void) in some releases */
#include <nccl.h>
#pragma GCC diagnostic pop
#endif

/* the most GPUs one measurement spans (as kb_shape.span's range) */
#define SPAN_MAX 64

#ifdef HAVE_NCCL
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct bench {
    int n, first;
    ncclComm_t comm[SPAN_MAX];
    cudaStream_t stream[SPAN_MAX];
    float *send[SPAN_MAX], *recv[SPAN_MAX];
    size_t count; /* floats per rank */
};

/* one collective over every rank: 0 all-reduce, 1 all-to-all */
static int once(struct bench *b, int which)
{
    if (ncclGroupStart() != ncclSuccess)
        return -1;
    int bad = 0;
    size_t share = b->count / (size_t)b->n;
    for (int r = 0; r < b->n && !bad; r++) {
        if (which == 0) {
            bad = ncclAllReduce(b->send[r], b->recv[r], b->count, ncclFloat, ncclSum, b->comm[r], b->stream[r]) !=
                  ncclSuccess;
            continue;
        }
        for (int q = 0; q < b->n && !bad; q++)
            bad = ncclSend(b->send[r] + (size_t)q * share, share, ncclFloat, q, b->comm[r], b->stream[r]) != ncclSuccess ||
                  ncclRecv(b->recv[r] + (size_t)q * share, share, ncclFloat, q, b->comm[r], b->stream[r]) != ncclSuccess;
    }
    return ncclGroupEnd() != ncclSuccess || bad ? -1 : 0;
}

static int sync_all(struct bench *b)
{
    for (int r = 0; r < b->n; r++)
        if (cudaSetDevice(b->first + r) != cudaSuccess || cudaStreamSynchronize(b->stream[r]) != cudaSuccess)
            return -1;
    return 0;
}

/* seconds per collective: the best of `repeats` batches of about `seconds` each */
static double time_one(struct bench *b, int which, double seconds, int repeats)
{
    for (int i = 0; i < 3; i++) /* warm-up: NCCL sets up its channels on the first calls */
        if (once(b, which) != 0)
            return -1;
    if (sync_all(b) != 0)
        return -1;
    double t0 = now();
    if (once(b, which) != 0 || sync_all(b) != 0)
        return -1;
    double one = now() - t0;
    int calls = one > 0 ? (int)(seconds / one) : 10;
    calls = calls < 1 ? 1 : calls > 1000 ? 1000 : calls;
    double best = -1;
    for (int rep = 0; rep < repeats; rep++) {
        t0 = now();
        for (int i = 0; i < calls; i++)
            if (once(b, which) != 0)
                return -1;
        if (sync_all(b) != 0)
            return -1;
        double per = (now() - t0) / calls;
        if (best < 0 || per < best)
            best = per;
    }
    return best;
}

static void emit(ceiling_fn fn, void *ctx, int first, const char *name, int span, double value, const char *method,
                 size_t bytes)
{
    struct ceiling c = { 0 };
    snprintf(c.device, sizeof c.device, "cuda:%d", first);
    snprintf(c.name, sizeof c.name, "%s_span%d", name, span);
    c.value = value;
    snprintf(c.unit, sizeof c.unit, "B/s");
    snprintf(c.method, sizeof c.method, "NCCL %s over cuda:%d..cuda:%d, %.0f MiB per rank, nccl-tests' formula",
             method, first, first + span - 1, bytes / 1048576.0);
    fn(&c, ctx);
}
#endif

int calibrate_span(int first, int span, const struct calibrate_options *opt, ceiling_fn fn, void *ctx, char *why,
                   size_t whylen)
{
    int gpus = 0;
    if (cudaGetDeviceCount(&gpus) != cudaSuccess)
        gpus = 0;
    if (span < 1 || span > SPAN_MAX || first < 0 || first + span > gpus) {
        snprintf(why, whylen, "span %d from cuda:%d cannot be tested here: needs %d GPUs, this machine has %d", span,
                 first, first + span, gpus);
        return -1;
    }
#ifndef HAVE_NCCL
    (void)opt, (void)fn, (void)ctx;
    snprintf(why, whylen, "span %d: kbench was built without NCCL (configure --with-nccl)", span);
    return -1;
#else
    struct bench b = { .n = span, .first = first };
    /* 256 MiB per rank reaches the links' plateau (nccl-tests' curves flatten from about
     * 64 MiB); a multiple of span so the all-to-all's shares are whole */
    b.count = (size_t)64 * 1024 * 1024 / (size_t)span * (size_t)span;
    const size_t bytes = b.count * sizeof(float);
    int devs[SPAN_MAX];
    for (int r = 0; r < span; r++)
        devs[r] = first + r;
    /* NVLink multicast off unless the user set it: its objects can outlive a killed process
     * and take a shared host's GPUs out of service (kernels/gpu/span.c does the same) */
    setenv("NCCL_NVLS_ENABLE", "0", 0);
    int rc = -1;
    if (ncclCommInitAll(b.comm, span, devs) != ncclSuccess) {
        snprintf(why, whylen, "span %d: ncclCommInitAll failed", span);
        return -1;
    }
    cudaError_t e = cudaSuccess;
    for (int r = 0; r < span && e == cudaSuccess; r++) {
        e = cudaSetDevice(devs[r]);
        if (e == cudaSuccess)
            e = cudaStreamCreateWithFlags(&b.stream[r], cudaStreamNonBlocking);
        if (e == cudaSuccess)
            e = cudaMalloc((void **)&b.send[r], bytes);
        if (e == cudaSuccess)
            e = cudaMalloc((void **)&b.recv[r], bytes);
        if (e == cudaSuccess)
            e = cudaMemset(b.send[r], 0, bytes);
    }
    if (e != cudaSuccess) {
        snprintf(why, whylen, "span %d: %s", span, cudaGetErrorString(e));
        goto out;
    }
    double seconds = opt && opt->seconds > 0 ? opt->seconds : 0.2;
    int repeats = opt && opt->repeats > 0 ? opt->repeats : 3;
    const char *names[2] = { "all-reduce", "all-to-all" }, *keys[2] = { "allreduce", "alltoall" };
    for (int which = 0; which < 2; which++) {
        double t = time_one(&b, which, seconds, repeats);
        if (!(t > 0)) {
            snprintf(why, whylen, "span %d: the %s failed", span, names[which]);
            goto out;
        }
        double algbw = (double)bytes / t;
        double factor = which == 0 ? 2.0 * (span - 1) / span : (double)(span - 1) / span;
        char key[32];
        snprintf(key, sizeof key, "%s_algbw", keys[which]);
        emit(fn, ctx, first, key, span, algbw, names[which], bytes);
        if (span > 1) {
            snprintf(key, sizeof key, "%s_busbw", keys[which]);
            emit(fn, ctx, first, key, span, algbw * factor, names[which], bytes);
        }
    }
    rc = 0;
out:
    for (int r = 0; r < span; r++) {
        cudaSetDevice(devs[r]);
        cudaFree(b.send[r]);
        cudaFree(b.recv[r]);
        if (b.stream[r])
            cudaStreamDestroy(b.stream[r]);
        if (b.comm[r])
            ncclCommDestroy(b.comm[r]);
    }
    cudaSetDevice(first);
    return rc;
#endif
}
