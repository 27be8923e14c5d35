/* gpu_cuda.cu - the GPU interface through the CUDA runtime: device count and properties.
 *
 * The queries run in a short-lived child process. A process that has touched the CUDA runtime
 * cannot use CUDA in the children it forks afterwards, and kbench forks one child per case:
 * the harness process itself must never initialise CUDA. One child answers for every device. */
#include <cuda_runtime.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" {
#include "harness/gpu.h"
#include "harness/nvml.h"
}

struct gpu_answer {
    int rc;            /* device count, or -1 on failure */
    char why[256];
    struct gpu_info info[GPU_LIST_MAX];
};

static void describe(int index, struct gpu_info *out)
{
    cudaDeviceProp p;
    memset(out, 0, sizeof *out);
    out->index = index;
    if (cudaGetDeviceProperties(&p, index) != cudaSuccess) {
        snprintf(out->name, sizeof out->name, "(cannot read its properties)");
        return;
    }
    snprintf(out->name, sizeof out->name, "%.127s", p.name);
    out->cc_major = p.major;
    out->cc_minor = p.minor;
    out->sms = p.multiProcessorCount;
    out->mem_bytes = (double)p.totalGlobalMem;
    out->l2_bytes = (double)p.l2CacheSize;
    out->smem_per_block = (double)p.sharedMemPerBlockOptin;
    out->mem_bus_bits = p.memoryBusWidth;
    /* the clock fields left cudaDeviceProp in CUDA 13: ask by attribute */
    int khz = 0;
    if (cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, index) == cudaSuccess)
        out->sm_clock_mhz = khz / 1000.0;
    if (cudaDeviceGetAttribute(&khz, cudaDevAttrMemoryClockRate, index) == cudaSuccess)
        out->mem_clock_mhz = khz / 1000.0;
    cudaDriverGetVersion(&out->driver_version);
    cudaRuntimeGetVersion(&out->runtime_version);
}

static void ask_runtime(struct gpu_answer *a)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice) {
        /* what cudart says on a machine without an NVIDIA driver or GPU is cryptic: say it plainly */
        snprintf(a->why, sizeof a->why, "no NVIDIA GPU or driver on this machine (CUDA runtime: %s)",
                 cudaGetErrorString(e));
        a->rc = -1;
        return;
    }
    if (e != cudaSuccess) {
        snprintf(a->why, sizeof a->why, "%s", cudaGetErrorString(e));
        a->rc = -1;
        return;
    }
    if (n == 0)
        snprintf(a->why, sizeof a->why, "no CUDA devices visible");
    char driver[32] = "", why[128];
    if (n > 0)
        nvml_driver_version(driver, sizeof driver, why, sizeof why);
    for (int i = 0; i < n && i < GPU_LIST_MAX; i++) {
        describe(i, &a->info[i]);
        snprintf(a->info[i].driver, sizeof a->info[i].driver, "%s", driver);
    }
    a->rc = n;
}

/* Runs ask_runtime in a child and returns its answer. */
static void ask(struct gpu_answer *a)
{
    memset(a, 0, sizeof *a);
    a->rc = -1;
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(a->why, sizeof a->why, "cannot query GPUs: pipe: %s", strerror(errno));
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(a->why, sizeof a->why, "cannot query GPUs: fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        static struct gpu_answer mine; /* large: keep it off the stack */
        memset(&mine, 0, sizeof mine);
        ask_runtime(&mine);
        ssize_t w = write(fds[1], &mine, sizeof mine);
        _exit(w == (ssize_t)sizeof mine ? 0 : 1);
    }
    close(fds[1]);
    size_t got = 0;
    char *buf = (char *)a;
    while (got < sizeof *a) {
        ssize_t r = read(fds[0], buf + got, sizeof *a - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (got != sizeof *a) {
        memset(a, 0, sizeof *a);
        a->rc = -1;
        snprintf(a->why, sizeof a->why, "the GPU query process died (status %d)", status);
    }
}

extern "C" int gpu_list(struct gpu_info *out, int max, char *why, size_t whylen)
{
    static struct gpu_answer a;
    ask(&a);
    if (a.rc <= 0) {
        snprintf(why, whylen, "%s", a.why);
        return a.rc;
    }
    int n = a.rc < max ? a.rc : max;
    n = n < GPU_LIST_MAX ? n : GPU_LIST_MAX;
    memcpy(out, a.info, (size_t)n * sizeof *out);
    return a.rc;
}

extern "C" int gpu_count(char *why, size_t whylen)
{
    struct gpu_info none[1];
    return gpu_list(none, 0, why, whylen);
}

extern "C" int gpu_describe(int index, struct gpu_info *out, char *why, size_t whylen)
{
    static struct gpu_info all[GPU_LIST_MAX];
    int n = gpu_list(all, GPU_LIST_MAX, why, whylen);
    if (n < 0)
        return -1;
    if (index < 0 || index >= n || index >= GPU_LIST_MAX) {
        snprintf(why, whylen, "cuda:%d: no such device (%d visible)", index, n);
        return -1;
    }
    *out = all[index];
    return 0;
}

extern "C" double gpu_free_memory(int index)
{
    size_t free_b = 0, total_b = 0;
    if (cudaSetDevice(index) != cudaSuccess || cudaMemGetInfo(&free_b, &total_b) != cudaSuccess)
        return -1;
    return (double)free_b;
}
