/* kernel_case.h - driving one kernel case in a cmocka test: setup, run and verify, and
 * reading its buffers. Each helper fails the test (with the kernel's name) on an error. */
#ifndef KB_TEST_KERNEL_CASE_H
#define KB_TEST_KERNEL_CASE_H

#include "kernels/kernel.h"

/* setup(), or the test fails with the kernel's own message. */
void case_setup_ok(struct kb_case *c);
/* One run() and verify(), both expected to succeed; the accuracy verify reported. */
struct kb_accuracy case_run_verify(struct kb_case *c);
/* The case's buffer called name ("q", "o", ...), or the test fails. */
struct kb_tensor case_tensor(const struct kb_case *c, const char *name);

#endif
