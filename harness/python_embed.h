/* python_embed.h - the CPython side of Python implementations (python_embed.c, built with
 * Python; python_plugin.c drives it). Each function initialises the interpreter on first use;
 * only forked children (the probe, a case) call them, never kbench's own process. */
#ifndef KB_HARNESS_PYTHON_EMBED_H
#define KB_HARNESS_PYTHON_EMBED_H

#include "kernels/kernel.h"

/* Imports spec and writes what it registered to fd, one line each, tab-separated:
 * "F <file>", then per implementation "R <operation> <name> <impl> <device> <dtypes,...>
 * <description>"; on failure one "E <message>" line. 0, or -1 on failure. */
int python_embed_list(const char *spec, int fd);

/* A case's life (the kb_kernel callbacks of a Python implementation): setup imports spec,
 * wraps c->io (NumPy arrays, or device buffers it allocates and fills on CUDA) and calls the
 * registered function, keeping the callable it returns; run calls that. */
int python_embed_setup(struct kb_case *c, const char *spec, const char *name, const char *impl,
                       char *err, size_t errlen);
int python_embed_run(struct kb_case *c);
int python_embed_collect(struct kb_case *c);
void python_embed_teardown(struct kb_case *c);

#endif
