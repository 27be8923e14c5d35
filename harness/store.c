/* store.c - the SQLite store (store.h; schema in store_schema.c, documented in docs/schema.md).
 *
 * Opening is careful because the path comes from a command line and may name anything: a file
 * is classified with read-only access first (not SQLite, corrupt, another program's database,
 * a newer kbench's database) and only a kbench database, or a new or empty file, is then
 * opened for writing. Reads never migrate: an older database is read as it is.
 *
 * Every write is one transaction; a case and everything measured about it commit together or
 * not at all, so an interrupted sweep leaves only whole cases behind.
 */
#include "harness/store.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness/store_schema.h"

/* A writer in another process (a sweep, while the dashboard reads) holds the lock for one case
 * at a time; ten seconds is far longer than any such transaction. */
#define BUSY_TIMEOUT_MS 10000
#define NOW_SQL "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
#define TAG_MAX 63 /* run_row.tag holds 63 characters */

struct store {
    sqlite3 *db;
    char *path;
    enum store_mode mode;
    int version; /* schema version of the open file (older than the latest only when reading) */
    /* papi_version of the last upserted machine, for store_run_begin (see struct run_info) */
    int64_t papi_machine_id;
    char papi_version[96];
    char err[1024];
    int busy; /* the last failure was another process's lock: worth trying again */
    /* A reader that must not create -wal/-shm files reads the file as an immutable snapshot
     * (see open_read); store_data_version then watches the file itself for changes. */
    int snapshot;
    struct stat snap_stat;
    int64_t snap_changes; /* reopenings of the snapshot, added to PRAGMA data_version */
};

/* ---- errors ---------------------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static int fail(struct store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return -1;
}

/* The connection's last error as a message naming the file; `doing` completes "cannot ...". */
static int fail_sql(struct store *s, const char *doing)
{
    if (!s->db)
        return fail(s, "%s: cannot %s: out of memory", s->path, doing);
    const char *msg = sqlite3_errmsg(s->db);
    int code = sqlite3_errcode(s->db) & 0xff;
    s->busy = code == SQLITE_BUSY || code == SQLITE_LOCKED;
    switch (code) {
    case SQLITE_CORRUPT:
        return fail(s, "%s is corrupt: %s (while trying to %s)", s->path, msg, doing);
    case SQLITE_NOTADB:
        return fail(s, "%s is not an SQLite database", s->path);
    case SQLITE_READONLY:
        return fail(s, "%s is read-only: cannot %s (%s)", s->path, doing, msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return fail(s, "%s is locked by another process: cannot %s (waited %d s)", s->path, doing,
                    BUSY_TIMEOUT_MS / 1000);
    case SQLITE_FULL:
        return fail(s, "the disk holding %s is full: cannot %s", s->path, doing);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR: {
        int e = sqlite3_system_errno(s->db);
        return fail(s, "%s: cannot %s: %s", s->path, doing, e ? strerror(e) : msg);
    }
    default:
        return fail(s, "%s: cannot %s: %s", s->path, doing, msg);
    }
}

int store_busy(const struct store *s)
{
    return s && s->busy;
}

const char *store_errmsg(const struct store *s)
{
    return s ? s->err : "no database is open";
}

/* ---- small SQL helpers ------------------------------------------------------------------------ */

static int exec_sql(struct store *s, const char *sql, const char *doing)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail_sql(s, doing);
    return 0;
}

static int prepare(struct store *s, const char *sql, sqlite3_stmt **st, const char *doing)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return fail_sql(s, doing);
    }
    return 0;
}

/* Ends a failed transaction; the error message is already set and is kept. */
static void rollback(struct store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* A query returning one integer in its first row (no row or NULL: *out = 0). */
static int query_int(struct store *s, const char *sql, int64_t bind1, int64_t *out, const char *doing)
{
    sqlite3_stmt *st;
    if (prepare(s, sql, &st, doing) != 0)
        return -1;
    if (sqlite3_bind_parameter_count(st) > 0)
        sqlite3_bind_int64(st, 1, bind1);
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        fail_sql(s, doing);
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    return 0;
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

/* NULL or "" binds SQL NULL: an absent value, not an empty one. */
static int bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
    if (!v || !*v)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/* NaN binds NULL (SQLite would do so anyway; explicit so the rule is visible). */
static int bind_real(sqlite3_stmt *st, int i, double v)
{
    return isnan(v) ? sqlite3_bind_null(st, i) : sqlite3_bind_double(st, i, v);
}

/* Sizes, counts and clocks that are 0 when unknown (cpu.h, kernel.h) are stored as NULL. */
static int bind_positive(sqlite3_stmt *st, int i, long long v)
{
    return v > 0 ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

static int bind_positive_real(sqlite3_stmt *st, int i, double v)
{
    return v > 0 && isfinite(v) ? sqlite3_bind_double(st, i, v) : sqlite3_bind_null(st, i);
}

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static double col_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static int col_int(sqlite3_stmt *st, int i)
{
    return sqlite3_column_int(st, i);
}

/* ---- opening ---------------------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* PATH followed by SUFFIX ("-wal", "-shm"), malloc'd. */
static char *sidecar_path(const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix);
    char *p = malloc(n + k + 1);
    if (p) {
        memcpy(p, path, n);
        memcpy(p + n, suffix, k + 1);
    }
    return p;
}

/* Size of PATH+SUFFIX, or -1 when there is none. */
static long long sidecar_size(const char *path, const char *suffix)
{
    char *file = sidecar_path(path, suffix);
    if (!file)
        return 0;
    struct stat st;
    long long size = stat(file, &st) == 0 ? (long long)st.st_size : -1;
    free(file);
    return size;
}

/* Size of PATH-wal, or -1 when there is none. */
static long long wal_size(const char *path)
{
    return sidecar_size(path, "-wal");
}

/* What the file itself says before SQLite touches it: missing, not a regular file, not SQLite
 * by its first bytes, or shorter than its own header says (a truncated copy). */
static int check_file(struct store *s, int *exists)
{
    struct stat st;
    *exists = 0;
    if (stat(s->path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        return fail(s, "cannot open %s: %s", s->path, strerror(errno));
    }
    *exists = 1;
    if (S_ISDIR(st.st_mode))
        return fail(s, "%s is a directory, not a database", s->path);
    if (!S_ISREG(st.st_mode))
        return fail(s, "%s is not a regular file", s->path);
    if (st.st_size == 0)
        return 0; /* SQLite's empty database */

    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(s, "cannot read %s: %s", s->path, strerror(errno));
    unsigned char h[100];
    size_t got = 0;
    while (got < sizeof h) {
        ssize_t r = read(fd, h + got, sizeof h - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return fail(s, "cannot read %s: %s", s->path, strerror(e));
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got < sizeof h || memcmp(h, "SQLite format 3", 16) != 0)
        return fail(s, "%s is not an SQLite database", s->path);

    uint32_t page_size = (uint32_t)h[16] << 8 | h[17];
    if (page_size == 1)
        page_size = 65536;
    if (page_size < 512 || (page_size & (page_size - 1)) != 0)
        return fail(s, "%s is corrupt: its header gives an invalid page size (%u)", s->path, page_size);
    /* SQLite trusts the header's page count only while the "version valid for" field matches
     * the change counter; so do we. A WAL with frames may hold pages the file does not have
     * yet (a checkpoint in progress), so then the length says nothing. */
    uint32_t pages = be32(h + 28);
    if (pages > 0 && be32(h + 24) == be32(h + 92) && wal_size(s->path) <= 0) {
        long long want = (long long)pages * page_size;
        if ((long long)st.st_size < want)
            return fail(s, "%s is corrupt: it is %lld bytes but its header says %lld (%u pages of %u bytes); "
                        "the file was cut short", s->path, (long long)st.st_size, want, pages, page_size);
    }
    return 0;
}

/* "file:" URI of a path for sqlite3_open_v2, with the characters URIs reserve escaped. */
static char *path_uri(const char *path, const char *query)
{
    size_t n = strlen(path);
    char *uri = malloc(3 * n + strlen(query) + 16);
    if (!uri)
        return NULL;
    /* "file://" + "/abs" has an empty authority, so even a path starting "//" stays a path */
    char *p = uri + sprintf(uri, "%s", path[0] == '/' ? "file://" : "file:");
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if (*c == '%' || *c == '?' || *c == '#' || *c < 0x21 || *c >= 0x7f)
            p += sprintf(p, "%%%02X", *c);
        else
            *p++ = (char)*c;
    }
    sprintf(p, "?%s", query);
    return uri;
}

/* immutable: read the file as a snapshot that nothing else changes (see probe_file). */
static int db_connect(struct store *s, int flags, int immutable)
{
    if (s->db) {
        sqlite3_close(s->db);
        s->db = NULL;
    }
    char *uri = immutable ? path_uri(s->path, "immutable=1") : NULL;
    if (immutable && !uri)
        return fail(s, "out of memory opening %s", s->path);
    int rc = sqlite3_open_v2(immutable ? uri : s->path, &s->db, flags | (immutable ? SQLITE_OPEN_URI : 0), NULL);
    free(uri);
    if (rc != SQLITE_OK)
        return fail_sql(s, (flags & SQLITE_OPEN_READWRITE) ? "open it for writing" : "open it");
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    return 0;
}

/* Names of the tables, comma-separated, for the message refusing a foreign database. */
static void list_tables(struct store *s, char *out, size_t len)
{
    sqlite3_stmt *st;
    out[0] = '\0';
    if (sqlite3_prepare_v2(s->db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", -1, &st,
                           NULL) != SQLITE_OK)
        return;
    size_t used = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (!name)
            continue;
        const char *sep = used ? ", " : "";
        /* keep room for ", ..." when the names do not all fit */
        if (used + strlen(sep) + strlen(name) + 6 > len) {
            snprintf(out + used, len - used, "%s...", sep);
            break;
        }
        used += (size_t)snprintf(out + used, len - used, "%s%s", sep, name);
    }
    sqlite3_finalize(st);
}

/* Whether an error met while touching a b-tree means damage, rather than a query SQLite would
 * not plan (an INDEXED BY it cannot use, say). */
static int is_damage(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB || rc == SQLITE_IOERR;
}

/* Runs one probe query; damage is an error, any other failure is ignored. */
static int touch(struct store *s, char *sql)
{
    if (!sql)
        return fail(s, "%s: out of memory", s->path);
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    sqlite3_free(sql);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc == SQLITE_ROW)
            rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE && is_damage(sqlite3_extended_errcode(s->db)))
        return fail_sql(s, "read its tables");
    return 0;
}

/* Reads the first row of every table and index: each b-tree's root page and leftmost leaf.
 * A cheap stand-in for PRAGMA quick_check (which reads every page, too slow for a large
 * database) that catches a damaged schema, a clobbered root page or a cut-short file at open
 * rather than in the middle of a run; damage deeper down still surfaces as "is corrupt" from
 * the query that meets it. Tables are read with SELECT * ... NOT INDEXED so that SQLite reads
 * the table's own b-tree rather than answering from a smaller covering index. */
static int touch_tables(struct store *s)
{
    sqlite3_stmt *names;
    if (prepare(s,
                "SELECT m.type, m.name, m.tbl_name, "
                "(SELECT i.name FROM pragma_index_info(m.name) i WHERE i.seqno = 0) "
                "FROM sqlite_master m WHERE m.type IN ('table', 'index') AND m.rootpage > 0",
                &names, "read its schema") != 0)
        return -1;
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(names)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(names, 0);
        const char *name = (const char *)sqlite3_column_text(names, 1);
        const char *table = (const char *)sqlite3_column_text(names, 2);
        const char *column = (const char *)sqlite3_column_text(names, 3);
        if (!type || !name || !table)
            continue;
        if (strcmp(type, "table") == 0)
            rc = touch(s, sqlite3_mprintf("SELECT * FROM \"%w\" NOT INDEXED LIMIT 1", name));
        else if (column)
            rc = touch(s, sqlite3_mprintf("SELECT \"%w\" FROM \"%w\" INDEXED BY \"%w\" ORDER BY 1 LIMIT 1", column,
                                          table, name));
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = fail_sql(s, "read its schema");
    sqlite3_finalize(names);
    return rc;
}

/* Classifies an open file without writing to it. *empty: no schema yet (a new file, or one
 * created empty); otherwise *version is its kbench schema version. */
static int probe(struct store *s, int *version, int *empty)
{
    int64_t objects, app_id, user_version;
    if (query_int(s, "SELECT count(*) FROM sqlite_master", 0, &objects, "read its schema") != 0 ||
        query_int(s, "PRAGMA application_id", 0, &app_id, "read its application id") != 0 ||
        query_int(s, "PRAGMA user_version", 0, &user_version, "read its schema version") != 0)
        return -1;
    *version = 0;
    *empty = 0;
    if ((uint32_t)app_id != STORE_APPLICATION_ID) {
        if (objects == 0 && app_id == 0 && user_version == 0) {
            *empty = 1;
            return 0;
        }
        char tables[400];
        list_tables(s, tables, sizeof tables);
        if (!*tables)
            return fail(s, "%s is an SQLite database but not a kbench database (no tables; application_id 0x%08x)",
                        s->path, (unsigned)(uint32_t)app_id);
        return fail(s, "%s is an SQLite database but not a kbench database (tables: %s)", s->path, tables);
    }
    if (user_version > store_schema_version())
        return fail(s, "%s has schema version %lld, newer than this kbench understands (%d); upgrade kbench",
                    s->path, (long long)user_version, store_schema_version());
    if (user_version < 0)
        return fail(s, "%s is corrupt: schema version %lld", s->path, (long long)user_version);
    if (objects == 0) {
        if (user_version != 0)
            return fail(s, "%s is corrupt: schema version %lld but no tables", s->path, (long long)user_version);
        *empty = 1;
        return 0;
    }
    *version = (int)user_version;
    return touch_tables(s);
}

/* from: the version the previous migration leaves; a file below it cannot take this step. */
static int apply_migration(struct store *s, const struct store_migration *m, int from)
{
    char doing[200];
    snprintf(doing, sizeof doing, "migrate it to schema version %d (%s)", m->version, m->summary);
    if (exec_sql(s, "BEGIN IMMEDIATE", doing) != 0)
        return -1;
    int64_t now;
    if (query_int(s, "PRAGMA user_version", 0, &now, doing) != 0)
        goto fail;
    if (now >= m->version) /* another process migrated it while we waited for the lock */
        return exec_sql(s, "COMMIT", doing);
    if (now < from) {
        fail(s, "%s: cannot %s: it is at version %lld", s->path, doing, (long long)now);
        goto fail;
    }
    if (exec_sql(s, m->sql, doing) != 0)
        goto fail;
    char bump[96];
    snprintf(bump, sizeof bump, "PRAGMA user_version = %d; PRAGMA application_id = %d", m->version,
             STORE_APPLICATION_ID);
    if (exec_sql(s, bump, doing) != 0)
        goto fail;
    /* foreign keys are off while migrating (a rebuilt table must not cascade), so check them */
    sqlite3_stmt *fk;
    if (prepare(s, "PRAGMA foreign_key_check", &fk, doing) != 0)
        goto fail;
    int rc = sqlite3_step(fk);
    if (rc == SQLITE_ROW) {
        fail(s, "%s: cannot %s: rows of table %s would point at missing rows", s->path, doing,
             (const char *)sqlite3_column_text(fk, 0));
        sqlite3_finalize(fk);
        goto fail;
    }
    sqlite3_finalize(fk);
    if (rc != SQLITE_DONE) {
        fail_sql(s, doing);
        goto fail;
    }
    if (exec_sql(s, "COMMIT", doing) != 0)
        goto fail;
    return 0;
fail:
    rollback(s);
    return -1;
}

static int migrate(struct store *s, int target)
{
    int n;
    const struct store_migration *m = store_schema_migrations(&n);
    /* PRAGMA foreign_keys is a no-op inside a transaction, so it is switched around them. */
    if (exec_sql(s, "PRAGMA foreign_keys = OFF", "prepare to migrate it") != 0)
        return -1;
    for (int i = 0; i < n && m[i].version <= target; i++)
        if (apply_migration(s, &m[i], i ? m[i - 1].version : 0) != 0)
            return -1;
    return exec_sql(s, "PRAGMA foreign_keys = ON", "enable foreign keys");
}

/* Classifies an existing file. Without a WAL beside it the file holds the whole database, and
 * SQLite's immutable mode reads it without creating -wal and -shm files (which a read-only
 * connection could not remove again) and without replaying a hot journal: a refused file is
 * left exactly as it was found, directory included. With a WAL present, a plain read-only
 * open sees the WAL's pages too. */
static int probe_file(struct store *s, int *version, int *empty)
{
    if (db_connect(s, SQLITE_OPEN_READONLY, wal_size(s->path) < 0) != 0)
        return -1;
    return probe(s, version, empty);
}

/* The directory holding PATH, malloc'd ("." for a bare name). */
static char *dir_of(const char *path)
{
    char *dir = strdup(path);
    if (!dir)
        return NULL;
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, strlen(dir) + 1, ".");
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    return dir;
}

/* "NAME (uid N)" of a file's owner, for messages. */
static void owner_name(uid_t uid, char *out, size_t len)
{
    struct passwd *pw = getpwuid(uid);
    if (pw && pw->pw_name)
        snprintf(out, len, "%s (uid %u)", pw->pw_name, (unsigned)uid);
    else
        snprintf(out, len, "uid %u", (unsigned)uid);
}

/* Whether -wal and -shm files that a plain read-only connection would create here are harmless:
 * SQLite gives files that root creates to the database's owner, and files the owner creates
 * are the owner's anyway, as long as the owner could also write them (and the directory). A
 * file created by anyone else would belong to them, and the owner's next run could not write
 * it ("attempt to write a readonly database"). */
static int sidecars_harmless(const struct store *s)
{
    if (geteuid() == 0)
        return 1;
    struct stat st;
    if (stat(s->path, &st) != 0 || st.st_uid != geteuid() || access(s->path, W_OK) != 0)
        return 0;
    char *dir = dir_of(s->path);
    int ok = dir && access(dir, W_OK | X_OK) == 0;
    free(dir);
    return ok;
}

/* How a reader opens the file. A -wal with its -shm beside it (a writer is running, or the last
 * one left them) is read through them, read-only, creating nothing. Otherwise a plain read-only
 * connection would create the missing ones; where that would leave files another user owns, or
 * cannot be done at all (a folder the reader may not write), the file is read as an immutable
 * snapshot instead: without a WAL holding changes, the file is the whole database. */
static int choose_snapshot(struct store *s, int *snapshot)
{
    long long wal = wal_size(s->path), shm = sidecar_size(s->path, "-shm");
    *snapshot = 0;
    if ((wal >= 0 && shm >= 0) || sidecars_harmless(s))
        return 0;
    if (wal > 0) {
        struct stat st;
        char owner[160] = "its owner";
        if (stat(s->path, &st) == 0)
            owner_name(st.st_uid, owner, sizeof owner);
        return fail(s, "%s-wal holds changes not yet in %s, and reading them would create %s-shm owned by you, "
                    "which would stop %s from writing the database; ask them to run "
                    "`sqlite3 %s 'PRAGMA wal_checkpoint(TRUNCATE)'` (or any kbench run) and try again",
                    s->path, s->path, s->path, owner, s->path);
    }
    *snapshot = 1;
    return 0;
}

/* Connects a reader (see choose_snapshot); *version and *empty as for probe. */
static int connect_reader(struct store *s, int *version, int *empty)
{
    int snapshot;
    if (choose_snapshot(s, &snapshot) != 0)
        return -1;
    if (db_connect(s, SQLITE_OPEN_READONLY, snapshot || wal_size(s->path) < 0) != 0 ||
        probe(s, version, empty) != 0)
        return -1;
    s->snapshot = snapshot;
    if (snapshot) {
        if (stat(s->path, &s->snap_stat) != 0)
            return fail(s, "cannot open %s: %s", s->path, strerror(errno));
        return 0;
    }
    /* the probe's snapshot connection must not outlive it: a writer may start at any time */
    return db_connect(s, SQLITE_OPEN_READONLY, 0);
}

static int open_read(struct store *s)
{
    int exists, version, empty;
    if (check_file(s, &exists) != 0)
        return -1;
    if (!exists)
        return fail(s, "no database at %s", s->path);
    if (connect_reader(s, &version, &empty) != 0)
        return -1;
    if (empty)
        return fail(s, "%s is not a kbench database (it is empty)", s->path);
    s->version = version;
    return 0;
}

/* A writer needs the directory too: SQLite creates the file and its -wal and -shm files beside
 * it. Checked up front because SQLite reports a directory it may not write as "unable to open"
 * or "readonly database" with the errno of its last fallback attempt. */
static int check_directory(struct store *s)
{
    char *dir = dir_of(s->path);
    if (!dir)
        return fail(s, "out of memory opening %s", s->path);
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) != 0)
        rc = fail(s, "cannot write %s: %s: %s", s->path, dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        rc = fail(s, "cannot write %s: %s is not a directory", s->path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        rc = fail(s, "cannot write %s: directory %s: %s (SQLite keeps -wal and -shm files beside the database)",
                  s->path, dir, strerror(errno));
    free(dir);
    return rc;
}

/* The database file, or a -wal or -shm file, the writer cannot write (left by another user's reader, typically, before
 * readers stopped creating them) would make SQLite fail with "attempt to write a readonly
 * database"; name the file, its owner and the way out instead. */
static int check_sidecars(struct store *s)
{
    static const char *const suffixes[] = { "-wal", "-shm" };
    struct stat db;
    if (stat(s->path, &db) == 0 && access(s->path, W_OK) != 0) {
        char owner[160];
        owner_name(db.st_uid, owner, sizeof owner);
        return fail(s, "%s is read-only: cannot write results into it (it belongs to %s; read commands can "
                    "still read it)", s->path, owner);
    }
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char *file = sidecar_path(s->path, suffixes[i]);
        if (!file)
            return fail(s, "out of memory opening %s", s->path);
        struct stat st;
        int rc = 0;
        if (stat(file, &st) == 0 && access(file, W_OK) != 0) {
            char owner[160];
            owner_name(st.st_uid, owner, sizeof owner);
            if (st.st_size == 0 || strcmp(suffixes[i], "-shm") == 0)
                rc = fail(s, "cannot write %s: %s belongs to %s and you cannot write it; it holds no data: "
                          "when no kbench is using the database, remove %s-wal and %s-shm (or ask %s to)",
                          s->path, file, owner, s->path, s->path, owner);
            else
                rc = fail(s, "cannot write %s: %s belongs to %s and you cannot write it, and it holds changes "
                          "not yet in the database: ask %s to run `sqlite3 %s 'PRAGMA wal_checkpoint(TRUNCATE)'`",
                          s->path, file, owner, owner, s->path);
        }
        free(file);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Switching a new file to WAL takes an exclusive lock. When two writers create the database at
 * once, each can hold a shared lock while asking for it; SQLite then answers SQLITE_BUSY at once
 * instead of calling the busy handler (waiting could deadlock), so retry here for as long as the
 * handler would have waited. The loser's shared lock ends with its failed statement. */
static int switch_to_wal(struct store *s)
{
    for (int waited_ms = 0;; waited_ms += 10) {
        int rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return 0;
        if ((rc & 0xff) != SQLITE_BUSY || waited_ms >= BUSY_TIMEOUT_MS)
            return fail_sql(s, "switch it to WAL mode");
        sqlite3_sleep(10);
    }
}

static int open_write(struct store *s, int target)
{
    int exists, version = 0, empty = 1;
    if (check_file(s, &exists) != 0)
        return -1;
    /* Classify before opening for writing: merely reading a foreign database with a hot journal
     * in read-write mode would make SQLite roll it back, changing a file that is not ours. */
    if (exists && probe_file(s, &version, &empty) != 0)
        return -1;
    if (check_directory(s) != 0 || check_sidecars(s) != 0)
        return -1;
    if (db_connect(s, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0) != 0)
        return -1;
    if (sqlite3_db_readonly(s->db, "main") == 1)
        return fail(s, "%s is read-only: cannot write results into it", s->path);
    if (switch_to_wal(s) != 0)
        return -1;
    int64_t now;
    if (query_int(s, "PRAGMA user_version", 0, &now, "read its schema version") != 0)
        return -1;
    if (now < target && migrate(s, target) != 0)
        return -1;
    if (exec_sql(s, "PRAGMA foreign_keys = ON", "enable foreign keys") != 0 ||
        query_int(s, "PRAGMA user_version", 0, &now, "read its schema version") != 0)
        return -1;
    s->version = (int)now;
    return 0;
}

static int open_store(const char *path, enum store_mode mode, int target, struct store **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    if (!path || !*path) {
        snprintf(err, errlen, "no database path given");
        return -1;
    }
    struct store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        snprintf(err, errlen, "out of memory opening %s", path);
        free(s);
        return -1;
    }
    s->mode = mode;
    if ((mode == STORE_READ ? open_read(s) : open_write(s, target)) != 0) {
        snprintf(err, errlen, "%s", s->err);
        store_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

int store_open(const char *path, enum store_mode mode, struct store **out, char *err, size_t errlen)
{
    return open_store(path, mode, store_schema_version(), out, err, errlen);
}

int store_open_at_version(const char *path, int version, struct store **out, char *err, size_t errlen)
{
    if (version < 1 || version > store_schema_version()) {
        *out = NULL;
        snprintf(err, errlen, "schema version %d does not exist (1 to %d)", version, store_schema_version());
        return -1;
    }
    return open_store(path, STORE_WRITE, version, out, err, errlen);
}

void store_close(struct store *s)
{
    if (!s)
        return;
    sqlite3_close(s->db); /* every statement is finalized where it was used */
    free(s->path);
    free(s);
}

/* ---- writing ---------------------------------------------------------------------------------- */

static int writable(struct store *s)
{
    if (s->mode != STORE_WRITE)
        return fail(s, "%s is open for reading only", s->path);
    if (s->version < store_schema_version())
        return fail(s, "%s is at schema version %d; writing needs version %d (open it with store_open)", s->path,
                    s->version, store_schema_version());
    return 0;
}

static int check_tag(struct store *s, const char *tag)
{
    size_t n = strlen(tag);
    if (n == 0)
        return fail(s, "empty run tag");
    if (n > TAG_MAX)
        return fail(s, "run tag '%s' is longer than %d characters", tag, TAG_MAX);
    for (const char *p = tag; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fail(s, "run tag '%s' contains a control character", tag);
    return 0;
}

static int hex_digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", p[i]) || !p[i])
            return 0;
    return 1;
}

int64_t store_machine_upsert(struct store *s, const struct machine_info *m)
{
    if (writable(s) != 0)
        return -1;
    if (strlen(m->fingerprint) != 16 || !hex_digits(m->fingerprint, 16))
        return fail(s, "machine fingerprint '%s' is not 16 lowercase hex digits", m->fingerprint);
    sqlite3_stmt *st;
    if (prepare(s,
                "INSERT OR IGNORE INTO machines (fingerprint, hostname, cpu_model, logical_cpus, physical_cores, "
                "cpu_mhz, mem_bytes, simd, l1d_bytes, l2_bytes, l3_bytes, os, gpus, peak_f32_core) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &st, "store the machine") != 0)
        return -1;
    int bad = 0;
    bad += bind_text(st, 1, m->fingerprint) != SQLITE_OK;
    bad += bind_text(st, 2, m->hostname) != SQLITE_OK;
    bad += bind_text(st, 3, m->cpu_model) != SQLITE_OK;
    bad += bind_positive(st, 4, m->logical_cpus) != SQLITE_OK;
    bad += bind_positive(st, 5, m->physical_cores) != SQLITE_OK;
    bad += bind_positive_real(st, 6, m->cpu_mhz) != SQLITE_OK;
    bad += bind_positive(st, 7, m->mem_bytes) != SQLITE_OK;
    bad += bind_opt_text(st, 8, m->simd) != SQLITE_OK;
    bad += bind_positive(st, 9, m->l1d_bytes) != SQLITE_OK;
    bad += bind_positive(st, 10, m->l2_bytes) != SQLITE_OK;
    bad += bind_positive(st, 11, m->l3_bytes) != SQLITE_OK;
    bad += bind_opt_text(st, 12, m->os) != SQLITE_OK;
    bad += bind_opt_text(st, 13, m->gpus) != SQLITE_OK;
    bad += bind_positive_real(st, 14, m->peak_f32_core) != SQLITE_OK;
    if (bad || sqlite3_step(st) != SQLITE_DONE) {
        fail_sql(s, "store the machine");
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);

    if (prepare(s, "SELECT id FROM machines WHERE fingerprint = ?", &st, "look up the machine") != 0)
        return -1;
    bind_text(st, 1, m->fingerprint);
    int rc = sqlite3_step(st);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    if (rc != SQLITE_ROW)
        fail_sql(s, "look up the machine");
    sqlite3_finalize(st);
    if (id > 0) {
        s->papi_machine_id = id;
        snprintf(s->papi_version, sizeof s->papi_version, "%s", m->papi_version);
    }
    return id;
}

/* A version 4 (random) uuid, formatted 8-4-4-4-12. */
static int make_uuid(char out[37])
{
    unsigned char b[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t r = read(fd, b + got, sizeof b - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            close(fd);
            if (r == 0)
                errno = EIO;
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

/* A run whose kbench was killed outright (SIGKILL, a reboot) stays 'running' for ever. When a
 * new run starts on the same host, runs whose process no longer exists are marked interrupted.
 * A reused pid can only make a dead run look alive, never a live one dead. Runs from schema
 * version 1 have no pid and are left alone. Called inside the run_begin transaction. */
static int mark_stale_runs(struct store *s, const char *host)
{
    sqlite3_stmt *st;
    if (prepare(s, "SELECT id, pid FROM runs WHERE status = 'running' AND hostname = ? AND pid IS NOT NULL", &st,
                "look for abandoned runs") != 0)
        return -1;
    bind_text(st, 1, host);
    int64_t *stale = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        pid_t pid = (pid_t)sqlite3_column_int64(st, 1);
        if (pid <= 0 || pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            int64_t *grown = realloc(stale, cap * sizeof *stale);
            if (!grown)
                break; /* the rest stay 'running': harmless */
            stale = grown;
        }
        stale[n++] = sqlite3_column_int64(st, 0);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        fail_sql(s, "look for abandoned runs");
        sqlite3_finalize(st);
        free(stale);
        return -1;
    }
    sqlite3_finalize(st);
    /* updated after the scan: changing rows under an open cursor on their index is undefined */
    int ret = 0;
    if (n && prepare(s, "UPDATE runs SET status = 'interrupted' WHERE id = ? AND status = 'running'", &st,
                     "mark abandoned runs interrupted") == 0) {
        for (size_t i = 0; i < n && ret == 0; i++) {
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, stale[i]);
            if (sqlite3_step(st) != SQLITE_DONE)
                ret = fail_sql(s, "mark abandoned runs interrupted");
        }
        sqlite3_finalize(st);
    } else if (n) {
        ret = -1;
    }
    free(stale);
    return ret;
}

int store_live_runs(struct store *s, const char *hostname, int64_t exclude_run_id, long *pids, int max)
{
    if (s->version < 2)
        return 0;
    sqlite3_stmt *st;
    if (prepare(s, "SELECT pid FROM runs WHERE status = 'running' AND hostname = ? AND pid IS NOT NULL AND id <> ?",
                &st, "look for other running runs") != 0)
        return -1;
    bind_text(st, 1, hostname);
    sqlite3_bind_int64(st, 2, exclude_run_id);
    int found = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        pid_t pid = (pid_t)sqlite3_column_int64(st, 0);
        /* alive: kill succeeds, or the process exists under another user (EPERM) */
        if (pid <= 0 || pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH))
            continue;
        if (found < max)
            pids[found] = (long)pid;
        found++;
    }
    int ret = rc == SQLITE_DONE ? found : fail_sql(s, "look for other running runs");
    sqlite3_finalize(st);
    return ret;
}

static int run_exists(struct store *s, int64_t run_id)
{
    int64_t found;
    if (query_int(s, "SELECT count(*) FROM runs WHERE id = ?", run_id, &found, "look up the run") != 0)
        return -1;
    if (!found)
        return fail(s, "no run %lld in %s", (long long)run_id, s->path);
    return 0;
}

static int insert_tag(struct store *s, int64_t run_id, const char *tag)
{
    sqlite3_stmt *st;
    if (prepare(s, "INSERT OR IGNORE INTO run_tags (run_id, tag) VALUES (?, ?)", &st, "tag the run") != 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    bind_text(st, 2, tag);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : fail_sql(s, "tag the run");
    sqlite3_finalize(st);
    return rc;
}

/* Appends each argument to runs.argv with SQLite's own JSON functions (no hand-made escaping). */
static int store_argv(struct store *s, int64_t run_id, int argc, char **argv)
{
    sqlite3_stmt *st;
    if (prepare(s, "UPDATE runs SET argv = json_insert(coalesce(argv, '[]'), '$[#]', ?) WHERE id = ?", &st,
                "store the run's arguments") != 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < argc && rc == 0; i++) {
        sqlite3_reset(st);
        if (bind_text(st, 1, argv[i]) != SQLITE_OK || sqlite3_bind_int64(st, 2, run_id) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_DONE)
            rc = fail_sql(s, "store the run's arguments");
    }
    sqlite3_finalize(st);
    if (rc != 0 || argc > 0)
        return rc;
    /* no arguments (the default suite) is still something to resume */
    if (prepare(s, "UPDATE runs SET argv = '[]' WHERE id = ?", &st, "store the run's arguments") != 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : fail_sql(s, "store the run's arguments");
    sqlite3_finalize(st);
    return rc;
}

/* What built kbench (v10), in the run's own transaction. */
static int store_run_build(struct store *s, int64_t run_id, const struct run_info *info)
{
    sqlite3_stmt *st;
    if (prepare(s, "UPDATE runs SET git_commit = ?, build_flags = ? WHERE id = ?", &st,
                "store the build of kbench") != 0)
        return -1;
    int bad = bind_opt_text(st, 1, info->git_commit) != SQLITE_OK;
    bad += bind_opt_text(st, 2, info->build_flags) != SQLITE_OK;
    bad += sqlite3_bind_int64(st, 3, run_id) != SQLITE_OK;
    int rc = bad || sqlite3_step(st) != SQLITE_DONE ? fail_sql(s, "store the build of kbench") : 0;
    sqlite3_finalize(st);
    return rc;
}

/* The run's KBENCH_CPU_FEATURES mask (v11), in the run's own transaction; NULL columns without one. */
static int store_run_cpu_mask(struct store *s, int64_t run_id, const struct run_info *info)
{
    const struct run_cpu_mask *m = info->cpu_mask;
    if (!m || !*m->mask)
        return 0;
    sqlite3_stmt *st;
    if (prepare(s, "UPDATE runs SET cpu_mask = ?, cpu_features = ?, peak_f32_core = ? WHERE id = ?", &st,
                "store the run's CPU feature mask") != 0)
        return -1;
    int bad = bind_text(st, 1, m->mask) != SQLITE_OK;
    bad += bind_text(st, 2, m->features) != SQLITE_OK;
    bad += bind_positive_real(st, 3, m->peak_f32_core) != SQLITE_OK;
    bad += sqlite3_bind_int64(st, 4, run_id) != SQLITE_OK;
    int rc = bad || sqlite3_step(st) != SQLITE_DONE ? fail_sql(s, "store the run's CPU feature mask") : 0;
    sqlite3_finalize(st);
    return rc;
}

static int store_run_plugins(struct store *s, int64_t run_id, const struct run_info *info)
{
    for (int i = 0; i < info->n_plugins; i++) {
        sqlite3_stmt *st;
        if (prepare(s, "INSERT INTO run_plugins (run_id, path, sha256, kernels) VALUES (?, ?, ?, ?)", &st,
                    "store the run's plugins") != 0)
            return -1;
        const struct run_plugin *p = &info->plugins[i];
        int bad = sqlite3_bind_int64(st, 1, run_id) != SQLITE_OK;
        bad += bind_text(st, 2, p->path) != SQLITE_OK;
        bad += bind_text(st, 3, p->sha256) != SQLITE_OK;
        bad += sqlite3_bind_int(st, 4, p->kernels) != SQLITE_OK;
        int rc = bad || sqlite3_step(st) != SQLITE_DONE ? fail_sql(s, "store the run's plugins") : 0;
        sqlite3_finalize(st);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int store_list_run_plugins(struct store *s, int64_t run_id, int (*fn)(const struct run_plugin *p, void *ctx),
                           void *ctx)
{
    sqlite3_stmt *st;
    /* prepared directly: a read-only database older than version 12 has no such table, and no plugins */
    if (sqlite3_prepare_v2(s->db, "SELECT path, sha256, kernels FROM run_plugins WHERE run_id = ? ORDER BY rowid",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, run_id);
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct run_plugin p;
        memset(&p, 0, sizeof p);
        snprintf(p.path, sizeof p.path, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(p.sha256, sizeof p.sha256, "%s", (const char *)sqlite3_column_text(st, 1));
        p.kernels = sqlite3_column_int(st, 2);
        stop = fn(&p, ctx);
    }
    int bad = !stop && rc != SQLITE_DONE;
    sqlite3_finalize(st);
    return bad ? fail_sql(s, "read the run's plugins") : 0;
}

void store_get_run_cpu_mask(struct store *s, int64_t run_id, struct run_cpu_mask *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    /* prepared directly: a database this build has not migrated lacks the columns, which is no error */
    if (sqlite3_prepare_v2(s->db, "SELECT cpu_mask, cpu_features, peak_f32_core FROM runs WHERE id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return;
    if (sqlite3_bind_int64(st, 1, run_id) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL) {
        col_text(st, 0, out->mask, sizeof out->mask);
        col_text(st, 1, out->features, sizeof out->features);
        double peak = sqlite3_column_double(st, 2);
        out->peak_f32_core = sqlite3_column_type(st, 2) != SQLITE_NULL && peak > 0 ? peak : 0;
    }
    sqlite3_finalize(st);
}

void store_get_run_build(struct store *s, int64_t run_id, char *commit, size_t commit_len, char *flags,
                         size_t flags_len)
{
    if (commit_len)
        commit[0] = '\0';
    if (flags_len)
        flags[0] = '\0';
    sqlite3_stmt *st;
    /* prepared directly: a database this build has not migrated lacks the columns, which is no error */
    if (sqlite3_prepare_v2(s->db, "SELECT git_commit, build_flags FROM runs WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return;
    if (sqlite3_bind_int64(st, 1, run_id) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        col_text(st, 0, commit, commit_len);
        col_text(st, 1, flags, flags_len);
    }
    sqlite3_finalize(st);
}

void store_free_argv(char **argv)
{
    for (char **a = argv; a && *a; a++)
        free(*a);
    free(argv);
}

int store_run_resumable(struct store *s, int64_t run_id)
{
    if (run_exists(s, run_id) != 0)
        return -1;
    sqlite3_stmt *st;
    if (prepare(s, "SELECT status, argv IS NULL FROM runs WHERE id = ?", &st, "read the run") != 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    int rc = -1;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(st, 0);
        if (status && strcmp(status, "complete") == 0)
            fail(s, "run %lld in %s is complete: nothing to resume", (long long)run_id, s->path);
        else if (sqlite3_column_int(st, 1))
            fail(s, "run %lld in %s was stored without its arguments (before kbench could resume runs, or by "
                 "another command than 'kbench run')", (long long)run_id, s->path);
        else
            rc = 0;
    } else {
        fail_sql(s, "read the run");
    }
    sqlite3_finalize(st);
    return rc;
}

int store_run_args(struct store *s, int64_t run_id, int *argc, char ***argv)
{
    *argc = 0;
    *argv = NULL;
    sqlite3_stmt *st;
    if (prepare(s, "SELECT j.value FROM runs r, json_each(r.argv) j WHERE r.id = ? ORDER BY j.key", &st,
                "read the run's arguments") != 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    size_t n = 0;
    char **v = calloc(1, sizeof *v);
    int oom = v == NULL;
    while (!oom && sqlite3_step(st) == SQLITE_ROW) {
        char **nv = realloc(v, (n + 2) * sizeof *nv);
        const char *text = (const char *)sqlite3_column_text(st, 0);
        if (!nv) {
            oom = 1;
            break;
        }
        v = nv;
        v[n] = strdup(text ? text : "");
        oom = v[n] == NULL;
        v[++n] = NULL;
    }
    sqlite3_finalize(st);
    if (oom) {
        store_free_argv(v);
        return fail(s, "out of memory reading the run's arguments");
    }
    *argc = (int)n;
    *argv = v;
    return 0;
}

int store_run_reopen(struct store *s, int64_t run_id, int *argc, char ***argv)
{
    *argc = 0;
    *argv = NULL;
    if (writable(s) != 0 || store_run_resumable(s, run_id) != 0)
        return -1;
    char **v;
    int n, rc;
    sqlite3_stmt *st;
    if (store_run_args(s, run_id, &n, &v) != 0)
        return -1;
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    if (prepare(s, "UPDATE runs SET status = 'running', finished_at = NULL, pid = ?, hostname = ? WHERE id = ?",
                &st, "reopen the run") != 0) {
        store_free_argv(v);
        return -1;
    }
    sqlite3_bind_int64(st, 1, (int64_t)getpid());
    bind_text(st, 2, host);
    sqlite3_bind_int64(st, 3, run_id);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : fail_sql(s, "reopen the run");
    sqlite3_finalize(st);
    if (rc != 0) {
        store_free_argv(v);
        return -1;
    }
    *argc = (int)n;
    *argv = v;
    return 0;
}

int64_t store_run_begin(struct store *s, int64_t machine_id, struct run_info *info)
{
    if (writable(s) != 0)
        return -1;
    if (info->tag && check_tag(s, info->tag) != 0)
        return -1;
    char uuid[37];
    if (make_uuid(uuid) != 0)
        return fail(s, "cannot read /dev/urandom for a run uuid: %s", strerror(errno));
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    const char *papi = info->papi_version ? info->papi_version
                       : machine_id == s->papi_machine_id ? s->papi_version : NULL;

    if (exec_sql(s, "BEGIN IMMEDIATE", "start a run") != 0)
        return -1;
    int64_t found, id = -1;
    sqlite3_stmt *st = NULL;
    if (query_int(s, "SELECT count(*) FROM machines WHERE id = ?", machine_id, &found, "look up the machine") != 0)
        goto fail;
    if (!found) {
        fail(s, "no machine %lld in %s", (long long)machine_id, s->path);
        goto fail;
    }
    if (mark_stale_runs(s, host) != 0)
        goto fail;
    if (prepare(s,
                "INSERT INTO runs (uuid, machine_id, started_at, status, kbench_version, compiler, papi_version, "
                "cmdline, suite, planned_cases, pid, hostname) "
                "VALUES (?, ?, " NOW_SQL ", 'running', ?, ?, ?, ?, ?, ?, ?, ?)",
                &st, "start a run") != 0)
        goto fail;
    int bad = 0;
    bad += bind_text(st, 1, uuid) != SQLITE_OK;
    bad += sqlite3_bind_int64(st, 2, machine_id) != SQLITE_OK;
    bad += bind_opt_text(st, 3, info->kbench_version) != SQLITE_OK;
    bad += bind_opt_text(st, 4, info->compiler) != SQLITE_OK;
    bad += bind_opt_text(st, 5, papi) != SQLITE_OK;
    bad += bind_opt_text(st, 6, info->cmdline) != SQLITE_OK;
    bad += bind_opt_text(st, 7, info->suite) != SQLITE_OK;
    bad += sqlite3_bind_int(st, 8, info->planned_cases) != SQLITE_OK;
    bad += sqlite3_bind_int64(st, 9, (int64_t)getpid()) != SQLITE_OK;
    bad += bind_text(st, 10, host) != SQLITE_OK;
    if (bad || sqlite3_step(st) != SQLITE_DONE) {
        fail_sql(s, "start a run");
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    id = sqlite3_last_insert_rowid(s->db);
    if (info->tag && insert_tag(s, id, info->tag) != 0)
        goto fail;
    if ((!info->no_resume && store_argv(s, id, info->argc, info->argv) != 0) || store_run_build(s, id, info) != 0 ||
        store_run_cpu_mask(s, id, info) != 0 || store_run_plugins(s, id, info) != 0)
        goto fail;
    if (exec_sql(s, "COMMIT", "start a run") != 0)
        goto fail;
    memcpy(info->uuid, uuid, sizeof uuid);
    return id;
fail:
    sqlite3_finalize(st);
    rollback(s);
    return -1;
}

int store_run_finish(struct store *s, int64_t run_id, const char *status)
{
    if (writable(s) != 0)
        return -1;
    if (!status || (strcmp(status, "complete") != 0 && strcmp(status, "interrupted") != 0 &&
                    strcmp(status, "failed") != 0))
        return fail(s, "run status '%s' is not one of complete, interrupted, failed", status ? status : "(null)");
    sqlite3_stmt *st;
    if (prepare(s, "UPDATE runs SET status = ?, finished_at = " NOW_SQL " WHERE id = ?", &st, "finish the run") != 0)
        return -1;
    bind_text(st, 1, status);
    sqlite3_bind_int64(st, 2, run_id);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : fail_sql(s, "finish the run");
    sqlite3_finalize(st);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = fail(s, "no run %lld in %s", (long long)run_id, s->path);
    return rc;
}

int store_run_tag(struct store *s, int64_t run_id, const char *tag)
{
    if (writable(s) != 0)
        return -1;
    if (!tag || check_tag(s, tag) != 0)
        return tag ? -1 : fail(s, "empty run tag");
    if (run_exists(s, run_id) != 0)
        return -1;
    return insert_tag(s, run_id, tag);
}

int store_run_untag(struct store *s, int64_t run_id, const char *tag)
{
    if (writable(s) != 0 || run_exists(s, run_id) != 0)
        return -1;
    sqlite3_stmt *st;
    if (prepare(s, "DELETE FROM run_tags WHERE run_id = ? AND tag = ?", &st, "untag the run") != 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    bind_text(st, 2, tag);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : fail_sql(s, "untag the run");
    sqlite3_finalize(st);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = fail(s, "run %lld has no tag '%s'", (long long)run_id, tag);
    return rc;
}

/* The shape axes that arrived in schema version 4 (decode onwards): their columns follow the
 * fixed ones in INSERT and SELECT, in axis order. */
#define FIRST_V4_AXIS KB_AXIS_DECODE

/* Binds one shape axis: NULL when the kernel does not sweep it; enum axes as their names. */
static int bind_axis(sqlite3_stmt *st, int i, const struct case_record *r, enum kb_axis a)
{
    if (!(kb_kernel_axes(r->kernel) & KB_AXIS_BIT(a)))
        return sqlite3_bind_null(st, i);
    int v = kb_shape_get(&r->shape, a);
    const struct kb_axis_info *ax = kb_axis_info(a);
    if (ax->kind == KB_AXIS_KIND_ENUM) {
        const char *name = kb_axis_value_name(a, v);
        return name ? bind_text(st, i, name) : sqlite3_bind_null(st, i);
    }
    return sqlite3_bind_int(st, i, v);
}

static int insert_case_row(struct store *s, int64_t run_id, int64_t seq_no, const struct case_record *r,
                           const char *status, const char *dtype)
{
    char sql[2048];
    int w = snprintf(sql, sizeof sql,
                     "INSERT INTO cases (run_id, seq_no, kernel, impl, family, device, dtype, batch, heads, "
                     "kv_heads, seq_len, head_dim, causal, threads, cold_cache, seed, status, error, papi_status, "
                     "calls_per_sample, warmup_calls, flops, bytes, wall_s");
    for (int a = FIRST_V4_AXIS; a < KB_AXIS_COUNT; a++)
        w += snprintf(sql + w, sizeof sql - (size_t)w, ", %s", kb_axis_info((enum kb_axis)a)->column);
    w += snprintf(sql + w, sizeof sql - (size_t)w, ") VALUES (?");
    for (int i = 1; i < 24 + KB_AXIS_COUNT - FIRST_V4_AXIS; i++)
        w += snprintf(sql + w, sizeof sql - (size_t)w, ", ?");
    snprintf(sql + w, sizeof sql - (size_t)w, ")");
    sqlite3_stmt *st;
    if (prepare(s, sql, &st, "store the case") != 0)
        return -1;
    const struct kb_kernel *k = r->kernel;
    const char *device = *r->device ? r->device : k->device == KB_DEVICE_CUDA ? "cuda:0" : "cpu";
    int bad = 0;
    bad += sqlite3_bind_int64(st, 1, run_id) != SQLITE_OK;
    bad += sqlite3_bind_int64(st, 2, seq_no) != SQLITE_OK;
    bad += bind_text(st, 3, k->name) != SQLITE_OK;
    bad += bind_text(st, 4, k->impl) != SQLITE_OK;
    bad += bind_opt_text(st, 5, kb_family_name(kb_kernel_family(k))) != SQLITE_OK;
    bad += bind_text(st, 6, device) != SQLITE_OK;
    bad += bind_text(st, 7, dtype) != SQLITE_OK;
    bad += bind_positive(st, 8, r->shape.batch) != SQLITE_OK;
    bad += bind_positive(st, 9, r->shape.heads) != SQLITE_OK;
    bad += bind_positive(st, 10, r->shape.kv_heads) != SQLITE_OK;
    bad += bind_positive(st, 11, r->shape.seq_len) != SQLITE_OK;
    bad += bind_positive(st, 12, r->shape.head_dim) != SQLITE_OK;
    /* 0 is a value for a kernel that has the axis; a kernel without it (MoE, GEMMs) stores NULL */
    bad += (kb_kernel_axes(k) & KB_AXIS_BIT(KB_AXIS_CAUSAL) ? sqlite3_bind_int(st, 13, r->shape.causal != 0)
                                                             : sqlite3_bind_null(st, 13)) != SQLITE_OK;
    bad += bind_positive(st, 14, r->threads) != SQLITE_OK;
    bad += sqlite3_bind_int(st, 15, r->cold_cache != 0) != SQLITE_OK;
    /* stored as the same 64 bits in SQLite's signed integer */
    bad += sqlite3_bind_int64(st, 16, (sqlite3_int64)r->seed) != SQLITE_OK;
    bad += bind_text(st, 17, status) != SQLITE_OK;
    bad += bind_opt_text(st, 18, r->error) != SQLITE_OK;
    bad += bind_opt_text(st, 19, r->counters.papi_status) != SQLITE_OK;
    bad += bind_positive(st, 20, r->calls_per_sample) != SQLITE_OK;
    bad += sqlite3_bind_int(st, 21, r->warmup_calls) != SQLITE_OK;
    bad += bind_real(st, 22, r->flops) != SQLITE_OK;
    bad += bind_real(st, 23, r->bytes) != SQLITE_OK;
    bad += bind_real(st, 24, r->wall_s) != SQLITE_OK;
    for (int a = FIRST_V4_AXIS; a < KB_AXIS_COUNT; a++)
        bad += bind_axis(st, 25 + a - FIRST_V4_AXIS, r, (enum kb_axis)a) != SQLITE_OK;
    int rc = !bad && sqlite3_step(st) == SQLITE_DONE ? 0 : fail_sql(s, "store the case");
    sqlite3_finalize(st);
    return rc;
}

static int insert_samples(struct store *s, int64_t case_id, const struct case_record *r)
{
    if (r->n_samples == 0)
        return 0;
    sqlite3_stmt *st;
    if (prepare(s, "INSERT INTO samples (case_id, idx, seconds, sm_clock_mhz, throttled) VALUES (?, ?, ?, ?, ?)",
                &st, "store the samples") != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < r->n_samples && rc == 0; i++) {
        sqlite3_reset(st);
        /* no clock (the CPU, no NVML) or an unreadable one: NULL, unknown */
        double mhz = r->sm_clock_mhz ? r->sm_clock_mhz[i] : NAN;
        int throttled = r->throttled ? r->throttled[i] : -1;
        if (sqlite3_bind_int64(st, 1, case_id) != SQLITE_OK || sqlite3_bind_int64(st, 2, (int64_t)i) != SQLITE_OK ||
            sqlite3_bind_double(st, 3, r->samples[i]) != SQLITE_OK || bind_real(st, 4, mhz) != SQLITE_OK ||
            (throttled < 0 ? sqlite3_bind_null(st, 5) : sqlite3_bind_int(st, 5, throttled)) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_DONE)
            rc = fail_sql(s, "store the samples");
    }
    sqlite3_finalize(st);
    return rc;
}

static int insert_stats(struct store *s, int64_t case_id, const struct case_record *r)
{
    const struct kb_stats *x = &r->stats;
    /* throughput from the median: the typical call, not one distorted by outliers */
    double flops_per_s = x->median > 0 && r->flops > 0 ? r->flops / x->median : NAN;
    double bytes_per_s = x->median > 0 && r->bytes > 0 ? r->bytes / x->median : NAN;
    sqlite3_stmt *st;
    if (prepare(s,
                "INSERT INTO stats (case_id, n, median_s, mean_s, stddev_s, min_s, max_s, p5_s, p95_s, mad_s, "
                "ci_lo_s, ci_hi_s, noise, flops_per_s, bytes_per_s, min_samples, set_aside, noise_target, "
                "noise_met, stop_reason, outliers) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &st, "store the statistics") != 0)
        return -1;
    /* fewer than 3 samples form no interval, whatever the record says: NULL, never [x, x] */
    int ci = x->n >= STATS_MIN_CI_SAMPLES;
    const double v[] = { x->median, x->mean, x->stddev, x->min, x->max, x->p5, x->p95, x->mad,
                         ci ? x->ci_lo : NAN, ci ? x->ci_hi : NAN, ci ? x->noise : NAN, flops_per_s, bytes_per_s };
    int bad = 0;
    bad += sqlite3_bind_int64(st, 1, case_id) != SQLITE_OK;
    bad += sqlite3_bind_int64(st, 2, (int64_t)x->n) != SQLITE_OK;
    int col = 3;
    for (int i = 0; i < (int)(sizeof v / sizeof v[0]); i++)
        bad += bind_real(st, col++, v[i]) != SQLITE_OK;
    /* a record that never went through the sampler (an import, a test) leaves these unknown */
    int sampled = r->stop != STOP_NONE;
    bad += bind_positive(st, col++, r->min_samples) != SQLITE_OK;
    bad += (sampled ? sqlite3_bind_int64(st, col, (int64_t)r->set_aside) : sqlite3_bind_null(st, col)) != SQLITE_OK;
    col++;
    bad += bind_positive_real(st, col++, r->noise_target) != SQLITE_OK;
    bad += (r->noise_target > 0 ? sqlite3_bind_int(st, col, r->noise_met != 0) : sqlite3_bind_null(st, col)) != SQLITE_OK;
    col++;
    bad += bind_opt_text(st, col++, sampling_stop_name(r->stop)) != SQLITE_OK;
    bad += sqlite3_bind_int64(st, col++, (int64_t)x->outliers) != SQLITE_OK;
    int rc = !bad && sqlite3_step(st) == SQLITE_DONE ? 0 : fail_sql(s, "store the statistics");
    sqlite3_finalize(st);
    return rc;
}

static int insert_counters(struct store *s, int64_t case_id, const struct kb_counter_report *c)
{
    int n = c->n < 0 ? 0 : c->n > KB_COUNTERS_MAX ? KB_COUNTERS_MAX : c->n;
    if (n == 0)
        return 0;
    sqlite3_stmt *st;
    if (prepare(s, "INSERT INTO counters (case_id, idx, backend, name, value, unit) VALUES (?, ?, ?, ?, ?, ?)", &st,
                "store the counters") != 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const struct kb_counter *k = &c->v[i];
        sqlite3_reset(st);
        int bad = 0;
        bad += sqlite3_bind_int64(st, 1, case_id) != SQLITE_OK;
        bad += sqlite3_bind_int(st, 2, i) != SQLITE_OK;
        bad += bind_text(st, 3, k->backend) != SQLITE_OK;
        bad += bind_text(st, 4, k->name) != SQLITE_OK;
        bad += bind_real(st, 5, k->value) != SQLITE_OK;
        bad += bind_opt_text(st, 6, k->unit) != SQLITE_OK;
        if (bad || sqlite3_step(st) != SQLITE_DONE)
            rc = fail_sql(s, "store the counters");
    }
    sqlite3_finalize(st);
    return rc;
}

/* The GPU side of a case: NVML's and CUPTI's statuses, and the traced kernels. */
static int insert_gpu(struct store *s, int64_t case_id, const struct case_record *r)
{
    if (!*r->nvml_status && !*r->gpu_trace.status && !*r->metrics_status)
        return 0;
    sqlite3_stmt *st;
    if (prepare(s, "UPDATE cases SET nvml_status = ?, cupti_status = ?, metrics_status = ? WHERE id = ?", &st,
                "store the GPU status") != 0)
        return -1;
    int bad = bind_opt_text(st, 1, r->nvml_status) != SQLITE_OK;
    bad += bind_opt_text(st, 2, r->gpu_trace.status) != SQLITE_OK;
    bad += bind_opt_text(st, 3, r->metrics_status) != SQLITE_OK;
    bad += sqlite3_bind_int64(st, 4, case_id) != SQLITE_OK;
    int rc = !bad && sqlite3_step(st) == SQLITE_DONE ? 0 : fail_sql(s, "store the GPU status");
    sqlite3_finalize(st);
    const struct gpu_trace *t = &r->gpu_trace;
    int n = t->n < 0 ? 0 : t->n > GPU_TRACE_MAX ? GPU_TRACE_MAX : t->n;
    if (rc != 0 || n == 0)
        return rc;
    if (prepare(s,
                "INSERT INTO gpu_kernels (case_id, idx, name, grid_x, grid_y, grid_z, block_x, block_y, block_z, "
                "registers, static_shared, dynamic_shared, duration_s, traced_calls) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &st, "store the GPU kernels") != 0)
        return -1;
    for (int i = 0; i < n && rc == 0; i++) {
        const struct gpu_kernel_launch *k = &t->k[i];
        const int ints[] = { k->grid[0], k->grid[1], k->grid[2], k->block[0], k->block[1], k->block[2],
                             k->registers, k->static_shared, k->dynamic_shared };
        sqlite3_reset(st);
        bad = sqlite3_bind_int64(st, 1, case_id) != SQLITE_OK;
        bad += sqlite3_bind_int(st, 2, i) != SQLITE_OK;
        bad += bind_text(st, 3, k->name) != SQLITE_OK;
        for (int j = 0; j < 9; j++)
            bad += sqlite3_bind_int(st, 4 + j, ints[j]) != SQLITE_OK;
        bad += bind_real(st, 13, k->duration_s) != SQLITE_OK;
        bad += sqlite3_bind_int(st, 14, t->calls) != SQLITE_OK;
        if (bad || sqlite3_step(st) != SQLITE_DONE)
            rc = fail_sql(s, "store the GPU kernels");
    }
    sqlite3_finalize(st);
    return rc;
}

/* cases.throttle_reason: only GPU cases with throttled samples have one. */
static int insert_throttle_reason(struct store *s, int64_t case_id, const struct case_record *r)
{
    if (!*r->throttle_reason)
        return 0;
    sqlite3_stmt *st;
    if (prepare(s, "UPDATE cases SET throttle_reason = ? WHERE id = ?", &st, "store the throttle reason") != 0)
        return -1;
    int bad = bind_text(st, 1, r->throttle_reason) != SQLITE_OK;
    bad += sqlite3_bind_int64(st, 2, case_id) != SQLITE_OK;
    int rc = !bad && sqlite3_step(st) == SQLITE_DONE ? 0 : fail_sql(s, "store the throttle reason");
    sqlite3_finalize(st);
    return rc;
}

static int insert_accuracy(struct store *s, int64_t case_id, const struct kb_accuracy *a)
{
    sqlite3_stmt *st;
    if (prepare(s,
                "INSERT INTO accuracy (case_id, max_abs_err, rel_l2_err, cosine, tolerance, rows_checked, "
                "rows_total, passed, exact_checked, exact_mismatches) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &st, "store the accuracy") != 0)
        return -1;
    int bad = 0;
    bad += sqlite3_bind_int64(st, 1, case_id) != SQLITE_OK;
    bad += bind_real(st, 2, a->max_abs_err) != SQLITE_OK;
    bad += bind_real(st, 3, a->rel_l2_err) != SQLITE_OK;
    bad += bind_real(st, 4, a->cosine) != SQLITE_OK;
    bad += bind_real(st, 5, a->tolerance) != SQLITE_OK;
    bad += sqlite3_bind_int64(st, 6, a->rows_checked) != SQLITE_OK;
    bad += sqlite3_bind_int64(st, 7, a->rows_total) != SQLITE_OK;
    bad += sqlite3_bind_int(st, 8, a->passed != 0) != SQLITE_OK;
    /* no bit-exact check: NULL, so "0 mismatches" always means checked and equal */
    bad += bind_positive(st, 9, a->exact_checked) != SQLITE_OK;
    bad += (a->exact_checked > 0 ? sqlite3_bind_int64(st, 10, a->exact_mismatches)
                                 : sqlite3_bind_null(st, 10)) != SQLITE_OK;
    int rc = !bad && sqlite3_step(st) == SQLITE_DONE ? 0 : fail_sql(s, "store the accuracy");
    sqlite3_finalize(st);
    return rc;
}

int64_t store_case_insert(struct store *s, int64_t run_id, const struct case_record *r)
{
    s->busy = 0;
    if (writable(s) != 0)
        return -1;
    if (!r || !r->kernel || !r->kernel->name || !r->kernel->impl)
        return fail(s, "case record has no kernel");
    const char *name = r->kernel->name;
    const char *dtype = kb_dtype_name(r->dtype);
    if (!dtype)
        return fail(s, "case of %s has an unknown dtype (%d)", name, (int)r->dtype);
    if ((int)r->status < 0 || r->status >= CASE_STATUS_COUNT)
        return fail(s, "case of %s has an unknown status (%d)", name, (int)r->status);
    if (r->n_samples > 0 && !r->samples)
        return fail(s, "case of %s claims %zu samples but has none", name, r->n_samples);
    for (size_t i = 0; i < r->n_samples; i++)
        if (!isfinite(r->samples[i]))
            return fail(s, "case of %s: sample %zu is %g, not a time", name, i, r->samples[i]);
    /* every sample throttled leaves n = 0: the row still says so */
    int timed = r->status == CASE_OK && (r->stats.n > 0 || r->n_samples > 0);

    if (exec_sql(s, "BEGIN IMMEDIATE", "store the case") != 0)
        return -1;
    int64_t seq_no, case_id = -1;
    if (run_exists(s, run_id) != 0 ||
        query_int(s, "SELECT coalesce(max(seq_no), 0) + 1 FROM cases WHERE run_id = ?", run_id, &seq_no,
                  "number the case") != 0 ||
        insert_case_row(s, run_id, seq_no, r, case_status_name(r->status), dtype) != 0)
        goto fail;
    case_id = sqlite3_last_insert_rowid(s->db);
    if (insert_samples(s, case_id, r) != 0 || (timed && insert_stats(s, case_id, r) != 0) ||
        insert_counters(s, case_id, &r->counters) != 0 || insert_gpu(s, case_id, r) != 0 ||
        insert_throttle_reason(s, case_id, r) != 0 ||
        (r->verified && insert_accuracy(s, case_id, &r->accuracy) != 0) ||
        exec_sql(s, "COMMIT", "store the case") != 0)
        goto fail;
    return case_id;
fail:
    rollback(s);
    return -1;
}

/* ---- looking up runs -------------------------------------------------------------------------- */

static int64_t resolve_fail(struct store *s, const char *ref, const char *hint)
{
    return fail(s, "no run '%s' in %s%s", ref, s->path, hint);
}

/* The run whose uuid starts with `prefix` (lowercase, 4+ hex digits); 0 when none, -1 when
 * several or on error (message set). */
static int64_t run_by_uuid_prefix(struct store *s, const char *ref, const char *prefix)
{
    sqlite3_stmt *st;
    if (prepare(s, "SELECT id FROM runs WHERE substr(uuid, 1, length(?1)) = ?1 ORDER BY id DESC", &st,
                "look up the run") != 0)
        return -1;
    bind_text(st, 1, prefix);
    int64_t id = 0;
    int matches = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (matches++ == 0)
            id = sqlite3_column_int64(st, 0);
    }
    if (rc != SQLITE_DONE)
        id = fail_sql(s, "look up the run");
    else if (matches > 1)
        id = fail(s, "run reference '%s' is ambiguous in %s: %d runs have a uuid starting with it; give more digits",
                  ref, s->path, matches);
    sqlite3_finalize(st);
    return id;
}

/* tag:NAME, newest first: on the machine with this fingerprint, or on any when it is NULL. */
static int64_t run_by_tag(struct store *s, const char *tag, const char *fingerprint)
{
    sqlite3_stmt *st;
    if (prepare(s,
                "SELECT max(t.run_id), count(*) FROM run_tags t JOIN runs r ON r.id = t.run_id "
                "JOIN machines m ON m.id = r.machine_id WHERE t.tag = ?1 AND (?2 IS NULL OR m.fingerprint = ?2)",
                &st, "look up the tag") != 0)
        return -1;
    bind_text(st, 1, tag);
    bind_opt_text(st, 2, fingerprint);
    int rc = sqlite3_step(st);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        id = fail_sql(s, "look up the tag");
    sqlite3_finalize(st);
    if (id != 0)
        return id;
    if (!fingerprint)
        return fail(s, "no run tagged '%s' in %s", tag, s->path);
    /* say whether the tag exists elsewhere: comparing across machines is a choice, not a default */
    int64_t other = run_by_tag(s, tag, NULL);
    if (other < 0 && strstr(s->err, "no run tagged"))
        return fail(s, "no run tagged '%s' in %s", tag, s->path);
    if (other < 0)
        return -1;
    struct run_row r;
    if (store_get_run(s, other, &r) != 0)
        return -1;
    return fail(s, "no run tagged '%s' on this machine (%s) in %s; the newest so tagged is run %lld, measured on %s "
                "(machine %s)", tag, fingerprint, s->path, (long long)other, r.hostname, r.machine);
}

int64_t store_resolve_run(struct store *s, const char *ref)
{
    return store_resolve_run_on(s, ref, NULL);
}

int64_t store_resolve_run_on(struct store *s, const char *ref, const char *fingerprint)
{
    int64_t id;
    if (!ref || !*ref)
        return fail(s, "empty run reference");
    if (strcmp(ref, "latest") == 0) {
        if (query_int(s, "SELECT max(id) FROM runs", 0, &id, "look up the latest run") != 0)
            return -1;
        return id > 0 ? id : fail(s, "no runs in %s", s->path);
    }
    if (strncmp(ref, "tag:", 4) == 0)
        return run_by_tag(s, ref + 4, fingerprint);

    size_t len = strlen(ref), digits = 0, hex = 0;
    char prefix[37];
    for (size_t i = 0; i < len; i++) {
        char c = ref[i];
        digits += c >= '0' && c <= '9';
        if (c != '-' && !strchr("0123456789abcdefABCDEF", c))
            return resolve_fail(s, ref, " (give a run id, a uuid or its first 4+ digits, 'latest' or 'tag:NAME')");
        hex += c != '-';
    }
    if (digits == len && len <= 18) {
        /* a number is an id first; failing that, it may still be the start of a uuid */
        id = strtoll(ref, NULL, 10);
        int64_t found;
        if (query_int(s, "SELECT count(*) FROM runs WHERE id = ?", id, &found, "look up the run") != 0)
            return -1;
        if (found)
            return id;
    }
    if (hex < 4 || len >= sizeof prefix)
        return resolve_fail(s, ref, "");
    for (size_t i = 0; i <= len; i++)
        prefix[i] = (char)(ref[i] >= 'A' && ref[i] <= 'F' ? ref[i] - 'A' + 'a' : ref[i]);
    id = run_by_uuid_prefix(s, ref, prefix);
    return id == 0 ? resolve_fail(s, ref, "") : id;
}

/* ---- reading ---------------------------------------------------------------------------------- */

/* The runs' columns, then their pid and host (NULL before schema version 2) and the query's tail. */
#define RUN_SELECT                                                                                          \
    "SELECT r.id, r.uuid, r.started_at, r.finished_at, r.status, "                                          \
    "(SELECT group_concat(t.tag, ',') FROM run_tags t WHERE t.run_id = r.id), "                             \
    "r.suite, m.hostname, m.fingerprint, r.cmdline, r.kbench_version, r.planned_cases, "                    \
    "(SELECT count(*) FROM cases c WHERE c.run_id = r.id), "                                                \
    "(SELECT count(*) FROM cases c WHERE c.run_id = r.id AND c.status NOT IN ('ok', 'skipped')), %s "       \
    "FROM runs r JOIN machines m ON m.id = r.machine_id %s"

static int prepare_runs(struct store *s, const char *tail, sqlite3_stmt **st, const char *doing)
{
    char sql[1024];
    snprintf(sql, sizeof sql, RUN_SELECT, s->version >= 2 ? "r.pid, r.hostname" : "NULL, NULL", tail);
    return prepare(s, sql, st, doing);
}

/* A run still 'running' whose process, on this host, no longer exists was killed outright: it is
 * shown as interrupted at once (the next writer on the host marks it so in the file; a reader
 * may not write). As in mark_stale_runs, a reused pid can only make a dead run look alive. */
static int run_is_abandoned(sqlite3_stmt *st, int pid_col, int host_col)
{
    if (sqlite3_column_type(st, pid_col) == SQLITE_NULL)
        return 0;
    pid_t pid = (pid_t)sqlite3_column_int64(st, pid_col);
    const unsigned char *run_host = sqlite3_column_text(st, host_col);
    char host[256];
    if (pid <= 0 || pid == getpid() || !run_host || gethostname(host, sizeof host) != 0)
        return 0;
    host[sizeof host - 1] = '\0';
    if (strcmp((const char *)run_host, host) != 0)
        return 0;
    return kill(pid, 0) != 0 && errno == ESRCH;
}

static void read_run_row(sqlite3_stmt *st, struct run_row *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    col_text(st, 1, r->uuid, sizeof r->uuid);
    col_text(st, 2, r->started, sizeof r->started);
    col_text(st, 3, r->finished, sizeof r->finished);
    col_text(st, 4, r->status, sizeof r->status);
    col_text(st, 5, r->tag, sizeof r->tag);
    col_text(st, 6, r->suite, sizeof r->suite);
    col_text(st, 7, r->hostname, sizeof r->hostname);
    col_text(st, 8, r->machine, sizeof r->machine);
    col_text(st, 9, r->cmdline, sizeof r->cmdline);
    col_text(st, 10, r->kbench_version, sizeof r->kbench_version);
    r->planned_cases = col_int(st, 11);
    r->cases = col_int(st, 12);
    r->failures = col_int(st, 13);
    if (strcmp(r->status, "running") == 0 && run_is_abandoned(st, 14, 15))
        snprintf(r->status, sizeof r->status, "interrupted");
}

int store_list_runs(struct store *s, int limit, int (*fn)(const struct run_row *, void *), void *ctx)
{
    sqlite3_stmt *st;
    if (prepare_runs(s, "ORDER BY r.id DESC LIMIT ?", &st, "list the runs") != 0)
        return -1;
    sqlite3_bind_int(st, 1, limit > 0 ? limit : -1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct run_row row;
        read_run_row(st, &row);
        if (fn(&row, ctx) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    int ret = rc == SQLITE_DONE ? 0 : fail_sql(s, "list the runs");
    sqlite3_finalize(st);
    return ret;
}

struct run_array {
    struct run_row *v;
    size_t n, cap;
    int oom;
};

static int append_run(const struct run_row *r, void *ctx)
{
    struct run_array *a = ctx;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        struct run_row *v = realloc(a->v, cap * sizeof *v);
        if (!v) {
            a->oom = 1;
            return 1;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = *r;
    return 0;
}

int store_all_runs(struct store *s, struct run_row **out, size_t *n)
{
    struct run_array a = { 0 };
    int rc = store_list_runs(s, 0, append_run, &a);
    if (rc == 0 && a.oom)
        rc = fail(s, "out of memory listing the runs of %s", s->path);
    if (rc != 0) {
        free(a.v);
        a.v = NULL;
        a.n = 0;
    }
    *out = a.v;
    *n = a.n;
    return rc;
}

int store_get_run(struct store *s, int64_t run_id, struct run_row *out)
{
    sqlite3_stmt *st;
    if (prepare_runs(s, "WHERE r.id = ?", &st, "read the run") != 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    int rc = sqlite3_step(st), ret = 0;
    if (rc == SQLITE_ROW)
        read_run_row(st, out);
    else if (rc == SQLITE_DONE)
        ret = fail(s, "no run %lld in %s", (long long)run_id, s->path);
    else
        ret = fail_sql(s, "read the run");
    sqlite3_finalize(st);
    return ret;
}

int store_list_run_tags(struct store *s, int64_t run_id, int (*fn)(const char *tag, void *), void *ctx)
{
    sqlite3_stmt *st;
    if (prepare(s, "SELECT tag FROM run_tags WHERE run_id = ? ORDER BY created_at, tag", &st, "read the run's tags") != 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *tag = (const char *)sqlite3_column_text(st, 0);
        if (tag && fn(tag, ctx) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    int ret = rc == SQLITE_DONE ? 0 : fail_sql(s, "read the run's tags");
    sqlite3_finalize(st);
    return ret;
}

static void read_result_row(sqlite3_stmt *st, struct result_row *r)
{
    memset(r, 0, sizeof *r);
    int i = 0;
    r->case_id = sqlite3_column_int64(st, i++);
    r->run_id = sqlite3_column_int64(st, i++);
    col_text(st, i++, r->kernel, sizeof r->kernel);
    col_text(st, i++, r->impl, sizeof r->impl);
    col_text(st, i++, r->device, sizeof r->device);
    col_text(st, i++, r->dtype, sizeof r->dtype);
    col_text(st, i++, r->status, sizeof r->status);
    r->shape.batch = col_int(st, i++);
    r->shape.heads = col_int(st, i++);
    r->shape.kv_heads = col_int(st, i++);
    r->shape.seq_len = col_int(st, i++);
    r->shape.head_dim = col_int(st, i++);
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        r->null_axes |= KB_AXIS_BIT(KB_AXIS_CAUSAL);
    r->shape.causal = col_int(st, i++);
    r->threads = col_int(st, i++);
    r->cold_cache = col_int(st, i++);
    col_text(st, i++, r->error, sizeof r->error);
    r->stats.n = (size_t)sqlite3_column_int64(st, i++);
    r->stats.median = col_real(st, i++);
    r->stats.mean = col_real(st, i++);
    r->stats.stddev = col_real(st, i++);
    r->stats.min = col_real(st, i++);
    r->stats.max = col_real(st, i++);
    r->stats.p5 = col_real(st, i++);
    r->stats.p95 = col_real(st, i++);
    r->stats.mad = col_real(st, i++);
    r->stats.ci_lo = col_real(st, i++);
    r->stats.ci_hi = col_real(st, i++);
    r->stats.noise = col_real(st, i++);
    r->flops_per_s = col_real(st, i++);
    r->bytes_per_s = col_real(st, i++);
    r->flops = col_real(st, i++);
    r->bytes = col_real(st, i++);
    r->calls_per_sample = col_int(st, i++);
    r->verified = col_int(st, i++);
    r->max_abs_err = col_real(st, i++);
    r->rel_l2_err = col_real(st, i++);
    r->cosine = col_real(st, i++);
    r->tolerance = col_real(st, i++);
    r->passed = col_int(st, i++);
    col_text(st, i++, r->papi_status, sizeof r->papi_status);
    for (int a = FIRST_V4_AXIS; a < KB_AXIS_COUNT; a++, i++) {
        if (sqlite3_column_type(st, i) == SQLITE_NULL)
            r->null_axes |= KB_AXIS_BIT(a);
        if (kb_axis_info((enum kb_axis)a)->kind == KB_AXIS_KIND_ENUM) {
            const unsigned char *t = sqlite3_column_text(st, i);
            int v = t ? kb_axis_value_parse((enum kb_axis)a, (const char *)t) : 0;
            kb_shape_set(&r->shape, (enum kb_axis)a, v > 0 ? v : 0);
        } else {
            kb_shape_set(&r->shape, (enum kb_axis)a, col_int(st, i));
        }
    }
    r->exact_checked = sqlite3_column_int64(st, i++);
    r->exact_mismatches = sqlite3_column_int64(st, i++);
    /* schema version 8; NULL (older files, untimed cases): unknown */
    r->min_samples = col_int(st, i++);
    r->set_aside = sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : col_int(st, i);
    i++;
    r->noise_target = col_real(st, i++);
    r->noise_met = sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : col_int(st, i) != 0;
    i++;
    col_text(st, i++, r->stop_reason, sizeof r->stop_reason);
    r->outliers = sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : (long)sqlite3_column_int64(st, i);
    i++;
    col_text(st, i++, r->throttle_reason, sizeof r->throttle_reason);
}

int store_list_results(struct store *s, int64_t run_id, int (*fn)(const struct result_row *, void *), void *ctx)
{
    if (run_exists(s, run_id) != 0)
        return -1;
    /* accuracy.tolerance arrived in schema version 2, the later shape axes and the bit-exact
     * counts in 4; an older file read as it is has none (NULL) */
    char sql[3072];
    int w = snprintf(sql, sizeof sql,
             "SELECT c.id, c.run_id, c.kernel, c.impl, c.device, c.dtype, c.status, "
             "c.batch, c.heads, c.kv_heads, c.seq_len, c.head_dim, c.causal, c.threads, c.cold_cache, c.error, "
             "s.n, s.median_s, s.mean_s, s.stddev_s, s.min_s, s.max_s, s.p5_s, s.p95_s, s.mad_s, "
             "s.ci_lo_s, s.ci_hi_s, s.noise, s.flops_per_s, s.bytes_per_s, c.flops, c.bytes, c.calls_per_sample, "
             "a.case_id IS NOT NULL, a.max_abs_err, a.rel_l2_err, a.cosine, %s, a.passed, c.papi_status",
             s->version >= 2 ? "a.tolerance" : "NULL");
    for (int a = FIRST_V4_AXIS; a < KB_AXIS_COUNT; a++) {
        /* span arrived in version 13, the other later axes in 4 */
        int has = s->version >= (a == KB_AXIS_SPAN ? 13 : 4);
        w += snprintf(sql + w, sizeof sql - (size_t)w, ", %s%s", has ? "c." : "NULL",
                      has ? kb_axis_info((enum kb_axis)a)->column : "");
    }
    snprintf(sql + w, sizeof sql - (size_t)w,
             ", %s, %s FROM cases c LEFT JOIN stats s ON s.case_id = c.id LEFT JOIN accuracy a ON a.case_id = c.id "
             "WHERE c.run_id = ? ORDER BY c.seq_no",
             s->version >= 4 ? "a.exact_checked, a.exact_mismatches" : "NULL, NULL",
             s->version >= 8 ? "s.min_samples, s.set_aside, s.noise_target, s.noise_met, s.stop_reason, s.outliers, "
                               "c.throttle_reason"
                             : "NULL, NULL, NULL, NULL, NULL, NULL, NULL");
    sqlite3_stmt *st;
    if (prepare(s, sql, &st, "read the results") != 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct result_row row;
        read_result_row(st, &row);
        if (fn(&row, ctx) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    int ret = rc == SQLITE_DONE ? 0 : fail_sql(s, "read the results");
    sqlite3_finalize(st);
    return ret;
}

static int case_exists(struct store *s, int64_t case_id)
{
    int64_t found;
    if (query_int(s, "SELECT count(*) FROM cases WHERE id = ?", case_id, &found, "look up the case") != 0)
        return -1;
    if (!found)
        return fail(s, "no case %lld in %s", (long long)case_id, s->path);
    return 0;
}

int store_list_counters(struct store *s, int64_t case_id, int (*fn)(const struct kb_counter *, void *), void *ctx)
{
    if (case_exists(s, case_id) != 0)
        return -1;
    sqlite3_stmt *st;
    if (prepare(s, "SELECT backend, name, value, unit FROM counters WHERE case_id = ? ORDER BY idx", &st,
                "read the counters") != 0)
        return -1;
    sqlite3_bind_int64(st, 1, case_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct kb_counter c;
        memset(&c, 0, sizeof c);
        col_text(st, 0, c.backend, sizeof c.backend);
        col_text(st, 1, c.name, sizeof c.name);
        c.value = col_real(st, 2);
        col_text(st, 3, c.unit, sizeof c.unit);
        if (fn(&c, ctx) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    int ret = rc == SQLITE_DONE ? 0 : fail_sql(s, "read the counters");
    sqlite3_finalize(st);
    return ret;
}

int store_list_gpu_kernels(struct store *s, int64_t case_id, struct gpu_trace *out)
{
    memset(out, 0, sizeof *out);
    if (case_exists(s, case_id) != 0)
        return -1;
    if (s->version < 7) /* a file read as it is, from before GPU cases were stored */
        return 0;
    sqlite3_stmt *st;
    if (prepare(s,
                "SELECT k.name, k.grid_x, k.grid_y, k.grid_z, k.block_x, k.block_y, k.block_z, k.registers, "
                "k.static_shared, k.dynamic_shared, k.duration_s, k.traced_calls, c.cupti_status "
                "FROM cases c LEFT JOIN gpu_kernels k ON k.case_id = c.id WHERE c.id = ? ORDER BY k.idx",
                &st, "read the GPU kernels") != 0)
        return -1;
    sqlite3_bind_int64(st, 1, case_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        col_text(st, 12, out->status, sizeof out->status);
        if (sqlite3_column_type(st, 0) == SQLITE_NULL || out->n >= GPU_TRACE_MAX)
            continue;
        struct gpu_kernel_launch *k = &out->k[out->n++];
        col_text(st, 0, k->name, sizeof k->name);
        int *ints[] = { &k->grid[0], &k->grid[1], &k->grid[2], &k->block[0], &k->block[1], &k->block[2],
                        &k->registers, &k->static_shared, &k->dynamic_shared };
        for (int j = 0; j < 9; j++)
            *ints[j] = sqlite3_column_int(st, 1 + j);
        k->duration_s = col_real(st, 10);
        out->calls = sqlite3_column_int(st, 11);
    }
    out->launches_per_call = out->n;
    int ret = rc == SQLITE_DONE ? 0 : fail_sql(s, "read the GPU kernels");
    sqlite3_finalize(st);
    return ret;
}

long store_get_samples(struct store *s, int64_t case_id, double **out)
{
    *out = NULL;
    int64_t n;
    if (case_exists(s, case_id) != 0 ||
        query_int(s, "SELECT count(*) FROM samples WHERE case_id = ?", case_id, &n, "read the samples") != 0)
        return -1;
    if (n == 0)
        return 0;
    double *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return fail(s, "out of memory reading %lld samples of case %lld from %s", (long long)n, (long long)case_id,
                    s->path);
    sqlite3_stmt *st;
    if (prepare(s, "SELECT seconds FROM samples WHERE case_id = ? ORDER BY idx", &st, "read the samples") != 0) {
        free(v);
        return -1;
    }
    sqlite3_bind_int64(st, 1, case_id);
    long got = 0;
    int rc = SQLITE_DONE;
    while (got < n && (rc = sqlite3_step(st)) == SQLITE_ROW)
        v[got++] = col_real(st, 0);
    if (got < n && rc != SQLITE_DONE) {
        fail_sql(s, "read the samples");
        sqlite3_finalize(st);
        free(v);
        return -1;
    }
    sqlite3_finalize(st);
    *out = v;
    return got;
}

/* ---- what compare reads from the sampling columns (schema v8), where the file has them ---- */

int store_get_case_sampling(struct store *s, int64_t case_id, struct case_sampling *out)
{
    out->min_samples = out->set_aside = -1;
    if (s->version < 8) /* the sampling columns came with version 8: unknown before */
        return 0;
    sqlite3_stmt *st;
    if (prepare(s, "SELECT min_samples, set_aside FROM stats WHERE case_id = ?", &st, "read the statistics") != 0)
        return -1;
    sqlite3_bind_int64(st, 1, case_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_NULL)
            out->min_samples = (long)sqlite3_column_int64(st, 0);
        if (sqlite3_column_type(st, 1) != SQLITE_NULL)
            out->set_aside = (long)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail_sql(s, "read the statistics");
    return 0;
}

long store_get_samples_clocked(struct store *s, int64_t case_id, double **seconds, double **clock_mhz)
{
    *seconds = *clock_mhz = NULL;
    int clocks = s->version >= 8, marks = clocks; /* both columns came with version 8 */
    if (case_exists(s, case_id) != 0)
        return -1;
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT seconds, %s FROM samples WHERE case_id = ?%s ORDER BY idx",
             clocks ? "sm_clock_mhz" : "NULL", marks ? " AND (throttled IS NULL OR throttled = 0)" : "");
    sqlite3_stmt *st;
    if (prepare(s, sql, &st, "read the samples") != 0)
        return -1;
    sqlite3_bind_int64(st, 1, case_id);
    size_t got = 0, cap = 0;
    double *v = NULL, *c = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (got == cap) {
            cap = cap ? 2 * cap : 64;
            double *nv = realloc(v, cap * sizeof *v), *nc = nv ? realloc(c, cap * sizeof *c) : NULL;
            if (nv)
                v = nv;
            if (nc)
                c = nc;
            if (!nv || !nc) {
                sqlite3_finalize(st);
                free(v);
                free(c);
                return fail(s, "out of memory reading the samples of case %lld from %s", (long long)case_id, s->path);
            }
        }
        v[got] = col_real(st, 0);
        c[got++] = col_real(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(v);
        free(c);
        return fail_sql(s, "read the samples");
    }
    *seconds = v;
    *clock_mhz = c;
    return (long)got;
}

int store_sample_clocks(struct store *s, int64_t case_id, struct sample_clock_summary *out)
{
    *out = (struct sample_clock_summary){ .median_mhz = NAN, .min_mhz = NAN, .max_mhz = NAN };
    if (s->version < 8)
        return 0;
    sqlite3_stmt *st;
    if (prepare(s,
                "SELECT count(sm_clock_mhz), min(sm_clock_mhz), max(sm_clock_mhz), coalesce(sum(throttled = 1), 0), "
                "(SELECT sm_clock_mhz FROM samples WHERE case_id = ?1 AND sm_clock_mhz IS NOT NULL "
                " ORDER BY sm_clock_mhz LIMIT 1 OFFSET (SELECT count(sm_clock_mhz) FROM samples WHERE case_id = ?1) / 2) "
                "FROM samples WHERE case_id = ?1",
                &st, "read the samples' clocks") != 0)
        return -1;
    sqlite3_bind_int64(st, 1, case_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->with_clock = sqlite3_column_int64(st, 0);
        out->min_mhz = col_real(st, 1);
        out->max_mhz = col_real(st, 2);
        out->throttled = sqlite3_column_int64(st, 3);
        out->median_mhz = col_real(st, 4);
    }
    int ret = rc == SQLITE_ROW ? 0 : fail_sql(s, "read the samples' clocks");
    sqlite3_finalize(st);
    return ret;
}

int store_get_machine(struct store *s, int64_t run_id, struct machine_info *out)
{
    sqlite3_stmt *st;
    if (prepare(s,
                "SELECT m.fingerprint, m.hostname, m.cpu_model, m.logical_cpus, m.physical_cores, m.cpu_mhz, "
                "m.mem_bytes, m.simd, m.l1d_bytes, m.l2_bytes, m.l3_bytes, m.os, m.gpus, m.peak_f32_core, "
                "r.compiler, r.kbench_version, r.papi_version "
                "FROM runs r JOIN machines m ON m.id = r.machine_id WHERE r.id = ?",
                &st, "read the machine") != 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    int rc = sqlite3_step(st), ret = 0;
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        col_text(st, 0, out->fingerprint, sizeof out->fingerprint);
        col_text(st, 1, out->hostname, sizeof out->hostname);
        col_text(st, 2, out->cpu_model, sizeof out->cpu_model);
        out->logical_cpus = col_int(st, 3);
        out->physical_cores = col_int(st, 4);
        out->cpu_mhz = sqlite3_column_double(st, 5); /* NULL (unknown) reads as 0, as cpu.h has it */
        out->mem_bytes = sqlite3_column_int64(st, 6);
        col_text(st, 7, out->simd, sizeof out->simd);
        out->l1d_bytes = sqlite3_column_int64(st, 8);
        out->l2_bytes = sqlite3_column_int64(st, 9);
        out->l3_bytes = sqlite3_column_int64(st, 10);
        col_text(st, 11, out->os, sizeof out->os);
        col_text(st, 12, out->gpus, sizeof out->gpus);
        out->peak_f32_core = sqlite3_column_double(st, 13);
        col_text(st, 14, out->compiler, sizeof out->compiler);
        col_text(st, 15, out->kbench_version, sizeof out->kbench_version);
        col_text(st, 16, out->papi_version, sizeof out->papi_version);
    } else if (rc == SQLITE_DONE) {
        ret = fail(s, "no run %lld in %s", (long long)run_id, s->path);
    } else {
        ret = fail_sql(s, "read the machine");
    }
    sqlite3_finalize(st);
    return ret;
}

/* ---- claims ------------------------------------------------------------------------------------ */

int64_t store_claim_insert(struct store *s, int64_t machine_id, const struct claim_row *c)
{
    if (writable(s) != 0)
        return -1;
    sqlite3_stmt *st;
    if (prepare(s,
                "INSERT INTO claims (claim_id, machine_id, run_id, paper, quote, paper_hardware, metric, paper_value, "
                "measured, ci_lo, ci_hi, measured_text, verdict, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &st, "store the claim") != 0)
        return -1;
    int bad = 0;
    bad += bind_text(st, 1, c->claim_id) != SQLITE_OK;
    bad += sqlite3_bind_int64(st, 2, machine_id) != SQLITE_OK;
    bad += bind_positive(st, 3, c->run_id) != SQLITE_OK;
    bad += bind_text(st, 4, c->paper) != SQLITE_OK;
    bad += bind_text(st, 5, c->quote) != SQLITE_OK;
    bad += bind_opt_text(st, 6, c->hardware) != SQLITE_OK;
    bad += bind_text(st, 7, c->metric) != SQLITE_OK;
    bad += bind_real(st, 8, c->paper_value) != SQLITE_OK;
    bad += bind_real(st, 9, c->measured) != SQLITE_OK;
    bad += bind_real(st, 10, c->ci_lo) != SQLITE_OK;
    bad += bind_real(st, 11, c->ci_hi) != SQLITE_OK;
    bad += bind_opt_text(st, 12, c->measured_text) != SQLITE_OK;
    bad += bind_text(st, 13, c->verdict) != SQLITE_OK;
    bad += bind_opt_text(st, 14, c->reason) != SQLITE_OK;
    int64_t id = -1;
    if (!bad && sqlite3_step(st) == SQLITE_DONE)
        id = sqlite3_last_insert_rowid(s->db);
    else
        fail_sql(s, "store the claim");
    sqlite3_finalize(st);
    return id;
}

int store_list_claims(struct store *s, const char *machine, int (*fn)(const struct claim_row *, void *), void *ctx)
{
    if (s->version < 5)
        return 0;
    sqlite3_stmt *st;
    if (prepare(s,
                "SELECT c.id, coalesce(c.run_id, 0), c.claim_id, m.fingerprint, m.hostname, c.evaluated_at, c.paper, "
                "c.quote, c.paper_hardware, c.metric, c.paper_value, c.measured, c.ci_lo, c.ci_hi, c.measured_text, "
                "c.verdict, c.reason FROM claims c JOIN machines m ON m.id = c.machine_id "
                "WHERE c.id IN (SELECT max(id) FROM claims GROUP BY claim_id, machine_id) "
                "AND (?1 IS NULL OR m.fingerprint = ?1) ORDER BY c.claim_id, m.hostname",
                &st, "list the claims") != 0)
        return -1;
    if (machine)
        bind_text(st, 1, machine);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct claim_row r;
        memset(&r, 0, sizeof r);
        int i = 0;
        r.id = sqlite3_column_int64(st, i++);
        r.run_id = sqlite3_column_int64(st, i++);
        col_text(st, i++, r.claim_id, sizeof r.claim_id);
        col_text(st, i++, r.machine, sizeof r.machine);
        col_text(st, i++, r.hostname, sizeof r.hostname);
        col_text(st, i++, r.evaluated, sizeof r.evaluated);
        col_text(st, i++, r.paper, sizeof r.paper);
        col_text(st, i++, r.quote, sizeof r.quote);
        col_text(st, i++, r.hardware, sizeof r.hardware);
        col_text(st, i++, r.metric, sizeof r.metric);
        r.paper_value = col_real(st, i++);
        r.measured = col_real(st, i++);
        r.ci_lo = col_real(st, i++);
        r.ci_hi = col_real(st, i++);
        col_text(st, i++, r.measured_text, sizeof r.measured_text);
        col_text(st, i++, r.verdict, sizeof r.verdict);
        col_text(st, i++, r.reason, sizeof r.reason);
        if (fn(&r, ctx) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    int ret = rc == SQLITE_DONE ? 0 : fail_sql(s, "list the claims");
    sqlite3_finalize(st);
    return ret;
}

/* ---- ceilings (kbench calibrate) ------------------------------------------------------------- */

int store_ceiling_add(struct store *s, int64_t machine_id, const struct ceiling *c)
{
    if (writable(s) != 0)
        return -1;
    if (!*c->device || !*c->name || !*c->unit || !(c->value > 0) || !isfinite(c->value))
        return fail(s, "ceiling %s %s: value %g %s is not a positive measurement", c->device, c->name, c->value,
                    c->unit);
    sqlite3_stmt *st;
    if (prepare(s, "INSERT INTO ceilings (machine_id, device, name, value, unit, method) VALUES (?, ?, ?, ?, ?, ?)",
                &st, "store a ceiling") != 0)
        return -1;
    sqlite3_bind_int64(st, 1, machine_id);
    bind_text(st, 2, c->device);
    bind_text(st, 3, c->name);
    sqlite3_bind_double(st, 4, c->value);
    bind_text(st, 5, c->unit);
    bind_opt_text(st, 6, c->method);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : fail_sql(s, "store a ceiling");
    sqlite3_finalize(st);
    return rc;
}

int store_list_ceilings(struct store *s, const char *fingerprint, int (*fn)(const struct ceiling *, void *), void *ctx)
{
    /* Read mode never migrates, so an older file simply has no such table. */
    int64_t has_table = 0;
    if (query_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'ceilings'", 0, &has_table,
                  "look for the ceilings table") != 0)
        return -1;
    if (!has_table)
        return 0;
    sqlite3_stmt *st;
    if (prepare(s,
                "SELECT c.device, c.name, c.value, c.unit, c.method, c.measured_at FROM ceilings c "
                "JOIN machines m ON m.id = c.machine_id WHERE m.fingerprint = ? "
                "AND c.id = (SELECT max(x.id) FROM ceilings x WHERE x.machine_id = c.machine_id "
                "AND x.device = c.device AND x.name = c.name) ORDER BY c.device, c.name",
                &st, "read the ceilings") != 0)
        return -1;
    bind_text(st, 1, fingerprint);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct ceiling c;
        memset(&c, 0, sizeof c);
        col_text(st, 0, c.device, sizeof c.device);
        col_text(st, 1, c.name, sizeof c.name);
        c.value = sqlite3_column_double(st, 2);
        col_text(st, 3, c.unit, sizeof c.unit);
        col_text(st, 4, c.method, sizeof c.method);
        col_text(st, 5, c.measured_at, sizeof c.measured_at);
        if (fn(&c, ctx) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    int ret = rc == SQLITE_DONE ? 0 : fail_sql(s, "read the ceilings");
    sqlite3_finalize(st);
    return ret;
}

/* A snapshot reader has no WAL index to tell it of commits, so it watches the file: a change
 * of its size or modification time, or a WAL appearing (a writer started), reconnects it. The
 * count of reconnections is kept in the high bits, so the number changes whenever the data may. */
int store_data_version(struct store *s, int64_t *out)
{
    if (s->snapshot) {
        struct stat now;
        int moved = stat(s->path, &now) != 0 || now.st_size != s->snap_stat.st_size ||
                    now.st_mtim.tv_sec != s->snap_stat.st_mtim.tv_sec ||
                    now.st_mtim.tv_nsec != s->snap_stat.st_mtim.tv_nsec ||
                    (wal_size(s->path) >= 0 && sidecar_size(s->path, "-shm") >= 0);
        if (moved) {
            int version, empty;
            s->snap_changes++;
            if (connect_reader(s, &version, &empty) != 0)
                return -1;
            s->version = version; /* a writer may have migrated it meanwhile */
        }
        if (s->snapshot) {
            *out = s->snap_changes << 32;
            return 0;
        }
    }
    int64_t v;
    if (query_int(s, "PRAGMA data_version", 0, &v, "poll it for changes") != 0)
        return -1;
    *out = (s->snap_changes << 32) + v;
    return 0;
}
