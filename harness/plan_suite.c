/* plan_suite.c - suite files: "key = value" lines grouped under [sections]. */
#include "harness/plan.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int plan_suite_parse(FILE *f, const char *label, const struct plan_spec *base, struct plan_spec *out,
                     int max, char *name, size_t namelen, char *err, size_t errlen)
{
    const char *path = label;
    struct plan_spec top = *base;   /* keys before the first section apply to every group */
    int n = 0, lineno = 0, in_group = 0, rc = -1;
    char line[1024];
    if (name && namelen)
        name[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line longer than %zu characters", path, lineno, sizeof line - 2);
            goto done;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1] != '\0' || close == s + 1) {
                snprintf(err, errlen, "%s:%d:%d: malformed section header '%s' (expected [name])", path, lineno,
                         (int)(s - line) + 1, s);
                goto done;
            }
            if (n == max) {
                snprintf(err, errlen, "%s:%d: more than %d groups", path, lineno, max);
                goto done;
            }
            *close = '\0';
            out[n] = top;
            snprintf(out[n].group, sizeof out[n].group, "%s", trim(s + 1));
            n++;
            in_group = 1;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d:%d: expected 'key = value', got '%s'", path, lineno, (int)(s - line) + 1, s);
            goto done;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (!*key || !*value) {
            snprintf(err, errlen, "%s:%d:%d: %s", path, lineno, (int)((*key ? eq + 1 : s) - line) + 1,
                     *key ? "missing value" : "missing key");
            goto done;
        }
        if (strcmp(key, "name") == 0 && !in_group) {
            if (name && namelen)
                snprintf(name, namelen, "%s", value);
            continue;
        }
        char sub[512];
        int set = plan_spec_set(in_group ? &out[n - 1] : &top, key, value, sub, sizeof sub);
        if (set != 0) {
            /* the column (1-based) of what is wrong: the key when it is unknown, else the value */
            int col = (int)((set == -2 ? key : value) - line) + 1;
            snprintf(err, errlen, "%s:%d:%d: %s", path, lineno, col, sub);
            goto done;
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "error reading suite '%s'", path);
        goto done;
    }
    if (n == 0) {  /* a file without sections is one group */
        out[0] = top;
        n = 1;
    }
    rc = n;
done:
    return rc;
}

int plan_suite_load(const char *path, const struct plan_spec *base, struct plan_spec *out, int max,
                    char *name, size_t namelen, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open suite '%s': %m", path);
        return -1;
    }
    int n = plan_suite_parse(f, path, base, out, max, name, namelen, err, errlen);
    fclose(f);
    return n;
}

static int try_path(char *path, size_t len, const char *dir, const char *name)
{
    if (!dir || !*dir)
        return -1;
    if ((size_t)snprintf(path, len, "%s/%s.suite", dir, name) >= len)
        return -1;
    return access(path, R_OK) == 0 ? 0 : -1;
}

int plan_suite_find(const char *name, char *path, size_t pathlen)
{
    if (strchr(name, '/') || strstr(name, ".suite")) {
        if ((size_t)snprintf(path, pathlen, "%s", name) >= pathlen)
            return -1;
        return access(path, R_OK) == 0 ? 0 : -1;
    }
    if (try_path(path, pathlen, getenv("KBENCH_SUITES"), name) == 0)
        return 0;
    if (try_path(path, pathlen, "datasets/suites", name) == 0)
        return 0;
#ifdef KB_SRCDIR
    if (try_path(path, pathlen, KB_SRCDIR "/datasets/suites", name) == 0)
        return 0;
#endif
#ifdef KB_DATADIR
    if (try_path(path, pathlen, KB_DATADIR "/suites", name) == 0)
        return 0;
#endif
    return -1;
}
