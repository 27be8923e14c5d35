/* plan_suite.c - suite files: "key = value" lines grouped under [sections]. */
#include "harness/plan.h"
#include "harness/plugin.h"
#include "harness/kvfile.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUITE_KEYS_MAX 64

/* The keys set so far in one group (or at the top): a key given twice is a mistake, since the
 * second would silently win. */
struct seen_keys {
    char key[SUITE_KEYS_MAX][48];
    int line[SUITE_KEYS_MAX];
    int n;
};

/* 0, or the line where key was first set (and the key is recorded when new). */
static int seen_before(struct seen_keys *k, const char *key, int line)
{
    for (int i = 0; i < k->n; i++)
        if (strcmp(k->key[i], key) == 0)
            return k->line[i];
    if (k->n < SUITE_KEYS_MAX && strlen(key) < sizeof k->key[0]) {
        strcpy(k->key[k->n], key);
        k->line[k->n++] = line;
    }
    return 0;
}

int plan_suite_parse(FILE *f, const char *label, const struct plan_spec *base, struct plan_spec *out,
                     int max, char *name, size_t namelen, char *err, size_t errlen)
{
    struct plan_spec top = *base;   /* keys before the first section apply to every group */
    int n = 0, in_group = 0, rc = -1, got;
    struct kv_reader rd;
    struct kv_line kv;
    struct seen_keys keys; /* of the current group */
    memset(&keys, 0, sizeof keys);
    kv_open(&rd, f, label);
    if (name && namelen)
        name[0] = '\0';
    while ((got = kv_next(&rd, &kv, err, errlen)) == 1) {
        if (kv.is_section) {
            if (n == max) {
                kv_error(&rd, 0, err, errlen, "more than %d groups", max);
                goto done;
            }
            for (int g = 0; g < n; g++)
                if (strcmp(out[g].group, kv.section) == 0) {
                    kv_error(&rd, 0, err, errlen, "group [%s] appears twice in the file", kv.section);
                    goto done;
                }
            memset(&keys, 0, sizeof keys);
            out[n] = top;
            snprintf(out[n].group, sizeof out[n].group, "%s", kv.section);
            n++;
            in_group = 1;
            continue;
        }
        int first = seen_before(&keys, kv.key, rd.lineno);
        if (first) {
            kv_error(&rd, kv.key_col, err, errlen, "'%s' is set twice in %s%s%s (first on line %d)", kv.key,
                     in_group ? "group [" : "the top of the file", in_group ? out[n - 1].group : "",
                     in_group ? "]" : "", first);
            goto done;
        }
        if (strcmp(kv.key, "name") == 0 && !in_group) {
            if (name && namelen)
                snprintf(name, namelen, "%s", kv.value);
            continue;
        }
        /* not an axis: plugins (shared objects, Python files, kbench's peers) whose
         * implementations the suite's groups name; loaded now, stored with the run */
        if (strcmp(kv.key, "plugins") == 0 && !in_group) {
            char list[1024], why[1024];
            snprintf(list, sizeof list, "%s", kv.value);
            for (char *save = NULL, *p = strtok_r(list, ", ", &save); p; p = strtok_r(NULL, ", ", &save))
                if (plugin_load(p, why, sizeof why) != 0) {
                    kv_error(&rd, kv.value_col, err, errlen, "%s", why);
                    goto done;
                }
            continue;
        }
        /* not an axis: the regression threshold compare.h applies to this group's kernels */
        if (strcmp(kv.key, "threshold") == 0) {
            char *end;
            double t = strtod(kv.value, &end);
            if (end == kv.value || *end || !(t > 0 && t < 10)) {
                kv_error(&rd, kv.value_col, err, errlen,
                         "bad threshold '%s' (expected a fraction above 0, e.g. 0.08 for 8%%)", kv.value);
                goto done;
            }
            (in_group ? &out[n - 1] : &top)->threshold = t;
            continue;
        }
        char sub[512];
        int set = plan_spec_set(in_group ? &out[n - 1] : &top, kv.key, kv.value, sub, sizeof sub);
        if (set != 0) {
            /* point at what is wrong: the key when it is unknown, else the value */
            kv_error(&rd, set == -2 ? kv.key_col : kv.value_col, err, errlen, "%s", sub);
            goto done;
        }
    }
    if (got < 0)
        goto done;
    if (n == 0) {  /* a file without sections is one group */
        out[0] = top;
        n = 1;
    }
    rc = n;
done:
    kv_close(&rd);
    return rc;
}

int plan_suite_load(const char *path, const struct plan_spec *base, struct plan_spec *out, int max,
                    char *name, size_t namelen, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "suite '%s' is a folder, not a suite file: name one of its NAME.suite files", path);
        return -1;
    }
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
    struct stat sb;
    /* a folder is found as itself, so that loading it can say it is one */
    if (strchr(name, '/') || strstr(name, ".suite") || (stat(name, &sb) == 0 && S_ISDIR(sb.st_mode))) {
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
