/* gpu.h - CUDA devices as the harness sees them. Built from gpu_cuda.cu with CUDA, and from
 * gpu_none.c without it, so callers never need #ifdef. */
#ifndef KB_GPU_H
#define KB_GPU_H

#include <stddef.h>

struct gpu_info {
    int index;
    char name[128];
    int cc_major, cc_minor;
    int sms;
    double mem_bytes;
    double l2_bytes;
    double sm_clock_mhz, mem_clock_mhz;
    int driver_version, runtime_version; /* 12040 = 12.4 */
};

/* Number of CUDA devices visible, or -1 with the reason in why ("no CUDA-capable device is
 * detected", "kbench was built without CUDA"). */
int gpu_count(char *why, size_t whylen);
/* Describes device i; returns 0 or -1 with the reason in why. */
int gpu_describe(int index, struct gpu_info *out, char *why, size_t whylen);

#endif
