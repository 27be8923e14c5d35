/* remeasure.h - one case measured again by a kbench build, in a separate process: `BIN run` of
 * exactly that case into the database under a tag, then the stored run read back by that tag.
 *
 * Confirmation (confirm.h) and bisect measure through it, so a build that is not this process
 * (the baseline's kbench, a plugin built at another commit) is measured by the same command, the
 * same options and the same statistics as this one; nothing is parsed from the child's output
 * but its exit status (its last lines are kept for an error message).
 */
#ifndef KB_REMEASURE_H
#define KB_REMEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "harness/compare.h"
#include "harness/store.h"

/* A build to measure with. */
struct remeasure_build {
    const char *bin;            /* a kbench executable */
    const char *const *plugins; /* each loaded with --plugin */
    int n_plugins;
    const char *label;          /* "baseline", "candidate", a commit: named in messages */
};

/* Words of `kbench run` options, kept with their text. */
#define REMEASURE_WORDS_MAX 96
struct remeasure_words {
    char *v[REMEASURE_WORDS_MAX];
    int n;
    char buf[4096];
    size_t used;
};
void remeasure_words_init(struct remeasure_words *w);
/* Appends a word; -1 when the list is full. */
int remeasure_words_add(struct remeasure_words *w, const char *word);
/* The `run` options that select exactly the case c: --kernels NAME@IMPL --devices --dtype
 * --threads --cache and each axis it has. */
int remeasure_case_words(const struct compare_case *c, struct remeasure_words *w);

/* What one measurement stored: its run, its one case (the first when the options planned more),
 * and that case's raw samples (malloc'd; free with remeasure_result_free). */
struct remeasure_result {
    int64_t run_id, case_id;
    char status[16];
    char error[256];
    double *samples;
    long n;
    int exit_status;            /* the child's exit status */
    int n_cases;                /* cases the run stored (the options should name exactly one) */
};

/* Runs `b->bin run CASE_WORDS OPTION_WORDS --db DB --tag TAG --quiet --no-show --plugin ...`
 * and reads the run it stored (the newest run tagged TAG, newer than any before the call) from s.
 * Returns 0 when a run was stored (whatever the case's status: see out->status), or -1 with a
 * message naming the build and the child's last words (it did not start, or stored no run). */
int remeasure(const struct remeasure_build *b, const char *db, const char *tag, const struct remeasure_words *case_words,
              const struct remeasure_words *options, struct store *s, struct remeasure_result *out, char *err,
              size_t errlen);
void remeasure_result_free(struct remeasure_result *r);

/* Runs argv[0] with argv (no shell), its stdout and stderr kept: the last `keep` bytes in tail
 * (NUL-terminated) and, where log is not NULL, all of it appended to that file. cwd NULL: here.
 * Returns the exit status (128 + a signal that ended it), or -1 when it could not start. */
int remeasure_spawn(char *const *argv, const char *cwd, const char *log, char *tail, size_t keep);

#endif
