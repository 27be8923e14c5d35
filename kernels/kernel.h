/* kernel.h - operations and their implementations: the whole interface between a kernel and
 * the harness.
 *
 * An operation (struct kb_operation: softmax attention, the INT8 GEMM, the MoE router) is what
 * is computed, defined once: its axes and dtypes, how its inputs are generated and laid out,
 * its float64 reference and tolerance, its useful FLOPs, minimum bytes and footprint. An
 * implementation (struct kb_kernel: "attention.flash@cpu.avx2") supplies only what differs:
 * its device, the dtypes it takes, and setup (its own workspace, device copies of the inputs),
 * run, teardown. The harness owns the inputs (the operation fills c->io before setup) and the
 * verdict (the operation's verify reads c->io's outputs after run), so two implementations of
 * one operation see the same bytes and are judged by the same reference and counts. Kernels
 * never time themselves.
 *
 * Adding an implementation: one file defining a `const struct kb_kernel` whose .op names the
 * operation, one line in registry.c (and one in Makefile.am).
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
    KB_DTYPE_I4,       /* two's complement nibbles, packed two per byte (low nibble first) */
    KB_DTYPE_FP8_E4M3, /* OCP FP8: 4 exponent bits, 3 mantissa bits, no infinities */
    KB_DTYPE_FP8_E5M2, /* OCP FP8: 5 exponent bits, 2 mantissa bits, IEEE-like */
    /* 4-bit floats E2M1 (OCP MX v1.0), packed two per byte (low nibble first) like I4; the dtype
     * names the block-scaled format they belong to (quant.fp4_*): */
    KB_DTYPE_MXFP4,    /* E2M1, one E8M0 scale per 32 elements (OCP Microscaling) */
    KB_DTYPE_NVFP4,    /* E2M1, one E4M3 scale per 16 elements and one float32 per tensor (NVIDIA) */
    KB_DTYPE_E8M0,     /* OCP MX shared scale: a biased power of two 2^(code-127), 0xFF NaN */
    KB_DTYPE_COUNT
};
#define KB_DTYPE_BIT(t) (1u << (t))
/* 1 for the dtypes stored two elements to a byte (I4, MXFP4, NVFP4). */
static inline int kb_dtype_is_nibble(enum kb_dtype t)
{
    return t == KB_DTYPE_I4 || t == KB_DTYPE_MXFP4 || t == KB_DTYPE_NVFP4;
}

/* "f32" etc.; NULL for an out-of-range value. */
const char *kb_dtype_name(enum kb_dtype t);
/* Parses "f32", "float32", "bf16", ...; returns 0 and sets *out, or -1 for an unknown name. */
int kb_dtype_parse(const char *name, enum kb_dtype *out);
/* Bytes per element (the `s` of the catalogue's byte formulas). */
double kb_dtype_size(enum kb_dtype t);

enum kb_family { KB_FAMILY_ATTENTION, KB_FAMILY_QUANT, KB_FAMILY_MOE, KB_FAMILY_SELFTEST };
const char *kb_family_name(enum kb_family f);

enum kb_device_kind { KB_DEVICE_CPU, KB_DEVICE_CUDA };

/* The problem size: one field per axis a kernel may sweep. A kernel says which axes it uses
 * (kb_kernel.axes); the others stay 0 and are stored as NULL. Enumerated axes (feature, routing,
 * input, granularity, ratio, linear_kind) count from 1 so that 0 keeps meaning "not used". New fields go at the end
 * (tests build shapes positionally). */
struct kb_shape {
    /* attention */
    int batch;    /* B */
    int heads;    /* H, query heads */
    int kv_heads; /* H_kv (GQA); equal to heads for MHA */
    int seq_len;  /* N: tokens of context (the KV cache in decode) */
    int head_dim; /* d */
    int causal;   /* 0 or 1 */
    int decode;   /* 1: one new query per sequence against an N-token KV cache */
    int window;   /* W of sliding-window attention: each query sees the W latest keys */
    int block;    /* tokens per key block (block-sparse attention) */
    int topk_blocks; /* key blocks each query block keeps (block-sparse attention) */
    int chunk;    /* chunk length of chunkwise linear / gated attention */
    int feature;  /* enum kb_feature_map of linear attention */
    int decay;    /* 1: per-head exponential decay (RetNet / Lightning Attention) */
    /* quantization and GEMM: C[M,N] = A[M,K] B[K,N] */
    int m, n, k;
    int group;       /* elements per quantization group along K */
    int granularity; /* enum kb_granularity */
    /* mixture of experts */
    int tokens;  /* T */
    int hidden;  /* h, model width */
    int ffn;     /* f, expert FFN width */
    int experts; /* E */
    int top_k;   /* experts per token */
    int routing; /* enum kb_routing: the skew of the router's logits */
    /* all families */
    int input;   /* enum kb_input: the distribution the inputs are drawn from */
    /* attention decode */
    int page;    /* tokens per page of a paged KV cache (block table); 0: one contiguous cache */
    /* hybrid attention stacks (attention.hybrid) */
    int layers;  /* L: attention layers in the stack */
    int ratio;   /* enum kb_hybrid_ratio: linear-family layers per softmax layer */
    int linear_kind; /* enum kb_linear_kind: what a hybrid stack's linear-family layers are */
    /* state-space models */
    int state;   /* S: SSM state size per head (Mamba-2's d_state) */
    /* packed ragged batches (attention.varlen) */
    int lengths; /* enum kb_lengths: the mix of sequence lengths (batch sequences, at most seq_len) */
    /* several GPUs: how many one case spans (cuda:N .. cuda:N+span-1); only implementations that
     * span devices (moe.layer@cuda.ep, attention.linear@cuda.sp) have the axis */
    int span;
};

enum kb_feature_map { KB_FEATURE_ELU1 = 1, KB_FEATURE_RELU = 2 };
enum kb_granularity { KB_GRAN_TENSOR = 1, KB_GRAN_CHANNEL = 2, KB_GRAN_GROUP = 3 };
enum kb_routing { KB_ROUTING_UNIFORM = 1, KB_ROUTING_ZIPF = 2, KB_ROUTING_ONE = 3 };
/* normal N(0,1); uniform U(-1,1); normal with a few channels scaled x50-x100 (the outliers that
 * break naive quantization) */
enum kb_input { KB_INPUT_NORMAL = 1, KB_INPUT_UNIFORM = 2, KB_INPUT_OUTLIER = 3 };
/* linear:softmax layers of a hybrid stack: every layer softmax, r linear layers then one softmax
 * layer (r = 1, 3, 6), every layer linear */
enum kb_hybrid_ratio {
    KB_RATIO_SOFTMAX = 1, KB_RATIO_1_1 = 2, KB_RATIO_3_1 = 3, KB_RATIO_6_1 = 4, KB_RATIO_LINEAR = 5
};
/* the linear-family layers of a hybrid stack: attention.linear (normalised, elu+1) or attention.gla */
enum kb_linear_kind { KB_LINEAR_KIND_LINEAR = 1, KB_LINEAR_KIND_GLA = 2 };
/* sequence lengths of a packed ragged batch (datasets/generate.h, gen_seq_lengths): uniform in
 * [N/4, N]; long-tail (Pareto, a few long sequences, the longest N); equal (all N) */
enum kb_lengths { KB_LENGTHS_UNIFORM = 1, KB_LENGTHS_LONGTAIL = 2, KB_LENGTHS_EQUAL = 3 };

/* The axes, in the order of struct kb_shape's fields. */
enum kb_axis {
    KB_AXIS_BATCH, KB_AXIS_HEADS, KB_AXIS_KV_HEADS, KB_AXIS_SEQ, KB_AXIS_HEAD_DIM, KB_AXIS_CAUSAL,
    KB_AXIS_DECODE, KB_AXIS_WINDOW, KB_AXIS_BLOCK, KB_AXIS_TOPK_BLOCKS, KB_AXIS_CHUNK,
    KB_AXIS_FEATURE, KB_AXIS_DECAY,
    KB_AXIS_M, KB_AXIS_N, KB_AXIS_K, KB_AXIS_GROUP, KB_AXIS_GRANULARITY,
    KB_AXIS_TOKENS, KB_AXIS_HIDDEN, KB_AXIS_FFN, KB_AXIS_EXPERTS, KB_AXIS_TOP_K, KB_AXIS_ROUTING,
    KB_AXIS_INPUT, KB_AXIS_PAGE,
    KB_AXIS_LAYERS, KB_AXIS_RATIO, KB_AXIS_LINEAR_KIND,
    KB_AXIS_STATE,
    KB_AXIS_LENGTHS,
    KB_AXIS_SPAN,
    KB_AXIS_COUNT
};
#define KB_AXIS_BIT(a) (UINT64_C(1) << (a))
/* The axes of each family, for kernels that leave kb_kernel.axes 0. */
#define KB_AXES_ATTENTION (KB_AXIS_BIT(KB_AXIS_BATCH) | KB_AXIS_BIT(KB_AXIS_HEADS) | \
    KB_AXIS_BIT(KB_AXIS_KV_HEADS) | KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_HEAD_DIM) | \
    KB_AXIS_BIT(KB_AXIS_CAUSAL) | KB_AXIS_BIT(KB_AXIS_INPUT))
#define KB_AXES_GEMM (KB_AXIS_BIT(KB_AXIS_M) | KB_AXIS_BIT(KB_AXIS_N) | KB_AXIS_BIT(KB_AXIS_K) | \
    KB_AXIS_BIT(KB_AXIS_INPUT))
#define KB_AXES_QUANT (KB_AXES_GEMM | KB_AXIS_BIT(KB_AXIS_GROUP) | KB_AXIS_BIT(KB_AXIS_GRANULARITY))
#define KB_AXES_MOE (KB_AXIS_BIT(KB_AXIS_TOKENS) | KB_AXIS_BIT(KB_AXIS_HIDDEN) | \
    KB_AXIS_BIT(KB_AXIS_FFN) | KB_AXIS_BIT(KB_AXIS_EXPERTS) | KB_AXIS_BIT(KB_AXIS_TOP_K) | \
    KB_AXIS_BIT(KB_AXIS_ROUTING) | KB_AXIS_BIT(KB_AXIS_INPUT))
/* Axes of how an implementation runs, not of what its operation computes: any implementation may
 * add them to its axes beyond the operation's (span: the GPUs one case spans, --span). */
#define KB_AXES_EXECUTION KB_AXIS_BIT(KB_AXIS_SPAN)
/* selftest kernels: seq is their size knob; causal switches selftest.oom's footprint lie */
#define KB_AXES_SELFTEST (KB_AXIS_BIT(KB_AXIS_SEQ) | KB_AXIS_BIT(KB_AXIS_CAUSAL))

enum kb_axis_kind { KB_AXIS_KIND_INT, KB_AXIS_KIND_BOOL, KB_AXIS_KIND_ENUM };

struct kb_axis_info {
    const char *key;     /* the suite-file key and --axis flag: "seq", "m", "routing" */
    const char *column;  /* the column of table cases: "seq_len", "gemm_m", "routing" */
    const char *label;   /* in shape strings: "n" gives "n=4096"; NULL: bool/enum print a word */
    const char *help;
    enum kb_axis_kind kind;
    int min, max;        /* accepted values (enum: 1..number of names) */
    int fallback;        /* the value a kernel that uses the axis gets when no suite sets it */
    const char *const *names; /* enum value names, index 1..max (index 0 unused) */
};

/* axes.c */
const struct kb_axis_info *kb_axis_info(enum kb_axis a);
/* The axis with this key, or -1. */
int kb_axis_by_key(const char *key);
int kb_shape_get(const struct kb_shape *s, enum kb_axis a);
void kb_shape_set(struct kb_shape *s, enum kb_axis a, int value);
/* The name of an enum axis value ("relu"), or NULL. */
const char *kb_axis_value_name(enum kb_axis a, int value);
/* Parses an enum value name; returns the value (>= 1) or -1. */
int kb_axis_value_parse(enum kb_axis a, const char *name);
/* Every value the planner accepts for the axis: "1..4096", "0,1", "uniform,zipf,one,all". */
void kb_axis_values_string(enum kb_axis a, char *buf, size_t len);
/* "b=1 h=8 n=4096 d=128 causal", "M=512 N=512 K=512 g=128 group", "T=4096 hid=4096 ...":
 * the axes in `axes` (0: every non-zero field). */
void kb_shape_string(const struct kb_shape *s, uint64_t axes, char *buf, size_t len);

/* The most input copies a case is asked for (kb_case.input_copies_wanted): tiny inputs then
 * rotate through fewer than would overflow L2, their calls partly warm. */
#define KB_INPUT_COPIES_MAX 256

/* A named buffer of a case, for --dump (NumPy .npy files). */
struct kb_tensor {
    const char *name;
    enum kb_dtype dtype;
    int ndim;
    int64_t dims[4];
    const void *data;
    int is_output;
};
#define KB_TENSORS_MAX 16

/* The tensors of one case, which the harness owns: the operation allocates them (through
 * kb_operands_add), fills the inputs from the case's seed and verifies the outputs; an
 * implementation reads tensor[i].data and writes its results into buffer[i] of the outputs.
 * Inputs come first, in the order the operation documents (its header names the indices). */
struct kb_operands {
    int count;
    struct kb_tensor tensor[KB_TENSORS_MAX];
    void *buffer[KB_TENSORS_MAX]; /* tensor[i].data, writable */
    size_t bytes[KB_TENSORS_MAX]; /* allocated bytes of buffer[i] (padding included) */
    void *state;                  /* the operation's own (what inputs() derived for verify), or NULL */
    void (*free_state)(void *state); /* NULL: free() */
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
    /* Input rotation (GPU). Inputs smaller than L2 stay cached from one call to the next, so
     * back-to-back calls would be timed warm even in a cold-cache run. The harness asks, before
     * setup, for input_copies_wanted copies (enough to overflow L2; 1 when no rotation is
     * wanted). A kernel that can, allocates them in setup and sets input_copies to how many it
     * made (0 or 1: it keeps one). Before each run the harness sets input_copy in
     * [0, input_copies) and run() reads that copy. Outputs need no copies. The harness asks
     * for at most KB_INPUT_COPIES_MAX. */
    int input_copies_wanted;
    int input_copies;
    int input_copy;
    /* The operation's tensors: inputs filled before setup, outputs verified after run. */
    struct kb_operands io;
};

/* The input or output tensor i of the case's operands. */
static inline const void *kb_input(const struct kb_case *c, int i)
{
    return c->io.tensor[i].data;
}
static inline void *kb_output(struct kb_case *c, int i)
{
    return c->io.buffer[i];
}

/* Agreement of a kernel's output with the float64 reference. */
struct kb_accuracy {
    double max_abs_err;
    double rel_l2_err;   /* ||got - ref||_2 / ||ref||_2 */
    double cosine;       /* cosine similarity of got and ref */
    double tolerance;    /* rel_l2_err bound the verdict used */
    long rows_checked;   /* output rows compared (the reference may be computed on a sample) */
    long rows_total;
    int passed;          /* 1 when within tolerance and finite (and bit-exact where checked) */
    /* Quantized kernels are also compared bit for bit with a scalar emulation of the same
     * integer arithmetic: elements compared (0: no such check) and how many differed. */
    long exact_checked;
    long exact_mismatches;
};

/* One named value: what a kernel's stats callback below reports, and the harness's own counters
 * (harness/counters.h gathers these into a report beside PAPI's and getrusage's). */
struct kb_counter {
    char backend[12]; /* "papi", "rusage", "derived", "kernel" (kb_kernel.stats) */
    char name[96];    /* "PAPI_TOT_CYC", "minor_faults", "IPC", CUPTI's long metric names */
    double value;     /* per kernel call for papi; per case for rusage */
    char unit[16];    /* "count", "s", "ratio" */
};

/* Return codes of setup/run/verify. */
enum { KB_OK = 0, KB_ERROR = -1, KB_UNSUPPORTED = -2 };

/* ---- operations ---------------------------------------------------------------------------- */

struct kb_operation {
    const char *name;        /* "attention.softmax": what is computed (not how) */
    const char *description; /* one line for `kbench list --operations` */
    enum kb_family family;
    uint64_t axes;           /* KB_AXIS_BIT set of the shape axes it is defined over */
    unsigned dtypes;         /* KB_DTYPE_BIT mask of the dtypes it is defined for */
    const char *layout;      /* how its tensors are laid out, for dumps' manifest.json */

    /* Analytic useful FLOPs (multiply-add = 2) and the fewest bytes an ideal kernel moves: one
     * count per operation, whatever an implementation does. */
    double (*flops)(const struct kb_shape *shape);
    double (*bytes)(const struct kb_shape *shape, enum kb_dtype dtype);
    /* Host bytes inputs() and verify() allocate, so the harness refuses a shape that does not
     * fit before allocating (an implementation adds its workspace). */
    double (*footprint)(const struct kb_shape *shape, enum kb_dtype dtype);

    /* Checks the shape (and may complete it: attention's kv_heads 0 becomes heads), then
     * allocates every tensor with kb_operands_add and fills the inputs from seed: the same
     * (shape, dtype, seed) gives the same bytes. KB_UNSUPPORTED with a message for a shape or
     * dtype it does not define, KB_ERROR (out of memory); on failure the harness frees io. */
    int (*inputs)(struct kb_operands *io, struct kb_shape *shape, enum kb_dtype dtype, uint64_t seed,
                  char *err, size_t errlen);
    /* Compares the outputs in io with the float64 reference (on a sample of rows where the
     * whole costs too much), within the operation's tolerance for the dtype, into acc.
     * threads: how many the reference may use. KB_OK, or KB_ERROR when it could not judge
     * (out of memory: acc then says infinite error). */
    int (*verify)(const struct kb_operands *io, const struct kb_shape *shape, enum kb_dtype dtype,
                  uint64_t seed, int threads, struct kb_accuracy *acc);
};

/* operands.c: allocating a case's tensors. */
/* Appends a tensor of dims[0..ndim-1] elements of dtype (I4: two per byte), 64-byte aligned,
 * zeroed, followed by pad_bytes more zero bytes (vector code may read a short way past the
 * end). Returns its index, or -1 with a message in err (out of memory, more than
 * KB_TENSORS_MAX tensors, a size that overflows). */
int kb_operands_add(struct kb_operands *io, const char *name, enum kb_dtype dtype, int ndim,
                    const int64_t *dims, int is_output, size_t pad_bytes, char *err, size_t errlen);
/* Elements of tensor i (the product of its dims). */
size_t kb_operands_elems(const struct kb_operands *io, int i);
/* The index of the tensor called name, or -1. */
int kb_operands_find(const struct kb_operands *io, const char *name);
/* Frees every buffer and the state; io is empty afterwards (safe to call twice). */
void kb_operands_free(struct kb_operands *io);

/* ---- implementations ----------------------------------------------------------------------- */

struct kb_kernel {
    const char *name;        /* "attention.flash": what users type and databases store; the
                              * operation's name or the name of an algorithm for it */
    const char *impl;        /* "cpu.avx2", "cpu.scalar", "cuda.mma" */
    const char *description; /* one line for `kbench list` */
    const struct kb_operation *op; /* what it computes: inputs, reference, counts */
    enum kb_device_kind device;
    unsigned dtypes;         /* KB_DTYPE_BIT mask of the dtypes it accepts (within op->dtypes) */
    int is_reference;        /* the float64 definition other kernels are checked against */
    /* KB_AXIS_BIT set of the shape axes it sweeps: 0 means all of the operation's; a subset
     * narrows them (an implementation without a decode mode leaves decode out). */
    uint64_t axes;

    /* Optional: host bytes of workspace setup allocates beyond the operands (packed panels,
     * scratch; a CUDA kernel's own device buffers), so the harness refuses a shape that does
     * not fit before allocating. NULL: none. */
    double (*footprint)(const struct kb_shape *shape, enum kb_dtype dtype);

    /* Prepares a case: c->io already holds the operation's inputs; setup allocates only its
     * own workspace and device copies (converting to c->dtype as it needs). On failure writes
     * a message into err and returns KB_ERROR, or KB_UNSUPPORTED for a shape it does not
     * handle. */
    int (*setup)(struct kb_case *c, char *err, size_t errlen);
    /* One computation: the timed region. Must be repeatable (same output each call). A CUDA
     * kernel enqueues its work on c->stream and returns without waiting, allocating nothing
     * (so the harness can time it with events and capture it into a CUDA graph); a launch
     * that fails returns KB_ERROR with the CUDA error in c->error. */
    int (*run)(struct kb_case *c);
    /* Optional: puts the last run's results into c->io's outputs, outside the timed region (a
     * CUDA kernel copies them to the host; a CPU kernel with its own layout converts). NULL:
     * run wrote them there. KB_OK or KB_ERROR with the reason in c->error. */
    int (*collect)(struct kb_case *c);
    /* Optional: a check of the implementation's own arithmetic beyond the operation's verdict
     * (an integer kernel compared bit for bit with a scalar emulation of its scheme). It may
     * only make acc stricter: set exact_checked/exact_mismatches, clear passed. */
    int (*check)(const struct kb_case *c, struct kb_accuracy *acc);
    /* Optional: its own buffers beyond c->io for --dump (quantized copies, packed panels).
     * Returns how many it wrote, at most max. */
    int (*tensors)(const struct kb_case *c, struct kb_tensor *out, int max);
    void (*teardown)(struct kb_case *c);
    /* Optional (NULL: none). Values the kernel itself observed in its last run that no hardware
     * counter can see, such as a MoE router's tokens per expert. The runner calls it once, right
     * after verify (outside the timed region), and stores what it writes as counters of backend
     * "kernel" beside the PAPI and rusage ones. Fill each out[i]'s name (a stable dotted key,
     * "moe.load.max"), value and unit ("count", "ratio"); the backend is set by the runner.
     * Writes at most max counters and returns how many (0 when there is nothing to say). The one
     * place a kernel reports a time of its own: work it does once in setup, outside run, that a
     * reader needs beside the latency (attention.int8's quantization, "int8.quantize_s" in "s").
     * `kbench show` lists these figures under the run's table. */
    int (*stats)(const struct kb_case *c, struct kb_counter *out, int max);
    /* Optional (0: none): KB_AXIS_BIT set of boolean axes (within .axes) the kernel runs only
     * with set to 1, such as a decode step's KB_AXIS_BIT(KB_AXIS_DECODE). The planner plans it
     * no case where such an axis is 0 (nor where a sweep leaves it unset), so a pattern like
     * "attention.flash" over prefill shapes does not pick up decode-only implementations. */
    uint64_t required_axes;
};

/* kernel.c: what the harness asks of an implementation (its operation's answers). */
enum kb_family kb_kernel_family(const struct kb_kernel *k);
double kb_kernel_flops(const struct kb_kernel *k, const struct kb_shape *s);
double kb_kernel_bytes(const struct kb_kernel *k, const struct kb_shape *s, enum kb_dtype t);
/* Host bytes a case needs: the operation's footprint plus the implementation's workspace. */
double kb_kernel_footprint(const struct kb_kernel *k, const struct kb_shape *s, enum kb_dtype t);
/* The operation's name. */
const char *kb_kernel_operation_name(const struct kb_kernel *k);

/* ---- registry (registry.c) ---------------------------------------------------------------- */

/* Every kernel: those compiled in, in a stable order, then those plugins added (in the order
 * they were loaded); *n receives the count. */
const struct kb_kernel *const *kb_registry_all(size_t *n);
/* The kernel with this name and impl (impl NULL: the first with that name), or NULL. */
const struct kb_kernel *kb_registry_find(const char *name, const char *impl);
/* Adds a kernel after the others (a plugin's; origin: the file it came from). 0, or -1 with a
 * message in err: a name@impl that a built-in kernel or an earlier addition has, or an operation
 * (.op) other than the registered one of the same name (naming both). */
int kb_registry_add(const struct kb_kernel *k, const char *origin, char *err, size_t errlen);
/* Every operation some registered kernel implements, in registry order; *n the count. */
const struct kb_operation *const *kb_registry_operations(size_t *n);
/* The operation with this name, or NULL. */
const struct kb_operation *kb_registry_operation(const char *name);
/* The file a kernel was added from, or NULL for a built-in kernel. */
const char *kb_registry_origin(const struct kb_kernel *k);
/* The axes the kernel sweeps: k->axes, else its operation's. */
uint64_t kb_kernel_axes(const struct kb_kernel *k);
/* 1 when the kernel matches a shell-style pattern against "name" or "name@impl"
 * ("attention.*", "attention.flash@cpu.*"). */
int kb_kernel_matches(const struct kb_kernel *k, const char *pattern);

#endif
