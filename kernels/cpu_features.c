/* cpu_features.c - see cpu_features.h: cpuid + XCR0 detection, the KBENCH_CPU_FEATURES mask. */
#include "kernels/cpu_features.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define KB_X86 1
#endif

static const struct {
    const char *name;
    unsigned bit;
} feature_names[] = {
    { "avx512f", KB_CPU_AVX512F }, { "avx512bw", KB_CPU_AVX512BW }, { "avx512vnni", KB_CPU_AVX512VNNI },
    { "avx2", KB_CPU_AVX2 },       { "fma", KB_CPU_FMA },           { "avxvnni", KB_CPU_AVXVNNI },
};

#define LEVEL_AVX2 (KB_CPU_AVX2 | KB_CPU_FMA | KB_CPU_AVXVNNI)

static const struct {
    const char *name;
    unsigned mask;
} level_names[] = {
    { "scalar", 0 }, { "none", 0 }, { "avx2", LEVEL_AVX2 }, { "avx512", KB_CPU_ALL },
    { "native", KB_CPU_ALL }, { "all", KB_CPU_ALL },
};

#ifdef KB_X86
static unsigned long long read_xcr0(void)
{
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#endif

static unsigned detect(void)
{
    unsigned f = 0;
#ifdef KB_X86
    unsigned a, b, c, d, max_leaf;
    if (!__get_cpuid(0, &max_leaf, &b, &c, &d) || max_leaf < 1 || !__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    /* A feature counts only when the OS saves its registers (XCR0), or using it would fault. */
    unsigned long long xcr0 = (c >> 27) & 1 ? read_xcr0() : 0;
    int os_ymm = (xcr0 & 0x6) == 0x6, os_zmm = os_ymm && (xcr0 & 0xe0) == 0xe0;
    int avx = os_ymm && ((c >> 28) & 1);
    if (avx && ((c >> 12) & 1))
        f |= KB_CPU_FMA;
    if (max_leaf >= 7) {
        unsigned a7, b7, c7, d7;
        __cpuid_count(7, 0, a7, b7, c7, d7);
        if (avx && ((b7 >> 5) & 1))
            f |= KB_CPU_AVX2;
        if (os_zmm && ((b7 >> 16) & 1)) {
            f |= KB_CPU_AVX512F;
            if ((b7 >> 30) & 1)
                f |= KB_CPU_AVX512BW;
            if ((c7 >> 11) & 1)
                f |= KB_CPU_AVX512VNNI;
        }
        if (a7 >= 1) {
            __cpuid_count(7, 1, a7, b7, c7, d7);
            if (avx && ((a7 >> 4) & 1))
                f |= KB_CPU_AVXVNNI;
        }
    }
#endif
    return f;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static unsigned detected, mask = KB_CPU_ALL;
static char env_error[256];

static void load(void)
{
    detected = detect();
    const char *spec = getenv(KB_CPU_FEATURES_ENV);
    unsigned m = KB_CPU_ALL;
    if (spec && *spec && kb_cpu_features_parse(spec, &m, env_error, sizeof env_error) != 0)
        m = 0; /* never run a path the user may have meant to exclude */
    __atomic_store_n(&mask, m, __ATOMIC_RELAXED);
}

int kb_cpu_features_parse(const char *spec, unsigned *out, char *err, size_t errlen)
{
    unsigned m = 0, minus = 0;
    int any_plus = 0;
    const char *p = spec;
    for (;;) {
        size_t n = strcspn(p, ",");
        char word[32];
        int known = 0;
        /* "-name": take a feature (or a level's features) away, e.g. avx2,-avxvnni for the AVX2
         * CPUs without AVX-VNNI (Haswell to Ice Lake, Zen 1-4) */
        const int sub = n > 1 && p[0] == '-';
        if (n > 0 && n < sizeof word) {
            memcpy(word, p + sub, n - sub);
            word[n - sub] = '\0';
            unsigned bits = 0;
            for (size_t i = 0; i < sizeof level_names / sizeof level_names[0] && !known; i++)
                if (strcmp(word, level_names[i].name) == 0) {
                    bits = level_names[i].mask;
                    known = 1;
                }
            for (size_t i = 0; i < sizeof feature_names / sizeof feature_names[0] && !known; i++)
                if (strcmp(word, feature_names[i].name) == 0) {
                    bits = feature_names[i].bit;
                    known = 1;
                }
            if (sub)
                minus |= bits;
            else
                m |= bits, any_plus = 1;
        }
        if (!known) {
            snprintf(err, errlen,
                     "%s=%s: unknown CPU feature '%.*s' (accepted: a comma list of the levels scalar, avx2, "
                     "avx512, native and the features fma, avx512f, avx512bw, avx512vnni, avxvnni; "
                     "-NAME takes one away)",
                     KB_CPU_FEATURES_ENV, spec, (int)(n < 40 ? n : 40), p);
            return -1;
        }
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    /* only subtractions: from everything ("-avx512f" = native without AVX-512F) */
    *out = (any_plus ? m : KB_CPU_ALL) & ~minus;
    return 0;
}

int kb_cpu_features_init(char *err, size_t errlen)
{
    pthread_once(&once, load);
    if (env_error[0]) {
        snprintf(err, errlen, "%s", env_error);
        return -1;
    }
    return 0;
}

unsigned kb_cpu_detected(void)
{
    pthread_once(&once, load);
    return detected;
}

unsigned kb_cpu_features(void)
{
    pthread_once(&once, load);
    return detected & __atomic_load_n(&mask, __ATOMIC_RELAXED);
}

int kb_cpu_has(unsigned needed)
{
    return (kb_cpu_features() & needed) == needed;
}

int kb_cpu_masked(void)
{
    return kb_cpu_features() != kb_cpu_detected();
}

void kb_cpu_features_set_mask(unsigned m)
{
    pthread_once(&once, load);
    __atomic_store_n(&mask, m, __ATOMIC_RELAXED);
}

void kb_cpu_features_format(unsigned f, char *buf, size_t len)
{
    size_t used = 0;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < sizeof feature_names / sizeof feature_names[0]; i++) {
        if (!(f & feature_names[i].bit))
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", feature_names[i].name);
        if (n < 0 || (size_t)n >= len - used)
            break;
        used += (size_t)n;
    }
}

const char *kb_cpu_path_name(enum kb_cpu_path p)
{
    static const char *const names[KB_PATH_COUNT] = { "scalar", "avx2", "avx512" };
    return p < KB_PATH_COUNT ? names[p] : "?";
}

unsigned kb_cpu_path_mask(enum kb_cpu_path p)
{
    return p == KB_PATH_SCALAR ? 0 : p == KB_PATH_AVX2 ? LEVEL_AVX2 : KB_CPU_ALL;
}
