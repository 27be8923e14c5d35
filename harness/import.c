/* import.c - merging another kbench database into this one (see import.h).
 *
 * The copy is SQL over an ATTACHed source: INSERT ... SELECT per table, ids renumbered through
 * two temporary maps (source run id -> new run id, source case id -> new case id), all inside one
 * IMMEDIATE transaction on the target. Columns are copied by name, the ones both files have, so
 * a source at an older schema version imports with its missing columns left NULL.
 */
#include "harness/import.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/store.h"

#define BUSY_TIMEOUT_MS 10000
#define KB_APPLICATION_ID 0x6B62656E

struct importer {
    sqlite3 *db;
    const char *target, *source;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct importer *im, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(im->err, im->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int exec(struct importer *im, const char *sql, const char *doing)
{
    char *msg = NULL;
    if (sqlite3_exec(im->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    fail(im, "import %s into %s: cannot %s: %s", im->source, im->target, doing, msg ? msg : sqlite3_errmsg(im->db));
    sqlite3_free(msg);
    return -1;
}

static int query_int(struct importer *im, const char *sql, long long *out, const char *doing)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(im->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail(im, "import %s: cannot %s: %s", im->source, doing, sqlite3_errmsg(im->db));
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(im, "import %s: cannot %s", im->source, doing);
}

/* "a, b, c" (with each name prefixed by `prefix`): the columns of `table` present in both files,
 * less those in `skip` (a NULL-terminated list: the ids that are renumbered). */
static int common_columns(struct importer *im, const char *table, const char *const *skip, const char *prefix,
                          char *out, size_t len)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT m.name FROM pragma_table_info('%s', 'main') m "
             "JOIN pragma_table_info('%s', 'src') s ON s.name = m.name ORDER BY m.cid", table, table);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(im->db, sql, -1, &st, NULL) != SQLITE_OK)
        return fail(im, "import %s: cannot read the columns of %s: %s", im->source, table, sqlite3_errmsg(im->db));
    size_t used = 0;
    out[0] = '\0';
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int skipped = 0;
        for (const char *const *k = skip; *k && !skipped; k++)
            skipped = strcmp(*k, name) == 0;
        if (skipped)
            continue;
        int n = snprintf(out + used, len - used, "%s%s\"%s\"", used ? ", " : "", prefix, name);
        if (n < 0 || (size_t)n >= len - used) {
            sqlite3_finalize(st);
            return fail(im, "import %s: too many columns in %s", im->source, table);
        }
        used += (size_t)n;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fail(im, "import %s: cannot read the columns of %s: %s", im->source, table, sqlite3_errmsg(im->db));
    return 0;
}

/* The source as a read-only URI (mode=ro): the import never writes to it. */
static int source_uri(const char *path, char *out, size_t len)
{
    size_t used = (size_t)snprintf(out, len, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        int n = (*p == '?' || *p == '#' || *p == '%' || *p < 0x21 || *p >= 0x7f)
                    ? snprintf(out + used, len - used, "%%%02X", *p)
                    : snprintf(out + used, len - used, "%c", *p);
        if (n < 0 || (size_t)n >= len - used)
            return -1;
        used += (size_t)n;
    }
    return (size_t)snprintf(out + used, len - used, "?mode=ro") < len - used ? 0 : -1;
}

/* Copies the child table of cases `table` (keyed by case_id) for the imported cases. */
static long copy_case_table(struct importer *im, const char *table)
{
    static const char *const skip[] = { "case_id", NULL };
    char cols[2048], tcols[2048], sql[5000];
    if (common_columns(im, table, skip, "", cols, sizeof cols) != 0 ||
        common_columns(im, table, skip, "t.", tcols, sizeof tcols) != 0)
        return -1;
    snprintf(sql, sizeof sql,
             "INSERT INTO main.%s (case_id%s%s) SELECT ic.dst_id%s%s FROM src.%s t "
             "JOIN temp.import_cases ic ON ic.src_id = t.case_id ORDER BY ic.dst_id",
             table, *cols ? ", " : "", cols, *tcols ? ", " : "", tcols, table);
    char doing[64];
    snprintf(doing, sizeof doing, "copy %s", table);
    if (exec(im, sql, doing) != 0)
        return -1;
    return sqlite3_changes(im->db);
}

static int copy_all(struct importer *im, struct import_counts *c)
{
    static const char *const skip_id[] = { "id", NULL };
    static const char *const skip_run[] = { "id", "machine_id", NULL };
    static const char *const skip_case[] = { "id", "run_id", NULL };
    char cols[4096], tcols[4096], sql[10000];
    long long n;

    /* the source must still be a kbench database this build can read, under the lock */
    if (query_int(im, "PRAGMA src.application_id", &n, "read the application id") != 0)
        return -1;
    if (n != KB_APPLICATION_ID)
        return fail(im, "%s is not a kbench database (application id %lld)", im->source, n);
    if (query_int(im, "PRAGMA src.user_version", &n, "read the schema version") != 0)
        return -1;
    if (n > store_schema_version() || n < 1)
        return fail(im, "%s has schema version %lld; this kbench reads 1 to %d", im->source, n,
                    store_schema_version());

    /* machines: by fingerprint, the target's row wins */
    if (common_columns(im, "machines", skip_id, "", cols, sizeof cols) != 0)
        return -1;
    snprintf(sql, sizeof sql, "INSERT OR IGNORE INTO main.machines (%s) SELECT %s FROM src.machines ORDER BY id",
             cols, cols);
    if (exec(im, sql, "copy the machines") != 0)
        return -1;
    c->machines_added = sqlite3_changes(im->db);

    /* runs: the ones whose uuid is new, in their source order */
    if (exec(im,
             "CREATE TEMP TABLE import_runs (src_id INTEGER PRIMARY KEY, dst_id INTEGER);"
             "CREATE TEMP TABLE import_cases (src_id INTEGER PRIMARY KEY, dst_id INTEGER);"
             "INSERT INTO temp.import_runs (src_id) SELECT id FROM src.runs "
             " WHERE uuid NOT IN (SELECT uuid FROM main.runs) ORDER BY id;",
             "list the new runs") != 0)
        return -1;
    if (query_int(im, "SELECT count(*) FROM temp.import_runs", &n, "count the new runs") != 0)
        return -1;
    c->runs_added = (int)n;
    if (query_int(im, "SELECT count(*) FROM src.runs", &n, "count the runs") != 0)
        return -1;
    c->runs_present = (int)n - c->runs_added;

    if (common_columns(im, "runs", skip_run, "", cols, sizeof cols) != 0 ||
        common_columns(im, "runs", skip_run, "r.", tcols, sizeof tcols) != 0)
        return -1;
    snprintf(sql, sizeof sql,
             "INSERT INTO main.runs (machine_id, %s) "
             "SELECT (SELECT mm.id FROM main.machines mm JOIN src.machines sm ON sm.fingerprint = mm.fingerprint "
             "         WHERE sm.id = r.machine_id), %s "
             "FROM src.runs r JOIN temp.import_runs ir ON ir.src_id = r.id ORDER BY r.id",
             cols, tcols);
    if (exec(im, sql, "copy the runs") != 0 ||
        exec(im,
             "UPDATE temp.import_runs SET dst_id = (SELECT m.id FROM main.runs m JOIN src.runs s "
             " ON s.uuid = m.uuid WHERE s.id = import_runs.src_id);",
             "number the new runs") != 0)
        return -1;

    /* cases, then the map from source case to new case by (run, seq_no) */
    if (common_columns(im, "cases", skip_case, "", cols, sizeof cols) != 0 ||
        common_columns(im, "cases", skip_case, "c.", tcols, sizeof tcols) != 0)
        return -1;
    snprintf(sql, sizeof sql,
             "INSERT INTO main.cases (run_id, %s) SELECT ir.dst_id, %s FROM src.cases c "
             "JOIN temp.import_runs ir ON ir.src_id = c.run_id ORDER BY c.id",
             cols, tcols);
    if (exec(im, sql, "copy the cases") != 0)
        return -1;
    c->cases = sqlite3_changes(im->db);
    if (exec(im,
             "INSERT INTO temp.import_cases (src_id, dst_id) SELECT c.id, m.id FROM src.cases c "
             "JOIN temp.import_runs ir ON ir.src_id = c.run_id "
             "JOIN main.cases m ON m.run_id = ir.dst_id AND m.seq_no = c.seq_no;",
             "number the new cases") != 0)
        return -1;

    long rows;
    if ((rows = copy_case_table(im, "samples")) < 0)
        return -1;
    c->samples = rows;
    if (copy_case_table(im, "stats") < 0 || copy_case_table(im, "counters") < 0 ||
        copy_case_table(im, "accuracy") < 0)
        return -1;

    /* tags of every source run, new or already present: a tag added since the last import
     * arrives, and one already here is left alone */
    if (exec(im,
             "INSERT OR IGNORE INTO main.run_tags (run_id, tag, created_at) "
             "SELECT m.id, t.tag, t.created_at FROM src.run_tags t JOIN src.runs s ON s.id = t.run_id "
             "JOIN main.runs m ON m.uuid = s.uuid ORDER BY t.created_at;",
             "copy the tags") != 0)
        return -1;
    c->tags_added = sqlite3_changes(im->db);
    return exec(im, "DROP TABLE temp.import_runs; DROP TABLE temp.import_cases;", "drop the id maps");
}

int import_database(const char *target, const char *source, struct import_counts *counts, char *err,
                    size_t errlen)
{
    struct importer im = { .target = target, .source = source, .err = err, .errlen = errlen };
    memset(counts, 0, sizeof *counts);

    /* the checks of store_open, read-only, before anything is created or changed */
    struct store *s;
    char why[1024];
    if (store_open(source, STORE_READ, &s, why, sizeof why) != 0)
        return fail(&im, "cannot import %s: %s", source, why);
    store_close(s);
    char real_src[PATH_MAX], real_dst[PATH_MAX];
    if (realpath(source, real_src) && realpath(target, real_dst) && strcmp(real_src, real_dst) == 0)
        return fail(&im, "cannot import %s into itself", source);
    if (store_open(target, STORE_WRITE, &s, why, sizeof why) != 0) /* creates or migrates it */
        return fail(&im, "%s", why);
    store_close(s);

    char uri[PATH_MAX * 3 + 16];
    if (source_uri(source, uri, sizeof uri) != 0)
        return fail(&im, "cannot import %s: path too long", source);
    if (sqlite3_open_v2(target, &im.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
        fail(&im, "cannot open %s: %s", target, im.db ? sqlite3_errmsg(im.db) : "out of memory");
        sqlite3_close(im.db);
        return -1;
    }
    sqlite3_busy_timeout(im.db, BUSY_TIMEOUT_MS);
    int rc = -1;
    sqlite3_stmt *st = NULL;
    if (exec(&im, "PRAGMA foreign_keys = ON", "enable foreign keys") != 0)
        goto out;
    if (sqlite3_prepare_v2(im.db, "ATTACH DATABASE ? AS src", -1, &st, NULL) != SQLITE_OK) {
        fail(&im, "cannot attach %s: %s", source, sqlite3_errmsg(im.db));
        goto out;
    }
    sqlite3_bind_text(st, 1, uri, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        fail(&im, "cannot attach %s: %s", source, sqlite3_errmsg(im.db));
        goto out;
    }
    if (exec(&im, "BEGIN IMMEDIATE", "start the import transaction") != 0)
        goto out;
    if (copy_all(&im, counts) != 0) {
        sqlite3_exec(im.db, "ROLLBACK", NULL, NULL, NULL);
        memset(counts, 0, sizeof *counts);
        goto out;
    }
    if (exec(&im, "COMMIT", "commit the import") != 0) {
        sqlite3_exec(im.db, "ROLLBACK", NULL, NULL, NULL);
        memset(counts, 0, sizeof *counts);
        goto out;
    }
    rc = 0;
out:
    sqlite3_finalize(st);
    sqlite3_exec(im.db, "DETACH DATABASE src", NULL, NULL, NULL);
    sqlite3_close(im.db);
    return rc;
}
