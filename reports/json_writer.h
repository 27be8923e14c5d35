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

#endif
