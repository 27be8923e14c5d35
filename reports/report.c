/* report.c - the report's data: its series and notes (report.h); report_write.c puts it together. */
#include "reports/report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "reports/reports.h"

/* ---- series ----------------------------------------------------------------------------------- */

/* The axes a case's kernel sweeps; for a kernel this build lacks (a database from elsewhere),
 * the axes its case has values for. */
static uint64_t row_axes(const struct result_row *r)
{
    const struct kb_kernel *k = kb_registry_find(r->kernel, r->impl);
    if (k)
        return kb_kernel_axes(k);
    uint64_t m = 0;
    for (int a = 0; a < KB_AXIS_COUNT; a++)
        if (kb_shape_get(&r->shape, (enum kb_axis)a))
            m |= KB_AXIS_BIT(a);
    return m;
}

/* Two kernels' series measure the same problems when they sweep the same axis and every other
 * axis both have agrees (causal flash and sliding-window attention, which is causal by
 * definition and has no such axis). */
int report_series_comparable(const struct series *a, const struct series *b)
{
    if (a->axis != b->axis)
        return 0;
    uint64_t both = row_axes(a->proto) & row_axes(b->proto);
    for (int x = 0; x < KB_AXIS_COUNT; x++)
        if (x != (int)a->axis && (both & KB_AXIS_BIT(x)) &&
            kb_shape_get(&a->proto->shape, (enum kb_axis)x) != kb_shape_get(&b->proto->shape, (enum kb_axis)x))
            return 0;
    return a->proto->threads == b->proto->threads && a->proto->cold_cache == b->proto->cold_cache;
}

/* The case's family: the registry's where this build has the kernel (gemm.f32 is a quant
 * kernel), else its name up to the first '.'. */
static void row_family(const struct result_row *r, char *buf, size_t len)
{
    const struct kb_kernel *k = kb_registry_find(r->kernel, r->impl);
    if (k) {
        snprintf(buf, len, "%s", kb_family_name(kb_kernel_family(k)));
        return;
    }
    snprintf(buf, len, "%s", r->kernel);
    char *dot = strchr(buf, '.');
    if (dot)
        *dot = '\0';
}

int report_series_alternatives(const struct series *a, const struct series *b)
{
    if (!report_series_comparable(a, b))
        return 0;
    if (strcmp(a->kernel, b->kernel) == 0 || (strcmp(a->family, "attention") == 0 && strcmp(b->family, "attention") == 0))
        return 1;
    /* implementations of one operation (gemm.f32 and quant.gemm_int8 both compute gemm) */
    const struct kb_kernel *ka = kb_registry_find(a->kernel, a->impl), *kb = kb_registry_find(b->kernel, b->impl);
    if (ka && kb && ka->op && ka->op == kb->op)
        return 1;
    for (int i = 0; i < a->count; i++)
        for (int j = 0; j < b->count; j++)
            if (a->x[i] == b->x[j]) {
                double fa = a->rows[i]->flops, fb = b->rows[j]->flops;
                return fa > 0 && fb > 0 && fabs(fa - fb) <= 1e-6 * fmax(fa, fb); /* the same count, not merely close */
            }
    return 0;
}

static int usable(const struct result_row *r)
{
    return strcmp(r->status, "ok") == 0 && r->stats.median > 0 && isfinite(r->stats.median);
}

/* Sorts a series' cases ascending in its axis (a stable insertion sort: series are short, and
 * qsort's comparator could not be told the axis without global state). */
static void sort_by_axis(const struct result_row **rows, int count, enum kb_axis x)
{
    for (int i = 1; i < count; i++) {
        const struct result_row *r = rows[i];
        int v = kb_shape_get(&r->shape, x), j = i;
        while (j > 0 && kb_shape_get(&rows[j - 1]->shape, x) > v) {
            rows[j] = rows[j - 1];
            j--;
        }
        rows[j] = r;
    }
}

/* Appends the axes that differ among the series of the same family and x axis ("d=64 causal
 * w=512"), and the thread count and cache state where those differ; never the swept axis. */
static void label_series(struct series *v, long nv)
{
    for (long i = 0; i < nv; i++) {
        const struct result_row *p = v[i].proto;
        uint64_t vary = 0;
        int vary_t = 0, vary_cold = 0;
        for (long j = 0; j < nv; j++) {
            if (strcmp(v[j].family, v[i].family) != 0 || v[j].axis != v[i].axis)
                continue;
            /* only axes both kernels have: moe.router has no FFN width to tell apart */
            const struct result_row *q = v[j].proto;
            uint64_t both = row_axes(p) & row_axes(q);
            for (int a = 0; a < KB_AXIS_COUNT; a++)
                if (a != (int)v[i].axis && (both & KB_AXIS_BIT(a)) &&
                    kb_shape_get(&q->shape, (enum kb_axis)a) != kb_shape_get(&p->shape, (enum kb_axis)a))
                    vary |= KB_AXIS_BIT(a);
            vary_t |= q->threads != p->threads;
            vary_cold |= q->cold_cache != p->cold_cache;
        }
        char *l = v[i].label;
        size_t len = sizeof v[i].label, u;
        /* The device is named only where the impl does not already say it ("cpu", "cpu.f64"). */
        if (strncmp(p->impl, p->device, strlen(p->device)) == 0)
            u = (size_t)snprintf(l, len, "%s [%s, %s]", p->kernel, p->impl, p->dtype);
        else
            u = (size_t)snprintf(l, len, "%s [%s on %s, %s]", p->kernel, p->impl, p->device, p->dtype);
        uint64_t own = vary & row_axes(p) & ~KB_AXIS_BIT(v[i].axis);
        char dims[192] = ""; /* (a mask of 0 would print every axis) */
        if (own)
            kb_shape_string(&p->shape, own, dims, sizeof dims);
#define ADD(cond, ...) if ((cond) && u < len) u += (size_t)snprintf(l + u, len - u, __VA_ARGS__)
        ADD(*dims, " %s", dims);
        /* kb_shape_string says nothing of a false flag; "non-causal" beside "causal" lines does */
        ADD((own & KB_AXIS_BIT(KB_AXIS_CAUSAL)) && !p->shape.causal, " non-causal");
        ADD(vary_t, " %d thread%s", p->threads, p->threads == 1 ? "" : "s");
        ADD(vary_cold, " %s", p->cold_cache ? "cold" : "warm");
#undef ADD
    }
}

void report_series_fixed(const struct series *v, long n, const char *family, enum kb_axis axis, char *buf,
                         size_t len)
{
    /* each axis's value from the first series whose kernel has it; fixed when every series
     * that has it agrees */
    struct kb_shape merged;
    memset(&merged, 0, sizeof merged);
    uint64_t have = 0, vary = 0;
    for (long i = 0; i < n; i++) {
        if (strcmp(v[i].family, family) != 0 || v[i].axis != axis)
            continue;
        uint64_t own = row_axes(v[i].proto);
        for (int a = 0; a < KB_AXIS_COUNT; a++) {
            if (!(own & KB_AXIS_BIT(a)))
                continue;
            int value = kb_shape_get(&v[i].proto->shape, (enum kb_axis)a);
            if (!(have & KB_AXIS_BIT(a)))
                kb_shape_set(&merged, (enum kb_axis)a, value);
            else if (kb_shape_get(&merged, (enum kb_axis)a) != value)
                vary |= KB_AXIS_BIT(a);
        }
        have |= own;
    }
    buf[0] = '\0';
    uint64_t fixed = have & ~vary & ~KB_AXIS_BIT(axis);
    if (fixed)
        kb_shape_string(&merged, fixed, buf, len);
}

/* The x axis of each usable row (-1: none), chosen per family as report_series_build says. */
static int assign_axes(const struct result_row *rows, long n, int x_axis, int *axis_of)
{
    const struct result_row **pick = calloc((size_t)n + 1, sizeof *pick);
    if (!pick)
        return -1;
    for (long i = 0; i < n; i++)
        axis_of[i] = -1;
    for (long i = 0; i < n; i++) {
        if (!usable(&rows[i]) || axis_of[i] != -1)
            continue;
        if (x_axis >= 0) {
            axis_of[i] = kb_shape_get(&rows[i].shape, (enum kb_axis)x_axis) > 0 ? x_axis : -2;
            continue;
        }
        /* rows[i] is the first unassigned row of its family: give the family's rows their axis */
        char family[32], other[32];
        row_family(&rows[i], family, sizeof family);
        for (;;) {
            long left = 0;
            for (long j = 0; j < n; j++) {
                int in = usable(&rows[j]) && axis_of[j] == -1;
                if (in) {
                    row_family(&rows[j], other, sizeof other);
                    in = strcmp(family, other) == 0;
                }
                pick[j] = in ? &rows[j] : NULL;
                left += in;
            }
            if (!left)
                break;
            int a = report_swept_axis(pick, n);
            long took = 0;
            for (long j = 0; j < n; j++)
                if (pick[j]) {
                    int yes = a >= 0 && kb_shape_get(&rows[j].shape, (enum kb_axis)a) > 0;
                    axis_of[j] = yes ? a : (a < 0 ? -2 : -1);
                    took += yes;
                }
            if (!took) { /* no axis left for these rows: they go unplotted */
                for (long j = 0; j < n; j++)
                    if (pick[j])
                        axis_of[j] = -2;
                break;
            }
        }
    }
    free(pick);
    return 0;
}

long report_series_build(const struct result_row *rows, long n, int x_axis, struct series **out)
{
    struct series *v = NULL;
    long nv = 0;
    *out = NULL;
    int *axis_of = malloc(sizeof *axis_of * ((size_t)n + 1));
    if (!axis_of || assign_axes(rows, n, x_axis, axis_of) != 0) {
        free(axis_of);
        return -1;
    }
    for (long i = 0; i < n; i++) {
        if (axis_of[i] < 0)
            continue;
        enum kb_axis ax = (enum kb_axis)axis_of[i];
        long k = 0;
        while (k < nv && !(v[k].axis == ax && report_same_except(v[k].proto, &rows[i], ax)))
            k++;
        if (k == nv) {
            struct series *grown = realloc(v, sizeof *v * (size_t)(nv + 1));
            if (!grown)
                goto oom;
            v = grown;
            memset(&v[nv], 0, sizeof v[nv]);
            v[nv].proto = &rows[i];
            v[nv].axis = ax;
            v[nv].rows = calloc((size_t)n, sizeof *v[nv].rows);
            v[nv].x = calloc((size_t)n, sizeof *v[nv].x);
            v[nv].t = calloc((size_t)n, sizeof *v[nv].t);
            nv++;
            if (!v[k].rows || !v[k].x || !v[k].t)
                goto oom;
            snprintf(v[k].kernel, sizeof v[k].kernel, "%s", rows[i].kernel);
            snprintf(v[k].impl, sizeof v[k].impl, "%s", rows[i].impl);
            snprintf(v[k].device, sizeof v[k].device, "%s", rows[i].device);
            snprintf(v[k].dtype, sizeof v[k].dtype, "%s", rows[i].dtype);
            row_family(&rows[i], v[k].family, sizeof v[k].family);
        }
        v[k].rows[v[k].count++] = &rows[i];
    }
    free(axis_of);
    for (long k = 0; k < nv; k++) {
        sort_by_axis(v[k].rows, v[k].count, v[k].axis);
        for (int j = 0; j < v[k].count; j++) {
            v[k].x[j] = kb_shape_get(&v[k].rows[j]->shape, v[k].axis);
            v[k].t[j] = v[k].rows[j]->stats.median;
        }
        v[k].fitted = scaling_fit(v[k].x, v[k].t, v[k].count, &v[k].fit) == 0;
    }
    label_series(v, nv);
    *out = v;
    return nv;
oom:
    free(axis_of);
    report_series_free(v, nv);
    return -1;
}

void report_series_free(struct series *v, long n)
{
    for (long i = 0; i < n; i++) {
        free(v[i].rows);
        free(v[i].x);
        free(v[i].t);
    }
    free(v);
}

/* ---- helpers ---------------------------------------------------------------------------------- */

void report_note(struct report *r, const char *fmt, ...)
{
    va_list ap;
    char buf[256];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (r->log)
        fprintf(r->log, "note: %s\n", buf);
    if (r->nnotes < (int)(sizeof r->notes / sizeof r->notes[0]))
        snprintf(r->notes[r->nnotes++], sizeof r->notes[0], "%s", buf);
}

FILE *report_open(const struct report *r, const char *name, char *why, size_t whylen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", r->opt->out_dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        snprintf(why, whylen, "cannot create '%s': %s", path, strerror(errno));
    return f;
}

void report_shape_text(const struct result_row *row, char *out, size_t len)
{
    uint64_t axes = row_axes(row) & ~row->null_axes;
    out[0] = '\0';
    if (axes)
        kb_shape_string(&row->shape, axes, out, len);
}
