/* cupti_none.c - the kernel trace in a build without CUPTI: nothing is traced, and says why. */
#include "harness/cupti_trace.h"

#include <stdio.h>
#include <string.h>

int cupti_trace_calls(struct gpu_timer *t, int (*run)(struct kb_case *), struct kb_case *c, int calls,
                      struct gpu_trace *out)
{
    (void)t;
    (void)run;
    (void)c;
    (void)calls;
    memset(out, 0, sizeof *out);
    snprintf(out->status, sizeof out->status, "kbench was built without CUPTI (configure --with-cupti)");
    return -1;
}
