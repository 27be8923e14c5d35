/* plan_suite.c - suite files: "key = value" lines grouped under [sections]. */
#include "harness/plan.h"
#include "harness/kvfile.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int plan_suite_parse(FILE *f, const char *label, const struct plan_spec *base, struct plan_spec *out,
                     int max, char *name, size_t namelen, char *err, size_t errlen)
{
    struct plan_spec top = *base;   /* keys before the first section apply to every group */
    int n = 0, in_group = 0, rc = -1, got;
    struct kv_reader rd;
    struct kv_line kv;
    kv_open(&rd, f, label);
    if (name && namelen)
        name[0] = '\0';
    while ((got = kv_next(&rd, &kv, err, errlen)) == 1) {
        if (kv.is_section) {
            if (n == max) {
                kv_error(&rd, 0, err, errlen, "more than %d groups", max);
                goto done;
            }
            out[n] = top;
            snprintf(out[n].group, sizeof out[n].group, "%s", kv.section);
            n++;
            in_group = 1;
            continue;
        }
        if (strcmp(kv.key, "name") == 0 && !in_group) {
            if (name && namelen)
                snprintf(name, namelen, "%s", kv.value);
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
