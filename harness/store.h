/* store.h - the SQLite store: machines, runs, cases, raw samples, statistics, counters,
 * accuracy. WAL mode; schema version in PRAGMA user_version, migrated forward in code;
 * one transaction per case. The schema is documented in docs/schema.md, and views
 * (v_results, v_counters) make the common questions one SELECT for any sqlite3 client.
 *
 * Errors: functions return 0 (or an id > 0) on success and -1 on failure, with a message
 * naming the file and the problem retrievable by store_errmsg().
 */
#ifndef KB_STORE_H
#define KB_STORE_H

#include <stdint.h>
#include "harness/calibrate.h"
#include "harness/machine.h"
#include "harness/record.h"

struct store;

/* The schema version this build writes. */
int store_schema_version(void);

enum store_mode { STORE_READ, STORE_WRITE };

/* Opens (and for STORE_WRITE creates and migrates) a kbench database. Refuses, with a message
 * in err and *out NULL, a file that is not SQLite, not a kbench database, corrupt, or written
 * by a newer kbench; nothing in such a file is changed. */
int store_open(const char *path, enum store_mode mode, struct store **out, char *err, size_t errlen);
void store_close(struct store *s);
const char *store_errmsg(const struct store *s);
/* 1 when the last failure was a lock held by another process for longer than the busy timeout
 * (10 s): the operation changed nothing and may be tried again. */
int store_busy(const struct store *s);

/* Opens a database and applies only the migrations up to `version` (tests of migration). */
int store_open_at_version(const char *path, int version, struct store **out, char *err, size_t errlen);

/* Inserts the machine if its fingerprint is new; returns its id (> 0) or -1. */
int64_t store_machine_upsert(struct store *s, const struct machine_info *m);

/* The KBENCH_CPU_FEATURES mask a run was made under (schema v11): the machines row keeps the
 * hardware's features and peak, shared by every run on the machine. */
struct run_cpu_mask {
    char mask[64];        /* the variable's value, "avx2"; "" no mask: the machine's own features */
    char features[64];    /* the features in effect under it, "avx2 fma avxvnni" */
    double peak_f32_core; /* the nominal f32 per-core peak under it, FLOP/s; 0 unknown */
};

/* A plugin a run loaded: its absolute path, the sha256 of the file, how many kernels it added. */
struct run_plugin {
    char path[4096];
    char sha256[65];
    int kernels;
};

struct run_info {
    char uuid[37];          /* filled by store_run_begin */
    const char *cmdline;
    const char *suite;      /* NULL when axes came from the command line */
    const char *tag;        /* NULL or a tag name */
    const char *kbench_version;
    const char *compiler;
    const char *git_commit;  /* NULL: not recorded */
    const char *build_flags;
    const struct run_cpu_mask *cpu_mask; /* NULL or mask "": the run is not masked */
    int planned_cases;
    /* PAPI's version string; NULL: the papi_version of the machine_info most recently passed
     * to store_machine_upsert through the same handle, when that was this run's machine. */
    const char *papi_version;
    /* The arguments after "run", stored as a JSON array so the run can be resumed. */
    int argc;
    char **argv;
    /* 1: no arguments are stored (runs.argv NULL): the run's sweep did not come from `kbench run`'s
     * options (a claim's), so `kbench run --resume` cannot plan it again and says so */
    int no_resume;
    /* The plugins loaded for the run (harness/plugin.h), stored in run_plugins. */
    const struct run_plugin *plugins;
    int n_plugins;
};
/* Starts a run (status "running"); returns its id and fills info->uuid. */
int64_t store_run_begin(struct store *s, int64_t machine_id, struct run_info *info);
/* "complete", "interrupted", or "failed". */
int store_run_finish(struct store *s, int64_t run_id, const char *status);
/* Reopens an unfinished run for `kbench run --resume`: refuses a complete run, marks it
 * "running" under this process, and returns its stored arguments (malloc'd array of malloc'd
 * strings, NULL-terminated; free with store_free_argv) in *argv and their count in *argc. */
int store_run_reopen(struct store *s, int64_t run_id, int *argc, char ***argv);
/* The run's stored arguments (after "run"), as store_run_reopen returns them, changing nothing. */
int store_run_args(struct store *s, int64_t run_id, int *argc, char ***argv);
/* 0 when the run can be resumed (not complete, arguments stored), else -1 with the reason. */
int store_run_resumable(struct store *s, int64_t run_id);
void store_free_argv(char **argv);
/* Adds a tag to a run (a tag names one run per machine: the newest tagged wins on lookup). */
int store_run_tag(struct store *s, int64_t run_id, const char *tag);
/* Takes a tag off a run; -1 with a message naming both when the run does not have it. */
int store_run_untag(struct store *s, int64_t run_id, const char *tag);

/* Stores a case, its samples, statistics, counters and accuracy in one transaction;
 * returns the case id or -1 (and then nothing of the case is stored). */
int64_t store_case_insert(struct store *s, int64_t run_id, const struct case_record *r);

/* Resolves a run reference: a number, a uuid or unique uuid prefix, "latest", or "tag:NAME".
 * Returns the run id, or -1 with a message naming the reference. */
int64_t store_resolve_run(struct store *s, const char *ref);
/* The same, with "tag:NAME" meaning the newest run with that tag measured on the machine with this
 * fingerprint (NULL: on any machine); when the tag names only other machines' runs, the message
 * says which. Runs given by number or uuid resolve whatever machine they came from. */
int64_t store_resolve_run_on(struct store *s, const char *ref, const char *fingerprint);

struct run_row {
    int64_t id;
    char uuid[37];
    char started[32], finished[32]; /* ISO 8601 UTC; finished "" while running */
    char status[16];
    char tag[64], suite[64];
    char hostname[128], machine[17];
    char cmdline[512];
    char kbench_version[32];
    int planned_cases, cases, failures;
};
/* Calls fn for each run, newest first (limit <= 0: all); stops early when fn returns non-zero. */
int store_list_runs(struct store *s, int limit, int (*fn)(const struct run_row *, void *), void *ctx);
/* Every run, newest first, into a malloc'd array (*out, free() it; NULL when there are none) of
 * *n rows. 0, or -1 with the reason in store_errmsg (out of memory included: never a silently
 * shortened list). */
int store_all_runs(struct store *s, struct run_row **out, size_t *n);
int store_get_run(struct store *s, int64_t run_id, struct run_row *out);
/* The git commit and build flags of the kbench that measured the run (schema v10); "" where not
 * recorded (older runs, or a database older than v10 opened without migrating). */
void store_get_run_build(struct store *s, int64_t run_id, char *commit, size_t commit_len, char *flags,
                         size_t flags_len);

/* The run's KBENCH_CPU_FEATURES mask; mask "" (and peak 0) for a run without one, an older run,
 * or a database older than v11 opened without migrating. */
void store_get_run_cpu_mask(struct store *s, int64_t run_id, struct run_cpu_mask *out);
/* The plugins of a run, in load order, each to fn (a non-zero return stops). A database older
 * than version 12 has none. 0, or -1 (store_errmsg). */
int store_list_run_plugins(struct store *s, int64_t run_id, int (*fn)(const struct run_plugin *p, void *ctx),
                           void *ctx);

struct result_row {
    int64_t case_id, run_id;
    char kernel[64], impl[32], device[16], dtype[8], status[16];
    struct kb_shape shape;
    /* KB_AXIS_BIT of each axis whose column is NULL (the kernel does not have it); the field
     * in `shape` then reads 0, which for a flag such as causal would look like a value */
    uint64_t null_axes;
    int threads, cold_cache; /* threads 0: not recorded (GPU cases) */
    char error[256];
    /* statistics, NaN where the case was not timed */
    struct kb_stats stats;
    double flops_per_s, bytes_per_s, flops, bytes;
    int calls_per_sample;
    /* accuracy, NaN where verify did not run */
    double max_abs_err, rel_l2_err, cosine, tolerance;
    int verified, passed;
    long exact_checked, exact_mismatches; /* bit-exact comparison; exact_checked 0: none */
    char papi_status[256];
    /* sampling (schema version 8); unknown in older files and untimed cases */
    int min_samples;        /* 0 unknown; stats.n < min_samples: the minimum was not reached */
    int set_aside;          /* throttled samples kept out of stats.n; -1 unknown */
    double noise_target;    /* NaN unknown */
    int noise_met;          /* 1, 0, or -1 unknown */
    char stop_reason[24];   /* "noise", "max-time", "max-samples", "min-samples-cap"; "" unknown */
    long outliers;          /* samples beyond Tukey's far-out fences; -1 unknown */
    char throttle_reason[96]; /* "" none or unknown */
};
/* Calls fn with each tag of a run, oldest first (run_row.tag joins them with commas, which a
 * tag may itself contain). */
int store_list_run_tags(struct store *s, int64_t run_id, int (*fn)(const char *tag, void *), void *ctx);
/* Calls fn for each case of a run in execution order. */
int store_list_results(struct store *s, int64_t run_id, int (*fn)(const struct result_row *, void *), void *ctx);
/* Calls fn for each counter of a case. */
int store_list_counters(struct store *s, int64_t case_id, int (*fn)(const struct kb_counter *, void *), void *ctx);
/* The GPU kernels a case's call launched (empty for CPU cases and older files), with the
 * CUPTI status in out->status. */
int store_list_gpu_kernels(struct store *s, int64_t case_id, struct gpu_trace *out);
/* Runs on this host other than exclude_run_id still marked 'running' whose process is alive:
 * another kbench measuring at the same time. Fills up to max pids; returns how many there are,
 * or -1. A file older than schema version 2 (no pids) has none. */
int store_live_runs(struct store *s, const char *hostname, int64_t exclude_run_id, long *pids, int max);
/* The raw samples of a case (per-call seconds), malloc'd into *out; returns the count or -1. */
long store_get_samples(struct store *s, int64_t case_id, double **out);
/* What compare needs beyond struct kb_stats from the sampling columns of schema v8
 * (stats.min_samples, stats.set_aside): -1 where the file predates them or holds NULL. */
struct case_sampling {
    long min_samples;  /* the minimum the run asked for */
    long set_aside;    /* throttled samples kept out of the statistics */
};
int store_get_case_sampling(struct store *s, int64_t case_id, struct case_sampling *out);
/* The samples the statistics used, in order: those marked throttled (samples.throttled = 1) are
 * left out. *seconds gets per-call seconds and *clock_mhz each one's SM clock (NaN unknown or
 * before schema v8); both malloc'd (NULL when none). Returns the count or -1. */
long store_get_samples_clocked(struct store *s, int64_t case_id, double **seconds, double **clock_mhz);

/* A paper claim judged on a machine (kbench claims). */
struct claim_row {
    int64_t id, run_id;            /* run_id 0: none */
    char claim_id[64];
    char machine[17], hostname[128];
    char evaluated[32];
    char paper[256], quote[512], hardware[128];
    char metric[16];
    double paper_value, measured, ci_lo, ci_hi; /* NaN where none */
    char measured_text[128];
    char verdict[32];
    char reason[384];
};
/* Stores one evaluation; returns its id or -1. */
int64_t store_claim_insert(struct store *s, int64_t machine_id, const struct claim_row *c);
/* The newest evaluation of each claim on each machine (machine NULL: every machine), ordered by
 * claim id. A database older than the claims table has none (returns 0, calls nothing). */
int store_list_claims(struct store *s, const char *machine, int (*fn)(const struct claim_row *, void *), void *ctx);

/* The GPU clocks of a case's samples (schema version 8): how many samples have a known SM clock,
 * its median (the upper middle value), min and max (NaN when none), and how many were taken under
 * throttling. A CPU case, or a file older than version 8, has none (all zero / NaN). */
struct sample_clock_summary {
    long with_clock, throttled;
    double median_mhz, min_mhz, max_mhz;
};
int store_sample_clocks(struct store *s, int64_t case_id, struct sample_clock_summary *out);

/* The machine a run was measured on. */
int store_get_machine(struct store *s, int64_t run_id, struct machine_info *out);

/* Adds a measured ceiling (`kbench calibrate`) to a machine (an id from store_machine_upsert). */
int store_ceiling_add(struct store *s, int64_t machine_id, const struct ceiling *c);
/* Calls fn with the newest ceiling of each (device, name) of the machine with this
 * fingerprint, ordered by device and name. A database older than the ceilings table, or a
 * machine never calibrated, has none: fn is not called and 0 is returned. */
int store_list_ceilings(struct store *s, const char *fingerprint, int (*fn)(const struct ceiling *, void *), void *ctx);
/* SQLite's PRAGMA data_version: a number that changes when another connection commits to the
 * database, so a reader (the dashboard) can poll cheaply and re-read only after a change. */
int store_data_version(struct store *s, int64_t *out);

#endif
