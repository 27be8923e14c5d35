/* fuzz_parsers.c - libFuzzer target for the text kbench accepts from users: suite files, axis
 * values, dtype names and the numeric flags. Built with -fsanitize=fuzzer,address,undefined it
 * searches for inputs that crash, leak or hit undefined behaviour; tests/fuzz/replay.c runs the
 * same function over the stored corpus in `make check`, without libFuzzer. */
#include "bench/cli.h"
#include "harness/plan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_GROUPS 8
/* plan_build de-duplicates in quadratic time, so a group asking for millions of cases would only
 * measure the fuzzer's patience; groups above this many candidate cases are parsed, not built. */
#define FUZZ_MAX_CASES 4096

static long group_cases(const struct plan_spec *s)
{
    long total = 1;
    const int sizes[] = { s->n_kernels, s->n_devices, s->n_dtypes, s->threads.n, s->cold_cache == 2 ? 2 : 1 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        total *= sizes[i] > 0 ? sizes[i] : 1;
    for (int a = 0; a < KB_AXIS_COUNT && total <= FUZZ_MAX_CASES; a++)
        total *= s->axis[a].n > 0 ? s->axis[a].n : 1;
    return total;
}

static void fuzz_suite(const uint8_t *data, size_t size)
{
    if (size == 0)
        return;  /* fmemopen rejects an empty buffer */
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return;
    struct plan_spec base, specs[FUZZ_GROUPS];
    plan_spec_default(&base);
    char name[64], err[512];
    int n = plan_suite_parse(f, "fuzz", &base, specs, FUZZ_GROUPS, name, sizeof name, err, sizeof err);
    fclose(f);
    if (n <= 0)
        return;
    for (int i = 0; i < n; i++) {
        if (group_cases(&specs[i]) > FUZZ_MAX_CASES)
            continue;
        struct plan plan = { 0 };
        plan_build(&specs[i], 1, &plan, err, sizeof err);
        plan_free(&plan);
    }
}

static void fuzz_line(const char *line)
{
    char err[512];
    struct int_axis axis;
    plan_parse_int_axis(line, 1, 1 << 24, &axis, err, sizeof err);
    plan_parse_int_axis(line, 0, 1, &axis, err, sizeof err);

    enum kb_dtype t;
    kb_dtype_parse(line, &t);

    double d;
    long l;
    cli_parse_double(line, 0.0, 1e9, &d);
    cli_parse_int(line, 1, 1 << 20, &l);
    cli_parse_int(line, -(1L << 40), 1L << 40, &l);

    /* "key value": the first word names the axis, the rest is its value, as on the command line */
    char key[64];
    size_t klen = strcspn(line, " \t");
    if (klen >= sizeof key)
        return;
    memcpy(key, line, klen);
    key[klen] = '\0';
    const char *value = line + klen + strspn(line + klen, " \t");
    struct plan_spec spec;
    plan_spec_default(&spec);
    plan_spec_set(&spec, key, value, err, sizeof err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_suite(data, size);

    /* A private NUL-terminated copy: the parsers take C strings, and a line ends at '\n' or NUL. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t i = 0;
    while (i <= size) {
        size_t end = i;
        while (end < size && text[end] != '\n')
            end++;
        text[end] = '\0';
        fuzz_line(text + i);
        i = end + 1;
    }
    free(text);
    return 0;
}
