/* kvfile.h - the line format of suite and claim files: "key = value" lines under optional
 * "[section]" headers, '#' comments (at the start of a line or after a space, so a value may
 * hold a '#'), blank lines ignored. The reader splits and checks the lines and reports errors
 * as "FILE:LINE:COLUMN: message"; what a key means is the caller's. */
#ifndef KB_KVFILE_H
#define KB_KVFILE_H

#include <stddef.h>
#include <stdio.h>

#define KV_LINE_MAX 1022 /* characters in a line, newline excluded */

struct kv_reader {
    FILE *f;
    const char *label;  /* the file name errors give */
    int lineno;
    char *line;         /* getline's buffer */
    size_t cap;
};

struct kv_line {
    int is_section;     /* 1: a "[name]" header (name in section) */
    const char *section;
    const char *key, *value;
    int key_col, value_col; /* 1-based columns, for the caller's own error messages */
};

void kv_open(struct kv_reader *r, FILE *f, const char *label);
/* Frees the reader's buffer (the stream stays open). */
void kv_close(struct kv_reader *r);
/* The next header or key = value line: 1 with *out (valid until the next call), 0 at the end
 * of the file, -1 with err (a line too long, a NUL byte, a malformed header, no '=', an empty
 * key or value, a read error). */
int kv_next(struct kv_reader *r, struct kv_line *out, char *err, size_t errlen);
/* Formats "FILE:LINE:COLUMN: message" for the line just read. */
void kv_error(const struct kv_reader *r, int col, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
