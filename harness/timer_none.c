/* timer_none.c - the GPU timer in a build without CUDA: nothing can be timed, and says why.
 * (No CUDA kernel is registered in such a build, so the runner never gets here.) */
#include "harness/timer_gpu.h"

#include <stdio.h>

static const char no_cuda[] = "kbench was built without CUDA (configure --with-cuda)";

struct gpu_timer *gpu_timer_new(int device, int cold_l2, char *why, size_t whylen)
{
    (void)device;
    (void)cold_l2;
    snprintf(why, whylen, "%s", no_cuda);
    return NULL;
}

void gpu_timer_free(struct gpu_timer *t) { (void)t; }
void *gpu_timer_stream(const struct gpu_timer *t) { (void)t; return NULL; }
double gpu_timer_l2_bytes(const struct gpu_timer *t) { (void)t; return 0; }

int gpu_timer_sync(struct gpu_timer *t, char *why, size_t whylen)
{
    (void)t;
    snprintf(why, whylen, "%s", no_cuda);
    return -1;
}

int gpu_timer_settle(struct gpu_timer *t, char *why, size_t whylen)
{
    return gpu_timer_sync(t, why, whylen);
}

int gpu_timer_prepare(struct gpu_timer *t, int (*run)(struct kb_case *), struct kb_case *c, int calls,
                      int use_graph, char *why, size_t whylen)
{
    (void)t;
    (void)run;
    (void)c;
    (void)calls;
    (void)use_graph;
    snprintf(why, whylen, "%s", no_cuda);
    return -1;
}

int gpu_timer_sample(struct gpu_timer *t, double *seconds, char *why, size_t whylen)
{
    (void)t;
    *seconds = 0;
    snprintf(why, whylen, "%s", no_cuda);
    return -1;
}

int gpu_timer_repeat(struct gpu_timer *t, int times, char *why, size_t whylen)
{
    (void)t;
    (void)times;
    snprintf(why, whylen, "%s", no_cuda);
    return -1;
}

int gpu_timer_calls(const struct gpu_timer *t) { (void)t; return 0; }

int gpu_timer_pci_bus_id(const struct gpu_timer *t, char *out, size_t len)
{
    (void)t;
    if (len)
        out[0] = '\0';
    return -1;
}
