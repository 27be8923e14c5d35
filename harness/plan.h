/* plan.h - the sweep planner: axes in, a list of cases out.
 *
 * Axes come from command-line flags and from suite files (datasets/suites/NAME.suite); both go
 * through plan_spec_set(), so a key means the same in either place. A suite file is
 *
 *     # comment
 *     name = quick                  (optional)
 *     [attention-prefill]           (a group: its keys override the file's top-level keys)
 *     kernels  = attention.*
 *     seq      = 128:1024:x2        (geometric: 128 256 512 1024)
 *     head_dim = 64,128             (a list)
 *     heads    = 4:16:+4            (arithmetic: 4 8 12 16)
 *     causal   = 0,1
 *     threshold = 0.08              (for compare/nightly: this group's slowdown threshold)
 *
 * Each group expands to the cartesian product of its axes, minus combinations a kernel does
 * not support (a dtype it lacks); identical cases appear once.
 */
#ifndef KB_PLAN_H
#define KB_PLAN_H

#include <stddef.h>
#include <stdio.h>
#include "kernels/kernel.h"

#define PLAN_AXIS_MAX 64
#define PLAN_PATTERNS_MAX 16

struct int_axis { int n; int v[PLAN_AXIS_MAX]; };

/* Parses "512:8192:x2", "64:256:+64", "1,2,4", or a single value; values must lie in
 * [min, max]. Returns 0, or -1 with a message naming the bad text. */
int plan_parse_int_axis(const char *text, int min, int max, struct int_axis *out,
                        char *err, size_t errlen);

struct plan_spec {
    char kernels[PLAN_PATTERNS_MAX][96]; int n_kernels;
    char devices[8][16]; int n_devices;
    enum kb_dtype dtypes[KB_DTYPE_COUNT]; int n_dtypes;
    int dtype_given; /* 0: no dtype named, so each kernel runs f32, or its own dtype if it has no f32 */
    /* One per shape axis (enum kb_axis). An empty axis (n == 0) gives a kernel that uses it the
     * axis' fallback value (kb_axis_info), except kv_heads, which then equals heads. */
    struct int_axis axis[KB_AXIS_COUNT];
    struct int_axis threads;
    int cold_cache;       /* 0 hot, 1 cold, 2 both (cache = hot,cold) */
    char group[64];       /* the suite section it came from, "" on the command line */
    double threshold;     /* suite key `threshold`: the group's regression threshold for compare
                           * (a fraction, 0.08 = 8%); 0 when not set. Planning ignores it. */
};

/* A spec with the defaults: attention.*, cpu, f32, B=1, H=8, N=512:2048:x2, d=64, causal 0,
 * threads 1, hot cache; every other axis empty (its fallback). */
void plan_spec_default(struct plan_spec *s);

/* Sets one axis by name: kernels, devices, dtype, threads, cache (a list of hot, cold; both), preset (a
 * model's shapes, datasets/presets.h), or any shape axis key (kb_axis_info: batch, heads, seq,
 * m, tokens, routing, ...). Returns 0; -1 with a message naming a bad value; -2 with a message
 * for an unknown key. */
int plan_spec_set(struct plan_spec *s, const char *key, const char *value, char *err, size_t errlen);

/* The value of one key (as plan_spec_set takes it) that the spec plans with: "512,1024,2048",
 * "attention.*", "hot", "=heads" for an unset kv_heads, an unset shape axis' fallback. */
void plan_spec_value_string(const struct plan_spec *s, const char *key, char *buf, size_t len);

/* Loads a suite file into up to max specs (one per group, each starting from base).
 * Errors name the file and line. Returns the number of groups, or -1. */
int plan_suite_load(const char *path, const struct plan_spec *base, struct plan_spec *out, int max,
                    char *name, size_t namelen, char *err, size_t errlen);

/* plan_suite_load's parser on an open stream (a file, or fmemopen'd bytes as the fuzzer feeds it);
 * label stands where the path would in error messages. The stream is left open. */
int plan_suite_parse(FILE *f, const char *label, const struct plan_spec *base, struct plan_spec *out,
                     int max, char *name, size_t namelen, char *err, size_t errlen);

/* Finds a suite by name: NAME as a path, else datasets/suites/NAME.suite under the source
 * tree, $KBENCH_SUITES, or the installed data directory. Returns 0 with the path, or -1. */
int plan_suite_find(const char *name, char *path, size_t pathlen);

struct plan_case {
    const struct kb_kernel *kernel;
    char device[16];
    enum kb_dtype dtype;
    struct kb_shape shape;
    int threads;
    int cold_cache;
    uint64_t seed;        /* derived from the case's identity: reruns see the same inputs */
};

struct plan {
    struct plan_case *cases;
    size_t n, cap;
};

/* Expands specs into plan (appending). A pattern that matches no kernel is an error naming it,
 * and so is a shape plan_check_shape refuses. Returns 0 or -1. */
int plan_build(const struct plan_spec *specs, int n_specs, struct plan *plan, char *err, size_t errlen);

/* Checks the relations between the axes of one shape that no kernel could satisfy, whatever the
 * hardware: kv_heads dividing heads, top_k at most experts, decay only in causal order, a
 * block's hidden = heads x head_dim (for the axes in mask, the kernel's). Returns 0, or -1 with
 * a message naming the values as the flags that set them. plan_build applies it to every case:
 * such a sweep is the user's error, not a case to skip. Limits of one implementation (d = 128
 * only, memory, a GPU feature) are not checked here: those cases run and are stored skipped. */
int plan_check_shape(uint64_t mask, const struct kb_shape *s, char *err, size_t errlen);

/* The axis key closest to a mistyped one (a key, or a store column such as "seq_len"): 0 with it
 * in out, or -1 when none is close. */
int plan_suggest_key(const char *typed, char *out, size_t outlen);

/* Keeps only the cases of shard i of n (1-based i), by a stable hash of each case. */
void plan_shard(struct plan *plan, int i, int n);

void plan_free(struct plan *plan);

/* "b=1 h=8 kvh=2 n=4096 d=128 causal": the non-zero axes (kb_shape_string). */
void plan_shape_string(const struct kb_shape *s, char *buf, size_t len);

#endif
