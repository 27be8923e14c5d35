/* roofline.c - ceilings for a machine and the roofline bound of a case (roofline.h). */
#include "reports/roofline.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/cpu_features.h"

static int take(const struct ceiling *c, void *ctx)
{
    struct roofline *r = ctx;
    if (r->count < ROOFLINE_MAX)
        r->ceilings[r->count++] = *c;
    return 0;
}

int roofline_load(struct store *s, int64_t run_id, const struct machine_info *m, struct roofline *out)
{
    memset(out, 0, sizeof *out);
    if (run_id > 0)
        store_get_run_cpu_mask(s, run_id, &out->mask);
    out->nominal_core = m->peak_f32_core > 0 ? m->peak_f32_core : 0;
    out->cores = m->physical_cores > 0 ? m->physical_cores : m->logical_cpus > 0 ? m->logical_cpus : 1;
    if (store_list_ceilings(s, m->fingerprint, take, out) != 0)
        return -1;
    out->measured = isfinite(roofline_ceiling(out, "cpu", CEIL_F32_FMA_CORE));
    return 0;
}

double roofline_ceiling(const struct roofline *r, const char *device, const char *name)
{
    for (int i = 0; i < r->count; i++)
        if (strcmp(r->ceilings[i].device, device) == 0 && strcmp(r->ceilings[i].name, name) == 0)
            return r->ceilings[i].value;
    return NAN;
}

double roofline_mask_scale(const struct roofline *r)
{
    if (!*r->mask.mask)
        return 1;
    if (!(r->mask.peak_f32_core > 0) || !(r->nominal_core > 0))
        return NAN; /* a roof we cannot scale is unknown, not the unmasked one */
    return r->mask.peak_f32_core / r->nominal_core;
}

/* The stored features are cpu.h's simd string: "avx512f avx512bw avx2 fma", "sse2" for none. */
static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return 1;
    return 0;
}

const char *roofline_mask_path(const struct roofline *r)
{
    if (!*r->mask.mask)
        return NULL;
    if (has_word(r->mask.features, "avx512f"))
        return "avx512";
    return has_word(r->mask.features, "avx2") ? "avx2" : "scalar";
}

double roofline_compute(const struct roofline *r, const char *device, const char *dtype, int threads)
{
    if (strcmp(device, "cpu") != 0) {
        char name[32];
        snprintf(name, sizeof name, "flops_%s", dtype);
        return roofline_ceiling(r, device, name);
    }
    int i8 = strcmp(dtype, "i8") == 0;
    /* A masked run reaches only its features' share of what was measured with all of them. */
    double scale = roofline_mask_scale(r);
    double core = roofline_ceiling(r, "cpu", i8 ? CEIL_I8_DOT_CORE : CEIL_F32_FMA_CORE) * scale;
    double all = roofline_ceiling(r, "cpu", i8 ? CEIL_I8_DOT_ALL : CEIL_F32_FMA_ALL) * scale;
    if (isnan(core) && !i8 && r->nominal_core > 0)
        core = *r->mask.mask ? (r->mask.peak_f32_core > 0 ? r->mask.peak_f32_core : NAN) : r->nominal_core;
    if (isnan(core))
        return NAN;
    int t = threads > 0 ? threads : 1;
    if (t > r->cores)
        t = r->cores;
    double p = core * t;
    return isfinite(all) && all < p ? all : p;
}

double roofline_bandwidth(const struct roofline *r, const char *device, int threads)
{
    if (strcmp(device, "cpu") != 0)
        return roofline_ceiling(r, device, "copy_bw");
    double one = roofline_ceiling(r, "cpu", CEIL_MEM_TRIAD_CORE), all = roofline_ceiling(r, "cpu", CEIL_MEM_TRIAD);
    if (threads <= 1 && isfinite(one))
        return one;
    if (isfinite(all) && isfinite(one) && threads < r->cores) {
        /* Between one thread and all: each thread adds a core's share, up to the socket's. */
        double b = one * threads;
        return b < all ? b : all;
    }
    return all;
}

double roofline_fraction(const struct roofline *r, const struct result_row *row)
{
    if (!(row->flops > 0) || !(row->flops_per_s > 0))
        return NAN;
    double p = roofline_compute(r, row->device, row->dtype, row->threads);
    if (!(p > 0))
        return NAN;
    double b = roofline_bandwidth(r, row->device, row->threads);
    if (b > 0 && row->bytes > 0) {
        double mem = row->flops / row->bytes * b;
        if (mem < p)
            p = mem;
    }
    return row->flops_per_s / p;
}

/* What the mask did to the CPU compute roof, appended to the description. */
static void describe_mask(const struct roofline *r, char *out, size_t len)
{
    const char *path = roofline_mask_path(r);
    if (!path || len == 0)
        return;
    size_t used = strlen(out);
    double scale = roofline_mask_scale(r);
    if (!isfinite(scale))
        snprintf(out + used, len - used, "; CPU compute roof: unknown under %s=%s (%s; its nominal peak is unknown)",
                 KB_CPU_FEATURES_ENV, r->mask.mask, r->mask.features);
    else if (r->measured)
        snprintf(out + used, len - used,
                 "; CPU compute roof: the %s peak (%s=%s: %s), scaled from the measured ceiling by the nominal "
                 "peaks' ratio %.3g", path, KB_CPU_FEATURES_ENV, r->mask.mask, r->mask.features, scale);
    else
        snprintf(out + used, len - used, "; CPU compute roof: the %s peak (%s=%s: %s), nominal %.4g GFLOP/s per core",
                 path, KB_CPU_FEATURES_ENV, r->mask.mask, r->mask.features, r->mask.peak_f32_core * 1e-9);
}

void roofline_describe(const struct roofline *r, char *out, size_t len)
{
    if (r->measured)
        snprintf(out, len, "ceilings measured by kbench calibrate on this machine");
    else if (r->nominal_core > 0)
        snprintf(out, len, "no measured ceilings (run kbench calibrate): compute roof is the nominal per-core "
                           "FMA peak (clock x FLOP/cycle), memory roof unknown");
    else
        snprintf(out, len, "no ceilings: the machine was not calibrated and its clock is unknown");
    describe_mask(r, out, len);
}
