/* json_writer.h - the small streaming JSON writer of reports/json.c, for any command that writes
 * JSON: it tracks commas and indentation; containers opened "compact" (and everything inside them)
 * stay on one line. Strings are escaped, and bytes that are not UTF-8 become U+FFFD; numbers that
 * are not finite are written as null. */
#ifndef KB_JSON_WRITER_H
#define KB_JSON_WRITER_H

#include <stdio.h>

#define JW_DEPTH 8

struct jw {
    FILE *out;
    int depth;
    int count[JW_DEPTH];
    int compact[JW_DEPTH];
    int after_key;
};

void jw_key(struct jw *w, const char *key);
void jw_open(struct jw *w, char bracket, int compact);   /* '{' or '[' */
void jw_close(struct jw *w, char bracket);               /* '}' or ']' */
void jw_string(struct jw *w, const char *s);
void jw_null(struct jw *w);
void jw_string_or_null(struct jw *w, const char *s);     /* NULL or "" is null */
void jw_number(struct jw *w, double v);
void jw_int(struct jw *w, long long v);
void jw_bool(struct jw *w, int v);

struct store;
struct run_row;
struct ceiling;
/* One measured ceiling as an object on one line: device, name, value, unit, method, measured_at
 * (the export's environment and `kbench devices --format json` write the same). */
void jw_ceiling(struct jw *w, const struct ceiling *c);
/* The fields of a run (id, uuid, times, status, tags as an array, suite, host, [machine],
 * command line, version, git commit and build flags, CPU feature mask, case counts), written into
 * the object w has open: the one description `kbench runs` and `kbench show` share. with_machine
 * adds the machine's fingerprint (show writes the whole machine apart). */
void jw_run_fields(struct jw *w, struct store *s, const struct run_row *r, int with_machine);

#endif
