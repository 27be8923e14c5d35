/* python_plugin.c - Python implementations as kernels (see python_plugin.h). kbench's own
 * process never starts Python: a forked probe imports the file and reports what it registers;
 * each registration becomes a kb_kernel whose callbacks (run in the case's child) embed it. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "harness/python_plugin.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/python_embed.h"
#include "harness/sha256.h"
#include "kernels/kernel.h"

int python_plugin_wanted(const char *spec)
{
    size_t n = strlen(spec);
    if (n > 3 && strcmp(spec + n - 3, ".py") == 0)
        return 1;
    struct stat sb;
    if (stat(spec, &sb) == 0 || n == 0)
        return 0;
    /* a dotted module name: identifiers joined by dots */
    for (const char *p = spec; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.'))
            return 0;
    return !isdigit((unsigned char)spec[0]) && spec[0] != '.';
}

const char *python_plugin_resolve(const char *spec, char *buf, size_t len)
{
    struct stat sb;
    size_t n = strlen(spec);
    if (n < 3 || strcmp(spec + n - 3, ".py") != 0 || stat(spec, &sb) == 0 || strchr(spec, '/'))
        return spec;
    const char *dirs[] = {
#ifdef KB_SRCDIR
        KB_SRCDIR "/kernels/peers",
#endif
#ifdef KB_DATADIR
        KB_DATADIR "/peers",
#endif
    };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(buf, len, "%s/%s", dirs[i], spec);
        if (stat(buf, &sb) == 0)
            return buf;
    }
    return spec;
}

#ifndef HAVE_PYTHON

int python_plugin_owns(const struct kb_kernel *k)
{
    (void)k;
    return 0;
}

int python_plugin_load(const char *spec, struct plugin_info *info, char *err, size_t errlen)
{
    (void)info;
    snprintf(err, errlen, "cannot load %s: this kbench was built without Python (configure --without-python, "
             "or python3-embed was not found)", spec);
    return -1;
}

#else

/* One Python implementation: the descriptor first, so the case's c->kernel leads back here. */
struct py_impl {
    struct kb_kernel k;
    char *spec, *name, *impl, *description;
};

int python_plugin_owns(const struct kb_kernel *k)
{
    return k->run == python_embed_run;
}

static int py_setup(struct kb_case *c, char *err, size_t errlen)
{
    const struct py_impl *p = (const struct py_impl *)c->kernel;
    return python_embed_setup(c, p->spec, p->name, p->impl, err, errlen);
}

/* The probe child: imports spec and writes its lines to fd; the file's own output must not mix
 * with kbench's. */
static int list_in_child(int fd, void *ctx)
{
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0)
        dup2(null, 1);
    return python_embed_list(ctx, fd);
}

/* Runs the probe: the child imports spec and writes its lines into *text (malloc'd). */
static int probe(const char *spec, char **text, char *err, size_t errlen)
{
    char *buf = NULL, why[256];
    int status;
    if (plugin_probe_child(list_in_child, (void *)spec, &buf, &status, why, sizeof why) != 0) {
        snprintf(err, errlen, "cannot load %s: %s", spec, why);
        return -1;
    }
    if (WIFSIGNALED(status)) {
        snprintf(err, errlen, "%s crashed while being imported (signal %d, %s); it was not loaded", spec,
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
        free(buf);
        return -1;
    }
    if (strncmp(buf, "E\t", 2) == 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char *nl = strchr(buf, '\n');
        if (nl)
            *nl = '\0';
        snprintf(err, errlen, "cannot load %s: %s", spec, strncmp(buf, "E\t", 2) == 0 ? buf + 2 : "its import failed");
        free(buf);
        return -1;
    }
    *text = buf;
    return 0;
}

/* Splits a line at tabs into at most max fields; returns how many. */
static int split_tabs(char *line, char **out, int max)
{
    int n = 0;
    while (n < max) {
        out[n++] = line;
        char *tab = strchr(line, '\t');
        if (!tab)
            break;
        *tab = '\0';
        line = tab + 1;
    }
    return n;
}

static int parse_dtypes(char *list, unsigned *mask, char *bad, size_t badlen)
{
    *mask = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        enum kb_dtype t;
        if (kb_dtype_parse(tok, &t) != 0) {
            snprintf(bad, badlen, "%s", tok);
            return -1;
        }
        *mask |= KB_DTYPE_BIT(t);
    }
    return *mask ? 0 : -1;
}

/* Builds the kernel of one "R" line; NULL with err. */
static struct py_impl *impl_of(const char *spec, char **f, const char *file, char *err, size_t errlen)
{
    const struct kb_operation *op = kb_registry_operation(f[1]);
    if (!op) {
        snprintf(err, errlen, "%s: %s@%s implements \"%s\", which is no operation kbench knows (kbench list --operations)",
                 file, f[2], f[3], f[1]);
        return NULL;
    }
    enum kb_device_kind dev;
    if (strcmp(f[4], "cpu") == 0)
        dev = KB_DEVICE_CPU;
    else if (strcmp(f[4], "cuda") == 0)
        dev = KB_DEVICE_CUDA;
    else {
        snprintf(err, errlen, "%s: %s@%s: device \"%s\" (cpu or cuda)", file, f[2], f[3], f[4]);
        return NULL;
    }
    unsigned dtypes;
    char bad[64] = "";
    if (parse_dtypes(f[5], &dtypes, bad, sizeof bad) != 0 || (dtypes & ~op->dtypes)) {
        snprintf(err, errlen, "%s: %s@%s: dtypes must be names of dtypes %s defines%s%s", file, f[2], f[3], op->name,
                 *bad ? ", not " : "", bad);
        return NULL;
    }
    struct py_impl *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->spec = strdup(spec);
    p->name = strdup(f[2]);
    p->impl = strdup(f[3]);
    p->description = strdup(*f[6] ? f[6] : "a Python implementation");
    if (!p->spec || !p->name || !p->impl || !p->description) {
        free(p->spec);
        free(p->name);
        free(p->impl);
        free(p->description);
        free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->k = (struct kb_kernel){ .name = p->name, .impl = p->impl, .description = p->description, .device = dev,
                               .dtypes = dtypes, .op = op, .setup = py_setup, .run = python_embed_run,
                               .collect = python_embed_collect, .teardown = python_embed_teardown };
    return p;
}

int python_plugin_load(const char *spec_given, struct plugin_info *info, char *err, size_t errlen)
{
    char found[PATH_MAX];
    const char *spec = python_plugin_resolve(spec_given, found, sizeof found);
    struct stat sb;
    size_t n = strlen(spec);
    if (n > 3 && strcmp(spec + n - 3, ".py") == 0 && stat(spec, &sb) != 0) {
        snprintf(err, errlen, "cannot read plugin %s: %s (nor is it one of kbench's peers)", spec_given, strerror(errno));
        return -1;
    }
    char *text = NULL;
    if (probe(spec, &text, err, errlen) != 0)
        return -1;
    int rc = 0, count = 0;
    const char *file = spec;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && rc == 0; line = strtok_r(NULL, "\n", &save)) {
        char *f[7];
        int nf = split_tabs(line, f, 7);
        if (strcmp(f[0], "F") == 0 && nf == 2) {
            file = f[1];
            snprintf(info->path, sizeof info->path, "%s", f[1]);
            if (sha256_file(f[1], info->sha256) != 0) {
                snprintf(err, errlen, "cannot read %s: %s", f[1], strerror(errno));
                rc = -1;
            }
        } else if (strcmp(f[0], "R") == 0 && nf == 7) {
            struct py_impl *p = impl_of(spec, f, file, err, errlen);
            if (!p || kb_registry_add(&p->k, info->path, err, errlen) != 0)
                rc = -1; /* a descriptor the registry refused stays allocated: kbench stops */
            else
                count++;
        }
    }
    free(text);
    if (rc == 0 && count == 0) {
        snprintf(err, errlen, "%s registers no implementation (use @kbench.implementation, docs/peers.md)", file);
        rc = -1;
    }
    info->kernels = count;
    return rc;
}

#endif
