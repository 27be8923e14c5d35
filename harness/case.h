/* case.h - one case's life, the same for every caller (the runner's child, tests, plugins'
 * probes): the operation's inputs, the implementation's setup, run, the verdict, teardown.
 * The harness owns the inputs and the verdict: an implementation of an operation only
 * prepares, computes and (on a GPU) hands its results back. */
#ifndef KB_HARNESS_CASE_H
#define KB_HARNESS_CASE_H

#include <stddef.h>

#include "kernels/kernel.h"

/* Prepares c (kernel, shape, dtype, threads, seed, stream, input_copies_wanted set): the
 * operation fills c->io (completing c->shape), then the implementation's setup runs. KB_OK,
 * KB_UNSUPPORTED or KB_ERROR with a message in err; on failure nothing stays allocated. */
int kb_case_begin(struct kb_case *c, char *err, size_t errlen);
/* One computation (the implementation's run). */
static inline int kb_case_run(struct kb_case *c)
{
    return c->kernel->run(c);
}
/* Judges the last run: the implementation hands its results back (collect), the operation
 * compares them with the float64 reference, the implementation's own check may only make the
 * verdict stricter. A collect that fails is KB_ERROR with the reason in c->error and acc
 * marked failed. */
int kb_case_verify(struct kb_case *c, struct kb_accuracy *acc);
/* The case's tensors for --dump: the operands, then the implementation's own. Returns how
 * many were written (at most max). */
int kb_case_tensors(const struct kb_case *c, struct kb_tensor *out, int max);
/* The implementation's teardown, then the operands are freed. */
void kb_case_end(struct kb_case *c);

#endif
