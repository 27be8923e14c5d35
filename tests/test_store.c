/* test_store.c - the SQLite store: round trips, failed cases, run references, migration from
 * schema version 1, refusal of files that are not ours (left byte-for-byte unchanged), the
 * views, stale-run detection, machine fingerprints and case status names.
 *
 * Every test works in its own fresh directory. Expected values come from the inputs the test
 * writes, and the database is inspected with the sqlite3 API directly where the store's own
 * readers would only confirm themselves.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/machine.h"
#include "harness/record.h"
#include "harness/store.h"
#include "harness/store_schema.h"

struct fixture {
    char dir[64];
    char db[128];
};

static char err[1024];

/* Operations the store only reads the family and axes of. */
static const struct kb_operation op_attention = { .name = "test.attention", .family = KB_FAMILY_ATTENTION,
                                                  .axes = KB_AXES_ATTENTION };
static const struct kb_operation op_quant = { .name = "test.quant", .family = KB_FAMILY_QUANT, .axes = KB_AXES_QUANT };
static const struct kb_operation op_moe = { .name = "test.moe", .family = KB_FAMILY_MOE, .axes = KB_AXES_MOE };

static const struct kb_kernel k_flash = {
    .name = "attention.flash", .impl = "cpu.avx2", .op = &op_attention, .device = KB_DEVICE_CPU,
};
static const struct kb_kernel k_ref = {
    .name = "attention.reference", .impl = "cpu.scalar", .op = &op_attention, .device = KB_DEVICE_CPU,
};

/* ---- fixture and file helpers ----------------------------------------------------------------- */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/kb_test_store_XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->db, sizeof f->db, "%s/k.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    DIR *d = opendir(f->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[512];
            snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
            chmod(p, 0700);
            if (unlink(p) != 0)
                rmdir(p);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void path_in(const struct fixture *f, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", f->dir, name);
}

struct blob {
    unsigned char *data;
    size_t len;
};

static struct blob read_all(const char *path)
{
    struct blob b = { NULL, 0 };
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t cap = 0;
    for (;;) {
        if (b.len == cap) {
            cap = cap ? 2 * cap : 65536;
            b.data = realloc(b.data, cap);
            assert_non_null(b.data);
        }
        size_t got = fread(b.data + b.len, 1, cap - b.len, fp);
        if (got == 0)
            break;
        b.len += got;
    }
    fclose(fp);
    return b;
}

static void write_all(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int sidecar_exists(const char *path, const char *suffix)
{
    char p[512];
    snprintf(p, sizeof p, "%s%s", path, suffix);
    return exists(p);
}

/* ---- raw SQL, bypassing the store --------------------------------------------------------------- */

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("raw SQL failed: %s\n%s", msg ? msg : "?", sql);
    sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("raw SQL failed: %s\n%s", sqlite3_errmsg(db), sql);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void raw_text(const char *path, const char *sql, char *out, size_t len)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("raw SQL failed: %s\n%s", sqlite3_errmsg(db), sql);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(out, len, "%s", t ? (const char *)t : "(null)");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- records ---------------------------------------------------------------------------------- */

static void make_machine(struct machine_info *m, const char *fingerprint)
{
    memset(m, 0, sizeof *m);
    snprintf(m->fingerprint, sizeof m->fingerprint, "%s", fingerprint);
    snprintf(m->hostname, sizeof m->hostname, "node-%.4s", fingerprint);
    snprintf(m->cpu_model, sizeof m->cpu_model, "Test CPU 9000");
    m->logical_cpus = 16;
    m->physical_cores = 8;
    m->cpu_mhz = 2450.5;
    m->mem_bytes = 68719476736LL;
    snprintf(m->simd, sizeof m->simd, "avx2 fma");
    m->l1d_bytes = 32768;
    m->l2_bytes = 524288;
    m->l3_bytes = 33554432;
    snprintf(m->os, sizeof m->os, "Linux 6.1.0 x86_64");
    snprintf(m->gpus, sizeof m->gpus, "NVIDIA H100 80GB HBM3 (sm_90)");
    m->peak_f32_core = 78.4e9;
    snprintf(m->compiler, sizeof m->compiler, "gcc 12.2.0");
    snprintf(m->kbench_version, sizeof m->kbench_version, "0.1.0");
    snprintf(m->papi_version, sizeof m->papi_version, "7.0.0.0");
}

/* A timed, verified case; samples are owned by the caller (static arrays here). */
static void make_case(struct case_record *r, const struct kb_kernel *k, int seq_len, int causal, double *samples,
                      size_t n, double median)
{
    memset(r, 0, sizeof *r);
    r->kernel = k;
    snprintf(r->device, sizeof r->device, "cpu");
    r->dtype = KB_DTYPE_F32;
    r->shape = (struct kb_shape){ .batch = 1, .heads = 8, .kv_heads = 2, .seq_len = seq_len, .head_dim = 64,
                                  .causal = causal };
    r->threads = 4;
    r->cold_cache = causal; /* any variation that must survive the round trip */
    r->seed = 0x9e3779b97f4a7c15ull;
    r->status = CASE_OK;
    r->verified = 1;
    r->accuracy = (struct kb_accuracy){ .max_abs_err = 3.0517578125e-5, .rel_l2_err = 1.25e-7, .cosine = 0.9999999,
                                        .tolerance = 1e-4, .rows_checked = 64, .rows_total = seq_len * 8,
                                        .passed = 1 };
    r->samples = samples;
    r->n_samples = n;
    r->calls_per_sample = 3;
    r->warmup_calls = 5;
    r->stats = (struct kb_stats){ .n = n, .median = median, .mean = median * 1.01, .stddev = median * 0.02,
                                  .min = median * 0.9, .max = median * 1.3, .p5 = median * 0.92,
                                  .p95 = median * 1.2, .mad = median * 0.01, .ci_lo = median * 0.98,
                                  .ci_hi = median * 1.03, .noise = 0.025 };
    r->flops = 4.0 * 8 * seq_len * (double)seq_len * 64;
    r->bytes = 4.0 * 4 * 8 * seq_len * 64;
    r->wall_s = 0.75;
    snprintf(r->counters.papi_status, sizeof r->counters.papi_status, "ok");
}

static void add_counter(struct case_record *r, const char *backend, const char *name, double value, const char *unit)
{
    struct kb_counter *c = &r->counters.v[r->counters.n++];
    snprintf(c->backend, sizeof c->backend, "%s", backend);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->value = value;
    snprintf(c->unit, sizeof c->unit, "%s", unit);
}

struct rows {
    int n;
    struct result_row r[8];
};

static int collect_row(const struct result_row *r, void *ctx)
{
    struct rows *rows = ctx;
    assert_true(rows->n < 8);
    rows->r[rows->n++] = *r;
    return 0;
}

struct counters {
    int n;
    struct kb_counter c[8];
};

static int collect_counter(const struct kb_counter *c, void *ctx)
{
    struct counters *cs = ctx;
    assert_true(cs->n < 8);
    cs->c[cs->n++] = *c;
    return 0;
}

static struct store *open_write(const char *path)
{
    struct store *s;
    if (store_open(path, STORE_WRITE, &s, err, sizeof err) != 0)
        fail_msg("store_open(%s): %s", path, err);
    assert_non_null(s);
    return s;
}

static int64_t begin_run(struct store *s, int64_t machine_id, const char *tag, struct run_info *ri)
{
    memset(ri, 0, sizeof *ri);
    ri->cmdline = "run --kernels attention.* --seq 128,4096";
    ri->suite = "quick";
    ri->tag = tag;
    ri->kbench_version = "0.1.0-test";
    ri->compiler = "gcc 12.2.0 (test)";
    ri->planned_cases = 3;
    int64_t id = store_run_begin(s, machine_id, ri);
    if (id <= 0)
        fail_msg("store_run_begin: %s", store_errmsg(s));
    return id;
}

/* A database with one machine and one complete run of three ok cases; returns the run id. */
static int64_t fill_db(const char *path)
{
    static double sa[] = { 1.5e-3, 1.25e-3, 2e-3 };
    static double sb[] = { 0.25, 0.125 };
    struct store *s = open_write(path);
    struct machine_info m;
    make_machine(&m, "0123456789abcdef");
    int64_t mid = store_machine_upsert(s, &m);
    assert_true(mid > 0);
    struct run_info ri;
    int64_t run = begin_run(s, mid, NULL, &ri);
    struct case_record r;
    make_case(&r, &k_flash, 1024, 0, sa, 3, 1.5e-3);
    assert_true(store_case_insert(s, run, &r) > 0);
    make_case(&r, &k_flash, 4096, 0, sb, 2, 0.1875);
    assert_true(store_case_insert(s, run, &r) > 0);
    make_case(&r, &k_ref, 4096, 0, sb, 2, 0.375);
    assert_true(store_case_insert(s, run, &r) > 0);
    assert_int_equal(store_run_finish(s, run, "complete"), 0);
    store_close(s);
    return run;
}

/* ---- round trip -------------------------------------------------------------------------------- */

static void assert_same_double(double got, double want)
{
    if (isnan(want))
        assert_true(isnan(got));
    else if (!(got == want))
        fail_msg("got %.17g, want %.17g", got, want);
}

static void assert_iso_utc_ms(const char *t)
{
    /* 2024-05-01T12:34:56.789Z */
    assert_int_equal(strlen(t), 24);
    const char *pattern = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (int i = 0; i < 24; i++) {
        if (pattern[i] == 'd')
            assert_true(t[i] >= '0' && t[i] <= '9');
        else
            assert_int_equal(t[i], pattern[i]);
    }
}

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_write(f->db);

    struct machine_info m, m_other;
    make_machine(&m, "0123456789abcdef");
    int64_t mid = store_machine_upsert(s, &m);
    assert_true(mid > 0);
    make_machine(&m_other, "fedcba9876543210");
    int64_t mid2 = store_machine_upsert(s, &m_other);
    assert_true(mid2 > 0 && mid2 != mid);
    assert_int_equal(store_machine_upsert(s, &m), mid); /* same fingerprint: same row */
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM machines"), 2);

    struct run_info ri;
    int64_t run = begin_run(s, mid, "first", &ri);
    assert_int_equal(strlen(ri.uuid), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(ri.uuid[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", ri.uuid[i]));
    }
    assert_int_equal(ri.uuid[14], '4');                   /* version 4 */
    assert_non_null(strchr("89ab", ri.uuid[19]));         /* RFC 4122 variant */

    double sa[] = { 1.5e-3, 1.25e-3, 2e-3 }, sb[] = { 0.3, 0.1 }, sc[] = { 7e-6, 6e-6, 8e-6, 7.5e-6 };
    struct case_record in[3];
    make_case(&in[0], &k_flash, 128, 0, sa, 3, 1.5e-3);
    add_counter(&in[0], "papi", "PAPI_TOT_CYC", 12345.5, "count");
    add_counter(&in[0], "rusage", "minor_faults", 17, "count");
    add_counter(&in[0], "derived", "IPC", 1.75, "ratio");
    make_case(&in[1], &k_flash, 4096, 1, sb, 2, 0.2);
    snprintf(in[1].counters.papi_status, sizeof in[1].counters.papi_status, "unavailable: no PMU");
    make_case(&in[2], &k_ref, 64, 0, sc, 4, 7.25e-6);
    in[2].shape.kv_heads = 0; /* unused dimension */
    in[2].dtype = KB_DTYPE_F64;
    in[2].threads = 1;
    in[2].stats.noise = NAN; /* a NaN inside a timed case is stored as NULL and read back as NaN */
    int64_t ids[3];
    for (int i = 0; i < 3; i++) {
        ids[i] = store_case_insert(s, run, &in[i]);
        if (ids[i] <= 0)
            fail_msg("case %d: %s", i, store_errmsg(s));
    }
    assert_true(ids[0] < ids[1] && ids[1] < ids[2]);
    assert_int_equal(store_run_finish(s, run, "complete"), 0);

    struct rows *rows = calloc(1, sizeof *rows);
    assert_int_equal(store_list_results(s, run, collect_row, rows), 0);
    assert_int_equal(rows->n, 3);
    for (int i = 0; i < 3; i++) {
        const struct result_row *r = &rows->r[i];
        const struct case_record *c = &in[i];
        assert_int_equal(r->case_id, ids[i]);
        assert_int_equal(r->run_id, run);
        assert_string_equal(r->kernel, c->kernel->name);
        assert_string_equal(r->impl, c->kernel->impl);
        assert_string_equal(r->device, "cpu");
        assert_string_equal(r->dtype, i == 2 ? "f64" : "f32");
        assert_string_equal(r->status, "ok");
        assert_memory_equal(&r->shape, &c->shape, sizeof r->shape);
        assert_int_equal(r->threads, c->threads);
        assert_int_equal(r->cold_cache, c->cold_cache);
        assert_string_equal(r->error, "");
        assert_int_equal(r->stats.n, c->stats.n);
        assert_same_double(r->stats.median, c->stats.median);
        assert_same_double(r->stats.mean, c->stats.mean);
        assert_same_double(r->stats.stddev, c->stats.stddev);
        assert_same_double(r->stats.min, c->stats.min);
        assert_same_double(r->stats.max, c->stats.max);
        assert_same_double(r->stats.p5, c->stats.p5);
        assert_same_double(r->stats.p95, c->stats.p95);
        assert_same_double(r->stats.mad, c->stats.mad);
        if (c->stats.n < 3) { /* no interval is stored from fewer than 3 samples */
            assert_true(isnan(r->stats.ci_lo) && isnan(r->stats.ci_hi) && isnan(r->stats.noise));
        } else {
            assert_same_double(r->stats.ci_lo, c->stats.ci_lo);
            assert_same_double(r->stats.ci_hi, c->stats.ci_hi);
            assert_same_double(r->stats.noise, c->stats.noise);
        }
        assert_same_double(r->flops, c->flops);
        assert_same_double(r->bytes, c->bytes);
        assert_same_double(r->flops_per_s, c->flops / c->stats.median);
        assert_same_double(r->bytes_per_s, c->bytes / c->stats.median);
        assert_int_equal(r->calls_per_sample, 3);
        assert_int_equal(r->verified, 1);
        assert_int_equal(r->passed, 1);
        assert_same_double(r->max_abs_err, c->accuracy.max_abs_err);
        assert_same_double(r->rel_l2_err, c->accuracy.rel_l2_err);
        assert_same_double(r->cosine, c->accuracy.cosine);
        assert_same_double(r->tolerance, c->accuracy.tolerance);
        assert_string_equal(r->papi_status, c->counters.papi_status);

        double *got;
        long n = store_get_samples(s, ids[i], &got);
        assert_int_equal(n, (long)c->n_samples);
        assert_memory_equal(got, c->samples, c->n_samples * sizeof *got);
        free(got);
    }
    free(rows);
    /* an unused dimension is NULL in SQL, so aggregates skip it */
    char q[160];
    snprintf(q, sizeof q, "SELECT kv_heads IS NULL FROM cases WHERE id = %lld", (long long)ids[2]);
    assert_int_equal(raw_int(f->db, q), 1);
    snprintf(q, sizeof q, "SELECT seed FROM cases WHERE id = %lld", (long long)ids[0]);
    assert_int_equal((uint64_t)raw_int(f->db, q), in[0].seed);

    struct counters cs = { 0 };
    assert_int_equal(store_list_counters(s, ids[0], collect_counter, &cs), 0);
    assert_int_equal(cs.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(cs.c[i].backend, in[0].counters.v[i].backend);
        assert_string_equal(cs.c[i].name, in[0].counters.v[i].name);
        assert_same_double(cs.c[i].value, in[0].counters.v[i].value);
        assert_string_equal(cs.c[i].unit, in[0].counters.v[i].unit);
    }
    cs.n = 0;
    assert_int_equal(store_list_counters(s, ids[1], collect_counter, &cs), 0);
    assert_int_equal(cs.n, 0);

    struct run_row rr;
    assert_int_equal(store_get_run(s, run, &rr), 0);
    assert_int_equal(rr.id, run);
    assert_string_equal(rr.uuid, ri.uuid);
    assert_string_equal(rr.status, "complete");
    assert_iso_utc_ms(rr.started);
    assert_iso_utc_ms(rr.finished);
    assert_true(strcmp(rr.started, rr.finished) <= 0);
    assert_string_equal(rr.tag, "first");
    assert_string_equal(rr.suite, "quick");
    assert_string_equal(rr.hostname, m.hostname);
    assert_string_equal(rr.machine, m.fingerprint);
    assert_string_equal(rr.cmdline, ri.cmdline);
    assert_string_equal(rr.kbench_version, "0.1.0-test");
    assert_int_equal(rr.planned_cases, 3);
    assert_int_equal(rr.cases, 3);
    assert_int_equal(rr.failures, 0);

    struct machine_info got;
    assert_int_equal(store_get_machine(s, run, &got), 0);
    assert_string_equal(got.fingerprint, m.fingerprint);
    assert_string_equal(got.hostname, m.hostname);
    assert_string_equal(got.cpu_model, m.cpu_model);
    assert_int_equal(got.logical_cpus, m.logical_cpus);
    assert_int_equal(got.physical_cores, m.physical_cores);
    assert_same_double(got.cpu_mhz, m.cpu_mhz);
    assert_int_equal(got.mem_bytes, m.mem_bytes);
    assert_string_equal(got.simd, m.simd);
    assert_int_equal(got.l1d_bytes, m.l1d_bytes);
    assert_int_equal(got.l2_bytes, m.l2_bytes);
    assert_int_equal(got.l3_bytes, m.l3_bytes);
    assert_string_equal(got.os, m.os);
    assert_string_equal(got.gpus, m.gpus);
    assert_same_double(got.peak_f32_core, m.peak_f32_core);
    /* compiler and versions belong to the run */
    assert_string_equal(got.compiler, "gcc 12.2.0 (test)");
    assert_string_equal(got.kbench_version, "0.1.0-test");
    assert_string_equal(got.papi_version, m.papi_version); /* from the upserted machine */

    /* the file is a WAL database with our application id and the latest schema version */
    store_close(s);
    char mode[16];
    raw_text(f->db, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    assert_int_equal(raw_int(f->db, "PRAGMA application_id"), 0x6B62656E);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), store_schema_version());
}

/* ---- failed cases and atomicity ---------------------------------------------------------------- */

static void test_failed_cases(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_write(f->db);
    struct machine_info m;
    make_machine(&m, "00000000000000aa");
    int64_t mid = store_machine_upsert(s, &m);
    struct run_info ri;
    int64_t run = begin_run(s, mid, NULL, &ri);

    struct case_record bad;
    make_case(&bad, &k_flash, 256, 0, NULL, 0, 0);
    bad.status = CASE_VERIFY_FAILED;
    bad.stats = (struct kb_stats){ 0 }; /* never timed */
    bad.accuracy.passed = 0;
    bad.accuracy.rel_l2_err = 0.5;
    bad.accuracy.max_abs_err = INFINITY;
    snprintf(bad.error, sizeof bad.error, "rel_l2_err 0.5 exceeds 1e-4");
    int64_t id_bad = store_case_insert(s, run, &bad);
    assert_true(id_bad > 0);

    struct case_record crash;
    make_case(&crash, &k_flash, 512, 0, NULL, 0, 0);
    crash.status = CASE_CRASHED;
    crash.verified = 0;
    crash.stats = (struct kb_stats){ 0 };
    crash.counters.papi_status[0] = '\0';
    snprintf(crash.error, sizeof crash.error, "killed by signal 11 (Segmentation fault)");
    assert_true(store_case_insert(s, run, &crash) > 0);

    struct case_record skip;
    make_case(&skip, &k_flash, 1 << 20, 0, NULL, 0, 0);
    skip.status = CASE_SKIPPED;
    skip.verified = 0;
    skip.stats = (struct kb_stats){ 0 };
    assert_true(store_case_insert(s, run, &skip) > 0);

    struct rows *rows = calloc(1, sizeof *rows);
    assert_int_equal(store_list_results(s, run, collect_row, rows), 0);
    assert_int_equal(rows->n, 3);
    const struct result_row *r = &rows->r[0];
    assert_string_equal(r->status, "verify_failed");
    assert_string_equal(r->error, bad.error);
    assert_int_equal(r->stats.n, 0);
    assert_true(isnan(r->stats.median) && isnan(r->stats.ci_lo) && isnan(r->stats.noise));
    assert_true(isnan(r->flops_per_s) && isnan(r->bytes_per_s));
    assert_same_double(r->flops, bad.flops); /* analytic figures are kept even untimed */
    assert_int_equal(r->verified, 1);
    assert_int_equal(r->passed, 0);
    assert_same_double(r->rel_l2_err, 0.5);
    assert_true(isinf(r->max_abs_err));
    r = &rows->r[1];
    assert_string_equal(r->status, "crashed");
    assert_int_equal(r->verified, 0);
    assert_true(isnan(r->rel_l2_err) && isnan(r->tolerance) && isnan(r->cosine));
    assert_string_equal(r->papi_status, "");
    assert_string_equal(rows->r[2].status, "skipped");
    free(rows);

    char q[128];
    snprintf(q, sizeof q, "SELECT count(*) FROM stats WHERE case_id = %lld", (long long)id_bad);
    assert_int_equal(raw_int(f->db, q), 0);
    snprintf(q, sizeof q, "SELECT count(*) FROM accuracy WHERE case_id = %lld AND passed = 0", (long long)id_bad);
    assert_int_equal(raw_int(f->db, q), 1);
    double *samples = (double *)&q; /* must be replaced */
    assert_int_equal(store_get_samples(s, id_bad, &samples), 0);
    assert_null(samples);

    /* a skipped case is not a failure; the wrong answer and the crash are */
    assert_int_equal(store_run_finish(s, run, "failed"), 0);
    struct run_row rr;
    assert_int_equal(store_get_run(s, run, &rr), 0);
    assert_int_equal(rr.cases, 3);
    assert_int_equal(rr.failures, 2);
    assert_string_equal(rr.status, "failed");
    store_close(s);
}

static void test_case_insert_is_atomic(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_write(f->db);
    struct machine_info m;
    make_machine(&m, "00000000000000bb");
    int64_t mid = store_machine_upsert(s, &m);
    struct run_info ri;
    int64_t run = begin_run(s, mid, NULL, &ri);
    double samples[] = { 1e-3, 2e-3, 3e-3 };
    struct case_record c;
    make_case(&c, &k_flash, 128, 0, samples, 3, 2e-3);
    add_counter(&c, "rusage", "minor_faults", 3, "count");

    /* a fault injected at the last insert of the transaction (accuracy), after the case row,
     * its samples, statistics and counters went in */
    raw_exec(f->db, "CREATE TRIGGER inject BEFORE INSERT ON accuracy BEGIN SELECT RAISE(ABORT, 'injected fault'); END;");
    assert_int_equal(store_case_insert(s, run, &c), -1);
    assert_non_null(strstr(store_errmsg(s), "injected fault"));
    assert_non_null(strstr(store_errmsg(s), f->db));
    static const char *const tables[] = { "cases", "samples", "stats", "counters", "accuracy" };
    for (int i = 0; i < 5; i++) {
        char q[64];
        snprintf(q, sizeof q, "SELECT count(*) FROM %s", tables[i]);
        assert_int_equal(raw_int(f->db, q), 0);
    }
    raw_exec(f->db, "DROP TRIGGER inject;");
    int64_t id = store_case_insert(s, run, &c);
    assert_true(id > 0);
    assert_int_equal(raw_int(f->db, "SELECT seq_no FROM cases"), 1); /* the failed attempt left no gap */
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM samples"), 3);

    /* invalid records are refused before anything is written */
    samples[1] = NAN;
    assert_int_equal(store_case_insert(s, run, &c), -1);
    assert_non_null(strstr(store_errmsg(s), "sample 1"));
    samples[1] = 2e-3;
    assert_int_equal(store_case_insert(s, run + 100, &c), -1);
    char want[64];
    snprintf(want, sizeof want, "no run %lld", (long long)(run + 100));
    assert_non_null(strstr(store_errmsg(s), want));
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM cases"), 1);

    /* other bad arguments, each named */
    assert_int_equal(store_run_finish(s, run, "done"), -1);
    assert_non_null(strstr(store_errmsg(s), "'done'"));
    assert_int_equal(store_run_finish(s, run + 7, "complete"), -1);
    assert_non_null(strstr(store_errmsg(s), "no run"));
    assert_int_equal(store_run_tag(s, run, "a-tag-that-is-far-too-long-to-be-shown-in-the-runs-table-column-x"), -1);
    assert_non_null(strstr(store_errmsg(s), "longer than"));
    assert_int_equal(store_run_tag(s, run + 9, "ok"), -1);
    assert_non_null(strstr(store_errmsg(s), "no run"));
    assert_int_equal(store_run_begin(s, mid + 50, &ri), -1);
    assert_non_null(strstr(store_errmsg(s), "no machine"));
    store_close(s);
}

/* ---- run references ---------------------------------------------------------------------------- */

static void test_resolve(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_write(f->db);
    assert_int_equal(store_resolve_run(s, "latest"), -1);
    assert_non_null(strstr(store_errmsg(s), "no runs"));

    struct machine_info m;
    make_machine(&m, "00000000000000cc");
    int64_t mid = store_machine_upsert(s, &m);
    struct run_info ri;
    int64_t r1 = begin_run(s, mid, "nightly", &ri);
    int64_t r2 = begin_run(s, mid, NULL, &ri);
    int64_t r3 = begin_run(s, mid, NULL, &ri);
    int64_t r4 = begin_run(s, mid, NULL, &ri);
    assert_int_equal(store_run_tag(s, r2, "nightly"), 0);
    assert_int_equal(store_run_tag(s, r2, "nightly"), 0); /* tagging twice is harmless */
    assert_int_equal(store_run_tag(s, r1, "baseline"), 0);
    char q[256];
    snprintf(q, sizeof q,
             "UPDATE runs SET uuid = CASE id WHEN %lld THEN 'aaaa1111-0000-4000-8000-000000000001' "
             "WHEN %lld THEN 'aaaa2222-0000-4000-8000-000000000002' "
             "WHEN %lld THEN 'bbbb3333-0000-4000-8000-000000000003' "
             "ELSE '12345678-0000-4000-8000-000000000004' END;",
             (long long)r1, (long long)r2, (long long)r3);
    raw_exec(f->db, q);

    assert_int_equal(store_resolve_run(s, "latest"), r4);
    char ref[32];
    snprintf(ref, sizeof ref, "%lld", (long long)r2);
    assert_int_equal(store_resolve_run(s, ref), r2);
    assert_int_equal(store_resolve_run(s, "tag:nightly"), r2); /* the newest run with the tag */
    assert_int_equal(store_resolve_run(s, "tag:baseline"), r1);
    assert_int_equal(store_resolve_run(s, "aaaa1"), r1);
    assert_int_equal(store_resolve_run(s, "AAAA2222"), r2);
    assert_int_equal(store_resolve_run(s, "bbbb"), r3);
    assert_int_equal(store_resolve_run(s, "bbbb3333-0000-4000-8000-000000000003"), r3);
    assert_int_equal(store_resolve_run(s, "1234"), r4); /* no run 1234: a uuid prefix */

    assert_int_equal(store_resolve_run(s, "aaaa"), -1);
    assert_non_null(strstr(store_errmsg(s), "ambiguous"));
    assert_non_null(strstr(store_errmsg(s), "2 runs"));
    assert_non_null(strstr(store_errmsg(s), "'aaaa'"));

    static const char *const unknown[] = { "99", "cccc", "abc", "tag:weekly", "yesterday", "aaaa1111-0000-4000-8000-0000000000019" };
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        assert_int_equal(store_resolve_run(s, unknown[i]), -1);
        const char *name = strncmp(unknown[i], "tag:", 4) == 0 ? unknown[i] + 4 : unknown[i];
        if (!strstr(store_errmsg(s), name) || !strstr(store_errmsg(s), f->db))
            fail_msg("error for '%s' does not name it and the file: %s", unknown[i], store_errmsg(s));
    }
    assert_int_equal(store_resolve_run(s, ""), -1);
    store_close(s);
}

/* ---- runs list --------------------------------------------------------------------------------- */

struct run_ids {
    int n, stop_after;
    int64_t id[8];
    char tag[8][64];
};

static int collect_run(const struct run_row *r, void *ctx)
{
    struct run_ids *v = ctx;
    v->id[v->n] = r->id;
    snprintf(v->tag[v->n], sizeof v->tag[0], "%s", r->tag);
    v->n++;
    return v->stop_after && v->n >= v->stop_after;
}

static void test_list_runs(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_write(f->db);
    struct machine_info m;
    make_machine(&m, "00000000000000dd");
    int64_t mid = store_machine_upsert(s, &m);
    struct run_info ri;
    int64_t id[4];
    for (int i = 0; i < 4; i++)
        id[i] = begin_run(s, mid, i == 1 ? "second" : NULL, &ri);
    struct run_ids v = { 0 };
    assert_int_equal(store_list_runs(s, 0, collect_run, &v), 0);
    assert_int_equal(v.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(v.id[i], id[3 - i]);
    assert_string_equal(v.tag[2], "second");
    assert_string_equal(v.tag[0], "");
    memset(&v, 0, sizeof v);
    assert_int_equal(store_list_runs(s, 2, collect_run, &v), 0);
    assert_int_equal(v.n, 2);
    memset(&v, 0, sizeof v);
    v.stop_after = 3;
    assert_int_equal(store_list_runs(s, 0, collect_run, &v), 0);
    assert_int_equal(v.n, 3);
    store_close(s);
}

/* ---- migration --------------------------------------------------------------------------------- */

static void test_migration_from_v1(void **state)
{
    struct fixture *f = *state;
    struct store *s;
    assert_int_equal(store_open_at_version(f->db, 1, &s, err, sizeof err), 0);
    /* a version-1 store cannot take writes through the API (they need the latest schema) */
    struct machine_info m;
    make_machine(&m, "00000000000000ee");
    assert_int_equal(store_machine_upsert(s, &m), -1);
    assert_non_null(strstr(store_errmsg(s), "schema version 1"));
    store_close(s);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 1);
    assert_int_equal(raw_int(f->db, "PRAGMA application_id"), 0x6B62656E);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM pragma_table_info('accuracy') WHERE name = 'tolerance'"), 0);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM sqlite_master WHERE name = 'v_results'"), 0);

    /* data as kbench with schema version 1 wrote it */
    raw_exec(f->db,
             "INSERT INTO machines (id, fingerprint, hostname, cpu_model, logical_cpus, physical_cores) "
             "VALUES (1, '00000000000000ee', 'oldhost', 'Old CPU', 4, 2);"
             "INSERT INTO runs (id, uuid, machine_id, started_at, finished_at, status, kbench_version, cmdline, "
             "planned_cases) VALUES (1, '0badc0de-0000-4000-8000-000000000001', 1, '2024-01-02T03:04:05.678Z', "
             "'2024-01-02T03:05:00.000Z', 'complete', '0.0.9', 'run --seq 4096', 1);"
             "INSERT INTO run_tags (run_id, tag) VALUES (1, 'old');"
             "INSERT INTO cases (id, run_id, seq_no, kernel, impl, family, device, dtype, batch, heads, kv_heads, "
             "seq_len, head_dim, causal, threads, status, calls_per_sample, flops, bytes) VALUES (1, 1, 1, "
             "'attention.flash', 'cpu.avx2', 'attention', 'cpu', 'f32', 1, 8, 8, 4096, 64, 1, 2, 'ok', 1, "
             "4.294967296e9, 3.3554432e7);"
             "INSERT INTO samples (case_id, idx, seconds) VALUES (1, 0, 0.0125), (1, 1, 0.0135);"
             "INSERT INTO stats (case_id, n, median_s, ci_lo_s, ci_hi_s, flops_per_s) "
             "VALUES (1, 2, 0.013, 0.0125, 0.0135, 3.3e11);"
             "INSERT INTO accuracy (case_id, max_abs_err, rel_l2_err, cosine, rows_checked, rows_total, passed) "
             "VALUES (1, 1e-6, 2e-7, 1.0, 64, 32768, 1);");

    /* reading an old database neither migrates nor changes it */
    struct blob before = read_all(f->db);
    assert_int_equal(store_open(f->db, STORE_READ, &s, err, sizeof err), 0);
    struct rows *rows = calloc(1, sizeof *rows);
    assert_int_equal(store_list_results(s, 1, collect_row, rows), 0);
    assert_int_equal(rows->n, 1);
    assert_same_double(rows->r[0].stats.median, 0.013);
    assert_true(isnan(rows->r[0].tolerance));
    /* no sampling columns before version 8: unknown, never "not met" */
    assert_int_equal(rows->r[0].noise_met, -1);
    assert_int_equal(rows->r[0].min_samples, 0);
    assert_int_equal(rows->r[0].set_aside, -1);
    assert_string_equal(rows->r[0].stop_reason, "");
    store_close(s);
    struct blob after = read_all(f->db);
    assert_int_equal(after.len, before.len);
    assert_memory_equal(after.data, before.data, before.len);
    free(before.data);
    free(after.data);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 1);

    /* opening for writing migrates, keeping every row */
    s = open_write(f->db);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), store_schema_version());
    memset(rows, 0, sizeof *rows);
    assert_int_equal(store_list_results(s, 1, collect_row, rows), 0);
    assert_int_equal(rows->n, 1);
    const struct result_row *r = &rows->r[0];
    assert_string_equal(r->kernel, "attention.flash");
    assert_int_equal(r->shape.seq_len, 4096);
    assert_int_equal(r->shape.causal, 1);
    assert_int_equal(r->stats.n, 2);
    assert_same_double(r->stats.median, 0.013);
    assert_same_double(r->stats.ci_hi, 0.0135);
    assert_true(isnan(r->stats.mean)); /* never written: NULL */
    assert_same_double(r->flops_per_s, 3.3e11);
    assert_same_double(r->rel_l2_err, 2e-7);
    assert_true(isnan(r->tolerance)); /* the new column, unknown for old rows */
    assert_int_equal(r->passed, 1);
    free(rows);
    double *samples;
    assert_int_equal(store_get_samples(s, 1, &samples), 2);
    assert_same_double(samples[0], 0.0125);
    assert_same_double(samples[1], 0.0135);
    free(samples);
    assert_int_equal(store_resolve_run(s, "tag:old"), 1);
    assert_int_equal(store_resolve_run(s, "0badc0de"), 1);
    char host[64];
    raw_text(f->db, "SELECT hostname FROM runs WHERE id = 1", host, sizeof host);
    assert_string_equal(host, "oldhost"); /* backfilled from the machine */
    assert_int_equal(raw_int(f->db, "SELECT round(median_us) FROM v_results WHERE seq_len = 4096"), 13000);

    /* and the migrated database takes new runs */
    int64_t mid = store_machine_upsert(s, &m);
    assert_int_equal(mid, 1);
    struct run_info ri;
    int64_t run = begin_run(s, mid, NULL, &ri);
    assert_int_equal(run, 2);
    double sa[] = { 1e-3 };
    struct case_record c;
    make_case(&c, &k_flash, 128, 0, sa, 1, 1e-3);
    assert_true(store_case_insert(s, run, &c) > 0);
    store_close(s);
    assert_int_equal(raw_int(f->db, "SELECT tolerance * 1e4 FROM accuracy WHERE case_id = 2"), 1);
}

/* A migration that fails part-way leaves the database at the version before it, untouched. */
static void test_failed_migration_rolls_back(void **state)
{
    struct fixture *f = *state;
    struct store *s;
    assert_int_equal(store_open_at_version(f->db, 1, &s, err, sizeof err), 0);
    store_close(s);
    /* an object in the way of version 2's last statements, after its ALTER TABLEs ran */
    raw_exec(f->db, "CREATE TABLE v_runs (x);");
    assert_int_equal(store_open(f->db, STORE_WRITE, &s, err, sizeof err), -1);
    assert_null(s);
    assert_non_null(strstr(err, f->db));
    assert_non_null(strstr(err, "schema version 2"));
    assert_non_null(strstr(err, "v_runs"));
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 1);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM pragma_table_info('accuracy') WHERE name = 'tolerance'"), 0);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'pid'"), 0);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM sqlite_master WHERE name = 'v_results'"), 0);
    /* with the obstacle gone, the same file migrates */
    raw_exec(f->db, "DROP TABLE v_runs;");
    s = open_write(f->db);
    store_close(s);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), store_schema_version());
}

/* ---- refusals ---------------------------------------------------------------------------------- */

/* Opens path in both modes, expecting both to refuse with a message naming the file and
 * containing `want`, and the file to be byte-for-byte what it was, with no sidecar files. */
static void assert_refused(const char *path, const char *want)
{
    struct blob before = read_all(path);
    int had_wal = sidecar_exists(path, "-wal"), had_shm = sidecar_exists(path, "-shm");
    static const enum store_mode modes[] = { STORE_READ, STORE_WRITE };
    for (int i = 0; i < 2; i++) {
        struct store *s = (struct store *)&before; /* must be reset to NULL */
        err[0] = '\0';
        assert_int_equal(store_open(path, modes[i], &s, err, sizeof err), -1);
        assert_null(s);
        if (!strstr(err, path) || !strstr(err, want))
            fail_msg("%s open of %s: message lacks the path or '%s': %s", i ? "write" : "read", path, want, err);
    }
    struct blob after = read_all(path);
    assert_int_equal(after.len, before.len);
    assert_memory_equal(after.data, before.data, before.len);
    assert_int_equal(sidecar_exists(path, "-journal"), 0);
    assert_int_equal(sidecar_exists(path, "-wal"), had_wal);
    assert_int_equal(sidecar_exists(path, "-shm"), had_shm);
    free(before.data);
    free(after.data);
}

static void test_refuse_text_file(void **state)
{
    struct fixture *f = *state;
    const char text[] = "hello, not a database\n";
    write_all(f->db, text, sizeof text - 1);
    assert_refused(f->db, "is not an SQLite database");
    /* long enough for SQLite to look at a header: still refused, still unchanged */
    char big[8192];
    memset(big, 'x', sizeof big);
    write_all(f->db, big, sizeof big);
    assert_refused(f->db, "is not an SQLite database");
}

static void test_refuse_foreign_sqlite(void **state)
{
    struct fixture *f = *state;
    raw_exec(f->db, "CREATE TABLE foo (x INTEGER); INSERT INTO foo VALUES (42); CREATE TABLE bar (y);");
    assert_refused(f->db, "not a kbench database (tables: bar, foo)");
    /* another program's application id with no tables is someone else's file too */
    char other[128];
    path_in(f, "other.db", other, sizeof other);
    raw_exec(other, "PRAGMA application_id = 1234; PRAGMA user_version = 3;");
    assert_refused(other, "not a kbench database");
}

static void test_refuse_newer_schema(void **state)
{
    struct fixture *f = *state;
    fill_db(f->db);
    char sql[64], want[160];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d;", store_schema_version() + 1);
    raw_exec(f->db, sql);
    snprintf(want, sizeof want, "has schema version %d, newer than this kbench understands (%d); upgrade kbench",
             store_schema_version() + 1, store_schema_version());
    assert_refused(f->db, want);
}

static unsigned page_size_of(const char *path)
{
    struct blob b = read_all(path);
    assert_true(b.len >= 100);
    unsigned ps = (unsigned)b.data[16] << 8 | b.data[17];
    free(b.data);
    return ps == 1 ? 65536 : ps;
}

static void test_refuse_truncated(void **state)
{
    struct fixture *f = *state;
    fill_db(f->db);
    assert_int_equal(sidecar_exists(f->db, "-wal"), 0); /* the last close checkpointed */
    struct blob b = read_all(f->db);
    unsigned ps = page_size_of(f->db);
    assert_true(b.len >= 4 * ps);
    size_t half = (b.len / 2) / ps * ps;
    write_all(f->db, b.data, half);
    free(b.data);
    assert_refused(f->db, "is corrupt");
    assert_refused(f->db, "cut short"); /* told by the header's page count, before SQLite reads */
}

static void test_refuse_garbage_page(void **state)
{
    struct fixture *f = *state;
    fill_db(f->db);
    struct blob b = read_all(f->db);
    unsigned ps = page_size_of(f->db);
    memset(b.data + ps, 0xA5, ps); /* page 2 */
    write_all(f->db, b.data, b.len);
    free(b.data);
    assert_refused(f->db, "is corrupt");

    /* an index's root page: SQLite reads it only for queries that use the index */
    char other[128];
    path_in(f, "index.db", other, sizeof other);
    fill_db(other);
    int64_t root = raw_int(other, "SELECT rootpage FROM sqlite_master WHERE name = 'cases_by_kernel'");
    assert_true(root > 2);
    b = read_all(other);
    assert_true(b.len >= (size_t)root * ps);
    memset(b.data + (size_t)(root - 1) * ps, 0xA5, ps);
    write_all(other, b.data, b.len);
    free(b.data);
    assert_refused(other, "is corrupt");
}

/* A reader beside a live writer (the dashboard during a sweep) sees each case once committed. */
static void test_reader_beside_writer(void **state)
{
    struct fixture *f = *state;
    struct store *w = open_write(f->db);
    struct machine_info m;
    make_machine(&m, "0000000000000123");
    int64_t mid = store_machine_upsert(w, &m);
    struct run_info ri;
    int64_t run = begin_run(w, mid, NULL, &ri);
    assert_true(sidecar_exists(f->db, "-wal"));

    struct store *r;
    assert_int_equal(store_open(f->db, STORE_READ, &r, err, sizeof err), 0);
    struct run_row rr;
    assert_int_equal(store_get_run(r, store_resolve_run(r, "latest"), &rr), 0);
    assert_string_equal(rr.status, "running");
    assert_string_equal(rr.finished, "");
    assert_int_equal(rr.cases, 0);

    double sa[] = { 1e-3, 2e-3 };
    struct case_record c;
    make_case(&c, &k_flash, 128, 0, sa, 2, 1.5e-3);
    assert_true(store_case_insert(w, run, &c) > 0);
    assert_int_equal(store_get_run(r, run, &rr), 0);
    assert_int_equal(rr.cases, 1);
    store_close(r);
    store_close(w);
}

/* Returns 0 when a read-only kbench file and a file in a read-only directory are both refused
 * for writing with messages naming them (1 or 2 says which check failed). Runs in a child
 * process when the tests run as root, so it reports by value rather than by assertion. */
static int check_unwritable(const struct fixture *f)
{
    char other[200];
    snprintf(other, sizeof other, "%s/locked/new.db", f->dir);
    struct store *t;
    if (store_open(f->db, STORE_WRITE, &t, err, sizeof err) != -1 || !strstr(err, f->db) || !strstr(err, "read-only"))
        return 1;
    if (store_open(other, STORE_WRITE, &t, err, sizeof err) != -1 || !strstr(err, other) ||
        !strstr(err, "Permission denied") || exists(other))
        return 2;
    return 0;
}

static void test_read_missing_and_odd_paths(void **state)
{
    struct fixture *f = *state;
    struct store *s;
    char want[256];
    assert_int_equal(store_open(f->db, STORE_READ, &s, err, sizeof err), -1);
    assert_null(s);
    snprintf(want, sizeof want, "no database at %s", f->db);
    assert_string_equal(err, want);
    assert_false(exists(f->db));

    /* a directory is not a database */
    assert_int_equal(store_open(f->dir, STORE_WRITE, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, f->dir));
    assert_non_null(strstr(err, "directory"));

    /* an empty file: refused for reading, made a kbench database for writing */
    write_all(f->db, "", 0);
    assert_int_equal(store_open(f->db, STORE_READ, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a kbench database"));
    struct stat st;
    assert_int_equal(stat(f->db, &st), 0);
    assert_int_equal(st.st_size, 0);
    s = open_write(f->db);
    store_close(s);
    assert_int_equal(raw_int(f->db, "PRAGMA user_version"), store_schema_version());

    /* a store opened for reading refuses writes */
    assert_int_equal(store_open(f->db, STORE_READ, &s, err, sizeof err), 0);
    struct machine_info m;
    make_machine(&m, "00000000000000ff");
    assert_int_equal(store_machine_upsert(s, &m), -1);
    assert_non_null(strstr(store_errmsg(s), "reading only"));
    store_close(s);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM machines"), 0);

    /* a file the user may not write, and a directory the user may not write in: root may
     * write anything, so as root the checks run in a child that has become nobody */
    char locked[160];
    path_in(f, "locked", locked, sizeof locked);
    assert_int_equal(mkdir(locked, 0555), 0);
    assert_int_equal(chmod(f->db, 0444), 0);
    assert_int_equal(chmod(f->dir, 0777), 0);
    if (geteuid() != 0) {
        assert_int_equal(check_unwritable(f), 0);
        return;
    }
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(77);
        _exit(check_unwritable(f));
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip(); /* cannot become nobody here */
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- views ------------------------------------------------------------------------------------- */

struct text_rows {
    int n;
    char v[8][64];
};

static int collect_text(void *ctx, int ncol, char **vals, char **names)
{
    (void)names;
    struct text_rows *t = ctx;
    assert_int_equal(ncol, 1);
    if (t->n < 8)
        snprintf(t->v[t->n], sizeof t->v[0], "%s", vals[0] ? vals[0] : "NULL");
    t->n++;
    return 0;
}

static void query_text(const char *path, const char *sql, struct text_rows *t)
{
    sqlite3 *db;
    memset(t, 0, sizeof *t);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, collect_text, t, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    sqlite3_close(db);
}

static void test_views(void **state)
{
    struct fixture *f = *state;
    fill_db(f->db); /* flash at 1024 (median 1.5 ms) and 4096 (187.5 ms), reference at 4096 */
    struct text_rows t;
    query_text(f->db, "SELECT median_us FROM v_results WHERE kernel='attention.flash' AND seq_len=4096;", &t);
    assert_int_equal(t.n, 1);
    double us = strtod(t.v[0], NULL);
    assert_true(fabs(us - 187500.0) < 1e-6);

    /* a second, newer complete run on the same machine that measures only one of the cases:
     * v_latest_results takes that case from it and keeps the others' newest results (before
     * version 9 it held only the newest run, so a run of one kernel hid every other result) */
    struct store *s = open_write(f->db);
    struct machine_info m;
    make_machine(&m, "0123456789abcdef");
    int64_t mid = store_machine_upsert(s, &m);
    struct run_info ri;
    int64_t run = begin_run(s, mid, NULL, &ri);
    double sa[] = { 0.5, 0.25 };
    struct case_record c;
    make_case(&c, &k_flash, 4096, 0, sa, 2, 0.125);
    add_counter(&c, "papi", "PAPI_L1_DCM", 2048, "count");
    int64_t case_id = store_case_insert(s, run, &c);
    assert_true(case_id > 0);
    int64_t unfinished = begin_run(s, mid, NULL, &ri); /* running: not "latest complete" */
    assert_true(store_case_insert(s, unfinished, &c) > 0);
    assert_int_equal(store_run_finish(s, run, "complete"), 0);
    store_close(s);

    query_text(f->db, "SELECT median_us FROM v_results WHERE kernel='attention.flash' AND seq_len=4096 ORDER BY run_id;", &t);
    assert_int_equal(t.n, 3);
    query_text(f->db, "SELECT median_us FROM v_latest_results WHERE kernel='attention.flash' AND seq_len=4096;", &t);
    assert_int_equal(t.n, 1);
    assert_true(fabs(strtod(t.v[0], NULL) - 125000.0) < 1e-6);
    query_text(f->db, "SELECT count(*) FROM v_latest_results;", &t);
    assert_string_equal(t.v[0], "3");
    query_text(f->db, "SELECT run_id FROM v_latest_results WHERE kernel='attention.reference';", &t);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.v[0], "1");
    query_text(f->db, "SELECT count(*) FROM v_latest_results WHERE run_id = 1 AND kernel='attention.flash';", &t);
    assert_string_equal(t.v[0], "1"); /* N = 1024, which the newer run did not measure */

    char q[200];
    snprintf(q, sizeof q, "SELECT value FROM v_counters WHERE case_id = %lld AND backend = 'papi' AND name = 'PAPI_L1_DCM';",
             (long long)case_id);
    query_text(f->db, q, &t);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.v[0], "2048.0");
    query_text(f->db, "SELECT gflops FROM v_results WHERE kernel = 'attention.reference';", &t);
    assert_int_equal(t.n, 1);
    double want = 4.0 * 8 * 4096.0 * 4096 * 64 / 0.375 / 1e9;
    assert_true(fabs(strtod(t.v[0], NULL) - want) < 1e-9 * want);
    query_text(f->db, "SELECT cases || '/' || failures FROM v_runs WHERE run_id = 1;", &t);
    assert_string_equal(t.v[0], "3/0");
}

/* ---- stale runs -------------------------------------------------------------------------------- */

/* The arguments a run started with come back exactly, for --resume; a complete run is refused. */

/* A kernel that sweeps every axis: each field of the shape, the enum ones as names, survives
 * the store; a kernel that sweeps few leaves the other columns NULL; the bit-exact counts of a
 * quantized kernel round-trip and are NULL where no such check ran. */
static const struct kb_kernel k_every_axis = {
    .name = "quant.every_axis", .impl = "cpu", .op = &op_quant, .device = KB_DEVICE_CPU,
    .axes = (UINT64_C(1) << KB_AXIS_COUNT) - 1,
};

static void test_every_axis_round_trips(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_write(f->db);
    struct machine_info m;
    make_machine(&m, "0123456789abcdef");
    int64_t mid = store_machine_upsert(s, &m);
    struct run_info ri;
    int64_t run = begin_run(s, mid, NULL, &ri);
    double sa[] = { 1e-3, 2e-3 };
    struct case_record in[2];
    make_case(&in[0], &k_every_axis, 100, 1, sa, 2, 1.5e-3);
    for (int a = 0; a < KB_AXIS_COUNT; a++) {
        const struct kb_axis_info *ax = kb_axis_info((enum kb_axis)a);
        /* a distinct value per axis, within its range */
        kb_shape_set(&in[0].shape, (enum kb_axis)a, ax->kind == KB_AXIS_KIND_INT ? 3 + a : ax->max);
    }
    in[0].accuracy.exact_checked = 4096;
    in[0].accuracy.exact_mismatches = 3;
    make_case(&in[1], &k_flash, 100, 0, sa, 2, 1.5e-3);
    in[1].shape.m = 77; /* not an attention axis: must not be stored */
    for (int i = 0; i < 2; i++)
        if (store_case_insert(s, run, &in[i]) <= 0)
            fail_msg("case %d: %s", i, store_errmsg(s));
    struct rows *rows = calloc(1, sizeof *rows);
    assert_int_equal(store_list_results(s, run, collect_row, rows), 0);
    assert_int_equal(rows->n, 2);
    assert_memory_equal(&rows->r[0].shape, &in[0].shape, sizeof in[0].shape);
    assert_int_equal(rows->r[0].exact_checked, 4096);
    assert_int_equal(rows->r[0].exact_mismatches, 3);
    assert_int_equal(rows->r[1].shape.m, 0);
    assert_int_equal(rows->r[1].shape.input, 0); /* make_case leaves it 0: stored NULL */
    assert_int_equal(rows->r[1].exact_checked, 0);
    free(rows);
    store_close(s);
    char text[64];
    raw_text(f->db, "SELECT routing || ',' || input_dist || ',' || granularity FROM cases WHERE kernel = 'quant.every_axis'",
             text, sizeof text);
    assert_string_equal(text, "one,outlier,group");
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM v_results WHERE kernel = 'attention.flash' AND gemm_m IS NULL "
                                    "AND exact_checked IS NULL AND window_len IS NULL"), 1);
    /* every axis has its column in cases and in v_results */
    for (int a = 0; a < KB_AXIS_COUNT; a++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pragma_table_info('cases') WHERE name = '%s'",
                 kb_axis_info((enum kb_axis)a)->column);
        assert_int_equal(raw_int(f->db, sql), 1);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pragma_table_info('v_results') WHERE name = '%s'",
                 kb_axis_info((enum kb_axis)a)->column);
        assert_int_equal(raw_int(f->db, sql), 1);
    }
}

static void test_reopen_returns_arguments(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_write(f->db);
    struct machine_info m;
    make_machine(&m, "00000000000a7c11");
    int64_t mid = store_machine_upsert(s, &m);
    struct run_info ri;
    memset(&ri, 0, sizeof ri);
    char *args[] = { "--kernels", "attention.*", "--tag", "a \"quoted\" tag, with comma", "--seq", "4k", "\xc3\xa9" };
    ri.argc = 7;
    ri.argv = args;
    ri.planned_cases = 1;
    int64_t id = store_run_begin(s, mid, &ri);
    assert_true(id > 0);
    assert_int_equal(store_run_finish(s, id, "interrupted"), 0);
    int argc;
    char **argv;
    assert_int_equal(store_run_reopen(s, id, &argc, &argv), 0);
    assert_int_equal(argc, 7);
    for (int i = 0; i < 7; i++)
        assert_string_equal(argv[i], args[i]);
    assert_null(argv[7]);
    store_free_argv(argv);
    struct run_row row;
    assert_int_equal(store_get_run(s, id, &row), 0);
    assert_string_equal(row.status, "running");
    assert_int_equal(store_run_finish(s, id, "complete"), 0);
    assert_int_equal(store_run_reopen(s, id, &argc, &argv), -1);
    assert_non_null(strstr(store_errmsg(s), "complete"));
    /* a run with no arguments (the default suite) is still resumable */
    memset(&ri, 0, sizeof ri);
    int64_t bare = store_run_begin(s, mid, &ri);
    assert_int_equal(store_run_reopen(s, bare, &argc, &argv), 0);
    assert_int_equal(argc, 0);
    store_free_argv(argv);
    store_close(s);
}

/* v11: a run's KBENCH_CPU_FEATURES mask comes back; an unmasked run, and a database older than
 * v11 read without migrating, have none. */
static void test_run_cpu_mask(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_write(f->db);
    struct machine_info m;
    make_machine(&m, "00000000000c9f11");
    int64_t mid = store_machine_upsert(s, &m);
    struct run_cpu_mask in = { .peak_f32_core = 33.6e9 }, out;
    snprintf(in.mask, sizeof in.mask, "avx2");
    snprintf(in.features, sizeof in.features, "avx2 fma");
    struct run_info ri;
    memset(&ri, 0, sizeof ri);
    ri.cpu_mask = &in;
    int64_t masked = store_run_begin(s, mid, &ri);
    memset(&ri, 0, sizeof ri);
    int64_t plain = store_run_begin(s, mid, &ri);
    assert_true(masked > 0 && plain > 0);
    store_get_run_cpu_mask(s, masked, &out);
    assert_string_equal(out.mask, "avx2");
    assert_string_equal(out.features, "avx2 fma");
    assert_same_double(out.peak_f32_core, 33.6e9);
    store_get_run_cpu_mask(s, plain, &out);
    assert_string_equal(out.mask, "");
    assert_true(out.peak_f32_core == 0);
    store_close(s);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM runs WHERE cpu_mask IS NULL AND peak_f32_core IS NULL"), 1);

    struct store *old;
    char old_db[160];
    snprintf(old_db, sizeof old_db, "%s.v10", f->db);
    assert_int_equal(store_open_at_version(old_db, 10, &old, err, sizeof err), 0);
    store_get_run_cpu_mask(old, 1, &out); /* no such columns yet: no mask, no error */
    assert_string_equal(out.mask, "");
    store_close(old);
    unlink(old_db);
}

static void test_stale_runs(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_write(f->db);
    struct machine_info m;
    make_machine(&m, "0000000000000abc");
    int64_t mid = store_machine_upsert(s, &m);
    struct run_info ri;
    int64_t dead = begin_run(s, mid, NULL, &ri);
    int64_t alive = begin_run(s, mid, NULL, &ri);

    /* a pid that certainly existed and is certainly gone: our own reaped child */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    char q[160];
    snprintf(q, sizeof q, "UPDATE runs SET pid = %d WHERE id = %lld;", (int)child, (long long)dead);
    raw_exec(f->db, q);
    snprintf(q, sizeof q, "SELECT pid FROM runs WHERE id = %lld", (long long)alive);
    assert_int_equal(raw_int(f->db, q), getpid());

    /* a reader shows the dead run as interrupted at once, before any writer marks it, and the
     * live one as running; it writes nothing */
    struct store *r;
    assert_int_equal(store_open(f->db, STORE_READ, &r, err, sizeof err), 0);
    struct run_row row;
    assert_int_equal(store_get_run(r, dead, &row), 0);
    assert_string_equal(row.status, "interrupted");
    assert_int_equal(store_get_run(r, alive, &row), 0);
    assert_string_equal(row.status, "running");
    store_close(r);
    char before[32];
    snprintf(q, sizeof q, "SELECT status FROM runs WHERE id = %lld", (long long)dead);
    raw_text(f->db, q, before, sizeof before);
    assert_string_equal(before, "running");
    /* a run recorded on another host is not judged by this host's pids */
    snprintf(q, sizeof q, "UPDATE runs SET hostname = 'elsewhere.invalid' WHERE id = %lld;", (long long)dead);
    raw_exec(f->db, q);
    assert_int_equal(store_open(f->db, STORE_READ, &r, err, sizeof err), 0);
    assert_int_equal(store_get_run(r, dead, &row), 0);
    assert_string_equal(row.status, "running");
    store_close(r);
    char host[256] = "";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    char *set_host = sqlite3_mprintf("UPDATE runs SET hostname = %Q WHERE id = %lld;", host, (long long)dead);
    raw_exec(f->db, set_host);
    sqlite3_free(set_host);

    begin_run(s, mid, NULL, &ri);
    char status[32];
    snprintf(q, sizeof q, "SELECT status FROM runs WHERE id = %lld", (long long)dead);
    raw_text(f->db, q, status, sizeof status);
    assert_string_equal(status, "interrupted");
    snprintf(q, sizeof q, "SELECT status FROM runs WHERE id = %lld", (long long)alive);
    raw_text(f->db, q, status, sizeof status);
    assert_string_equal(status, "running");
    store_close(s);
}

/* ---- sampling (schema version 8) --------------------------------------------------------------- */

static void test_sampling_columns(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_write(f->db);
    struct machine_info m;
    make_machine(&m, "00000000000005a8");
    int64_t mid = store_machine_upsert(s, &m);
    struct run_info ri;
    int64_t run = begin_run(s, mid, NULL, &ri);

    /* a GPU case: one of three samples throttled and set aside, the minimum not reached */
    static double sa[] = { 1e-3, 1.1e-3, 2e-3 };
    static double clocks[] = { 1980, 1965, 900 };
    static signed char throttled[] = { 0, 0, 1 };
    struct case_record r;
    make_case(&r, &k_flash, 1024, 0, sa, 3, 1.05e-3);
    snprintf(r.device, sizeof r.device, "cuda:0");
    r.stats.n = 2;
    r.sm_clock_mhz = clocks;
    r.throttled = throttled;
    r.set_aside = 1;
    snprintf(r.throttle_reason, sizeof r.throttle_reason, "sw_power_cap");
    r.min_samples = 10;
    r.noise_target = 0.01;
    r.noise_met = 0;
    r.stop = STOP_MIN_SAMPLES_CAP;
    r.stats.outliers = 1;
    int64_t gpu_case = store_case_insert(s, run, &r);
    assert_true(gpu_case > 0);
    /* a CPU case that met everything */
    static double sb[] = { 1e-3, 1.01e-3, 1.02e-3, 1e-3 };
    make_case(&r, &k_flash, 2048, 0, sb, 4, 1e-3);
    r.min_samples = 3;
    r.noise_target = 0.05;
    r.noise_met = 1;
    r.stop = STOP_NOISE;
    assert_true(store_case_insert(s, run, &r) > 0);
    /* a record that never went through the sampler: unknown, not "not met" */
    make_case(&r, &k_ref, 2048, 0, sb, 4, 1e-3);
    assert_true(store_case_insert(s, run, &r) > 0);

    struct rows *rows = calloc(1, sizeof *rows);
    assert_int_equal(store_list_results(s, run, collect_row, rows), 0);
    assert_int_equal(rows->n, 3);
    const struct result_row *g = &rows->r[0], *c = &rows->r[1], *u = &rows->r[2];
    assert_int_equal(g->stats.n, 2);
    assert_int_equal(g->min_samples, 10);
    assert_int_equal(g->set_aside, 1);
    assert_int_equal(g->noise_met, 0);
    assert_same_double(g->noise_target, 0.01);
    assert_string_equal(g->stop_reason, "min-samples-cap");
    assert_int_equal(g->outliers, 1);
    assert_string_equal(g->throttle_reason, "sw_power_cap");
    /* n = 2: no interval is stored, whatever the record held */
    assert_true(isnan(g->stats.ci_lo) && isnan(g->stats.ci_hi) && isnan(g->stats.noise));
    assert_int_equal(c->noise_met, 1);
    assert_string_equal(c->stop_reason, "noise");
    assert_int_equal(c->set_aside, 0);
    assert_string_equal(c->throttle_reason, "");
    assert_true(isfinite(c->stats.ci_lo));
    assert_int_equal(u->noise_met, -1);
    assert_int_equal(u->min_samples, 0);
    assert_int_equal(u->set_aside, -1);
    assert_true(isnan(u->noise_target));
    assert_string_equal(u->stop_reason, "");
    free(rows);
    struct sample_clock_summary clk;
    assert_int_equal(store_sample_clocks(s, gpu_case, &clk), 0);
    assert_int_equal(clk.with_clock, 3);
    assert_int_equal(clk.throttled, 1);
    assert_same_double(clk.median_mhz, 1965);
    assert_same_double(clk.min_mhz, 900);
    assert_same_double(clk.max_mhz, 1980);
    assert_int_equal(store_sample_clocks(s, gpu_case + 1, &clk), 0); /* the CPU case: none */
    assert_int_equal(clk.with_clock, 0);
    assert_true(isnan(clk.median_mhz));
    store_close(s);

    char q[200];
    snprintf(q, sizeof q, "SELECT count(sm_clock_mhz) || ' ' || sum(throttled) || ' ' || max(sm_clock_mhz) "
             "FROM samples WHERE case_id = %lld", (long long)gpu_case);
    char text[64];
    raw_text(f->db, q, text, sizeof text);
    assert_string_equal(text, "3 1 1980.0");
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM samples WHERE sm_clock_mhz IS NOT NULL OR throttled IS NOT NULL"),
                     3); /* the CPU cases' clocks are unknown: NULL */
}

/* Another kbench measuring on this host: a 'running' run whose pid is alive. */
static void test_live_runs(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_write(f->db);
    struct machine_info m;
    make_machine(&m, "0000000000000b0b");
    int64_t mid = store_machine_upsert(s, &m);
    struct run_info ri;
    int64_t other = begin_run(s, mid, NULL, &ri);
    int64_t mine = begin_run(s, mid, NULL, &ri);
    char host[256];
    assert_int_equal(gethostname(host, sizeof host), 0);
    long pids[4];
    /* both carry this process's pid: itself is no other kbench */
    assert_int_equal(store_live_runs(s, host, mine, pids, 4), 0);

    /* a live process (this test's parent) */
    char q[160];
    snprintf(q, sizeof q, "UPDATE runs SET pid = %d WHERE id = %lld;", (int)getppid(), (long long)other);
    raw_exec(f->db, q);
    assert_int_equal(store_live_runs(s, host, mine, pids, 4), 1);
    assert_int_equal(pids[0], getppid());
    assert_int_equal(store_live_runs(s, "another-host", mine, pids, 4), 0);
    /* the same run finished: nothing measures */
    assert_int_equal(store_run_finish(s, other, "complete"), 0);
    assert_int_equal(store_live_runs(s, host, mine, pids, 4), 0);

    /* a dead pid: our own reaped child */
    int64_t dead = begin_run(s, mid, NULL, &ri);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    snprintf(q, sizeof q, "UPDATE runs SET pid = %d WHERE id = %lld;", (int)child, (long long)dead);
    raw_exec(f->db, q);
    assert_int_equal(store_live_runs(s, host, mine, pids, 4), 0);
    store_close(s);
}

/* Version 9 corrects causal, stored as 0 for kernels without the axis, to NULL; attention
 * cases keep their 0. */
static const struct kb_kernel k_moe = {
    .name = "moe.router", .impl = "cpu", .op = &op_moe, .device = KB_DEVICE_CPU,
};

static void test_v9_nulls_causal_of_moe(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_write(f->db);
    struct machine_info m;
    make_machine(&m, "0000000000000a09");
    struct run_info ri;
    int64_t run = begin_run(s, store_machine_upsert(s, &m), NULL, &ri);
    double sa[] = { 0.5, 0.25 };
    struct case_record c;
    make_case(&c, &k_moe, 0, 0, sa, 2, 0.25);
    assert_true(store_case_insert(s, run, &c) > 0);
    make_case(&c, &k_flash, 256, 0, sa, 2, 0.25);
    assert_true(store_case_insert(s, run, &c) > 0);
    store_close(s);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM cases WHERE kernel = 'moe.router' AND causal IS NULL"), 1);
    /* as a version 8 file wrote it, then version 9's step (later steps add columns this file,
     * made at the newest version, already has) */
    raw_exec(f->db, "UPDATE cases SET causal = 0;");
    int nm;
    const struct store_migration *mig = store_schema_migrations(&nm);
    for (int i = 0; i < nm; i++)
        if (mig[i].version == 9)
            raw_exec(f->db, mig[i].sql);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM cases WHERE kernel = 'moe.router' AND causal IS NULL"), 1);
    assert_int_equal(raw_int(f->db, "SELECT count(*) FROM cases WHERE kernel = 'attention.flash' AND causal = 0"), 1);
}

/* ---- a database another user reads -------------------------------------------------------------- */

static int count_run(const struct run_row *r, void *ctx)
{
    (void)r;
    ++*(int *)ctx;
    return 0;
}

static int runs_in(struct store *s)
{
    int n = 0;
    return store_list_runs(s, 0, count_run, &n) == 0 ? n : -1;
}

static int64_t add_complete_run(const char *db)
{
    struct store *s = open_write(db);
    struct machine_info m;
    make_machine(&m, "0000000000000def");
    struct run_info ri;
    int64_t run = begin_run(s, store_machine_upsert(s, &m), NULL, &ri);
    assert_int_equal(store_run_finish(s, run, "complete"), 0);
    store_close(s);
    return run;
}

/* The reader's side, as another user: it reads without leaving a -wal or -shm of its own, and
 * sees the owner's next run through store_data_version although it reads a snapshot. Returns
 * 0, or the number of the check that failed. */
static int shared_reader(const char *db, int go, int done)
{
    struct store *s;
    char c;
    int64_t v1, v2;
    if (store_open(db, STORE_READ, &s, err, sizeof err) != 0)
        return 1;
    if (runs_in(s) != 1 || sidecar_exists(db, "-wal") || sidecar_exists(db, "-shm"))
        return 2;
    if (store_data_version(s, &v1) != 0 || store_data_version(s, &v2) != 0 || v1 != v2)
        return 3; /* nothing changed: the same number */
    if (write(go, "r", 1) != 1 || read(done, &c, 1) != 1)
        return 4;
    if (store_data_version(s, &v2) != 0 || v2 == v1)
        return 5;
    if (runs_in(s) != 2)
        return 6;
    store_close(s);
    return sidecar_exists(db, "-wal") || sidecar_exists(db, "-shm") ? 7 : 0;
}

static void test_shared_reader(void **state)
{
    struct fixture *f = *state;
    add_complete_run(f->db);
    assert_false(sidecar_exists(f->db, "-wal"));
    if (geteuid() != 0)
        skip(); /* the reader must be another user: only root can become one */
    assert_int_equal(chmod(f->dir, 0777), 0);
    assert_int_equal(chmod(f->db, 0644), 0);
    int to_parent[2], to_child[2];
    assert_int_equal(pipe(to_parent), 0);
    assert_int_equal(pipe(to_child), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(77);
        _exit(shared_reader(f->db, to_parent[1], to_child[0]));
    }
    char c;
    if (read(to_parent[0], &c, 1) == 1) /* the reader has its snapshot: the owner runs again */
        add_complete_run(f->db);
    assert_int_equal(write(to_child[1], "w", 1), 1);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    close(to_parent[0]);
    close(to_parent[1]);
    close(to_child[0]);
    close(to_child[1]);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77)
        skip(); /* cannot become nobody here */
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- machine and status names ------------------------------------------------------------------ */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ull;
    }
    return h;
}

static void test_machine_info(void **state)
{
    (void)state;
    /* the test's own FNV-1a against the published vectors, before it judges the fingerprint */
    assert_true(fnv1a("") == 0xcbf29ce484222325ull);
    assert_true(fnv1a("a") == 0xaf63dc4c8601ec8cull);
    assert_true(fnv1a("foobar") == 0x85944171f73967e8ull);

    struct machine_info a, b;
    machine_info_read(&a);
    machine_info_read(&b);
    assert_string_equal(a.fingerprint, b.fingerprint);
    assert_int_equal(strlen(a.fingerprint), 16);
    char host[256];
    assert_int_equal(gethostname(host, sizeof host), 0);
    assert_string_equal(a.hostname, host);
    struct utsname u;
    assert_int_equal(uname(&u), 0);
    char os[400];
    snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
    assert_string_equal(a.os, os);
    assert_true(a.mem_bytes == (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE));
    assert_true(strncmp(a.compiler, "gcc ", 4) == 0 || strncmp(a.compiler, "clang ", 6) == 0);
    assert_true(a.kbench_version[0] != '\0');
    assert_true(a.papi_version[0] != '\0');
    /* docs/schema.md: FNV-1a 64 over hostname|cpu_model|physical_cores|logical_cpus|mem_bytes|os|gpus */
    char key[1024], want[17];
    snprintf(key, sizeof key, "%s|%s|%d|%d|%lld|%s|%s", a.hostname, a.cpu_model, a.physical_cores, a.logical_cpus,
             a.mem_bytes, a.os, a.gpus);
    snprintf(want, sizeof want, "%016llx", (unsigned long long)fnv1a(key));
    assert_string_equal(a.fingerprint, want);
}

static void test_status_names(void **state)
{
    (void)state;
    static const char *const want[CASE_STATUS_COUNT] = { "ok", "verify_failed", "crashed", "timeout",
                                                         "setup_failed", "skipped", "interrupted" };
    for (int i = 0; i < CASE_STATUS_COUNT; i++) {
        assert_string_equal(case_status_name((enum case_status)i), want[i]);
        enum case_status back = CASE_STATUS_COUNT;
        assert_int_equal(case_status_parse(want[i], &back), 0);
        assert_int_equal(back, i);
    }
    enum case_status untouched = CASE_TIMEOUT;
    assert_int_equal(case_status_parse("OK", &untouched), -1);
    assert_int_equal(case_status_parse("", &untouched), -1);
    assert_int_equal(case_status_parse(NULL, &untouched), -1);
    assert_int_equal(untouched, CASE_TIMEOUT);
    assert_string_equal(case_status_name(CASE_STATUS_COUNT), "unknown");

    struct case_record r;
    memset(&r, 0, sizeof r);
    r.samples = malloc(4 * sizeof *r.samples);
    r.n_samples = 4;
    case_record_release(&r);
    assert_null(r.samples);
    assert_int_equal(r.n_samples, 0);
    case_record_release(&r); /* twice is harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_returns_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_axis_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_case_insert_is_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_migration_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_text_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_foreign_sqlite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_newer_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_garbage_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_missing_and_odd_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_beside_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_views, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_cpu_mask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sampling_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v9_nulls_causal_of_moe, setup, teardown),
        cmocka_unit_test(test_machine_info),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
