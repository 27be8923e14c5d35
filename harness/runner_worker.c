/* runner_worker.c - warm case processes. An isolated GPU case runs in a forked process that stays
 * up for the next GPU case, so a sweep pays for the CUDA context, the lazy module loads and a
 * Python implementation's imports (torch: seconds) once per process rather than once per case.
 * On an H100 a fresh process cost each small case about half a second, most of a verification
 * sweep's time.
 *
 * Isolation is kept where it matters. A case that fails, crashes or hangs takes its process with
 * it (a CUDA error may be sticky; a wrong answer may have written past its buffers), and so does
 * one that leaves memory behind (256 MiB of device memory, 1 GiB of host memory; both
 * KBENCH_PROCESS_LEAK_MB when set) or ran CUPTI's range profiler (which may leave the GPU slower
 * for what follows); the next case then starts a fresh process. The parent never touches
 * CUDA, so every process starts clean.
 *
 * `--process warm` puts CPU cases in warm processes too (tests use it: no GPU there), `fresh`
 * none.
 *
 * A process is kept per (device, kind): C kernels and Python implementations do not share one,
 * so a Python peer's caching allocator never sits beside a C kernel's buffers. The requests
 * carry the case and the options by value; their pointers (the kernel, the options' strings)
 * were set before the sweep began, so they mean the same in the forked copy. */
#include "harness/runner.h"
#include "harness/runner_child.h"
#include "harness/gpu.h"
#include "harness/python_plugin.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

/* Warm processes at once: a sweep over several GPUs, each with C and Python cases. */
#define WORKERS_MAX 8
/* Device memory a case may leave unreturned before its process is retired: the lazy loading of a
 * new kernel module, a library's first handle, a few MiB each; a leaking kernel, much more. */
#define LEAK_BYTES (256.0 * 1048576.0)
/* Host memory likewise: resident bytes a case may leave behind (a leaking kernel or plugin). */
#define HOST_LEAK_BYTES (1024.0 * 1048576.0)
/* How long a closed worker may take to exit before it is killed. */
#define CLOSE_WAIT_S 5.0

struct worker {
    pid_t pid;          /* 0: slot free */
    int fd;             /* the parent's end of the socket */
    char device[16];
    int python;
    unsigned long used; /* last use, for replacing the oldest when every slot is taken */
};
static struct worker workers[WORKERS_MAX];
static unsigned long use_clock;

struct worker_request {
    struct plan_case pc;
    struct runner_options o;
    double allowance;
};

int runner_worker_wanted(const struct plan_case *pc, const struct runner_options *o)
{
    if (!o->isolate || o->reuse_process == RUNNER_PROCESS_FRESH)
        return 0;
    if (o->reuse_process == RUNNER_PROCESS_AUTO && pc->kernel->device != KB_DEVICE_CUDA)
        return 0;
    /* a case spanning several GPUs builds an NCCL communicator over them: its own process */
    int span = kb_kernel_axes(pc->kernel) & KB_AXIS_BIT(KB_AXIS_SPAN) ? pc->shape.span : 1;
    return span <= 1;
}

void runner_close_inherited_workers(void)
{
    for (int i = 0; i < WORKERS_MAX; i++)
        if (workers[i].pid > 0)
            close(workers[i].fd);
}

static int read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len) {
        ssize_t r = read(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

/* This process's resident memory in bytes (Linux /proc); -1 where it cannot be read. */
static double resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = -1;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2)
            resident = -1;
        fclose(f);
    }
    return resident < 0 ? -1 : (double)resident * (double)sysconf(_SC_PAGESIZE);
}

/* The memory a case may leave behind before its process is retired: KBENCH_PROCESS_LEAK_MB, or
 * the default given. */
static double leak_limit(double default_bytes)
{
    const char *e = getenv("KBENCH_PROCESS_LEAK_MB");
    char *end;
    double mb = e ? strtod(e, &end) : -1;
    return e && end != e && mb >= 0 ? mb * 1048576.0 : default_bytes;
}

/* 1 when `used` (memory in use now) exceeds the least in use after any earlier kept case by
 * more than the leak limit; else 0, lowering *least when it is the new least. */
static int kept_too_much(double *least, double used, double default_limit)
{
    if (isnan(*least) || used < *least) {
        *least = used;
        return 0;
    }
    return used - *least > leak_limit(default_limit);
}

/* The warm process: case after case until the parent closes the socket or a case retires it. */
static void worker_main(int fd, int device_index)
{
    double device_least = NAN, host_least = NAN; /* memory in use after a kept case, least seen */
    long cases = 0;
    for (;;) {
        struct worker_request rq;
        if (read_all(fd, &rq, sizeof rq) != 0)
            _exit(0); /* the sweep is over */
        struct runner_options co = rq.o;
        co.ready_fd = rq.allowance > 0 ? fd : -1;
        struct child_result res;
        struct sample_series samples;
        runner_measure(&rq.pc, &co, &res, &samples);
        runner_signal_ready(&co, &res);
        cases++;
        counter_report_add(&res.counters, "harness", "process_case", (double)cases, "");
        int keep = res.status == CASE_OK || res.status == CASE_SKIPPED;
        /* CUPTI's range profiler ran for a CUDA case with counters and metrics on */
        if (keep && res.status == CASE_OK && rq.pc.kernel->device == KB_DEVICE_CUDA && !runner_counters_off(&co) &&
            !runner_metrics_off(&co))
            keep = 0;
        if (keep && rq.pc.kernel->device == KB_DEVICE_CUDA) {
            double free_now = gpu_free_memory(device_index);
            keep = free_now < 0 || !kept_too_much(&device_least, -free_now, LEAK_BYTES);
        }
        if (keep) {
            double rss = resident_bytes();
            keep = rss < 0 || !kept_too_much(&host_least, rss, HOST_LEAK_BYTES);
        }
        res.process_retires = !keep;
        int bad = runner_write_result(fd, &res, &samples) != 0;
        sample_series_free(&samples);
        if (bad || !keep)
            _exit(bad ? 3 : 0);
    }
}

static void reap(struct worker *w, int kill_it)
{
    if (w->pid <= 0)
        return;
    close(w->fd);
    if (kill_it)
        kill(w->pid, SIGKILL);
    double until = runner_now() + CLOSE_WAIT_S;
    int st;
    for (;;) {
        pid_t r = waitpid(w->pid, &st, WNOHANG);
        if (r == w->pid || (r < 0 && errno != EINTR))
            break;
        if (runner_now() > until) {
            kill(w->pid, SIGKILL);
            while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
                ;
            break;
        }
        usleep(2000);
    }
    memset(w, 0, sizeof *w);
}

static struct worker *find_or_start(const struct plan_case *pc)
{
    int python = python_plugin_owns(pc->kernel);
    struct worker *free_slot = NULL, *oldest = NULL;
    for (int i = 0; i < WORKERS_MAX; i++) {
        struct worker *w = &workers[i];
        if (w->pid > 0 && w->python == python && strcmp(w->device, pc->device) == 0)
            return w;
        if (w->pid <= 0 && !free_slot)
            free_slot = w;
        if (w->pid > 0 && (!oldest || w->used < oldest->used))
            oldest = w;
    }
    if (!free_slot) {
        reap(oldest, 0);
        free_slot = oldest;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return NULL;
    }
    if (pid == 0) {
        close(sv[0]);
        runner_close_inherited_workers(); /* so each worker sees its own socket close */
        runner_child_prepare();
        worker_main(sv[1], strncmp(pc->device, "cuda:", 5) == 0 ? atoi(pc->device + 5) : 0);
    }
    close(sv[1]);
    struct worker *w = free_slot;
    w->pid = pid;
    w->fd = sv[0];
    w->python = python;
    snprintf(w->device, sizeof w->device, "%s", pc->device);
    return w;
}

int runner_worker_send(const struct plan_case *pc, const struct runner_options *o, double allowance,
                       pid_t *pid, int *fd)
{
    struct worker_request rq;
    memset(&rq, 0, sizeof rq);
    rq.pc = *pc;
    rq.o = *o;
    rq.allowance = allowance;
    /* a process that died between cases (the OOM killer, a signal) is replaced once */
    for (int attempt = 0; attempt < 2; attempt++) {
        struct worker *w = find_or_start(pc);
        if (!w)
            return -1;
        w->used = ++use_clock;
        if (send(w->fd, &rq, sizeof rq, MSG_NOSIGNAL) == (ssize_t)sizeof rq) {
            *pid = w->pid;
            *fd = w->fd;
            return 0;
        }
        reap(w, 1);
    }
    return -1;
}

void runner_worker_done(pid_t pid, int kill_it)
{
    for (int i = 0; i < WORKERS_MAX; i++)
        if (workers[i].pid == pid) {
            reap(&workers[i], kill_it);
            return;
        }
}

void runner_worker_dead(pid_t pid, int *wstatus)
{
    for (int i = 0; i < WORKERS_MAX; i++)
        if (workers[i].pid == pid) {
            close(workers[i].fd);
            while (waitpid(pid, wstatus, 0) < 0 && errno == EINTR)
                ;
            memset(&workers[i], 0, sizeof workers[i]);
            return;
        }
}

void runner_close_workers(void)
{
    for (int i = 0; i < WORKERS_MAX; i++)
        reap(&workers[i], 0);
}
