/* kernel.h - the kernel descriptor: the whole interface between a kernel and the harness.
 *
 * A kernel is an operation ("attention.flash") in one implementation ("cpu.avx2") on one kind of
 * device. The harness owns timing, statistics, counters, isolation and storage; a kernel only
 * allocates and fills its inputs (setup), computes once (run), checks its output against a
 * float64 reference (verify), exposes its buffers for dumps (tensors) and frees (teardown).
 * Kernels never time themselves.
 *
 * Adding a kernel: one file defining a `const struct kb_kernel`, one line in registry.c.
 */
#ifndef KB_KERNEL_H
#define KB_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/* Element types. The order is stored in no database (names are), so it may grow. */
enum kb_dtype {
    KB_DTYPE_F64,
    KB_DTYPE_F32,
    KB_DTYPE_F16,
    KB_DTYPE_BF16,
    KB_DTYPE_I8,
    KB_DTYPE_I32,
    KB_DTYPE_COUNT
};
#define KB_DTYPE_BIT(t) (1u << (t))

/* "f32" etc.; NULL for an out-of-range value. */
const char *kb_dtype_name(enum kb_dtype t);
/* Parses "f32", "float32", "bf16", ...; returns 0 and sets *out, or -1 for an unknown name. */
int kb_dtype_parse(const char *name, enum kb_dtype *out);
/* Bytes per element (the `s` of the catalogue's byte formulas). */
double kb_dtype_size(enum kb_dtype t);

enum kb_family { KB_FAMILY_ATTENTION, KB_FAMILY_QUANT, KB_FAMILY_MOE, KB_FAMILY_SELFTEST };
const char *kb_family_name(enum kb_family f);

enum kb_device_kind { KB_DEVICE_CPU, KB_DEVICE_CUDA };

/* The problem size. Attention fields now; later families add their own fields here
 * (a field a kernel does not use stays 0 and is stored as NULL). */
struct kb_shape {
    int batch;    /* B */
    int heads;    /* H, query heads */
    int kv_heads; /* H_kv (GQA); equal to heads for MHA */
    int seq_len;  /* N */
    int head_dim; /* d */
    int causal;   /* 0 or 1 */
};

/* One planned measurement as a kernel sees it. */
struct kb_case {
    const struct kb_kernel *kernel;
    struct kb_shape shape;
    enum kb_dtype dtype;
    int threads;      /* CPU worker threads the kernel may use (>= 1) */
    int device_index; /* N of cuda:N; 0 on the CPU */
    uint64_t seed;    /* seeds the input generator: same seed, same inputs */
    void *state;      /* the kernel's own, from setup to teardown */
    void *stream;     /* CUDA kernels: the cudaStream_t the harness times; run() enqueues its work
                       * on it and returns without waiting (NULL on the CPU) */
    char error[256];  /* why run failed, when it can say (a CUDA error); recorded with the case */
};

/* Agreement of a kernel's output with the float64 reference. */
struct kb_accuracy {
    double max_abs_err;
    double rel_l2_err;   /* ||got - ref||_2 / ||ref||_2 */
    double cosine;       /* cosine similarity of got and ref */
    double tolerance;    /* rel_l2_err bound the verdict used */
    long rows_checked;   /* output rows compared (the reference may be computed on a sample) */
    long rows_total;
    int passed;          /* 1 when within tolerance and finite */
};

/* A named buffer of a case, for --dump (NumPy .npy files). */
struct kb_tensor {
    const char *name;
    enum kb_dtype dtype;
    int ndim;
    int64_t dims[4];
    const void *data;
    int is_output;
};
#define KB_TENSORS_MAX 8

/* Return codes of setup/run/verify. */
enum { KB_OK = 0, KB_ERROR = -1, KB_UNSUPPORTED = -2 };

struct kb_kernel {
    const char *name;        /* "attention.flash": the operation and algorithm */
    const char *impl;        /* "cpu.avx2", "cpu.scalar", "cuda.mma" */
    const char *description; /* one line for `kbench list` */
    enum kb_family family;
    enum kb_device_kind device;
    unsigned dtypes;         /* KB_DTYPE_BIT mask of the dtypes it accepts */
    int is_reference;        /* the float64 definition other kernels are checked against */

    /* Analytic useful FLOPs (multiply-add = 2) and the fewest bytes an ideal kernel moves. */
    double (*flops)(const struct kb_shape *shape);
    double (*bytes)(const struct kb_shape *shape, enum kb_dtype dtype);
    /* Bytes of host memory setup will allocate, so the harness can refuse a shape that does
     * not fit before allocating. */
    double (*footprint)(const struct kb_shape *shape, enum kb_dtype dtype);

    /* Allocates and fills the inputs of c->shape from c->seed. On failure writes a message
     * into err and returns KB_ERROR, or KB_UNSUPPORTED for a shape it does not handle. */
    int (*setup)(struct kb_case *c, char *err, size_t errlen);
    /* One computation: the timed region. Must be repeatable (same output each call). A CUDA
     * kernel enqueues its work on c->stream and returns without waiting, allocating nothing
     * (so the harness can time it with events and capture it into a CUDA graph); a launch
     * that fails returns KB_ERROR with the CUDA error in c->error. */
    int (*run)(struct kb_case *c);
    /* Compares the output of the last run with the float64 reference. */
    int (*verify)(struct kb_case *c, struct kb_accuracy *acc);
    /* Lists the case's buffers (inputs and outputs); returns how many, at most max. */
    int (*tensors)(const struct kb_case *c, struct kb_tensor *out, int max);
    void (*teardown)(struct kb_case *c);
};

/* ---- registry (registry.c) ---------------------------------------------------------------- */

/* Every kernel compiled in, in a stable order; *n receives the count. */
const struct kb_kernel *const *kb_registry_all(size_t *n);
/* The kernel with this name and impl (impl NULL: the first with that name), or NULL. */
const struct kb_kernel *kb_registry_find(const char *name, const char *impl);
/* 1 when the kernel matches a shell-style pattern against "name" or "name@impl"
 * ("attention.*", "attention.flash@cpu.*"). */
int kb_kernel_matches(const struct kb_kernel *k, const char *pattern);

#endif
