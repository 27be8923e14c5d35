/* gpu_none.c - the GPU interface in a build without CUDA: there are no devices, and says why. */
#include "harness/gpu.h"

#include <stdio.h>
#include <string.h>

static const char no_cuda[] = "kbench was built without CUDA (configure --with-cuda)";

int gpu_list(struct gpu_info *out, int max, char *why, size_t whylen)
{
    (void)out;
    (void)max;
    snprintf(why, whylen, "%s", no_cuda);
    return -1;
}

int gpu_count(char *why, size_t whylen)
{
    snprintf(why, whylen, "%s", no_cuda);
    return -1;
}

int gpu_describe(int index, struct gpu_info *out, char *why, size_t whylen)
{
    (void)index;
    memset(out, 0, sizeof *out);
    snprintf(why, whylen, "%s", no_cuda);
    return -1;
}

double gpu_free_memory(int index)
{
    (void)index;
    return -1;
}
