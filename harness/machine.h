/* machine.h - the machine fingerprint: what a result depends on besides the code. */
#ifndef KB_MACHINE_H
#define KB_MACHINE_H

#include "harness/cpu.h"

struct machine_info {
    char fingerprint[17];  /* 16 hex digits over the hardware and OS fields below */
    char hostname[128];
    char cpu_model[128];
    int logical_cpus, physical_cores;
    double cpu_mhz;
    long long mem_bytes;
    char simd[64];
    long long l1d_bytes, l2_bytes, l3_bytes;
    char os[192];          /* uname: sysname release machine */
    char compiler[96];     /* the compiler kbench was built with */
    char kbench_version[32];
    char git_commit[64];   /* git describe --always --dirty at configure time, or "unknown" */
    char build_flags[512]; /* CFLAGS and configure arguments of this build */
    char papi_version[96];
    char gpus[256];        /* "NVIDIA H100 80GB HBM3 (sm_90)", or "" */
    double peak_f32_core;  /* FLOP/s, single core */
};

/* Reads this machine. The fingerprint covers hostname, CPU, cores, memory, OS and GPUs, and
 * not the kbench version or compiler (those belong to a run). */
void machine_info_read(struct machine_info *m);

#endif
