/* calibrate_span_none.c - calibrate_span() for a build without CUDA (calibrate.h); CUDA builds
 * have calibrate_nccl.c. */
#include "harness/calibrate.h"

#include <stdio.h>

int calibrate_span(int first, int span, const struct calibrate_options *opt, ceiling_fn fn, void *ctx, char *why,
                   size_t whylen)
{
    (void)opt, (void)fn, (void)ctx;
    snprintf(why, whylen, "span %d from cuda:%d cannot be tested here: kbench was built without CUDA", span, first);
    return -1;
}
