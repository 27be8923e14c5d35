/* calibrate.c - measured ceilings of the CPU (calibrate.h), and the table of device kinds.
 *
 * FMA rate: each thread runs independent chains of fused multiply-adds on registers only
 * (enough chains to cover the FMA latency times the number of pipes on any current core), so
 * nothing but the FMA units limits it. The SIMD path is chosen at run time, as the flash
 * kernel does, with function attributes so the build needs no -m flags.
 * INT8: the VNNI dot-product instruction (u8 x s8 -> s32, 4 products per lane) where the CPU
 * has AVX512_VNNI or AVX_VNNI. Bandwidth: STREAM's triad a = b + s*c over arrays far larger
 * than the LLC, counted as STREAM counts it (3 x 8 bytes per element; no write-allocate).
 * Every figure is the best of several timed repeats, as STREAM reports it: interference on a
 * shared machine only ever slows a repeat down.
 */
#include "harness/calibrate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "harness/cpu.h"
#include "kernels/cpu_features.h"
#include "harness/gpu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define KB_CAL_X86 1
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A sink the compiler cannot see through, so the loops are not optimised away. */
static volatile double sink;

/* ---- the loops: each runs `iters` iterations and returns the operations it did ---------------- */

typedef double (*op_loop)(long iters);

/* 8 chains of scalar multiply-adds: what plain C gets on any architecture. */
static double fma_portable(long iters)
{
    float a0 = 1, a1 = 2, a2 = 3, a3 = 4, a4 = 5, a5 = 6, a6 = 7, a7 = 8;
    const float m = 0.999999f, k = 1e-6f;
    for (long i = 0; i < iters; i++) {
        a0 = a0 * m + k; a1 = a1 * m + k; a2 = a2 * m + k; a3 = a3 * m + k;
        a4 = a4 * m + k; a5 = a5 * m + k; a6 = a6 * m + k; a7 = a7 * m + k;
    }
    sink = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    return 8.0 * 2.0 * (double)iters;
}

#ifdef KB_CAL_X86
/* One step of 12 independent chains c0..c11: c = op(c, x, y). */
#define REPEAT12(c, op, x, y)                                                                      \
    c##0 = op(c##0, x, y), c##1 = op(c##1, x, y), c##2 = op(c##2, x, y), c##3 = op(c##3, x, y),     \
    c##4 = op(c##4, x, y), c##5 = op(c##5, x, y), c##6 = op(c##6, x, y), c##7 = op(c##7, x, y),     \
    c##8 = op(c##8, x, y), c##9 = op(c##9, x, y), c##10 = op(c##10, x, y), c##11 = op(c##11, x, y)

/* 12 chains of 8-lane FMAs: latency 4-5 cycles x 2 pipes needs at least 10 in flight. */
__attribute__((target("avx2,fma"))) static double fma_avx2(long iters)
{
    /* Named variables, not an array: the compiler keeps them in registers without unrolling. */
    /* Each chain starts from its own value: identical chains would be merged by the compiler. */
    __m256 c0 = _mm256_set1_ps(0), c1 = _mm256_set1_ps(1), c2 = _mm256_set1_ps(2), c3 = _mm256_set1_ps(3);
    __m256 c4 = _mm256_set1_ps(4), c5 = _mm256_set1_ps(5), c6 = _mm256_set1_ps(6), c7 = _mm256_set1_ps(7);
    __m256 c8 = _mm256_set1_ps(8), c9 = _mm256_set1_ps(9), c10 = _mm256_set1_ps(10), c11 = _mm256_set1_ps(11);
    const __m256 m = _mm256_set1_ps(0.999999f), k = _mm256_set1_ps(1e-6f);
    for (long i = 0; i < iters; i++) {
        REPEAT12(c, _mm256_fmadd_ps, m, k);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                             _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    sink = out[0] + out[7];
    return 12.0 * 8 * 2 * (double)iters;
}

/* 16 chains of 16-lane FMAs (32 zmm registers leave room for the constants). */
__attribute__((target("avx512f"))) static double fma_avx512(long iters)
{
    __m512 c0 = _mm512_set1_ps(0), c1 = _mm512_set1_ps(1), c2 = _mm512_set1_ps(2), c3 = _mm512_set1_ps(3);
    __m512 c4 = _mm512_set1_ps(4), c5 = _mm512_set1_ps(5), c6 = _mm512_set1_ps(6), c7 = _mm512_set1_ps(7);
    __m512 c8 = _mm512_set1_ps(8), c9 = _mm512_set1_ps(9), c10 = _mm512_set1_ps(10), c11 = _mm512_set1_ps(11);
    __m512 c12 = _mm512_set1_ps(12), c13 = _mm512_set1_ps(13), c14 = _mm512_set1_ps(14), c15 = _mm512_set1_ps(15);
    const __m512 m = _mm512_set1_ps(0.999999f), k = _mm512_set1_ps(1e-6f);
    for (long i = 0; i < iters; i++) {
        REPEAT12(c, _mm512_fmadd_ps, m, k);
        c12 = _mm512_fmadd_ps(c12, m, k), c13 = _mm512_fmadd_ps(c13, m, k);
        c14 = _mm512_fmadd_ps(c14, m, k), c15 = _mm512_fmadd_ps(c15, m, k);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                             _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(c12, c13), _mm512_add_ps(c14, c15)));
    sink = _mm512_reduce_add_ps(s);
    return 16.0 * 16 * 2 * (double)iters;
}

/* VPDPBUSD: per 32-bit lane, 4 u8 x s8 products summed into the accumulator = 8 OPs per lane.
 * Integer wrap-around is the instruction's defined behaviour, so the chains may run forever. */
__attribute__((target("avx512f,avx512vnni"))) static double i8_avx512vnni(long iters)
{
    __m512i c0 = _mm512_set1_epi32(0), c1 = _mm512_set1_epi32(1), c2 = _mm512_set1_epi32(2);
    __m512i c3 = _mm512_set1_epi32(3), c4 = _mm512_set1_epi32(4), c5 = _mm512_set1_epi32(5);
    __m512i c6 = _mm512_set1_epi32(6), c7 = _mm512_set1_epi32(7), c8 = _mm512_set1_epi32(8);
    __m512i c9 = _mm512_set1_epi32(9), c10 = _mm512_set1_epi32(10), c11 = _mm512_set1_epi32(11);
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
    for (long i = 0; i < iters; i++) {
        REPEAT12(c, _mm512_dpbusd_epi32, a, b);
    }
    __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3)),
                                 _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7)));
    s = _mm512_add_epi32(s, _mm512_add_epi32(_mm512_add_epi32(c8, c9), _mm512_add_epi32(c10, c11)));
    sink = (double)_mm512_reduce_add_epi32(s);
    return 12.0 * 16 * 8 * (double)iters;
}

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define KB_CAL_AVXVNNI 1
/* The VEX-encoded form (Alder Lake and later, Zen 5) on 256-bit vectors. */
__attribute__((target("avx2,avxvnni"))) static double i8_avxvnni(long iters)
{
    __m256i c0 = _mm256_set1_epi32(0), c1 = _mm256_set1_epi32(1), c2 = _mm256_set1_epi32(2);
    __m256i c3 = _mm256_set1_epi32(3), c4 = _mm256_set1_epi32(4), c5 = _mm256_set1_epi32(5);
    __m256i c6 = _mm256_set1_epi32(6), c7 = _mm256_set1_epi32(7), c8 = _mm256_set1_epi32(8);
    __m256i c9 = _mm256_set1_epi32(9), c10 = _mm256_set1_epi32(10), c11 = _mm256_set1_epi32(11);
    const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2);
    for (long i = 0; i < iters; i++) {
        REPEAT12(c, _mm256_dpbusd_avx_epi32, a, b);
    }
    __m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)),
                                 _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7)));
    s = _mm256_add_epi32(s, _mm256_add_epi32(_mm256_add_epi32(c8, c9), _mm256_add_epi32(c10, c11)));
    int out[8];
    _mm256_storeu_si256((__m256i *)out, s);
    sink = out[0] + out[7];
    return 12.0 * 8 * 8 * (double)iters;
}
#endif
#endif

static op_loop choose_fma(const struct cpu_info *ci, const char **path)
{
#ifdef KB_CAL_X86
    if (ci->has_avx512f) {
        *path = "avx512f";
        return fma_avx512;
    }
    if (ci->has_avx2 && ci->has_fma) {
        *path = "avx2+fma";
        return fma_avx2;
    }
#endif
    (void)ci;
    *path = "portable";
    return fma_portable;
}

static op_loop choose_i8(const struct cpu_info *ci, const char **path)
{
#ifdef KB_CAL_X86
    if (ci->has_avx512vnni) {
        *path = "avx512vnni";
        return i8_avx512vnni;
    }
#ifdef KB_CAL_AVXVNNI
    if (ci->has_avxvnni) {
        *path = "avxvnni";
        return i8_avxvnni;
    }
#endif
#endif
    (void)ci;
    *path = NULL;
    return NULL;
}

const char *calibrate_fma_path(void)
{
    struct cpu_info ci;
    const char *path;
    cpu_info_read(&ci);
    choose_fma(&ci, &path);
    return path;
}

/* ---- timing ----------------------------------------------------------------------------------- */

/* Operations per second of `loop` on one thread: chunks of iterations until `seconds` pass. */
static double rate_one(op_loop loop, double seconds, double *elapsed)
{
    const long chunk = 1L << 16;
    double ops = 0, t0 = now_s(), t;
    do {
        ops += loop(chunk);
        t = now_s() - t0;
    } while (t < seconds);
    *elapsed = t;
    return ops;
}

/* Best of `repeats`, on `threads` threads at once (each runs the loop for `seconds`). */
static double best_rate(op_loop loop, int threads, const struct calibrate_options *opt)
{
    double best = 0;
    for (int r = 0; r < opt->repeats; r++) {
        double ops = 0, longest = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) reduction(+ : ops) reduction(max : longest)
#endif
        {
            double el;
            ops += rate_one(loop, opt->seconds, &el);
            longest = el;
        }
        (void)threads;
        if (longest > 0 && ops / longest > best)
            best = ops / longest;
    }
    return best;
}

/* STREAM triad, best of the repeats; threads <= 0 means all. */
static double triad_rate(double *a, const double *b, const double *c, long n, int threads, int repeats)
{
    double best = 0;
    const double s = 3.0;
    if (threads <= 0)
        threads = 1;
    for (int r = 0; r < repeats; r++) {
        double t0 = now_s();
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
        for (long i = 0; i < n; i++)
            a[i] = b[i] + s * c[i];
        double t = now_s() - t0;
        sink = a[n / 2];
        double rate = 3.0 * sizeof(double) * (double)n / t;
        if (rate > best)
            best = rate;
    }
    (void)threads;
    return best;
}

/* ---- the CPU ---------------------------------------------------------------------------------- */

static int emit(ceiling_fn fn, void *ctx, const char *name, double value, const char *unit, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#include <stdarg.h>
static int emit(ceiling_fn fn, void *ctx, const char *name, double value, const char *unit, const char *fmt, ...)
{
    struct ceiling c;
    memset(&c, 0, sizeof c);
    snprintf(c.device, sizeof c.device, "cpu");
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.unit, sizeof c.unit, "%s", unit);
    c.value = value;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c.method, sizeof c.method, fmt, ap);
    va_end(ap);
    return fn(&c, ctx);
}

static void defaults(const struct calibrate_options *in, struct calibrate_options *out)
{
    *out = in ? *in : (struct calibrate_options){ 0 };
    if (!(out->seconds > 0))
        out->seconds = 0.2;
    if (out->repeats <= 0)
        out->repeats = 3;
}

int calibrate_cpu(const struct calibrate_options *options, ceiling_fn fn, void *ctx, char *why, size_t whylen)
{
    struct calibrate_options opt;
    defaults(options, &opt);
    struct cpu_info ci;
    cpu_info_read(&ci);
    int cores = ci.physical_cores > 0 ? ci.physical_cores : ci.logical_cpus > 0 ? ci.logical_cpus : 1;
    int logical = ci.logical_cpus > 0 ? ci.logical_cpus : cores;

    const char *path;
    op_loop f = choose_fma(&ci, &path);
    /* A ceiling measured under KBENCH_CPU_FEATURES is the masked path's: its note says so. */
    char masked_path[128];
    if (ci.features_masked) {
        const char *mask = getenv(KB_CPU_FEATURES_ENV);
        snprintf(masked_path, sizeof masked_path, "%s; masked by %s=%s", path, KB_CPU_FEATURES_ENV, mask ? mask : "");
        path = masked_path;
    }
    double one = best_rate(f, 1, &opt);
    if (emit(fn, ctx, CEIL_F32_FMA_CORE, one, "FLOP/s", "register-only f32 FMA chains (%s), 1 thread, best of %d x %.2g s",
             path, opt.repeats, opt.seconds))
        return 0;
    /* SMT siblings share a core's FMA units: one thread per physical core. */
    double all = best_rate(f, cores, &opt);
    if (emit(fn, ctx, CEIL_F32_FMA_ALL, all, "FLOP/s", "register-only f32 FMA chains (%s), %d threads (physical cores), best of %d x %.2g s",
             path, cores, opt.repeats, opt.seconds))
        return 0;

    const char *ipath;
    op_loop i8 = choose_i8(&ci, &ipath);
    if (i8) {
        if (emit(fn, ctx, CEIL_I8_DOT_CORE, best_rate(i8, 1, &opt), "OP/s",
                 "register-only u8 x s8 dot products (%s, 2 OPs per product), 1 thread", ipath))
            return 0;
        if (emit(fn, ctx, CEIL_I8_DOT_ALL, best_rate(i8, cores, &opt), "OP/s",
                 "register-only u8 x s8 dot products (%s), %d threads", ipath, cores))
            return 0;
    }

    size_t total = opt.triad_bytes;
    if (total == 0) {
        total = 4 * cpu_llc_bytes(&ci);
        if (total < (size_t)96 << 20)
            total = (size_t)96 << 20;
    }
    long n = (long)(total / 3 / sizeof(double));
    double *a = malloc(sizeof *a * (size_t)n), *b = malloc(sizeof *b * (size_t)n), *c = malloc(sizeof *c * (size_t)n);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        snprintf(why, whylen, "cpu: cannot allocate %zu MiB for the triad arrays", total >> 20);
        return -1;
    }
    /* First touch by the threads that will use each page (NUMA placement, as STREAM does). */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(logical)
#endif
    for (long i = 0; i < n; i++) {
        a[i] = 0;
        b[i] = 1.0 + (double)(i & 7);
        c[i] = 2.0;
    }
    int reps = opt.repeats < 5 ? 5 : opt.repeats;
    double bw_all = triad_rate(a, b, c, n, logical, reps);
    double bw_one = triad_rate(a, b, c, n, 1, reps);
    free(a), free(b), free(c);
    if (emit(fn, ctx, CEIL_MEM_TRIAD, bw_all, "B/s", "STREAM triad a=b+s*c, 3 x %.0f MiB of doubles, %d threads, best of %d",
             (double)n * sizeof(double) / (1 << 20), logical, reps))
        return 0;
    emit(fn, ctx, CEIL_MEM_TRIAD_CORE, bw_one, "B/s", "STREAM triad a=b+s*c, 3 x %.0f MiB of doubles, 1 thread, best of %d",
         (double)n * sizeof(double) / (1 << 20), reps);
    return 0;
}

/* ---- devices ---------------------------------------------------------------------------------- */

static int calibrate_cuda_device(const char *device, const struct calibrate_options *opt, ceiling_fn fn, void *ctx,
                                 char *why, size_t whylen)
{
    const char *digits = device + 5;
    char *end;
    long index = strtol(digits, &end, 10);
    if (!*digits || *end || index < 0 || index > 1024)
        return -2;
    char reason[256] = "";
    int count = gpu_count(reason, sizeof reason);
    if (count < 0) {
        snprintf(why, whylen, "%s: no such device (%s)", device, *reason ? reason : "no CUDA devices");
        return -1;
    }
    if (index >= count) {
        snprintf(why, whylen, "%s: no such device (%d CUDA device%s visible)", device, count, count == 1 ? "" : "s");
        return -1;
    }
    struct calibrate_options o;
    defaults(opt, &o);
    return calibrate_cuda((int)index, &o, fn, ctx, why, whylen);
}

int calibrate_device(const char *device, const struct calibrate_options *opt, ceiling_fn fn, void *ctx, char *why,
                     size_t whylen)
{
    if (strcmp(device, "cpu") == 0)
        return calibrate_cpu(opt, fn, ctx, why, whylen);
    if (strncmp(device, "cuda:", 5) == 0) {
        int rc = calibrate_cuda_device(device, opt, fn, ctx, why, whylen);
        if (rc == -2)
            snprintf(why, whylen, "bad device '%s' (expected cpu or cuda:N)", device);
        return rc;
    }
    snprintf(why, whylen, "bad device '%s' (expected cpu or cuda:N)", device);
    return -2;
}
