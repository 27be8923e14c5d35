/* span.c - the NCCL communicator of a case spanning several GPUs (span.h). */
#include "kernels/gpu/span.h"

#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "kernels/gpu/nccl_include.h"

void kb_span_nvls_off(void)
{
    /* NVLink SHARP (multicast) lets NCCL reserve multicast objects that a crashed or killed
     * process can leave behind, taking a shared host's GPUs out of service until a reset; the
     * collectives kbench measures do not need it. The user may still turn it on explicitly. */
    setenv("NCCL_NVLS_ENABLE", "0", 0);
}

#ifdef HAVE_NCCL
static int fail_cuda(cudaError_t e, const char *doing, char *err, size_t errlen)
{
    snprintf(err, errlen, "span: %s: %s", doing, cudaGetErrorString(e));
    return KB_ERROR;
}
#endif

int kb_span_open(struct kb_span *sp, const struct kb_case *c, char *err, size_t errlen)
{
    memset(sp, 0, sizeof *sp);
    int ranks = c->shape.span > 0 ? c->shape.span : 1;
    if (ranks > KB_SPAN_MAX) {
        snprintf(err, errlen, "span %d: at most %d GPUs", ranks, KB_SPAN_MAX);
        return KB_UNSUPPORTED;
    }
    int gpus = 0;
    if (cudaGetDeviceCount(&gpus) != cudaSuccess)
        gpus = 0;
    if (c->device_index + ranks > gpus) {
        snprintf(err, errlen, "cannot be tested here: needs %d GPUs, this machine has %d", c->device_index + ranks,
                 gpus);
        return KB_UNSUPPORTED;
    }
#ifndef HAVE_NCCL
    snprintf(err, errlen, "cannot be tested here: kbench was built without NCCL (configure --with-nccl)");
    return KB_UNSUPPORTED;
#else
    sp->ranks = ranks;
    sp->first = c->device_index;
    kb_span_nvls_off();
    int devs[KB_SPAN_MAX];
    for (int r = 0; r < ranks; r++)
        devs[r] = sp->first + r;
    ncclComm_t comms[KB_SPAN_MAX];
    ncclResult_t nr = ncclCommInitAll(comms, ranks, devs);
    if (nr != ncclSuccess) {
        snprintf(err, errlen, "span: ncclCommInitAll over %d GPUs: %s", ranks, ncclGetErrorString(nr));
        sp->ranks = 0;
        return KB_ERROR;
    }
    for (int r = 0; r < ranks; r++)
        sp->comm[r] = comms[r];
    sp->stream[0] = c->stream;
    cudaError_t e = cudaSuccess;
    for (int r = 0; r < ranks && e == cudaSuccess; r++) {
        e = cudaSetDevice(devs[r]);
        if (e == cudaSuccess && r > 0)
            e = cudaStreamCreateWithFlags((cudaStream_t *)&sp->stream[r], cudaStreamNonBlocking);
        if (e == cudaSuccess)
            e = cudaEventCreate((cudaEvent_t *)&sp->begin[r]);
        if (e == cudaSuccess)
            e = cudaEventCreate((cudaEvent_t *)&sp->end[r]);
    }
    cudaSetDevice(sp->first);
    if (e != cudaSuccess) {
        kb_span_close(sp);
        return fail_cuda(e, "creating the streams and events", err, errlen);
    }
    return KB_OK;
#endif
}

int kb_span_capturing(const struct kb_case *c)
{
    enum cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing((cudaStream_t)c->stream, &st) != cudaSuccess)
        return 0;
    return st != cudaStreamCaptureStatusNone;
}

int kb_span_fork(struct kb_span *sp)
{
    cudaError_t e = cudaSetDevice(sp->first);
    if (e == cudaSuccess)
        e = cudaEventRecord((cudaEvent_t)sp->begin[0], (cudaStream_t)sp->stream[0]);
    for (int r = 1; r < sp->ranks && e == cudaSuccess; r++) {
        e = cudaSetDevice(sp->first + r);
        if (e == cudaSuccess)
            e = cudaStreamWaitEvent((cudaStream_t)sp->stream[r], (cudaEvent_t)sp->begin[0], 0);
        if (e == cudaSuccess)
            e = cudaEventRecord((cudaEvent_t)sp->begin[r], (cudaStream_t)sp->stream[r]);
    }
    cudaSetDevice(sp->first);
    return (int)e;
}

int kb_span_join(struct kb_span *sp)
{
    cudaError_t e = cudaSuccess;
    for (int r = sp->ranks - 1; r >= 0 && e == cudaSuccess; r--) {
        e = cudaSetDevice(sp->first + r);
        if (e == cudaSuccess)
            e = cudaEventRecord((cudaEvent_t)sp->end[r], (cudaStream_t)sp->stream[r]);
    }
    if (e == cudaSuccess)
        e = cudaSetDevice(sp->first);
    for (int r = 1; r < sp->ranks && e == cudaSuccess; r++)
        e = cudaStreamWaitEvent((cudaStream_t)sp->stream[0], (cudaEvent_t)sp->end[r], 0);
    return (int)e;
}

double kb_span_rank_seconds(const struct kb_span *sp, int r)
{
    float ms = -1;
    if (r < 0 || r >= sp->ranks || cudaSetDevice(sp->first + r) != cudaSuccess)
        return -1;
    if (cudaEventSynchronize((cudaEvent_t)sp->end[r]) != cudaSuccess ||
        cudaEventElapsedTime(&ms, (cudaEvent_t)sp->begin[r], (cudaEvent_t)sp->end[r]) != cudaSuccess)
        ms = -1;
    cudaSetDevice(sp->first);
    return ms < 0 ? -1 : ms * 1e-3;
}

int kb_span_stats(const struct kb_span *sp, struct kb_counter *out, int max)
{
    int n = 0;
    for (int r = 0; r < sp->ranks && n < max; r++) {
        double s = kb_span_rank_seconds(sp, r);
        if (s < 0)
            continue;
        snprintf(out[n].name, sizeof out[n].name, "rank%d_s", r);
        out[n].value = s;
        snprintf(out[n].unit, sizeof out[n].unit, "s");
        n++;
    }
    if (n < max) {
        snprintf(out[n].name, sizeof out[n].name, "nccl_bytes");
        out[n].value = sp->bytes_moved;
        snprintf(out[n].unit, sizeof out[n].unit, "bytes");
        n++;
    }
    if (n < max) {
        snprintf(out[n].name, sizeof out[n].name, "span");
        out[n].value = sp->ranks;
        snprintf(out[n].unit, sizeof out[n].unit, "count");
        n++;
    }
    return n;
}

void kb_span_close(struct kb_span *sp)
{
    for (int r = 0; r < sp->ranks; r++) {
        cudaSetDevice(sp->first + r);
        if (r > 0 && sp->stream[r])
            cudaStreamDestroy((cudaStream_t)sp->stream[r]);
        if (sp->begin[r])
            cudaEventDestroy((cudaEvent_t)sp->begin[r]);
        if (sp->end[r])
            cudaEventDestroy((cudaEvent_t)sp->end[r]);
#ifdef HAVE_NCCL
        if (sp->comm[r])
            ncclCommDestroy((ncclComm_t)sp->comm[r]);
#endif
    }
    if (sp->ranks)
        cudaSetDevice(sp->first);
    memset(sp, 0, sizeof *sp);
}

int kb_span_state_open(struct kb_case *c, size_t state_bytes, const char *kernel, char *err, size_t errlen)
{
    struct kb_span *sp = calloc(1, state_bytes);
    if (!sp) {
        snprintf(err, errlen, "%s: out of memory", kernel);
        return KB_ERROR;
    }
    int rc = kb_span_open(sp, c, err, errlen);
    if (rc != KB_OK) {
        free(sp);
        return rc;
    }
    c->state = sp;
    return KB_OK;
}

void kb_span_state_close(struct kb_case *c)
{
    struct kb_span *sp = c->state;
    kb_span_close(sp);
    free(sp);
    c->state = NULL;
}

int kb_span_case_stats(const struct kb_case *c, struct kb_counter *out, int max)
{
    const struct kb_span *sp = c->state;
    return sp ? kb_span_stats(sp, out, max) : 0;
}

int kb_span_refuse_capture(struct kb_case *c, const char *kernel)
{
    if (!kb_span_capturing(c))
        return 0;
    snprintf(c->error, sizeof c->error, "%s: not captured into a CUDA graph (timed call by call)", kernel);
    return 1;
}

int kb_span_rank_sync(const struct kb_span *sp, int r)
{
    cudaError_t e = cudaSetDevice(sp->first + r);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize((cudaStream_t)sp->stream[r]);
    return (int)e;
}
