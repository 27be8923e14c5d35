/* input_copies.h - the device copies of a kernel's inputs that a cold-cache GPU case rotates
 * through (kb_case.input_copies_wanted / input_copy; see kernel.h): each buffer is copied on the
 * GPU, so all copies hold the same values and verify needs no change. */
#ifndef KB_INPUT_COPIES_H
#define KB_INPUT_COPIES_H

#include <stddef.h>

#include "kernels/kernel.h" /* KB_INPUT_COPIES_MAX */

struct input_copies {
    void *ptr[KB_INPUT_COPIES_MAX]; /* ptr[0] is the original buffer, owned by the kernel */
    int n;                           /* >= 1 once made */
};

/* Makes up to `wanted` copies of the device buffer base (bytes long) on stream, base itself
 * being the first; stops early, keeping what it made, when GPU memory runs short. Returns the
 * number of copies (>= 1). */
int input_copies_make(struct input_copies *ic, void *base, size_t bytes, int wanted, void *stream);
/* Copy i (modulo the number made). */
void *input_copies_get(const struct input_copies *ic, int i);
/* Frees the copies it made (not ptr[0]). */
void input_copies_free(struct input_copies *ic);

#endif
