/* compare.h - two stored runs compared case by case: the verdicts behind `kbench compare`,
 * `kbench nightly` and the dashboard's compare screen.
 *
 * Cases are matched by kernel, impl, device, dtype, shape, threads and cache state. For a case
 * timed in both runs: the ratio of medians (candidate / base) with a bootstrap confidence
 * interval, and a one-sided Mann-Whitney U test on the raw samples (samples marked throttled are
 * left out, as the statistics leave them out). A case REGRESSES when all three hold:
 *   - the slowdown is shown: p (candidate slower) < alpha, or the (1 − alpha) CI of the ratio
 *     lies wholly above 1 + threshold (the CI decides where the U test cannot: with 3 and 4
 *     samples its smallest possible p is 1/35 = 0.029, never below alpha = 0.01);
 *   - it is larger than the threshold: ratio − 1 > threshold (default 5%, overridable per kernel
 *     pattern, e.g. from a suite group's `threshold = 0.08` or `--threshold-for`);
 *   - it is beyond the noise of both runs: ratio − 1 > noise(base) + noise(cand), where noise is
 *     the relative half-width of a run's own 95% CI of its median.
 * An IMPROVEMENT is the mirror image. A case is INCONCLUSIVE, and fails the comparison unless
 * allow_inconclusive, when it cannot be judged and might have regressed:
 *   - its measured slowdown is above the threshold but neither the U test (too few samples to
 *     reach alpha) nor the CI (fewer than 3 samples a side, or a CI reaching below
 *     1 + threshold) can show it;
 *   - or a side did not reach the minimum number of samples its run asked for (stats.n <
 *     stats.min_samples, e.g. after throttled samples were set aside): never judged on too few.
 * A change within the threshold is SAME however few the samples, so identical runs never alarm.
 * Where both sides stored each sample's SM clock, the note says whether the change survives
 * clock normalisation (time × clock). Beside the timing: cases new in the candidate, missing from
 * it, newly failing (ok or skipped in the base, a failure status in the candidate), fixed, still
 * failing, and accuracy drops: the relative L2 error grew by more than accuracy_slack × the
 * kernel's tolerance (quantized kernels trade accuracy for speed; a drop inside the tolerance
 * still passes verification, so it is caught here).
 *
 * Two runs with no case timed or run in both (or fewer matched than min_matched of all their
 * cases) cannot vouch for anything: the summary says so (too_few_matched) and the outcome fails.
 */
#ifndef KB_COMPARE_H
#define KB_COMPARE_H

#include <stddef.h>
#include <stdint.h>
#include "harness/store.h"

#define COMPARE_OVERRIDES_MAX 64

struct compare_threshold {
    char pattern[96];   /* shell pattern over "kernel" or "kernel@impl" */
    double threshold;   /* fraction: 0.08 = 8% */
};

struct compare_options {
    double alpha;            /* significance level of the U test (0.01); the ratio CI is 1 − alpha */
    double threshold;        /* default slowdown threshold (0.05) */
    double accuracy_slack;   /* error growth, as a fraction of the tolerance, that is a drop (0.1) */
    unsigned resamples;      /* bootstrap resamples (2000) */
    uint64_t seed;           /* bootstrap seed (fixed: the same runs give the same verdicts) */
    int cross_machine;       /* 0: refuse runs from different machine fingerprints */
    int allow_inconclusive;  /* 1: inconclusive cases do not fail the comparison */
    double min_matched;      /* fraction of all cases that must be in both runs (0: at least one) */
    /* Per-kernel thresholds; the last matching entry wins, so later (command-line) entries
     * override earlier (suite) ones. */
    struct compare_threshold overrides[COMPARE_OVERRIDES_MAX];
    int n_overrides;
};

void compare_options_default(struct compare_options *o);
/* Adds "PATTERN=FRAC" (the --threshold-for syntax); 0, or -1 with a message. */
int compare_add_override(struct compare_options *o, const char *spec, char *err, size_t errlen);
/* Adds the thresholds a suite file sets (top-level or per group) for its groups' kernel
 * patterns; 0, or -1 with a message naming the file. */
int compare_add_suite_thresholds(struct compare_options *o, const char *suite_path, char *err, size_t errlen);
/* The threshold that applies to a kernel. */
double compare_threshold_for(const struct compare_options *o, const char *kernel, const char *impl);

enum compare_verdict {
    VERDICT_SAME,           /* timed in both, no significant change beyond threshold and noise */
    VERDICT_REGRESSED,
    VERDICT_INCONCLUSIVE,   /* a slowdown beyond the threshold that the samples cannot decide, or
                             * a side short of its minimum samples */
    VERDICT_IMPROVED,
    VERDICT_NEW,            /* only in the candidate */
    VERDICT_MISSING,        /* only in the base */
    VERDICT_NEWLY_FAILING,  /* failed in the candidate, not in the base */
    VERDICT_STILL_FAILING,  /* failed in both */
    VERDICT_FIXED,          /* failed in the base, not in the candidate */
    VERDICT_ACCURACY_DROP,  /* timing aside, the error grew beyond the slack */
    VERDICT_UNTIMED,        /* neither failed nor timed in one of them (skipped) */
    VERDICT_COUNT
};
/* "same", "regressed", "inconclusive", "improved", "new", "missing", "newly_failing",
 * "still_failing", "fixed", "accuracy_drop", "untimed". */
const char *compare_verdict_name(enum compare_verdict v);
/* 1 for the verdicts that fail a comparison: regressed, newly_failing, accuracy_drop, and
 * inconclusive unless o->allow_inconclusive. */
int compare_verdict_fails(enum compare_verdict v, const struct compare_options *o);

/* What re-measuring a flagged case made of it (confirm.h). */
enum compare_confirm {
    CONFIRM_NONE,       /* not re-measured */
    CONFIRM_CONFIRMED,  /* still regressed: the alert stands */
    CONFIRM_DISSOLVED,  /* not regressed when measured again: the first measurement was disturbed */
    CONFIRM_UNDECIDED,  /* still inconclusive: the verdict stands */
    CONFIRM_FAILED,     /* the re-measurement failed (see reason): the first verdict stands */
};
/* "", "confirmed", "dissolved", "undecided", "confirmation failed". */
const char *compare_confirm_name(enum compare_confirm c);

/* One counter whose change is significant (compare.c: the rule in compare_counters_moved). */
struct compare_counter_change {
    char backend[12], name[96], unit[16];
    double base, cand;   /* the values in each run */
    double change;       /* cand / base - 1; +INFINITY from zero */
};

struct compare_case {
    /* identity */
    char kernel[64], impl[32], device[16], dtype[8];
    struct kb_shape shape;
    int threads, cold_cache;
    /* each side: case id (0 when absent), status, samples, median, noise, accuracy */
    int64_t base_case, cand_case;
    char base_status[16], cand_status[16];
    char cand_error[256];
    size_t base_n, cand_n;
    double base_median, cand_median;      /* seconds per call; NaN when not timed */
    double base_noise, cand_noise;        /* relative CI half-widths */
    double base_err, cand_err, tolerance; /* relative L2 error; NaN when not verified */
    /* the comparison, NaN where not timed in both */
    double ratio, ratio_lo, ratio_hi;     /* cand / base median, with its (1 − alpha) CI */
    double p_slower, p_faster;            /* one-sided U-test p-values */
    double p_min;                         /* the smallest p the U test can give these sample counts */
    double threshold;                     /* the threshold applied to this case */
    long base_min_samples, cand_min_samples; /* the minimum each run asked for; -1 unknown */
    long base_set_aside, cand_set_aside;     /* throttled samples kept out; -1 unknown */
    double clock_ratio;                   /* the ratio of medians of time × SM clock; NaN unknown */
    enum compare_verdict verdict;
    char reason[240];                     /* one line: why this verdict */
    char note[160];                       /* "" or one more line (clock normalisation) */
    /* confirmation (confirm.h): a flagged case measured again; CONFIRM_NONE when it was not */
    enum compare_confirm confirm;
    enum compare_verdict first_verdict;   /* the verdict of the first measurement */
    char first_reason[240];               /* and why */
    int confirm_rounds;                   /* re-measurements of each side taken */
    int confirm_interleaved;              /* 1: the baseline build was measured again too */
    int64_t confirm_base_run, confirm_cand_run; /* the last re-measurement runs (0: none) */
    /* counters that moved (regressed and improved cases, compare_counters_moved) */
    struct compare_counter_change *moved;
    int n_moved;
    int counters_base, counters_cand;     /* counters stored for each side (0: nothing counted) */
    char cand_papi[160];                  /* the candidate's PAPI status ("ok", "unavailable: why"; "" none) */
};

struct compare_summary {
    int total;
    int count[VERDICT_COUNT];   /* per verdict */
    int failing;                /* cases whose verdict fails the comparison */
    int matched;                /* cases in both runs */
    int too_few_matched;        /* no case in common, or under options.min_matched of them */
    int confirmed, dissolved;   /* flagged cases re-measured: the alert stood, or went away */
    int reconfirmed;            /* cases re-measured at all (confirm.h) */
};

#define COMPARE_MAX_SHARDS 256

struct compare_result {
    struct run_row base, cand;  /* cand: the first candidate run (compare_runs_union: of several) */
    char base_machine[17], cand_machine[17];
    int64_t cand_runs[COMPARE_MAX_SHARDS]; /* every candidate run: one, or the shards of a sweep */
    int n_cand_runs;
    struct compare_options options;
    struct compare_case *cases; /* base order, then cases new in the candidate */
    size_t n;
    struct compare_summary summary;
};

/* Compares run cand against run base in the open store. Returns 0 (free the result with
 * compare_result_free), or -1 with a message in err: an unknown run, runs of different
 * machines without cross_machine, a store error, memory. */
int compare_runs(struct store *s, int64_t base, int64_t cand, const struct compare_options *o,
                 struct compare_result *out, char *err, size_t errlen);
/* The same with the candidate the union of several runs: the shards of one sweep (kbench run
 * --shard I/N on N machines, gathered by kbench import), judged as one run against the base. A
 * case in two of them is a duplicate: the first stands. Every run must be of the base's machine
 * (unless cross_machine); one that did not finish makes the candidate incomplete (its status is
 * reported). At most COMPARE_MAX_SHARDS runs. */
int compare_runs_union(struct store *s, int64_t base, const int64_t *cands, int n_cands,
                       const struct compare_options *o, struct compare_result *out, char *err, size_t errlen);
void compare_result_free(struct compare_result *r);

/* Judges a case timed in both runs from raw samples (the rule above; the minimum-samples check
 * is left to the caller): sets ratio, its CI, the p-values, verdict and reason. Confirmation
 * judges pooled re-measurements with it, so they are held to the same statistics. Returns 0, or
 * -1 when the samples are unusable (the verdict is then untimed). */
int compare_judge_samples(struct compare_case *c, const struct compare_options *o, const double *bs, size_t nb,
                          const double *cs, size_t nc);
/* Recounts r->summary from the cases' verdicts (after confirmation changed some). */
void compare_summarize(struct compare_result *r);

/* Counters that moved, for the regressed and improved cases of r (compare_runs calls it): each
 * counter stored for both sides (matched by backend and name) whose relative change is larger than
 * the case's threshold and than the timing noise of both runs, and, for counts, by at least 2 (one
 * context switch more is no signal); a rusage figure (the whole case's, so it follows how long
 * sampling ran) by at least 25%; largest relative change first. Counters are one value per
 * case, not samples: the time's threshold and noise are the yardstick they are held to. Cases with
 * no counter on a side keep n_moved 0 and counters_base/cand say which side counted nothing.
 * Returns 0, or -1 with a message (store, memory). */
int compare_counters_moved(struct store *s, struct compare_result *r, char *err, size_t errlen);
/* "time +7.1%: kernel iters +20.0%, rusage nivcsw +310%" or "time +7.1%: nothing was counted"
 * (or "no counter moved"): the one line every format gives a changed case. Where PAPI counted
 * nothing in the candidate (no PMU, a VM) it says so and why, so a missing memory or cycle counter
 * reads as "could not count", not as "did not move". */
void compare_counters_line(const struct compare_case *c, char *buf, size_t len);

/* 1 when a run did not finish ("running", "interrupted", "failed"): its absent cases were not
 * measured, so they read as missing or new; the commands warn. */
int compare_run_incomplete(const struct run_row *run);
/* "no case in common" or "3 of 10 cases in both runs, under --min-matched 0.5" for a result with
 * too_few_matched; "" otherwise. */
void compare_matched_problem(const struct compare_result *r, char *buf, size_t len);

/* 1 when two stored cases are the same case (the matching above): kernel, impl, device, dtype,
 * every shape axis, threads and cache state agree. */
int compare_same_case(const struct result_row *a, const struct result_row *b);

/* "kernel@impl device dtype b=1 h=8 ... t=1[ cold]": one line naming a case. */
void compare_case_label(const struct compare_case *c, char *buf, size_t len);

#endif
