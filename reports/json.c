/* json.c - a run as one JSON document: the run, its machine, and every case with statistics,
 * accuracy, counters and raw samples.
 *
 *   {"kbench_export_version": 3,
 *    "run": {id, uuid, started, finished, status, tags (an array, v3), suite, hostname, machine, cmdline,
 *            kbench_version, planned_cases, cases, failures},
 *    "machine": {the fields of struct machine_info},
 *    "environment": {"roofline_source", "ceilings": [{device, name, value, unit, method,
 *                    measured_at}]},                                        (v2)
 *    "cases": [{the CSV columns (csv.c) under the same names, "calls_per_sample",
 *               "counters": [{"backend", "name", "value", "unit"}], "samples_s": [...],
 *               "papi_status": "..."}]}
 *
 * Numbers not measured (NaN, infinities), counts and sizes not known (n of a case not timed,
 * threads of a GPU case, a machine's cache sizes) and shape fields a kernel does not use are
 * null; causal, cold_cache and passed are booleans (causal null for kernels without the axis,
 * passed null where verify did not run). Version 3: run.tags is an array (version 2 had one
 * comma-joined string "tag"), and unknown counts are null instead of 0. Strings
 * are escaped for JSON, and bytes that are not UTF-8 become U+FFFD so every parser accepts
 * the file. The document is described by docs/export-schema.json (a JSON Schema).
 */
#include "reports/reports.h"
#include "reports/roofline.h"
#include "reports/json_writer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_VERSION 3

/* ---- the writer (json_writer.h) ---- */

static void jw_newline(struct jw *w)
{
    fputc('\n', w->out);
    for (int i = 0; i < w->depth; i++)
        fputs("  ", w->out);
}

static void jw_before_value(struct jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth == 0)
        return;
    if (w->count[w->depth]++)
        fputc(',', w->out);
    if (w->compact[w->depth]) {
        if (w->count[w->depth] > 1)
            fputc(' ', w->out);
    } else {
        jw_newline(w);
    }
}

static void jw_raw_string(FILE *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', out);
    while (*s) {
        unsigned c = *s;
        switch (c) {
        case '"': fputs("\\\"", out); s++; continue;
        case '\\': fputs("\\\\", out); s++; continue;
        case '\n': fputs("\\n", out); s++; continue;
        case '\r': fputs("\\r", out); s++; continue;
        case '\t': fputs("\\t", out); s++; continue;
        case '\b': fputs("\\b", out); s++; continue;
        case '\f': fputs("\\f", out); s++; continue;
        default: break;
        }
        if (c < 0x20) {
            fprintf(out, "\\u%04x", c);
            s++;
            continue;
        }
        int len = report_utf8_sequence((const char *)s);
        if (len == 0) {
            fputs("\\ufffd", out);
            s++;
            continue;
        }
        fwrite(s, 1, (size_t)len, out);
        s += len;
    }
    fputc('"', out);
}

void jw_key(struct jw *w, const char *key)
{
    jw_before_value(w);
    jw_raw_string(w->out, key);
    fputs(": ", w->out);
    w->after_key = 1;
}

void jw_open(struct jw *w, char bracket, int compact)
{
    jw_before_value(w);
    fputc(bracket, w->out);
    /* The document's nesting is fixed (at most 5 levels), well inside JW_DEPTH. */
    w->depth++;
    w->count[w->depth] = 0;
    w->compact[w->depth] = compact || w->compact[w->depth - 1];
}

void jw_close(struct jw *w, char bracket)
{
    int had_items = w->count[w->depth] > 0, compact = w->compact[w->depth];
    w->depth--;
    if (had_items && !compact)
        jw_newline(w);
    fputc(bracket, w->out);
}

void jw_string(struct jw *w, const char *s)
{
    jw_before_value(w);
    jw_raw_string(w->out, s);
}

void jw_null(struct jw *w)
{
    jw_before_value(w);
    fputs("null", w->out);
}

/* Optional text: "" means "not set" in the store's fixed-size fields. */
void jw_string_or_null(struct jw *w, const char *s)
{
    if (s && *s)
        jw_string(w, s);
    else
        jw_null(w);
}

void jw_number(struct jw *w, double v)
{
    jw_before_value(w);
    if (isfinite(v))
        fprintf(w->out, "%.9g", v);
    else
        fputs("null", w->out);
}

void jw_int(struct jw *w, long long v)
{
    jw_before_value(w);
    fprintf(w->out, "%lld", v);
}

void jw_bool(struct jw *w, int v)
{
    jw_before_value(w);
    fputs(v ? "true" : "false", w->out);
}

/* Shape fields are stored as NULL where a kernel does not use them, and read back as 0. */
static void jw_dim(struct jw *w, int v)
{
    if (v > 0)
        jw_int(w, v);
    else
        jw_null(w);
}

/* A count or size that is 0 where unknown: null then. */
static void jw_count(struct jw *w, long long v)
{
    if (v > 0)
        jw_int(w, v);
    else
        jw_null(w);
}

/* A shape flag: null where the kernel does not have the axis (its column is NULL). */
static void jw_flag(struct jw *w, const struct result_row *r, enum kb_axis a, int v)
{
    if (r->null_axes & KB_AXIS_BIT(a))
        jw_null(w);
    else
        jw_bool(w, v);
}

static int jw_tag(const char *tag, void *ctx)
{
    jw_string(ctx, tag);
    return 0;
}

/* ---- the document ----------------------------------------------------------------------------- */

static int write_run(struct jw *w, struct store *s, const struct run_row *r)
{
    jw_key(w, "run");
    jw_open(w, '{', 0);
    jw_key(w, "id"); jw_int(w, r->id);
    jw_key(w, "uuid"); jw_string(w, r->uuid);
    jw_key(w, "started"); jw_string(w, r->started);
    jw_key(w, "finished"); jw_string_or_null(w, r->finished);
    jw_key(w, "status"); jw_string(w, r->status);
    jw_key(w, "tags");
    jw_open(w, '[', 1);
    int rc = store_list_run_tags(s, r->id, jw_tag, w);
    jw_close(w, ']');
    jw_key(w, "suite"); jw_string_or_null(w, r->suite);
    jw_key(w, "hostname"); jw_string(w, r->hostname);
    jw_key(w, "machine"); jw_string(w, r->machine);
    jw_key(w, "cmdline"); jw_string(w, r->cmdline);
    jw_key(w, "kbench_version"); jw_string(w, r->kbench_version);
    jw_key(w, "planned_cases"); jw_int(w, r->planned_cases);
    jw_key(w, "cases"); jw_int(w, r->cases);
    jw_key(w, "failures"); jw_int(w, r->failures);
    jw_close(w, '}');
    return rc;
}

static void write_machine(struct jw *w, const struct machine_info *m)
{
    jw_key(w, "machine");
    jw_open(w, '{', 0);
    jw_key(w, "fingerprint"); jw_string(w, m->fingerprint);
    jw_key(w, "hostname"); jw_string(w, m->hostname);
    jw_key(w, "cpu_model"); jw_string(w, m->cpu_model);
    jw_key(w, "logical_cpus"); jw_count(w, (long long)m->logical_cpus);
    jw_key(w, "physical_cores"); jw_count(w, (long long)m->physical_cores);
    jw_key(w, "cpu_mhz"); jw_number(w, m->cpu_mhz > 0 ? m->cpu_mhz : NAN);
    jw_key(w, "mem_bytes"); jw_count(w, (long long)m->mem_bytes);
    jw_key(w, "simd"); jw_string(w, m->simd);
    jw_key(w, "l1d_bytes"); jw_count(w, (long long)m->l1d_bytes);
    jw_key(w, "l2_bytes"); jw_count(w, (long long)m->l2_bytes);
    jw_key(w, "l3_bytes"); jw_count(w, (long long)m->l3_bytes);
    jw_key(w, "os"); jw_string(w, m->os);
    jw_key(w, "compiler"); jw_string(w, m->compiler);
    jw_key(w, "kbench_version"); jw_string(w, m->kbench_version);
    jw_key(w, "papi_version"); jw_string(w, m->papi_version);
    jw_key(w, "gpus"); jw_string_or_null(w, m->gpus);
    jw_key(w, "peak_f32_core"); jw_number(w, m->peak_f32_core > 0 ? m->peak_f32_core : NAN);
    jw_close(w, '}');
}

static int write_counter(const struct kb_counter *k, void *ctx)
{
    struct jw *w = ctx;
    jw_open(w, '{', 1);
    jw_key(w, "backend"); jw_string(w, k->backend);
    jw_key(w, "name"); jw_string(w, k->name);
    jw_key(w, "value"); jw_number(w, k->value);
    jw_key(w, "unit"); jw_string(w, k->unit);
    jw_close(w, '}');
    return 0;
}

void jw_ceiling(struct jw *w, const struct ceiling *c)
{
    jw_open(w, '{', 1);
    jw_key(w, "device"); jw_string(w, c->device);
    jw_key(w, "name"); jw_string(w, c->name);
    jw_key(w, "value"); jw_number(w, c->value);
    jw_key(w, "unit"); jw_string(w, c->unit);
    jw_key(w, "method"); jw_string_or_null(w, c->method);
    jw_key(w, "measured_at"); jw_string(w, c->measured_at);
    jw_close(w, '}');
}

/* Export v2: the measured ceilings and where the roofline's numbers came from. */
static void write_environment(struct jw *w, const struct roofline *roof)
{
    char src[512];
    roofline_describe(roof, src, sizeof src);
    jw_key(w, "environment");
    jw_open(w, '{', 0);
    jw_key(w, "roofline_source"); jw_string(w, src);
    jw_key(w, "ceilings");
    jw_open(w, '[', 0);
    for (int i = 0; i < roof->count; i++)
        jw_ceiling(w, &roof->ceilings[i]);
    jw_close(w, ']');
    jw_close(w, '}');
}

static int write_case(struct jw *w, struct store *s, const struct run_row *run, const struct roofline *roof,
                      const struct result_row *r)
{
    const struct kb_stats *st = &r->stats;
    double *samples = NULL;
    long n_samples = store_get_samples(s, r->case_id, &samples);
    if (n_samples < 0)
        return -1;
    jw_open(w, '{', 0);
    jw_key(w, "run_id"); jw_int(w, run->id);
    jw_key(w, "run_uuid"); jw_string(w, run->uuid);
    jw_key(w, "case_id"); jw_int(w, r->case_id);
    jw_key(w, "kernel"); jw_string(w, r->kernel);
    jw_key(w, "impl"); jw_string(w, r->impl);
    jw_key(w, "device"); jw_string(w, r->device);
    jw_key(w, "dtype"); jw_string(w, r->dtype);
    jw_key(w, "batch"); jw_dim(w, r->shape.batch);
    jw_key(w, "heads"); jw_dim(w, r->shape.heads);
    jw_key(w, "kv_heads"); jw_dim(w, r->shape.kv_heads);
    jw_key(w, "seq_len"); jw_dim(w, r->shape.seq_len);
    jw_key(w, "head_dim"); jw_dim(w, r->shape.head_dim);
    jw_key(w, "causal"); jw_flag(w, r, KB_AXIS_CAUSAL, r->shape.causal);
    jw_key(w, "threads"); jw_count(w, r->threads);
    jw_key(w, "cold_cache"); jw_bool(w, r->cold_cache);
    jw_key(w, "status"); jw_string(w, r->status);
    jw_key(w, "n"); jw_count(w, (long long)st->n);
    jw_key(w, "median_s"); jw_number(w, st->median);
    jw_key(w, "mean_s"); jw_number(w, st->mean);
    jw_key(w, "stddev_s"); jw_number(w, st->stddev);
    jw_key(w, "min_s"); jw_number(w, st->min);
    jw_key(w, "max_s"); jw_number(w, st->max);
    jw_key(w, "p5_s"); jw_number(w, st->p5);
    jw_key(w, "p95_s"); jw_number(w, st->p95);
    jw_key(w, "mad_s"); jw_number(w, st->mad);
    int ci = report_has_ci(r); /* none for fewer than 3 samples */
    jw_key(w, "ci_lo_s"); jw_number(w, ci ? st->ci_lo : NAN);
    jw_key(w, "ci_hi_s"); jw_number(w, ci ? st->ci_hi : NAN);
    jw_key(w, "noise"); jw_number(w, ci ? st->noise : NAN);
    jw_key(w, "flops"); jw_number(w, r->flops);
    jw_key(w, "bytes"); jw_number(w, r->bytes);
    jw_key(w, "flops_per_s"); jw_number(w, r->flops_per_s);
    jw_key(w, "bytes_per_s"); jw_number(w, r->bytes_per_s);
    jw_key(w, "max_abs_err"); jw_number(w, r->max_abs_err);
    jw_key(w, "rel_l2_err"); jw_number(w, r->rel_l2_err);
    jw_key(w, "cosine"); jw_number(w, r->cosine);
    jw_key(w, "tolerance"); jw_number(w, r->tolerance);
    jw_key(w, "passed");
    if (r->verified)
        jw_bool(w, r->passed);
    else
        jw_null(w);
    jw_key(w, "error"); jw_string_or_null(w, r->error);
    for (int a = KB_AXIS_DECODE; a < KB_AXIS_COUNT; a++) {
        int v = kb_shape_get(&r->shape, (enum kb_axis)a);
        const struct kb_axis_info *ax = kb_axis_info((enum kb_axis)a);
        jw_key(w, ax->column);
        if (ax->kind == KB_AXIS_KIND_ENUM)
            jw_string_or_null(w, v && !(r->null_axes & KB_AXIS_BIT(a)) ? kb_axis_value_name((enum kb_axis)a, v) : "");
        else if (ax->kind == KB_AXIS_KIND_BOOL)
            jw_flag(w, r, (enum kb_axis)a, v);
        else if (ax->min == 0 && !(r->null_axes & KB_AXIS_BIT(a)))
            jw_int(w, v); /* page 0 (a contiguous cache) is a value */
        else
            jw_dim(w, v);
    }
    jw_key(w, "exact_checked");
    if (r->exact_checked > 0) jw_int(w, r->exact_checked); else jw_null(w);
    jw_key(w, "exact_mismatches");
    if (r->exact_checked > 0) jw_int(w, r->exact_mismatches); else jw_null(w);
    /* what sampling promised and kept (schema v8): null where unknown, never "not met" */
    jw_key(w, "min_samples");
    if (r->min_samples > 0) jw_int(w, r->min_samples); else jw_null(w);
    jw_key(w, "noise_target"); jw_number(w, r->noise_target);
    jw_key(w, "noise_met");
    if (r->noise_met >= 0 && st->n > 0) jw_bool(w, r->noise_met); else jw_null(w);
    jw_key(w, "stop_reason"); jw_string_or_null(w, r->stop_reason);
    jw_key(w, "set_aside");
    if (r->set_aside >= 0) jw_int(w, r->set_aside); else jw_null(w);
    jw_key(w, "throttle_reason"); jw_string_or_null(w, r->throttle_reason);
    jw_key(w, "calls_per_sample"); jw_count(w, r->calls_per_sample);
    jw_key(w, "papi_status"); jw_string_or_null(w, r->papi_status);
    char family[64];
    snprintf(family, sizeof family, "%s", r->kernel);
    char *dot = strchr(family, '.');
    if (dot)
        *dot = '\0';
    jw_key(w, "family"); jw_string(w, family);
    double fraction = roofline_fraction(roof, r);
    jw_key(w, "roof_flops_per_s");
    jw_number(w, fraction > 0 ? r->flops_per_s / fraction
                              : (r->flops > 0 ? roofline_compute(roof, r->device, r->dtype, r->threads) : NAN));
    jw_key(w, "roofline_fraction"); jw_number(w, fraction);
    jw_key(w, "counters");
    jw_open(w, '[', 0);
    int rc = store_list_counters(s, r->case_id, write_counter, w);
    jw_close(w, ']');
    jw_key(w, "samples_s");
    jw_open(w, '[', 1);
    for (long i = 0; i < n_samples; i++)
        jw_number(w, samples[i]);
    jw_close(w, ']');
    jw_close(w, '}');
    free(samples);
    return rc == 0 ? 0 : -1;
}

int report_export_json(FILE *out, struct store *s, int64_t run_id)
{
    struct run_row run;
    struct machine_info machine;
    struct roofline roof;
    if (store_get_run(s, run_id, &run) != 0 || store_get_machine(s, run_id, &machine) != 0 ||
        roofline_load(s, run_id, &machine, &roof) != 0)
        return -1;
    struct result_row *rows;
    long n = report_load_results(s, run_id, &rows);
    if (n < 0)
        return -1;
    struct jw w = { .out = out };
    int rc = 0;
    jw_open(&w, '{', 0);
    jw_key(&w, "kbench_export_version"); jw_int(&w, EXPORT_VERSION);
    rc = write_run(&w, s, &run);
    write_machine(&w, &machine);
    write_environment(&w, &roof);
    jw_key(&w, "cases");
    jw_open(&w, '[', 0);
    for (long i = 0; i < n && rc == 0; i++)
        rc = write_case(&w, s, &run, &roof, &rows[i]);
    jw_close(&w, ']');
    jw_close(&w, '}');
    fputc('\n', out);
    free(rows);
    return rc;
}

/* ---- a run's fields (json_writer.h) ---- */

static int jw_plugin(const struct run_plugin *p, void *ctx)
{
    struct jw *w = ctx;
    jw_open(w, '{', 1);
    jw_key(w, "path");
    jw_string(w, p->path);
    jw_key(w, "sha256");
    jw_string(w, p->sha256);
    jw_key(w, "kernels");
    jw_int(w, p->kernels);
    jw_close(w, '}');
    return 0;
}

void jw_run_fields(struct jw *w, struct store *s, const struct run_row *r, int with_machine)
{
    jw_key(w, "id");
    jw_int(w, (long long)r->id);
    jw_key(w, "uuid");
    jw_string(w, r->uuid);
    jw_key(w, "started");
    jw_string_or_null(w, r->started);
    jw_key(w, "finished");
    jw_string_or_null(w, r->finished);
    jw_key(w, "status");
    jw_string(w, r->status);
    jw_key(w, "tags");
    jw_open(w, '[', 1);
    for (const char *p = r->tag; *p;) {
        size_t len = strcspn(p, ",");
        char one[64];
        snprintf(one, sizeof one, "%.*s", (int)len, p);
        jw_string(w, one);
        p += len;
        if (*p)
            p++;
    }
    jw_close(w, ']');
    jw_key(w, "suite");
    jw_string_or_null(w, r->suite);
    jw_key(w, "hostname");
    jw_string(w, r->hostname);
    if (with_machine) {
        jw_key(w, "machine");
        jw_string(w, r->machine);
    }
    jw_key(w, "cmdline");
    jw_string(w, r->cmdline);
    jw_key(w, "kbench_version");
    jw_string_or_null(w, r->kbench_version);
    char commit[64], flags[512];
    store_get_run_build(s, r->id, commit, sizeof commit, flags, sizeof flags);
    jw_key(w, "git_commit");
    jw_string_or_null(w, commit);
    jw_key(w, "build_flags");
    jw_string_or_null(w, flags);
    /* the KBENCH_CPU_FEATURES mask the run was made under: null without one (the machine's own) */
    struct run_cpu_mask mask;
    store_get_run_cpu_mask(s, r->id, &mask);
    jw_key(w, "cpu_mask");
    jw_string_or_null(w, mask.mask);
    jw_key(w, "cpu_features");
    jw_string_or_null(w, *mask.mask ? mask.features : "");
    /* the plugins the run loaded (docs/plugins.md): [] for a run of built-in kernels only */
    jw_key(w, "plugins");
    jw_open(w, '[', 0);
    store_list_run_plugins(s, r->id, jw_plugin, w);
    jw_close(w, ']');
    jw_key(w, "peak_f32_core");
    if (mask.peak_f32_core > 0) jw_number(w, mask.peak_f32_core); else jw_null(w);
    jw_key(w, "planned_cases");
    jw_int(w, r->planned_cases);
    jw_key(w, "cases");
    jw_int(w, r->cases);
    jw_key(w, "failures");
    jw_int(w, r->failures);
}
