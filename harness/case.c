/* case.c - one case's life: see case.h. */
#include "harness/case.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int kb_case_begin(struct kb_case *c, char *err, size_t errlen)
{
    const struct kb_kernel *k = c->kernel;
    memset(&c->io, 0, sizeof c->io);
    if (!(k->op->dtypes & KB_DTYPE_BIT(c->dtype)) || !(k->dtypes & KB_DTYPE_BIT(c->dtype))) {
        snprintf(err, errlen, "%s@%s: dtype %s not supported", k->name, k->impl,
                 kb_dtype_name(c->dtype) ? kb_dtype_name(c->dtype) : "?");
        return KB_UNSUPPORTED;
    }
    int rc = k->op->inputs(&c->io, &c->shape, c->dtype, c->seed, err, errlen);
    if (rc != KB_OK) {
        kb_operands_free(&c->io);
        return rc;
    }
    rc = k->setup(c, err, errlen);
    if (rc != KB_OK)
        kb_operands_free(&c->io);
    return rc;
}

static void mark_failed(struct kb_accuracy *acc, long rows_total)
{
    memset(acc, 0, sizeof *acc);
    acc->rel_l2_err = INFINITY;
    acc->max_abs_err = INFINITY;
    acc->rows_total = rows_total;
}

int kb_case_verify(struct kb_case *c, struct kb_accuracy *acc)
{
    const struct kb_kernel *k = c->kernel;
    if (k->collect && k->collect(c) != KB_OK) {
        mark_failed(acc, 0);
        if (!c->error[0])
            snprintf(c->error, sizeof c->error, "could not collect the results");
        return KB_ERROR;
    }
    int rc = k->op->verify(&c->io, &c->shape, c->dtype, c->seed, c->threads, acc);
    if (rc == KB_OK && k->check) {
        int was = acc->passed;
        rc = k->check(c, acc);
        acc->passed = was && acc->passed; /* a check may only make the verdict stricter */
    }
    return rc;
}

int kb_case_tensors(const struct kb_case *c, struct kb_tensor *out, int max)
{
    const struct kb_kernel *k = c->kernel;
    int n = 0;
    for (int i = 0; i < c->io.count && n < max; i++)
        out[n++] = c->io.tensor[i];
    if (k->tensors && n < max)
        n += k->tensors(c, out + n, max - n);
    return n;
}

void kb_case_end(struct kb_case *c)
{
    c->kernel->teardown(c);
    kb_operands_free(&c->io);
}
