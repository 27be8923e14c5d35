/* calibrate_cuda_none.c - calibrate_cuda() for a build without GPU calibration (calibrate.h).
 * A CUDA build that measures copy bandwidth and tensor-core rates replaces this file with its
 * own calibrate_cuda() (see Makefile.am). */
#include "harness/calibrate.h"

#include <stdio.h>

int calibrate_cuda(int index, const struct calibrate_options *opt, ceiling_fn fn, void *ctx, char *why, size_t whylen)
{
    (void)opt, (void)fn, (void)ctx;
    snprintf(why, whylen, "cuda:%d: GPU calibration (copy bandwidth, tensor-core rates) is not built into this kbench",
             index);
    return -1;
}
