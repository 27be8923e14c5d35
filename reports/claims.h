/* claims.h - paper claims as data, and the verdict of this machine's measurements on them.
 *
 * A claim file (datasets/claims/NAME.claim) quotes a paper and says how to test the quote:
 *
 *     id          = lightning-attention-2
 *     paper       = Lightning Attention-2: A Free Lunch for ...
 *     quote       = retains consistent training and inference speed regardless of input ...
 *     hardware    = NVIDIA A100 80GB              (what the paper measured on)
 *     metric      = flat                          (speedup | crossover | flat | exponent | accuracy)
 *     candidate   = attention.linear@cpu          (kernel pattern: name or name@impl)
 *     baseline    = attention.flash               (optional for flat / exponent / accuracy)
 *     paper_value = 1.0                           (the paper's figure, in the metric's unit)
 *     tolerance   = 0.10                          (how far "holds" may be from paper_value)
 *     min_cosine  = 0.999                         (optional: an accuracy bound the speed claim needs)
 *     memory_ratio = 4                            (optional: the paper's memory saving, checked
 *                                                  from the kernels' analytic footprints)
 *     max_time    = 0.3                           (optional: kbench run's per-case budget)
 *     [run]                                       (axes for both kernels, suite syntax)
 *     seq = 1k:16k:x2
 *     [candidate]                                 (axes for the candidate only)
 *     seq = 1k:256k:x2
 *
 * The metrics, with candidate time t_c and baseline time t_b (medians):
 *   speedup    t_b / t_c at the largest shared size (or at_size), with its confidence interval
 *   crossover  the size from which the candidate is faster than the baseline
 *   flat       the spread of the candidate's time per token, max/min - 1, across the sweep
 *   exponent   the candidate's fitted scaling exponent (log-log, with a 95% CI)
 *   accuracy   the candidate's lowest cosine similarity against the float64 reference
 */
#ifndef KB_CLAIMS_H
#define KB_CLAIMS_H

#include <stddef.h>
#include "harness/store.h"

enum claim_metric { CLAIM_SPEEDUP, CLAIM_CROSSOVER, CLAIM_FLAT, CLAIM_EXPONENT, CLAIM_ACCURACY };

struct claim {
    char path[512];
    char id[64];
    char paper[256];
    char quote[512];
    char hardware[128];
    char note[512];
    enum claim_metric metric;
    double paper_value;
    double tolerance;    /* relative for speedup/flat/crossover, absolute for exponent/accuracy */
    double min_cosine;   /* NaN: none */
    double memory_ratio; /* NaN: none */
    long at_size;        /* 0: the largest size both kernels ran */
    double max_time;     /* NaN: kbench run's default */
    int gpus;            /* GPUs the paper's setting needs (key gpus; 0: none): with fewer here the
                          * claim cannot be tested, and where it runs the verdict says how many */
    char candidate[96], baseline[96]; /* baseline "" when the metric needs none */
    char plugins[256];   /* plugins whose implementations it names (a peer baseline: docs/peers.md) */
    char plugin_error[512]; /* why one could not be loaded here ("" when all were): its kernels are
                             * then missing, and the claim cannot be judged here */
    char suite[4096];    /* the sweep as suite text: [candidate] and [baseline] groups */
};

/* Reads one claim file; errors name the file, line and column. Returns 0 or -1. */
int claim_load(const char *path, struct claim *out, char *err, size_t errlen);
/* Every *.claim file of a directory, sorted by file name, into a malloc'd array. Returns the
 * count, or -1 (a file that does not parse is an error naming it). */
int claims_load_dir(const char *dir, struct claim **out, char *err, size_t errlen);
/* The claims directory: $KBENCH_CLAIMS, ./datasets/claims, the source tree's, the installed. */
int claims_find_dir(char *path, size_t len);
const char *claim_metric_name(enum claim_metric m);

/* The kernels a claim needs that this build lacks, as "attention.gla, ..." ("" when none). */
void claim_missing_kernels(const struct claim *c, char *buf, size_t len);
/* The sides of a claim with no kernel for any of the devices ("cpu,cuda:0"; NULL: cpu), as
 * "attention.linear (no cuda implementation)" ("" when both sides can run there). */
void claim_missing_on_devices(const struct claim *c, const char *devices, char *buf, size_t len);
/* The claim's sweep (c->suite) with each side's alternatives narrowed to those that have a
 * kernel on the devices (NULL: the CPU), so that "attention.sdpa@cuda.torch-flash,
 * attention.flash@cpu" runs the CPU kernel on a CPU and the peer on a GPU; a side none of whose
 * alternatives runs there is left whole (the planner then says why). */
void claim_suite_on_devices(const struct claim *c, const char *devices, char *out, size_t len);

enum claim_verdict { CLAIM_HOLDS, CLAIM_PARTLY, CLAIM_FAILS, CLAIM_UNTESTABLE };
const char *claim_verdict_name(enum claim_verdict v); /* "holds", "partly", "does not hold here", ... */

struct claim_result {
    enum claim_verdict verdict;
    double measured, ci_lo, ci_hi; /* in the metric's unit; NaN where not measured */
    char measured_text[128];       /* "3.1x (2.9-3.3) at n=32768" */
    char reason[384];              /* why this verdict, in words */
};

/* Judges a claim from the results of a run (the rows of one run, as store_list_results gives).
 * Never fails: missing or failed cases give CLAIM_UNTESTABLE with the reason. */
void claim_evaluate(const struct claim *c, const struct result_row *rows, long n_rows,
                    struct claim_result *out);

#endif
