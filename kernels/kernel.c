/* kernel.c - what the harness asks of an implementation: its operation's answers, plus the
 * implementation's own workspace. */
#include "kernels/kernel.h"

#include <math.h>

enum kb_family kb_kernel_family(const struct kb_kernel *k)
{
    return k->op->family;
}

double kb_kernel_flops(const struct kb_kernel *k, const struct kb_shape *s)
{
    return k->op->flops ? k->op->flops(s) : NAN;
}

double kb_kernel_bytes(const struct kb_kernel *k, const struct kb_shape *s, enum kb_dtype t)
{
    return k->op->bytes ? k->op->bytes(s, t) : NAN;
}

double kb_kernel_footprint(const struct kb_kernel *k, const struct kb_shape *s, enum kb_dtype t)
{
    double need = k->op->footprint ? k->op->footprint(s, t) : 0;
    if (k->footprint)
        need += k->footprint(s, t);
    return need;
}

const char *kb_kernel_operation_name(const struct kb_kernel *k)
{
    return k->op->name;
}
