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
    char driver[32];        /* the NVIDIA driver's own version ("580.159.04"), from NVML; "" unknown */
    double smem_per_block;  /* bytes a block may opt in to */
    int mem_bus_bits;
};

#define GPU_LIST_MAX 16

/* Describes every visible device (at most max) from one short-lived child process; returns
 * the count, or -1 with the reason in why. */
int gpu_list(struct gpu_info *out, int max, char *why, size_t whylen);

/* Number of CUDA devices visible, or -1 with the reason in why ("no CUDA-capable device is
 * detected", "kbench was built without CUDA"). */
int gpu_count(char *why, size_t whylen);
/* Describes device i; returns 0 or -1 with the reason in why. */
int gpu_describe(int index, struct gpu_info *out, char *why, size_t whylen);

/* Free memory on device index, in bytes, asked in this process (which then holds a CUDA
 * context: only a case's process calls it); -1 when it cannot be read. */
double gpu_free_memory(int index);

#endif
