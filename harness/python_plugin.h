/* python_plugin.h - implementations written in Python (docs/peers.md): `kbench run --plugin
 * FILE.py` or `--plugin MODULE`. The file registers implementations of kbench's operations
 * with the `kbench` Python module; kbench imports it in a probe process to learn them (so a
 * crash or a missing package there costs that process) and again in each case's own process,
 * which embeds CPython, hands the operation's tensors over without a copy and times the
 * callable the implementation returns, as for a kernel written in C. */
#ifndef KB_HARNESS_PYTHON_PLUGIN_H
#define KB_HARNESS_PYTHON_PLUGIN_H

#include <stddef.h>

#include "harness/plugin.h"
#include "kernels/kernel.h"

/* 1 when spec names Python: a path ending in ".py", or a dotted module name that is no file. */
int python_plugin_wanted(const char *spec);
/* The file spec names: a .py name that is no file here may be one of the peers shipped with
 * kbench (the source tree's kernels/peers for a build tree's kbench, then the installed
 * ones); returns spec itself, or buf holding the peer's path. */
const char *python_plugin_resolve(const char *spec, char *buf, size_t len);
/* Learns and registers spec's implementations, filling info (the file's real path, sha256,
 * count). 0, or -1 with the reason in err: built without Python, the file raised (its
 * message), an unknown operation, a dtype the operation does not define, a name clash. */
int python_plugin_load(const char *spec, struct plugin_info *info, char *err, size_t errlen);
/* 1 for a kernel this file registered (its calls pass through the interpreter, and its first
 * call may compile: Triton), 0 for any other (always 0 without Python). */
int python_plugin_owns(const struct kb_kernel *k);

#endif
