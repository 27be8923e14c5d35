/* record.h - what one measured case produces: status, accuracy, samples, statistics, counters.
 * Produced by the runner (runner.h), stored by the store (store.h), shown by bench/. */
#ifndef KB_RECORD_H
#define KB_RECORD_H

#include "kernels/kernel.h"
#include "harness/stats.h"
#include "harness/counters.h"
#include "harness/cupti_trace.h"

enum case_status {
    CASE_OK,            /* verified and timed */
    CASE_VERIFY_FAILED, /* a wrong answer: recorded, never timed */
    CASE_CRASHED,       /* the child died of a signal */
    CASE_TIMEOUT,       /* killed at its time limit */
    CASE_SETUP_FAILED,  /* setup or run returned an error */
    CASE_SKIPPED,       /* unsupported combination or does not fit in memory */
    CASE_INTERRUPTED,   /* the run was stopped while this case ran */
    CASE_STATUS_COUNT
};
const char *case_status_name(enum case_status s);

/* Why a case's sampling stopped (stored in stats.stop_reason). */
enum sampling_stop {
    STOP_NONE,            /* not sampled (or a database older than schema version 8) */
    STOP_NOISE,           /* the median's CI reached the noise target */
    STOP_MAX_TIME,        /* the time budget was spent with at least the minimum of samples */
    STOP_MAX_SAMPLES,     /* --max-samples reached */
    STOP_MIN_SAMPLES_CAP, /* the budget grew to --min-samples-cap before the minimum was reached */
    STOP_COUNT
};
/* "noise", "max-time", "max-samples", "min-samples-cap"; "" for STOP_NONE. */
const char *sampling_stop_name(enum sampling_stop s);
/* Returns 0 and sets *out for a known name, else -1. */
int sampling_stop_parse(const char *name, enum sampling_stop *out);
/* Returns 0 and sets *out for a known name, else -1. */
int case_status_parse(const char *name, enum case_status *out);

struct case_record {
    /* identity */
    const struct kb_kernel *kernel;
    char device[16];       /* "cpu", "cuda:0" */
    enum kb_dtype dtype;
    struct kb_shape shape;
    int threads;
    int cold_cache;
    uint64_t seed;
    /* outcome */
    enum case_status status;
    char error[256];       /* what went wrong, for any status but OK */
    int verified;          /* 1 when verify ran */
    struct kb_accuracy accuracy;
    /* timing: per-call seconds; each sample timed `calls_per_sample` back-to-back calls */
    double *samples;
    size_t n_samples;
    int calls_per_sample;
    int warmup_calls;
    struct kb_stats stats; /* of the samples that count: throttled ones are set aside */
    /* GPU cases with NVML: per sample, the SM clock read after it (NaN unknown) and whether it
     * was taken under throttling (1, 0, or -1 unknown); both NULL on the CPU */
    double *sm_clock_mhz;
    signed char *throttled;
    size_t set_aside;       /* throttled samples kept out of stats (0 with include_throttled) */
    char throttle_reason[96]; /* NVML's reasons for the throttled samples ("sw_power_cap,..."); "" none */
    int min_samples;        /* the minimum asked for: stats.n below it did not reach it */
    double noise_target;    /* the CI half-width asked for */
    int noise_met;          /* 1 when stats.noise is within noise_target (never for n < 3) */
    enum sampling_stop stop;
    double flops, bytes;   /* analytic, per call */
    struct kb_counter_report counters;
    struct gpu_trace gpu_trace;  /* CUDA cases: each kernel one call launches (CUPTI) */
    char nvml_status[192];       /* CUDA cases: "ok", or why NVML measured nothing; "" on the CPU */
    char metrics_status[256];    /* CUDA cases: "ok", "not requested", or why CUPTI collected no metrics */
    double wall_s;         /* the whole case, child start to result */
};

/* Frees what the record owns (samples) and zeroes those fields. */
void case_record_release(struct case_record *r);

#endif
