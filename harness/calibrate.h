/* calibrate.h - a machine's measured ceilings: the rates its results are judged against.
 *
 * The analytic peaks of cpu.h come from a table of microarchitectures and the nominal clock;
 * the clock a VM or a turbo-boosting core really runs at can differ by a third. A ceiling here
 * is measured: a register-only FMA loop (float32; INT8 dot products where the CPU has VNNI),
 * one core and all cores, and a STREAM-like triad over arrays much larger than the LLC.
 * `kbench calibrate` stores them with the machine (table `ceilings`, docs/schema.md) and the
 * reports draw the roofline from them.
 *
 * Devices: one entry per kind in calibrate.c's table ("cpu", "cuda:N"). A GPU's ceilings
 * (copy bandwidth, tensor-core rates through cuBLAS) come from calibrate_cuda(), the one
 * function a CUDA build provides; without it the device is reported as not calibratable.
 */
#ifndef KB_CALIBRATE_H
#define KB_CALIBRATE_H

#include <stddef.h>

/* Ceiling names, shared by the calibrators, the store and the reports. */
#define CEIL_F32_FMA_CORE "f32_fma_core"   /* FLOP/s, one core (one thread) */
#define CEIL_F32_FMA_ALL  "f32_fma_all"    /* FLOP/s, every core */
#define CEIL_I8_DOT_CORE  "i8_dot_core"    /* OP/s (a multiply and an add are 2 OPs), one core */
#define CEIL_I8_DOT_ALL   "i8_dot_all"     /* OP/s, every core */
#define CEIL_MEM_TRIAD    "mem_triad"      /* B/s, STREAM triad over all cores */
#define CEIL_MEM_TRIAD_CORE "mem_triad_core" /* B/s, STREAM triad on one core */

struct ceiling {
    char device[16];       /* "cpu", "cuda:0" */
    char name[32];         /* one of the CEIL_* names, or a device-specific one ("tc_f16") */
    double value;
    char unit[16];         /* "FLOP/s", "OP/s", "B/s" */
    char method[192];      /* how it was measured, in words */
    char measured_at[32];  /* ISO 8601 UTC; filled by the store on reading */
};

/* Receives each ceiling as it is measured; return non-zero to stop. */
typedef int (*ceiling_fn)(const struct ceiling *c, void *ctx);

struct calibrate_options {
    double seconds;  /* time per measurement (default 0.2 s); each is the best of `repeats` */
    int repeats;     /* default 3 */
    size_t triad_bytes; /* total of the three triad arrays; 0: 4 x LLC, at least 96 MiB */
};

/* Measures the device ("cpu", "cuda:N"). Returns 0, or -1 with the reason in why
 * ("cuda:1: no such device (1 CUDA device visible)", "cuda:0: GPU calibration is not built
 * into this kbench"); a device name kbench does not know is -2 (a usage error). */
int calibrate_device(const char *device, const struct calibrate_options *opt, ceiling_fn fn, void *ctx,
                     char *why, size_t whylen);

/* The CPU alone (what calibrate_device("cpu") runs). */
int calibrate_cpu(const struct calibrate_options *opt, ceiling_fn fn, void *ctx, char *why, size_t whylen);

/* A CUDA device's ceilings: provided by the CUDA build (copy bandwidth, tensor-core rates per
 * dtype); the fallback in calibrate.c says it is not built. `index` is known to exist. */
int calibrate_cuda(int index, const struct calibrate_options *opt, ceiling_fn fn, void *ctx, char *why,
                   size_t whylen);

/* Collective bandwidth of `span` GPUs from cuda:first through NCCL (calibrate_nccl.c; CUDA
 * builds): ceilings of cuda:first named allreduce_algbw_spanN, allreduce_busbw_spanN,
 * alltoall_algbw_spanN, alltoall_busbw_spanN (busbw only for span > 1; nccl-tests' formulas).
 * Returns 0, or -1 with the reason in why (fewer GPUs than the span: "cannot be tested here:
 * needs N GPUs, this machine has M"; no NCCL). A build without CUDA says so. */
int calibrate_span(int first, int span, const struct calibrate_options *opt, ceiling_fn fn, void *ctx, char *why,
                   size_t whylen);

/* The SIMD path the FMA loop uses on this CPU: "avx512f", "avx2+fma" or "portable". */
const char *calibrate_fma_path(void);

#endif
