/* csv.c - a run's cases as RFC 4180 CSV, one row per case, for spreadsheets and data frames.
 *
 * Columns, in this order (tools index them; new columns go at the end):
 *   run_id, run_uuid, case_id, kernel, impl, device, dtype,
 *   batch, heads, kv_heads, seq_len, head_dim, causal, threads, cold_cache, status,
 *   n, median_s, mean_s, stddev_s, min_s, max_s, p5_s, p95_s, mad_s, ci_lo_s, ci_hi_s, noise,
 *   flops, bytes, flops_per_s, bytes_per_s,
 *   max_abs_err, rel_l2_err, cosine, tolerance, passed, error,
 *   family, papi_status, calls_per_sample, roof_flops_per_s, roofline_fraction   (export v2)
 *   then the later shape axes by their column names (decode, window_len, block_size, topk_blocks,
 *   chunk, feature_map, decay, gemm_m, gemm_n, gemm_k, group_size, granularity, tokens, hidden,
 *   ffn, experts, top_k, routing, input_dist; kernels/axes.c), exact_checked, exact_mismatches,
 *   min_samples, noise_target, noise_met, stop_reason, set_aside, throttle_reason   (schema v8;
 *   empty where unknown: an older database), page_size, layers, ratio, linear_kind, state_size,
 *   length_mix (schema v13: the paged KV cache of decode, hybrid stacks, the SSM state size,
 *   packed ragged batches)
 * ci_lo_s, ci_hi_s and noise are empty for fewer than 3 samples: no interval is formed from them.
 * Times are seconds per call; flops and bytes are per call. A value that was not measured (NaN,
 * a shape field the kernel does not use -- causal included, for kernels without the axis --,
 * n and calls_per_sample of a case that was not timed, threads of a GPU case, `passed` where
 * verify did not run) is an empty field, never 0 or false. docs/export.md describes each column.
 * The counters table carries the same shape columns as the cases table: run_id .. status, then
 * backend, name, value, unit, then the later shape axes.
 * Numbers are written with %.9g; records end in CRLF; a field holding a comma, a quote, CR or
 * LF is quoted, with its quotes doubled. Text is UTF-8 (bytes that are not become U+FFFD).
 */
#include "reports/reports.h"
#include "reports/roofline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const csv_columns[] = {
    "run_id", "run_uuid", "case_id", "kernel", "impl", "device", "dtype",
    "batch", "heads", "kv_heads", "seq_len", "head_dim", "causal", "threads", "cold_cache", "status",
    "n", "median_s", "mean_s", "stddev_s", "min_s", "max_s", "p5_s", "p95_s", "mad_s", "ci_lo_s",
    "ci_hi_s", "noise", "flops", "bytes", "flops_per_s", "bytes_per_s",
    "max_abs_err", "rel_l2_err", "cosine", "tolerance", "passed", "error",
    "family", "papi_status", "calls_per_sample", "roof_flops_per_s", "roofline_fraction",
};

struct csv {
    FILE *out;
    int col;
};

static void csv_sep(struct csv *c)
{
    if (c->col++)
        fputc(',', c->out);
}

static void csv_str(struct csv *c, const char *s)
{
    csv_sep(c);
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, c->out);
        return;
    }
    fputc('"', c->out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', c->out);
        fputc(*s, c->out);
    }
    fputc('"', c->out);
}

/* Text from the store is written as valid UTF-8: a byte that starts no valid sequence becomes
 * U+FFFD, so decoders that insist on UTF-8 (Python's csv, pandas) read every row. */
static void csv_text(struct csv *c, const char *s)
{
    size_t len = strlen(s), j = 0;
    char *clean = malloc(len * 3 + 1);
    if (!clean) {
        csv_str(c, s);
        return;
    }
    while (*s) {
        int n = report_utf8_sequence(s);
        if (n == 0) {
            memcpy(clean + j, "\xEF\xBF\xBD", 3);
            j += 3;
            s++;
        } else {
            memcpy(clean + j, s, (size_t)n);
            j += (size_t)n;
            s += n;
        }
    }
    clean[j] = '\0';
    csv_str(c, clean);
    free(clean);
}

static void csv_num(struct csv *c, double v)
{
    csv_sep(c);
    if (isfinite(v))
        fprintf(c->out, "%.9g", v);
}

static void csv_int(struct csv *c, long long v)
{
    csv_sep(c);
    fprintf(c->out, "%lld", v);
}

/* Shape fields are stored as NULL where a kernel does not use them, and read back as 0. */
static void csv_dim(struct csv *c, int v)
{
    if (v > 0)
        csv_int(c, v);
    else
        csv_sep(c);
}

static void csv_end(struct csv *c)
{
    fputs("\r\n", c->out);
    c->col = 0;
}

/* kernel .. status: the columns that say which case a row is about (cases and counters tables) */
static void csv_case_identity(struct csv *c, const struct result_row *r)
{
    csv_text(c, r->kernel);
    csv_text(c, r->impl);
    csv_text(c, r->device);
    csv_text(c, r->dtype);
    csv_dim(c, r->shape.batch);
    csv_dim(c, r->shape.heads);
    csv_dim(c, r->shape.kv_heads);
    csv_dim(c, r->shape.seq_len);
    csv_dim(c, r->shape.head_dim);
    if (r->null_axes & KB_AXIS_BIT(KB_AXIS_CAUSAL))
        csv_sep(c); /* a kernel without the axis (MoE, GEMMs): not "false" */
    else
        csv_int(c, r->shape.causal);
    csv_dim(c, r->threads);
    csv_int(c, r->cold_cache);
    csv_text(c, r->status);
}

/* The shape axes of export v2 after head_dim and causal (decode .. input_dist), by their column
 * names, in columns 44-62; axes added later (page_size .. length_mix) go at the end
 * of the row, so no column moves. */
#define CSV_MID_AXES_END (KB_AXIS_INPUT + 1)

static void csv_axes(struct csv *c, const struct result_row *r, int from, int to)
{
    for (int a = from; a < to; a++) {
        int v = kb_shape_get(&r->shape, (enum kb_axis)a);
        const struct kb_axis_info *ax = kb_axis_info((enum kb_axis)a);
        if (r->null_axes & KB_AXIS_BIT(a))
            csv_sep(c);
        else if (ax->kind == KB_AXIS_KIND_ENUM)
            csv_text(c, v ? kb_axis_value_name((enum kb_axis)a, v) : "");
        else if (ax->kind == KB_AXIS_KIND_BOOL || ax->min == 0)
            csv_int(c, v); /* 0 is a value where the kernel has the axis (page 0: contiguous) */
        else
            csv_dim(c, v);
    }
}

static void csv_axis_names(struct csv *c, int from, int to)
{
    for (int a = from; a < to; a++)
        csv_str(c, kb_axis_info((enum kb_axis)a)->column);
}

static void csv_case(struct csv *c, const struct run_row *run, const struct roofline *roof, const struct result_row *r)
{
    const struct kb_stats *st = &r->stats;
    csv_int(c, run->id);
    csv_text(c, run->uuid);
    csv_int(c, r->case_id);
    csv_case_identity(c, r);
    csv_dim(c, (int)st->n); /* no statistics (not timed): empty, not 0 */
    csv_num(c, st->median);
    csv_num(c, st->mean);
    csv_num(c, st->stddev);
    csv_num(c, st->min);
    csv_num(c, st->max);
    csv_num(c, st->p5);
    csv_num(c, st->p95);
    csv_num(c, st->mad);
    int ci = report_has_ci(r);
    csv_num(c, ci ? st->ci_lo : NAN);
    csv_num(c, ci ? st->ci_hi : NAN);
    csv_num(c, ci ? st->noise : NAN);
    csv_num(c, r->flops);
    csv_num(c, r->bytes);
    csv_num(c, r->flops_per_s);
    csv_num(c, r->bytes_per_s);
    csv_num(c, r->max_abs_err);
    csv_num(c, r->rel_l2_err);
    csv_num(c, r->cosine);
    csv_num(c, r->tolerance);
    if (r->verified)
        csv_int(c, r->passed ? 1 : 0);
    else
        csv_sep(c);
    csv_text(c, r->error);
    char family[64];
    snprintf(family, sizeof family, "%s", r->kernel);
    char *dot = strchr(family, '.');
    if (dot)
        *dot = '\0';
    csv_text(c, family);
    csv_text(c, r->papi_status);
    csv_dim(c, r->calls_per_sample);
    double bound = roofline_compute(roof, r->device, r->dtype, r->threads);
    double fraction = roofline_fraction(roof, r);
    /* The roof of the case itself: achieved / fraction, which includes the memory roof. */
    csv_num(c, fraction > 0 ? r->flops_per_s / fraction : (r->flops > 0 ? bound : NAN));
    csv_num(c, fraction);
    csv_axes(c, r, KB_AXIS_DECODE, CSV_MID_AXES_END);
    if (r->exact_checked > 0) {
        csv_int(c, r->exact_checked);
        csv_int(c, r->exact_mismatches);
    } else {
        csv_sep(c);
        csv_sep(c);
    }
    /* what sampling promised and kept (schema v8): empty where unknown, never "not met" */
    if (r->min_samples > 0)
        csv_int(c, r->min_samples);
    else
        csv_sep(c);
    csv_num(c, r->noise_target);
    if (r->noise_met >= 0 && r->stats.n > 0)
        csv_int(c, r->noise_met);
    else
        csv_sep(c);
    csv_text(c, r->stop_reason);
    if (r->set_aside >= 0)
        csv_int(c, r->set_aside);
    else
        csv_sep(c);
    csv_text(c, r->throttle_reason);
    csv_axes(c, r, CSV_MID_AXES_END, KB_AXIS_COUNT);
    csv_end(c);
}

int report_export_csv(FILE *out, struct store *s, int64_t run_id)
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
    struct csv c = { out, 0 };
    for (size_t i = 0; i < sizeof csv_columns / sizeof csv_columns[0]; i++)
        csv_str(&c, csv_columns[i]);
    csv_axis_names(&c, KB_AXIS_DECODE, CSV_MID_AXES_END);
    csv_str(&c, "exact_checked");
    csv_str(&c, "exact_mismatches");
    static const char *const sampling_columns[] = { "min_samples", "noise_target", "noise_met", "stop_reason",
                                                    "set_aside", "throttle_reason" };
    for (size_t i = 0; i < sizeof sampling_columns / sizeof sampling_columns[0]; i++)
        csv_str(&c, sampling_columns[i]);
    csv_axis_names(&c, CSV_MID_AXES_END, KB_AXIS_COUNT);
    csv_end(&c);
    for (long i = 0; i < n; i++)
        csv_case(&c, &run, &roof, &rows[i]);
    free(rows);
    return 0;
}

int report_export(FILE *out, struct store *s, int64_t run_id, enum export_format fmt)
{
    switch (fmt) {
    case EXPORT_CSV: return report_export_csv(out, s, run_id);
    case EXPORT_JSON: return report_export_json(out, s, run_id);
    }
    return -1;
}

/* ---- counters and environment (long format) --------------------------------------------------- */

static const char *const counter_columns[] = {
    "run_id", "case_id", "kernel", "impl", "device", "dtype", "batch", "heads", "kv_heads", "seq_len", "head_dim",
    "causal", "threads", "cold_cache", "status", "backend", "name", "value", "unit",
};

struct counter_ctx {
    struct csv *c;
    const struct result_row *r;
};

static int csv_counter(const struct kb_counter *k, void *ctx)
{
    struct counter_ctx *x = ctx;
    struct csv *c = x->c;
    const struct result_row *r = x->r;
    csv_int(c, r->run_id);
    csv_int(c, r->case_id);
    csv_case_identity(c, r);
    csv_text(c, k->backend);
    csv_text(c, k->name);
    csv_num(c, k->value);
    csv_text(c, k->unit);
    csv_axes(c, r, KB_AXIS_DECODE, KB_AXIS_COUNT); /* the row's last columns: every later axis in order */
    csv_end(c);
    return 0;
}

static int export_counters_csv(FILE *out, struct store *s, int64_t run_id)
{
    struct result_row *rows;
    long n = report_load_results(s, run_id, &rows);
    if (n < 0)
        return -1;
    struct csv c = { out, 0 };
    for (size_t i = 0; i < sizeof counter_columns / sizeof counter_columns[0]; i++)
        csv_str(&c, counter_columns[i]);
    csv_axis_names(&c, KB_AXIS_DECODE, KB_AXIS_COUNT);
    csv_end(&c);
    int rc = 0;
    for (long i = 0; i < n && rc == 0; i++) {
        struct counter_ctx x = { &c, &rows[i] };
        rc = store_list_counters(s, rows[i].case_id, csv_counter, &x);
    }
    free(rows);
    return rc;
}

static void env_row(struct csv *c, const char *section, const char *key, const char *value, const char *unit)
{
    csv_text(c, section);
    csv_text(c, key);
    csv_text(c, value);
    csv_text(c, unit);
    csv_end(c);
}

static void env_num(struct csv *c, const char *section, const char *key, double v, const char *unit)
{
    char buf[64] = "";
    if (isfinite(v) && v > 0)
        snprintf(buf, sizeof buf, "%.9g", v);
    env_row(c, section, key, buf, unit);
}

/* Counts and sizes as integers (a size of 128 GiB is 137438953472, not 1.37438953e+11); 0,
 * unknown, is an empty value. */
static void env_int(struct csv *c, const char *section, const char *key, long long v, const char *unit)
{
    char buf[32] = "";
    if (v > 0)
        snprintf(buf, sizeof buf, "%lld", v);
    env_row(c, section, key, buf, unit);
}

static int env_ceiling(const struct ceiling *k, void *ctx)
{
    struct csv *c = ctx;
    char key[64], buf[64];
    snprintf(key, sizeof key, "%s.%s", k->device, k->name);
    snprintf(buf, sizeof buf, "%.9g", k->value);
    env_row(c, "ceiling", key, buf, k->unit);
    return 0;
}

static int export_environment_csv(FILE *out, struct store *s, int64_t run_id)
{
    struct run_row r;
    struct machine_info m;
    if (store_get_run(s, run_id, &r) != 0 || store_get_machine(s, run_id, &m) != 0)
        return -1;
    struct csv c = { out, 0 };
    env_row(&c, "section", "key", "value", "unit");
    char buf[64];
    snprintf(buf, sizeof buf, "%lld", (long long)r.id);
    env_row(&c, "run", "id", buf, "");
    env_row(&c, "run", "uuid", r.uuid, "");
    env_row(&c, "run", "started", r.started, "UTC");
    env_row(&c, "run", "finished", r.finished, "UTC");
    env_row(&c, "run", "status", r.status, "");
    env_row(&c, "run", "suite", r.suite, "");
    env_row(&c, "run", "tag", r.tag, "");
    env_row(&c, "run", "cmdline", r.cmdline, "");
    snprintf(buf, sizeof buf, "%d", r.planned_cases);
    env_row(&c, "run", "planned_cases", buf, "");
    env_row(&c, "software", "kbench_version", m.kbench_version, "");
    env_row(&c, "software", "compiler", m.compiler, "");
    env_row(&c, "software", "papi_version", m.papi_version, "");
    env_row(&c, "machine", "fingerprint", m.fingerprint, "");
    env_row(&c, "machine", "hostname", m.hostname, "");
    env_row(&c, "machine", "cpu_model", m.cpu_model, "");
    env_int(&c, "machine", "logical_cpus", m.logical_cpus, "count");
    env_int(&c, "machine", "physical_cores", m.physical_cores, "count");
    env_num(&c, "machine", "cpu_mhz", m.cpu_mhz, "MHz");
    env_int(&c, "machine", "mem_bytes", (long long)m.mem_bytes, "B");
    env_row(&c, "machine", "simd", m.simd, "");
    env_int(&c, "machine", "l1d_bytes", (long long)m.l1d_bytes, "B");
    env_int(&c, "machine", "l2_bytes", (long long)m.l2_bytes, "B");
    env_int(&c, "machine", "l3_bytes", (long long)m.l3_bytes, "B");
    env_row(&c, "machine", "os", m.os, "");
    env_row(&c, "machine", "gpus", m.gpus, "");
    env_num(&c, "machine", "peak_f32_core", m.peak_f32_core, "FLOP/s");
    return store_list_ceilings(s, m.fingerprint, env_ceiling, &c);
}

int report_export_table(FILE *out, struct store *s, int64_t run_id, enum export_format fmt, enum export_table table)
{
    if (fmt == EXPORT_JSON)
        return report_export_json(out, s, run_id);
    switch (table) {
    case EXPORT_CASES: return report_export_csv(out, s, run_id);
    case EXPORT_COUNTERS: return export_counters_csv(out, s, run_id);
    case EXPORT_ENVIRONMENT: return export_environment_csv(out, s, run_id);
    }
    return -1;
}
