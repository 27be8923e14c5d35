/* cpu.c - what the CPU is and what it can do: model, cores, caches, SIMD features from cpuid,
 * /proc and /sys, and the per-core float32 FMA peak the roofline divides by. */
#include "harness/cpu.h"
#include "kernels/cpu_features.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define KB_X86 1
#endif

/* How many FLOPs one core retires per cycle is not in cpuid: it depends on how many FMA pipes
 * the core has and how wide they really are, which can be narrower than the ISA (a 256-bit
 * instruction may run as two 128-bit halves). The rows below are the microarchitectures we
 * know; anything else falls back to the ISA width with two FMA pipes (Intel since Haswell). */
struct core_model {
    const char *vendor;
    int family;            /* cpuid display family */
    int model_lo, model_hi; /* display model range */
    int native_bits;       /* widest datapath of an FMA pipe */
    int fma_pipes;
    const char *method;
};

static const struct core_model core_models[] = {
    /* Zen and Zen+ (Naples, Summit/Pinnacle Ridge, Raven Ridge, Picasso, Dali): AVX2 is
     * decoded into two 128-bit halves on two 128-bit FMA pipes. */
    { "AuthenticAMD", 0x17, 0x00, 0x2f, 128, 2,
      "AMD family 17h model < 30h (Zen/Zen+): 2 FMA pipes x 128 bits = 4 lanes x 2 x 2 = 16 FLOP/cycle x cpu MHz" },
    /* Hygon Dhyana is a licensed Zen 1. */
    { "HygonGenuine", 0x18, 0x00, 0xff, 128, 2,
      "Hygon family 18h (Zen 1 core): 2 FMA pipes x 128 bits = 16 FLOP/cycle x cpu MHz" },
    /* Zen 2 (Rome, Matisse, Renoir, ...) widened the pipes to 256 bits. */
    { "AuthenticAMD", 0x17, 0x30, 0xff, 256, 2,
      "AMD family 17h model >= 30h (Zen 2): 2 FMA pipes x 256 bits = 8 lanes x 2 x 2 = 32 FLOP/cycle x cpu MHz" },
    /* Zen 3 and Zen 4: two 256-bit FMA pipes; Zen 4's AVX-512 runs as two 256-bit halves, so
     * AVX-512 does not raise the peak. */
    { "AuthenticAMD", 0x19, 0x00, 0xff, 256, 2,
      "AMD family 19h (Zen 3/Zen 4): 2 FMA pipes x 256 bits (AVX-512 double-pumped) = 32 FLOP/cycle x cpu MHz" },
    /* Zen 5 desktop and server parts have full 512-bit datapaths (mobile parts do not and are
     * overestimated by this row). */
    { "AuthenticAMD", 0x1a, 0x00, 0xff, 512, 2,
      "AMD family 1Ah (Zen 5): 2 FMA pipes x 512 bits = 16 lanes x 2 x 2 = 64 FLOP/cycle with AVX-512 (32 without) x cpu MHz" },
};

static const char method_intel_avx512[] =
    "Intel AVX-512: 16 lanes x 2 FMA units (assumed, as on Xeon Gold/Platinum) x 2 = 64 FLOP/cycle x cpu MHz";
static const char method_intel_avx2[] =
    "Intel AVX2+FMA (Haswell and later): 8 lanes x 2 FMA units x 2 = 32 FLOP/cycle x cpu MHz";
static const char method_avx_nofma[] =
    "AVX without FMA: one 8-lane multiply and one 8-lane add per cycle = 16 FLOP/cycle x cpu MHz";
static const char method_sse[] =
    "SSE only: one 4-lane multiply and one 4-lane add per cycle = 8 FLOP/cycle x cpu MHz";
static const char method_unknown[] = "no FMA model for this architecture: peak unknown";

/* ---- /proc and /sys ------------------------------------------------------------------------- */

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

/* "model name", "cpu MHz" and the distinct (physical id, core id) pairs. */
static void read_proc_cpuinfo(struct cpu_info *info)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    enum { MAX_PAIRS = 4096, unset = -1 };
    long *pairs = malloc(MAX_PAIRS * sizeof *pairs);
    int npairs = 0, phys = unset, core = unset;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon) {
            phys = core = unset; /* a blank line ends one processor's block */
            continue;
        }
        char *val = colon + 1;
        while (*val == ' ' || *val == '\t')
            val++;
        trim(val);
        if (strncmp(line, "model name", 10) == 0 && !info->model[0])
            snprintf(info->model, sizeof info->model, "%s", val);
        else if (strncmp(line, "cpu MHz", 7) == 0 && info->mhz == 0)
            info->mhz = strtod(val, NULL);
        else if (strncmp(line, "physical id", 11) == 0)
            phys = atoi(val);
        else if (strncmp(line, "core id", 7) == 0)
            core = atoi(val);
        if (phys != unset && core != unset && pairs) {
            long key = (long)phys * 1000003L + core;
            int seen = 0;
            for (int i = 0; i < npairs && !seen; i++)
                seen = pairs[i] == key;
            if (!seen && npairs < MAX_PAIRS)
                pairs[npairs++] = key;
            phys = core = unset;
        }
    }
    fclose(f);
    free(pairs);
    info->physical_cores = npairs;
}

static int read_sys_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int ok = fgets(buf, (int)len, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    trim(buf);
    return 0;
}

/* "32K", "8192K", "1M" as sysfs writes them. */
static size_t parse_cache_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end == 'K' || *end == 'k')
        v <<= 10;
    else if (*end == 'M' || *end == 'm')
        v <<= 20;
    else if (*end == 'G' || *end == 'g')
        v <<= 30;
    return (size_t)v;
}

static void read_caches(struct cpu_info *info)
{
    for (int i = 0; i < 16; i++) {
        char path[128], level[16], type[32], size[32];
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        if (read_sys_line(path, level, sizeof level) != 0)
            break;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
        if (read_sys_line(path, type, sizeof type) != 0)
            continue;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        if (read_sys_line(path, size, sizeof size) != 0)
            continue;
        size_t bytes = parse_cache_size(size);
        int lv = atoi(level);
        if (lv == 1 && strcmp(type, "Data") == 0)
            info->l1d_bytes = bytes;
        else if (lv == 2 && strcmp(type, "Instruction") != 0)
            info->l2_bytes = bytes;
        else if (lv == 3 && strcmp(type, "Instruction") != 0)
            info->l3_bytes = bytes;
    }
}

/* ---- cpuid ---------------------------------------------------------------------------------- */

#ifdef KB_X86
struct x86_id {
    char vendor[13];
    int family, model;
};

/* Vendor, family and model for the FMA-pipe table; the SIMD features themselves come from
 * kernels/cpu_features.c, the one place that decides them (with the KBENCH_CPU_FEATURES mask). */
static void read_cpuid(struct cpu_info *info, struct x86_id *id)
{
    unsigned a = 0, b = 0, c = 0, d = 0, max_leaf = 0;
    memset(id, 0, sizeof *id);
    if (!__get_cpuid(0, &max_leaf, &b, &c, &d) || max_leaf < 1)
        return;
    memcpy(id->vendor, &b, 4);
    memcpy(id->vendor + 4, &d, 4);
    memcpy(id->vendor + 8, &c, 4);
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return;
    int base_family = (a >> 8) & 0xf, base_model = (a >> 4) & 0xf;
    id->family = base_family == 0xf ? base_family + (int)((a >> 20) & 0xff) : base_family;
    id->model = (base_family == 0x6 || base_family == 0xf) ? (int)(((a >> 16) & 0xf) << 4) + base_model
                                                              : base_model;
    /* The brand string, for systems whose /proc/cpuinfo has no model name. */
    if (!info->model[0] && __get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
        unsigned brand[12];
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002 + i, &brand[4 * i], &brand[4 * i + 1], &brand[4 * i + 2], &brand[4 * i + 3]);
        char s[49];
        memcpy(s, brand, 48);
        s[48] = '\0';
        char *p = s;
        while (*p == ' ')
            p++;
        trim(p);
        snprintf(info->model, sizeof info->model, "%s", p);
    }
}

static void set_peak_model(struct cpu_info *info, const struct x86_id *id)
{
    int isa_bits = info->has_avx512f ? 512 : (info->has_avx2 || info->has_fma) ? 256 : 128;
    for (size_t i = 0; i < sizeof core_models / sizeof core_models[0]; i++) {
        const struct core_model *m = &core_models[i];
        if (strcmp(id->vendor, m->vendor) != 0 || id->family != m->family || id->model < m->model_lo ||
            id->model > m->model_hi || !info->has_fma)
            continue;
        int bits = isa_bits < m->native_bits ? isa_bits : m->native_bits;
        info->f32_flops_per_cycle = (double)(bits / 32) * m->fma_pipes * 2;
        info->peak_method = m->method;
        return;
    }
    if (info->has_fma && info->has_avx512f) {
        info->f32_flops_per_cycle = 16 * 2 * 2;
        info->peak_method = method_intel_avx512;
    } else if (info->has_fma) {
        info->f32_flops_per_cycle = 8 * 2 * 2;
        info->peak_method = method_intel_avx2;
    } else if (isa_bits >= 256) {
        info->f32_flops_per_cycle = 8 * 2;
        info->peak_method = method_avx_nofma;
    } else {
        info->f32_flops_per_cycle = 4 * 2;
        info->peak_method = method_sse;
    }
}
#endif

static void build_simd_string(struct cpu_info *info)
{
    static const struct {
        const char *name;
        size_t offset;
    } flags[] = {
        { "avx512f", offsetof(struct cpu_info, has_avx512f) },
        { "avx512bw", offsetof(struct cpu_info, has_avx512bw) },
        { "avx512vnni", offsetof(struct cpu_info, has_avx512vnni) },
        { "avx2", offsetof(struct cpu_info, has_avx2) },
        { "fma", offsetof(struct cpu_info, has_fma) },
        { "avxvnni", offsetof(struct cpu_info, has_avxvnni) },
    };
    size_t len = 0;
    info->simd[0] = '\0';
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (!*(const int *)((const char *)info + flags[i].offset))
            continue;
        int n = snprintf(info->simd + len, sizeof info->simd - len, "%s%s", len ? " " : "", flags[i].name);
        if (n < 0 || (size_t)n >= sizeof info->simd - len)
            break;
        len += (size_t)n;
    }
#ifdef KB_X86
    if (!info->simd[0])
        snprintf(info->simd, sizeof info->simd, "sse2");
#endif
}

/* The features in effect (detected and not masked by KBENCH_CPU_FEATURES): the peak below
 * and every kernel use these, so a masked run is measured against the roof it can reach. */
static void read_features(struct cpu_info *info, unsigned f)
{
    info->has_avx2 = (f & KB_CPU_AVX2) != 0;
    info->has_fma = (f & KB_CPU_FMA) != 0;
    info->has_avx512f = (f & KB_CPU_AVX512F) != 0;
    info->has_avx512bw = (f & KB_CPU_AVX512BW) != 0;
    info->has_avx512vnni = (f & KB_CPU_AVX512VNNI) != 0;
    info->has_avxvnni = (f & KB_CPU_AVXVNNI) != 0;
    info->features_masked = kb_cpu_masked();
    kb_cpu_features_format(kb_cpu_detected(), info->simd_detected, sizeof info->simd_detected);
}

void cpu_info_read(struct cpu_info *info)
{
    memset(info, 0, sizeof *info);
    info->peak_method = method_unknown;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    info->logical_cpus = online > 0 ? (int)online : 0;
    read_proc_cpuinfo(info);
    if (info->physical_cores == 0)
        info->physical_cores = info->logical_cpus;
    if (info->mhz == 0) {
        /* Architectures whose /proc/cpuinfo has no clock (arm64) still have cpufreq. */
        char buf[64];
        if (read_sys_line("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", buf, sizeof buf) == 0)
            info->mhz = strtod(buf, NULL) / 1000.0;
    }
    read_caches(info);
#ifdef KB_X86
    struct x86_id id;
    read_cpuid(info, &id);
    /* the hardware's peak first (every feature the CPU has), then the one in effect */
    struct cpu_info hw = *info;
    read_features(&hw, kb_cpu_detected());
    set_peak_model(&hw, &id);
    info->hw_f32_flops_per_cycle = hw.f32_flops_per_cycle;
    read_features(info, kb_cpu_features());
    set_peak_model(info, &id);
#else
    read_features(info, kb_cpu_features());
#endif
    build_simd_string(info);
}

double cpu_peak_f32_per_core(const struct cpu_info *info)
{
    return info->f32_flops_per_cycle * info->mhz * 1e6;
}

double cpu_hw_peak_f32_per_core(const struct cpu_info *info)
{
    double fpc = info->hw_f32_flops_per_cycle > 0 ? info->hw_f32_flops_per_cycle : info->f32_flops_per_cycle;
    return fpc * info->mhz * 1e6;
}

size_t cpu_llc_bytes(const struct cpu_info *info)
{
    if (info->l3_bytes)
        return info->l3_bytes;
    if (info->l2_bytes)
        return info->l2_bytes;
    return (size_t)32 << 20;
}
