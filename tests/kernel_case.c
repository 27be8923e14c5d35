/* kernel_case.c - see kernel_case.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tests/kernel_case.h"
#include "harness/case.h"

struct kb_case case_f32(const struct kb_kernel *k, struct kb_shape s, int threads, uint64_t seed)
{
    return (struct kb_case){ .kernel = k, .shape = s, .dtype = KB_DTYPE_F32, .threads = threads, .seed = seed };
}

struct kb_accuracy case_verdict(struct kb_case *c)
{
    struct kb_accuracy acc;
    assert_int_equal(kb_case_verify(c, &acc), KB_OK);
    return acc;
}

void case_expect_refused(const struct kb_kernel *k, struct kb_shape s, enum kb_dtype t, const char *word)
{
    char err[256] = "";
    struct kb_case c = case_f32(k, s, 1, 1);
    c.dtype = t;
    assert_int_equal(kb_case_begin(&c, err, sizeof err), KB_UNSUPPORTED);
    if (word && !strstr(err, word))
        fail_msg("%s@%s: '%s' does not name %s", k->name, k->impl, err, word);
    assert_null(c.state);
    assert_int_equal(c.io.count, 0);
}

void case_setup_ok(struct kb_case *c)
{
    char err[256] = "";
    if (kb_case_begin(c, err, sizeof err) != KB_OK)
        fail_msg("setup of %s@%s failed: %s", c->kernel->name, c->kernel->impl, err);
}

struct kb_accuracy case_run_verify(struct kb_case *c)
{
    struct kb_accuracy acc;
    memset(&acc, 0, sizeof acc);
    assert_int_equal(kb_case_run(c), KB_OK);
    assert_int_equal(kb_case_verify(c, &acc), KB_OK);
    return acc;
}

void case_teardown(struct kb_case *c)
{
    kb_case_end(c);
}

struct kb_tensor case_tensor(const struct kb_case *c, const char *name)
{
    struct kb_tensor t[KB_TENSORS_MAX];
    int n = kb_case_tensors(c, t, KB_TENSORS_MAX);
    for (int i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i];
    fail_msg("%s@%s has no tensor %s", c->kernel->name, c->kernel->impl, name);
    return t[0];
}

struct case_paths case_paths_start(const char *what)
{
    struct case_paths paths;
    memset(&paths, 0, sizeof paths);
    paths.what = what;
    paths.allowed = kb_cpu_features();
    return paths;
}

static void append_name(char *list, size_t len, const char *name)
{
    size_t used = strlen(list);
    snprintf(list + used, len - used, "%s%s", used ? " " : "", name);
}

int case_path_begin(struct case_paths *paths, enum kb_cpu_path p, unsigned needs)
{
    if (needs == CASE_NO_PATH)
        return 0;
    if ((paths->allowed & needs) != needs) {
        append_name(paths->skipped_names, sizeof paths->skipped_names, kb_cpu_path_name(p));
        return 0;
    }
    /* the path's level, within what the CPU and KBENCH_CPU_FEATURES allow */
    kb_cpu_features_set_mask(kb_cpu_path_mask(p) & paths->allowed);
    if (!kb_cpu_has(needs))
        fail_msg("%s: path %s needs features its level does not mask in", paths->what, kb_cpu_path_name(p));
    append_name(paths->ran_names, sizeof paths->ran_names, kb_cpu_path_name(p));
    paths->ran++;
    return 1;
}

void case_paths_end(struct case_paths *paths)
{
    kb_cpu_features_set_mask(paths->allowed);
    printf("# %s: paths run: %s; skipped (this CPU or KBENCH_CPU_FEATURES lacks them): %s\n", paths->what,
           paths->ran_names, paths->skipped_names[0] ? paths->skipped_names : "none");
    fflush(stdout);
    if (strncmp(paths->ran_names, "scalar", 6) != 0)
        fail_msg("%s: the scalar path did not run", paths->what);
}

void case_each_path(const char *what, const unsigned needs[KB_PATH_COUNT], void (*body)(enum kb_cpu_path p))
{
    struct case_paths paths = case_paths_start(what);
    for (enum kb_cpu_path p = 0; p < KB_PATH_COUNT; p++)
        if (case_path_begin(&paths, p, needs[p]))
            body(p);
    case_paths_end(&paths);
}
