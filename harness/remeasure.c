/* remeasure.c - a case measured by a kbench build in a separate process (remeasure.h). */
#define _POSIX_C_SOURCE 200809L
#include "harness/remeasure.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernels/kernel.h"

void remeasure_words_init(struct remeasure_words *w)
{
    w->n = 0;
    w->used = 0;
    w->v[0] = NULL;
}

int remeasure_words_add(struct remeasure_words *w, const char *word)
{
    size_t len = strlen(word) + 1;
    if (w->n + 1 >= REMEASURE_WORDS_MAX || w->used + len > sizeof w->buf)
        return -1;
    char *at = w->buf + w->used;
    memcpy(at, word, len);
    w->used += len;
    w->v[w->n++] = at;
    w->v[w->n] = NULL;
    return 0;
}

static int add_pair(struct remeasure_words *w, const char *opt, const char *value)
{
    return remeasure_words_add(w, opt) || remeasure_words_add(w, value) ? -1 : 0;
}

int remeasure_case_words(const struct compare_case *c, struct remeasure_words *w)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s@%s", c->kernel, c->impl);
    int bad = add_pair(w, "--kernels", buf) || add_pair(w, "--devices", c->device) || add_pair(w, "--dtype", c->dtype) ||
              add_pair(w, "--cache", c->cold_cache ? "cold" : "hot");
    if (c->threads > 0) { /* 0: not recorded (GPU cases) */
        snprintf(buf, sizeof buf, "%d", c->threads);
        bad = bad || add_pair(w, "--threads", buf);
    }
    /* every axis the case has a value for; an axis at 0 is one the kernel does not have (or a
     * flag that is off, which is also its fallback) */
    for (int a = 0; a < KB_AXIS_COUNT && !bad; a++) {
        int v = kb_shape_get(&c->shape, (enum kb_axis)a);
        if (v == 0)
            continue;
        const struct kb_axis_info *ax = kb_axis_info((enum kb_axis)a);
        const char *name = ax->kind == KB_AXIS_KIND_ENUM ? kb_axis_value_name((enum kb_axis)a, v) : NULL;
        char opt[64];
        snprintf(opt, sizeof opt, "--%s", ax->key);
        if (name)
            snprintf(buf, sizeof buf, "%s", name);
        else
            snprintf(buf, sizeof buf, "%d", v);
        bad = add_pair(w, opt, buf);
    }
    return bad ? -1 : 0;
}

int remeasure_spawn(char *const *argv, const char *cwd, const char *log, char *tail, size_t keep)
{
    int fd[2];
    if (keep)
        tail[0] = '\0';
    if (pipe(fd) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        dup2(fd[1], STDERR_FILENO);
        close(fd[0]);
        close(fd[1]);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        if (cwd && chdir(cwd) != 0) {
            fprintf(stderr, "cannot enter %s: %s\n", cwd, strerror(errno));
            _exit(127);
        }
        /* the plugins a measurement loads are named on its command line: the caller's
         * $KBENCH_PLUGIN_PATH would load a second copy (a clash) or the wrong build's */
        unsetenv("KBENCH_PLUGIN_PATH");
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    FILE *lf = log ? fopen(log, "a") : NULL;
    char chunk[4096];
    size_t have = 0;
    ssize_t got;
    while ((got = read(fd[0], chunk, sizeof chunk)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (lf)
            fwrite(chunk, 1, (size_t)got, lf);
        if (keep < 2)
            continue;
        /* keep the last keep - 1 bytes */
        size_t g = (size_t)got, room = keep - 1;
        if (g >= room) {
            memcpy(tail, chunk + g - room, room);
            have = room;
        } else {
            if (have + g > room) {
                size_t drop = have + g - room;
                memmove(tail, tail + drop, have - drop);
                have -= drop;
            }
            memcpy(tail + have, chunk, g);
            have += g;
        }
        tail[have] = '\0';
    }
    close(fd[0]);
    if (lf)
        fclose(lf);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The last non-empty line of a child's output, for a message. */
static const char *last_line(char *tail)
{
    size_t n = strlen(tail);
    while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r'))
        tail[--n] = '\0';
    char *nl = strrchr(tail, '\n');
    return nl ? nl + 1 : tail;
}

struct first_case { struct result_row row; int found; };

static int take_first(const struct result_row *r, void *ctx)
{
    struct first_case *f = ctx;
    if (!f->found++)
        f->row = *r;
    return 0;
}

int remeasure(const struct remeasure_build *b, const char *db, const char *tag, const struct remeasure_words *case_words,
              const struct remeasure_words *options, struct store *s, struct remeasure_result *out, char *err,
              size_t errlen)
{
    memset(out, 0, sizeof *out);
    int64_t before = store_resolve_run(s, "latest");
    if (before < 0)
        before = 0; /* an empty database */
    char *argv[2 * REMEASURE_WORDS_MAX + 64];
    int n = 0;
    argv[n++] = (char *)b->bin;
    argv[n++] = "run";
    for (int i = 0; i < case_words->n; i++)
        argv[n++] = case_words->v[i];
    for (int i = 0; options && i < options->n; i++)
        argv[n++] = options->v[i];
    argv[n++] = "--db";
    argv[n++] = (char *)db;
    argv[n++] = "--tag";
    argv[n++] = (char *)tag;
    argv[n++] = "--quiet";
    argv[n++] = "--no-show";
    for (int i = 0; i < b->n_plugins && n < (int)(sizeof argv / sizeof argv[0]) - 3; i++) {
        argv[n++] = "--plugin";
        argv[n++] = (char *)b->plugins[i];
    }
    argv[n] = NULL;
    char tail[1024];
    out->exit_status = remeasure_spawn(argv, NULL, NULL, tail, sizeof tail);
    const char *who = b->label ? b->label : b->bin;
    if (out->exit_status < 0) {
        snprintf(err, errlen, "cannot start %s (%s): %s", b->bin, who, strerror(errno));
        return -1;
    }
    char ref[128];
    snprintf(ref, sizeof ref, "tag:%s", tag);
    int64_t run = store_resolve_run(s, ref);
    if (run <= before) {
        snprintf(err, errlen, "the %s build (%s run) stored no run (exit %d): %s", who, b->bin, out->exit_status,
                 last_line(tail));
        return -1;
    }
    out->run_id = run;
    struct first_case f = { .found = 0 };
    if (store_list_results(s, run, take_first, &f) != 0 && !f.found) {
        snprintf(err, errlen, "%s", store_errmsg(s));
        return -1;
    }
    if (!f.found) {
        snprintf(err, errlen, "the %s build measured no case in run %lld (exit %d): %s", who, (long long)run,
                 out->exit_status, last_line(tail));
        return -1;
    }
    out->case_id = f.row.case_id;
    out->n_cases = f.found;
    snprintf(out->status, sizeof out->status, "%s", f.row.status);
    snprintf(out->error, sizeof out->error, "%s", f.row.error);
    if (strcmp(f.row.status, "ok") == 0) {
        out->n = store_get_samples(s, f.row.case_id, &out->samples);
        if (out->n < 0) {
            snprintf(err, errlen, "%s", store_errmsg(s));
            return -1;
        }
    }
    return 0;
}

void remeasure_result_free(struct remeasure_result *r)
{
    free(r->samples);
    r->samples = NULL;
    r->n = 0;
}
