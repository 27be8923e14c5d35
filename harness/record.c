/* record.c - case outcome names (the spelling stored in the database) and record cleanup. */
#include "harness/record.h"

#include <stdlib.h>
#include <string.h>

/* These strings are stored in cases.status: renaming one breaks every existing database. */
static const char *const status_names[CASE_STATUS_COUNT] = {
    [CASE_OK] = "ok",
    [CASE_VERIFY_FAILED] = "verify_failed",
    [CASE_CRASHED] = "crashed",
    [CASE_TIMEOUT] = "timeout",
    [CASE_SETUP_FAILED] = "setup_failed",
    [CASE_SKIPPED] = "skipped",
    [CASE_INTERRUPTED] = "interrupted",
};

const char *case_status_name(enum case_status s)
{
    /* callers print the result directly, so an out-of-range value gets a printable name */
    if ((int)s < 0 || s >= CASE_STATUS_COUNT)
        return "unknown";
    return status_names[s];
}

int case_status_parse(const char *name, enum case_status *out)
{
    if (!name)
        return -1;
    for (int s = 0; s < CASE_STATUS_COUNT; s++) {
        if (strcmp(name, status_names[s]) == 0) {
            *out = (enum case_status)s;
            return 0;
        }
    }
    return -1;
}

/* Stored in stats.stop_reason: renaming one breaks existing databases. */
static const char *const stop_names[STOP_COUNT] = {
    [STOP_NONE] = "",
    [STOP_NOISE] = "noise",
    [STOP_MAX_TIME] = "max-time",
    [STOP_MAX_SAMPLES] = "max-samples",
    [STOP_MIN_SAMPLES_CAP] = "min-samples-cap",
};

const char *sampling_stop_name(enum sampling_stop s)
{
    if ((int)s < 0 || s >= STOP_COUNT)
        return "";
    return stop_names[s];
}

int sampling_stop_parse(const char *name, enum sampling_stop *out)
{
    if (!name || !*name)
        return -1;
    for (int s = 1; s < STOP_COUNT; s++) {
        if (strcmp(name, stop_names[s]) == 0) {
            *out = (enum sampling_stop)s;
            return 0;
        }
    }
    return -1;
}

void case_record_release(struct case_record *r)
{
    if (!r)
        return;
    free(r->samples);
    free(r->sm_clock_mhz);
    free(r->throttled);
    r->samples = NULL;
    r->sm_clock_mhz = NULL;
    r->throttled = NULL;
    r->n_samples = 0;
}
