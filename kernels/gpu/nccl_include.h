/* nccl_include.h - <nccl.h> without its old-style declarations' warnings (ncclGroupStart() has
 * no (void) in some releases, which -Wstrict-prototypes reports in every file including it). */
#ifndef KB_NCCL_INCLUDE_H
#define KB_NCCL_INCLUDE_H
#include "config.h"
#ifdef HAVE_NCCL
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <nccl.h>
#pragma GCC diagnostic pop
#endif
#endif
