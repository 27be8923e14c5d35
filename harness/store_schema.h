/* store_schema.h - the store's schema as an ordered list of migrations (internal to the store).
 *
 * Migration i (1-based) turns a database at schema version i - 1 into version i; version 0 is
 * an empty file. The store runs each one in its own transaction together with the
 * PRAGMA user_version bump, so a database is always at exactly one version. Migrations are
 * append-only: a released one is never edited, a change is a new entry at the end.
 */
#ifndef KB_STORE_SCHEMA_H
#define KB_STORE_SCHEMA_H

/* PRAGMA application_id of every kbench database: "kben" in ASCII. A file without it (and with
 * tables) belongs to some other program and is refused. */
#define STORE_APPLICATION_ID 0x6B62656E

struct store_migration {
    int version;         /* the user_version after it */
    const char *summary; /* one line, for error messages */
    const char *sql;     /* one or more statements; no BEGIN/COMMIT (the caller owns those) */
};

/* The migrations in order (entry i has version i + 1); *n receives the count. */
const struct store_migration *store_schema_migrations(int *n);

#endif
