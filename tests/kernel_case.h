/* kernel_case.h - driving one kernel case in a cmocka test: setup, run and verify, and
 * reading its buffers. Each helper fails the test (with the kernel's name) on an error. */
#ifndef KB_TEST_KERNEL_CASE_H
#define KB_TEST_KERNEL_CASE_H

#include "kernels/cpu_features.h"
#include "kernels/kernel.h"

/* A float32 case of kernel k on shape s (not set up yet). */
struct kb_case case_f32(const struct kb_kernel *k, struct kb_shape s, int threads, uint64_t seed);
/* The verdict on the last run (collect, the operation's verify), without running again: planted
 * mistakes run under one shape and are judged under another. */
struct kb_accuracy case_verdict(struct kb_case *c);
/* A shape the operation or the implementation does not take (dtype t) is refused with
 * KB_UNSUPPORTED and a message naming word (when given), and nothing stays allocated. */
void case_expect_refused(const struct kb_kernel *k, struct kb_shape s, enum kb_dtype t, const char *word);

/* The operation's inputs and the kernel's setup (kb_case_begin), or the test fails with the
 * message. Pair with case_teardown, which also frees the operands. */
void case_setup_ok(struct kb_case *c);
/* The kernel's teardown and the operands freed (kb_case_end). */
void case_teardown(struct kb_case *c);
/* One run and the verdict (kb_case_verify: collect, the operation's verify, the kernel's own
 * check), both expected to succeed; the accuracy reported. */
struct kb_accuracy case_run_verify(struct kb_case *c);
/* The case's buffer called name ("q", "o", ...), or the test fails. */
struct kb_tensor case_tensor(const struct kb_case *c, const char *name);

/* ---- one run per SIMD path ------------------------------------------------------------------
 * A kernel's unit tests run once per code path this machine can execute, through the same
 * process-wide mask (kernels/cpu_features.h) that KBENCH_CPU_FEATURES sets, so they exercise
 * the kernel's own dispatch. A path runs when the CPU has the features the kernel's path needs
 * (and KBENCH_CPU_FEATURES, if set, allows them); scalar always runs. Usage:
 *
 *     struct case_paths paths = case_paths_start("attention.window@cpu");
 *     for (enum kb_cpu_path p = 0; p < KB_PATH_COUNT; p++) {
 *         if (!case_path_begin(&paths, p, needs[p]))
 *             continue;
 *         ... set up, run and verify cases: the kernel now takes path p ...
 *     }
 *     case_paths_end(&paths);   prints "# attention.window@cpu: paths run: scalar avx2 avx512"
 */
struct case_paths {
    const char *what;
    unsigned allowed; /* the features in effect before the test masked any */
    int ran;          /* paths run */
    char ran_names[64], skipped_names[64];
};
struct case_paths case_paths_start(const char *what);
/* 1, with the mask set to path p's level, when the CPU runs p (it needs `needs`; 0 for
 * scalar); 0, noting p as skipped, when it does not. */
int case_path_begin(struct case_paths *paths, enum kb_cpu_path p, unsigned needs);
/* needs[] entry of a path the kernel does not have (quantize has no AVX-512 path): not run,
 * not listed. */
#define CASE_NO_PATH (~0u)
/* Restores the mask, prints which paths ran and which the CPU lacks, as a TAP comment, and
 * checks that the scalar path ran. */
void case_paths_end(struct case_paths *paths);
/* The loop above around body(): body runs once per path the kernel (what each path needs in
 * needs[]) and the CPU have. */
void case_each_path(const char *what, const unsigned needs[KB_PATH_COUNT], void (*body)(enum kb_cpu_path p));

#endif
