/* registry.c - every kernel compiled into kbench, in a stable order (the order of `kbench list`
 * and of planned cases). Adding a kernel is one line here. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "kernels/kernel.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "kernels/attention/attention.h"
#include "kernels/gemm/gemm.h"
#include "kernels/selftest/selftest.h"

static const struct kb_kernel *const registry[] = {
    &kb_attention_reference,
    &kb_attention_flash_cpu,
    &kb_selftest_noop,
    &kb_selftest_crash,
    &kb_selftest_abort,
    &kb_selftest_fpe,
    &kb_selftest_hang,
    &kb_selftest_oom,
#ifdef HAVE_CUDA
    &kb_selftest_cuda_fault,
    &kb_selftest_cuda_hang,
    &kb_attention_flash_cuda,
#endif
#ifdef HAVE_CUBLAS
    &kb_attention_softmax_cublas,
    &kb_gemm_cublas,
#endif
};

const struct kb_kernel *const *kb_registry_all(size_t *n)
{
    *n = sizeof registry / sizeof registry[0];
    return registry;
}

const struct kb_kernel *kb_registry_find(const char *name, const char *impl)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++) {
        const struct kb_kernel *k = registry[i];
        if (strcmp(k->name, name) == 0 && (!impl || strcmp(k->impl, impl) == 0))
            return k;
    }
    return NULL;
}

int kb_kernel_matches(const struct kb_kernel *k, const char *pattern)
{
    if (!k || !pattern)
        return 0;
    if (fnmatch(pattern, k->name, 0) == 0)
        return 1;
    char full[256];
    int n = snprintf(full, sizeof full, "%s@%s", k->name, k->impl ? k->impl : "");
    if (n < 0 || (size_t)n >= sizeof full)
        return 0;
    return fnmatch(pattern, full, 0) == 0;
}

uint64_t kb_kernel_axes(const struct kb_kernel *k)
{
    if (k->axes)
        return k->axes;
    switch (k->family) {
    case KB_FAMILY_ATTENTION: return KB_AXES_ATTENTION;
    case KB_FAMILY_QUANT: return KB_AXES_QUANT;
    case KB_FAMILY_MOE: return KB_AXES_MOE;
    case KB_FAMILY_SELFTEST: return KB_AXES_SELFTEST;
    }
    return 0;
}
