/* machine.c - reads the machine a run measures on and fingerprints it, so results from
 * different hardware (or an upgraded OS) are never compared as if they were one machine. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "harness/machine.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "harness/counters.h"
#include "harness/gpu.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

#ifndef KB_GIT_COMMIT
#define KB_GIT_COMMIT "unknown"
#endif
#ifndef KB_BUILD_FLAGS
#define KB_BUILD_FLAGS "unknown"
#endif

#if defined(__clang__)
#define KB_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define KB_COMPILER "gcc " __VERSION__
#else
#define KB_COMPILER "unknown compiler"
#endif

/* FNV-1a: tiny, stable across platforms and releases, and good enough to tell machines apart
 * (this is an identity, not a security boundary). */
static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

static void copy_str(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

/* "NVIDIA H100 80GB HBM3 (sm_90), ..." for every device that describes itself. */
static void describe_gpus(char *out, size_t len)
{
    char why[256];
    out[0] = '\0';
    static struct gpu_info all[GPU_LIST_MAX];
    int n = gpu_list(all, GPU_LIST_MAX, why, sizeof why); /* one child for every device */
    size_t used = 0;
    for (int i = 0; i < n && i < GPU_LIST_MAX; i++) {
        const struct gpu_info g = all[i];
        int w = snprintf(out + used, len - used, "%s%s (sm_%d%d)", used ? ", " : "", g.name, g.cc_major,
                         g.cc_minor);
        if (w < 0 || (size_t)w >= len - used)
            break; /* truncated: keep what fits */
        used += (size_t)w;
    }
}

void machine_info_read(struct machine_info *m)
{
    memset(m, 0, sizeof *m);

    struct cpu_info ci;
    cpu_info_read(&ci);
    copy_str(m->cpu_model, sizeof m->cpu_model, ci.model);
    m->logical_cpus = ci.logical_cpus;
    m->physical_cores = ci.physical_cores;
    m->cpu_mhz = ci.mhz;
    copy_str(m->simd, sizeof m->simd, ci.simd);
    m->l1d_bytes = (long long)ci.l1d_bytes;
    m->l2_bytes = (long long)ci.l2_bytes;
    m->l3_bytes = (long long)ci.l3_bytes;
    m->peak_f32_core = cpu_peak_f32_per_core(&ci);

    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page_size > 0)
        m->mem_bytes = (long long)pages * page_size;

    struct utsname u;
    if (uname(&u) == 0)
        snprintf(m->os, sizeof m->os, "%s %s %s", u.sysname, u.release, u.machine);
    if (gethostname(m->hostname, sizeof m->hostname) != 0)
        copy_str(m->hostname, sizeof m->hostname, "unknown");
    m->hostname[sizeof m->hostname - 1] = '\0'; /* gethostname need not terminate a long name */

    copy_str(m->compiler, sizeof m->compiler, KB_COMPILER);
    copy_str(m->kbench_version, sizeof m->kbench_version, PACKAGE_VERSION);
    copy_str(m->git_commit, sizeof m->git_commit, KB_GIT_COMMIT);
    copy_str(m->build_flags, sizeof m->build_flags, KB_BUILD_FLAGS);
    counters_papi_version(m->papi_version, sizeof m->papi_version);
    describe_gpus(m->gpus, sizeof m->gpus);

    /* The separators keep adjacent fields from running into each other ("a|bc" vs "ab|c"). */
    char key[1024];
    snprintf(key, sizeof key, "%s|%s|%d|%d|%lld|%s|%s", m->hostname, m->cpu_model, m->physical_cores,
             m->logical_cpus, m->mem_bytes, m->os, m->gpus);
    snprintf(m->fingerprint, sizeof m->fingerprint, "%016llx", (unsigned long long)fnv1a64(key));
}
