/* plugin.h - loading kernels from shared objects (docs/plugins.md): `kbench run --plugin PATH`,
 * `kbench list --plugin PATH` and the folders of $KBENCH_PLUGIN_PATH.
 *
 * Each plugin is first loaded in a forked child (a probe), so that a constructor or a register
 * function that crashes costs that child, and kbench says which signal it got; only a plugin
 * that loaded cleanly there is loaded into kbench itself. Loading happens before any case is
 * forked, so a plugin's kernels run with the same isolation as built-in ones. */
#ifndef KB_HARNESS_PLUGIN_H
#define KB_HARNESS_PLUGIN_H

#include <stddef.h>

struct plugin_info {
    char path[4096];  /* absolute (realpath), as stored with a run */
    char sha256[65];  /* of the file when it was loaded */
    int kernels;      /* how many it registered */
};

/* Loads one plugin (a path to a shared object). 0, or -1 with the reason in err: the file is
 * missing or no shared object (dlerror's words), it lacks an entry point, its ABI version is not
 * kbench's (both named), it crashed while loading (the signal), or a kernel of it was refused
 * (a name@impl clash naming both files). Loading the same file again does nothing. */
int plugin_load(const char *path, char *err, size_t errlen);
/* Loads every *.so of the folders in $KBENCH_PLUGIN_PATH (colon-separated; empty entries and
 * an unset variable are nothing), in name order within a folder. 0, or -1 as plugin_load. */
int plugin_load_path_env(char *err, size_t errlen);

/* Runs child(fd, ctx) in a forked process, which exits 0 when it returns 0 and 2 otherwise,
 * and collects what it writes to fd into *text (malloc'd, NUL-terminated; free() it) and its
 * wait status into *status: the probes of python_plugin.c and of shared objects, so a crash
 * while loading costs that process. 0, or -1 with the reason in err (pipe, fork, memory). */
int plugin_probe_child(int (*child)(int fd, void *ctx), void *ctx, char **text, int *status, char *err,
                       size_t errlen);

/* The plugins loaded so far, in load order. */
size_t plugin_count(void);
const struct plugin_info *plugin_get(size_t i);

#endif
