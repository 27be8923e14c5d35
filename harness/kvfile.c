/* kvfile.c - reading suite and claim files line by line (kvfile.h). */
#include "harness/kvfile.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

void kv_open(struct kv_reader *r, FILE *f, const char *label)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    r->label = label;
}

void kv_error(const struct kv_reader *r, int col, char *err, size_t errlen, const char *fmt, ...)
{
    int w = col > 0 ? snprintf(err, errlen, "%s:%d:%d: ", r->label, r->lineno, col)
                    : snprintf(err, errlen, "%s:%d: ", r->label, r->lineno);
    if (w < 0 || (size_t)w >= errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + w, errlen - (size_t)w, fmt, ap);
    va_end(ap);
}

void kv_close(struct kv_reader *r)
{
    free(r->line);
    r->line = NULL;
    r->cap = 0;
}

int kv_next(struct kv_reader *r, struct kv_line *out, char *err, size_t errlen)
{
    ssize_t len;
    while ((len = getline(&r->line, &r->cap, r->f)) >= 0) {
        char *line = r->line;
        r->lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len > KV_LINE_MAX) {
            kv_error(r, 0, err, errlen, "line longer than %d characters", KV_LINE_MAX);
            return -1;
        }
        /* getline counts what it read: a NUL inside is a binary file, not a short line */
        if (memchr(line, '\0', (size_t)len)) {
            kv_error(r, (int)((char *)memchr(line, '\0', (size_t)len) - line) + 1, err, errlen,
                     "a NUL byte (is this a text file?)");
            return -1;
        }
        for (char *c = line; *c; c++)
            if (*c == '#' && (c == line || isspace((unsigned char)c[-1]))) {
                *c = '\0';
                break;
            }
        char *s = trim(line);
        if (!*s)
            continue;
        memset(out, 0, sizeof *out);
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1] != '\0' || close == s + 1) {
                kv_error(r, (int)(s - line) + 1, err, errlen, "malformed section header '%s' (expected [name])", s);
                return -1;
            }
            *close = '\0';
            out->is_section = 1;
            out->section = trim(s + 1);
            return 1;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            kv_error(r, (int)(s - line) + 1, err, errlen, "expected 'key = value', got '%s'", s);
            return -1;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (!*key || !*value) {
            kv_error(r, (int)((*key ? eq + 1 : s) - line) + 1, err, errlen, "%s", *key ? "missing value" : "missing key");
            return -1;
        }
        out->key = key;
        out->value = value;
        out->key_col = (int)(key - line) + 1;
        out->value_col = (int)(value - line) + 1;
        return 1;
    }
    if (ferror(r->f)) {
        kv_error(r, 0, err, errlen, "read error");
        return -1;
    }
    return 0;
}
