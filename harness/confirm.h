/* confirm.h - confirm before alerting: each case a comparison would fail on a slowdown
 * (regressed, or inconclusive) is measured again, and only a slowdown that survives stands.
 *
 * With the baseline build at hand (its kbench binary, or the same binary with the baseline's
 * plugins), baseline and candidate are re-measured in alternating order, round after round
 * (B C, C B, B C, ...), so whatever disturbs the machine meanwhile falls on both alike; the pooled
 * re-measurements are judged against each other. Without it, the candidate is re-measured and
 * judged against the base run's stored samples. Either way the judgement is compare's
 * (compare_judge_samples): same threshold, alpha, bootstrap and noise rule.
 *
 *   - still regressed: CONFIRMED, the case keeps failing;
 *   - same or faster: DISSOLVED, the verdict becomes same (the first one is kept in first_verdict
 *     and first_reason) and the case no longer fails;
 *   - still undecidable: UNDECIDED, the case stays inconclusive;
 *   - a re-measurement that failed: FAILED, the first verdict stands.
 *
 * Every re-measurement is a run of its own in the database (remeasure.h), tagged
 * confirm-<candidate run id>-base or -candidate, so the evidence can be looked at (kbench show).
 */
#ifndef KB_CONFIRM_H
#define KB_CONFIRM_H

#include <stddef.h>

#include "harness/compare.h"
#include "harness/remeasure.h"
#include "harness/store.h"

struct confirm_options {
    const char *db_path;               /* the database the compared runs are in */
    struct remeasure_build candidate;  /* the build the candidate run measured (this kbench) */
    struct remeasure_build baseline;   /* baseline.bin NULL: no baseline build at hand */
    const struct remeasure_words *run_options; /* sampling options for each re-measurement */
    int rounds;                        /* re-measurements of each side (3) */
    /* progress, one line each ("confirming selftest.spin@cpu ...: round 2 of 3"); may be NULL */
    void (*progress)(const char *line, void *ctx);
    void *ctx;
};

void confirm_options_default(struct confirm_options *o);

/* 1 for a case confirmation re-measures: a failing timing verdict (regressed, or inconclusive). */
int confirm_wanted(const struct compare_case *c, const struct compare_options *o);

/* Re-measures and re-judges every wanted case of r, then recounts r's summary and the counters
 * that moved. Returns 0 (each case's outcome is in its confirm field), or -1 with a message for a
 * store error or memory; a build that fails to measure makes that case FAILED, not an error. */
int confirm_flagged(struct store *s, struct compare_result *r, const struct confirm_options *o, char *err,
                    size_t errlen);

#endif
