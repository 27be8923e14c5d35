/* gpu_none.c - the GPU interface in a build without CUDA: there are no devices, and says why. */
#include "harness/gpu.h"

#include <stdio.h>
#include <string.h>

int gpu_count(char *why, size_t whylen)
{
    snprintf(why, whylen, "kbench was built without CUDA (configure --with-cuda)");
    return -1;
}

int gpu_describe(int index, struct gpu_info *out, char *why, size_t whylen)
{
    (void)index;
    memset(out, 0, sizeof *out);
    snprintf(why, whylen, "kbench was built without CUDA (configure --with-cuda)");
    return -1;
}
