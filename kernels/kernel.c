/* kernel.c - what the harness asks of an implementation: the operation's answer where it has
 * one, the kernel's own where it is of the old form. */
#include "kernels/kernel.h"

#include <math.h>

enum kb_family kb_kernel_family(const struct kb_kernel *k)
{
    return k->op ? k->op->family : k->family;
}

double kb_kernel_flops(const struct kb_kernel *k, const struct kb_shape *s)
{
    double (*f)(const struct kb_shape *) = k->op ? k->op->flops : k->flops;
    return f ? f(s) : NAN;
}

double kb_kernel_bytes(const struct kb_kernel *k, const struct kb_shape *s, enum kb_dtype t)
{
    double (*f)(const struct kb_shape *, enum kb_dtype) = k->op ? k->op->bytes : k->bytes;
    return f ? f(s, t) : NAN;
}

double kb_kernel_footprint(const struct kb_kernel *k, const struct kb_shape *s, enum kb_dtype t)
{
    if (!k->op)
        return k->footprint ? k->footprint(s, t) : 0;
    double need = k->op->footprint ? k->op->footprint(s, t) : 0;
    if (k->footprint)
        need += k->footprint(s, t);
    return need;
}

const char *kb_kernel_operation_name(const struct kb_kernel *k)
{
    return k->op ? k->op->name : k->name;
}
